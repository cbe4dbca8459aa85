//! FETCH and MOVE directions ([`motion`]), and MOVE, which sqlparser does not read: it is FETCH whose rows go nowhere,
//! kept as sqlparser's `FETCH … INTO` with an empty target ([`is_move`]).
//!
//! VACUUM and ANALYZE in PostgreSQL's grammar (`VACUUM ANALYZE t`,
//! `VACUUM (VERBOSE, ANALYZE) t`, `ANALYZE t (a, b)`), which sqlparser reads
//! only in other dialects' forms. They become sqlparser's `Vacuum` and
//! `Analyze` statements naming the table, if any; the session checks the table
//! and has nothing to do (see `Session::maintain`).

use datafusion::sql::sqlparser::ast::{
    Analyze, FetchDirection, Ident, ObjectName, Statement, VacuumStatement, Value,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::{Error, Result};

/// FETCH and MOVE (`MOVE [direction] [FROM | IN] cursor`, read as the FETCH
/// it moves like), with negative counts (`FETCH ABSOLUTE -1`, `MOVE BACKWARD
/// -2`), which sqlparser reads only as numbers without a sign.
pub(super) fn parse_fetch_or_move(sql: &str) -> Result<Option<Statement>> {
    use datafusion::sql::sqlparser::parser::Parser;
    let head = sql.trim_start();
    let word: String = head
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase();
    let moving = match word.as_str() {
        "move" => true,
        "fetch" => false,
        _ => return Ok(None),
    };
    let text = if moving {
        format!("FETCH{}", &head[4..])
    } else {
        head.to_string()
    };
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, &text)
        .tokenize()
        .map_err(|e| Error::syntax(e.to_string()))?;
    let mut merged: Vec<Token> = Vec::with_capacity(tokens.len());
    for token in tokens {
        let signed = match (merged.last(), &token) {
            (Some(Token::Minus), Token::Number(n, long)) => {
                Some(Token::Number(format!("-{n}"), *long))
            }
            _ => None,
        };
        match signed {
            Some(number) => {
                merged.pop();
                merged.push(number);
            }
            None => merged.push(token),
        }
    }
    // PostgreSQL lets FROM/IN go (`MOVE FORWARD 4 "c"`, as asyncpg sends it);
    // sqlparser wants one before the cursor's name.
    let mut words = merged
        .iter()
        .enumerate()
        .filter(|(_, t)| !matches!(t, Token::Whitespace(_) | Token::SemiColon));
    if let (Some((at, Token::Word(_))), Some((_, before))) = (words.next_back(), words.next_back())
        && !matches!(before, Token::Word(w) if w.quote_style.is_none()
            && (w.value.eq_ignore_ascii_case("from") || w.value.eq_ignore_ascii_case("in")))
    {
        merged.insert(at, Token::make_keyword("FROM"));
        merged.insert(
            at + 1,
            Token::Whitespace(datafusion::sql::sqlparser::tokenizer::Whitespace::Space),
        );
    }
    // No direction (`FETCH c`, `MOVE IN c`) is NEXT.
    let mut words = merged
        .iter()
        .enumerate()
        .filter(|(_, t)| !matches!(t, Token::Whitespace(_)));
    if let (Some(_), Some((at, Token::Word(w)))) = (words.next(), words.next())
        && (w.value.eq_ignore_ascii_case("from") || w.value.eq_ignore_ascii_case("in"))
    {
        merged.insert(at, Token::make_keyword("NEXT"));
        merged.insert(
            at + 1,
            Token::Whitespace(datafusion::sql::sqlparser::tokenizer::Whitespace::Space),
        );
    }
    let statement = Parser::new(&PostgreSqlDialect {})
        .with_tokens(merged)
        .parse_statements()
        .map_err(|e| Error::from_parser(&e, &text))?
        .into_iter()
        .next();
    match statement {
        Some(Statement::Fetch {
            name,
            direction,
            position,
            into: None,
        }) => Ok(Some(Statement::Fetch {
            name,
            direction,
            position,
            into: moving.then(|| ObjectName::from(Vec::<Ident>::new())),
        })),
        _ => Err(Error::syntax(format!(
            "syntax error in {}",
            word.to_ascii_uppercase()
        ))),
    }
}

/// Whether a FETCH is a MOVE (an empty INTO target); FETCH … INTO a table is
/// not PostgreSQL's SQL.
pub(crate) fn is_move(into: Option<&ObjectName>) -> Result<bool> {
    match into {
        None => Ok(false),
        Some(target) if target.0.is_empty() => Ok(true),
        Some(target) => Err(Error::syntax(format!(
            "syntax error at or near \"INTO\": FETCH cannot store into {target}"
        ))),
    }
}

/// Where a FETCH or MOVE goes, in PostgreSQL's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Motion {
    /// The next n rows (forward) or the previous n (back); None is ALL.
    Forward(Option<usize>),
    Backward(Option<usize>),
    /// To row n (negative: counted from the end; 0: before the first).
    Absolute(i64),
    /// n rows from the current one.
    Relative(i64),
}

pub fn motion(direction: &FetchDirection) -> Result<Motion> {
    let signed = |v: &Value| -> Result<i64> {
        match v {
            Value::Number(n, _) => n
                .parse()
                .map_err(|_| Error::syntax(format!("invalid count {n}"))),
            other => Err(Error::syntax(format!("invalid count {other}"))),
        }
    };
    let steps = |n: i64| {
        if n < 0 {
            Motion::Backward(Some(n.unsigned_abs() as usize))
        } else {
            Motion::Forward(Some(n as usize))
        }
    };
    Ok(match direction {
        FetchDirection::Next | FetchDirection::Forward { limit: None } => Motion::Forward(Some(1)),
        FetchDirection::Prior | FetchDirection::Backward { limit: None } => {
            Motion::Backward(Some(1))
        }
        FetchDirection::Count { limit } | FetchDirection::Forward { limit: Some(limit) } => {
            steps(signed(&limit.value)?)
        }
        FetchDirection::Backward { limit: Some(limit) } => steps(-signed(&limit.value)?),
        FetchDirection::All | FetchDirection::ForwardAll => Motion::Forward(None),
        FetchDirection::BackwardAll => Motion::Backward(None),
        FetchDirection::First => Motion::Absolute(1),
        FetchDirection::Last => Motion::Absolute(-1),
        FetchDirection::Absolute { limit } => Motion::Absolute(signed(&limit.value)?),
        FetchDirection::Relative { limit } => Motion::Relative(signed(&limit.value)?),
    })
}

/// A MOVE forward (`MOVE [FORWARD] [n | ALL] [FROM] c`): the cursor's name and
/// how many rows, None for ALL. The front end moves portals the extended
/// protocol opened with it (asyncpg's `cursor.forward`), since PostgreSQL's
/// cursors and portals share one namespace.
pub fn forward_move(stmt: &datafusion::sql::parser::Statement) -> Option<(String, Option<usize>)> {
    let datafusion::sql::parser::Statement::Statement(s) = stmt else {
        return None;
    };
    let Statement::Fetch {
        name,
        direction,
        into,
        ..
    } = s.as_ref()
    else {
        return None;
    };
    if !is_move(into.as_ref()).ok()? {
        return None;
    }
    match motion(direction).ok()? {
        Motion::Forward(rows) => Some((name.value.clone(), rows)),
        _ => None,
    }
}

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
