//! A bare string literal has no type of its own in PostgreSQL ("unknown"):
//! among the results of a CASE, or the arguments of COALESCE, NULLIF,
//! GREATEST and LEAST, it takes the type of the first one that has a type.
//! `CASE WHEN c THEN 1 ELSE '2' END` is an integer, `coalesce(acl, '{}')` an
//! array, `CASE … THEN d ELSE '2026-01-01' END` a date; a literal that does
//! not read as that type fails (22P02), as in PostgreSQL. DataFusion would
//! make them all text. This rule runs before type coercion.

use super::*;

#[derive(Debug, Default)]
pub struct UntypedLiterals;

impl AnalyzerRule for UntypedLiterals {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> DfResult<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            let schema = input_schema(&node);
            let names = NamePreserver::new(&node);
            node.map_expressions(|expr| {
                let name = names.save(&expr);
                let typed = expr.transform_up(|e| typed_alike(e, &schema))?;
                Ok(typed.update_data(|e| name.restore(e)))
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "enishi_untyped_literals"
    }
}

fn is_untyped(expr: &Expr) -> bool {
    matches!(expr, Expr::Literal(ScalarValue::Utf8(Some(_)), None))
}

/// The type the untyped literals among `exprs` take: that of the others,
/// when they all have the same one and it is not text.
fn resolved_type<'a>(
    exprs: impl Iterator<Item = &'a Expr>,
    schema: &datafusion::common::DFSchema,
) -> Option<DataType> {
    let mut untyped = false;
    let mut resolved: Option<DataType> = None;
    for expr in exprs {
        if is_untyped(expr) {
            untyped = true;
            continue;
        }
        if matches!(expr, Expr::Literal(ScalarValue::Null, _)) {
            continue;
        }
        let ty = expr.get_type(schema).ok()?;
        match &resolved {
            Some(other) if *other != ty => return None,
            _ => resolved = Some(ty),
        }
    }
    match resolved? {
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null => None,
        ty if untyped => Some(ty),
        _ => None,
    }
}

/// The literal read as `ty`: arrays by PostgreSQL's array input syntax,
/// other types by a cast (which the text input rules then read as
/// PostgreSQL's input functions do).
fn typed(expr: Expr, ty: &DataType) -> DfResult<Expr> {
    if !is_untyped(&expr) {
        return Ok(expr);
    }
    match ty {
        DataType::List(_) => crate::functions::array_input::array_literal(expr, ty),
        _ => Ok(Expr::Cast(Cast::new(Box::new(expr), ty.clone()))),
    }
}

fn typed_alike(expr: Expr, schema: &datafusion::common::DFSchema) -> DfResult<Transformed<Expr>> {
    match expr {
        Expr::Case(mut case) => {
            let results = case
                .when_then_expr
                .iter()
                .map(|(_, then)| then.as_ref())
                .chain(case.else_expr.as_deref());
            let Some(ty) = resolved_type(results, schema) else {
                return Ok(Transformed::no(Expr::Case(case)));
            };
            for (_, then) in case.when_then_expr.iter_mut() {
                let value =
                    std::mem::replace(then.as_mut(), Expr::Literal(ScalarValue::Null, None));
                **then = typed(value, &ty)?;
            }
            if let Some(otherwise) = case.else_expr.as_mut() {
                let value =
                    std::mem::replace(otherwise.as_mut(), Expr::Literal(ScalarValue::Null, None));
                **otherwise = typed(value, &ty)?;
            }
            Ok(Transformed::yes(Expr::Case(case)))
        }
        Expr::ScalarFunction(mut call)
            if matches!(
                call.func.name(),
                "coalesce" | "nullif" | "greatest" | "least"
            ) =>
        {
            let Some(ty) = resolved_type(call.args.iter(), schema) else {
                return Ok(Transformed::no(Expr::ScalarFunction(call)));
            };
            call.args = call
                .args
                .into_iter()
                .map(|arg| typed(arg, &ty))
                .collect::<DfResult<_>>()?;
            Ok(Transformed::yes(Expr::ScalarFunction(call)))
        }
        other => Ok(Transformed::no(other)),
    }
}
