//! How a column's declared PostgreSQL type is kept in a Delta table.
//!
//! Delta has no `time`, `interval`, `uuid`, `json` or fixed-length `char(n)`. Each
//! column records the type the user declared as field metadata ([`PG_TYPE_OID_KEY`],
//! [`PG_TYPMOD_KEY`]); from it a [`Codec`] says how values are checked on the way
//! in and, where Delta lacks the type, how they are stored:
//!
//! | declared      | seen by queries          | stored in Delta              |
//! |---------------|--------------------------|------------------------------|
//! | `time`        | Time64(µs)               | long: microseconds of the day |
//! | `interval`    | Interval(MonthDayNano)   | string: `1 mons 2 days 3.5 secs` |
//! | `uuid`        | Utf8, canonical form     | string                       |
//! | `json`        | Utf8, validated          | string                       |
//! | `jsonb`       | Utf8, normalized         | string                       |
//! | `char(n)`     | Utf8, blank-padded to n  | string                       |
//! | `varchar(n)`  | Utf8, at most n chars    | string                       |
//!
//! A [`Layout`] applies the codecs of a whole table: the schema queries see, the
//! schema Delta stores, and the conversions between them.

use std::fmt;
use std::sync::Arc;

use deltalake::arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray};
use deltalake::arrow::compute::cast;
use deltalake::arrow::datatypes::{DataType, Field, IntervalUnit, Schema, SchemaRef, TimeUnit};

use deltalake::arrow::error::ArrowError;
use deltalake::datafusion::common::{DataFusionError, Result as DfResult};
use deltalake::datafusion::logical_expr::expr::ScalarFunction;
use deltalake::datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use async_trait::async_trait;
use deltalake::datafusion::catalog::{Session, TableProvider};
use deltalake::datafusion::datasource::TableType;
use deltalake::datafusion::logical_expr::TableProviderFilterPushDown;
use deltalake::datafusion::physical_expr::PhysicalExpr;
use deltalake::datafusion::physical_expr::expressions::{CastExpr, Column as PhysicalColumn};
use deltalake::datafusion::physical_plan::ExecutionPlan;
use deltalake::datafusion::physical_plan::projection::ProjectionExec;

use crate::StorageError;

/// Field metadata key: the declared PostgreSQL type OID.
pub const PG_TYPE_OID_KEY: &str = "enishi.pg_type_oid";
/// Field metadata key: the declared type modifier (PostgreSQL's `atttypmod`).
pub const PG_TYPMOD_KEY: &str = "enishi.pg_typmod";

const TIME: u32 = 1083;
const INTERVAL: u32 = 1186;
const UUID: u32 = 2950;
const JSON: u32 = 114;
const JSONB: u32 = 3802;
const BPCHAR: u32 = 1042;
const VARCHAR: u32 = 1043;

/// The declared pg type of a field, if it carries one.
pub fn declared(field: &Field) -> Option<(u32, i32)> {
    let oid = field.metadata().get(PG_TYPE_OID_KEY)?.parse().ok()?;
    let typmod = field
        .metadata()
        .get(PG_TYPMOD_KEY)
        .and_then(|t| t.parse().ok())
        .unwrap_or(-1);
    Some((oid, typmod))
}

/// What a declared type needs beyond Delta's own types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    Time,
    Interval,
    Uuid,
    Json,
    Jsonb,
    /// `char(n)`: blank-padded to n characters.
    Bpchar(usize),
    /// `varchar(n)`: at most n characters.
    Varchar(usize),
}

impl Codec {
    pub fn of(field: &Field) -> Option<Self> {
        let (oid, typmod) = declared(field)?;
        let length = usize::try_from(typmod - 4).ok();
        Some(match oid {
            TIME => Codec::Time,
            INTERVAL => Codec::Interval,
            UUID => Codec::Uuid,
            JSON => Codec::Json,
            JSONB => Codec::Jsonb,
            BPCHAR => Codec::Bpchar(length?),
            VARCHAR => Codec::Varchar(length?),
            _ => return None,
        })
    }

