//! COPY's wire formats: what `COPY … TO STDOUT` sends and how the data of
//! `COPY … FROM STDIN` is read, in PostgreSQL's text, CSV and binary formats.
//!
//! Values are rendered exactly as in query results (`encode`), then framed the
//! way PostgreSQL's COPY frames them; input rows become text fields that the
//! engine converts to column types (`enishi_sql::CopyIn::convert`).

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::memory_pool::MemoryReservation;
use enishi_sql::{CopyFormat, CopyOptions};
use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::api::results::FieldInfo;
use pgwire::error::{ErrorInfo, PgWireResult};

use super::encode::{self, TextStyle};

mod from;

pub(crate) use from::numeric_text;
pub use from::{DataError, Decoder};

/// The signature, flags and header extension length that open binary COPY data.
const BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// Rows per batch handed to the engine.
pub const BATCH_ROWS: usize = 8192;

/// Text a batch may hold before it is handed on, however few its rows.
const BATCH_BYTES: usize = 8 << 20;

/// The longest record COPY reads: PostgreSQL's limit for one line.
const MAX_RECORD_BYTES: usize = (1 << 30) - 1;

/// The per-column format code of a CopyIn/CopyOutResponse.
pub fn format_code(options: &CopyOptions) -> i8 {
    match options.format {
        CopyFormat::Binary => 1,
        _ => 0,
    }
}

// ---------------------------------------------------------------- COPY TO

/// Renders result batches as COPY data, one message per row.
pub struct Encoder {
    options: CopyOptions,
    fields: Arc<Vec<FieldInfo>>,
    style: TextStyle,
    names: Vec<String>,
}

impl Encoder {
    pub fn new(options: CopyOptions, schema: &SchemaRef, style: TextStyle) -> PgWireResult<Self> {
        let format = match options.format {
            CopyFormat::Binary => Format::UnifiedBinary,
            _ => Format::UnifiedText,
        };
        let fields = Arc::new(encode::fields(schema, &format, &style)?);
        let names = schema.fields().iter().map(|f| f.name().clone()).collect();
        Ok(Self {
            options,
            fields,
            style,
            names,
        })
    }

    pub fn columns(&self) -> usize {
        self.names.len()
    }

    /// What precedes the rows: the binary header, or a header line.
    pub fn start(&self) -> Option<Bytes> {
        match self.options.format {
            CopyFormat::Binary => Some(Bytes::from_static(BINARY_HEADER)),
            _ if self.options.header => {
                let mut line = BytesMut::new();
                for (i, name) in self.names.iter().enumerate() {
                    if i > 0 {
                        line.put_u8(self.options.delimiter);
                    }
                    self.put_value(&mut line, i, name.as_bytes(), true);
                }
                line.put_u8(b'\n');
                Some(line.freeze())
            }
            _ => None,
        }
    }

    /// One COPY data message per row of `batch`.
    pub fn rows(&self, batch: RecordBatch) -> PgWireResult<Vec<Bytes>> {
        let rows = encode::encode_batch(batch, &self.fields, &self.style)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut message = BytesMut::with_capacity(row.data.len() + 16);
            if self.options.format == CopyFormat::Binary {
                // A binary COPY tuple is a DataRow's body: field count, then
                // each field's length (-1 for NULL) and bytes.
                message.put_i16(row.field_count);
                message.put_slice(&row.data);
            } else {
                for (i, value) in data_row_values(&row.data).enumerate() {
                    if i > 0 {
                        message.put_u8(self.options.delimiter);
                    }
                    match value {
                        None => message.put_slice(self.options.null.as_bytes()),
                        Some(v) => self.put_value(&mut message, i, v, false),
                    }
                }
                message.put_u8(b'\n');
            }
            out.push(message.freeze());
        }
        Ok(out)
    }

    /// What follows the rows: the binary trailer.
    pub fn finish(&self) -> Option<Bytes> {
        (self.options.format == CopyFormat::Binary).then(|| Bytes::from_static(&[0xff, 0xff]))
    }

    fn put_value(&self, out: &mut BytesMut, column: usize, value: &[u8], header: bool) {
        match self.options.format {
            CopyFormat::Csv => {
                let single = self.names.len() == 1;
                put_csv(out, value, &self.options, column, header, single)
            }
            _ => put_text(out, value, self.options.delimiter),
        }
    }
}

