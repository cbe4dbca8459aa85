//! Casts and the guard for numeric's NaN, Infinity and -Infinity (see
//! `crate::numeric` for how a decimal holds them): [`NumericIn`] reads text,
//! [`NumericCast`] carries them across casts, and [`Finite`] stands in front
//! of every function and operator that would read one's stored digits as a
//! number, refusing it.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Decimal128Array, Float32Array, Float64Array,
};
use datafusion::arrow::compute::kernels::zip::zip;
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
        let input = args.args[0].to_array(args.number_rows)?;
        super::shaped_like(&args.args[..1], numeric_cast(&input, &to)?)
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

/// An arithmetic operator between numerics, or a function of one numeric
/// that keeps NaN and the infinities as they are (`round`, `trunc`, `ceil`,
/// `floor`), or makes them positive (`abs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Arithmetic {
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
    Keep,
    Abs,
}

/// A decimal value (or none) at row `i` of `value`, with its precision.
fn decimal_at(value: &ArrayRef, i: usize) -> Option<(i128, u8)> {
    let DataType::Decimal128(p, _) = *value.data_type() else {
        return None;
    };
    let values = value.as_primitive::<Decimal128Type>();
    values.is_valid(i).then(|| (values.value(i), p))
}

/// Whether `value` is a decimal array holding NaN or an infinity.
fn any_special(value: &ArrayRef) -> bool {
    match *value.data_type() {
        DataType::Decimal128(p, _) => has_specials(value.as_primitive::<Decimal128Type>(), p),
        _ => false,
    }
}

fn special_at(value: &ArrayRef, i: usize) -> Option<Special> {
    decimal_at(value, i).and_then(|(v, p)| Special::of(v, p))
}

/// -1, 0 or 1: a finite value's sign (of any numeric type).
fn sign_at(value: &ArrayRef, i: usize) -> i32 {
    match decimal_at(value, i) {
        Some((v, _)) => v.signum() as i32,
        None => datafusion::arrow::compute::cast(&value.slice(i, 1), &DataType::Float64)
            .ok()
            .map(|f| {
                let f = f.as_primitive::<Float64Type>().value(0);
                if f > 0.0 {
                    1
                } else if f < 0.0 {
                    -1
                } else {
                    0
                }
            })
            .unwrap_or(0),
    }
}

fn division_by_zero() -> Error {
    Error::DivisionByZero
}

/// PostgreSQL's answer for `a op b` where one of them is NaN or infinite.
fn special_outcome(
    op: Arithmetic,
    a: Option<Special>,
    b: Option<Special>,
    sign_a: i32,
    sign_b: i32,
) -> Result<Special, Error> {
    use Special::{Infinity as Inf, NaN, NegativeInfinity as NegInf};
    if a == Some(NaN) || b == Some(NaN) {
        return Ok(NaN);
    }
    let signed = |positive: bool| if positive { Inf } else { NegInf };
    let sign_of = |s: Special| if s == Inf { 1 } else { -1 };
    Ok(match (op, a, b) {
        (Arithmetic::Keep, Some(x), _) => x,
        (Arithmetic::Abs, Some(_), _) => Inf,
        (Arithmetic::Add, Some(x), Some(y)) => {
            if x == y {
                x
            } else {
                NaN
            }
        }
        (Arithmetic::Add, Some(x), None) | (Arithmetic::Add, None, Some(x)) => x,
        (Arithmetic::Subtract, Some(x), Some(y)) => {
            if x != y {
                x
            } else {
                NaN
            }
        }
        (Arithmetic::Subtract, Some(x), None) => x,
        (Arithmetic::Subtract, None, Some(y)) => signed(y == NegInf),
        (Arithmetic::Multiply, Some(x), Some(y)) => signed(sign_of(x) == sign_of(y)),
        (Arithmetic::Multiply, Some(x), None) => match sign_b {
            0 => NaN,
            s => signed(s == sign_of(x)),
        },
        (Arithmetic::Multiply, None, Some(y)) => match sign_a {
            0 => NaN,
            s => signed(s == sign_of(y)),
        },
        (Arithmetic::Divide, Some(_), Some(_)) => NaN,
        (Arithmetic::Divide, Some(x), None) => match sign_b {
            0 => return Err(division_by_zero()),
            s => signed(s == sign_of(x)),
        },
        (Arithmetic::Modulo, Some(_), _) => match (b, sign_b) {
            (None, 0) => return Err(division_by_zero()),
            _ => NaN,
        },
        // A finite number divided by an infinity is zero, and its remainder
        // is itself: answered by the operator itself, not here.
        (Arithmetic::Divide | Arithmetic::Modulo | Arithmetic::Keep | Arithmetic::Abs, None, _)
        | (_, None, None) => {
            return Err(Error::Internal("no special operand".into()));
        }
    })
}

/// `numeric_mask(x, other)`: `x` with 1 (its smallest unit) wherever `x` or
/// `other` is NaN or an infinity, so that the operator they are given to
/// computes something harmless there; [`NumericPatch`] replaces it with
/// PostgreSQL's answer.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct NumericMask {
    signature: Signature,
}

