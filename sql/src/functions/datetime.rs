//! PostgreSQL's `age`, `justify_hours`, `justify_days` and
//! `justify_interval`, interval × number and interval ÷ number
//! ([`IntervalScale`]), and `date_trunc` of a date ([`PgDateTrunc`]).

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, IntervalMonthDayNanoArray, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Float64Type, IntervalMonthDayNano, IntervalMonthDayNanoType, IntervalUnit, TimeUnit,
    TimestampMicrosecondType,
};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};

use crate::error::Error;
use crate::text_output::TextOptions;
use crate::zones::{self, Zone};

/// `age(a, b)`: `a - b` in years, months and days, the way a person counts
/// age (`age('2024-05-17', '2020-01-01')` is `4 years 4 mons 16 days`);
/// `age(a)` counts from midnight today. Timestamps with a time zone are
/// counted in UTC.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Age {
    signature: Signature,
}

impl Default for Age {
    fn default() -> Self {
        Self {
            signature: Signature::one_of(
                vec![TypeSignature::Any(1), TypeSignature::Any(2)],
                Volatility::Stable,
            ),
        }
    }
}

const MICROS: DataType = DataType::Timestamp(TimeUnit::Microsecond, None);

/// PostgreSQL's timestamp_age: the field-wise difference, borrowing from the
/// next larger field, a month borrowing the length of the month it stands in.
fn age(later: NaiveDateTime, earlier: NaiveDateTime) -> IntervalMonthDayNano {
    let days_in_month = |t: &NaiveDateTime| -> i64 {
        let (y, m) = (t.year(), t.month());
        let next = if m == 12 {
            chrono::NaiveDate::from_ymd_opt(y + 1, 1, 1)
        } else {
            chrono::NaiveDate::from_ymd_opt(y, m + 1, 1)
        };
        let first = chrono::NaiveDate::from_ymd_opt(y, m, 1);
        match (next, first) {
            (Some(next), Some(first)) => (next - first).num_days(),
            _ => 30,
        }
    };
    let field = |t: &NaiveDateTime| {
        [
            i64::from(t.and_utc().timestamp_subsec_micros()),
            i64::from(t.second()),
            i64::from(t.minute()),
            i64::from(t.hour()),
            i64::from(t.day()),
            i64::from(t.month()),
            i64::from(t.year()),
        ]
    };
    let (a, b) = (field(&later), field(&earlier));
    let mut d: Vec<i64> = a.iter().zip(b.iter()).map(|(x, y)| x - y).collect();
    let backwards = later < earlier;
    if backwards {
        d.iter_mut().for_each(|v| *v = -*v);
    }
    // Carry negative fields up: micros, seconds, minutes, hours.
    for (i, base) in [(0, 1_000_000), (1, 60), (2, 60), (3, 24)] {
        while d[i] < 0 {
            d[i] += base;
            d[i + 1] -= 1;
        }
    }
    while d[4] < 0 {
        // The month the borrowed days come from: the earlier value's.
        d[4] += days_in_month(if backwards { &later } else { &earlier });
        d[5] -= 1;
    }
    while d[5] < 0 {
        d[5] += 12;
        d[6] -= 1;
    }
    if backwards {
        d.iter_mut().for_each(|v| *v = -*v);
    }
    let micros = ((d[3] * 60 + d[2]) * 60 + d[1]) * 1_000_000 + d[0];
    IntervalMonthDayNano::new((d[6] * 12 + d[5]) as i32, d[4] as i32, micros * 1_000)
}

