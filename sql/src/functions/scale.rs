//! `scale`, `min_scale` and `trim_scale` of a numeric: the digits after its
//! point as shown, the fewest that hold it exactly, and the value with no
//! trailing zeros after the point. NaN and the infinities have no scale
//! (NULL), and `trim_scale` keeps them.
//!
//! A numeric column here has one scale for all its values, so `trim_scale`
//! of a constant has the trimmed scale, and of a column the scale of its
//! widest-trimmed value is not known in advance: the column keeps its type.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, Int32Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::numeric::Special;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Which {
    Scale,
    MinScale,
    TrimScale,
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Scale {
    which: Which,
    signature: Signature,
}

impl Scale {
    pub(super) fn new(which: Which) -> Self {
        Self {
            which,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// The fewest digits after the point that hold `value` (of scale `scale`)
/// exactly.
fn min_scale(value: i128, scale: i8) -> i8 {
    if value == 0 || scale <= 0 {
        return 0;
    }
    let mut digits = scale;
    let mut v = value;
    while digits > 0 && v % 10 == 0 {
        v /= 10;
        digits -= 1;
    }
    digits
}

/// A constant numeric argument's value, precision and scale.
fn constant(value: Option<&ScalarValue>) -> Option<(i128, u8, i8)> {
    match value? {
        ScalarValue::Decimal128(Some(v), p, s) => Some((*v, *p, *s)),
        _ => None,
    }
}

impl ScalarUDFImpl for Scale {
    fn name(&self) -> &str {
        match self.which {
            Which::Scale => "scale",
            Which::MinScale => "min_scale",
            Which::TrimScale => "trim_scale",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// numeric, or an integer read as one (scale 0).
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [DataType::Decimal128(..)] => Ok(args.to_vec()),
            [t] if t.is_integer() || matches!(t, DataType::Null | DataType::Utf8) => {
                Ok(vec![DataType::Decimal128(38, 0)])
            }
            _ => Err(super::undefined_function(self.name(), args)),
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match self.which {
            Which::TrimScale => args[0].clone(),
            _ => DataType::Int32,
        })
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let data_type = match (self.which, constant(args.scalar_arguments[0])) {
            (Which::TrimScale, Some((v, p, s))) if Special::of(v, p).is_none() => {
                let trimmed = min_scale(v, s).min(s);
                let precision = p.saturating_sub(s.saturating_sub(trimmed).max(0) as u8);
                DataType::Decimal128(precision.max(1), trimmed.max(s.min(0)))
            }
            _ => self.return_type(&[args.arg_fields[0].data_type().clone()])?,
        };
        Ok(Arc::new(Field::new(self.name(), data_type, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        let DataType::Decimal128(precision, scale) = *input.data_type() else {
            return Err(super::undefined_function(
                self.name(),
                &[input.data_type().clone()],
            ));
        };
        let values = input.as_primitive::<Decimal128Type>();
        let finite = |i: usize| {
            (!values.is_null(i) && Special::of(values.value(i), precision).is_none())
                .then(|| values.value(i))
        };
        let out: ArrayRef = match self.which {
            Which::Scale => Arc::new(
                (0..values.len())
                    .map(|i| finite(i).map(|_| i32::from(scale.max(0))))
                    .collect::<Int32Array>(),
            ),
            Which::MinScale => Arc::new(
                (0..values.len())
                    .map(|i| finite(i).map(|v| i32::from(min_scale(v, scale))))
                    .collect::<Int32Array>(),
            ),
            Which::TrimScale => {
                let DataType::Decimal128(to_precision, to_scale) = *args.return_field.data_type()
                else {
                    return Ok(ColumnarValue::Array(input));
                };
                if (to_precision, to_scale) == (precision, scale) {
                    input.clone()
                } else {
                    // A constant, trimmed: specials keep their meaning at
                    // the new precision, the rest lose only zeros.
                    let special = (0..values.len()).find_map(|i| {
                        (!values.is_null(i))
                            .then(|| Special::of(values.value(i), precision))
                            .flatten()
                    });
                    match special {
                        Some(s) => Arc::new(
                            Decimal128Array::from(vec![s.stored(to_precision)])
                                .with_precision_and_scale(to_precision, to_scale)?,
                        ),
                        None => cast(&input, &DataType::Decimal128(to_precision, to_scale))?,
                    }
                }
            }
        };
        super::shaped_like(&args.args, out)
    }
}
