//! Correlated subqueries DataFusion cannot turn into joins, run row by row.
//!
//! DataFusion decorrelates a LATERAL subquery whose outer references sit in
//! its WHERE clause (they become the join's condition), and a scalar
//! subquery correlated by equalities. PostgreSQL allows them anywhere: in
//! the select list (`LATERAL (SELECT x.a + 1)`), in VALUES, in a LIMIT'ed or
//! UNION'ed subquery, under OR (`WHERE e.dept = d.id OR d.id IS NULL`). Such
//! a plan is left with outer references the executor cannot evaluate;
//! [`LateralJoins`] and [`ScalarSubqueries`] turn it into a [`LateralApply`]
//! node, and [`ApplyExec`] runs it as PostgreSQL's nested loop does: for each
//! left row, the subquery with the row's values in place of its outer
//! references, planned and run, its rows joined to the left row (and, for a
//! LEFT join, the left row padded with nulls when none pass the ON
//! condition). Rows with the same outer values reuse one run.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, AsArray, RecordBatch, UInt32Array, new_null_array};
use datafusion::arrow::compute::{cast, concat_batches, filter_record_batch, take};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchemaRef, ScalarValue};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::{QueryPlanner, SessionState};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::logical_plan::build_join_schema;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::{
    Expr, Extension, Filter, Join, JoinType, LogicalPlan, Projection, SubqueryAlias,
    UserDefinedLogicalNode, UserDefinedLogicalNodeCore,
};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties, collect_partitioned,
};
use datafusion::physical_planner::{DefaultPhysicalPlanner, ExtensionPlanner, PhysicalPlanner};
use futures::StreamExt;

/// Plans queries with DataFusion's planner, the storage's write nodes and
/// [`LateralApply`].
#[derive(Debug)]
pub struct Planner;

#[async_trait]
impl QueryPlanner for Planner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session: &dyn Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        DefaultPhysicalPlanner::with_extension_planners(vec![
            deltalake::delta_datafusion::planner::DeltaExtensionPlanner::new(),
            Arc::new(ApplyPlanner),
        ])
        .create_physical_plan(logical_plan, session)
        .await
    }
}

/// The optimizer rule: runs right after DataFusion's own lateral
/// decorrelation and takes the joins it left correlated.
#[derive(Debug, Default)]
pub struct LateralJoins;

impl OptimizerRule for LateralJoins {
    fn name(&self) -> &str {
        "enishi_lateral_joins"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::TopDown)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Join(join) = plan else {
            return Ok(Transformed::no(plan));
        };
        let Some(right) = correlated_subquery(&join.right, join.left.schema())? else {
            return Ok(Transformed::no(LogicalPlan::Join(join)));
        };
        if !matches!(join.join_type, JoinType::Inner | JoinType::Left) {
            return Err(crate::error::lateral_join_type().into());
        }
        let Join {
            left,
            on,
            filter,
            join_type,
            schema,
            ..
        } = join;
        // Equality keys the planner split out are part of the condition.
        let condition = on
            .into_iter()
            .map(|(l, r)| l.eq(r))
            .chain(filter)
            .reduce(Expr::and);
        Ok(Transformed::yes(LogicalPlan::Extension(Extension {
            node: Arc::new(LateralApply {
                left: (*left).clone(),
                right,
                join_type,
                condition,
                schema,
            }),
        })))
    }
}

/// The optimizer rule for correlated scalar subqueries DataFusion leaves in a
/// select list or a WHERE clause (it decorrelates those whose correlation is
/// a conjunction of equalities): each becomes a LEFT [`LateralApply`] of the
/// node's input and the subquery, and the subquery's place a reference to
/// its one column. (A scalar subquery yields one row at most: the statement
/// rewrites read a non-aggregating one through `pg_single_value`.)
#[derive(Debug, Default)]
pub struct ScalarSubqueries;

