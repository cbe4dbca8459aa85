//! From SQL text to statements ready to plan.
//!
//! Parsing uses DataFusion's parser with the PostgreSQL dialect. Statements that read
//! the system catalog also go through datafusion-pg-catalog's rewrite rules, which
//! rewrite the shapes psql and drivers send (`OPERATOR(pg_catalog.~)`, `::regclass`,
//! correlated catalog subqueries); its list of whole client queries answered with
//! empty stubs is not used: those queries run. User queries get only the rewrites
//! that keep their meaning.
//!
//! Then the result columns are named the way PostgreSQL names them (`?column?`,
//! `count`, `int4`).
//!
//! This file parses and runs the rewrites in order ([`finish`]); the rewrites
//! themselves are grouped by what they are for:
//! - `naming`: result column names;
//! - `literals`: operators and literals as PostgreSQL reads them, balanced
//!   AND/OR chains;
//! - `ordering`: ORDER BY … USING and FETCH FIRST (… WITH TIES);
//! - `subqueries`, `row_comparisons` and `recursive`: subquery shapes
//!   DataFusion cannot plan as written;
//! - `catalog`: the catalog queries clients send, as lookups;
//! - `copy`: COPY … STDIN/STDOUT; `maintenance`: MOVE, VACUUM and ANALYZE;
//!   `roles`: CREATE USER;
//! - `audit`: statement kinds and password redaction for logs and
//!   pg_stat_activity.

use std::collections::HashMap;
use std::sync::LazyLock;

