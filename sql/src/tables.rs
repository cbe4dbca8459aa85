//! DataFusion's view of the stored catalog: one CatalogProvider for the database,
//! one SchemaProvider per schema, tables opened from storage on demand.
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
use enishi_storage::{Storage, TableHandle};
use futures::future::BoxFuture;

/// Plans a stored view's SQL text.
pub type ViewPlanner =
    Arc<dyn Fn(String) -> BoxFuture<'static, DfResult<LogicalPlan>> + Send + Sync>;

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
            let plan = planner(view.sql.clone()).await?;
            return Ok(Some(Arc::new(StoredView(ViewTable::new(
                plan,
                Some(view.sql),
            )))));
        }
        if let Some(entry) = self.storage.external(&self.name, name) {
            let opener = self.externals.get().ok_or_else(|| {
                DataFusionError::Internal("external tables are not available yet".into())
            })?;
            return Ok(Some(opener(entry.sql).await?));
        }
        let external = |e: enishi_storage::StorageError| DataFusionError::External(Box::new(e));
        match self
            .storage
            .table(&self.name, name)
            .await
            .map_err(external)?
        {
            Some(table) => {
                let key = self.storage.read_catalog(|c| {
                    c.schemas
                        .get(&self.name)
                        .and_then(|s| s.tables.get(name))
                        .and_then(|t| t.primary_key.clone())
                });
                Ok(Some(Arc::new(
                    TableHandle::new(table)
                        .await
                        .map_err(external)?
                        .with_primary_key(key),
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
/// ([`crate::privileges`]); it is expanded when the plan is executed.
#[derive(Debug)]
pub struct StoredView(ViewTable);

impl StoredView {
    /// The view's query, as planned.
    pub fn plan(&self) -> &LogicalPlan {
        self.0.logical_plan()
    }
}

#[async_trait]
impl TableProvider for StoredView {
    fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        self.0.schema()
    }

    fn table_type(&self) -> datafusion::datasource::TableType {
        datafusion::datasource::TableType::View
    }

    fn get_table_definition(&self) -> Option<&str> {
        self.0.get_table_definition()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&datafusion::logical_expr::Expr],
    ) -> DfResult<Vec<datafusion::logical_expr::TableProviderFilterPushDown>> {
        self.0.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn datafusion::catalog::Session,
        projection: Option<&Vec<usize>>,
        filters: &[datafusion::logical_expr::Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
        self.0.scan(state, projection, filters, limit).await
    }
}
