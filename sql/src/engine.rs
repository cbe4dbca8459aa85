//! The process-wide engine: one runtime, one catalog, shared by every session.
//!
//! DataFusion's `RuntimeEnv` (memory pool, disk manager, object stores) and the
//! catalog of schemas and tables are created once. Each connection gets a
//! [`Session`] with its own `SessionContext` over them, so session settings never
//! leak while tables are visible to all.

use std::sync::Arc;

use datafusion::catalog::{CatalogProviderList, MemoryCatalogProviderList};
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::optimizer::Analyzer;
use datafusion::optimizer::analyzer::resolve_grouping_function::ResolveGroupingFunction;
use datafusion::optimizer::analyzer::type_coercion::TypeCoercion;
use datafusion::prelude::{SessionConfig, SessionContext};
use enishi_storage::Storage;

use crate::catalog::PgCatalog;
use crate::error::{Error, Result};
use crate::tables::StorageCatalog;

pub use crate::constants::{DATABASE, DEFAULT_SCHEMA, SUPERUSER};

/// How deep views may read views.
const MAX_VIEW_DEPTH: usize = 64;

tokio::task_local! {
    /// How many views deep the view being planned is.
    static VIEW_DEPTH: usize;
}

/// Opens the table a `CREATE EXTERNAL TABLE` statement describes, with the
/// factory for its format (Parquet, CSV, JSON, Delta), without registering it.
pub(crate) async fn open_external(
    state: &datafusion::execution::SessionState,
    sql: &str,
) -> datafusion::error::Result<Arc<dyn datafusion::catalog::TableProvider>> {
    use datafusion::logical_expr::{DdlStatement, LogicalPlan};
    let plan = state.create_logical_plan(sql).await?;
    let LogicalPlan::Ddl(DdlStatement::CreateExternalTable(cmd)) = plan else {
        return Err(DataFusionError::Internal(format!(
            "not an external table definition: {sql}"
        )));
    };
    let format = cmd.file_type.to_uppercase();
    let factory = state.table_factories().get(&format).ok_or_else(|| {
        DataFusionError::Plan(format!(
            "unknown external table format {format} (use PARQUET, CSV, JSON or DELTATABLE)"
        ))
    })?;
    factory.create(state, &cmd).await
}

/// Engine-wide settings (from the server's configuration).
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Memory pool limit for query execution in bytes; 0 means unbounded.
    pub memory_limit_bytes: usize,
    pub cache: crate::cache::CacheConfig,
    /// Parallel parts a query's scans and operators split into (0: one per core).
    pub target_partitions: usize,
    /// Plan from table statistics and prune scans at run time with dynamic
    /// filters (from join build sides and top-k sorts).
    pub adaptive_optimization: bool,
    /// Session parameters' server-wide defaults, e.g. `statement_timeout`.
    pub session_defaults: Vec<(String, String)>,
    /// Where external tables and server-side COPY may read and write, besides
    /// the storage root: directories or `s3://bucket/prefix` URLs.
    pub external_locations: Vec<String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            memory_limit_bytes: 0,
            cache: crate::cache::CacheConfig::default(),
            target_partitions: 0,
            adaptive_optimization: true,
            session_defaults: Vec::new(),
            external_locations: Vec::new(),
        }
    }
}

