//! `coalesce` as PostgreSQL types it: an untyped string among arrays is an
//! array literal (`coalesce(relacl, '{}')`, as pgAdmin writes), where
//! DataFusion finds no common type. The string reaches the plan as text,
//! cast to the array type; the text input rule reads that cast by
//! PostgreSQL's array input syntax ([`super::array_input::array_literal`]).

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Coalesce {
    inner: ScalarUDF,
}

impl Default for Coalesce {
    fn default() -> Self {
        Self {
            inner: datafusion::functions::core::coalesce().as_ref().clone(),
        }
    }
}

impl ScalarUDFImpl for Coalesce {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        self.inner.simplify(args, info)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        self.inner.invoke_with_args(args)
    }

    fn conditional_arguments<'a>(
        &self,
        args: &'a [Expr],
    ) -> Option<(Vec<&'a Expr>, Vec<&'a Expr>)> {
        self.inner.inner().conditional_arguments(args)
    }

    fn short_circuits(&self) -> bool {
        self.inner.short_circuits()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let array = arg_types.iter().find(|t| matches!(t, DataType::List(_)));
        let texts_or_arrays = arg_types.iter().all(|t| {
            matches!(
                t,
                DataType::List(_) | DataType::Utf8 | DataType::Utf8View | DataType::Null
            )
        });
        match array {
            Some(array) if texts_or_arrays => Ok(vec![array.clone(); arg_types.len()]),
            _ => self.inner.coerce_types(arg_types),
        }
    }
}
