//! Arithmetic that fails on overflow, as PostgreSQL's does: Arrow's `+`, `-`
//! and `*` on integers wrap (`2147483647::int4 + 1` would be -2147483648),
//! and on floats give Infinity or 0 (`1e300::float8 * 1e300`), where
//! PostgreSQL raises 22003; a float divided by zero is 22012, not Infinity.

use std::sync::Arc;

use datafusion::arrow::array::Datum;
use datafusion::arrow::compute::kernels::numeric;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::arrow::error::ArrowError;
use datafusion::common::Result as DfResult;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, ExprSchemable, LogicalPlan, Operator, ReturnFieldArgs,
    ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::optimizer::AnalyzerRule;

use crate::error::Error;

/// Replaces `+`, `-` and `*` between two integers of one type, and those and
/// `/` between two floats of one type (after type coercion), with
/// [`CheckedArithmetic`]. Output names stay those of the
/// original expressions, which the plan above refers to.
#[derive(Debug, Default)]
pub struct CheckedOperators;

impl AnalyzerRule for CheckedOperators {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> DfResult<LogicalPlan> {
        let functions = [Op::Add, Op::Subtract, Op::Multiply, Op::Divide]
            .map(|op| Arc::new(ScalarUDF::new_from_impl(CheckedArithmetic::new(op))));
        plan.transform_up_with_subqueries(|node| {
            let schema = super::input_schema(&node);
            let names = NamePreserver::new(&node);
            node.map_expressions(|expr| {
                let name = names.save(&expr);
                let rewritten = expr.transform_up(|e| {
                    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = e else {
                        return Ok(Transformed::no(e));
                    };
                    let function = match op {
                        Operator::Plus => &functions[0],
                        Operator::Minus => &functions[1],
                        Operator::Multiply => &functions[2],
                        Operator::Divide => &functions[3],
                        _ => {
                            return Ok(Transformed::no(Expr::BinaryExpr(BinaryExpr {
                                left,
                                op,
                                right,
                            })));
                        }
                    };
                    let checked = match (left.get_type(&schema), right.get_type(&schema)) {
                        (Ok(l), Ok(r)) if l == r => match l {
                            DataType::Int16 | DataType::Int32 | DataType::Int64 => {
                                op != Operator::Divide
                            }
                            DataType::Float32 | DataType::Float64 => true,
                            _ => false,
                        },
                        _ => false,
                    };
                    if !checked {
                        return Ok(Transformed::no(Expr::BinaryExpr(BinaryExpr {
                            left,
                            op,
                            right,
                        })));
                    }
                    Ok(Transformed::yes(Expr::ScalarFunction(
                        ScalarFunction::new_udf(function.clone(), vec![*left, *right]),
                    )))
                })?;
                Ok(rewritten.update_data(|e| name.restore(e)))
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "checked_operators"
    }
}

use crate::functions::float::{self, Op};

/// `a + b`, `a - b` or `a * b` of two integers of one type, failing with
/// 22003 ("integer out of range") where the result does not fit the type;
/// or those and `a / b` of two floats, with PostgreSQL's float checks.
#[derive(Debug, PartialEq, Eq, Hash)]
struct CheckedArithmetic {
    op: Op,
    signature: Signature,
}

impl CheckedArithmetic {
    fn new(op: Op) -> Self {
        Self {
            op,
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for CheckedArithmetic {
    fn name(&self) -> &str {
        match self.op {
            Op::Add => "checked_plus",
            Op::Subtract => "checked_minus",
            Op::Multiply => "checked_times",
            Op::Divide => "checked_divide",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> DfResult<DataType> {
        Ok(args[0].clone())
    }

    /// Null only where an operand is: the plan's schema keeps a NOT NULL
    /// column's sum NOT NULL, as the operator it replaces did.
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> DfResult<FieldRef> {
        let nullable = args.arg_fields.iter().any(|f| f.is_nullable());
        let data_type = args.arg_fields[0].data_type().clone();
        Ok(Arc::new(Field::new(self.name(), data_type, nullable)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let [left, right] = args.args.as_slice() else {
            return Err(Error::Internal("integer arithmetic takes two operands".into()).into());
        };
        let scalars = matches!(
            (left, right),
            (ColumnarValue::Scalar(_), ColumnarValue::Scalar(_))
        );
        let datum = |value: &ColumnarValue| -> DfResult<Box<dyn Datum>> {
            Ok(match value {
                ColumnarValue::Array(array) => Box::new(array.clone()),
                ColumnarValue::Scalar(scalar) => Box::new(scalar.to_scalar()?),
            })
        };
        let array = if matches!(left.data_type(), DataType::Float32 | DataType::Float64) {
            let rows = args.number_rows;
            float::arithmetic(self.op, &left.to_array(rows)?, &right.to_array(rows)?)?
        } else {
            self.integers(left, right, datum)?
        };
        if scalars {
            let value = datafusion::common::ScalarValue::try_from_array(&array, 0)?;
            return Ok(ColumnarValue::Scalar(value));
        }
        Ok(ColumnarValue::Array(array))
    }
}

impl CheckedArithmetic {
    fn integers(
        &self,
        left: &ColumnarValue,
        right: &ColumnarValue,
        datum: impl Fn(&ColumnarValue) -> DfResult<Box<dyn Datum>>,
    ) -> DfResult<datafusion::arrow::array::ArrayRef> {
        let (l, r) = (datum(left)?, datum(right)?);
        let result = match self.op {
            Op::Add => numeric::add(l.as_ref(), r.as_ref()),
            Op::Subtract => numeric::sub(l.as_ref(), r.as_ref()),
            Op::Multiply => numeric::mul(l.as_ref(), r.as_ref()),
            Op::Divide => numeric::div(l.as_ref(), r.as_ref()),
        };
        let array = result.map_err(|e| match e {
            ArrowError::ArithmeticOverflow(_) => {
                let word = match left.data_type() {
                    DataType::Int16 => "smallint",
                    DataType::Int32 => "integer",
                    _ => "bigint",
                };
                Error::NumericValueOutOfRange(format!("{word} out of range")).into()
            }
            other => datafusion::error::DataFusionError::from(other),
        })?;
        Ok(array)
    }
}
