//! Double precision and real as PostgreSQL computes them, where Arrow would
//! quietly give Infinity, NaN or 0 instead:
//!
//! - input (`float8in`, `float4in`) refuses a value outside the type's range
//!   (`'1e400'::float8`, `'1e-70'::real`) with 22003;
//! - `+`, `-`, `*` and `/` fail on overflow and underflow (22003) and on
//!   division by zero (22012) ([`arithmetic`]);
//! - `round(x)` rounds halves to even, as `rint` does, and so does a cast to
//!   an integer type ([`round_even`]);
//! - `exp`, `power`, `sqrt` and the like fail where PostgreSQL's do
//!   ([`check_arguments`], [`check_result`], applied by `math::Checked`).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float32Array, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float32Type, Float64Type};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::Error;

/// The name of the input function of double precision, or of real.
pub(crate) fn input_name(single: bool) -> &'static str {
    if single { "float4in" } else { "float8in" }
}

fn type_name(single: bool) -> &'static str {
    if single { "real" } else { "double precision" }
}

/// Reads `text` as PostgreSQL's float8in (or float4in) does: surrounding
/// white space allowed, `NaN`, `Infinity` and `inf` in any case, and a value
/// that overflows or underflows the type refused rather than rounded to
/// Infinity or zero.
pub(crate) fn parse(text: &str, single: bool) -> Result<f64, Error> {
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let invalid = || {
        Error::InvalidTextRepresentation(format!(
            "invalid input syntax for type {}: \"{text}\"",
            type_name(single)
        ))
    };
    let unsigned = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    let word = unsigned.to_ascii_lowercase();
    if matches!(word.as_str(), "nan" | "infinity" | "inf") {
        if word == "nan" && unsigned.len() != trimmed.len() {
            return Err(invalid());
        }
        let negative = trimmed.starts_with('-');
        return Ok(match (word.as_str(), negative) {
            ("nan", _) => f64::NAN,
            (_, false) => f64::INFINITY,
            (_, true) => f64::NEG_INFINITY,
        });
    }
    // Rust reads words PostgreSQL does not ("infinit"): only digits, a
    // point, a sign and an exponent are numbers here.
    if unsigned.is_empty()
        || !unsigned
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return Err(invalid());
    }
    let value: f64 = if single {
        trimmed.parse::<f32>().map(f64::from)
    } else {
        trimmed.parse::<f64>()
    }
    .map_err(|_| invalid())?;
    let mantissa = unsigned.split(['e', 'E']).next().unwrap_or("");
    let nonzero = mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b));
    if value.is_infinite() || (value == 0.0 && nonzero) {
        return Err(Error::NumericValueOutOfRange(format!(
            "\"{trimmed}\" is out of range for type {}",
            type_name(single)
        )));
    }
    Ok(value)
}

/// `float8in(text)` / `float4in(text)`: what a cast of text to double
/// precision or real becomes.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct FloatIn {
    single: bool,
    signature: Signature,
}