impl OptimizerRule for ScalarSubqueries {
    fn name(&self) -> &str {
        "enishi_correlated_scalar_subqueries"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let input = match &plan {
            LogicalPlan::Projection(p) => p.input.clone(),
            LogicalPlan::Filter(f) => f.input.clone(),
            _ => return Ok(Transformed::no(plan)),
        };
        // The correlated scalar subqueries, each with the column it becomes.
        let mut applied = (*input).clone();
        let mut found: Vec<(Expr, Expr)> = Vec::new();
        for expr in plan.expressions() {
            expr.apply(|e| {
                if let Expr::ScalarSubquery(sq) = e
                    && !found.iter().any(|(f, _)| f == e)
                    && let Some(right) = correlated_subquery(&sq.subquery, applied.schema())?
                {
                    let alias = format!("__scalar_subquery_{}", found.len());
                    let right = LogicalPlan::SubqueryAlias(SubqueryAlias::try_new(
                        Arc::new(right),
                        alias.as_str(),
                    )?);
                    let field = right.schema().qualified_field(0);
                    let column = Expr::Column(Column::new(field.0.cloned(), field.1.name()));
                    let schema = Arc::new(build_join_schema(
                        applied.schema(),
                        right.schema(),
                        &JoinType::Left,
                    )?);
                    applied = LogicalPlan::Extension(Extension {
                        node: Arc::new(LateralApply {
                            left: applied.clone(),
                            right,
                            join_type: JoinType::Left,
                            condition: None,
                            schema,
                        }),
                    });
                    found.push((e.clone(), column));
                    return Ok(TreeNodeRecursion::Jump);
                }
                Ok(TreeNodeRecursion::Continue)
            })?;
        }
        if found.is_empty() {
            return Ok(Transformed::no(plan));
        }
        let replace = |expr: Expr| -> Result<Expr> {
            Ok(expr
                .transform_down(|e| match found.iter().find(|(f, _)| *f == e) {
                    Some((_, column)) => Ok(Transformed::new(
                        column.clone(),
                        true,
                        TreeNodeRecursion::Jump,
                    )),
                    None => Ok(Transformed::no(e)),
                })?
                .data)
        };
        let applied = Arc::new(applied);
        let rewritten = match plan {
            LogicalPlan::Projection(p) => {
                let names = NamePreserver::new_for_projection();
                let exprs = p
                    .expr
                    .into_iter()
                    .map(|e| {
                        let saved = names.save(&e);
                        Ok(saved.restore(replace(e)?))
                    })
                    .collect::<Result<Vec<_>>>()?;
                LogicalPlan::Projection(Projection::try_new(exprs, applied)?)
            }
            LogicalPlan::Filter(f) => {
                // The filter's rows without the subqueries' columns.
                let columns: Vec<Expr> = input
                    .schema()
                    .columns()
                    .into_iter()
                    .map(Expr::Column)
                    .collect();
                let filter = LogicalPlan::Filter(Filter::try_new(replace(f.predicate)?, applied)?);
                LogicalPlan::Projection(Projection::try_new(columns, Arc::new(filter))?)
            }
            other => other,
        };
        Ok(Transformed::yes(rewritten))
    }
}

