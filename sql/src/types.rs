//! PostgreSQL types of table columns.
//!
//! A column's Arrow type says how values are stored; PostgreSQL clients also want the
//! type the user declared (`character varying(20)`, `numeric(10,2)`). That declaration
//! travels as field metadata ([`PG_TYPE_OID_KEY`], [`PG_TYPMOD_KEY`]) from `CREATE TABLE`
//! to the catalog (`pg_attribute`, `format_type`) and to RowDescription.

use std::collections::HashMap;

use datafusion::arrow::datatypes::{DataType, Field, IntervalUnit, TimeUnit};
use datafusion::sql::sqlparser::ast::{self, CharacterLength, ExactNumberInfo, TimezoneInfo};

use std::sync::Arc;

use datafusion::arrow::datatypes::FieldRef;
use datafusion::common::{Result as DfResult, ScalarValue};
use datafusion::logical_expr::planner::TypePlanner;
use datafusion_pg_catalog::pg_catalog::oid_type_planner::PgOidTypePlanner;

use crate::error::{Error, Result};

pub use enishi_storage::codec::{PG_TYPE_OID_KEY, PG_TYPMOD_KEY, declared};

/// `infinity` and `-infinity` of timestamp and timestamptz, in microseconds
/// from 1970, and of date, in days: the last and first instants of the
/// calendar Enishi reads (chrono's, years -262143 to 262142), so that they
/// sort after and before every other value and every date library stored
/// files meet can still read them. The wire gives them PostgreSQL's
/// spellings and binary values.
pub const TIMESTAMP_INFINITY: i64 = 8_210_266_876_799_999_999;
pub const TIMESTAMP_MINUS_INFINITY: i64 = -8_334_601_228_800_000_000;
pub const DATE_INFINITY: i32 = 95_026_236;
pub const DATE_MINUS_INFINITY: i32 = -96_465_292;
/// The first microsecond PostgreSQL's timestamps hold: 4714-11-24 00:00 BC
/// (Julian day 0), in microseconds from 1970; and the first day of its dates.
pub const TIMESTAMP_MIN: i64 = -210_866_803_200_000_000;
pub const DATE_MIN: i32 = -2_440_588;

/// A timestamp (or date) column in microseconds, its infinities kept: a
/// nanosecond column's extremes (its own infinities) and the infinite dates
/// become the microsecond ones.
pub fn timestamp_micros(
    column: &datafusion::arrow::array::ArrayRef,
) -> DfResult<datafusion::arrow::array::ArrayRef> {
    use datafusion::arrow::array::{AsArray, TimestampMicrosecondArray};
    use datafusion::arrow::datatypes::TimestampNanosecondType;
    match column.data_type() {
        DataType::Timestamp(TimeUnit::Nanosecond, zone) => {
            let out: TimestampMicrosecondArray = column
                .as_primitive::<TimestampNanosecondType>()
                .iter()
                .map(|v| {
                    v.map(|v| match v {
                        i64::MAX => TIMESTAMP_INFINITY,
                        i64::MIN => TIMESTAMP_MINUS_INFINITY,
                        v => v.div_euclid(1_000),
                    })
                })
                .collect();
            Ok(Arc::new(out.with_timezone_opt(zone.clone())))
        }
        DataType::Timestamp(_, zone) => Ok(datafusion::arrow::compute::cast(
            column,
            &DataType::Timestamp(TimeUnit::Microsecond, zone.clone()),
        )?),
        // Midnight of each date; the infinite dates are infinite timestamps.
        DataType::Date32 => {
            let out: TimestampMicrosecondArray = column
                .as_primitive::<datafusion::arrow::datatypes::Date32Type>()
                .iter()
                .map(|v| {
                    v.map(|v| match v {
                        DATE_INFINITY => TIMESTAMP_INFINITY,
                        DATE_MINUS_INFINITY => TIMESTAMP_MINUS_INFINITY,
                        v => i64::from(v) * 86_400_000_000,
                    })
                })
                .collect();
            Ok(Arc::new(out))
        }
        _ => Ok(column.clone()),
    }
}

