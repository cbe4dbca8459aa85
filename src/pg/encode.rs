//! Arrow batches to PostgreSQL rows.
//!
//! arrow-pg encodes values in both formats. In text format PostgreSQL's spelling
//! differs from arrow-pg's for floats (`1`, `1e+20`, `Infinity`), date/time values
//! (fractional seconds trimmed, `BC` years) and timestamptz (shown in the session's
//! TimeZone with `+05:30`-style offsets), so those columns are rendered here first
//! and handed to arrow-pg as text. Binary format is exact per type and left alone.
//!
//! Column types come from the declared PostgreSQL type when a field carries one
//! (`varchar(20)` stays varchar with its typmod), else from arrow-pg's mapping.

use std::sync::Arc;

use arrow_pg::datatypes::{
    PG_CHAR_KEY, PG_OID_ALIAS_KEY, arrow_schema_to_pg_fields, encode_recordbatch, into_pg_type,
};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BinaryArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Field, IntervalMonthDayNanoType, Schema,
    TimestampMicrosecondType,
};
use enishi_sql::{text_output, types};
use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;
use pgwire::types::format::FormatOptions;

/// What text rendering depends on: the session settings at statement start,
/// for Enishi's own output functions and for arrow-pg's.
#[derive(Debug, Clone)]
pub struct TextStyle {
    pub output: text_output::TextStyle,
    pub options: Arc<FormatOptions>,
}

impl TextStyle {
    pub fn from_settings(settings: &enishi_sql::Settings) -> Self {
        let mut options = FormatOptions::default();
        options.date_style = settings
            .get("DateStyle")
            .unwrap_or_else(|_| "ISO, MDY".into());
        options.interval_style = settings
            .get("IntervalStyle")
            .unwrap_or_else(|_| "postgres".into());
        options.extra_float_digits = settings.extra_float_digits() as i8;
        options.time_zone = settings.time_zone();
        Self {
            output: text_output::TextStyle::from_settings(settings),
            options: Arc::new(options),
        }
    }
}

/// RowDescription fields for a result schema, in the formats the client asked for.
pub fn fields(schema: &Schema, format: &Format, style: &TextStyle) -> PgWireResult<Vec<FieldInfo>> {
    let columns = schema.fields().len();
    // A format list shorter than the columns would make pgwire index past its end.
    if let Format::Individual(codes) = format
        && codes.len() != columns
        && codes.len() > 1
    {
        return Err(protocol_error(format!(
            "bind message has {} result formats but query has {columns} columns",
            codes.len()
        )));
    }
    let base = arrow_schema_to_pg_fields(schema, format, Some(style.options.clone()))?;
    Ok(base
        .into_iter()
        .zip(schema.fields())
        .map(|(info, field)| {
            let (ty, typmod) = match types::declared(field) {
                Some((oid, typmod)) => (
                    Type::from_oid(oid).unwrap_or_else(|| info.datatype().clone()),
                    typmod,
                ),
                // An oid-alias tag (regclass, oid, …) survives casts in DataFusion; it
                // only describes the value while the value is still a 4-byte integer.
                None if is_oid_alias(info.datatype())
                    && !matches!(field.data_type(), DataType::Int32 | DataType::UInt32) =>
                {
                    (into_pg_type(field.data_type()).unwrap_or(Type::TEXT), -1)
                }
                None => (info.datatype().clone(), info.type_modifier()),
            };
            let (table, attnum) = match types::source(field) {
                Some((oid, attnum)) => (Some(oid as i32), Some(attnum)),
                None => (None, None),
            };
            FieldInfo::new(
                info.name().to_string(),
                table,
                attnum,
                ty.clone(),
                info.format(),
            )
            .with_format_options(style.options.clone())
            .with_type_modifier(typmod)
            .with_type_size(type_size(&ty))
        })
        .collect())
}

fn is_oid_alias(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::OID
            | Type::REGCLASS
            | Type::REGTYPE
            | Type::REGPROC
            | Type::REGPROCEDURE
            | Type::REGOPER
            | Type::REGOPERATOR
            | Type::REGNAMESPACE
            | Type::REGROLE
            | Type::REGCONFIG
            | Type::REGDICTIONARY
            | Type::REGCOLLATION
    )
}

/// The catalog's vector types (`pg_index.indkey`), lists spelled with spaces.
fn is_vector(ty: &Type) -> bool {
    matches!(*ty, Type::INT2_VECTOR | Type::OID_VECTOR)
}

