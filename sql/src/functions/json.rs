//! `json_build_object` and the writer of `row_to_json`'s objects.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

/// `json_build_object(key, value, …)`: a JSON object of the pairs, written
/// as PostgreSQL writes it (`{"a" : 1, "b" : "x"}`); and `pg_row_json(key,
/// value, …)`, the same object as row_to_json writes a row (`{"a":1,"b":"x"}`).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct JsonBuildObject {
    name: &'static str,
    /// Between a key and its value, and between pairs.
    separators: (&'static str, &'static str),
    signature: Signature,
}

/// The name of the row_to_json writer (see `statement`).
pub const ROW_JSON: &str = "pg_row_json";

impl JsonBuildObject {
    pub(super) fn spaced() -> Self {
        Self {
            name: "json_build_object",
            separators: (" : ", ", "),
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }

    pub(super) fn compact() -> Self {
        Self {
            name: ROW_JSON,
            separators: (":", ","),
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for JsonBuildObject {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        if !args.len().is_multiple_of(2) {
            return Err(crate::error::Error::InvalidParameterValue(
                "argument list must have even number of elements".into(),
            )
            .into());
        }
        Ok(DataType::Utf8)
    }

    /// The object is json (clients decode it as such).
    fn return_field_from_args(
        &self,
        args: datafusion::logical_expr::ReturnFieldArgs,
    ) -> Result<datafusion::arrow::datatypes::FieldRef> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let data_type = self.return_type(&types)?;
        let field = crate::types::ColumnType::new(data_type, crate::types::oid::JSON)
            .field(self.name, true);
        Ok(Arc::new(field))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let mut columns = Vec::with_capacity(args.args.len());
        for arg in &args.args {
            let array = arg.to_array(rows)?;
            let bare = array.data_type().is_numeric() || array.data_type() == &DataType::Boolean;
            let text = datafusion::arrow::compute::cast(&array, &DataType::Utf8)?;
            columns.push((text, bare));
        }
        let mut out = Vec::with_capacity(rows);
        for row in 0..rows {
            let mut object = String::from("{");
            for (i, pair) in columns.chunks(2).enumerate() {
                let [(key, _), (value, bare)] = pair else {
                    unreachable!("even count checked at planning")
                };
                let key = key.as_any().downcast_ref::<StringArray>().expect("text");
                let value = value.as_any().downcast_ref::<StringArray>().expect("text");
                if key.is_null(row) {
                    return Err(crate::error::Error::InvalidParameterValue(
                        "null value not allowed for object key".into(),
                    )
                    .into());
                }
                if i > 0 {
                    object.push_str(self.separators.1);
                }
                enishi_storage::json::write_string(key.value(row), &mut object);
                object.push_str(self.separators.0);
                match (value.is_null(row), bare) {
                    (true, _) => object.push_str("null"),
                    (false, true) => object.push_str(value.value(row)),
                    (false, false) => {
                        enishi_storage::json::write_string(value.value(row), &mut object)
                    }
                }
            }
            object.push('}');
            out.push(Some(object));
        }
        Ok(ColumnarValue::Array(
            Arc::new(StringArray::from(out)) as ArrayRef
        ))
    }
}
