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
pub const PG_TOAST_NAMESPACE_OID: u32 = 99;
/// As a PostgreSQL 15 cluster made by initdb has it.
pub const INFORMATION_SCHEMA_NAMESPACE_OID: u32 = 13207;
pub const DATABASE_OID: u32 = 5;
pub const SUPERUSER_OID: u32 = 10;
/// pg_database_owner, the predefined role owning `public`.
pub const DATABASE_OWNER_OID: u32 = 6171;
const FIRST_USER_OID: u32 = 16384;

/// PostgreSQL 15's OIDs of its system catalog tables, which clients compare
/// with (`classoid = 'pg_class'::regclass`) or hard-code (1259).
const SYSTEM_CATALOG_OIDS: &[(&str, u32)] = &[
    ("pg_default_acl", 826),
    ("pg_tablespace", 1213),
    ("pg_shdepend", 1214),
    ("pg_type", 1247),
    ("pg_attribute", 1249),
    ("pg_proc", 1255),
    ("pg_class", 1259),
    ("pg_authid", 1260),
    ("pg_auth_members", 1261),
    ("pg_database", 1262),
    ("pg_foreign_server", 1417),
    ("pg_user_mapping", 1418),
    ("pg_sequence", 2224),
    ("pg_foreign_data_wrapper", 2328),
    ("pg_shdescription", 2396),
    ("pg_aggregate", 2600),
    ("pg_am", 2601),
    ("pg_amop", 2602),
    ("pg_amproc", 2603),
    ("pg_attrdef", 2604),
    ("pg_cast", 2605),
    ("pg_constraint", 2606),
    ("pg_conversion", 2607),
    ("pg_depend", 2608),
    ("pg_description", 2609),
    ("pg_index", 2610),
    ("pg_inherits", 2611),
    ("pg_language", 2612),
    ("pg_largeobject", 2613),
    ("pg_namespace", 2615),
    ("pg_opclass", 2616),
    ("pg_operator", 2617),
    ("pg_rewrite", 2618),
    ("pg_statistic", 2619),
    ("pg_trigger", 2620),
    ("pg_opfamily", 2753),
    ("pg_db_role_setting", 2964),
    ("pg_largeobject_metadata", 2995),
    ("pg_extension", 3079),
    ("pg_foreign_table", 3118),
    ("pg_policy", 3256),
    ("pg_partitioned_table", 3350),
    ("pg_statistic_ext", 3381),
    ("pg_init_privs", 3394),
    ("pg_statistic_ext_data", 3429),
    ("pg_collation", 3456),
    ("pg_event_trigger", 3466),
    ("pg_enum", 3501),
    ("pg_range", 3541),
    ("pg_transform", 3576),
    ("pg_shseclabel", 3592),
    ("pg_seclabel", 3596),
    ("pg_ts_dict", 3600),
    ("pg_ts_parser", 3601),
    ("pg_ts_config", 3602),
    ("pg_ts_config_map", 3603),
    ("pg_ts_template", 3764),
    ("pg_replication_origin", 6000),
    ("pg_subscription", 6100),
    ("pg_subscription_rel", 6102),
    ("pg_publication", 6104),
    ("pg_publication_rel", 6106),
    ("pg_publication_namespace", 6237),
    ("pg_parameter_acl", 6243),
];

/// The OID of a system catalog table, as PostgreSQL 15 numbers it.
pub fn system_catalog_oid(name: &str) -> Option<u32> {
    SYSTEM_CATALOG_OIDS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, oid)| *oid)
}

