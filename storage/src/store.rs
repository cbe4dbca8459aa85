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
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result, UploadPart,
};

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
