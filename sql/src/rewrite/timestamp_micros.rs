//! Comparisons of timestamps in microseconds, PostgreSQL's resolution.
//!
//! DataFusion compares a stored timestamp column (microseconds) with text or
//! a nanosecond value by casting the column to nanoseconds, which hold only
//! 1677 to 2262: a table holding an older date, a BC year or an infinity
//! failed the whole query. Such comparisons (`=`, `<`, …, `BETWEEN`, `IN`)
//! are made in microseconds instead. A microsecond timestamp plus or minus
//! an interval keeps its infinities, as PostgreSQL's does.

use datafusion::common::DFSchema;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr::{Between, InList};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{
    BinaryExpr, Cast, Expr, ExprSchemable, LogicalPlan, Operator, ScalarUDF,
};
use datafusion::optimizer::AnalyzerRule;

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, TimeUnit};

use crate::functions::TimestampShift;

#[derive(Debug, Default)]
pub struct TimestampMicros;

impl AnalyzerRule for TimestampMicros {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> DfResult<LogicalPlan> {
        let shifts = [false, true]
            .map(|subtract| Arc::new(ScalarUDF::new_from_impl(TimestampShift::new(subtract))));
        plan.transform_up_with_subqueries(|node| {
            let schema = super::input_schema(&node);
            let names = NamePreserver::new(&node);
            node.map_expressions(|expr| {
                let name = names.save(&expr);
                let rewritten = expr.transform_up(|e| {
                    let widened = |e: &Expr| {
                        matches!(e, Expr::Cast(Cast { expr, field })
                        if matches!(field.data_type(), DataType::Timestamp(TimeUnit::Nanosecond, _))
                            && matches!(
                                expr.get_type(&schema),
                                Ok(DataType::Timestamp(TimeUnit::Microsecond, _) | DataType::Date32)
                            ))
                    };
                    let moved = |left: &Expr, right: &Expr| {
                        matches!(
                            left.get_type(&schema),
                            Ok(DataType::Timestamp(TimeUnit::Microsecond, _))
                        ) && matches!(right.get_type(&schema), Ok(DataType::Interval(_)))
                    };
                    Ok(match e {
                        Expr::BinaryExpr(BinaryExpr { left, op, right })
                            if matches!(op, Operator::Plus | Operator::Minus)
                                && moved(&left, &right) =>
                        {
                            let shift = &shifts[usize::from(op == Operator::Minus)];
                            Transformed::yes(Expr::ScalarFunction(ScalarFunction::new_udf(
                                shift.clone(),
                                vec![*left, *right],
                            )))
                        }
                        Expr::BinaryExpr(BinaryExpr { left, op, right })
                            if op.supports_propagation() && (widened(&left) || widened(&right)) =>
                        {
                            Transformed::yes(Expr::BinaryExpr(BinaryExpr {
                                left: Box::new(in_micros(*left, &schema)),
                                op,
                                right: Box::new(in_micros(*right, &schema)),
                            }))
                        }
                        Expr::Between(Between {
                            expr,
                            negated,
                            low,
                            high,
                        }) if widened(&expr) || widened(&low) || widened(&high) => {
                            Transformed::yes(Expr::Between(Between {
                                expr: Box::new(in_micros(*expr, &schema)),
                                negated,
                                low: Box::new(in_micros(*low, &schema)),
                                high: Box::new(in_micros(*high, &schema)),
                            }))
                        }
                        Expr::InList(InList {
                            expr,
                            list,
                            negated,
                        }) if widened(&expr) || list.iter().any(widened) => {
                            Transformed::yes(Expr::InList(InList {
                                expr: Box::new(in_micros(*expr, &schema)),
                                list: list.into_iter().map(|e| in_micros(e, &schema)).collect(),
                                negated,
                            }))
                        }
                        other => Transformed::no(other),
                    })
                })?;
                Ok(rewritten.update_data(|e| name.restore(e)))
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "timestamp_micros"
    }
}

/// A nanosecond timestamp operand as microseconds: a cast to nanoseconds
/// becomes a cast to microseconds, another nanosecond value is cast.
fn in_micros(e: Expr, schema: &DFSchema) -> Expr {
    let micros = |zone: &Option<std::sync::Arc<str>>| {
        DataType::Timestamp(TimeUnit::Microsecond, zone.clone())
    };
    match e {
        Expr::Cast(Cast { expr, field }) => match field.data_type() {
            DataType::Timestamp(TimeUnit::Nanosecond, zone) => {
                Expr::Cast(Cast::new(expr, micros(zone)))
            }
            _ => Expr::Cast(Cast { expr, field }),
        },
        other => match other.get_type(schema) {
            Ok(DataType::Timestamp(TimeUnit::Nanosecond, zone)) => {
                Expr::Cast(Cast::new(Box::new(other), micros(&zone)))
            }
            _ => other,
        },
    }
}
