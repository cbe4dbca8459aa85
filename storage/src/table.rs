//! One table: a Delta table (Parquet files + transaction log) and its cached state.
//!
//! The loaded `DeltaTable` is kept in memory; a commit made here replaces it with
//! the table the commit returned, so reads after a write see it without reading the
//! log again. Writers to one table are serialized by a lock in this process;
//! across processes, Delta's create-if-absent commits arbitrate and a lost race
//! that cannot be retried surfaces as [`StorageError::Conflict`].

use std::sync::Arc;

use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::datatypes::{Schema, SchemaRef};
use deltalake::datafusion::catalog::{Session, TableProvider};
use deltalake::datafusion::common::DataFusionError;
use deltalake::datafusion::datasource::provider_as_source;
use deltalake::datafusion::execution::SendableRecordBatchStream;
use deltalake::datafusion::logical_expr::{Expr, LogicalPlanBuilder};
use deltalake::datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use deltalake::kernel::engine::arrow_conversion::{TryIntoArrow, TryIntoKernel};
use deltalake::kernel::{StructField, StructType};
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableBuilder, TableProperty};
use futures::StreamExt;
use object_store::ObjectStore;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deltalake::kernel::transaction::CommitProperties;
use tokio::sync::{Mutex, RwLock};
use url::Url;

use std::collections::HashMap;

use deltalake::parquet::basic::{Compression, ZstdLevel};
use deltalake::parquet::file::metadata::ParquetMetaDataReader;
use deltalake::parquet::file::properties::WriterProperties;
use std::sync::LazyLock;

use crate::StorageError;
use crate::codec::Decoded;
use crate::codec::Layout;

mod write;

pub struct Table {
    pub id: u64,
    url: Url,
    writing: Arc<TableSettings>,
    state: RwLock<DeltaTable>,
    /// Serializes this process's writers to the table (maintenance included).
    writer: Mutex<()>,
    /// Serializes this process's statements that read the table and then
    /// change it (upserts, UPDATE … RETURNING): run together, each would
    /// read the same version and all but one would fail at commit.
    statements: Arc<Mutex<()>>,
    /// The version last checkpointed by this process.
    checkpointed: AtomicU64,
    /// When `refresh` last probed the store.
    probed: std::sync::Mutex<Option<std::time::Instant>>,
}

/// Commit settings for writes made on behalf of a client: checkpoints and log
/// cleanup are left to background maintenance, never done inside a statement.
fn client_commit() -> CommitProperties {
    CommitProperties::default()
        .with_create_checkpoint(false)
        .with_cleanup_expired_logs(Some(false))
}

/// Commit settings for a write whose rows were checked against the version
/// it starts from (`checked`): such a commit may not land on a later version,
/// whose rows the check did not see.
fn commit_on(checked: bool) -> CommitProperties {
    if checked {
        client_commit().with_max_retries(0)
    } else {
        client_commit()
    }
}

/// How often a checked append is checked again and retried after another
/// server committed first.
const KEYED_ATTEMPTS: usize = 20;

/// Rows per Parquet row group. Row groups are the unit that min/max statistics,
/// bloom filters and parallel scans work on: at Parquet's default (1 Mi rows) a
/// million-row table is one group that nothing can skip or split.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// The settings scans read Parquet with. Filters are evaluated after the
/// columns are decoded, DataFusion's default. Delta's scan would otherwise
/// decode the filter columns first and build row selections from them: on
/// the TPC-H files that made Q4, Q6 and Q22 23–78% slower and Q7 and Q18
/// 13–25% faster, 17% slower overall (BENCHMARKS.md).
static SCAN_SESSION: LazyLock<Arc<deltalake::datafusion::execution::SessionState>> =
    LazyLock::new(|| {
        let mut config = deltalake::datafusion::prelude::SessionConfig::new();
        let parquet = &mut config.options_mut().execution.parquet;
        parquet.pushdown_filters = false;
        // As Delta's scan reads without a session; `Decoded` and the tables'
        // declared types expect it.
        parquet.schema_force_view_types = true;
        Arc::new(
            deltalake::datafusion::execution::SessionStateBuilder::new()
                .with_config(config)
                .build(),
        )
    });

