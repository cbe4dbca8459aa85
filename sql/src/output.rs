//! What a session answers with, below everything that produces it: result
//! rows, command tags, notices, the transaction state, and the protocol
//! clean-up the front end must do.

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;

/// Transaction state, as the ReadyForQuery status byte reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxState {
    /// 'I': not in a transaction block.
    Idle,
    /// 'T': inside BEGIN … COMMIT.
    Block,
    /// 'E': inside a block that failed; only ROLLBACK gets out.
    Failed,
}

/// A message for the client that is not an error (PostgreSQL's NoticeResponse).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub severity: &'static str,
    pub code: &'static str,
    pub message: String,
}

/// A result set: its schema (with client-facing column names) and its batches.
pub struct Rows {
    pub schema: SchemaRef,
    pub stream: SendableRecordBatchStream,
    /// Command tag word; the row count is appended when the stream ends.
    pub tag: &'static str,
}

/// A command tag such as `INSERT 0 3`, `CREATE TABLE` or `SET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandTag {
    pub command: String,
    /// Set for INSERT, which PostgreSQL tags with an OID (always 0).
    pub oid: Option<u32>,
    pub rows: Option<usize>,
}

impl CommandTag {
    pub fn new(command: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            oid: None,
            rows: None,
        }
    }

    pub fn with_rows(mut self, rows: usize) -> Self {
        self.rows = Some(rows);
        self
    }
}

/// Cleanup the front end must do in protocol state it owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolEffect {
    /// DEALLOCATE name: the protocol-level statement of that name goes too.
    Deallocate(String),
    /// DEALLOCATE ALL / DISCARD ALL: every prepared statement and portal goes.
    DeallocateAll,
}
