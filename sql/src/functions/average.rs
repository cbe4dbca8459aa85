//! `avg` as PostgreSQL types it: of integers and numerics, a numeric with the
//! scale of PostgreSQL's division (`avg(qty)` is `4.9000000000000000`, where
//! DataFusion gives the double `4.9`, and `avg(salary)` has 16 fraction
//! digits, not the input's scale + 4).
//!
//! DataFusion's own `avg` does the work: this wrapper asks it for one more
//! fraction digit than the result shows (its decimal average truncates) and
//! rounds that digit away, half away from zero as PostgreSQL rounds.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, ReversedUDAF,
    Signature, Volatility,
};

use super::math::column_division_scale;

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct PgAvg {
    /// DataFusion's avg.
    inner: Arc<AggregateUDF>,
    signature: Signature,
}

impl PgAvg {
    pub(super) fn new(inner: Arc<AggregateUDF>) -> Self {
        use datafusion::common::types::{NativeType, logical_float64};
        use datafusion::logical_expr::{Coercion, TypeSignature, TypeSignatureClass};
        let one = |coercion| TypeSignature::Coercible(vec![coercion]);
        // DataFusion's avg's, except that integers are averaged as numerics
        // (PostgreSQL's avg(int) is numeric), not as doubles.
        let signature = Signature::one_of(
            vec![
                one(Coercion::new_exact(TypeSignatureClass::Decimal)),
                one(Coercion::new_implicit(
                    TypeSignatureClass::Decimal,
                    vec![TypeSignatureClass::Integer],
                    NativeType::Decimal(38, 0),
                )),
                one(Coercion::new_exact(TypeSignatureClass::Duration)),
                one(Coercion::new_implicit(
                    TypeSignatureClass::Native(logical_float64()),
                    vec![TypeSignatureClass::Float],
                    NativeType::Float64,
                )),
            ],
            Volatility::Immutable,
        );
        Self { inner, signature }
    }

    /// The result scale for a numeric input, if the input is numeric.
    fn numeric_scale(args: &[FieldRef]) -> Option<i8> {
        match args.first()?.data_type() {
            DataType::Decimal128(_, s) => Some(column_division_scale(*s, 0)),
            _ => None,
        }
    }

    /// The arguments DataFusion's avg is given: a result with one more
    /// fraction digit than ours (none more at the largest scale).
    fn inner_args<'a>(args: &AccumulatorArgs<'a>, scale: i8) -> AccumulatorArgs<'a> {
        let wider = DataType::Decimal128(38, (scale + 1).min(38));
        AccumulatorArgs {
            return_field: Arc::new(Field::new(args.return_field.name(), wider, true)),
            ..args.clone()
        }
    }
}

impl AggregateUDFImpl for PgAvg {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [DataType::Decimal128(_, s)] => {
                Ok(DataType::Decimal128(38, column_division_scale(*s, 0)))
            }
            _ => self.inner.return_type(args),
        }
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.inner.state_fields(args)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        match Self::numeric_scale(args.expr_fields) {
            Some(scale) => Ok(Box::new(Rounded {
                inner: self.inner.accumulator(Self::inner_args(&args, scale))?,
                scale,
            })),
            None => self.inner.accumulator(args),
        }
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        self.inner.groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        match Self::numeric_scale(args.expr_fields) {
            Some(scale) => Ok(Box::new(Rounded {
                inner: self
                    .inner
                    .create_groups_accumulator(Self::inner_args(&args, scale))?,
                scale,
            })),
            None => self.inner.create_groups_accumulator(args),
        }
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        ReversedUDAF::Identical
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        self.inner.order_sensitivity()
    }
}

/// An accumulator whose numeric result is rounded to `scale`.
#[derive(Debug)]
struct Rounded<A> {
    inner: A,
    scale: i8,
}

impl<A> Rounded<A> {
    fn target(&self) -> DataType {
        DataType::Decimal128(38, self.scale)
    }
}

impl Accumulator for Rounded<Box<dyn Accumulator>> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.inner.update_batch(values)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.inner.merge_batch(states)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.inner.state()
    }

    /// Arrow's cast to a smaller scale rounds half away from zero.
    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.inner.evaluate()?.cast_to(&self.target())
    }

    fn size(&self) -> usize {
        self.inner.size() + std::mem::size_of::<i8>()
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.inner.retract_batch(values)
    }

    fn supports_retract_batch(&self) -> bool {
        self.inner.supports_retract_batch()
    }
}

impl GroupsAccumulator for Rounded<Box<dyn GroupsAccumulator>> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.inner
            .update_batch(values, group_indices, opt_filter, total_num_groups)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        Ok(cast(&self.inner.evaluate(emit_to)?, &self.target())?)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        self.inner.state(emit_to)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.inner
            .merge_batch(values, group_indices, total_num_groups)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        self.inner.convert_to_state(values, opt_filter)
    }

    fn size(&self) -> usize {
        self.inner.size() + std::mem::size_of::<i8>()
    }
}
