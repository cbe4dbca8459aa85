//! The parts of `pg_catalog` that describe user objects, computed from our catalog.
//!
//! datafusion-pg-catalog's own `pg_class`/`pg_attribute` know only Arrow types and
//! number objects from a per-process counter in an arbitrary order. These replace
//! them (same columns) so that:
//! - `pg_attribute` reports the declared type and typmod (`varchar(20)`,
//!   `numeric(10,2)`), NOT NULL and defaults, which `\d`, JDBC and SQLAlchemy read;
//! - OIDs are the same in every connection and across restarts ([`Oids`]), and the
//!   ones RowDescription carries match `pg_class.oid` / `pg_attribute.attnum`;
//! - `pg_namespace` and `pg_database` list what exists, with PostgreSQL's well-known
//!   OIDs for `pg_catalog` (11), `public` (2200) and the database.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use datafusion::arrow::array::{RecordBatch, new_empty_array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, SchemaRef};
use datafusion::catalog::{CatalogProviderList, Session as CatalogSession, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::{MemTable, TableType};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use futures::future::BoxFuture;

use crate::types::{self, oid};

/// Well-known OIDs PostgreSQL clients may hard-code.
pub const PG_CATALOG_NAMESPACE_OID: u32 = 11;
pub const PUBLIC_NAMESPACE_OID: u32 = 2200;
pub const DATABASE_OID: u32 = 5;
pub const SUPERUSER_OID: u32 = 10;
const FIRST_USER_OID: u32 = 16384;

/// Kinds of objects that get OIDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OidKind {
    Namespace,
    Relation,
    Default,
}

/// Stable object identifiers: derived from the object's name, so every connection
/// and every restart sees the same OID for the same object. A hash collision moves
/// the later object to the next free number.
#[derive(Debug, Default)]
pub struct Oids {
    assigned: RwLock<HashMap<(OidKind, String), u32>>,
}

impl Oids {
    pub fn get(&self, kind: OidKind, name: &str) -> u32 {
        if kind == OidKind::Namespace {
            match name {
                "pg_catalog" => return PG_CATALOG_NAMESPACE_OID,
                "public" => return PUBLIC_NAMESPACE_OID,
                _ => {}
            }
        }
        let key = (kind, name.to_string());
        if let Some(oid) = self.assigned.read().expect("oid lock").get(&key) {
            return *oid;
        }
        let mut assigned = self.assigned.write().expect("oid lock");
        if let Some(oid) = assigned.get(&key) {
            return *oid;
        }
        let span = (i32::MAX as u32) - FIRST_USER_OID;
        let mut candidate = FIRST_USER_OID + fnv1a(&format!("{kind:?}:{name}")) % span;
        while assigned.values().any(|v| *v == candidate) {
            candidate = FIRST_USER_OID + (candidate - FIRST_USER_OID + 1) % span;
        }
        assigned.insert(key, candidate);
        candidate
    }

    /// OID of a table or view named `schema.table`.
    pub fn relation(&self, schema: &str, table: &str) -> u32 {
        self.get(OidKind::Relation, &format!("{schema}.{table}"))
    }
}

fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

/// Reads the catalog of one database for the system tables.
#[derive(Clone)]
pub struct CatalogReader {
    pub catalogs: Arc<dyn CatalogProviderList>,
    pub oids: Arc<Oids>,
    pub database: String,
}

/// One table of the catalog as the system tables see it.
pub struct RelationInfo {
    pub schema_name: String,
    pub name: String,
    pub oid: u32,
    pub provider: Arc<dyn TableProvider>,
}

impl CatalogReader {
    pub fn schema_names(&self) -> Vec<String> {
        let mut names = self
            .catalogs
            .catalog(&self.database)
            .map(|c| c.schema_names())
            .unwrap_or_default();
        names.sort();
        names
    }

