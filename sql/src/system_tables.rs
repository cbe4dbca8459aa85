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

mod keys;
mod oids;
mod rows;

use keys::*;
pub use keys::{ForeignKeyInfo, KeyInfo, KeyKind};
pub use oids::*;
use rows::*;

/// Reads the catalog of one database for the system tables.
#[derive(Clone)]
pub struct CatalogReader {
    pub catalogs: Arc<dyn CatalogProviderList>,
    pub oids: Arc<Oids>,
    pub database: String,
    /// Declared keys and comments live in the stored catalog.
    pub storage: Option<Arc<enishi_storage::Storage>>,
    /// pg_type's names by OID.
    pub type_names: Arc<HashMap<i64, String>>,
    /// The sessions, for the statistics views.
    pub activity: Arc<crate::activity::Activity>,
    /// Who is reading (set per scan from the reading session).
    pub caller: Option<Arc<crate::activity::Caller>>,
}

/// An identifier as PostgreSQL's ruleutils prints it: bare when it is a plain
/// lower-case name, else double-quoted.
pub(crate) fn quote_name(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// One table of the catalog as the system tables see it.
pub struct RelationInfo {
    pub schema_name: String,
    pub name: String,
    pub oid: u32,
    pub provider: Arc<dyn TableProvider>,
}

impl RelationInfo {
    /// Whether the relation is a sequence (pg_class.relkind `S`).
    pub fn is_sequence(&self) -> bool {
        self.provider
            .downcast_ref::<crate::tables::StoredSequence>()
            .is_some()
    }

    /// Whether PostgreSQL shows the relation as a view: pg_catalog's
    /// catalogs are tables and its other relations views, whatever serves
    /// them here; information_schema has views only.
    pub fn is_view(&self) -> bool {
        match self.schema_name.as_str() {
            "pg_catalog" => system_catalog_oid(&self.name).is_none(),
            "information_schema" => true,
            _ => self.provider.table_type() == TableType::View,
        }
    }
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

    /// The declared primary keys, unique constraints and indexes.
    pub fn keys(&self) -> Vec<KeyInfo> {
        let Some(storage) = &self.storage else {
            return Vec::new();
        };
        storage.read_catalog(|c| {
            c.schemas
                .iter()
                .flat_map(|(schema, s)| {
                    s.tables.iter().flat_map(move |(table, entry)| {
                        let primary = entry
                            .primary_key
                            .iter()
                            .map(|k| (k.clone(), KeyKind::Primary));
                        let unique = entry.unique.iter().map(|k| (k.clone(), KeyKind::Unique));
                        let indexes = entry.indexes.iter().map(|i| {
                            let key = enishi_storage::PrimaryKey {
                                name: i.name.clone(),
                                columns: i.columns.clone(),
                            };
                            (key, KeyKind::Index { unique: i.unique })
                        });
                        primary
                            .chain(unique)
                            .chain(indexes)
                            .map(move |(key, kind)| KeyInfo {
                                schema_name: schema.clone(),
                                table: table.clone(),
                                key,
                                kind,
                            })
                    })
                })
                .collect()
        })
    }

    /// The declared primary keys and unique constraints.
    pub fn constraints(&self) -> Vec<KeyInfo> {
        let mut keys = self.keys();
        keys.retain(KeyInfo::is_constraint);
        keys
    }

    /// The declared foreign keys whose referenced table exists.
    pub fn foreign_keys(&self) -> Vec<ForeignKeyInfo> {
        let Some(storage) = &self.storage else {
            return Vec::new();
        };
        storage.read_catalog(|c| {
            c.schemas
                .iter()
                .flat_map(|(schema, s)| {
                    s.tables.iter().flat_map(move |(table, entry)| {
                        entry.foreign_keys.iter().map(move |key| ForeignKeyInfo {
                            schema_name: schema.clone(),
                            table: table.clone(),
                            key: key.clone(),
                        })
                    })
                })
                .filter(|fk| {
                    c.table(&fk.key.referenced_schema, &fk.key.referenced_table)
                        .is_some()
                })
                .collect()
        })
    }

    /// The OID of a foreign key constraint.
    pub fn foreign_key_oid(&self, fk: &ForeignKeyInfo) -> u32 {
        self.oids.get(
            OidKind::Constraint,
            &format!("{}.{}.{}", fk.schema_name, fk.table, fk.key.name),
        )
    }

    /// The OID of a primary key's index (a relation of its schema).
    pub fn index_oid(&self, key: &KeyInfo) -> u32 {
        self.oids.relation(&key.schema_name, &key.key.name)
    }

    /// The OID of a primary key constraint.
    pub fn constraint_oid(&self, key: &KeyInfo) -> u32 {
        self.oids.get(
            OidKind::Constraint,
            &format!("{}.{}.{}", key.schema_name, key.table, key.key.name),
        )
    }

    /// Every sequence: its schema, name and definition.
    pub fn sequences(&self) -> Vec<(String, String, enishi_storage::SequenceEntry)> {
        let Some(storage) = &self.storage else {
            return Vec::new();
        };
        storage.read_catalog(|c| {
            c.schemas
                .iter()
                .flat_map(|(schema, s)| {
                    s.sequences
                        .iter()
                        .map(move |(name, e)| (schema.clone(), name.clone(), e.clone()))
                })
                .collect()
        })
    }

    /// Each view's query as it was written, by schema and name (PostgreSQL
    /// prints its own rendering of the parsed query).
    pub fn view_definitions(&self) -> HashMap<(String, String), String> {
        let Some(storage) = &self.storage else {
            return HashMap::new();
        };
        storage.read_catalog(|c| {
            c.schemas
                .iter()
                .flat_map(|(schema, s)| {
                    s.views
                        .iter()
                        .map(move |(name, v)| ((schema.clone(), name.clone()), v.sql.clone()))
                })
                .collect()
        })
    }

    /// pg_type's name of a type.
    pub fn type_name(&self, type_oid: u32) -> &str {
        self.type_names
            .get(&i64::from(type_oid))
            .map_or("unknown", String::as_str)
    }

    /// The OID of the role owning each object, by object key (the
    /// superuser's when none is recorded).
    pub fn owners(&self) -> impl Fn(&str) -> u32 + use<> {
        let owners = self
            .storage
            .as_ref()
            .map(|s| s.read_catalog(|c| c.security.owners.clone()))
            .unwrap_or_default();
        move |key: &str| owners.get(key).map_or(SUPERUSER_OID, |name| role_oid(name))
    }

    /// The roles' names by OID: the superuser, PostgreSQL's predefined roles
    /// (`fixed`) and those created in Enishi.
    pub fn role_names(&self) -> HashMap<u32, String> {
        let mut names = HashMap::from([(SUPERUSER_OID, crate::constants::SUPERUSER.to_string())]);
        if let Some(storage) = &self.storage {
            storage.read_catalog(|c| {
                for name in c.security.roles.keys() {
                    names.insert(role_oid(name), name.clone());
                }
            });
        }
        names
    }

    /// `COMMENT ON` texts by object key.
    fn comments(&self) -> std::collections::BTreeMap<String, String> {
        self.storage
            .as_ref()
            .map(|s| s.read_catalog(|c| c.comments.clone()))
            .unwrap_or_default()
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
pub(crate) type Builder = fn(CatalogReader) -> BoxFuture<'static, DfResult<Vec<Row>>>;

/// A catalog table whose rows are computed on every scan.
pub struct SystemTable {
    schema: SchemaRef,
    reader: CatalogReader,
    build: Builder,
    /// Rows that never change (PostgreSQL's own), before the computed ones.
    fixed: Vec<RecordBatch>,
}

impl SystemTable {
    /// A table of `schema`'s columns whose rows `build` computes on each scan.
    pub(crate) fn new(schema: SchemaRef, reader: CatalogReader, build: Builder) -> Self {
        Self {
            schema,
            reader,
            build,
            fixed: Vec::new(),
        }
    }
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
        let mut reader = self.reader.clone();
        reader.caller = state.config().get_extension::<crate::activity::Caller>();
        let rows = (self.build)(reader).await?;
        let mut batches = self.fixed.clone();
        batches.push(to_batch(&self.schema, &rows)?);
        MemTable::try_new(self.schema.clone(), vec![batches])?
            .scan(state, projection, filters, limit)
            .await
    }
}

pub(crate) type Row = HashMap<&'static str, ScalarValue>;

pub(crate) fn int32(v: impl TryInto<i32>) -> ScalarValue {
    ScalarValue::Int32(Some(v.try_into().unwrap_or(i32::MAX)))
}

fn int16(v: impl TryInto<i16>) -> ScalarValue {
    ScalarValue::Int16(Some(v.try_into().unwrap_or(i16::MAX)))
}

pub(crate) fn text(v: impl Into<String>) -> ScalarValue {
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
        oid::NAME => (64, false, "c", "p"),
        _ => (-1, false, "i", "x"),
    }
}

fn is_collatable(type_oid: u32) -> bool {
    matches!(type_oid, oid::TEXT | oid::VARCHAR | oid::BPCHAR)
}

/// Replacement tables keyed by name, each with the columns of `schemas[name]`
/// (the library's, or PostgreSQL's where [`own_schema`] has them) and the
/// fixed rows of `fixed[name]` before the computed ones.
pub fn tables(
    reader: &CatalogReader,
    schemas: &HashMap<&'static str, SchemaRef>,
    fixed: &HashMap<&'static str, Vec<RecordBatch>>,
) -> HashMap<&'static str, Arc<dyn TableProvider>> {
    let builders: [(&'static str, Builder); 11] = [
        ("pg_namespace", |r| Box::pin(namespace_rows(r))),
        ("pg_database", |r| Box::pin(database_rows(r))),
        ("pg_class", |r| Box::pin(class_rows(r))),
        ("pg_attribute", |r| Box::pin(attribute_rows(r))),
        ("pg_attrdef", |r| Box::pin(attrdef_rows(r))),
        ("pg_constraint", |r| Box::pin(constraint_rows(r))),
        ("pg_index", |r| Box::pin(index_rows(r))),
        ("pg_description", |r| Box::pin(description_rows(r))),
        ("pg_depend", |r| Box::pin(depend_rows(r))),
        ("pg_rewrite", |r| Box::pin(rewrite_rows(r))),
        ("pg_sequence", |r| Box::pin(sequence_rows(r))),
    ];
    let mut out: HashMap<&'static str, Arc<dyn TableProvider>> = HashMap::new();
    for (name, build) in builders {
        let Some(schema) = own_schema(name).or_else(|| schemas.get(name).map(with_acl_columns))
        else {
            continue;
        };
        let schema = oids_described_as_oid(&schema);
        let fixed = fixed
            .get(name)
            .map(|batches| {
                batches
                    .iter()
                    .filter_map(|b| conform_batch(b, &schema).ok())
                    .collect()
            })
            .unwrap_or_default();
        let table = SystemTable {
            schema,
            reader: reader.clone(),
            build,
            fixed,
        };
        out.insert(name, Arc::new(table));
    }
    out
}

/// The library tags its OID columns with the reg* type a value names
/// (`atttypid` regtype, `relnamespace` regnamespace), for comparisons with
/// names; PostgreSQL declares them `oid`, and so are they described to
/// clients (psycopg reads an oid as a number, a regtype as text).
fn oids_described_as_oid(schema: &SchemaRef) -> SchemaRef {
    use datafusion_pg_catalog::pg_catalog::oid_field::OID_ALIAS_KEY;
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let tagged = f.metadata().contains_key(OID_ALIAS_KEY);
            if !tagged || crate::types::declared(f).is_some() || f.data_type() != &DataType::Int32 {
                return f.as_ref().clone();
            }
            let mut metadata = f.metadata().clone();
            metadata.extend(crate::types::ColumnType::new(DataType::Int32, oid::OID).metadata());
            f.as_ref().clone().with_metadata(metadata)
        })
        .collect();
    Arc::new(datafusion::arrow::datatypes::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ))
}

