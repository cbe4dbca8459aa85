//! PostgreSQL functions DataFusion lacks or spells differently: `pg_typeof`,
//! `to_char` and `to_date` with PostgreSQL's template patterns, `sign` and
//! `every`; in the submodules, `div` and `width_bucket` ([`math`]), number
//! templates and `format` ([`formatting`]), `age`, `justify_*` and interval
//! arithmetic and `date_trunc` of dates ([`datetime`]), `EXTRACT` and
//! `date_part` ([`extract`]), float input, arithmetic and rounding with
//! PostgreSQL's range errors ([`float`]), numeric division's scale
//! ([`math`]), numeric NaN and infinities ([`numeric`]), `avg` of integers
//! and numerics ([`average`]), `mode` and `percentile_disc` ([`ordered_set`]),
//! the regular-expression functions with PostgreSQL's patterns ([`regex`]),
//! `json_build_object` ([`json`]), `now()` in microseconds and `isfinite`
//! ([`timestamps`]), `chr` and the quoting functions ([`text`]), `unistr`
//! ([`unistr`]), the bytea functions ([`bytea`], [`bytea_forms`]) and the `VARIADIC` forms
//! of `concat` and `format` ([`variadic`]).

pub(crate) mod array_input;
mod average;
mod bytea;
mod bytea_forms;
mod coalesce;
mod concat;
mod datetime;
mod datetime_format;
mod divisors;
mod extract;
pub(crate) mod float;
mod formatting;
mod json;
pub(crate) mod math;
pub(crate) mod numeric;
mod ordered_set;
pub(crate) mod regex;
mod scale;
mod series;
mod single_value;
mod text;
mod timestamps;
mod trig;
pub(crate) mod unistr;
mod variadic;
mod zoned;

