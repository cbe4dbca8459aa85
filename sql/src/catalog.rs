//! `pg_catalog`: the system catalog clients read to learn what exists.
//!
//! datafusion-pg-catalog provides the tables (a dump of PostgreSQL's static catalog
//! plus `pg_class`, `pg_attribute`, … computed from DataFusion's catalog) and the
//! compatibility functions. One schema provider is built for the whole process, so
//! table OIDs are the same in every connection; each session's context registers the
//! functions. The context provider is passed by value (an `Arc` recurses).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::catalog::{CatalogProviderList, SchemaProvider, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use datafusion::logical_expr::{ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature};
use datafusion::prelude::SessionContext;
use datafusion_pg_catalog::pg_catalog::context::{PgCatalogContextProvider, Role};
use datafusion_pg_catalog::pg_catalog::{
    self as pgc, PgCatalogSchemaProvider, PgCatalogStaticTables, array_bounds_udf, format_type,
    quote_ident_udf,
};

use crate::catalog_views;
use crate::constants::SUPERUSER;
use crate::error::{Error, Result};
use crate::information_schema::InformationSchema;
use crate::settings::SERVER_VERSION;
use crate::system_tables::{self, CatalogReader, Oids};

mod acl;
mod array_columns;
mod functions;

use functions::*;

type LibrarySchema = PgCatalogSchemaProvider<Arc<dyn CatalogProviderList>, Roles>;

/// `pg_catalog` of one database: the library's tables, with ours in front.
/// The views derived from the library's tables (see [`catalog_views`]).
pub(crate) const DERIVED: [&str; 5] = [
    "pg_roles",
    "pg_user",
    "pg_settings",
    "pg_policies",
    "pg_seclabels",
];

#[derive(Debug)]
struct PgCatalogSchema {
    library: Arc<LibrarySchema>,
    overrides: HashMap<&'static str, Arc<dyn TableProvider>>,
}

#[async_trait::async_trait]
impl SchemaProvider for PgCatalogSchema {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.library.table_names();
        for own in self.overrides.keys().chain(DERIVED.iter()) {
            if !names.iter().any(|n| n == own) {
                names.push(own.to_string());
            }
        }
        names
    }

    async fn table(&self, name: &str) -> datafusion::error::Result<Option<Arc<dyn TableProvider>>> {
        let name = name.to_ascii_lowercase();
        match self.overrides.get(name.as_str()) {
            Some(table) => Ok(Some(table.clone())),
            None => match name.as_str() {
                "pg_roles" | "pg_user" => {
                    let Some(roles) = self.library.table("pg_roles").await? else {
                        return Ok(None);
                    };
                    let roles = catalog_views::roles(roles);
                    Ok(Some(match name.as_str() {
                        "pg_user" => Arc::new(catalog_views::users(Arc::new(roles))),
                        _ => Arc::new(roles),
                    }))
                }
                "pg_settings" => {
                    let Some(settings) = self.library.table(&name).await? else {
                        return Ok(None);
                    };
                    Ok(Some(Arc::new(catalog_views::settings(settings))))
                }
                "pg_policies" | "pg_seclabels" => Ok(Some(Arc::new(catalog_views::empty(&name)?))),
                _ => self.library.table(&name).await,
            },
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.overrides.contains_key(name)
            || DERIVED.contains(&name)
            || self.library.table_exist(name)
    }
}

/// The roles pg_roles lists: the superuser and the catalog's roles.
#[derive(Debug, Clone)]
pub struct Roles {
    storage: Option<Arc<enishi_storage::Storage>>,
}

impl Roles {
    fn entry(name: &str, superuser: bool, login: bool) -> Role {
        Role {
            name: name.to_string(),
            is_superuser: superuser,
            can_login: login,
            can_create_db: superuser,
            can_create_role: superuser,
            can_create_user: superuser,
            can_replication: superuser,
            grants: vec![],
            inherited_roles: vec![],
        }
    }
}