/// pg_class with the `relacl` and `reloptions` columns the library leaves out
/// (pgAdmin and SQLAlchemy read them), where PostgreSQL has them.
fn with_acl_columns(schema: &SchemaRef) -> SchemaRef {
    if schema.field_with_name("relkind").is_err() || schema.field_with_name("reloptions").is_ok() {
        return schema.clone();
    }
    let schema = datafusion::arrow::datatypes::Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| match f.name().as_str() {
                // real, as in PostgreSQL (pgjdbc's getIndexInfo reads it as a Float).
                "reltuples" => f.as_ref().clone().with_data_type(DataType::Float32),
                _ => f.as_ref().clone(),
            })
            .collect::<Vec<_>>(),
    );
    let texts = || DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)));
    let mut fields: Vec<Field> = Vec::with_capacity(schema.fields().len() + 2);
    for field in schema.fields() {
        if field.name() == "relpartbound" {
            fields.push(Field::new("relacl", texts(), true));
            fields.push(Field::new("reloptions", texts(), true));
        }
        fields.push(field.as_ref().clone());
    }
    if fields.len() == schema.fields().len() {
        fields.push(Field::new("relacl", texts(), true));
        fields.push(Field::new("reloptions", texts(), true));
    }
    Arc::new(datafusion::arrow::datatypes::Schema::new(fields))
}