pub(crate) use datetime::{IntervalScale, Justify, JustifyFunction};
pub use json::ROW_JSON;
pub(crate) use math::NumericDiv;
pub(crate) use single_value::{NAME as SINGLE_VALUE, VALUE_OF as SINGLE_VALUE_OF};
pub(crate) use timestamps::TimestampShift;
pub(crate) use variadic::variadic_name;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{
    AggregateUDF, ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::prelude::SessionContext;

use crate::types::{oid, pg_oid_for_arrow};

/// Registers the functions on a session's context.
/// `substr`, of text and of bytea.
pub(crate) fn substr() -> ScalarUDF {
    ScalarUDF::new_from_impl(bytea::Substr::new(datafusion::functions::unicode::substr()))
}

pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::new_from_impl(PgTypeof::default()));
    ctx.register_udf(ScalarUDF::new_from_impl(series::GenerateSeries::default()));
    ctx.register_udtf("generate_series", Arc::new(series::SeriesTableFunction));
    for op in [
        bytea::Op::GetByte,
        bytea::Op::SetByte,
        bytea::Op::GetBit,
        bytea::Op::SetBit,
        bytea::Op::BitCount,
    ] {
        ctx.register_udf(ScalarUDF::new_from_impl(bytea::ByteaFunction::new(op)));
    }
    ctx.register_udf(substr());
    ctx.register_udf(array_input::array_in_text());
    ctx.register_udf(ScalarUDF::new_from_impl(coalesce::Coalesce::default()));
    for function in bytea_forms::functions(ctx) {
        ctx.register_udf(function);
    }
    for which in [
        scale::Which::Scale,
        scale::Which::MinScale,
        scale::Which::TrimScale,
    ] {
        ctx.register_udf(ScalarUDF::new_from_impl(scale::Scale::new(which)));
    }
    ctx.register_udf(ScalarUDF::new_from_impl(unistr::Unistr::default()));
    ctx.register_udf(ScalarUDF::new_from_impl(ToChar::default()));
    ctx.register_udf(ScalarUDF::new_from_impl(ToDate::default()));
    ctx.register_udf(ScalarUDF::new_from_impl(formatting::ToNumber::default()));
    ctx.register_udf(ScalarUDF::new_from_impl(formatting::Format::default()));
    ctx.register_udf(ScalarUDF::new_from_impl(math::Div::default()));
    ctx.register_udf(ScalarUDF::new_from_impl(math::BitwiseNot::default()));
    ctx.register_udf(ScalarUDF::new_from_impl(math::WidthBucket::default()));
    ctx.register_udf(ScalarUDF::new_from_impl(datetime::Age::default()));
    ctx.register_udf(ScalarUDF::new_from_impl(datetime::PgSleep::default()));
    ctx.register_udf(ScalarUDF::new_from_impl(timestamps::IsFinite::default()));
    ctx.register_udf(ScalarUDF::new_from_impl(timestamps::DateBin::default()));
    ctx.register_udf(ScalarUDF::new_from_impl(zoned::TimezoneOf::default()));
    ctx.register_udf(ScalarUDF::new_from_impl(timestamps::MakeInterval::default()));
    ctx.register_udf(ScalarUDF::new_from_impl(divisors::Divisors::new(false)));
    ctx.register_udf(ScalarUDF::new_from_impl(divisors::Divisors::new(true)));
    for name in trig::Degrees::NAMES {
        ctx.register_udf(ScalarUDF::new_from_impl(trig::Degrees::new(name)));
    }
    ctx.register_udf(ScalarUDF::new_from_impl(zoned::MakeTimestamp::new(false)));
    ctx.register_udf(ScalarUDF::new_from_impl(zoned::MakeTimestamp::new(true)));
    ctx.register_udf(ScalarUDF::new_from_impl(timestamps::Now::new(
        ctx.state().config_options(),
    )));
    ctx.register_udf(ScalarUDF::new_from_impl(extract::DatePart::new(false)));
    ctx.register_udf(ScalarUDF::new_from_impl(extract::DatePart::new(true)));
    for kind in [Justify::Hours, Justify::Days, Justify::Interval] {
        ctx.register_udf(ScalarUDF::new_from_impl(JustifyFunction::new(kind)));
    }
    ctx.register_udaf(AggregateUDF::new_from_impl(ordered_set::OrderedSet::mode()));
    ctx.register_udaf(AggregateUDF::new_from_impl(
        ordered_set::OrderedSet::percentile_disc(),
    ));
    ctx.register_udf(text::chr());
    ctx.register_udf(text::text_function("quote_literal", text::quote_literal));
    ctx.register_udf(text::text_function("quote_ident", text::quote_ident));
    ctx.register_udf(text::like_escape());
    ctx.register_udf(ScalarUDF::new_from_impl(json::JsonBuildObject::spaced()));
    ctx.register_udf(ScalarUDF::new_from_impl(json::JsonBuildObject::compact()));
    for function in regex::functions() {
        ctx.register_udf(function);
    }
    ctx.register_udaf(AggregateUDF::new_from_impl(
        single_value::SingleValue::default(),
    ));
    ctx.register_udf(ScalarUDF::new_from_impl(
        single_value::SingleValueOf::default(),
    ));
    for name in ["concat", "concat_ws"] {
        if let Ok(inner) = ctx.udf(name) {
            ctx.register_udf(ScalarUDF::new_from_impl(concat::Concat::new(inner)));
        }
    }
    // After the functions they spread their arrays over.
    for function in variadic::functions(ctx) {
        ctx.register_udf(function);
    }
    if let Ok(signum) = ctx.udf("signum") {
        ctx.register_udf(signum.as_ref().clone().with_aliases(["sign"]));
    }
    if let Ok(avg) = ctx.udaf("avg") {
        ctx.register_udaf(AggregateUDF::new_from_impl(average::PgAvg::new(avg)));
    }
    if let Ok(date_trunc) = ctx.udf("date_trunc") {
        ctx.register_udf(ScalarUDF::new_from_impl(datetime::PgDateTrunc::new(
            date_trunc,
        )));
    }
    for name in math::CHECKED {
        if let Ok(inner) = ctx.udf(name) {
            ctx.register_udf(ScalarUDF::new_from_impl(math::Checked::new(inner)));
        }
    }
    ctx.register_udf(ScalarUDF::new_from_impl(float::Send::new(true)));
    ctx.register_udf(ScalarUDF::new_from_impl(float::Send::new(false)));
    if let Ok(ceil) = ctx.udf("ceil") {
        ctx.register_udf(ceil.as_ref().clone().with_aliases(["ceiling"]));
    }
    if let Ok(bool_and) = ctx.udaf("bool_and") {
        ctx.register_udaf(bool_and.as_ref().clone().with_aliases(["every"]));
    }
}

/// The argument types `inner` coerces `args` to: what a wrapper calls for
/// the arguments it passes on to the function it wraps.
pub(crate) fn coerced_for(inner: &ScalarUDF, args: &[DataType]) -> Result<Vec<DataType>> {
    let fields: Vec<_> = args
        .iter()
        .map(|t| {
            Arc::new(datafusion::arrow::datatypes::Field::new(
                "arg",
                t.clone(),
                true,
            ))
        })
        .collect();
    Ok(
        datafusion::logical_expr::type_coercion::functions::fields_with_udf(&fields, inner)?
            .iter()
            .map(|f| f.data_type().clone())
            .collect(),
    )
}

