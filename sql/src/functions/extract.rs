//! `EXTRACT(field FROM x)` and `date_part('field', x)` as PostgreSQL 15
//! computes them: EXTRACT gives numeric (seconds with six fraction digits,
//! milliseconds with three), date_part double precision; the fields are
//! PostgreSQL's (`century`, `decade`, `millennium`, `julian`, `isoyear`,
//! `timezone_hour` …), counted its way (there is no year 0; the first century
//! is years 1 to 100), and a field a type has not is 0A000, an unknown one 22023.

use std::sync::Arc;

use crate::zones::Zone;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, Float64Array, PrimitiveArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Field, FieldRef, IntervalMonthDayNanoType, IntervalUnit,
    Time64MicrosecondType, TimeUnit, TimestampMicrosecondType,
};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::Error;
use crate::interval::Interval;
use crate::numeric::Special;
use crate::text_output::TextOptions;

/// The fields PostgreSQL extracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Microseconds,
    Milliseconds,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
    Decade,
    Century,
    Millennium,
    Julian,
    IsoYear,
    Dow,
    IsoDow,
    Doy,
    Timezone,
    TimezoneHour,
    TimezoneMinute,
    Epoch,
    /// A reserved word that is no field (`now`, `today`): never supported.
    Reserved,
}

impl Part {
    /// PostgreSQL's unit words (its interval units, then its date keywords).
    fn named(unit: &str) -> Option<Part> {
        let key = &unit[..unit.len().min(10)];
        Some(match key {
            "us" | "usec" | "usecs" | "usecond" | "useconds" | "microsecon" => Part::Microseconds,
            "ms" | "msec" | "msecs" | "msecond" | "mseconds" | "millisecon" => Part::Milliseconds,
            "s" | "sec" | "secs" | "second" | "seconds" => Part::Second,
            "m" | "min" | "mins" | "minute" | "minutes" => Part::Minute,
            "h" | "hr" | "hrs" | "hour" | "hours" => Part::Hour,
            "d" | "day" | "days" => Part::Day,
            "w" | "week" | "weeks" => Part::Week,
            "mon" | "mons" | "month" | "months" => Part::Month,
            "qtr" | "quarter" => Part::Quarter,
            "y" | "yr" | "yrs" | "year" | "years" => Part::Year,
            "dec" | "decs" | "decade" | "decades" => Part::Decade,
            "c" | "cent" | "century" | "centuries" => Part::Century,
            "mil" | "mils" | "millennia" | "millennium" => Part::Millennium,
            "timezone" => Part::Timezone,
            "timezone_h" => Part::TimezoneHour,
            "timezone_m" => Part::TimezoneMinute,
            "j" | "jd" | "julian" => Part::Julian,
            "isoyear" => Part::IsoYear,
            "dow" => Part::Dow,
            "isodow" => Part::IsoDow,
            "doy" => Part::Doy,
            "epoch" => Part::Epoch,
            "now" | "today" | "tomorrow" | "yesterday" | "infinity" | "allballs" => Part::Reserved,
            _ => return None,
        })
    }
}

/// What is extracted from: PostgreSQL's type of the argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Timestamp,
    TimestampTz,
    Date,
    Time,
    Interval,
}

impl Source {
    fn of(data_type: &DataType) -> Option<Source> {
        Some(match data_type {
            DataType::Timestamp(_, None) => Source::Timestamp,
            DataType::Timestamp(_, Some(_)) => Source::TimestampTz,
            DataType::Date32 | DataType::Date64 => Source::Date,
            DataType::Time32(_) | DataType::Time64(_) => Source::Time,
            DataType::Interval(_) | DataType::Duration(_) => Source::Interval,
            _ => return None,
        })
    }

    fn pg_name(self) -> &'static str {
        match self {
            Source::Timestamp => "timestamp without time zone",
            Source::TimestampTz => "timestamp with time zone",
            Source::Date => "date",
            Source::Time => "time without time zone",
            Source::Interval => "interval",
        }
    }

    /// The fields this type has.
    fn has(self, part: Part) -> bool {
        use Part::*;
        match self {
            Source::Timestamp => {
                !matches!(part, Timezone | TimezoneHour | TimezoneMinute | Reserved)
            }
            Source::TimestampTz => part != Reserved,
            Source::Date => !matches!(
                part,
                Microseconds
                    | Milliseconds
                    | Second
                    | Minute
                    | Hour
                    | Timezone
                    | TimezoneHour
                    | TimezoneMinute
                    | Reserved
            ),
            Source::Time => matches!(
                part,
                Microseconds | Milliseconds | Second | Minute | Hour | Epoch
            ),
            Source::Interval => matches!(
                part,
                Microseconds
                    | Milliseconds
                    | Second
                    | Minute
                    | Hour
                    | Day
                    | Month
                    | Quarter
                    | Year
                    | Decade
                    | Century
                    | Millennium
                    | Epoch
            ),
        }
    }
}

