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

pub struct Table {
    pub id: u64,
    url: Url,
    writing: Arc<TableSettings>,
    state: RwLock<DeltaTable>,
    /// Serializes this process's writers to the table (maintenance included).
    writer: Mutex<()>,
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
            checkpointed: AtomicU64::new(0),
            probed: Default::default(),
        })
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

    /// Client rows in the form Delta stores (checked against the declared types).
    async fn stored(&self, batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>, StorageError> {
        let layout = self.layout().await?;
        // One schema for all: rows inserted by separate statements of a
        // transaction may differ in how a column was typed (a NULL literal, a view).
        batches
            .iter()
            .map(|b| {
                let batch = layout.store(b)?;
                conform(batch, layout.stored())
                    .map_err(|e| StorageError::InvalidText(e.to_string()))
            })
            .collect()
    }

    /// Appends rows in one commit; returns how many.
    pub async fn append(
        &self,
        batches: Vec<RecordBatch>,
        session: Arc<dyn Session>,
    ) -> Result<u64, StorageError> {
        self.append_unique(batches, None, session).await
    }

    /// Appends rows in one commit, after checking `keys` (the rows' primary
    /// keys) against the table as it is then. The check and the commit hold
    /// the table's writer lock together, and a checked commit lands only
    /// directly on the version it checked: when another server committed in
    /// between, the check runs again on the newer version. Of two writers
    /// adding one key, on one server or two, the second finds the first's
    /// row (23505).
    pub async fn append_unique(
        &self,
        batches: Vec<RecordBatch>,
        keys: Option<&crate::unique::NewKeys>,
        session: Arc<dyn Session>,
    ) -> Result<u64, StorageError> {
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        if rows == 0 {
            return Ok(0);
        }
        let _writer = self.writer.lock().await;
        let batches = self.stored(batches).await?;
        self.writing.admit(in_memory_bytes(&batches))?;
        if keys.is_some() {
            // Another server's commits, if it is known there are some, are
            // better seen before the rows are written than after.
            self.refresh().await?;
        }
        let mut attempts = 0;
        loop {
            let current = self.state.read().await.clone();
            if let Some(keys) = keys {
                let base = Self::snapshot_of(&current).await?.provider;
                keys.check_against(&base, session.as_ref()).await?;
            }
            let written = current
                .write(batches.clone())
                .with_save_mode(SaveMode::Append)
                .with_writer_properties(self.writing.properties.clone())
                .with_session_state(session.clone())
                .with_commit_properties(commit_on(keys.is_some()))
                .await
                .map_err(StorageError::from);
            match written {
                Ok(next) => {
                    self.replace(Some(next)).await?;
                    return Ok(rows as u64);
                }
                Err(StorageError::Conflict(_)) if keys.is_some() && attempts < KEYED_ATTEMPTS => {
                    attempts += 1;
                    self.state.write().await.update_state().await?;
                    self.replace(None).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Appends the rows of a stream in one commit, writing data files as the
    /// rows arrive (memory stays bounded whatever the stream's length); returns
    /// how many. A bad row or the size limit fails the whole append, and
    /// nothing of it becomes visible.
    ///
    /// With `keys`, the rows' primary keys are checked when the rows end,
    /// against the version the append commits on; the commit lands only
    /// directly on that version (another server's commit in between fails
    /// it with 40001: the rows cannot be read again to check once more).
    pub async fn append_stream(
        &self,
        data: SendableRecordBatchStream,
        keys: Option<crate::unique::NewKeys>,
        session: Arc<dyn Session>,
    ) -> Result<u64, DataFusionError> {
        let storage_error = |e: StorageError| DataFusionError::External(Box::new(e));
        let _writer = self.writer.lock().await;
        let keyed = keys.is_some();
        let data = match keys {
            Some(keys) => {
                // Check against the newest version there is.
                self.state
                    .write()
                    .await
                    .update_state()
                    .await
                    .map_err(|e| storage_error(e.into()))?;
                self.replace(None).await.map_err(storage_error)?;
                let current = self.state.read().await.clone();
                let base = Self::snapshot_of(&current)
                    .await
                    .map_err(storage_error)?
                    .provider;
                keys.checked(data, base, session.clone())
            }
            None => data,
        };
        let layout = self.layout().await.map_err(storage_error)?;
        let rows = Arc::new(AtomicU64::new(0));
        // The first error of the input, as it was: Delta reports errors from
        // its input as text, which would lose their SQLSTATE.
        let failure: Arc<std::sync::Mutex<Option<DataFusionError>>> = Arc::default();
        let schema = layout.stored().clone();
        let stored = {
            let rows = rows.clone();
            let writing = self.writing.clone();
            let schema = schema.clone();
            let failure = failure.clone();
            let mut bytes = 0u64;
            data.map(move |batch| {
                let to_df = crate::codec::to_datafusion;
                let stored = batch.and_then(|batch| {
                    for (field, column) in schema.fields().iter().zip(batch.columns()) {
                        if !field.is_nullable() && column.null_count() > 0 {
                            return Err(to_df(StorageError::NotNull(field.name().clone())));
                        }
                    }
                    let batch = layout.store(&batch).map_err(to_df)?;
                    // One type per column for the writer (inputs may carry views).
                    let batch = conform(batch, &schema)?;
                    bytes += in_memory_bytes(std::slice::from_ref(&batch));
                    writing.admit(bytes).map_err(to_df)?;
                    rows.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
                    Ok(batch)
                });
                stored.map_err(|e| {
                    let text = e.to_string();
                    failure.lock().expect("failure lock").get_or_insert(e);
                    DataFusionError::Execution(text)
                })
            })
        };
        let stored = Box::pin(RecordBatchStreamAdapter::new(schema, stored));
        let input = LogicalPlanBuilder::scan(
            "input",
            provider_as_source(Arc::new(crate::stream::once(stored)?)),
            None,
        )?
        .build()?;
        let current = self.state.read().await.clone();
        let written = current
            .write(Vec::new())
            .with_input_plan(input)
            .with_save_mode(SaveMode::Append)
            .with_writer_properties(self.writing.properties.clone())
            .with_session_state(session)
            .with_commit_properties(commit_on(keyed))
            .await;
        let next = match written {
            Ok(next) => next,
            Err(e) => {
                return Err(match failure.lock().expect("failure lock").take() {
                    Some(original) => original,
                    None => storage_error(e.into()),
                });
            }
        };
        self.replace(Some(next)).await.map_err(storage_error)?;
        Ok(rows.load(Ordering::Relaxed))
    }

    /// Replaces the table's rows in one commit, provided no one committed since
    /// `base_version` (else a serialization failure).
    pub async fn overwrite(
        &self,
        batches: Vec<RecordBatch>,
        base_version: Option<u64>,
        session: Arc<dyn Session>,
    ) -> Result<u64, StorageError> {
        let _writer = self.writer.lock().await;
        self.state.write().await.update_state().await?;
        let current = self.state.read().await.clone();
        if current.version() != base_version {
            return Err(StorageError::Conflict(format!(
                "table changed by another transaction (version {:?}, expected {:?})",
                current.version(),
                base_version
            )));
        }
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let batches = self.stored(batches).await?;
        // The old files stay referenced by older versions until vacuumed, so
        // the new rows count in full.
        self.writing.admit(in_memory_bytes(&batches))?;
        let next = if rows == 0 {
            current
                .delete()
                .with_session_state(session)
                .with_commit_properties(client_commit())
                .await?
                .0
        } else {
            current
                .write(batches)
                .with_save_mode(SaveMode::Overwrite)
                .with_writer_properties(self.writing.properties.clone())
                .with_session_state(session)
                .with_commit_properties(client_commit())
                .await?
        };
        self.replace(Some(next)).await?;
        Ok(rows as u64)
    }

    /// Adds a nullable column (existing rows read NULL for it).
    pub async fn add_column(
        &self,
        field: deltalake::arrow::datatypes::Field,
    ) -> Result<(), StorageError> {
        let _writer = self.writer.lock().await;
        let one = Layout::from_logical(Arc::new(Schema::new(vec![field])));
        let kernel: StructType = one.stored().as_ref().try_into_kernel()?;
        let current = self.state.read().await.clone();
        let next = current
            .add_columns()
            .with_fields(kernel.fields().cloned().collect::<Vec<_>>())
            .with_commit_properties(client_commit())
            .await?;
        self.replace(Some(next)).await?;
        Ok(())
    }

    /// Renames a column. Without Delta's column mapping the data files name
    /// their columns, so the table is rewritten under the new schema in one
    /// commit (readers see the old or the new table, never a mix).
    pub async fn rename_column(
        &self,
        from: &str,
        to: &str,
        session: Arc<dyn Session>,
    ) -> Result<(), StorageError> {
        let _writer = self.writer.lock().await;
        self.state.write().await.update_state().await?;
        let current = self.state.read().await.clone();
        let stored = self.layout().await?.stored().clone();
        let renamed = Arc::new(Schema::new_with_metadata(
            stored
                .fields()
                .iter()
                .map(|f| match f.name() == from {
                    true => f.as_ref().clone().with_name(to),
                    false => f.as_ref().clone(),
                })
                .collect::<Vec<_>>(),
            stored.metadata().clone(),
        ));
        let plan = current
            .table_provider()
            .await?
            .scan(session.as_ref(), None, &[], None)
            .await?;
        let batches =
            deltalake::datafusion::physical_plan::collect(plan, session.task_ctx()).await?;
        let mut renamed_batches = Vec::with_capacity(batches.len().max(1));
        for batch in batches {
            // Scans may produce view types; write what the schema declares.
            let columns = batch
                .columns()
                .iter()
                .zip(renamed.fields())
                .map(|(c, f)| deltalake::arrow::compute::cast(c, f.data_type()))
                .collect::<Result<Vec<_>, _>>()?;
            renamed_batches.push(RecordBatch::try_new(renamed.clone(), columns)?);
        }
        if renamed_batches.is_empty() {
            renamed_batches.push(RecordBatch::new_empty(renamed.clone()));
        }
        let next = current
            .write(renamed_batches)
            .with_save_mode(SaveMode::Overwrite)
            .with_schema_mode(SchemaMode::Overwrite)
            .with_writer_properties(self.writing.properties.clone())
            .with_session_state(session)
            .with_commit_properties(client_commit())
            .await?;
        self.replace(Some(next)).await
    }

    /// Deletes the rows matching `predicate` (all rows when None); returns how many.
    pub async fn delete(
        &self,
        predicate: Option<Expr>,
        session: Arc<dyn Session>,
    ) -> Result<u64, StorageError> {
        let _writer = self.writer.lock().await;
        let current = self.state.read().await.clone();
        let mut builder = current
            .delete()
            .with_writer_properties(self.writing.properties.clone())
            .with_session_state(session)
            .with_commit_properties(client_commit());
        if let Some(predicate) = predicate {
            builder = builder.with_predicate(predicate);
        }
        let (next, metrics) = builder.await?;
        self.replace(Some(next)).await?;
        Ok(metrics.num_deleted_rows.unwrap_or(0) as u64)
    }

    /// Sets columns to expressions in the rows matching `predicate`; returns how many.
    pub async fn update(
        &self,
        assignments: Vec<(String, Expr)>,
        predicate: Option<Expr>,
        session: Arc<dyn Session>,
    ) -> Result<u64, StorageError> {
        let _writer = self.writer.lock().await;
        let layout = self.layout().await?;
        let current = self.state.read().await.clone();
        let mut builder = current
            .update()
            .with_writer_properties(self.writing.properties.clone())
            .with_session_state(session)
            .with_commit_properties(client_commit());
        if let Some(predicate) = predicate {
            builder = builder.with_predicate(predicate);
        }
        for (column, value) in assignments {
            let value = layout.stored_value(&column, value);
            builder = builder.with_update(column, value);
        }
        let (next, metrics) = builder.await?;
        self.replace(Some(next)).await?;
        Ok(metrics.num_updated_rows as u64)
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
