//! Arrow batches to PostgreSQL rows.
//!
//! arrow-pg encodes values in both formats. In text format PostgreSQL's spelling
//! differs from arrow-pg's for floats (`1`, `1e+20`, `Infinity`), date/time values
//! (fractional seconds trimmed, `BC` years) and timestamptz (shown in the session's
//! TimeZone with `+05:30`-style offsets), so those columns are rendered here first
//! and handed to arrow-pg as text. Binary format is exact per type and left alone.
//!
//! Column types come from the declared PostgreSQL type when a field carries one
//! (`varchar(20)` stays varchar with its typmod), else from arrow-pg's mapping.

use std::sync::Arc;

use arrow_pg::datatypes::{
    PG_CHAR_KEY, PG_OID_ALIAS_KEY, arrow_schema_to_pg_fields, encode_recordbatch, into_pg_type,
};
use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike, Utc,
};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BinaryArray, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Field, Float32Type, Float64Type,
    IntervalMonthDayNanoType, IntervalUnit, Schema, Time32MillisecondType, Time32SecondType,
    Time64MicrosecondType, Time64NanosecondType, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use enishi_sql::types;
use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;
use pgwire::types::format::FormatOptions;

/// What text rendering depends on: the session settings at statement start.
#[derive(Debug, Clone)]
pub struct TextStyle {
    pub time_zone: Option<Tz>,
    pub extra_float_digits: i64,
    pub options: Arc<FormatOptions>,
}

impl TextStyle {
    pub fn from_settings(settings: &enishi_sql::Settings) -> Self {
        let tz_name = settings.time_zone();
        let mut options = FormatOptions::default();
        options.date_style = settings
            .get("DateStyle")
            .unwrap_or_else(|_| "ISO, MDY".into());
        options.interval_style = settings
            .get("IntervalStyle")
            .unwrap_or_else(|_| "postgres".into());
        options.extra_float_digits = settings.extra_float_digits() as i8;
        options.time_zone = tz_name.clone();
        Self {
            time_zone: tz_name.parse().ok(),
            extra_float_digits: settings.extra_float_digits(),
            options: Arc::new(options),
        }
    }
}

/// RowDescription fields for a result schema, in the formats the client asked for.
pub fn fields(schema: &Schema, format: &Format, style: &TextStyle) -> PgWireResult<Vec<FieldInfo>> {
    let columns = schema.fields().len();
    // A format list shorter than the columns would make pgwire index past its end.
    if let Format::Individual(codes) = format
        && codes.len() != columns
        && codes.len() > 1
    {
        return Err(protocol_error(format!(
            "bind message has {} result formats but query has {columns} columns",
            codes.len()
        )));
    }
    let base = arrow_schema_to_pg_fields(schema, format, Some(style.options.clone()))?;
    Ok(base
        .into_iter()
        .zip(schema.fields())
        .map(|(info, field)| {
            let (ty, typmod) = match types::declared(field) {
                Some((oid, typmod)) => (
                    Type::from_oid(oid).unwrap_or_else(|| info.datatype().clone()),
                    typmod,
                ),
                // An oid-alias tag (regclass, oid, …) survives casts in DataFusion; it
                // only describes the value while the value is still a 4-byte integer.
                None if is_oid_alias(info.datatype())
                    && !matches!(field.data_type(), DataType::Int32 | DataType::UInt32) =>
                {
                    (into_pg_type(field.data_type()).unwrap_or(Type::TEXT), -1)
                }
                None => (info.datatype().clone(), info.type_modifier()),
            };
            let (table, attnum) = match types::source(field) {
                Some((oid, attnum)) => (Some(oid as i32), Some(attnum)),
                None => (None, None),
            };
            FieldInfo::new(
                info.name().to_string(),
                table,
                attnum,
                ty.clone(),
                info.format(),
            )
            .with_format_options(style.options.clone())
            .with_type_modifier(typmod)
            .with_type_size(type_size(&ty))
        })
        .collect())
}

fn is_oid_alias(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::OID
            | Type::REGCLASS
            | Type::REGTYPE
            | Type::REGPROC
            | Type::REGPROCEDURE
            | Type::REGOPER
            | Type::REGOPERATOR
            | Type::REGNAMESPACE
            | Type::REGROLE
            | Type::REGCONFIG
            | Type::REGDICTIONARY
            | Type::REGCOLLATION
    )
}

