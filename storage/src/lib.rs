//! Enishi's storage layer: the catalog and the tables, on an object store.
//!
//! Each table is a Delta Lake table (Parquet data files plus a transaction log) in
//! its own directory `tables/<id>/` under the storage root; the catalog
//! (`catalog.rs`) maps schema and table names to those directories and is itself
//! committed atomically in the store. On local disk, writes are fsynced before they
//! are acknowledged (`store.rs`).
//!
//! Invariant: nothing in this crate depends on the SQL engine or the server. It
//! speaks DataFusion (a library) so the engine can scan and write tables directly.

pub mod backup;
pub mod catalog;
pub mod codec;
pub mod counted;
mod ddl;
mod error;
pub mod json;
pub mod provider;
mod sequences;
pub mod store;
pub mod stream;
pub mod table;
pub mod transaction;
pub mod unique;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use deltalake::arrow::datatypes::Schema;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStore;
use object_store::prefix::PrefixStore;
use url::Url;

pub use catalog::{
    CatalogState, ExternalEntry, ForeignKey, IndexEntry, PrimaryKey, RoleEntry, Security,
    TableEntry, TokenEntry, ViewEntry, column_key, schema_key, table_key,
};
pub use ddl::Declared;
pub use error::StorageError;
pub use provider::TableHandle;
pub use sequences::{OwnedBy, SequenceEntry, SequenceState};
pub use table::{MaintenancePolicy, MaintenanceReport, Table, TableSettings};
pub use transaction::{Savepoint, Transaction, TransactionSlot};

/// A storage root opened: local directory, URL, store, path of the root in the store.
type Root = (
    Option<PathBuf>,
    Url,
    Arc<dyn ObjectStore>,
    object_store::path::Path,
);

/// Storage settings (from the server's configuration).
#[derive(Debug, Clone)]
pub struct StorageOptions {
    /// fsync data files and log entries before a commit is acknowledged.
    pub sync_writes: bool,
    /// How to reach S3 when the root is an `s3://` URL (unset fields come from
    /// the usual `AWS_*` environment variables).
    pub s3: S3Options,
    /// ZSTD-compress data files (else uncompressed).
    pub compression: bool,
    /// Bits of each Parquet bloom filter (per column and row group); 0: none.
    pub bloom_filter_bits: u64,
    /// Refuse writes that would take the stored data past this size.
    pub max_size_bytes: Option<u64>,
    /// How often a table probes for commits by other servers (0: every query).
    pub probe_interval: std::time::Duration,
}

impl Default for StorageOptions {
    fn default() -> Self {
        Self {
            sync_writes: true,
            s3: S3Options::default(),
            compression: true,
            bloom_filter_bits: 0,
            max_size_bytes: None,
            probe_interval: std::time::Duration::ZERO,
        }
    }
}

/// What `Storage::verify` found for one table.
#[derive(Debug)]
pub struct TableCheck {
    /// `schema.table`
    pub name: String,
    /// Empty when the table is healthy.
    pub problems: Vec<String>,
    pub rows: u64,
}

/// Connection settings for S3 and S3-compatible stores.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// e.g. `http://127.0.0.1:9000` for MinIO; unset means AWS.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Allow a plain-http endpoint.
    pub allow_http: Option<bool>,
}

/// Where the storage root is: a local directory, or a prefix in an object store.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    Local(PathBuf),
    /// `s3://bucket/prefix`
    S3(Url),
}

impl Location {
    /// Reads `storage.path`: an `s3://` or `file://` URL, or a directory path.
    pub fn parse(text: &str) -> Result<Self, StorageError> {
        let bad = |why: &str| StorageError::Root {
            path: PathBuf::from(text),
            source: std::io::Error::other(why.to_string()),
        };
        match Url::parse(text) {
            Ok(url) if url.scheme() == "s3" => {
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(bad("an s3:// URL needs a bucket"));
                }
                Ok(Location::S3(url))
            }
            Ok(url) if url.scheme() == "file" => url
                .to_file_path()
                .map(Location::Local)
                .map_err(|_| bad("not a local file URL")),
            Ok(url) if url.scheme().len() > 1 => Err(bad(&format!(
                "unsupported storage URL scheme \"{}\" (use a directory or s3://)",
                url.scheme()
            ))),
            _ => Ok(Location::Local(PathBuf::from(text))),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::S3(url) => write!(f, "{url}"),
        }
    }
}

