//! Writes inside `BEGIN … COMMIT`: invisible to others until COMMIT, gone on
//! ROLLBACK, visible to the session that made them.
//!
//! A session's open transaction holds, per table it wrote:
//! - rows it appended, which its own scans read together with the table's
//!   snapshot (appends are the common case and need no copy of the table); or,
//!   once it updated or deleted, a private copy of the table's rows (a MemTable)
//!   that its scans and further DML use.
//!
//! COMMIT applies each table's changes in one Delta commit: an append, or, for a
//! rewritten table, an overwrite — refused with a serialization failure (40001)
//! if another writer committed to that table since the copy was taken. Each table
//! commits atomically; a transaction that wrote several tables commits them one
//! after another, so a crash during COMMIT can apply some tables and not others.
//!
//! What a transaction holds counts in the server's memory pool until it ends:
//! a transaction that would hold more than `performance.memory_limit` allows
//! fails with 53200 (and can be rolled back) instead of exhausting the server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::datatypes::SchemaRef;
use deltalake::datafusion::catalog::{Session, TableProvider};
use deltalake::datafusion::common::Result as DfResult;
use deltalake::datafusion::datasource::MemTable;
use deltalake::datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use deltalake::datafusion::physical_plan::collect;

use crate::catalog::PrimaryKey;
use crate::unique::NewKeys;
use crate::{StorageError, Table};

/// The transaction slot of one session, kept in its DataFusion config so table
/// providers (shared by all sessions) can find the session's own changes.
#[derive(Debug, Default)]
pub struct TransactionSlot {
    current: Mutex<Option<Arc<Transaction>>>,
}

impl TransactionSlot {
    pub fn begin(&self) {
        *self.current.lock().expect("tx lock") = Some(Arc::new(Transaction::default()));
    }

    /// Ends the transaction, returning it (to commit) or dropping it (rollback).
    pub fn take(&self) -> Option<Arc<Transaction>> {
        self.current.lock().expect("tx lock").take()
    }

    pub fn current(&self) -> Option<Arc<Transaction>> {
        self.current.lock().expect("tx lock").clone()
    }

    /// The open transaction of the session running `state`, if any.
    pub fn of(state: &dyn Session) -> Option<Arc<Transaction>> {
        state.config().get_extension::<TransactionSlot>()?.current()
    }
}

/// One table's uncommitted changes.
#[derive(Debug)]
struct Pending {
    table: Arc<Table>,
    schema: SchemaRef,
    /// The snapshot version the changes were made against.
    base_version: Option<u64>,
    appended: Vec<RecordBatch>,
    /// The table's keys (primary and unique), checked again against the
    /// table at COMMIT.
    keys: Vec<PrimaryKey>,
    /// Set once the transaction updated or deleted: the table's rows as this
    /// transaction sees them.
    rewritten: Option<Arc<MemTable>>,
}

#[derive(Debug, Default)]
pub struct Transaction {
    tables: tokio::sync::Mutex<HashMap<u64, Pending>>,
    /// The rows held, in the memory pool of the session that wrote them.
    memory: Mutex<Option<MemoryReservation>>,
}

impl Transaction {
    /// Counts `batches` as held by the transaction; fails when the memory
    /// pool has no room for them.
    pub fn hold(&self, batches: &[RecordBatch], session: &dyn Session) -> Result<(), StorageError> {
        let bytes: usize = batches.iter().map(RecordBatch::get_array_memory_size).sum();
        let mut memory = self.memory.lock().expect("tx memory lock");
        let memory = memory.get_or_insert_with(|| {
            MemoryConsumer::new("transaction").register(&session.runtime_env().memory_pool)
        });
        memory.try_grow(bytes).map_err(|_| {
            StorageError::OutOfMemory(format!(
                "no room for {} more bytes of this transaction within performance.memory_limit",
                bytes
            ))
        })
    }

