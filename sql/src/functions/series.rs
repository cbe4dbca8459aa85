//! `generate_series` as PostgreSQL has it: over int4, int8, numeric,
//! timestamp and timestamptz, each series of its arguments' type (int4 for
//! int4 bounds, where DataFusion's gives int8), stepping timestamps with
//! time zones on the session zone's clock.
//!
//! Two forms share one [`Series`]: the table function, for a call in FROM
//! whose arguments are constants, produces its rows batch by batch (a series
//! of billions streams, and a cancel stops it); the scalar function returns
//! each row's series as an array, which the statement rewrites unnest, for a
//! call in a select list or one in FROM that reads earlier columns.

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{
    Array, ArrayRef, Decimal128Array, GenericListArray, Int32Array, Int64Array, RecordBatch,
    TimestampMicrosecondArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{
    DataType, Field, IntervalMonthDayNano, IntervalUnit, Schema, SchemaRef, TimeUnit,
    TimestampMicrosecondType,
};
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::memory::{LazyBatchGenerator, LazyMemoryExec};
use parking_lot::RwLock;

use crate::error::Error;
use crate::text_output::TextOptions;
use crate::zones::Zone;

fn zero_step() -> DataFusionError {
    Error::Coded {
        code: "22023",
        message: "step size cannot equal zero".into(),
    }
    .into()
}

/// The type a series is of, from its arguments' types: PostgreSQL's choice
/// among its variants of the function. None where it has none.
fn series_type(args: &[DataType]) -> Option<DataType> {
    if !matches!(args.len(), 2 | 3) {
        return None;
    }
    let known = |types: &[DataType]| -> Vec<DataType> {
        types
            .iter()
            .filter(|t| !matches!(t, DataType::Null | DataType::Utf8))
            .cloned()
            .collect()
    };
    let bounds = known(&args[..2]);
    if bounds.iter().any(|t| {
        matches!(
            t,
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
        )
    }) {
        // A date is read as a timestamp with time zone, PostgreSQL's
        // preferred type of the two; the step is an interval.
        let zoned = bounds.iter().any(|t| {
            matches!(
                t,
                DataType::Timestamp(_, Some(_)) | DataType::Date32 | DataType::Date64
            )
        });
        return (args.len() == 3)
            .then(|| DataType::Timestamp(TimeUnit::Microsecond, zoned.then(|| "+00:00".into())));
    }
    let numbers = known(args);
    if numbers
        .iter()
        .any(|t| !t.is_integer() && !matches!(t, DataType::Decimal128(..)))
    {
        return None;
    }
    let scale = numbers
        .iter()
        .filter_map(|t| match t {
            DataType::Decimal128(_, s) => Some(*s),
            _ => None,
        })
        .max();
    Some(match scale {
        Some(scale) => DataType::Decimal128(38, scale.max(0)),
        None if numbers
            .iter()
            .any(|t| matches!(t, DataType::Int64 | DataType::UInt32 | DataType::UInt64)) =>
        {
            DataType::Int64
        }
        None => DataType::Int32,
    })
}

/// The types the arguments are read as, for a series of `series`.
fn argument_types(series: &DataType, count: usize) -> Vec<DataType> {
    let step = match series {
        DataType::Timestamp(..) => DataType::Interval(IntervalUnit::MonthDayNano),
        other => other.clone(),
    };
    [series.clone(), series.clone(), step][..count].to_vec()
}

/// Whether an interval moves time forward, as PostgreSQL compares it with
/// zero (a month as 30 days).
fn interval_sign(i: IntervalMonthDayNano) -> i128 {
    let nanos = (i128::from(i.months) * 30 + i128::from(i.days)) * 86_400_000_000_000
        + i128::from(i.nanoseconds);
    nanos.signum()
}

/// Where a series is and how it moves: the next value, the last allowed,
/// the step. `at` is None once the series is over.
#[derive(Debug, Clone)]
enum Series {
    Int32 {
        at: Option<i32>,
        end: i32,
        by: i32,
    },
    Int64 {
        at: Option<i64>,
        end: i64,
        by: i64,
    },
    Decimal {
        at: Option<i128>,
        end: i128,
        by: i128,
        precision: u8,
        scale: i8,
    },
    Timestamp {
        at: Option<i64>,
        end: i64,
        by: IntervalMonthDayNano,
        zone: Option<Arc<str>>,
        /// The session's zone, on whose clock a zoned series steps.
        clock: Option<Zone>,
    },
}

/// Whether `at` is still within the series going toward `end` with a step
/// of `sign`.
fn within<T: PartialOrd>(at: &T, end: &T, sign: i128) -> bool {
    (sign > 0 && at <= end) || (sign < 0 && at >= end)
}

impl Series {
    /// The series of arguments already of [`argument_types`]; None when
    /// one is null (no rows).
    fn new(values: &[ScalarValue], clock: Option<Zone>) -> Result<Option<Series>> {
        use ScalarValue as S;
        if values.iter().any(|v| v.is_null()) {
            return Ok(None);
        }
        let series = match values {
            [S::Int32(Some(a)), S::Int32(Some(b)), rest @ ..] => {
                let by = match rest {
                    [S::Int32(Some(s))] => *s,
                    _ => 1,
                };
                Series::Int32 {
                    at: Some(*a),
                    end: *b,
                    by,
                }
            }
            [S::Int64(Some(a)), S::Int64(Some(b)), rest @ ..] => {
                let by = match rest {
                    [S::Int64(Some(s))] => *s,
                    _ => 1,
                };
                Series::Int64 {
                    at: Some(*a),
                    end: *b,
                    by,
                }
            }
            [
                S::Decimal128(Some(a), precision, scale),
                S::Decimal128(Some(b), ..),
                rest @ ..,
            ] => {
                let by = match rest {
                    [S::Decimal128(Some(s), ..)] => *s,
                    _ => 10i128.pow(u32::from(scale.unsigned_abs())),
                };
                Series::Decimal {
                    at: Some(*a),
                    end: *b,
                    by,
                    precision: *precision,
                    scale: *scale,
                }
            }
            [
                S::TimestampMicrosecond(Some(a), zone),
                S::TimestampMicrosecond(Some(b), _),
                S::IntervalMonthDayNano(Some(by)),
            ] => Series::Timestamp {
                at: Some(*a),
                end: *b,
                by: *by,
                zone: zone.clone(),
                clock: zone.as_ref().and(clock),
            },
            _ => {
                return Err(DataFusionError::Internal(format!(
                    "generate_series over {values:?}"
                )));
            }
        };
        if series.sign() == 0 {
            return Err(zero_step());
        }
        Ok(Some(series))
    }

    fn sign(&self) -> i128 {
        match self {
            Series::Int32 { by, .. } => i128::from(by.signum()),
            Series::Int64 { by, .. } => i128::from(by.signum()),
            Series::Decimal { by, .. } => by.signum(),
            Series::Timestamp { by, .. } => interval_sign(*by),
        }
    }

    /// The next values, at most `max` of them.
    fn take(&mut self, max: usize) -> ArrayRef {
        let sign = self.sign();
        match self {
            Series::Int32 { at, end, by } => Arc::new(Int32Array::from(steps(
                at,
                max,
                |v| within(v, end, sign),
                |v| v.checked_add(*by),
            ))),
            Series::Int64 { at, end, by } => Arc::new(Int64Array::from(steps(
                at,
                max,
                |v| within(v, end, sign),
                |v| v.checked_add(*by),
            ))),
            Series::Decimal {
                at,
                end,
                by,
                precision,
                scale,
            } => {
                let limit = 10u128.pow(u32::from(*precision));
                let values = steps(
                    at,
                    max,
                    |v| within(v, end, sign),
                    |v| v.checked_add(*by).filter(|n| n.unsigned_abs() < limit),
                );
                Arc::new(
                    Decimal128Array::from(values)
                        .with_precision_and_scale(*precision, *scale)
                        .expect("a series keeps its arguments' precision"),
                )
            }
            Series::Timestamp {
                at,
                end,
                by,
                zone,
                clock,
            } => {
                let utc: Tz = "+00:00".parse().expect("UTC is a zone");
                let on_clock = |t: i64| clock.as_ref().map_or(t, |z| super::zoned::local_of(z, t));
                let off_clock = |t: i64| clock.as_ref().map_or(t, |z| super::zoned::utc_of(z, t));
                let values = steps(
                    at,
                    max,
                    |v| within(v, end, sign),
                    |v| {
                        TimestampMicrosecondType::add_month_day_nano(on_clock(*v), *by, utc)
                            .map(off_clock)
                            .filter(|n| n != v)
                    },
                );
                Arc::new(TimestampMicrosecondArray::from(values).with_timezone_opt(zone.clone()))
            }
        }
    }
}

/// Up to `max` values from `at` on, while `keep` holds and `next` can step.
fn steps<T: Copy>(
    at: &mut Option<T>,
    max: usize,
    keep: impl Fn(&T) -> bool,
    next: impl Fn(&T) -> Option<T>,
) -> Vec<T> {
    let mut out = Vec::new();
    while out.len() < max {
        match *at {
            Some(v) if keep(&v) => {
                out.push(v);
                *at = next(&v);
            }
            _ => {
                *at = None;
                break;
            }
        }
    }
    out
}

/// The scalar form: each row's series as an array.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct GenerateSeries {
    signature: Signature,
}

