//! VACUUM and ANALYZE in PostgreSQL's grammar (`VACUUM ANALYZE t`,
//! `VACUUM (VERBOSE, ANALYZE) t`, `ANALYZE t (a, b)`), which sqlparser reads
//! only in other dialects' forms. They become sqlparser's `Vacuum` and
//! `Analyze` statements naming the table, if any; the session checks the table
//! and has nothing to do (see `Session::maintain`).

use datafusion::sql::sqlparser::ast::{Analyze, Ident, ObjectName, Statement, VacuumStatement};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::{Error, Result};

/// The statement, when `sql` is a VACUUM or ANALYZE (ANALYSE) of at most one
/// table.
pub(super) fn parse_maintenance(sql: &str) -> Result<Option<Statement>> {
    let head = sql.trim_start();
    let word = head
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let vacuum = match word.as_str() {
        "vacuum" => true,
        "analyze" | "analyse" => false,
        _ => return Ok(None),
    };
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize()
        .map_err(|e| Error::syntax(e.to_string()))?;
    let mut tokens: Vec<Token> = tokens
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    while tokens.last() == Some(&Token::SemiColon) {
        tokens.pop();
    }
    let keyword = |t: &Token, words: &[&str]| {
        matches!(t, Token::Word(w) if w.quote_style.is_none()
            && words.iter().any(|k| w.value.eq_ignore_ascii_case(k)))
    };
    let mut i = 1;
    if tokens.get(i) == Some(&Token::LParen) {
        // The parenthesized option list: `(VERBOSE, ANALYZE, PARALLEL 2)`.
        let close = tokens[i..]
            .iter()
            .position(|t| *t == Token::RParen)
            .ok_or_else(|| Error::syntax("unterminated option list"))?;
        i += close + 1;
    } else {
        let options: &[&str] = if vacuum {
            &["full", "freeze", "verbose", "analyze", "analyse"]
        } else {
            &["verbose"]
        };
        while tokens.get(i).is_some_and(|t| keyword(t, options)) {
            i += 1;
        }
    }
    let mut tables = Vec::new();
    while i < tokens.len() {
        let mut parts = Vec::new();
        loop {
            match tokens.get(i) {
                Some(Token::Word(w)) => parts.push(match w.quote_style {
                    Some(quote) => Ident::with_quote(quote, w.value.clone()),
                    None => Ident::new(w.value.clone()),
                }),
                other => {
                    return Err(Error::syntax(format!(
                        "syntax error at or near \"{}\"",
                        other.map(ToString::to_string).unwrap_or_default()
                    )));
                }
            }
            i += 1;
            if tokens.get(i) == Some(&Token::Period) {
                i += 1;
                continue;
            }
            break;
        }
        // A column list, which ANALYZE would restrict itself to.
        if tokens.get(i) == Some(&Token::LParen) {
            let close = tokens[i..]
                .iter()
                .position(|t| *t == Token::RParen)
                .ok_or_else(|| Error::syntax("unterminated column list"))?;
            i += close + 1;
        }
        tables.push(ObjectName::from(parts));
        match tokens.get(i) {
            Some(Token::Comma) => i += 1,
            None => {}
            Some(other) => {
                return Err(Error::syntax(format!(
                    "syntax error at or near \"{other}\""
                )));
            }
        }
    }
    if tables.len() > 1 {
        return Err(Error::unsupported(
            "VACUUM and ANALYZE of several tables at once are not supported; name one",
        ));
    }
    let table_name = tables.pop();
    Ok(Some(if vacuum {
        Statement::Vacuum(VacuumStatement {
            full: false,
            sort_only: false,
            delete_only: false,
            reindex: false,
            recluster: false,
            table_name,
            threshold: None,
            boost: false,
        })
    } else {
        Statement::Analyze(Analyze {
            table_name,
            partitions: None,
            for_columns: false,
            columns: vec![],
            cache_metadata: false,
            noscan: false,
            compute_statistics: false,
            has_table_keyword: false,
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(sql: &str) -> Option<String> {
        match parse_maintenance(sql).unwrap().unwrap() {
            Statement::Vacuum(v) => v.table_name.map(|n| n.to_string()),
            Statement::Analyze(a) => a.table_name.map(|n| n.to_string()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn postgresql_forms() {
        assert_eq!(table("VACUUM"), None);
        assert_eq!(table("VACUUM ANALYZE onek;"), Some("onek".into()));
        assert_eq!(
            table("vacuum (verbose, analyze) public.t"),
            Some("public.t".into())
        );
        assert_eq!(table("ANALYZE \"T\" (a, b)"), Some("\"T\"".into()));
        assert_eq!(table("analyse verbose t"), Some("t".into()));
        assert!(parse_maintenance("SELECT 1").unwrap().is_none());
        assert!(parse_maintenance("VACUUM a, b").is_err());
    }
}
