//! PostgreSQL's input syntax for bytea, timestamps and intervals, as the
//! functions [`super::TextInput`] puts where text is cast to those types.

use super::*;
use crate::types;
use crate::zones::{self, Zone};
use datafusion::arrow::array::{
    Date32Array, TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
    TimestampSecondArray,
};
use datafusion::arrow::datatypes::{
    Date32Type, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};

/// The name of the bytea input function.
pub const BYTEA_IN: &str = "byteain";

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct PgByteaIn {
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

/// Text to `"char"`, PostgreSQL's one-byte type, held as the text its output
/// function writes: the first byte of the input, or the byte a `\ooo` octal
/// escape names; a byte over 127 is written `\ooo`, the zero byte as empty
/// text.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct PgCharIn {
    signature: Signature,
}

impl Default for PgCharIn {
    fn default() -> Self {
        Self {
            signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
        }
    }
}

/// The `"char"` byte `text` stands for, spelled as its output.
pub(super) fn char_in(text: &str) -> String {
    let bytes = text.as_bytes();
    let octal = |b: &u8| (b'0'..=b'7').contains(b);
    let byte = match bytes {
        [b'\\', a, b, c] if octal(a) && octal(b) && octal(c) => {
            (u32::from(a - b'0') * 64 + u32::from(b - b'0') * 8 + u32::from(c - b'0')) as u8
        }
        [] => 0,
        [first, ..] => *first,
    };
    match byte {
        0 => String::new(),
        1..=127 => char::from(byte).to_string(),
        _ => format!("\\{byte:03o}"),
    }
}

impl ScalarUDFImpl for PgCharIn {
    fn name(&self) -> &str {
        "charin"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        let out: StringArray = input
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(char_in))
            .collect();
        crate::functions::shaped_like(&args.args, Arc::new(out))
    }
}

/// The name of the timestamp input function.
pub const TIMESTAMP_IN: &str = "timestamp_in";

/// Text to date or timestamp: Arrow's reading, plus PostgreSQL's forms it
/// lacks (see [`read_datetimes`]). The second argument, a typed NULL, gives
/// the result type (date, or a timestamp's unit and time zone).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct PgTimestampIn {
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
        let order = datetime_input::DateOrder::of(&args.config_options);
        let options = TextOptions::current(&args.config_options);
        Ok(ColumnarValue::Array(read_datetimes(
            &input,
            &target,
            order,
            &options.time_zone,
            options.now(),
        )?))
    }
}

/// The name of the time input function.
pub const TIME_IN: &str = "time_in";

/// Text to time as PostgreSQL reads it ([`datetime_input::parse_time`]):
/// `04:05 PM`, `040506` after a date, a date and zone written and ignored,
/// `24:00:00`. The second argument, a typed NULL, gives the result's unit.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct PgTimeIn {
    signature: Signature,
}

