//! UPDATE … RETURNING and DELETE … RETURNING: the statement runs on the
//! transaction's copy of the table, row by row known.
//!
//! DataFusion hands a table's UPDATE and DELETE hooks only a predicate and the
//! assignments, and gets back a count: which rows changed is never seen. So
//! these statements are run here instead, in the session's transaction (or
//! one of their own, see `transactions::atomically`):
//! 1. the transaction takes its private copy of the table, and each row of it
//!    is numbered;
//! 2. DataFusion's plan of the statement (its WHERE, and for UPDATE the new
//!    value of every column) runs over the numbered rows: every condition and
//!    assignment is evaluated once, and the rows it yields are the changed
//!    rows — their new values for UPDATE, the old ones for DELETE;
//! 3. the copy is replaced by the rows not changed, plus the new rows of an
//!    UPDATE (checked like any written row: NOT NULL, types, keys);
//! 4. RETURNING is evaluated over the changed rows.
//!
//! The transaction commits the copy as one overwrite of the table, refused
//! (40001) if another writer committed to it meanwhile.

use datafusion::arrow::array::BooleanArray;
use datafusion::arrow::compute::filter_record_batch;
use datafusion::common::Column;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::logical_expr::{Expr as PlanExpr, TableScanBuilder};
use enishi_storage::TableHandle;

use super::*;

/// The column that numbers the copy's rows while a statement runs over them.
pub(super) const ROW_NUMBER: &str = "__enishi_row";

/// An UPDATE or DELETE taken apart: the statement without its RETURNING
/// list, the list, and the target's alias (which the list may use).
struct Returning {
    plain: Statement,
    target: ObjectName,
    items: Vec<ast::SelectItem>,
    alias: Option<ast::Ident>,
    tag: &'static str,
}

impl Returning {
    fn of(stmt: &Statement) -> Result<Self> {
        let mut plain = stmt.clone();
        let target = |relation: Option<&ast::TableFactor>| match relation {
            Some(ast::TableFactor::Table { name, alias, .. }) => {
                Ok((name.clone(), alias.as_ref().map(|a| a.name.clone())))
            }
            _ => Err(Error::unsupported("RETURNING of a change to this relation")),
        };
        let (items, (target, alias), tag) = match &mut plain {
            Statement::Update(update) => (
                update.returning.take(),
                target(Some(&update.table.relation))?,
                "UPDATE",
            ),
            Statement::Delete(delete) => {
                let (ast::FromTable::WithFromKeyword(from) | ast::FromTable::WithoutKeyword(from)) =
                    &delete.from;
                let target = target(from.first().map(|f| &f.relation))?;
                (delete.returning.take(), target, "DELETE")
            }
            _ => {
                return Err(Error::Internal(
                    "RETURNING of a statement not UPDATE or DELETE".into(),
                ));
            }
        };
        Ok(Self {
            plain,
            target,
            items: items.unwrap_or_default(),
            alias,
            tag,
        })
    }
}

impl Session {
    /// The parameters and result columns of an UPDATE or DELETE … RETURNING.
    pub(super) async fn describe_returning(
        &self,
        stmt: &Statement,
        param_hints: &[Option<DataType>],
    ) -> Result<(Vec<Field>, Option<SchemaRef>)> {
        let Returning {
            plain,
            items,
            alias,
            ..
        } = Returning::of(stmt)?;
        let plan = self.plan(&DFStatement::Statement(Box::new(plain))).await?;
        let types = parameter_types(&plan, param_hints)?;
        let LogicalPlan::Dml(dml) = plan else {
            return Err(Error::Internal("RETURNING of a statement not DML".into()));
        };
        let (_ctx, plan) = self
            .returning_plan(&dml, &items, alias.as_ref(), vec![])
            .await?;
        Ok((types, Some(self.result_schema(&plan).await)))
    }

    /// UPDATE or DELETE with a RETURNING list.
    pub(super) async fn change_returning(
        &mut self,
        stmt: &Statement,
        params: Option<ParamValues>,
    ) -> Result<Output> {
        let Returning {
            plain,
            target,
            items,
            alias,
            tag,
        } = Returning::of(stmt)?;
        let plain = DFStatement::Statement(Box::new(plain));
        // The list is checked before anything changes.
        let LogicalPlan::Dml(planned) = self.plan_with(&plain, params.clone()).await? else {
            return Err(Error::Internal(
                "UPDATE or DELETE planned as a query".into(),
            ));
        };
        self.returning_plan(&planned, &items, alias.as_ref(), vec![])
            .await?;
        let mut attempt = 0;
        let (rows, dml) = loop {
            let own = self.begin_own_transaction();
            // Held until the transaction has committed.
            let (done, _turn) = match self.lock_target(own, &target).await {
                Ok(turn) => (
                    self.change_planned(&plain, params.clone(), !items.is_empty())
                        .await,
                    turn,
                ),
                Err(e) => (Err(e), None),
            };
            if let Some(done) = self.end_own_transaction(own, done, &mut attempt).await? {
                break done;
            }
        };
        let (ctx, plan) = self
            .returning_plan(&dml, &items, alias.as_ref(), rows)
            .await?;
        let schema = self.result_schema(&plan).await;
        let batches = ctx.execute_logical_plan(plan).await?.collect().await?;
        Ok(Output::Rows(rows_from_batches(schema, batches, tag)?))
    }

