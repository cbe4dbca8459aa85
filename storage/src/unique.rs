//! Primary keys and unique constraints: a write that would leave two rows
//! with the same key fails with 23505 before anything of it is committed.
//! A key with a NULL in it repeats no other (PostgreSQL's NULLS DISTINCT;
//! a primary key's columns are NOT NULL anyway).
//!
//! The keys a write adds are compared with each other and with the keys the
//! table (and the writing transaction) already holds: the key columns of
//! those are scanned, not the whole rows, and only the new keys are kept in
//! memory, counted in the server's memory pool: a write adding more keys than
//! the pool holds fails with 53200.

use std::collections::HashSet;
use std::sync::Arc;

use deltalake::arrow::array::{Array, ArrayRef, RecordBatch};
use deltalake::arrow::compute::cast;
use deltalake::arrow::datatypes::DataType;
use deltalake::arrow::row::{OwnedRow, RowConverter, SortField};
use deltalake::datafusion::catalog::{Session, TableProvider};
use deltalake::datafusion::common::DataFusionError;
use deltalake::datafusion::execution::SendableRecordBatchStream;
use deltalake::datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use deltalake::datafusion::physical_plan::execute_stream;
use deltalake::datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::{StreamExt, TryStreamExt};

use crate::StorageError;
use crate::catalog::PrimaryKey;

/// The keys a write adds, to be checked before it commits: one set per
/// declared key of the table.
pub struct NewKeys {
    sets: Vec<KeySet>,
    memory: MemoryReservation,
}

/// The values one key's columns take in the rows added.
struct KeySet {
    key: PrimaryKey,
    types: Vec<DataType>,
    converter: RowConverter,
    seen: HashSet<OwnedRow>,
}