/// A fixed batch with `schema`'s columns (by name, cast; NULL where missing).
fn conform_batch(batch: &RecordBatch, schema: &SchemaRef) -> DfResult<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .map(|field| match batch.column_by_name(field.name()) {
            Some(column) if column.data_type() == field.data_type() => Ok(column.clone()),
            Some(column) => Ok(cast(column, field.data_type())?),
            None => Ok(datafusion::arrow::array::new_null_array(
                field.data_type(),
                batch.num_rows(),
            )),
        })
        .collect::<DfResult<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// PostgreSQL's columns for the tables whose array columns the library
/// keeps as text (`conkey`, `indkey`): clients unnest them, index them and
/// compare with `= ANY`.
fn own_schema(name: &str) -> Option<SchemaRef> {
    let oid = |n: &str| Field::new(n, DataType::Int32, false);
    let text = |n: &str| Field::new(n, DataType::Utf8, false);
    let flag = |n: &str| Field::new(n, DataType::Boolean, false);
    let int2 = |n: &str| Field::new(n, DataType::Int16, false);
    let list = |n: &str, of: DataType, nullable: bool| {
        Field::new(
            n,
            DataType::List(Arc::new(Field::new_list_field(of, true))),
            nullable,
        )
    };
    // int2vector and oidvector: lists, described and spelled as those types.
    let vector = |n: &str, of: DataType, pg_type: u32| {
        let field = list(n, of, false);
        let declared = crate::types::ColumnType::new(field.data_type().clone(), pg_type);
        field.with_metadata(declared.metadata())
    };
    let fields = match name {
        // PostgreSQL 15's columns (the library's are another version's).
        "pg_namespace" => vec![
            oid("oid"),
            text("nspname"),
            oid("nspowner"),
            list("nspacl", DataType::Utf8, true),
        ],
        "pg_database" => vec![
            oid("oid"),
            text("datname"),
            oid("datdba"),
            Field::new("encoding", DataType::Int32, false),
            text("datlocprovider"),
            flag("datistemplate"),
            flag("datallowconn"),
            Field::new("datconnlimit", DataType::Int32, false),
            Field::new("datfrozenxid", DataType::Int32, false),
            Field::new("datminmxid", DataType::Int32, false),
            oid("dattablespace"),
            text("datcollate"),
            text("datctype"),
            Field::new("daticulocale", DataType::Utf8, true),
            Field::new("datcollversion", DataType::Utf8, true),
            list("datacl", DataType::Utf8, true),
        ],
        "pg_constraint" => vec![
            oid("oid"),
            text("conname"),
            oid("connamespace"),
            text("contype"),
            flag("condeferrable"),
            flag("condeferred"),
            flag("convalidated"),
            oid("conrelid"),
            oid("contypid"),
            oid("conindid"),
            oid("conparentid"),
            oid("confrelid"),
            text("confupdtype"),
            text("confdeltype"),
            text("confmatchtype"),
            flag("conislocal"),
            Field::new("coninhcount", DataType::Int32, false),
            flag("connoinherit"),
            list("conkey", DataType::Int16, true),
            list("confkey", DataType::Int16, true),
            list("conpfeqop", DataType::Int32, true),
            list("conppeqop", DataType::Int32, true),
            list("conffeqop", DataType::Int32, true),
            list("confdelsetcols", DataType::Int16, true),
            list("conexclop", DataType::Int32, true),
            Field::new("conbin", DataType::Utf8, true),
        ],
        "pg_sequence" => {
            let int8 = |n: &str| Field::new(n, DataType::Int64, false);
            vec![
                oid("seqrelid"),
                oid("seqtypid"),
                int8("seqstart"),
                int8("seqincrement"),
                int8("seqmax"),
                int8("seqmin"),
                int8("seqcache"),
                flag("seqcycle"),
            ]
        }
        "pg_index" => vec![
            oid("indexrelid"),
            oid("indrelid"),
            int2("indnatts"),
            int2("indnkeyatts"),
            flag("indisunique"),
            flag("indnullsnotdistinct"),
            flag("indisprimary"),
            flag("indisexclusion"),
            flag("indimmediate"),
            flag("indisclustered"),
            flag("indisvalid"),
            flag("indcheckxmin"),
            flag("indisready"),
            flag("indislive"),
            flag("indisreplident"),
            vector("indkey", DataType::Int16, oid::INT2VECTOR),
            vector("indcollation", DataType::Int32, oid::OIDVECTOR),
            vector("indclass", DataType::Int32, oid::OIDVECTOR),
            vector("indoption", DataType::Int16, oid::INT2VECTOR),
            Field::new("indexprs", DataType::Utf8, true),
            Field::new("indpred", DataType::Utf8, true),
        ],
        _ => return None,
    };
    Some(Arc::new(datafusion::arrow::datatypes::Schema::new(fields)))
}