/// pg_type.typlen, which RowDescription carries.
fn type_size(ty: &Type) -> i16 {
    match *ty {
        Type::BOOL => 1,
        Type::INT2 => 2,
        Type::INT4 | Type::FLOAT4 | Type::DATE | Type::OID => 4,
        Type::INT8 | Type::FLOAT8 | Type::TIMESTAMP | Type::TIMESTAMPTZ | Type::TIME => 8,
        _ => -1,
    }
}

/// Encodes one batch as DataRows.
pub fn encode_batch(
    batch: RecordBatch,
    fields: &Arc<Vec<FieldInfo>>,
    style: &TextStyle,
) -> PgWireResult<Vec<DataRow>> {
    let batch = without_descriptive_metadata(render_text_columns(batch, fields, style)?)?;
    encode_recordbatch(fields.clone(), batch).collect()
}

/// The field metadata arrow-pg's encoder reads for each value.
const ENCODER_METADATA: [&str; 2] = [PG_CHAR_KEY, PG_OID_ALIAS_KEY];

/// Drops the field metadata that only describes a column to the client (its
/// type, source table and attribute, already in the RowDescription). arrow-pg
/// looks keys up in a field's metadata for every value it encodes; on an empty
/// map that costs nothing, on ours it hashed a key per value (about a tenth
/// of the time of streaming `SELECT * FROM lineitem`).
fn without_descriptive_metadata(batch: RecordBatch) -> PgWireResult<RecordBatch> {
    let schema = batch.schema();
    let descriptive = |field: &Field| {
        field
            .metadata()
            .keys()
            .any(|k| !ENCODER_METADATA.contains(&k.as_str()))
    };
    if !schema.fields().iter().any(|f| descriptive(f)) {
        return Ok(batch);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let mut metadata = f.metadata().clone();
            metadata.retain(|k, _| ENCODER_METADATA.contains(&k.as_str()));
            f.as_ref().clone().with_metadata(metadata)
        })
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), batch.columns().to_vec())
        .map_err(|e| PgWireError::ApiError(Box::new(e)))
}

fn protocol_error(message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        "08P01".into(),
        message,
    )))
}

/// Replaces text-format columns whose PostgreSQL spelling arrow-pg does not produce
/// with their rendered strings.
fn render_text_columns(
    batch: RecordBatch,
    fields: &[FieldInfo],
    style: &TextStyle,
) -> PgWireResult<RecordBatch> {
    let mut changed = false;
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    let mut schema_fields: Vec<Field> = Vec::with_capacity(batch.num_columns());
    for (i, column) in batch.columns().iter().enumerate() {
        let rendered = match fields.get(i) {
            Some(f) if f.format() == FieldFormat::Text => render(column, style),
            Some(f) => binary(column, f.datatype()),
            None => None,
        };
        let field = batch.schema().field(i).clone();
        match rendered {
            Some(array) => {
                changed = true;
                schema_fields.push(field.with_data_type(array.data_type().clone()));
                columns.push(array);
            }
            None => {
                schema_fields.push(field);
                columns.push(column.clone());
            }
        }
    }
    if !changed {
        return Ok(batch);
    }
    RecordBatch::try_new(Arc::new(Schema::new(schema_fields)), columns)
        .map_err(|e| PgWireError::ApiError(Box::new(e)))
}

