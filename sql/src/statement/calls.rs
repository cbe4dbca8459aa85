//! Function-call spellings of PostgreSQL that sqlparser does not read:
//! `f(…, VARIADIC array)`, `TRIM([BOTH | LEADING | TRAILING] FROM x)` and
//! `SUBSTRING(x SIMILAR pattern ESCAPE e)`. They are edited in the text, by
//! byte offset, before parsing.

use datafusion::sql::sqlparser::ast::{self, Expr, FunctionArg, FunctionArgExpr, Ident};
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use super::*;

/// The name a `VARIADIC` argument is given in the text: a named argument,
/// which sqlparser reads and [`spelled_calls`] turns back into a call.
const VARIADIC: &str = "variadic";

/// Edits the text so that sqlparser reads it:
/// - `VARIADIC expr` as a function's argument (after `(` or `,`) becomes the
///   named argument `"variadic" => expr`;
/// - `TRIM(… FROM x)` with no characters to trim gets PostgreSQL's default,
///   a space: `TRIM(BOTH ' ' FROM x)`;
/// - `SUBSTRING(x SIMILAR p ESCAPE e)` becomes `SUBSTRING(x, "similar" => p,
///   "escape" => e)`, a call named `substring` that [`spelled_calls`] turns
///   into the function of three arguments;
/// - `pg_catalog.substring(…)` (and trim, position, overlay, extract) lose
///   their qualifier, which sqlparser cannot read before those syntaxes.
pub(super) fn call_spellings(sql: &str) -> Option<String> {
    let lower = sql.to_ascii_lowercase();
    if !["variadic", "trim", "similar", "pg_catalog."]
        .iter()
        .any(|word| lower.contains(word))
    {
        return None;
    }
    let tokens: Vec<TokenWithSpan> = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize_with_location()
        .ok()?
        .into_iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let word = |i: usize, name: &str| {
        matches!(tokens.get(i).map(|t| &t.token),
            Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(name))
    };
    let mut edits: Vec<(std::ops::Range<usize>, &str)> = Vec::new();
    for i in 1..tokens.len() {
        // `pg_catalog.substring(…)`: the functions SQL gives a syntax of
        // their own are read by name only (pgAdmin qualifies them).
        if i >= 2
            && word(i - 2, "pg_catalog")
            && tokens[i - 1].token == Token::Period
            && ["substring", "trim", "position", "overlay", "extract"]
                .iter()
                .any(|name| word(i, name))
            && tokens.get(i + 1).is_some_and(|t| t.token == Token::LParen)
        {
            let start = byte_offset(sql, tokens[i - 2].span.start)?;
            let end = byte_offset(sql, tokens[i].span.start)?;
            edits.push((start..end, ""));
        }
        if word(i, VARIADIC) && matches!(tokens[i - 1].token, Token::LParen | Token::Comma) {
            let start = byte_offset(sql, tokens[i].span.start)?;
            let end = byte_offset(sql, tokens[i].span.end)?;
            edits.push((start..end, "\"variadic\" =>"));
        }
        if word(i - 1, "substring") && tokens[i].token == Token::LParen {
            similar_arguments(sql, &tokens[i + 1..], &mut edits)?;
        }
        if word(i - 1, "trim") && tokens[i].token == Token::LParen {
            let side = ["both", "leading", "trailing"]
                .iter()
                .any(|s| word(i + 1, s));
            let from = i + 1 + usize::from(side);
            if word(from, "from") {
                let at = byte_offset(sql, tokens[from].span.start)?;
                edits.push((at..at, "' ' "));
            }
        }
    }
    if edits.is_empty() {
        return None;
    }
    edits.sort_by_key(|(range, _)| range.start);
    let mut text = sql.to_string();
    for (range, replacement) in edits.into_iter().rev() {
        text.replace_range(range, replacement);
    }
    Some(text)
}

/// Within `SUBSTRING(`'s parentheses (`tokens` starts after the opening
/// one), `SIMILAR` and `ESCAPE` at its own depth become named arguments.
fn similar_arguments(
    sql: &str,
    tokens: &[TokenWithSpan],
    edits: &mut Vec<(std::ops::Range<usize>, &str)>,
) -> Option<()> {
    let mut depth = 0;
    let mut found = Vec::new();
    for t in tokens {
        match &t.token {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket if depth == 0 => break,
            Token::RParen | Token::RBracket => depth -= 1,
            Token::Word(w) if depth == 0 && w.quote_style.is_none() => {
                let named = match w.value.to_ascii_lowercase().as_str() {
                    "similar" => ", \"similar\" =>",
                    "escape" => ", \"escape\" =>",
                    _ => continue,
                };
                let start = byte_offset(sql, t.span.start)?;
                let end = byte_offset(sql, t.span.end)?;
                found.push((start..end, named));
            }
            _ => {}
        }
    }
    if found
        .first()
        .is_some_and(|(_, named)| named.contains("similar"))
    {
        edits.extend(found);
    }
    Some(())
}