/// Field metadata key: a column's DEFAULT expression, as SQL text.
pub const PG_DEFAULT_KEY: &str = "enishi.pg_default";

/// Field metadata key of an identity column: `a` for GENERATED ALWAYS, `d`
/// for BY DEFAULT (pg_attribute.attidentity). Its sequence's `nextval` is
/// kept as its default, which PostgreSQL does not show as one.
pub const PG_IDENTITY_KEY: &str = "enishi.pg_identity";

/// An identity column's kind (`a` or `d`), if it is one.
pub fn identity(field: &Field) -> Option<&str> {
    field.metadata().get(PG_IDENTITY_KEY).map(String::as_str)
}

/// The DEFAULT expression of a stored column, if it has one.
pub fn default_sql(field: &Field) -> Option<&str> {
    field.metadata().get(PG_DEFAULT_KEY).map(String::as_str)
}

/// Field metadata key on result columns: OID of the table the column comes from.
pub const PG_TABLE_OID_KEY: &str = "enishi.pg_table_oid";
/// Field metadata key on result columns: its column number in that table.
pub const PG_ATTNUM_KEY: &str = "enishi.pg_attnum";

/// The (table OID, attnum) a result column comes from, if known.
pub fn source(field: &Field) -> Option<(u32, i16)> {
    let oid = field.metadata().get(PG_TABLE_OID_KEY)?.parse().ok()?;
    let attnum = field.metadata().get(PG_ATTNUM_KEY)?.parse().ok()?;
    Some((oid, attnum))
}

/// Largest numeric precision that fits Arrow's Decimal128.
pub const MAX_NUMERIC_PRECISION: u8 = 38;
/// Scale given to `numeric` declared without precision.
pub const DEFAULT_NUMERIC_SCALE: i8 = 10;

/// PostgreSQL type OIDs Enishi stores.
pub mod oid {
    pub const BOOL: u32 = 16;
    pub const JSON: u32 = 114;
    pub const TIME: u32 = 1083;
    pub const INTERVAL: u32 = 1186;
    pub const VOID: u32 = 2278;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;
    pub const BYTEA: u32 = 17;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const NAME: u32 = 19;
    pub const XID: u32 = 28;
    pub const OID: u32 = 26;
    pub const INT2VECTOR: u32 = 22;
    pub const OIDVECTOR: u32 = 30;
    /// `"char"`: one byte.
    pub const CHAR: u32 = 18;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const NUMERIC: u32 = 1700;
    pub const BOOL_ARRAY: u32 = 1000;
    pub const INT2_ARRAY: u32 = 1005;
    pub const INT4_ARRAY: u32 = 1007;
    pub const TEXT_ARRAY: u32 = 1009;
    pub const VARCHAR_ARRAY: u32 = 1015;
    pub const INT8_ARRAY: u32 = 1016;
    pub const FLOAT4_ARRAY: u32 = 1021;
    pub const FLOAT8_ARRAY: u32 = 1022;
    pub const TIMESTAMP_ARRAY: u32 = 1115;
    pub const DATE_ARRAY: u32 = 1182;
    pub const TIMESTAMPTZ_ARRAY: u32 = 1185;
    pub const NUMERIC_ARRAY: u32 = 1231;

    /// The array type whose elements are `element`.
    pub fn array_of(element: u32) -> Option<u32> {
        Some(match element {
            BOOL => BOOL_ARRAY,
            INT2 => INT2_ARRAY,
            INT4 => INT4_ARRAY,
            TEXT => TEXT_ARRAY,
            VARCHAR => VARCHAR_ARRAY,
            INT8 => INT8_ARRAY,
            FLOAT4 => FLOAT4_ARRAY,
            FLOAT8 => FLOAT8_ARRAY,
            TIMESTAMP => TIMESTAMP_ARRAY,
            DATE => DATE_ARRAY,
            TIMESTAMPTZ => TIMESTAMPTZ_ARRAY,
            NUMERIC => NUMERIC_ARRAY,
            _ => return None,
        })
    }
}

