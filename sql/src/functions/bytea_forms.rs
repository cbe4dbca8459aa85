//! The bytea forms of functions DataFusion has for text only: `btrim`,
//! `ltrim` and `rtrim` (and so `TRIM(… FROM bytea)`), `octet_length`, and
//! the `escape` format of `encode` and `decode`. Text, and the other formats,
//! go on to DataFusion's own.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BinaryArray, Int32Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Form {
    Btrim,
    Ltrim,
    Rtrim,
    OctetLength,
    Encode,
    Decode,
}

const FORMS: &[(&str, Form)] = &[
    ("btrim", Form::Btrim),
    ("ltrim", Form::Ltrim),
    ("rtrim", Form::Rtrim),
    ("octet_length", Form::OctetLength),
    ("encode", Form::Encode),
    ("decode", Form::Decode),
];

/// The functions of [`FORMS`], each wrapping DataFusion's function of its name.
pub(super) fn functions(ctx: &SessionContext) -> Vec<ScalarUDF> {
    FORMS
        .iter()
        .filter_map(|(name, form)| {
            let inner = ctx.udf(name).ok()?;
            Some(ScalarUDF::new_from_impl(ByteaForm {
                inner,
                form: *form,
                signature: Signature::user_defined(Volatility::Immutable),
            }))
        })
        .collect()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ByteaForm {
    inner: Arc<ScalarUDF>,
    form: Form,
    signature: Signature,
}

fn binary(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView
    )
}

impl ByteaForm {
    /// Whether a call with these argument types is the bytea form.
    fn takes_bytea(&self, args: &[DataType]) -> bool {
        match self.form {
            Form::Btrim | Form::Ltrim | Form::Rtrim | Form::OctetLength | Form::Encode => {
                args.first().is_some_and(binary)
            }
            Form::Decode => false,
        }
    }

    /// The `escape` format of encode and decode, given as a constant.
    fn escape_format(&self, args: &ScalarFunctionArgs) -> bool {
        matches!(self.form, Form::Encode | Form::Decode)
            && matches!(
                args.args.get(1),
                Some(ColumnarValue::Scalar(ScalarValue::Utf8(Some(f)) | ScalarValue::Utf8View(Some(f))))
                    if f.eq_ignore_ascii_case("escape")
            )
    }
}

impl ScalarUDFImpl for ByteaForm {
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
        // `encode('\x12…', …)`: an unknown literal is bytea input.
        if self.form == Form::Encode && args.len() == 2 {
            return Ok(vec![DataType::Binary, DataType::Utf8]);
        }
        // `decode(text, format)`: the text is read by the format, not as bytea.
        if self.form == Form::Decode && args.len() == 2 {
            return Ok(vec![DataType::Utf8, DataType::Utf8]);
        }
        if self.takes_bytea(args) {
            return Ok(args.iter().map(|_| DataType::Binary).collect());
        }
        super::coerced_for(&self.inner, args)
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match self.form {
            Form::OctetLength if self.takes_bytea(args) => Ok(DataType::Int32),
            Form::Encode => Ok(DataType::Utf8),
            Form::Decode => Ok(DataType::Binary),
            _ if self.takes_bytea(args) => Ok(DataType::Binary),
            _ => self.inner.return_type(args),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let types: Vec<DataType> = args.args.iter().map(|a| a.data_type()).collect();
        let escape = self.escape_format(&args);
        if !escape && self.form == Form::Decode {
            // DataFusion's decode reads the text's bytes.
            let mut args = args;
            args.args[0] = match &args.args[0] {
                ColumnarValue::Scalar(s) => ColumnarValue::Scalar(s.cast_to(&DataType::Binary)?),
                ColumnarValue::Array(a) => {
                    ColumnarValue::Array(datafusion::arrow::compute::cast(a, &DataType::Binary)?)
                }
            };
            args.arg_fields[0] = Arc::new(Field::new("text", DataType::Binary, true));
            return self.inner.invoke_with_args(args);
        }
        if !escape && (!self.takes_bytea(&types) || self.form == Form::Encode) {
            return self.inner.invoke_with_args(args);
        }
        let arrays = super::argument_arrays(&args)?;
        let out: ArrayRef = match self.form {
            Form::OctetLength => {
                let bytes = arrays[0].as_binary::<i32>();
                Arc::new(
                    bytes
                        .iter()
                        .map(|b| b.map(|b| b.len() as i32))
                        .collect::<Int32Array>(),
                )
            }
            Form::Encode => {
                let bytes = arrays[0].as_binary::<i32>();
                Arc::new(
                    bytes
                        .iter()
                        .map(|b| b.map(escape_encode))
                        .collect::<StringArray>(),
                )
            }
            Form::Decode => {
                let text = datafusion::arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
                let decoded = text
                    .as_string::<i32>()
                    .iter()
                    .map(|t| t.map(escape_decode).transpose())
                    .collect::<std::result::Result<Vec<_>, Error>>()?;
                Arc::new(BinaryArray::from_iter(decoded))
            }
            Form::Btrim | Form::Ltrim | Form::Rtrim => {
                let bytes = arrays[0].as_binary::<i32>();
                let space = [b' '];
                let sets = arrays.get(1).map(|a| a.as_binary::<i32>());
                let trimmed: Vec<Option<Vec<u8>>> = (0..args.number_rows)
                    .map(|row| {
                        let set = match sets {
                            Some(sets) if sets.is_null(row) => return None,
                            Some(sets) => sets.value(row),
                            None => &space[..],
                        };
                        let b = bytes.is_valid(row).then(|| bytes.value(row))?;
                        Some(trim(b, set, self.form).to_vec())
                    })
                    .collect();
                Arc::new(BinaryArray::from_iter(trimmed))
            }
        };
        super::shaped_like(&args.args, out)
    }
}

