//! Subqueries DataFusion cannot plan as written: correlated scalar
//! subqueries, EXISTS, recursive CTEs, and comparisons with ANY/ALL over a
//! subquery, rewritten into shapes it can.

use super::*;

/// The text again, prepared for the compatibility parser, when it needs it:
/// - scalar subqueries in a select list each get parentheses of their own. The
///   parser replaces such a subquery with NULL when it thinks it correlated, and
///   limits it to one row otherwise; [`scalar_subqueries_single_value`] gives
///   them PostgreSQL's meaning instead, and the parentheses hide them from the
///   parser's rule;
/// - `'name'::regclass` becomes `regclass('name')`, which looks the name up
///   as the session's search_path says (the parser would make a subquery of it,
///   which DataFusion cannot plan in a join condition, looking in the current
///   schema only); and `alias.tableoid` becomes the OID of the relation the
///   alias names.
pub(super) fn scalar_subqueries_protected(sql: &str) -> Option<String> {
    struct Protect(bool);
    impl ast::VisitorMut for Protect {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &mut Expr) -> std::ops::ControlFlow<()> {
            // A relation's name cast to regclass is its OID, looked up as the
            // session's search_path says (`regclass(name)`), and folded to a
            // constant before execution when the name is, so that it may stand
            // in a join condition. A column cast to regclass (`c.oid::regclass`)
            // holds OIDs already.
            if let Expr::Cast {
                expr: inner,
                data_type,
                ..
            } = expr
                && is_regclass(data_type)
                && !matches!(
                    inner.as_ref(),
                    Expr::Identifier(_) | Expr::CompoundIdentifier(_)
                )
            {
                let name = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
                *expr = regclass_of(name);
                self.0 = true;
            }
            // pg_type's typinput and the like hold function names, so a
            // function named as a regproc compares as its name.
            if let Expr::Cast {
                expr: inner,
                data_type: ast::DataType::Custom(type_name, _),
                ..
            } = expr
                && type_name.to_string().eq_ignore_ascii_case("regproc")
                && let Expr::Value(v) = inner.as_ref()
                && let Value::SingleQuotedString(function) = &v.value
            {
                let bare = function.rsplit('.').next().unwrap_or(function).to_string();
                *expr = Expr::value(Value::SingleQuotedString(bare));
                self.0 = true;
            }
            std::ops::ControlFlow::Continue(())
        }
        // pg_catalog comes first in every search path; the parser qualifies
        // the names of the relations it serves, and these are Enishi's.
        fn pre_visit_table_factor(
            &mut self,
            factor: &mut ast::TableFactor,
        ) -> std::ops::ControlFlow<()> {
            if let ast::TableFactor::Table {
                name, args: None, ..
            } = factor
                && let [ast::ObjectNamePart::Identifier(ident)] = name.0.as_slice()
                && crate::catalog::DERIVED
                    .iter()
                    .chain(crate::stat_views::NAMES.iter())
                    .chain(["pg_sequences", "pg_indexes"].iter())
                    .any(|own| ident.value.eq_ignore_ascii_case(own))
            {
                name.0
                    .insert(0, ast::ObjectNamePart::Identifier(Ident::new("pg_catalog")));
                self.0 = true;
            }
            std::ops::ControlFlow::Continue(())
        }
        fn pre_visit_select(&mut self, select: &mut ast::Select) -> std::ops::ControlFlow<()> {
            self.0 |= table_oids_as_lookups(select);
            std::ops::ControlFlow::Continue(())
        }
        fn pre_visit_query(&mut self, query: &mut Query) -> std::ops::ControlFlow<()> {
            if let SetExpr::Select(select) = query.body.as_mut() {
                for item in &mut select.projection {
                    if let ast::SelectItem::UnnamedExpr(e)
                    | ast::SelectItem::ExprWithAlias { expr: e, .. } = item
                        && matches!(e, Expr::Subquery(_))
                    {
                        let subquery = std::mem::replace(e, Expr::value(Value::Null));
                        *e = Expr::Nested(Box::new(subquery));
                        self.0 = true;
                    }
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut statements =
        datafusion::sql::sqlparser::parser::Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    let mut protect = Protect(false);
    for statement in &mut statements {
        let _ = ast::VisitMut::visit(statement, &mut protect);
    }
    protect.0.then(|| {
        statements
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(";\n")
    })
}

/// `EXISTS (SELECT … FROM … WHERE …)` anywhere but among the top-level
/// conditions of a WHERE clause (in a select list, a CASE, under OR) becomes
/// `(SELECT count(*) FROM … WHERE …) > 0`, and `x IN (subquery)` there a
/// subquery that aggregates the same answer (true on a match; else NULL
/// when x or a value is NULL; false for no rows): DataFusion turns only
/// WHERE's EXISTS and IN into joins, and plans a correlated aggregate
/// anywhere.
pub(super) fn exists_as_counts(stmt: &mut Statement) {
    fn conjuncts(expr: &Expr, out: &mut Vec<*const Expr>) {
        match expr {
            Expr::BinaryOp {
                left,
                op: ast::BinaryOperator::And,
                right,
            } => {
                conjuncts(left, out);
                conjuncts(right, out);
            }
            Expr::Nested(inner) => conjuncts(inner, out),
            Expr::Exists { .. } | Expr::InSubquery { .. } => out.push(expr as *const Expr),
            _ => {}
        }
    }
    let mut joined: Vec<*const Expr> = Vec::new();
    struct Wheres<'a>(&'a mut Vec<*const Expr>);
    impl ast::Visitor for Wheres<'_> {
        type Break = ();
        fn pre_visit_select(&mut self, select: &ast::Select) -> std::ops::ControlFlow<()> {
            if let Some(selection) = &select.selection {
                conjuncts(selection, self.0);
            }
            std::ops::ControlFlow::Continue(())
        }
        // UPDATE's and DELETE's WHERE too, whose subqueries are answered
        // before the write (see `session::dml`).
        fn pre_visit_statement(&mut self, statement: &Statement) -> std::ops::ControlFlow<()> {
            match statement {
                Statement::Update(ast::Update {
                    selection: Some(selection),
                    ..
                })
                | Statement::Delete(ast::Delete {
                    selection: Some(selection),
                    ..
                }) => conjuncts(selection, self.0),
                _ => {}
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = ast::Visit::visit(stmt, &mut Wheres(&mut joined));
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        let at = expr as *const Expr;
        if let Expr::Exists { subquery, negated } = expr
            && !joined.contains(&at)
            && let Some(count) = count_of(subquery)
            && let Some(rewritten) = parse_expr(&format!(
                "(({count}) {} 0)",
                if *negated { "=" } else { ">" }
            ))
        {
            *expr = rewritten;
        } else if let Expr::InSubquery {
            expr: value,
            subquery,
            negated,
        } = expr
            && !joined.contains(&at)
            && let Some(rewritten) = parse_expr(&format!(
                "({}(SELECT CASE WHEN count(*) = 0 THEN false \
                 WHEN bool_or(__in.v = ({value})) THEN true \
                 WHEN bool_or(__in.v IS NULL) OR ({value}) IS NULL THEN NULL \
                 ELSE false END FROM ({subquery}) AS __in(v)))",
                if *negated { "NOT " } else { "" }
            ))
        {
            *expr = rewritten;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// `SELECT count(*) FROM … WHERE …` of a plain subquery, which has rows
/// exactly when the count is above 0.
pub(super) fn count_of(query: &Query) -> Option<Query> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let positive_limit = match &query.limit_clause {
        None => true,
        Some(ast::LimitClause::LimitOffset {
            limit: Some(limit),
            offset: None,
            limit_by,
        }) if limit_by.is_empty() => {
            matches!(limit, Expr::Value(v) if matches!(&v.value, Value::Number(n, _) if n != "0"))
        }
        Some(_) => false,
    };
    if !positive_limit
        || query.with.is_some()
        || query.fetch.is_some()
        || select.distinct.is_some()
        || select.having.is_some()
        || !matches!(&select.group_by, ast::GroupByExpr::Expressions(e, _) if e.is_empty())
    {
        return None;
    }
    let mut counted = select.as_ref().clone();
    counted.projection = vec![ast::SelectItem::UnnamedExpr(parse_expr("count(*)")?)];
    Some(Query {
        with: None,
        body: Box::new(SetExpr::Select(Box::new(counted))),
        order_by: None,
        limit_clause: None,
        fetch: None,
        locks: vec![],
        for_clause: None,
        settings: None,
        format_clause: None,
        pipe_operators: vec![],
    })
}

/// A correlated scalar subquery that does not aggregate, such as
/// `(SELECT d.description FROM pg_description d WHERE d.objoid = c.oid)`, reads
/// its value through `pg_single_value` (see there): DataFusion plans only
/// aggregating ones, and PostgreSQL allows any that returns one row at most.
/// Conditions of its WHERE on outer columns alone (`AND a.atthasdef`), which
/// DataFusion cannot decorrelate, move out into `CASE WHEN … THEN (subquery)
/// END`: when they fail, the subquery has no row, so its value is NULL.
/// Catalog queries of SQLAlchemy, pgAdmin and DBeaver are full of these.
pub(super) fn scalar_subqueries_single_value(stmt: &mut Statement) {
    // Subqueries compared with ANY/ALL are sets, not scalars.
    let mut sets: Vec<*const ast::Query> = Vec::new();
    let _ = ast::visit_expressions(stmt, |expr| {
        if let Expr::AnyOp { right, .. } | Expr::AllOp { right, .. } = expr
            && let Expr::Subquery(query) = right.as_ref()
        {
            sets.push(query.as_ref() as *const ast::Query);
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        // `(SELECT count(*) … LIMIT 1)`: an aggregate without GROUP BY is one
        // row, so the limit changes nothing, and DataFusion cannot
        // decorrelate through it (pgAdmin writes these).
        if let Expr::Subquery(query) = expr
            && let Some(ast::LimitClause::LimitOffset {
                limit: Some(Expr::Value(limit)),
                offset: None,
                limit_by,
            }) = &query.limit_clause
            && limit_by.is_empty()
            && matches!(&limit.value, Value::Number(n, _) if n.parse::<u64>().is_ok_and(|n| n >= 1))
            && let SetExpr::Select(select) = query.body.as_ref()
            && matches!(&select.group_by, ast::GroupByExpr::Expressions(e, _) if e.is_empty())
            && select.having.is_none()
            && let [
                ast::SelectItem::UnnamedExpr(value)
                | ast::SelectItem::ExprWithAlias { expr: value, .. },
            ] = select.projection.as_slice()
            && aggregates(value)
        {
            query.limit_clause = None;
        }
        // `(SELECT e FROM … ORDER BY o LIMIT 1)`, correlated: the first value
        // in that order, `first_value(e ORDER BY o)`, an aggregate DataFusion
        // can decorrelate (NULL for no rows, as the subquery is).
        if let Expr::Subquery(query) = expr
            && !sets.contains(&(query.as_ref() as *const ast::Query))
            && let Some(ast::LimitClause::LimitOffset {
                limit: Some(Expr::Value(limit)),
                offset: None,
                limit_by,
            }) = &query.limit_clause
            && limit_by.is_empty()
            && matches!(&limit.value, Value::Number(n, _) if n == "1")
            && query.fetch.is_none()
            && query.with.is_none()
            && correlated(query)
            && let Some(order) = match &query.order_by {
                None => Some(String::new()),
                Some(ast::OrderBy {
                    kind: ast::OrderByKind::Expressions(items),
                    interpolate: None,
                }) => Some(format!(
                    " ORDER BY {}",
                    items
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                Some(_) => None,
            }
            && let SetExpr::Select(select) = query.body.as_mut()
            && select.distinct.is_none()
            && select.having.is_none()
            && matches!(&select.group_by, ast::GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty())
            && let [item] = select.projection.as_mut_slice()
            && let ast::SelectItem::UnnamedExpr(value)
            | ast::SelectItem::ExprWithAlias { expr: value, .. } = item
            && !aggregates(value)
            && let Some(first) = parse_expr(&format!("first_value(({value}){order})"))
        {
            *value = first;
            query.order_by = None;
            query.limit_clause = None;
        }
        if let Expr::Subquery(query) = expr
            && !sets.contains(&(query.as_ref() as *const ast::Query))
            && query.order_by.is_none()
            && query.limit_clause.is_none()
            && query.fetch.is_none()
            && query.with.is_none()
            && correlated(query)
            && let Some(own) = own_relations(query)
            && let SetExpr::Select(select) = query.body.as_mut()
            && select.distinct.is_none()
            && select.having.is_none()
            && matches!(&select.group_by, ast::GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty())
            && let [item] = select.projection.as_mut_slice()
            && let ast::SelectItem::UnnamedExpr(value)
            | ast::SelectItem::ExprWithAlias { expr: value, .. } = item
            && !aggregates(value)
            && let Some(call) = with_holes(
                &format!("{}(__hole0)", crate::functions::SINGLE_VALUE),
                vec![value.clone()],
            )
        {
            *value = call;
            let (outer, inner): (Vec<Expr>, Vec<Expr>) = select
                .selection
                .take()
                .map(conjuncts)
                .unwrap_or_default()
                .into_iter()
                .partition(|c| outer_only(c, &own));
            let inner = outer_columns_through_equalities(inner, &own);
            select.selection = inner.into_iter().reduce(|a, b| Expr::BinaryOp {
                left: Box::new(a),
                op: ast::BinaryOperator::And,
                right: Box::new(b),
            });
            let read = format!("{}(__hole0)", crate::functions::SINGLE_VALUE_OF);
            let subquery = expr.clone();
            let rewritten = match outer.into_iter().reduce(|a, b| Expr::BinaryOp {
                left: Box::new(a),
                op: ast::BinaryOperator::And,
                right: Box::new(b),
            }) {
                None => with_holes(&read, vec![subquery]),
                Some(condition) => with_holes(
                    &format!("CASE WHEN __hole1 THEN {read} END"),
                    vec![subquery, condition],
                ),
            };
            if let Some(rewritten) = rewritten {
                *expr = rewritten;
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// Conditions of a subquery with outer columns replaced, outside of the
/// equalities that correlate it, by the inner columns those equalities make
/// them equal to: with `c.oid = a.attcollation`, `a.attcollation <>
/// t.typcollation` becomes `c.oid <> t.typcollation` (the same rows pass, and
/// a NULL fails the equality either way). DataFusion decorrelates equalities
/// only; psql's `\d` has such a condition.
pub(super) fn outer_columns_through_equalities(conditions: Vec<Expr>, own: &[String]) -> Vec<Expr> {
    let is_outer = |e: &Expr| {
        matches!(e, Expr::CompoundIdentifier(p)
            if p.len() >= 2 && !own.contains(&normalize(&p[p.len() - 2])))
    };
    let is_inner = |e: &Expr| {
        matches!(e, Expr::CompoundIdentifier(p)
            if p.len() >= 2 && own.contains(&normalize(&p[p.len() - 2])))
    };
    let mut equal: Vec<(String, Expr)> = Vec::new();
    let mut correlating = vec![false; conditions.len()];
    for (i, c) in conditions.iter().enumerate() {
        if let Expr::BinaryOp {
            left,
            op: ast::BinaryOperator::Eq,
            right,
        } = c
        {
            let pair = if is_outer(left) && is_inner(right) {
                Some((left, right))
            } else if is_inner(left) && is_outer(right) {
                Some((right, left))
            } else {
                None
            };
            if let Some((outer, inner)) = pair {
                equal.push((
                    outer.to_string().to_ascii_lowercase(),
                    inner.as_ref().clone(),
                ));
                correlating[i] = true;
            }
        }
    }
    conditions
        .into_iter()
        .zip(correlating)
        .map(|(mut c, correlating)| {
            if !correlating {
                let _ = ast::visit_expressions_mut(&mut c, |e| {
                    if is_outer(e)
                        && let Some((_, inner)) = equal
                            .iter()
                            .find(|(o, _)| *o == e.to_string().to_ascii_lowercase())
                    {
                        *e = inner.clone();
                    }
                    std::ops::ControlFlow::<()>::Continue(())
                });
            }
            c
        })
        .collect()
}

/// An expression parsed from `template`, with the identifiers `__hole0`,
/// `__hole1`, … replaced by `parts` (as they are: no text round trip, which
/// would lose what PostgreSQL's syntax cannot spell, such as lambdas).
pub(super) fn with_holes(template: &str, parts: Vec<Expr>) -> Option<Expr> {
    let mut expr = parse_expr(template)?;
    let _ = ast::visit_expressions_mut(&mut expr, |e| {
        if let Expr::Identifier(ident) = e
            && let Some(index) = ident.value.strip_prefix("__hole")
            && let Ok(index) = index.parse::<usize>()
            && let Some(part) = parts.get(index)
        {
            *e = Expr::Nested(Box::new(part.clone()));
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    Some(expr)
}

/// The operands of a chain of ANDs.
pub(super) fn conjuncts(expr: Expr) -> Vec<Expr> {
    match expr {
        Expr::BinaryOp {
            left,
            op: ast::BinaryOperator::And,
            right,
        } => {
            let mut out = conjuncts(*left);
            out.extend(conjuncts(*right));
            out
        }
        Expr::Nested(inner)
            if matches!(
                inner.as_ref(),
                Expr::BinaryOp {
                    op: ast::BinaryOperator::And,
                    ..
                }
            ) =>
        {
            conjuncts(*inner)
        }
        other => vec![other],
    }
}

/// Whether a condition reads only columns of outer relations (named with their
/// relation, none of `own`) and no subquery.
pub(super) fn outer_only(condition: &Expr, own: &[String]) -> bool {
    let (mut outer, mut other) = (false, false);
    let _ = ast::visit_expressions(condition, |e| {
        match e {
            Expr::CompoundIdentifier(parts)
                if parts.len() >= 2 && !own.contains(&normalize(&parts[parts.len() - 2])) =>
            {
                outer = true
            }
            Expr::CompoundIdentifier(_)
            | Expr::Identifier(_)
            | Expr::Subquery(_)
            | Expr::Exists { .. }
            | Expr::InSubquery { .. } => other = true,
            _ => {}
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    outer && !other
}

/// Whether an expression calls an aggregate (by PostgreSQL's names) anywhere,
/// subqueries included (which leaves such a subquery as it was).
pub(super) fn aggregates(expr: &Expr) -> bool {
    const AGGREGATES: &[&str] = &[
        "array_agg",
        "avg",
        "bit_and",
        "bit_or",
        "bit_xor",
        "bool_and",
        "bool_or",
        "corr",
        "count",
        "covar_pop",
        "covar_samp",
        "every",
        // DataFusion's, which the LIMIT 1 rewrite above uses.
        "first_value",
        "json_agg",
        "json_object_agg",
        "jsonb_agg",
        "jsonb_object_agg",
        "max",
        "min",
        "mode",
        "percentile_cont",
        "percentile_disc",
        "regr_avgx",
        "regr_avgy",
        "regr_count",
        "regr_intercept",
        "regr_r2",
        "regr_slope",
        "regr_sxx",
        "regr_sxy",
        "regr_syy",
        "stddev",
        "stddev_pop",
        "stddev_samp",
        "string_agg",
        "sum",
        "var_pop",
        "var_samp",
        "variance",
        "xmlagg",
    ];
    let mut found = false;
    let _ = ast::visit_expressions(expr, |e| {
        if let Expr::Function(f) = e
            && f.over.is_none()
            && let Some(name) = f.name.0.last().and_then(|p| p.as_ident())
            && AGGREGATES.contains(&normalize(name).as_str())
        {
            found = true;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    found
}

/// The names a plain SELECT's FROM gives its relations; None for other queries.
pub(super) fn own_relations(query: &ast::Query) -> Option<Vec<String>> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    own_relations_of(select)
}

/// The names a select's FROM gives its relations (None when it has others
/// than tables and derived tables).
pub(super) fn own_relations_of(select: &ast::Select) -> Option<Vec<String>> {
    let mut own = Vec::new();
    for from in &select.from {
        for factor in std::iter::once(&from.relation).chain(from.joins.iter().map(|j| &j.relation))
        {
            match factor {
                ast::TableFactor::Table { name, alias, .. } => {
                    own.push(match alias {
                        Some(a) => normalize(&a.name),
                        None => object_name_last(name),
                    });
                }
                ast::TableFactor::Derived { alias: Some(a), .. } => own.push(normalize(&a.name)),
                _ => return None,
            }
        }
    }
    Some(own)
}

/// Whether a subquery names a table its own FROM does not (an outer one).
pub(super) fn correlated(query: &ast::Query) -> bool {
    own_relations(query).is_none_or(|own| names_outer(query, &own))
}

/// Whether a part of a query names a relation other than those in `own`.
pub(super) fn names_outer<V: ast::Visit>(node: &V, own: &[String]) -> bool {
    let mut outer = false;
    let _ = ast::visit_expressions(node, |e| {
        if let Expr::CompoundIdentifier(parts) = e
            && parts.len() >= 2
            && !own.contains(&normalize(&parts[parts.len() - 2]))
        {
            outer = true;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    outer
}

/// `x = ANY (subquery)` is `x IN (subquery)` and `x <> ALL (subquery)` is
/// `x NOT IN (subquery)` (the array rewrite would otherwise take them). Other
/// comparisons with ANY/ALL over a subquery read it through a derived table:
/// DataFusion answers them wrongly when the subquery reads the outer query's
/// table under the same name (apache/datafusion#25258).
pub(super) fn set_comparisons_over_subqueries(stmt: &mut Statement) {
    use datafusion::sql::sqlparser::ast::BinaryOperator;
    let wrap = |query: &ast::Query| -> Option<Box<ast::Query>> {
        let sql = format!("SELECT * FROM ({query}) AS __set_comparison");
        let mut parsed =
            datafusion::sql::sqlparser::parser::Parser::parse_sql(&PostgreSqlDialect {}, &sql)
                .ok()?;
        match parsed.pop()? {
            Statement::Query(q) => Some(q),
            _ => None,
        }
    };
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        let replacement = match expr {
            Expr::AnyOp {
                left,
                compare_op: BinaryOperator::Eq,
                right,
                ..
            }
            | Expr::AllOp {
                left,
                compare_op: BinaryOperator::NotEq,
                right,
            } if matches!(right.as_ref(), Expr::Subquery(_)) => {
                let Expr::Subquery(query) = right.as_ref() else {
                    unreachable!()
                };
                Some(Expr::InSubquery {
                    expr: left.clone(),
                    subquery: query.clone(),
                    negated: matches!(expr, Expr::AllOp { .. }),
                })
            }
            Expr::AnyOp { right, .. } | Expr::AllOp { right, .. } => {
                if let Expr::Subquery(query) = right.as_mut()
                    && !correlated(query)
                    && let Some(wrapped) = wrap(query)
                {
                    *query = wrapped;
                }
                None
            }
            _ => None,
        };
        if let Some(replacement) = replacement {
            *expr = replacement;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// DataFusion names every scalar subquery `(<subquery>)`, and plans an
/// `unnest(…)` of a select list through a column named after its argument:
/// two unnests of subqueries in one select list read one column, the
/// first's (pgcli's foreign-key query unnests two, the referenced and the
/// referencing columns). Each such argument gets a name of its own: a CASE
/// on a number that gives it back unchanged.
pub(super) fn unnested_subqueries_told_apart(stmt: &mut Statement) {
    let mut count = 0;
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Function(f) = expr
            && object_name_last(&f.name) == "unnest"
            && let ast::FunctionArguments::List(list) = &mut f.args
            && let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(argument))] =
                list.args.as_mut_slice()
            && matches!(argument, Expr::Subquery(_))
        {
            count += 1;
            if let Some(named) =
                parse_expr(&format!("CASE {count} WHEN {count} THEN {argument} END"))
            {
                *argument = named;
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}
