//! From SQL text to statements ready to plan.
//!
//! Parsing uses DataFusion's parser with the PostgreSQL dialect. Statements that read
//! the system catalog go through datafusion-pg-catalog's compatibility parser, which
//! rewrites the shapes psql and drivers send (`OPERATOR(pg_catalog.~)`, `::regclass`,
//! correlated catalog subqueries) and answers some catalog probes with empty stubs.
//! User queries get only the rewrites that keep their meaning.
//!
//! Then the result columns are named the way PostgreSQL names them (`?column?`,
//! `count`, `int4`), and bare integer literals in the select list become int4.

use std::collections::HashMap;
use std::sync::LazyLock;

use datafusion::sql::parser::{DFParser, Statement as DFStatement};
use datafusion::sql::sqlparser::ast::{
    self, Expr, Ident, Query, SelectItem, SetExpr, Statement, UnaryOperator, Value,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion_pg_catalog::sql::PostgresCompatibilityParser;
use datafusion_pg_catalog::sql::rules::{
    CurrentUserVariableToSessionUserFunctionCall, FixArrayLiteral, RewriteArrayAnyAllOperation,
    RewritePgCatalogOperator, SqlStatementRewriteRule, StripCollate,
};

use crate::error::{Error, Result};

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

/// Parses SQL text into statements, applying the rewrites described above.
pub fn parse(sql: &str) -> Result<Vec<DFStatement>> {
    check_depth(sql)?;
    if let Some(copy) = parse_copy_stdio(sql)? {
        return Ok(vec![copy]);
    }
    let roles = users_as_roles(sql);
    let sql = roles.as_ref().map_or(sql, |(text, _)| text.as_str());
    let statements = if reads_catalog(sql) {
        let protected = scalar_subqueries_protected(sql);
        match CATALOG_PARSER.parse(protected.as_deref().unwrap_or(sql)) {
            Ok(stmts) => stmts
                .into_iter()
                .map(|s| DFStatement::Statement(Box::new(s)))
                .collect(),
            // The compatibility parser does not know DataFusion's extensions
            // (CREATE EXTERNAL TABLE, COPY): fall back to the plain path.
            Err(_) => parse_plain(sql)?,
        }
    } else {
        parse_plain(sql)?
    };
    let mut statements = statements;
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

/// Whether a cast is to `regclass` (or `pg_catalog.regclass`).
fn is_regclass(data_type: &ast::DataType) -> bool {
    match data_type {
        ast::DataType::Regclass => true,
        ast::DataType::Custom(name, args) => {
            args.is_empty()
                && name
                    .0
                    .last()
                    .and_then(|p| p.as_ident())
                    .is_some_and(|i| i.value.eq_ignore_ascii_case("regclass"))
        }
        _ => false,
    }
}

/// `regclass(name)`: the OID `name::regclass` stands for.
fn regclass_of(name: Expr) -> Expr {
    Expr::Function(ast::Function {
        name: ast::ObjectName::from(vec![Ident::new("regclass")]),
        uses_odbc_syntax: false,
        parameters: ast::FunctionArguments::None,
        args: ast::FunctionArguments::List(ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: vec![ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(name))],
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

/// The `tableoid` system column of a relation named in a FROM clause
/// (`cls.tableoid`, as pgAdmin joins pg_depend with it) is the relation's own
/// OID. Returns whether the select changed.
fn table_oids_as_lookups(select: &mut ast::Select) -> bool {
    let mut relations: HashMap<String, String> = HashMap::new();
    for from in &select.from {
        let joined = std::iter::once(&from.relation).chain(from.joins.iter().map(|j| &j.relation));
        for factor in joined {
            if let ast::TableFactor::Table { name, alias, .. } = factor {
                let key = match alias {
                    Some(alias) => alias.name.value.to_lowercase(),
                    None => match name.0.last().and_then(|p| p.as_ident()) {
                        Some(ident) => ident.value.to_lowercase(),
                        None => continue,
                    },
                };
                relations.insert(key, name.to_string());
            }
        }
    }
    if relations.is_empty() {
        return false;
    }
    let mut changed = false;
    let _ = ast::visit_expressions_mut(select, |expr| {
        if let Expr::CompoundIdentifier(parts) = expr
            && let [qualifier, column] = parts.as_slice()
            && column.value.eq_ignore_ascii_case("tableoid")
            && let Some(name) = relations.get(&qualifier.value.to_lowercase())
        {
            *expr = regclass_of(Expr::value(Value::SingleQuotedString(name.clone())));
            changed = true;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    changed
}

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
fn scalar_subqueries_protected(sql: &str) -> Option<String> {
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

/// `COPY … FROM STDIN` and `COPY … TO STDOUT`, which DataFusion's parser does
/// not read (it knows only `COPY … TO 'file'`). They are parsed alone: data
/// after `FROM STDIN;` would be read as inline rows.
fn parse_copy_stdio(sql: &str) -> Result<Option<DFStatement>> {
    use datafusion::sql::sqlparser::ast::{CopyTarget, Statement};
    let words: Vec<String> = sql
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .take(64)
        .map(str::to_ascii_lowercase)
        .collect();
    let is_copy = sql
        .trim_start()
        .get(..4)
        .is_some_and(|w| w.eq_ignore_ascii_case("copy"));
    if !is_copy {
        return Ok(None);
    }
    let stdio = words.iter().any(|w| w == "stdin" || w == "stdout");
    // sqlparser reads FORCE_QUOTE only with a column list; `*` becomes a
    // column named "*", which COPY's options read as "every column".
    let sql = &force_quote_all(sql);
    let mut statements =
        match datafusion::sql::sqlparser::parser::Parser::parse_sql(&PostgreSqlDialect {}, sql) {
            Ok(statements) => statements,
            Err(e) if stdio => return Err(Error::from_parser(&e, sql)),
            // Not PostgreSQL's COPY: DataFusion's (COPY … TO 'file' STORED AS …).
            Err(_) => return Ok(None),
        };
    if let [
        Statement::Copy {
            target: CopyTarget::File { .. },
            ..
        },
    ] = statements.as_slice()
    {
        return Ok(Some(DFStatement::Statement(Box::new(statements.remove(0)))));
    }
    if !stdio {
        return Ok(None);
    }
    match statements.as_slice() {
        [
            Statement::Copy {
                target: CopyTarget::Stdin | CopyTarget::Stdout,
                values,
                ..
            },
        ] if values.iter().all(Option::is_none) || values.is_empty() => {
            Ok(Some(DFStatement::Statement(Box::new(statements.remove(0)))))
        }
        [
            Statement::Copy {
                target: CopyTarget::Stdin,
                ..
            },
        ] => Err(Error::FeatureNotSupported(
            "COPY FROM STDIN must be the last statement of a query string".into(),
        )),
        _ => Err(Error::FeatureNotSupported(
            "COPY FROM STDIN and COPY TO STDOUT must be sent as a statement of their own".into(),
        )),
    }
}

/// `CREATE USER`, `ALTER USER` and `DROP USER` are PostgreSQL's ROLE
/// statements (CREATE USER with LOGIN unless told otherwise), but sqlparser
/// reads CREATE USER in another dialect's form. The keyword is swapped for
/// ROLE where it starts a statement, in the original text by byte offset (the
/// rest of the text, its quoting included, is kept as the client sent it);
/// returns the new text and the positions (statement numbers) of the CREATE USERs.
fn users_as_roles(sql: &str) -> Option<(String, Vec<usize>)> {
    use datafusion::sql::sqlparser::keywords::Keyword;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    if !sql.to_ascii_lowercase().contains("user") {
        return None;
    }
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize_with_location()
        .ok()?;
    let mut statement = 0;
    let mut at_start = true;
    let mut creates = Vec::new();
    let mut swaps = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        match &token.token {
            Token::Whitespace(_) => {}
            Token::SemiColon => {
                statement += 1;
                at_start = true;
            }
            Token::Word(verb) if at_start => {
                at_start = false;
                if matches!(
                    verb.keyword,
                    Keyword::CREATE | Keyword::ALTER | Keyword::DROP
                ) && let Some(next) = tokens[i + 1..]
                    .iter()
                    .find(|t| !matches!(t.token, Token::Whitespace(_)))
                    && matches!(&next.token, Token::Word(w) if w.keyword == Keyword::USER)
                {
                    swaps
                        .push(byte_offset(sql, next.span.start)?..byte_offset(sql, next.span.end)?);
                    if verb.keyword == Keyword::CREATE {
                        creates.push(statement);
                    }
                }
            }
            _ => at_start = false,
        }
    }
    if swaps.is_empty() {
        return None;
    }
    let mut text = sql.to_string();
    for range in swaps.into_iter().rev() {
        text.replace_range(range, "ROLE");
    }
    Some((text, creates))
}

/// The byte offset in `sql` of a tokenizer location (1-based line and
/// character column).
fn byte_offset(sql: &str, at: datafusion::sql::sqlparser::tokenizer::Location) -> Option<usize> {
    let line_start = if at.line <= 1 {
        0
    } else {
        sql.match_indices('\n')
            .nth(usize::try_from(at.line).ok()? - 2)?
            .0
            + 1
    };
    let column = usize::try_from(at.column).ok()?.checked_sub(1)?;
    let rest = &sql[line_start..];
    Some(
        line_start
            + rest
                .char_indices()
                .nth(column)
                .map_or(rest.len(), |(offset, _)| offset),
    )
}

/// CREATE USER logs in unless told otherwise.
fn created_users_log_in(statements: &mut [DFStatement], creates: &[usize]) {
    use datafusion::sql::sqlparser::ast::Statement;
    for n in creates {
        if let Some(DFStatement::Statement(s)) = statements.get_mut(*n)
            && let Statement::CreateRole(create) = s.as_mut()
        {
            create.login = create.login.or(Some(true));
        }
    }
}

/// `FORCE_QUOTE *` → `FORCE_QUOTE ("*")` (outside quoted text).
fn force_quote_all(sql: &str) -> String {
    let lower = sql.to_ascii_lowercase();
    let mut out = String::with_capacity(sql.len() + 4);
    let mut rest = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find("force_quote") {
        let keyword_end = search + found + "force_quote".len();
        let after = &sql[keyword_end..];
        let star = after.len() - after.trim_start().len();
        if after.trim_start().starts_with('*') {
            out.push_str(&sql[rest..keyword_end + star]);
            out.push_str("(\"*\")");
            rest = keyword_end + star + 1;
        }
        search = keyword_end;
    }
    out.push_str(&sql[rest..]);
    out
}

/// `mod(a, b)` is PostgreSQL's spelling of `a % b`, which DataFusion lacks.
fn mod_as_operator(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Function(f) = expr
            && f.name.0.len() == 1
            && f.name.to_string().eq_ignore_ascii_case("mod")
            && let ast::FunctionArguments::List(list) = &f.args
            && list.duplicate_treatment.is_none()
            && list.clauses.is_empty()
            && let [
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a)),
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(b)),
            ] = list.args.as_slice()
        {
            *expr = Expr::BinaryOp {
                left: Box::new(Expr::Nested(Box::new(a.clone()))),
                op: ast::BinaryOperator::Modulo,
                right: Box::new(Expr::Nested(Box::new(b.clone()))),
            };
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// `to_regtype(name)`: the OID of the type called `name` (as in pg_type, or as
/// `format_type` spells it: `integer`, `character varying`), NULL when there is
/// none — read as a lookup in pg_type (`max`, so that no match is a NULL the
/// planner expects). psycopg (and so SQLAlchemy) asks it for `hstore` on every
/// connection.
fn to_regtype_as_lookup(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Function(f) = expr
            && matches!(
                f.name.to_string().to_ascii_lowercase().as_str(),
                "to_regtype" | "pg_catalog.to_regtype"
            )
            && let ast::FunctionArguments::List(list) = &f.args
            && list.duplicate_treatment.is_none()
            && list.clauses.is_empty()
            && let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(name))] =
                list.args.as_slice()
            && let Ok(Statement::Query(lookup)) = parse_one(&format!(
                "SELECT max(oid) FROM pg_catalog.pg_type \
                 WHERE typname = ({name}) OR format_type(oid, NULL) = ({name})"
            ))
        {
            *expr = Expr::Subquery(lookup);
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// `x LIKE p ESCAPE '/'`: DataFusion's LIKE knows only the backslash as
/// escape, so the pattern is rewritten for it (`pg_like_escape`).
/// SQLAlchemy's inspector writes `nspname NOT LIKE $1 || '%' ESCAPE '/'`.
fn like_escape_as_backslash(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Like {
            pattern,
            escape_char,
            ..
        }
        | Expr::ILike {
            pattern,
            escape_char,
            ..
        } = expr
            && let Some(escape) = escape_char
            && !matches!(&escape.value, Value::SingleQuotedString(e) if e == "\\")
            && let Some(rewritten) = parse_expr(&format!("pg_like_escape(({pattern}), {escape})"))
        {
            **pattern = rewritten;
            *escape_char = None;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// `substring(text FROM 'pattern')` with a string for FROM is PostgreSQL's
/// regular-expression form: the part of the text that matches the pattern's
/// first parenthesized group (or the whole pattern), NULL when nothing
/// matches. pgAdmin reads table options with it.
fn substring_patterns_as_regexp(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Substring {
            expr: text,
            substring_from: Some(from),
            substring_for: None,
            ..
        } = expr
            && let Expr::Value(v) = from.as_ref()
            && let Value::SingleQuotedString(_) = v.value
            && let Some(rewritten) = parse_expr(&format!("(regexp_match(({text}), {from}))[1]"))
        {
            *expr = rewritten;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// An OID shown as regclass or regtype (`c.oid::regclass` as a column of
/// the result, or cast on to text) is the relation's or the type's name, as
/// PostgreSQL prints these types; compared, it stays the number it is.
fn reverse_reg_casts_as_names(stmt: &mut Statement) {
    fn named(expr: &mut Expr) -> bool {
        // `to_regtype('int4')` is a regtype, shown as `integer`.
        if let Expr::Function(f) = expr
            && object_name_last(&f.name) == "to_regtype"
            && let Some(name) = parse_expr(&format!("format_type({expr}, NULL)"))
        {
            *expr = name;
            return true;
        }
        // `'t'::regclass`, looked up already (see scalar_subqueries_protected).
        if let Expr::Function(f) = expr
            && object_name_last(&f.name) == "regclass"
            && let Some(name) = parse_expr(&format!("regclass_name(CAST(({expr}) AS BIGINT))"))
        {
            *expr = name;
            return true;
        }
        let Expr::Cast {
            expr: inner,
            data_type,
            ..
        } = expr
        else {
            return false;
        };
        if matches!(inner.as_ref(), Expr::Value(_)) {
            return false;
        }
        let kind = match data_type {
            ast::DataType::Regclass => "regclass",
            ast::DataType::Custom(name, args) if args.is_empty() => {
                match object_name_last(name).as_str() {
                    "regclass" => "regclass",
                    "regtype" => "regtype",
                    _ => return false,
                }
            }
            _ => return false,
        };
        let function = match kind {
            "regclass" => format!("regclass_name(CAST(({inner}) AS BIGINT))"),
            _ => format!("format_type({inner}, NULL)"),
        };
        match parse_expr(&function) {
            Some(name) => {
                *expr = name;
                true
            }
            None => false,
        }
    }
    // Cast on to text, in a select list or a WHERE clause (in an ORDER BY,
    // DataFusion would find the select list's column of the same text
    // ambiguous).
    fn as_text(expr: &mut Expr) {
        let _ = ast::visit_expressions_mut(expr, |expr| {
            if let Expr::Cast {
                expr: inner,
                data_type:
                    ast::DataType::Text | ast::DataType::Varchar(_) | ast::DataType::CharacterVarying(_),
                ..
            } = expr
                && named(inner)
            {
                let name = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
                *expr = name;
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
    }
    struct Shown;
    impl ast::VisitorMut for Shown {
        type Break = ();
        fn pre_visit_select(&mut self, select: &mut ast::Select) -> std::ops::ControlFlow<()> {
            for item in &mut select.projection {
                if let ast::SelectItem::UnnamedExpr(e)
                | ast::SelectItem::ExprWithAlias { expr: e, .. } = item
                {
                    let shown = named(e);
                    as_text(e);
                    // The name stays the column's (`oid`), but DataFusion must
                    // not take it for that column, which ORDER BY may read.
                    if shown
                        && let ast::SelectItem::ExprWithAlias { alias, .. } = item
                        && !alias.value.contains(NAME_SUFFIX_MARK)
                    {
                        alias.value = format!("{}{NAME_SUFFIX_MARK}name", alias.value);
                    }
                }
            }
            if let Some(selection) = &mut select.selection {
                as_text(selection);
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Shown);
}

/// `row_to_json(t)` of a derived table `t` whose columns the query names (as
/// pgAdmin's dashboard queries do): the JSON object of those columns, written
/// as row_to_json writes it.
fn rows_to_json(stmt: &mut Statement) {
    struct Rows;
    impl ast::VisitorMut for Rows {
        type Break = ();
        fn pre_visit_select(&mut self, select: &mut ast::Select) -> std::ops::ControlFlow<()> {
            {
                let mut columns: HashMap<String, Vec<String>> = HashMap::new();
                for from in &select.from {
                    if let ast::TableFactor::Derived {
                        subquery,
                        alias: Some(alias),
                        ..
                    } = &from.relation
                        && let Some(names) = derived_columns(subquery, alias)
                    {
                        columns.insert(normalize(&alias.name), names);
                    }
                }
                if !columns.is_empty() {
                    for item in &mut select.projection {
                        let _ = ast::visit_expressions_mut(item, |expr| {
                            if let Some(object) = row_json(expr, &columns) {
                                *expr = object;
                            }
                            std::ops::ControlFlow::<()>::Continue(())
                        });
                    }
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Rows);
}

/// The column names of a derived table, when the query spells them.
fn derived_columns(subquery: &Query, alias: &ast::TableAlias) -> Option<Vec<String>> {
    if !alias.columns.is_empty() {
        return Some(alias.columns.iter().map(|c| normalize(&c.name)).collect());
    }
    let SetExpr::Select(select) = subquery.body.as_ref() else {
        return None;
    };
    select
        .projection
        .iter()
        .map(|item| match item {
            ast::SelectItem::ExprWithAlias { alias, .. } => Some(normalize(alias)),
            ast::SelectItem::UnnamedExpr(Expr::Identifier(i)) => Some(normalize(i)),
            ast::SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => {
                parts.last().map(normalize)
            }
            _ => None,
        })
        .collect()
}

/// `pg_row_json('a', t."a", …)` for `row_to_json(t)`.
fn row_json(expr: &Expr, columns: &HashMap<String, Vec<String>>) -> Option<Expr> {
    let Expr::Function(f) = expr else {
        return None;
    };
    if !f
        .name
        .to_string()
        .trim_start_matches("pg_catalog.")
        .eq_ignore_ascii_case("row_to_json")
    {
        return None;
    }
    let ast::FunctionArguments::List(list) = &f.args else {
        return None;
    };
    let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(Expr::Identifier(table)))] =
        list.args.as_slice()
    else {
        return None;
    };
    let names = columns.get(&normalize(table))?;
    let pairs: Vec<String> = names
        .iter()
        .map(|n| {
            format!(
                "'{}', {}.{}",
                n.replace('\'', "''"),
                Ident::with_quote('"', normalize(table)),
                Ident::with_quote('"', n)
            )
        })
        .collect();
    parse_expr(&format!(
        "{}({})",
        crate::functions::ROW_JSON,
        pairs.join(", ")
    ))
}

/// `EXISTS (SELECT … FROM … WHERE …)` anywhere but among the top-level
/// conditions of a WHERE clause (in a select list, a CASE, under OR) becomes
/// `(SELECT count(*) FROM … WHERE …) > 0`: DataFusion turns only WHERE's
/// EXISTS into a join, and plans a correlated aggregate anywhere.
fn exists_as_counts(stmt: &mut Statement) {
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
            Expr::Exists { .. } => out.push(expr as *const Expr),
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
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// `SELECT count(*) FROM … WHERE …` of a plain subquery, which has rows
/// exactly when the count is above 0.
fn count_of(query: &Query) -> Option<Query> {
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
fn scalar_subqueries_single_value(stmt: &mut Statement) {
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
fn outer_columns_through_equalities(conditions: Vec<Expr>, own: &[String]) -> Vec<Expr> {
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
fn with_holes(template: &str, parts: Vec<Expr>) -> Option<Expr> {
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

/// The operands of a chain of ANDs.
fn conjuncts(expr: Expr) -> Vec<Expr> {
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
fn outer_only(condition: &Expr, own: &[String]) -> bool {
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
fn aggregates(expr: &Expr) -> bool {
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

/// `obj_description(oid, 'catalog')`, `obj_description(oid)` and
/// `col_description(table, column)`: lookups in pg_description (PostgreSQL's
/// own descriptions and COMMENT ON texts). `max`, because (object, catalog,
/// column) identifies one description, and an aggregate is what the planner
/// can decorrelate whatever the argument.
fn descriptions_as_lookups(stmt: &mut Statement) {
    fn catalog_oid(name: &str) -> Option<u32> {
        crate::system_tables::system_catalog_oid(name.trim_start_matches("pg_catalog."))
    }
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Function(f) = expr
            && let ast::FunctionArguments::List(list) = &f.args
            && list.duplicate_treatment.is_none()
            && list.clauses.is_empty()
        {
            let name = f.name.to_string().to_ascii_lowercase();
            let args: Vec<&Expr> = list
                .args
                .iter()
                .filter_map(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e),
                    _ => None,
                })
                .collect();
            if args.len() != list.args.len() {
                return std::ops::ControlFlow::Continue(());
            }
            let condition = match (name.trim_start_matches("pg_catalog."), args.as_slice()) {
                ("obj_description", [object]) => {
                    Some(format!("objoid = ({object}) AND objsubid = 0"))
                }
                ("obj_description", [object, catalog]) => {
                    let class = match catalog {
                        Expr::Value(v) => match &v.value {
                            Value::SingleQuotedString(c) => catalog_oid(c).map(|o| o.to_string()),
                            _ => None,
                        },
                        _ => None,
                    }
                    .unwrap_or_else(|| format!("({catalog})::regclass"));
                    Some(format!(
                        "objoid = ({object}) AND classoid = {class} AND objsubid = 0"
                    ))
                }
                ("col_description", [table, column]) => Some(format!(
                    "objoid = ({table}) AND classoid = 1259 AND objsubid = ({column})"
                )),
                _ => None,
            };
            if let Some(condition) = condition
                && let Ok(Statement::Query(lookup)) = parse_one(&format!(
                    "SELECT max(description) FROM pg_catalog.pg_description WHERE {condition}"
                ))
            {
                *expr = Expr::Subquery(lookup);
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// PostgreSQL spellings DataFusion reads otherwise:
/// - `(composite).field` is `get_field(composite, 'field')`;
/// - `information_schema._pg_expandarray(a)`, the set of `(x, n)` (element and
///   its position) that pgjdbc's getPrimaryKeys and getIndexInfo read, is
///   `unnest(pg_expandarray(a))`;
/// - `generate_subscripts(a, d)` is the unnested range of `a`'s subscripts
///   (SQLAlchemy orders index columns by it).
fn fields_and_set_functions(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        let replacement = match expr {
            Expr::CompoundFieldAccess { root, access_chain }
                if matches!(root.as_ref(), Expr::Nested(_) | Expr::Function(_))
                    && access_chain
                        .iter()
                        .all(|a| matches!(a, ast::AccessExpr::Dot(Expr::Identifier(_)))) =>
            {
                let mut sql = root.to_string();
                for access in access_chain.iter() {
                    if let ast::AccessExpr::Dot(Expr::Identifier(field)) = access {
                        sql = format!("get_field({sql}, '{}')", normalize(field));
                    }
                }
                parse_expr(&sql)
            }
            // `(SELECT (subquery))` is the subquery itself (pgAdmin wraps an
            // ARRAY(…) so); DataFusion finds outer columns one level up only.
            Expr::Subquery(query) => match (query.body.as_ref(), &query.with) {
                (SetExpr::Select(select), None)
                    if select.from.is_empty()
                        && select.selection.is_none()
                        && query.order_by.is_none()
                        && query.limit_clause.is_none() =>
                {
                    match select.projection.as_slice() {
                        [
                            ast::SelectItem::UnnamedExpr(Expr::Subquery(inner))
                            | ast::SelectItem::ExprWithAlias {
                                expr: Expr::Subquery(inner),
                                ..
                            },
                        ] => Some(Expr::Subquery(inner.clone())),
                        _ => None,
                    }
                }
                _ => None,
            },
            // ARRAY(SELECT e FROM … ORDER BY o): the subquery aggregating its
            // values, `(SELECT array_agg(e ORDER BY o) FROM …)` (`{}` for no
            // rows), which the planner can decorrelate.
            Expr::Function(f)
                if f.name.to_string().eq_ignore_ascii_case("array")
                    && matches!(&f.args, ast::FunctionArguments::Subquery(_)) =>
            {
                let ast::FunctionArguments::Subquery(query) = &f.args else {
                    unreachable!()
                };
                array_of_subquery(query)
            }
            Expr::Function(f) => {
                let name = f.name.to_string().to_ascii_lowercase();
                let args = match &f.args {
                    ast::FunctionArguments::List(list) if list.clauses.is_empty() => list
                        .args
                        .iter()
                        .map(|a| match a {
                            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e),
                            _ => None,
                        })
                        .collect::<Option<Vec<_>>>(),
                    _ => None,
                };
                match (name.as_str(), args.as_deref()) {
                    ("information_schema._pg_expandarray" | "_pg_expandarray", Some([array])) => {
                        parse_expr(&format!("unnest(pg_expandarray({array}))"))
                    }
                    (
                        "generate_subscripts" | "pg_catalog.generate_subscripts",
                        Some([array, dim]),
                    ) => parse_expr(&format!(
                        "unnest(range(1, CAST(coalesce(array_length({array}, {dim}), 0) AS BIGINT) + 1))"
                    )),
                    // Visible: in a schema of the session's search_path (or
                    // pg_catalog). A same-named table earlier in the path is not
                    // looked for.
                    (
                        "pg_table_is_visible" | "pg_catalog.pg_table_is_visible",
                        Some([relation]),
                    ) => parse_expr(&format!(
                        "({relation}) IN (SELECT __c.oid FROM pg_catalog.pg_class __c \
                             JOIN pg_catalog.pg_namespace __n ON __c.relnamespace = __n.oid \
                             WHERE array_has(current_schemas(true), __n.nspname))"
                    )),
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(replacement) = replacement {
            *expr = replacement;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// A subquery over a recursive CTE whose start depends on the outer row
/// (pgAdmin follows role memberships from `roles.oid` so):
/// `WITH RECURSIVE c AS (SELECT … FROM t WHERE t.k = outer.k UNION ALL …)
/// SELECT … FROM c`. DataFusion cannot plan outer columns inside a CTE, so the
/// CTE starts from every row instead, carrying its start's key as `__root`
/// through the recursion, and the subquery keeps the rows of the outer row's
/// key: `… SELECT … FROM c WHERE c.__root = outer.k`, a correlation it can
/// plan.
fn recursive_subqueries_rooted(stmt: &mut Statement) {
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
fn rooted(query: &mut Query) -> bool {
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

/// `(SELECT array_agg(e ORDER BY …) FROM …)` for `ARRAY(SELECT e FROM … ORDER
/// BY …)`, when the subquery is a plain SELECT of one column.
fn array_of_subquery(query: &ast::Query) -> Option<Expr> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    if query.limit_clause.is_some()
        || query.fetch.is_some()
        || select.distinct.is_some()
        || select.having.is_some()
        || !matches!(&select.group_by, ast::GroupByExpr::Expressions(e, _) if e.is_empty())
    {
        return None;
    }
    let [ast::SelectItem::UnnamedExpr(value) | ast::SelectItem::ExprWithAlias { expr: value, .. }] =
        select.projection.as_slice()
    else {
        return None;
    };
    // ARRAY(SELECT e(x) FROM unnest(a) x): each element through e, which
    // psql's `\d+` asks of the table's options.
    if let [from] = select.from.as_slice()
        && query.with.is_none()
        && from.joins.is_empty()
        && select.selection.is_none()
        && query.order_by.is_none()
        && let ast::TableFactor::Table {
            name,
            args: Some(args),
            alias: Some(alias),
            ..
        } = &from.relation
        && object_name_last(name) == "unnest"
        && let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(array))] = args.args.as_slice()
    {
        let lambda = Expr::Lambda(ast::LambdaFunction {
            params: ast::OneOrManyWithParens::One(ast::LambdaFunctionParameter {
                name: alias.name.clone(),
                data_type: None,
            }),
            body: Box::new(value.clone()),
            syntax: ast::LambdaSyntax::Arrow,
        });
        let mut call = parse_expr(&format!("array_transform({array}, NULL)"))?;
        if let Expr::Function(f) = &mut call
            && let ast::FunctionArguments::List(list) = &mut f.args
            && let Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(second))) =
                list.args.get_mut(1)
        {
            *second = lambda;
        }
        return Some(call);
    }
    let order = match &query.order_by {
        Some(ast::OrderBy {
            kind: ast::OrderByKind::Expressions(items),
            ..
        }) if !items.is_empty() => format!(
            " ORDER BY {}",
            items
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => String::new(),
    };
    let mut aggregated = select.as_ref().clone();
    aggregated.projection = vec![ast::SelectItem::UnnamedExpr(parse_expr(&format!(
        "coalesce(array_agg({value}{order}), make_array())"
    ))?)];
    match &query.with {
        Some(with) => parse_expr(&format!("({with} {aggregated})")),
        None => parse_expr(&format!("({aggregated})")),
    }
}

/// `pg_get_function_result(f)` and `pg_get_function_arguments(f)` (psql's
/// `\df`): lookups in pg_proc, the types as format_type names them. Argument
/// names and modes are not shown (PostgreSQL's built-ins rarely have them).
fn function_signatures_as_lookups(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Function(f) = expr
            && let ast::FunctionArguments::List(list) = &f.args
            && let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(function))] =
                list.args.as_slice()
        {
            let name = f.name.to_string().to_ascii_lowercase();
            let value = match name.trim_start_matches("pg_catalog.") {
                "pg_get_function_result" => Some(
                    "CASE WHEN __p.proretset THEN 'SETOF ' ELSE '' END \
                     || format_type(__p.prorettype, NULL)"
                        .to_string(),
                ),
                "pg_get_function_arguments" => Some(
                    "coalesce(array_to_string(array_transform(\
                     string_to_array(nullif(__p.proargtypes, ''), ' '), NULL), ', '), '')"
                        .to_string(),
                ),
                _ => None,
            };
            if let Some(value) = value
                && let Ok(Statement::Query(mut lookup)) = parse_one(&format!(
                    "SELECT {value} FROM pg_catalog.pg_proc __p WHERE __p.oid = ({function})"
                ))
            {
                // The lambda (`__t -> format_type(__t::int, NULL)`), which
                // PostgreSQL's syntax cannot spell.
                let _ = ast::visit_expressions_mut(lookup.as_mut(), |e| {
                    if let Expr::Function(call) = e
                        && call.name.to_string() == "array_transform"
                        && let ast::FunctionArguments::List(list) = &mut call.args
                        && let Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(second))) =
                            list.args.get_mut(1)
                        && let Some(body) = parse_expr("format_type(CAST(__t AS INT), NULL)")
                    {
                        *second = Expr::Lambda(ast::LambdaFunction {
                            params: ast::OneOrManyWithParens::One(ast::LambdaFunctionParameter {
                                name: ast::Ident::new("__t"),
                                data_type: None,
                            }),
                            body: Box::new(body),
                            syntax: ast::LambdaSyntax::Arrow,
                        });
                    }
                    std::ops::ControlFlow::<()>::Continue(())
                });
                *expr = Expr::Subquery(lookup);
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// `FROM pg_show_all_settings()` (pgAdmin's) reads pg_settings, the view
/// PostgreSQL defines over it.
fn settings_function_as_table(stmt: &mut Statement) {
    struct Settings;
    impl ast::VisitorMut for Settings {
        type Break = ();
        fn pre_visit_table_factor(
            &mut self,
            factor: &mut ast::TableFactor,
        ) -> std::ops::ControlFlow<()> {
            if let ast::TableFactor::Table { name, args, .. } = factor
                && object_name_last(name) == "pg_show_all_settings"
                && args.as_ref().is_some_and(|a| a.args.is_empty())
            {
                *name = ast::ObjectName::from(vec![
                    ast::Ident::new("pg_catalog"),
                    ast::Ident::new("pg_settings"),
                ]);
                *args = None;
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Settings);
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

/// `FETCH FIRST n ROWS ONLY` (SQL's spelling of LIMIT, which DataFusion does
/// not plan) becomes `LIMIT n`. `WITH TIES` and `PERCENT` stay unsupported.
fn fetch_first_as_limit(stmt: &mut Statement) {
    struct Fetches;
    impl ast::VisitorMut for Fetches {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> std::ops::ControlFlow<()> {
            let plain = query
                .fetch
                .as_ref()
                .is_some_and(|f| !f.with_ties && !f.percent);
            if !plain {
                return std::ops::ControlFlow::Continue(());
            }
            let quantity = query
                .fetch
                .take()
                .and_then(|f| f.quantity)
                .unwrap_or_else(|| Expr::value(Value::Number("1".into(), false)));
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
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Fetches);
}

/// The names a plain SELECT's FROM gives its relations; None for other queries.
fn own_relations(query: &ast::Query) -> Option<Vec<String>> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    own_relations_of(select)
}

/// The names a select's FROM gives its relations (None when it has others
/// than tables and derived tables).
fn own_relations_of(select: &ast::Select) -> Option<Vec<String>> {
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
fn correlated(query: &ast::Query) -> bool {
    own_relations(query).is_none_or(|own| names_outer(query, &own))
}

/// Whether a part of a query names a relation other than those in `own`.
fn names_outer<V: ast::Visit>(node: &V, own: &[String]) -> bool {
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

fn object_name_last(name: &ast::ObjectName) -> String {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map(normalize)
        .unwrap_or_default()
}

/// `x = ANY (subquery)` is `x IN (subquery)` and `x <> ALL (subquery)` is
/// `x NOT IN (subquery)` (the array rewrite would otherwise take them). Other
/// comparisons with ANY/ALL over a subquery read it through a derived table:
/// DataFusion answers them wrongly when the subquery reads the outer query's
/// table under the same name (apache/datafusion#25258).
fn set_comparisons_over_subqueries(stmt: &mut Statement) {
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

fn parse_plain(sql: &str) -> Result<Vec<DFStatement>> {
    let statements = DFParser::parse_sql_with_dialect(sql, &PostgreSqlDialect {}).map_err(|e| {
        match e.find_root() {
            datafusion::error::DataFusionError::SQL(parser, _) => Error::from_parser(parser, sql),
            _ => Error::from_datafusion(e),
        }
    })?;
    let rules: [&dyn SqlStatementRewriteRule; 5] = [
        &RewriteArrayAnyAllOperation,
        &FixArrayLiteral,
        &CurrentUserVariableToSessionUserFunctionCall,
        &StripCollate,
        &RewritePgCatalogOperator,
    ];
    Ok(statements
        .into_iter()
        .map(|stmt| match stmt {
            DFStatement::Statement(mut s) => {
                balance_boolean_chains(&mut s);
                // Named first: the rules below rewrite `x = ANY (array)` into
                // a function call that would otherwise name the column.
                if let Statement::Query(query) = s.as_mut() {
                    name_columns(query);
                }
                set_comparisons_over_subqueries(&mut s);
                fetch_first_as_limit(&mut s);
                let s = rules.iter().fold(*s, |s, rule| rule.rewrite(s));
                DFStatement::Statement(Box::new(s))
            }
            other => other,
        })
        .collect())
}

fn finish(stmt: DFStatement) -> DFStatement {
    match stmt {
        DFStatement::Statement(mut s) => {
            balance_boolean_chains(&mut s);
            float_literals_stay_exact(&mut s);
            if let Statement::Query(query) = s.as_mut() {
                name_columns(query);
            }
            interval_literals_read_like_postgres(&mut s);
            reverse_reg_casts_as_names(&mut s);
            // After naming, so that the columns are still called `mod` and
            // `to_regtype`.
            mod_as_operator(&mut s);
            to_regtype_as_lookup(&mut s);
            descriptions_as_lookups(&mut s);
            function_signatures_as_lookups(&mut s);
            recursive_subqueries_rooted(&mut s);
            fields_and_set_functions(&mut s);
            settings_function_as_table(&mut s);
            like_escape_as_backslash(&mut s);
            substring_patterns_as_regexp(&mut s);
            rows_to_json(&mut s);
            exists_as_counts(&mut s);
            scalar_subqueries_single_value(&mut s);
            DFStatement::Statement(s)
        }
        other => other,
    }
}

/// `a = 1 OR a = 2 OR … OR a = 5000`, as tools generate it, parses into a
/// tree as deep as the chain is long, which every later step walks
/// recursively. AND and OR are associative, so each chain is rebuilt
/// balanced (depth log₂ n), top-down before the walk reaches its spine.
fn balance_boolean_chains(stmt: &mut Statement) {
    use datafusion::sql::sqlparser::ast::BinaryOperator;
    fn balanced(mut operands: Vec<Expr>, op: &BinaryOperator) -> Expr {
        if operands.len() == 1 {
            return operands.pop().expect("one operand");
        }
        let right = operands.split_off(operands.len() / 2);
        Expr::BinaryOp {
            left: Box::new(balanced(operands, op)),
            op: op.clone(),
            right: Box::new(balanced(right, op)),
        }
    }
    // Top-down (pre-visit): each chain is rebuilt before the walk descends.
    struct Balance;
    impl ast::VisitorMut for Balance {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &mut Expr) -> std::ops::ControlFlow<()> {
            if let Expr::BinaryOp {
                op: op @ (BinaryOperator::And | BinaryOperator::Or),
                ..
            } = expr
            {
                let op = op.clone();
                // Walk the left spine in a loop: the chain's operands, in order.
                let mut operands = Vec::new();
                let mut rest = std::mem::replace(expr, Expr::value(Value::Null));
                loop {
                    match rest {
                        Expr::BinaryOp {
                            left,
                            op: ref this,
                            right,
                        } if *this == op => {
                            operands.push(*right);
                            rest = *left;
                        }
                        other => {
                            operands.push(other);
                            break;
                        }
                    }
                }
                operands.reverse();
                *expr = balanced(operands, &op);
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Balance);
}

/// `1e15::float8` must be exactly 1e15. DataFusion reads the literal as numeric
/// first (so that `1.5` is numeric, as in PostgreSQL), and numeric→float loses
/// digits; casting the literal's text instead parses it straight into a float.
fn float_literals_stay_exact(stmt: &mut Statement) {
    use std::ops::ControlFlow;
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Cast {
            expr: inner,
            data_type,
            ..
        } = expr
        {
            let float = matches!(
                data_type,
                ast::DataType::Real
                    | ast::DataType::Float4
                    | ast::DataType::Float8
                    | ast::DataType::Float(_)
                    | ast::DataType::Double(_)
                    | ast::DataType::DoublePrecision
            );
            if let (true, Expr::Value(v)) = (float, inner.as_mut())
                && let Value::Number(n, _) = &v.value
            {
                v.value = Value::SingleQuotedString(n.clone());
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

/// `interval '1 day 02:00:00'` (no field qualifier) becomes a cast of the string,
/// which reads PostgreSQL's interval syntax (see `rewrite::TextInput`); DataFusion's
/// own interval literals accept fewer forms.
fn interval_literals_read_like_postgres(stmt: &mut Statement) {
    use std::ops::ControlFlow;
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Interval(ast::Interval {
            value,
            leading_field: None,
            leading_precision: None,
            last_field: None,
            fractional_seconds_precision: None,
        }) = expr
            && matches!(value.as_ref(), Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_)))
        {
            *expr = Expr::Cast {
                kind: ast::CastKind::DoubleColon,
                expr: value.clone(),
                data_type: ast::DataType::Interval {
                    fields: None,
                    precision: None,
                },
                array: false,
                format: None,
            };
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Gives every result column of the outermost select its PostgreSQL name.
fn name_columns(query: &mut Query) {
    let Some(select) = leftmost_select(&mut query.body) else {
        return;
    };
    let mut seen: Vec<String> = Vec::new();
    for (i, item) in select.projection.iter_mut().enumerate() {
        let (expr, name) = match item {
            SelectItem::UnnamedExpr(expr) => {
                if matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
                    // DataFusion already names plain columns as PostgreSQL does.
                    seen.push(figure_colname(expr));
                    continue;
                }
                let name = figure_colname(expr);
                (std::mem::replace(expr, Expr::value(Value::Null)), name)
            }
            SelectItem::ExprWithAlias { expr, alias } => {
                let name = normalize(alias);
                (std::mem::replace(expr, Expr::value(Value::Null)), name)
            }
            _ => continue,
        };
        let expr = int4_literal(expr);
        let unique = if seen.contains(&name) {
            format!("{name}{NAME_SUFFIX_MARK}{i}")
        } else {
            name.clone()
        };
        seen.push(name);
        *item = SelectItem::ExprWithAlias {
            expr,
            alias: Ident::with_quote('"', unique),
        };
    }
}

fn leftmost_select(body: &mut SetExpr) -> Option<&mut ast::Select> {
    match body {
        SetExpr::Select(select) => Some(select),
        SetExpr::Query(q) => leftmost_select(&mut q.body),
        SetExpr::SetOperation { left, .. } => leftmost_select(left),
        _ => None,
    }
}

/// PostgreSQL types an integer literal that fits 32 bits as int4; DataFusion as int8.
fn int4_literal(expr: Expr) -> Expr {
    let fits = |v: &Value| matches!(v, Value::Number(n, _) if n.parse::<i32>().is_ok());
    let is_int = match &expr {
        Expr::Value(v) => fits(&v.value),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr: inner,
        } => {
            matches!(inner.as_ref(), Expr::Value(v) if fits(&v.value))
        }
        _ => false,
    };
    if is_int {
        Expr::Cast {
            kind: ast::CastKind::Cast,
            expr: Box::new(expr),
            data_type: ast::DataType::Integer(None),
            array: false,
            format: None,
        }
    } else {
        expr
    }
}

fn normalize(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

const UNNAMED: &str = "?column?";

/// PostgreSQL's rules for naming a result column (FigureColname in its parser).
pub fn figure_colname(expr: &Expr) -> String {
    figure(expr).map_or_else(|| UNNAMED.to_string(), |(name, _)| name)
}

/// How sure a name is, as PostgreSQL ranks them: a column or function name
/// (2) beats a type or keyword name (1), so `x::text` is `x` but
/// `1.5::float8::text` is `text` and `CASE … ELSE salary END` is `salary`.
type Strength = u8;
const STRONG: Strength = 2;
const WEAK: Strength = 1;

fn figure(expr: &Expr) -> Option<(String, Strength)> {
    let strong = |name: &str| Some((name.to_string(), STRONG));
    match expr {
        Expr::Identifier(id) => Some((normalize(id), STRONG)),
        Expr::CompoundIdentifier(ids) => Some((normalize(ids.last()?), STRONG)),
        Expr::Function(f) => {
            let last = f.name.0.last()?;
            let name = match last.as_ident() {
                Some(id) => normalize(id),
                None => last.to_string().to_lowercase(),
            };
            // `regclass('t')` was the cast `'t'::regclass`, named as a cast.
            let strength = if name == "regclass" { WEAK } else { STRONG };
            Some((name, strength))
        }
        Expr::Cast {
            expr, data_type, ..
        } => match figure(expr) {
            Some(inner) if inner.1 > WEAK => Some(inner),
            _ => Some((type_name(data_type), WEAK)),
        },
        Expr::Nested(inner) => figure(inner),
        Expr::Collate { expr, .. } => figure(expr),
        Expr::Case { else_result, .. } => match else_result.as_deref().and_then(figure) {
            Some(inner) if inner.1 > WEAK => Some(inner),
            _ => Some(("case".into(), WEAK)),
        },
        Expr::Exists { .. } => strong("exists"),
        Expr::Array(_) => strong("array"),
        Expr::Subquery(q) => {
            let select = match q.body.as_ref() {
                SetExpr::Select(s) => s,
                _ => return None,
            };
            match select.projection.first()? {
                SelectItem::ExprWithAlias { alias, .. } => Some((normalize(alias), STRONG)),
                SelectItem::UnnamedExpr(e) => figure(e),
                _ => None,
            }
        }
        Expr::Extract { .. } => strong("extract"),
        Expr::Substring {
            shorthand: true, ..
        } => strong("substr"),
        Expr::Substring { .. } => strong("substring"),
        // `(ARRAY[…])[2]` is named after what it subscripts.
        Expr::CompoundFieldAccess { root, .. } => figure(root),
        Expr::Trim { .. } => strong("btrim"),
        Expr::Position { .. } => strong("position"),
        Expr::Overlay { .. } => strong("overlay"),
        Expr::Ceil { .. } => strong("ceil"),
        Expr::Floor { .. } => strong("floor"),
        Expr::AtTimeZone { .. } => strong("timezone"),
        // `INTERVAL '1 day'` and `DATE '…'` are casts of a string.
        Expr::Interval(_) => Some(("interval".into(), WEAK)),
        Expr::TypedString(ts) => Some((type_name(&ts.data_type), WEAK)),
        _ => None,
    }
}

/// The pg_type name PostgreSQL uses when a cast names a column (`'1'::int` → int4).
fn type_name(ty: &ast::DataType) -> String {
    use ast::DataType as T;
    match ty {
        T::SmallInt(_) | T::Int2(_) => "int2",
        T::Int(_) | T::Integer(_) | T::Int4(_) => "int4",
        T::BigInt(_) | T::Int8(_) => "int8",
        T::Real | T::Float4 => "float4",
        T::DoublePrecision | T::Float8 | T::Double(_) | T::Float(_) => "float8",
        T::Numeric(_) | T::Decimal(_) | T::Dec(_) => "numeric",
        T::Text | T::String(_) => "text",
        T::Varchar(_) | T::CharacterVarying(_) | T::CharVarying(_) => "varchar",
        T::Char(_) | T::Character(_) => "bpchar",
        T::Boolean | T::Bool => "bool",
        T::Date => "date",
        T::Time(_, _) => "time",
        T::Timestamp(_, ast::TimezoneInfo::WithTimeZone | ast::TimezoneInfo::Tz) => "timestamptz",
        T::Timestamp(_, _) => "timestamp",
        T::Interval { .. } => "interval",
        T::Bytea => "bytea",
        T::Uuid => "uuid",
        T::JSON => "json",
        T::JSONB => "jsonb",
        T::Regclass => "regclass",
        T::Custom(name, _) => return name.to_string().to_lowercase(),
        _ => return UNNAMED.to_string(),
    }
    .to_string()
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

/// A statement's audit class (as pgaudit names them: READ, WRITE, DDL, ROLE,
/// MISC) and its command (`SELECT`, `CREATE TABLE`, `GRANT` …).
pub fn classify(stmt: &DFStatement) -> (&'static str, String) {
    use datafusion::sql::sqlparser::ast::{ObjectType, Statement};
    let s = match stmt {
        DFStatement::Statement(s) => s.as_ref(),
        DFStatement::CreateExternalTable(_) => return ("DDL", "CREATE EXTERNAL TABLE".into()),
        DFStatement::CopyTo(_) => return ("READ", "COPY".into()),
        DFStatement::Explain(_) => return ("READ", "EXPLAIN".into()),
        DFStatement::Reset(_) => return ("MISC", "RESET".into()),
    };
    let (class, command) = match s {
        Statement::Query(_) => ("READ", "SELECT"),
        Statement::Insert(_) => ("WRITE", "INSERT"),
        Statement::Update(_) => ("WRITE", "UPDATE"),
        Statement::Delete(_) => ("WRITE", "DELETE"),
        Statement::Truncate(_) => ("WRITE", "TRUNCATE TABLE"),
        Statement::Copy { to: true, .. } => ("READ", "COPY"),
        Statement::Copy { to: false, .. } => ("WRITE", "COPY"),
        Statement::CreateTable(_) => ("DDL", "CREATE TABLE"),
        Statement::CreateView(_) => ("DDL", "CREATE VIEW"),
        Statement::CreateSchema { .. } => ("DDL", "CREATE SCHEMA"),
        Statement::AlterTable(_) => ("DDL", "ALTER TABLE"),
        Statement::CreateRole(_) => ("ROLE", "CREATE ROLE"),
        Statement::AlterRole { .. } => ("ROLE", "ALTER ROLE"),
        Statement::Grant(_) => ("ROLE", "GRANT"),
        Statement::Revoke(_) => ("ROLE", "REVOKE"),
        Statement::Drop { object_type, .. } => match object_type {
            ObjectType::Role | ObjectType::User => ("ROLE", "DROP ROLE"),
            ObjectType::Table => ("DDL", "DROP TABLE"),
            ObjectType::View => ("DDL", "DROP VIEW"),
            ObjectType::Schema => ("DDL", "DROP SCHEMA"),
            _ => ("DDL", "DROP"),
        },
        Statement::StartTransaction { .. } => ("MISC", "BEGIN"),
        Statement::Commit { .. } => ("MISC", "COMMIT"),
        Statement::Rollback { .. } => ("MISC", "ROLLBACK"),
        Statement::Set(_) => ("MISC", "SET"),
        Statement::ShowVariable { .. } => ("MISC", "SHOW"),
        Statement::Prepare { .. } => ("MISC", "PREPARE"),
        Statement::Execute { .. } => ("MISC", "EXECUTE"),
        Statement::Declare { .. } => ("READ", "DECLARE CURSOR"),
        Statement::Fetch { .. } => ("READ", "FETCH"),
        _ => ("MISC", "OTHER"),
    };
    (class, command.to_string())
}

/// The statement text as it may be kept (pg_stat_activity, the audit log,
/// the server log): every secret replaced by `'********'`. Secrets are found
/// by PostgreSQL's own tokenizer, so quoting of every kind (`''`, `E'…'`,
/// dollar quotes) and comments are read as the server reads them:
/// - the literal after `PASSWORD` (CREATE/ALTER ROLE or USER);
/// - the value after an option key naming a secret (`'aws.secret_access_key'
///   '…'` in CREATE EXTERNAL TABLE's OPTIONS).
///
/// Text that does not tokenize is kept only when it cannot hold a secret.
pub fn redact_passwords(sql: &str) -> String {
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    let lower = sql.to_ascii_lowercase();
    let secret_word = |s: &str| {
        let s = s.to_ascii_lowercase();
        ["password", "secret", "token", "credential", "session_key"]
            .iter()
            .any(|w| s.contains(w))
    };
    if !secret_word(&lower) {
        return sql.to_string();
    }
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location() else {
        return "<a statement that could not be read, with a password or secret>".to_string();
    };
    let literal = |t: &Token| -> Option<String> {
        match t {
            Token::SingleQuotedString(s)
            | Token::EscapedStringLiteral(s)
            | Token::NationalStringLiteral(s)
            | Token::UnicodeStringLiteral(s) => Some(s.clone()),
            Token::DollarQuotedString(d) => Some(d.value.clone()),
            _ => None,
        }
    };
    let significant: Vec<_> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let mut spans = Vec::new();
    for pair in significant.windows(2) {
        let (before, value) = (&pair[0].token, pair[1]);
        if literal(&value.token).is_none() {
            continue;
        }
        let names_secret = match before {
            Token::Word(w) => w.value.eq_ignore_ascii_case("password"),
            other => literal(other).is_some_and(|key| secret_word(&key)),
        };
        if names_secret
            && let (Some(start), Some(end)) = (
                byte_offset(sql, value.span.start),
                byte_offset(sql, value.span.end),
            )
        {
            spans.push(start..end);
        }
    }
    let mut out = sql.to_string();
    for span in spans.into_iter().rev() {
        out.replace_range(span, "'********'");
    }
    out
}

#[cfg(test)]
mod audit_tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_audit_text() {
        assert_eq!(
            redact_passwords("CREATE ROLE a LOGIN PASSWORD 'it''s secret' VALID UNTIL 'x'"),
            "CREATE ROLE a LOGIN PASSWORD '********' VALID UNTIL 'x'"
        );
        assert_eq!(
            redact_passwords("alter user b with password  'p'"),
            "alter user b with password  '********'"
        );
        assert_eq!(redact_passwords("SELECT 1"), "SELECT 1");
        // Every quoting PostgreSQL reads, and comments between.
        for sql in [
            "ALTER ROLE a PASSWORD E'it\\'s SECRET'",
            "ALTER ROLE a PASSWORD $q$it's SECRET$q$",
            "ALTER ROLE a PASSWORD /* c */ 'SECRET'",
            "ALTER ROLE a PASSWORD -- c\n 'SECRET'",
            "create external table t stored as csv location 's3://b/' \
             options ('aws.secret_access_key' 'SECRET', 'format.has_header' 'true')",
        ] {
            let kept = redact_passwords(sql);
            assert!(!kept.contains("SECRET"), "{sql} -> {kept}");
            assert!(kept.contains("'********'"), "{sql} -> {kept}");
        }
        assert_eq!(
            redact_passwords("SELECT password FROM t"),
            "SELECT password FROM t"
        );
    }

    #[test]
    fn user_statements_are_role_statements_anywhere_in_a_batch() {
        use datafusion::sql::sqlparser::ast::Statement;
        let parsed = parse(
            "CREATE TABLE u (user_id int); CREATE USER a PASSWORD 'x'; \
             CREATE USER b NOLOGIN; ALTER USER a PASSWORD 'y'; DROP USER b",
        )
        .unwrap();
        let login = |n: usize| match &parsed[n] {
            DFStatement::Statement(s) => match s.as_ref() {
                Statement::CreateRole(c) => c.login,
                other => panic!("{other}"),
            },
            other => panic!("{other}"),
        };
        assert_eq!(login(1), Some(true));
        assert_eq!(login(2), Some(false));
        assert_eq!(classify(&parsed[3]).1, "ALTER ROLE");
        assert_eq!(classify(&parsed[4]).1, "DROP ROLE");
    }

    #[test]
    fn statements_are_classed_as_pgaudit_does() {
        let class = |sql: &str| classify(&parse(sql).unwrap()[0]);
        assert_eq!(class("SELECT 1"), ("READ", "SELECT".into()));
        assert_eq!(
            class("INSERT INTO t VALUES (1)"),
            ("WRITE", "INSERT".into())
        );
        assert_eq!(class("GRANT SELECT ON t TO a"), ("ROLE", "GRANT".into()));
        assert_eq!(class("CREATE USER a"), ("ROLE", "CREATE ROLE".into()));
        assert_eq!(class("DROP TABLE t"), ("DDL", "DROP TABLE".into()));
    }
}
