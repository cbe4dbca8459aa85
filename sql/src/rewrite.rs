//! Plan rewrites that give DataFusion plans PostgreSQL's meaning.
//!
//! - [`infer_placeholder_types`]: `$1::integer` types `$1` as integer and
//!   `x = ANY($1)` types it as an array of x's type, as PostgreSQL infers them,
//!   so drivers are told what to send.
//! - [`TextInput`]: text cast to bytea, interval or timestamp reads PostgreSQL's
//!   input syntax (`'\x00ff'` is two bytes, not six; `'1 day 02:00:00'` is an
//!   interval; `'2026-01-01 10:00'` is a timestamp),
//!   wherever the cast comes from: an explicit `::bytea`, or an INSERT of a string
//!   literal into a bytea column; and a float, date/time or interval cast to
//!   text is spelled as PostgreSQL's output function spells it.
//! - [`BlankPadded`]: `char(n)` values are compared, measured, joined,
//!   listed and matched without their padding.
//! - [`IntervalOrder`]: intervals compare and sort by their length, as
//!   PostgreSQL's do (`'1 month' = '30 days'`).
//! - [`TimestampMicros`]: timestamps are compared in microseconds, not in
//!   nanoseconds, which hold only 1677 to 2262.
//! - [`UntypedLiterals`]: a bare string among a CASE's results or COALESCE's
//!   arguments takes the others' type, as PostgreSQL's unknown literals do.
//! - [`NullableSubqueries`]: a scalar subquery may be NULL (no row), whatever
//!   the nullability of the column it reads.
//! - [`SubqueriesAfterDistinctOn`]: subqueries in a `SELECT DISTINCT ON` list
//!   are computed after the rows are chosen.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, IntervalMonthDayNanoArray, StringArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, IntervalMonthDayNanoType, IntervalUnit};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, ScalarValue};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::expr::{Cast, Placeholder, ScalarFunction};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{
    ColumnarValue, Distinct, DistinctOn, Expr, ExprSchemable, LogicalPlan, LogicalPlanBuilder,
    Projection, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, SortExpr, TypeSignature,
    Volatility,
};
use datafusion::optimizer::AnalyzerRule;

use crate::error::Error;
use crate::functions::{float, numeric};
use crate::interval::{self, Interval, Typmod};
use crate::text_output::{self, TextOptions};
use crate::types;

mod blank_padded;
mod checked;
mod datetime_input;
mod empty_unions;
mod interval_order;
mod nullable_subqueries;
mod numeric_specials;
mod placeholders;
mod text_input;
mod timestamp_micros;
mod untyped_literals;
mod volatile_after_sort;

pub use blank_padded::BlankPadded;
pub use checked::CheckedOperators;
pub use empty_unions::EmptyUnionBranches;
pub use interval_order::IntervalOrder;
pub use nullable_subqueries::NullableSubqueries;
pub use numeric_specials::NumericSpecials;
pub use placeholders::infer_placeholder_types;
pub use timestamp_micros::TimestampMicros;
pub use untyped_literals::UntypedLiterals;
pub use volatile_after_sort::VolatileAfterSort;

use text_input::*;
pub(crate) use text_input::{INTERVAL_IN, TIMESTAMP_IN};

/// Whether `op` compares its operands (the operators whose meaning the
/// rules above give PostgreSQL's for a type).
fn is_comparison(op: datafusion::logical_expr::Operator) -> bool {
    use datafusion::logical_expr::Operator::*;
    matches!(
        op,
        Eq | NotEq | Lt | LtEq | Gt | GtEq | IsDistinctFrom | IsNotDistinctFrom
    )
}

/// The schema a node's expressions are typed against: its inputs' (a
/// projection's own schema names its outputs), merged when there are several.
fn input_schema(node: &LogicalPlan) -> datafusion::common::DFSchemaRef {
    match node.inputs().as_slice() {
        [] => node.schema().clone(),
        [input] => input.schema().clone(),
        inputs => {
            let mut merged = datafusion::common::DFSchema::empty();
            for input in inputs {
                merged.merge(input.schema());
            }
            Arc::new(merged)
        }
    }
}

/// The interval input function, callable by name: interval literals and casts
/// with a type modifier become calls of it.
pub(crate) fn interval_in() -> ScalarUDF {
    ScalarUDF::new_from_impl(PgIntervalIn::default())
}