/// The field named by the unit text, or PostgreSQL's error for this type.
fn part_for(unit: &str, source: Source) -> std::result::Result<Part, Error> {
    let unit = unit.to_lowercase();
    let part = Part::named(&unit).ok_or_else(|| {
        Error::InvalidParameterValue(format!(
            "unit \"{unit}\" not recognized for type {}",
            source.pg_name()
        ))
    })?;
    if !source.has(part) {
        return Err(Error::FeatureNotSupported(format!(
            "unit \"{unit}\" not supported for type {}",
            source.pg_name()
        )));
    }
    Ok(part)
}

/// A field's value: microseconds-based ones exactly, as a count of millionths.
#[derive(Debug, Clone, Copy)]
enum Value {
    Integer(i64),
    /// Of `infinity` (true) or `-infinity`.
    Infinite(bool),
    /// A value in millionths (seconds and their fractions; epochs).
    Micros(i128),
    Float(f64),
}

/// The scale of EXTRACT's numeric for a field: seconds and epochs of a time
/// have six digits, milliseconds three.
fn numeric_scale(part: Part, source: Source) -> i8 {
    match (part, source) {
        (Part::Second, _) => 6,
        (Part::Milliseconds, _) => 3,
        (Part::Epoch, Source::Date) => 0,
        (Part::Epoch, _) => 6,
        (Part::Julian, Source::Timestamp | Source::TimestampTz) => 16,
        _ => 0,
    }
}

/// The calendar parts of a date and time of day.
fn from_datetime(part: Part, at: NaiveDateTime, offset_secs: i32) -> Value {
    let date = at.date();
    let year = date.year();
    let micros_of_day =
        i64::from(at.num_seconds_from_midnight()) * 1_000_000 + i64::from(at.nanosecond() / 1_000);
    let second_micros = i128::from(at.second()) * 1_000_000 + i128::from(at.nanosecond() / 1_000);
    let julian_day = i64::from(date.num_days_from_ce()) + 1_721_425;
    let int = |v: i64| Value::Integer(v);
    match part {
        Part::Microseconds => int(second_micros as i64),
        Part::Milliseconds => Value::Micros(second_micros * 1_000),
        Part::Second => Value::Micros(second_micros),
        Part::Minute => int(i64::from(at.minute())),
        Part::Hour => int(i64::from(at.hour())),
        Part::Day => int(i64::from(date.day())),
        Part::Week => int(i64::from(date.iso_week().week())),
        Part::Month => int(i64::from(date.month())),
        Part::Quarter => int(i64::from((date.month() - 1) / 3 + 1)),
        Part::Year => int(i64::from(if year > 0 { year } else { year - 1 })),
        Part::Decade => int(i64::from(if year >= 0 {
            year / 10
        } else {
            -((8 - (year - 1)) / 10)
        })),
        Part::Century => int(i64::from(if year > 0 {
            (year + 99) / 100
        } else {
            -((99 - (year - 1)) / 100)
        })),
        Part::Millennium => int(i64::from(if year > 0 {
            (year + 999) / 1000
        } else {
            -((999 - (year - 1)) / 1000)
        })),
        Part::Julian => Value::Float(julian_day as f64 + micros_of_day as f64 / 86_400e6),
        Part::IsoYear => {
            let iso = date.iso_week().year();
            int(i64::from(if iso <= 0 { iso - 1 } else { iso }))
        }
        Part::Dow => int(i64::from(date.weekday().num_days_from_sunday())),
        Part::IsoDow => int(i64::from(date.weekday().number_from_monday())),
        Part::Doy => int(i64::from(date.ordinal())),
        Part::Timezone => int(i64::from(offset_secs)),
        Part::TimezoneHour => int(i64::from(offset_secs / 3600)),
        Part::TimezoneMinute => int(i64::from(offset_secs / 60 % 60)),
        Part::Epoch | Part::Reserved => int(0),
    }
}

