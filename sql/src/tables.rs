//! DataFusion's view of the stored catalog: one CatalogProvider for the database,
//! one SchemaProvider per schema, tables opened from storage on demand.
//!
//! A session looks bare names up through its own [`SessionCatalog`]: DataFusion
//! resolves them in the [`SEARCH_PATH`] schema, which tries each schema of the
//! session's search_path in turn, so a query plans the relation `\d` shows.
//! Every stored relation a plan scans can say what it is in the catalog
//! ([`identify`]): privileges are checked against that, never against a
//! second resolution of the name.
//!
//! DDL does not come through here: the session calls storage directly (it is
//! async and must be committed before the statement completes). Views are stored
//! as SQL text and planned when a query reads them; external tables likewise
//! keep their `CREATE EXTERNAL TABLE` text and are opened when read.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use async_trait::async_trait;
use datafusion::catalog::view::ViewTable;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::LogicalPlan;
use enishi_storage::{CatalogState, Storage, TableHandle};
use futures::future::BoxFuture;

/// Plans a stored view's query (its SQL text, bare names looked up in the
/// schemas it was made with).
pub type ViewPlanner = Arc<
    dyn Fn(enishi_storage::ViewEntry) -> BoxFuture<'static, DfResult<LogicalPlan>> + Send + Sync,
>;

/// Opens an external table from its `CREATE EXTERNAL TABLE` text.
pub type ExternalOpener =
    Arc<dyn Fn(String) -> BoxFuture<'static, DfResult<Arc<dyn TableProvider>>> + Send + Sync>;

/// The database: its stored schemas plus system schemas registered by the engine.
pub struct StorageCatalog {
    storage: Arc<Storage>,
    system: RwLock<HashMap<String, Arc<dyn SchemaProvider>>>,
    views: Arc<OnceLock<ViewPlanner>>,
    externals: Arc<OnceLock<ExternalOpener>>,
}

impl std::fmt::Debug for StorageCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageCatalog")
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

impl StorageCatalog {
    pub fn new(storage: Arc<Storage>) -> Self {
        Self {
            storage,
            system: RwLock::default(),
            views: Arc::default(),
            externals: Arc::default(),
        }
    }

    /// Sets how external tables are opened (the engine does this once it exists).
    pub fn set_external_opener(&self, opener: ExternalOpener) {
        let _ = self.externals.set(opener);
    }

    /// Sets how views are planned (the engine does this once it exists).
    pub fn set_view_planner(&self, planner: ViewPlanner) {
        let _ = self.views.set(planner);
    }
}

impl CatalogProvider for StorageCatalog {
    fn schema_names(&self) -> Vec<String> {
        let mut names = self.storage.schema_names();
        names.extend(self.system.read().expect("catalog lock").keys().cloned());
        names.sort();
        names.dedup();
        names
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        if let Some(system) = self.system.read().expect("catalog lock").get(name) {
            return Some(system.clone());
        }
        self.storage.catalog().schema(name)?;
        Some(Arc::new(StorageSchema {
            storage: self.storage.clone(),
            name: name.to_string(),
            views: self.views.clone(),
            externals: self.externals.clone(),
        }))
    }

    /// Used for system schemas (`pg_catalog`); user schemas are created in storage.
    fn register_schema(
        &self,
        name: &str,
        schema: Arc<dyn SchemaProvider>,
    ) -> DfResult<Option<Arc<dyn SchemaProvider>>> {
        Ok(self
            .system
            .write()
            .expect("catalog lock")
            .insert(name.to_string(), schema))
    }
}

/// One stored schema.
pub struct StorageSchema {
    storage: Arc<Storage>,
    name: String,
    views: Arc<OnceLock<ViewPlanner>>,
    externals: Arc<OnceLock<ExternalOpener>>,
}

impl std::fmt::Debug for StorageSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageSchema")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SchemaProvider for StorageSchema {
    fn table_names(&self) -> Vec<String> {
        self.storage.table_names(&self.name)
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        if let Some(view) = self.storage.view(&self.name, name) {
            let planner = self
                .views
                .get()
                .ok_or_else(|| DataFusionError::Internal("views are not available yet".into()))?;
            let sql = view.sql.clone();
            let plan = planner(view).await?;
            return Ok(Some(Arc::new(StoredView {
                schema: self.name.clone(),
                name: name.to_string(),
                view: ViewTable::new(plan, Some(sql)),
            })));
        }
        if let Some(entry) = self.storage.external(&self.name, name) {
            let opener = self.externals.get().ok_or_else(|| {
                DataFusionError::Internal("external tables are not available yet".into())
            })?;
            return Ok(Some(Arc::new(StoredExternal {
                schema: self.name.clone(),
                name: name.to_string(),
                inner: opener(entry.sql).await?,
            })));
        }
        let external = |e: enishi_storage::StorageError| DataFusionError::External(Box::new(e));
        if let Some(entry) = self.storage.sequence(&self.name, name) {
            return Ok(Some(Arc::new(StoredSequence {
                storage: self.storage.clone(),
                schema: self.name.clone(),
                name: name.to_string(),
                entry,
            })));
        }
        match self
            .storage
            .table(&self.name, name)
            .await
            .map_err(external)?
        {
            Some(table) => {
                let keys = self.storage.read_catalog(|c| {
                    c.schemas
                        .get(&self.name)
                        .and_then(|s| s.tables.get(name))
                        .map(|t| t.keys())
                        .unwrap_or_default()
                });
                Ok(Some(Arc::new(
                    TableHandle::new(table)
                        .await
                        .map_err(external)?
                        .with_keys(keys),
                )))
            }
            None => Ok(None),
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.storage.catalog().relation_exists(&self.name, name)
    }
}

