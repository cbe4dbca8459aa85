//! The DataFusion face of a table: scans read the cached Delta snapshot; INSERT,
//! UPDATE, DELETE and TRUNCATE commit through [`Table`].
//!
//! DataFusion plans DML into these hooks; each returns a plan that does the write
//! when executed (never while planning, so EXPLAIN or Describe cannot write) and
//! yields the one-row `count` DataFusion expects.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use deltalake::arrow::array::{AsArray, RecordBatch};
use deltalake::arrow::datatypes::{DataType, SchemaRef, UInt64Type};
use deltalake::datafusion::catalog::{Session, TableProvider};
use deltalake::datafusion::common::tree_node::{Transformed, TreeNode};
use deltalake::datafusion::common::{Column, DataFusionError, Result};
use deltalake::datafusion::datasource::MemTable;
use deltalake::datafusion::datasource::TableType;
use deltalake::datafusion::datasource::sink::{DataSink, DataSinkExec};
use deltalake::datafusion::execution::context::SessionState;
use deltalake::datafusion::execution::{SendableRecordBatchStream, TaskContext};
use deltalake::datafusion::logical_expr::dml::InsertOp;
use deltalake::datafusion::logical_expr::utils::conjunction;
use deltalake::datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use deltalake::datafusion::physical_plan::collect;
use deltalake::datafusion::physical_plan::empty::EmptyExec;
use deltalake::datafusion::physical_plan::union::UnionExec;
use deltalake::datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan};
use futures::TryStreamExt;

use crate::StorageError;
use crate::catalog::PrimaryKey;
use crate::codec::Layout;
use crate::table::Table;
use crate::transaction::{Transaction, TransactionSlot, partitions_of};
use crate::unique::NewKeys;

/// NOT NULL, checked for rows a transaction keeps (Delta checks committed writes).
fn check_not_null(
    schema: &SchemaRef,
    batches: &[deltalake::arrow::array::RecordBatch],
) -> Result<()> {
    for batch in batches {
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            if !field.is_nullable() && column.null_count() > 0 {
                return Err(DataFusionError::External(Box::new(StorageError::NotNull(
                    field.name().clone(),
                ))));
            }
        }
    }
    Ok(())
}

/// A table as DataFusion sees it, pinned to the snapshot loaded when it was built.
pub struct TableHandle {
    table: Arc<Table>,
    snapshot: Arc<dyn TableProvider>,
    layout: Layout,
    version: Option<u64>,
    /// The declared keys (primary and unique), which writes keep unique.
    keys: Vec<PrimaryKey>,
}

impl fmt::Debug for TableHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableHandle")
            .field("table", &self.table)
            .finish()
    }
}

impl TableHandle {
    pub async fn new(table: Arc<Table>) -> std::result::Result<Self, crate::StorageError> {
        table.refresh().await?;
        let snapshot = table.snapshot().await?;
        Ok(Self {
            table,
            snapshot: snapshot.provider,
            layout: snapshot.layout,
            version: snapshot.version,
            keys: Vec::new(),
        })
    }

    /// The handle of a table with keys (primary first, then unique), which
    /// its writes check.
    pub fn with_keys(mut self, keys: Vec<PrimaryKey>) -> Self {
        self.keys = keys;
        self
    }

    /// Whether an UPDATE's assignments change a key column (then it runs on a
    /// copy whose keys are checked before it replaces the table).
    fn changes_key(&self, assignments: &[(String, Expr)]) -> bool {
        self.keys.iter().any(|key| {
            assignments.iter().any(|(column, value)| {
                key.columns.contains(column)
                    && !matches!(value, Expr::Column(c) if c.name == *column)
            })
        })
    }

    /// The table's id in the catalog.
    pub fn table_id(&self) -> u64 {
        self.table.id
    }

    /// The version of the snapshot this handle reads.
    pub fn version(&self) -> Option<u64> {
        self.version
    }