impl Default for NumericMask {
    fn default() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

/// The name of [`NumericMask`].
pub(crate) const NUMERIC_MASK: &str = "numeric_mask";

impl ScalarUDFImpl for NumericMask {
    fn name(&self) -> &str {
        NUMERIC_MASK
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let value = args.args[0].to_array(args.number_rows)?;
        let other = args.args[1].to_array(args.number_rows)?;
        if !any_special(&value) && !any_special(&other) {
            return Ok(args.args[0].clone());
        }
        let masked: BooleanArray = (0..value.len())
            .map(|i| Some(special_at(&value, i).is_some() || special_at(&other, i).is_some()))
            .collect();
        // The smallest unit of a decimal, 1 of anything else.
        let one = match *value.data_type() {
            DataType::Decimal128(p, s) => ScalarValue::Decimal128(Some(1), p, s),
            ref other => ScalarValue::Int64(Some(1)).cast_to(other)?,
        };
        super::shaped_like(&args.args, zip(&masked, &one.to_scalar()?, &value)?)
    }
}

/// `numeric_patch(a, b, a op b)`: the operator's result computed over
/// [`NumericMask`]ed operands, with PostgreSQL's answer wherever `a` or `b`
/// is NaN or an infinity (`Infinity - Infinity` is NaN, `Infinity / 0`
/// fails with 22012). A finite result too large for its type is 22003: it
/// would otherwise read as one of the special values, or wrap.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct NumericPatch {
    op: Arithmetic,
    signature: Signature,
}

impl NumericPatch {
    pub(crate) fn new(op: Arithmetic) -> Self {
        Self {
            op,
            signature: Signature::any(3, Volatility::Immutable),
        }
    }
}

/// The name of [`NumericPatch`].
pub(crate) const NUMERIC_PATCH: &str = "numeric_patch";

impl ScalarUDFImpl for NumericPatch {
    fn name(&self) -> &str {
        NUMERIC_PATCH
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[2].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let (a, b) = (args.args[0].to_array(rows)?, args.args[1].to_array(rows)?);
        let result = args.args[2].to_array(rows)?;
        let DataType::Decimal128(p, s) = *result.data_type() else {
            return Ok(args.args[2].clone());
        };
        let values = result.as_primitive::<Decimal128Type>();
        let limit = crate::numeric::limit(p);
        // The usual case, all finite: one comparison a row.
        if !any_special(&a) && !any_special(&b) {
            if values.values().iter().any(|v| *v >= limit || *v <= -limit)
                && values
                    .iter()
                    .any(|v| v.is_some_and(|v| v >= limit || v <= -limit))
            {
                return Err(
                    Error::NumericValueOutOfRange("value overflows numeric format".into()).into(),
                );
            }
            return Ok(args.args[2].clone());
        }
        let out = (0..values.len())
            .map(|i| {
                let (sa, sb) = (special_at(&a, i), special_at(&b, i));
                if sa.is_none() && sb.is_none() {
                    if !values.is_valid(i) {
                        return Ok(None);
                    }
                    let v = values.value(i);
                    if v >= limit || v <= -limit {
                        return Err(Error::NumericValueOutOfRange(
                            "value overflows numeric format".into(),
                        ));
                    }
                    return Ok(Some(v));
                }
                if a.is_null(i) || b.is_null(i) {
                    return Ok(None);
                }
                if sa.is_none() && matches!(self.op, Arithmetic::Divide) {
                    return Ok(Some(0));
                }
                if sa.is_none() && matches!(self.op, Arithmetic::Modulo) {
                    let from = match *a.data_type() {
                        DataType::Decimal128(_, from) => from,
                        _ => 0,
                    };
                    let v = decimal_at(&a, i).map_or(0, |(v, _)| v);
                    return rescale(v, from, s).map(Some);
                }
                let special = special_outcome(self.op, sa, sb, sign_at(&a, i), sign_at(&b, i))?;
                Ok(Some(special.stored(p)))
            })
            .collect::<Result<Decimal128Array, Error>>()?
            .with_precision_and_scale(p, s)?;
        super::shaped_like(&args.args, Arc::new(out))
    }
}

/// A decimal's raw value at scale `from` as one at scale `to` (exact; the
/// remainder keeps its dividend's scale or more).
fn rescale(value: i128, from: i8, to: i8) -> Result<i128, Error> {
    let shift = i32::from(to) - i32::from(from);
    let factor = 10i128
        .checked_pow(shift.unsigned_abs())
        .ok_or_else(|| Error::NumericValueOutOfRange("value overflows numeric format".into()))?;
    if shift >= 0 {
        value
            .checked_mul(factor)
            .ok_or_else(|| Error::NumericValueOutOfRange("value overflows numeric format".into()))
    } else {
        Ok(value / factor)
    }
}

/// `-x` of a numeric: the infinities swap, NaN stays NaN.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct NumericNegate {
    signature: Signature,
}

impl Default for NumericNegate {
    fn default() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for NumericNegate {
    fn name(&self) -> &str {
        "numeric_uminus"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let value = args.args[0].to_array(args.number_rows)?;
        let DataType::Decimal128(p, s) = *value.data_type() else {
            return Err(Error::Internal("numeric_uminus takes a numeric".into()).into());
        };
        let out = value
            .as_primitive::<Decimal128Type>()
            .iter()
            .map(|v| {
                v.map(|v| match Special::of(v, p) {
                    Some(Special::NaN) => v,
                    _ => -v,
                })
            })
            .collect::<Decimal128Array>()
            .with_precision_and_scale(p, s)?;
        super::shaped_like(&args.args, Arc::new(out))
    }
}