impl FloatIn {
    pub(crate) fn new(single: bool) -> Self {
        Self {
            single,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for FloatIn {
    fn name(&self) -> &str {
        input_name(self.single)
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(if self.single {
            DataType::Float32
        } else {
            DataType::Float64
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let input = cast(&args.args[0].to_array(args.number_rows)?, &DataType::Utf8)?;
        let mut values = Vec::with_capacity(input.len());
        for text in input.as_string::<i32>() {
            values.push(text.map(|t| parse(t, self.single)).transpose()?);
        }
        let out: ArrayRef = if self.single {
            Arc::new(Float32Array::from_iter(
                values.into_iter().map(|v| v.map(|v| v as f32)),
            ))
        } else {
            Arc::new(Float64Array::from(values))
        };
        super::shaped_like(&args.args, out)
    }
}

/// The four operators of float arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Op {
    Add,
    Subtract,
    Multiply,
    Divide,
}

/// A function's argument outside its domain (`asin(2)`, `acosh(0)`).
fn out_of_range() -> Error {
    Error::Coded {
        code: "22003",
        message: "input is out of range".into(),
    }
}

fn overflow() -> Error {
    Error::NumericValueOutOfRange("value out of range: overflow".into())
}

fn underflow() -> Error {
    Error::NumericValueOutOfRange("value out of range: underflow".into())
}

/// One operation with PostgreSQL's checks (float.h's float8_pl and friends):
/// an infinite result from finite operands overflowed, a zero product or
/// quotient of non-zero operands underflowed.
fn checked(op: Op, a: f64, b: f64, result: f64) -> Result<f64, Error> {
    let finite_inputs = a.is_finite() && b.is_finite();
    match op {
        Op::Add | Op::Subtract => {
            if result.is_infinite() && finite_inputs {
                return Err(overflow());
            }
        }
        Op::Multiply => {
            if result.is_infinite() && finite_inputs {
                return Err(overflow());
            }
            if result == 0.0 && a != 0.0 && b != 0.0 {
                return Err(underflow());
            }
        }
        Op::Divide => {
            if b == 0.0 && !a.is_nan() {
                return Err(Error::DivisionByZero);
            }
            if result.is_infinite() && !a.is_infinite() {
                return Err(overflow());
            }
            if result == 0.0 && a != 0.0 && !b.is_infinite() {
                return Err(underflow());
            }
        }
    }
    Ok(result)
}

/// `left op right` for two arrays of one float type (Float64 or Float32), of
/// equal length, with PostgreSQL's overflow, underflow and zero-division
/// errors.
pub(crate) fn arithmetic(op: Op, left: &ArrayRef, right: &ArrayRef) -> Result<ArrayRef> {
    fn apply<T: Copy>(
        op: Op,
        a: impl Iterator<Item = Option<T>>,
        b: impl Iterator<Item = Option<T>>,
        compute: impl Fn(T, T) -> T,
        wide: impl Fn(T) -> f64,
    ) -> Result<Vec<Option<T>>, Error> {
        a.zip(b)
            .map(|pair| match pair {
                (Some(a), Some(b)) => {
                    let r = compute(a, b);
                    checked(op, wide(a), wide(b), wide(r)).map(|_| Some(r))
                }
                _ => Ok(None),
            })
            .collect()
    }
    Ok(match left.data_type() {
        DataType::Float32 => {
            let (a, b) = (
                left.as_primitive::<Float32Type>(),
                right.as_primitive::<Float32Type>(),
            );
            let compute = move |x: f32, y: f32| match op {
                Op::Add => x + y,
                Op::Subtract => x - y,
                Op::Multiply => x * y,
                Op::Divide => x / y,
            };
            let out = apply(op, a.iter(), b.iter(), compute, f64::from)?;
            Arc::new(Float32Array::from(out))
        }
        _ => {
            let (a, b) = (
                left.as_primitive::<Float64Type>(),
                right.as_primitive::<Float64Type>(),
            );
            let compute = move |x: f64, y: f64| match op {
                Op::Add => x + y,
                Op::Subtract => x - y,
                Op::Multiply => x * y,
                Op::Divide => x / y,
            };
            let out = apply(op, a.iter(), b.iter(), compute, |v| v)?;
            Arc::new(Float64Array::from(out))
        }
    })
}

/// Each value of a float array rounded half to even.
pub(crate) fn round_even(values: &ArrayRef) -> Option<ArrayRef> {
    Some(match values.data_type() {
        DataType::Float64 => Arc::new(
            values
                .as_primitive::<Float64Type>()
                .unary::<_, Float64Type>(f64::round_ties_even),
        ),
        DataType::Float32 => Arc::new(
            values
                .as_primitive::<Float32Type>()
                .unary::<_, Float32Type>(f32::round_ties_even),
        ),
        _ => return None,
    })
}

/// PostgreSQL's SQLSTATE for an argument a power function cannot take.
const INVALID_ARGUMENT_FOR_POWER: &str = "2201F";

/// A function's arguments as double precision, None for those that are not
/// floats.
pub(crate) fn float_arguments(
    args: &[ColumnarValue],
    rows: usize,
) -> Result<Vec<Option<Float64Array>>> {
    args.iter().map(|a| floats(a, rows)).collect()
}

fn floats(value: &ColumnarValue, rows: usize) -> Result<Option<Float64Array>> {
    let array = value.to_array(rows)?;
    if !matches!(array.data_type(), DataType::Float64 | DataType::Float32) {
        return Ok(None);
    }
    Ok(Some(
        cast(&array, &DataType::Float64)?
            .as_primitive::<Float64Type>()
            .clone(),
    ))
}

/// The arguments PostgreSQL's `sqrt` and `power` refuse (2201F) where
/// DataFusion's would give NaN or Infinity.
pub(crate) fn check_arguments(function: &str, inputs: &[Option<Float64Array>]) -> Result<()> {
    let refused = |message: &str| -> Result<()> {
        Err(Error::Coded {
            code: INVALID_ARGUMENT_FOR_POWER,
            message: message.into(),
        }
        .into())
    };
    let outside = |x: &Float64Array, range: std::ops::RangeInclusive<f64>| {
        x.iter()
            .flatten()
            .any(|v| !v.is_nan() && !range.contains(&v))
    };
    match (function, inputs) {
        ("asin" | "acos" | "atanh", [Some(x)]) if outside(x, -1.0..=1.0) => {
            Err(out_of_range().into())
        }
        ("acosh", [Some(x)]) if outside(x, 1.0..=f64::INFINITY) => Err(out_of_range().into()),
        ("sqrt", [Some(x)]) if x.iter().flatten().any(|v| v < 0.0) => {
            refused("cannot take square root of a negative number")
        }
        ("power" | "pow", [Some(x), Some(y)]) => {
            for (x, y) in x.iter().zip(y.iter()) {
                let (Some(x), Some(y)) = (x, y) else { continue };
                if x == 0.0 && y < 0.0 {
                    return refused("zero raised to a negative power is undefined");
                }
                if x < 0.0 && y.is_finite() && y.fract() != 0.0 {
                    return refused(
                        "a negative number raised to a non-integer power yields a complex result",
                    );
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A float function's result checked as PostgreSQL checks it: infinite from
/// finite arguments overflowed (`exp(1000)`); zero from `exp` underflowed.
pub(crate) fn check_result(
    function: &str,
    inputs: &[Option<Float64Array>],
    result: &ColumnarValue,
    rows: usize,
) -> Result<()> {
    let Some(out) = floats(result, rows)? else {
        return Ok(());
    };
    for (i, r) in out.iter().enumerate() {
        let Some(r) = r else { continue };
        let finite_inputs = inputs
            .iter()
            .flatten()
            .all(|a| a.is_null(i) || a.value(i).is_finite());
        // atanh(1) is Infinity in PostgreSQL too.
        if r.is_infinite() && finite_inputs && function != "atanh" {
            return Err(overflow().into());
        }
        if function == "exp" && r == 0.0 && finite_inputs {
            return Err(underflow().into());
        }
    }
    Ok(())
}

/// A double precision narrowed to real (`x::float8::real`), failing where
/// the value is beyond real's range rather than becoming Infinity or 0.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct ToReal {
    signature: Signature,
}

impl Default for ToReal {
    fn default() -> Self {
        Self {
            signature: Signature::exact(vec![DataType::Float64], Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for ToReal {
    fn name(&self) -> &str {
        "float8_to_float4"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        let mut out = Vec::with_capacity(input.len());
        for v in input.as_primitive::<Float64Type>() {
            out.push(match v {
                Some(v) => {
                    let narrowed = v as f32;
                    if narrowed.is_infinite() && v.is_finite() {
                        return Err(overflow().into());
                    }
                    if narrowed == 0.0 && v != 0.0 {
                        return Err(underflow().into());
                    }
                    Some(narrowed)
                }
                None => None,
            });
        }
        super::shaped_like(&args.args, Arc::new(Float32Array::from(out)))
    }
}

/// `float4send(real)` / `float8send(double precision)`: the binary wire form,
/// IEEE 754 big-endian bytes.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Send {
    single: bool,
    signature: Signature,
}

impl Send {
    pub(crate) fn new(single: bool) -> Self {
        let input = if single {
            DataType::Float32
        } else {
            DataType::Float64
        };
        Self {
            single,
            signature: Signature::exact(vec![input], Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Send {
    fn name(&self) -> &str {
        if self.single {
            "float4send"
        } else {
            "float8send"
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Binary)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        let out: datafusion::arrow::array::BinaryArray = if self.single {
            input
                .as_primitive::<Float32Type>()
                .iter()
                .map(|v| v.map(|v| v.to_be_bytes().to_vec()))
                .collect()
        } else {
            input
                .as_primitive::<Float64Type>()
                .iter()
                .map(|v| v.map(|v| v.to_be_bytes().to_vec()))
                .collect()
        };
        super::shaped_like(&args.args, Arc::new(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_reads_and_refuses_as_postgresql_does() {
        assert_eq!(parse(" 1004.30 ", false).unwrap(), 1004.3);
        assert_eq!(parse("-Infinity", false).unwrap(), f64::NEG_INFINITY);
        assert_eq!(parse("inf", true).unwrap(), f64::INFINITY);
        assert!(parse("NaN", false).unwrap().is_nan());
        assert_eq!(parse("1e-40", true).unwrap(), f64::from(1e-40_f32));
        for (text, single) in [
            ("10e400", false),
            ("-10e-400", false),
            ("10e70", true),
            ("10e-70", true),
        ] {
            let e = parse(text, single).unwrap_err();
            assert!(matches!(e, Error::NumericValueOutOfRange(_)), "{text}: {e}");
        }
        for text in ["", "xyz", "5.0.0", "infinit", "+nan", "--inf", "1e"] {
            let e = parse(text, false).unwrap_err();
            assert!(
                matches!(e, Error::InvalidTextRepresentation(_)),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn arithmetic_fails_where_postgresql_does() {
        let check = |op, a: f64, b: f64| {
            let (a, b): (ArrayRef, ArrayRef) = (
                Arc::new(Float64Array::from(vec![a])),
                Arc::new(Float64Array::from(vec![b])),
            );
            arithmetic(op, &a, &b).map(|r| r.as_primitive::<Float64Type>().value(0))
        };
        assert!(check(Op::Multiply, 1e300, 1e300).is_err());
        assert!(check(Op::Multiply, 1e-300, 1e-300).is_err());
        assert!(check(Op::Add, f64::MAX, f64::MAX).is_err());
        assert!(check(Op::Divide, 1.0, 0.0).is_err());
        assert!(check(Op::Divide, f64::NAN, 0.0).unwrap().is_nan());
        assert_eq!(check(Op::Add, f64::INFINITY, 1.0).unwrap(), f64::INFINITY);
        assert_eq!(check(Op::Divide, 1.0, f64::INFINITY).unwrap(), 0.0);
    }
}
