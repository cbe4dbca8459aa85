//! Casts and the guard for numeric's NaN, Infinity and -Infinity (see
//! `crate::numeric` for how a decimal holds them): [`NumericIn`] reads text,
//! [`NumericCast`] carries them across casts, and [`Finite`] stands in front
//! of every function and operator that would read one's stored digits as a
//! number, refusing it.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, Float32Array, Float64Array,
};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Float32Type, Float64Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::Error;
pub(crate) use crate::numeric::Special;
use crate::numeric::{has_specials, overflow, parse, store};
use crate::types::{DEFAULT_NUMERIC_SCALE, MAX_NUMERIC_PRECISION};

/// Whether the decimal type is the unconstrained `numeric`, the only one
/// PostgreSQL lets hold an infinity.
pub(crate) fn unconstrained(data_type: &DataType) -> bool {
    *data_type == DataType::Decimal128(MAX_NUMERIC_PRECISION, DEFAULT_NUMERIC_SCALE)
}

/// `numeric_in(text, typed NULL)`: a cast of text to numeric. The typed NULL
/// gives the result's precision and scale.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct NumericIn {
    signature: Signature,
}

/// The name of [`NumericIn`].
pub(crate) const NUMERIC_IN: &str = "numeric_in";

impl Default for NumericIn {
    fn default() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for NumericIn {
    fn name(&self) -> &str {
        NUMERIC_IN
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[1].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let to = args.return_field.data_type().clone();
        let DataType::Decimal128(precision, scale) = to else {
            return Err(Error::Internal("numeric_in makes a decimal".into()).into());
        };
        let input = args.args[0].to_array(args.number_rows)?;
        let input = datafusion::arrow::compute::cast(&input, &DataType::Utf8)?;
        let out = input
            .as_string::<i32>()
            .iter()
            .map(|v| {
                v.map(|v| parse(v, precision, scale, unconstrained(&to)))
                    .transpose()
            })
            .collect::<Result<Decimal128Array, Error>>()?
            .with_precision_and_scale(precision, scale)?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// `numeric_cast(value, typed NULL)`: a cast between two decimal types, or
/// between a decimal and a float, that carries NaN and the infinities across
/// (an infinity only into the unconstrained numeric). Finite values are
/// Arrow's cast, refusing what does not fit (22003).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct NumericCast {
    signature: Signature,
}

/// The name of [`NumericCast`].
pub(crate) const NUMERIC_CAST: &str = "numeric_cast";

impl Default for NumericCast {
    fn default() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

/// Whether a cast from `from` to `to` is one [`NumericCast`] makes.
pub(crate) fn cast_carries_specials(from: &DataType, to: &DataType) -> bool {
    use DataType::{Decimal128, Float32, Float64};
    match (from, to) {
        (Decimal128(..), Decimal128(..)) => from != to,
        (Decimal128(..), Float32 | Float64) | (Float32 | Float64, Decimal128(..)) => true,
        _ => false,
    }
}

impl ScalarUDFImpl for NumericCast {
    fn name(&self) -> &str {
        NUMERIC_CAST
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[1].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let to = args.return_field.data_type().clone();
        let scalar = matches!(args.args[0], ColumnarValue::Scalar(_));
        let input = args.args[0].to_array(args.number_rows)?;
        let out = numeric_cast(&input, &to)?;
        Ok(if scalar {
            ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)
        } else {
            ColumnarValue::Array(out)
        })
    }
}

fn numeric_cast(input: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    let plain = |array: &ArrayRef| -> Result<ArrayRef> {
        Ok(
            cast_with_options(array, to, &options).map_err(|e| match to {
                DataType::Decimal128(p, s) => overflow(*p, *s),
                _ => Error::from(datafusion::error::DataFusionError::from(e)),
            })?,
        )
    };
    match (input.data_type(), to) {
        (DataType::Decimal128(precision, _), _) => {
            let precision = *precision;
            let values = input.as_primitive::<Decimal128Type>();
            if !has_specials(values, precision) {
                return plain(input);
            }
            // Cast the finite values (specials as zero), then put the
            // specials back in the target's own form.
            let finite: Decimal128Array = values
                .iter()
                .map(|v| {
                    v.map(|v| {
                        if Special::of(v, precision).is_some() {
                            0
                        } else {
                            v
                        }
                    })
                })
                .collect::<Decimal128Array>()
                .with_data_type(input.data_type().clone());
            let cast = plain(&(Arc::new(finite) as ArrayRef))?;
            let special = |i: usize| {
                (!values.is_null(i))
                    .then(|| Special::of(values.value(i), precision))
                    .flatten()
            };
            Ok(match to {
                DataType::Decimal128(p, s) => {
                    let cast = cast.as_primitive::<Decimal128Type>();
                    let out = (0..cast.len())
                        .map(|i| match special(i) {
                            Some(sp) => store(sp, *p, *s, unconstrained(to)).map(Some),
                            None => Ok(cast.is_valid(i).then(|| cast.value(i))),
                        })
                        .collect::<Result<Decimal128Array, Error>>()?
                        .with_precision_and_scale(*p, *s)?;
                    Arc::new(out)
                }
                DataType::Float64 => {
                    let cast = cast.as_primitive::<Float64Type>();
                    let out: Float64Array = (0..cast.len())
                        .map(|i| match special(i) {
                            Some(sp) => Some(sp.float()),
                            None => cast.is_valid(i).then(|| cast.value(i)),
                        })
                        .collect();
                    Arc::new(out)
                }
                DataType::Float32 => {
                    let cast = cast.as_primitive::<Float32Type>();
                    let out: Float32Array = (0..cast.len())
                        .map(|i| match special(i) {
                            Some(sp) => Some(sp.float() as f32),
                            None => cast.is_valid(i).then(|| cast.value(i)),
                        })
                        .collect();
                    Arc::new(out)
                }
                other => {
                    return Err(Error::Internal(format!("numeric_cast to {other}")).into());
                }
            })
        }
        (DataType::Float32 | DataType::Float64, DataType::Decimal128(p, s)) => {
            let floats = datafusion::arrow::compute::cast(input, &DataType::Float64)?;
            let floats = floats.as_primitive::<Float64Type>();
            if floats
                .iter()
                .all(|v| v.is_none_or(|v| Special::of_float(v).is_none()))
            {
                return plain(input);
            }
            let finite: ArrayRef = Arc::new(
                floats
                    .iter()
                    .map(|v| v.map(|v| if v.is_finite() { v } else { 0.0 }))
                    .collect::<Float64Array>(),
            );
            let cast = plain(&finite)?;
            let cast = cast.as_primitive::<Decimal128Type>();
            let out = (0..cast.len())
                .map(|i| {
                    match floats
                        .is_valid(i)
                        .then(|| Special::of_float(floats.value(i)))
                        .flatten()
                    {
                        Some(sp) => store(sp, *p, *s, unconstrained(to)).map(Some),
                        None => Ok(cast.is_valid(i).then(|| cast.value(i))),
                    }
                })
                .collect::<Result<Decimal128Array, Error>>()?
                .with_precision_and_scale(*p, *s)?;
            Ok(Arc::new(out))
        }
        _ => plain(input),
    }
}

/// Why a [`Finite`] refuses a special value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Refusal {
    /// A cast to this integer type: PostgreSQL's "cannot convert NaN to
    /// integer".
    Integer(&'static str),
    /// An operator or function that does not take them here.
    Function(String),
}

/// `numeric_finite(x)`: `x`, a decimal, unchanged; an error where it is NaN
/// or an infinity. It stands in front of every function and operator that
/// would read such a value's stored digits as a number.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Finite {
    refusal: Refusal,
    signature: Signature,
}

/// The name of [`Finite`].
pub(crate) const FINITE: &str = "numeric_finite";

impl Finite {
    pub(crate) fn new(refusal: Refusal) -> Self {
        Self {
            refusal,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }

    fn refuse(&self, special: Special) -> Error {
        match &self.refusal {
            Refusal::Integer(to) => Error::NumericValueOutOfRange(match special {
                Special::NaN => format!("cannot convert NaN to {to}"),
                _ => format!("cannot convert infinity to {to}"),
            }),
            Refusal::Function(name) => Error::FeatureNotSupported(format!(
                "{name} of numeric {} is not supported",
                special.text()
            )),
        }
    }
}

impl ScalarUDFImpl for Finite {
    fn name(&self) -> &str {
        FINITE
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let value = args.args.into_iter().next().expect("one argument");
        match &value {
            ColumnarValue::Scalar(ScalarValue::Decimal128(Some(v), p, _)) => {
                if let Some(special) = Special::of(*v, *p) {
                    return Err(self.refuse(special).into());
                }
            }
            ColumnarValue::Array(array) => {
                if let DataType::Decimal128(p, _) = *array.data_type() {
                    let values = array.as_primitive::<Decimal128Type>();
                    if has_specials(values, p)
                        && let Some(special) =
                            values.iter().flatten().find_map(|v| Special::of(v, p))
                    {
                        return Err(self.refuse(special).into());
                    }
                }
            }
            ColumnarValue::Scalar(_) => {}
        }
        Ok(value)
    }
}