/// Kinds of objects that get OIDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OidKind {
    Namespace,
    Relation,
    Default,
    Constraint,
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
                "pg_toast" => return PG_TOAST_NAMESPACE_OID,
                "information_schema" => return INFORMATION_SCHEMA_NAMESPACE_OID,
                _ => {}
            }
        }
        if kind == OidKind::Relation
            && let Some(table) = name.strip_prefix("pg_catalog.")
            && let Some(oid) = system_catalog_oid(table)
        {
            return oid;
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

/// A role's OID: PostgreSQL's 10 for the bootstrap superuser, and one
/// derived from the name for the others (stable across restarts).
pub fn role_oid(name: &str) -> u32 {
    if name == crate::constants::SUPERUSER {
        return SUPERUSER_OID;
    }
    FIRST_USER_OID + fnv1a(&format!("Role:{name}")) % ((i32::MAX as u32) - FIRST_USER_OID)
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
    /// Declared keys and comments live in the stored catalog.
    pub storage: Option<Arc<enishi_storage::Storage>>,
    /// pg_type's names by OID.
    pub type_names: Arc<HashMap<i64, String>>,
    /// The sessions, for the statistics views.
    pub activity: Arc<crate::activity::Activity>,
    /// Who is reading (set per scan from the reading session).
    pub caller: Option<Arc<crate::activity::Caller>>,
}

/// A table's declared primary key, as the system tables show it.
pub struct KeyInfo {
    pub schema_name: String,
    pub table: String,
    pub key: enishi_storage::PrimaryKey,
}

impl KeyInfo {
    /// `PRIMARY KEY (a, b)`, as pg_get_constraintdef shows it.
    pub fn constraint_def(&self) -> String {
        let columns: Vec<String> = self.key.columns.iter().map(|c| quote_name(c)).collect();
        format!("PRIMARY KEY ({})", columns.join(", "))
    }

    /// The CREATE INDEX statement of the key's index, as pg_get_indexdef shows it.
    pub fn index_def(&self) -> String {
        let columns: Vec<String> = self.key.columns.iter().map(|c| quote_name(c)).collect();
        format!(
            "CREATE UNIQUE INDEX {} ON {}.{} USING btree ({})",
            quote_name(&self.key.name),
            quote_name(&self.schema_name),
            quote_name(&self.table),
            columns.join(", ")
        )
    }
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

    /// The tables with a declared primary key.
    pub fn keys(&self) -> Vec<KeyInfo> {
        let Some(storage) = &self.storage else {
            return Vec::new();
        };
        storage.read_catalog(|c| {
            c.schemas
                .iter()
                .flat_map(|(schema, s)| {
                    s.tables.iter().filter_map(move |(table, entry)| {
                        Some(KeyInfo {
                            schema_name: schema.clone(),
                            table: table.clone(),
                            key: entry.primary_key.clone()?,
                        })
                    })
                })
                .collect()
        })
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
    let builders: [(&'static str, Builder); 9] = [
        ("pg_namespace", |r| Box::pin(namespace_rows(r))),
        ("pg_database", |r| Box::pin(database_rows(r))),
        ("pg_class", |r| Box::pin(class_rows(r))),
        ("pg_attribute", |r| Box::pin(attribute_rows(r))),
        ("pg_attrdef", |r| Box::pin(attrdef_rows(r))),
        ("pg_constraint", |r| Box::pin(constraint_rows(r))),
        ("pg_index", |r| Box::pin(index_rows(r))),
        ("pg_description", |r| Box::pin(description_rows(r))),
        ("pg_depend", |r| Box::pin(depend_rows(r))),
    ];
    let mut out: HashMap<&'static str, Arc<dyn TableProvider>> = HashMap::new();
    for (name, build) in builders {
        let Some(schema) = own_schema(name).or_else(|| schemas.get(name).map(with_acl_columns))
        else {
            continue;
        };
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
            list("indkey", DataType::Int16, false),
            list("indcollation", DataType::Int32, false),
            list("indclass", DataType::Int32, false),
            list("indoption", DataType::Int16, false),
            Field::new("indexprs", DataType::Utf8, true),
            Field::new("indpred", DataType::Utf8, true),
        ],
        _ => return None,
    };
    Some(Arc::new(datafusion::arrow::datatypes::Schema::new(fields)))
}

fn int16_list(values: impl IntoIterator<Item = i16>) -> ScalarValue {
    let values: Vec<ScalarValue> = values
        .into_iter()
        .map(|v| ScalarValue::Int16(Some(v)))
        .collect();
    ScalarValue::List(ScalarValue::new_list_nullable(&values, &DataType::Int16))
}

fn int32_list(values: impl IntoIterator<Item = i32>) -> ScalarValue {
    let values: Vec<ScalarValue> = values
        .into_iter()
        .map(|v| ScalarValue::Int32(Some(v)))
        .collect();
    ScalarValue::List(ScalarValue::new_list_nullable(&values, &DataType::Int32))
}

/// Each declared primary key with its table's OID and its columns' numbers.
fn keys_with_columns(
    r: &CatalogReader,
    relations: &[RelationInfo],
) -> Vec<(KeyInfo, u32, Vec<i16>)> {
    let mut out = Vec::new();
    for key in r.keys() {
        let Some(rel) = relations
            .iter()
            .find(|rel| rel.schema_name == key.schema_name && rel.name == key.table)
        else {
            continue;
        };
        let schema = rel.provider.schema();
        let numbers = key
            .key
            .columns
            .iter()
            .filter_map(|c| schema.index_of(c).ok().map(|i| (i + 1) as i16))
            .collect();
        out.push((key, rel.oid, numbers));
    }
    out
}

async fn constraint_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let mut rows = Vec::new();
    for (key, table_oid, numbers) in keys_with_columns(&r, &r.relations().await?) {
        rows.push(Row::from([
            ("oid", int32(r.constraint_oid(&key))),
            ("conname", text(key.key.name.clone())),
            (
                "connamespace",
                int32(r.oids.get(OidKind::Namespace, &key.schema_name)),
            ),
            ("contype", text("p")),
            ("convalidated", boolean(true)),
            ("conrelid", int32(table_oid)),
            ("conindid", int32(r.index_oid(&key))),
            ("confupdtype", text(" ")),
            ("confdeltype", text(" ")),
            ("confmatchtype", text(" ")),
            ("conislocal", boolean(true)),
            ("connoinherit", boolean(true)),
            ("conkey", int16_list(numbers)),
        ]));
    }
    Ok(rows)
}

async fn index_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let mut rows = Vec::new();
    for (key, table_oid, numbers) in keys_with_columns(&r, &r.relations().await?) {
        let n = numbers.len();
        rows.push(Row::from([
            ("indexrelid", int32(r.index_oid(&key))),
            ("indrelid", int32(table_oid)),
            ("indnatts", int16(n)),
            ("indnkeyatts", int16(n)),
            ("indisunique", boolean(true)),
            ("indisprimary", boolean(true)),
            ("indimmediate", boolean(true)),
            ("indisvalid", boolean(true)),
            ("indisready", boolean(true)),
            ("indislive", boolean(true)),
            ("indkey", int16_list(numbers)),
            ("indcollation", int32_list(std::iter::repeat_n(0, n))),
            // The default btree operator class of each column's type is not
            // tracked; 0 stands for "default".
            ("indclass", int32_list(std::iter::repeat_n(0, n))),
            ("indoption", int16_list(std::iter::repeat_n(0, n))),
        ]));
    }
    Ok(rows)
}