impl Default for GenerateSeries {
    /// Volatile, though its answer depends on its arguments only: a call of
    /// constants is not to be folded into one array literal at planning.
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Volatile),
        }
    }
}

impl ScalarUDFImpl for GenerateSeries {
    fn name(&self) -> &str {
        "generate_series"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let series =
            series_type(args).ok_or_else(|| super::undefined_function(self.name(), args))?;
        Ok(argument_types(&series, args.len()))
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Field::new_list_field(
            args[0].clone(),
            true,
        ))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let clock = TextOptions::current(&args.config_options).zone();
        let data_type = args.args[0].data_type();
        let arrays = super::argument_arrays(&args)?;
        let mut parts: Vec<ArrayRef> = Vec::new();
        let mut offsets = vec![0i32];
        let mut length = 0usize;
        for row in 0..rows {
            let values = arrays
                .iter()
                .map(|a| ScalarValue::try_from_array(a, row))
                .collect::<Result<Vec<_>>>()?;
            if let Some(mut series) = Series::new(&values, clock.clone())? {
                let part = series.take(i32::MAX as usize - length);
                if series_continues(&series) {
                    return Err(Error::Coded {
                        code: "54000",
                        message: "generate_series returns too many rows for one call".into(),
                    }
                    .into());
                }
                length += part.len();
                parts.push(part);
            }
            offsets.push(length as i32);
        }
        let values = match parts.is_empty() {
            true => datafusion::arrow::array::new_empty_array(&data_type),
            false => datafusion::arrow::compute::concat(
                &parts.iter().map(|p| p.as_ref()).collect::<Vec<_>>(),
            )?,
        };
        let out: ArrayRef = Arc::new(GenericListArray::<i32>::try_new(
            Arc::new(Field::new_list_field(data_type, true)),
            OffsetBuffer::new(offsets.into()),
            values,
            None,
        )?);
        super::shaped_like(&args.args, out)
    }
}

