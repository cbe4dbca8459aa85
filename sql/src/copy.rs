//! COPY … FROM STDIN and COPY … TO STDOUT: the statement's options, and the
//! engine's side of each direction.
//!
//! The wire formats (text, CSV, binary) are the front end's business: it turns
//! a client's bytes into rows of text fields and hands them over as Utf8
//! batches, which [`CopyIn::convert`] casts to the table's column types with
//! the same rules as `'text'::type`; [`crate::Session::copy_write`] streams the
//! converted batches into the table and commits once. For COPY TO the session
//! returns the rows of a query and the options to render them with.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, new_null_array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::sql::sqlparser::ast::{
    CopyLegacyCsvOption, CopyLegacyOption, CopyOption, CopySource, Ident, ObjectName,
};

use crate::error::{Error, Result};
use crate::output::Rows;

/// The wire format of a COPY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    Text,
    Csv,
    Binary,
}

/// COPY's options, with PostgreSQL's defaults filled in for the format.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyOptions {
    pub format: CopyFormat,
    pub delimiter: u8,
    /// The string that means NULL (text: `\N`, CSV: empty).
    pub null: String,
    pub header: bool,
    pub quote: u8,
    pub escape: u8,
    /// CSV output: quote every non-NULL value of these columns (by index).
    pub force_quote: Vec<usize>,
    /// CSV input: a quoted value equal to the NULL string is NULL too.
    pub force_null: Vec<usize>,
    /// CSV input: an unquoted NULL string is a value, not NULL.
    pub force_not_null: Vec<usize>,
}

/// Options as written, before the column names are resolved.
#[derive(Debug, Default)]
struct Written {
    format: Option<String>,
    delimiter: Option<char>,
    null: Option<String>,
    header: Option<bool>,
    quote: Option<char>,
    escape: Option<char>,
    force_quote: Option<Vec<Ident>>,
    force_null: Vec<Ident>,
    force_not_null: Vec<Ident>,
}

fn unsupported(what: &str) -> Error {
    Error::FeatureNotSupported(format!("COPY {what} is not supported"))
}

fn invalid(message: String) -> Error {
    Error::InvalidParameterValue(message)
}

