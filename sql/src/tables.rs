//! DataFusion's view of the stored catalog: one CatalogProvider for the database,
//! one SchemaProvider per schema, tables opened from storage on demand.
//!
//! DDL does not come through here: the session calls storage directly (it is
//! async and must be committed before the statement completes). Views are kept in
//! memory for now (DataFusion's CREATE VIEW registers them here).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::error::{DataFusionError, Result as DfResult};
use enishi_storage::{Storage, TableHandle};

/// The database: its stored schemas plus system schemas registered by the engine.
#[derive(Debug)]
pub struct StorageCatalog {
    storage: Arc<Storage>,
    system: RwLock<HashMap<String, Arc<dyn SchemaProvider>>>,
    views: Arc<RwLock<HashMap<(String, String), Arc<dyn TableProvider>>>>,
}

impl StorageCatalog {
    pub fn new(storage: Arc<Storage>) -> Self {
        Self {
            storage,
            system: RwLock::default(),
            views: Arc::default(),
        }
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
#[derive(Debug)]
pub struct StorageSchema {
    storage: Arc<Storage>,
    name: String,
    views: Arc<RwLock<HashMap<(String, String), Arc<dyn TableProvider>>>>,
}

#[async_trait]
impl SchemaProvider for StorageSchema {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.storage.table_names(&self.name);
        let views = self.views.read().expect("views lock");
        names.extend(
            views
                .keys()
                .filter(|(s, _)| *s == self.name)
                .map(|(_, t)| t.clone()),
        );
        names
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        if let Some(view) = self
            .views
            .read()
            .expect("views lock")
            .get(&(self.name.clone(), name.to_string()))
        {
            return Ok(Some(view.clone()));
        }
        let external = |e: enishi_storage::StorageError| DataFusionError::External(Box::new(e));
        match self
            .storage
            .table(&self.name, name)
            .await
            .map_err(external)?
        {
            Some(table) => Ok(Some(Arc::new(
                TableHandle::new(table).await.map_err(external)?,
            ))),
            None => Ok(None),
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.storage.catalog().relation_exists(&self.name, name)
            || self
                .views
                .read()
                .expect("views lock")
                .contains_key(&(self.name.clone(), name.to_string()))
    }

    /// DataFusion's CREATE VIEW lands here.
    fn register_table(
        &self,
        name: String,
        table: Arc<dyn TableProvider>,
    ) -> DfResult<Option<Arc<dyn TableProvider>>> {
        if self.storage.catalog().relation_exists(&self.name, &name) {
            return Err(DataFusionError::Execution(format!(
                "Table '{name}' already exists"
            )));
        }
        Ok(self
            .views
            .write()
            .expect("views lock")
            .insert((self.name.clone(), name), table))
    }

    /// DataFusion's DROP VIEW lands here.
    fn deregister_table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        Ok(self
            .views
            .write()
            .expect("views lock")
            .remove(&(self.name.clone(), name.to_string())))
    }
}
