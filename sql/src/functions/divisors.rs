//! `gcd` and `lcm` of integers as PostgreSQL has them: of the arguments'
//! type (int4 for int2 and int4, int8 for int8), and 22003 where the answer
//! does not fit (`gcd(-2147483648, 0)`).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Array, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::Error;

fn out_of_range(wide: bool) -> Error {
    Error::Coded {
        code: "22003",
        message: if wide {
            "bigint out of range"
        } else {
            "integer out of range"
        }
        .into(),
    }
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Divisors {
    lcm: bool,
    signature: Signature,
}

impl Divisors {
    pub(super) fn new(lcm: bool) -> Self {
        Self {
            lcm,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Divisors {
    fn name(&self) -> &str {
        if self.lcm { "lcm" } else { "gcd" }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let wide = args
            .iter()
            .any(|t| matches!(t, DataType::Int64 | DataType::UInt32 | DataType::UInt64));
        let integers = args.len() == 2
            && args
                .iter()
                .all(|t| t.is_integer() || matches!(t, DataType::Null | DataType::Utf8));
        if !integers {
            return Err(super::undefined_function(self.name(), args));
        }
        let target = if wide {
            DataType::Int64
        } else {
            DataType::Int32
        };
        Ok(vec![target.clone(), target])
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let wide = args.args[0].data_type() == DataType::Int64;
        let (max, min) = match wide {
            true => (i128::from(i64::MAX), i128::from(i64::MIN)),
            false => (i128::from(i32::MAX), i128::from(i32::MIN)),
        };
        let a = cast(&args.args[0].to_array(rows)?, &DataType::Int64)?;
        let b = cast(&args.args[1].to_array(rows)?, &DataType::Int64)?;
        let (a, b) = (a.as_primitive::<Int64Type>(), b.as_primitive::<Int64Type>());
        let mut out: Vec<Option<i64>> = Vec::with_capacity(rows);
        for i in 0..rows {
            if a.is_null(i) || b.is_null(i) {
                out.push(None);
                continue;
            }
            let (x, y) = (i128::from(a.value(i)), i128::from(b.value(i)));
            let divisor = gcd(x, y);
            let value = match self.lcm {
                false => divisor,
                true if x == 0 || y == 0 => 0,
                true => (x / divisor * y).abs(),
            };
            if value > max || value < min {
                return Err(out_of_range(wide).into());
            }
            out.push(Some(value as i64));
        }
        let out: ArrayRef = match wide {
            true => Arc::new(Int64Array::from(out)),
            false => Arc::new(
                out.into_iter()
                    .map(|v| v.map(|v| v as i32))
                    .collect::<Int32Array>(),
            ),
        };
        super::shaped_like(&args.args, out)
    }
}
