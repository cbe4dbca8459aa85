//! PostgreSQL's output functions for the types whose text Arrow spells
//! otherwise: floats (`1`, `1e+20`, `Infinity`), numeric (every digit of its
//! scale), dates and times (fractions trimmed, `BC` years), timestamptz (in the
//! session's TimeZone with `+05:30`-style offsets) and intervals (in the
//! session's IntervalStyle). The wire encoder and casts to text both use them,
//! so `x::text` reads as the column itself does.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Float32Type, Float64Type, IntervalMonthDayNanoType, IntervalUnit,
    Time32MillisecondType, Time32SecondType, Time64MicrosecondType, Time64NanosecondType, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use datafusion::common::config::{ConfigExtension, ConfigOptions};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::interval::{self, Interval};
use crate::settings::Settings;
use crate::zones::Zone;

/// What text rendering depends on: the session's settings at statement start.
#[derive(Debug, Clone, Default)]
pub struct TextStyle {
    /// TimeZone, for timestamptz; None is UTC.
    pub time_zone: Option<Zone>,
    pub extra_float_digits: i64,
    pub interval_style: interval::Style,
    /// bytea_output is `escape`: bytea is written with octal escapes, not
    /// in hex (which arrow-pg writes).
    pub bytea_escape: bool,
}

impl TextStyle {
    pub fn from_settings(settings: &Settings) -> Self {
        TextStyle {
            bytea_escape: settings
                .get("bytea_output")
                .is_ok_and(|v| v.eq_ignore_ascii_case("escape")),
            ..TextOptions::of(settings).style()
        }
    }
}

/// bytea in PostgreSQL's escape output format: printable ASCII as itself, a
/// backslash doubled, every other byte as `\ooo`.
pub fn bytea_escaped(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out
}

datafusion::common::extensions_options! {
    /// The session settings that change how text reads as a value and how a
    /// value reads as text, kept in the DataFusion options every function call
    /// sees (`Session::execute` sets them from the session's settings).
    pub struct TextOptions {
        /// DateStyle's field order: `MDY`, `DMY` or `YMD`.
        pub date_order: String, default = "MDY".to_string()
        /// IntervalStyle.
        pub interval_style: String, default = "postgres".to_string()
        /// TimeZone, for timestamptz.
        pub time_zone: String, default = "UTC".to_string()
        pub extra_float_digits: i32, default = 1
        /// When the session's transaction began, in microseconds since 1970:
        /// `now()` and `'now'` are that moment throughout it (0: unknown).
        pub transaction_start: u64, default = 0
    }
}

impl ConfigExtension for TextOptions {
    const PREFIX: &'static str = "enishi_text";
}

impl TextOptions {
    /// The options a session's settings give.
    pub fn of(settings: &Settings) -> Self {
        let date_style = settings.get("DateStyle").unwrap_or_default();
        TextOptions {
            date_order: date_style.rsplit(", ").next().unwrap_or("MDY").to_string(),
            interval_style: settings
                .get("IntervalStyle")
                .unwrap_or_else(|_| "postgres".into()),
            time_zone: settings.time_zone(),
            extra_float_digits: settings.extra_float_digits() as i32,
            transaction_start: 0,
        }
    }

    /// The options in effect for a function call.
    pub fn current(options: &ConfigOptions) -> Self {
        options
            .extensions
            .get::<TextOptions>()
            .cloned()
            .unwrap_or_default()
    }

    pub fn interval_style(&self) -> interval::Style {
        interval::Style::named(&self.interval_style).unwrap_or_default()
    }

    /// The moment `now()` and `'now'` stand for: the transaction's start, or
    /// else the current time.
    pub fn now(&self) -> chrono::DateTime<Utc> {
        match self.transaction_start {
            0 => Utc::now(),
            start => DateTime::from_timestamp_micros(start as i64).unwrap_or_else(Utc::now),
        }
    }

    /// The session's TimeZone; None is UTC.
    pub fn zone(&self) -> Option<Zone> {
        Zone::setting(&self.time_zone).filter(|zone| *zone != crate::zones::UTC)
    }

    pub fn style(&self) -> TextStyle {
        TextStyle {
            time_zone: self.zone(),
            extra_float_digits: i64::from(self.extra_float_digits),
            interval_style: self.interval_style(),
            bytea_escape: false,
        }
    }
}