/// The date and timestamp input function, callable by name: a table
/// function's constant arguments become calls of it (see
/// `statement::naming::datetime_casts_as_input_calls`).
pub(crate) fn timestamp_in() -> ScalarUDF {
    ScalarUDF::new_from_impl(PgTimestampIn::default())
}

/// Replaces casts from text to bytea, interval, timestamp and float with
/// PostgreSQL's input functions ([`BYTEA_IN`], [`INTERVAL_IN`], float8in):
/// Arrow's casts read other syntaxes. A cast of a float to an integer rounds
/// first, as PostgreSQL's does. A
/// cast of a float, date/time or interval to text becomes
/// [`text_output::TextOut`], PostgreSQL's spelling.
#[derive(Debug, Default)]
pub struct TextInput;

impl AnalyzerRule for TextInput {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> DfResult<LogicalPlan> {
        let bytea = Arc::new(ScalarUDF::new_from_impl(PgByteaIn::default()));
        let interval = Arc::new(ScalarUDF::new_from_impl(PgIntervalIn::default()));
        let timestamp = Arc::new(ScalarUDF::new_from_impl(PgTimestampIn::default()));
        let time = Arc::new(ScalarUDF::new_from_impl(PgTimeIn::default()));
        let text_out = Arc::new(ScalarUDF::new_from_impl(text_output::TextOut::default()));
        let float8 = Arc::new(ScalarUDF::new_from_impl(float::FloatIn::new(false)));
        let float4 = Arc::new(ScalarUDF::new_from_impl(float::FloatIn::new(true)));
        let to_real = Arc::new(ScalarUDF::new_from_impl(float::ToReal::default()));
        let numeric_in = Arc::new(ScalarUDF::new_from_impl(numeric::NumericIn::default()));
        let char_in = Arc::new(ScalarUDF::new_from_impl(PgCharIn::default()));
        let round_even = Arc::new(ScalarUDF::new_from_impl(
            crate::functions::math::Checked::new(datafusion::functions::math::round()),
        ));
        plan.transform_up_with_subqueries(|node| {
            let schema = node.schema().clone();
            let inputs_schema = node.inputs().first().map(|i| i.schema().clone());
            // A cast's output name is its operand's; the functions keep it.
            let names = NamePreserver::new(&node);
            node.map_expressions(|expr| {
                let name = names.save(&expr);
                let rewritten = expr.transform_up(|e| {
                    let Expr::Cast(Cast { expr, field }) = e else {
                        return Ok(Transformed::no(e));
                    };
                    let source = inputs_schema.as_ref().unwrap_or(&schema);
                    // PostgreSQL rounds numeric to integer (half away from
                    // zero); Arrow's cast truncates.
                    // NaN and the infinities have no integer (22003).
                    if field.data_type().is_integer()
                        && matches!(expr.get_type(source), Ok(DataType::Decimal128(..)))
                    {
                        let to = match field.data_type() {
                            DataType::Int16 => "smallint",
                            DataType::Int32 => "integer",
                            _ => "bigint",
                        };
                        let finite = ScalarUDF::new_from_impl(numeric::Finite::new(
                            numeric::Refusal::Integer(to),
                        ));
                        let checked = finite.call(vec![*expr]);
                        let rounded = match checked.get_type(source) {
                            Ok(DataType::Decimal128(_, s)) if s > 0 => {
                                datafusion::functions::math::expr_fn::round(vec![checked])
                            }
                            _ => checked,
                        };
                        return Ok(Transformed::yes(Expr::Cast(Cast {
                            expr: Box::new(rounded),
                            field,
                        })));
                    }
                    // A float rounds to the nearest integer, halves to even
                    // (rint); Arrow's cast truncates.
                    if field.data_type().is_integer()
                        && matches!(
                            expr.get_type(source),
                            Ok(DataType::Float32 | DataType::Float64)
                        )
                    {
                        let rounded = Expr::ScalarFunction(ScalarFunction::new_udf(
                            round_even.clone(),
                            vec![*expr],
                        ));
                        return Ok(Transformed::yes(Expr::Cast(Cast {
                            expr: Box::new(rounded),
                            field,
                        })));
                    }
                    if field.data_type() == &DataType::Float32
                        && matches!(expr.get_type(source), Ok(DataType::Float64))
                    {
                        return Ok(Transformed::yes(Expr::ScalarFunction(
                            ScalarFunction::new_udf(to_real.clone(), vec![*expr]),
                        )));
                    }
                    let is_text = |t: &DataType| {
                        matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
                    };
                    // A string literal made an array by type coercion
                    // (`coalesce(acl, '{}')`) reads as an array literal.
                    if let DataType::List(_) = field.data_type()
                        && let Expr::Literal(ScalarValue::Utf8(Some(_)), None) = expr.as_ref()
                    {
                        let ty = field.data_type().clone();
                        return crate::functions::array_input::array_literal(*expr, &ty)
                            .map(Transformed::yes);
                    }
                    // Text to json or jsonb through their input functions:
                    // checked, and jsonb in its canonical form.
                    if let Some((oid @ (types::oid::JSON | types::oid::JSONB), _)) =
                        types::declared(&field)
                        && expr
                            .get_type(source)
                            .is_ok_and(|t| is_text(&t) || t.is_null())
                    {
                        let name = match oid {
                            types::oid::JSONB => "jsonb_in",
                            _ => "json_in",
                        };
                        let input = crate::json::functions::all()
                            .into_iter()
                            .find(|f| datafusion::logical_expr::ScalarUDFImpl::name(f) == name)
                            .expect("json input functions");
                        let call = ScalarUDF::new_from_impl(input).call(vec![*expr]);
                        return Ok(Transformed::yes(Expr::Cast(Cast {
                            expr: Box::new(call),
                            field,
                        })));
                    }
                    if types::declared(&field).is_some_and(|(oid, _)| oid == types::oid::CHAR)
                        && expr.get_type(source).is_ok_and(|t| is_text(&t))
                    {
                        let call = Expr::ScalarFunction(ScalarFunction::new_udf(
                            char_in.clone(),
                            vec![*expr],
                        ));
                        return Ok(Transformed::yes(Expr::Cast(Cast {
                            expr: Box::new(call),
                            field,
                        })));
                    }
                    // To text through PostgreSQL's output function, as the wire
                    // shows the value.
                    if is_text(field.data_type())
                        && let Ok(from) = expr.get_type(source)
                        && text_output::renders(&from)
                    {
                        let call = Expr::ScalarFunction(ScalarFunction::new_udf(
                            text_out.clone(),
                            vec![*expr],
                        ));
                        return Ok(Transformed::yes(if field.data_type() == &DataType::Utf8 {
                            call
                        } else {
                            Expr::Cast(Cast {
                                expr: Box::new(call),
                                field,
                            })
                        }));
                    }
                    let (udf, output) = match field.data_type() {
                        DataType::Binary | DataType::BinaryView | DataType::LargeBinary => {
                            (&bytea, DataType::Binary)
                        }
                        DataType::Timestamp(_, _) | DataType::Date32 => {
                            (&timestamp, field.data_type().clone())
                        }
                        DataType::Time64(_) => (&time, field.data_type().clone()),
                        DataType::Interval(IntervalUnit::MonthDayNano) => {
                            (&interval, field.data_type().clone())
                        }
                        DataType::Decimal128(..) => (&numeric_in, field.data_type().clone()),
                        DataType::Float64 => (&float8, DataType::Float64),
                        DataType::Float32 => (&float4, DataType::Float32),
                        _ => return Ok(Transformed::no(Expr::Cast(Cast { expr, field }))),
                    };
                    if !expr.get_type(source).is_ok_and(|t| is_text(&t)) {
                        return Ok(Transformed::no(Expr::Cast(Cast { expr, field })));
                    }
                    // timestamp_in, time_in and numeric_in learn their result
                    // type from a typed NULL.
                    let args = if Arc::ptr_eq(udf, &timestamp)
                        || Arc::ptr_eq(udf, &time)
                        || Arc::ptr_eq(udf, &numeric_in)
                    {
                        let target = Expr::Cast(Cast {
                            expr: Box::new(Expr::Literal(ScalarValue::Null, None)),
                            field: field.clone(),
                        });
                        vec![*expr, target]
                    } else {
                        vec![*expr]
                    };
                    let call = Expr::ScalarFunction(ScalarFunction::new_udf(udf.clone(), args));
                    // byteain yields Binary; tables may expose BinaryView.
                    let call = if field.data_type() == &output {
                        call
                    } else {
                        Expr::Cast(Cast {
                            expr: Box::new(call),
                            field,
                        })
                    };
                    Ok(Transformed::yes(call))
                })?;
                Ok(rewritten.update_data(|e| name.restore(e)))
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "enishi_text_input"
    }
}

/// `SELECT DISTINCT ON (k) …, (subquery)`: DataFusion runs subqueries in a
/// projection, but not in DISTINCT ON's own select list (pgAdmin's column and
/// index listings have them there). The rows are chosen first, keeping every
/// column of the input, and the select list is computed over the chosen rows.
#[derive(Debug)]
pub struct SubqueriesAfterDistinctOn;

impl AnalyzerRule for SubqueriesAfterDistinctOn {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> DfResult<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            let LogicalPlan::Distinct(Distinct::On(on)) = node else {
                return Ok(Transformed::no(node));
            };
            let has_subquery = on.select_expr.iter().any(|e| {
                e.exists(|e| {
                    Ok(matches!(
                        e,
                        Expr::ScalarSubquery(_) | Expr::Exists(_) | Expr::InSubquery(_)
                    ))
                })
                .unwrap_or(false)
            });
            if !has_subquery {
                return Ok(Transformed::no(LogicalPlan::Distinct(Distinct::On(on))));
            }
            let columns = on
                .input
                .schema()
                .columns()
                .into_iter()
                .map(Expr::Column)
                .collect();
            let width = on.select_expr.len();
            // The chosen rows come in ORDER BY's order of the DISTINCT ON keys;
            // the joins the subqueries become do not keep it, so the keys are
            // carried to a sort above them.
            let order: Vec<SortExpr> = on
                .sort_expr
                .iter()
                .flatten()
                .take(on.on_expr.len())
                .cloned()
                .collect();
            let mut select = on.select_expr;
            let mut keys = Vec::with_capacity(order.len());
            for (i, sort) in order.iter().enumerate() {
                let name = format!("__distinct_on_{i}");
                select.push(sort.expr.clone().alias(&name));
                keys.push(SortExpr {
                    expr: Expr::Column(Column::from_name(name)),
                    ..sort.clone()
                });
            }
            let chosen = DistinctOn::try_new(on.on_expr, columns, on.sort_expr, on.input)?;
            let computed = LogicalPlan::Projection(Projection::try_new(
                select,
                Arc::new(LogicalPlan::Distinct(Distinct::On(chosen))),
            )?);
            if keys.is_empty() {
                return Ok(Transformed::yes(computed));
            }
            let shown = (0..width)
                .map(|i| Expr::Column(Column::from(computed.schema().qualified_field(i))))
                .collect();
            let sorted = LogicalPlanBuilder::from(computed).sort(keys)?.build()?;
            Ok(Transformed::yes(LogicalPlan::Projection(
                Projection::try_new(shown, Arc::new(sorted))?,
            )))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "subqueries_after_distinct_on"
    }
}

/// Column numbering copies of equal rows for [`set_operations_all`].
const DUPLICATE_COLUMN: &str = "__enishi_copy";

/// Gives `EXCEPT ALL` and `INTERSECT ALL` their multiset meaning. DataFusion
/// plans them as an anti or semi join on every column, which drops every copy
/// of a row the right side holds (apache/datafusion#12956). Numbering the
/// copies of each row on both sides and joining on the number too keeps
/// max(m - n, 0) copies for EXCEPT ALL and min(m, n) for INTERSECT ALL, as
/// PostgreSQL does. The DISTINCT forms (whose left side is a Distinct) are
/// left alone.
pub fn set_operations_all(plan: LogicalPlan) -> DfResult<LogicalPlan> {
    use datafusion::common::{Column, NullEquality};
    use datafusion::logical_expr::{ExprFunctionExt, JoinType, LogicalPlanBuilder};
    let numbered = |plan: LogicalPlan| -> DfResult<LogicalPlan> {
        let columns: Vec<Expr> = plan
            .schema()
            .columns()
            .into_iter()
            .map(Expr::Column)
            .collect();
        let copy = datafusion::functions_window::expr_fn::row_number()
            .partition_by(columns)
            .build()?
            .alias(DUPLICATE_COLUMN);
        LogicalPlanBuilder::from(plan).window(vec![copy])?.build()
    };
    plan.transform_up_with_subqueries(|node| {
        let LogicalPlan::Join(join) = &node else {
            return Ok(Transformed::no(node));
        };
        let set_operation = matches!(join.join_type, JoinType::LeftAnti | JoinType::LeftSemi)
            && join.null_equality == NullEquality::NullEqualsNull
            && join.filter.is_none()
            && join.on.len() == join.left.schema().fields().len()
            && !matches!(join.left.as_ref(), LogicalPlan::Distinct(_));
        if !set_operation {
            return Ok(Transformed::no(node));
        }
        let LogicalPlan::Join(join) = node else {
            unreachable!()
        };
        let output: Vec<Expr> = join
            .left
            .schema()
            .columns()
            .into_iter()
            .map(Expr::Column)
            .collect();
        let left = numbered(Arc::unwrap_or_clone(join.left))?;
        let right = numbered(Arc::unwrap_or_clone(join.right))?;
        let keys = |plan: &LogicalPlan| -> Vec<Column> {
            plan.schema()
                .fields()
                .iter()
                .map(|f| Column::from_name(f.name()))
                .collect()
        };
        let (left_keys, right_keys) = (keys(&left), keys(&right));
        let plan = LogicalPlanBuilder::from(left)
            .join_detailed(
                right,
                join.join_type,
                (left_keys, right_keys),
                None,
                NullEquality::NullEqualsNull,
            )?
            .project(output)?
            .build()?;
        Ok(Transformed::yes(plan))
    })
    .map(|t| t.data)
}

/// `ceil`, `floor`, `round` and `trunc` of a numeric with one argument give
/// an integral numeric, shown with scale 0 as PostgreSQL does (`ceil(4.2)` is
/// `5`, not `5.0`).
pub fn integral_numeric_functions(plan: LogicalPlan) -> DfResult<LogicalPlan> {
    use datafusion::logical_expr::expr_rewriter::NamePreserver;
    plan.transform_up_with_subqueries(|node| {
        let Some(input_schema) = node.inputs().first().map(|i| i.schema().clone()) else {
            return Ok(Transformed::no(node));
        };
        let names = NamePreserver::new(&node);
        node.map_expressions(|expr| {
            let saved = names.save(&expr);
            let rewritten = expr.transform_up(|e| {
                let Expr::ScalarFunction(f) = &e else {
                    return Ok(Transformed::no(e));
                };
                if !matches!(f.name(), "ceil" | "floor" | "round" | "trunc") || f.args.len() != 1 {
                    return Ok(Transformed::no(e));
                }
                let target = match f.args[0].get_type(&input_schema) {
                    Ok(DataType::Decimal128(p, s)) if s > 0 => DataType::Decimal128(p, 0),
                    Ok(DataType::Decimal256(p, s)) if s > 0 => DataType::Decimal256(p, 0),
                    _ => return Ok(Transformed::no(e)),
                };
                Ok(Transformed::yes(Expr::Cast(Cast::new(Box::new(e), target))))
            })?;
            Ok(if rewritten.transformed {
                Transformed::yes(saved.restore(rewritten.data))
            } else {
                rewritten
            })
        })
    })
    .map(|t| t.data)
}

/// INSERT and UPDATE into an unconstrained `numeric` column check, before
/// the cast to the column's decimal type, that the cast would not round the
/// value ([`crate::functions::math::NumericExact`]): the value the client
/// stored is the value read back, or the write fails with 22003. Constants
/// are checked now; computed values as the rows are made. The casts sit in
/// the DML's projection, or in the VALUES under it.
pub fn exact_numeric_writes(plan: LogicalPlan) -> DfResult<LogicalPlan> {
    plan.transform_up(|node| {
        let LogicalPlan::Dml(mut dml) = node else {
            return Ok(Transformed::no(node));
        };
        let target = dml.target.schema();
        let LogicalPlan::Projection(projection) = dml.input.as_ref() else {
            return Ok(Transformed::no(LogicalPlan::Dml(dml)));
        };
        let mut input = projection.input.as_ref().clone();
        let mut changed = false;
        let mut exprs = Vec::with_capacity(projection.expr.len());
        for (expr, field) in projection.expr.iter().zip(projection.schema.fields()) {
            let scale = target
                .field_with_name(field.name())
                .ok()
                .filter(|f| crate::types::declared(f) == Some((crate::types::oid::NUMERIC, -1)))
                .and_then(|f| match f.data_type() {
                    DataType::Decimal128(_, s) => Some(*s),
                    _ => None,
                });
            let Some(scale) = scale else {
                exprs.push(expr.clone());
                continue;
            };
            match expr.clone().unalias_nested().data {
                cast @ Expr::Cast(_) => {
                    exprs.push(checked_cast(cast, scale)?.alias(field.name()));
                    changed = true;
                }
                // `columnN AS x` over VALUES, whose rows hold the casts.
                Expr::Column(column) => {
                    if let LogicalPlan::Values(values) = &mut input
                        && let Ok(index) = values.schema.index_of_column(&column)
                    {
                        for row in &mut values.values {
                            if let Some(cell) = row.get_mut(index)
                                && matches!(cell, Expr::Cast(_))
                            {
                                *cell = checked_cast(cell.clone(), scale)?;
                                changed = true;
                            }
                        }
                    }
                    exprs.push(expr.clone());
                }
                _ => exprs.push(expr.clone()),
            }
        }
        if !changed {
            return Ok(Transformed::no(LogicalPlan::Dml(dml)));
        }
        let projection = datafusion::logical_expr::Projection::try_new(exprs, Arc::new(input))?;
        dml.input = Arc::new(LogicalPlan::Projection(projection));
        Ok(Transformed::yes(LogicalPlan::Dml(dml)))
    })
    .map(|t| t.data)
}

/// `CAST(e AS decimal)` with [`crate::functions::math::NumericExact`] in
/// front of `e`; a constant `e` is checked at once instead.
fn checked_cast(cast: Expr, scale: i8) -> DfResult<Expr> {
    let Expr::Cast(Cast { expr: inner, field }) = cast else {
        return Ok(cast);
    };
    let check = crate::functions::math::NumericExact::new(scale);
    if let Expr::Literal(value, _) = inner.as_ref() {
        let args = ScalarFunctionArgs {
            args: vec![ColumnarValue::Scalar(value.clone())],
            arg_fields: vec![Arc::new(Field::new("v", value.data_type(), true))],
            number_rows: 1,
            return_field: Arc::new(Field::new("v", value.data_type(), true)),
            config_options: Arc::new(ConfigOptions::default()),
        };
        check.invoke_with_args(args)?;
        return Ok(Expr::Cast(Cast { expr: inner, field }));
    }
    let check = ScalarUDF::new_from_impl(check);
    Ok(Expr::Cast(Cast {
        expr: Box::new(check.call(vec![*inner])),
        field,
    }))
}

/// Results PostgreSQL types as integers that DataFusion computes unsigned
/// (`row_number`, `rank`, `ntile`, `array_length`, `cardinality`, …) are
/// returned signed: clients are told int8 (int4, int2 for the narrower
/// ones), not numeric.
pub fn signed_outputs(plan: LogicalPlan) -> DfResult<LogicalPlan> {
    let signed = |ty: &DataType| match ty {
        DataType::UInt64 | DataType::UInt32 => Some(DataType::Int64),
        DataType::UInt16 => Some(DataType::Int32),
        DataType::UInt8 => Some(DataType::Int16),
        _ => None,
    };
    let queries = !matches!(
        plan,
        LogicalPlan::Dml(_)
            | LogicalPlan::Ddl(_)
            | LogicalPlan::Explain(_)
            | LogicalPlan::Analyze(_)
            | LogicalPlan::DescribeTable(_)
            | LogicalPlan::Statement(_)
            | LogicalPlan::Copy(_)
    );
    if !queries
        || !plan
            .schema()
            .fields()
            .iter()
            .any(|f| signed(f.data_type()).is_some())
    {
        return Ok(plan);
    }
    let exprs = plan
        .schema()
        .iter()
        .map(|(qualifier, field)| {
            let column = Expr::Column(Column::from((qualifier, field)));
            match signed(field.data_type()) {
                Some(to) => Expr::Cast(Cast::new(Box::new(column), to))
                    .alias_qualified(qualifier.cloned(), field.name()),
                None => column,
            }
        })
        .collect::<Vec<_>>();
    Ok(LogicalPlan::Projection(Projection::try_new(
        exprs,
        Arc::new(plan),
    )?))
}
