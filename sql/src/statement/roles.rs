//! CREATE USER as CREATE ROLE … LOGIN, edited by byte offsets in the text
//! the client sent (never rebuilt from tokens).

use super::*;

/// `CREATE USER`, `ALTER USER` and `DROP USER` are PostgreSQL's ROLE
/// statements (CREATE USER with LOGIN unless told otherwise), but sqlparser
/// reads CREATE USER in another dialect's form. The keyword is swapped for
/// ROLE where it starts a statement, in the original text by byte offset (the
/// rest of the text, its quoting included, is kept as the client sent it);
/// returns the new text and the positions (statement numbers) of the CREATE USERs.
pub(super) fn users_as_roles(sql: &str) -> Option<(String, Vec<usize>)> {
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
pub(super) fn byte_offset(
    sql: &str,
    at: datafusion::sql::sqlparser::tokenizer::Location,
) -> Option<usize> {
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
pub(super) fn created_users_log_in(statements: &mut [DFStatement], creates: &[usize]) {
    use datafusion::sql::sqlparser::ast::Statement;
    for n in creates {
        if let Some(DFStatement::Statement(s)) = statements.get_mut(*n)
            && let Statement::CreateRole(create) = s.as_mut()
        {
            create.login = create.login.or(Some(true));
        }
    }
}
