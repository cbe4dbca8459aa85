//! Timestamps read in a time zone: `AT TIME ZONE` (the `timezone` function),
//! `make_timestamp` and `make_timestamptz`, and the moves between a
//! timestamptz and the wall-clock time of a zone that `date_trunc` and
//! `to_char` make.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int32Array, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, IntervalUnit, TimeUnit, TimestampMicrosecondType};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::Error;
use crate::interval::Interval;
use crate::text_output::TextOptions;
use crate::types::{TIMESTAMP_INFINITY, TIMESTAMP_MINUS_INFINITY};
use crate::zones::{self, Zone};

const MICROS: i64 = 1_000_000;

pub(crate) fn is_infinite(micros: i64) -> bool {
    micros == TIMESTAMP_INFINITY || micros == TIMESTAMP_MINUS_INFINITY
}

/// The wall-clock time in `zone` of an instant (microseconds since 1970).
pub(crate) fn local_of(zone: &Zone, utc: i64) -> i64 {
    if is_infinite(utc) {
        return utc;
    }
    utc + i64::from(zone.offset_at(utc.div_euclid(MICROS))) * MICROS
}

/// The instant a wall-clock time in `zone` names.
pub(crate) fn utc_of(zone: &Zone, local: i64) -> i64 {
    if is_infinite(local) {
        return local;
    }
    local - i64::from(zone.local_offset(local.div_euclid(MICROS))) * MICROS
}

/// The zone an argument names; an interval is a fixed offset of its hours,
/// minutes and seconds.
fn zone_of(values: &ArrayRef, i: usize) -> Result<Zone> {
    match values.data_type() {
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            let value = Interval::from_arrow(
                values
                    .as_primitive::<datafusion::arrow::datatypes::IntervalMonthDayNanoType>()
                    .value(i),
            );
            if value.months != 0 || value.days != 0 {
                return Err(Error::InvalidParameterValue(format!(
                    "interval time zone \"{}\" must not include months or days",
                    crate::interval::format(value, Default::default())
                ))
                .into());
            }
            Ok(Zone::Fixed((value.micros / MICROS) as i32))
        }
        _ => {
            let spec = values.as_string::<i32>().value(i);
            Zone::named(spec)
                .ok_or_else(|| Error::InvalidParameterValue(zones::not_recognized(spec)).into())
        }
    }
}

/// `timezone(zone, t)`, which `t AT TIME ZONE zone` becomes: a timestamptz
/// as the wall-clock time of the zone (a timestamp), or a timestamp read as
/// the zone's wall-clock time (a timestamptz). Text is read as a timestamptz,
/// as PostgreSQL resolves an unknown literal here.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct TimezoneOf {
    signature: Signature,
}

impl Default for TimezoneOf {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Stable),
        }
    }
}

fn timestamptz() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

impl ScalarUDFImpl for TimezoneOf {
    fn name(&self) -> &str {
        "timezone"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [zone, value] = args else {
            return Err(Error::UndefinedFunction(
                "function timezone() takes a zone and a timestamp".into(),
            )
            .into());
        };
        let zone = match zone {
            DataType::Interval(_) => DataType::Interval(IntervalUnit::MonthDayNano),
            _ => DataType::Utf8,
        };
        let value = match value {
            DataType::Timestamp(_, None) => DataType::Timestamp(TimeUnit::Microsecond, None),
            DataType::Timestamp(_, Some(_))
            | DataType::Utf8
            | DataType::Utf8View
            | DataType::LargeUtf8
            | DataType::Null
            | DataType::Date32 => timestamptz(),
            other => {
                return Err(Error::UndefinedFunction(format!(
                    "function timezone(unknown, {}) does not exist",
                    super::type_name(crate::types::pg_oid_for_arrow(other))
                ))
                .into());
            }
        };
        Ok(vec![zone, value])
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match &args[1] {
            DataType::Timestamp(_, None) => timestamptz(),
            _ => DataType::Timestamp(TimeUnit::Microsecond, None),
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let zones = args.args[0].to_array(rows)?;
        let values = args.args[1].to_array(rows)?;
        let to_local = matches!(values.data_type(), DataType::Timestamp(_, Some(_)));
        let values = values.as_primitive::<TimestampMicrosecondType>();
        let scalar_zone = match &args.args[0] {
            ColumnarValue::Scalar(z) if !z.is_null() => Some(zone_of(&zones, 0)?),
            _ => None,
        };
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            if values.is_null(i) || zones.is_null(i) {
                out.push(None);
                continue;
            }
            let zone = match &scalar_zone {
                Some(zone) => zone.clone(),
                None => zone_of(&zones, i)?,
            };
            out.push(Some(match to_local {
                true => local_of(&zone, values.value(i)),
                false => utc_of(&zone, values.value(i)),
            }));
        }
        let out = TimestampMicrosecondArray::from(out);
        let out = match to_local {
            true => out,
            false => out.with_timezone("UTC"),
        };
        super::shaped_like(&args.args, Arc::new(out))
    }
}

