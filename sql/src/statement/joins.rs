//! Joins `USING (k)` as PostgreSQL reads them. The join has one column `k`,
//! listed first by `SELECT *`: the left side's `k` for an inner or left
//! join, the right side's for a right join, and `COALESCE(left.k, right.k)`
//! for a full join. DataFusion takes the left side's `k` for every kind and
//! lists it where the left side has it, so a right or full join's rows found
//! only on the right came back with a NULL `k`, and were grouped and
//! filtered by it. Written out here for a join of two named relations.

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
    let [join] = from.joins.as_slice() else {
        return;
    };
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
    let (Some(left), Some(right)) = (relation_name(&from.relation), relation_name(&join.relation))
    else {
        return;
    };
    let keys: Vec<Ident> = using
        .iter()
        .filter_map(|c| c.0.last().and_then(|p| p.as_ident()).cloned())
        .collect();
    if keys.len() != using.len() || normalize(&left) == normalize(&right) {
        return;
    }
    let merged = |k: &Ident| -> Expr {
        let column = |side: &Ident| Expr::CompoundIdentifier(vec![side.clone(), k.clone()]);
        match side {
            Side::Left => column(&left),
            Side::Right => column(&right),
            Side::Full => Expr::Function(ast::Function {
                name: ObjectName::from(vec![Ident::new("coalesce")]),
                uses_odbc_syntax: false,
                parameters: ast::FunctionArguments::None,
                args: ast::FunctionArguments::List(ast::FunctionArgumentList {
                    duplicate_treatment: None,
                    args: vec![column(&left), column(&right)]
                        .into_iter()
                        .map(|e| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)))
                        .collect(),
                    clauses: vec![],
                }),
                filter: None,
                null_treatment: None,
                over: None,
                within_group: vec![],
            }),
        }
    };
    let key_of = |id: &Ident| keys.iter().find(|k| normalize(k) == normalize(id));
    // Unqualified references to a key, outside subqueries (whose own
    // relations may have a column of that name).
    let replace = |e: &mut Expr| {
        if side == Side::Left || contains_subquery(e) {
            return;
        }
        let _ = ast::visit_expressions_mut(e, |x| {
            if let Expr::Identifier(id) = x
                && let Some(k) = key_of(id)
            {
                *x = merged(k);
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
                        expr: merged(k),
                        alias: k.clone(),
                    });
                }
                for name in [&left, &right] {
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
                if side != Side::Left && key_of(&id).is_some() =>
            {
                let k = key_of(&id).expect("a key").clone();
                items.push(SelectItem::ExprWithAlias {
                    expr: merged(&k),
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

fn contains_subquery(e: &mut Expr) -> bool {
    let mut found = false;
    let _ = ast::visit_expressions_mut(e, |x| {
        if matches!(
            x,
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. }
        ) {
            found = true;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    found
}