impl ScalarUDFImpl for Age {
    fn name(&self) -> &str {
        "age"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        for arg in args {
            if !matches!(
                arg,
                DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 | DataType::Null
            ) {
                return Err(super::plan_err(format!(
                    "function age({}) does not exist",
                    super::type_name(crate::types::pg_oid_for_arrow(arg))
                )));
            }
        }
        Ok(DataType::Interval(IntervalUnit::MonthDayNano))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let timestamps = |i: usize| -> Result<_> {
            let values = args.args[i].to_array(rows)?;
            let values = match values.data_type() {
                // Drop the zone: the instant, read in UTC.
                DataType::Timestamp(unit, Some(_)) => {
                    cast(&values, &DataType::Timestamp(*unit, None))?
                }
                _ => values,
            };
            Ok(cast(&values, &MICROS)?)
        };
        let later = timestamps(0)?;
        let later = later.as_primitive::<TimestampMicrosecondType>();
        let midnight = chrono::Utc::now()
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists");
        let earlier = if args.args.len() == 2 {
            Some(timestamps(1)?)
        } else {
            None
        };
        let earlier = earlier
            .as_ref()
            .map(|e| e.as_primitive::<TimestampMicrosecondType>());
        let out_of_range = || Error::InvalidDatetime("timestamp out of range".into());
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            let (from, to) = match earlier {
                // age(a, b) is a − b.
                Some(earlier) => {
                    if later.is_null(i) || earlier.is_null(i) {
                        out.push(None);
                        continue;
                    }
                    (later.value(i), earlier.value(i))
                }
                // age(a) is midnight today − a.
                None => {
                    if later.is_null(i) {
                        out.push(None);
                        continue;
                    }
                    (midnight.and_utc().timestamp_micros(), later.value(i))
                }
            };
            let at = |micros: i64| {
                DateTime::from_timestamp_micros(micros)
                    .map(|t| t.naive_utc())
                    .ok_or_else(out_of_range)
            };
            out.push(Some(age(at(from)?, at(to)?)));
        }
        Ok(ColumnarValue::Array(Arc::new(
            IntervalMonthDayNanoArray::from(out),
        )))
    }
}

const MICROS_PER_DAY: i64 = 86_400_000_000;
const DAYS_PER_MONTH: i64 = 30;

/// Which justify function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Justify {
    /// Whole days of the time part become days.
    Hours,
    /// Whole 30-day months of the day part become months.
    Days,
    /// Both, with the signs of the parts made to agree.
    Interval,
}

/// `justify_hours`, `justify_days` and `justify_interval`, as PostgreSQL
/// computes them (`timestamp − timestamp` is justified by hours).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct JustifyFunction {
    kind: Justify,
    signature: Signature,
}

