//! PostgreSQL's table inheritance markers in FROM: `ONLY t` (the table without
//! its descendants) and `t*` (with them). No Enishi table has descendants, so
//! both name the table itself; sqlparser reads neither (`ONLY` as a table
//! named "only", `*` as a syntax error).

use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use super::roles::byte_offset;
use super::*;

/// The text with `ONLY` before, and `*` after, a relation named after FROM,
/// JOIN, UPDATE or a comma of a FROM list removed; None when it has neither.
pub(super) fn inheritance_markers_dropped(sql: &str) -> Option<String> {
    let lower = sql.to_ascii_lowercase();
    if !lower.contains("only") && !lower.contains('*') {
        return None;
    }
    let tokens: Vec<_> = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize_with_location()
        .ok()?
        .into_iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let keyword = |i: usize| match tokens.get(i).map(|t| &t.token) {
        Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.keyword),
        _ => None,
    };
    let is_name = |i: usize| matches!(tokens.get(i).map(|t| &t.token), Some(Token::Word(_)));
    let mut edits = Vec::new();
    // Whether the tokens are in a FROM list (at which parenthesis depth).
    let mut from_depth: Option<usize> = None;
    let mut depth = 0usize;
    // For each open parenthesis, whether it holds a call's arguments
    // (`substring(a FROM 2)`, `extract(year FROM d)`), where FROM is no
    // relation's.
    let mut calls: Vec<bool> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i].token {
            Token::LParen => {
                depth += 1;
                let call = i > 0
                    && matches!(&tokens[i - 1].token, Token::Word(w)
                        if !matches!(w.keyword, Keyword::FROM | Keyword::JOIN | Keyword::IN
                            | Keyword::EXISTS | Keyword::AS | Keyword::ON | Keyword::USING
                            | Keyword::LATERAL | Keyword::ANY | Keyword::ALL | Keyword::SOME));
                calls.push(call);
            }
            Token::RParen => {
                depth = depth.saturating_sub(1);
                calls.pop();
                if from_depth.is_some_and(|d| d > depth) {
                    from_depth = None;
                }
            }
            _ => {}
        }
        if calls.last() == Some(&true) {
            i += 1;
            continue;
        }
        let starts_relation = match keyword(i) {
            Some(Keyword::FROM | Keyword::JOIN | Keyword::UPDATE) => {
                from_depth = Some(depth);
                true
            }
            Some(
                Keyword::WHERE
                | Keyword::GROUP
                | Keyword::ORDER
                | Keyword::HAVING
                | Keyword::LIMIT
                | Keyword::SET
                | Keyword::ON
                | Keyword::USING
                | Keyword::WINDOW,
            ) if from_depth == Some(depth) => {
                from_depth = None;
                false
            }
            _ => tokens[i].token == Token::Comma && from_depth == Some(depth),
        };
        if !starts_relation {
            i += 1;
            continue;
        }
        let mut name = i + 1;
        if keyword(name) == Some(Keyword::ONLY) && is_name(name + 1) {
            let start = byte_offset(sql, tokens[name].span.start)?;
            let end = byte_offset(sql, tokens[name + 1].span.start)?;
            edits.push((start..end, ""));
            name += 1;
        }
        // The relation's name, maybe qualified: name(.name)*
        let mut last = name;
        if !is_name(last) {
            i += 1;
            continue;
        }
        while tokens.get(last + 1).map(|t| &t.token) == Some(&Token::Period) && is_name(last + 2) {
            last += 2;
        }
        if tokens.get(last + 1).map(|t| &t.token) == Some(&Token::Mul) {
            let start = byte_offset(sql, tokens[last + 1].span.start)?;
            let end = byte_offset(sql, tokens[last + 1].span.end)?;
            edits.push((start..end, ""));
        }
        i = last + 1;
    }
    if edits.is_empty() {
        return None;
    }
    let mut text = sql.to_string();
    for (range, replacement) in edits.into_iter().rev() {
        text.replace_range(range, replacement);
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_and_star_name_the_table() {
        let read = |sql: &str| inheritance_markers_dropped(sql);
        assert_eq!(
            read("SELECT p.name FROM person* p, ONLY emp e").as_deref(),
            Some("SELECT p.name FROM person p, emp e")
        );
        assert_eq!(
            read("UPDATE ONLY s.t SET a = 1").as_deref(),
            Some("UPDATE s.t SET a = 1")
        );
        assert_eq!(read("SELECT a * b, c FROM t WHERE x * y > 1"), None);
        assert_eq!(read("SELECT count(*) FROM t"), None);
        assert_eq!(read("SELECT substring(a FROM b * c) FROM t"), None);
        assert_eq!(
            read("SELECT * FROM a JOIN ONLY b ON a.x = b.x * 2").as_deref(),
            Some("SELECT * FROM a JOIN b ON a.x = b.x * 2")
        );
    }
}