/// Shared state behind every session.
pub struct Engine {
    runtime: Arc<RuntimeEnv>,
    catalogs: Arc<dyn CatalogProviderList>,
    pg_catalog: PgCatalog,
    activity: Arc<crate::activity::Activity>,
    storage: Arc<Storage>,
    cache: Arc<crate::cache::ResultCache>,
    config: EngineConfig,
    /// Numbers the sessions' temporary schemas (`pg_temp_<n>`).
    temp_schemas: std::sync::atomic::AtomicU32,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub fn new(storage: Arc<Storage>, config: EngineConfig) -> Result<Arc<Self>> {
        let mut runtime = RuntimeEnvBuilder::new();
        if config.memory_limit_bytes > 0 {
            // Every spilling operator of every session gets a fair share;
            // what cannot spill fails with 53200 instead of taking the rest.
            runtime = runtime.with_memory_pool(Arc::new(
                datafusion::execution::memory_pool::TrackConsumersPool::new(
                    datafusion::execution::memory_pool::FairSpillPool::new(
                        config.memory_limit_bytes,
                    ),
                    std::num::NonZeroUsize::new(5).expect("five"),
                ),
            ));
        }
        let runtime = Arc::new(runtime.build().map_err(Error::from)?);
        // Table files are read through the same (fsyncing) store they are written with.
        runtime.register_object_store(&storage.object_store_url(), storage.object_store());

        let catalogs: Arc<dyn CatalogProviderList> = Arc::new(MemoryCatalogProviderList::new());
        let catalog = Arc::new(StorageCatalog::new(storage.clone()));
        catalogs.register_catalog(DATABASE.to_string(), catalog.clone());

        let activity = Arc::new(crate::activity::Activity::default());
        let pg_catalog = PgCatalog::new(
            catalogs.clone(),
            Arc::default(),
            Some(storage.clone()),
            activity.clone(),
        )?;
        let engine = Arc::new(Self {
            runtime,
            catalogs,
            pg_catalog,
            activity,
            storage,
            cache: Arc::new(crate::cache::ResultCache::new(config.cache.clone())),
            config,
            temp_schemas: Default::default(),
        });
        // Stored views are planned in a context of their own when a query reads
        // them. The engine is held weakly: the catalog lives inside it.
        let weak = Arc::downgrade(&engine);
        catalog.set_view_planner(Arc::new(move |view: enishi_storage::ViewEntry| {
            let engine = weak.clone();
            Box::pin(async move {
                let engine = engine
                    .upgrade()
                    .ok_or_else(|| DataFusionError::Internal("engine is shutting down".into()))?;
                // Views read views: a cycle left by an older release, or a
                // very deep nest, ends with an error instead of the stack.
                let depth = VIEW_DEPTH.try_with(|d| *d).unwrap_or(0);
                if depth >= MAX_VIEW_DEPTH {
                    return Err(DataFusionError::from(Error::Coded {
                        code: "54001",
                        message: format!(
                            "views nest more than {MAX_VIEW_DEPTH} deep (or form a cycle)"
                        ),
                    }));
                }
                let path = view
                    .search_path
                    .unwrap_or_else(|| vec!["pg_catalog".to_string(), DEFAULT_SCHEMA.to_string()]);
                let ctx = engine
                    .context(DATABASE, Arc::new(move || path.clone()))
                    .map_err(DataFusionError::from)?;
                VIEW_DEPTH
                    .scope(depth + 1, async move {
                        ctx.state().create_logical_plan(&view.sql).await
                    })
                    .await
            })
        }));
        let weak = Arc::downgrade(&engine);
        catalog.set_external_opener(Arc::new(move |sql: String| {
            let engine = weak.clone();
            Box::pin(async move {
                let engine = engine
                    .upgrade()
                    .ok_or_else(|| DataFusionError::Internal("engine is shutting down".into()))?;
                open_external(&engine.external_state(), &sql).await
            })
        }));
        Ok(engine)
    }

    /// The name of a new session's temporary schema (made when the session
    /// first creates a temporary table).
    pub(crate) fn temp_schema_name(&self) -> String {
        let n = self
            .temp_schemas
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("pg_temp_{}", n + 1)
    }

    /// Drops the temporary schemas sessions of an earlier run left behind
    /// (a server that stopped without closing them); called at start-up.
    pub async fn drop_temp_schemas(&self) -> Result<()> {
        for schema in self.storage.schema_names() {
            if crate::constants::is_temp_schema(&schema) {
                self.storage.drop_schema(&schema, true, true).await?;
            }
        }
        Ok(())
    }

    /// Whether a client may connect to `database`.
    pub fn database_exists(&self, database: &str) -> bool {
        self.catalogs.catalog(database).is_some()
    }