fn from_interval(part: Part, v: Interval) -> Value {
    let years = i64::from(v.months / 12);
    let months = i64::from(v.months % 12);
    let time = v.micros;
    let int = |x: i64| Value::Integer(x);
    match part {
        Part::Microseconds => int(time % 60_000_000),
        Part::Milliseconds => Value::Micros(i128::from(time % 60_000_000) * 1_000),
        Part::Second => Value::Micros(i128::from(time % 60_000_000)),
        Part::Minute => int(time / 60_000_000 % 60),
        Part::Hour => int(time / 3_600_000_000),
        Part::Day => int(i64::from(v.days)),
        Part::Month => int(months),
        Part::Quarter => int(months / 3 + 1),
        Part::Year => int(years),
        Part::Decade => int(years / 10),
        Part::Century => int(years / 100),
        Part::Millennium => int(years / 1000),
        Part::Epoch => {
            // A year is 365.25 days, a month 30.
            let quarter_days = 1461 * years + 120 * months + 4 * i64::from(v.days);
            Value::Micros(i128::from(quarter_days) * 21_600_000_000 + i128::from(time))
        }
        _ => int(0),
    }
}

/// `date_part` (double precision) and `extract` (numeric).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct DatePart {
    numeric: bool,
    signature: Signature,
}

impl DatePart {
    pub(crate) fn new(numeric: bool) -> Self {
        DatePart {
            numeric,
            signature: Signature::any(2, Volatility::Stable),
        }
    }
}

fn unit_of(arg: Option<&ScalarValue>) -> Option<String> {
    match arg? {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
        | ScalarValue::LargeUtf8(Some(s)) => Some(s.clone()),
        _ => None,
    }
}

/// The source type of the second argument; text reads as a timestamp.
fn source_of(data_type: &DataType) -> Result<Source> {
    match data_type {
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null => {
            Ok(Source::Timestamp)
        }
        other => Source::of(other).ok_or_else(|| {
            DataFusionError::Plan(format!(
                "function date_part(unknown, {}) does not exist",
                super::type_name(crate::types::pg_oid_for_arrow(other))
            ))
        }),
    }
}