fn render(column: &ArrayRef, style: &TextStyle) -> Option<ArrayRef> {
    let efd = style.extra_float_digits;
    let strings = |f: &dyn Fn(usize) -> String| -> ArrayRef {
        let mut out = StringBuilder::with_capacity(column.len(), column.len() * 8);
        for i in 0..column.len() {
            if column.is_null(i) {
                out.append_null();
            } else {
                out.append_value(f(i));
            }
        }
        Arc::new(out.finish())
    };
    Some(match column.data_type() {
        // Arrow prints every digit of a Decimal128, with the scale's trailing
        // zeros as PostgreSQL does; arrow-pg's rust_decimal stops at 28 digits.
        DataType::Decimal128(_, _) => {
            return datafusion::arrow::compute::cast(column, &DataType::Utf8).ok();
        }
        DataType::Float64 => {
            let a = column.as_primitive::<Float64Type>();
            strings(&|i| format_float(a.value(i), false, efd))
        }
        DataType::Float32 => {
            let a = column.as_primitive::<Float32Type>();
            strings(&|i| format_float(a.value(i) as f64, true, efd))
        }
        DataType::Date32 => {
            let a = column.as_primitive::<Date32Type>();
            strings(&|i| format_date(a.value(i)))
        }
        DataType::Timestamp(unit, tz) => {
            let nanos = |i: usize| -> i128 {
                match unit {
                    TimeUnit::Second => {
                        column.as_primitive::<TimestampSecondType>().value(i) as i128
                            * 1_000_000_000
                    }
                    TimeUnit::Millisecond => {
                        column.as_primitive::<TimestampMillisecondType>().value(i) as i128
                            * 1_000_000
                    }
                    TimeUnit::Microsecond => {
                        column.as_primitive::<TimestampMicrosecondType>().value(i) as i128 * 1_000
                    }
                    TimeUnit::Nanosecond => {
                        column.as_primitive::<TimestampNanosecondType>().value(i) as i128
                    }
                }
            };
            match tz {
                None => strings(&|i| format_timestamp(nanos(i), None)),
                Some(_) => strings(&|i| format_timestamp(nanos(i), Some(style.time_zone.as_ref()))),
            }
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            let a = column.as_primitive::<Time64MicrosecondType>();
            strings(&|i| format_time(a.value(i) as i128 * 1_000))
        }
        DataType::Time64(TimeUnit::Nanosecond) => {
            let a = column.as_primitive::<Time64NanosecondType>();
            strings(&|i| format_time(a.value(i) as i128))
        }
        DataType::Time32(TimeUnit::Second) => {
            let a = column.as_primitive::<Time32SecondType>();
            strings(&|i| format_time(a.value(i) as i128 * 1_000_000_000))
        }
        DataType::Time32(TimeUnit::Millisecond) => {
            let a = column.as_primitive::<Time32MillisecondType>();
            strings(&|i| format_time(a.value(i) as i128 * 1_000_000))
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            let a = column.as_primitive::<IntervalMonthDayNanoType>();
            strings(&|i| {
                let v = a.value(i);
                format_interval(v.months, v.days, v.nanoseconds / 1_000)
            })
        }
        _ => return None,
    })
}

/// The binary wire form of types Enishi keeps as text: uuid's 16 bytes, jsonb's
/// version byte before the text.
fn binary(column: &ArrayRef, ty: &Type) -> Option<ArrayRef> {
    if *ty == Type::INTERVAL {
        // PostgreSQL's binary interval: microseconds (i64), days, months (i32);
        // built here so that NULLs stay NULL.
        let intervals = column.as_primitive_opt::<IntervalMonthDayNanoType>()?;
        let out: BinaryArray = intervals
            .iter()
            .map(|v| {
                v.map(|v| {
                    let mut bytes = Vec::with_capacity(16);
                    bytes.extend_from_slice(&(v.nanoseconds / 1000).to_be_bytes());
                    bytes.extend_from_slice(&v.days.to_be_bytes());
                    bytes.extend_from_slice(&v.months.to_be_bytes());
                    bytes
                })
            })
            .collect();
        return Some(Arc::new(out));
    }
    if *ty == Type::NUMERIC {
        let DataType::Decimal128(_, scale) = column.data_type() else {
            return None;
        };
        let scale = *scale;
        let decimals = column.as_primitive_opt::<Decimal128Type>()?;
        let out: BinaryArray = decimals
            .iter()
            .map(|v| v.map(|v| numeric_binary(v, scale)))
            .collect();
        return Some(Arc::new(out));
    }
    if !matches!(*ty, Type::UUID | Type::JSONB) {
        return None;
    }
    // Scans may hand strings over as views.
    let column = datafusion::arrow::compute::cast(column, &DataType::Utf8).ok()?;
    let strings = column.as_string_opt::<i32>()?;
    let convert: fn(&str) -> Vec<u8> = match *ty {
        Type::UUID => |v| {
            let hex: String = v.chars().filter(|c| *c != '-').collect();
            (0..hex.len() / 2)
                .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                .collect()
        },
        Type::JSONB => |v| [&[1u8][..], v.as_bytes()].concat(),
        _ => return None,
    };
    let out: BinaryArray = strings.iter().map(|v| v.map(convert)).collect();
    Some(Arc::new(out))
}

