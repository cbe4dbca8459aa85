//! String literals as PostgreSQL reads them where sqlparser does not, edited
//! in the text before parsing:
//! - `U&'…'` strings and `U&"…"` identifiers, with `UESCAPE` for another
//!   escape character, are written out as plain literals and identifiers
//!   (sqlparser reads neither `UESCAPE` nor `U&` identifiers, and DataFusion
//!   not its Unicode strings);
//! - with `standard_conforming_strings` off, a backslash escapes in every
//!   string: plain strings become `E'…'` strings.

use crate::error::{Error, Result};
use crate::functions::unistr::{Escapes, decode};

/// The text with every Unicode-escaped literal and identifier decoded, if
/// it has any; a bad escape is 42601, as PostgreSQL's lexer raises it.
pub(super) fn unicode_escapes_decoded(sql: &str) -> Result<Option<String>> {
    if !sql.contains("U&") && !sql.contains("u&") {
        return Ok(None);
    }
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len());
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let word_before = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if matches!(c, 'u' | 'U')
            && next == Some('&')
            && matches!(chars.get(i + 2), Some('\'' | '"'))
            && !word_before
        {
            let quote = chars[i + 2];
            let (body, after) = quoted(&chars, i + 2);
            let (escape, after) = uescape(&chars, after)?;
            let text = decode(&body, escape, Escapes::Literal)?;
            let doubled = text.replace(quote, &format!("{quote}{quote}"));
            out.push(quote);
            out.push_str(&doubled);
            out.push(quote);
            changed = true;
            i = after;
            continue;
        }
        let end = match c {
            '\'' | '"' => quoted_end(&chars, i, word_before && matches!(chars[i - 1], 'e' | 'E')),
            _ => comment_end(&chars, i).unwrap_or(i + 1),
        };
        out.extend(&chars[i..end]);
        i = end;
    }
    Ok(changed.then_some(out))
}

/// The text between the quotes starting at `start` (a doubled quote is one
/// quote), and the position after the closing quote.
fn quoted(chars: &[char], start: usize) -> (String, usize) {
    let quote = chars[start];
    let mut body = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == quote {
            if chars.get(i + 1) == Some(&quote) {
                body.push(quote);
                i += 2;
                continue;
            }
            return (body, i + 1);
        }
        body.push(chars[i]);
        i += 1;
    }
    (body, i)
}

/// With `standard_conforming_strings` off: the text with every plain string
/// an `E'…'` string, if it has any; a Unicode-escaped string is refused
/// (0A000), as PostgreSQL refuses it then.
pub(super) fn nonconforming_strings_escaped(sql: &str) -> Result<Option<String>> {
    if !sql.contains('\'') {
        return Ok(None);
    }
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let prefix = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        let end = match chars[i] {
            '\'' if i >= 2 && chars[i - 1] == '&' && matches!(chars[i - 2], 'u' | 'U') => {
                return Err(Error::Coded {
                    code: "0A000",
                    message: "unsafe use of string constant with Unicode escapes".into(),
                });
            }
            '\'' => {
                // E'…' already; B'…', X'…' and N'…' hold no backslashes.
                if !prefix {
                    out.push('E');
                }
                quoted_end(&chars, i, !prefix || matches!(chars[i - 1], 'e' | 'E'))
            }
            '"' => quoted_end(&chars, i, false),
            _ => comment_end(&chars, i).unwrap_or(i + 1),
        };
        out.extend(&chars[i..end]);
        i = end;
    }
    Ok(Some(out))
}

/// The end of the quoted text starting at `start`; `escapes` for an `E'…'`
/// string, where a backslash escapes the next character.
fn quoted_end(chars: &[char], start: usize, escapes: bool) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        if escapes && chars[i] == '\\' {
            i += 2;
            continue;
        }
        if chars[i] == quote {
            if chars.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    chars.len()
}

/// The end of the comment starting at `start`, if one does (`--` to the end
/// of the line, `/* … */` nested).
fn comment_end(chars: &[char], start: usize) -> Option<usize> {
    match (chars.get(start), chars.get(start + 1)) {
        (Some('-'), Some('-')) => Some(
            chars[start..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |p| start + p),
        ),
        (Some('/'), Some('*')) => Some(block_comment_end(chars, start)),
        _ => None,
    }
}

fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i < chars.len() {
        if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    chars.len()
}

/// A `UESCAPE 'c'` clause at `at` (after spaces): its character, and the
/// position after it; else the backslash, and `at`.
fn uescape(chars: &[char], at: usize) -> Result<(char, usize)> {
    let skip_spaces = |mut i: usize| {
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        i
    };
    let i = skip_spaces(at);
    let word: String = chars.iter().skip(i).take(7).collect();
    if !word.eq_ignore_ascii_case("uescape")
        || chars
            .get(i + 7)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_')
    {
        return Ok(('\\', at));
    }
    let i = skip_spaces(i + 7);
    if chars.get(i) != Some(&'\'') {
        return Err(invalid_escape_character());
    }
    let (body, after) = quoted(chars, i);
    let mut escape = body.chars();
    match (escape.next(), escape.next()) {
        (Some(c), None)
            if !c.is_ascii_hexdigit() && !c.is_whitespace() && !matches!(c, '+' | '\'' | '"') =>
        {
            Ok((c, after))
        }
        _ => Err(invalid_escape_character()),
    }
}

fn invalid_escape_character() -> Error {
    Error::Coded {
        code: "42601",
        message: "invalid Unicode escape character".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_escapes_become_plain_literals() {
        let decoded = |sql| unicode_escapes_decoded(sql).unwrap();
        assert_eq!(
            decoded(r#"SELECT U&'d\0061t\+000061' AS U&"d\0061t\+000061""#).as_deref(),
            Some(r#"SELECT 'data' AS "data""#)
        );
        assert_eq!(
            decoded(r#"SELECT U&'d!0061t\+000061' UESCAPE '!' AS U&"d*0061t\+000061" UESCAPE '*'"#)
                .as_deref(),
            Some(r#"SELECT 'dat\+000061' AS "dat\+000061""#)
        );
        assert_eq!(
            decoded(r#"SELECT U&' \' UESCAPE '!' AS "tricky""#).as_deref(),
            Some(r#"SELECT ' \' AS "tricky""#)
        );
        assert_eq!(decoded("SELECT 'U&''x''', E'\\'u&'"), None);
        assert!(unicode_escapes_decoded("SELECT U&'wrong: +0061' UESCAPE '+'").is_err());
        assert!(unicode_escapes_decoded(r"SELECT U&'wrong: \061'").is_err());
    }

    #[test]
    fn nonconforming_strings_escape_with_backslashes() {
        let escaped = |sql| nonconforming_strings_escaped(sql).unwrap();
        assert_eq!(
            escaped("select 'a\\b\\'cd' as f2, E'x\\'', x'1f', -- it's\n 'e'").as_deref(),
            Some("select E'a\\b\\'cd' as f2, E'x\\'', x'1f', -- it's\n E'e'")
        );
        assert!(nonconforming_strings_escaped(r"SELECT U&'\0061'").is_err());
    }
}