/// `out` as the value of a function of `inputs`: a scalar if they all were.
/// A function's arguments as arrays of its rows (a constant repeated).
pub(crate) fn argument_arrays(args: &ScalarFunctionArgs) -> Result<Vec<ArrayRef>> {
    args.args
        .iter()
        .map(|a| a.to_array(args.number_rows))
        .collect()
}

pub(crate) fn shaped_like(inputs: &[ColumnarValue], out: ArrayRef) -> Result<ColumnarValue> {
    let scalar = inputs.iter().all(|i| matches!(i, ColumnarValue::Scalar(_)));
    Ok(match scalar {
        true => ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?),
        false => ColumnarValue::Array(out),
    })
}

/// 42883 for a call of `name` with arguments of these types.
fn undefined_function(name: &str, args: &[DataType]) -> DataFusionError {
    let types: Vec<String> = args
        .iter()
        .map(|t| type_name(pg_oid_for_arrow(t)))
        .collect();
    crate::error::Error::UndefinedFunction(format!(
        "function {name}({}) does not exist",
        types.join(", ")
    ))
    .into()
}

/// PostgreSQL's name for a type OID, as `format_type` prints it.
pub fn type_name(type_oid: u32) -> String {
    let name = match type_oid {
        oid::BOOL => "boolean",
        oid::INT2 => "smallint",
        oid::INT4 => "integer",
        oid::INT8 => "bigint",
        oid::NUMERIC => "numeric",
        oid::FLOAT4 => "real",
        oid::FLOAT8 => "double precision",
        oid::TEXT => "text",
        oid::NAME => "name",
        oid::CHAR => "\"char\"",
        oid::VOID => "void",
        oid::VARCHAR => "character varying",
        oid::BPCHAR => "character",
        oid::BYTEA => "bytea",
        oid::DATE => "date",
        oid::TIMESTAMP => "timestamp without time zone",
        oid::TIMESTAMPTZ => "timestamp with time zone",
        oid::TIME => "time without time zone",
        oid::INTERVAL => "interval",
        oid::UUID => "uuid",
        oid::JSON => "json",
        oid::JSONB => "jsonb",
        oid::BOOL_ARRAY => "boolean[]",
        oid::INT2_ARRAY => "smallint[]",
        oid::INT4_ARRAY => "integer[]",
        oid::TEXT_ARRAY => "text[]",
        _ => "text",
    };
    name.to_string()
}

fn plan_err(message: String) -> DataFusionError {
    DataFusionError::Plan(message)
}

/// `pg_typeof(any)`: the PostgreSQL type of its argument.
#[derive(Debug, PartialEq, Eq, Hash)]
struct PgTypeof {
    signature: Signature,
}

impl Default for PgTypeof {
    fn default() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for PgTypeof {
    fn name(&self) -> &str {
        "pg_typeof"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let field = &args.arg_fields[0];
        let type_oid = field
            .metadata()
            .get(crate::types::PG_TYPE_OID_KEY)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| pg_oid_for_arrow(field.data_type()));
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(type_name(
            type_oid,
        )))))
    }
}

/// PostgreSQL's date/time template patterns as chrono format specifiers;
/// everything else is copied as it is.
fn chrono_format(template: &str) -> String {
    const PATTERNS: [(&str, &str); 19] = [
        ("YYYY", "%Y"),
        ("HH24", "%H"),
        ("HH12", "%I"),
        ("Month", "%B"),
        ("Day", "%A"),
        ("Mon", "%b"),
        ("Dy", "%a"),
        ("YY", "%y"),
        ("MM", "%m"),
        ("DDD", "%j"),
        ("DD", "%d"),
        ("HH", "%I"),
        ("MI", "%M"),
        ("SS", "%S"),
        ("MS", "%3f"),
        ("US", "%6f"),
        ("AM", "%p"),
        ("PM", "%p"),
        ("TZ", "%Z"),
    ];
    let mut out = String::new();
    let mut rest = template;
    'outer: while !rest.is_empty() {
        for (pattern, spec) in PATTERNS {
            if let Some(after) = rest.strip_prefix(pattern) {
                out.push_str(spec);
                rest = after;
                continue 'outer;
            }
        }
        let c = rest.chars().next().expect("not empty");
        if c == '%' {
            out.push_str("%%");
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// `to_char(date, timestamp or number, template)`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ToChar {
    signature: Signature,
}

impl Default for ToChar {
    fn default() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Stable),
        }
    }
}

