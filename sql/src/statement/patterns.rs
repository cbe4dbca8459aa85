//! Pattern matching with PostgreSQL's regular expressions: the operators,
//! `SIMILAR TO` and `substring`'s pattern forms call the functions of
//! `functions::regex`, and its set-returning functions are unnested arrays.

use super::*;
use crate::functions::regex::MATCHES_ARRAY;

/// - `a ~ p`, `a ~* p`, `a !~ p` and `a !~* p` are `[NOT] regexp_like(a, p
///   [, 'i'])`;
/// - `a [NOT] SIMILAR TO p [ESCAPE e]` is `[NOT] regexp_like(a,
///   similar_to_escape(p [, e]))`;
/// - `substring(t FROM 'pattern')` is the part of `t` that matches the
///   pattern's first parenthesized group (or the whole pattern), NULL when
///   nothing matches; `substring(t FROM p FOR e)` the same with SQL pattern
///   `p` and escape `e`, whose part between the `e"` separators is returned.
pub(super) fn patterns_as_regexp(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        let rewritten = match expr {
            Expr::BinaryOp { left, op, right } => {
                let (negated, flags) = match op {
                    ast::BinaryOperator::PGRegexMatch => (false, ""),
                    ast::BinaryOperator::PGRegexIMatch => (false, ", 'i'"),
                    ast::BinaryOperator::PGRegexNotMatch => (true, ""),
                    ast::BinaryOperator::PGRegexNotIMatch => (true, ", 'i'"),
                    _ => return std::ops::ControlFlow::Continue(()),
                };
                let not = if negated { "NOT " } else { "" };
                parse_expr(&format!("{not}regexp_like(({left}), ({right}){flags})"))
            }
            Expr::SimilarTo {
                negated,
                expr: text,
                pattern,
                escape_char,
            } => {
                let not = if *negated { "NOT " } else { "" };
                let escape = escape_char
                    .as_ref()
                    .map_or(String::new(), |e| format!(", {e}"));
                parse_expr(&format!(
                    "{not}regexp_like(({text}), similar_to_escape(({pattern}){escape}))"
                ))
            }
            Expr::Substring {
                expr: text,
                substring_from: Some(from),
                substring_for,
                ..
            } if is_text_literal(from)
                && substring_for.as_deref().is_none_or(|e| {
                    is_text_literal(e) || matches!(e, Expr::Value(v) if v.value == Value::Null)
                }) =>
            {
                let pattern = match substring_for {
                    None => from.to_string(),
                    Some(escape) => format!("similar_to_escape(({from}), ({escape}))"),
                };
                parse_expr(&format!("(regexp_match(({text}), {pattern}))[1]"))
            }
            _ => None,
        };
        if let Some(rewritten) = rewritten {
            *expr = rewritten;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// A string literal, or a cast of one to text.
fn is_text_literal(expr: &Expr) -> bool {
    match expr {
        Expr::Value(v) => matches!(v.value, Value::SingleQuotedString(_)),
        Expr::Nested(inner) => is_text_literal(inner),
        _ => false,
    }
}

/// `regexp_matches(…)` and `regexp_split_to_table(…)` where an expression
/// is expected (a select list): the unnested array of their rows.
pub(super) fn set_returning_patterns_unnested(stmt: &mut Statement) {
    series_selects_from_tables(stmt);
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Function(f) = expr
            && let Some(array) = set_returning_pattern_array(&f.name, &f.args)
        {
            // json's elements leave the array as text: cast back to their type.
            let typed = match object_name_last(&f.name).as_str() {
                "json_array_elements" => "::json",
                "jsonb_array_elements" => "::jsonb",
                _ => "",
            };
            *expr = array;
            if let Some(call) = parse_expr(&format!("unnest({expr}){typed}")) {
                *expr = call;
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// `SELECT generate_series(constants)`, the whole select list of a SELECT
/// without FROM, reads the series as a table, whose rows stream (a LIMIT
/// stops an endless series) where an unnested array would be built whole.
fn series_selects_from_tables(stmt: &mut Statement) {
    let _ = ast::visit_statements_mut(stmt, |s| {
        let Statement::Query(query) = s else {
            return std::ops::ControlFlow::<()>::Continue(());
        };
        let SetExpr::Select(select) = query.body.as_mut() else {
            return std::ops::ControlFlow::Continue(());
        };
        let [item] = select.projection.as_slice() else {
            return std::ops::ControlFlow::Continue(());
        };
        let (call, column) = match item {
            SelectItem::ExprWithAlias { expr, alias } => (expr, alias.clone()),
            SelectItem::UnnamedExpr(expr) => (expr, Ident::new("generate_series")),
            _ => return std::ops::ControlFlow::Continue(()),
        };
        if !select.from.is_empty() || select.selection.is_some() {
            return std::ops::ControlFlow::Continue(());
        }
        let Expr::Function(f) = call else {
            return std::ops::ControlFlow::Continue(());
        };
        let ast::FunctionArguments::List(list) = &f.args else {
            return std::ops::ControlFlow::Continue(());
        };
        if object_name_last(&f.name) != "generate_series"
            || !list.clauses.is_empty()
            || !super::naming::constant_arguments(&list.args)
        {
            return std::ops::ControlFlow::Continue(());
        }
        let mut args = list.args.clone();
        super::naming::datetime_casts_as_input_calls(&mut args);
        let Ok(Statement::Query(from)) = parse_one(&format!(
            "SELECT s.{column} AS {column} FROM {}({}) AS s({column})",
            f.name,
            args.iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )) else {
            return std::ops::ControlFlow::Continue(());
        };
        let SetExpr::Select(table) = *from.body else {
            return std::ops::ControlFlow::Continue(());
        };
        select.projection = table.projection;
        select.from = table.from;
        std::ops::ControlFlow::Continue(())
    });
}

/// The array of the rows a call of `regexp_matches` or
/// `regexp_split_to_table` returns, or None for another function.
pub(super) fn set_returning_pattern_array(
    name: &ast::ObjectName,
    args: &ast::FunctionArguments,
) -> Option<Expr> {
    let function = match object_name_last(name).as_str() {
        "regexp_matches" => MATCHES_ARRAY,
        "regexp_split_to_table" => "regexp_split_to_array",
        // The function itself returns its rows as an array.
        "generate_series" => "generate_series",
        other => crate::json::functions::set_returning_array(other)?,
    };
    let ast::FunctionArguments::List(list) = args else {
        return None;
    };
    parse_expr(&format!("{function}({})", list))
}