    /// A fresh DataFusion context over the shared runtime and catalog, where
    /// bare names are looked up in the schemas `path` gives when a statement
    /// is planned (a session's search_path).
    pub(crate) fn context(
        &self,
        database: &str,
        path: crate::tables::LookupPath,
    ) -> Result<SessionContext> {
        let shared = self
            .catalogs
            .catalog(database)
            .ok_or_else(|| Error::UndefinedDatabase(database.to_string()))?;
        let catalogs = MemoryCatalogProviderList::new();
        catalogs.register_catalog(
            database.to_string(),
            Arc::new(crate::tables::SessionCatalog::new(shared, path)),
        );
        let mut config = SessionConfig::new()
            .with_default_catalog_and_schema(database, crate::tables::SEARCH_PATH)
            .with_create_default_catalog_and_schema(false)
            .with_information_schema(false)
            .with_extension(Arc::new(enishi_storage::TransactionSlot::default()))
            .with_option_extension(crate::text_output::TextOptions::default());
        let options = config.options_mut();
        options.sql_parser.dialect = datafusion::config::Dialect::PostgreSQL;
        // PostgreSQL reads `1.5` as numeric, not double precision.
        options.sql_parser.parse_float_as_decimal = true;
        // Plain Utf8 everywhere: what tables store and what clients are sent.
        options.sql_parser.map_string_types_to_utf8view = false;
        options.execution.time_zone = Some("+00:00".to_string());
        // Scans return the column types tables declare (Utf8, not Utf8View).
        options.execution.parquet.schema_force_view_types = false;
        if self.config.target_partitions > 0 {
            options.execution.target_partitions = self.config.target_partitions;
        }
        let adaptive = self.config.adaptive_optimization;
        options.execution.collect_statistics = adaptive;
        options.optimizer.join_reordering = adaptive;
        options.optimizer.enable_dynamic_filter_pushdown = adaptive;
        options.optimizer.enable_topk_dynamic_filter_pushdown = adaptive;
        options.optimizer.enable_join_dynamic_filter_pushdown = adaptive;
        let mut builder = SessionStateBuilder::new();
        // Untyped literals take their type before DataFusion's type coercion
        // would make them text; the rules added below run after these.
        *builder.analyzer() = Some(Analyzer::with_rules(vec![
            Arc::new(ResolveGroupingFunction::new()),
            Arc::new(crate::rewrite::UntypedLiterals),
            Arc::new(TypeCoercion::new()),
        ]));
        let state = builder
            .with_config(config)
            .with_runtime_env(self.runtime.clone())
            .with_catalog_list(Arc::new(catalogs))
            // Before the default planners, which the default features add.
            .with_expr_planners(vec![Arc::new(crate::operators::PgOperators)])
            .with_default_features()
            .with_type_planner(Arc::new(crate::types::PgTypePlanner::default()))
            // Delta's writes and correlated LATERAL joins plan nodes of their own.
            .with_query_planner(Arc::new(crate::lateral::Planner))
            .with_analyzer_rule(Arc::new(crate::rewrite::TimestampMicros))
            .with_analyzer_rule(Arc::new(crate::rewrite::TextInput))
            .with_analyzer_rule(Arc::new(crate::rewrite::NumericSpecials))
            .with_analyzer_rule(Arc::new(crate::rewrite::CheckedOperators))
            .with_analyzer_rule(Arc::new(crate::rewrite::BlankPadded))
            .with_analyzer_rule(Arc::new(crate::rewrite::IntervalOrder))
            .with_analyzer_rule(Arc::new(crate::rewrite::SubqueriesAfterDistinctOn))
            .with_analyzer_rule(Arc::new(crate::rewrite::NullableSubqueries))
            .with_optimizer_rules(optimizer_rules())
            .build();
        let ctx = SessionContext::new_with_state(state);
        self.pg_catalog.register(&ctx, database)?;
        crate::functions::register(&ctx);
        crate::json::register(&ctx);
        ctx.register_udf(crate::rewrite::interval_in());
        ctx.register_udf(crate::rewrite::timestamp_in());
        Ok(ctx)
    }

    /// The pool that queries, COPY buffers and key checks reserve memory in.
    pub fn memory_pool(&self) -> &Arc<dyn datafusion::execution::memory_pool::MemoryPool> {
        &self.runtime.memory_pool
    }

