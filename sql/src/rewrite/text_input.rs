//! PostgreSQL's input syntax for bytea, timestamps and intervals, as the
//! functions [`super::TextInput`] puts where text is cast to those types.

use super::*;

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
        Ok(ColumnarValue::Array(read_datetimes(
            &input, &target, order,
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
        let now = chrono::Utc::now();
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
/// values it cannot are read by [`datetime_input`] and handed to Arrow again
/// in ISO form; a value neither reads is an error (22007, or 22008 when a
/// field is out of range).
fn read_datetimes(
    input: &ArrayRef,
    target: &DataType,
    order: datetime_input::DateOrder,
) -> DfResult<ArrayRef> {
    use datafusion::arrow::compute::{CastOptions, cast_with_options};
    let lenient = CastOptions {
        safe: true,
        ..Default::default()
    };
    let read = cast_with_options(input, target, &lenient)?;
    if read.null_count() == input.null_count() {
        return Ok(read);
    }
    let text = input.as_string::<i32>();
    let now = chrono::Utc::now();
    let zoned = matches!(target, DataType::Timestamp(_, Some(_)));
    let mut iso = Vec::with_capacity(text.len());
    for i in 0..text.len() {
        if text.is_null(i) || !read.is_null(i) {
            iso.push(text.is_valid(i).then(|| text.value(i).to_string()));
            continue;
        }
        let value = text.value(i);
        let parsed = datetime_input::parse(value, order, now).map_err(|e| match e {
            Error::InvalidDatetime(_) => Error::InvalidDatetime(format!(
                "invalid input syntax for type {}: \"{value}\"",
                if *target == DataType::Date32 {
                    "date"
                } else if zoned {
                    "timestamp with time zone"
                } else {
                    "timestamp"
                }
            )),
            other => other,
        })?;
        let mut out = parsed.date.format("%Y-%m-%d").to_string();
        if *target != DataType::Date32 {
            let micros = parsed.time;
            out.push_str(&format!(
                "T{:02}:{:02}:{:02}.{:06}",
                micros / 3_600_000_000,
                micros / 60_000_000 % 60,
                micros / 1_000_000 % 60,
                micros % 1_000_000
            ));
            // A timestamp without time zone ignores a zone in its text.
            if let (true, Some(offset)) = (zoned, parsed.offset) {
                let sign = if offset < 0 { '-' } else { '+' };
                let offset = offset.abs();
                out.push_str(&format!(
                    "{sign}{:02}:{:02}",
                    offset / 3600,
                    offset / 60 % 60
                ));
            }
        }
        iso.push(Some(out));
    }
    let iso: ArrayRef = Arc::new(iso.into_iter().collect::<StringArray>());
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    Ok(cast_with_options(&iso, target, &strict)?)
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