    pub async fn relations(&self) -> DfResult<Vec<RelationInfo>> {
        let Some(catalog) = self.catalogs.catalog(&self.database) else {
            return Ok(vec![]);
        };
        let mut out = Vec::new();
        for schema_name in self.schema_names() {
            let Some(schema) = catalog.schema(&schema_name) else {
                continue;
            };
            let mut tables = schema.table_names();
            tables.sort();
            for name in tables {
                if let Some(provider) = schema.table(&name).await? {
                    let oid = self.oids.relation(&schema_name, &name);
                    out.push(RelationInfo {
                        schema_name: schema_name.clone(),
                        name,
                        oid,
                        provider,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// Computes a system table's rows from the catalog.
type Builder = fn(CatalogReader) -> BoxFuture<'static, DfResult<Vec<Row>>>;

/// A catalog table whose rows are computed on every scan.
pub struct SystemTable {
    schema: SchemaRef,
    reader: CatalogReader,
    build: Builder,
}

impl std::fmt::Debug for SystemTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemTable")
            .field("schema", &self.schema)
            .finish()
    }
}

#[async_trait]
impl TableProvider for SystemTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn CatalogSession,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let rows = (self.build)(self.reader.clone()).await?;
        let batch = to_batch(&self.schema, &rows)?;
        MemTable::try_new(self.schema.clone(), vec![vec![batch]])?
            .scan(state, projection, filters, limit)
            .await
    }
}

type Row = HashMap<&'static str, ScalarValue>;

fn int32(v: impl TryInto<i32>) -> ScalarValue {
    ScalarValue::Int32(Some(v.try_into().unwrap_or(i32::MAX)))
}

fn int16(v: impl TryInto<i16>) -> ScalarValue {
    ScalarValue::Int16(Some(v.try_into().unwrap_or(i16::MAX)))
}

fn text(v: impl Into<String>) -> ScalarValue {
    ScalarValue::Utf8(Some(v.into()))
}

fn boolean(v: bool) -> ScalarValue {
    ScalarValue::Boolean(Some(v))
}

/// Builds a batch with `schema`'s columns from rows keyed by column name; a missing
/// value is NULL, or the type's zero/empty value where the column is NOT NULL.
fn to_batch(schema: &SchemaRef, rows: &[Row]) -> DfResult<RecordBatch> {
    let mut columns = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let ty = field.data_type();
        if rows.is_empty() {
            columns.push(new_empty_array(ty));
            continue;
        }
        let values = rows.iter().map(|r| match r.get(field.name().as_str()) {
            Some(v) => v.clone(),
            None => default_value(field),
        });
        let array = ScalarValue::iter_to_array(values)?;
        let array = if array.data_type() == ty {
            array
        } else {
            cast(&array, ty)?
        };
        columns.push(array);
    }
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

fn default_value(field: &Field) -> ScalarValue {
    let ty = field.data_type();
    if field.is_nullable() {
        return ScalarValue::try_from(ty).unwrap_or(ScalarValue::Null);
    }
    match ty {
        DataType::Utf8 => text(""),
        DataType::Boolean => boolean(false),
        other => ScalarValue::new_zero(other).unwrap_or(ScalarValue::Null),
    }
}

/// The pg type OID and typmod of a column: as declared, else from its Arrow type.
pub fn column_pg_type(field: &Field) -> (u32, i32) {
    if let Some(declared) = types::declared(field) {
        return declared;
    }
    let oid = types::pg_oid_for_arrow(field.data_type());
    let typmod = match field.data_type() {
        DataType::Decimal128(p, s) => ((*p as i32) << 16 | *s as i32) + 4,
        _ => -1,
    };
    (oid, typmod)
}

/// (typlen, typbyval, typalign, typstorage) of a type, as pg_type has them.
fn type_traits(type_oid: u32) -> (i16, bool, &'static str, &'static str) {
    match type_oid {
        oid::BOOL => (1, true, "c", "p"),
        oid::INT2 => (2, true, "s", "p"),
        oid::INT4 | oid::FLOAT4 | oid::DATE => (4, true, "i", "p"),
        oid::INT8 | oid::FLOAT8 | oid::TIMESTAMP | oid::TIMESTAMPTZ => (8, true, "d", "p"),
        oid::NUMERIC => (-1, false, "i", "m"),
        _ => (-1, false, "i", "x"),
    }
}

fn is_collatable(type_oid: u32) -> bool {
    matches!(type_oid, oid::TEXT | oid::VARCHAR | oid::BPCHAR)
}

/// Replacement tables keyed by name, each with the columns of `schemas[name]`.
pub fn tables(
    reader: &CatalogReader,
    schemas: &HashMap<&'static str, SchemaRef>,
) -> HashMap<&'static str, Arc<dyn TableProvider>> {
    let builders: [(&'static str, Builder); 5] = [
        ("pg_namespace", |r| Box::pin(namespace_rows(r))),
        ("pg_database", |r| Box::pin(database_rows(r))),
        ("pg_class", |r| Box::pin(class_rows(r))),
        ("pg_attribute", |r| Box::pin(attribute_rows(r))),
        ("pg_attrdef", |r| Box::pin(attrdef_rows(r))),
    ];
    let mut out: HashMap<&'static str, Arc<dyn TableProvider>> = HashMap::new();
    for (name, build) in builders {
        if let Some(schema) = schemas.get(name) {
            let table = SystemTable {
                schema: schema.clone(),
                reader: reader.clone(),
                build,
            };
            out.insert(name, Arc::new(table));
        }
    }
    out
}

async fn namespace_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    Ok(r.schema_names()
        .into_iter()
        .map(|name| {
            // PostgreSQL 15 gives `public` to the pg_database_owner role.
            let owner = if name == "public" {
                6171
            } else {
                SUPERUSER_OID
            };
            Row::from([
                ("oid", int32(r.oids.get(OidKind::Namespace, &name))),
                ("nspname", text(name)),
                ("nspowner", int32(owner)),
            ])
        })
        .collect())
}

async fn database_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    Ok(vec![Row::from([
        ("oid", int32(DATABASE_OID)),
        ("datname", text(r.database.clone())),
        ("datdba", int32(SUPERUSER_OID)),
        ("encoding", int32(6)),
        ("datlocprovider", text("c")),
        ("datcollate", text("C.UTF-8")),
        ("datctype", text("C.UTF-8")),
        ("datistemplate", boolean(false)),
        ("datallowconn", boolean(true)),
        ("datconnlimit", int32(-1)),
        ("dattablespace", int32(1663)),
    ])])
}

async fn class_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let mut rows = Vec::new();
    for rel in r.relations().await? {
        let view = rel.provider.table_type() == TableType::View;
        rows.push(Row::from([
            ("oid", int32(rel.oid)),
            ("relname", text(rel.name.clone())),
            (
                "relnamespace",
                int32(r.oids.get(OidKind::Namespace, &rel.schema_name)),
            ),
            ("reltype", int32(0)),
            ("reloftype", int32(0)),
            ("relowner", int32(SUPERUSER_OID)),
            ("relam", int32(if view { 0 } else { 2 })),
            ("relfilenode", int32(if view { 0 } else { rel.oid })),
            ("reltuples", ScalarValue::Float64(Some(-1.0))),
            ("relpersistence", text("p")),
            ("relkind", text(if view { "v" } else { "r" })),
            ("relnatts", int16(rel.provider.schema().fields().len())),
            ("relispopulated", boolean(true)),
            ("relreplident", text(if view { "n" } else { "d" })),
        ]));
    }
    Ok(rows)
}