/// PostgreSQL's binary numeric: digit count, weight (of the first base-10000
/// digit), sign and display scale, then the base-10000 digits. The display
/// scale keeps trailing zeros (`0.00` stays `0.00`).
fn numeric_binary(value: i128, scale: i8) -> Vec<u8> {
    let negative = value < 0;
    let dscale = scale.max(0) as usize;
    let mut text = value.unsigned_abs().to_string();
    if scale < 0 {
        text.push_str(&"0".repeat(usize::from(scale.unsigned_abs())));
    }
    if text.len() <= dscale {
        text = format!("{}{text}", "0".repeat(dscale + 1 - text.len()));
    }
    let (int, frac) = text.split_at(text.len() - dscale);
    // Whole base-10000 digits on both sides of the decimal point.
    let int = format!("{}{int}", "0".repeat((4 - int.len() % 4) % 4));
    let frac = format!("{frac}{}", "0".repeat((4 - frac.len() % 4) % 4));
    let group = |s: &str| -> Vec<i16> {
        s.as_bytes()
            .chunks(4)
            .map(|c| {
                std::str::from_utf8(c)
                    .ok()
                    .and_then(|d| d.parse().ok())
                    .unwrap_or(0)
            })
            .collect()
    };
    let mut digits = group(&int);
    let mut weight = digits.len() as i16 - 1;
    digits.extend(group(&frac));
    while digits.first() == Some(&0) {
        digits.remove(0);
        weight -= 1;
    }
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        weight = 0;
    }
    let mut out = Vec::with_capacity(8 + 2 * digits.len());
    out.extend_from_slice(&(digits.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&(if negative { 0x4000u16 } else { 0 }).to_be_bytes());
    out.extend_from_slice(&(dscale as i16).to_be_bytes());
    for digit in digits {
        out.extend_from_slice(&digit.to_be_bytes());
    }
    out
}

/// PostgreSQL's interval output (IntervalStyle `postgres`): `1 year 2 mons
/// -3 days +04:05:06.5`. A part after a negative one carries an explicit sign.
fn format_interval(months: i32, days: i32, micros: i64) -> String {
    let mut out = String::new();
    let mut before_negative = false;
    for (value, unit) in [(months / 12, "year"), (months % 12, "mon"), (days, "day")] {
        if value == 0 {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        let sign = if before_negative && value > 0 {
            "+"
        } else {
            ""
        };
        let plural = if value == 1 { "" } else { "s" };
        out.push_str(&format!("{sign}{value} {unit}{plural}"));
        before_negative = value < 0;
    }
    if out.is_empty() || micros != 0 {
        let sign = if micros < 0 {
            "-"
        } else if before_negative {
            "+"
        } else {
            ""
        };
        let abs = micros.unsigned_abs();
        let (secs, frac) = (abs / 1_000_000, (abs % 1_000_000) as u32);
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&format!(
            "{sign}{:02}:{:02}:{:02}{}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            fraction(frac * 1_000)
        ));
    }
    out
}

/// PostgreSQL's float output. With `extra_float_digits > 0` (the default) the
/// shortest digits that read back exactly; otherwise `%g` with 15 (or 6) + efd
/// significant digits. Exponents appear outside 1e-4 .. 1e15 (1e6 for real).
pub fn format_float(v: f64, single: bool, extra_float_digits: i64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let (scientific, threshold) = if extra_float_digits > 0 {
        let s = if single {
            format!("{:e}", v as f32)
        } else {
            format!("{v:e}")
        };
        (s, if single { 6 } else { 15 })
    } else {
        let digits = ((if single { 6 } else { 15 }) + extra_float_digits).max(1) as usize;
        (format!("{:.*e}", digits - 1, v), digits as i32)
    };
    let (mantissa, exp) = scientific.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    let negative = mantissa.starts_with('-');
    let mut digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let sign = if negative { "-" } else { "" };
    if exp < -4 || exp >= threshold {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{dot}e{esign}{:02}", exp.abs())
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
        }
    } else {
        format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
    }
}

fn year_text(year: i32) -> (String, &'static str) {
    if year <= 0 {
        (format!("{:04}", 1 - year), " BC")
    } else {
        (format!("{year:04}"), "")
    }
}

fn format_date(days: i32) -> String {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    match epoch.checked_add_signed(chrono::Duration::days(days as i64)) {
        Some(d) => {
            let (year, era) = year_text(d.year());
            format!("{year}-{:02}-{:02}{era}", d.month(), d.day())
        }
        None => days.to_string(),
    }
}

fn fraction(nanos: u32) -> String {
    let micros = nanos / 1_000;
    if micros == 0 {
        return String::new();
    }
    let mut s = format!(".{micros:06}");
    while s.ends_with('0') {
        s.pop();
    }
    s
}