    /// The Arrow type queries see.
    pub fn logical_type(&self) -> DataType {
        match self {
            Codec::Time => DataType::Time64(TimeUnit::Microsecond),
            Codec::Interval => DataType::Interval(IntervalUnit::MonthDayNano),
            _ => DataType::Utf8,
        }
    }

    /// The Arrow type Delta stores.
    pub fn stored_type(&self) -> DataType {
        match self {
            Codec::Time => DataType::Int64,
            _ => DataType::Utf8,
        }
    }

    /// Whether stored values differ in type from what queries see.
    pub fn converts(&self) -> bool {
        self.logical_type() != self.stored_type()
    }

    /// Checks and normalizes values of the logical type as PostgreSQL's input
    /// function would (pads `char(n)`, canonicalizes `uuid`, rejects bad `json`).
    pub fn check(&self, array: &ArrayRef) -> Result<ArrayRef, StorageError> {
        let text = |f: &dyn Fn(&str) -> Result<String, StorageError>| {
            let strings = cast(array, &DataType::Utf8)?;
            let strings = strings.as_string::<i32>();
            let out = strings
                .iter()
                .map(|v| v.map(f).transpose())
                .collect::<Result<StringArray, _>>()?;
            Ok::<ArrayRef, StorageError>(Arc::new(out))
        };
        match *self {
            Codec::Time | Codec::Interval => Ok(array.clone()),
            Codec::Uuid => text(&canonical_uuid),
            Codec::Json => text(&|v| {
                crate::json::parse(v)
                    .map(|_| v.to_string())
                    .map_err(|_| invalid("json", v))
            }),
            Codec::Jsonb => text(&|v| {
                crate::json::parse(v)
                    .map(|value| value.jsonb())
                    .map_err(|_| invalid("json", v))
            }),
            Codec::Bpchar(n) => text(&|v| fit(v, n, "character").map(|s| format!("{s:<n$}"))),
            Codec::Varchar(n) => text(&|v| fit(v, n, "character varying").map(str::to_string)),
        }
    }

    /// Logical values (already checked) to what Delta stores.
    pub fn store(&self, array: &ArrayRef) -> Result<ArrayRef, StorageError> {
        Ok(cast(array, &self.stored_type())?)
    }
}

fn invalid(ty: &str, value: &str) -> StorageError {
    StorageError::InvalidText(match ty {
        "json" => "invalid input syntax for type json".to_string(),
        _ => format!("invalid input syntax for type {ty}: \"{value}\""),
    })
}

/// A string for a column of at most `n` characters: PostgreSQL drops excess
/// trailing blanks silently and refuses anything else that is too long.
fn fit<'a>(value: &'a str, n: usize, ty: &str) -> Result<&'a str, StorageError> {
    if value.chars().count() <= n {
        return Ok(value);
    }
    let cut = value.char_indices().nth(n).map_or(value.len(), |(i, _)| i);
    if value[cut..].chars().all(|c| c == ' ') {
        Ok(&value[..cut])
    } else {
        Err(StorageError::TooLong(format!(
            "value too long for type {ty}({n})"
        )))
    }
}

/// A uuid in PostgreSQL's output form: lower-case hex in 8-4-4-4-12 groups. Input
/// may be upper-case, unhyphenated, hyphenated after any group of four digits,
/// or wrapped in braces.
fn canonical_uuid(value: &str) -> Result<String, StorageError> {
    let bad = || invalid("uuid", value);
    let inner = match value.strip_prefix('{') {
        Some(rest) => rest.strip_suffix('}').ok_or_else(bad)?,
        None => value,
    };
    let mut digits = String::with_capacity(32);
    let mut since_hyphen = 0;
    for (i, c) in inner.chars().enumerate() {
        if c == '-' {
            if i == 0 || since_hyphen % 4 != 0 || since_hyphen == 0 {
                return Err(bad());
            }
            since_hyphen = 0;
            continue;
        }
        if !c.is_ascii_hexdigit() {
            return Err(bad());
        }
        digits.push(c.to_ascii_lowercase());
        since_hyphen += 1;
    }
    if digits.len() != 32 || inner.ends_with('-') {
        return Err(bad());
    }
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &digits[..8],
        &digits[8..12],
        &digits[12..16],
        &digits[16..20],
        &digits[20..]
    ))
}