async fn attribute_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let mut rows = Vec::new();
    for rel in r.relations().await? {
        for (i, field) in rel.provider.schema().fields().iter().enumerate() {
            let (type_oid, typmod) = column_pg_type(field);
            let (len, byval, align, storage) = type_traits(type_oid);
            let has_default = types::default_sql(field).is_some()
                || rel.provider.get_column_default(field.name()).is_some();
            let dims = matches!(field.data_type(), DataType::List(_)) as i32;
            let collation = if is_collatable(type_oid) { 100 } else { 0 };
            rows.push(Row::from([
                ("attrelid", int32(rel.oid)),
                ("attname", text(field.name().clone())),
                ("atttypid", int32(type_oid)),
                ("attstattarget", int32(-1)),
                ("attlen", int16(len)),
                ("attnum", int16(i + 1)),
                ("attndims", int32(dims)),
                ("attcacheoff", int32(-1)),
                ("atttypmod", int32(typmod)),
                ("attbyval", boolean(byval)),
                ("attalign", text(align)),
                ("attstorage", text(storage)),
                ("attnotnull", boolean(!field.is_nullable())),
                ("atthasdef", boolean(has_default)),
                ("attislocal", boolean(true)),
                ("attcollation", int32(collation)),
            ]));
        }
    }
    Ok(rows)
}

async fn attrdef_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let mut rows = Vec::new();
    for rel in r.relations().await? {
        for (i, field) in rel.provider.schema().fields().iter().enumerate() {
            // pg_get_expr returns adbin as is, so store the expression's SQL text.
            let stored = types::default_sql(field).map(str::to_string);
            let sql = match (stored, rel.provider.get_column_default(field.name())) {
                (Some(stored), _) => stored,
                (None, Some(default)) => datafusion::sql::unparser::expr_to_sql(default)
                    .map(|e| e.to_string())
                    .unwrap_or_else(|_| default.to_string()),
                (None, None) => continue,
            };
            let key = format!("{}.{}", rel.oid, i + 1);
            rows.push(Row::from([
                ("oid", int32(r.oids.get(OidKind::Default, &key))),
                ("adrelid", int32(rel.oid)),
                ("adnum", int16(i + 1)),
                ("adbin", text(sql)),
            ]));
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_are_stable_and_distinct() {
        let a = Oids::default();
        let b = Oids::default();
        assert_eq!(a.relation("public", "t"), b.relation("public", "t"));
        assert_ne!(a.relation("public", "t"), a.relation("public", "u"));
        assert!(a.relation("public", "t") >= FIRST_USER_OID);
        assert_eq!(a.get(OidKind::Namespace, "public"), PUBLIC_NAMESPACE_OID);
    }
}