/// The storage root, its catalog and its open tables.
pub struct Storage {
    /// The root directory, when storage is on local disk.
    local_root: Option<PathBuf>,
    /// The root as a URL (`file:///…/` or `s3://bucket/prefix/`).
    root_url: Url,
    /// The store tables live in: the whole local filesystem (absolute paths,
    /// fsyncing when configured), or the S3 bucket.
    store: Arc<dyn ObjectStore>,
    /// The same store seen from the storage root, for the catalog.
    catalog_store: Arc<dyn ObjectStore>,
    /// Requests and bytes through `store`.
    store_stats: Arc<counted::StoreStats>,
    catalog: RwLock<CatalogState>,
    writing: Arc<TableSettings>,
    /// Serializes catalog changes made by this process.
    changes: tokio::sync::Mutex<()>,
    tables: tokio::sync::Mutex<HashMap<u64, Arc<Table>>>,
    /// When [`Storage::refresh_catalog`] last looked for a newer catalog.
    catalog_probed: std::sync::Mutex<Option<std::time::Instant>>,
    /// Sequence values this server has claimed.
    claims: sequences::Claims,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("root", &self.root_url.as_str())
            .finish_non_exhaustive()
    }
}

/// How often a catalog change is retried after another server moved the
/// catalog (or a new table's location was found taken) before giving up.
const CATALOG_RETRIES: usize = 16;

impl Storage {
    /// Opens (creating if needed) the storage root and loads its catalog.
    pub async fn open(location: &Location, options: StorageOptions) -> Result<Self, StorageError> {
        let (local_root, root_url, store, prefix) = Self::root_store(location, &options)?;
        let store_stats = Arc::new(counted::StoreStats::default());
        let store: Arc<dyn ObjectStore> =
            Arc::new(counted::CountedStore::new(store, store_stats.clone()));
        let catalog_store: Arc<dyn ObjectStore> = Arc::new(PrefixStore::new(store.clone(), prefix));
        let state = match CatalogState::load(catalog_store.as_ref()).await? {
            Some(state) => state,
            None => {
                let mut state = CatalogState::initial();
                state.version = 1;
                state.commit(catalog_store.as_ref()).await?;
                state
            }
        };
        tracing::info!(%location, catalog_version = state.version, "storage ready");
        let storage = Self {
            local_root,
            root_url,
            store,
            catalog_store,
            store_stats,
            catalog: RwLock::new(state),
            writing: Arc::new(
                TableSettings::new(
                    options.compression,
                    options.bloom_filter_bits,
                    options.max_size_bytes,
                )
                .with_probe_interval(options.probe_interval),
            ),
            changes: tokio::sync::Mutex::new(()),
            tables: tokio::sync::Mutex::new(HashMap::new()),
            catalog_probed: Default::default(),
            claims: Default::default(),
        };
        // The size limit counts every table: load them all now.
        if storage.writing.max_size_bytes.is_some() {
            for (schema, entry) in storage.catalog().schemas {
                for name in entry.tables.keys() {
                    storage.table(&schema, name).await?;
                }
            }
            tracing::info!(bytes = storage.writing.used_bytes(), "storage size");
        }
        Ok(storage)
    }

    /// The store behind a location: its local directory (if any), its URL, the
    /// store, and the root's path inside the store.
    pub(crate) fn root_store(
        location: &Location,
        options: &StorageOptions,
    ) -> Result<Root, StorageError> {
        Ok(match location {
            Location::Local(path) => {
                let (root, url) = Self::local_root(path)?;
                let store: Arc<dyn ObjectStore> =
                    Arc::new(store::SyncedLocalStore::new(options.sync_writes));
                let prefix = object_store::path::Path::from_filesystem_path(&root)?;
                (Some(root), url, store, prefix)
            }
            Location::S3(url) => {
                let store = store::s3(url, &options.s3)?;
                let mut root_url = url.clone();
                if !root_url.path().ends_with('/') {
                    root_url.set_path(&format!("{}/", root_url.path()));
                }
                let prefix = object_store::path::Path::from_url_path(root_url.path())?;
                (None, root_url, store, prefix)
            }
        })
    }