impl ScalarUDFImpl for DatePart {
    fn name(&self) -> &str {
        if self.numeric { "extract" } else { "date_part" }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let source = source_of(args.arg_fields[1].data_type())?;
        let data_type = if self.numeric {
            let unit = unit_of(args.scalar_arguments.first().copied().flatten());
            let scale = match unit.map(|u| part_for(&u, source)) {
                Some(Ok(part)) => numeric_scale(part, source),
                Some(Err(e)) => return Err(e.into()),
                None => 6,
            };
            DataType::Decimal128(38, scale)
        } else {
            DataType::Float64
        };
        Ok(Arc::new(Field::new(self.name(), data_type, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let units = cast(&args.args[0].to_array(rows)?, &DataType::Utf8)?;
        let units = units.as_string::<i32>();
        let input = args.args[1].to_array(rows)?;
        let source = source_of(input.data_type())?;
        // date_part of a date is that of midnight (PostgreSQL casts it).
        let (input, source) = match (source, self.numeric) {
            (Source::Date, false) | (Source::Timestamp, _)
                if !matches!(
                    input.data_type(),
                    DataType::Timestamp(TimeUnit::Microsecond, None)
                ) =>
            {
                let micros = DataType::Timestamp(TimeUnit::Microsecond, None);
                let input = crate::types::timestamp_micros(&input)?;
                (cast(&input, &micros)?, Source::Timestamp)
            }
            (Source::Date, true) => (cast(&input, &DataType::Date32)?, source),
            (Source::TimestampTz, _) => {
                let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
                (
                    cast(&crate::types::timestamp_micros(&input)?, &utc)?,
                    source,
                )
            }
            (Source::Time, _) => (
                cast(&input, &DataType::Time64(TimeUnit::Microsecond))?,
                source,
            ),
            (Source::Interval, _) => (
                cast(&input, &DataType::Interval(IntervalUnit::MonthDayNano))?,
                source,
            ),
            _ => (input, source),
        };
        let zone = TextOptions::current(&args.config_options).zone();
        let mut values = Vec::with_capacity(rows);
        for i in 0..rows {
            if units.is_null(i) || input.is_null(i) {
                values.push(None);
                continue;
            }
            let part = part_for(units.value(i), source)?;
            if let Some(positive) = infinite(&input, i, source) {
                // PostgreSQL: the fields that grow with time are themselves
                // infinite, the others NULL.
                values.push(
                    matches!(
                        part,
                        Part::Year
                            | Part::Decade
                            | Part::Century
                            | Part::Millennium
                            | Part::Julian
                            | Part::IsoYear
                            | Part::Epoch
                    )
                    .then_some(Value::Infinite(positive)),
                );
                continue;
            }
            values.push(Some(value_at(&input, i, source, part, zone.as_ref())?));
        }
        let out: ArrayRef = match args.return_field.data_type() {
            DataType::Decimal128(_, scale) => Arc::new(to_numeric(&values, *scale)?),
            _ => Arc::new(
                values
                    .iter()
                    .map(|v| v.map(to_float))
                    .collect::<Float64Array>(),
            ),
        };
        Ok(ColumnarValue::Array(out))
    }
}

/// Whether row `i` is `infinity` (true) or `-infinity` (false).
fn infinite(input: &ArrayRef, i: usize, source: Source) -> Option<bool> {
    match source {
        Source::Timestamp | Source::TimestampTz => {
            match input.as_primitive::<TimestampMicrosecondType>().value(i) {
                crate::types::TIMESTAMP_INFINITY => Some(true),
                crate::types::TIMESTAMP_MINUS_INFINITY => Some(false),
                _ => None,
            }
        }
        Source::Date => match input.as_primitive::<Date32Type>().value(i) {
            crate::types::DATE_INFINITY => Some(true),
            crate::types::DATE_MINUS_INFINITY => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn value_at(
    input: &ArrayRef,
    i: usize,
    source: Source,
    part: Part,
    zone: Option<&Zone>,
) -> Result<Value> {
    let out_of_range = || {
        DataFusionError::from(Error::Coded {
            code: "22008",
            message: "timestamp out of range".into(),
        })
    };
    Ok(match source {
        Source::Timestamp | Source::TimestampTz => {
            let micros = input.as_primitive::<TimestampMicrosecondType>().value(i);
            let utc = DateTime::<Utc>::from_timestamp_micros(micros).ok_or_else(out_of_range)?;
            if part == Part::Epoch {
                return Ok(Value::Micros(i128::from(micros)));
            }
            let (local, offset) = match (source, zone) {
                (Source::TimestampTz, Some(zone)) => {
                    let offset = zone.offset_at(utc.timestamp());
                    let shift = chrono::Duration::seconds(i64::from(offset));
                    (utc.naive_utc() + shift, offset)
                }
                _ => (utc.naive_utc(), 0),
            };
            from_datetime(part, local, offset)
        }
        Source::Date => {
            let days = input.as_primitive::<Date32Type>().value(i);
            if part == Part::Epoch {
                return Ok(Value::Integer(i64::from(days) * 86_400));
            }
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
            let date = epoch
                .checked_add_signed(chrono::Duration::days(i64::from(days)))
                .ok_or_else(out_of_range)?;
            match from_datetime(part, date.and_hms_opt(0, 0, 0).expect("midnight"), 0) {
                Value::Float(julian) => Value::Integer(julian as i64),
                other => other,
            }
        }
        Source::Time => {
            let micros = input.as_primitive::<Time64MicrosecondType>().value(i);
            match part {
                Part::Epoch => Value::Micros(i128::from(micros)),
                Part::Hour => Value::Integer(micros / 3_600_000_000),
                Part::Minute => Value::Integer(micros / 60_000_000 % 60),
                Part::Second => Value::Micros(i128::from(micros % 60_000_000)),
                Part::Milliseconds => Value::Micros(i128::from(micros % 60_000_000) * 1_000),
                _ => Value::Integer(micros % 60_000_000),
            }
        }
        Source::Interval => {
            let v = input.as_primitive::<IntervalMonthDayNanoType>().value(i);
            from_interval(part, Interval::from_arrow(v))
        }
    })
}

fn to_float(v: Value) -> f64 {
    match v {
        Value::Integer(i) => i as f64,
        Value::Micros(m) => m as f64 / 1e6,
        Value::Float(f) => f,
        Value::Infinite(true) => f64::INFINITY,
        Value::Infinite(false) => f64::NEG_INFINITY,
    }
}

fn to_numeric(values: &[Option<Value>], scale: i8) -> Result<Decimal128Array> {
    let unit = 10i128.pow(u32::from(scale.unsigned_abs()));
    let out: PrimitiveArray<_> = values
        .iter()
        .map(|v| {
            v.map(|v| match v {
                Value::Integer(i) => i128::from(i) * unit,
                // Millionths to the scale (6 for seconds, 3 for milliseconds'
                // thousandths of a thousandth).
                Value::Micros(m) if scale >= 6 => m * 10i128.pow(u32::from(scale as u8 - 6)),
                Value::Micros(m) => m / 10i128.pow(u32::from(6 - scale as u8)),
                Value::Float(f) => (f * unit as f64).round() as i128,
                Value::Infinite(true) => Special::Infinity.stored(38),
                Value::Infinite(false) => Special::NegativeInfinity.stored(38),
            })
        })
        .collect::<Decimal128Array>();
    Ok(out.with_precision_and_scale(38, scale)?)
}
