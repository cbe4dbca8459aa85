//! Timestamps as PostgreSQL keeps them: `now()` in microseconds, an
//! infinity moved by an interval staying infinite, and `isfinite`.

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