/// The name of the function a cast to text becomes for the types [`render`]
/// spells (PostgreSQL's output functions).
pub const TEXT_OUT: &str = "text_out";

/// A value as text, as the wire's text format shows it under the session's
/// settings.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TextOut {
    signature: Signature,
}

impl Default for TextOut {
    fn default() -> Self {
        TextOut {
            signature: Signature::any(1, Volatility::Stable),
        }
    }
}

impl ScalarUDFImpl for TextOut {
    fn name(&self) -> &str {
        TEXT_OUT
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let style = TextOptions::current(&args.config_options).style();
        let input = args.args[0].to_array(args.number_rows)?;
        Ok(ColumnarValue::Array(cast_to_text(&input, &style)?))
    }
}

/// Whether [`cast_to_text`] spells this type differently from Arrow's cast.
pub fn renders(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Decimal128(_, _)
            | DataType::Float64
            | DataType::Float32
            | DataType::Date32
            | DataType::Timestamp(_, _)
            | DataType::Time64(_)
            | DataType::Time32(_)
            | DataType::Interval(IntervalUnit::MonthDayNano)
            | DataType::List(_)
            | DataType::LargeList(_)
    )
}

/// int2vector and oidvector as PostgreSQL spells them: the elements
/// separated by spaces (`1 3`), where an array is `{1,3}`.
pub fn vector(column: &ArrayRef) -> Option<ArrayRef> {
    let DataType::List(_) = column.data_type() else {
        return None;
    };
    let lists = column.as_list::<i32>();
    let mut out = StringBuilder::with_capacity(column.len(), column.len() * 4);
    for i in 0..lists.len() {
        if lists.is_null(i) {
            out.append_null();
            continue;
        }
        let elements = datafusion::arrow::compute::cast(&lists.value(i), &DataType::Utf8).ok()?;
        let elements = elements.as_string::<i32>();
        let spelled: Vec<&str> = elements.iter().map(|e| e.unwrap_or("0")).collect();
        out.append_value(spelled.join(" "));
    }
    Some(Arc::new(out.finish()))
}

pub fn render(column: &ArrayRef, style: &TextStyle) -> Option<ArrayRef> {
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
        // Every digit, with the scale's trailing zeros as PostgreSQL prints
        // them (arrow-pg's rust_decimal stops at 28 digits); NaN and the
        // infinities by name.
        DataType::Decimal128(_, _) => return crate::numeric::text(column),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView if style.bytea_escape => {
            let binary = datafusion::arrow::compute::cast(column, &DataType::Binary).ok()?;
            let a = binary.as_binary::<i32>();
            strings(&|i| bytea_escaped(a.value(i)))
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
                    // Nanoseconds' infinities are their extremes.
                    TimeUnit::Nanosecond => {
                        match column.as_primitive::<TimestampNanosecondType>().value(i) {
                            i64::MAX => i128::from(crate::types::TIMESTAMP_INFINITY) * 1_000,
                            i64::MIN => i128::from(crate::types::TIMESTAMP_MINUS_INFINITY) * 1_000,
                            v => v as i128,
                        }
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
            strings(&|i| interval::format(Interval::from_arrow(a.value(i)), style.interval_style))
        }
        _ => return None,
    })
}

/// A value cast to text: [`render`]'s spelling, arrays as `array_out`
/// writes them, else Arrow's. (On the wire, arrays are encoded as they are.)
pub fn cast_to_text(column: &ArrayRef, style: &TextStyle) -> DfResult<ArrayRef> {
    let list = |offsets: &[usize], values: &ArrayRef| -> DfResult<ArrayRef> {
        let elements = element_texts(values, style).ok_or_else(|| {
            DataFusionError::NotImplemented(format!("cast of {} to text", column.data_type()))
        })?;
        let mut out = StringBuilder::with_capacity(column.len(), column.len() * 8);
        for i in 0..column.len() {
            if column.is_null(i) {
                out.append_null();
            } else {
                out.append_value(array_text(&elements, offsets[i]..offsets[i + 1]));
            }
        }
        Ok(Arc::new(out.finish()))
    };
    match column.data_type() {
        DataType::List(_) => {
            let a = column.as_list::<i32>();
            let offsets: Vec<usize> = a.value_offsets().iter().map(|&o| o as usize).collect();
            list(&offsets, a.values())
        }
        DataType::LargeList(_) => {
            let a = column.as_list::<i64>();
            let offsets: Vec<usize> = a.value_offsets().iter().map(|&o| o as usize).collect();
            list(&offsets, a.values())
        }
        _ => match render(column, style) {
            Some(text) => Ok(text),
            None => Ok(cast(column, &DataType::Utf8)?),
        },
    }
}

