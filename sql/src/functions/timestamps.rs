//! Timestamps and intervals as PostgreSQL makes them: `now()` in
//! microseconds, an infinity moved by an interval staying infinite,
//! `isfinite` and `make_interval`.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::Error;
use crate::text_output::TextOptions;

/// `now()` and `current_timestamp`: the statement's start, in microseconds
/// as PostgreSQL keeps timestamps (DataFusion's is in nanoseconds, which hold
/// only 1677 to 2262, so comparing it with a column of older or infinite
/// timestamps failed).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Now {
    signature: Signature,
    aliases: Vec<String>,
    zone: Option<Arc<str>>,
}

impl Now {
    pub(crate) fn new(config: &datafusion::common::config::ConfigOptions) -> Self {
        Self {
            signature: Signature::nullary(Volatility::Stable),
            aliases: vec!["current_timestamp".into(), "transaction_timestamp".into()],
            zone: config.execution.time_zone.as_deref().map(Arc::from),
        }
    }
}

impl ScalarUDFImpl for Now {
    fn name(&self) -> &str {
        "now"
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn with_updated_config(
        &self,
        config: &datafusion::common::config::ConfigOptions,
    ) -> Option<ScalarUDF> {
        Some(ScalarUDF::new_from_impl(Now::new(config)))
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(
            TimeUnit::Microsecond,
            self.zone.clone(),
        ))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let now = TextOptions::current(&args.config_options).now();
        Ok(ColumnarValue::Scalar(ScalarValue::TimestampMicrosecond(
            Some(now.timestamp_micros()),
            self.zone.clone(),
        )))
    }

    fn simplify(
        &self,
        args: Vec<datafusion::logical_expr::Expr>,
        info: &datafusion::logical_expr::simplify::SimplifyContext,
    ) -> Result<datafusion::logical_expr::simplify::ExprSimplifyResult> {
        use datafusion::logical_expr::simplify::ExprSimplifyResult;
        let options = TextOptions::current(info.config_options());
        let start = match (options.transaction_start, info.query_execution_start_time()) {
            (0, Some(start)) => start,
            (0, None) => return Ok(ExprSimplifyResult::Original(args)),
            _ => options.now(),
        };
        Ok(ExprSimplifyResult::Simplified(
            datafusion::logical_expr::Expr::Literal(
                ScalarValue::TimestampMicrosecond(
                    Some(start.timestamp_micros()),
                    self.zone.clone(),
                ),
                None,
            ),
        ))
    }
}

/// `timestamp ± interval` where the timestamp may be `infinity` or
/// `-infinity`: those stay as they are, as in PostgreSQL; the others move by
/// the interval as DataFusion moves them.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct TimestampShift {
    subtract: bool,
    signature: Signature,
}