#[async_trait::async_trait]
impl PgCatalogContextProvider for Roles {
    async fn roles(&self) -> Vec<String> {
        let mut names = vec![SUPERUSER.to_string()];
        if let Some(storage) = &self.storage {
            storage.read_catalog(|c| names.extend(c.security.roles.keys().cloned()));
        }
        names
    }

    async fn role(&self, name: &str) -> Option<Role> {
        if name == SUPERUSER {
            return Some(Self::entry(SUPERUSER, true, true));
        }
        let storage = self.storage.as_ref()?;
        storage.read_catalog(|c| {
            c.security
                .roles
                .get(name)
                .map(|r| Self::entry(name, r.superuser, r.login))
        })
    }
}

/// `pg_get_userbyid(oid)`: the name of the role with that OID, or
/// `unknown (OID=n)`, as PostgreSQL says for one that does not exist.
struct RoleName {
    roles: CatalogReader,
    signature: Signature,
}

impl std::fmt::Debug for RoleName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("pg_get_userbyid")
    }
}

impl PartialEq for RoleName {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for RoleName {}

impl std::hash::Hash for RoleName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        "pg_get_userbyid".hash(state);
    }
}

impl ScalarUDFImpl for RoleName {
    fn name(&self) -> &str {
        "pg_get_userbyid"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        let mut names = self.roles.role_names();
        names.insert(
            crate::system_tables::DATABASE_OWNER_OID,
            "pg_database_owner".to_string(),
        );
        let oids = args.args[0].to_array(args.number_rows)?;
        let oids = datafusion::arrow::compute::cast(&oids, &DataType::Int64)?;
        let oids = datafusion::arrow::array::AsArray::as_primitive::<
            datafusion::arrow::datatypes::Int64Type,
        >(&oids);
        let out: Vec<Option<String>> = oids
            .iter()
            .map(|oid| {
                oid.map(|oid| {
                    u32::try_from(oid)
                        .ok()
                        .and_then(|o| names.get(&o).cloned())
                        .unwrap_or_else(|| format!("unknown (OID={oid})"))
                })
            })
            .collect();
        Ok(strings(out))
    }
}

/// The process-wide pg_catalog.
pub struct PgCatalog {
    static_tables: Arc<PgCatalogStaticTables>,
    oids: Arc<Oids>,
    /// Declared keys for pg_get_constraintdef and pg_get_indexdef.
    keys: CatalogReader,
    /// pg_type's names by OID, for the types format_type does not spell.
    type_names: Arc<HashMap<i64, String>>,
}

/// Tables computed by [`system_tables`] instead of the library.
const OWN_TABLES: [&str; 10] = [
    "pg_namespace",
    "pg_database",
    "pg_class",
    "pg_attribute",
    "pg_attrdef",
    "pg_constraint",
    "pg_index",
    "pg_description",
    "pg_depend",
    "pg_rewrite",
];