/// The right side of a join when it refers to the left side's columns, with
/// the subquery nodes that mark where the references are taken out.
fn correlated_subquery(right: &LogicalPlan, left: &DFSchemaRef) -> Result<Option<LogicalPlan>> {
    let mut correlated = false;
    right.apply_with_subqueries(|plan| {
        plan.apply_expressions(|expr| {
            expr.apply(|e| {
                if let Expr::OuterReferenceColumn(_, column) = e
                    && left.has_column(column)
                {
                    correlated = true;
                    return Ok(TreeNodeRecursion::Stop);
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })?;
    if !correlated {
        return Ok(None);
    }
    let plan = right
        .clone()
        .transform_up(|plan| match plan {
            LogicalPlan::Subquery(sq) => Ok(Transformed::yes((*sq.subquery).clone())),
            other => Ok(Transformed::no(other)),
        })?
        .data;
    Ok(Some(plan))
}

/// A join whose right side is run once per left row (see the module's
/// documentation). Its schema is the join's: the left's columns, then the
/// right's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LateralApply {
    left: LogicalPlan,
    right: LogicalPlan,
    join_type: JoinType,
    condition: Option<Expr>,
    schema: DFSchemaRef,
}

/// Ordered by the left input; unordered where that alone would call two
/// different nodes equal.
impl PartialOrd for LateralApply {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.left
            .partial_cmp(&other.left)
            .filter(|order| order.is_ne() || self == other)
    }
}

impl UserDefinedLogicalNodeCore for LateralApply {
    fn name(&self) -> &str {
        "LateralApply"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.left]
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    /// None: the condition and the right side are evaluated over the join's
    /// own schema, not rewritten with the input.
    fn expressions(&self) -> Vec<Expr> {
        Vec::new()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "LateralApply: type={}", self.join_type)?;
        if let Some(condition) = &self.condition {
            write!(f, ", condition={condition}")?;
        }
        write!(f, ", subquery={}", self.right.display_indent())
    }

    fn with_exprs_and_inputs(
        &self,
        _exprs: Vec<Expr>,
        mut inputs: Vec<LogicalPlan>,
    ) -> Result<Self> {
        let left = inputs
            .pop()
            .ok_or_else(|| DataFusionError::Internal("LateralApply takes one input".into()))?;
        Ok(Self {
            left,
            ..self.clone()
        })
    }
}

struct ApplyPlanner;

#[async_trait]
impl ExtensionPlanner for ApplyPlanner {
    async fn plan_extension(
        &self,
        planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        _logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        session: &dyn Session,
        planning_ctx: &PhysicalPlanningContext,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(apply) = node.as_any().downcast_ref::<LateralApply>() else {
            return Ok(None);
        };
        let Some(state) = session.as_any().downcast_ref::<SessionState>() else {
            return Ok(None);
        };
        let condition = apply
            .condition
            .as_ref()
            .map(|c| planner.create_physical_expr(c, &apply.schema, session, planning_ctx))
            .transpose()?;
        // Each outer reference, by the position of its column on the left.
        let mut outer = Vec::new();
        apply.right.apply_with_subqueries(|plan| {
            plan.apply_expressions(|expr| {
                expr.apply(|e| {
                    if let Expr::OuterReferenceColumn(_, column) = e
                        && !outer.iter().any(|(c, _)| c == column)
                        && let Ok(index) = apply.left.schema().index_of_column(column)
                    {
                        outer.push((column.clone(), index));
                    }
                    Ok(TreeNodeRecursion::Continue)
                })
            })
        })?;
        let left = physical_inputs[0].clone();
        let schema: SchemaRef = Arc::new(apply.schema.as_arrow().clone());
        let properties = apply_properties(&left, &schema);
        Ok(Some(Arc::new(ApplyExec {
            left,
            right: apply.right.clone(),
            outer,
            join_type: apply.join_type,
            condition,
            schema,
            state: Arc::new(state.clone()),
            properties,
        })))
    }
}

/// One output partition per partition of the left side.
fn apply_properties(left: &Arc<dyn ExecutionPlan>, schema: &SchemaRef) -> Arc<PlanProperties> {
    Arc::new(PlanProperties::new(
        EquivalenceProperties::new(schema.clone()),
        Partitioning::UnknownPartitioning(left.properties().partitioning.partition_count()),
        EmissionType::Incremental,
        Boundedness::Bounded,
    ))
}

/// Runs [`LateralApply`]: one partition per partition of the left side.
#[derive(Debug)]
pub struct ApplyExec {
    left: Arc<dyn ExecutionPlan>,
    right: LogicalPlan,
    /// The left columns the right side refers to, with their positions.
    outer: Vec<(Column, usize)>,
    join_type: JoinType,
    condition: Option<Arc<dyn PhysicalExpr>>,
    schema: SchemaRef,
    state: Arc<SessionState>,
    properties: Arc<PlanProperties>,
}

impl DisplayAs for ApplyExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "LateralApplyExec: type={}", self.join_type)
    }
}

impl ExecutionPlan for ApplyExec {
    fn name(&self) -> &str {
        "LateralApplyExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.left]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        match &self.condition {
            Some(condition) => f(condition),
            None => Ok(TreeNodeRecursion::Continue),
        }
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let left = children
            .pop()
            .ok_or_else(|| DataFusionError::Internal("LateralApplyExec takes one input".into()))?;
        // The new input may have another number of partitions (the physical
        // optimizer repartitions inputs): each of them is read.
        Ok(Arc::new(ApplyExec {
            properties: apply_properties(&left, &self.schema),
            left,
            right: self.right.clone(),
            outer: self.outer.clone(),
            join_type: self.join_type,
            condition: self.condition.clone(),
            schema: self.schema.clone(),
            state: self.state.clone(),
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.left.execute(partition, context)?;
        let runner = Arc::new(Runner {
            right: self.right.clone(),
            outer: self.outer.clone(),
            join_type: self.join_type,
            condition: self.condition.clone(),
            schema: self.schema.clone(),
            state: self.state.clone(),
        });
        let stream =
            futures::stream::unfold((input, HashMap::new()), move |(mut input, mut memo)| {
                let runner = runner.clone();
                async move {
                    let batch = match input.next().await? {
                        Ok(batch) => runner.join(&batch, &mut memo).await,
                        Err(e) => Err(e),
                    };
                    Some((batch, (input, memo)))
                }
            });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            stream,
        )))
    }
}