    /// Records appended rows (already checked against the table's constraints).
    pub async fn append(
        &self,
        table: &Arc<Table>,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
        keys: Vec<PrimaryKey>,
    ) -> Result<u64, StorageError> {
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let mut tables = self.tables.lock().await;
        let pending = match tables.get_mut(&table.id) {
            Some(p) => p,
            None => {
                let base_version = table.version().await;
                tables.entry(table.id).or_insert(Pending {
                    table: table.clone(),
                    schema: schema.clone(),
                    base_version,
                    appended: Vec::new(),
                    keys,
                    rewritten: None,
                })
            }
        };
        match &pending.rewritten {
            Some(copy) => {
                let mut partitions = partitions_of(copy).await;
                partitions.push(conformed(&copy.schema(), batches)?);
                pending.rewritten = Some(Arc::new(MemTable::try_new(copy.schema(), partitions)?));
            }
            None => pending
                .appended
                .extend(conformed(&pending.schema, batches)?),
        }
        Ok(rows as u64)
    }

    /// Whether the transaction has changed anything yet.
    pub async fn has_changes(&self) -> bool {
        !self.tables.lock().await.is_empty()
    }

    /// Rows this transaction appended to a table it has not rewritten, for
    /// scans. Held rows that do not fit the table's schema fail the scan
    /// rather than go unseen.
    pub async fn appended(&self, table_id: u64) -> DfResult<Option<Arc<MemTable>>> {
        let tables = self.tables.lock().await;
        let Some(pending) = tables.get(&table_id) else {
            return Ok(None);
        };
        if pending.rewritten.is_some() || pending.appended.is_empty() {
            return Ok(None);
        }
        let table = MemTable::try_new(pending.schema.clone(), vec![pending.appended.clone()])?;
        Ok(Some(Arc::new(table)))
    }

    /// The private copy of a rewritten table, for scans and DML.
    pub async fn rewritten(&self, table_id: u64) -> Option<Arc<MemTable>> {
        self.tables.lock().await.get(&table_id)?.rewritten.clone()
    }

    /// Takes a private copy of the table (snapshot rows plus appended rows) so
    /// UPDATE and DELETE can run on it; returns the copy.
    pub async fn rewrite(
        &self,
        table: &Arc<Table>,
        snapshot: &Arc<dyn TableProvider>,
        state: &dyn Session,
    ) -> DfResult<Arc<MemTable>> {
        let mut tables = self.tables.lock().await;
        if let Some(copy) = tables.get(&table.id).and_then(|p| p.rewritten.clone()) {
            return Ok(copy);
        }
        let schema = snapshot.schema();
        let base_version = match tables.get(&table.id) {
            Some(p) => p.base_version,
            None => table.version().await,
        };
        let plan = snapshot.scan(state, None, &[], None).await?;
        let mut batches = collect(plan, state.task_ctx()).await?;
        self.hold(&batches, state)
            .map_err(|e| deltalake::datafusion::error::DataFusionError::External(Box::new(e)))?;
        if let Some(p) = tables.get(&table.id) {
            batches.extend(conformed(&schema, p.appended.clone())?);
        }
        let copy = Arc::new(MemTable::try_new(schema.clone(), vec![batches])?);
        tables.insert(
            table.id,
            Pending {
                table: table.clone(),
                schema,
                base_version,
                appended: Vec::new(),
                keys: Vec::new(),
                rewritten: Some(copy.clone()),
            },
        );
        Ok(copy)
    }

    /// Replaces the private copy of a table (taken by [`Self::rewrite`]) with
    /// `rows`, already checked against the table's constraints.
    pub async fn replace(
        &self,
        table_id: u64,
        rows: Vec<RecordBatch>,
        session: &dyn Session,
    ) -> DfResult<()> {
        use deltalake::datafusion::error::DataFusionError;
        let mut tables = self.tables.lock().await;
        let pending = tables
            .get_mut(&table_id)
            .filter(|p| p.rewritten.is_some())
            .ok_or_else(|| DataFusionError::Internal("no copy of the table to replace".into()))?;
        self.hold(&rows, session)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let schema = pending.schema.clone();
        let rows = conformed(&schema, rows)?;
        pending.rewritten = Some(Arc::new(MemTable::try_new(schema, vec![rows])?));
        Ok(())
    }