impl PgCatalog {
    /// Builds the catalog over every database in `catalogs` and registers it as the
    /// `pg_catalog` schema of each.
    pub fn new(
        catalogs: Arc<dyn CatalogProviderList>,
        oids: Arc<Oids>,
        storage: Option<Arc<enishi_storage::Storage>>,
        activity: Arc<crate::activity::Activity>,
    ) -> Result<Self> {
        let static_tables = Arc::new(PgCatalogStaticTables::try_new().map_err(Error::from)?);
        let library = Arc::new(
            PgCatalogSchemaProvider::try_new(
                catalogs.clone(),
                static_tables.clone(),
                Roles {
                    storage: storage.clone(),
                },
            )
            .map_err(Error::from)?,
        );
        // PostgreSQL's own descriptions (of built-in types and functions) come
        // before the comments of user objects.
        let fixed = HashMap::from([
            (
                "pg_description",
                static_tables.pg_description.data().to_vec(),
            ),
            ("pg_depend", static_tables.pg_depend.data().to_vec()),
            ("pg_rewrite", static_tables.pg_rewrite.data().to_vec()),
        ]);
        let mut schemas = HashMap::new();
        for name in OWN_TABLES {
            let table = library.build_table_by_name(name).map_err(Error::from)?;
            let table = table.ok_or_else(|| Error::Internal(format!("pg_catalog lacks {name}")))?;
            schemas.insert(name, array_columns::retyped_schema(name, &table.schema()));
        }
        // The library's fixed tables with text where PostgreSQL has arrays.
        let mut retyped: HashMap<&'static str, Arc<dyn TableProvider>> = HashMap::new();
        for (name, _) in array_columns::ARRAY_COLUMNS {
            if let Some(pgc::PgCatalogTable::Static(table)) =
                library.build_table_by_name(name).map_err(Error::from)?
                && let Some(table) =
                    array_columns::retyped_table(name, &table.schema(), table.data())?
            {
                retyped.insert(name, Arc::new(table));
            }
        }
        let type_names = Arc::new(type_names(&static_tables));
        let keys = CatalogReader {
            catalogs: catalogs.clone(),
            oids: oids.clone(),
            database: String::new(),
            storage: storage.clone(),
            type_names: type_names.clone(),
            activity: activity.clone(),
            caller: None,
        };
        for database in catalogs.catalog_names() {
            let Some(catalog) = catalogs.catalog(&database) else {
                continue;
            };
            let reader = CatalogReader {
                catalogs: catalogs.clone(),
                oids: oids.clone(),
                database,
                storage: storage.clone(),
                type_names: type_names.clone(),
                activity: activity.clone(),
                caller: None,
            };
            let mut overrides = retyped.clone();
            overrides.extend(system_tables::tables(&reader, &schemas, &fixed));
            overrides.extend(crate::stat_views::tables(&reader));
            overrides.insert("pg_sequences", crate::listing_views::pg_sequences(&reader));
            overrides.insert("pg_indexes", crate::listing_views::pg_indexes(&reader));
            let schema = Arc::new(PgCatalogSchema {
                library: library.clone(),
                overrides,
            });
            catalog
                .register_schema("pg_catalog", schema)
                .map_err(Error::from)?;
            catalog
                .register_schema(
                    "information_schema",
                    Arc::new(InformationSchema::new(&reader)),
                )
                .map_err(Error::from)?;
        }
        Ok(Self {
            static_tables,
            oids,
            keys,
            type_names,
        })
    }

    /// The OIDs shared by the catalog tables and RowDescription.
    pub fn oids(&self) -> &Arc<Oids> {
        &self.oids
    }