/// The fields of a DataRow body: `[i32 length][bytes]`, length -1 for NULL.
fn data_row_values(data: &[u8]) -> impl Iterator<Item = Option<&[u8]>> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.len() < 4 {
            return None;
        }
        let len = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        rest = &rest[4..];
        if len < 0 {
            return Some(None);
        }
        let (value, tail) = rest.split_at(len as usize);
        rest = tail;
        Some(Some(value))
    })
}

/// Text format: backslash, line breaks, tab, the other control characters
/// PostgreSQL escapes, and the delimiter are written as backslash sequences.
fn put_text(out: &mut BytesMut, value: &[u8], delimiter: u8) {
    for &b in value {
        match b {
            b'\\' => out.put_slice(b"\\\\"),
            b'\n' => out.put_slice(b"\\n"),
            b'\r' => out.put_slice(b"\\r"),
            b'\t' => out.put_slice(b"\\t"),
            0x08 => out.put_slice(b"\\b"),
            0x0c => out.put_slice(b"\\f"),
            0x0b => out.put_slice(b"\\v"),
            b if b == delimiter => {
                out.put_u8(b'\\');
                out.put_u8(b);
            }
            b => out.put_u8(b),
        }
    }
}

/// CSV: a value is quoted when FORCE_QUOTE names its column, when it holds the
/// delimiter, the quote, a line break, when it equals the NULL string, or is
/// the end-of-data marker alone on its line (a single column); inside quotes
/// the quote and escape characters are preceded by the escape character.
fn put_csv(
    out: &mut BytesMut,
    value: &[u8],
    options: &CopyOptions,
    column: usize,
    header: bool,
    single: bool,
) {
    let (quote, escape) = (options.quote, options.escape);
    let quoted = (!header && options.force_quote.contains(&column))
        || value == options.null.as_bytes()
        || (single && value == b"\\.")
        || value
            .iter()
            .any(|&b| b == options.delimiter || b == quote || b == b'\n' || b == b'\r');
    if !quoted {
        out.put_slice(value);
        return;
    }
    out.put_u8(quote);
    for &b in value {
        if b == quote || b == escape {
            out.put_u8(escape);
        }
        out.put_u8(b);
    }
    out.put_u8(quote);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(format: CopyFormat) -> CopyOptions {
        let csv = format == CopyFormat::Csv;
        CopyOptions {
            format,
            delimiter: if csv { b',' } else { b'\t' },
            null: if csv { String::new() } else { "\\N".into() },
            header: false,
            quote: b'"',
            escape: b'"',
            force_quote: vec![],
            force_null: vec![],
            force_not_null: vec![],
        }
    }

    fn unbounded() -> MemoryReservation {
        let pool: Arc<dyn datafusion::execution::memory_pool::MemoryPool> =
            Arc::new(datafusion::execution::memory_pool::UnboundedMemoryPool::default());
        datafusion::execution::memory_pool::MemoryConsumer::new("COPY").register(&pool)
    }

    fn decode(format: CopyFormat, chunks: &[&[u8]], columns: usize) -> Vec<Vec<Option<String>>> {
        let whole = decode_with(options(format), chunks, columns);
        // Resuming a record cut anywhere reads the same rows.
        let all: Vec<u8> = chunks.concat();
        let bytes: Vec<&[u8]> = all.chunks(1).collect();
        assert_eq!(decode_with(options(format), &bytes, columns), whole);
        whole
    }

    fn decode_with(
        options: CopyOptions,
        chunks: &[&[u8]],
        columns: usize,
    ) -> Vec<Vec<Option<String>>> {
        let names = (0..columns).map(|i| format!("c{i}")).collect();
        let mut decoder = Decoder::new(options, names, vec![], unbounded());
        for chunk in chunks {
            decoder.push(chunk).unwrap();
        }
        decoder.finish().unwrap();
        let Some((batch, _)) = decoder.take(true) else {
            return vec![];
        };
        (0..batch.num_rows())
            .map(|r| {
                (0..batch.num_columns())
                    .map(|c| {
                        let col = batch
                            .column(c)
                            .as_any()
                            .downcast_ref::<datafusion::arrow::array::StringArray>()
                            .unwrap();
                        datafusion::arrow::array::Array::is_valid(col, r)
                            .then(|| col.value(r).to_string())
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn text_format_escapes_and_nulls_across_chunk_boundaries() {
        let rows = decode(
            CopyFormat::Text,
            &[b"a\\tb\t\\N\nx\\\\", b"y\t\\\\N\r\n\\.\nignored\n"],
            2,
        );
        assert_eq!(
            rows,
            vec![
                vec![Some("a\tb".into()), None],
                vec![Some("x\\y".into()), Some("\\N".into())]
            ]
        );
        let mut out = BytesMut::new();
        put_text(&mut out, b"a\tb\\c\nd", b'\t');
        assert_eq!(&out[..], b"a\\tb\\\\c\\nd");
    }

    #[test]
    fn csv_quotes_nulls_and_records_spanning_lines() {
        let rows = decode(
            CopyFormat::Csv,
            &[
                b"1,,\"\"\n2,\"multi\nline\",\"say \"\"hi",
                b"\"\"\"\n3,\\.,x",
            ],
            3,
        );
        assert_eq!(
            rows,
            vec![
                vec![Some("1".into()), None, Some("".into())],
                vec![
                    Some("2".into()),
                    Some("multi\nline".into()),
                    Some("say \"hi\"".into())
                ],
                vec![Some("3".into()), Some("\\.".into()), Some("x".into())],
            ]
        );
        let o = options(CopyFormat::Csv);
        let mut out = BytesMut::new();
        put_csv(&mut out, b"", &o, 0, false, false);
        out.put_u8(b'|');
        put_csv(&mut out, b"a,\"b", &o, 0, false, false);
        out.put_u8(b'|');
        put_csv(&mut out, b"plain", &o, 0, false, false);
        assert_eq!(&out[..], b"\"\"|\"a,\"\"b\"|plain");
    }

    #[test]
    fn csv_with_its_own_escape_resumes_between_escape_and_quote() {
        let mut o = options(CopyFormat::Csv);
        o.escape = b'\\';
        let data: &[u8] = b"\"a\\\"b\",\"c\\\\\"\r\nx,y";
        let expected = vec![
            vec![Some("a\"b".to_string()), Some("c\\".to_string())],
            vec![Some("x".to_string()), Some("y".to_string())],
        ];
        assert_eq!(decode_with(o.clone(), &[data], 2), expected);
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        assert_eq!(decode_with(o, &bytes, 2), expected);
    }

    #[test]
    fn a_record_larger_than_the_memory_pool_fails_with_53200() {
        let pool: Arc<dyn datafusion::execution::memory_pool::MemoryPool> = Arc::new(
            datafusion::execution::memory_pool::GreedyMemoryPool::new(1 << 20),
        );
        let memory =
            datafusion::execution::memory_pool::MemoryConsumer::new("COPY").register(&pool);
        let mut decoder = Decoder::new(options(CopyFormat::Text), vec!["a".into()], vec![], memory);
        let chunk = vec![b'x'; 64 << 10];
        let err = (0..64)
            .find_map(|_| decoder.push(&chunk).err())
            .expect("a 4 MiB line does not fit in 1 MiB");
        assert_eq!((err.code, err.line), ("53200", 1));
        assert!(pool.reserved() <= 1 << 20);
        drop(decoder);
        assert_eq!(pool.reserved(), 0);
    }

    #[test]
    fn wrong_field_counts_name_the_line() {
        let names = vec!["a".to_string(), "b".to_string()];
        let mut decoder = Decoder::new(options(CopyFormat::Text), names, vec![], unbounded());
        decoder.push(b"1\t2\n3\n").unwrap_err();
        let mut decoder = Decoder::new(
            options(CopyFormat::Text),
            vec!["a".into()],
            vec![],
            unbounded(),
        );
        let err = decoder.push(b"1\n2\t3\n").unwrap_err();
        assert_eq!((err.code, err.line), ("22P04", 2));
    }
}
