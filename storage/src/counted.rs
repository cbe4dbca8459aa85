//! Request and byte counts of the object store, for operators (`/metrics`).
//! [`CountedStore`] wraps the store every table, scan and catalog goes through.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result, UploadPart,
};

/// The kinds of request counted.
pub const OPERATIONS: [&str; 7] = ["get", "head", "put", "list", "delete", "copy", "rename"];

/// Counters since start.
#[derive(Debug, Default)]
pub struct StoreStats {
    requests: [AtomicU64; OPERATIONS.len()],
    pub bytes_read: AtomicU64,
    pub bytes_written: AtomicU64,
}

impl StoreStats {
    fn count(&self, operation: &str, n: u64) {
        if let Some(i) = OPERATIONS.iter().position(|o| *o == operation) {
            self.requests[i].fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Requests of each kind in [`OPERATIONS`], in that order.
    pub fn requests(&self) -> [u64; OPERATIONS.len()] {
        std::array::from_fn(|i| self.requests[i].load(Ordering::Relaxed))
    }
}

#[derive(Debug)]
pub struct CountedStore {
    inner: Arc<dyn ObjectStore>,
    stats: Arc<StoreStats>,
}

impl CountedStore {
    pub fn new(inner: Arc<dyn ObjectStore>, stats: Arc<StoreStats>) -> Self {
        Self { inner, stats }
    }
}

impl fmt::Display for CountedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner)
    }
}

#[async_trait]
impl ObjectStore for CountedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.stats.count("put", 1);
        let bytes = payload.content_length() as u64;
        let result = self.inner.put_opts(location, payload, opts).await?;
        self.stats.bytes_written.fetch_add(bytes, Ordering::Relaxed);
        Ok(result)
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.stats.count("put", 1);
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(CountedUpload {
            inner,
            stats: self.stats.clone(),
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let head = options.head;
        self.stats.count(if head { "head" } else { "get" }, 1);
        let result = self.inner.get_opts(location, options).await?;
        if !head {
            let bytes = result.range.end.saturating_sub(result.range.start);
            self.stats.bytes_read.fetch_add(bytes, Ordering::Relaxed);
        }
        Ok(result)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.stats.count("get", ranges.len() as u64);
        let parts = self.inner.get_ranges(location, ranges).await?;
        let bytes: usize = parts.iter().map(Bytes::len).sum();
        self.stats
            .bytes_read
            .fetch_add(bytes as u64, Ordering::Relaxed);
        Ok(parts)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let stats = self.stats.clone();
        let counted = locations.inspect(move |_| stats.count("delete", 1)).boxed();
        self.inner.delete_stream(counted)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.stats.count("list", 1);
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.stats.count("list", 1);
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.stats.count("list", 1);
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.stats.count("copy", 1);
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.stats.count("rename", 1);
        self.inner.rename_opts(from, to, options).await
    }
}

/// A multipart upload counting the bytes of its parts.
#[derive(Debug)]
struct CountedUpload {
    inner: Box<dyn MultipartUpload>,
    stats: Arc<StoreStats>,
}

#[async_trait]
impl MultipartUpload for CountedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.stats
            .bytes_written
            .fetch_add(data.content_length() as u64, Ordering::Relaxed);
        self.inner.put_part(data)
    }

    async fn complete(&mut self) -> Result<PutResult> {
        self.inner.complete().await
    }

    async fn abort(&mut self) -> Result<()> {
        self.inner.abort().await
    }
}