    /// Registers the catalog functions on a session's context.
    pub fn register(&self, ctx: &SessionContext, database: &str) -> Result<()> {
        ctx.register_udf(pgc::create_current_database_udf(database));
        ctx.register_udf(pgc::create_current_schema_udf());
        ctx.register_udf(pgc::create_current_schemas_udf());
        ctx.register_udf(ScalarUDF::new_from_impl(RoleName {
            roles: self.keys.clone(),
            signature: Signature::any(1, Volatility::Stable),
        }));
        ctx.register_udf(pgc::create_pg_table_is_visible());
        ctx.register_udf(functions::collation_is_visible());
        let format_type = Arc::new(ScalarUDF::new_from_impl(FormatType {
            inner: format_type::create_format_type_udf(),
            names: self.type_names.clone(),
        }));
        ctx.register_udf(format_type.as_ref().clone());
        ctx.register_udf(regtype_names(format_type));
        ctx.register_udf(pgc::create_session_user_udf());
        ctx.register_udtf(
            "pg_get_keywords",
            self.static_tables.pg_get_keywords.clone(),
        );
        ctx.register_udf(ScalarUDF::new_from_impl(PgGetExpr::new()));
        ctx.register_udf(expand_array_udf());
        ctx.register_udf(acl::acl_items_udf());
        ctx.register_udf(acl::acl_default_udf(self.keys.clone()));
        // A primary, never in recovery. The only rules are views' `_RETURN`
        // rules, which pg_get_ruledef does not spell out (NULL).
        for name in ["pg_is_in_recovery", "pg_is_wal_replay_paused"] {
            ctx.register_udf(create_udf(
                name,
                vec![],
                DataType::Boolean,
                Volatility::Stable,
                Arc::new(|_: &[ColumnarValue]| {
                    Ok(ColumnarValue::Scalar(ScalarValue::Boolean(Some(false))))
                }),
            ));
        }
        ctx.register_udf(ScalarUDF::new_from_impl(OidFunction::new(
            "pg_get_ruledef",
            DataType::Utf8,
            |_| ScalarValue::Utf8(None),
        )));
        // No column takes its values from a sequence.
        ctx.register_udf(create_udf(
            "pg_get_serial_sequence",
            vec![DataType::Utf8, DataType::Utf8],
            DataType::Utf8,
            Volatility::Stable,
            Arc::new(|_: &[ColumnarValue]| Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None)))),
        ));
        // Every type is a built-in one, in pg_catalog, which is always searched.
        ctx.register_udf(ScalarUDF::new_from_impl(OidFunction::new(
            "pg_type_is_visible",
            DataType::Boolean,
            |oid| ScalarValue::Boolean(oid.map(|_| true)),
        )));
        ctx.register_udf(ScalarUDF::new_from_impl(OidFunction::new(
            "pg_size_pretty",
            DataType::Utf8,
            |bytes| ScalarValue::Utf8(bytes.map(size_pretty)),
        )));
        ctx.register_udf(pgc::create_pg_get_partkeydef_udf());
        ctx.register_udf(pgc::create_pg_get_statisticsobjdef_columns_udf());
        ctx.register_udf(pgc::create_pg_encoding_to_char_udf());
        ctx.register_udf(pgc::create_pg_backend_pid_udf());
        ctx.register_udf(pgc::create_pg_relation_size_udf());
        ctx.register_udf(pgc::create_pg_total_relation_size_udf());
        ctx.register_udf(pgc::create_pg_stat_get_numscans());
        ctx.register_udf(ScalarUDF::new_from_impl(CatalogDefinition::new(
            "pg_get_constraintdef",
            self.keys.clone(),
        )));
        ctx.register_udf(ScalarUDF::new_from_impl(CatalogDefinition::new(
            "pg_get_indexdef",
            self.keys.clone(),
        )));
        ctx.register_udf(ScalarUDF::new_from_impl(CatalogDefinition::new(
            "pg_get_viewdef",
            self.keys.clone(),
        )));
        ctx.register_udf(ScalarUDF::new_from_impl(CatalogDefinition::new(
            "pg_get_triggerdef",
            self.keys.clone(),
        )));
        ctx.register_udf(quote_ident_udf::create_parse_ident_udf());
        ctx.register_udf(array_bounds_udf::create_array_upper_udf());
        ctx.register_udf(array_bounds_udf::create_array_lower_udf());
        pgc::generate_series_arg_coercion::CoerceIntArgsToBigInt::widen(ctx);
        ctx.register_udf(version_udf());
        // Only PostgreSQL's built-in functions are in pg_proc, all in pg_catalog.
        ctx.register_udf(ScalarUDF::new_from_impl(OidFunction::new(
            "pg_function_is_visible",
            DataType::Boolean,
            |_| ScalarValue::Boolean(Some(true)),
        )));

        ctx.register_udf(ScalarUDF::new_from_impl(OidFunction::new(
            "pg_encoding_to_char",
            DataType::Utf8,
            |encoding| ScalarValue::Utf8((encoding == Some(6)).then(|| "UTF8".to_string())),
        )));
        Ok(())
    }
}

/// `version()`: drivers parse `PostgreSQL <major>.<minor>` out of it.
pub fn version_string() -> String {
    format!(
        "PostgreSQL {SERVER_VERSION} (Enishi {}) on {}-{}, compiled by rustc, 64-bit",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH,
        std::env::consts::OS,
    )
}