/// A stored view. Unlike DataFusion's own view table it is not inlined while a
/// statement is planned, so the plan still names the view and the relations
/// under it can be checked against the view owner's privileges
/// (see the privileges module); it is expanded when the plan is executed.
#[derive(Debug)]
pub struct StoredView {
    schema: String,
    name: String,
    view: ViewTable,
}

impl StoredView {
    /// The view's query, as planned.
    pub fn plan(&self) -> &LogicalPlan {
        self.view.logical_plan()
    }

    /// The view's schema and name.
    pub fn name(&self) -> (&str, &str) {
        (&self.schema, &self.name)
    }
}

#[async_trait]
impl TableProvider for StoredView {
    fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        self.view.schema()
    }

    fn table_type(&self) -> datafusion::datasource::TableType {
        datafusion::datasource::TableType::View
    }

    fn get_table_definition(&self) -> Option<&str> {
        self.view.get_table_definition()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&datafusion::logical_expr::Expr],
    ) -> DfResult<Vec<datafusion::logical_expr::TableProviderFilterPushDown>> {
        self.view.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn datafusion::catalog::Session,
        projection: Option<&Vec<usize>>,
        filters: &[datafusion::logical_expr::Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
        self.view.scan(state, projection, filters, limit).await
    }
}

/// An external table, opened from its stored definition, that knows its name.
#[derive(Debug)]
pub struct StoredExternal {
    schema: String,
    name: String,
    inner: Arc<dyn TableProvider>,
}

#[async_trait]
impl TableProvider for StoredExternal {
    fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> datafusion::datasource::TableType {
        self.inner.table_type()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&datafusion::logical_expr::Expr],
    ) -> DfResult<Vec<datafusion::logical_expr::TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    fn statistics(&self) -> Option<datafusion::common::Statistics> {
        self.inner.statistics()
    }

    async fn scan(
        &self,
        state: &dyn datafusion::catalog::Session,
        projection: Option<&Vec<usize>>,
        filters: &[datafusion::logical_expr::Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
        self.inner.scan(state, projection, filters, limit).await
    }

    async fn insert_into(
        &self,
        state: &dyn datafusion::catalog::Session,
        input: Arc<dyn datafusion::physical_plan::ExecutionPlan>,
        insert_op: datafusion::logical_expr::dml::InsertOp,
    ) -> DfResult<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
        self.inner.insert_into(state, input, insert_op).await
    }
}

/// A sequence read as a relation (`SELECT * FROM s`): one row of its
/// last value, PostgreSQL's log count and whether the value has been handed
/// out.
#[derive(Debug)]
pub struct StoredSequence {
    storage: Arc<Storage>,
    schema: String,
    name: String,
    entry: enishi_storage::SequenceEntry,
}

impl StoredSequence {
    fn columns() -> datafusion::arrow::datatypes::SchemaRef {
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        Arc::new(Schema::new(vec![
            Field::new("last_value", DataType::Int64, false),
            Field::new("log_cnt", DataType::Int64, false),
            Field::new("is_called", DataType::Boolean, false),
        ]))
    }
}

#[async_trait]
impl TableProvider for StoredSequence {
    fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        Self::columns()
    }

    fn table_type(&self) -> datafusion::datasource::TableType {
        datafusion::datasource::TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn datafusion::catalog::Session,
        projection: Option<&Vec<usize>>,
        _filters: &[datafusion::logical_expr::Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
        use datafusion::arrow::array::{BooleanArray, Int64Array, RecordBatch};
        let state = self
            .storage
            .sequence_state(&self.entry)
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let batch = RecordBatch::try_new(
            Self::columns(),
            vec![
                Arc::new(Int64Array::from(vec![state.last_value])),
                Arc::new(Int64Array::from(vec![0])),
                Arc::new(BooleanArray::from(vec![state.is_called])),
            ],
        )?;
        datafusion::datasource::memory::MemorySourceConfig::try_new_exec(
            &[vec![batch]],
            Self::columns(),
            projection.cloned(),
        )
        .map(|exec| exec as _)
    }
}

// ---------------------------------------------------------------- identities

/// What a relation a plan scans or writes is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Identity {
    /// A table, view or external table of the stored catalog.
    Stored { schema: String, name: String },
    /// A stored relation the catalog no longer holds (it was dropped while
    /// the statement was planned): nothing may read or write it.
    Unknown(String),
    /// What holds no user data: a system catalog table or a table function
    /// (`generate_series(…)`), readable by everyone, writable by no one.
    System(String),
    /// A recursive query's working table: not a relation at all.
    WorkTable,
}