/// A default that is a string literal, with the cast PostgreSQL's pg_get_expr
/// shows on it (`'n/a'::text`, `'2024-01-01'::date`).
pub(crate) fn with_literal_type(sql: String, type_oid: u32) -> String {
    let literal = sql.len() >= 2
        && sql.starts_with('\'')
        && sql.ends_with('\'')
        && !sql[1..sql.len() - 1].replace("''", "").contains('\'');
    let name = match type_oid {
        oid::TEXT => "text",
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

/// pg_class's OID, which pg_description.classoid names for relations.
const PG_CLASS_OID: u32 = 1259;
/// pg_namespace's OID, for schema comments.
const PG_NAMESPACE_OID: u32 = 2615;

async fn description_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let comments = r.comments();
    if comments.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = Vec::new();
    let mut push = |objoid: u32, classoid: u32, objsubid: usize, description: &str| {
        rows.push(Row::from([
            ("objoid", int32(objoid)),
            ("classoid", int32(classoid)),
            ("objsubid", int32(objsubid)),
            ("description", text(description)),
        ]));
    };
    for schema in r.schema_names() {
        if let Some(text) = comments.get(&enishi_storage::schema_key(&schema)) {
            push(
                r.oids.get(OidKind::Namespace, &schema),
                PG_NAMESPACE_OID,
                0,
                text,
            );
        }
    }
    for rel in r.relations().await? {
        let key = enishi_storage::table_key(&rel.schema_name, &rel.name);
        if let Some(text) = comments.get(&key) {
            push(rel.oid, PG_CLASS_OID, 0, text);
        }
        for (i, field) in rel.provider.schema().fields().iter().enumerate() {
            let key = enishi_storage::column_key(&rel.schema_name, &rel.name, field.name());
            if let Some(text) = comments.get(&key) {
                push(rel.oid, PG_CLASS_OID, i + 1, text);
            }
        }
    }
    Ok(rows)
}

/// pg_constraint's OID, for dependencies on primary keys.
const PG_CONSTRAINT_OID: u32 = 2606;

/// The dependencies PostgreSQL records for what Enishi has: each relation on
/// its schema; each primary key on its columns, and its index on it (pgAdmin
/// finds a key's constraint from its index through these).
async fn depend_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let relations = r.relations().await?;
    let mut rows = Vec::new();
    let mut push =
        |classid: u32, objid: u32, refclassid: u32, refobjid: u32, refsub: i16, deptype| {
            rows.push(Row::from([
                ("classid", int32(classid)),
                ("objid", int32(objid)),
                ("objsubid", int32(0)),
                ("refclassid", int32(refclassid)),
                ("refobjid", int32(refobjid)),
                ("refobjsubid", int32(refsub)),
                ("deptype", text(deptype)),
            ]));
        };
    for rel in &relations {
        if matches!(
            rel.schema_name.as_str(),
            "pg_catalog" | "information_schema"
        ) {
            continue;
        }
        let schema = r.oids.get(OidKind::Namespace, &rel.schema_name);
        push(PG_CLASS_OID, rel.oid, PG_NAMESPACE_OID, schema, 0, "n");
    }
    for (key, table, numbers) in keys_with_columns(&r, &relations) {
        let constraint = r.constraint_oid(&key);
        for number in numbers {
            push(
                PG_CONSTRAINT_OID,
                constraint,
                PG_CLASS_OID,
                table,
                number,
                "a",
            );
        }
        push(
            PG_CLASS_OID,
            r.index_oid(&key),
            PG_CONSTRAINT_OID,
            constraint,
            0,
            "i",
        );
    }
    Ok(rows)
}

