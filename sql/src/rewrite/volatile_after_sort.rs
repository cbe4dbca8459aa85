//! A select list calling a volatile function (`nextval`, `random()`) under
//! ORDER BY … LIMIT is computed for the rows the limit keeps only, as
//! PostgreSQL computes it: DataFusion plans the select list below the sort,
//! so `SELECT nextval('s') FROM t ORDER BY k LIMIT 10` drew a value for every
//! row of `t` and handed out the first ten in the order the rows were read.
//! The sort is moved below the select list (its keys written in terms of the
//! select list's input), where the limit then reaches it.

use std::collections::HashMap;

use super::*;
use datafusion::logical_expr::{Projection, Sort, SortExpr};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

#[derive(Debug, Default)]
pub struct VolatileAfterSort;

impl OptimizerRule for VolatileAfterSort {
    fn name(&self) -> &str {
        "volatile_after_sort"
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
    ) -> DfResult<Transformed<LogicalPlan>> {
        let LogicalPlan::Sort(sort) = &plan else {
            return Ok(Transformed::no(plan));
        };
        let LogicalPlan::Projection(projection) = sort.input.as_ref() else {
            return Ok(Transformed::no(plan));
        };
        if !projection.expr.iter().any(Expr::is_volatile) {
            return Ok(Transformed::no(plan));
        }
        let mut outputs: HashMap<Column, Expr> = HashMap::new();
        for (expr, (qualifier, field)) in projection.expr.iter().zip(projection.schema.iter()) {
            let column = Column::new(qualifier.cloned(), field.name());
            outputs.insert(column, expr.clone().unalias());
        }
        let by_name = |name: &str| {
            let mut found = outputs.iter().filter(|(c, _)| c.name == name);
            match (found.next(), found.next()) {
                (Some((_, e)), None) => Some(e.clone()),
                _ => None,
            }
        };
        let mut keys = Vec::with_capacity(sort.expr.len());
        for key in &sort.expr {
            let expr = key
                .expr
                .clone()
                .transform(|e| {
                    let Expr::Column(c) = &e else {
                        return Ok(Transformed::no(e));
                    };
                    let output = match &c.relation {
                        Some(_) => outputs.get(c).cloned(),
                        None => by_name(&c.name),
                    };
                    Ok(match output {
                        Some(inner) => Transformed::yes(inner),
                        None => Transformed::no(e),
                    })
                })?
                .data;
            // A key that is itself volatile must be computed before sorting.
            if expr.is_volatile() {
                return Ok(Transformed::no(plan));
            }
            keys.push(SortExpr {
                expr,
                ..key.clone()
            });
        }
        let below = LogicalPlan::Sort(Sort {
            expr: keys,
            input: projection.input.clone(),
            fetch: sort.fetch,
        });
        let above = Projection::try_new_with_schema(
            projection.expr.clone(),
            Arc::new(below),
            projection.schema.clone(),
        )?;
        Ok(Transformed::yes(LogicalPlan::Projection(above)))
    }
}