/// pg_type.typlen, which RowDescription carries.
fn type_size(ty: &Type) -> i16 {
    match *ty {
        Type::BOOL => 1,
        Type::NAME => 64,
        Type::INT2 => 2,
        Type::INT4 | Type::FLOAT4 | Type::DATE | Type::OID => 4,
        Type::INT8 | Type::FLOAT8 | Type::TIMESTAMP | Type::TIMESTAMPTZ | Type::TIME => 8,
        _ => -1,
    }
}

/// Encodes one batch as DataRows.
pub fn encode_batch(
    batch: RecordBatch,
    fields: &Arc<Vec<FieldInfo>>,
    style: &TextStyle,
) -> PgWireResult<Vec<DataRow>> {
    let batch = without_descriptive_metadata(render_text_columns(batch, fields, style)?)?;
    encode_recordbatch(fields.clone(), batch).collect()
}

/// The field metadata arrow-pg's encoder reads for each value.
const ENCODER_METADATA: [&str; 2] = [PG_CHAR_KEY, PG_OID_ALIAS_KEY];

/// Drops the field metadata that only describes a column to the client (its
/// type, source table and attribute, already in the RowDescription). arrow-pg
/// looks keys up in a field's metadata for every value it encodes; on an empty
/// map that costs nothing, on ours it hashed a key per value (about a tenth
/// of the time of streaming `SELECT * FROM lineitem`).
fn without_descriptive_metadata(batch: RecordBatch) -> PgWireResult<RecordBatch> {
    let schema = batch.schema();
    let descriptive = |field: &Field| {
        field
            .metadata()
            .keys()
            .any(|k| !ENCODER_METADATA.contains(&k.as_str()))
    };
    if !schema.fields().iter().any(|f| descriptive(f)) {
        return Ok(batch);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let mut metadata = f.metadata().clone();
            metadata.retain(|k, _| ENCODER_METADATA.contains(&k.as_str()));
            f.as_ref().clone().with_metadata(metadata)
        })
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), batch.columns().to_vec())
        .map_err(|e| PgWireError::ApiError(Box::new(e)))
}

fn protocol_error(message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        "08P01".into(),
        message,
    )))
}

/// Replaces text-format columns whose PostgreSQL spelling arrow-pg does not produce
/// with their rendered strings.
fn render_text_columns(
    batch: RecordBatch,
    fields: &[FieldInfo],
    style: &TextStyle,
) -> PgWireResult<RecordBatch> {
    let mut changed = false;
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    let mut schema_fields: Vec<Field> = Vec::with_capacity(batch.num_columns());
    for (i, column) in batch.columns().iter().enumerate() {
        let rendered = match fields.get(i) {
            Some(f) if f.format() == FieldFormat::Text && is_vector(f.datatype()) => {
                text_output::vector(column)
            }
            Some(f) if f.format() == FieldFormat::Text => {
                text_output::render(column, &style.output)
            }
            Some(f) => binary(column, f.datatype()),
            None => None,
        };
        let field = batch.schema().field(i).clone();
        match rendered {
            Some(array) => {
                changed = true;
                schema_fields.push(field.with_data_type(array.data_type().clone()));
                columns.push(array);
            }
            None => {
                schema_fields.push(field);
                columns.push(column.clone());
            }
        }
    }
    if !changed {
        return Ok(batch);
    }
    RecordBatch::try_new(Arc::new(Schema::new(schema_fields)), columns)
        .map_err(|e| PgWireError::ApiError(Box::new(e)))
}