/// A column type as declared in SQL, resolved to its storage and its pg identity.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnType {
    pub arrow: DataType,
    pub pg_oid: u32,
    /// -1 when the declaration has no modifier.
    pub typmod: i32,
}

impl ColumnType {
    pub(crate) fn new(arrow: DataType, pg_oid: u32) -> Self {
        Self {
            arrow,
            pg_oid,
            typmod: -1,
        }
    }

    /// The metadata that records this declaration on an Arrow field.
    pub fn metadata(&self) -> HashMap<String, String> {
        HashMap::from([
            (PG_TYPE_OID_KEY.to_string(), self.pg_oid.to_string()),
            (PG_TYPMOD_KEY.to_string(), self.typmod.to_string()),
        ])
    }

    /// An Arrow field carrying this declaration.
    pub fn field(&self, name: &str, nullable: bool) -> Field {
        Field::new(name, self.arrow.clone(), nullable).with_metadata(self.metadata())
    }
}

/// The pg type OID PostgreSQL clients are told for an Arrow type with no declared
/// type (computed columns, tables made by CREATE TABLE AS).
pub fn pg_oid_for_arrow(ty: &DataType) -> u32 {
    match ty {
        DataType::Boolean => oid::BOOL,
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => oid::INT2,
        DataType::Int32 | DataType::UInt16 => oid::INT4,
        DataType::Int64 | DataType::UInt32 => oid::INT8,
        DataType::UInt64 | DataType::Decimal128(..) | DataType::Decimal256(..) => oid::NUMERIC,
        DataType::Float16 | DataType::Float32 => oid::FLOAT4,
        DataType::Float64 => oid::FLOAT8,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => oid::BYTEA,
        DataType::FixedSizeBinary(_) => oid::BYTEA,
        DataType::Date32 | DataType::Date64 => oid::DATE,
        DataType::Timestamp(_, None) => oid::TIMESTAMP,
        DataType::Timestamp(_, Some(_)) => oid::TIMESTAMPTZ,
        DataType::Time32(_) | DataType::Time64(_) => oid::TIME,
        DataType::Interval(_) | DataType::Duration(_) => oid::INTERVAL,
        DataType::List(item) | DataType::LargeList(item) => {
            oid::array_of(pg_oid_for_arrow(item.data_type())).unwrap_or(oid::TEXT_ARRAY)
        }
        _ => oid::TEXT,
    }
}

/// Teaches the SQL planner the PostgreSQL type names DataFusion rejects (`uuid`,
/// `json`, `time(3)`, `bpchar`, `regclass`, …), so casts to them plan; column
/// declarations use [`column_type`].
#[derive(Debug, Default)]
pub struct PgTypePlanner {
    catalog: PgOidTypePlanner,
}

