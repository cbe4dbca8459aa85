//! `pg_catalog`: the system catalog clients read to learn what exists.
//!
//! datafusion-pg-catalog provides the tables (a dump of PostgreSQL's static catalog
//! plus `pg_class`, `pg_attribute`, … computed from DataFusion's catalog) and the
//! compatibility functions. One schema provider is built for the whole process, so
//! table OIDs are the same in every connection; each session's context registers the
//! functions. The context provider is passed by value (an `Arc` recurses).

use std::sync::Arc;

use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::DataType;
use datafusion::catalog::{CatalogProviderList, SchemaProvider};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use datafusion::prelude::SessionContext;
use datafusion_pg_catalog::pg_catalog::context::{PgCatalogContextProvider, Role};
use datafusion_pg_catalog::pg_catalog::{
    self as pgc, PgCatalogSchemaProvider, PgCatalogStaticTables, array_bounds_udf, format_type,
    has_privilege_udf, pg_get_expr_udf, quote_ident_udf,
};

use crate::engine::SUPERUSER;
use crate::error::{Error, Result};
use crate::settings::SERVER_VERSION;

/// The roles pg_roles lists.
#[derive(Debug, Clone)]
pub struct Roles;

#[async_trait::async_trait]
impl PgCatalogContextProvider for Roles {
    async fn roles(&self) -> Vec<String> {
        vec![SUPERUSER.to_string()]
    }

    async fn role(&self, name: &str) -> Option<Role> {
        (name == SUPERUSER).then(|| Role {
            name: SUPERUSER.to_string(),
            is_superuser: true,
            can_login: true,
            can_create_db: true,
            can_create_role: true,
            can_create_user: true,
            can_replication: true,
            grants: vec![],
            inherited_roles: vec![],
        })
    }
}

/// The process-wide pg_catalog.
pub struct PgCatalog {
    schema: Arc<dyn SchemaProvider>,
    static_tables: Arc<PgCatalogStaticTables>,
}

impl PgCatalog {
    /// Builds the catalog over every database in `catalogs` and registers it as the
    /// `pg_catalog` schema of each.
    pub fn new(catalogs: Arc<dyn CatalogProviderList>) -> Result<Self> {
        let static_tables = Arc::new(PgCatalogStaticTables::try_new().map_err(Error::from)?);
        let provider =
            PgCatalogSchemaProvider::try_new(catalogs.clone(), static_tables.clone(), Roles)
                .map_err(Error::from)?;
        let schema: Arc<dyn SchemaProvider> = Arc::new(provider);
        for name in catalogs.catalog_names() {
            if let Some(catalog) = catalogs.catalog(&name) {
                catalog
                    .register_schema("pg_catalog", schema.clone())
                    .map_err(Error::from)?;
            }
        }
        Ok(Self {
            schema,
            static_tables,
        })
    }

    pub fn schema(&self) -> &Arc<dyn SchemaProvider> {
        &self.schema
    }

    /// Registers the catalog functions on a session's context.
    pub fn register(&self, ctx: &SessionContext, database: &str) -> Result<()> {
        ctx.register_udf(pgc::create_current_database_udf(database));
        ctx.register_udf(pgc::create_current_schema_udf());
        ctx.register_udf(pgc::create_current_schemas_udf());
        ctx.register_udf(pgc::create_pg_get_userbyid_udf());
        for name in [
            "has_table_privilege",
            "has_schema_privilege",
            "has_database_privilege",
            "has_any_column_privilege",
        ] {
            ctx.register_udf(has_privilege_udf::create_has_privilege_udf(name));
        }
        ctx.register_udf(pgc::create_pg_table_is_visible());
        ctx.register_udf(format_type::create_format_type_udf());
        ctx.register_udf(pgc::create_session_user_udf());
        ctx.register_udtf(
            "pg_get_keywords",
            self.static_tables.pg_get_keywords.clone(),
        );
        ctx.register_udf(pg_get_expr_udf::create_pg_get_expr_udf());
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
        ctx.register_udf(quote_ident_udf::create_quote_ident_udf());
        ctx.register_udf(quote_ident_udf::create_parse_ident_udf());
        ctx.register_udf(array_bounds_udf::create_array_upper_udf());
        ctx.register_udf(array_bounds_udf::create_array_lower_udf());
        pgc::generate_series_arg_coercion::CoerceIntArgsToBigInt::widen(ctx);
        ctx.register_udf(version_udf());
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
