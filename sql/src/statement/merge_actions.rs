//! MERGE's actions that sqlparser does not read: `THEN DO NOTHING`, and
//! `INSERT DEFAULT VALUES`. Each is spelled as an action sqlparser reads,
//! naming a marker column that no table has; the session reads the marker
//! back (see `session::merge`).

use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// The column an action names to mean DO NOTHING.
pub const DO_NOTHING: &str = "__enishi_do_nothing";
/// The column an INSERT names to mean DEFAULT VALUES.
pub const DEFAULT_VALUES: &str = "__enishi_default_values";

/// The MERGE statement with its DO NOTHING and DEFAULT VALUES actions
/// spelled as markers; None for any other text, or one without them.
pub(super) fn merge_actions_spelled(sql: &str) -> Option<String> {
    let lower = sql.to_ascii_lowercase();
    if !lower.contains("merge") || !(lower.contains("nothing") || lower.contains("default")) {
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
    if !is(0, "merge") {
        return None;
    }
    // (first token, last token, replacement)
    let mut replaced: Vec<(usize, usize, String)> = Vec::new();
    let mut matched = true;
    for k in 0..words.len() {
        if is(k, "when") {
            matched = !is(k + 1, "not");
        } else if is(k, "then") && is(k + 1, "do") && is(k + 2, "nothing") {
            let action = match matched {
                true => format!("UPDATE SET {DO_NOTHING} = NULL"),
                false => format!("INSERT ({DO_NOTHING}) VALUES (NULL)"),
            };
            replaced.push((words[k + 1], words[k + 2], action));
        } else if is(k, "insert") && is(k + 1, "default") && is(k + 2, "values") {
            let action = format!("({DEFAULT_VALUES}) VALUES (NULL)");
            replaced.push((words[k + 1], words[k + 2], action));
        }
    }
    if replaced.is_empty() {
        return None;
    }
    Some(super::spliced(&tokens, &replaced))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn do_nothing_and_default_values_become_markers() {
        let sql = "MERGE INTO t USING s ON t.k = s.k WHEN MATCHED AND s.v > 0 THEN DO NOTHING \
                   WHEN NOT MATCHED AND s.v < 0 THEN INSERT DEFAULT VALUES \
                   WHEN NOT MATCHED THEN DO NOTHING";
        let spelled = merge_actions_spelled(sql).unwrap();
        assert_eq!(
            spelled,
            format!(
                "MERGE INTO t USING s ON t.k = s.k WHEN MATCHED AND s.v > 0 THEN UPDATE SET \
                 {DO_NOTHING} = NULL WHEN NOT MATCHED AND s.v < 0 THEN INSERT \
                 ({DEFAULT_VALUES}) VALUES (NULL) WHEN NOT MATCHED THEN INSERT ({DO_NOTHING}) \
                 VALUES (NULL)"
            )
        );
        assert_eq!(merge_actions_spelled("SELECT 'do nothing'"), None);
    }
}
