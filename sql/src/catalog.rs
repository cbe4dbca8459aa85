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

use crate::engine::SUPERUSER;
use crate::error::{Error, Result};
use crate::settings::SERVER_VERSION;
use crate::system_tables::{self, CatalogReader, Oids};

type LibrarySchema = PgCatalogSchemaProvider<Arc<dyn CatalogProviderList>, Roles>;

/// `pg_catalog` of one database: the library's tables, with ours in front.
#[derive(Debug)]
struct PgCatalogSchema {
    library: Arc<LibrarySchema>,
    overrides: HashMap<&'static str, Arc<dyn TableProvider>>,
}

#[async_trait::async_trait]
impl SchemaProvider for PgCatalogSchema {
    fn table_names(&self) -> Vec<String> {
        self.library.table_names()
    }

    async fn table(&self, name: &str) -> datafusion::error::Result<Option<Arc<dyn TableProvider>>> {
        match self.overrides.get(name.to_ascii_lowercase().as_str()) {
            Some(table) => Ok(Some(table.clone())),
            None => self.library.table(name).await,
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.library.table_exist(name)
    }
}

/// A catalog function of one OID-like integer argument.
struct OidFunction {
    name: &'static str,
    signature: Signature,
    return_type: DataType,
    eval: fn(Option<i64>) -> ScalarValue,
}

impl std::fmt::Debug for OidFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for OidFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for OidFunction {}

impl std::hash::Hash for OidFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state)
    }
}

impl OidFunction {
    fn new(
        name: &'static str,
        return_type: DataType,
        eval: fn(Option<i64>) -> ScalarValue,
    ) -> Self {
        let signature = Signature::uniform(
            1,
            vec![DataType::Int32, DataType::Int64, DataType::UInt32],
            Volatility::Stable,
        );
        Self {
            name,
            signature,
            return_type,
            eval,
        }
    }
}

impl ScalarUDFImpl for OidFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(self.return_type.clone())
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        let input = datafusion::arrow::compute::cast(&input, &DataType::Int64)?;
        let input = input
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Int64Array>()
            .expect("cast to Int64");
        if input.is_empty() {
            return Ok(ColumnarValue::Array(
                datafusion::arrow::array::new_empty_array(&self.return_type),
            ));
        }
        let values = input.iter().map(|v| (self.eval)(v));
        Ok(ColumnarValue::Array(ScalarValue::iter_to_array(values)?))
    }
}

/// `pg_get_expr(expr, relation [, pretty])`: our `pg_attrdef.adbin` already holds
/// the expression's SQL text, so this returns it.
#[derive(Debug, PartialEq, Eq, Hash)]
struct PgGetExpr {
    signature: Signature,
}

impl PgGetExpr {
    fn new() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Stable),
        }
    }
}

impl ScalarUDFImpl for PgGetExpr {
    fn name(&self) -> &str {
        "pg_get_expr"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        let first = args.args.into_iter().next().ok_or_else(|| {
            datafusion::error::DataFusionError::Plan("pg_get_expr needs an expression".into())
        })?;
        match first {
            ColumnarValue::Array(a) => Ok(ColumnarValue::Array(datafusion::arrow::compute::cast(
                &a,
                &DataType::Utf8,
            )?)),
            ColumnarValue::Scalar(v) => Ok(ColumnarValue::Scalar(v.cast_to(&DataType::Utf8)?)),
        }
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

/// The process-wide pg_catalog.
pub struct PgCatalog {
    static_tables: Arc<PgCatalogStaticTables>,
    oids: Arc<Oids>,
}

/// Tables computed by [`system_tables`] instead of the library.
const OWN_TABLES: [&str; 5] = [
    "pg_namespace",
    "pg_database",
    "pg_class",
    "pg_attribute",
    "pg_attrdef",
];

impl PgCatalog {
    /// Builds the catalog over every database in `catalogs` and registers it as the
    /// `pg_catalog` schema of each.
    pub fn new(
        catalogs: Arc<dyn CatalogProviderList>,
        oids: Arc<Oids>,
        storage: Option<Arc<enishi_storage::Storage>>,
    ) -> Result<Self> {
        let static_tables = Arc::new(PgCatalogStaticTables::try_new().map_err(Error::from)?);
        let library = Arc::new(
            PgCatalogSchemaProvider::try_new(
                catalogs.clone(),
                static_tables.clone(),
                Roles { storage },
            )
            .map_err(Error::from)?,
        );
        let mut schemas = HashMap::new();
        for name in OWN_TABLES {
            let table = library.build_table_by_name(name).map_err(Error::from)?;
            let table = table.ok_or_else(|| Error::Internal(format!("pg_catalog lacks {name}")))?;
            schemas.insert(name, table.schema());
        }
        for database in catalogs.catalog_names() {
            let Some(catalog) = catalogs.catalog(&database) else {
                continue;
            };
            let reader = CatalogReader {
                catalogs: catalogs.clone(),
                oids: oids.clone(),
                database,
            };
            let overrides = system_tables::tables(&reader, &schemas);
            let schema = Arc::new(PgCatalogSchema {
                library: library.clone(),
                overrides,
            });
            catalog
                .register_schema("pg_catalog", schema)
                .map_err(Error::from)?;
        }
        Ok(Self {
            static_tables,
            oids,
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
        ctx.register_udf(pgc::create_pg_get_userbyid_udf());
        ctx.register_udf(pgc::create_pg_table_is_visible());
        ctx.register_udf(format_type::create_format_type_udf());
        ctx.register_udf(pgc::create_session_user_udf());
        ctx.register_udtf(
            "pg_get_keywords",
            self.static_tables.pg_get_keywords.clone(),
        );
        ctx.register_udf(ScalarUDF::new_from_impl(PgGetExpr::new()));
        ctx.register_udf(pgc::create_pg_get_partkeydef_udf());
        ctx.register_udf(pgc::create_pg_relation_is_publishable_udf());
        ctx.register_udf(pgc::create_pg_get_statisticsobjdef_columns_udf());
        ctx.register_udf(pgc::create_pg_encoding_to_char_udf());
        ctx.register_udf(pgc::create_pg_backend_pid_udf());
        ctx.register_udf(pgc::create_pg_relation_size_udf());
        ctx.register_udf(pgc::create_pg_total_relation_size_udf());
        ctx.register_udf(pgc::create_pg_stat_get_numscans());
        ctx.register_udf(pgc::create_pg_get_constraintdef());
        ctx.register_udf(pgc::create_pg_get_partition_ancestors_udf());
        ctx.register_udf(quote_ident_udf::create_parse_ident_udf());
        ctx.register_udf(array_bounds_udf::create_array_upper_udf());
        ctx.register_udf(array_bounds_udf::create_array_lower_udf());
        pgc::generate_series_arg_coercion::CoerceIntArgsToBigInt::widen(ctx);
        ctx.register_udf(version_udf());
        // Only PostgreSQL's built-in functions are in pg_proc, all in pg_catalog,
        // which psql's \df filters out; their signatures are not rendered.
        ctx.register_udf(ScalarUDF::new_from_impl(OidFunction::new(
            "pg_function_is_visible",
            DataType::Boolean,
            |_| ScalarValue::Boolean(Some(true)),
        )));
        for name in ["pg_get_function_result", "pg_get_function_arguments"] {
            ctx.register_udf(ScalarUDF::new_from_impl(OidFunction::new(
                name,
                DataType::Utf8,
                |_| ScalarValue::Utf8(None),
            )));
        }
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