impl Default for PgTimeIn {
    fn default() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for PgTimeIn {
    fn name(&self) -> &str {
        TIME_IN
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> DfResult<DataType> {
        Ok(args[1].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let target = args.return_field.data_type().clone();
        let input = cast(&args.args[0].to_array(args.number_rows)?, &DataType::Utf8)?;
        let now = TextOptions::current(&args.config_options).now();
        let mut micros = Vec::with_capacity(input.len());
        for value in input.as_string::<i32>() {
            micros.push(
                value
                    .map(|v| {
                        datetime_input::parse_time(v, now).map_err(|e| match e {
                            Error::InvalidDatetime(_) => Error::InvalidDatetime(format!(
                                "invalid input syntax for type time: \"{v}\""
                            )),
                            other => other,
                        })
                    })
                    .transpose()?,
            );
        }
        let out: ArrayRef = match target {
            DataType::Time64(datafusion::arrow::datatypes::TimeUnit::Nanosecond) => {
                Arc::new(datafusion::arrow::array::Time64NanosecondArray::from_iter(
                    micros.into_iter().map(|m| m.map(|m| m * 1_000)),
                ))
            }
            _ => Arc::new(datafusion::arrow::array::Time64MicrosecondArray::from(
                micros,
            )),
        };
        Ok(ColumnarValue::Array(out))
    }
}

/// Casts text to a date or timestamp type: Arrow reads what it can, and the
/// values it cannot are read by [`datetime_input`]; a value neither reads is
/// an error (22007, or 22008 when a field is out of range). `infinity` and
/// `-infinity` are the types' largest and smallest values. Timestamptz text
/// without a zone is in the session's TimeZone, so only a UTC session lets
/// Arrow read it.
fn read_datetimes(
    input: &ArrayRef,
    target: &DataType,
    order: datetime_input::DateOrder,
    session_zone: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> DfResult<ArrayRef> {
    use datafusion::arrow::compute::{CastOptions, cast_with_options};
    let zoned = matches!(target, DataType::Timestamp(_, Some(_)));
    let local_zone = Zone::setting(session_zone).filter(|zone| zoned && *zone != zones::UTC);
    let lenient = CastOptions {
        safe: true,
        ..Default::default()
    };
    let read = match local_zone {
        None => cast_with_options(input, target, &lenient)?,
        Some(_) => datafusion::arrow::array::new_null_array(target, input.len()),
    };
    let text = input.as_string::<i32>();
    // Arrow reads a region's skipped and repeated local times its own way.
    let regional = |i: usize| text.is_valid(i) && text.value(i).contains('/');
    if read.null_count() == input.null_count() && !(0..text.len()).any(regional) {
        return Ok(read);
    }
    let type_name = match target {
        DataType::Date32 => "date",
        _ if zoned => "timestamp with time zone",
        _ => "timestamp",
    };
    let mut values: Vec<Option<i64>> = Vec::with_capacity(text.len());
    for i in 0..text.len() {
        if text.is_null(i) {
            values.push(None);
            continue;
        }
        if !read.is_null(i) && !regional(i) {
            values.push(Some(match target {
                DataType::Date32 => i64::from(read.as_primitive::<Date32Type>().value(i)),
                _ => micros_of(&read, i),
            }));
            continue;
        }
        let value = text.value(i);
        let infinite = match value.trim().to_ascii_lowercase().as_str() {
            "infinity" | "+infinity" => Some(true),
            "-infinity" => Some(false),
            _ => None,
        };
        if let Some(positive) = infinite {
            values.push(Some(match (target, positive) {
                (DataType::Date32, true) => i64::from(types::DATE_INFINITY),
                (DataType::Date32, false) => i64::from(types::DATE_MINUS_INFINITY),
                (_, true) => types::TIMESTAMP_INFINITY,
                (_, false) => types::TIMESTAMP_MINUS_INFINITY,
            }));
            continue;
        }
        let parsed = datetime_input::parse(value, order, now).map_err(|e| match e {
            Error::InvalidDatetime(_) => Error::InvalidDatetime(format!(
                "invalid input syntax for type {type_name}: \"{value}\""
            )),
            other => other,
        })?;
        let out_of_range = || Error::Coded {
            code: "22008",
            message: format!(
                "{} out of range: \"{value}\"",
                type_name.replace("timestamp with time zone", "timestamp")
            ),
        };
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
        let days = (parsed.date - epoch).num_days();
        if *target == DataType::Date32 {
            if days < i64::from(types::DATE_MIN) {
                return Err(out_of_range().into());
            }
            values.push(Some(days));
            continue;
        }
        let local = days * 86_400_000_000 + parsed.time;
        // A timestamp without time zone ignores a zone in its text.
        let offset = match (zoned, parsed.offset, &local_zone) {
            (false, _, _) => 0,
            (true, Some(offset), _) => offset,
            (true, None, Some(zone)) => zone.local_offset(local.div_euclid(1_000_000)),
            (true, None, None) => 0,
        };
        let micros = local - i64::from(offset) * 1_000_000;
        if micros < types::TIMESTAMP_MIN {
            return Err(out_of_range().into());
        }
        values.push(Some(micros));
    }
    let out: ArrayRef = match target {
        DataType::Date32 => Arc::new(
            values
                .into_iter()
                .map(|v| v.map(|v| v as i32))
                .collect::<Date32Array>(),
        ),
        DataType::Timestamp(unit, zone) => {
            // Nanoseconds cover only 1677 to 2262: their infinities are
            // their largest and smallest values.
            let scaled = |v: i64| match (v, unit) {
                (types::TIMESTAMP_INFINITY, TimeUnit::Nanosecond) => Some(i64::MAX),
                (types::TIMESTAMP_MINUS_INFINITY, TimeUnit::Nanosecond) => Some(i64::MIN),
                (types::TIMESTAMP_INFINITY | types::TIMESTAMP_MINUS_INFINITY, _) => Some(v),
                (v, TimeUnit::Nanosecond) => v.checked_mul(1_000),
                (v, TimeUnit::Microsecond) => Some(v),
                (v, TimeUnit::Millisecond) => Some(v.div_euclid(1_000)),
                (v, TimeUnit::Second) => Some(v.div_euclid(1_000_000)),
            };
            let values = values
                .into_iter()
                .map(|v| {
                    v.map(|v| {
                        scaled(v).ok_or_else(|| Error::Coded {
                            code: "22008",
                            message: "timestamp out of range".into(),
                        })
                    })
                    .transpose()
                })
                .collect::<Result<Vec<_>, Error>>()?;
            match unit {
                TimeUnit::Nanosecond => {
                    Arc::new(TimestampNanosecondArray::from(values).with_timezone_opt(zone.clone()))
                }
                TimeUnit::Microsecond => Arc::new(
                    TimestampMicrosecondArray::from(values).with_timezone_opt(zone.clone()),
                ),
                TimeUnit::Millisecond => Arc::new(
                    TimestampMillisecondArray::from(values).with_timezone_opt(zone.clone()),
                ),
                TimeUnit::Second => {
                    Arc::new(TimestampSecondArray::from(values).with_timezone_opt(zone.clone()))
                }
            }
        }
        other => {
            return Err(DataFusionError::Internal(format!(
                "timestamp input to {other}"
            )));
        }
    };
    Ok(out)
}

/// Row `i` of a timestamp column in microseconds.
fn micros_of(column: &ArrayRef, i: usize) -> i64 {
    match column.data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            column.as_primitive::<TimestampMicrosecondType>().value(i)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            column.as_primitive::<TimestampNanosecondType>().value(i) / 1_000
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            column.as_primitive::<TimestampMillisecondType>().value(i) * 1_000
        }
        _ => column.as_primitive::<TimestampSecondType>().value(i) * 1_000_000,
    }
}

/// `YYYY-MM-DD HH:MM` (or with `T`), optionally followed by a zone, with
/// `:00` seconds added; None for anything else.
pub(super) fn without_seconds(text: &str) -> Option<String> {
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

/// Text to interval as PostgreSQL reads it ([`crate::interval::parse`]), under the
/// session's IntervalStyle. An optional second argument is a type modifier
/// (`INTERVAL DAY TO HOUR`, `interval(2)`), which also applies to an interval
/// given as the first argument.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct PgIntervalIn {
    signature: Signature,
}

impl Default for PgIntervalIn {
    fn default() -> Self {
        let interval = DataType::Interval(IntervalUnit::MonthDayNano);
        Self {
            signature: Signature::one_of(
                vec![
                    TypeSignature::Exact(vec![DataType::Utf8]),
                    TypeSignature::Exact(vec![DataType::Utf8, DataType::Int32]),
                    TypeSignature::Exact(vec![interval, DataType::Int32]),
                ],
                Volatility::Stable,
            ),
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
        let typmod = match args.args.get(1) {
            Some(ColumnarValue::Scalar(ScalarValue::Int32(Some(t)))) => Typmod::decode(*t),
            Some(_) => {
                return Err(DataFusionError::Plan(
                    "an interval type modifier must be a constant".into(),
                ));
            }
            None => Typmod::default(),
        };
        let style = TextOptions::current(&args.config_options).interval_style();
        let input = args.args[0].to_array(args.number_rows)?;
        let out = if let Some(intervals) = input.as_primitive_opt::<IntervalMonthDayNanoType>() {
            intervals
                .iter()
                .map(|v| {
                    v.map(|v| {
                        let mut value = Interval::from_arrow(v);
                        interval::restrict(&mut value, typmod)?;
                        value.to_arrow()
                    })
                    .transpose()
                })
                .collect::<Result<IntervalMonthDayNanoArray, Error>>()
        } else {
            let input = cast(&input, &DataType::Utf8)?;
            input
                .as_string::<i32>()
                .iter()
                .map(|v| {
                    v.map(|v| interval::parse(v, typmod, style)?.to_arrow())
                        .transpose()
                })
                .collect::<Result<IntervalMonthDayNanoArray, Error>>()
        };
        Ok(ColumnarValue::Array(Arc::new(
            out.map_err(DataFusionError::from)?,
        )))
    }
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
