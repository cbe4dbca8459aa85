//! Unicode escapes as PostgreSQL reads them: in `U&'…'` literals and
//! identifiers (`\XXXX`, `\+XXXXXX`, with another escape character by
//! `UESCAPE`), and in the `unistr` function, which takes `\uXXXX` and
//! `\UXXXXXXXX` too.

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::Error;

/// Which escapes a text takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escapes {
    /// A `U&` literal or identifier: `\XXXX` and `\+XXXXXX` only.
    Literal,
    /// `unistr`: also `\uXXXX` and `\UXXXXXXXX`.
    Unistr,
}

fn syntax(message: &str) -> Error {
    Error::Coded {
        code: "42601",
        message: message.into(),
    }
}

/// `text` with its Unicode escapes (introduced by `escape`) replaced by the
/// characters they name; the escape character doubled stands for itself.
pub(crate) fn decode(text: &str, escape: char, escapes: Escapes) -> Result<String, Error> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    // A high surrogate waiting for its low half.
    let mut high: Option<u32> = None;
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != escape {
            if high.is_some() {
                return Err(syntax("invalid Unicode surrogate pair"));
            }
            out.push(chars[i]);
            i += 1;
            continue;
        }
        if chars.get(i + 1) == Some(&escape) {
            if high.is_some() {
                return Err(syntax("invalid Unicode surrogate pair"));
            }
            out.push(escape);
            i += 2;
            continue;
        }
        let (skip, digits) = match chars.get(i + 1) {
            Some('+') => (2, 6),
            Some('u') if escapes == Escapes::Unistr => (2, 4),
            Some('U') if escapes == Escapes::Unistr => (2, 8),
            _ => (1, 4),
        };
        let hex: String = chars
            .iter()
            .skip(i + skip)
            .take(digits)
            .take_while(|c| c.is_ascii_hexdigit())
            .collect();
        if hex.len() != digits {
            return Err(syntax("invalid Unicode escape"));
        }
        i += skip + digits;
        let code = u32::from_str_radix(&hex, 16).expect("hex digits");
        match (high.take(), code) {
            (None, 0xD800..=0xDBFF) => high = Some(code),
            (Some(h), 0xDC00..=0xDFFF) => {
                let combined = 0x10000 + ((h - 0xD800) << 10) + (code - 0xDC00);
                out.push(char::from_u32(combined).expect("a surrogate pair"));
            }
            (Some(_), _) | (None, 0xDC00..=0xDFFF) => {
                return Err(syntax("invalid Unicode surrogate pair"));
            }
            (None, code) => match char::from_u32(code) {
                Some(c) if code != 0 => out.push(c),
                // In a literal, the lexer's syntax error.
                _ if escapes == Escapes::Literal => {
                    return Err(syntax("invalid Unicode escape value"));
                }
                _ => {
                    return Err(Error::InvalidParameterValue(format!(
                        "invalid Unicode code point: {code:04X}"
                    )));
                }
            },
        }
    }
    if high.is_some() {
        return Err(syntax("invalid Unicode surrogate pair"));
    }
    Ok(out)
}

/// `unistr(text)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Unistr {
    signature: Signature,
}

impl Default for Unistr {
    fn default() -> Self {
        Self {
            signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Unistr {
    fn name(&self) -> &str {
        "unistr"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        let out = input
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(|t| decode(t, '\\', Escapes::Unistr)).transpose())
            .collect::<Result<StringArray, Error>>()?;
        super::shaped_like(&args.args, Arc::new(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_read_as_postgresql_reads_them() {
        let unistr = |t| decode(t, '\\', Escapes::Unistr);
        assert_eq!(unistr("d\\u0061t\\U000000610").unwrap(), "data0");
        assert_eq!(unistr("\\0064at\\+0000610").unwrap(), "data0");
        assert_eq!(unistr("a\\\\b").unwrap(), "a\\b");
        assert_eq!(unistr("\\D83D\\DE00").unwrap(), "\u{1F600}");
        assert!(unistr("wrong: \\db99").is_err());
        assert!(unistr("wrong: \\xyz").is_err());
        assert!(unistr("\\U002FFFFF").is_err());
        let literal = |t, e| decode(t, e, Escapes::Literal);
        assert_eq!(literal("d!0061t\\+000061", '!').unwrap(), "dat\\+000061");
        assert!(literal("\\u0061", '\\').is_err());
    }
}
