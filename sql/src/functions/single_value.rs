//! A scalar subquery's one value: `pg_single_value(x)` aggregates the rows
//! into `{value, rows}`, and `pg_single_value_of(that)` gives the value, NULL
//! when there was no row, and PostgreSQL's error 21000 when there were more.
//!
//! DataFusion plans a correlated scalar subquery only when it aggregates (it
//! decorrelates it into a join with the subquery grouped by the correlated
//! columns). PostgreSQL runs any such subquery and fails at run time if it
//! returns more than one row. Statements read the select-list expression of a
//! non-aggregating correlated subquery through these two
//! (`statement::scalar_subqueries_single_value`). The error is raised where
//! the value is read, so only for the outer rows that read it, as in
//! PostgreSQL; the grouped join computes every group.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};

use crate::error::Error;

pub const NAME: &str = "pg_single_value";
pub const VALUE_OF: &str = "pg_single_value_of";

/// The aggregate's result type for values of `value`.
fn counted(value: &DataType) -> DataType {
    DataType::Struct(Fields::from(vec![
        Field::new("value", value.clone(), true),
        Field::new("rows", DataType::Int64, false),
    ]))
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct SingleValue {
    signature: Signature,
}

impl Default for SingleValue {
    fn default() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for SingleValue {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The value keeps its field's PostgreSQL type (json, varchar, …).
    fn return_field(
        &self,
        args: &[datafusion::arrow::datatypes::FieldRef],
    ) -> Result<datafusion::arrow::datatypes::FieldRef> {
        let types: Vec<DataType> = args.iter().map(|f| f.data_type().clone()).collect();
        let data_type = self.return_type(&types)?;
        let field = datafusion::arrow::datatypes::Field::new(self.name(), data_type, true)
            .with_metadata(
                args.first()
                    .map(|f| f.metadata().clone())
                    .unwrap_or_default(),
            );
        Ok(std::sync::Arc::new(field))
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(counted(&args[0]))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "value"),
                args.input_fields[0].data_type().clone(),
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "rows"),
                DataType::Int64,
                false,
            )),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let data_type = args.expr_fields[0].data_type();
        Ok(Box::new(SingleValueAccumulator {
            value: ScalarValue::try_from(data_type)?,
            rows: 0,
        }))
    }
}

#[derive(Debug)]
struct SingleValueAccumulator {
    value: ScalarValue,
    rows: i64,
}

impl SingleValueAccumulator {
    fn add(&mut self, rows: i64, values: &ArrayRef, index: usize) -> Result<()> {
        if self.rows == 0 && rows == 1 {
            self.value = ScalarValue::try_from_array(values, index)?;
        }
        self.rows += rows;
        Ok(())
    }
}

impl Accumulator for SingleValueAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for i in 0..values[0].len() {
            self.add(1, &values[0], i)?;
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let rows = states[1].as_primitive::<Int64Type>();
        for i in 0..rows.len() {
            self.add(rows.value(i), &states[0], i)?;
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            self.value.clone(),
            ScalarValue::Int64(Some(self.rows)),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let fields = match counted(&self.value.data_type()) {
            DataType::Struct(fields) => fields,
            _ => unreachable!(),
        };
        let columns = vec![
            self.value.to_array()?,
            ScalarValue::Int64(Some(self.rows)).to_array()?,
        ];
        Ok(ScalarValue::Struct(Arc::new(StructArray::try_new(
            fields, columns, None,
        )?)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.value.size() - std::mem::size_of_val(&self.value)
    }
}

/// `pg_single_value_of({value, rows})`: the value; NULL for no row; 21000
/// for more than one.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct SingleValueOf {
    signature: Signature,
}

impl Default for SingleValueOf {
    fn default() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for SingleValueOf {
    fn name(&self) -> &str {
        VALUE_OF
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The value keeps its field's PostgreSQL type (json, varchar, …).
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
        let metadata = args
            .arg_fields
            .first()
            .map(|f| f.metadata().clone())
            .unwrap_or_default();
        let field = datafusion::arrow::datatypes::Field::new(self.name(), data_type, true)
            .with_metadata(metadata);
        Ok(std::sync::Arc::new(field))
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match &args[0] {
            DataType::Struct(fields) if fields.len() == 2 => Ok(fields[0].data_type().clone()),
            other => Err(Error::Internal(format!("{VALUE_OF} of {other}")).into()),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let counted = args.args[0].to_array(args.number_rows)?;
        let counted = counted.as_struct();
        let rows = counted.column(1).as_primitive::<Int64Type>();
        for i in 0..counted.len() {
            if counted.is_valid(i) && rows.is_valid(i) && rows.value(i) > 1 {
                return Err(Error::Coded {
                    code: "21000",
                    message: "more than one row returned by a subquery used as an expression"
                        .into(),
                }
                .into());
            }
        }
        let values = counted.column(0).clone();
        // A NULL struct (an outer row the subquery had no group for) is a NULL value.
        let values = match counted.nulls() {
            Some(nulls) if nulls.null_count() > 0 => {
                let keep = datafusion::arrow::array::BooleanArray::new(nulls.inner().clone(), None);
                datafusion::arrow::compute::nullif(
                    &values,
                    &datafusion::arrow::compute::not(&keep)?,
                )?
            }
            _ => values,
        };
        Ok(ColumnarValue::Array(values))
    }
}