use datafusion::sql::parser::{DFParser, Statement as DFStatement};
use datafusion::sql::sqlparser::ast::{
    self, Expr, Ident, Query, SelectItem, SetExpr, Statement, UnaryOperator, Value,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion_pg_catalog::sql::PostgresCompatibilityParser;
use datafusion_pg_catalog::sql::rules::{
    CurrentUserVariableToSessionUserFunctionCall, RewriteArrayAnyAllOperation,
    RewritePgCatalogOperator, SqlStatementRewriteRule, StripCollate,
};

use crate::error::{Error, Result};

mod array_literals;
mod audit;
mod calls;
mod catalog;
mod copy;
mod from_functions;
mod inheritance;
mod joins;
mod literals;
mod maintenance;
mod merge_actions;
mod naming;
mod ordering;
mod patterns;
mod recursive;
mod roles;
mod row_comparisons;
mod sequence_options;
mod strings;
mod subqueries;

use array_literals::*;
pub use audit::{classify, redact_passwords};
use calls::*;
use catalog::*;
use copy::*;
use from_functions::*;
use joins::*;
use literals::*;
pub(crate) use maintenance::is_move;
use maintenance::*;
pub use maintenance::{Motion, forward_move, motion};
pub use merge_actions::{DEFAULT_VALUES, DO_NOTHING};
pub use naming::figure_colname;
use naming::*;
use ordering::*;
use patterns::*;
use recursive::*;
use roles::*;
use row_comparisons::*;
use strings::{nonconforming_strings_escaped, unicode_escapes_decoded};
use subqueries::*;

/// Separates a result column's PostgreSQL name from the suffix that keeps
/// DataFusion's projection names unique. Stripped before names reach a client.
pub const NAME_SUFFIX_MARK: char = '\u{1f}';

static CATALOG_PARSER: LazyLock<PostgresCompatibilityParser> =
    LazyLock::new(PostgresCompatibilityParser::new);

/// Whether the text reads the system catalog (then the compatibility parser runs).
fn reads_catalog(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    ["pg_", "information_schema", "::reg", "tableoid"]
        .iter()
        .any(|marker| lower.contains(marker))
}

/// Parses SQL text as a session with `standard_conforming_strings` off reads
/// it (`conforming` false): a backslash escapes in every string, as in
/// `E'…'`.
pub fn parse_with_strings(sql: &str, conforming: bool) -> Result<Vec<DFStatement>> {
    match conforming {
        true => parse(sql),
        false => match nonconforming_strings_escaped(sql)? {
            Some(text) => parse(&text),
            None => parse(sql),
        },
    }
}

/// Parses SQL text into statements, applying the rewrites described above.
pub fn parse(sql: &str) -> Result<Vec<DFStatement>> {
    check_depth(sql)?;
    let decoded = unicode_escapes_decoded(sql)?;
    let sql = decoded.as_deref().unwrap_or(sql);
    if let Some(copy) = parse_copy_stdio(sql)? {
        return Ok(vec![copy]);
    }
    if let Some(fetch) = parse_fetch_or_move(sql)? {
        return Ok(vec![DFStatement::Statement(Box::new(fetch))]);
    }
    if let Some(maintenance) = parse_maintenance(sql)? {
        return Ok(vec![DFStatement::Statement(Box::new(maintenance))]);
    }
    let roles = users_as_roles(sql);
    let sql = roles.as_ref().map_or(sql, |(text, _)| text.as_str());
    let directed = sort_operators_as_directions(sql);
    let sql = directed.as_deref().unwrap_or(sql);
    let spelled = call_spellings(sql);
    let sql = spelled.as_deref().unwrap_or(sql);
    let inherited = inheritance::inheritance_markers_dropped(sql);
    let sql = inherited.as_deref().unwrap_or(sql);
    let ordered = sequence_options::sequence_options_ordered(sql);
    let sql = ordered.as_deref().unwrap_or(sql);
    let merging = merge_actions::merge_actions_spelled(sql);
    let sql = merging.as_deref().unwrap_or(sql);
    let statements = if reads_catalog(sql) {
        let protected = scalar_subqueries_protected(sql);
        let text = protected.as_deref().unwrap_or(sql);
        let parsed =
            datafusion::sql::sqlparser::parser::Parser::parse_sql(&PostgreSqlDialect {}, text);
        match parsed {
            Ok(stmts) => stmts
                .into_iter()
                .map(|mut s| {
                    before_library_rules(&mut s);
                    DFStatement::Statement(Box::new(CATALOG_PARSER.rewrite(s)))
                })
                .collect(),
            // The compatibility parser does not know DataFusion's extensions
            // (CREATE EXTERNAL TABLE, COPY): fall back to the plain path.
            Err(_) => parse_plain(sql)?,
        }
    } else {
        parse_plain(sql)?
    };
    let mut statements = statements;
    for statement in &statements {
        if let DFStatement::Statement(s) = statement {
            array_literals_checked(s)?;
        }
    }
    if let Some((_, creates)) = &roles {
        created_users_log_in(&mut statements, creates);
    }
    Ok(statements.into_iter().map(finish).collect())
}

/// How long a chain of binary operators (`1 + 1 + … + 1`) or of set
/// operations (`SELECT … UNION ALL SELECT … …`) may be. sqlparser bounds the
/// nesting it parses recursively (parentheses, subqueries), but reads such
/// chains in a loop into a tree as deep as the chain is long, which every
/// later step (cloning, rewriting, planning) walks recursively. AND and OR
/// chains are exempt: they are rebuilt balanced ([`balance_boolean_chains`]),
/// except on the catalog parser's path, which walks them first.
const MAX_CHAIN: usize = 4_000;
const MAX_SET_OPERATIONS: usize = 1_000;

/// Refuses (54001) a statement holding a chain longer than [`MAX_CHAIN`] or
/// [`MAX_SET_OPERATIONS`]. Short texts cannot (an operator and its operand
/// take two bytes at least); longer ones are parsed once more to measure
/// their chains, and a refused tree is taken apart without recursion.
fn check_depth(sql: &str) -> Result<()> {
    use datafusion::sql::sqlparser::ast::{BinaryOperator, SetExpr};
    if sql.len() < 2 * MAX_CHAIN.min(MAX_SET_OPERATIONS * 8) || !may_chain(sql) {
        return Ok(());
    }
    let Ok(mut statements) =
        datafusion::sql::sqlparser::parser::Parser::parse_sql(&PostgreSqlDialect {}, sql)
    else {
        return Ok(()); // the real parse reports the error
    };
    struct Measure {
        booleans_too: bool,
    }
    impl ast::VisitorMut for Measure {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &mut Expr) -> std::ops::ControlFlow<()> {
            let mut length = 0;
            let mut at = &*expr;
            while let Expr::BinaryOp { left, op, .. } = at {
                if !self.booleans_too && matches!(op, BinaryOperator::And | BinaryOperator::Or) {
                    break;
                }
                length += 1;
                at = left;
            }
            if length <= MAX_CHAIN {
                return std::ops::ControlFlow::Continue(());
            }
            // Taken apart here, spine first: dropping it whole would recurse.
            let mut rest = std::mem::replace(expr, Expr::value(Value::Null));
            while let Expr::BinaryOp { left, .. } = rest {
                rest = *left;
            }
            std::ops::ControlFlow::Break(())
        }
        fn pre_visit_query(&mut self, query: &mut Query) -> std::ops::ControlFlow<()> {
            let mut length = 0;
            let mut at = query.body.as_ref();
            while let SetExpr::SetOperation { left, .. } = at {
                length += 1;
                at = left;
            }
            if length <= MAX_SET_OPERATIONS {
                return std::ops::ControlFlow::Continue(());
            }
            let mut rest = std::mem::replace(
                query.body.as_mut(),
                SetExpr::Values(ast::Values {
                    explicit_row: false,
                    value_keyword: false,
                    rows: vec![],
                }),
            );
            while let SetExpr::SetOperation { left, .. } = rest {
                rest = *left;
            }
            std::ops::ControlFlow::Break(())
        }
    }
    let mut measure = Measure {
        booleans_too: reads_catalog(sql),
    };
    for statement in &mut statements {
        if ast::VisitMut::visit(statement, &mut measure).is_break() {
            return Err(Error::too_deep());
        }
    }
    Ok(())
}

