//! `f(…, VARIADIC array)`: a variadic function called with an array whose
//! elements are its last arguments. Each row's call is the function's own,
//! with as many arguments as that row's array has elements.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use crate::error::Error;

/// The functions with a variadic form, and what a NULL array means to each:
/// `concat(VARIADIC NULL)` is NULL, `format(t, VARIADIC NULL)` formats `t`
/// with no arguments.
const FUNCTIONS: &[(&str, NullArray)] = &[
    ("concat", NullArray::Null),
    ("concat_ws", NullArray::Null),
    ("format", NullArray::NoArguments),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum NullArray {
    Null,
    NoArguments,
}

/// The name of `function`'s variadic form, if it has one.
pub(crate) fn variadic_name(function: &str) -> Option<String> {
    let function = function.to_ascii_lowercase();
    FUNCTIONS
        .iter()
        .any(|(name, _)| *name == function)
        .then(|| format!("{function}_variadic"))
}

/// Every variadic form, over the functions registered on `ctx`.
pub(super) fn functions(ctx: &datafusion::prelude::SessionContext) -> Vec<ScalarUDF> {
    FUNCTIONS
        .iter()
        .filter_map(|(name, null)| {
            let inner = ctx.udf(name).ok()?;
            Some(ScalarUDF::new_from_impl(Variadic {
                name: format!("{name}_variadic"),
                inner,
                null: *null,
                signature: Signature::user_defined(Volatility::Stable),
            }))
        })
        .collect()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Variadic {
    name: String,
    inner: Arc<ScalarUDF>,
    null: NullArray,
    signature: Signature,
}

fn not_an_array() -> datafusion::error::DataFusionError {
    Error::Coded {
        code: "42804",
        message: "VARIADIC argument must be an array".into(),
    }
    .into()
}

impl ScalarUDFImpl for Variadic {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        Ok(args.to_vec())
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let last = args.arg_fields.last().map(|f| f.data_type());
        if !matches!(
            last,
            Some(DataType::List(_) | DataType::LargeList(_) | DataType::Null)
        ) {
            return Err(not_an_array());
        }
        Ok(Arc::new(Field::new(self.name(), DataType::Utf8, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let columns = super::argument_arrays(&args)?;
        let (arrays, fixed) = columns.split_last().expect("a variadic argument");
        let fixed_fields = &args.arg_fields[..fixed.len()];
        let mut out = Vec::with_capacity(rows);
        for row in 0..rows {
            let mut values = fixed
                .iter()
                .map(|c| ScalarValue::try_from_array(c, row).map(ColumnarValue::Scalar))
                .collect::<Result<Vec<_>>>()?;
            let mut fields = fixed_fields.to_vec();
            // concat's and concat_ws's answer to no arguments: empty text
            // (NULL for concat_ws with a NULL separator).
            let empty = match self.inner.name() {
                "concat" => Some(ScalarValue::Utf8(Some(String::new()))),
                "concat_ws" => Some(match &values[0] {
                    ColumnarValue::Scalar(s) if s.is_null() => ScalarValue::Utf8(None),
                    _ => ScalarValue::Utf8(Some(String::new())),
                }),
                _ => None,
            };
            if arrays.is_null(row) || arrays.data_type() == &DataType::Null {
                if self.null == NullArray::Null {
                    out.push(ScalarValue::Utf8(None));
                    continue;
                }
            } else {
                let elements = match arrays.data_type() {
                    DataType::LargeList(_) => arrays.as_list::<i64>().value(row),
                    _ => arrays.as_list::<i32>().value(row),
                };
                for i in 0..elements.len() {
                    values.push(ColumnarValue::Scalar(ScalarValue::try_from_array(
                        &elements, i,
                    )?));
                    fields.push(Arc::new(Field::new("", elements.data_type().clone(), true)));
                }
                if elements.is_empty()
                    && let Some(value) = empty
                {
                    out.push(value);
                    continue;
                }
            }
            let result = self.inner.invoke_with_args(ScalarFunctionArgs {
                args: values,
                arg_fields: fields,
                number_rows: 1,
                return_field: args.return_field.clone(),
                config_options: args.config_options.clone(),
            })?;
            out.push(match result {
                ColumnarValue::Scalar(s) => s,
                ColumnarValue::Array(a) => ScalarValue::try_from_array(&a, 0)?,
            });
        }
        let array = ScalarValue::iter_to_array(out)?;
        super::shaped_like(&args.args, array)
    }
}