    /// The store seen from the storage root (catalog and table paths are
    /// relative to it).
    pub(crate) fn root(&self) -> &Arc<dyn ObjectStore> {
        &self.catalog_store
    }

    /// One health probe of the object store, as the background check runs it:
    /// the catalog reads (and is taken when another server changed it), and every table catches up with its log (which also
    /// refreshes the sizes `used_bytes` and `used_files` report).
    pub async fn probe(&self) -> Result<(), StorageError> {
        // Another server's DDL, grants and tokens arrive here.
        self.reload_catalog().await?;
        for (schema, entry) in self.catalog().schemas {
            for name in entry.tables.keys() {
                if let Some(table) = self.table(&schema, name).await? {
                    table.refresh().await?;
                }
            }
        }
        Ok(())
    }

    /// Requests and bytes that went to the object store since start.
    pub fn store_stats(&self) -> &counted::StoreStats {
        &self.store_stats
    }

    /// Data files in the current versions of the open tables.
    pub fn used_files(&self) -> u64 {
        self.writing.used_files()
    }

    /// Creates and checks a local root directory; returns it and its URL.
    fn local_root(path: &Path) -> Result<(PathBuf, Url), StorageError> {
        let root = path.to_path_buf();
        let err = |source| StorageError::Root {
            path: root.clone(),
            source,
        };
        std::fs::create_dir_all(&root).map_err(err)?;
        let root = root.canonicalize().map_err(err)?;
        // A probe write catches read-only mounts and wrong ownership up front.
        let probe = root.join(".enishi-write-probe");
        std::fs::write(&probe, b"ok").map_err(err)?;
        std::fs::remove_file(&probe).map_err(err)?;

        let root_url = Url::from_directory_path(&root)
            .map_err(|_| err(std::io::Error::other("not an absolute directory path")))?;
        Ok((root, root_url))
    }

