//! ORDER BY and FETCH FIRST as PostgreSQL reads them: `ORDER BY x USING >`,
//! `FETCH FIRST n ROWS ONLY` and `FETCH FIRST n ROWS WITH TIES`.

use super::*;

/// `ORDER BY x USING <` and `USING >` name the sort by its operator; they are
/// `ASC` and `DESC`, which sqlparser reads. Edited in the text, by byte
/// offset, where `USING` is followed by one of the two operators (a join's or
/// a DELETE's `USING` is followed by a name or a parenthesis).
pub(super) fn sort_operators_as_directions(sql: &str) -> Option<String> {
    use datafusion::sql::sqlparser::keywords::Keyword;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    if !sql.to_ascii_lowercase().contains("using") {
        return None;
    }
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize_with_location()
        .ok()?;
    let mut edits = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let Token::Word(word) = &token.token else {
            continue;
        };
        if word.keyword != Keyword::USING {
            continue;
        }
        let Some(next) = tokens[i + 1..]
            .iter()
            .find(|t| !matches!(t.token, Token::Whitespace(_)))
        else {
            continue;
        };
        let direction = match next.token {
            Token::Lt => "ASC",
            Token::Gt => "DESC",
            _ => continue,
        };
        let start = super::roles::byte_offset(sql, token.span.start)?;
        let end = super::roles::byte_offset(sql, next.span.end)?;
        edits.push((start..end, direction));
    }
    if edits.is_empty() {
        return None;
    }
    let mut text = sql.to_string();
    for (range, direction) in edits.into_iter().rev() {
        text.replace_range(range, direction);
    }
    Some(text)
}

/// The names of the ranking columns a `WITH TIES` query is cut by; the
/// outer query leaves them out of its result.
const TIES_RANK: &str = "__ties_rank";
const TIES_ROW: &str = "__ties_row";

