//! The result cache: complete answers of read-only queries, kept in memory and
//! served again while nothing they depend on has changed.
//!
//! A [`CacheKey`] is the statement as parsed, its parameter values, the settings
//! that change results, and the user. Each entry also records what the answer
//! was computed from: the catalog version (so a dropped, recreated or redefined
//! table or view cannot be mistaken for the old one) and the snapshot version of
//! every table the query read. A hit requires all of them to be current, so a
//! write anywhere the query reads makes the entry unreachable; a hit needs no
//! planning at all. Queries whose answer can change without a write — volatile
//! functions such as `now()` or `random()`, catalog and system tables — are
//! never stored.
//!
//! Entries are bounded both in number and in bytes (moka evicts the least
//! useful); a result larger than the per-entry limit streams to the client and
//! is not kept.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::catalog::default_table_source::source_as_provider;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::error::Result as DfResult;
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream};
use datafusion::logical_expr::{Expr, LogicalPlan, Volatility};
use datafusion::physical_plan::memory::MemoryStream;
use enishi_storage::{Storage, TableHandle};
use futures::Stream;

/// Limits of the result cache.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Most entries kept (0 turns the cache off).
    pub max_entries: u64,
    /// Most bytes of results kept.
    pub max_bytes: u64,
    /// Results larger than this are not kept.
    pub max_entry_bytes: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            max_bytes: 256 << 20,
            max_entry_bytes: 16 << 20,
        }
    }
}

/// Counters an operator watches (exported as metrics).
#[derive(Debug, Default)]
pub struct CacheStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub bypasses: AtomicU64,
    pub evictions: AtomicU64,
    /// Results not kept because they were larger than the per-entry limit.
    pub too_large: AtomicU64,
}

impl CacheStats {
    /// Hits over lookups (hits + misses); 0 before the first lookup.
    pub fn hit_ratio(&self) -> f64 {
        let hits = self.hits.load(Ordering::Relaxed) as f64;
        let lookups = hits + self.misses.load(Ordering::Relaxed) as f64;
        if lookups == 0.0 { 0.0 } else { hits / lookups }
    }
}

/// What identifies a query's answer, given unchanged data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    statement: String,
    params: String,
    /// Settings that change results, and who asks.
    context: String,
}

impl CacheKey {
    pub fn new(statement: String, params: String, context: String) -> Self {
        Self {
            statement,
            params,
            context,
        }
    }
}

/// (table id, snapshot version) of each table a query read.
pub type Dependencies = Vec<(u64, Option<u64>)>;

/// A cached answer and what it was computed from.
#[derive(Debug)]
pub struct CachedResult {
    /// The schema clients are described (names, declared types, origins).
    pub client_schema: SchemaRef,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    bytes: u64,
    catalog_version: u64,
    tables: Dependencies,
}

impl CachedResult {
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

pub struct ResultCache {
    entries: moka::sync::Cache<CacheKey, Arc<CachedResult>>,
    config: CacheConfig,
    pub stats: Arc<CacheStats>,
}

impl std::fmt::Debug for ResultCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultCache")
            .field("config", &self.config)
            .field("entries", &self.entries.entry_count())
            .finish()
    }
}

