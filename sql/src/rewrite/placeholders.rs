//! Types for parameters the client left untyped, from where they stand, as
//! PostgreSQL infers them: `$1::integer` is an integer; in `x = ANY($1)` (and
//! `x < ALL($1)`), `$1` is an array of x's type. Drivers are then told to send
//! that type (psycopg sends a list of strings untyped, for `relkind = ANY(%s)`).

use std::collections::HashMap;

use super::*;

/// Types the untyped placeholders of `plan` that a cast or an ANY/ALL
/// comparison gives a type.
pub fn infer_placeholder_types(plan: LogicalPlan) -> DfResult<LogicalPlan> {
    plan.transform_up_with_subqueries(|node| {
        let arrays = compared_arrays(&node)?;
        node.map_expressions(|expr| {
            expr.transform_up(|e| match e {
                Expr::Cast(Cast { expr, field }) if is_untyped(&expr) => {
                    let Expr::Placeholder(placeholder) = *expr else {
                        unreachable!()
                    };
                    let typed = typed(placeholder, field.data_type().clone());
                    Ok(Transformed::yes(Expr::Cast(Cast {
                        expr: Box::new(typed),
                        field,
                    })))
                }
                Expr::Placeholder(p) if p.field.is_none() && arrays.contains_key(&p.id) => {
                    let element = arrays[&p.id].clone();
                    let list = DataType::List(Arc::new(Field::new_list_field(element, true)));
                    Ok(Transformed::yes(typed(p, list)))
                }
                other => Ok(Transformed::no(other)),
            })
        })
    })
    .map(|t| t.data)
}

fn is_untyped(expr: &Expr) -> bool {
    matches!(expr, Expr::Placeholder(Placeholder { field: None, .. }))
}

fn typed(mut placeholder: Placeholder, ty: DataType) -> Expr {
    placeholder.field = Some(Arc::new(Field::new("", ty, true)));
    Expr::Placeholder(placeholder)
}

/// The element type of each untyped placeholder that `node` compares a value
/// with as an array: DataFusion plans `x = ANY(a)` as `array_has(a, x)` and
/// the other comparisons (and ALL) as `array_min(a) < x` and the like.
fn compared_arrays(node: &LogicalPlan) -> DfResult<HashMap<String, DataType>> {
    let inputs = node.inputs();
    let schema = match inputs.as_slice() {
        [input] => input.schema(),
        _ => node.schema(),
    };
    let untyped_array = |e: &Expr, names: &[&str]| match e {
        Expr::ScalarFunction(f) if names.contains(&f.func.name()) => match f.args.first() {
            Some(Expr::Placeholder(p)) if p.field.is_none() => Some(p.id.clone()),
            _ => None,
        },
        _ => None,
    };
    let mut out = HashMap::new();
    for expr in node.expressions() {
        expr.apply(|e| {
            match e {
                Expr::ScalarFunction(f) if f.func.name() == "array_has" => {
                    if let (Some(id), Some(needle)) =
                        (untyped_array(e, &["array_has"]), f.args.get(1))
                        && let Ok(ty) = needle.get_type(schema.as_ref())
                    {
                        out.insert(id, ty);
                    }
                }
                Expr::BinaryExpr(b) => {
                    for (bound, other) in [(&b.left, &b.right), (&b.right, &b.left)] {
                        if let Some(id) = untyped_array(bound, &["array_min", "array_max"])
                            && let Ok(ty) = other.get_type(schema.as_ref())
                        {
                            out.insert(id, ty);
                        }
                    }
                }
                _ => {}
            }
            Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
        })?;
    }
    Ok(out)
}