/// `make_timestamp(year, month, day, hour, min, sec)` and
/// `make_timestamptz(…, [zone])`: a negative year is BC; the timestamptz is
/// read in the zone given, else the session's.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct MakeTimestamp {
    zoned: bool,
    signature: Signature,
}

impl MakeTimestamp {
    pub(crate) fn new(zoned: bool) -> Self {
        Self {
            zoned,
            signature: Signature::user_defined(Volatility::Stable),
        }
    }
}

impl ScalarUDFImpl for MakeTimestamp {
    fn name(&self) -> &str {
        if self.zoned {
            "make_timestamptz"
        } else {
            "make_timestamp"
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let arity = if self.zoned { 6..=7 } else { 6..=6 };
        if !arity.contains(&args.len()) {
            return Err(Error::UndefinedFunction(format!(
                "function {}() does not exist with {} arguments",
                self.name(),
                args.len()
            ))
            .into());
        }
        Ok((0..args.len())
            .map(|i| match i {
                0..=4 => DataType::Int32,
                5 => DataType::Float64,
                _ => DataType::Utf8,
            })
            .collect())
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(match self.zoned {
            true => timestamptz(),
            false => DataType::Timestamp(TimeUnit::Microsecond, None),
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = super::argument_arrays(&args)?;
        let field = |k: usize| arrays[k].as_any().downcast_ref::<Int32Array>();
        let seconds = arrays[5].as_any().downcast_ref::<Float64Array>();
        let zones = arrays
            .get(6)
            .map(|a| a.as_any().downcast_ref::<StringArray>());
        let (Some(seconds), Some(Some(_)) | None) = (seconds, zones) else {
            return Err(Error::Internal("make_timestamp arguments".into()).into());
        };
        let zones = zones.flatten();
        let session = TextOptions::current(&args.config_options)
            .zone()
            .unwrap_or(zones::UTC);
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            let fields: Option<Vec<i32>> = (0..5)
                .map(|k| field(k).filter(|a| a.is_valid(i)).map(|a| a.value(i)))
                .collect();
            let (Some(f), true, true) = (
                fields,
                seconds.is_valid(i),
                zones.is_none_or(|z| z.is_valid(i)),
            ) else {
                out.push(None);
                continue;
            };
            let local = wall_clock(f[0], f[1], f[2], f[3], f[4], seconds.value(i))?;
            out.push(Some(match (self.zoned, zones) {
                (false, _) => local,
                (true, Some(z)) => utc_of(&Zone::sane(z.value(i))?, local),
                (true, None) => utc_of(&session, local),
            }));
        }
        let out = TimestampMicrosecondArray::from(out);
        let out = match self.zoned {
            true => out.with_timezone("UTC"),
            false => out,
        };
        super::shaped_like(&args.args, Arc::new(out))
    }
}

/// Microseconds since 1970 of a wall-clock reading, or 22008.
fn wall_clock(year: i32, month: i32, day: i32, hour: i32, minute: i32, sec: f64) -> Result<i64> {
    let date = match year {
        0 => None,
        // There is no year 0: -1 is 1 BC, which chrono counts as year 0.
        y if y < 0 => chrono::NaiveDate::from_ymd_opt(y + 1, month as u32, day as u32),
        y => chrono::NaiveDate::from_ymd_opt(y, month as u32, day as u32),
    };
    let Some(date) = date.filter(|_| month > 0 && day > 0) else {
        return Err(Error::Coded {
            code: "22008",
            message: format!("date field value out of range: {year}-{month:02}-{day:02}"),
        }
        .into());
    };
    let micros = (sec * 1e6).round();
    let valid = (0..=24).contains(&hour)
        && (0..60).contains(&minute)
        && (0.0..=60e6).contains(&micros)
        && (hour < 24 || (minute == 0 && micros == 0.0));
    if !valid {
        return Err(Error::Coded {
            code: "22008",
            message: format!("time field value out of range: {hour}:{minute:02}:{sec:02}"),
        }
        .into());
    }
    let days = (date - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date")).num_days();
    Ok(days * 86_400 * MICROS
        + i64::from(hour) * 3_600 * MICROS
        + i64::from(minute) * 60 * MICROS
        + micros as i64)
}
