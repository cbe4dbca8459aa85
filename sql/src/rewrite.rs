//! Plan rewrites that give DataFusion plans PostgreSQL's meaning.
//!
//! - [`infer_placeholder_casts`]: `$1::integer` types `$1` as integer, as PostgreSQL
//!   infers it, so drivers are told to send an integer.
//! - [`ByteaInput`]: text cast to bytea reads PostgreSQL's bytea input syntax
//!   (`'\x00ff'` is two bytes, not six), wherever the cast comes from: an explicit
//!   `::bytea`, or an INSERT of a string literal into a bytea column.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BinaryBuilder, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::expr::{Cast, Placeholder, ScalarFunction};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ExprSchemable, LogicalPlan, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, Volatility,
};
use datafusion::optimizer::AnalyzerRule;

use crate::error::Error;

/// Gives an untyped placeholder the type it is cast to.
pub fn infer_placeholder_casts(plan: LogicalPlan) -> DfResult<LogicalPlan> {
    plan.transform_up_with_subqueries(|node| {
        node.map_expressions(|expr| {
            expr.transform_up(|e| match e {
                Expr::Cast(Cast { expr, field })
                    if matches!(
                        expr.as_ref(),
                        Expr::Placeholder(Placeholder { field: None, .. })
                    ) =>
                {
                    let Expr::Placeholder(mut placeholder) = *expr else {
                        unreachable!()
                    };
                    placeholder.field =
                        Some(Arc::new(Field::new("", field.data_type().clone(), true)));
                    Ok(Transformed::yes(Expr::Cast(Cast {
                        expr: Box::new(Expr::Placeholder(placeholder)),
                        field,
                    })))
                }
                other => Ok(Transformed::no(other)),
            })
        })
    })
    .map(|t| t.data)
}

/// Replaces casts from text to bytea with [`BYTEA_IN`].
#[derive(Debug, Default)]
pub struct ByteaInput;

impl AnalyzerRule for ByteaInput {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> DfResult<LogicalPlan> {
        let udf = Arc::new(ScalarUDF::new_from_impl(PgByteaIn::default()));
        plan.transform_up_with_subqueries(|node| {
            let schema = node.schema().clone();
            let inputs_schema = node.inputs().first().map(|i| i.schema().clone());
            node.map_expressions(|expr| {
                expr.transform_up(|e| match e {
                    Expr::Cast(Cast { expr, field })
                        if matches!(
                            field.data_type(),
                            DataType::Binary | DataType::BinaryView | DataType::LargeBinary
                        ) =>
                    {
                        let source = inputs_schema.as_ref().unwrap_or(&schema);
                        let is_text = matches!(
                            expr.get_type(source),
                            Ok(DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
                        );
                        if !is_text {
                            return Ok(Transformed::no(Expr::Cast(Cast { expr, field })));
                        }
                        let call =
                            Expr::ScalarFunction(ScalarFunction::new_udf(udf.clone(), vec![*expr]));
                        // byteain yields Binary; tables may expose BinaryView.
                        let call = if field.data_type() == &DataType::Binary {
                            call
                        } else {
                            Expr::Cast(Cast {
                                expr: Box::new(call),
                                field,
                            })
                        };
                        Ok(Transformed::yes(call))
                    }
                    other => Ok(Transformed::no(other)),
                })
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "enishi_bytea_input"
    }
}

/// The name of the bytea input function.
pub const BYTEA_IN: &str = "byteain";

#[derive(Debug, PartialEq, Eq, Hash)]
struct PgByteaIn {
    signature: Signature,
}

impl Default for PgByteaIn {
    fn default() -> Self {
        Self {
            signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for PgByteaIn {
    fn name(&self) -> &str {
        BYTEA_IN
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Binary)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        let input = cast(&input, &DataType::Utf8)?;
        let text = input
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to Utf8");
        let mut out = BinaryBuilder::with_capacity(text.len(), text.len() * 8);
        for value in text.iter() {
            match value {
                None => out.append_null(),
                Some(s) => out.append_value(parse_bytea(s).map_err(DataFusionError::from)?),
            }
        }
        let array: ArrayRef = Arc::new(out.finish());
        Ok(ColumnarValue::Array(array))
    }
}

/// PostgreSQL's bytea input: hex (`\x00ff`) or escape format (`a\\b\001`).
pub fn parse_bytea(s: &str) -> Result<Vec<u8>, Error> {
    let invalid = || Error::InvalidTextRepresentation("invalid input syntax for type bytea".into());
    if let Some(hex) = s.strip_prefix("\\x").or_else(|| s.strip_prefix("\\X")) {
        let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if !digits.len().is_multiple_of(2) {
            return Err(Error::InvalidTextRepresentation(
                "invalid hexadecimal data: odd number of digits".into(),
            ));
        }
        return digits
            .chunks(2)
            .map(|pair| {
                let text = std::str::from_utf8(pair).map_err(|_| invalid())?;
                u8::from_str_radix(text, 16).map_err(|_| {
                    Error::InvalidTextRepresentation(format!(
                        "invalid hexadecimal digit: \"{text}\""
                    ))
                })
            })
            .collect();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
        } else if bytes.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            let octal = bytes.get(i + 1..i + 4).ok_or_else(invalid)?;
            let text = std::str::from_utf8(octal).map_err(|_| invalid())?;
            if !text.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return Err(invalid());
            }
            out.push(u8::from_str_radix(text, 8).map_err(|_| invalid())?);
            i += 4;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytea_input_formats() {
        assert_eq!(parse_bytea("\\x00ff").unwrap(), vec![0, 255]);
        assert_eq!(parse_bytea("\\xDE AD").unwrap(), vec![0xde, 0xad]);
        assert_eq!(parse_bytea("ab\\\\c\\001").unwrap(), b"ab\\c\x01".to_vec());
        assert!(parse_bytea("\\x0").is_err());
        assert!(parse_bytea("\\xzz").is_err());
        assert!(parse_bytea("a\\9").is_err());
    }
}