    /// Whether Delta cannot run a DELETE/UPDATE with these expressions itself:
    /// it records the predicate as text and cannot print `time` or `interval`
    /// constants, which reading a `time` or `interval` column brings in.
    fn needs_rewrite<'a>(&self, exprs: impl IntoIterator<Item = &'a Expr>) -> bool {
        let unprintable = |e: &Expr| match e {
            Expr::Column(c) => self.layout.codec_of(&c.name).is_some_and(|c| c.converts()),
            Expr::Literal(v, _) => matches!(
                v.data_type(),
                DataType::Time32(_)
                    | DataType::Time64(_)
                    | DataType::Interval(_)
                    | DataType::Duration(_)
            ),
            Expr::Cast(cast) => matches!(
                cast.field.data_type(),
                DataType::Time32(_)
                    | DataType::Time64(_)
                    | DataType::Interval(_)
                    | DataType::Duration(_)
            ),
            _ => false,
        };
        exprs
            .into_iter()
            .any(|e| e.exists(|e| Ok(unprintable(e))).unwrap_or(true))
    }

    /// The table's rows as the session's open transaction sees them. The
    /// transaction takes its private copy of the table (as an UPDATE in it
    /// would): the rows stay as read until [`Self::replace_transaction_rows`].
    pub async fn transaction_rows(&self, state: &dyn Session) -> Result<Vec<RecordBatch>> {
        let tx = Self::transaction(state)?;
        let copy = tx.rewrite(&self.table, &self.snapshot, state).await?;
        Ok(partitions_of(&copy).await.into_iter().flatten().collect())
    }

    /// Replaces the transaction's copy of the table with the rows it `kept`
    /// and the rows `added`, which are checked as written rows are (NOT
    /// NULL, each type's input rules); the keys are checked over all rows.
    pub async fn replace_transaction_rows(
        &self,
        state: &dyn Session,
        kept: Vec<RecordBatch>,
        added: Vec<RecordBatch>,
    ) -> Result<()> {
        let tx = Self::transaction(state)?;
        let to_df = |e: crate::StorageError| DataFusionError::External(Box::new(e));
        let schema = self.snapshot.schema();
        check_not_null(&schema, &added)?;
        let layout = Layout::from_logical(schema.clone());
        let added = added
            .iter()
            .map(|b| layout.check(b))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(to_df)?;
        let rows: Vec<RecordBatch> = kept.into_iter().chain(added).collect();
        if !self.keys.is_empty() {
            let mut keys = NewKeys::new(&self.keys, &schema, state).map_err(to_df)?;
            for batch in &rows {
                keys.add(batch).map_err(to_df)?;
            }
        }
        tx.replace(self.table.id, rows, state).await
    }

    fn transaction(state: &dyn Session) -> Result<Arc<Transaction>> {
        TransactionSlot::of(state)
            .ok_or_else(|| DataFusionError::Internal("this write needs a transaction".into()))
    }

    /// Runs `dml` (a DELETE or UPDATE planned by `change`) on a private copy
    /// of the table and replaces the table with the result in one commit,
    /// provided no one committed in between.
    async fn rewrite_plan<F>(
        &self,
        state: &dyn Session,
        change: F,
    ) -> Result<Arc<dyn ExecutionPlan>>
    where
        F: AsyncFnOnce(Arc<MemTable>) -> Result<Arc<dyn ExecutionPlan>>,
    {
        let tx = Arc::new(Transaction::default());
        let copy = tx.rewrite(&self.table, &self.snapshot, state).await?;
        let dml = change(copy).await?;
        self.write_plan(self.nothing(), Write::Rewrite(tx, dml), state)
    }

    fn session(state: &dyn Session) -> Result<Arc<dyn Session>> {
        let state = state
            .as_any()
            .downcast_ref::<SessionState>()
            .ok_or_else(|| DataFusionError::Internal("writes need a SessionState".into()))?;
        Ok(Arc::new(state.clone()))
    }

    fn write_plan(
        &self,
        input: Arc<dyn ExecutionPlan>,
        write: Write,
        state: &dyn Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let sink = WriteSink {
            table: self.table.clone(),
            write,
            session: Self::session(state)?,
            schema: self.snapshot.schema(),
            keys: self.keys.clone(),
        };
        Ok(Arc::new(DataSinkExec::new(input, Arc::new(sink), None)))
    }

    fn nothing(&self) -> Arc<dyn ExecutionPlan> {
        Arc::new(EmptyExec::new(self.snapshot.schema()))
    }
}

/// Column references in DML filters may carry the table's name; Delta resolves
/// them against its own unqualified schema.
fn unqualified(expr: Expr) -> Result<Expr> {
    expr.transform_up(|e| match e {
        Expr::Column(c) if c.relation.is_some() => Ok(Transformed::yes(Expr::Column(
            Column::new_unqualified(c.name),
        ))),
        other => Ok(Transformed::no(other)),
    })
    .map(|t| t.data)
}

fn predicate(filters: Vec<Expr>) -> Result<Option<Expr>> {
    let filters = filters
        .into_iter()
        .map(unqualified)
        .collect::<Result<Vec<_>>>()?;
    Ok(conjunction(filters))
}

