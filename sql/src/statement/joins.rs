//! Joins `USING (k)` as PostgreSQL reads them. The join has one column `k`,
//! listed first by `SELECT *`: the left side's `k` for an inner or left
//! join, the right side's for a right join, and `COALESCE(left.k, right.k)`
//! for a full join. DataFusion takes the left side's `k` for every kind and
//! lists it where the left side has it, so a right or full join's rows found
//! only on the right came back with a NULL `k`, and were grouped and
//! filtered by it. Written out here for a chain of USING joins on the same
//! keys between named relations.

use super::*;

use ast::{
    ExcludeSelectItem, GroupByExpr, JoinConstraint, JoinOperator, ObjectName,
    SelectItemQualifiedWildcardKind, TableFactor,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
    Full,
}

pub(super) fn using_columns_merged(stmt: &mut Statement) {
    struct Merge;
    impl ast::VisitorMut for Merge {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> std::ops::ControlFlow<()> {
            each_select(&mut query.body, &mut merge);
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Merge);
}

fn each_select(body: &mut SetExpr, f: &mut impl FnMut(&mut ast::Select)) {
    match body {
        SetExpr::Select(select) => f(select),
        SetExpr::SetOperation { left, right, .. } => {
            each_select(left, f);
            each_select(right, f);
        }
        _ => {}
    }
}

/// The name a relation's columns are qualified by: its alias, or its table's
/// own name.
fn relation_name(factor: &TableFactor) -> Option<Ident> {
    match factor {
        TableFactor::Table {
            alias: Some(alias), ..
        }
        | TableFactor::Derived {
            alias: Some(alias), ..
        } => Some(alias.name.clone()),
        TableFactor::Table {
            name, alias: None, ..
        } => name.0.last().and_then(|p| p.as_ident()).cloned(),
        _ => None,
    }
}

fn merge(select: &mut ast::Select) {
    let [from] = select.from.as_mut_slice() else {
        return;
    };
    let Some(first) = relation_name(&from.relation) else {
        return;
    };
    // A chain of USING joins on the same keys, each to a named relation:
    // the keys' merged expressions, join by join.
    let mut names = vec![first];
    let mut keys: Vec<Ident> = Vec::new();
    let mut merged: Vec<Expr> = Vec::new();
    let mut rewrite_references = false;
    let mut conditions = Vec::new();
    for join in &from.joins {
        let (side, using) = match &join.join_operator {
            JoinOperator::FullOuter(JoinConstraint::Using(c)) => (Side::Full, c),
            JoinOperator::Right(JoinConstraint::Using(c))
            | JoinOperator::RightOuter(JoinConstraint::Using(c)) => (Side::Right, c),
            JoinOperator::Join(JoinConstraint::Using(c))
            | JoinOperator::Inner(JoinConstraint::Using(c))
            | JoinOperator::Left(JoinConstraint::Using(c))
            | JoinOperator::LeftOuter(JoinConstraint::Using(c)) => (Side::Left, c),
            _ => return,
        };
        let Some(right) = relation_name(&join.relation) else {
            return;
        };
        if names.iter().any(|n| normalize(n) == normalize(&right)) {
            return;
        }
        let these: Vec<Ident> = using
            .iter()
            .filter_map(|c| c.0.last().and_then(|p| p.as_ident()).cloned())
            .collect();
        if these.len() != using.len() {
            return;
        }
        if keys.is_empty() {
            merged = these.iter().map(|k| column(&names[0], k)).collect();
            keys = these;
        } else if keys.iter().map(normalize).ne(these.iter().map(normalize)) {
            return;
        }
        // DataFusion joins a later relation on the first one's key; after
        // a right or full join the key is the merged one, written out.
        conditions.push(rewrite_references.then(|| {
            merged
                .iter()
                .zip(&keys)
                .map(|(left, k)| Expr::BinaryOp {
                    left: Box::new(left.clone()),
                    op: ast::BinaryOperator::Eq,
                    right: Box::new(column(&right, k)),
                })
                .reduce(|a, b| Expr::BinaryOp {
                    left: Box::new(a),
                    op: ast::BinaryOperator::And,
                    right: Box::new(b),
                })
                .expect("a key")
        }));
        merged = merged
            .into_iter()
            .zip(&keys)
            .map(|(left, k)| match side {
                Side::Left => left,
                Side::Right => column(&right, k),
                Side::Full => coalesce(left, column(&right, k)),
            })
            .collect();
        rewrite_references |= side != Side::Left;
        names.push(right);
    }
    if keys.is_empty() {
        return;
    }
    for (join, condition) in from.joins.iter_mut().zip(conditions) {
        let Some(condition) = condition else {
            continue;
        };
        let on = JoinConstraint::On(condition);
        join.join_operator = match &join.join_operator {
            JoinOperator::FullOuter(_) => JoinOperator::FullOuter(on),
            JoinOperator::Right(_) | JoinOperator::RightOuter(_) => JoinOperator::RightOuter(on),
            JoinOperator::Left(_) | JoinOperator::LeftOuter(_) => JoinOperator::LeftOuter(on),
            _ => JoinOperator::Inner(on),
        };
    }
    let merged_of = |k: &Ident| -> Expr {
        let i = keys
            .iter()
            .position(|x| normalize(x) == normalize(k))
            .expect("a key");
        merged[i].clone()
    };
    let key_of = |id: &Ident| keys.iter().find(|k| normalize(k) == normalize(id));
    // Unqualified references to a key, outside subqueries (whose own
    // relations may have a column of that name).
    let replace = |e: &mut Expr| {
        if !rewrite_references || holds_subquery(e) {
            return;
        }
        let _ = ast::visit_expressions_mut(e, |x| {
            if let Expr::Identifier(id) = x
                && let Some(k) = key_of(id)
            {
                *x = merged_of(k);
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
    };
    let mut items = Vec::with_capacity(select.projection.len());
    for item in select.projection.drain(..) {
        match item {
            SelectItem::Wildcard(options) if options == Default::default() => {
                for k in &keys {
                    items.push(SelectItem::ExprWithAlias {
                        expr: merged_of(k),
                        alias: k.clone(),
                    });
                }
                for name in &names {
                    items.push(SelectItem::QualifiedWildcard(
                        SelectItemQualifiedWildcardKind::ObjectName(ObjectName::from(vec![
                            name.clone(),
                        ])),
                        ast::WildcardAdditionalOptions {
                            opt_exclude: Some(ExcludeSelectItem::Multiple(
                                keys.iter()
                                    .map(|k| ObjectName::from(vec![k.clone()]))
                                    .collect(),
                            )),
                            ..options.clone()
                        },
                    ));
                }
            }
            SelectItem::UnnamedExpr(Expr::Identifier(id))
                if rewrite_references && key_of(&id).is_some() =>
            {
                items.push(SelectItem::ExprWithAlias {
                    expr: merged_of(&id),
                    alias: id,
                });
            }
            SelectItem::UnnamedExpr(mut expr) => {
                replace(&mut expr);
                items.push(SelectItem::UnnamedExpr(expr));
            }
            SelectItem::ExprWithAlias { mut expr, alias } => {
                replace(&mut expr);
                items.push(SelectItem::ExprWithAlias { expr, alias });
            }
            other => items.push(other),
        }
    }
    select.projection = items;
    if let Some(selection) = &mut select.selection {
        replace(selection);
    }
    if let GroupByExpr::Expressions(exprs, _) = &mut select.group_by {
        exprs.iter_mut().for_each(&replace);
    }
    if let Some(having) = &mut select.having {
        replace(having);
    }
}

fn column(relation: &Ident, k: &Ident) -> Expr {
    Expr::CompoundIdentifier(vec![relation.clone(), k.clone()])
}

fn coalesce(left: Expr, right: Expr) -> Expr {
    call("coalesce", vec![left, right])
}