/// The codecs of one table: its schema as queries see it and as Delta stores it.
#[derive(Clone)]
pub struct Layout {
    logical: SchemaRef,
    stored: SchemaRef,
    codecs: Vec<Option<Codec>>,
}

impl fmt::Debug for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Layout")
            .field("codecs", &self.codecs)
            .finish()
    }
}

impl Layout {
    /// From the schema a user declared (`CREATE TABLE`).
    pub fn from_logical(logical: SchemaRef) -> Self {
        let codecs: Vec<_> = logical.fields().iter().map(|f| Codec::of(f)).collect();
        let stored = Schema::new_with_metadata(
            logical
                .fields()
                .iter()
                .zip(&codecs)
                .map(|(f, codec)| match codec {
                    Some(c) => f.as_ref().clone().with_data_type(c.stored_type()),
                    None => f.as_ref().clone(),
                })
                .collect::<Vec<_>>(),
            logical.metadata().clone(),
        );
        Self {
            logical,
            stored: Arc::new(stored),
            codecs,
        }
    }

    /// From the schema read from a Delta table.
    pub fn from_stored(stored: SchemaRef) -> Self {
        let codecs: Vec<_> = stored.fields().iter().map(|f| Codec::of(f)).collect();
        let logical = Schema::new_with_metadata(
            stored
                .fields()
                .iter()
                .zip(&codecs)
                .map(|(f, codec)| match codec {
                    Some(c) => f.as_ref().clone().with_data_type(c.logical_type()),
                    None => f.as_ref().clone(),
                })
                .collect::<Vec<_>>(),
            stored.metadata().clone(),
        );
        Self {
            logical: Arc::new(logical),
            stored,
            codecs,
        }
    }

    pub fn logical(&self) -> &SchemaRef {
        &self.logical
    }

    pub fn stored(&self) -> &SchemaRef {
        &self.stored
    }

    /// The codec of column `i`, if it has one.
    pub fn codec(&self, i: usize) -> Option<Codec> {
        self.codecs.get(i).copied().flatten()
    }

    /// The codec of the column called `name`, if it has one.
    pub fn codec_of(&self, name: &str) -> Option<Codec> {
        self.codec(self.logical.index_of(name).ok()?)
    }

    /// Whether any column is stored in a different type than queries see.
    pub fn converts(&self) -> bool {
        self.codecs.iter().flatten().any(Codec::converts)
    }

    /// Checks and normalizes rows written by a client; the result is still logical.
    pub fn check(&self, batch: &RecordBatch) -> Result<RecordBatch, StorageError> {
        self.map_columns(batch, |codec, column| codec.check(column))
    }

    /// Checked logical rows to the stored representation.
    pub fn store(&self, batch: &RecordBatch) -> Result<RecordBatch, StorageError> {
        self.map_columns(batch, |codec, column| codec.store(&codec.check(column)?))
    }

    /// Applies `f` to the columns that have a codec; the others pass unchanged
    /// (in whatever Arrow type the writer produced, e.g. string views).
    fn map_columns(
        &self,
        batch: &RecordBatch,
        f: impl Fn(Codec, &ArrayRef) -> Result<ArrayRef, StorageError>,
    ) -> Result<RecordBatch, StorageError> {
        let mut fields = Vec::with_capacity(batch.num_columns());
        let mut columns = Vec::with_capacity(batch.num_columns());
        for (i, (field, column)) in batch
            .schema()
            .fields()
            .iter()
            .zip(batch.columns())
            .enumerate()
        {
            let column = match self.codec(i) {
                Some(codec) => f(codec, column)?,
                None => column.clone(),
            };
            fields.push(
                field
                    .as_ref()
                    .clone()
                    .with_data_type(column.data_type().clone()),
            );
            columns.push(column);
        }
        let schema = Schema::new_with_metadata(fields, batch.schema().metadata().clone());
        Ok(RecordBatch::try_new(Arc::new(schema), columns)?)
    }
}

