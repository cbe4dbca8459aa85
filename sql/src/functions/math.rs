//! PostgreSQL's `div` and `width_bucket`, numeric division with
//! PostgreSQL's result scale ([`NumericDiv`]), and DataFusion's math
//! functions with PostgreSQL's checks ([`Checked`]).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, Int32Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Field, FieldRef, Float64Type, Int64Type, i256,
};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
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

/// DataFusion's math functions that PostgreSQL checks where DataFusion gives
/// -Infinity, NaN or Infinity, or rounds otherwise.
pub(crate) const CHECKED: [&str; 13] = [
    "ln", "log", "log10", "exp", "power", "sqrt", "cosh", "sinh", "round", "asin", "acos", "acosh",
    "atanh",
];

/// One of [`CHECKED`] with PostgreSQL's behaviour, the rest DataFusion's:
/// `ln`, `log` and `log10` refuse zero and negative numbers (2201E); `exp`,
/// `power`, `sqrt`, `cosh` and `sinh` of floats fail as PostgreSQL's do
/// ([`super::float::check_arguments`], [`super::float::check_result`]);
/// `round(x)` of a float rounds half to even, as `rint` does.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Checked {
    inner: Arc<datafusion::logical_expr::ScalarUDF>,
    /// The inner function's, applied in `coerce_types` after text
    /// arguments are resolved.
    signature: Signature,
}

impl Checked {
    pub(crate) fn new(inner: Arc<datafusion::logical_expr::ScalarUDF>) -> Self {
        let signature = Signature::user_defined(inner.signature().volatility);
        Self { inner, signature }
    }
}

/// PostgreSQL's SQLSTATE for the logarithm of zero or a negative number.
const INVALID_ARGUMENT_FOR_LOGARITHM: &str = "2201E";

fn check_logarithm(args: &[ColumnarValue], rows: usize) -> Result<()> {
    for arg in args {
        let values = cast(&arg.to_array(rows)?, &DataType::Float64)?;
        let values = values.as_primitive::<Float64Type>();
        if let Some(v) = values.iter().flatten().find(|v| *v <= 0.0) {
            let what = if v == 0.0 {
                "zero"
            } else {
                "a negative number"
            };
            return Err(Error::Coded {
                code: INVALID_ARGUMENT_FOR_LOGARITHM,
                message: format!("cannot take logarithm of {what}"),
            }
            .into());
        }
    }
    Ok(())
}

impl ScalarUDFImpl for Checked {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// A text literal beside a number is read as that number's type, as
    /// PostgreSQL resolves an unknown argument (`x ^ '2.0'`).
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let text =
            |t: &DataType| matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8);
        let resolved: Vec<DataType> = match args.iter().find(|t| t.is_numeric()) {
            Some(number) => args
                .iter()
                .map(|t| if text(t) { number.clone() } else { t.clone() })
                .collect(),
            None => args.to_vec(),
        };
        super::coerced_for(&self.inner, &resolved)
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        self.inner.return_type(args)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        match (self.inner.name(), args.args.as_slice()) {
            ("round", [value]) => {
                if let Some(out) = super::float::round_even(&value.to_array(rows)?) {
                    return super::shaped_like(std::slice::from_ref(value), out);
                }
                self.inner.invoke_with_args(args)
            }
            ("ln" | "log" | "log10", _) => {
                check_logarithm(&args.args, rows)?;
                self.inner.invoke_with_args(args)
            }
            (name, _) => {
                let name = name.to_string();
                let inputs = super::float::float_arguments(&args.args, rows)?;
                super::float::check_arguments(&name, &inputs)?;
                let result = self.inner.invoke_with_args(args)?;
                super::float::check_result(&name, &inputs, &result, rows)?;
                Ok(result)
            }
        }
    }
}

/// Significant digits PostgreSQL's numeric division gives at least
/// (NUMERIC_MIN_SIG_DIGITS), in base-10000 digits of 4 decimal digits.
const MIN_SIGNIFICANT_DIGITS: i32 = 16;
const DECIMAL_DIGITS_PER_DIGIT: i32 = 4;
/// Arrow's largest decimal scale, where PostgreSQL allows 1000.
const MAX_SCALE: i32 = 38;