impl ScalarUDFImpl for ToChar {
    fn name(&self) -> &str {
        "to_char"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match &args[0] {
            DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _) | DataType::Null => {
                Ok(DataType::Utf8)
            }
            number if number.is_numeric() => Ok(DataType::Utf8),
            other => Err(plan_err(format!(
                "function to_char({}, text) does not exist",
                type_name(pg_oid_for_arrow(other))
            ))),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let values = args.args[0].to_array(rows)?;
        if values.data_type().is_numeric() {
            let templates =
                datafusion::arrow::compute::cast(&args.args[1].to_array(rows)?, &DataType::Utf8)?;
            let templates = templates
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("cast to text");
            let out = formatting::number_to_char(&values, templates)?;
            return Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef));
        }
        // A date is a timestamptz at its midnight, as PostgreSQL casts it.
        let zoned = matches!(values.data_type(), DataType::Timestamp(_, Some(_)));
        let dated = values.data_type() == &DataType::Date32;
        let values = crate::types::timestamp_micros(&values)?;
        let values =
            values.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
        let templates =
            datafusion::arrow::compute::cast(&args.args[1].to_array(rows)?, &DataType::Utf8)?;
        let templates = templates.as_string::<i32>();
        let zone = crate::text_output::TextOptions::current(&args.config_options)
            .zone()
            .unwrap_or(crate::zones::Zone::Region(chrono_tz::Tz::UTC));
        let mut parsed: Option<(&str, datetime_format::Template)> = None;
        let mut out = StringBuilder::with_capacity(rows, rows * 16);
        for i in 0..rows {
            let micros = values.value(i);
            if values.is_null(i) || templates.is_null(i) || zoned::is_infinite(micros) {
                out.append_null();
                continue;
            }
            let template = templates.value(i);
            if parsed.as_ref().is_none_or(|(t, _)| *t != template) {
                parsed = Some((template, datetime_format::parse(template)));
            }
            let (local, offset, name) = match (zoned, dated) {
                (true, _) => {
                    let seconds = micros.div_euclid(1_000_000);
                    (
                        zoned::local_of(&zone, micros),
                        zone.offset_at(seconds),
                        zone.abbreviation_at(seconds),
                    )
                }
                (_, true) => {
                    let utc = zoned::utc_of(&zone, micros);
                    let seconds = utc.div_euclid(1_000_000);
                    (
                        micros,
                        zone.offset_at(seconds),
                        zone.abbreviation_at(seconds),
                    )
                }
                _ => (micros, 0, String::new()),
            };
            let Some(local) = DateTime::from_timestamp_micros(local) else {
                out.append_null();
                continue;
            };
            let moment = datetime_format::Moment {
                local: local.naive_utc(),
                offset,
                zone: name,
            };
            let nodes = &parsed.as_ref().expect("parsed above").1;
            out.append_value(datetime_format::render(nodes, &moment));
        }
        shaped_like(&args.args, Arc::new(out.finish()))
    }
}

/// `to_date(text, template)`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ToDate {
    signature: Signature,
}

impl Default for ToDate {
    fn default() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Stable),
        }
    }
}

impl ScalarUDFImpl for ToDate {
    fn name(&self) -> &str {
        "to_date"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let text =
            datafusion::arrow::compute::cast(&args.args[0].to_array(rows)?, &DataType::Utf8)?;
        let text = text
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to text");
        let templates =
            datafusion::arrow::compute::cast(&args.args[1].to_array(rows)?, &DataType::Utf8)?;
        let templates = templates
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to text");
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            if text.is_null(i) || templates.is_null(i) {
                out.push(None);
                continue;
            }
            let date =
                NaiveDate::parse_from_str(text.value(i).trim(), &chrono_format(templates.value(i)))
                    .map_err(|e| {
                        DataFusionError::External(Box::new(crate::Error::InvalidDatetime(format!(
                            "invalid value \"{}\" for \"{}\": {e}",
                            text.value(i),
                            templates.value(i)
                        ))))
                    })?;
            out.push(Some((date - epoch).num_days() as i32));
        }
        Ok(ColumnarValue::Array(Arc::new(
            datafusion::arrow::array::Date32Array::from(out),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_translate_to_chrono() {
        assert_eq!(chrono_format("YYYY-MM-DD HH24:MI:SS"), "%Y-%m-%d %H:%M:%S");
        assert_eq!(chrono_format("Mon DD, YYYY"), "%b %d, %Y");
        assert_eq!(chrono_format("100%"), "100%%");
    }
}