impl JustifyFunction {
    pub(crate) fn new(kind: Justify) -> Self {
        Self {
            kind,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

fn justify(kind: Justify, value: IntervalMonthDayNano) -> Result<IntervalMonthDayNano> {
    let (mut months, mut days, mut micros) = (
        i64::from(value.months),
        i64::from(value.days),
        value.nanoseconds / 1_000,
    );
    let sub_micro = value.nanoseconds % 1_000;
    if kind != Justify::Days {
        days += micros / MICROS_PER_DAY;
        micros %= MICROS_PER_DAY;
    }
    if kind != Justify::Hours {
        months += days / DAYS_PER_MONTH;
        days %= DAYS_PER_MONTH;
        let time_sign = if kind == Justify::Interval && days == 0 {
            micros.signum()
        } else {
            0
        };
        if months > 0 && (days < 0 || time_sign < 0) {
            days += DAYS_PER_MONTH;
            months -= 1;
        } else if months < 0 && (days > 0 || time_sign > 0) {
            days -= DAYS_PER_MONTH;
            months += 1;
        }
    }
    if kind != Justify::Days {
        if days > 0 && micros < 0 {
            micros += MICROS_PER_DAY;
            days -= 1;
        } else if days < 0 && micros > 0 {
            micros -= MICROS_PER_DAY;
            days += 1;
        }
    }
    let out_of_range = || {
        datafusion::error::DataFusionError::from(crate::error::Error::Coded {
            code: "22008",
            message: "interval out of range".into(),
        })
    };
    Ok(IntervalMonthDayNano::new(
        i32::try_from(months).map_err(|_| out_of_range())?,
        i32::try_from(days).map_err(|_| out_of_range())?,
        micros * 1_000 + sub_micro,
    ))
}

/// The intervals of an argument, whatever interval or duration type it has.
fn intervals(value: &ColumnarValue, rows: usize) -> Result<IntervalMonthDayNanoArray> {
    let values = cast(&value.to_array(rows)?, &INTERVAL)?;
    Ok(values.as_primitive::<IntervalMonthDayNanoType>().clone())
}

const INTERVAL: DataType = DataType::Interval(IntervalUnit::MonthDayNano);

impl ScalarUDFImpl for JustifyFunction {
    fn name(&self) -> &str {
        match self.kind {
            Justify::Hours => "justify_hours",
            Justify::Days => "justify_days",
            Justify::Interval => "justify_interval",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(INTERVAL)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let values = intervals(&args.args[0], args.number_rows)?;
        let out: IntervalMonthDayNanoArray = values
            .iter()
            .map(|v| v.map(|v| justify(self.kind, v)).transpose())
            .collect::<Result<_>>()?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// The name of [`IntervalScale`] multiplying.
pub(crate) const INTERVAL_MUL: &str = "interval_mul";
/// The name of [`IntervalScale`] dividing.
pub(crate) const INTERVAL_DIV: &str = "interval_div";

/// `interval * number` (and `number * interval`) and `interval / number`:
/// each part scaled, fractions of months and days cascading down into days
/// and time (a month is 30 days), as PostgreSQL's interval_mul and
/// interval_div do.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct IntervalScale {
    divide: bool,
    signature: Signature,
}

impl IntervalScale {
    pub(crate) fn multiply() -> Self {
        Self {
            divide: false,
            signature: Signature::any(2, Volatility::Immutable),
        }
    }

    pub(crate) fn divide() -> Self {
        Self {
            divide: true,
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

/// PostgreSQL's TSROUND: to the microsecond's precision.
fn ts_round(value: f64) -> f64 {
    (value * 1e6).round_ties_even() / 1e6
}

fn scale_interval(
    value: IntervalMonthDayNano,
    apply: impl Fn(f64) -> f64,
) -> Result<IntervalMonthDayNano, Error> {
    let out_of_range = || Error::Coded {
        code: "22008",
        message: "interval out of range".into(),
    };
    let fits = |v: f64| !v.is_nan() && v >= f64::from(i32::MIN) && v <= f64::from(i32::MAX);
    let months = apply(f64::from(value.months));
    let days = apply(f64::from(value.days));
    if !fits(months) || !fits(days) {
        return Err(out_of_range());
    }
    let (whole_months, mut whole_days) = (months.trunc(), days.trunc());
    let month_remainder_days = ts_round((months - whole_months) * DAYS_PER_MONTH as f64);
    let mut seconds = ts_round(
        (days - whole_days + month_remainder_days - month_remainder_days.trunc()) * 86_400.0,
    );
    if seconds.abs() >= 86_400.0 {
        whole_days += (seconds / 86_400.0).trunc();
        seconds -= (seconds / 86_400.0).trunc() * 86_400.0;
    }
    whole_days += month_remainder_days.trunc();
    let micros = (apply(value.nanoseconds as f64 / 1_000.0) + seconds * 1e6).round_ties_even();
    if !fits(whole_days) || micros.is_nan() || micros.abs() > 9.2e18 {
        return Err(out_of_range());
    }
    Ok(IntervalMonthDayNano::new(
        whole_months as i32,
        whole_days as i32,
        micros as i64 * 1_000,
    ))
}

impl ScalarUDFImpl for IntervalScale {
    fn name(&self) -> &str {
        if self.divide {
            INTERVAL_DIV
        } else {
            INTERVAL_MUL
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(INTERVAL)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        // The interval is either argument of a product.
        let interval_first = matches!(args.args[0].data_type(), DataType::Interval(_))
            || matches!(args.args[0].data_type(), DataType::Duration(_));
        let (interval, factor) = if interval_first {
            (&args.args[0], &args.args[1])
        } else {
            (&args.args[1], &args.args[0])
        };
        let values = intervals(interval, rows)?;
        let factors = cast(&factor.to_array(rows)?, &DataType::Float64)?;
        let factors = factors.as_primitive::<Float64Type>();
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            if values.is_null(i) || factors.is_null(i) {
                out.push(None);
                continue;
            }
            let factor = factors.value(i);
            let scaled = if self.divide {
                if factor == 0.0 {
                    return Err(Error::DivisionByZero.into());
                }
                scale_interval(values.value(i), |v| v / factor)?
            } else {
                scale_interval(values.value(i), |v| v * factor)?
            };
            out.push(Some(scaled));
        }
        Ok(ColumnarValue::Array(Arc::new(
            IntervalMonthDayNanoArray::from(out),
        )))
    }
}

/// `date_trunc(field, date)` truncates the date as a timestamp with time
/// zone, as PostgreSQL resolves it (date → timestamptz is its preferred
/// cast), so the result is a timestamptz; DataFusion's gives a timestamp.
/// `decade`, `century` and `millennium`, which DataFusion lacks, are
/// PostgreSQL's; everything else is DataFusion's date_trunc.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct PgDateTrunc {
    inner: Arc<datafusion::logical_expr::ScalarUDF>,
    signature: Signature,
}

impl PgDateTrunc {
    pub(super) fn new(inner: Arc<datafusion::logical_expr::ScalarUDF>) -> Self {
        use datafusion::common::types::{NativeType, logical_date, logical_string};
        use datafusion::logical_expr::{Coercion, TypeSignatureClass};
        let text = || Coercion::new_exact(TypeSignatureClass::Native(logical_string()));
        let timestamp_from = |source, target| {
            Coercion::new_implicit(TypeSignatureClass::Timestamp, vec![source], target)
        };
        let signature = Signature::one_of(
            vec![
                // A date becomes Enishi's timestamptz (microseconds, UTC).
                TypeSignature::Coercible(vec![
                    text(),
                    timestamp_from(
                        TypeSignatureClass::Native(logical_date()),
                        NativeType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                    ),
                ]),
                TypeSignature::Coercible(vec![
                    text(),
                    timestamp_from(
                        TypeSignatureClass::Native(logical_string()),
                        NativeType::Timestamp(TimeUnit::Microsecond, None),
                    ),
                ]),
                TypeSignature::Coercible(vec![
                    text(),
                    Coercion::new_exact(TypeSignatureClass::Time),
                ]),
                // date_trunc(field, timestamptz, zone).
                TypeSignature::Coercible(vec![
                    text(),
                    timestamp_from(
                        TypeSignatureClass::Native(logical_string()),
                        NativeType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                    ),
                    text(),
                ]),
            ],
            Volatility::Immutable,
        );
        Self { inner, signature }
    }
}

impl ScalarUDFImpl for PgDateTrunc {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        self.inner.return_type(&args[..2])
    }

    fn return_field_from_args(
        &self,
        args: datafusion::logical_expr::ReturnFieldArgs,
    ) -> Result<datafusion::arrow::datatypes::FieldRef> {
        let fields = &args.arg_fields[..2];
        let scalars = &args.scalar_arguments[..2];
        self.inner
            .return_field_from_args(datafusion::logical_expr::ReturnFieldArgs {
                arg_fields: fields,
                scalar_arguments: scalars,
            })
    }

    /// A timestamptz is truncated on the wall clock of the zone given, else
    /// the session's: `date_trunc('day', t)` is the local midnight.
    fn invoke_with_args(&self, mut args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::datatypes::Field;
        let zoned = matches!(args.args[1].data_type(), DataType::Timestamp(_, Some(_)));
        let zone = match args.args.get(2) {
            Some(ColumnarValue::Scalar(spec)) => match spec.try_as_str().flatten() {
                Some(spec) => Some(match Zone::named(spec) {
                    Some(Zone::Abbreviation { region, .. }) => Zone::Region(region),
                    Some(zone) => zone,
                    None => {
                        return Err(
                            Error::InvalidParameterValue(zones::not_recognized(spec)).into()
                        );
                    }
                }),
                None => return Ok(ColumnarValue::Scalar(ScalarValue::Null)),
            },
            Some(_) => {
                return Err(Error::Coded {
                    code: "0A000",
                    message: "date_trunc with a zone that differs by row".into(),
                }
                .into());
            }
            None if zoned => TextOptions::current(&args.config_options).zone(),
            None => None,
        };
        let Some(zone) = zone.filter(|_| zoned) else {
            args.args.truncate(2);
            args.arg_fields.truncate(2);
            return self.truncate(args);
        };
        let input = crate::types::timestamp_micros(&args.args[1].to_array(args.number_rows)?)?;
        let local: TimestampMicrosecondArray = input
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .map(|v| v.map(|v| super::zoned::local_of(&zone, v)))
            .collect();
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let wall_clock = DataType::Timestamp(TimeUnit::Microsecond, None);
        args.args.truncate(2);
        args.arg_fields.truncate(2);
        args.args[1] = ColumnarValue::Array(Arc::new(local));
        args.arg_fields[1] = Arc::new(Field::new("t", wall_clock.clone(), true));
        args.return_field = Arc::new(Field::new("date_trunc", wall_clock, true));
        let truncated = self.truncate(args)?.to_array(input.len())?;
        let out: TimestampMicrosecondArray = truncated
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .map(|v| v.map(|v| super::zoned::utc_of(&zone, v)))
            .collect();
        let out: ArrayRef = Arc::new(out.with_timezone("UTC"));
        Ok(match scalar {
            true => ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?),
            false => ColumnarValue::Array(out),
        })
    }
}

impl PgDateTrunc {
    /// Truncation on the clock the values are in.
    fn truncate(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let unit = match &args.args[0] {
            ColumnarValue::Scalar(unit) => match unit.try_as_str() {
                Some(Some(unit)) => unit.to_ascii_lowercase(),
                _ => return self.inner.invoke_with_args(args),
            },
            _ => return self.inner.invoke_with_args(args),
        };
        if !matches!(unit.as_str(), "decade" | "century" | "millennium") {
            return self.inner.invoke_with_args(args);
        }
        // The first year of the decade, century or millennium as PostgreSQL
        // counts them (centuries start at year 1; there is no year 0 between
        // 1 BC and 1 AD), in UTC; the infinities stay.
        let inputs = args.args;
        let input = crate::types::timestamp_micros(&inputs[1].to_array(args.number_rows)?)?;
        let DataType::Timestamp(TimeUnit::Microsecond, zone) = input.data_type().clone() else {
            return Err(Error::Coded {
                code: "0A000",
                message: format!("date_trunc('{unit}') of {}", input.data_type()),
            }
            .into());
        };
        let first = |year: i32| -> i32 {
            match unit.as_str() {
                "decade" if year > 0 => year / 10 * 10,
                "decade" => -((8 - (year - 1)) / 10) * 10,
                "century" if year > 0 => (year + 99) / 100 * 100 - 99,
                "century" => -((99 - (year - 1)) / 100) * 100 + 1,
                _ if year > 0 => (year + 999) / 1000 * 1000 - 999,
                _ => -((999 - (year - 1)) / 1000) * 1000 + 1,
            }
        };
        let out: datafusion::arrow::array::TimestampMicrosecondArray = input
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .map(|original| {
                let original = original?;
                if original == crate::types::TIMESTAMP_INFINITY
                    || original == crate::types::TIMESTAMP_MINUS_INFINITY
                {
                    return Some(original);
                }
                let at = DateTime::from_timestamp_micros(original)?.naive_utc();
                let start = chrono::NaiveDate::from_ymd_opt(first(at.year()), 1, 1)?;
                Some(start.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros())
            })
            .collect();
        super::shaped_like(&inputs, Arc::new(out.with_timezone_opt(zone)))
    }
}

/// `pg_sleep(seconds)`: waits, then returns void (an empty value of type
/// void, as PostgreSQL shows it). The wait leaves its worker thread to the
/// other sessions' tasks.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct PgSleep {
    signature: Signature,
}

impl Default for PgSleep {
    fn default() -> Self {
        Self {
            signature: Signature::exact(vec![DataType::Float64], Volatility::Volatile),
        }
    }
}

impl ScalarUDFImpl for PgSleep {
    fn name(&self) -> &str {
        "pg_sleep"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(
        &self,
        _args: datafusion::logical_expr::ReturnFieldArgs,
    ) -> Result<datafusion::arrow::datatypes::FieldRef> {
        let metadata = [(
            crate::types::PG_TYPE_OID_KEY.to_string(),
            crate::types::oid::VOID.to_string(),
        )];
        Ok(Arc::new(
            datafusion::arrow::datatypes::Field::new(self.name(), DataType::Utf8, true)
                .with_metadata(metadata.into_iter().collect()),
        ))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let seconds = args.args[0].to_array(args.number_rows)?;
        let seconds = seconds.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
        let total: f64 = seconds.iter().flatten().filter(|s| *s > 0.0).sum();
        if total > 0.0 {
            let wait = std::time::Duration::from_secs_f64(total.min(1e9));
            let multi_thread = tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
            if multi_thread {
                tokio::task::block_in_place(|| std::thread::sleep(wait));
            } else {
                std::thread::sleep(wait);
            }
        }
        let out: datafusion::arrow::array::StringArray =
            seconds.iter().map(|s| s.map(|_| "")).collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn intervals_scale_and_justify_like_postgresql() {
        let day = IntervalMonthDayNano::new(0, 1, 0);
        assert_eq!(
            scale_interval(day, |v| v * 3.0).unwrap(),
            IntervalMonthDayNano::new(0, 3, 0)
        );
        // 1 month / 2 is 15 days; 1 day / 3 is 8 hours.
        assert_eq!(
            scale_interval(IntervalMonthDayNano::new(1, 0, 0), |v| v / 2.0).unwrap(),
            IntervalMonthDayNano::new(0, 15, 0)
        );
        assert_eq!(
            scale_interval(day, |v| v / 3.0).unwrap(),
            IntervalMonthDayNano::new(0, 0, 8 * 3_600_000_000_000)
        );
        let hours = IntervalMonthDayNano::new(0, 0, 91_800_000_000_000);
        assert_eq!(
            justify(Justify::Hours, hours).unwrap(),
            IntervalMonthDayNano::new(0, 1, 5_400_000_000_000)
        );
        assert_eq!(
            justify(Justify::Interval, IntervalMonthDayNano::new(1, -1, 0)).unwrap(),
            IntervalMonthDayNano::new(0, 29, 0)
        );
    }

    #[test]
    fn age_counts_like_postgresql() {
        assert_eq!(
            age(at("2024-05-17 00:00:00"), at("2020-01-01 00:00:00")),
            IntervalMonthDayNano::new(52, 16, 0)
        );
        assert_eq!(
            age(at("2020-01-01 00:00:00"), at("2024-05-17 10:00:00")),
            IntervalMonthDayNano::new(-52, -16, -36_000_000_000_000)
        );
        assert_eq!(
            age(at("2024-03-01 00:00:00"), at("2024-01-31 00:00:00")),
            IntervalMonthDayNano::new(1, 1, 0)
        );
    }
}
