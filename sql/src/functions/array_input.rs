//! PostgreSQL's array input syntax (`'{1,2}'`, `'{"a,b",NULL}'`,
//! `'{{1,2},{3,4}}'`), read as array_in reads it: braces nest, elements are
//! separated by commas, double quotes and backslashes protect what they
//! enclose, whitespace around an element is dropped, and an unquoted `NULL`
//! is a null element.
//!
//! `'…'::int[]` is read here ([`parse`]) and each element is then read by its
//! type's own input rules (see `statement::array_literals`); `array_in_text`
//! reads text that is not a literal into an array of text, for a cast.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};

use crate::error::Error;

/// An array value as written: nested lists of elements, each text or NULL.
#[derive(Debug, Clone, PartialEq)]
pub enum Element {
    Text(String),
    Null,
    Array(Vec<Element>),
}

/// Reads an array literal's text, with PostgreSQL's error for a malformed one.
pub fn parse(text: &str) -> std::result::Result<Vec<Element>, Error> {
    // PostgreSQL adds the detail as DETAIL; here it follows the message.
    let malformed = |detail: &str| Error::Coded {
        code: "22P02",
        message: format!("malformed array literal: \"{text}\" ({detail})"),
    };
    let mut chars = text.trim().chars().peekable();
    if chars.next() != Some('{') {
        return Err(malformed(
            "Array value must start with \"{\" or dimension information.",
        ));
    }
    let items = read_items(&mut chars).map_err(&malformed)?;
    if chars.any(|c| !c.is_whitespace()) {
        return Err(malformed("Junk after closing right brace."));
    }
    if !same_shape(&items) {
        return Err(malformed(
            "Multidimensional arrays must have sub-arrays with matching dimensions.",
        ));
    }
    Ok(items)
}

/// The items of a `{…}` whose opening brace was read, through its closing one.
fn read_items(
    chars: &mut std::iter::Peekable<std::str::Chars>,
) -> std::result::Result<Vec<Element>, &'static str> {
    let mut items = Vec::new();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek() {
            Some('}') if items.is_empty() => {
                chars.next();
                return Ok(items);
            }
            Some('{') => {
                chars.next();
                items.push(Element::Array(read_items(chars)?));
            }
            Some(_) => items.push(read_scalar(chars)?),
            None => return Err("Unexpected end of input."),
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.next() {
            Some(',') => continue,
            Some('}') => return Ok(items),
            Some(_) => return Err("Unexpected array element."),
            None => return Err("Unexpected end of input."),
        }
    }
}

/// One element up to (not including) the comma or brace after it.
fn read_scalar(
    chars: &mut std::iter::Peekable<std::str::Chars>,
) -> std::result::Result<Element, &'static str> {
    let mut text = String::new();
    let mut quoted = false;
    // The length of `text` up to its last protected character: trailing
    // whitespace after it is dropped, not before it.
    let mut kept = 0;
    let mut in_quotes = false;
    loop {
        match chars.peek().copied() {
            None => return Err("Unexpected end of input."),
            Some('"') => {
                chars.next();
                quoted = true;
                in_quotes = !in_quotes;
                kept = text.len();
            }
            Some('\\') => {
                chars.next();
                let escaped = chars.next().ok_or("Unexpected end of input.")?;
                text.push(escaped);
                kept = text.len();
            }
            Some(c @ (',' | '}')) if !in_quotes => {
                let _ = c;
                break;
            }
            Some('{') if !in_quotes => return Err("Unexpected \"{\" character."),
            Some(c) => {
                chars.next();
                if in_quotes {
                    text.push(c);
                    kept = text.len();
                } else if quoted && !c.is_whitespace() {
                    return Err("Incorrectly quoted array element.");
                } else if !(c.is_whitespace() && text.len() == kept && kept == 0 && !quoted) {
                    text.push(c);
                    if !c.is_whitespace() {
                        kept = text.len();
                    }
                }
            }
        }
    }
    text.truncate(kept.max(if quoted { kept } else { 0 }));
    if !quoted && text.eq_ignore_ascii_case("null") {
        return Ok(Element::Null);
    }
    if !quoted && text.is_empty() {
        return Err("Unexpected \",\" character.");
    }
    Ok(Element::Text(text))
}