/// Whether `schema` is one of the system schemas every session may read.
pub fn is_system_schema(schema: &str) -> bool {
    matches!(schema, "pg_catalog" | "information_schema")
}

/// What `provider`, found in a plan under `reference`, is in `catalog`.
///
/// User data is only ever read through the providers this module makes for
/// the stored catalog ([`TableHandle`], [`StoredView`], [`StoredExternal`]):
/// they say what they are themselves (a table by its id, views and external
/// tables by the name they were opened under), and are refused when the
/// catalog does not hold them. A new kind of provider that holds user data
/// must be added here.
pub fn identify(
    provider: &dyn TableProvider,
    reference: &datafusion::common::TableReference,
    catalog: &CatalogState,
) -> Identity {
    if let Some(table) = provider.downcast_ref::<TableHandle>() {
        let id = table.table_id();
        return catalog
            .schemas
            .iter()
            .find_map(|(schema, entry)| {
                entry
                    .tables
                    .iter()
                    .find(|(_, t)| t.id == id)
                    .map(|(name, _)| Identity::Stored {
                        schema: schema.clone(),
                        name: name.clone(),
                    })
            })
            .unwrap_or_else(|| Identity::Unknown(reference.to_string()));
    }
    if let Some(view) = provider.downcast_ref::<StoredView>() {
        return stored_identity(catalog, &view.schema, &view.name, reference);
    }
    if let Some(external) = provider.downcast_ref::<StoredExternal>() {
        return stored_identity(catalog, &external.schema, &external.name, reference);
    }
    if let Some(sequence) = provider.downcast_ref::<StoredSequence>() {
        return stored_identity(catalog, &sequence.schema, &sequence.name, reference);
    }
    if provider
        .downcast_ref::<datafusion::datasource::cte_worktable::CteWorkTable>()
        .is_some()
    {
        return Identity::WorkTable;
    }
    Identity::System(reference.table().to_string())
}

fn stored_identity(
    catalog: &CatalogState,
    schema: &str,
    name: &str,
    reference: &datafusion::common::TableReference,
) -> Identity {
    if catalog.relation_exists(schema, name) {
        Identity::Stored {
            schema: schema.to_string(),
            name: name.to_string(),
        }
    } else {
        Identity::Unknown(reference.to_string())
    }
}

// ---------------------------------------------------------------- search_path

pub use crate::constants::SEARCH_PATH;

/// The schemas a bare name is looked up in, in order, as the session's
/// search_path says now.
pub type LookupPath = Arc<dyn Fn() -> Vec<String> + Send + Sync>;

/// A session's view of the database: the shared catalog, plus the
/// [`SEARCH_PATH`] schema.
pub struct SessionCatalog {
    inner: Arc<dyn CatalogProvider>,
    path: Arc<PathSchema>,
}

impl std::fmt::Debug for SessionCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCatalog").finish_non_exhaustive()
    }
}

impl SessionCatalog {
    pub fn new(inner: Arc<dyn CatalogProvider>, path: LookupPath) -> Self {
        let path = Arc::new(PathSchema {
            catalog: inner.clone(),
            path,
        });
        Self { inner, path }
    }
}

impl CatalogProvider for SessionCatalog {
    fn schema_names(&self) -> Vec<String> {
        self.inner.schema_names()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        if name == SEARCH_PATH {
            return Some(self.path.clone());
        }
        if name == crate::constants::TEMP_SCHEMA_ALIAS {
            // The session's own temporary schema is the one on its path.
            let temp = (self.path.path)()
                .into_iter()
                .find(|s| crate::constants::is_temp_schema(s))?;
            return self.inner.schema(&temp);
        }
        self.inner.schema(name)
    }

    fn register_schema(
        &self,
        name: &str,
        schema: Arc<dyn SchemaProvider>,
    ) -> DfResult<Option<Arc<dyn SchemaProvider>>> {
        self.inner.register_schema(name, schema)
    }
}

/// Bare names: the first schema of the lookup path that holds the name.
pub struct PathSchema {
    catalog: Arc<dyn CatalogProvider>,
    path: LookupPath,
}

impl std::fmt::Debug for PathSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PathSchema").finish_non_exhaustive()
    }
}

#[async_trait]
impl SchemaProvider for PathSchema {
    fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = (self.path)()
            .iter()
            .filter_map(|s| self.catalog.schema(s))
            .flat_map(|s| s.table_names())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        for schema in (self.path)() {
            let Some(provider) = self.catalog.schema(&schema) else {
                continue;
            };
            if provider.table_exist(name)
                && let Some(table) = provider.table(name).await?
            {
                return Ok(Some(table));
            }
        }
        Ok(None)
    }

    fn table_exist(&self, name: &str) -> bool {
        (self.path)()
            .iter()
            .filter_map(|s| self.catalog.schema(s))
            .any(|s| s.table_exist(name))
    }
}
