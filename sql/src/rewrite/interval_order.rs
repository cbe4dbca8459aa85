//! Intervals compare as PostgreSQL compares them: by their length, a month
//! counted as 30 days and a day as 24 hours (`'1 month' = '30 days'`,
//! `'1 month' < '31 days'`). Arrow compares months, then days, then the time.

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, Decimal128Array};
use datafusion::arrow::datatypes::{DataType, IntervalMonthDayNanoType, IntervalUnit};
use datafusion::common::Result as DfResult;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, ExprSchemable, LogicalPlan, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use datafusion::optimizer::AnalyzerRule;

const NANOS_PER_DAY: i128 = 86_400 * 1_000_000_000;

/// Replaces comparisons of two intervals, and ORDER BY an interval, with the
/// same over [`IntervalLength`].
#[derive(Debug, Default)]
pub struct IntervalOrder;

impl AnalyzerRule for IntervalOrder {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> DfResult<LogicalPlan> {
        let length = Arc::new(ScalarUDF::new_from_impl(IntervalLength::default()));
        let key = |e: Expr| Expr::ScalarFunction(ScalarFunction::new_udf(length.clone(), vec![e]));
        plan.transform_up_with_subqueries(|node| {
            let schema = super::input_schema(&node);
            let is_interval = |e: &Expr| {
                matches!(
                    e.get_type(&schema),
                    Ok(DataType::Interval(IntervalUnit::MonthDayNano))
                )
            };
            let sorts = matches!(node, LogicalPlan::Sort(_));
            let names = NamePreserver::new(&node);
            node.map_expressions(|expr| {
                // A Sort's expressions are its keys.
                if sorts && is_interval(&expr) {
                    return Ok(Transformed::yes(key(expr)));
                }
                let name = names.save(&expr);
                let rewritten = expr.transform_up(|e| match e {
                    Expr::BinaryExpr(BinaryExpr { left, op, right })
                        if super::is_comparison(op)
                            && is_interval(&left)
                            && is_interval(&right) =>
                    {
                        Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr {
                            left: Box::new(key(*left)),
                            op,
                            right: Box::new(key(*right)),
                        })))
                    }
                    other => Ok(Transformed::no(other)),
                })?;
                Ok(rewritten.update_data(|e| name.restore(e)))
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "enishi_interval_order"
    }
}

/// An interval's length in nanoseconds (a month is 30 days), as a 128-bit
/// number: the key PostgreSQL's interval comparison uses.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct IntervalLength {
    signature: Signature,
}

impl Default for IntervalLength {
    fn default() -> Self {
        IntervalLength {
            signature: Signature::exact(
                vec![DataType::Interval(IntervalUnit::MonthDayNano)],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for IntervalLength {
    fn name(&self) -> &str {
        "interval_length"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Decimal128(38, 0))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        let lengths: Decimal128Array = input
            .as_primitive::<IntervalMonthDayNanoType>()
            .iter()
            .map(|v| {
                v.map(|v| {
                    (i128::from(v.months) * 30 + i128::from(v.days)) * NANOS_PER_DAY
                        + i128::from(v.nanoseconds)
                })
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(
            lengths.with_precision_and_scale(38, 0)?,
        )))
    }
}