impl TimestampShift {
    pub(crate) fn new(subtract: bool) -> Self {
        Self {
            subtract,
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for TimestampShift {
    fn name(&self) -> &str {
        if self.subtract {
            "pg_timestamp_minus_interval"
        } else {
            "pg_timestamp_plus_interval"
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::array::{ArrayRef, TimestampMicrosecondArray};
        use datafusion::arrow::compute::kernels::numeric::{add, sub};
        let rows = args.number_rows;
        let timestamps = args.args[0].to_array(rows)?;
        let DataType::Timestamp(TimeUnit::Microsecond, zone) = timestamps.data_type().clone()
        else {
            let moved = match self.subtract {
                true => sub(&timestamps, &args.args[1].to_array(rows)?)?,
                false => add(&timestamps, &args.args[1].to_array(rows)?)?,
            };
            return super::shaped_like(&args.args, moved);
        };
        let micros = timestamps.as_primitive::<TimestampMicrosecondType>();
        let infinite = |v: i64| {
            v == crate::types::TIMESTAMP_INFINITY || v == crate::types::TIMESTAMP_MINUS_INFINITY
        };
        // The infinities are moved from 0 and put back after.
        let finite: TimestampMicrosecondArray = micros
            .iter()
            .map(|v| v.map(|v| if infinite(v) { 0 } else { v }))
            .collect::<TimestampMicrosecondArray>()
            .with_timezone_opt(zone.clone());
        let interval = args.args[1].to_array(rows)?;
        let moved = match self.subtract {
            true => sub(&finite, &interval)?,
            false => add(&finite, &interval)?,
        };
        let moved = moved.as_primitive::<TimestampMicrosecondType>();
        let out: ArrayRef = Arc::new(
            micros
                .iter()
                .zip(moved.iter())
                .map(|(before, after)| match before {
                    Some(v) if infinite(v) => after.map(|_| v),
                    _ => after,
                })
                .collect::<TimestampMicrosecondArray>()
                .with_timezone_opt(zone),
        );
        super::shaped_like(&args.args, out)
    }
}

/// `isfinite(date | timestamp | timestamptz | interval)`: false for
/// `infinity` and `-infinity`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct IsFinite {
    signature: Signature,
}

impl Default for IsFinite {
    fn default() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for IsFinite {
    fn name(&self) -> &str {
        "isfinite"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match &args[0] {
            DataType::Date32 | DataType::Timestamp(_, _) | DataType::Interval(_) => {
                Ok(DataType::Boolean)
            }
            other => Err(Error::UndefinedFunction(format!(
                "function isfinite({}) does not exist",
                super::type_name(crate::types::pg_oid_for_arrow(other))
            ))
            .into()),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let values = args.args[0].to_array(args.number_rows)?;
        let out: datafusion::arrow::array::BooleanArray = match values.data_type() {
            DataType::Interval(_) => (0..values.len())
                .map(|i| values.is_valid(i).then_some(true))
                .collect(),
            _ => crate::types::timestamp_micros(&values)?
                .as_primitive::<TimestampMicrosecondType>()
                .iter()
                .map(|v| {
                    v.map(|v| {
                        v != crate::types::TIMESTAMP_INFINITY
                            && v != crate::types::TIMESTAMP_MINUS_INFINITY
                    })
                })
                .collect(),
        };
        super::shaped_like(&args.args, Arc::new(out))
    }
}

/// `make_interval(years, months, weeks, days, hours, mins, secs)` (the
/// statement rewrite puts named arguments in place and the missing ones at
/// 0): an interval out of PostgreSQL's range, or of infinite or NaN
/// seconds, is 22008.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct MakeInterval {
    signature: Signature,
}

impl Default for MakeInterval {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// Six integer fields and the seconds in double precision.
fn interval_fields() -> Vec<DataType> {
    let mut fields = vec![DataType::Int32; 6];
    fields.push(DataType::Float64);
    fields
}

impl ScalarUDFImpl for MakeInterval {
    fn name(&self) -> &str {
        "make_interval"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args.len() {
            7 => Ok(interval_fields()),
            n => Err(Error::UndefinedFunction(format!(
                "function make_interval() does not exist with {n} arguments"
            ))
            .into()),
        }
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Interval(
            datafusion::arrow::datatypes::IntervalUnit::MonthDayNano,
        ))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::array::IntervalMonthDayNanoArray;
        use datafusion::arrow::datatypes::{Float64Type, Int32Type};
        let rows = args.number_rows;
        let arrays = super::argument_arrays(&args)?;
        let out_of_range = || Error::Coded {
            code: "22008",
            message: "interval out of range".into(),
        };
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            if arrays.iter().any(|a| a.is_null(i)) {
                out.push(None);
                continue;
            }
            let field = |k: usize| i64::from(arrays[k].as_primitive::<Int32Type>().value(i));
            let seconds = arrays[6].as_primitive::<Float64Type>().value(i);
            let months = i32::try_from(field(0) * 12 + field(1)).map_err(|_| out_of_range())?;
            let days = i32::try_from(field(2) * 7 + field(3)).map_err(|_| out_of_range())?;
            let micros = (field(4) as f64 * 3600.0 + field(5) as f64 * 60.0 + seconds) * 1e6;
            if !micros.is_finite() || micros.abs() >= 9.223_372_036_854_776e18 {
                return Err(out_of_range().into());
            }
            let value = crate::interval::Interval {
                months,
                days,
                micros: micros.round() as i64,
            };
            out.push(Some(value.to_arrow()?));
        }
        super::shaped_like(&args.args, Arc::new(IntervalMonthDayNanoArray::from(out)))
    }
}

/// `date_bin(stride, source, origin)`: the start of the stride-wide bin,
/// counted from `origin`, that holds `source`, as PostgreSQL bins: the stride
/// is days and time only (0A000 for months or years) and positive (22008),
/// an infinite source stays as it is, an infinite origin is 22008.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct DateBin {
    signature: Signature,
}

impl Default for DateBin {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

fn out_of_range(what: &str) -> crate::error::Error {
    crate::error::Error::Coded {
        code: "22008",
        message: format!("{what} out of range"),
    }
}

/// One bin's start, in microseconds; `stride` as (months, days, nanoseconds).
fn bin(stride: (i32, i32, i64), source: i64, origin: i64) -> Result<i64, crate::error::Error> {
    use crate::types::{TIMESTAMP_INFINITY, TIMESTAMP_MINUS_INFINITY};
    let (months, days, nanos) = stride;
    if months != 0 {
        return Err(crate::error::Error::FeatureNotSupported(
            "timestamps cannot be binned into intervals containing months or years".into(),
        ));
    }
    let stride = i64::from(days)
        .checked_mul(86_400_000_000)
        .and_then(|d| d.checked_add(nanos / 1_000))
        .ok_or_else(|| out_of_range("interval"))?;
    if stride <= 0 {
        return Err(crate::error::Error::Coded {
            code: "22008",
            message: "stride must be greater than zero".into(),
        });
    }
    if source == TIMESTAMP_INFINITY || source == TIMESTAMP_MINUS_INFINITY {
        return Ok(source);
    }
    if origin == TIMESTAMP_INFINITY || origin == TIMESTAMP_MINUS_INFINITY {
        return Err(out_of_range("origin"));
    }
    let diff = source
        .checked_sub(origin)
        .ok_or_else(|| out_of_range("interval"))?;
    let modulo = diff % stride;
    let start = origin + (diff - modulo);
    // Towards minus infinity, where the source precedes the origin.
    let start = if modulo < 0 { start - stride } else { start };
    if start < crate::types::TIMESTAMP_MIN {
        return Err(out_of_range("timestamp"));
    }
    Ok(start)
}

impl ScalarUDFImpl for DateBin {
    fn name(&self) -> &str {
        "date_bin"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if args.len() != 3 {
            return Err(super::undefined_function(self.name(), args));
        }
        let zoned = args[1..]
            .iter()
            .any(|t| matches!(t, DataType::Timestamp(_, Some(_))));
        let timestamp = DataType::Timestamp(TimeUnit::Microsecond, zoned.then(|| Arc::from("UTC")));
        Ok(vec![
            DataType::Interval(datafusion::arrow::datatypes::IntervalUnit::MonthDayNano),
            timestamp.clone(),
            timestamp,
        ])
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[1].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::array::TimestampMicrosecondArray;
        use datafusion::arrow::datatypes::IntervalMonthDayNanoType;
        let columns = super::argument_arrays(&args)?;
        let strides = columns[0].as_primitive::<IntervalMonthDayNanoType>();
        let sources = columns[1].as_primitive::<TimestampMicrosecondType>();
        let origins = columns[2].as_primitive::<TimestampMicrosecondType>();
        let mut out = Vec::with_capacity(args.number_rows);
        for row in 0..args.number_rows {
            if strides.is_null(row) || sources.is_null(row) || origins.is_null(row) {
                out.push(None);
                continue;
            }
            let s = strides.value(row);
            let start = bin(
                (s.months, s.days, s.nanoseconds),
                sources.value(row),
                origins.value(row),
            )?;
            out.push(Some(start));
        }
        let zone = match args.return_field.data_type() {
            DataType::Timestamp(_, zone) => zone.clone(),
            _ => None,
        };
        let out = TimestampMicrosecondArray::from(out).with_timezone_opt(zone);
        super::shaped_like(&args.args, Arc::new(out))
    }
}