    /// Plans an UPDATE or DELETE and runs it ([`Self::change_rows`]); SELECT
    /// is needed too when the changed rows are `returned`, as in PostgreSQL.
    async fn change_planned(
        &self,
        stmt: &DFStatement,
        params: Option<ParamValues>,
        returned: bool,
    ) -> Result<(Vec<RecordBatch>, DmlStatement)> {
        let plan = self.plan_with(stmt, params).await?;
        let LogicalPlan::Dml(dml) = plan else {
            return Err(Error::Internal(format!(
                "DML planned as {}",
                plan.display()
            )));
        };
        if returned {
            self.require_target(&dml, Privilege::Select)?;
        }
        let rows = self.change_rows(&dml).await?;
        Ok((rows, dml))
    }

    /// Runs an UPDATE or DELETE plan on the transaction's copy of its table;
    /// returns the changed rows (new values for UPDATE, old for DELETE), in
    /// the schema of the plan's input.
    pub(super) async fn change_rows(&self, dml: &DmlStatement) -> Result<Vec<RecordBatch>> {
        let provider = datafusion::datasource::source_as_provider(&dml.target)?;
        let Some(table) = <dyn datafusion::datasource::TableProvider>::downcast_ref::<TableHandle>(
            provider.as_ref(),
        ) else {
            return Err(Error::FeatureNotSupported(format!(
                "cannot change rows of relation \"{}\"",
                dml.table_name.table()
            )));
        };
        let state = self.ctx.state();
        let copy = table.transaction_rows(&state).await?;
        let numbered = numbered(&provider.schema(), &copy)?;
        let total: usize = copy.iter().map(RecordBatch::num_rows).sum();
        let input = over_numbered(
            dml,
            Arc::new(MemTable::try_new(numbered[0].schema(), vec![numbered])?),
        )?;
        let changed = self
            .ctx
            .execute_logical_plan(input)
            .await?
            .collect()
            .await?;
        // A row matched more than once (through a join) changes once.
        let mut hit = vec![false; total];
        let mut rows = Vec::with_capacity(changed.len());
        let out_schema = dml.input.schema().inner().clone();
        for batch in changed {
            let width = batch.num_columns() - 1;
            let ids = batch
                .column(width)
                .as_any()
                .downcast_ref::<UInt64Array>()
                .ok_or_else(|| Error::Internal("row numbers lost".into()))?;
            let first: BooleanArray = ids
                .iter()
                .map(|id| {
                    let id = id.unwrap_or_default() as usize;
                    Some(!std::mem::replace(&mut hit[id], true))
                })
                .collect();
            let batch = filter_record_batch(&batch, &first)?;
            rows.push(RecordBatch::try_new(
                out_schema.clone(),
                batch.columns()[..width].to_vec(),
            )?);
        }
        let kept = untouched(copy, &hit)?;
        let added = match dml.op {
            WriteOp::Update => rows.clone(),
            _ => Vec::new(),
        };
        table.replace_transaction_rows(&state, kept, added).await?;
        Ok(rows)
    }
}

/// The rows of `copy` whose number (their position in it) is not `touched`.
pub(super) fn untouched(copy: Vec<RecordBatch>, touched: &[bool]) -> Result<Vec<RecordBatch>> {
    let mut kept = Vec::with_capacity(copy.len());
    let mut start = 0;
    for batch in copy {
        let keep: BooleanArray = touched[start..start + batch.num_rows()]
            .iter()
            .map(|t| Some(!t))
            .collect();
        start += batch.num_rows();
        kept.push(filter_record_batch(&batch, &keep)?);
    }
    Ok(kept)
}

/// The rows with a last column numbering them from 0.
pub(super) fn numbered(schema: &Schema, batches: &[RecordBatch]) -> Result<Vec<RecordBatch>> {
    let schema = numbered_schema(schema);
    let mut out = vec![RecordBatch::new_empty(schema.clone())];
    let mut next = 0u64;
    for batch in batches {
        let ids: UInt64Array = (next..next + batch.num_rows() as u64).collect();
        next += batch.num_rows() as u64;
        let mut columns = batch.columns().to_vec();
        columns.push(Arc::new(ids));
        out.push(RecordBatch::try_new(schema.clone(), columns)?);
    }
    Ok(out)
}

fn numbered_schema(schema: &Schema) -> SchemaRef {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(ROW_NUMBER, DataType::UInt64, false));
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// The DML plan's input, reading `rows` (the numbered copy) where it read the
/// target table, and yielding each row's number last.
fn over_numbered(dml: &DmlStatement, rows: Arc<MemTable>) -> Result<LogicalPlan> {
    let target = &dml.table_name;
    let input = Arc::unwrap_or_clone(dml.input.clone()).transform_up(|node| match node {
        LogicalPlan::TableScan(scan) if scan.table_name.resolved_eq(target) => {
            let scan = TableScanBuilder::new(scan.table_name, provider_as_source(rows.clone()))
                .with_filters(scan.filters)
                .with_fetch(scan.fetch)
                .build()?;
            Ok(Transformed::yes(LogicalPlan::TableScan(scan)))
        }
        node => {
            let exprs = node.expressions();
            let inputs = node.inputs().into_iter().cloned().collect();
            Ok(Transformed::yes(node.with_new_exprs(exprs, inputs)?))
        }
    })?;
    let input = input.data;
    if input.schema().has_column_with_unqualified_name(ROW_NUMBER)
        && !matches!(input, LogicalPlan::Projection(_))
    {
        return Ok(input);
    }
    let LogicalPlan::Projection(projection) = input else {
        return Err(Error::Internal(
            "an UPDATE's plan ends in its new values".into(),
        ));
    };
    let (qualifier, _) = projection
        .input
        .schema()
        .qualified_field_with_unqualified_name(ROW_NUMBER)?;
    let mut exprs = projection.expr;
    exprs.push(PlanExpr::Column(Column::new(
        qualifier.cloned(),
        ROW_NUMBER,
    )));
    Ok(LogicalPlanBuilder::from(projection.input)
        .project(exprs)?
        .build()?)
}