/// Values as UPDATE hands them to Delta.
impl Layout {
    /// The value an UPDATE assigns to `column`, checked and in stored form.
    /// (Delta runs UPDATEs that read `time` or `interval` columns only through
    /// a rewrite of the table: see the provider.)
    pub fn stored_value(&self, column: &str, value: Expr) -> Expr {
        match self.codec_of(column) {
            Some(codec) => {
                let udf = ScalarUDF::new_from_impl(StoreValue::new(codec));
                Expr::ScalarFunction(ScalarFunction::new_udf(Arc::new(udf), vec![value]))
            }
            None => value,
        }
    }
}

/// Errors about values keep their SQLSTATE through Delta: it keeps an Arrow
/// error's source.
pub(crate) fn to_datafusion(err: StorageError) -> DataFusionError {
    DataFusionError::ArrowError(Box::new(ArrowError::ExternalError(Box::new(err))), None)
}

/// Checks and converts a value of a codec'd column inside Delta's UPDATE.
#[derive(Debug, PartialEq, Eq, Hash)]
struct StoreValue {
    codec: Codec,
    signature: Signature,
}

impl StoreValue {
    fn new(codec: Codec) -> Self {
        Self {
            codec,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for StoreValue {
    fn name(&self) -> &str {
        "enishi_store_value"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(self.codec.stored_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        let input = cast(&input, &self.codec.logical_type())?;
        let stored = self
            .codec
            .check(&input)
            .and_then(|checked| self.codec.store(&checked))
            .map_err(to_datafusion)?;
        Ok(ColumnarValue::Array(stored))
    }
}

// ---------------------------------------------------------------- scans

/// A Delta snapshot seen through its [`Layout`]: columns Delta stores in another
/// type are converted on the way out of the scan.
#[derive(Debug)]
pub struct Decoded {
    stored: Arc<dyn TableProvider>,
    layout: Layout,
    /// The stored provider's schema with converted columns in their logical type.
    schema: SchemaRef,
}

impl Decoded {
    pub fn new(stored: Arc<dyn TableProvider>, layout: Layout) -> Self {
        let fields: Vec<_> = stored
            .schema()
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| match layout.codec(i) {
                Some(codec) if codec.converts() => {
                    Arc::new(f.as_ref().clone().with_data_type(codec.logical_type()))
                }
                _ => f.clone(),
            })
            .collect();
        let schema = Arc::new(Schema::new_with_metadata(
            fields,
            stored.schema().metadata().clone(),
        ));
        Self {
            stored,
            layout,
            schema,
        }
    }

    /// Whether `filter` reads a column whose stored type differs.
    fn reads_converted(&self, filter: &Expr) -> bool {
        filter.column_refs().iter().any(|c| {
            self.layout
                .codec_of(&c.name)
                .is_some_and(|codec| codec.converts())
        })
    }
}

#[async_trait]
impl TableProvider for Decoded {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        // Filters on converted columns are evaluated above the scan (see
        // supports_filters_pushdown); the rest may prune files.
        let pushed: Vec<Expr> = filters
            .iter()
            .filter(|f| !self.reads_converted(f))
            .cloned()
            .collect();
        let input = self.stored.scan(state, projection, &pushed, limit).await?;
        let columns: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let logical = self.schema.project(&columns)?;
        let exprs = columns.iter().enumerate().map(|(out, &i)| {
            let name = logical.field(out).name().clone();
            let column: Arc<dyn PhysicalExpr> = Arc::new(PhysicalColumn::new(&name, out));
            let expr: Arc<dyn PhysicalExpr> = match self.layout.codec(i) {
                Some(codec) if codec.converts() => {
                    Arc::new(CastExpr::new(column, codec.logical_type(), None))
                }
                _ => column,
            };
            (expr, name)
        });
        Ok(Arc::new(ProjectionExec::try_new_with_schema_metadata(
            exprs, input, &logical,
        )?))
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltalake::arrow::array::{IntervalMonthDayNanoArray, Time64MicrosecondArray};
    use deltalake::arrow::datatypes::IntervalMonthDayNano;
    use std::collections::HashMap;

    fn field(oid: u32, typmod: i32) -> Field {
        Field::new("c", DataType::Utf8, true).with_metadata(HashMap::from([
            (PG_TYPE_OID_KEY.to_string(), oid.to_string()),
            (PG_TYPMOD_KEY.to_string(), typmod.to_string()),
        ]))
    }

    fn strings(values: &[&str]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn checked(codec: Codec, value: &str) -> Result<String, StorageError> {
        let out = codec.check(&strings(&[value]))?;
        Ok(out.as_string::<i32>().value(0).to_string())
    }

    #[test]
    fn codecs_come_from_the_declared_type() {
        assert_eq!(Codec::of(&field(TIME, -1)), Some(Codec::Time));
        assert_eq!(Codec::of(&field(BPCHAR, 14)), Some(Codec::Bpchar(10)));
        assert_eq!(Codec::of(&field(VARCHAR, -1)), None);
        assert_eq!(Codec::of(&field(25, -1)), None);
    }

    #[test]
    fn uuids_take_every_postgres_input_form() {
        let canonical = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        for input in [
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
        ] {
            assert_eq!(checked(Codec::Uuid, input).unwrap(), canonical, "{input}");
        }
        for bad in [
            "a0eebc99",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g",
            "-a0eebc999c0b4ef8bb6d6bb9bd380a11",
        ] {
            assert!(matches!(
                checked(Codec::Uuid, bad),
                Err(StorageError::InvalidText(_))
            ));
        }
    }

    #[test]
    fn lengths_are_enforced_like_postgres() {
        assert_eq!(checked(Codec::Bpchar(4), "ab").unwrap(), "ab  ");
        assert_eq!(checked(Codec::Bpchar(2), "ab   ").unwrap(), "ab");
        assert_eq!(checked(Codec::Varchar(3), "日本語  ").unwrap(), "日本語");
        assert!(matches!(
            checked(Codec::Varchar(3), "abcd"),
            Err(StorageError::TooLong(_))
        ));
    }

    #[test]
    fn jsonb_is_normalized_json_kept_verbatim() {
        let input = r#"{"bb": 1, "a":[1,{"c":null}], "bb": 2}"#;
        assert_eq!(checked(Codec::Json, input).unwrap(), input);
        assert_eq!(
            checked(Codec::Jsonb, input).unwrap(),
            r#"{"a": [1, {"c": null}], "bb": 2}"#
        );
        assert!(matches!(
            checked(Codec::Json, "{"),
            Err(StorageError::InvalidText(_))
        ));
    }

    #[test]
    fn time_and_interval_survive_the_round_trip() {
        let time: ArrayRef = Arc::new(Time64MicrosecondArray::from(vec![
            Some(37_230_500_000),
            None,
        ]));
        let stored = Codec::Time.store(&time).unwrap();
        assert_eq!(stored.data_type(), &DataType::Int64);
        // Scans read stored columns back with this cast (see [`Decoded`]).
        assert_eq!(&cast(&stored, &Codec::Time.logical_type()).unwrap(), &time);

        let interval: ArrayRef = Arc::new(IntervalMonthDayNanoArray::from(vec![
            Some(IntervalMonthDayNano::new(14, 3, 4_500_000_000)),
            Some(IntervalMonthDayNano::new(-1, 2, -1_000)),
            Some(IntervalMonthDayNano::new(0, 0, 0)),
            None,
        ]));
        let stored = Codec::Interval.store(&interval).unwrap();
        assert_eq!(stored.data_type(), &DataType::Utf8);
        assert_eq!(
            &cast(&stored, &Codec::Interval.logical_type()).unwrap(),
            &interval
        );
    }
}