impl ResultCache {
    pub fn new(config: CacheConfig) -> Self {
        let stats = Arc::new(CacheStats::default());
        // One capacity bounds both count and bytes: each entry weighs at least 1
        // and at least its share of the byte budget per entry slot.
        let bytes_per_slot = (config.max_bytes / config.max_entries.max(1)).max(1);
        let evicted = stats.clone();
        let entries = moka::sync::Cache::builder()
            .max_capacity(config.max_entries)
            .weigher(move |_key: &CacheKey, value: &Arc<CachedResult>| -> u32 {
                value
                    .bytes
                    .div_ceil(bytes_per_slot)
                    .clamp(1, u32::MAX as u64) as u32
            })
            .eviction_listener(move |_key, _value, cause| {
                if cause.was_evicted() {
                    evicted.evictions.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build();
        Self {
            entries,
            config,
            stats,
        }
    }

    pub fn enabled(&self) -> bool {
        self.config.max_entries > 0 && self.config.max_bytes > 0
    }

    /// The tables (and versions) `plan` reads, if its answer may be cached:
    /// it reads only Enishi's own tables, at least one, and calls no function
    /// whose result can change between calls.
    pub fn dependencies(plan: &LogicalPlan) -> Option<Dependencies> {
        let mut tables = Vec::new();
        let mut cacheable = true;
        let _ = plan.apply_with_subqueries(|node| {
            if let LogicalPlan::TableScan(scan) = node {
                // Only Enishi's own tables have versions; catalog and system
                // tables (pg_catalog, information_schema) change without one.
                match source_as_provider(&scan.source)
                    .ok()
                    .as_deref()
                    .and_then(<dyn TableProvider>::downcast_ref::<TableHandle>)
                {
                    Some(table) => tables.push((table.table_id(), table.version())),
                    None => cacheable = false,
                }
            }
            if cacheable {
                let _ = node.apply_expressions(|expr| {
                    if !deterministic(expr) {
                        cacheable = false;
                    }
                    Ok(TreeNodeRecursion::Continue)
                });
            }
            Ok(if cacheable {
                TreeNodeRecursion::Continue
            } else {
                TreeNodeRecursion::Stop
            })
        });
        (cacheable && !tables.is_empty()).then_some(tables)
    }

    /// The entry for `key` if it is still current: same catalog, and every
    /// table it read still at the version it read (after probing for commits).
    /// Counts hits; whether a failed lookup is a miss or a bypass is known
    /// only once the query is planned.
    pub async fn lookup(&self, key: &CacheKey, storage: &Storage) -> Option<Arc<CachedResult>> {
        let found = match self.entries.get(key) {
            Some(entry) if current(&entry, storage).await => Some(entry),
            Some(_) => {
                self.entries.invalidate(key);
                None
            }
            None => None,
        };
        if found.is_some() {
            self.stats.hits.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// The current entry for `key`, without counting a hit (for Describe).
    pub async fn peek(&self, key: &CacheKey, storage: &Storage) -> Option<Arc<CachedResult>> {
        let entry = self.entries.get(key)?;
        current(&entry, storage).await.then_some(entry)
    }

    /// Counts a cacheable query that had to run (a miss; see `lookup`).
    pub fn missed(&self) {
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
    }

    pub fn bypassed(&self) {
        self.stats.bypasses.fetch_add(1, Ordering::Relaxed);
    }

    /// A stream replaying a cached result.
    pub fn replay(result: &CachedResult) -> DfResult<SendableRecordBatchStream> {
        Ok(Box::pin(MemoryStream::try_new(
            result.batches.clone(),
            result.schema.clone(),
            None,
        )?))
    }

    /// Wraps a result stream so that, when it ends without error and stayed
    /// within the per-entry limit, its batches are stored under `key`.
    pub fn record(
        self: &Arc<Self>,
        key: CacheKey,
        source: Source,
        stream: SendableRecordBatchStream,
    ) -> SendableRecordBatchStream {
        Box::pin(Recording {
            schema: stream.schema(),
            inner: stream,
            cache: self.clone(),
            key: Some((key, source)),
            kept: Vec::new(),
            bytes: 0,
        })
    }

    /// Entries and bytes held now (moka's counts settle asynchronously).
    pub fn usage(&self) -> (u64, u64) {
        self.entries.run_pending_tasks();
        let bytes = self.entries.iter().map(|(_, v)| v.bytes).sum();
        (self.entries.entry_count(), bytes)
    }

    fn store(
        &self,
        key: CacheKey,
        source: Source,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
        bytes: u64,
    ) {
        let result = Arc::new(CachedResult {
            client_schema: source.client_schema,
            schema,
            batches,
            bytes,
            catalog_version: source.catalog_version,
            tables: source.tables,
        });
        self.entries.insert(key, result);
    }
}

/// What a result being recorded was computed from.
#[derive(Debug)]
pub struct Source {
    pub client_schema: SchemaRef,
    /// The catalog version read before the query was planned.
    pub catalog_version: u64,
    pub tables: Dependencies,
}

async fn current(entry: &CachedResult, storage: &Storage) -> bool {
    if storage.catalog_version() != entry.catalog_version {
        return false;
    }
    for (id, version) in &entry.tables {
        match storage.open_table(*id).await {
            Some(table) => {
                if table.refresh().await.is_err() || table.version().await != *version {
                    return false;
                }
            }
            None => return false,
        }
    }
    true
}

/// Whether an expression gives the same value every time for the same rows:
/// no volatile or stable functions (`random()`, `now()`, `current_user`, …).
fn deterministic(expr: &Expr) -> bool {
    let mut ok = true;
    let _ = expr.apply(|e| {
        let volatility = match e {
            Expr::ScalarFunction(f) => Some(f.func.signature().volatility),
            Expr::AggregateFunction(f) => Some(f.func.signature().volatility),
            Expr::WindowFunction(w) => Some(w.fun.signature().volatility),
            _ => None,
        };
        if volatility.is_some_and(|v| v != Volatility::Immutable) {
            ok = false;
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    ok
}

/// Passes batches through while keeping copies for the cache.
struct Recording {
    schema: SchemaRef,
    inner: SendableRecordBatchStream,
    cache: Arc<ResultCache>,
    /// None once the result is known not to be kept.
    key: Option<(CacheKey, Source)>,
    kept: Vec<RecordBatch>,
    bytes: u64,
}

impl Stream for Recording {
    type Item = DfResult<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let next = this.inner.as_mut().poll_next(cx);
        match &next {
            Poll::Ready(Some(Ok(batch))) if this.key.is_some() => {
                this.bytes += batch.get_array_memory_size() as u64;
                if this.bytes > this.cache.config.max_entry_bytes {
                    this.key = None;
                    this.kept.clear();
                    this.cache.stats.too_large.fetch_add(1, Ordering::Relaxed);
                } else {
                    this.kept.push(batch.clone());
                }
            }
            Poll::Ready(Some(Err(_))) => this.key = None,
            Poll::Ready(None) => {
                if let Some((key, source)) = this.key.take() {
                    let batches = std::mem::take(&mut this.kept);
                    this.cache
                        .store(key, source, this.schema.clone(), batches, this.bytes);
                }
            }
            _ => {}
        }
        next
    }
}

impl RecordBatchStream for Recording {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Output;
    use crate::{Engine, EngineConfig};
    use futures::TryStreamExt;

    async fn run(session: &mut crate::Session, sql: &str) -> usize {
        let stmt = crate::statement::parse(sql).unwrap().remove(0);
        match session.execute(&stmt, None).await.unwrap() {
            Output::Rows(rows) => {
                let batches: Vec<RecordBatch> = rows.stream.try_collect().await.unwrap();
                batches.iter().map(RecordBatch::num_rows).sum()
            }
            _ => 0,
        }
    }

    /// Each user has entries of its own: an answer computed for one role is
    /// never served to another, whatever their privileges.
    #[tokio::test]
    async fn users_do_not_share_entries() {
        let dir = std::env::temp_dir().join(format!("enishi-cache-users-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let storage = Storage::open(
            &enishi_storage::Location::Local(dir.clone()),
            Default::default(),
        )
        .await
        .unwrap();
        let engine = Engine::new(Arc::new(storage), EngineConfig::default()).unwrap();
        let open = |user: &str| {
            crate::Session::open(
                &engine,
                user,
                "postgres",
                crate::privileges::Principal::Superuser,
            )
            .unwrap()
        };
        let (mut admin, mut analyst) = (open("postgres"), open("analyst"));
        run(&mut admin, "create table t (x int)").await;
        run(&mut admin, "insert into t values (1), (2)").await;
        let stats = engine.cache().stats.clone();
        let q = "select x from t order by x";
        assert_eq!(run(&mut admin, q).await, 2);
        assert_eq!(run(&mut analyst, q).await, 2);
        assert_eq!(stats.hits.load(Ordering::Relaxed), 0);
        assert_eq!(stats.misses.load(Ordering::Relaxed), 2);
        run(&mut admin, q).await;
        run(&mut analyst, q).await;
        assert_eq!(stats.hits.load(Ordering::Relaxed), 2);
        std::fs::remove_dir_all(&dir).ok();
    }
}
