//! PostgreSQL's `div` and `width_bucket`.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, Int32Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int64Type};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::Error;

/// The scale an argument has as a numeric: a decimal's own, 0 for integers,
/// and 15 for floats (double precision's significant digits).
fn numeric_scale(data_type: &DataType) -> Option<i8> {
    match data_type {
        DataType::Decimal128(_, s) | DataType::Decimal256(_, s) => Some(*s),
        t if t.is_integer() || t.is_null() => Some(0),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => Some(15),
        _ => None,
    }
}

/// `div(a, b)`: the integral quotient of two numerics, truncated toward zero,
/// as a numeric of scale 0 (`div(7, 2)` is `3`, `div(-7, 2)` is `-3`).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Div {
    signature: Signature,
}

impl Default for Div {
    fn default() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Div {
    fn name(&self) -> &str {
        "div"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        for arg in args {
            if numeric_scale(arg).is_none() {
                return Err(super::plan_err(format!(
                    "function div({}, numeric) does not exist",
                    super::type_name(crate::types::pg_oid_for_arrow(arg))
                )));
            }
        }
        Ok(DataType::Decimal128(38, 0))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        // Both operands at one scale, so that their integers divide directly.
        let scale = args
            .arg_fields
            .iter()
            .filter_map(|f| numeric_scale(f.data_type()))
            .max()
            .unwrap_or(0)
            .max(0);
        let common = DataType::Decimal128(38, scale);
        let a = cast(&args.args[0].to_array(rows)?, &common)?;
        let b = cast(&args.args[1].to_array(rows)?, &common)?;
        let (a, b) = (
            a.as_primitive::<Decimal128Type>(),
            b.as_primitive::<Decimal128Type>(),
        );
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            if a.is_null(i) || b.is_null(i) {
                out.push(None);
                continue;
            }
            if b.value(i) == 0 {
                return Err(Error::DivisionByZero.into());
            }
            // i128 division truncates toward zero, as PostgreSQL's div does.
            out.push(Some(a.value(i) / b.value(i)));
        }
        let out = Decimal128Array::from(out).with_precision_and_scale(38, 0)?;
        Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
    }
}

/// `width_bucket(operand, low, high, count)`: which of `count` equal-width
/// buckets between `low` and `high` holds the operand; 0 below the range and
/// `count + 1` above it. A `high` below `low` numbers the buckets downward.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct WidthBucket {
    signature: Signature,
}

impl Default for WidthBucket {
    fn default() -> Self {
        Self {
            signature: Signature::any(4, Volatility::Immutable),
        }
    }
}

/// PostgreSQL's SQLSTATE for width_bucket's invalid arguments.
const INVALID_ARGUMENT_FOR_WIDTH_BUCKET: &str = "2201G";

fn width_bucket(operand: f64, low: f64, high: f64, count: i64) -> Result<i32, Error> {
    let invalid = |message: &str| Error::Coded {
        code: INVALID_ARGUMENT_FOR_WIDTH_BUCKET,
        message: message.into(),
    };
    if count <= 0 || count > i64::from(i32::MAX) {
        return Err(invalid("count must be greater than zero"));
    }
    if operand.is_nan() || low.is_nan() || high.is_nan() {
        return Err(invalid(
            "operand, lower bound, and upper bound cannot be NaN",
        ));
    }
    if !low.is_finite() || !high.is_finite() {
        return Err(invalid("lower and upper bounds must be finite"));
    }
    let count_f = count as f64;
    let bucket = if low < high {
        if operand < low {
            0
        } else if operand >= high {
            count + 1
        } else {
            // The quotient may round up to count; that would be a lie.
            ((count_f * ((operand - low) / (high - low))) as i64).min(count - 1) + 1
        }
    } else if low > high {
        if operand > low {
            0
        } else if operand <= high {
            count + 1
        } else {
            ((count_f * ((low - operand) / (low - high))) as i64).min(count - 1) + 1
        }
    } else {
        return Err(invalid("lower bound cannot equal upper bound"));
    };
    i32::try_from(bucket).map_err(|_| Error::NumericValueOutOfRange("integer out of range".into()))
}

impl ScalarUDFImpl for WidthBucket {
    fn name(&self) -> &str {
        "width_bucket"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let numeric = args.iter().all(|a| numeric_scale(a).is_some());
        if !numeric || !(args[3].is_integer() || args[3].is_null()) {
            return Err(super::plan_err(
                "function width_bucket does not exist for these argument types".into(),
            ));
        }
        Ok(DataType::Int32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let float = |i: usize| -> Result<ArrayRef> {
            Ok(cast(&args.args[i].to_array(rows)?, &DataType::Float64)?)
        };
        let (operand, low, high) = (float(0)?, float(1)?, float(2)?);
        let count = cast(&args.args[3].to_array(rows)?, &DataType::Int64)?;
        let (operand, low, high, count) = (
            operand.as_primitive::<Float64Type>(),
            low.as_primitive::<Float64Type>(),
            high.as_primitive::<Float64Type>(),
            count.as_primitive::<Int64Type>(),
        );
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            if operand.is_null(i) || low.is_null(i) || high.is_null(i) || count.is_null(i) {
                out.push(None);
                continue;
            }
            out.push(Some(width_bucket(
                operand.value(i),
                low.value(i),
                high.value(i),
                count.value(i),
            )?));
        }
        Ok(ColumnarValue::Array(Arc::new(Int32Array::from(out))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_postgresql() {
        assert_eq!(width_bucket(5.0, 0.0, 10.0, 4).unwrap(), 3);
        assert_eq!(width_bucket(-1.0, 0.0, 10.0, 4).unwrap(), 0);
        assert_eq!(width_bucket(10.0, 0.0, 10.0, 4).unwrap(), 5);
        assert_eq!(width_bucket(5.5, 10.0, 0.0, 4).unwrap(), 2);
        assert!(width_bucket(1.0, 1.0, 1.0, 4).is_err());
        assert!(width_bucket(1.0, 0.0, 2.0, 0).is_err());
    }
}
