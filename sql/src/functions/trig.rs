//! Trigonometry in degrees (`sind`, `cosd`, `tand`, `cotd`, `asind`,
//! `acosd`, `atand`, `atan2d`) as PostgreSQL computes it: the angle is first
//! brought into the first quadrant and scaled against the exact values at
//! 30, 45 and 60 degrees, so that `sind(30)` is exactly 0.5 and `tand(45)`
//! exactly 1; an infinite angle, or a sine outside [-1, 1], is 22003.

use std::sync::Arc;

use datafusion::arrow::array::{Array, Float64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::Error;

const RADIANS_PER_DEGREE: f64 = 0.017_453_292_519_943_295;

fn out_of_range() -> Error {
    Error::Coded {
        code: "22003",
        message: "input is out of range".into(),
    }
}

fn sind_0_to_30(x: f64) -> f64 {
    let sin_30 = (30.0 * RADIANS_PER_DEGREE).sin();
    ((x * RADIANS_PER_DEGREE).sin() / sin_30) / 2.0
}

fn cosd_0_to_60(x: f64) -> f64 {
    let one_minus_cos_60 = 1.0 - (60.0 * RADIANS_PER_DEGREE).cos();
    let one_minus_cos_x = 1.0 - (x * RADIANS_PER_DEGREE).cos();
    1.0 - (one_minus_cos_x / one_minus_cos_60) / 2.0
}

fn sind_q1(x: f64) -> f64 {
    if x <= 30.0 {
        sind_0_to_30(x)
    } else {
        cosd_0_to_60(90.0 - x)
    }
}

fn cosd_q1(x: f64) -> f64 {
    if x <= 60.0 {
        cosd_0_to_60(x)
    } else {
        sind_0_to_30(90.0 - x)
    }
}

fn asind_q1(x: f64) -> f64 {
    if x <= 0.5 {
        (x.asin() / 0.5f64.asin()) * 30.0
    } else {
        90.0 - (x.acos() / 0.5f64.acos()) * 60.0
    }
}

fn acosd_q1(x: f64) -> f64 {
    if x <= 0.5 {
        90.0 - (x.asin() / 0.5f64.asin()) * 30.0
    } else {
        (x.acos() / 0.5f64.acos()) * 60.0
    }
}

/// The angle in [0, 90] with the sign the function's value takes there.
fn first_quadrant(angle: f64, odd_at_zero: bool, odd_at_180: bool) -> (f64, f64) {
    let mut x = angle % 360.0;
    let mut sign = 1.0;
    if x < 0.0 {
        x = -x;
        if odd_at_zero {
            sign = -sign;
        }
    }
    if x > 180.0 {
        x = 360.0 - x;
        if odd_at_zero {
            sign = -sign;
        }
    }
    if x > 90.0 {
        x = 180.0 - x;
        if odd_at_180 {
            sign = -sign;
        }
    }
    (x, sign)
}

fn degrees(name: &str, x: f64, y: f64) -> Result<f64, Error> {
    if x.is_nan() || y.is_nan() {
        return Ok(f64::NAN);
    }
    let periodic = matches!(name, "sind" | "cosd" | "tand" | "cotd");
    if periodic && x.is_infinite() {
        return Err(out_of_range());
    }
    if matches!(name, "asind" | "acosd") && !(-1.0..=1.0).contains(&x) {
        return Err(out_of_range());
    }
    let tan_45 = sind_q1(45.0) / cosd_q1(45.0);
    let value = match name {
        "sind" => {
            let (x, sign) = first_quadrant(x, true, false);
            sign * sind_q1(x)
        }
        "cosd" => {
            let (x, sign) = first_quadrant(x, false, true);
            sign * cosd_q1(x)
        }
        // Never minus zero.
        "tand" => {
            let (x, sign) = first_quadrant(x, true, true);
            sign * (sind_q1(x) / cosd_q1(x)) / tan_45 + 0.0
        }
        "cotd" => {
            let (x, sign) = first_quadrant(x, true, true);
            sign * (cosd_q1(x) / sind_q1(x)) * tan_45 + 0.0
        }
        "asind" if x >= 0.0 => asind_q1(x),
        "asind" => -asind_q1(-x),
        "acosd" if x >= 0.0 => acosd_q1(x),
        "acosd" => 90.0 + asind_q1(-x),
        "atand" => (x.atan() / 1f64.atan()) * 45.0,
        _ => (x.atan2(y) / 1f64.atan()) * 45.0,
    };
    if value.is_infinite() && name != "cotd" {
        return Err(Error::Coded {
            code: "22003",
            message: "value out of range: overflow".into(),
        });
    }
    Ok(value)
}

/// One of the degree functions; `atan2d` takes two arguments.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Degrees {
    name: &'static str,
    signature: Signature,
}

impl Degrees {
    pub(super) const NAMES: [&'static str; 8] = [
        "sind", "cosd", "tand", "cotd", "asind", "acosd", "atand", "atan2d",
    ];

    pub(super) fn new(name: &'static str) -> Self {
        Self {
            name,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn arity(&self) -> usize {
        if self.name == "atan2d" { 2 } else { 1 }
    }
}

impl ScalarUDFImpl for Degrees {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Numbers, and text read as double precision.
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let readable = |t: &DataType| {
            t.is_numeric()
                || matches!(
                    t,
                    DataType::Null | DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
                )
        };
        if args.len() != self.arity() || !args.iter().all(readable) {
            return Err(super::undefined_function(self.name, args));
        }
        Ok(vec![DataType::Float64; args.len()])
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = super::argument_arrays(&args)?;
        let x = arrays[0].as_any().downcast_ref::<Float64Array>();
        let y = arrays
            .get(1)
            .map(|a| a.as_any().downcast_ref::<Float64Array>());
        let (Some(x), Some(Some(_)) | None) = (x, y) else {
            return Err(Error::Internal(format!("{} arguments", self.name)).into());
        };
        let y = y.flatten();
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            if x.is_null(i) || y.is_some_and(|y| y.is_null(i)) {
                out.push(None);
                continue;
            }
            let second = y.map_or(0.0, |y| y.value(i));
            out.push(Some(degrees(self.name, x.value(i), second)?));
        }
        super::shaped_like(&args.args, Arc::new(Float64Array::from(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_angles_are_exact() {
        let f = |name, x| degrees(name, x, 0.0).unwrap();
        assert_eq!(f("sind", 30.0), 0.5);
        assert_eq!(f("sind", -150.0), -0.5);
        assert_eq!(f("cosd", 60.0), 0.5);
        assert_eq!(f("cosd", 120.0), -0.5);
        assert_eq!(f("tand", 45.0), 1.0);
        assert_eq!(f("tand", 135.0), -1.0);
        assert_eq!(f("cotd", 45.0), 1.0);
        assert_eq!(f("asind", 0.5), 30.0);
        assert_eq!(f("acosd", -0.5), 120.0);
        assert_eq!(f("atand", 1.0), 45.0);
        assert_eq!(degrees("atan2d", 1.0, -1.0).unwrap(), 135.0);
        assert!(degrees("sind", f64::INFINITY, 0.0).is_err());
        assert!(degrees("asind", 1.5, 0.0).is_err());
    }
}
