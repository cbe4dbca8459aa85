//! `(a, b) IN (SELECT x, y …)` and `NOT IN`, which DataFusion does not
//! plan, as EXISTS over the subquery's rows.
//!
//! A row comparison is true when every pair of fields is equal, false when
//! some pair is unequal, and NULL otherwise (a NULL field and no unequal
//! pair). So the row is IN the subquery when some row compares true, and
//! the answer is NULL, not false, when none does but some row compares
//! NULL:
//!
//! ```text
//! CASE WHEN EXISTS (… every field equal) THEN true
//!      WHEN EXISTS (… every field equal or NULL on either side) THEN NULL
//!      ELSE false END
//! ```
//!
//! Among the top-level conditions of a WHERE clause NULL and false both drop
//! the row, and the first EXISTS alone is the answer.

use super::*;

/// The derived table a subquery's rows are read from when they cannot be
/// read in place.
const ROWS: &str = "__in_rows";

pub(super) fn row_in_subqueries_as_exists(stmt: &mut Statement) {
    // First the WHERE conditions, whose NULL is false.
    let _ = ast::visit_statements_mut(stmt, |s| {
        if let Statement::Query(query) = s {
            where_conditions(query);
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Some(rewritten) = as_exists(expr, false) {
            *expr = rewritten;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// Rewrites the row INs among the top-level conditions of the query's
/// WHERE clauses (its own and those of its subqueries and set operations).
fn where_conditions(query: &mut Query) {
    struct Wheres;
    impl ast::VisitorMut for Wheres {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> std::ops::ControlFlow<()> {
            if let SetExpr::Select(select) = query.body.as_mut()
                && let Some(selection) = select.selection.take()
            {
                let parts: Vec<Expr> = conjuncts(selection)
                    .into_iter()
                    .map(|c| as_exists(&c, true).unwrap_or(c))
                    .collect();
                select.selection = parts.into_iter().reduce(|a, b| Expr::BinaryOp {
                    left: Box::new(a),
                    op: ast::BinaryOperator::And,
                    right: Box::new(b),
                });
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(query, &mut Wheres);
}

/// The EXISTS form of `expr` if it is a row IN or NOT IN a subquery;
/// `filtering` where its NULL counts as false (a positive WHERE condition).
fn as_exists(expr: &Expr, filtering: bool) -> Option<Expr> {
    let Expr::InSubquery {
        expr: row,
        subquery,
        negated,
    } = expr
    else {
        return None;
    };
    let mut row = row.as_ref();
    while let Expr::Nested(inner) = row {
        row = inner;
    }
    let Expr::Tuple(fields) = row else {
        return None;
    };
    let equal = exists_matching(subquery, fields, false)?;
    if filtering && !negated {
        return Some(equal);
    }
    let maybe = exists_matching(subquery, fields, true)?;
    let test = with_holes(
        "CASE WHEN __hole0 THEN true WHEN __hole1 THEN CAST(NULL AS boolean) ELSE false END",
        vec![equal, maybe],
    )?;
    Some(match negated {
        true => Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr: Box::new(Expr::Nested(Box::new(test))),
        },
        false => test,
    })
}

/// `EXISTS` of a row of `subquery` equal to `fields`, or (`maybe`) equal
/// wherever neither side is NULL.
fn exists_matching(subquery: &Query, fields: &[Expr], maybe: bool) -> Option<Expr> {
    let pair = |inner: Expr, outer: &Expr| {
        let template = match maybe {
            false => "__hole0 = __hole1",
            true => "(__hole0 = __hole1 OR __hole0 IS NULL OR __hole1 IS NULL)",
        };
        with_holes(template, vec![inner, outer.clone()])
    };
    // A correlated plain SELECT takes the conditions into its own WHERE:
    // DataFusion decorrelates that, but not a derived table whose WHERE
    // refers to an outer query. Only fields that name their tables move in
    // (a bare `dept_id` would be read as the subquery's own column).
    let qualified = fields.iter().all(|f| {
        ast::visit_expressions(f, |e| match e {
            Expr::Identifier(_) | Expr::Subquery(_) => std::ops::ControlFlow::Break(()),
            _ => std::ops::ControlFlow::Continue(()),
        })
        .is_continue()
    });
    if let SetExpr::Select(select) = subquery.body.as_ref()
        && qualified
        && correlated(subquery)
        && simple(subquery, select, fields.len())
    {
        let mut select = select.clone();
        let items: Vec<Expr> = select
            .projection
            .iter()
            .filter_map(|item| match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    Some(e.clone())
                }
                _ => None,
            })
            .collect();
        let conditions = items
            .into_iter()
            .zip(fields)
            .map(|(inner, outer)| pair(inner, outer))
            .collect::<Option<Vec<_>>>()?;
        select.projection = vec![SelectItem::UnnamedExpr(Expr::value(Value::Number(
            "1".into(),
            false,
        )))];
        select.selection = select
            .selection
            .take()
            .into_iter()
            .map(|w| Expr::Nested(Box::new(w)))
            .chain(conditions)
            .reduce(|a, b| Expr::BinaryOp {
                left: Box::new(a),
                op: ast::BinaryOperator::And,
                right: Box::new(b),
            });
        let mut query = subquery.clone();
        query.body = Box::new(SetExpr::Select(select));
        return Some(Expr::Exists {
            subquery: Box::new(query),
            negated: false,
        });
    }
    // Otherwise the subquery's rows are a derived table, its columns renamed
    // so that none shadows an outer name.
    let columns: Vec<String> = (0..fields.len()).map(|i| format!("__c{i}")).collect();
    let conditions = columns
        .iter()
        .zip(fields)
        .map(|(c, outer)| {
            pair(
                Expr::CompoundIdentifier(vec![Ident::new(ROWS), Ident::new(c)]),
                outer,
            )
        })
        .collect::<Option<Vec<_>>>()?;
    let Expr::Exists {
        subquery: mut query,
        negated,
    } = parse_expr(&format!(
        "EXISTS (SELECT 1 FROM (SELECT 1) AS {ROWS}({}))",
        columns.join(", ")
    ))?
    else {
        return None;
    };
    let SetExpr::Select(select) = query.body.as_mut() else {
        return None;
    };
    if let ast::TableFactor::Derived { subquery: rows, .. } = &mut select.from.first_mut()?.relation
    {
        **rows = subquery.clone();
    }
    select.selection = conditions.into_iter().reduce(|a, b| Expr::BinaryOp {
        left: Box::new(a),
        op: ast::BinaryOperator::And,
        right: Box::new(b),
    });
    Some(Expr::Exists {
        subquery: query,
        negated,
    })
}

/// Whether a subquery is a SELECT whose rows are its FROM's rows filtered
/// (no grouping, aggregates, DISTINCT, window or set-returning functions,
/// ordering or limits) with one plain expression per field.
fn simple(query: &Query, select: &ast::Select, fields: usize) -> bool {
    let plain_items = select.projection.len() == fields
        && select.projection.iter().all(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                !aggregates(e)
                    && ast::visit_expressions(e, |x| match x {
                        Expr::Function(f) if f.over.is_some() => std::ops::ControlFlow::Break(()),
                        Expr::Function(f)
                            if ["generate_series", "unnest", "regexp_matches"]
                                .contains(&object_name_last(&f.name).as_str()) =>
                        {
                            std::ops::ControlFlow::Break(())
                        }
                        _ => std::ops::ControlFlow::Continue(()),
                    })
                    .is_continue()
            }
            _ => false,
        });
    plain_items
        && select.distinct.is_none()
        && matches!(&select.group_by, ast::GroupByExpr::Expressions(g, _) if g.is_empty())
        && select.having.is_none()
        && query.order_by.is_none()
        && query.limit_clause.is_none()
        && query.fetch.is_none()
        && query.with.is_none()
}
