//! Subqueries over a recursive CTE that starts from the outer row, rooted
//! so that DataFusion can plan them.

use super::*;

/// A subquery over a recursive CTE whose start depends on the outer row
/// (pgAdmin follows role memberships from `roles.oid` so):
/// `WITH RECURSIVE c AS (SELECT … FROM t WHERE t.k = outer.k UNION ALL …)
/// SELECT … FROM c`. DataFusion cannot plan outer columns inside a CTE, so the
/// CTE starts from every row instead, carrying its start's key as `__root`
/// through the recursion, and the subquery keeps the rows of the outer row's
/// key: `… SELECT … FROM c WHERE c.__root = outer.k`, a correlation it can
/// plan.
pub(super) fn recursive_subqueries_rooted(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        match expr {
            Expr::Subquery(query) => {
                rooted(query);
            }
            Expr::Function(f) => {
                if let ast::FunctionArguments::Subquery(query) = &mut f.args {
                    rooted(query);
                }
            }
            _ => {}
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// The rewrite of [`recursive_subqueries_rooted`] on one subquery; false
/// (and the query unchanged) when it does not have that shape.
pub(super) fn rooted(query: &mut Query) -> bool {
    const ROOT: &str = "__root";
    let Some(with) = &query.with else {
        return false;
    };
    let [cte] = with.cte_tables.as_slice() else {
        return false;
    };
    if !with.recursive {
        return false;
    }
    let cte_name = normalize(&cte.alias.name);
    let SetExpr::SetOperation {
        op: ast::SetOperator::Union,
        left,
        right,
        ..
    } = cte.query.body.as_ref()
    else {
        return false;
    };
    let (SetExpr::Select(anchor), SetExpr::Select(step), SetExpr::Select(last)) =
        (left.as_ref(), right.as_ref(), query.body.as_ref())
    else {
        return false;
    };
    let own = |select: &ast::Select| own_relations_of(select);
    let (Some(anchor_own), Some(step_own)) = (own(anchor), own(step)) else {
        return false;
    };
    // The CTE's own name, as the step and the final select call it.
    let reference = |select: &ast::Select| {
        select.from.iter().find_map(|from| {
            std::iter::once(&from.relation)
                .chain(from.joins.iter().map(|j| &j.relation))
                .find_map(|factor| match factor {
                    ast::TableFactor::Table { name, alias, .. }
                        if name.0.len() == 1 && object_name_last(name) == cte_name =>
                    {
                        Some(
                            alias
                                .as_ref()
                                .map_or(cte_name.clone(), |a| normalize(&a.name)),
                        )
                    }
                    _ => None,
                })
        })
    };
    let (Some(step_ref), Some(last_ref)) = (reference(step), reference(last)) else {
        return false;
    };
    // The step, and the anchor but for its WHERE, read no outer column; the
    // anchor's WHERE equates one of its own expressions with one outer one.
    if names_outer(step.as_ref(), &step_own)
        || names_outer(&anchor.projection, &anchor_own)
        || names_outer(&anchor.from, &anchor_own)
    {
        return false;
    }
    let Some(selection) = anchor.selection.clone() else {
        return false;
    };
    let mut key = None;
    let mut rest = Vec::new();
    for condition in conjuncts(selection) {
        if !names_outer(&condition, &anchor_own) {
            rest.push(condition);
            continue;
        }
        match (&condition, &key) {
            (
                Expr::BinaryOp {
                    left,
                    op: ast::BinaryOperator::Eq,
                    right,
                },
                None,
            ) => {
                let (l, r) = (
                    names_outer(left.as_ref(), &anchor_own),
                    names_outer(right.as_ref(), &anchor_own),
                );
                key = match (l, r) {
                    (false, true) => Some((left.as_ref().clone(), right.as_ref().clone())),
                    (true, false) => Some((right.as_ref().clone(), left.as_ref().clone())),
                    _ => return false,
                };
            }
            _ => return false,
        }
    }
    let Some((inner, outer)) = key else {
        return false;
    };
    // Rewrite: the anchor starts everywhere, keeping its key.
    let with = query.with.as_mut().expect("checked");
    let cte = &mut with.cte_tables[0];
    if !cte.alias.columns.is_empty() {
        cte.alias
            .columns
            .insert(0, ast::TableAliasColumnDef::from_name(ROOT));
    }
    let SetExpr::SetOperation { left, right, .. } = cte.query.body.as_mut() else {
        return false;
    };
    if let SetExpr::Select(anchor) = left.as_mut() {
        anchor.selection = rest.into_iter().reduce(|a, b| Expr::BinaryOp {
            left: Box::new(a),
            op: ast::BinaryOperator::And,
            right: Box::new(b),
        });
        anchor.projection.insert(
            0,
            ast::SelectItem::ExprWithAlias {
                expr: inner,
                alias: Ident::new(ROOT),
            },
        );
    }
    if let SetExpr::Select(step) = right.as_mut() {
        step.projection.insert(
            0,
            ast::SelectItem::UnnamedExpr(Expr::CompoundIdentifier(vec![
                Ident::with_quote('"', &step_ref),
                Ident::new(ROOT),
            ])),
        );
    }
    if let SetExpr::Select(last) = query.body.as_mut() {
        let keep = Expr::BinaryOp {
            left: Box::new(Expr::CompoundIdentifier(vec![
                Ident::with_quote('"', &last_ref),
                Ident::new(ROOT),
            ])),
            op: ast::BinaryOperator::Eq,
            right: Box::new(outer),
        };
        last.selection = Some(match last.selection.take() {
            Some(existing) => Expr::BinaryOp {
                left: Box::new(Expr::Nested(Box::new(existing))),
                op: ast::BinaryOperator::And,
                right: Box::new(keep),
            },
            None => keep,
        });
    }
    true
}