/// The weight (position of the first non-zero base-10000 digit, 0 for
/// [1, 10000)) and that digit, of `value` at `scale`, as PostgreSQL keeps a
/// numeric.
fn weight_and_first_digit(value: i128, scale: i8) -> (i32, i32) {
    if value == 0 {
        return (0, 0);
    }
    let digits = value.unsigned_abs().to_string();
    let integer_digits = digits.len() as i32 - i32::from(scale);
    let group = |text: &str| text.parse::<i32>().unwrap_or(0);
    if integer_digits > 0 {
        let lead = ((integer_digits - 1) % DECIMAL_DIGITS_PER_DIGIT + 1) as usize;
        (
            (integer_digits - 1) / DECIMAL_DIGITS_PER_DIGIT,
            group(&digits[..lead]),
        )
    } else {
        // Zeros between the point and the first significant digit.
        let zeros = -integer_digits;
        let index = zeros / DECIMAL_DIGITS_PER_DIGIT;
        let mut fraction = format!("{}{digits}", "0".repeat(zeros as usize));
        let end = ((index + 1) * DECIMAL_DIGITS_PER_DIGIT) as usize;
        while fraction.len() < end {
            fraction.push('0');
        }
        (-index - 1, group(&fraction[end - 4..end]))
    }
}

/// PostgreSQL's select_div_scale: enough fraction digits for 16 significant
/// digits of the quotient, and no fewer than either operand shows.
fn division_scale(dividend: (i128, i8), divisor: (i128, i8)) -> i32 {
    let (weight1, first1) = weight_and_first_digit(dividend.0, dividend.1);
    let (weight2, first2) = weight_and_first_digit(divisor.0, divisor.1);
    let mut quotient_weight = weight1 - weight2;
    if first1 <= first2 {
        quotient_weight -= 1;
    }
    (MIN_SIGNIFICANT_DIGITS - quotient_weight * DECIMAL_DIGITS_PER_DIGIT)
        .max(i32::from(dividend.1))
        .max(i32::from(divisor.1))
        .clamp(0, MAX_SCALE)
}

/// The result scale of a numeric division whose operands are not known
/// while planning: PostgreSQL's for a quotient in [1, 10000), the usual case.
/// PostgreSQL chooses per value; Arrow keeps one scale per column.
pub(crate) fn column_division_scale(dividend_scale: i8, divisor_scale: i8) -> i8 {
    MIN_SIGNIFICANT_DIGITS
        .max(i32::from(dividend_scale))
        .max(i32::from(divisor_scale))
        .min(MAX_SCALE) as i8
}

/// A constant operand as an integer and its scale.
fn constant_decimal(value: &ScalarValue) -> Option<(i128, i8)> {
    match value {
        ScalarValue::Decimal128(Some(v), _, s) => Some((*v, *s)),
        ScalarValue::Int8(Some(v)) => Some((i128::from(*v), 0)),
        ScalarValue::Int16(Some(v)) => Some((i128::from(*v), 0)),
        ScalarValue::Int32(Some(v)) => Some((i128::from(*v), 0)),
        ScalarValue::Int64(Some(v)) => Some((i128::from(*v), 0)),
        ScalarValue::UInt8(Some(v)) => Some((i128::from(*v), 0)),
        ScalarValue::UInt16(Some(v)) => Some((i128::from(*v), 0)),
        ScalarValue::UInt32(Some(v)) => Some((i128::from(*v), 0)),
        ScalarValue::UInt64(Some(v)) => Some((i128::from(*v), 0)),
        _ => None,
    }
}

/// The name of [`NumericDiv`].
pub(crate) const NUMERIC_DIV: &str = "numeric_div";

/// `a / b` for numerics (either may be an integer): rounded half away from
/// zero at PostgreSQL's result scale. With constant operands that is
/// PostgreSQL's exact choice (`1.0 / 3` has 20 fraction digits); otherwise
/// [`column_division_scale`].
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct NumericDiv {
    signature: Signature,
}