    /// The object store tables live in.
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }

    /// The URL the object store answers for (`file:///` or `s3://bucket`), for
    /// registering it with a query engine.
    pub fn object_store_url(&self) -> Url {
        let mut url = self.root_url.clone();
        url.set_path("/");
        url
    }

    /// Checks every table in the catalog (see [`Table::verify`]). One report
    /// per table, in catalog order.
    pub async fn verify(&self) -> Vec<TableCheck> {
        let mut checks = Vec::new();
        for (schema, entry) in self.catalog().schemas {
            for (name, table) in entry.tables {
                let url = match self.table_url(&table) {
                    Ok(url) => url,
                    Err(e) => {
                        checks.push(TableCheck {
                            name: format!("{schema}.{name}"),
                            problems: vec![e.to_string()],
                            rows: 0,
                        });
                        continue;
                    }
                };
                let (problems, rows) = Table::verify(&url, &self.store).await;
                checks.push(TableCheck {
                    name: format!("{schema}.{name}"),
                    problems,
                    rows,
                });
            }
        }
        checks
    }

    /// Bytes of table data in the current versions of the open tables.
    pub fn used_bytes(&self) -> u64 {
        self.writing.used_bytes()
    }

    /// The configured size limit, if any.
    pub fn max_size_bytes(&self) -> Option<u64> {
        self.writing.max_size_bytes
    }

    /// Tables in the catalog.
    pub fn table_count(&self) -> usize {
        let catalog = self.catalog.read().expect("catalog lock");
        catalog.schemas.values().map(|s| s.tables.len()).sum()
    }

    /// The version of the catalog as of now: it moves with every DDL.
    pub fn catalog_version(&self) -> u64 {
        self.catalog.read().expect("catalog lock").version
    }

    /// A table this process has open, by id.
    pub async fn open_table(&self, id: u64) -> Option<Arc<Table>> {
        self.tables.lock().await.get(&id).cloned()
    }

    /// The catalog as of now (a copy).
    pub fn catalog(&self) -> CatalogState {
        self.catalog.read().expect("catalog lock").clone()
    }

    pub fn schema_names(&self) -> Vec<String> {
        self.catalog
            .read()
            .expect("catalog lock")
            .schemas
            .keys()
            .cloned()
            .collect()
    }

    pub fn table_names(&self, schema: &str) -> Vec<String> {
        let catalog = self.catalog.read().expect("catalog lock");
        match catalog.schema(schema) {
            Some(s) => s
                .tables
                .keys()
                .chain(s.views.keys())
                .chain(s.externals.keys())
                .chain(s.sequences.keys())
                .cloned()
                .collect(),
            None => vec![],
        }
    }

    pub fn view(&self, schema: &str, name: &str) -> Option<ViewEntry> {
        self.catalog
            .read()
            .expect("catalog lock")
            .schema(schema)?
            .views
            .get(name)
            .cloned()
    }

    fn table_url(&self, entry: &TableEntry) -> Result<Url, StorageError> {
        self.root_url
            .join(&format!("{}/", entry.location))
            .map_err(|e| StorageError::Corrupt(format!("table location {}: {e}", entry.location)))
    }

    /// Reads the current catalog without copying it.
    pub fn read_catalog<T>(&self, read: impl FnOnce(&CatalogState) -> T) -> T {
        read(&self.catalog.read().expect("catalog lock"))
    }

    /// Changes roles, privileges or tokens, committed as the next catalog version.
    pub async fn change_security<T>(
        &self,
        apply: impl FnMut(&mut CatalogState) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        self.change(apply).await
    }

    /// Applies a change to a copy of the catalog and commits it as the next version.
    async fn change<T>(
        &self,
        mut apply: impl FnMut(&mut CatalogState) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let _guard = self.changes.lock().await;
        let mut attempts = 0;
        loop {
            let mut next = self.catalog();
            let out = apply(&mut next)?;
            next.version += 1;
            match next.commit(self.catalog_store.as_ref()).await {
                Ok(()) => {
                    *self.catalog.write().expect("catalog lock") = next;
                    return Ok(out);
                }
                Err(StorageError::Conflict(why)) if attempts < CATALOG_RETRIES => {
                    attempts += 1;
                    tracing::info!(%why, attempts, "catalog moved: reloading and retrying");
                    self.reload_catalog().await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads the newest committed catalog from the store and takes it when it
    /// is newer than the one in memory (another server changed it). Returns
    /// whether it was newer.
    pub async fn reload_catalog(&self) -> Result<bool, StorageError> {
        let Some(newest) = CatalogState::load(self.catalog_store.as_ref()).await? else {
            return Err(StorageError::Corrupt(
                "the catalog is missing from the storage root".into(),
            ));
        };
        Ok(self.take_newer(newest))
    }

    /// Catches up with another server's catalog changes: looks for the next
    /// catalog version (one HEAD request) at most once per probe interval, and
    /// reloads when it exists. Sessions call this before each statement.
    pub async fn refresh_catalog(&self) -> Result<bool, StorageError> {
        {
            let mut last = self.catalog_probed.lock().expect("probe lock");
            if last.is_some_and(|t| t.elapsed() < self.writing.probe_interval) {
                return Ok(false);
            }
            *last = Some(std::time::Instant::now());
        }
        let next = catalog::snapshot_path(self.catalog.read().expect("catalog lock").version + 1);
        match object_store::ObjectStoreExt::head(self.catalog_store.as_ref(), &next).await {
            Ok(_) => self.reload_catalog().await,
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn take_newer(&self, newest: CatalogState) -> bool {
        let mut current = self.catalog.write().expect("catalog lock");
        if newest.version > current.version {
            tracing::info!(
                from = current.version,
                to = newest.version,
                "catalog changed by another server"
            );
            *current = newest;
            true
        } else {
            false
        }
    }

    /// The open table `schema.name`, loading it on first use.
    pub async fn table(
        &self,
        schema: &str,
        name: &str,
    ) -> Result<Option<Arc<Table>>, StorageError> {
        let Some(entry) = self.catalog().table(schema, name).cloned() else {
            return Ok(None);
        };
        let mut tables = self.tables.lock().await;
        if let Some(table) = tables.get(&entry.id) {
            return Ok(Some(table.clone()));
        }
        let table = Arc::new(
            Table::open(
                entry.id,
                self.table_url(&entry)?,
                &self.store,
                self.writing.clone(),
            )
            .await?,
        );
        tables.insert(entry.id, table.clone());
        Ok(Some(table))
    }

    /// One background maintenance pass over every table. Failures are logged and
    /// retried on the next pass; they never affect clients.
    pub async fn maintain_all(&self, policy: &MaintenancePolicy) {
        let catalog = self.catalog();
        for (schema, entry) in &catalog.schemas {
            for name in entry.tables.keys() {
                let table = match self.table(schema, name).await {
                    Ok(Some(table)) => table,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!(%schema, table = %name, error = %e, "maintenance: cannot open table");
                        continue;
                    }
                };
                match table.maintain(policy).await {
                    Ok(report) if report != MaintenanceReport::default() => tracing::info!(
                        %schema,
                        table = %name,
                        files_compacted = report.files_compacted,
                        files_written = report.files_written,
                        checkpoint_version = ?report.checkpoint_version,
                        files_vacuumed = report.files_vacuumed,
                        "maintenance"
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(%schema, table = %name, error = %e, "maintenance failed")
                    }
                }
            }
        }
    }

    /// Removes a dropped table's directory. Best effort: a failure leaves unreferenced
    /// files, which are harmless (no catalog entry points at them).
    async fn remove_files(&self, entry: &TableEntry) {
        self.writing.forget(entry.id);
        if let Some(root) = &self.local_root {
            let dir = root.join(&entry.location);
            if let Err(e) = tokio::fs::remove_dir_all(&dir).await {
                tracing::warn!(dir = %dir.display(), error = %e, "could not remove a dropped table's files");
            }
            return;
        }
        let prefix = object_store::path::Path::from(entry.location.as_str());
        let paths = self
            .catalog_store
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .boxed();
        let mut deleted = self.catalog_store.delete_stream(paths);
        while let Some(result) = deleted.next().await {
            if let Err(e) = result {
                tracing::warn!(table = %entry.location, error = %e, "could not remove a dropped table's files");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_root(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("enishi-storage-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[tokio::test]
    async fn catalog_changes_survive_reopening() {
        let root = temp_root("reopen");
        {
            let storage = Storage::open(&Location::Local(root.clone()), StorageOptions::default())
                .await
                .unwrap();
            assert_eq!(storage.schema_names(), vec!["public".to_string()]);
            storage.create_schema("s", false).await.unwrap();
            let schema = Schema::new(vec![deltalake::arrow::datatypes::Field::new(
                "x",
                deltalake::arrow::datatypes::DataType::Int32,
                true,
            )]);
            assert!(
                storage
                    .create_table("s", "t", &schema, false)
                    .await
                    .unwrap()
            );
            assert!(!storage.create_table("s", "t", &schema, true).await.unwrap());
            assert!(matches!(
                storage.create_table("s", "t", &schema, false).await,
                Err(StorageError::TableExists(_))
            ));
        }
        let storage = Storage::open(&Location::Local(root.clone()), StorageOptions::default())
            .await
            .unwrap();
        assert_eq!(storage.table_names("s"), vec!["t".to_string()]);
        assert!(storage.table("s", "t").await.unwrap().is_some());
        assert!(matches!(
            storage.drop_schema("s", false, false).await,
            Err(StorageError::SchemaNotEmpty(_))
        ));
        storage.drop_schema("s", false, true).await.unwrap();
        assert!(storage.table("s", "t").await.unwrap().is_none());
        std::fs::remove_dir_all(&root).ok();
    }

    #[tokio::test]
    async fn a_catalog_version_is_committed_once() {
        let root = temp_root("conflict");
        let storage = Storage::open(&Location::Local(root.clone()), StorageOptions::default())
            .await
            .unwrap();
        let mut stale = storage.catalog();
        storage.create_schema("first", false).await.unwrap();
        // A second writer that loaded the same version loses.
        stale.version += 1;
        stale.schemas.insert("second".into(), Default::default());
        let result = stale.commit(storage.catalog_store.as_ref()).await;
        assert!(
            matches!(result, Err(StorageError::Conflict(_))),
            "{result:?}"
        );
        std::fs::remove_dir_all(&root).ok();
    }

    #[tokio::test]
    async fn a_file_is_not_a_storage_root() {
        let file = temp_root("file");
        std::fs::write(&file, b"x").unwrap();
        let err = Storage::open(&Location::Local(file.clone()), StorageOptions::default())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("cannot use storage path"), "{err}");
        std::fs::remove_file(&file).ok();
    }
}