/// The right side's rows for one set of outer values.
type Memo = HashMap<Vec<ScalarValue>, Vec<RecordBatch>>;

struct Runner {
    right: LogicalPlan,
    outer: Vec<(Column, usize)>,
    join_type: JoinType,
    condition: Option<Arc<dyn PhysicalExpr>>,
    schema: SchemaRef,
    state: Arc<SessionState>,
}

impl Runner {
    /// Joins every row of a left batch to its right side's rows.
    async fn join(&self, left: &RecordBatch, memo: &mut Memo) -> Result<RecordBatch> {
        let mut out = Vec::new();
        for row in 0..left.num_rows() {
            let key = self
                .outer
                .iter()
                .map(|(_, index)| ScalarValue::try_from_array(left.column(*index), row))
                .collect::<Result<Vec<_>>>()?;
            if !memo.contains_key(&key) {
                let rows = self.run(&key).await?;
                memo.insert(key.clone(), rows);
            }
            let mut matched = false;
            for right in &memo[&key] {
                let joined = self.combine(left, row, right)?;
                if joined.num_rows() > 0 {
                    matched = true;
                    out.push(joined);
                }
            }
            if !matched && self.join_type == JoinType::Left {
                out.push(self.padded(left, row)?);
            }
        }
        Ok(concat_batches(&self.schema, &out)?)
    }

    /// The right side, planned and run with `values` for its outer
    /// references.
    async fn run(&self, values: &[ScalarValue]) -> Result<Vec<RecordBatch>> {
        let plan = self
            .right
            .clone()
            .transform_up_with_subqueries(|plan| {
                let names = NamePreserver::new(&plan);
                plan.map_expressions(|expr| {
                    let saved = names.save(&expr);
                    let bound = expr.transform(|e| match e {
                        Expr::OuterReferenceColumn(field, column) => {
                            match self.outer.iter().position(|(c, _)| *c == column) {
                                Some(i) => Ok(Transformed::yes(Expr::Literal(
                                    values[i].cast_to(field.data_type())?,
                                    None,
                                ))),
                                None => {
                                    Ok(Transformed::no(Expr::OuterReferenceColumn(field, column)))
                                }
                            }
                        }
                        other => Ok(Transformed::no(other)),
                    })?;
                    Ok(bound.update_data(|e| saved.restore(e)))
                })
            })?
            .data;
        let physical = self.state.create_physical_plan(&plan).await?;
        // Partition by partition, in order: a UNION ALL's rows come in the
        // order of its branches, as in PostgreSQL's nested loop.
        Ok(collect_partitioned(physical, self.state.task_ctx())
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// The left row beside each row of `right`, kept where the condition holds.
    fn combine(&self, left: &RecordBatch, row: usize, right: &RecordBatch) -> Result<RecordBatch> {
        let n = right.num_rows();
        let indices = UInt32Array::from(vec![row as u32; n]);
        let mut columns: Vec<ArrayRef> = left
            .columns()
            .iter()
            .map(|c| take(c, &indices, None))
            .collect::<std::result::Result<_, _>>()?;
        let right_fields = &self.schema.fields()[left.num_columns()..];
        for (column, field) in right.columns().iter().zip(right_fields) {
            columns.push(if column.data_type() == field.data_type() {
                column.clone()
            } else {
                cast(column, field.data_type())?
            });
        }
        let joined = RecordBatch::try_new(self.schema.clone(), columns)?;
        match &self.condition {
            None => Ok(joined),
            Some(condition) => {
                let keep = condition.evaluate(&joined)?.into_array(n)?;
                Ok(filter_record_batch(&joined, keep.as_boolean())?)
            }
        }
    }

    /// The left row with nulls for the right side's columns (LEFT JOIN).
    fn padded(&self, left: &RecordBatch, row: usize) -> Result<RecordBatch> {
        let mut columns: Vec<ArrayRef> = left.columns().iter().map(|c| c.slice(row, 1)).collect();
        for field in &self.schema.fields()[left.num_columns()..] {
            columns.push(new_null_array(field.data_type(), 1));
        }
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}
