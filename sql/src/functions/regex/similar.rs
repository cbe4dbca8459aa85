//! SQL's regular expressions (`SIMILAR TO`, `similar_to_escape`) as
//! PostgreSQL's: `%` is `.*`, `_` is `.`, the pattern matches the whole text,
//! and a character after the escape character (`\` unless another is given)
//! stands for itself. The escape character followed by `"` separates the
//! part `substring(… SIMILAR …)` returns: up to two such separators split the
//! pattern into a leading part matched as little as possible, the part
//! returned, and the rest.

use crate::error::Error;

/// The advanced regular expression for SQL pattern `pattern` with escape
/// character `escape` (`None`: the default backslash; `Some("")`: none).
pub fn to_regex(pattern: &str, escape: Option<&str>) -> Result<String, Error> {
    convert(pattern, escape, false)
}

/// The regular expression `substring(text SIMILAR pattern ESCAPE escape)`
/// runs: [`to_regex`]'s, with the leading part's quantifiers lazy, as
/// PostgreSQL's engine matches a part quantified `{1,1}?` (as little as
/// possible) where the backtracking engine would let its own greedy
/// quantifiers decide.
pub fn substring_regex(pattern: &str, escape: &str) -> Result<String, Error> {
    convert(pattern, Some(escape), true)
}

fn convert(pattern: &str, escape: Option<&str>, lazy_head: bool) -> Result<String, Error> {
    let escape = match escape {
        None => Some('\\'),
        Some(e) => {
            let mut chars = e.chars();
            match (chars.next(), chars.next()) {
                (None, _) => None,
                (Some(c), None) => Some(c),
                _ => {
                    return Err(Error::Coded {
                        code: "22025",
                        message: "invalid escape string".into(),
                    });
                }
            }
        }
    };
    let mut out = String::from("^(?:");
    let mut after_escape = false;
    let mut in_class = false;
    let mut separators = 0;
    for c in pattern.chars() {
        if after_escape {
            after_escape = false;
            if c == '"' && !in_class {
                // The bounds mark the parts' greediness for PostgreSQL's
                // engine; with the leading part's quantifiers made lazy,
                // the backtracking engine needs none.
                out.push_str(match (separators, lazy_head) {
                    (0, false) => "){1,1}?(",
                    (1, false) => "){1,1}(?:",
                    (0, true) => ")(",
                    (1, true) => ")(?:",
                    _ => {
                        return Err(Error::Coded {
                            code: "2200C",
                            message: "SQL regular expression may not contain more than two \
                                      escape-double-quote separators"
                                .into(),
                        });
                    }
                });
                separators += 1;
            } else {
                out.push('\\');
                out.push(c);
            }
        } else if Some(c) == escape {
            after_escape = true;
        } else if in_class {
            if c == '\\' {
                out.push('\\');
            }
            out.push(c);
            if c == ']' {
                in_class = false;
            }
        } else {
            let lazy = lazy_head && separators == 0;
            match c {
                '[' => {
                    out.push('[');
                    in_class = true;
                }
                '%' if lazy => out.push_str(".*?"),
                '*' | '+' | '?' | '}' if lazy => {
                    out.push(c);
                    out.push('?');
                }
                '%' => out.push_str(".*"),
                '_' => out.push('.'),
                '(' => out.push_str("(?:"),
                '\\' | '.' | '^' | '$' => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
        }
    }
    out.push_str(")$");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_patterns_become_anchored_regular_expressions() {
        assert_eq!(to_regex("_bcd%", None).unwrap(), "^(?:.bcd.*)$");
        assert_eq!(to_regex("_bcd#%", Some("#")).unwrap(), "^(?:.bcd\\%)$");
        assert_eq!(
            to_regex("a#\"(b_d)#\"%", Some("#")).unwrap(),
            "^(?:a){1,1}?((?:b.d)){1,1}(?:.*)$"
        );
        assert!(to_regex("a#\"b#\"c#\"d", Some("#")).is_err());
        assert!(to_regex("a", Some("##")).is_err());
    }
}