#[async_trait]
impl TableProvider for TableHandle {
    fn schema(&self) -> SchemaRef {
        self.snapshot.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // Inside a transaction, the session sees its own uncommitted changes.
        if let Some(tx) = TransactionSlot::of(state) {
            if let Some(copy) = tx.rewritten(self.table.id).await {
                return copy.scan(state, projection, filters, limit).await;
            }
            if let Some(appended) = tx.appended(self.table.id).await? {
                let stored = self
                    .snapshot
                    .scan(state, projection, filters, limit)
                    .await?;
                let mine = appended.scan(state, projection, filters, limit).await?;
                return UnionExec::try_new(vec![stored, mine]);
            }
        }
        self.snapshot.scan(state, projection, filters, limit).await
    }

    /// Filters prune files, and are applied again above the scan: the
    /// snapshot calls a filter on partition columns alone exact, and so one
    /// on no column at all (`WHERE a = 1 AND NULL`'s `NULL`), which it then
    /// does not apply — every row passed.
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(self
            .snapshot
            .supports_filters_pushdown(filters)?
            .into_iter()
            .map(|support| match support {
                TableProviderFilterPushDown::Exact => TableProviderFilterPushDown::Inexact,
                other => other,
            })
            .collect())
    }

    async fn insert_into(
        &self,
        state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match op {
            InsertOp::Append => match TransactionSlot::of(state) {
                Some(tx) => self.write_plan(input, Write::TxAppend(tx), state),
                None => self.write_plan(input, Write::Append, state),
            },
            other => Err(DataFusionError::NotImplemented(format!(
                "INSERT {other} is not supported"
            ))),
        }
    }

    async fn delete_from(
        &self,
        state: &dyn Session,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if let Some(tx) = TransactionSlot::of(state) {
            let copy = tx.rewrite(&self.table, &self.snapshot, state).await?;
            return copy.delete_from(state, filters).await;
        }
        if self.needs_rewrite(&filters) {
            return self
                .rewrite_plan(state, async |copy| copy.delete_from(state, filters).await)
                .await;
        }
        self.write_plan(self.nothing(), Write::Delete(predicate(filters)?), state)
    }

    async fn update(
        &self,
        state: &dyn Session,
        assignments: Vec<(String, Expr)>,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if let Some(tx) = TransactionSlot::of(state) {
            let copy = tx.rewrite(&self.table, &self.snapshot, state).await?;
            let changes_key = self.changes_key(&assignments);
            let dml = copy.update(state, assignments, filters).await?;
            if changes_key {
                return self.write_plan(self.nothing(), Write::TxKeyUpdate(tx, dml), state);
            }
            return Ok(dml);
        }
        if self.changes_key(&assignments)
            || self.needs_rewrite(filters.iter().chain(assignments.iter().map(|(_, v)| v)))
        {
            return self
                .rewrite_plan(state, async |copy| {
                    copy.update(state, assignments, filters).await
                })
                .await;
        }
        let mut changed = Vec::new();
        for (column, value) in assignments {
            let value = unqualified(value)?;
            // DataFusion lists every column; those set to themselves are unchanged.
            if matches!(&value, Expr::Column(c) if c.name == column) {
                continue;
            }
            changed.push((column, value));
        }
        self.write_plan(
            self.nothing(),
            Write::Update(changed, predicate(filters)?),
            state,
        )
    }

    async fn truncate(&self, state: &dyn Session) -> Result<Arc<dyn ExecutionPlan>> {
        if let Some(tx) = TransactionSlot::of(state) {
            let copy = tx.rewrite(&self.table, &self.snapshot, state).await?;
            return copy.delete_from(state, vec![]).await;
        }
        self.write_plan(self.nothing(), Write::Delete(None), state)
    }
}

#[derive(Debug, Clone)]
enum Write {
    Append,
    /// Rows appended inside a transaction: kept by it until COMMIT.
    TxAppend(Arc<Transaction>),
    Delete(Option<Expr>),
    Update(Vec<(String, Expr)>, Option<Expr>),
    /// A DELETE/UPDATE run on a private copy, committed as an overwrite.
    Rewrite(Arc<Transaction>, Arc<dyn ExecutionPlan>),
    /// An UPDATE of key columns on a transaction's copy: run, and its keys
    /// checked (the transaction commits it, or fails).
    TxKeyUpdate(Arc<Transaction>, Arc<dyn ExecutionPlan>),
}

/// Performs one write when DataFusion executes the DML plan.
struct WriteSink {
    table: Arc<Table>,
    write: Write,
    session: Arc<dyn Session>,
    schema: SchemaRef,
    keys: Vec<PrimaryKey>,
}

