//! Errors of the storage layer, and how deltalake's, DataFusion's, Arrow's
//! and the object store's errors become them.

use std::path::PathBuf;

use deltalake::DeltaTableError;
use deltalake::kernel::transaction::TransactionError;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("cannot use storage path {path}: {source}")]
    Root {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("schema \"{0}\" does not exist")]
    SchemaNotFound(String),
    /// A backup cannot be written where it was asked to go.
    #[error("backup: {0}")]
    Backup(String),
    #[error("schema \"{0}\" already exists")]
    SchemaExists(String),
    #[error("cannot drop schema \"{0}\" because other objects depend on it")]
    SchemaNotEmpty(String),
    #[error("relation \"{0}\" does not exist")]
    TableNotFound(String),
    #[error("relation \"{0}\" already exists")]
    TableExists(String),
    /// Another writer changed the same thing first; retrying the statement may work.
    #[error("could not serialize access due to concurrent update: {0}")]
    Conflict(String),
    /// A NULL reached a NOT NULL column (named, when known).
    #[error("null value in column \"{0}\" violates not-null constraint")]
    NotNull(String),
    /// A write would repeat a primary key (23505).
    #[error("duplicate key value violates unique constraint \"{constraint}\"")]
    UniqueViolation { constraint: String, detail: String },
    /// A value is not valid input for its column's type (22P02).
    #[error("{0}")]
    InvalidText(String),
    /// A string is longer than its column allows (22001).
    #[error("{0}")]
    TooLong(String),
    /// A write would take storage past `storage.max_size_gb` (53100).
    #[error("{0}")]
    DiskFull(String),
    /// A write needs more memory than the server's pool allows (53200).
    #[error("out of memory: {0}")]
    OutOfMemory(String),
    /// A sequence has handed out its last value and does not cycle (2200H).
    #[error("{0}")]
    SequenceEnd(String),
    #[error("storage is damaged: {0}")]
    Corrupt(String),
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    #[error("delta: {0}")]
    Delta(String),
}

impl From<DeltaTableError> for StorageError {
    fn from(err: DeltaTableError) -> Self {
        match &err {
            DeltaTableError::Transaction { source } => match source {
                TransactionError::CommitConflict(c) => {
                    return StorageError::Conflict(c.to_string());
                }
                TransactionError::MaxCommitAttempts(_) => {
                    return StorageError::Conflict(source.to_string());
                }
                _ => {}
            },
            DeltaTableError::Arrow {
                source: deltalake::arrow::error::ArrowError::ExternalError(inner),
            } => {
                if let Some(ours) = inner.downcast_ref::<StorageError>() {
                    return ours.clone_kind();
                }
            }
            DeltaTableError::VersionAlreadyExists(v) => {
                return StorageError::Conflict(format!("table version {v} already exists"));
            }
            _ => {}
        }
        let text = err.to_string();
        if text.contains("Invalid data found") {
            return StorageError::NotNull(String::new());
        }
        StorageError::Delta(text)
    }
}

impl StorageError {
    /// A copy of an error about values (these carry only a message).
    fn clone_kind(&self) -> StorageError {
        match self {
            StorageError::InvalidText(m) => StorageError::InvalidText(m.clone()),
            StorageError::TooLong(m) => StorageError::TooLong(m.clone()),
            StorageError::NotNull(m) => StorageError::NotNull(m.clone()),
            StorageError::OutOfMemory(m) => StorageError::OutOfMemory(m.clone()),
            StorageError::SequenceEnd(m) => StorageError::SequenceEnd(m.clone()),
            StorageError::UniqueViolation { constraint, detail } => StorageError::UniqueViolation {
                constraint: constraint.clone(),
                detail: detail.clone(),
            },
            other => StorageError::Delta(other.to_string()),
        }
    }
}

impl From<deltalake::datafusion::error::DataFusionError> for StorageError {
    fn from(err: deltalake::datafusion::error::DataFusionError) -> Self {
        StorageError::Delta(err.to_string())
    }
}

impl From<object_store::path::Error> for StorageError {
    fn from(err: object_store::path::Error) -> Self {
        StorageError::Corrupt(err.to_string())
    }
}

impl From<deltalake::arrow::error::ArrowError> for StorageError {
    fn from(err: deltalake::arrow::error::ArrowError) -> Self {
        StorageError::Delta(err.to_string())
    }
}

impl From<deltalake::kernel::Error> for StorageError {
    fn from(err: deltalake::kernel::Error) -> Self {
        StorageError::Delta(err.to_string())
    }
}