/// `FETCH FIRST n ROWS ONLY` (SQL's spelling of LIMIT, which DataFusion does
/// not plan) becomes `LIMIT n`.
///
/// `FETCH FIRST n ROWS WITH TIES` keeps, after the OFFSET, the first n rows
/// and every further row that sorts equal to the n-th. A row is among them
/// when its position is past the offset and its rank (one more than the rows
/// that sort strictly before it) is at most offset + n, so the query becomes
/// `SELECT * EXCLUDE (rank, row) FROM (the query with rank() and
/// row_number() over its ORDER BY) WHERE row > offset AND rank <= offset + n
/// ORDER BY row`. Done for a plain SELECT (not DISTINCT, whose rows exist
/// only after the window functions would run); `PERCENT` stays unsupported.
pub(super) fn fetch_first_as_limit(stmt: &mut Statement) {
    struct Fetches;
    impl ast::VisitorMut for Fetches {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> std::ops::ControlFlow<()> {
            match &query.fetch {
                Some(f) if !f.with_ties && !f.percent => limit_from_fetch(query),
                Some(f) if f.with_ties && !f.percent => {
                    if let Some(cut) = ties_as_ranks(query) {
                        *query = cut;
                    }
                }
                _ => {}
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Fetches);
}

fn one() -> Expr {
    Expr::value(Value::Number("1".into(), false))
}

fn limit_from_fetch(query: &mut Query) {
    let quantity = query
        .fetch
        .take()
        .and_then(|f| f.quantity)
        .unwrap_or_else(one);
    match &mut query.limit_clause {
        None => {
            query.limit_clause = Some(ast::LimitClause::LimitOffset {
                limit: Some(quantity),
                offset: None,
                limit_by: Vec::new(),
            })
        }
        Some(ast::LimitClause::LimitOffset { limit, .. }) if limit.is_none() => {
            *limit = Some(quantity)
        }
        // Both LIMIT and FETCH: leave it for the planner to refuse.
        Some(_) => {
            query.fetch = Some(ast::Fetch {
                with_ties: false,
                percent: false,
                quantity: Some(quantity),
            })
        }
    }
}

/// The `WITH TIES` query as a cut by rank (see [`fetch_first_as_limit`]), or
/// None when its shape is not one this handles.
fn ties_as_ranks(query: &Query) -> Option<Query> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    if select.distinct.is_some() {
        return None;
    }
    let ast::OrderByKind::Expressions(keys) = &query.order_by.as_ref()?.kind else {
        return None;
    };
    let offset = match &query.limit_clause {
        None => None,
        Some(ast::LimitClause::LimitOffset {
            limit: None,
            offset,
            limit_by,
        }) if limit_by.is_empty() => offset.as_ref().map(|o| o.value.clone()),
        Some(_) => return None,
    };
    let quantity = query.fetch.as_ref()?.quantity.clone().unwrap_or_else(one);
    // The keys as the select list's own expressions: a window's ORDER BY
    // does not see output names or positions.
    let keys: Vec<String> = keys
        .iter()
        .map(|key| {
            let mut key = key.clone();
            key.expr = select_item_named(&select.projection, &key.expr)?;
            Some(key.to_string())
        })
        .collect::<Option<_>>()?;
    let window = format!("OVER (ORDER BY {})", keys.join(", "));
    let mut inner = select.clone();
    for (function, name) in [("rank", TIES_RANK), ("row_number", TIES_ROW)] {
        inner.projection.push(SelectItem::ExprWithAlias {
            expr: parse_expr(&format!("{function}() {window}"))?,
            alias: Ident::new(name),
        });
    }
    let offset = offset.map_or_else(|| "0".to_string(), |o| format!("({o})"));
    let Ok(Statement::Query(mut cut)) = parse_one(&format!(
        "SELECT * FROM (SELECT 1) AS __ties \
         WHERE {TIES_ROW} > {offset} AND {TIES_RANK} <= {offset} + ({quantity}) \
         ORDER BY {TIES_ROW}"
    )) else {
        return None;
    };
    let SetExpr::Select(outer) = cut.body.as_mut() else {
        return None;
    };
    if let Some(SelectItem::Wildcard(options)) = outer.projection.first_mut() {
        options.opt_exclude = Some(ast::ExcludeSelectItem::Multiple(vec![
            ast::ObjectName::from(vec![Ident::new(TIES_RANK)]),
            ast::ObjectName::from(vec![Ident::new(TIES_ROW)]),
        ]));
    }
    let ast::TableFactor::Derived { subquery, .. } = &mut outer.from.first_mut()?.relation else {
        return None;
    };
    *subquery.body = SetExpr::Select(inner);
    cut.with = query.with.clone();
    cut.locks = query.locks.clone();
    Some(*cut)
}

/// An ORDER BY key as an expression over the select's input: a position
/// (`ORDER BY 1`) or an output name (`ORDER BY total`) becomes the select
/// item's expression; anything else stays as written. None for a position
/// that names `*`.
fn select_item_named(projection: &[SelectItem], key: &Expr) -> Option<Expr> {
    let item_expr = |item: &SelectItem| match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e.clone()),
        _ => None,
    };
    match key {
        Expr::Value(v) if matches!(&v.value, Value::Number(..)) => {
            let Value::Number(n, _) = &v.value else {
                return None;
            };
            let position: usize = n.parse().ok()?;
            item_expr(projection.get(position.checked_sub(1)?)?)
        }
        Expr::Identifier(name) => Some(
            projection
                .iter()
                .find_map(|item| match item {
                    SelectItem::ExprWithAlias { expr, alias }
                        if alias.value == name.value && expr != key =>
                    {
                        Some(expr.clone())
                    }
                    _ => None,
                })
                .unwrap_or_else(|| key.clone()),
        ),
        other => Some(other.clone()),
    }
}