impl WriteSink {
    /// The table's keys, none added yet.
    fn new_keys(&self) -> Result<NewKeys> {
        NewKeys::new(&self.keys, &self.schema, self.session.as_ref())
            .map_err(|e| DataFusionError::External(Box::new(e)))
    }

    /// Checks rows a transaction appends: against each other, the table as
    /// the transaction sees it (its copy, or the snapshot and its own rows).
    async fn check_tx_keys(&self, tx: &Transaction, batches: &[RecordBatch]) -> Result<()> {
        if self.keys.is_empty() {
            return Ok(());
        }
        let to_df = |e: crate::StorageError| DataFusionError::External(Box::new(e));
        let mut keys = self.new_keys()?;
        for batch in batches {
            keys.add(batch).map_err(to_df)?;
        }
        let mut existing: Vec<Arc<dyn TableProvider>> = Vec::new();
        match tx.rewritten(self.table.id).await {
            Some(copy) => existing.push(copy),
            None => {
                existing.push(self.table.snapshot().await.map_err(to_df)?.provider);
                if let Some(mine) = tx.appended(self.table.id).await? {
                    existing.push(mine);
                }
            }
        }
        for table in &existing {
            keys.check_against(table, self.session.as_ref())
                .await
                .map_err(to_df)?;
        }
        Ok(())
    }

    /// Checks the keys of a rewritten copy before it replaces the table.
    async fn check_copy_keys(&self, tx: &Transaction) -> Result<()> {
        if self.keys.is_empty() {
            return Ok(());
        }
        let Some(copy) = tx.rewritten(self.table.id).await else {
            return Ok(());
        };
        let to_df = |e: crate::StorageError| DataFusionError::External(Box::new(e));
        let mut keys = self.new_keys()?;
        let plan = copy.scan(self.session.as_ref(), None, &[], None).await?;
        let batches = collect(plan, self.session.task_ctx()).await?;
        for batch in &batches {
            keys.add(batch).map_err(to_df)?;
        }
        Ok(())
    }
}

impl fmt::Debug for WriteSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteSink")
            .field("table", &self.table)
            .field("write", &self.write)
            .finish()
    }
}

impl DisplayAs for WriteSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.write {
            Write::Append => "append",
            Write::TxAppend(_) => "append (transaction)",
            Write::Delete(_) => "delete",
            Write::Update(..) => "update",
            Write::Rewrite(..) => "rewrite",
            Write::TxKeyUpdate(..) => "key update (transaction)",
        };
        write!(f, "DeltaWrite: {what} table {}", self.table.id)
    }
}

#[async_trait]
impl DataSink for WriteSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(
        &self,
        data: SendableRecordBatchStream,
        context: &Arc<TaskContext>,
    ) -> Result<u64> {
        let to_df = |e: crate::StorageError| DataFusionError::External(Box::new(e));
        match &self.write {
            Write::Append => {
                let keys = match self.keys.is_empty() {
                    true => None,
                    false => Some(self.new_keys()?),
                };
                self.table
                    .append_stream(data, keys, self.session.clone())
                    .await
            }
            Write::TxAppend(tx) => {
                let batches: Vec<_> = data
                    .and_then(|batch| {
                        let held = tx.hold(std::slice::from_ref(&batch), self.session.as_ref());
                        futures::future::ready(held.map(|()| batch).map_err(to_df))
                    })
                    .try_collect()
                    .await?;
                check_not_null(&self.schema, &batches)?;
                let layout = Layout::from_logical(self.schema.clone());
                let batches = batches
                    .iter()
                    .map(|b| layout.check(b))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(to_df)?;
                self.check_tx_keys(tx, &batches).await?;
                tx.append(&self.table, self.schema.clone(), batches, self.keys.clone())
                    .await
                    .map_err(to_df)
            }
            Write::Delete(predicate) => self
                .table
                .delete(predicate.clone(), self.session.clone())
                .await
                .map_err(to_df),
            Write::Rewrite(tx, dml) | Write::TxKeyUpdate(tx, dml) => {
                let counts = collect(dml.clone(), context.clone()).await?;
                let changed = counts
                    .first()
                    .and_then(|b| b.column(0).as_primitive_opt::<UInt64Type>())
                    .map_or(0, |c| c.value(0));
                self.check_copy_keys(tx).await?;
                if matches!(self.write, Write::Rewrite(..)) {
                    tx.commit(self.session.clone()).await.map_err(to_df)?;
                }
                Ok(changed)
            }
            Write::Update(assignments, predicate) => self
                .table
                .update(assignments.clone(), predicate.clone(), self.session.clone())
                .await
                .map_err(to_df),
        }
    }
}
