//! How json values are told apart (a field's PostgreSQL type) and the
//! errors the json functions raise.

use datafusion::arrow::datatypes::{DataType, Field};

use crate::error::Error;
use crate::types::{self, oid};

/// A field of PostgreSQL type `oid` (json, jsonb, …) holding text.
pub fn typed_field(name: &str, pg_oid: u32) -> Field {
    types::ColumnType::new(DataType::Utf8, pg_oid).field(name, true)
}

/// Whether a field holds jsonb (else json, or text read as json).
pub fn is_jsonb(field: &Field) -> bool {
    types::declared(field).is_some_and(|(o, _)| o == oid::JSONB)
}

/// Whether a field holds json or jsonb.
pub fn is_json(field: &Field) -> bool {
    types::declared(field).is_some_and(|(o, _)| o == oid::JSONB || o == oid::JSON)
}

/// An error with its SQLSTATE, for DataFusion to carry.
pub fn coded(code: &'static str, message: &str) -> datafusion::error::DataFusionError {
    Error::Coded {
        code,
        message: message.into(),
    }
    .into()
}
