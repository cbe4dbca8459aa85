//! Keeps numeric's NaN and infinities (stored past a decimal's finite range,
//! see `functions::numeric`) from being read as numbers: casts that must
//! carry them across become `numeric_cast`, the arithmetic operators give
//! PostgreSQL's answers for them (`numeric_patch`), and every other
//! function, aggregate or operator that would read a decimal's digits gets
//! its decimal arguments through `numeric_finite`, which refuses them. Comparisons,
//! sorting, grouping, `min`, `max`, `coalesce` and the like need nothing.

use super::*;

use datafusion::logical_expr::expr::TryCast;
use datafusion::logical_expr::{BinaryExpr, Operator};

use crate::functions::numeric::{
    self, Arithmetic, Finite, NumericCast, NumericMask, NumericNegate, NumericPatch, Refusal,
};

/// Functions that pass a value through, compare it, or are numeric-aware.
const PASSING: &[&str] = &[
    numeric::FINITE,
    numeric::NUMERIC_CAST,
    numeric::NUMERIC_IN,
    numeric::NUMERIC_MASK,
    numeric::NUMERIC_PATCH,
    crate::functions::math::NumericExact::NAME,
    "numeric_uminus",
    text_output::TEXT_OUT,
    crate::functions::SINGLE_VALUE,
    "coalesce",
    // They read NaN and the infinities as such.
    "scale",
    "min_scale",
    "trim_scale",
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

fn arithmetic(op: Operator) -> Option<Arithmetic> {
    Some(match op {
        Operator::Plus => Arithmetic::Add,
        Operator::Minus => Arithmetic::Subtract,
        Operator::Multiply => Arithmetic::Multiply,
        Operator::Divide => Arithmetic::Divide,
        Operator::Modulo => Arithmetic::Modulo,
        _ => return None,
    })
}

/// `l op r` as `numeric_patch(l, r, op(numeric_mask(l, r), numeric_mask(r, l)))`:
/// the operator computes the finite rows; NaN and infinities get
/// PostgreSQL's answer.
fn patched(op: Arithmetic, l: Expr, r: Expr, apply: impl FnOnce(Expr, Expr) -> Expr) -> Expr {
    let mask = ScalarUDF::new_from_impl(NumericMask::default());
    let patch = ScalarUDF::new_from_impl(NumericPatch::new(op));
    let native = apply(
        mask.call(vec![l.clone(), r.clone()]),
        mask.call(vec![r.clone(), l.clone()]),
    );
    patch.call(vec![l, r, native])
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
            if arithmetic(op).is_some()
                && (is_decimal(&left, schema) || is_decimal(&right, schema)) =>
        {
            let op_kind = arithmetic(op).expect("an arithmetic operator");
            Ok(Transformed::yes(patched(op_kind, *left, *right, |l, r| {
                Expr::BinaryExpr(BinaryExpr::new(Box::new(l), op, Box::new(r)))
            })))
        }
        Expr::ScalarFunction(f)
            if f.func.name() == crate::functions::math::NUMERIC_DIV && f.args.len() == 2 =>
        {
            let mut args = f.args.into_iter();
            let (l, r) = (args.next().expect("two"), args.next().expect("two"));
            let func = f.func;
            Ok(Transformed::yes(patched(
                Arithmetic::Divide,
                l,
                r,
                |l, r| Expr::ScalarFunction(ScalarFunction::new_udf(func, vec![l, r])),
            )))
        }
        // One numeric in, one out: NaN and the infinities pass through
        // (made positive by abs); the function computes the rest.
        Expr::ScalarFunction(f)
            if matches!(
                f.func.name(),
                "round" | "trunc" | "ceil" | "ceiling" | "floor" | "abs"
            ) && f.args.first().is_some_and(|a| is_decimal(a, schema)) =>
        {
            let op = if f.func.name() == "abs" {
                Arithmetic::Abs
            } else {
                Arithmetic::Keep
            };
            let mut args = f.args;
            let value = args.remove(0);
            let (rest, _) = guard_all(args, schema, f.func.name());
            let func = f.func;
            let mask = ScalarUDF::new_from_impl(NumericMask::default());
            let patch = ScalarUDF::new_from_impl(NumericPatch::new(op));
            let masked = mask.call(vec![value.clone(), value.clone()]);
            let native = Expr::ScalarFunction(ScalarFunction::new_udf(
                func,
                std::iter::once(masked).chain(rest).collect(),
            ));
            Ok(Transformed::yes(patch.call(vec![
                value.clone(),
                value,
                native,
            ])))
        }
        Expr::ScalarFunction(f) if !PASSING.contains(&f.func.name()) => {
            let name = f.func.name().to_string();
            let (args, changed) = guard_all(f.args, schema, &name);
            transformed(
                Expr::ScalarFunction(ScalarFunction::new_udf(f.func, args)),
                changed,
            )
        }
        Expr::Negative(inner) if is_decimal(&inner, schema) => {
            let negate = ScalarUDF::new_from_impl(NumericNegate::default());
            Ok(Transformed::yes(negate.call(vec![*inner])))
        }
        other => Ok(Transformed::no(other)),
    }
}