impl Default for NumericDiv {
    fn default() -> Self {
        Self {
            // Any: coercing the operands would hide constants from
            // return_field_from_args after the analyzer ran.
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

/// The scale of an integer or decimal type.
fn exact_scale(data_type: &DataType) -> Option<i8> {
    match data_type {
        DataType::Decimal128(_, s) => Some(*s),
        t if t.is_integer() || t.is_null() => Some(0),
        _ => None,
    }
}

impl ScalarUDFImpl for NumericDiv {
    fn name(&self) -> &str {
        NUMERIC_DIV
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Err(DataFusionError::Internal(
            "numeric_div's type comes from return_field_from_args".into(),
        ))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let scales: Vec<i8> = args
            .arg_fields
            .iter()
            .map(|f| exact_scale(f.data_type()))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                DataFusionError::Plan("numeric division of non-numeric operands".into())
            })?;
        let constants: Vec<Option<(i128, i8)>> = args
            .scalar_arguments
            .iter()
            .map(|v| v.and_then(constant_decimal))
            .collect();
        let scale = match constants.as_slice() {
            [Some(dividend), Some(divisor)] if divisor.0 != 0 => {
                division_scale(*dividend, *divisor) as i8
            }
            _ => column_division_scale(scales[0], scales[1]),
        };
        Ok(Arc::new(Field::new(
            self.name(),
            DataType::Decimal128(38, scale),
            true,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let DataType::Decimal128(_, scale) = args.return_field.data_type() else {
            return Err(DataFusionError::Internal(
                "numeric_div returns a numeric".into(),
            ));
        };
        let scale = *scale;
        let operand = |i: usize| -> Result<(ArrayRef, i8)> {
            let values = args.args[i].to_array(rows)?;
            let s = exact_scale(values.data_type()).unwrap_or(0);
            Ok((cast(&values, &DataType::Decimal128(38, s))?, s))
        };
        let ((a, s1), (b, s2)) = (operand(0)?, operand(1)?);
        let (a, b) = (
            a.as_primitive::<Decimal128Type>(),
            b.as_primitive::<Decimal128Type>(),
        );
        let overflow = || Error::NumericValueOutOfRange("numeric field overflow".into());
        // a/10^s1 ÷ b/10^s2 at 10^scale is a·10^(scale+s2−s1) ÷ b.
        let shift = i32::from(scale) + i32::from(s2) - i32::from(s1);
        let factor = i256::from_i128(10)
            .checked_pow(shift.max(0) as u32)
            .ok_or_else(overflow)?;
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            if a.is_null(i) || b.is_null(i) {
                out.push(None);
                continue;
            }
            let divisor = i256::from_i128(b.value(i));
            if divisor == i256::ZERO {
                return Err(Error::DivisionByZero.into());
            }
            let dividend = i256::from_i128(a.value(i))
                .checked_mul(factor)
                .ok_or_else(overflow)?;
            let quotient = dividend.wrapping_div(divisor);
            let remainder = dividend.wrapping_rem(divisor).wrapping_abs();
            // Half away from zero, as PostgreSQL rounds.
            let round = remainder.wrapping_mul(i256::from_i128(2)) >= divisor.wrapping_abs();
            let quotient = match (round, dividend.is_negative() != divisor.is_negative()) {
                (false, _) => quotient,
                (true, false) => quotient.wrapping_add(i256::from_i128(1)),
                (true, true) => quotient.wrapping_sub(i256::from_i128(1)),
            };
            let value = quotient.to_i128().ok_or_else(overflow)?;
            if value.unsigned_abs() >= 10u128.pow(38) {
                return Err(overflow().into());
            }
            out.push(Some(value));
        }
        let out = Decimal128Array::from(out).with_precision_and_scale(38, scale)?;
        Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_scale_follows_postgresql() {
        // 7.0 / 2, 1.0 / 3, 12000 / 2, 120000 / 2, 5 / 2.0
        assert_eq!(division_scale((70, 1), (2, 0)), 16);
        assert_eq!(division_scale((10, 1), (3, 0)), 20);
        assert_eq!(division_scale((12000, 0), (2, 0)), 16);
        assert_eq!(division_scale((120000, 0), (2, 0)), 12);
        assert_eq!(division_scale((5, 0), (20, 1)), 16);
        assert_eq!(weight_and_first_digit(5, 1), (-1, 5000));
        assert_eq!(weight_and_first_digit(123456, 0), (1, 12));
        assert_eq!(weight_and_first_digit(5, 6), (-2, 500));
    }

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

/// The check in front of a cast to an unconstrained `numeric` column: its
/// argument, unchanged, unless the column's scale would round it (22003).
/// The column keeps [`crate::types::DEFAULT_NUMERIC_SCALE`] digits after the
/// point; PostgreSQL's unconstrained numeric keeps every digit, so a value
/// with more is refused rather than rounded.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NumericExact {
    signature: Signature,
    scale: i8,
}

impl NumericExact {
    pub const NAME: &'static str = "pg_numeric_exact";

    pub fn new(scale: i8) -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
            scale,
        }
    }
}

/// The digits after the point `text` spells, trailing zeros aside (None
/// when it is not a plain decimal number: the cast reports that).
fn fraction_digits(text: &str) -> Option<usize> {
    let text = text.trim();
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().ok()?),
        None => (text, 0),
    };
    let fraction = mantissa.split_once('.').map_or("", |(_, f)| f);
    let digits = fraction.trim_end_matches('0').len() as i64;
    usize::try_from(digits - exponent).ok().or(Some(0))
}