fn series_continues(series: &Series) -> bool {
    match series {
        Series::Int32 { at, .. } => at.is_some(),
        Series::Int64 { at, .. } => at.is_some(),
        Series::Decimal { at, .. } => at.is_some(),
        Series::Timestamp { at, .. } => at.is_some(),
    }
}

/// The table form, for `FROM generate_series(…)` with constant arguments.
#[derive(Debug, Default)]
pub(crate) struct SeriesTableFunction;

impl TableFunctionImpl for SeriesTableFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let values = args
            .exprs()
            .iter()
            .map(|e| match e {
                Expr::Literal(v, _) => Ok(v.clone()),
                _ => Err(DataFusionError::Plan(
                    "generate_series in FROM takes constant arguments here".into(),
                )),
            })
            .collect::<Result<Vec<_>>>()?;
        let types: Vec<DataType> = values.iter().map(|v| v.data_type()).collect();
        let series = series_type(&types)
            .ok_or_else(|| super::undefined_function("generate_series", &types))?;
        let values = values
            .iter()
            .zip(argument_types(&series, values.len()))
            // Text arguments take the scalar form (see the statement
            // rewrites), whose casts read them as PostgreSQL reads input.
            .map(|(v, t)| v.cast_to(&t))
            .collect::<Result<Vec<_>>>()?;
        let clock = TextOptions::current(args.session().config_options()).zone();
        // A zero step is an error of running the statement, not of
        // planning it (a prepared statement's description succeeds).
        let (start, zero_step) = match Series::new(&values, clock) {
            Ok(start) => (start, false),
            Err(_) if values.iter().all(|v| !v.is_null()) => (None, true),
            Err(e) => return Err(e),
        };
        let schema = Arc::new(Schema::new(vec![Field::new(
            "generate_series",
            series,
            false,
        )]));
        Ok(Arc::new(SeriesTable {
            schema,
            start,
            zero_step,
        }))
    }
}

#[derive(Debug)]
struct SeriesTable {
    schema: SchemaRef,
    /// None for a series with a null argument: no rows.
    start: Option<Series>,
    zero_step: bool,
}

#[async_trait]
impl TableProvider for SeriesTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let generator = SeriesBatches {
            schema: self.schema.clone(),
            start: self.start.clone(),
            at: self.start.clone(),
            zero_step: self.zero_step,
            batch_size: state.config_options().execution.batch_size.get(),
        };
        Ok(Arc::new(
            LazyMemoryExec::try_new(self.schema.clone(), vec![Arc::new(RwLock::new(generator))])?
                .with_projection(projection.cloned()),
        ))
    }
}

#[derive(Debug, Clone)]
struct SeriesBatches {
    schema: SchemaRef,
    start: Option<Series>,
    at: Option<Series>,
    zero_step: bool,
    batch_size: usize,
}

impl std::fmt::Display for SeriesBatches {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "generate_series: {:?}", self.start)
    }
}

impl LazyBatchGenerator for SeriesBatches {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn generate_next_batch(&mut self) -> Result<Option<RecordBatch>> {
        if self.zero_step {
            return Err(zero_step());
        }
        let Some(series) = &mut self.at else {
            return Ok(None);
        };
        let values = series.take(self.batch_size);
        if values.is_empty() {
            self.at = None;
            return Ok(None);
        }
        Ok(Some(RecordBatch::try_new(
            self.schema.clone(),
            vec![values],
        )?))
    }

    fn reset_state(&self) -> Arc<RwLock<dyn LazyBatchGenerator>> {
        Arc::new(RwLock::new(SeriesBatches {
            at: self.start.clone(),
            ..self.clone()
        }))
    }
}