fn version_udf() -> datafusion::logical_expr::ScalarUDF {
    let text = version_string();
    create_udf(
        "version",
        vec![],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |_args: &[ColumnarValue]| {
            Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(text.clone()))))
        }),
    )
}

/// Helper for single-string UDF results over arrays.
pub(crate) fn strings(values: impl IntoIterator<Item = Option<String>>) -> ColumnarValue {
    ColumnarValue::Array(Arc::new(StringArray::from_iter(values)))
}

/// `pg_size_pretty(bytes)`: as PostgreSQL 15 shows a size: bytes below 10
/// kB, then the largest unit that keeps the number under 20480 (halves round
/// away from zero).
fn size_pretty(bytes: i64) -> String {
    const LIMIT: i64 = 10 * 1024;
    if bytes.abs() < LIMIT {
        return format!("{bytes} bytes");
    }
    let half_rounded = |v: i64| (v + if v < 0 { -1 } else { 1 }) / 2;
    // In half-kB: one extra bit for rounding.
    let mut size = bytes >> 9;
    for unit in ["kB", "MB", "GB", "TB"] {
        if size.abs() < LIMIT * 2 - 1 {
            return format!("{} {unit}", half_rounded(size));
        }
        size >>= 10;
    }
    format!("{} PB", half_rounded(size))
}

/// `pg_expandarray(a)`: the elements of `a` with their positions, as a list
/// of `{x, n}`; `information_schema._pg_expandarray(a)` unnests it.
fn expand_array_udf() -> ScalarUDF {
    use datafusion::arrow::array::{AsArray, Int32Array, ListArray, StructArray};
    use datafusion::arrow::buffer::OffsetBuffer;
    use datafusion::arrow::datatypes::{Field, Fields};
    #[derive(Debug, PartialEq, Eq, Hash)]
    struct ExpandArray {
        signature: Signature,
    }
    fn fields(element: &DataType) -> Fields {
        Fields::from(vec![
            Field::new("x", element.clone(), true),
            Field::new("n", DataType::Int32, false),
        ])
    }
    impl ScalarUDFImpl for ExpandArray {
        fn name(&self) -> &str {
            "pg_expandarray"
        }
        fn signature(&self) -> &Signature {
            &self.signature
        }
        fn return_type(&self, args: &[DataType]) -> datafusion::error::Result<DataType> {
            match &args[0] {
                DataType::List(element) => Ok(DataType::List(Arc::new(Field::new_list_field(
                    DataType::Struct(fields(element.data_type())),
                    true,
                )))),
                other => Err(Error::DatatypeMismatch(format!(
                    "_pg_expandarray needs an array, not {other}"
                ))
                .into()),
            }
        }
        fn invoke_with_args(
            &self,
            args: ScalarFunctionArgs,
        ) -> datafusion::error::Result<ColumnarValue> {
            let lists = args.args[0].to_array(args.number_rows)?;
            let lists = lists.as_list::<i32>();
            let offsets = lists.offsets();
            let mut positions = Vec::with_capacity(lists.values().len());
            for i in 0..lists.len() {
                let length = (offsets[i + 1] - offsets[i]) as usize;
                positions.extend((1..=length).map(|p| p as i32));
            }
            let start = offsets[0] as usize;
            let end = offsets[lists.len()] as usize;
            let values = lists.values().slice(start, end - start);
            let element = values.data_type().clone();
            let structs = StructArray::try_new(
                fields(&element),
                vec![values, Arc::new(Int32Array::from(positions))],
                None,
            )?;
            let offsets: Vec<i32> = offsets.iter().map(|o| o - offsets[0]).collect();
            let out = ListArray::try_new(
                Arc::new(Field::new_list_field(
                    DataType::Struct(fields(&element)),
                    true,
                )),
                OffsetBuffer::new(offsets.into()),
                Arc::new(structs),
                lists.nulls().cloned(),
            )?;
            Ok(ColumnarValue::Array(Arc::new(out)))
        }
    }
    ScalarUDF::new_from_impl(ExpandArray {
        signature: Signature::any(1, Volatility::Immutable),
    })
}
