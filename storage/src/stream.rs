//! A table over one stream of batches, read once: how rows that arrive over
//! time (COPY FROM, INSERT … SELECT) reach Delta's writer without being
//! gathered in memory first.

use std::sync::{Arc, Mutex};

use deltalake::arrow::datatypes::SchemaRef;
use deltalake::datafusion::catalog::streaming::StreamingTable;
use deltalake::datafusion::common::{DataFusionError, Result};
use deltalake::datafusion::execution::{SendableRecordBatchStream, TaskContext};
use deltalake::datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use deltalake::datafusion::physical_plan::streaming::PartitionStream;

/// A [`StreamingTable`] whose single partition is `stream`. A second scan
/// fails rather than silently reading nothing.
pub fn once(stream: SendableRecordBatchStream) -> Result<StreamingTable> {
    let schema = stream.schema();
    let partition = Arc::new(Once {
        schema: schema.clone(),
        stream: Mutex::new(Some(stream)),
    });
    StreamingTable::try_new(schema, vec![partition])
}

struct Once {
    schema: SchemaRef,
    stream: Mutex<Option<SendableRecordBatchStream>>,
}

impl std::fmt::Debug for Once {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Once").finish_non_exhaustive()
    }
}

impl PartitionStream for Once {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        match self.stream.lock().expect("stream lock").take() {
            Some(stream) => stream,
            None => Box::pin(RecordBatchStreamAdapter::new(
                self.schema.clone(),
                futures::stream::once(async {
                    Err(DataFusionError::Internal(
                        "a one-shot stream was read twice".into(),
                    ))
                }),
            )),
        }
    }
}