impl TypePlanner for PgTypePlanner {
    fn plan_type_field(&self, sql_type: &ast::DataType) -> DfResult<Option<FieldRef>> {
        use ast::DataType as T;
        // A cast to varchar keeps its PostgreSQL type (and length) for the
        // client: `'x'::varchar` is described as varchar, not text; one to
        // json or jsonb its type, which the json operators go by.
        if let T::Varchar(_) | T::CharacterVarying(_) | T::JSON | T::JSONB = sql_type
            && let Ok(t) = column_type(sql_type)
        {
            return Ok(Some(Arc::new(
                Field::new("", t.arrow.clone(), true).with_metadata(t.metadata()),
            )));
        }
        let planned = match sql_type {
            // Microseconds, as PostgreSQL and the stored columns keep them:
            // nanoseconds would hold only 1677 to 2262.
            T::Timestamp(_, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone) => {
                Some(ColumnType::new(
                    DataType::Timestamp(TimeUnit::Microsecond, None),
                    oid::TIMESTAMP,
                ))
            }
            T::Timestamp(_, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz) => {
                Some(ColumnType::new(
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                    oid::TIMESTAMPTZ,
                ))
            }
            T::Uuid | T::Time(Some(_), _) => column_type(sql_type).ok(),
            T::Custom(name, _) if name.0.len() == 1 => {
                let last = name.0[0].to_string().to_ascii_lowercase();
                match last.as_str() {
                    "bpchar" | "time" | "aclitem" => column_type(sql_type).ok(),
                    // Transaction ids (a relation's xmin), described as xid.
                    "xid" => {
                        let t = ColumnType::new(DataType::Int32, oid::XID);
                        return Ok(Some(Arc::new(
                            Field::new("", t.arrow.clone(), true).with_metadata(t.metadata()),
                        )));
                    }
                    // Described as what they are: text underneath.
                    "name" | "\"char\"" => {
                        let t = column_type(sql_type).ok();
                        return Ok(t.map(|t| {
                            Arc::new(
                                Field::new("", t.arrow.clone(), true).with_metadata(t.metadata()),
                            )
                        }));
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        match planned {
            Some(t) => Ok(Some(Arc::new(Field::new("", t.arrow, true)))),
            None => self.catalog.plan_type_field(sql_type),
        }
    }
}

/// Resolves a type written in `CREATE TABLE` / `ALTER TABLE ADD COLUMN`.
pub fn column_type(ty: &ast::DataType) -> Result<ColumnType> {
    use ast::DataType as T;
    let micros = DataType::Timestamp(TimeUnit::Microsecond, None);
    Ok(match ty {
        T::SmallInt(_) | T::Int2(_) => ColumnType::new(DataType::Int16, oid::INT2),
        T::Int(_) | T::Integer(_) | T::Int4(_) => ColumnType::new(DataType::Int32, oid::INT4),
        T::BigInt(_) | T::Int8(_) => ColumnType::new(DataType::Int64, oid::INT8),
        T::Real | T::Float4 => ColumnType::new(DataType::Float32, oid::FLOAT4),
        T::DoublePrecision | T::Float8 | T::Double(ExactNumberInfo::None) => {
            ColumnType::new(DataType::Float64, oid::FLOAT8)
        }
        // float(p): PostgreSQL picks real for p <= 24, double precision above.
        T::Float(info) => match info {
            ExactNumberInfo::Precision(p) if *p <= 24 => {
                ColumnType::new(DataType::Float32, oid::FLOAT4)
            }
            _ => ColumnType::new(DataType::Float64, oid::FLOAT8),
        },
        T::Numeric(info) | T::Decimal(info) | T::Dec(info) => numeric(info)?,
        T::Text | T::String(None) => ColumnType::new(DataType::Utf8, oid::TEXT),
        T::Varchar(len) | T::CharacterVarying(len) | T::CharVarying(len) => {
            let mut t = ColumnType::new(DataType::Utf8, oid::VARCHAR);
            if let Some(n) = length(len)? {
                t.typmod = n + 4;
            }
            t
        }
        // char(n): blank-padded to n when stored (see enishi_storage::codec).
        T::Char(len) | T::Character(len) => {
            let mut t = ColumnType::new(DataType::Utf8, oid::BPCHAR);
            t.typmod = length(len)?.unwrap_or(1) + 4;
            t
        }
        T::Boolean | T::Bool => ColumnType::new(DataType::Boolean, oid::BOOL),
        T::Time(precision, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone) => {
            let mut t = ColumnType::new(DataType::Time64(TimeUnit::Microsecond), oid::TIME);
            if let Some(p) = precision {
                if *p > 6 {
                    return Err(Error::InvalidParameterValue(format!(
                        "time precision {p} is out of range (0 .. 6)"
                    )));
                }
                t.typmod = *p as i32;
            }
            t
        }
        T::Interval {
            fields: None,
            precision: None,
        } => ColumnType::new(
            DataType::Interval(IntervalUnit::MonthDayNano),
            oid::INTERVAL,
        ),
        T::Uuid => ColumnType::new(DataType::Utf8, oid::UUID),
        T::JSON => ColumnType::new(DataType::Utf8, oid::JSON),
        T::JSONB => ColumnType::new(DataType::Utf8, oid::JSONB),
        T::Date => ColumnType::new(DataType::Date32, oid::DATE),
        T::Timestamp(precision, tz) => {
            let (arrow, pg) = match tz {
                TimezoneInfo::WithTimeZone | TimezoneInfo::Tz => (
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                    oid::TIMESTAMPTZ,
                ),
                TimezoneInfo::None | TimezoneInfo::WithoutTimeZone => (micros, oid::TIMESTAMP),
            };
            let mut t = ColumnType::new(arrow, pg);
            if let Some(p) = precision {
                if *p > 6 {
                    return Err(Error::InvalidParameterValue(format!(
                        "timestamp precision {p} is out of range (0 .. 6)"
                    )));
                }
                t.typmod = *p as i32;
            }
            t
        }
        T::Bytea => ColumnType::new(DataType::Binary, oid::BYTEA),
        // One-dimensional arrays: a list of the element type; the typmod is the
        // element's (PostgreSQL keeps varchar(n)[]'s n the same way).
        T::Array(
            ast::ArrayElemTypeDef::SquareBracket(element, _)
            | ast::ArrayElemTypeDef::AngleBracket(element),
        ) => {
            let element = column_type(element)?;
            if matches!(element.arrow, DataType::List(_)) {
                return Err(Error::FeatureNotSupported(
                    "multidimensional arrays are not supported".into(),
                ));
            }
            let pg_oid = oid::array_of(element.pg_oid).ok_or_else(|| {
                Error::FeatureNotSupported(format!("arrays of type {ty} are not supported yet"))
            })?;
            let item = Field::new("element", element.arrow, true);
            ColumnType {
                arrow: DataType::List(std::sync::Arc::new(item)),
                pg_oid,
                typmod: element.typmod,
            }
        }
        T::Custom(name, modifiers) => custom(name, modifiers)?,
        other => {
            return Err(Error::FeatureNotSupported(format!(
                "type {other} is not supported yet"
            )));
        }
    })
}

/// Types sqlparser leaves as names: `timestamptz`, `float8` spelled as words, etc.
fn custom(name: &ast::ObjectName, modifiers: &[String]) -> Result<ColumnType> {
    let last = name.0.last().map(|p| p.to_string()).unwrap_or_default();
    if last == "\"char\"" {
        return Ok(ColumnType::new(DataType::Utf8, oid::CHAR));
    }
    let last = last.trim_matches('"').to_ascii_lowercase();
    let t = match last.as_str() {
        "timestamptz" => column_type(&ast::DataType::Timestamp(
            modifiers.first().and_then(|m| m.parse().ok()),
            TimezoneInfo::WithTimeZone,
        ))?,
        "int2" => ColumnType::new(DataType::Int16, oid::INT2),
        "int4" => ColumnType::new(DataType::Int32, oid::INT4),
        "int8" => ColumnType::new(DataType::Int64, oid::INT8),
        "float4" => ColumnType::new(DataType::Float32, oid::FLOAT4),
        "float8" => ColumnType::new(DataType::Float64, oid::FLOAT8),
        "bool" => ColumnType::new(DataType::Boolean, oid::BOOL),
        // The system catalog's identifier type: text, described as name.
        "name" => ColumnType::new(DataType::Utf8, oid::NAME),
        // Access control items, as text (`alice=r/postgres`).
        "aclitem" => ColumnType::new(DataType::Utf8, oid::TEXT),
        "bpchar" => column_type(&ast::DataType::Char(
            modifiers
                .first()
                .and_then(|m| m.parse().ok())
                .map(|length| CharacterLength::IntegerLength { length, unit: None }),
        ))?,
        "time" => column_type(&ast::DataType::Time(
            modifiers.first().and_then(|m| m.parse().ok()),
            TimezoneInfo::None,
        ))?,
        _ => {
            return Err(Error::UndefinedObject(format!(
                "type \"{last}\" does not exist"
            )));
        }
    };
    Ok(t)
}

/// `numeric(p, s)`: Arrow's Decimal128 holds 38 digits, so a column declared
/// wider keeps its declaration (the typmod clients read) and stores values of
/// up to 38 digits; a longer one is refused with 22003, as PostgreSQL refuses
/// one longer than the declared precision.
fn numeric(info: &ExactNumberInfo) -> Result<ColumnType> {
    let (precision, scale, typmod) = match *info {
        ExactNumberInfo::None => (MAX_NUMERIC_PRECISION, DEFAULT_NUMERIC_SCALE, -1),
        ExactNumberInfo::Precision(p) => {
            let p = check_precision(p)?;
            (stored_precision(p), 0, ((p as i32) << 16) + 4)
        }
        ExactNumberInfo::PrecisionAndScale(p, s) => {
            let p = check_precision(p)?;
            if s < 0 || s > i64::from(p) {
                return Err(Error::InvalidParameterValue(format!(
                    "NUMERIC scale {s} must be between 0 and precision {p}"
                )));
            }
            if s > i64::from(MAX_NUMERIC_PRECISION) {
                return Err(Error::FeatureNotSupported(format!(
                    "NUMERIC scale {s} exceeds the supported maximum of {MAX_NUMERIC_PRECISION}"
                )));
            }
            (
                stored_precision(p),
                s as i8,
                ((p as i32) << 16 | s as i32) + 4,
            )
        }
    };
    Ok(ColumnType {
        arrow: DataType::Decimal128(precision, scale),
        pg_oid: oid::NUMERIC,
        typmod,
    })
}

fn stored_precision(declared: u16) -> u8 {
    declared.min(u16::from(MAX_NUMERIC_PRECISION)) as u8
}

fn check_precision(p: u64) -> Result<u16> {
    match p {
        1..=1000 => Ok(p as u16),
        _ => Err(Error::InvalidParameterValue(format!(
            "NUMERIC precision {p} must be between 1 and 1000"
        ))),
    }
}

fn length(len: &Option<CharacterLength>) -> Result<Option<i32>> {
    match len {
        None | Some(CharacterLength::Max) => Ok(None),
        Some(CharacterLength::IntegerLength { length, .. }) => {
            if *length == 0 || *length > 10_485_760 {
                Err(Error::InvalidParameterValue(format!(
                    "length for type varchar must be between 1 and 10485760, not {length}"
                )))
            } else {
                Ok(Some(*length as i32))
            }
        }
    }
}

/// A parameter's value as its placeholder's type `to`. The unconstrained
/// `numeric` keeps [`DEFAULT_NUMERIC_SCALE`] digits after the point where
/// PostgreSQL's keeps them all: a value with more is refused (22003), never
/// rounded. A constrained numeric rounds, as PostgreSQL's assignment does; a
/// value too large for it is refused (22003).
pub fn parameter_value(value: ScalarValue, to: &DataType) -> Result<ScalarValue> {
    if let ScalarValue::Decimal128(Some(v), _, from) = &value
        && *to == DataType::Decimal128(MAX_NUMERIC_PRECISION, DEFAULT_NUMERIC_SCALE)
        && *from > DEFAULT_NUMERIC_SCALE
        && v % 10i128.pow((from - DEFAULT_NUMERIC_SCALE) as u32) != 0
    {
        return Err(Error::NumericValueOutOfRange(format!(
            "numeric value {value} has more than {DEFAULT_NUMERIC_SCALE} digits after the decimal point and cannot be stored exactly"
        )));
    }
    if value.data_type() == *to {
        return Ok(value);
    }
    value.cast_to(to).map_err(|e| match to {
        DataType::Decimal128(p, s) if matches!(value, ScalarValue::Decimal128(..)) => {
            Error::NumericValueOutOfRange(format!(
                "numeric field overflow: a field with precision {p}, scale {s} must round to an absolute value less than 10^{}",
                i16::from(*p) - i16::from(*s)
            ))
        }
        _ => e.into(),
    })
}

/// A numeric parameter as the client spelled it (`1.5`, `-2e-3`), read
/// exactly, as a value of `to` ([`parameter_value`]).
pub fn numeric_parameter(text: &str, to: &DataType) -> Result<ScalarValue> {
    let text = text.trim();
    if matches!(to, DataType::Float64 | DataType::Float32) {
        let value = ScalarValue::Utf8(Some(text.to_string()));
        return Ok(value.cast_to(to)?);
    }
    if crate::numeric::Special::read(text).is_some()
        && let DataType::Decimal128(p, s) = *to
    {
        let unconstrained = (p, s) == (MAX_NUMERIC_PRECISION, DEFAULT_NUMERIC_SCALE);
        let value = crate::numeric::parse(text, p, s, unconstrained)?;
        return Ok(ScalarValue::Decimal128(Some(value), p, s));
    }
    let (digits, scale) = exact_decimal(text)?;
    let value = ScalarValue::Decimal128(Some(digits), MAX_NUMERIC_PRECISION, scale);
    parameter_value(value, to)
}

/// `text` (digits, an optional point and exponent) as a Decimal128's digits
/// and scale, exactly: 22003 when that needs more than 38 digits or names no
/// finite number (NaN, Infinity), 22P02 when it is not a number at all.
fn exact_decimal(text: &str) -> Result<(i128, i8)> {
    let invalid = || {
        Error::InvalidTextRepresentation(format!(
            "invalid input syntax for type numeric: \"{text}\""
        ))
    };
    let too_long = || {
        Error::NumericValueOutOfRange(format!(
            "numeric value {text} needs more than {MAX_NUMERIC_PRECISION} digits"
        ))
    };
    let lower = text.to_ascii_lowercase();
    if matches!(
        lower.trim_start_matches(['+', '-']),
        "nan" | "infinity" | "inf"
    ) {
        return Err(Error::NumericValueOutOfRange(format!(
            "numeric value {text} cannot be stored: only finite numbers can"
        )));
    }
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().map_err(|_| invalid())?),
        None => (rest, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    let mut digits: String = whole.chars().chain(fraction.chars()).collect();
    let mut scale = fraction.len() as i64 - i64::from(exponent);
    // Trailing zeros after the point say nothing; an exponent past the
    // digits adds zeros before it.
    while scale > 0 && digits.ends_with('0') {
        digits.pop();
        scale -= 1;
    }
    if scale < 0 {
        let zeros = usize::try_from(-scale).map_err(|_| too_long())?;
        if zeros > usize::from(MAX_NUMERIC_PRECISION) {
            return Err(too_long());
        }
        digits.push_str(&"0".repeat(zeros));
        scale = 0;
    }
    let digits = digits.trim_start_matches('0');
    if digits.len() > usize::from(MAX_NUMERIC_PRECISION) || scale > i64::from(MAX_NUMERIC_PRECISION)
    {
        return Err(too_long());
    }
    let value: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| invalid())?
    };
    Ok((if negative { -value } else { value }, scale as i8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    #[test]
    fn infinities_are_the_calendars_ends() {
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        assert_eq!(
            (chrono::NaiveDate::MAX - epoch).num_days(),
            i64::from(DATE_INFINITY)
        );
        assert_eq!(
            (chrono::NaiveDate::MIN - epoch).num_days(),
            i64::from(DATE_MINUS_INFINITY)
        );
        let end = chrono::NaiveDate::MAX
            .and_hms_micro_opt(23, 59, 59, 999_999)
            .unwrap();
        assert_eq!(end.and_utc().timestamp_micros(), TIMESTAMP_INFINITY);
        let start = chrono::NaiveDate::MIN.and_hms_opt(0, 0, 0).unwrap();
        assert_eq!(start.and_utc().timestamp_micros(), TIMESTAMP_MINUS_INFINITY);
    }

    fn parse(ty: &str) -> Result<ColumnType> {
        let sql = format!("CREATE TABLE t (c {ty})");
        let stmt = Parser::parse_sql(&PostgreSqlDialect {}, &sql)
            .unwrap()
            .remove(0);
        let ast::Statement::CreateTable(create) = stmt else {
            panic!()
        };
        column_type(&create.columns[0].data_type)
    }

    #[test]
    fn numeric_parameters_are_read_exactly_and_never_rounded_silently() {
        let unconstrained = DataType::Decimal128(MAX_NUMERIC_PRECISION, DEFAULT_NUMERIC_SCALE);
        let shown = |text: &str, to: &DataType| match numeric_parameter(text, to) {
            Ok(v) => v.to_string(),
            Err(Error::NumericValueOutOfRange(m)) => format!("22003: {m}"),
            Err(Error::InvalidTextRepresentation(m)) => format!("22P02: {m}"),
            Err(e) => format!("other: {e}"),
        };
        assert_eq!(shown("0.1234567891", &unconstrained), "0.1234567891");
        assert_eq!(shown("-2.5e-3", &unconstrained), "-0.0025000000");
        assert_eq!(shown(" 1.5E3 ", &unconstrained), "1500.0000000000");
        assert!(shown("0.123456789012345", &unconstrained).starts_with("22003"));
        assert_eq!(
            shown("0.12345678900000000000", &unconstrained),
            "0.1234567890"
        );
        // A constrained numeric rounds half away from zero, as PostgreSQL does.
        assert_eq!(shown("1.005", &DataType::Decimal128(10, 2)), "1.01");
        assert!(shown("123456789.5", &DataType::Decimal128(5, 2)).starts_with("22003"));
        // NaN and the infinities are kept past the finite range.
        let nan = crate::numeric::Special::NaN.stored(MAX_NUMERIC_PRECISION);
        assert_eq!(
            numeric_parameter(" nan ", &unconstrained).unwrap(),
            ScalarValue::Decimal128(Some(nan), MAX_NUMERIC_PRECISION, DEFAULT_NUMERIC_SCALE)
        );
        assert!(shown("-Infinity", &DataType::Decimal128(5, 2)).starts_with("22003"));
        assert!(shown("1.2.3", &unconstrained).starts_with("22P02"));
        assert_eq!(shown("2.5", &DataType::Float64), "2.5");
    }

    #[test]
    fn declared_types_keep_their_modifiers() {
        let v = parse("varchar(20)").unwrap();
        assert_eq!(
            (v.arrow.clone(), v.pg_oid, v.typmod),
            (DataType::Utf8, oid::VARCHAR, 24)
        );
        let n = parse("numeric(10,2)").unwrap();
        assert_eq!(
            (n.arrow.clone(), n.typmod),
            (DataType::Decimal128(10, 2), (10 << 16 | 2) + 4)
        );
        let tz = parse("timestamptz").unwrap();
        assert_eq!(tz.pg_oid, oid::TIMESTAMPTZ);
        let tz = parse("timestamp with time zone").unwrap();
        assert_eq!(
            tz.arrow,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(parse("double precision").unwrap().pg_oid, oid::FLOAT8);
        assert_eq!(parse("int8").unwrap().arrow, DataType::Int64);
    }

    #[test]
    fn arrays_are_lists_of_their_element() {
        let a = parse("integer[]").unwrap();
        assert_eq!(a.pg_oid, oid::INT4_ARRAY);
        assert!(matches!(a.arrow, DataType::List(ref f) if f.data_type() == &DataType::Int32));
        let v = parse("varchar(10)[]").unwrap();
        assert_eq!((v.pg_oid, v.typmod), (oid::VARCHAR_ARRAY, 14));
        assert!(parse("integer[][]").is_err());
    }

    #[test]
    fn wide_numeric_keeps_its_declaration() {
        let wide = parse("numeric(50,2)").unwrap();
        assert_eq!(wide.arrow, DataType::Decimal128(38, 2));
        assert_eq!(wide.typmod, (50 << 16 | 2) + 4);
        assert!(matches!(
            parse("numeric(1001,2)"),
            Err(Error::InvalidParameterValue(_))
        ));
        assert!(matches!(
            parse("numeric(60,50)"),
            Err(Error::FeatureNotSupported(_))
        ));
        assert!(matches!(
            parse("nosuchtype"),
            Err(Error::UndefinedObject(_))
        ));
    }
}