fn format_time(nanos: i128) -> String {
    let secs = (nanos / 1_000_000_000) as u32;
    let t = NaiveTime::from_num_seconds_from_midnight_opt(secs, (nanos % 1_000_000_000) as u32)
        .unwrap_or_default();
    format!(
        "{:02}:{:02}:{:02}{}",
        t.hour(),
        t.minute(),
        t.second(),
        fraction(t.nanosecond())
    )
}

/// `zone`: None for timestamp; Some(session zone, None meaning UTC) for timestamptz.
fn format_timestamp(nanos: i128, zone: Option<Option<&Tz>>) -> String {
    let secs = nanos.div_euclid(1_000_000_000) as i64;
    let sub = nanos.rem_euclid(1_000_000_000) as u32;
    let Some(utc) = DateTime::<Utc>::from_timestamp(secs, sub) else {
        return nanos.to_string();
    };
    let (local, offset): (NaiveDateTime, Option<i32>) = match zone {
        None => (utc.naive_utc(), None),
        Some(None) => (utc.naive_utc(), Some(0)),
        Some(Some(tz)) => {
            let off = tz
                .offset_from_utc_datetime(&utc.naive_utc())
                .fix()
                .local_minus_utc();
            (utc.with_timezone(tz).naive_local(), Some(off))
        }
    };
    let (year, era) = year_text(local.year());
    let mut s = format!(
        "{year}-{:02}-{:02} {:02}:{:02}:{:02}{}",
        local.month(),
        local.day(),
        local.hour(),
        local.minute(),
        local.second(),
        fraction(local.nanosecond()),
    );
    if let Some(off) = offset {
        let sign = if off < 0 { '-' } else { '+' };
        let off = off.abs();
        s.push_str(&format!("{sign}{:02}", off / 3600));
        if off % 3600 != 0 {
            s.push_str(&format!(":{:02}", off % 3600 / 60));
            if off % 60 != 0 {
                s.push_str(&format!(":{:02}", off % 60));
            }
        }
    }
    s.push_str(era);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_postgres() {
        let f = |v| format_float(v, false, 1);
        assert_eq!(f(1.0), "1");
        assert_eq!(f(0.1), "0.1");
        assert_eq!(f(-2.5), "-2.5");
        assert_eq!(f(1e20), "1e+20");
        assert_eq!(f(1e15), "1e+15");
        assert_eq!(f(123456789012345.0), "123456789012345");
        assert_eq!(f(0.0001), "0.0001");
        assert_eq!(f(0.00001), "1e-05");
        assert_eq!(f(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(f(f64::INFINITY), "Infinity");
        assert_eq!(f(0.0), "0");
        assert_eq!(format_float(0.1f32 as f64, true, 1), "0.1");
        assert_eq!(format_float(1e6, true, 1), "1e+06");
        assert_eq!(format_float(1.0 / 3.0, false, 0), "0.333333333333333");
    }

    #[test]
    fn intervals_print_like_postgres() {
        assert_eq!(format_interval(0, 0, 0), "00:00:00");
        assert_eq!(
            format_interval(14, 3, 4_500_000),
            "1 year 2 mons 3 days 00:00:04.5"
        );
        assert_eq!(format_interval(0, -1, 7_200_000_000), "-1 days +02:00:00");
        assert_eq!(
            format_interval(-13, 0, -1),
            "-1 years -1 mons -00:00:00.000001"
        );
        assert_eq!(format_interval(0, 1, 0), "1 day");
        assert_eq!(format_interval(0, 0, 90_000_000_000 * 40), "1000:00:00");
    }

    #[test]
    fn timestamps_print_like_postgres() {
        let nanos = 1_700_000_000_123_000_000i128;
        assert_eq!(format_timestamp(nanos, None), "2023-11-14 22:13:20.123");
        assert_eq!(
            format_timestamp(nanos, Some(None)),
            "2023-11-14 22:13:20.123+00"
        );
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        assert_eq!(
            format_timestamp(nanos, Some(Some(&tokyo))),
            "2023-11-15 07:13:20.123+09"
        );
        let india: Tz = "Asia/Kolkata".parse().unwrap();
        assert_eq!(
            format_timestamp(0, Some(Some(&india))),
            "1970-01-01 05:30:00+05:30"
        );
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(-719_163), "0001-12-31 BC");
        assert_eq!(format_time(3_723_500_000_000), "01:02:03.5");
    }
}