/// `ORDER BY` a key with a subquery in it (`CASE WHEN x IN (SELECT …) THEN
/// 0 ELSE 1 END`, as Grafana sorts tables), which DataFusion refuses in a
/// sort: the key is computed as a hidden column of the select, and the rows
/// are sorted (and cut by LIMIT/OFFSET) outside it, `SELECT * EXCLUDE
/// (hidden) FROM (the select with its keys) ORDER BY hidden`. Keys that
/// name an output column or its position stay as they are; other keys
/// become hidden columns too, since the outside sees only the output. Done
/// for a plain SELECT (not DISTINCT, whose ORDER BY lists output columns).
/// A qualified key that an output column's name shadows (`CASE a.t … END AS
/// t … ORDER BY a.t`, as pgAdmin sorts) is sorted outside so as well.
pub(super) fn subquery_keys_computed_first(stmt: &mut Statement) {
    struct Keys;
    impl ast::VisitorMut for Keys {
        type Break = ();
        fn post_visit_query(&mut self, query: &mut Query) -> std::ops::ControlFlow<()> {
            if let Some(sorted) = sorted_outside(query) {
                *query = sorted;
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Keys);
}

fn sorted_outside(query: &Query) -> Option<Query> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let ast::OrderByKind::Expressions(keys) = &query.order_by.as_ref()?.kind else {
        return None;
    };
    if select.distinct.is_some() {
        return None;
    }
    let outputs: Vec<String> = select
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(normalize(alias)),
            SelectItem::UnnamedExpr(e) => Some(figure_colname(e)),
            _ => None,
        })
        .collect();
    // `ORDER BY a.x` where an output column computed otherwise is named x:
    // PostgreSQL sorts by the input column; DataFusion finds both.
    let shadowed = |key: &Expr| match key {
        Expr::CompoundIdentifier(parts) => {
            let name = parts.last().map(normalize);
            select.projection.iter().any(|item| match item {
                SelectItem::ExprWithAlias { alias, expr } => {
                    Some(normalize(alias)) == name
                        && !matches!(expr, Expr::CompoundIdentifier(p) if p == parts)
                }
                _ => false,
            })
        }
        _ => false,
    };
    if !keys
        .iter()
        .any(|k| holds_subquery(&k.expr) || shadowed(&k.expr))
    {
        return None;
    }
    let mut inner = select.clone();
    let mut hidden = Vec::new();
    let mut outer_keys = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let output = match &key.expr {
            Expr::Value(v) => matches!(v.value, Value::Number(..)),
            Expr::Identifier(name) => outputs.contains(&normalize(name)),
            _ => false,
        };
        let mut key = key.clone();
        if !output {
            let name = format!("{NAME_SUFFIX_MARK}key{i}");
            inner.projection.push(SelectItem::ExprWithAlias {
                expr: key.expr.clone(),
                alias: Ident::with_quote('"', name.clone()),
            });
            key.expr = Expr::Identifier(Ident::with_quote('"', name.clone()));
            hidden.push(ast::ObjectName::from(vec![Ident::with_quote('"', name)]));
        }
        outer_keys.push(key);
    }
    let Ok(Statement::Query(mut sorted)) = parse_one("SELECT * FROM (SELECT 1) AS __sorted") else {
        return None;
    };
    let SetExpr::Select(outer) = sorted.body.as_mut() else {
        return None;
    };
    if let Some(SelectItem::Wildcard(options)) = outer.projection.first_mut() {
        options.opt_exclude = Some(ast::ExcludeSelectItem::Multiple(hidden));
    }
    let ast::TableFactor::Derived { subquery, .. } = &mut outer.from.first_mut()?.relation else {
        return None;
    };
    *subquery.body = SetExpr::Select(inner);
    sorted.order_by = Some(ast::OrderBy {
        kind: ast::OrderByKind::Expressions(outer_keys),
        interpolate: None,
    });
    sorted.limit_clause = query.limit_clause.clone();
    sorted.fetch = query.fetch.clone();
    sorted.with = query.with.clone();
    sorted.locks = query.locks.clone();
    Some(*sorted)
}