impl ScalarUDFImpl for NumericExact {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scale = self.scale;
        let input = args.args[0].to_array(args.number_rows)?;
        let inexact = |shown: String| -> DataFusionError {
            Error::NumericValueOutOfRange(format!(
                "numeric value {shown} has more than {scale} digits after the decimal point and cannot be stored exactly"
            ))
            .into()
        };
        match input.data_type() {
            DataType::Decimal128(_, from) if *from > scale => {
                let DataType::Decimal128(precision, _) = *input.data_type() else {
                    unreachable!("matched a decimal")
                };
                let values = input.as_primitive::<Decimal128Type>();
                let unit = 10i128.pow((from - scale) as u32);
                for i in 0..values.len() {
                    // NaN and the infinities are not rounded.
                    if values.is_valid(i)
                        && values.value(i) % unit != 0
                        && crate::numeric::Special::of(values.value(i), precision).is_none()
                    {
                        return Err(inexact(values.value_as_string(i)));
                    }
                }
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                let text = cast(&input, &DataType::Utf8)?;
                for value in text.as_string::<i32>().iter().flatten() {
                    if fraction_digits(value).is_some_and(|d| d > scale as usize) {
                        return Err(inexact(value.trim().to_string()));
                    }
                }
            }
            _ => {}
        }
        Ok(ColumnarValue::Array(input))
    }
}

#[cfg(test)]
mod exact_tests {
    use super::fraction_digits;

    #[test]
    fn fraction_digits_count_what_would_be_rounded() {
        assert_eq!(fraction_digits("0.123456789012345"), Some(15));
        assert_eq!(fraction_digits(" 1.50000 "), Some(1));
        assert_eq!(fraction_digits("12"), Some(0));
        assert_eq!(fraction_digits("1.5e-12"), Some(13));
        assert_eq!(fraction_digits("1.5e3"), Some(0));
    }
}

/// The function PostgreSQL's prefix `~` (bitwise not) becomes.
pub(crate) const BITWISE_NOT: &str = "pg_bitwise_not";

/// `~ x` of an integer: its bits inverted, in its own type.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct BitwiseNot {
    signature: Signature,
}

impl Default for BitwiseNot {
    fn default() -> Self {
        Self {
            signature: Signature::uniform(
                1,
                vec![DataType::Int16, DataType::Int32, DataType::Int64],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for BitwiseNot {
    fn name(&self) -> &str {
        BITWISE_NOT
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::compute::kernels::bitwise::bitwise_not;
        use datafusion::arrow::datatypes::{Int16Type, Int32Type, Int64Type};
        let values = args.args[0].to_array(args.number_rows)?;
        let out: ArrayRef = match values.data_type() {
            DataType::Int16 => Arc::new(bitwise_not(values.as_primitive::<Int16Type>())?),
            DataType::Int32 => Arc::new(bitwise_not(values.as_primitive::<Int32Type>())?),
            _ => Arc::new(bitwise_not(values.as_primitive::<Int64Type>())?),
        };
        super::shaped_like(&args.args, out)
    }
}