impl NewKeys {
    /// Empty sets for `keys`, whose columns are among `columns`, held in
    /// the memory pool of `session`.
    pub fn new(
        keys: &[PrimaryKey],
        columns: &deltalake::arrow::datatypes::Schema,
        session: &dyn Session,
    ) -> Result<Self, StorageError> {
        let sets = keys
            .iter()
            .map(|key| {
                let types = key
                    .columns
                    .iter()
                    .map(|c| {
                        Ok(columns
                            .field_with_name(c)
                            .map_err(delta)?
                            .data_type()
                            .clone())
                    })
                    .collect::<Result<Vec<_>, StorageError>>()?;
                let fields = types.iter().map(|t| SortField::new(t.clone())).collect();
                Ok(KeySet {
                    key: key.clone(),
                    types,
                    converter: RowConverter::new(fields).map_err(delta)?,
                    seen: HashSet::new(),
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
        let memory = MemoryConsumer::new(format!("keys {}", names.join(", ")))
            .register(&session.runtime_env().memory_pool);
        Ok(Self { sets, memory })
    }

    /// Adds a batch's keys; fails on one already added.
    pub fn add(&mut self, batch: &RecordBatch) -> Result<(), StorageError> {
        for set in &mut self.sets {
            let columns = set.columns(batch)?;
            let rows = set.converter.convert_columns(&columns).map_err(delta)?;
            // Each key: its bytes, the row that owns them, and its slot in the set.
            let slot = std::mem::size_of::<OwnedRow>() * 2;
            let bytes = rows.size() + rows.num_rows() * slot;
            self.memory.try_grow(bytes).map_err(|_| {
                StorageError::OutOfMemory(format!(
                    "the keys of \"{}\" added by this write need more than performance.memory_limit allows",
                    set.key.name
                ))
            })?;
            for (i, row) in rows.iter().enumerate() {
                if !has_null(&columns, i) && !set.seen.insert(row.owned()) {
                    return Err(set.violation(&columns, i));
                }
            }
        }
        Ok(())
    }

    /// `data`, its keys added as it passes (a key repeated among its rows
    /// fails it), and, when it ends, checked against `existing`.
    pub fn checked(
        self,
        data: SendableRecordBatchStream,
        existing: Arc<dyn TableProvider>,
        session: Arc<dyn Session>,
    ) -> SendableRecordBatchStream {
        let to_df = |e: StorageError| DataFusionError::External(Box::new(e));
        let keys = Arc::new(tokio::sync::Mutex::new(self));
        let schema = data.schema();
        let adding = keys.clone();
        let rows = data.and_then(move |batch| {
            let keys = adding.clone();
            async move {
                keys.lock().await.add(&batch).map_err(to_df)?;
                Ok(batch)
            }
        });
        let end = futures::stream::once(async move {
            let keys = keys.lock().await;
            keys.check_against(&existing, session.as_ref())
                .await
                .map_err(to_df)
        })
        .try_filter_map(|()| async { Ok(None) });
        Box::pin(RecordBatchStreamAdapter::new(schema, rows.chain(end)))
    }

    /// Fails when `existing` (a table, or a transaction's own rows) holds one
    /// of the added keys.
    pub async fn check_against(
        &self,
        existing: &Arc<dyn TableProvider>,
        session: &dyn Session,
    ) -> Result<(), StorageError> {
        for set in &self.sets {
            set.check_against(existing, session).await?;
        }
        Ok(())
    }
}

impl KeySet {
    /// The key columns of a batch with the table's columns, cast to the key's types.
    fn columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>, StorageError> {
        self.key
            .columns
            .iter()
            .zip(&self.types)
            .map(|(name, ty)| {
                let column = batch.column_by_name(name).ok_or_else(|| {
                    StorageError::Delta(format!("key column \"{name}\" is missing"))
                })?;
                if column.data_type() == ty {
                    Ok(column.clone())
                } else {
                    cast(column, ty).map_err(delta)
                }
            })
            .collect()
    }

    async fn check_against(
        &self,
        existing: &Arc<dyn TableProvider>,
        session: &dyn Session,
    ) -> Result<(), StorageError> {
        if self.seen.is_empty() {
            return Ok(());
        }
        let schema = existing.schema();
        let projection = self
            .key
            .columns
            .iter()
            .map(|c| schema.index_of(c).map_err(delta))
            .collect::<Result<Vec<_>, _>>()?;
        let plan = existing
            .scan(session, Some(&projection), &[], None)
            .await
            .map_err(|e| StorageError::Delta(e.to_string()))?;
        let mut batches = execute_stream(plan, session.task_ctx())
            .map_err(|e| StorageError::Delta(e.to_string()))?;
        while let Some(batch) = batches
            .try_next()
            .await
            .map_err(|e| StorageError::Delta(e.to_string()))?
        {
            let columns = self.columns(&batch)?;
            let rows = self.converter.convert_columns(&columns).map_err(delta)?;
            for (i, row) in rows.iter().enumerate() {
                if self.seen.contains(&row.owned()) {
                    return Err(self.violation(&columns, i));
                }
            }
        }
        Ok(())
    }

    /// PostgreSQL's error, naming the constraint and the repeated key.
    fn violation(&self, columns: &[ArrayRef], row: usize) -> StorageError {
        let values: Vec<String> = columns
            .iter()
            .map(|c| {
                deltalake::arrow::util::display::array_value_to_string(c, row).unwrap_or_default()
            })
            .collect();
        StorageError::UniqueViolation {
            constraint: self.key.name.clone(),
            detail: format!(
                "Key ({})=({}) already exists.",
                self.key.columns.join(", "),
                values.join(", ")
            ),
        }
    }
}

/// Whether a key has a NULL in row `row` (it then repeats no other key).
fn has_null(columns: &[ArrayRef], row: usize) -> bool {
    columns.iter().any(|c| c.is_null(row))
}

fn delta(e: impl std::fmt::Display) -> StorageError {
    StorageError::Delta(e.to_string())
}
