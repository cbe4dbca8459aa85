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
    lower.contains("pg_") || lower.contains("information_schema") || lower.contains("::reg")
}

/// Parses SQL text into statements, applying the rewrites described above.
pub fn parse(sql: &str) -> Result<Vec<DFStatement>> {
    if let Some(copy) = parse_copy_stdio(sql)? {
        return Ok(vec![copy]);
    }
    if let Some(role) = parse_user_statement(sql)? {
        return Ok(vec![role]);
    }
    let statements = if reads_catalog(sql) {
        match CATALOG_PARSER.parse(sql) {
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
    Ok(statements.into_iter().map(finish).collect())
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

/// `CREATE USER`, `ALTER USER` and `DROP USER`, which PostgreSQL reads as the
/// ROLE statements (CREATE USER with LOGIN unless told otherwise). sqlparser
/// reads CREATE USER in another dialect's form, so the keyword is swapped.
fn parse_user_statement(sql: &str) -> Result<Option<DFStatement>> {
    use datafusion::sql::sqlparser::ast::Statement;
    let trimmed = sql.trim_start();
    let mut words = trimmed.splitn(3, char::is_whitespace);
    let (Some(verb), Some(noun)) = (words.next(), words.next()) else {
        return Ok(None);
    };
    let is_role_verb = ["create", "alter", "drop"]
        .iter()
        .any(|v| verb.eq_ignore_ascii_case(v));
    if !is_role_verb || !noun.eq_ignore_ascii_case("user") {
        return Ok(None);
    }
    let rest = words.next().unwrap_or("");
    let rewritten = format!("{verb} ROLE {rest}");
    let mut statements =
        datafusion::sql::sqlparser::parser::Parser::parse_sql(&PostgreSqlDialect {}, &rewritten)
            .map_err(|e| Error::from_parser(&e, &rewritten))?;
    if statements.len() != 1 {
        return Err(Error::FeatureNotSupported(
            "CREATE, ALTER and DROP USER must be sent as a statement of their own".into(),
        ));
    }
    let mut statement = statements.remove(0);
    if let Statement::CreateRole(create) = &mut statement {
        create.login = create.login.or(Some(true));
    }
    Ok(Some(DFStatement::Statement(Box::new(statement))))
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
            DFStatement::Statement(s) => {
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
            float_literals_stay_exact(&mut s);
            if let Statement::Query(query) = s.as_mut() {
                name_columns(query);
            }
            interval_literals_read_like_postgres(&mut s);
            DFStatement::Statement(s)
        }
        other => other,
    }
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
    figure(expr).unwrap_or_else(|| UNNAMED.to_string())
}

fn figure(expr: &Expr) -> Option<String> {
    Some(match expr {
        Expr::Identifier(id) => normalize(id),
        Expr::CompoundIdentifier(ids) => normalize(ids.last()?),
        Expr::Function(f) => {
            let last = f.name.0.last()?;
            match last.as_ident() {
                Some(id) => normalize(id),
                None => last.to_string().to_lowercase(),
            }
        }
        Expr::Cast {
            expr, data_type, ..
        } => match figure(expr) {
            Some(name) => name,
            None => type_name(data_type),
        },
        Expr::Nested(inner) => return figure(inner),
        Expr::Collate { expr, .. } => return figure(expr),
        Expr::Case { .. } => "case".into(),
        Expr::Exists { .. } => "exists".into(),
        Expr::Array(_) => "array".into(),
        Expr::Subquery(q) => {
            let select = match q.body.as_ref() {
                SetExpr::Select(s) => s,
                _ => return None,
            };
            match select.projection.first()? {
                SelectItem::ExprWithAlias { alias, .. } => normalize(alias),
                SelectItem::UnnamedExpr(e) => return figure(e),
                _ => return None,
            }
        }
        Expr::Extract { .. } => "extract".into(),
        Expr::Substring { .. } => "substring".into(),
        Expr::Trim { .. } => "btrim".into(),
        Expr::Position { .. } => "position".into(),
        Expr::Overlay { .. } => "overlay".into(),
        Expr::Ceil { .. } => "ceil".into(),
        Expr::Floor { .. } => "floor".into(),
        Expr::AtTimeZone { .. } => "timezone".into(),
        Expr::Interval(_) => "interval".into(),
        Expr::TypedString(ts) => type_name(&ts.data_type),
        _ => return None,
    })
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
