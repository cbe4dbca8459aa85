//! `json` and `jsonb`: their input (casts), operators, functions and
//! aggregates, with PostgreSQL's results and result types.
//!
//! Both types are text underneath, told apart by the PostgreSQL type in a
//! field's metadata (as stored columns are). storage's `json` reads JSON text
//! and writes it back as each type shows it; `functions` holds the functions,
//! those behind the operators included; `aggregates` the `json_agg`
//! family. The operators (`->`, `->>`, `#>`, `#>>`, `@>`, `<@`, `?`, `?|`,
//! `?&`, and `||` and `-` on jsonb) are chosen here while the SQL is
//! planned, from the operands' types ([`plan_operator`]).

pub mod aggregates;
mod edits;
pub mod functions;
mod rows;
mod types;

use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, ExprSchemable, ScalarUDF};
use datafusion::sql::sqlparser::ast::BinaryOperator;

/// The functions behind the operators (named so plans show what they are).
pub const FIELD: &str = "json_object_field";
pub const FIELD_TEXT: &str = "json_object_field_text";
pub const PATH: &str = "json_extract_path_op";
pub const PATH_TEXT: &str = "json_extract_path_text_op";
pub const CONTAINS: &str = "jsonb_contains_op";
pub const CONTAINED: &str = "jsonb_contained_op";
pub const EXISTS: &str = "jsonb_exists_op";
pub const EXISTS_ANY: &str = "jsonb_exists_any";
pub const EXISTS_ALL: &str = "jsonb_exists_all";
pub const CONCAT: &str = "jsonb_concat_op";
pub const DELETE: &str = "jsonb_delete";

/// Registers the functions and aggregates.
pub fn register(ctx: &datafusion::prelude::SessionContext) {
    for function in functions::all() {
        ctx.register_udf(ScalarUDF::new_from_impl(function));
    }
    for aggregate in aggregates::all() {
        ctx.register_udaf(aggregate);
    }
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    let function = functions::all()
        .into_iter()
        .find(|f| datafusion::logical_expr::ScalarUDFImpl::name(f) == name)
        .expect("a json function of this module");
    ScalarUDF::new_from_impl(function).call(args)
}

fn field(expr: &Expr, schema: &DFSchema) -> Option<std::sync::Arc<Field>> {
    expr.to_field(schema).ok().map(|(_, f)| f)
}

fn is_text_literal(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Literal(
            ScalarValue::Utf8(_) | ScalarValue::Utf8View(_) | ScalarValue::LargeUtf8(_),
            _
        )
    )
}

/// A string literal next to jsonb is read as jsonb, as PostgreSQL resolves
/// an untyped literal.
fn as_jsonb(expr: Expr) -> Expr {
    if is_text_literal(&expr) {
        return call("jsonb_in", vec![expr]);
    }
    expr
}

/// A string literal where a text[] goes (`j #> '{a,b}'`, `j ?| '{a,b}'`).
fn as_text_array(expr: Expr) -> Result<Expr> {
    if is_text_literal(&expr) {
        let list = DataType::List(std::sync::Arc::new(Field::new_list_field(
            DataType::Utf8,
            true,
        )));
        return crate::functions::array_input::array_literal(expr, &list);
    }
    Ok(expr)
}

/// The json meaning of a binary operator, when its operands are json (or
/// it is one of json's own operators); else the operands back.
pub fn plan_operator(
    op: &BinaryOperator,
    left: Expr,
    right: Expr,
    schema: &DFSchema,
) -> Result<std::result::Result<Expr, (Expr, Expr)>> {
    let left_field = field(&left, schema);
    let right_field = field(&right, schema);
    let jsonb = |f: &Option<std::sync::Arc<Field>>| f.as_deref().is_some_and(functions::is_jsonb);
    let list = |f: &Option<std::sync::Arc<Field>>| {
        f.as_deref()
            .is_some_and(|f| matches!(f.data_type(), DataType::List(_)))
    };
    Ok(Ok(match op {
        BinaryOperator::Arrow => call(FIELD, vec![left, right]),
        BinaryOperator::LongArrow => call(FIELD_TEXT, vec![left, right]),
        BinaryOperator::HashArrow => call(PATH, vec![left, as_text_array(right)?]),
        BinaryOperator::HashLongArrow => call(PATH_TEXT, vec![left, as_text_array(right)?]),
        BinaryOperator::AtArrow | BinaryOperator::ArrowAt
            if !list(&left_field) && !list(&right_field) =>
        {
            let name = match op {
                BinaryOperator::AtArrow => CONTAINS,
                _ => CONTAINED,
            };
            call(name, vec![as_jsonb(left), as_jsonb(right)])
        }
        BinaryOperator::Question => call(EXISTS, vec![left, right]),
        BinaryOperator::QuestionPipe => call(EXISTS_ANY, vec![left, as_text_array(right)?]),
        BinaryOperator::QuestionAnd => call(EXISTS_ALL, vec![left, as_text_array(right)?]),
        BinaryOperator::StringConcat if jsonb(&left_field) || jsonb(&right_field) => {
            call(CONCAT, vec![as_jsonb(left), as_jsonb(right)])
        }
        BinaryOperator::Minus if jsonb(&left_field) => call(DELETE, vec![left, right]),
        // A literal compared with jsonb is read as jsonb (both sides then
        // canonical text).
        BinaryOperator::Eq | BinaryOperator::NotEq
            if jsonb(&left_field) && is_text_literal(&right) =>
        {
            return Ok(Err((left, as_jsonb(right))));
        }
        BinaryOperator::Eq | BinaryOperator::NotEq
            if jsonb(&right_field) && is_text_literal(&left) =>
        {
            return Ok(Err((as_jsonb(left), right)));
        }
        _ => return Ok(Err((left, right))),
    }))
}

/// `j[key]` on json or jsonb: `j -> key`.
pub fn plan_subscript(
    access: &datafusion::logical_expr::planner::RawFieldAccessExpr,
    schema: &DFSchema,
) -> Option<Expr> {
    use datafusion::logical_expr::GetFieldAccess;
    if !field(&access.expr, schema).is_some_and(|f| functions::is_json(&f)) {
        return None;
    }
    let key = match &access.field_access {
        GetFieldAccess::ListIndex { key } => key.as_ref().clone(),
        GetFieldAccess::NamedStructField { name } => Expr::Literal(name.clone(), None),
        _ => return None,
    };
    Some(call(FIELD, vec![access.expr.clone(), key]))
}
