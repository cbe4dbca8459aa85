//! Sequence options in any order. PostgreSQL takes the options of CREATE
//! SEQUENCE and of an identity column (`GENERATED … AS IDENTITY (START WITH
//! 100 INCREMENT BY 10)`) in any order; sqlparser reads them in one order
//! only. Option lists are put in that order before parsing.

use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// The order sqlparser reads options in.
const ORDER: [&str; 8] = [
    "as",
    "increment",
    "minvalue",
    "maxvalue",
    "start",
    "cache",
    "cycle",
    "owned",
];

/// The text with every option list of a sequence in sqlparser's order; None
/// when nothing is out of order (or the text is not understood, left for the
/// parser to report).
pub(super) fn sequence_options_ordered(sql: &str) -> Option<String> {
    let lower = sql.to_ascii_lowercase();
    if !lower.contains("sequence") && !lower.contains("identity") {
        return None;
    }
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize().ok()?;
    let words: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i], Token::Whitespace(_)))
        .collect();
    let is = |k: usize, word: &str| {
        words.get(k).is_some_and(|&i| {
            matches!(&tokens[i], Token::Word(w) if w.quote_style.is_none()
                && w.value.eq_ignore_ascii_case(word))
        })
    };
    // Option lists as ranges of `words`.
    let mut lists = Vec::new();
    let mut k = 0;
    while k < words.len() {
        if is(k, "create") {
            let mut j = k + 1;
            if is(j, "temp") || is(j, "temporary") {
                j += 1;
            }
            if is(j, "sequence") {
                j += 1;
                if is(j, "if") {
                    j += 3;
                }
                j = name_end(&tokens, &words, j);
                let end = (j..words.len())
                    .find(|&e| tokens[words[e]] == Token::SemiColon)
                    .unwrap_or(words.len());
                lists.push((j, end));
                k = end;
                continue;
            }
        }
        if is(k, "identity")
            && words
                .get(k + 1)
                .is_some_and(|&i| tokens[i] == Token::LParen)
        {
            let start = k + 2;
            let end = (start..words.len()).find(|&e| tokens[words[e]] == Token::RParen)?;
            lists.push((start, end));
            k = end;
            continue;
        }
        k += 1;
    }
    let mut replaced: Vec<(usize, usize, String)> = Vec::new();
    for (start, end) in lists {
        let mut groups = Vec::new();
        let mut j = start;
        while j < end {
            let next = option_end(&tokens, &words, j, end)?;
            let key = match &tokens[words[j]] {
                Token::Word(w) if w.value.eq_ignore_ascii_case("no") => {
                    let Token::Word(second) = &tokens[*words.get(j + 1)?] else {
                        return None;
                    };
                    second.value.to_ascii_lowercase()
                }
                Token::Word(w) => w.value.to_ascii_lowercase(),
                _ => return None,
            };
            let rank = ORDER.iter().position(|o| *o == key)?;
            let text: Vec<String> = words[j..next]
                .iter()
                .map(|&i| tokens[i].to_string())
                .collect();
            groups.push((rank, text.join(" ")));
            j = next;
        }
        if groups.windows(2).all(|w| w[0].0 <= w[1].0) {
            continue;
        }
        groups.sort_by_key(|(rank, _)| *rank);
        let text = groups
            .into_iter()
            .map(|(_, t)| t)
            .collect::<Vec<_>>()
            .join(" ");
        replaced.push((words[start], words[end - 1], text));
    }
    if replaced.is_empty() {
        return None;
    }
    Some(super::spliced(&tokens, &replaced))
}

/// Where a dotted name starting at `words[k]` ends.
fn name_end(tokens: &[Token], words: &[usize], mut k: usize) -> usize {
    k += 1;
    while words.get(k).is_some_and(|&i| tokens[i] == Token::Period) {
        k += 2;
    }
    k
}

/// Where the option starting at `words[k]` ends (before `end`).
fn option_end(tokens: &[Token], words: &[usize], k: usize, end: usize) -> Option<usize> {
    let word = |k: usize| match words.get(k).map(|&i| &tokens[i]) {
        Some(Token::Word(w)) => Some(w.value.to_ascii_lowercase()),
        _ => None,
    };
    // A number, signed or not.
    let number = |k: usize| match words.get(k).map(|&i| &tokens[i]) {
        Some(Token::Minus | Token::Plus) => Some(k + 2),
        Some(Token::Number(..)) => Some(k + 1),
        _ => None,
    };
    let next = match word(k)?.as_str() {
        "as" => k + 2,
        "cycle" => k + 1,
        "increment" => number(k + 1 + usize::from(word(k + 1).as_deref() == Some("by")))?,
        "start" => number(k + 1 + usize::from(word(k + 1).as_deref() == Some("with")))?,
        "minvalue" | "maxvalue" | "cache" => number(k + 1)?,
        "no" => k + 2,
        "owned" => name_end(tokens, words, k + 2),
        _ => return None,
    };
    (next <= end).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_put_in_the_parsers_order() {
        let sql = "CREATE SEQUENCE s START WITH 5 INCREMENT BY -1 NO MINVALUE CYCLE";
        assert_eq!(
            sequence_options_ordered(sql).as_deref(),
            Some("CREATE SEQUENCE s INCREMENT BY - 1 NO MINVALUE START WITH 5 CYCLE")
        );
        let sql = "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY 10), v int)";
        assert_eq!(
            sequence_options_ordered(sql).as_deref(),
            Some(
                "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY (INCREMENT BY 10 START WITH 100), v int)"
            )
        );
        assert_eq!(
            sequence_options_ordered("CREATE SEQUENCE s INCREMENT 2 START 3"),
            None
        );
        assert_eq!(sequence_options_ordered("SELECT 1"), None);
    }
}
