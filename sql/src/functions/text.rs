//! Text functions: `chr`, `quote_literal` and `quote_ident` as PostgreSQL
//! spells them, and `pg_like_escape`, which a `LIKE … ESCAPE` becomes.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility};

use super::shaped_like;

/// A text → text function (NULL in, NULL out).
pub(super) fn text_function(name: &str, f: fn(&str) -> String) -> ScalarUDF {
    datafusion::logical_expr::create_udf(
        name,
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let values = args[0].to_array(1)?;
            let values = datafusion::arrow::compute::cast(&values, &DataType::Utf8)?;
            let values = values.as_any().downcast_ref::<StringArray>().expect("text");
            let out: StringArray = values.iter().map(|v| v.map(f)).collect();
            Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
        }),
    )
}

/// `chr(n)`: the character with code point `n`, with PostgreSQL's errors
/// for zero (54000), a negative number (22023) and one past Unicode (54000).
pub(super) fn chr() -> ScalarUDF {
    datafusion::logical_expr::create_udf(
        "chr",
        vec![DataType::Int64],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let codes = args[0].to_array(1)?;
            let out = codes
                .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                .iter()
                .map(|code| code.map(character).transpose())
                .collect::<Result<StringArray, crate::error::Error>>()?;
            shaped_like(args, Arc::new(out))
        }),
    )
}

fn character(code: i64) -> Result<String, crate::error::Error> {
    use crate::error::Error;
    match code {
        0 => Err(Error::Coded {
            code: "54000",
            message: "null character not permitted".into(),
        }),
        ..0 => Err(Error::InvalidParameterValue(
            "character number must be positive".into(),
        )),
        _ => u32::try_from(code)
            .ok()
            .and_then(char::from_u32)
            .map(String::from)
            .ok_or_else(|| Error::Coded {
                code: "54000",
                message: format!("requested character too large for encoding: {code}"),
            }),
    }
}

/// `pg_like_escape(pattern, escape)`: a LIKE pattern written with another
/// escape character (`LIKE p ESCAPE '/'`, or none with `ESCAPE ''`), rewritten
/// for the backslash, the only escape DataFusion's LIKE knows.
pub(super) fn like_escape() -> ScalarUDF {
    datafusion::logical_expr::create_udf(
        "pg_like_escape",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let rows = args
                .iter()
                .find_map(|a| match a {
                    ColumnarValue::Array(a) => Some(a.len()),
                    ColumnarValue::Scalar(_) => None,
                })
                .unwrap_or(1);
            let text = |a: &ColumnarValue| -> Result<ArrayRef> {
                Ok(datafusion::arrow::compute::cast(
                    &a.to_array(rows)?,
                    &DataType::Utf8,
                )?)
            };
            let (patterns, escapes) = (text(&args[0])?, text(&args[1])?);
            let patterns = patterns
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("text");
            let escapes = escapes
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("text");
            let mut out = Vec::with_capacity(rows);
            for (pattern, escape) in patterns.iter().zip(escapes.iter()) {
                out.push(match (pattern, escape) {
                    (Some(p), Some(e)) => Some(like_with_backslash(p, e)?),
                    _ => None,
                });
            }
            let out: StringArray = out.into_iter().collect();
            Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
        }),
    )
}

fn like_with_backslash(pattern: &str, escape: &str) -> Result<String> {
    let mut escape_chars = escape.chars();
    let escape = match (escape_chars.next(), escape_chars.next()) {
        (None, _) => None,
        (Some(c), None) => Some(c),
        _ => {
            return Err(crate::error::Error::Coded {
                code: "22025",
                message: "invalid escape string".into(),
            }
            .into());
        }
    };
    let mut out = String::with_capacity(pattern.len() + 2);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            match chars.next() {
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => {
                    return Err(crate::error::Error::Coded {
                        code: "22025",
                        message: "LIKE pattern must not end with escape character".into(),
                    }
                    .into());
                }
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// `quote_literal`: a string literal, doubling quotes; with backslashes, an
/// escape string (`E'…'`) doubling them too.
pub(super) fn quote_literal(text: &str) -> String {
    let quoted = text.replace('\'', "''");
    if text.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

/// `quote_ident`: quoted unless it is a lower-case identifier that is not a
/// keyword, as PostgreSQL decides.
pub(crate) fn quote_ident(text: &str) -> String {
    // PostgreSQL's reserved key words (and those that cannot be column names).
    const RESERVED: &[&str] = &[
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "authorization",
        "between",
        "bigint",
        "binary",
        "bit",
        "boolean",
        "both",
        "case",
        "cast",
        "char",
        "character",
        "check",
        "coalesce",
        "collate",
        "collation",
        "column",
        "concurrently",
        "constraint",
        "create",
        "cross",
        "current_catalog",
        "current_date",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "dec",
        "decimal",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "exists",
        "extract",
        "false",
        "fetch",
        "float",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "grant",
        "greatest",
        "group",
        "grouping",
        "having",
        "ilike",
        "in",
        "initially",
        "inner",
        "inout",
        "int",
        "integer",
        "intersect",
        "interval",
        "into",
        "is",
        "isnull",
        "join",
        "lateral",
        "leading",
        "least",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "national",
        "natural",
        "nchar",
        "none",
        "normalize",
        "not",
        "notnull",
        "null",
        "nullif",
        "numeric",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "out",
        "outer",
        "overlaps",
        "overlay",
        "placing",
        "position",
        "precision",
        "primary",
        "real",
        "references",
        "returning",
        "right",
        "row",
        "select",
        "session_user",
        "setof",
        "similar",
        "smallint",
        "some",
        "substring",
        "symmetric",
        "table",
        "tablesample",
        "then",
        "time",
        "timestamp",
        "to",
        "trailing",
        "treat",
        "trim",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "values",
        "varchar",
        "variadic",
        "verbose",
        "when",
        "where",
        "window",
        "with",
        "xmlattributes",
        "xmlconcat",
        "xmlelement",
        "xmlexists",
        "xmlforest",
        "xmlnamespaces",
        "xmlparse",
        "xmlpi",
        "xmlroot",
        "xmlserialize",
        "xmltable",
    ];
    let plain = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !RESERVED.contains(&text);
    if plain {
        text.to_string()
    } else {
        format!("\"{}\"", text.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_follows_postgresql() {
        assert_eq!(quote_ident("hello"), "hello");
        assert_eq!(quote_ident("Hello"), "\"Hello\"");
        assert_eq!(quote_ident("select"), "\"select\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b"), "E'a\\\\b'");
    }
}