impl CopyOptions {
    /// Reads the WITH (…) and the older unparenthesized options. `columns` are
    /// the COPY's columns, for FORCE_QUOTE and friends.
    pub(crate) fn parse(
        options: &[CopyOption],
        legacy: &[CopyLegacyOption],
        columns: &[String],
        to: bool,
    ) -> Result<Self> {
        let mut w = Written::default();
        for option in options {
            match option {
                CopyOption::Format(name) => w.format = Some(name.value.to_ascii_lowercase()),
                CopyOption::Freeze(_) | CopyOption::Encoding(_) => {}
                CopyOption::Delimiter(c) => w.delimiter = Some(*c),
                CopyOption::Null(s) => w.null = Some(s.clone()),
                CopyOption::Header(h) => w.header = Some(*h),
                CopyOption::Quote(c) => w.quote = Some(*c),
                CopyOption::Escape(c) => w.escape = Some(*c),
                CopyOption::ForceQuote(cols) => w.force_quote = Some(cols.clone()),
                CopyOption::ForceNotNull(cols) => w.force_not_null.extend(cols.iter().cloned()),
                CopyOption::ForceNull(cols) => w.force_null.extend(cols.iter().cloned()),
            }
        }
        for option in legacy {
            match option {
                CopyLegacyOption::Binary => w.format = Some("binary".into()),
                CopyLegacyOption::Delimiter(c) => w.delimiter = Some(*c),
                CopyLegacyOption::Null(s) => w.null = Some(s.clone()),
                CopyLegacyOption::Header => w.header = Some(true),
                CopyLegacyOption::Csv(csv) => {
                    w.format = Some("csv".into());
                    for o in csv {
                        match o {
                            CopyLegacyCsvOption::Header => w.header = Some(true),
                            CopyLegacyCsvOption::Quote(c) => w.quote = Some(*c),
                            CopyLegacyCsvOption::Escape(c) => w.escape = Some(*c),
                            CopyLegacyCsvOption::ForceQuote(cols) => {
                                w.force_quote = Some(cols.clone())
                            }
                            CopyLegacyCsvOption::ForceNotNull(cols) => {
                                w.force_not_null.extend(cols.iter().cloned())
                            }
                        }
                    }
                }
                other => return Err(unsupported(&format!("option {other}"))),
            }
        }
        let format = match w.format.as_deref() {
            None | Some("text") => CopyFormat::Text,
            Some("csv") => CopyFormat::Csv,
            Some("binary") => CopyFormat::Binary,
            Some(other) => return Err(invalid(format!("COPY format \"{other}\" not recognized"))),
        };
        let csv = format == CopyFormat::Csv;
        let byte = |c: Option<char>, default: u8, what: &str| -> Result<u8> {
            match c {
                None => Ok(default),
                Some(c) if c.is_ascii() => Ok(c as u8),
                Some(_) => Err(invalid(format!(
                    "COPY {what} must be a single one-byte character"
                ))),
            }
        };
        if format == CopyFormat::Binary
            && (w.delimiter.is_some() || w.null.is_some() || w.header == Some(true))
        {
            return Err(Error::syntax(
                "cannot specify DELIMITER, NULL or HEADER in BINARY mode",
            ));
        }
        if !csv && (w.quote.is_some() || w.escape.is_some()) {
            return Err(invalid(
                "COPY QUOTE and ESCAPE are available only in CSV mode".into(),
            ));
        }
        if !csv
            && (w.force_quote.is_some() || !w.force_null.is_empty() || !w.force_not_null.is_empty())
        {
            return Err(invalid(
                "COPY FORCE options are available only in CSV mode".into(),
            ));
        }
        let quote = byte(w.quote, b'"', "quote")?;
        let index_of = |cols: &[Ident]| -> Result<Vec<usize>> {
            cols.iter()
                .map(|c| {
                    columns
                        .iter()
                        .position(|name| *name == c.value)
                        .ok_or_else(|| {
                            invalid(format!("column \"{}\" is not referenced by COPY", c.value))
                        })
                })
                .collect()
        };
        if w.force_quote.is_some() && !to {
            return Err(Error::FeatureNotSupported(
                "COPY FORCE_QUOTE cannot be used with COPY FROM".into(),
            ));
        }
        if (!w.force_null.is_empty() || !w.force_not_null.is_empty()) && to {
            return Err(Error::FeatureNotSupported(
                "COPY FORCE_NULL and FORCE_NOT_NULL cannot be used with COPY TO".into(),
            ));
        }
        let force_quote = match &w.force_quote {
            // FORCE_QUOTE * (the statement parser spells it as a column "*").
            Some(cols) if cols.is_empty() || (cols.len() == 1 && cols[0].value == "*") => {
                (0..columns.len()).collect()
            }
            Some(cols) => index_of(cols)?,
            None => Vec::new(),
        };
        let options = Self {
            format,
            delimiter: byte(w.delimiter, if csv { b',' } else { b'\t' }, "delimiter")?,
            null: w
                .null
                .unwrap_or_else(|| if csv { String::new() } else { "\\N".into() }),
            header: w.header.unwrap_or(false),
            quote,
            escape: byte(w.escape, quote, "escape")?,
            force_quote,
            force_null: index_of(&w.force_null)?,
            force_not_null: index_of(&w.force_not_null)?,
        };
        if options.delimiter == b'\n' || options.delimiter == b'\r' {
            return Err(invalid(
                "COPY delimiter cannot be newline or carriage return".into(),
            ));
        }
        if csv && options.delimiter == options.quote {
            return Err(invalid("COPY delimiter and quote must be different".into()));
        }
        Ok(options)
    }
}

