//! PostgreSQL's ordered-set aggregates DataFusion lacks: `mode()` and
//! `percentile_disc(f)`, both written `… WITHIN GROUP (ORDER BY x)`.
//!
//! DataFusion passes the ordering expression as the first argument and the
//! sort direction in the accumulator's arguments; each accumulator keeps the
//! group's values and sorts them when it is evaluated.

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::{AggregateOrderSensitivity, format_state_name};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Signature, TypeSignature, Volatility,
};

use crate::error::Error;

/// Which ordered-set aggregate an accumulator computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// The most frequent value; of equally frequent ones, the first in order.
    Mode,
    /// The first value whose position in order reaches the fraction.
    PercentileDisc,
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct OrderedSet {
    kind: Kind,
    signature: Signature,
}

impl OrderedSet {
    pub(super) fn mode() -> Self {
        Self {
            kind: Kind::Mode,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }

    pub(super) fn percentile_disc() -> Self {
        Self {
            kind: Kind::PercentileDisc,
            signature: Signature::one_of(vec![TypeSignature::Any(2)], Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for OrderedSet {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Mode => "mode",
            Kind::PercentileDisc => "percentile_disc",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        if self.kind == Kind::PercentileDisc && !(args[1].is_numeric() || args[1].is_null()) {
            return Err(super::plan_err(
                "percentile_disc's fraction must be a number".into(),
            ));
        }
        Ok(args[0].clone())
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let value = args.input_fields[0].data_type().clone();
        Ok(vec![
            Arc::new(Field::new_list(
                format_state_name(args.name, "values"),
                Field::new_list_field(value, true),
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "fraction"),
                DataType::Float64,
                true,
            )),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let descending = args
            .order_bys
            .first()
            .is_some_and(|sort| sort.options.descending);
        Ok(Box::new(OrderedSetAccumulator {
            kind: self.kind,
            data_type: args.expr_fields[0].data_type().clone(),
            descending,
            values: Vec::new(),
            fraction: None,
        }))
    }

    /// The accumulator sorts what it keeps; the input order does not matter.
    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        AggregateOrderSensitivity::Insensitive
    }

    fn supports_within_group_clause(&self) -> bool {
        true
    }
}

#[derive(Debug)]
struct OrderedSetAccumulator {
    kind: Kind,
    data_type: DataType,
    descending: bool,
    /// The group's values, NULLs left out (PostgreSQL ignores them).
    values: Vec<ScalarValue>,
    fraction: Option<f64>,
}

impl OrderedSetAccumulator {
    fn keep(&mut self, values: &ArrayRef) -> Result<()> {
        for i in 0..values.len() {
            if values.is_valid(i) {
                self.values.push(ScalarValue::try_from_array(values, i)?);
            }
        }
        Ok(())
    }

    fn set_fraction(&mut self, fractions: &ArrayRef) -> Result<()> {
        if self.fraction.is_some() {
            return Ok(());
        }
        let fractions = datafusion::arrow::compute::cast(fractions, &DataType::Float64)?;
        let fractions = fractions.as_primitive::<Float64Type>();
        if let Some(f) = fractions.iter().flatten().next() {
            if !(0.0..=1.0).contains(&f) {
                return Err(Error::NumericValueOutOfRange(format!(
                    "percentile value {f} is not between 0 and 1"
                ))
                .into());
            }
            self.fraction = Some(f);
        }
        Ok(())
    }
}

impl Accumulator for OrderedSetAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.keep(&values[0])?;
        if self.kind == Kind::PercentileDisc {
            self.set_fraction(&values[1])?;
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        for list in lists.iter().flatten() {
            self.keep(&list)?;
        }
        self.set_fraction(&states[1])
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let list = ScalarValue::new_list_nullable(&self.values, &self.data_type);
        Ok(vec![
            ScalarValue::List(list),
            ScalarValue::Float64(self.fraction),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let null = ScalarValue::try_from(&self.data_type)?;
        let mut sorted = std::mem::take(&mut self.values);
        let mut failed = None;
        sorted.sort_by(|a, b| {
            let order = a.partial_cmp(b).unwrap_or_else(|| {
                failed = Some(format!("cannot order {a:?} and {b:?}"));
                Ordering::Equal
            });
            if self.descending {
                order.reverse()
            } else {
                order
            }
        });
        if let Some(message) = failed {
            return Err(DataFusionError::Internal(message));
        }
        let answer = match self.kind {
            Kind::Mode => {
                let mut best: Option<(&ScalarValue, usize)> = None;
                let mut run_start = 0;
                for i in 1..=sorted.len() {
                    if i == sorted.len() || sorted[i] != sorted[run_start] {
                        let run = i - run_start;
                        // Strictly more frequent: ties keep the first in order.
                        if best.is_none_or(|(_, n)| run > n) {
                            best = Some((&sorted[run_start], run));
                        }
                        run_start = i;
                    }
                }
                best.map(|(v, _)| v.clone())
            }
            Kind::PercentileDisc => self.fraction.and_then(|f| {
                let rank = (f * sorted.len() as f64).ceil() as usize;
                sorted.get(rank.max(1) - 1).cloned()
            }),
        };
        self.values = sorted;
        Ok(answer.unwrap_or(null))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.values.iter().map(ScalarValue::size).sum::<usize>()
    }
}