/// One version of a table, as queries read it.
pub struct Snapshot {
    pub provider: Arc<dyn TableProvider>,
    pub layout: Layout,
    pub version: Option<u64>,
}

/// Settings every table shares: how data files are written, how much storage
/// may hold, how often to look for other servers' commits.
#[derive(Debug)]
pub struct TableSettings {
    pub properties: WriterProperties,
    /// Writes that would take the stored data past this many bytes fail.
    pub max_size_bytes: Option<u64>,
    /// Probe for commits by other servers at most this often (per table).
    pub probe_interval: Duration,
    /// The data bytes and files of each open table, by id.
    usage: std::sync::Mutex<HashMap<u64, (u64, u64)>>,
}

impl TableSettings {
    /// `compression`: ZSTD when true, none when false. `bloom_filter_bits`: the
    /// largest bloom filter written for each column of each row group (0: none;
    /// Parquet folds a filter down to what its values need), used by scans to
    /// skip row groups that cannot hold a value.
    pub fn new(compression: bool, bloom_filter_bits: u64, max_size_bytes: Option<u64>) -> Self {
        let mut properties = WriterProperties::builder()
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_compression(if compression {
                Compression::ZSTD(ZstdLevel::default())
            } else {
                Compression::UNCOMPRESSED
            });
        if bloom_filter_bits > 0 {
            properties = properties
                .set_bloom_filter_enabled(true)
                .set_bloom_filter_fpp(BLOOM_FPP)
                .set_bloom_filter_max_ndv(bloom_ndv(bloom_filter_bits));
        }
        Self {
            properties: properties.build(),
            max_size_bytes,
            probe_interval: Duration::ZERO,
            usage: Default::default(),
        }
    }

    pub fn with_probe_interval(mut self, interval: Duration) -> Self {
        self.probe_interval = interval;
        self
    }

    /// Bytes of data in the tables this process has open.
    pub fn used_bytes(&self) -> u64 {
        self.usage
            .lock()
            .expect("usage lock")
            .values()
            .map(|u| u.0)
            .sum()
    }

    /// Data files in the current versions of the tables this process has open.
    pub fn used_files(&self) -> u64 {
        self.usage
            .lock()
            .expect("usage lock")
            .values()
            .map(|u| u.1)
            .sum()
    }

    fn record(&self, table: u64, bytes: u64, files: u64) {
        self.usage
            .lock()
            .expect("usage lock")
            .insert(table, (bytes, files));
    }

    pub(crate) fn forget(&self, table: u64) {
        self.usage.lock().expect("usage lock").remove(&table);
    }

    /// Refuses a write of `bytes` more when it would exceed the limit.
    fn admit(&self, bytes: u64) -> Result<(), StorageError> {
        let Some(limit) = self.max_size_bytes else {
            return Ok(());
        };
        let used = self.used_bytes();
        if used.saturating_add(bytes) > limit {
            return Err(StorageError::DiskFull(format!(
                "could not write {bytes} bytes: storage holds {used} of its {limit}-byte limit (storage.max_size_gb)"
            )));
        }
        Ok(())
    }
}

impl Default for TableSettings {
    fn default() -> Self {
        Self::new(true, 0, None)
    }
}

/// False-positive rate of the bloom filters Enishi writes.
const BLOOM_FPP: f64 = 0.01;

/// The number of distinct values a bloom filter of `bits` bits holds at
/// [`BLOOM_FPP`] (inverting Parquet's sizing rule for split-block filters).
fn bloom_ndv(bits: u64) -> u64 {
    let per_value = -8.0 / (1.0 - BLOOM_FPP.powf(1.0 / 8.0)).ln();
    ((bits as f64 / per_value) as u64).max(1)
}