    /// Bytes the running queries hold in the memory pool.
    pub fn memory_reserved(&self) -> usize {
        self.runtime.memory_pool.reserved()
    }

    /// A bare context for opening external tables: the shared runtime (its
    /// object stores) and the table factories (with DELTATABLE for existing
    /// Delta tables), but no catalog. Planning a
    /// `CREATE EXTERNAL TABLE` looks up the table it names, which here must not
    /// find the stored definition being opened.
    pub(crate) fn external_state(&self) -> datafusion::execution::SessionState {
        let mut config = SessionConfig::new();
        config.options_mut().sql_parser.dialect = datafusion::config::Dialect::PostgreSQL;
        SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(self.runtime.clone())
            .with_default_features()
            .with_table_factory(
                "DELTATABLE".into(),
                Arc::new(deltalake::delta_datafusion::DeltaTableFactory {}),
            )
            .build()
    }

    /// The configuration the engine was built with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// What the connected sessions are doing (pg_stat_activity).
    pub fn activity(&self) -> &Arc<crate::activity::Activity> {
        &self.activity
    }

    pub fn pg_catalog(&self) -> &PgCatalog {
        &self.pg_catalog
    }

    pub fn storage(&self) -> &Arc<Storage> {
        &self.storage
    }

    /// The result cache every session shares.
    pub fn cache(&self) -> &Arc<crate::cache::ResultCache> {
        &self.cache
    }
}

/// DataFusion's optimizer rules, after ours that must see the plan first,
/// with the LATERAL joins and scalar subqueries DataFusion cannot
/// decorrelate taken right after its own attempts (before projections are
/// pruned without regard to the columns a correlated subquery reads).
fn optimizer_rules() -> Vec<Arc<dyn datafusion::optimizer::OptimizerRule + Send + Sync>> {
    // First, so the limit is pushed to the sort it moves.
    let mut rules: Vec<Arc<dyn datafusion::optimizer::OptimizerRule + Send + Sync>> =
        vec![Arc::new(crate::rewrite::VolatileAfterSort)];
    for rule in datafusion::optimizer::Optimizer::new().rules {
        // Just before the rule whose union rewrite it prepares.
        if rule.name() == "propagate_empty_relation" {
            rules.push(Arc::new(crate::rewrite::EmptyUnionBranches));
        }
        let after = rule.name();
        let ours: Option<Arc<dyn datafusion::optimizer::OptimizerRule + Send + Sync>> = match after
        {
            "decorrelate_lateral_join" => Some(Arc::new(crate::lateral::LateralJoins)),
            "scalar_subquery_to_join" => Some(Arc::new(crate::lateral::ScalarSubqueries)),
            _ => None,
        };
        rules.push(rule);
        rules.extend(ours);
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server's configuration reaches every session: parallelism, adaptive
    /// planning, and session parameter defaults.
    #[tokio::test]
    async fn configuration_reaches_every_context() {
        let dir = std::env::temp_dir().join(format!("enishi-engine-config-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let storage = Arc::new(
            Storage::open(
                &enishi_storage::Location::Local(dir.clone()),
                Default::default(),
            )
            .await
            .unwrap(),
        );
        for adaptive in [true, false] {
            let engine = Engine::new(
                storage.clone(),
                EngineConfig {
                    target_partitions: 3,
                    adaptive_optimization: adaptive,
                    session_defaults: vec![("statement_timeout".into(), "30s".into())],
                    ..EngineConfig::default()
                },
            )
            .unwrap();
            let ctx = engine.context(DATABASE, Arc::new(Vec::new)).unwrap();
            let state = ctx.state();
            let options = state.config().options();
            assert_eq!(options.execution.target_partitions, 3);
            assert_eq!(options.execution.collect_statistics, adaptive);
            assert_eq!(options.optimizer.join_reordering, adaptive);
            assert_eq!(options.optimizer.enable_dynamic_filter_pushdown, adaptive);
            let session = crate::session::Session::open(
                &engine,
                SUPERUSER,
                DATABASE,
                crate::privileges::Principal::Superuser,
            )
            .unwrap();
            assert_eq!(session.settings().statement_timeout_ms(), 30_000);
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
