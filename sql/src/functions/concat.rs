//! `concat` and `concat_ws` with their arguments spelled as PostgreSQL's
//! output functions spell them (`true` is `t`, a timestamp has a space
//! before its time), not as Arrow casts them to text; the joining itself is
//! DataFusion's.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use crate::text_output::{self, TextOptions};

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Concat {
    inner: Arc<ScalarUDF>,
    signature: Signature,
}

impl Concat {
    pub(super) fn new(inner: Arc<ScalarUDF>) -> Self {
        Self {
            inner,
            signature: Signature::user_defined(Volatility::Stable),
        }
    }
}

fn text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
}

impl ScalarUDFImpl for Concat {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Every argument as it is: it is spelled at run time.
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        Ok(args.to_vec())
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let nullable = self.name() == "concat_ws" && args.arg_fields[0].is_nullable();
        Ok(Arc::new(Field::new(self.name(), DataType::Utf8, nullable)))
    }

    fn invoke_with_args(&self, mut args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let style = TextOptions::current(&args.config_options).style();
        for (value, field) in args.args.iter_mut().zip(args.arg_fields.iter_mut()) {
            let data_type = value.data_type();
            if text(&data_type) {
                continue;
            }
            let scalar = matches!(value, ColumnarValue::Scalar(_));
            let array = value.to_array(1.max(args.number_rows))?;
            let spelled: ArrayRef = match &data_type {
                DataType::Boolean => Arc::new(
                    array
                        .as_boolean()
                        .iter()
                        .map(|b| b.map(|b| if b { "t" } else { "f" }))
                        .collect::<StringArray>(),
                ),
                DataType::Null => Arc::new(StringArray::new_null(array.len())),
                _ => text_output::cast_to_text(&array, &style)?,
            };
            *value = match scalar {
                true => ColumnarValue::Scalar(datafusion::common::ScalarValue::try_from_array(
                    &spelled, 0,
                )?),
                false => ColumnarValue::Array(spelled),
            };
            *field = Arc::new(Field::new(field.name(), DataType::Utf8, true));
        }
        args.return_field = Arc::new(Field::new(self.name(), DataType::Utf8, true));
        self.inner.invoke_with_args(args)
    }
}
