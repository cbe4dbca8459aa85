//! Keeps numeric's NaN and infinities (stored past a decimal's finite range,
//! see `functions::numeric`) from being read as numbers: casts that must
//! carry them across become `numeric_cast`, and every other function,
//! aggregate or operator that would read a decimal's digits gets its decimal
//! arguments through `numeric_finite`, which refuses them. Comparisons,
//! sorting, grouping, `min`, `max`, `coalesce` and the like need nothing.

use super::*;

use datafusion::logical_expr::expr::TryCast;
use datafusion::logical_expr::{BinaryExpr, Operator};

use crate::functions::numeric::{self, Finite, NumericCast, Refusal};

/// Functions that pass a value through, compare it, or are numeric-aware.
const PASSING: &[&str] = &[
    numeric::FINITE,
    numeric::NUMERIC_CAST,
    numeric::NUMERIC_IN,
    text_output::TEXT_OUT,
    crate::functions::SINGLE_VALUE,
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "nvl",
    "nvl2",
    "ifnull",
    "pg_typeof",
    "arrow_typeof",
    "min",
    "max",
    "count",
    "first_value",
    "last_value",
    "nth_value",
    "any_value",
    "lag",
    "lead",
];

#[derive(Debug, Default)]
pub struct NumericSpecials;

impl AnalyzerRule for NumericSpecials {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> DfResult<LogicalPlan> {
        let cast = Arc::new(ScalarUDF::new_from_impl(NumericCast::default()));
        plan.transform_up_with_subqueries(|node| {
            let schema = input_schema(&node);
            let names = NamePreserver::new(&node);
            node.map_expressions(|expr| {
                let name = names.save(&expr);
                let rewritten = expr.transform_up(|e| rewrite(e, &schema, &cast))?;
                Ok(rewritten.update_data(|e| name.restore(e)))
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "enishi_numeric_specials"
    }
}

fn is_decimal(expr: &Expr, schema: &datafusion::common::DFSchema) -> bool {
    matches!(expr.get_type(schema), Ok(DataType::Decimal128(..)))
}

/// `expr` behind `numeric_finite`, unless it is a decimal that cannot be
/// special (a finite constant) or is guarded already.
fn guarded(expr: Expr, schema: &datafusion::common::DFSchema, what: &str) -> (Expr, bool) {
    if !is_decimal(&expr, schema) {
        return (expr, false);
    }
    match &expr {
        Expr::Literal(ScalarValue::Decimal128(v, p, _), _)
            if v.is_none_or(|v| numeric::Special::of(v, *p).is_none()) =>
        {
            return (expr, false);
        }
        Expr::ScalarFunction(f) if f.func.name() == numeric::FINITE => return (expr, false),
        _ => {}
    }
    let finite = ScalarUDF::new_from_impl(Finite::new(Refusal::Function(what.to_string())));
    (finite.call(vec![expr]), true)
}

fn guard_all(
    args: Vec<Expr>,
    schema: &datafusion::common::DFSchema,
    what: &str,
) -> (Vec<Expr>, bool) {
    let mut changed = false;
    let args = args
        .into_iter()
        .map(|a| {
            let (a, c) = guarded(a, schema, what);
            changed |= c;
            a
        })
        .collect();
    (args, changed)
}

fn rewrite(
    e: Expr,
    schema: &datafusion::common::DFSchema,
    cast: &Arc<ScalarUDF>,
) -> DfResult<Transformed<Expr>> {
    let transformed = |e: Expr, changed: bool| {
        Ok(if changed {
            Transformed::yes(e)
        } else {
            Transformed::no(e)
        })
    };
    match e {
        Expr::Cast(Cast { expr, field }) | Expr::TryCast(TryCast { expr, field })
            if expr
                .get_type(schema)
                .is_ok_and(|from| numeric::cast_carries_specials(&from, field.data_type())) =>
        {
            let target = Expr::Cast(Cast {
                expr: Box::new(Expr::Literal(ScalarValue::Null, None)),
                field,
            });
            Ok(Transformed::yes(Expr::ScalarFunction(
                ScalarFunction::new_udf(cast.clone(), vec![*expr, target]),
            )))
        }
        Expr::ScalarFunction(f) if !PASSING.contains(&f.func.name()) => {
            let name = f.func.name().to_string();
            let (args, changed) = guard_all(f.args, schema, &name);
            transformed(
                Expr::ScalarFunction(ScalarFunction::new_udf(f.func, args)),
                changed,
            )
        }
        Expr::AggregateFunction(mut a) if !PASSING.contains(&a.func.name()) => {
            let name = a.func.name().to_string();
            let (args, changed) = guard_all(std::mem::take(&mut a.params.args), schema, &name);
            a.params.args = args;
            transformed(Expr::AggregateFunction(a), changed)
        }
        Expr::WindowFunction(mut w) if !PASSING.contains(&w.fun.name()) => {
            let name = w.fun.name().to_string();
            let (args, changed) = guard_all(std::mem::take(&mut w.params.args), schema, &name);
            w.params.args = args;
            transformed(Expr::WindowFunction(w), changed)
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right })
            if matches!(
                op,
                Operator::Plus
                    | Operator::Minus
                    | Operator::Multiply
                    | Operator::Divide
                    | Operator::Modulo
            ) =>
        {
            let what = format!("operator {op}");
            let (left, l) = guarded(*left, schema, &what);
            let (right, r) = guarded(*right, schema, &what);
            transformed(
                Expr::BinaryExpr(BinaryExpr::new(Box::new(left), op, Box::new(right))),
                l || r,
            )
        }
        Expr::Negative(inner) => {
            let (inner, changed) = guarded(*inner, schema, "operator -");
            transformed(Expr::Negative(Box::new(inner)), changed)
        }
        other => Ok(Transformed::no(other)),
    }
}