/// When background maintenance acts on a table.
#[derive(Debug, Clone)]
pub struct MaintenancePolicy {
    /// Compact when a table has at least this many data files.
    pub compact_min_files: usize,
    /// Write a checkpoint after this many commits since the last one.
    pub checkpoint_interval_commits: u64,
    /// Delete files no version references once they are this old.
    pub vacuum_retention_hours: u64,
}

impl Default for MaintenancePolicy {
    fn default() -> Self {
        Self {
            compact_min_files: 16,
            checkpoint_interval_commits: 10,
            vacuum_retention_hours: 168,
        }
    }
}

/// What one maintenance pass did to a table.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MaintenanceReport {
    pub files_compacted: u64,
    pub files_written: u64,
    pub checkpoint_version: Option<u64>,
    pub files_vacuumed: usize,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("id", &self.id)
            .field("url", &self.url.as_str())
            .finish()
    }
}

fn builder(url: &Url, store: &Arc<dyn ObjectStore>) -> Result<DeltaTableBuilder, StorageError> {
    Ok(DeltaTableBuilder::from_url(url.clone())?.with_storage_backend(store.clone(), url.clone()))
}

impl Table {
    /// Creates a new, empty Delta table at `url` with `schema` (field metadata, such
    /// as the declared PostgreSQL type, is stored in the table's schema).
    pub async fn create(
        id: u64,
        url: Url,
        store: &Arc<dyn ObjectStore>,
        schema: &Schema,
        writing: Arc<TableSettings>,
    ) -> Result<Self, StorageError> {
        let layout = Layout::from_logical(Arc::new(schema.clone()));
        let kernel: StructType = layout.stored().as_ref().try_into_kernel()?;
        let columns: Vec<StructField> = kernel.fields().cloned().collect();
        let delta = builder(&url, store)?
            .build()?
            .create()
            .with_table_name(format!("t{id}"))
            .with_columns(columns)
            // A DELETE/UPDATE must not fail because of a concurrent plain append.
            .with_configuration_property(TableProperty::IsolationLevel, Some("writeSerializable"))
            .with_save_mode(SaveMode::ErrorIfExists)
            .await?;
        writing.record(id, 0, 0);
        Ok(Self {
            id,
            url,
            writing,
            state: RwLock::new(delta),
            writer: Mutex::new(()),
            statements: Default::default(),
            checkpointed: AtomicU64::new(0),
            probed: Default::default(),
        })
    }

    /// Waits for this process's other read-then-change statements on the
    /// table to end; the guard lets the next one in.
    pub async fn lock_statement(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.statements.clone().lock_owned().await
    }

    /// Opens an existing table at its latest version.
    pub async fn open(
        id: u64,
        url: Url,
        store: &Arc<dyn ObjectStore>,
        writing: Arc<TableSettings>,
    ) -> Result<Self, StorageError> {
        let delta = builder(&url, store)?.load().await?;
        let checkpointed = AtomicU64::new(delta.version().unwrap_or(0));
        let table = Self {
            id,
            url,
            writing,
            state: RwLock::new(delta),
            writer: Mutex::new(()),
            statements: Default::default(),
            checkpointed,
            probed: Default::default(),
        };
        table.replace(None).await?;
        Ok(table)
    }

    /// Installs a newly committed state (None: keeps the current one) and
    /// records the table's size.
    async fn replace(&self, next: Option<DeltaTable>) -> Result<(), StorageError> {
        let mut state = self.state.write().await;
        if let Some(next) = next {
            *state = next;
        }
        let (mut bytes, mut files) = (0i64, 0u64);
        for file in state.snapshot()?.log_data().iter() {
            bytes += file.size();
            files += 1;
        }
        self.writing.record(self.id, bytes.max(0) as u64, files);
        Ok(())
    }