/// Whether every sub-array at each depth has the same length and nesting.
fn same_shape(items: &[Element]) -> bool {
    fn shape(items: &[Element]) -> Option<Vec<usize>> {
        let mut dims = vec![items.len()];
        let mut inner: Option<Option<Vec<usize>>> = None;
        for item in items {
            let this = match item {
                Element::Array(sub) => Some(shape(sub)?),
                _ => None,
            };
            match &inner {
                None => inner = Some(this),
                Some(seen) if *seen == this => {}
                Some(_) => return None,
            }
        }
        if let Some(Some(sub)) = inner {
            dims.extend(sub);
        }
        Some(dims)
    }
    shape(items).is_some()
}

/// `array_in_text(text)`: text in the array input syntax as an array of
/// its elements' text (one dimension), for a cast to an array type.
pub(super) fn array_in_text() -> ScalarUDF {
    let list = DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)));
    create_udf(
        "array_in_text",
        vec![DataType::Utf8],
        list,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let input = args[0].to_array(1)?;
            let mut out = ListBuilder::new(StringBuilder::new());
            for value in input.as_string::<i32>().iter() {
                let Some(value) = value else {
                    out.append_null();
                    continue;
                };
                for item in parse(value).map_err(datafusion::error::DataFusionError::from)? {
                    match item {
                        Element::Text(t) => out.values().append_value(t),
                        Element::Null => out.values().append_null(),
                        Element::Array(_) => {
                            return Err(
                                Error::unsupported("multidimensional arrays from text").into()
                            );
                        }
                    }
                }
                out.append(true);
            }
            let out: ArrayRef = Arc::new(out.finish());
            super::shaped_like(args, out)
        }),
    )
}

/// A string literal read as an array of type `ty` (one dimension), by
/// PostgreSQL's array input syntax; other expressions, and literals of more
/// dimensions, unchanged. Operators and coercion rules read untyped strings
/// next to arrays so.
pub(crate) fn array_literal(
    expr: datafusion::logical_expr::Expr,
    ty: &DataType,
) -> datafusion::error::Result<datafusion::logical_expr::Expr> {
    use datafusion::common::ScalarValue;
    use datafusion::logical_expr::Expr;
    let Expr::Literal(value, _) = &expr else {
        return Ok(expr);
    };
    let text = value.to_string();
    let mut elements = Vec::new();
    for item in parse(&text)? {
        match item {
            Element::Text(t) => elements.push(ScalarValue::Utf8(Some(t))),
            Element::Null => elements.push(ScalarValue::Utf8(None)),
            Element::Array(_) => return Ok(expr),
        }
    }
    let texts = ScalarValue::List(ScalarValue::new_list_nullable(&elements, &DataType::Utf8));
    Ok(Expr::Literal(texts.cast_to(ty)?, None))
}

#[cfg(test)]
mod tests {
    use super::Element::{Array, Null, Text};
    use super::*;

    fn text(s: &str) -> Element {
        Text(s.to_string())
    }

    #[test]
    fn elements_read_as_array_in_reads_them() {
        assert_eq!(parse("{1,2}").unwrap(), [text("1"), text("2")]);
        assert_eq!(parse("{}").unwrap(), []);
        assert_eq!(
            parse(r#"{"a,b", c d ,NULL,"NULL",\"x}"#).unwrap(),
            [text("a,b"), text("c d"), Null, text("NULL"), text("\"x")]
        );
        assert_eq!(
            parse("{{1,2},{3,4}}").unwrap(),
            [
                Array(vec![text("1"), text("2")]),
                Array(vec![text("3"), text("4")])
            ]
        );
        assert_eq!(parse(r#"{"  padded  "}"#).unwrap(), [text("  padded  ")]);
    }

    #[test]
    fn malformed_literals_fail_with_22p02() {
        for bad in ["1,2", "{1,2", "{1,,2}", "{{1},{2,3}}", "{1}x", r#"{"a"b}"#] {
            let err = parse(bad).unwrap_err();
            assert!(matches!(err, Error::Coded { code: "22P02", .. }), "{bad}");
        }
    }
}
