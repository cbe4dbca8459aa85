//! A UNION branch that can return no rows (`SELECT … WHERE false`) is
//! dropped by DataFusion's `propagate_empty_relation`, which then reads the
//! union's columns by name from the branch that is left, whose columns may
//! be named otherwise (`SELECT 1 AS x WHERE false UNION ALL VALUES (1)`: no
//! column `x` in the VALUES). psql's `\d` sends such a union for a table
//! with foreign keys. This rule runs just before it and names each branch's
//! columns as the union names them.

use super::*;
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

#[derive(Debug, Default)]
pub struct EmptyUnionBranches;

impl OptimizerRule for EmptyUnionBranches {
    fn name(&self) -> &str {
        "empty_union_branches"
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
    ) -> DfResult<Transformed<LogicalPlan>> {
        let LogicalPlan::Union(union) = plan else {
            return Ok(Transformed::no(plan));
        };
        let empty = |input: &LogicalPlan| returns_nothing(input);
        let named_alike = |input: &LogicalPlan| {
            input
                .schema()
                .iter()
                .zip(union.schema.iter())
                .all(|(a, b)| a.0 == b.0 && a.1.name() == b.1.name())
        };
        if !union.inputs.iter().any(|i| empty(i)) || union.inputs.iter().all(|i| named_alike(i)) {
            return Ok(Transformed::no(LogicalPlan::Union(union)));
        }
        let mut inputs = Vec::with_capacity(union.inputs.len());
        for input in union.inputs {
            if empty(&input) || named_alike(&input) {
                inputs.push(input);
                continue;
            }
            let exprs = input
                .schema()
                .iter()
                .zip(union.schema.iter())
                .map(|((qualifier, field), (union_qualifier, union_field))| {
                    Expr::Column(Column::from((qualifier, field)))
                        .alias_qualified(union_qualifier.cloned(), union_field.name())
                })
                .collect::<Vec<_>>();
            inputs.push(Arc::new(LogicalPlan::Projection(Projection::try_new(
                exprs, input,
            )?)));
        }
        Ok(Transformed::yes(LogicalPlan::Union(
            datafusion::logical_expr::Union {
                inputs,
                schema: union.schema,
            },
        )))
    }
}

/// Whether a plan is an empty relation under nodes that keep it empty, which
/// `propagate_empty_relation` folds away before it reaches the union.
fn returns_nothing(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::EmptyRelation(e) => !e.produce_one_row,
        LogicalPlan::Projection(_)
        | LogicalPlan::Filter(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::SubqueryAlias(_) => plan.inputs().iter().all(|i| returns_nothing(i)),
        _ => false,
    }
}
