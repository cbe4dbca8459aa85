//! PostgreSQL's meaning for arithmetic operators whose DataFusion types or
//! results differ, chosen while the SQL is planned (a DataFusion
//! [`ExprPlanner`], which sees the operands' types):
//!
//! - json's operators (see `json`);
//! - `date ± interval` is a timestamp (DataFusion keeps a date);
//! - `timestamp − timestamp` is justified to days (`1 day 01:30:00`, not
//!   `25:30:00`);
//! - `interval × number`, `number × interval` and `interval ÷ number`, which
//!   DataFusion lacks;
//! - numeric division has PostgreSQL's result scale (`7.0 / 2` is
//!   `3.5000000000000000`);
//! - a string literal that meets a number is read as that number's type
//!   (`'1' + 1` is 2, `'a' + 1` fails with 22P02), and one compared with a
//!   boolean as a boolean (`flag = 'f'`), as PostgreSQL resolves an untyped
//!   literal.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::error::Result;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::logical_expr::{BinaryExpr, Expr, ExprSchemable, Operator, ScalarUDF, cast};
use datafusion::sql::sqlparser::ast::BinaryOperator;

use crate::functions::array_input::array_literal;
use crate::functions::{IntervalScale, Justify, JustifyFunction, NumericDiv};

/// The planner; see the module documentation.
#[derive(Debug, Default)]
pub struct PgOperators;

fn call(udf: impl datafusion::logical_expr::ScalarUDFImpl + 'static, args: Vec<Expr>) -> Expr {
    Expr::ScalarFunction(ScalarFunction::new_udf(
        Arc::new(ScalarUDF::new_from_impl(udf)),
        args,
    ))
}

fn is_text_literal(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Literal(
            ScalarValue::Utf8(Some(_))
                | ScalarValue::Utf8View(Some(_))
                | ScalarValue::LargeUtf8(Some(_)),
            _
        )
    )
}

/// A string literal read as PostgreSQL's boolean input reads it.
fn boolean_literal(expr: Expr) -> Result<Expr> {
    let text = match &expr {
        Expr::Literal(
            ScalarValue::Utf8(Some(t))
            | ScalarValue::Utf8View(Some(t))
            | ScalarValue::LargeUtf8(Some(t)),
            _,
        ) => t.trim().to_ascii_lowercase(),
        _ => return Ok(expr),
    };
    let value = match text.as_str() {
        "t" | "tr" | "tru" | "true" | "y" | "ye" | "yes" | "on" | "1" => true,
        "f" | "fa" | "fal" | "fals" | "false" | "n" | "no" | "of" | "off" | "0" => false,
        _ => {
            return Err(crate::error::Error::InvalidTextRepresentation(format!(
                "invalid input syntax for type boolean: \"{text}\""
            ))
            .into());
        }
    };
    Ok(Expr::Literal(ScalarValue::Boolean(Some(value)), None))
}

/// A float next to a numeric or an integer is computed and compared in
/// double precision, as PostgreSQL does (`real + 1` is double precision,
/// `float8 '1e20' > 1.5` is true). DataFusion would cast the float to a
/// decimal, which overflows for large values and holds no NaN or Infinity.
fn in_double_precision(left: Expr, right: Expr, l: &DataType, r: &DataType) -> (Expr, Expr) {
    let float = |t: &DataType| matches!(t, DataType::Float32 | DataType::Float64);
    let exact = |t: &DataType| t.is_integer() || is_decimal(t);
    if !(float(l) && exact(r) || exact(l) && float(r)) {
        return (left, right);
    }
    let widen = |e: Expr, t: &DataType| {
        if *t == DataType::Float64 {
            e
        } else {
            cast(e, DataType::Float64)
        }
    };
    (widen(left, l), widen(right, r))
}

fn is_interval(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Interval(_) | DataType::Duration(_))
}

fn is_decimal(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Decimal128(_, _))
}

fn is_exact_number(data_type: &DataType) -> bool {
    data_type.is_integer() || is_decimal(data_type)
}

impl ExprPlanner for PgOperators {
    /// `SUBSTRING(x FROM a FOR b)` is the `substr` function, which takes
    /// bytea as well as text here (DataFusion's planner calls its own).
    fn plan_substring(&self, args: Vec<Expr>) -> Result<PlannerResult<Vec<Expr>>> {
        Ok(PlannerResult::Planned(
            crate::functions::substr().call(args),
        ))
    }

