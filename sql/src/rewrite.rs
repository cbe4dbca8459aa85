//! Plan rewrites that give DataFusion plans PostgreSQL's meaning.
//!
//! - [`infer_placeholder_casts`]: `$1::integer` types `$1` as integer, as PostgreSQL
//!   infers it, so drivers are told to send an integer.
//! - [`TextInput`]: text cast to bytea, interval or timestamp reads PostgreSQL's
//!   input syntax (`'\x00ff'` is two bytes, not six; `'1 day 02:00:00'` is an
//!   interval; `'2026-01-01 10:00'` is a timestamp),
//!   wherever the cast comes from: an explicit `::bytea`, or an INSERT of a string
//!   literal into a bytea column.
//! - [`SubqueriesAfterDistinctOn`]: subqueries in a `SELECT DISTINCT ON` list
//!   are computed after the rows are chosen.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, IntervalMonthDayNanoArray, StringArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, IntervalMonthDayNano, IntervalUnit};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, ScalarValue};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::expr::{Cast, Placeholder, ScalarFunction};
use datafusion::logical_expr::{
    ColumnarValue, Distinct, DistinctOn, Expr, ExprSchemable, LogicalPlan, LogicalPlanBuilder,
    Projection, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, SortExpr, Volatility,
};
use datafusion::optimizer::AnalyzerRule;

use crate::error::Error;

/// Gives an untyped placeholder the type it is cast to.
pub fn infer_placeholder_casts(plan: LogicalPlan) -> DfResult<LogicalPlan> {
    plan.transform_up_with_subqueries(|node| {
        node.map_expressions(|expr| {
            expr.transform_up(|e| match e {
                Expr::Cast(Cast { expr, field })
                    if matches!(
                        expr.as_ref(),
                        Expr::Placeholder(Placeholder { field: None, .. })
                    ) =>
                {
                    let Expr::Placeholder(mut placeholder) = *expr else {
                        unreachable!()
                    };
                    placeholder.field =
                        Some(Arc::new(Field::new("", field.data_type().clone(), true)));
                    Ok(Transformed::yes(Expr::Cast(Cast {
                        expr: Box::new(Expr::Placeholder(placeholder)),
                        field,
                    })))
                }
                other => Ok(Transformed::no(other)),
            })
        })
    })
    .map(|t| t.data)
}

/// Replaces casts from text to bytea, interval and timestamp with PostgreSQL's input
/// functions ([`BYTEA_IN`], [`INTERVAL_IN`]): Arrow's casts read other syntaxes.
#[derive(Debug, Default)]
pub struct TextInput;