/// The COPY statement's source or target, for planning.
pub(crate) fn copy_columns(source: &CopySource) -> Option<(&ObjectName, &[Ident])> {
    match source {
        CopySource::Table {
            table_name,
            columns,
        } => Some((table_name, columns)),
        CopySource::Query(_) => None,
    }
}

/// COPY … TO STDOUT: the rows and how to render them.
pub struct CopyOut {
    pub options: CopyOptions,
    pub rows: Rows,
}

/// COPY … FROM STDIN, planned: what the client's rows go into.
pub struct CopyIn {
    pub options: CopyOptions,
    /// The table, as named in the statement (for error context).
    pub table: String,
    /// The columns the client sends, in order.
    pub columns: Vec<Field>,
    /// The table's columns, all of them: what [`CopyIn::convert`] produces.
    pub(crate) table_schema: SchemaRef,
    pub(crate) target: datafusion::common::TableReference,
    /// For each table column: its value computed from the Utf8 input columns
    /// (a cast with PostgreSQL's text input rules), or None for NULL.
    pub(crate) converters: Vec<Option<Arc<dyn PhysicalExpr>>>,
}

impl CopyIn {
    /// The table's columns: the schema of converted batches.
    pub fn table_schema(&self) -> SchemaRef {
        self.table_schema.clone()
    }

    /// The input schema: each COPY column as Utf8.
    pub fn text_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|f| Field::new(f.name(), DataType::Utf8, true))
                .collect::<Vec<_>>(),
        ))
    }

    /// Turns rows of text fields (one Utf8 column per COPY column) into rows of
    /// the table. On bad input, the error names the row (0-based within
    /// `text`) and the column.
    pub fn convert(&self, text: &RecordBatch) -> std::result::Result<RecordBatch, ConvertError> {
        match self.convert_batch(text) {
            Ok(batch) => Ok(batch),
            Err(error) => Err(self.locate(text).unwrap_or(ConvertError {
                row: 0,
                column: None,
                error,
            })),
        }
    }

    fn convert_batch(&self, text: &RecordBatch) -> Result<RecordBatch> {
        let rows = text.num_rows();
        let columns = self
            .converters
            .iter()
            .zip(self.table_schema.fields())
            .map(|(converter, field)| -> Result<ArrayRef> {
                match converter {
                    Some(expr) => Ok(expr
                        .evaluate(text)
                        .and_then(|v| v.into_array(rows))
                        .map_err(Error::from_datafusion)?),
                    None => Ok(new_null_array(field.data_type(), rows)),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        for (field, column) in self.table_schema.fields().iter().zip(&columns) {
            if !field.is_nullable() && column.null_count() > 0 {
                return Err(Error::NotNullViolation(format!(
                    "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                    field.name(),
                    self.table
                )));
            }
        }
        let options =
            datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(self.table_schema.clone(), columns, &options)
            .map_err(|e| Error::Internal(e.to_string()))
    }

    /// Finds the first row and column that fail to convert.
    fn locate(&self, text: &RecordBatch) -> Option<ConvertError> {
        for row in 0..text.num_rows() {
            let one = text.slice(row, 1);
            if let Err(error) = self.convert_batch(&one) {
                let column = self
                    .converters
                    .iter()
                    .zip(self.table_schema.fields())
                    .position(|(c, field)| match c {
                        Some(expr) => match expr.evaluate(&one).and_then(|v| v.into_array(1)) {
                            Err(_) => true,
                            Ok(array) => !field.is_nullable() && array.null_count() > 0,
                        },
                        None => !field.is_nullable(),
                    });
                let column = column.map(|i| self.table_schema.field(i).name().clone());
                return Some(ConvertError { row, column, error });
            }
        }
        None
    }
}

/// A row that could not be converted.
#[derive(Debug)]
pub struct ConvertError {
    pub row: usize,
    pub column: Option<String>,
    pub error: Error,
}