    /// `j['key']` and `j[0]` on json are `->` (PostgreSQL 14's jsonb
    /// subscripts).
    fn plan_field_access(
        &self,
        expr: datafusion::logical_expr::planner::RawFieldAccessExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<datafusion::logical_expr::planner::RawFieldAccessExpr>> {
        match crate::json::plan_subscript(&expr, schema) {
            Some(planned) => Ok(PlannerResult::Planned(planned)),
            None => Ok(PlannerResult::Original(expr)),
        }
    }

    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        let RawBinaryExpr {
            op,
            mut left,
            mut right,
        } = expr;
        (left, right) = match crate::json::plan_operator(&op, left, right, schema)? {
            Ok(planned) => return Ok(PlannerResult::Planned(planned)),
            Err(operands) => operands,
        };
        let arithmetic = matches!(
            op,
            BinaryOperator::Plus
                | BinaryOperator::Minus
                | BinaryOperator::Multiply
                | BinaryOperator::Divide
                | BinaryOperator::Modulo
        );
        let comparison = matches!(
            op,
            BinaryOperator::Eq
                | BinaryOperator::NotEq
                | BinaryOperator::Lt
                | BinaryOperator::LtEq
                | BinaryOperator::Gt
                | BinaryOperator::GtEq
        );
        if comparison {
            // An untyped string next to a boolean is read as a boolean
            // (`indisprimary = 'f'`).
            let boolean = |e: &Expr| matches!(e.get_type(schema), Ok(DataType::Boolean));
            if is_text_literal(&right) && boolean(&left) {
                right = boolean_literal(right)?;
            } else if is_text_literal(&left) && boolean(&right) {
                left = boolean_literal(left)?;
            }
            // And next to an array, as an array of its type (`polroles = '{0}'`).
            let array = |e: &Expr| match e.get_type(schema) {
                Ok(ty @ DataType::List(_)) => Some(ty),
                _ => None,
            };
            if is_text_literal(&right)
                && let Some(ty) = array(&left)
            {
                right = array_literal(right, &ty)?;
            } else if is_text_literal(&left)
                && let Some(ty) = array(&right)
            {
                left = array_literal(left, &ty)?;
            }
            if let (Ok(l), Ok(r)) = (left.get_type(schema), right.get_type(schema)) {
                (left, right) = in_double_precision(left, right, &l, &r);
            }
            return Ok(PlannerResult::Original(RawBinaryExpr { op, left, right }));
        }
        if !arithmetic {
            return Ok(PlannerResult::Original(RawBinaryExpr { op, left, right }));
        }
        // Operands whose type is not known yet (parameters) are left alone.
        let types = (left.get_type(schema), right.get_type(schema));
        let (Ok(mut left_type), Ok(mut right_type)) = types else {
            return Ok(PlannerResult::Original(RawBinaryExpr { op, left, right }));
        };
        // An untyped string next to a number is read as that number.
        if is_text_literal(&left) && right_type.is_numeric() {
            left = cast(left, right_type.clone());
            left_type = right_type.clone();
        } else if is_text_literal(&right) && left_type.is_numeric() {
            right = cast(right, left_type.clone());
            right_type = left_type.clone();
        }
        (left, right) = in_double_precision(left, right, &left_type, &right_type);
        let timestamp = DataType::Timestamp(TimeUnit::Microsecond, None);
        let planned = match (&op, &left_type, &right_type) {
            (BinaryOperator::Plus | BinaryOperator::Minus, DataType::Date32, r)
                if is_interval(r) =>
            {
                left = cast(left, timestamp);
                None
            }
            (BinaryOperator::Plus, l, DataType::Date32) if is_interval(l) => {
                right = cast(right, timestamp);
                None
            }
            // date - date is a number of days, integer (DataFusion's is bigint).
            (BinaryOperator::Minus, DataType::Date32, DataType::Date32) => {
                let difference = Expr::BinaryExpr(BinaryExpr::new(
                    Box::new(left.clone()),
                    Operator::Minus,
                    Box::new(right.clone()),
                ));
                Some(cast(difference, DataType::Int32))
            }
            (BinaryOperator::Minus, DataType::Timestamp(_, _), DataType::Timestamp(_, _)) => {
                let difference = Expr::BinaryExpr(BinaryExpr::new(
                    Box::new(left.clone()),
                    Operator::Minus,
                    Box::new(right.clone()),
                ));
                Some(call(JustifyFunction::new(Justify::Hours), vec![difference]))
            }
            (BinaryOperator::Multiply, l, r)
                if is_interval(l) && r.is_numeric() || is_interval(r) && l.is_numeric() =>
            {
                Some(call(
                    IntervalScale::multiply(),
                    vec![left.clone(), right.clone()],
                ))
            }
            (BinaryOperator::Divide, l, r) if is_interval(l) && r.is_numeric() => Some(call(
                IntervalScale::divide(),
                vec![left.clone(), right.clone()],
            )),
            (BinaryOperator::Divide, l, r)
                if is_exact_number(l) && is_exact_number(r) && (is_decimal(l) || is_decimal(r)) =>
            {
                Some(call(
                    NumericDiv::default(),
                    vec![left.clone(), right.clone()],
                ))
            }
            _ => None,
        };
        Ok(match planned {
            Some(expr) => PlannerResult::Planned(expr),
            None => PlannerResult::Original(RawBinaryExpr { op, left, right }),
        })
    }
}
