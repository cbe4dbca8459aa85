//! PostgreSQL's functions of bytea: `get_byte`, `set_byte`, `get_bit`,
//! `set_bit` (bits numbered from the lowest of each byte), `bit_count`, and
//! `substr`/`SUBSTRING` of bytea (text goes on to DataFusion's own).

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BinaryBuilder, Int32Array, Int64Array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Op {
    GetByte,
    SetByte,
    GetBit,
    SetBit,
    BitCount,
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct ByteaFunction {
    op: Op,
    signature: Signature,
}

impl ByteaFunction {
    pub(super) fn new(op: Op) -> Self {
        Self {
            op,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

fn out_of_range(index: i64, size: i64) -> datafusion::error::DataFusionError {
    Error::Coded {
        code: "2202E",
        message: format!("index {index} out of valid range, 0..{}", size - 1),
    }
    .into()
}

fn binary(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::Null
    )
}

/// The argument's values as i64, row by row.
fn integers(array: &ArrayRef) -> Result<Vec<Option<i64>>> {
    let wide = cast(array, &DataType::Int64)?;
    Ok(wide.as_primitive::<Int64Type>().iter().collect())
}

impl ScalarUDFImpl for ByteaFunction {
    fn name(&self) -> &str {
        match self.op {
            Op::GetByte => "get_byte",
            Op::SetByte => "set_byte",
            Op::GetBit => "get_bit",
            Op::SetBit => "set_bit",
            Op::BitCount => "bit_count",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let count = match self.op {
            Op::BitCount => 1,
            Op::GetByte | Op::GetBit => 2,
            Op::SetByte | Op::SetBit => 3,
        };
        let integers_ok = args[1..]
            .iter()
            .all(|t| t.is_integer() || matches!(t, DataType::Null));
        if args.len() != count || !binary(&args[0]) || !integers_ok {
            return Err(super::undefined_function(self.name(), args));
        }
        let index = match self.op {
            Op::GetBit | Op::SetBit => DataType::Int64,
            _ => DataType::Int32,
        };
        let mut types = vec![DataType::Binary];
        types.extend(args[1..].iter().enumerate().map(|(i, _)| match i {
            0 => index.clone(),
            _ => DataType::Int32,
        }));
        Ok(types)
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(match self.op {
            Op::GetByte | Op::GetBit => DataType::Int32,
            Op::SetByte | Op::SetBit => DataType::Binary,
            Op::BitCount => DataType::Int64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = super::argument_arrays(&args)?;
        let bytes = cast(&arrays[0], &DataType::Binary)?;
        let bytes = bytes.as_binary::<i32>();
        let index = arrays.get(1).map(integers).transpose()?;
        let value = arrays.get(2).map(integers).transpose()?;
        let out: ArrayRef = match self.op {
            Op::BitCount => Arc::new(
                bytes
                    .iter()
                    .map(|b| b.map(|b| b.iter().map(|x| i64::from(x.count_ones())).sum()))
                    .collect::<Int64Array>(),
            ),
            Op::GetByte | Op::GetBit => {
                let bit = self.op == Op::GetBit;
                let index = index.expect("two arguments");
                let mut out = Vec::with_capacity(rows);
                for (b, i) in bytes.iter().zip(index) {
                    let (Some(b), Some(i)) = (b, i) else {
                        out.push(None);
                        continue;
                    };
                    let size = b.len() as i64 * if bit { 8 } else { 1 };
                    if i < 0 || i >= size {
                        return Err(out_of_range(i, size));
                    }
                    out.push(Some(match bit {
                        true => i32::from((b[(i / 8) as usize] >> (i % 8)) & 1),
                        false => i32::from(b[i as usize]),
                    }));
                }
                Arc::new(Int32Array::from(out))
            }
            Op::SetByte | Op::SetBit => {
                let bit = self.op == Op::SetBit;
                let (index, value) = (index.expect("three"), value.expect("three"));
                let mut out = BinaryBuilder::new();
                for ((b, i), v) in bytes.iter().zip(index).zip(value) {
                    let (Some(b), Some(i), Some(v)) = (b, i, v) else {
                        out.append_null();
                        continue;
                    };
                    let size = b.len() as i64 * if bit { 8 } else { 1 };
                    if i < 0 || i >= size {
                        return Err(out_of_range(i, size));
                    }
                    let mut b = b.to_vec();
                    if bit {
                        if v != 0 && v != 1 {
                            return Err(Error::Coded {
                                code: "22023",
                                message: "new bit must be 0 or 1".into(),
                            }
                            .into());
                        }
                        let byte = &mut b[(i / 8) as usize];
                        *byte = (*byte & !(1 << (i % 8))) | ((v as u8) << (i % 8));
                    } else {
                        b[i as usize] = v as u8;
                    }
                    out.append_value(b);
                }
                Arc::new(out.finish())
            }
        };
        super::shaped_like(&args.args, out)
    }
}

/// `substr` that takes bytea too: PostgreSQL's `substr(bytea, from [, for])`
/// (and `SUBSTRING(bytea FROM … FOR …)`), counting from 1, a start before
/// the first byte shortening the count, a negative count 22011. Text goes to
/// DataFusion's `substr`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Substr {
    inner: Arc<ScalarUDF>,
    signature: Signature,
}

impl Substr {
    pub(super) fn new(inner: Arc<ScalarUDF>) -> Self {
        Self {
            inner,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Substr {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if !args.is_empty() && binary(&args[0]) && !matches!(args[0], DataType::Null) {
            if !matches!(args.len(), 2 | 3) || !args[1..].iter().all(|t| t.is_integer()) {
                return Err(super::undefined_function(self.name(), args));
            }
            let mut types = vec![DataType::Binary];
            types.extend(args[1..].iter().map(|_| DataType::Int64));
            return Ok(types);
        }
        super::coerced_for(&self.inner, args)
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match binary(&args[0]) && !matches!(args[0], DataType::Null) {
            true => Ok(DataType::Binary),
            false => self.inner.return_type(args),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if args.args[0].data_type() != DataType::Binary {
            return self.inner.invoke_with_args(args);
        }
        let rows = args.number_rows;
        let arrays = super::argument_arrays(&args)?;
        let bytes = arrays[0].as_binary::<i32>();
        let from = integers(&arrays[1])?;
        let count = arrays.get(2).map(integers).transpose()?;
        let mut out: Vec<Option<Vec<u8>>> = Vec::with_capacity(rows);
        for row in 0..rows {
            let (b, Some(start)) = (bytes.is_valid(row).then(|| bytes.value(row)), from[row])
            else {
                out.push(None);
                continue;
            };
            let Some(b) = b else {
                out.push(None);
                continue;
            };
            let end = match count.as_ref().map(|c| c[row]) {
                Some(None) => {
                    out.push(None);
                    continue;
                }
                Some(Some(n)) if n < 0 => {
                    return Err(Error::Coded {
                        code: "22011",
                        message: "negative substring length not allowed".into(),
                    }
                    .into());
                }
                Some(Some(n)) => start.saturating_add(n),
                None => i64::MAX,
            };
            let first = (start - 1).clamp(0, b.len() as i64) as usize;
            let last = (end - 1).clamp(first as i64, b.len() as i64) as usize;
            out.push(Some(b[first..last].to_vec()));
        }
        let out: ArrayRef = Arc::new(BinaryArray::from_iter(out));
        super::shaped_like(&args.args, out)
    }
}
