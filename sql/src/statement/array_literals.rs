//! `'{1,2}'::int[]`: an array literal read as PostgreSQL's array_in reads it
//! (quotes, backslashes, NULL, nested braces; see
//! [`crate::functions::array_input`]), each element then read by its
//! type's input rules (`'{2026-01-01}'::date[]`, `'{"1 day"}'::interval[]`).
//! Other text cast to an array goes through `array_in_text`.

use super::*;
use crate::functions::array_input::{self, Element};

pub(super) fn array_literals_read(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Cast {
            expr: inner,
            data_type: data_type @ ast::DataType::Array(_),
            ..
        } = expr
            && let Some(element) = element_type(data_type)
        {
            let replacement = match inner.as_ref() {
                Expr::Value(v) => match &v.value {
                    Value::SingleQuotedString(text) | Value::EscapedStringLiteral(text) => {
                        Some(literal_array(text, &element, data_type))
                    }
                    _ => None,
                },
                _ => None,
            };
            if let Some(replacement) = replacement {
                *expr = replacement;
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// The element type of a one-level array type (`int[]`, `text ARRAY`).
fn element_type(ty: &ast::DataType) -> Option<ast::DataType> {
    match ty {
        ast::DataType::Array(ast::ArrayElemTypeDef::SquareBracket(t, _))
        | ast::DataType::Array(ast::ArrayElemTypeDef::AngleBracket(t)) => Some(t.as_ref().clone()),
        _ => None,
    }
}

/// The literal as an ARRAY of element casts (cast as a whole when it has
/// one dimension, so that `'{}'` and `'{NULL}'` keep the type); a malformed
/// literal becomes a call that fails with PostgreSQL's error when run.
fn literal_array(text: &str, element: &ast::DataType, array: &ast::DataType) -> Expr {
    let cast = |expr: Expr, data_type: ast::DataType| Expr::Cast {
        kind: ast::CastKind::Cast,
        expr: Box::new(expr),
        data_type,
        array: false,
        format: None,
    };
    let string = |s: &str| Expr::value(Value::SingleQuotedString(s.to_string()));
    let Ok(items) = array_input::parse(text) else {
        let call = parse_expr(&format!("array_in_text('{}')", text.replace('\'', "''")))
            .unwrap_or_else(|| string(text));
        return cast(call, array.clone());
    };
    fn build(
        items: &[Element],
        element: &ast::DataType,
        cast: &dyn Fn(Expr, ast::DataType) -> Expr,
    ) -> Expr {
        Expr::Array(ast::Array {
            elem: items
                .iter()
                .map(|item| match item {
                    Element::Text(t) => cast(
                        Expr::value(Value::SingleQuotedString(t.clone())),
                        element.clone(),
                    ),
                    Element::Null => cast(Expr::value(Value::Null), element.clone()),
                    Element::Array(sub) => build(sub, element, cast),
                })
                .collect(),
            named: true,
        })
    }
    let nested = items.iter().any(|i| matches!(i, Element::Array(_)));
    let built = build(&items, element, &cast);
    if nested {
        built
    } else {
        cast(built, array.clone())
    }
}

/// A malformed array literal fails when the statement is parsed, as in
/// PostgreSQL (before a Describe answers for it): [`array_literals_read`]
/// left it to `array_in_text`, which is asked here.
pub(super) fn array_literals_checked(stmt: &Statement) -> Result<()> {
    let mut malformed = None;
    let _ = ast::visit_expressions(stmt, |expr| {
        if let Expr::Function(f) = expr
            && object_name_last(&f.name) == "array_in_text"
            && let ast::FunctionArguments::List(list) = &f.args
            && let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(Expr::Value(v)))] =
                list.args.as_slice()
            && let Value::SingleQuotedString(text) = &v.value
            && let Err(e) = array_input::parse(text)
        {
            malformed = Some(e);
            return std::ops::ControlFlow::Break(());
        }
        std::ops::ControlFlow::Continue(())
    });
    malformed.map_or(Ok(()), Err)
}