/// The binary wire form of types Enishi keeps as text: uuid's 16 bytes, jsonb's
/// version byte before the text.
fn binary(column: &ArrayRef, ty: &Type) -> Option<ArrayRef> {
    if *ty == Type::INTERVAL {
        // PostgreSQL's binary interval: microseconds (i64), days, months (i32);
        // built here so that NULLs stay NULL.
        let intervals = column.as_primitive_opt::<IntervalMonthDayNanoType>()?;
        let out: BinaryArray = intervals
            .iter()
            .map(|v| {
                v.map(|v| {
                    let mut bytes = Vec::with_capacity(16);
                    bytes.extend_from_slice(&(v.nanoseconds / 1000).to_be_bytes());
                    bytes.extend_from_slice(&v.days.to_be_bytes());
                    bytes.extend_from_slice(&v.months.to_be_bytes());
                    bytes
                })
            })
            .collect();
        return Some(Arc::new(out));
    }
    if matches!(*ty, Type::TIMESTAMP | Type::TIMESTAMPTZ) {
        // Microseconds from 2000-01-01; the infinities stay the largest and
        // smallest values, as in PostgreSQL.
        let micros = column.as_primitive_opt::<TimestampMicrosecondType>()?;
        let out: BinaryArray = micros
            .iter()
            .map(|v| {
                v.map(|v| match v {
                    types::TIMESTAMP_INFINITY => i64::MAX.to_be_bytes(),
                    types::TIMESTAMP_MINUS_INFINITY => i64::MIN.to_be_bytes(),
                    v => (v - POSTGRES_EPOCH_MICROS).to_be_bytes(),
                })
            })
            .collect();
        return Some(Arc::new(out));
    }
    if *ty == Type::DATE {
        let days = column.as_primitive_opt::<Date32Type>()?;
        let out: BinaryArray = days
            .iter()
            .map(|v| {
                v.map(|v| match v {
                    types::DATE_INFINITY => i32::MAX.to_be_bytes(),
                    types::DATE_MINUS_INFINITY => i32::MIN.to_be_bytes(),
                    v => (v - POSTGRES_EPOCH_DAYS).to_be_bytes(),
                })
            })
            .collect();
        return Some(Arc::new(out));
    }
    if *ty == Type::NUMERIC {
        let DataType::Decimal128(precision, scale) = *column.data_type() else {
            return None;
        };
        let decimals = column.as_primitive_opt::<Decimal128Type>()?;
        let out: BinaryArray = decimals
            .iter()
            .map(|v| {
                v.map(|v| match enishi_sql::NumericSpecial::of(v, precision) {
                    Some(special) => special_numeric_binary(special),
                    None => numeric_binary(v, scale),
                })
            })
            .collect();
        return Some(Arc::new(out));
    }
    if !matches!(*ty, Type::UUID | Type::JSONB) {
        return None;
    }
    // Scans may hand strings over as views.
    let column = datafusion::arrow::compute::cast(column, &DataType::Utf8).ok()?;
    let strings = column.as_string_opt::<i32>()?;
    let convert: fn(&str) -> Vec<u8> = match *ty {
        Type::UUID => |v| {
            let hex: String = v.chars().filter(|c| *c != '-').collect();
            (0..hex.len() / 2)
                .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                .collect()
        },
        Type::JSONB => |v| [&[1u8][..], v.as_bytes()].concat(),
        _ => return None,
    };
    let out: BinaryArray = strings.iter().map(|v| v.map(convert)).collect();
    Some(Arc::new(out))
}

/// 2000-01-01, from which PostgreSQL's binary dates and timestamps count.
const POSTGRES_EPOCH_DAYS: i32 = 10_957;
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// NaN and the infinities in PostgreSQL's binary numeric: no digits, and
/// the sign word saying which.
fn special_numeric_binary(special: enishi_sql::NumericSpecial) -> Vec<u8> {
    let sign: u16 = match special {
        enishi_sql::NumericSpecial::NaN => 0xC000,
        enishi_sql::NumericSpecial::Infinity => 0xD000,
        enishi_sql::NumericSpecial::NegativeInfinity => 0xF000,
    };
    let mut out = vec![0u8; 8];
    out[4..6].copy_from_slice(&sign.to_be_bytes());
    out
}

/// PostgreSQL's binary numeric: digit count, weight (of the first base-10000
/// digit), sign and display scale, then the base-10000 digits. The display
/// scale keeps trailing zeros (`0.00` stays `0.00`).
fn numeric_binary(value: i128, scale: i8) -> Vec<u8> {
    let negative = value < 0;
    let dscale = scale.max(0) as usize;
    let mut text = value.unsigned_abs().to_string();
    if scale < 0 {
        text.push_str(&"0".repeat(usize::from(scale.unsigned_abs())));
    }
    if text.len() <= dscale {
        text = format!("{}{text}", "0".repeat(dscale + 1 - text.len()));
    }
    let (int, frac) = text.split_at(text.len() - dscale);
    // Whole base-10000 digits on both sides of the decimal point.
    let int = format!("{}{int}", "0".repeat((4 - int.len() % 4) % 4));
    let frac = format!("{frac}{}", "0".repeat((4 - frac.len() % 4) % 4));
    let group = |s: &str| -> Vec<i16> {
        s.as_bytes()
            .chunks(4)
            .map(|c| {
                std::str::from_utf8(c)
                    .ok()
                    .and_then(|d| d.parse().ok())
                    .unwrap_or(0)
            })
            .collect()
    };
    let mut digits = group(&int);
    let mut weight = digits.len() as i16 - 1;
    digits.extend(group(&frac));
    while digits.first() == Some(&0) {
        digits.remove(0);
        weight -= 1;
    }
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        weight = 0;
    }
    let mut out = Vec::with_capacity(8 + 2 * digits.len());
    out.extend_from_slice(&(digits.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&(if negative { 0x4000u16 } else { 0 }).to_be_bytes());
    out.extend_from_slice(&(dscale as i16).to_be_bytes());
    for digit in digits {
        out.extend_from_slice(&digit.to_be_bytes());
    }
    out
}