/// Each element of an array as `array_out` writes it (None: NULL); nested
/// arrays come back already braced.
fn element_texts(values: &ArrayRef, style: &TextStyle) -> Option<Vec<Option<String>>> {
    let nested = matches!(
        values.data_type(),
        DataType::List(_) | DataType::LargeList(_)
    );
    let text: ArrayRef = match values.data_type() {
        // Inside an array a boolean is `t` or `f` (boolout), not `true`.
        DataType::Boolean => {
            let b = values.as_boolean();
            Arc::new(
                b.iter()
                    .map(|v| v.map(|v| if v { "t" } else { "f" }))
                    .collect::<datafusion::arrow::array::StringArray>(),
            )
        }
        _ => cast_to_text(values, style).ok()?,
    };
    let text = text.as_string::<i32>();
    Some(
        (0..text.len())
            .map(|i| {
                (!text.is_null(i)).then(|| {
                    let v = text.value(i);
                    if nested {
                        v.to_string()
                    } else {
                        quote_element(v)
                    }
                })
            })
            .collect(),
    )
}

/// `{a,b,NULL}` from the elements in `range`.
fn array_text(elements: &[Option<String>], range: std::ops::Range<usize>) -> String {
    let mut out = String::from("{");
    for (n, element) in elements[range].iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push_str(element.as_deref().unwrap_or("NULL"));
    }
    out.push('}');
    out
}

/// An array element quoted as `array_out` quotes it: when empty, `NULL` in
/// any case, or holding a brace, comma, quote, backslash or white space.
fn quote_element(v: &str) -> String {
    let needs = v.is_empty()
        || v.eq_ignore_ascii_case("null")
        || v.chars()
            .any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_ascii_whitespace());
    if !needs {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
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
    match days {
        crate::types::DATE_INFINITY => return "infinity".into(),
        crate::types::DATE_MINUS_INFINITY => return "-infinity".into(),
        _ => {}
    }
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

/// A time of day; `24:00:00` (which PostgreSQL allows) included.
fn format_time(nanos: i128) -> String {
    let secs = nanos / 1_000_000_000;
    format!(
        "{:02}:{:02}:{:02}{}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        fraction((nanos % 1_000_000_000) as u32)
    )
}

/// `zone`: None for timestamp; Some(session zone, None meaning UTC) for timestamptz.
fn format_timestamp(nanos: i128, zone: Option<Option<&Zone>>) -> String {
    // The infinities, whatever the unit.
    if nanos >= i128::from(crate::types::TIMESTAMP_INFINITY) * 1_000 {
        return "infinity".into();
    }
    if nanos <= i128::from(crate::types::TIMESTAMP_MINUS_INFINITY) * 1_000 {
        return "-infinity".into();
    }
    let secs = nanos.div_euclid(1_000_000_000) as i64;
    let sub = nanos.rem_euclid(1_000_000_000) as u32;
    let offset = match zone {
        None => None,
        Some(None) => Some(0),
        Some(Some(zone)) => Some(zone.offset_at(secs)),
    };
    let Some(local) = DateTime::<Utc>::from_timestamp(secs + i64::from(offset.unwrap_or(0)), sub)
    else {
        return nanos.to_string();
    };
    let local = local.naive_utc();
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
        s.push_str(&crate::zones::offset_text(off, false));
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
    fn timestamps_print_like_postgres() {
        let nanos = 1_700_000_000_123_000_000i128;
        assert_eq!(format_timestamp(nanos, None), "2023-11-14 22:13:20.123");
        assert_eq!(
            format_timestamp(nanos, Some(None)),
            "2023-11-14 22:13:20.123+00"
        );
        let tokyo = Zone::named("Asia/Tokyo").unwrap();
        assert_eq!(
            format_timestamp(nanos, Some(Some(&tokyo))),
            "2023-11-15 07:13:20.123+09"
        );
        let india = Zone::named("Asia/Kolkata").unwrap();
        assert_eq!(
            format_timestamp(0, Some(Some(&india))),
            "1970-01-01 05:30:00+05:30"
        );
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(-719_163), "0001-12-31 BC");
        assert_eq!(format_time(3_723_500_000_000), "01:02:03.5");
    }
}