/// Whether `sql` holds enough operators (symbols, or the words that join
/// operands or queries) for a chain [`check_depth`] would refuse: a cheap
/// scan that spares long plain statements (a big VALUES list) a second parse.
fn may_chain(sql: &str) -> bool {
    let symbols = sql
        .bytes()
        .filter(|b| b"+-*/%^|&<>=~#!@".contains(b))
        .count();
    let lower = sql.to_ascii_lowercase();
    let words: usize = [
        "and",
        "or",
        "like",
        "similar",
        "is",
        "union",
        "except",
        "intersect",
    ]
    .iter()
    .map(|w| lower.matches(w).count())
    .sum();
    symbols + words >= MAX_SET_OPERATIONS
}

/// Reads each parameter the client declared a type for (`declared[i]`, a
/// PostgreSQL type name, for `$i+1`) as a value of that type: `$1` becomes
/// `CAST($1 AS int4)`.
pub fn cast_declared_parameters(statement: &mut DFStatement, declared: &[Option<String>]) {
    if declared.iter().all(Option::is_none) {
        return;
    }
    let DFStatement::Statement(s) = statement else {
        return;
    };
    let _ = ast::visit_expressions_mut(s.as_mut(), |expr| {
        if let Expr::Value(v) = expr
            && let Value::Placeholder(p) = &v.value
            && let Some(index) = p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok())
            && let Some(Some(name)) = declared.get(index.wrapping_sub(1))
            && let Some(cast) = parse_expr(&format!("CAST({p} AS {name})"))
        {
            *expr = cast;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// The text of `tokens` with each range of them `(first, last, text)`
/// replaced by its text (the ranges in order, not overlapping).
fn spliced(
    tokens: &[datafusion::sql::sqlparser::tokenizer::Token],
    replaced: &[(usize, usize, String)],
) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < tokens.len() {
        if let Some((_, last, text)) = replaced.iter().find(|(first, _, _)| *first == i) {
            out.push_str(text);
            i = last + 1;
            continue;
        }
        out.push_str(&tokens[i].to_string());
        i += 1;
    }
    out
}

/// One expression, parsed on its own.
fn parse_expr(sql: &str) -> Option<Expr> {
    let Ok(Statement::Query(query)) = parse_one(&format!("SELECT {sql}")) else {
        return None;
    };
    let SetExpr::Select(select) = *query.body else {
        return None;
    };
    match select.projection.into_iter().next()? {
        ast::SelectItem::UnnamedExpr(e) => Some(e),
        _ => None,
    }
}

fn parse_one(sql: &str) -> std::result::Result<Statement, ()> {
    let mut statements =
        datafusion::sql::sqlparser::parser::Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .map_err(|_| ())?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        _ => Err(()),
    }
}

fn object_name_last(name: &ast::ObjectName) -> String {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map(normalize)
        .unwrap_or_default()
}

fn parse_plain(sql: &str) -> Result<Vec<DFStatement>> {
    let statements = DFParser::parse_sql_with_dialect(sql, &PostgreSqlDialect {}).map_err(|e| {
        match e.find_root() {
            datafusion::error::DataFusionError::SQL(parser, _) => Error::from_parser(parser, sql),
            _ => Error::from_datafusion(e),
        }
    })?;
    let rules: [&dyn SqlStatementRewriteRule; 4] = [
        &RewriteArrayAnyAllOperation,
        &CurrentUserVariableToSessionUserFunctionCall,
        &StripCollate,
        &RewritePgCatalogOperator,
    ];
    Ok(statements
        .into_iter()
        .map(|stmt| plain_rewrites(stmt, &rules))
        .collect())
}

/// What runs before datafusion-pg-catalog's rules: array literals are read
/// as PostgreSQL reads them (its rule splits them at every comma), and
/// columns are named (its rules rewrite `x = ANY (array)` into a function
/// call that would otherwise name the column, and `'{1}'::int[]` into an
/// ARRAY, which names a column `array`).
fn before_library_rules(s: &mut Statement) {
    all_columns_named(s);
    array_literals_read(s);
}

/// The rewrites of [`parse_plain`], of a statement or of the one EXPLAIN
/// explains.
fn plain_rewrites(stmt: DFStatement, rules: &[&dyn SqlStatementRewriteRule]) -> DFStatement {
    match stmt {
        DFStatement::Explain(mut explain) => {
            explain.statement = Box::new(plain_rewrites(*explain.statement, rules));
            DFStatement::Explain(explain)
        }
        DFStatement::Statement(mut s) => {
            balance_boolean_chains(&mut s);
            delete_alias_as_table(&mut s);
            before_library_rules(&mut s);
            set_comparisons_over_subqueries(&mut s);
            fetch_first_as_limit(&mut s);
            let s = rules.iter().fold(*s, |s, rule| rule.rewrite(s));
            DFStatement::Statement(Box::new(s))
        }
        other => other,
    }
}

/// The rewrites every parsed statement goes through, in one ordered list:
/// - AND/OR chains are balanced first, before any rewrite walks them
///   recursively ([`MAX_CHAIN`]);
/// - a `USING` join's merged columns are written out after naming, so that
///   `SELECT k` is still called `k`;
/// - columns are named before the rewrites that change an expression's
///   shape, so that names stay PostgreSQL's (`mod(a, b)` is called `mod`,
///   `to_regtype(…)` is called `to_regtype`);
/// - the subquery rewrites (`EXISTS` as a count, scalar subqueries as
///   single values) run last, over every subquery the earlier ones made
///   (descriptions and signatures become subqueries).
///
/// A `SET` is left as written: its values are settings' text, not
/// expressions to plan.
fn finish(stmt: DFStatement) -> DFStatement {
    match stmt {
        DFStatement::Explain(mut explain) => {
            explain.statement = Box::new(finish(*explain.statement));
            DFStatement::Explain(explain)
        }
        DFStatement::Statement(s) if matches!(*s, Statement::Set(_)) => DFStatement::Statement(s),
        DFStatement::Statement(mut s) => {
            balance_boolean_chains(&mut s);
            float_literals_stay_exact(&mut s);
            all_columns_named(&mut s);
            repeated_columns_told_apart(&mut s);
            subquery_keys_computed_first(&mut s);
            spelled_calls(&mut s);
            type_functions_as_casts(&mut s);
            int4_results(&mut s);
            values_columns_typed_together(&mut s);
            // Before FROM's set-returning functions become UNNEST tables of
            // the same functions' arrays, which are not to be unnested twice.
            set_returning_patterns_unnested(&mut s);
            function_columns_named(&mut s);
            using_columns_merged(&mut s);
            integer_literals_as_int4(&mut s);
            interval_literals_read_like_postgres(&mut s);
            extract_as_function(&mut s);
            at_time_zone_as_function(&mut s);
            make_interval_defaults(&mut s);
            reverse_reg_casts_as_names(&mut s);
            partition_ancestors_empty(&mut s);
            unnested_subqueries_told_apart(&mut s);
            // After naming, so that the columns are still called `mod` and
            // `to_regtype`.
            mod_as_operator(&mut s);
            math_operators_as_functions(&mut s);
            to_regtype_as_lookup(&mut s);
            descriptions_as_lookups(&mut s);
            function_signatures_as_lookups(&mut s);
            recursive_subqueries_rooted(&mut s);
            fields_and_set_functions(&mut s);
            functions_in_from(&mut s);
            like_escape_as_backslash(&mut s);
            patterns_as_regexp(&mut s);
            rows_to_json(&mut s);
            row_in_subqueries_as_exists(&mut s);
            exists_as_counts(&mut s);
            scalar_subqueries_single_value(&mut s);
            DFStatement::Statement(s)
        }
        other => other,
    }
}

/// Whether an expression holds a subquery anywhere: `(SELECT …)`, `IN (SELECT
/// …)`, `EXISTS (…)` or `ARRAY(SELECT …)`.
fn holds_subquery(expr: &Expr) -> bool {
    ast::visit_expressions(expr, |e| match e {
        Expr::Subquery(_) | Expr::InSubquery { .. } | Expr::Exists { .. } => {
            std::ops::ControlFlow::Break(())
        }
        Expr::Function(f) if matches!(f.args, ast::FunctionArguments::Subquery(_)) => {
            std::ops::ControlFlow::Break(())
        }
        _ => std::ops::ControlFlow::Continue(()),
    })
    .is_break()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str) -> Vec<String> {
        let stmt = parse(sql).unwrap().remove(0);
        let DFStatement::Statement(s) = stmt else {
            panic!()
        };
        let Statement::Query(q) = *s else { panic!() };
        let SetExpr::Select(select) = *q.body else {
            panic!()
        };
        select
            .projection
            .iter()
            .map(|item| match item {
                SelectItem::ExprWithAlias { alias, .. } => alias.value.clone(),
                SelectItem::UnnamedExpr(e) => figure_colname(e),
                other => other.to_string(),
            })
            .collect()
    }

    /// CREATE USER becomes CREATE ROLE by editing the keyword alone: a quote
    /// doubled inside a password stays a quote inside the password.
    #[test]
    fn create_user_keeps_the_text_it_was_sent() {
        for sql in [
            "CREATE USER app1 PASSWORD 'x'' SUPERUSER --'",
            "create user app1 with password E'x\\' SUPERUSER --'",
            "select 1;\n  CREATE USER \"ü\" PASSWORD $$x' SUPERUSER$$",
        ] {
            let stmt = parse(sql).unwrap().pop().unwrap();
            let DFStatement::Statement(s) = stmt else {
                panic!("{sql}")
            };
            let Statement::CreateRole(create) = *s else {
                panic!("{sql}: {s}")
            };
            assert_eq!(create.superuser, None, "{sql}");
            assert_eq!(create.login, Some(true), "{sql}");
            assert!(create.password.is_some(), "{sql}");
        }
        let (text, creates) = users_as_roles("drop user a; CREATE USER b").unwrap();
        assert_eq!(text, "drop ROLE a; CREATE ROLE b");
        assert_eq!(creates, vec![1]);
    }

    #[test]
    fn columns_are_named_like_postgres() {
        assert_eq!(names("select 1"), vec!["?column?"]);
        assert_eq!(
            names("select count(*), a, t.b from t"),
            vec!["count", "a", "b"]
        );
        assert_eq!(
            names("select '1'::int, x::text, true, null::boolean"),
            vec!["int4", "x", "?column?", "bool"]
        );
        assert_eq!(
            names(
                "select 1.5::float8::text, case when a then 1 else b end, case when a then 1 end"
            ),
            vec!["text", "b", "case"]
        );
        assert_eq!(names("select 3 = any (array[1, 2])"), vec!["?column?"]);
        assert_eq!(names("select 1 as One, 2 as \"Two\""), vec!["one", "Two"]);
        let dup = names("select 1, 2");
        assert_eq!(dup[0], "?column?");
        assert!(dup[1].starts_with("?column?\u{1f}"));
    }

    #[test]
    fn several_statements_and_errors() {
        assert_eq!(parse("select 1; select 2;").unwrap().len(), 2);
        let err = parse("select * from").unwrap_err();
        assert!(matches!(err, Error::Syntax { .. }), "{err:?}");
        let Error::Syntax { position, .. } = parse("selec 1").unwrap_err() else {
            panic!()
        };
        assert_eq!(position, Some(1));
        let err = parse("select 1 frm e").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Syntax {
                    position: Some(14),
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