/// SQL's value functions (`current_date`, `current_user`, …) in a default,
/// in capitals, as PostgreSQL's deparser spells them (`user` is
/// `CURRENT_USER`).
fn value_functions_capitalized(sql: String) -> String {
    use datafusion::sql::sqlparser::ast::{self, Expr};
    const NAMES: [&str; 10] = [
        "current_date",
        "current_time",
        "current_timestamp",
        "localtime",
        "localtimestamp",
        "current_user",
        "session_user",
        "current_role",
        "current_catalog",
        "current_schema",
    ];
    let parsed = datafusion::sql::sqlparser::parser::Parser::new(
        &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
    )
    .try_with_sql(&sql)
    .and_then(|mut parser| parser.parse_expr());
    let Ok(mut expr) = parsed else {
        return sql;
    };
    let mut changed = false;
    let _ = ast::visit_expressions_mut(&mut expr, |e| {
        if let Expr::Function(f) = e
            && matches!(f.args, ast::FunctionArguments::None)
            && let [name] = f.name.0.as_slice()
        {
            let lower = name.to_string().to_ascii_lowercase();
            let spelled = match lower.as_str() {
                "user" => Some("CURRENT_USER".to_string()),
                n if NAMES.contains(&n) => Some(n.to_ascii_uppercase()),
                _ => None,
            };
            if let Some(spelled) = spelled {
                f.name = ast::ObjectName::from(vec![ast::Ident::new(spelled)]);
                changed = true;
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    if changed { expr.to_string() } else { sql }
}

/// A default as PostgreSQL's pg_get_expr shows it: a string literal with its
/// cast (`'n/a'::text`, `'2024-01-01'::date`), value functions in capitals.
pub(crate) fn with_literal_type(sql: String, type_oid: u32) -> String {
    let sql = value_functions_capitalized(sql);
    let literal = sql.len() >= 2
        && sql.starts_with('\'')
        && sql.ends_with('\'')
        && !sql[1..sql.len() - 1].replace("''", "").contains('\'');
    let name = match type_oid {
        oid::TEXT => "text",
        oid::NAME => "name",
        oid::VARCHAR => "character varying",
        oid::BPCHAR => "bpchar",
        oid::DATE => "date",
        oid::TIMESTAMP => "timestamp without time zone",
        oid::TIMESTAMPTZ => "timestamp with time zone",
        oid::TIME => "time without time zone",
        oid::INTERVAL => "interval",
        oid::NUMERIC => "numeric",
        oid::JSON => "json",
        oid::JSONB => "jsonb",
        oid::UUID => "uuid",
        oid::BYTEA => "bytea",
        _ => return sql,
    };
    if literal {
        format!("{sql}::{name}")
    } else {
        sql
    }
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
