//! PostgreSQL's `age`.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike};
use datafusion::arrow::array::{Array, AsArray, IntervalMonthDayNanoArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, IntervalMonthDayNano, IntervalUnit, TimeUnit, TimestampMicrosecondType,
};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};

use crate::error::Error;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
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