async fn namespace_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let owner = r.owners();
    let mut names = r.schema_names();
    // PostgreSQL's own schemas, which clients list (pgjdbc's getSchemas) or
    // filter out by name.
    for own in ["pg_toast", "pg_catalog", "information_schema"] {
        if !names.iter().any(|n| n == own) {
            names.push(own.to_string());
        }
    }
    Ok(names
        .into_iter()
        .map(|name| {
            // PostgreSQL 15 gives `public` to the pg_database_owner role.
            let owner = if name == "public" {
                DATABASE_OWNER_OID
            } else {
                owner(&enishi_storage::schema_key(&name))
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
    let relations = r.relations().await?;
    let owner = r.owners();
    let table_owner =
        |schema: &str, name: &str| int32(owner(&enishi_storage::table_key(schema, name)));
    let keys = keys_with_columns(&r, &relations);
    let keyed: Vec<u32> = keys.iter().map(|(_, table, _)| *table).collect();
    let mut rows = Vec::new();
    for rel in relations {
        let view = rel.is_view();
        rows.push(Row::from([
            ("oid", int32(rel.oid)),
            ("relname", text(rel.name.clone())),
            (
                "relnamespace",
                int32(r.oids.get(OidKind::Namespace, &rel.schema_name)),
            ),
            ("reltype", int32(0)),
            ("reloftype", int32(0)),
            ("relowner", table_owner(&rel.schema_name, &rel.name)),
            ("relam", int32(if view { 0 } else { 2 })),
            ("relfilenode", int32(if view { 0 } else { rel.oid })),
            ("reltuples", ScalarValue::Float64(Some(-1.0))),
            ("relpersistence", text("p")),
            ("relkind", text(if view { "v" } else { "r" })),
            ("relnatts", int16(rel.provider.schema().fields().len())),
            ("relispopulated", boolean(true)),
            ("relreplident", text(if view { "n" } else { "d" })),
            ("relhasindex", boolean(keyed.contains(&rel.oid))),
        ]));
    }
    for (key, _, numbers) in keys {
        rows.push(Row::from([
            ("oid", int32(r.index_oid(&key))),
            ("relname", text(key.key.name.clone())),
            (
                "relnamespace",
                int32(r.oids.get(OidKind::Namespace, &key.schema_name)),
            ),
            ("reltype", int32(0)),
            ("reloftype", int32(0)),
            ("relowner", table_owner(&key.schema_name, &key.table)),
            ("relam", int32(BTREE_AM_OID)),
            ("relfilenode", int32(r.index_oid(&key))),
            // An index is counted when it is built, a table by ANALYZE.
            ("reltuples", ScalarValue::Float64(Some(0.0))),
            ("relpersistence", text("p")),
            ("relkind", text("i")),
            ("relnatts", int16(numbers.len())),
            ("relispopulated", boolean(true)),
            ("relreplident", text("n")),
        ]));
    }
    Ok(rows)
}

/// pg_am's btree, the access method of every index PostgreSQL would build
/// for a primary key.
const BTREE_AM_OID: u32 = 403;

async fn attribute_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let mut rows = Vec::new();
    for rel in r.relations().await? {
        let view = rel.is_view();
        if !view {
            // The system columns every PostgreSQL table has (attnum < 0),
            // which clients that do not filter on attnum > 0 list.
            for (name, number, type_oid, len, byval, align) in SYSTEM_COLUMNS {
                rows.push(Row::from([
                    ("attrelid", int32(rel.oid)),
                    ("attname", text(*name)),
                    ("atttypid", int32(*type_oid)),
                    ("attstattarget", int32(0)),
                    ("attlen", int16(*len)),
                    ("attnum", ScalarValue::Int16(Some(*number))),
                    ("attndims", int32(0)),
                    ("attcacheoff", int32(-1)),
                    ("atttypmod", int32(-1)),
                    ("attbyval", boolean(*byval)),
                    ("attalign", text(*align)),
                    ("attstorage", text("p")),
                    ("attnotnull", boolean(true)),
                    ("atthasdef", boolean(false)),
                    ("attislocal", boolean(true)),
                    ("attcollation", int32(0)),
                ]));
            }
        }
        for (i, field) in rel.provider.schema().fields().iter().enumerate() {
            let (type_oid, typmod) = column_pg_type(field);
            let (len, byval, align, storage) = type_traits(type_oid);
            let has_default = !view
                && (types::default_sql(field).is_some()
                    || rel.provider.get_column_default(field.name()).is_some());
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
                // A view's columns are never declared NOT NULL.
                ("attnotnull", boolean(!view && !field.is_nullable())),
                ("atthasdef", boolean(has_default)),
                ("attislocal", boolean(true)),
                ("attcollation", int32(collation)),
            ]));
        }
    }
    Ok(rows)
}

/// PostgreSQL's system columns: name, attnum, type (tid, xid, cid, oid),
/// length, by value, alignment.
const SYSTEM_COLUMNS: &[(&str, i16, u32, i16, bool, &str)] = &[
    ("ctid", -1, 27, 6, false, "s"),
    ("xmin", -2, 28, 4, true, "i"),
    ("cmin", -3, 29, 4, true, "i"),
    ("xmax", -4, 28, 4, true, "i"),
    ("cmax", -5, 29, 4, true, "i"),
    ("tableoid", -6, 26, 4, true, "i"),
];

async fn attrdef_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let mut rows = Vec::new();
    for rel in r.relations().await? {
        // A view's columns have no defaults, whatever the columns they read.
        if rel.is_view() {
            continue;
        }
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
            let sql = with_literal_type(sql, column_pg_type(field).0);
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
