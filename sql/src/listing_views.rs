//! The views that list sequences and indexes as PostgreSQL 15 shows them:
//! `pg_catalog.pg_sequences` (every sequence, its definition and last value),
//! `information_schema.sequences` (those not behind an identity column) and
//! `pg_catalog.pg_indexes` (the indexes of primary keys and unique
//! constraints, with their definitions).

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::common::ScalarValue;
use datafusion::error::Result as DfResult;

use crate::system_tables::{Builder, CatalogReader, Row, SystemTable, int32, text};

/// `pg_catalog.pg_sequences`.
pub fn pg_sequences(reader: &CatalogReader) -> Arc<dyn TableProvider> {
    let int8 = |n: &str| Field::new(n, DataType::Int64, true);
    let schema = Arc::new(Schema::new(vec![
        Field::new("schemaname", DataType::Utf8, true),
        Field::new("sequencename", DataType::Utf8, true),
        Field::new("sequenceowner", DataType::Utf8, true),
        // regtype in PostgreSQL: the type's name.
        Field::new("data_type", DataType::Utf8, true),
        int8("start_value"),
        int8("min_value"),
        int8("max_value"),
        int8("increment_by"),
        Field::new("cycle", DataType::Boolean, true),
        int8("cache_size"),
        int8("last_value"),
    ]));
    let build: Builder = |r| Box::pin(pg_sequence_rows(r));
    Arc::new(SystemTable::new(schema, reader.clone(), build))
}

async fn pg_sequence_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let owner = r.owners();
    let roles = r.role_names();
    let int8 = |v: i64| ScalarValue::Int64(Some(v));
    let mut rows = Vec::new();
    for (schema, name, entry) in r.sequences() {
        let owner = owner(&enishi_storage::table_key(&schema, &name));
        // NULL until a value is handed out, as in PostgreSQL.
        let last = match &r.storage {
            Some(storage) => storage
                .sequence_state(&entry)
                .await
                .ok()
                .filter(|s| s.is_called)
                .map(|s| s.last_value),
            None => None,
        };
        rows.push(Row::from([
            ("schemaname", text(schema)),
            ("sequencename", text(name)),
            (
                "sequenceowner",
                text(roles.get(&owner).cloned().unwrap_or_default()),
            ),
            ("data_type", text(entry.data_type.clone())),
            ("start_value", int8(entry.start)),
            ("min_value", int8(entry.min)),
            ("max_value", int8(entry.max)),
            ("increment_by", int8(entry.increment)),
            ("cycle", ScalarValue::Boolean(Some(entry.cycle))),
            ("cache_size", int8(entry.cache)),
            ("last_value", ScalarValue::Int64(last)),
        ]));
    }
    Ok(rows)
}

/// `information_schema.sequences`'s columns (all text but the precisions).
pub fn information_schema_columns() -> SchemaRef {
    let text = |n: &str| Field::new(n, DataType::Utf8, true);
    let int = |n: &str| Field::new(n, DataType::Int32, true);
    Arc::new(Schema::new(vec![
        text("sequence_catalog"),
        text("sequence_schema"),
        text("sequence_name"),
        text("data_type"),
        int("numeric_precision"),
        int("numeric_precision_radix"),
        int("numeric_scale"),
        text("start_value"),
        text("minimum_value"),
        text("maximum_value"),
        text("increment"),
        text("cycle_option"),
    ]))
}

/// `information_schema.sequences`: an identity column's sequence is not
/// listed, as in PostgreSQL.
pub async fn information_schema_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    Ok(r.sequences()
        .into_iter()
        .filter(|(_, _, e)| !e.owned_by.as_ref().is_some_and(|o| o.identity))
        .map(|(schema, name, entry)| {
            let bits = match entry.data_type.as_str() {
                "smallint" => 16,
                "integer" => 32,
                _ => 64,
            };
            Row::from([
                ("sequence_catalog", text(r.database.clone())),
                ("sequence_schema", text(schema)),
                ("sequence_name", text(name)),
                ("data_type", text(entry.data_type.clone())),
                ("numeric_precision", int32(bits)),
                ("numeric_precision_radix", int32(2)),
                ("numeric_scale", int32(0)),
                ("start_value", text(entry.start.to_string())),
                ("minimum_value", text(entry.min.to_string())),
                ("maximum_value", text(entry.max.to_string())),
                ("increment", text(entry.increment.to_string())),
                ("cycle_option", text(if entry.cycle { "YES" } else { "NO" })),
            ])
        })
        .collect())
}

/// `pg_catalog.pg_indexes`.
pub fn pg_indexes(reader: &CatalogReader) -> Arc<dyn TableProvider> {
    let column = |n: &str| Field::new(n, DataType::Utf8, true);
    let schema = Arc::new(Schema::new(vec![
        column("schemaname"),
        column("tablename"),
        column("indexname"),
        column("tablespace"),
        column("indexdef"),
    ]));
    let build: Builder = |r| {
        Box::pin(async move {
            Ok(r.keys()
                .into_iter()
                .map(|key| {
                    Row::from([
                        ("schemaname", text(key.schema_name.clone())),
                        ("tablename", text(key.table.clone())),
                        ("indexname", text(key.key.name.clone())),
                        ("indexdef", text(key.index_def())),
                    ])
                })
                .collect())
        })
    };
    Arc::new(SystemTable::new(schema, reader.clone(), build))
}