    /// Catches up with commits made by other servers sharing the storage: one
    /// probe for the next log entry (a stat on disk, a HEAD on S3); the log is
    /// read only when there is something new. Returns whether it moved.
    pub async fn refresh(&self) -> Result<bool, StorageError> {
        {
            let mut last = self.probed.lock().expect("probe lock");
            if last.is_some_and(|t| t.elapsed() < self.writing.probe_interval) {
                return Ok(false);
            }
            *last = Some(std::time::Instant::now());
        }
        let (store, next) = {
            let state = self.state.read().await;
            let Some(version) = state.version() else {
                return Ok(false);
            };
            let next =
                object_store::path::Path::from(format!("_delta_log/{:020}.json", version + 1));
            (state.object_store(), next)
        };
        match object_store::ObjectStoreExt::head(store.as_ref(), &next).await {
            Ok(_) => {}
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        self.state.write().await.update_state().await?;
        self.replace(None).await?;
        Ok(true)
    }

    /// Checks the table as stored, reading it afresh: its log loads, every data
    /// file the current version references exists with the recorded size, its
    /// Parquet footer reads, and its row count matches the log's. Returns the
    /// problems found (empty when healthy) and the number of rows.
    pub async fn verify(url: &Url, store: &Arc<dyn ObjectStore>) -> (Vec<String>, u64) {
        let delta = match builder(url, store) {
            Ok(b) => b.load().await.map_err(StorageError::from),
            Err(e) => Err(e),
        };
        let delta = match delta {
            Ok(d) => d,
            Err(e) => return (vec![format!("log unreadable: {e}")], 0),
        };
        let files: Vec<(object_store::path::Path, i64, Option<String>)> = match delta.snapshot() {
            Ok(snapshot) => snapshot
                .log_data()
                .iter()
                .map(|f| (f.object_store_path(), f.size(), f.stats()))
                .collect(),
            Err(e) => return (vec![format!("snapshot unreadable: {e}")], 0),
        };
        let table_store = delta.object_store();
        let mut problems = Vec::new();
        let mut rows = 0u64;
        for (path, size, stats) in files {
            let meta = match object_store::ObjectStoreExt::head(table_store.as_ref(), &path).await {
                Ok(meta) => meta,
                Err(e) => {
                    problems.push(format!("{path}: missing ({e})"));
                    continue;
                }
            };
            if meta.size != size as u64 {
                problems.push(format!(
                    "{path}: {} bytes, the log records {size}",
                    meta.size
                ));
                continue;
            }
            let footer_rows = match parquet_rows(table_store.as_ref(), &path, meta.size).await {
                Ok(rows) => rows,
                Err(e) => {
                    problems.push(format!("{path}: unreadable Parquet footer ({e})"));
                    continue;
                }
            };
            let logged = stats
                .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
                .and_then(|s| s.get("numRecords").and_then(serde_json::Value::as_u64));
            if let Some(logged) = logged
                && logged != footer_rows
            {
                problems.push(format!(
                    "{path}: {footer_rows} rows, the log records {logged}"
                ));
            }
            rows += footer_rows;
        }
        (problems, rows)
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The version of the loaded snapshot.
    pub async fn version(&self) -> Option<u64> {
        self.state.read().await.version()
    }

    /// The table's columns as queries see them, with their declared types.
    pub async fn schema(&self) -> Result<SchemaRef, StorageError> {
        Ok(self.layout().await?.logical().clone())
    }

    /// How the loaded snapshot stores the table's columns.
    pub async fn layout(&self) -> Result<Layout, StorageError> {
        let state = self.state.read().await;
        let kernel = state.snapshot()?.schema();
        let arrow: Schema = kernel.as_ref().try_into_arrow()?;
        Ok(Layout::from_stored(Arc::new(arrow)))
    }

    /// The loaded snapshot: a DataFusion provider over it (in the types queries
    /// see), its layout and its version, read together.
    pub async fn snapshot(&self) -> Result<Snapshot, StorageError> {
        let state = self.state.read().await.clone();
        Self::snapshot_of(&state).await
    }

    /// The rows of one version of the table, `state`.
    async fn snapshot_of(state: &DeltaTable) -> Result<Snapshot, StorageError> {
        let kernel = state.snapshot()?.schema();
        let arrow: Schema = kernel.as_ref().try_into_arrow()?;
        let layout = Layout::from_stored(Arc::new(arrow));
        let stored = state
            .table_provider()
            .with_session(SCAN_SESSION.clone())
            .await?;
        let provider: Arc<dyn TableProvider> = if layout.converts() {
            Arc::new(Decoded::new(stored, layout.clone()))
        } else {
            stored
        };
        Ok(Snapshot {
            provider,
            layout,
            version: state.version(),
        })
    }

    /// One pass of background maintenance: compact small files, checkpoint the
    /// log, and vacuum files no version needs. Holds the table's writer lock, so
    /// it never interleaves with this process's writes.
    pub async fn maintain(
        &self,
        policy: &MaintenancePolicy,
    ) -> Result<MaintenanceReport, StorageError> {
        let _writer = self.writer.lock().await;
        let mut report = MaintenanceReport::default();
        self.state.write().await.update_state().await?;
        let current = self.state.read().await.clone();
        let files = current.snapshot()?.log_data().num_files();
        if files >= policy.compact_min_files {
            let (next, metrics) = current
                .optimize()
                .with_writer_properties(self.writing.properties.clone())
                .with_commit_properties(client_commit())
                .await?;
            report.files_compacted = metrics.num_files_removed;
            report.files_written = metrics.num_files_added;
            self.replace(Some(next)).await?;
        }
        let current = self.state.read().await.clone();
        let version = current.version().unwrap_or(0);
        if version >= self.checkpointed.load(Ordering::Relaxed) + policy.checkpoint_interval_commits
        {
            deltalake::checkpoints::create_checkpoint(&current, None).await?;
            deltalake::checkpoints::cleanup_metadata(&current, None).await?;
            self.checkpointed.store(version, Ordering::Relaxed);
            report.checkpoint_version = Some(version);
        }
        if report.files_compacted > 0 {
            let retention = Duration::from_secs(policy.vacuum_retention_hours * 3600);
            let (next, metrics) = current
                .vacuum()
                .with_retention_period(chrono_duration(retention))
                .with_enforce_retention_duration(false)
                .with_commit_properties(client_commit())
                .await?;
            report.files_vacuumed = metrics.files_deleted.len();
            self.replace(Some(next)).await?;
        }
        Ok(report)
    }
}

/// The row count in a Parquet file's footer: `…metadata, length (4 bytes LE),
/// "PAR1"` at its end.
async fn parquet_rows(
    store: &dyn ObjectStore,
    path: &object_store::path::Path,
    size: u64,
) -> Result<u64, String> {
    use object_store::ObjectStoreExt;
    if size < 12 {
        return Err(format!("{size} bytes is too short"));
    }
    let tail = store
        .get_range(path, size - 8..size)
        .await
        .map_err(|e| e.to_string())?;
    if &tail[4..] != b"PAR1" {
        return Err("no Parquet magic at the end".into());
    }
    let length = u32::from_le_bytes(tail[..4].try_into().expect("4 bytes")) as u64;
    if length + 12 > size {
        return Err(format!("footer length {length} exceeds the file"));
    }
    let footer = store
        .get_range(path, size - 8 - length..size - 8)
        .await
        .map_err(|e| e.to_string())?;
    let metadata = ParquetMetaDataReader::decode_metadata(&footer).map_err(|e| e.to_string())?;
    Ok(metadata.file_metadata().num_rows().max(0) as u64)
}

/// What rows take in memory: more than their compressed Parquet files, so a
/// size check against it never lets a write past the limit.
/// `batch` with each column cast to `schema`'s type where they differ.
fn conform(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, DataFusionError> {
    if batch
        .schema()
        .fields()
        .iter()
        .zip(schema.fields())
        .all(|(a, b)| a.data_type() == b.data_type())
    {
        return Ok(RecordBatch::try_new(
            schema.clone(),
            batch.columns().to_vec(),
        )?);
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| deltalake::arrow::compute::cast(column, field.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

fn in_memory_bytes(batches: &[RecordBatch]) -> u64 {
    batches
        .iter()
        .map(|b| b.get_array_memory_size() as u64)
        .sum()
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