    /// Applies every table's changes. Keys appended are checked first against
    /// the tables as they are now (another session may have committed the
    /// same key since); a rewritten table is refused if anyone committed to it.
    pub async fn commit(&self, session: Arc<dyn Session>) -> Result<(), StorageError> {
        let tables = std::mem::take(&mut *self.tables.lock().await);
        // Every table's new keys are checked before any table commits (a
        // duplicate fails the whole COMMIT), and again as each one commits,
        // under its writer lock (a key another session committed meanwhile).
        let mut keys = HashMap::new();
        for (id, pending) in &tables {
            if pending.keys.is_empty() {
                continue;
            }
            if pending.rewritten.is_some() || pending.appended.is_empty() {
                continue;
            }
            let mut new = NewKeys::new(&pending.keys, &pending.schema, session.as_ref())?;
            for batch in &pending.appended {
                new.add(batch)?;
            }
            let current = pending.table.snapshot().await?.provider;
            new.check_against(&current, session.as_ref()).await?;
            keys.insert(*id, new);
        }
        for (id, pending) in tables {
            match pending.rewritten {
                Some(copy) => {
                    let batches: Vec<RecordBatch> =
                        partitions_of(&copy).await.into_iter().flatten().collect();
                    pending
                        .table
                        .overwrite(batches, pending.base_version, session.clone())
                        .await?;
                }
                None => {
                    pending
                        .table
                        .append_unique(pending.appended, keys.get(&id), session.clone())
                        .await?;
                }
            }
        }
        Ok(())
    }
}

/// A transaction's changes as they were when a savepoint was set: what
/// `ROLLBACK TO SAVEPOINT` goes back to.
#[derive(Debug)]
pub struct Savepoint {
    tables: HashMap<u64, Pending>,
}

impl Transaction {
    /// Sets a savepoint: a copy of every table's changes so far. Appended rows
    /// are shared (batches are immutable); a rewritten table's rows are copied
    /// as a list of batches, since later UPDATEs and DELETEs change the copy
    /// in place.
    pub async fn savepoint(&self) -> Result<Savepoint, StorageError> {
        let tables = self.tables.lock().await;
        Ok(Savepoint {
            tables: copy_tables(&tables).await?,
        })
    }

    /// Goes back to `savepoint`: what the transaction wrote since is gone. The
    /// savepoint stays usable (it may be rolled back to again).
    pub async fn roll_back_to(&self, savepoint: &Savepoint) -> Result<(), StorageError> {
        let copy = copy_tables(&savepoint.tables).await?;
        *self.tables.lock().await = copy;
        Ok(())
    }
}

async fn copy_tables(
    tables: &HashMap<u64, Pending>,
) -> Result<HashMap<u64, Pending>, StorageError> {
    let mut out = HashMap::with_capacity(tables.len());
    for (id, pending) in tables {
        let rewritten = match &pending.rewritten {
            Some(copy) => Some(Arc::new(MemTable::try_new(
                copy.schema(),
                partitions_of(copy).await,
            )?)),
            None => None,
        };
        out.insert(
            *id,
            Pending {
                table: pending.table.clone(),
                schema: pending.schema.clone(),
                base_version: pending.base_version,
                appended: pending.appended.clone(),
                keys: pending.keys.clone(),
                rewritten,
            },
        );
    }
    Ok(out)
}

/// Batches in the table's own schema: an INSERT's batches carry text as
/// Utf8 where the table's scan has Utf8View, and neither the field metadata
/// (`char(n)`'s length) nor the nullability the scan schema has, all of
/// which a MemTable refuses.
fn conformed(schema: &SchemaRef, batches: Vec<RecordBatch>) -> DfResult<Vec<RecordBatch>> {
    let arrow = |e| deltalake::datafusion::error::DataFusionError::ArrowError(Box::new(e), None);
    batches
        .into_iter()
        .map(|b| {
            let columns = b
                .columns()
                .iter()
                .zip(schema.fields())
                .map(|(c, f)| deltalake::arrow::compute::cast(c, f.data_type()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(arrow)?;
            RecordBatch::try_new(schema.clone(), columns).map_err(arrow)
        })
        .collect()
}

/// The current rows of a MemTable, partition by partition.
pub(crate) async fn partitions_of(table: &MemTable) -> Vec<Vec<RecordBatch>> {
    let mut out = Vec::with_capacity(table.batches.len());
    for partition in &table.batches {
        out.push(partition.read().await.clone());
    }
    out
}
