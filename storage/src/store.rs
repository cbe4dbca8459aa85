//! Object stores for the storage root.
//!
//! A local directory uses object_store's `LocalFileSystem`, which never calls
//! fsync: after a power loss a "committed" Delta log entry could be empty or
//! missing. [`SyncedLocalStore`] wraps it and, when `sync_writes` is on, syncs every
//! written file and its directory before the write returns, so a commit that was
//! acknowledged to a client is on stable storage. (A crash of the Enishi process
//! alone, e.g. SIGKILL, loses nothing either way: the kernel still holds the data.)

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use deltalake::logstore::{
    LogStore, LogStoreFactory, ObjectStoreRef, StorageConfig, default_logstore, logstore_factories,
};
use futures::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result, UploadPart,
};
use url::Url;

use crate::{S3Options, StorageError};

/// `LocalFileSystem` that fsyncs what it writes.
#[derive(Debug, Clone)]
pub struct SyncedLocalStore {
    inner: Arc<LocalFileSystem>,
    sync: bool,
}

impl SyncedLocalStore {
    /// A store over the whole local filesystem (paths are absolute), as deltalake
    /// and DataFusion expect for `file://` URLs.
    pub fn new(sync: bool) -> Self {
        let inner = LocalFileSystem::new().with_automatic_cleanup(true);
        Self {
            inner: Arc::new(inner),
            sync,
        }
    }

    async fn sync_path(&self, location: &Path) -> Result<()> {
        if !self.sync {
            return Ok(());
        }
        let file = self.inner.path_to_filesystem(location)?;
        sync_file_and_dir(file).await
    }
}

/// fsync a file, then its directory (so its directory entry is durable too).
async fn sync_file_and_dir(file: PathBuf) -> Result<()> {
    let io = |source: std::io::Error, path: &std::path::Path| object_store::Error::Generic {
        store: "LocalFileSystem",
        source: format!("fsync {}: {source}", path.display()).into(),
    };
    tokio::task::spawn_blocking(move || {
        std::fs::File::open(&file)
            .and_then(|f| f.sync_all())
            .map_err(|e| io(e, &file))?;
        if let Some(dir) = file.parent() {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io(e, dir))?;
        }
        Ok(())
    })
    .await
    .map_err(|e| object_store::Error::Generic {
        store: "LocalFileSystem",
        source: Box::new(e),
    })?
}

impl fmt::Display for SyncedLocalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SyncedLocalStore({}, sync={})", self.inner, self.sync)
    }
}

#[async_trait]
impl ObjectStore for SyncedLocalStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let result = self.inner.put_opts(location, payload, opts).await?;
        self.sync_path(location).await?;
        Ok(result)
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let upload = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(SyncedUpload {
            inner: upload,
            store: self.clone(),
            location: location.clone(),
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[std::ops::Range<u64>],
    ) -> Result<Vec<bytes::Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await?;
        self.sync_path(to).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.inner.rename_opts(from, to, options).await?;
        self.sync_path(to).await
    }
}

/// A multipart upload whose completion is synced.
#[derive(Debug)]
struct SyncedUpload {
    inner: Box<dyn MultipartUpload>,
    store: SyncedLocalStore,
    location: Path,
}

#[async_trait]
impl MultipartUpload for SyncedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.inner.put_part(data)
    }

    async fn complete(&mut self) -> Result<PutResult> {
        let result = self.inner.complete().await?;
        self.store.sync_path(&self.location).await?;
        Ok(result)
    }

    async fn abort(&mut self) -> Result<()> {
        self.inner.abort().await
    }
}

/// The S3 bucket of an `s3://bucket/prefix` root. Settings left unset in `options`
/// come from the `AWS_*` environment variables (`AWS_ENDPOINT`, `AWS_REGION`,
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`, …).
///
/// Commits rely on conditional PUT (`If-None-Match: *`), which S3, MinIO and
/// most compatible stores support: two writers racing for one log version
/// cannot both win.
pub fn s3(url: &Url, options: &S3Options) -> Result<Arc<dyn ObjectStore>, StorageError> {
    let bucket = url.host_str().unwrap_or_default();
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Some(endpoint) = &options.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(region) = &options.region {
        builder = builder.with_region(region);
    }
    if let Some(key) = &options.access_key_id {
        builder = builder.with_access_key_id(key);
    }
    if let Some(secret) = &options.secret_access_key {
        builder = builder.with_secret_access_key(secret);
    }
    if let Some(allow) = options.allow_http {
        builder = builder.with_allow_http(allow);
    }
    let store = builder.build().map_err(StorageError::ObjectStore)?;
    register_s3_log_store();
    Ok(Arc::new(store))
}

/// Delta keeps a log-store factory per URL scheme and knows only `file://` and
/// `memory://` unless its AWS integration is compiled in. Enishi hands Delta
/// the S3 store itself, so the default log store (commits by conditional PUT)
/// is all it needs.
fn register_s3_log_store() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let scheme = Url::parse("s3://").expect("static URL");
        logstore_factories().insert(scheme, Arc::new(DefaultLogStores));
    });
}

#[derive(Debug)]
struct DefaultLogStores;

impl LogStoreFactory for DefaultLogStores {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> deltalake::DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}
