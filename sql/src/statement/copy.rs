//! COPY … FROM STDIN / TO STDOUT, which DataFusion's parser does not read.

use super::*;

/// `COPY … FROM STDIN` and `COPY … TO STDOUT`, which DataFusion's parser does
/// not read (it knows only `COPY … TO 'file'`). They are parsed alone: data
/// after `FROM STDIN;` would be read as inline rows.
pub(super) fn parse_copy_stdio(sql: &str) -> Result<Option<DFStatement>> {
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
    let sql = &boolean_options_spelled(&force_quote_all(sql));
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

/// `FREEZE on`, `HEADER off` (as pgbench writes them) → `FREEZE true`,
/// `HEADER false`: sqlparser reads only TRUE and FALSE there.
fn boolean_options_spelled(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut previous = String::new();
    let mut rest = sql;
    while let Some(start) = rest.find(|c: char| c.is_ascii_alphanumeric()) {
        let (before, word_on) = rest.split_at(start);
        let end = word_on
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(word_on.len());
        let (word, after) = word_on.split_at(end);
        out.push_str(before);
        let lower = word.to_ascii_lowercase();
        let boolean_option = matches!(previous.as_str(), "freeze" | "header");
        match lower.as_str() {
            "on" if boolean_option => out.push_str("true"),
            "off" if boolean_option => out.push_str("false"),
            _ => out.push_str(word),
        }
        previous = lower;
        rest = after;
    }
    out.push_str(rest);
    out
}

/// `FORCE_QUOTE *` → `FORCE_QUOTE ("*")` (outside quoted text).
pub(super) fn force_quote_all(sql: &str) -> String {
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