/// `bytes` without the bytes of `set` at its start (`Btrim`, `Ltrim`) and end
/// (`Btrim`, `Rtrim`).
fn trim<'a>(bytes: &'a [u8], set: &[u8], form: Form) -> &'a [u8] {
    let mut start = 0;
    let mut end = bytes.len();
    if form != Form::Rtrim {
        while start < end && set.contains(&bytes[start]) {
            start += 1;
        }
    }
    if form != Form::Ltrim {
        while end > start && set.contains(&bytes[end - 1]) {
            end -= 1;
        }
    }
    &bytes[start..end]
}

/// `encode(…, 'escape')`: the zero byte and bytes over 127 as `\ooo`, a
/// backslash doubled, every other byte as itself.
fn escape_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            0 | 0x80.. => out.push_str(&format!("\\{b:03o}")),
            b'\\' => out.push_str("\\\\"),
            _ => out.push(char::from(b)),
        }
    }
    out
}

/// `decode(…, 'escape')`: `\ooo` and `\\` read back, every other character
/// as its bytes; any other backslash is 22P02.
fn escape_decode(text: &str) -> std::result::Result<Vec<u8>, Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes.get(i + 1..i + 4) {
            Some([a @ b'0'..=b'3', b @ b'0'..=b'7', c @ b'0'..=b'7']) => {
                out.push((a - b'0') * 64 + (b - b'0') * 8 + (c - b'0'));
                i += 4;
            }
            _ if bytes.get(i + 1) == Some(&b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            _ => {
                return Err(Error::Coded {
                    code: "22P02",
                    message: "invalid input syntax for type bytea".into(),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_format_round_trips() {
        let bytes = [0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0xcd, 0xef, 0x00, b'\\'];
        let text = escape_encode(&bytes);
        assert_eq!(text, "\u{12}4Vx\\220\\253\\315\\357\\000\\\\");
        assert_eq!(escape_decode(&text).unwrap(), bytes);
        assert!(escape_decode("a\\9").is_err());
        assert_eq!(trim(b"\0Tom\0", b"\0", Form::Btrim), b"Tom");
        assert_eq!(trim(b"\0Tom\0", b"\0", Form::Ltrim), b"Tom\0");
        assert_eq!(trim(b"\0Tom\0", b"", Form::Btrim), b"\0Tom\0");
    }
}