impl AnalyzerRule for TextInput {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> DfResult<LogicalPlan> {
        let bytea = Arc::new(ScalarUDF::new_from_impl(PgByteaIn::default()));
        let interval = Arc::new(ScalarUDF::new_from_impl(PgIntervalIn::default()));
        let timestamp = Arc::new(ScalarUDF::new_from_impl(PgTimestampIn::default()));
        plan.transform_up_with_subqueries(|node| {
            let schema = node.schema().clone();
            let inputs_schema = node.inputs().first().map(|i| i.schema().clone());
            node.map_expressions(|expr| {
                expr.transform_up(|e| {
                    let Expr::Cast(Cast { expr, field }) = e else {
                        return Ok(Transformed::no(e));
                    };
                    let source = inputs_schema.as_ref().unwrap_or(&schema);
                    // PostgreSQL rounds numeric to integer (half away from
                    // zero); Arrow's cast truncates.
                    if field.data_type().is_integer()
                        && matches!(
                            expr.get_type(source),
                            Ok(DataType::Decimal128(_, s) | DataType::Decimal256(_, s)) if s > 0
                        )
                    {
                        let rounded = datafusion::functions::math::expr_fn::round(vec![*expr]);
                        return Ok(Transformed::yes(Expr::Cast(Cast {
                            expr: Box::new(rounded),
                            field,
                        })));
                    }
                    let (udf, output) = match field.data_type() {
                        DataType::Binary | DataType::BinaryView | DataType::LargeBinary => {
                            (&bytea, DataType::Binary)
                        }
                        DataType::Timestamp(_, _) => (&timestamp, field.data_type().clone()),
                        DataType::Interval(IntervalUnit::MonthDayNano) => {
                            (&interval, field.data_type().clone())
                        }
                        _ => return Ok(Transformed::no(Expr::Cast(Cast { expr, field }))),
                    };
                    let is_text = matches!(
                        expr.get_type(source),
                        Ok(DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
                    );
                    if !is_text {
                        return Ok(Transformed::no(Expr::Cast(Cast { expr, field })));
                    }
                    // timestamp_in learns its result type from a typed NULL.
                    let args = if Arc::ptr_eq(udf, &timestamp) {
                        let target = Expr::Cast(Cast {
                            expr: Box::new(Expr::Literal(ScalarValue::Null, None)),
                            field: field.clone(),
                        });
                        vec![*expr, target]
                    } else {
                        vec![*expr]
                    };
                    let call = Expr::ScalarFunction(ScalarFunction::new_udf(udf.clone(), args));
                    // byteain yields Binary; tables may expose BinaryView.
                    let call = if field.data_type() == &output {
                        call
                    } else {
                        Expr::Cast(Cast {
                            expr: Box::new(call),
                            field,
                        })
                    };
                    Ok(Transformed::yes(call))
                })
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "enishi_text_input"
    }
}

/// `SELECT DISTINCT ON (k) …, (subquery)`: DataFusion runs subqueries in a
/// projection, but not in DISTINCT ON's own select list (pgAdmin's column and
/// index listings have them there). The rows are chosen first, keeping every
/// column of the input, and the select list is computed over the chosen rows.
#[derive(Debug)]
pub struct SubqueriesAfterDistinctOn;

impl AnalyzerRule for SubqueriesAfterDistinctOn {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> DfResult<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            let LogicalPlan::Distinct(Distinct::On(on)) = node else {
                return Ok(Transformed::no(node));
            };
            let has_subquery = on.select_expr.iter().any(|e| {
                e.exists(|e| {
                    Ok(matches!(
                        e,
                        Expr::ScalarSubquery(_) | Expr::Exists(_) | Expr::InSubquery(_)
                    ))
                })
                .unwrap_or(false)
            });
            if !has_subquery {
                return Ok(Transformed::no(LogicalPlan::Distinct(Distinct::On(on))));
            }
            let columns = on
                .input
                .schema()
                .columns()
                .into_iter()
                .map(Expr::Column)
                .collect();
            let width = on.select_expr.len();
            // The chosen rows come in ORDER BY's order of the DISTINCT ON keys;
            // the joins the subqueries become do not keep it, so the keys are
            // carried to a sort above them.
            let order: Vec<SortExpr> = on
                .sort_expr
                .iter()
                .flatten()
                .take(on.on_expr.len())
                .cloned()
                .collect();
            let mut select = on.select_expr;
            let mut keys = Vec::with_capacity(order.len());
            for (i, sort) in order.iter().enumerate() {
                let name = format!("__distinct_on_{i}");
                select.push(sort.expr.clone().alias(&name));
                keys.push(SortExpr {
                    expr: Expr::Column(Column::from_name(name)),
                    ..sort.clone()
                });
            }
            let chosen = DistinctOn::try_new(on.on_expr, columns, on.sort_expr, on.input)?;
            let computed = LogicalPlan::Projection(Projection::try_new(
                select,
                Arc::new(LogicalPlan::Distinct(Distinct::On(chosen))),
            )?);
            if keys.is_empty() {
                return Ok(Transformed::yes(computed));
            }
            let shown = (0..width)
                .map(|i| Expr::Column(Column::from(computed.schema().qualified_field(i))))
                .collect();
            let sorted = LogicalPlanBuilder::from(computed).sort(keys)?.build()?;
            Ok(Transformed::yes(LogicalPlan::Projection(
                Projection::try_new(shown, Arc::new(sorted))?,
            )))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "subqueries_after_distinct_on"
    }
}

/// The name of the bytea input function.
pub const BYTEA_IN: &str = "byteain";

#[derive(Debug, PartialEq, Eq, Hash)]
struct PgByteaIn {
    signature: Signature,
}

impl Default for PgByteaIn {
    fn default() -> Self {
        Self {
            signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for PgByteaIn {
    fn name(&self) -> &str {
        BYTEA_IN
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Binary)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        let input = cast(&input, &DataType::Utf8)?;
        let text = input
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to Utf8");
        let mut out = BinaryBuilder::with_capacity(text.len(), text.len() * 8);
        for value in text.iter() {
            match value {
                None => out.append_null(),
                Some(s) => out.append_value(parse_bytea(s).map_err(DataFusionError::from)?),
            }
        }
        let array: ArrayRef = Arc::new(out.finish());
        Ok(ColumnarValue::Array(array))
    }
}

/// The name of the timestamp input function.
pub const TIMESTAMP_IN: &str = "timestamp_in";

/// Text to timestamp: Arrow's reading, plus PostgreSQL's forms it lacks (a
/// time without seconds, `2026-01-01 10:00`). The second argument, a typed
/// NULL, gives the result type (unit and time zone).
#[derive(Debug, PartialEq, Eq, Hash)]
struct PgTimestampIn {
    signature: Signature,
}

impl Default for PgTimestampIn {
    fn default() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for PgTimestampIn {
    fn name(&self) -> &str {
        TIMESTAMP_IN
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> DfResult<DataType> {
        Ok(args[1].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let target = args.return_field.data_type().clone();
        let input = args.args[0].to_array(args.number_rows)?;
        let input = cast(&input, &DataType::Utf8)?;
        let text = input.as_string::<i32>();
        // Most values read as they are; only the others are rewritten.
        let needs_help = text
            .iter()
            .any(|v| v.is_some_and(|v| without_seconds(v).is_some()));
        let input: ArrayRef = if needs_help {
            Arc::new(
                text.iter()
                    .map(|v| v.map(|v| without_seconds(v).unwrap_or_else(|| v.to_string())))
                    .collect::<StringArray>(),
            )
        } else {
            input
        };
        let strict = datafusion::arrow::compute::CastOptions {
            safe: false,
            ..Default::default()
        };
        Ok(ColumnarValue::Array(
            datafusion::arrow::compute::cast_with_options(&input, &target, &strict)?,
        ))
    }
}

/// `YYYY-MM-DD HH:MM` (or with `T`), optionally followed by a zone, with
/// `:00` seconds added; None for anything else.
fn without_seconds(text: &str) -> Option<String> {
    let t = text.trim();
    let bytes = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        bytes
            .get(r)
            .is_some_and(|b| b.iter().all(u8::is_ascii_digit))
    };
    let shape = bytes.len() >= 16
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && (bytes[10] == b' ' || bytes[10] == b'T')
        && digits(11..13)
        && bytes[13] == b':'
        && digits(14..16);
    let after = bytes.get(16).copied();
    if !shape || matches!(after, Some(b':') | Some(b'0'..=b'9')) {
        return None;
    }
    Some(format!("{}:00{}", &t[..16], &t[16..]))
}

/// The name of the interval input function.
pub const INTERVAL_IN: &str = "interval_in";

#[derive(Debug, PartialEq, Eq, Hash)]
struct PgIntervalIn {
    signature: Signature,
}

impl Default for PgIntervalIn {
    fn default() -> Self {
        Self {
            signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for PgIntervalIn {
    fn name(&self) -> &str {
        INTERVAL_IN
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Interval(IntervalUnit::MonthDayNano))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        let input = cast(&input, &DataType::Utf8)?;
        let out = input
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(parse_interval).transpose())
            .collect::<Result<IntervalMonthDayNanoArray, Error>>()
            .map_err(DataFusionError::from)?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// PostgreSQL's interval input (the `postgres` style): quantities with units
/// (`1 year 2 mons`, `1.5 days`, `3 hours ago`), a `[-]hh:mm[:ss.ffffff]` time
/// part, a bare number meaning seconds. Fractions spill into the smaller fields
/// as PostgreSQL's do (a month is 30 days, a day 24 hours).
pub fn parse_interval(text: &str) -> Result<IntervalMonthDayNano, Error> {
    let invalid = || {
        Error::InvalidDatetime(format!(
            "invalid input syntax for type interval: \"{text}\""
        ))
    };
    let lower = text.trim().to_ascii_lowercase();
    let (mut months, mut days, mut micros) = (0f64, 0f64, 0f64);
    let mut tokens = lower.split_whitespace().peekable();
    let mut ago = false;
    let mut seen = false;
    while let Some(token) = tokens.next() {
        if ago {
            return Err(invalid());
        }
        if token == "ago" && seen {
            ago = true;
            continue;
        }
        seen = true;
        if token.contains(':') {
            micros += time_micros(token).ok_or_else(invalid)?;
            continue;
        }
        let split = token
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+')))
            .unwrap_or(token.len());
        let value: f64 = token[..split].parse().map_err(|_| invalid())?;
        let unit = if split < token.len() {
            &token[split..]
        } else {
            match tokens.peek() {
                Some(next)
                    if !next.contains(':') && next.parse::<f64>().is_err() && *next != "ago" =>
                {
                    tokens.next().expect("peeked")
                }
                _ => "s",
            }
        };
        let (m, d, us) = match unit.trim_end_matches('s') {
            "microsecond" | "usec" | "u" | "us" => (0.0, 0.0, 1.0),
            "millisecond" | "msec" | "m" if unit.starts_with("ms") || unit.starts_with("milli") => {
                (0.0, 0.0, 1e3)
            }
            "second" | "sec" | "" => (0.0, 0.0, 1e6),
            "minute" | "min" | "m" => (0.0, 0.0, 60e6),
            "hour" | "hr" | "h" => (0.0, 0.0, 3600e6),
            "day" | "d" => (0.0, 1.0, 0.0),
            "week" | "w" => (0.0, 7.0, 0.0),
            "month" | "mon" => (1.0, 0.0, 0.0),
            "year" | "yr" | "y" => (12.0, 0.0, 0.0),
            "decade" | "dec" => (120.0, 0.0, 0.0),
            "century" | "centurie" | "cent" | "c" => (1200.0, 0.0, 0.0),
            "millennium" | "millennia" | "mil" => (12000.0, 0.0, 0.0),
            _ => return Err(invalid()),
        };
        months += value * m;
        days += value * d;
        micros += value * us;
    }
    if !seen {
        return Err(invalid());
    }
    // Fractional months become days, fractional days become time.
    let whole_months = months.trunc();
    days += (months - whole_months) * 30.0;
    let whole_days = days.trunc();
    micros += (days - whole_days) * 86_400e6;
    let sign = if ago { -1.0 } else { 1.0 };
    let fits = |v: f64| v.abs() <= i32::MAX as f64;
    if !fits(whole_months) || !fits(whole_days) || micros.abs() > 9.2e18 {
        return Err(Error::InvalidDatetime(format!(
            "interval out of range: \"{text}\""
        )));
    }
    Ok(IntervalMonthDayNano::new(
        (sign * whole_months) as i32,
        (sign * whole_days) as i32,
        (sign * micros.round()) as i64 * 1_000,
    ))
}

/// `[-]hh:mm[:ss[.ffffff]]` in microseconds.
fn time_micros(token: &str) -> Option<f64> {
    let (sign, rest) = match token.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, token.strip_prefix('+').unwrap_or(token)),
    };
    let mut parts = rest.split(':');
    let hours: f64 = parts.next()?.parse().ok()?;
    let minutes: f64 = parts.next()?.parse().ok()?;
    let seconds: f64 = match parts.next() {
        Some(s) => s.parse().ok()?,
        None => 0.0,
    };
    if parts.next().is_some() || minutes >= 60.0 || seconds >= 60.0 {
        return None;
    }
    Some(sign * ((hours * 60.0 + minutes) * 60.0 + seconds) * 1e6)
}

/// PostgreSQL's bytea input: hex (`\x00ff`) or escape format (`a\\b\001`).
pub fn parse_bytea(s: &str) -> Result<Vec<u8>, Error> {
    let invalid = || Error::InvalidTextRepresentation("invalid input syntax for type bytea".into());
    if let Some(hex) = s.strip_prefix("\\x").or_else(|| s.strip_prefix("\\X")) {
        let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if !digits.len().is_multiple_of(2) {
            return Err(Error::InvalidTextRepresentation(
                "invalid hexadecimal data: odd number of digits".into(),
            ));
        }
        return digits
            .chunks(2)
            .map(|pair| {
                let text = std::str::from_utf8(pair).map_err(|_| invalid())?;
                u8::from_str_radix(text, 16).map_err(|_| {
                    Error::InvalidTextRepresentation(format!(
                        "invalid hexadecimal digit: \"{text}\""
                    ))
                })
            })
            .collect();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
        } else if bytes.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            let octal = bytes.get(i + 1..i + 4).ok_or_else(invalid)?;
            let text = std::str::from_utf8(octal).map_err(|_| invalid())?;
            if !text.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return Err(invalid());
            }
            out.push(u8::from_str_radix(text, 8).map_err(|_| invalid())?);
            i += 4;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytea_input_formats() {
        assert_eq!(parse_bytea("\\x00ff").unwrap(), vec![0, 255]);
        assert_eq!(parse_bytea("\\xDE AD").unwrap(), vec![0xde, 0xad]);
        assert_eq!(parse_bytea("ab\\\\c\\001").unwrap(), b"ab\\c\x01".to_vec());
        assert!(parse_bytea("\\x0").is_err());
        assert!(parse_bytea("\\xzz").is_err());
        assert!(parse_bytea("a\\9").is_err());
    }
}

/// Column numbering copies of equal rows for [`set_operations_all`].
const DUPLICATE_COLUMN: &str = "__enishi_copy";

/// Gives `EXCEPT ALL` and `INTERSECT ALL` their multiset meaning. DataFusion
/// plans them as an anti or semi join on every column, which drops every copy
/// of a row the right side holds (apache/datafusion#12956). Numbering the
/// copies of each row on both sides and joining on the number too keeps
/// max(m - n, 0) copies for EXCEPT ALL and min(m, n) for INTERSECT ALL, as
/// PostgreSQL does. The DISTINCT forms (whose left side is a Distinct) are
/// left alone.
pub fn set_operations_all(plan: LogicalPlan) -> DfResult<LogicalPlan> {
    use datafusion::common::{Column, NullEquality};
    use datafusion::logical_expr::{ExprFunctionExt, JoinType, LogicalPlanBuilder};
    let numbered = |plan: LogicalPlan| -> DfResult<LogicalPlan> {
        let columns: Vec<Expr> = plan
            .schema()
            .columns()
            .into_iter()
            .map(Expr::Column)
            .collect();
        let copy = datafusion::functions_window::expr_fn::row_number()
            .partition_by(columns)
            .build()?
            .alias(DUPLICATE_COLUMN);
        LogicalPlanBuilder::from(plan).window(vec![copy])?.build()
    };
    plan.transform_up_with_subqueries(|node| {
        let LogicalPlan::Join(join) = &node else {
            return Ok(Transformed::no(node));
        };
        let set_operation = matches!(join.join_type, JoinType::LeftAnti | JoinType::LeftSemi)
            && join.null_equality == NullEquality::NullEqualsNull
            && join.filter.is_none()
            && join.on.len() == join.left.schema().fields().len()
            && !matches!(join.left.as_ref(), LogicalPlan::Distinct(_));
        if !set_operation {
            return Ok(Transformed::no(node));
        }
        let LogicalPlan::Join(join) = node else {
            unreachable!()
        };
        let output: Vec<Expr> = join
            .left
            .schema()
            .columns()
            .into_iter()
            .map(Expr::Column)
            .collect();
        let left = numbered(Arc::unwrap_or_clone(join.left))?;
        let right = numbered(Arc::unwrap_or_clone(join.right))?;
        let keys = |plan: &LogicalPlan| -> Vec<Column> {
            plan.schema()
                .fields()
                .iter()
                .map(|f| Column::from_name(f.name()))
                .collect()
        };
        let (left_keys, right_keys) = (keys(&left), keys(&right));
        let plan = LogicalPlanBuilder::from(left)
            .join_detailed(
                right,
                join.join_type,
                (left_keys, right_keys),
                None,
                NullEquality::NullEqualsNull,
            )?
            .project(output)?
            .build()?;
        Ok(Transformed::yes(plan))
    })
    .map(|t| t.data)
}

/// `ceil`, `floor`, `round` and `trunc` of a numeric with one argument give
/// an integral numeric, shown with scale 0 as PostgreSQL does (`ceil(4.2)` is
/// `5`, not `5.0`).
pub fn integral_numeric_functions(plan: LogicalPlan) -> DfResult<LogicalPlan> {
    use datafusion::logical_expr::expr_rewriter::NamePreserver;
    plan.transform_up_with_subqueries(|node| {
        let Some(input_schema) = node.inputs().first().map(|i| i.schema().clone()) else {
            return Ok(Transformed::no(node));
        };
        let names = NamePreserver::new(&node);
        node.map_expressions(|expr| {
            let saved = names.save(&expr);
            let rewritten = expr.transform_up(|e| {
                let Expr::ScalarFunction(f) = &e else {
                    return Ok(Transformed::no(e));
                };
                if !matches!(f.name(), "ceil" | "floor" | "round" | "trunc") || f.args.len() != 1 {
                    return Ok(Transformed::no(e));
                }
                let target = match f.args[0].get_type(&input_schema) {
                    Ok(DataType::Decimal128(p, s)) if s > 0 => DataType::Decimal128(p, 0),
                    Ok(DataType::Decimal256(p, s)) if s > 0 => DataType::Decimal256(p, 0),
                    _ => return Ok(Transformed::no(e)),
                };
                Ok(Transformed::yes(Expr::Cast(Cast::new(Box::new(e), target))))
            })?;
            Ok(if rewritten.transformed {
                Transformed::yes(saved.restore(rewritten.data))
            } else {
                rewritten
            })
        })
    })
    .map(|t| t.data)
}

/// A correlated scalar subquery over the system catalog that DataFusion cannot
/// decorrelate is read as NULL rather than failing the whole catalog query.
/// DataFusion decorrelates a subquery whose outer references are all in
/// equalities of its filters (`inner = outer expression`); others, such as
/// SQLAlchemy's identity lookup through `pg_get_serial_sequence(…)::regclass`,
/// fail, and take the statement's other subqueries with them. This rule runs
/// before DataFusion's and leaves those others to it. Over user tables the
/// statement still fails: only clients' catalog queries get this.
/// COMPATIBILITY.md lists it.
#[derive(Debug, Default)]
pub struct UndecorrelatedCatalogSubqueries;

impl datafusion::optimizer::OptimizerRule for UndecorrelatedCatalogSubqueries {
    fn name(&self) -> &str {
        "undecorrelated_catalog_subqueries"
    }

    fn apply_order(&self) -> Option<datafusion::optimizer::ApplyOrder> {
        Some(datafusion::optimizer::ApplyOrder::BottomUp)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn datafusion::optimizer::OptimizerConfig,
    ) -> DfResult<Transformed<LogicalPlan>> {
        plan.map_expressions(|expr| {
            expr.transform_up(|e| match e {
                Expr::ScalarSubquery(subquery)
                    if !subquery.outer_ref_columns.is_empty()
                        && reads_only_catalog(&subquery.subquery)
                        && !decorrelatable(&subquery.subquery) =>
                {
                    let data_type = subquery.subquery.schema().field(0).data_type().clone();
                    Ok(Transformed::yes(Expr::Literal(
                        ScalarValue::try_from(&data_type)?,
                        None,
                    )))
                }
                other => Ok(Transformed::no(other)),
            })
        })
    }
}

/// Whether every outer reference of a subquery is in an equality of one of its
/// filters between an expression of outer columns and one of inner columns,
/// with no subquery in either.
fn decorrelatable(plan: &LogicalPlan) -> bool {
    use datafusion::logical_expr::utils::split_conjunction;
    use datafusion::logical_expr::{BinaryExpr, Operator};
    let outer = |e: &Expr| {
        e.exists(|e| Ok(matches!(e, Expr::OuterReferenceColumn(..))))
            .unwrap_or(true)
    };
    let nested = |e: &Expr| {
        e.exists(|e| {
            Ok(matches!(
                e,
                Expr::ScalarSubquery(_) | Expr::InSubquery(_) | Expr::Exists(_)
            ))
        })
        .unwrap_or(true)
    };
    let only_outer = |e: &Expr| !nested(e) && e.column_refs().is_empty() && outer(e);
    let mut ok = true;
    let _ = plan.apply_with_subqueries(|node| {
        match node {
            LogicalPlan::Filter(filter) => {
                for conjunct in split_conjunction(&filter.predicate) {
                    if !outer(conjunct) {
                        continue;
                    }
                    let equality = match conjunct {
                        Expr::BinaryExpr(BinaryExpr {
                            left,
                            op: Operator::Eq,
                            right,
                        }) => {
                            (only_outer(left) && !outer(right) && !nested(right))
                                || (only_outer(right) && !outer(left) && !nested(left))
                        }
                        _ => false,
                    };
                    ok &= equality;
                }
            }
            other => {
                for e in other.expressions() {
                    ok &= !outer(&e);
                }
            }
        }
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    });
    ok
}

/// Whether every table a plan scans is in `pg_catalog` or `information_schema`.
fn reads_only_catalog(plan: &LogicalPlan) -> bool {
    let mut only = true;
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && !matches!(
                scan.table_name.schema(),
                Some("pg_catalog" | "information_schema")
            )
        {
            only = false;
        }
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    });
    only
}

/// INSERT and UPDATE into an unconstrained `numeric` column check, before
/// the cast to the column's decimal type, that the cast would not round the
/// value ([`crate::functions::math::NumericExact`]): the value the client
/// stored is the value read back, or the write fails with 22003. Constants
/// are checked now; computed values as the rows are made. The casts sit in
/// the DML's projection, or in the VALUES under it.
pub fn exact_numeric_writes(plan: LogicalPlan) -> DfResult<LogicalPlan> {
    plan.transform_up(|node| {
        let LogicalPlan::Dml(mut dml) = node else {
            return Ok(Transformed::no(node));
        };
        let target = dml.target.schema();
        let LogicalPlan::Projection(projection) = dml.input.as_ref() else {
            return Ok(Transformed::no(LogicalPlan::Dml(dml)));
        };
        let mut input = projection.input.as_ref().clone();
        let mut changed = false;
        let mut exprs = Vec::with_capacity(projection.expr.len());
        for (expr, field) in projection.expr.iter().zip(projection.schema.fields()) {
            let scale = target
                .field_with_name(field.name())
                .ok()
                .filter(|f| crate::types::declared(f) == Some((crate::types::oid::NUMERIC, -1)))
                .and_then(|f| match f.data_type() {
                    DataType::Decimal128(_, s) => Some(*s),
                    _ => None,
                });
            let Some(scale) = scale else {
                exprs.push(expr.clone());
                continue;
            };
            match expr.clone().unalias_nested().data {
                cast @ Expr::Cast(_) => {
                    exprs.push(checked_cast(cast, scale)?.alias(field.name()));
                    changed = true;
                }
                // `columnN AS x` over VALUES, whose rows hold the casts.
                Expr::Column(column) => {
                    if let LogicalPlan::Values(values) = &mut input
                        && let Ok(index) = values.schema.index_of_column(&column)
                    {
                        for row in &mut values.values {
                            if let Some(cell) = row.get_mut(index)
                                && matches!(cell, Expr::Cast(_))
                            {
                                *cell = checked_cast(cell.clone(), scale)?;
                                changed = true;
                            }
                        }
                    }
                    exprs.push(expr.clone());
                }
                _ => exprs.push(expr.clone()),
            }
        }
        if !changed {
            return Ok(Transformed::no(LogicalPlan::Dml(dml)));
        }
        let projection = datafusion::logical_expr::Projection::try_new(exprs, Arc::new(input))?;
        dml.input = Arc::new(LogicalPlan::Projection(projection));
        Ok(Transformed::yes(LogicalPlan::Dml(dml)))
    })
    .map(|t| t.data)
}

/// `CAST(e AS decimal)` with [`crate::functions::math::NumericExact`] in
/// front of `e`; a constant `e` is checked at once instead.
fn checked_cast(cast: Expr, scale: i8) -> DfResult<Expr> {
    let Expr::Cast(Cast { expr: inner, field }) = cast else {
        return Ok(cast);
    };
    let check = crate::functions::math::NumericExact::new(scale);
    if let Expr::Literal(value, _) = inner.as_ref() {
        let args = ScalarFunctionArgs {
            args: vec![ColumnarValue::Scalar(value.clone())],
            arg_fields: vec![Arc::new(Field::new("v", value.data_type(), true))],
            number_rows: 1,
            return_field: Arc::new(Field::new("v", value.data_type(), true)),
            config_options: Arc::new(ConfigOptions::default()),
        };
        check.invoke_with_args(args)?;
        return Ok(Expr::Cast(Cast { expr: inner, field }));
    }
    let check = ScalarUDF::new_from_impl(check);
    Ok(Expr::Cast(Cast {
        expr: Box::new(check.call(vec![*inner])),
        field,
    }))
}

/// Results PostgreSQL types as integers that DataFusion computes unsigned
/// (`row_number`, `rank`, `ntile`, `array_length`, `cardinality`, …) are
/// returned signed: clients are told int8 (int4, int2 for the narrower
/// ones), not numeric.
pub fn signed_outputs(plan: LogicalPlan) -> DfResult<LogicalPlan> {
    let signed = |ty: &DataType| match ty {
        DataType::UInt64 | DataType::UInt32 => Some(DataType::Int64),
        DataType::UInt16 => Some(DataType::Int32),
        DataType::UInt8 => Some(DataType::Int16),
        _ => None,
    };
    let queries = !matches!(
        plan,
        LogicalPlan::Dml(_)
            | LogicalPlan::Ddl(_)
            | LogicalPlan::Explain(_)
            | LogicalPlan::Analyze(_)
            | LogicalPlan::DescribeTable(_)
            | LogicalPlan::Statement(_)
            | LogicalPlan::Copy(_)
    );
    if !queries
        || !plan
            .schema()
            .fields()
            .iter()
            .any(|f| signed(f.data_type()).is_some())
    {
        return Ok(plan);
    }
    let exprs = plan
        .schema()
        .iter()
        .map(|(qualifier, field)| {
            let column = Expr::Column(Column::from((qualifier, field)));
            match signed(field.data_type()) {
                Some(to) => Expr::Cast(Cast::new(Box::new(column), to))
                    .alias_qualified(qualifier.cloned(), field.name()),
                None => column,
            }
        })
        .collect::<Vec<_>>();
    Ok(LogicalPlan::Projection(Projection::try_new(
        exprs,
        Arc::new(plan),
    )?))
}
