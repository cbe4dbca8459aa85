//! A scalar subquery with no row is NULL, whatever column it reads:
//! `(SELECT id FROM users WHERE email = 'nobody')` is NULL even though `id`
//! is NOT NULL. DataFusion gives such a subquery its column's nullability,
//! so the NULL it yields broke the result's schema ("null value in column
//! violates not-null constraint"). The subquery's value passes through
//! [`Nullable`], which says it may be NULL.

use super::*;
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::{ReturnFieldArgs, Subquery};

#[derive(Debug, Default)]
pub struct NullableSubqueries;

impl AnalyzerRule for NullableSubqueries {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> DfResult<LogicalPlan> {
        let nullable = Arc::new(ScalarUDF::new_from_impl(Nullable::default()));
        plan.transform_up_with_subqueries(|node| {
            node.map_expressions(|expr| {
                expr.transform_up(|e| match e {
                    Expr::ScalarSubquery(subquery)
                        if subquery
                            .subquery
                            .schema()
                            .fields()
                            .first()
                            .is_some_and(|f| !f.is_nullable()) =>
                    {
                        let inner = subquery.subquery.as_ref().clone();
                        let (qualifier, field) = inner.schema().qualified_field(0);
                        let value = Expr::ScalarFunction(ScalarFunction::new_udf(
                            nullable.clone(),
                            vec![Expr::Column(Column::from((qualifier, field)))],
                        ))
                        .alias_qualified(qualifier.cloned(), field.name());
                        let plan = LogicalPlanBuilder::from(inner)
                            .project(vec![value])?
                            .build()?;
                        Ok(Transformed::yes(Expr::ScalarSubquery(Subquery {
                            subquery: Arc::new(plan),
                            outer_ref_columns: subquery.outer_ref_columns,
                            spans: subquery.spans,
                        })))
                    }
                    other => Ok(Transformed::no(other)),
                })
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "enishi_nullable_subqueries"
    }
}

/// Its argument, as a value that may be NULL.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Nullable {
    signature: Signature,
}

impl Default for Nullable {
    fn default() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Nullable {
    fn name(&self) -> &str {
        "pg_nullable"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> DfResult<DataType> {
        Ok(args[0].clone())
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> DfResult<FieldRef> {
        let field = args.arg_fields[0].as_ref().clone();
        Ok(Arc::new(field.with_name(self.name()).with_nullable(true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        Ok(args.args[0].clone())
    }
}