/// The calls [`call_spellings`] wrote with named arguments, as the functions
/// that run them:
/// - `f(a, "variadic" => array)` (`f(a, VARIADIC array)`) becomes a call of
///   `f`'s variadic form, which spreads the array's elements as arguments:
///   `concat`, `concat_ws` and `format` have one
///   (`crate::functions::variadic`). Any other function is left with a named
///   argument it does not take, and fails to plan;
/// - `substring(x, "similar" => p, "escape" => e)` becomes
///   `substring_similar(x, p, e)`.
pub(super) fn spelled_calls(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Function(f) = expr
            && let ast::FunctionArguments::List(list) = &mut f.args
            && let Some(array) = list.args.last().and_then(variadic_argument)
            && let Some(variadic) = crate::functions::variadic_name(&f.name.to_string())
        {
            *list.args.last_mut().expect("last") =
                FunctionArg::Unnamed(FunctionArgExpr::Expr(array));
            f.name = ast::ObjectName::from(vec![Ident::new(variadic)]);
        }
        if let Expr::Function(f) = expr
            && f.name.to_string().eq_ignore_ascii_case("substring")
            && let ast::FunctionArguments::List(list) = &mut f.args
            && let [_, similar, escape] = list.args.as_mut_slice()
            && let (Some(pattern), Some(escaped)) = (
                named_argument(similar, "similar"),
                named_argument(escape, "escape"),
            )
        {
            *similar = FunctionArg::Unnamed(FunctionArgExpr::Expr(pattern));
            *escape = FunctionArg::Unnamed(FunctionArgExpr::Expr(escaped));
            f.name =
                ast::ObjectName::from(vec![Ident::new(crate::functions::regex::SUBSTRING_SIMILAR)]);
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// Types whose names PostgreSQL also reads as functions of one argument,
/// each a cast to the type: `float8(x)` is `x::float8`. (`numeric`,
/// `varchar`, `time`, `timestamp` and `interval` are key words there, whose
/// call is a syntax error.)
const TYPE_FUNCTIONS: &[&str] = &[
    "int2",
    "int4",
    "int8",
    "float4",
    "float8",
    "text",
    "bool",
    "date",
    "name",
    "bpchar",
    "timestamptz",
    "oid",
];

/// `float8(x)` and the other [`TYPE_FUNCTIONS`] as casts.
pub(super) fn type_functions_as_casts(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Function(f) = expr
            && let [ast::ObjectNamePart::Identifier(name)] = f.name.0.as_slice()
            && name.quote_style.is_none()
            && let Some(type_name) = TYPE_FUNCTIONS
                .iter()
                .find(|t| name.value.eq_ignore_ascii_case(t))
            && f.over.is_none()
            && f.filter.is_none()
            && let ast::FunctionArguments::List(list) = &f.args
            && list.duplicate_treatment.is_none()
            && list.clauses.is_empty()
            && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(value))] = list.args.as_slice()
            && let Ok(data_type) =
                datafusion::sql::sqlparser::parser::Parser::new(&PostgreSqlDialect {})
                    .try_with_sql(type_name)
                    .and_then(|mut p| p.parse_data_type())
        {
            *expr = Expr::Cast {
                kind: ast::CastKind::DoubleColon,
                expr: Box::new(value.clone()),
                data_type,
                array: false,
                format: None,
            };
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// Array functions DataFusion answers as unsigned 64-bit integers, which
/// PostgreSQL's answer as int4.
const INT4_FUNCTIONS: &[&str] = &["array_length", "cardinality", "array_position"];

/// `array_length(…)` and the other [`INT4_FUNCTIONS`] cast to int4, as
/// PostgreSQL types them (a client told int8 or numeric reads another type).
/// After naming, so the column keeps the function's name.
pub(super) fn int4_results(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Function(f) = expr
            && let [ast::ObjectNamePart::Identifier(name)] = f.name.0.as_slice()
            && INT4_FUNCTIONS
                .iter()
                .any(|n| name.value.eq_ignore_ascii_case(n))
        {
            *expr = Expr::Cast {
                kind: ast::CastKind::DoubleColon,
                expr: Box::new(expr.clone()),
                data_type: ast::DataType::Int(None),
                array: false,
                format: None,
            };
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// The value of a `"variadic" => array` argument.
fn variadic_argument(arg: &FunctionArg) -> Option<Expr> {
    named_argument(arg, VARIADIC)
}

/// The value of an argument named `wanted` (`"wanted" => value`).
fn named_argument(arg: &FunctionArg, wanted: &str) -> Option<Expr> {
    let (name, arg) = match arg {
        FunctionArg::Named { name, arg, .. } => (name, arg),
        FunctionArg::ExprNamed {
            name: Expr::Identifier(name),
            arg,
            ..
        } => (name, arg),
        _ => return None,
    };
    match arg {
        FunctionArgExpr::Expr(value) if name.value == wanted => Some(value.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variadic_and_trim_are_spelled_for_the_parser() {
        assert_eq!(
            call_spellings("select concat_ws(',', VARIADIC array[1,2])").as_deref(),
            Some("select concat_ws(',', \"variadic\" => array[1,2])")
        );
        assert_eq!(
            call_spellings("SELECT TRIM(BOTH FROM '  x  '), trim(from 'y')").as_deref(),
            Some("SELECT TRIM(BOTH ' ' FROM '  x  '), trim(' ' from 'y')")
        );
        assert_eq!(
            call_spellings("SELECT SUBSTRING(s SIMILAR 'a#\"(b)#\"%' ESCAPE '#')").as_deref(),
            Some("SELECT SUBSTRING(s , \"similar\" => 'a#\"(b)#\"%' , \"escape\" => '#')")
        );
        // Characters given, or a column called variadic: left alone.
        assert_eq!(call_spellings("SELECT trim(both 'x' from s)"), None);
        assert_eq!(call_spellings("SELECT variadic FROM t"), None);
    }
}
