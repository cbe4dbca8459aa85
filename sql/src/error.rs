//! The engine's error type.
//!
//! Every failure a statement can meet is one variant here, carrying the message a
//! client should read (worded like PostgreSQL's). The pg front end maps each variant to
//! a SQLSTATE in one exhaustive `match`, so a new variant cannot ship without a code.
//! DataFusion's errors are classified once, in [`Error::from_datafusion`]; anything not
//! recognised becomes [`Error::Internal`], whose detail is logged and never sent.

use datafusion::arrow::error::ArrowError;
use datafusion::common::{DataFusionError, SchemaError};
use datafusion::sql::sqlparser::parser::ParserError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// 42601. `position` is the 1-based character offset in the statement text.
    #[error("{message}")]
    Syntax {
        message: String,
        position: Option<usize>,
    },
    /// 42P01
    #[error("relation \"{0}\" does not exist")]
    UndefinedTable(String),
    /// 42703
    #[error("{0}")]
    UndefinedColumn(String),
    /// 42883
    #[error("{0}")]
    UndefinedFunction(String),
    /// 42704: an unknown type, setting or other named object.
    #[error("{0}")]
    UndefinedObject(String),
    /// 42P07
    #[error("relation \"{0}\" already exists")]
    DuplicateTable(String),
    /// 42P06
    #[error("schema \"{0}\" already exists")]
    DuplicateSchema(String),
    /// 3F000
    #[error("schema \"{0}\" does not exist")]
    UndefinedSchema(String),
    /// 42804
    #[error("{0}")]
    DatatypeMismatch(String),
    /// 42P18
    #[error("{0}")]
    IndeterminateDatatype(String),
    /// 22012
    #[error("division by zero")]
    DivisionByZero,
    /// 22P02
    #[error("{0}")]
    InvalidTextRepresentation(String),
    /// 22003
    #[error("{0}")]
    NumericValueOutOfRange(String),
    /// 22001
    #[error("{0}")]
    StringDataRightTruncation(String),
    /// 53100
    #[error("{0}")]
    DiskFull(String),
    /// 22007 / 22008: a malformed or out-of-range date or time.
    #[error("{0}")]
    InvalidDatetime(String),
    /// 22023
    #[error("{0}")]
    InvalidParameterValue(String),
    /// 23502
    #[error("{0}")]
    NotNullViolation(String),
    /// 23505, with the repeated key as the detail.
    #[error("duplicate key value violates unique constraint \"{constraint}\"")]
    UniqueViolation { constraint: String, detail: String },
    /// 0A000
    #[error("{0}")]
    FeatureNotSupported(String),
    /// 42501
    #[error("{0}")]
    InsufficientPrivilege(String),
    /// 58P01
    #[error("{0}")]
    UndefinedFile(String),
    /// 28000
    #[error("{0}")]
    InvalidAuthorization(String),
    /// 55006
    #[error("{0}")]
    ObjectInUse(String),
    /// An error that needs no handling of its own, under PostgreSQL's SQLSTATE
    /// for it (42702 ambiguous column, 42803 grouping, 42P10, 2201W, 21000, 2201F …).
    #[error("{message}")]
    Coded { code: &'static str, message: String },
    /// [`Error::Coded`] with PostgreSQL's DETAIL and HINT lines.
    #[error("{message}")]
    Explained {
        code: &'static str,
        message: String,
        detail: String,
        hint: Option<String>,
    },
    /// 0LP01
    #[error("{0}")]
    InvalidGrantOperation(String),
    /// 42710: e.g. a role that already exists.
    #[error("{0}")]
    DuplicateObject(String),
    /// 42701
    #[error("{0}")]
    DuplicateColumn(String),
    /// 2BP01
    #[error("{0}")]
    DependentObjects(String),
    /// 40001: a concurrent change won; the client may retry.
    #[error("{0}")]
    SerializationFailure(String),
    /// 25P02
    #[error("current transaction is aborted, commands ignored until end of transaction block")]
    InFailedTransaction,
    /// 25001
    #[error("{0}")]
    ActiveTransaction(String),
    /// 25P01
    #[error("{0}")]
    NoActiveTransaction(String),
    /// 3B001
    #[error("{0}")]
    UndefinedSavepoint(String),
    /// 3D000
    #[error("database \"{0}\" does not exist")]
    UndefinedDatabase(String),
    /// 26000
    #[error("prepared statement \"{0}\" does not exist")]
    UndefinedPreparedStatement(String),
    /// 42P05
    #[error("prepared statement \"{0}\" already exists")]
    DuplicatePreparedStatement(String),
    /// 34000
    #[error("cursor \"{0}\" does not exist")]
    UndefinedCursor(String),
    /// 42P03
    #[error("cursor \"{0}\" already exists")]
    DuplicateCursor(String),
    /// 08P01: the client broke the protocol (e.g. wrong parameter count).
    #[error("{0}")]
    Protocol(String),
    /// 57014
    #[error("canceling statement due to {0}")]
    QueryCanceled(&'static str),
    /// 53200
    #[error("{0}")]
    OutOfMemory(String),
    /// XX000. The text is for the log only; clients see a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn syntax(message: impl Into<String>) -> Self {
        Error::Syntax {
            message: message.into(),
            position: None,
        }
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Error::FeatureNotSupported(message.into())
    }

    /// PostgreSQL's refusal of a statement nested deeper than the server
    /// will recurse (54001).
    pub fn too_deep() -> Self {
        Error::Coded {
            code: "54001",
            message: "stack depth limit exceeded: the statement nests too deeply".into(),
        }
    }

    /// Classifies a parser error, turning sqlparser's "Line: l, Column: c" into the
    /// character offset PostgreSQL reports.
    pub fn from_parser(err: &ParserError, sql: &str) -> Self {
        let text = match err {
            ParserError::TokenizerError(s) | ParserError::ParserError(s) => s.clone(),
            ParserError::RecursionLimitExceeded => return Error::too_deep(),
        };
        let position = line_column(&text)
            .and_then(|(line, col)| char_offset(sql, line, col))
            .or_else(|| found_token_offset(&text, sql));
        let message = match text.find(" at Line:") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        let message = match message.strip_prefix("Expected: ") {
            Some(rest) => format!("syntax error: expected {rest}"),
            None => format!("syntax error: {message}"),
        };
        Error::Syntax { message, position }
    }

    /// Classifies a DataFusion error by its root cause.
    pub fn from_datafusion(err: DataFusionError) -> Self {
        tracing::debug!(error = %err, "statement failed in the engine");
        let root = err.find_root();
        match root {
            DataFusionError::SQL(parser, _) => Error::from_parser(parser, ""),
            DataFusionError::SchemaError(schema, _) => match schema.as_ref() {
                SchemaError::FieldNotFound { field, .. } => {
                    Error::UndefinedColumn(format!("column \"{}\" does not exist", field.name()))
                }
                SchemaError::AmbiguousReference { field } => Error::Coded {
                    code: "42702",
                    message: format!("column reference \"{}\" is ambiguous", field.name()),
                },
                other => Error::syntax(other.to_string()),
            },
            DataFusionError::ArrowError(arrow, _) => Error::from_arrow(arrow),
            // PostgreSQL refuses these only when the subquery refers to the
            // left side; DataFusion refuses them all.
            DataFusionError::NotImplemented(msg)
                if msg.starts_with("LATERAL syntax is not supported for FULL OUTER and RIGHT") =>
            {
                lateral_join_type()
            }
            DataFusionError::NotImplemented(msg) => Error::FeatureNotSupported(msg.clone()),
            DataFusionError::ResourcesExhausted(msg) => Error::OutOfMemory(msg.clone()),
            DataFusionError::Plan(msg) => classify_plan(msg),
            DataFusionError::Execution(msg) => classify_execution(msg),
            DataFusionError::External(e) if e.is::<enishi_storage::StorageError>() => {
                Error::from_storage(e.downcast_ref().expect("checked"))
            }
            DataFusionError::External(e) => match e.downcast_ref::<Error>() {
                Some(ours) => ours.clone(),
                None => match e.downcast_ref::<ArrowError>() {
                    Some(arrow) => Error::from_arrow(arrow),
                    None => Error::Internal(e.to_string()),
                },
            },
            DataFusionError::Configuration(msg) => Error::InvalidParameterValue(msg.clone()),
            DataFusionError::IoError(e) if e.kind() == std::io::ErrorKind::StorageFull => {
                Error::DiskFull(e.to_string())
            }
            DataFusionError::IoError(_) | DataFusionError::ObjectStore(_) => Error::Coded {
                code: "58030",
                message: format!("could not access storage: {root}"),
            },
            DataFusionError::ParquetError(_) => Error::Coded {
                code: "XX001",
                message: format!("could not read a data file: {root}"),
            },
            other => Error::Internal(other.to_string()),
        }
    }

    /// Classifies a storage error.
    pub fn from_storage(err: &enishi_storage::StorageError) -> Self {
        use enishi_storage::StorageError as S;
        match err {
            S::SchemaNotFound(name) => Error::UndefinedSchema(name.clone()),
            S::SchemaExists(name) => Error::DuplicateSchema(name.clone()),
            S::SchemaNotEmpty(_) => Error::DependentObjects(err.to_string()),
            S::TableNotFound(name) => Error::UndefinedTable(name.clone()),
            S::TableExists(name) => Error::DuplicateTable(name.clone()),
            S::Conflict(_) => Error::SerializationFailure(err.to_string()),
            S::NotNull(column) if column.is_empty() => {
                Error::NotNullViolation("null value in column violates not-null constraint".into())
            }
            S::NotNull(_) => Error::NotNullViolation(err.to_string()),
            S::UniqueViolation { constraint, detail } => Error::UniqueViolation {
                constraint: constraint.clone(),
                detail: detail.clone(),
            },
            S::InvalidText(m) => Error::InvalidTextRepresentation(m.clone()),
            S::TooLong(m) => Error::StringDataRightTruncation(m.clone()),
            S::DiskFull(m) => Error::DiskFull(m.clone()),
            S::OutOfMemory(_) => Error::OutOfMemory(err.to_string()),
            S::SequenceEnd(m) => Error::Coded {
                code: "2200H",
                message: m.clone(),
            },
            S::Root { .. } | S::Corrupt(_) | S::ObjectStore(_) | S::Delta(_) | S::Backup(_) => {
                Error::Internal(err.to_string())
            }
        }
    }

    fn from_arrow(err: &ArrowError) -> Self {
        match err {
            ArrowError::DivideByZero => Error::DivisionByZero,
            ArrowError::InvalidArgumentError(msg) if msg.contains("non-nullable") => {
                Error::NotNullViolation("null value in column violates not-null constraint".into())
            }
            ArrowError::ArithmeticOverflow(_) => {
                Error::NumericValueOutOfRange("value out of range".into())
            }
            ArrowError::CastError(msg) | ArrowError::ParseError(msg) => classify_cast(msg),
            ArrowError::ComputeError(msg) if msg.contains("Overflow") => {
                Error::NumericValueOutOfRange("value out of range".into())
            }
            ArrowError::ComputeError(msg) => classify_execution(msg),
            ArrowError::InvalidArgumentError(msg) if msg.contains("too large to store") => {
                Error::NumericValueOutOfRange("numeric field overflow".into())
            }
            ArrowError::ExternalError(e) => match e.downcast_ref::<Error>() {
                Some(ours) => ours.clone(),
                None => match e.downcast_ref::<enishi_storage::StorageError>() {
                    Some(storage) => Error::from_storage(storage),
                    None => Error::Internal(err.to_string()),
                },
            },
            other => Error::Internal(other.to_string()),
        }
    }
}

impl From<enishi_storage::StorageError> for Error {
    fn from(err: enishi_storage::StorageError) -> Self {
        Error::from_storage(&err)
    }
}

impl From<ArrowError> for Error {
    fn from(err: ArrowError) -> Self {
        Error::from_arrow(&err)
    }
}

impl From<DataFusionError> for Error {
    fn from(err: DataFusionError) -> Self {
        Error::from_datafusion(err)
    }
}

/// Wraps an engine error so it can travel through DataFusion (e.g. out of a UDF) and
/// come back out of [`Error::from_datafusion`] unchanged.
impl From<Error> for DataFusionError {
    fn from(err: Error) -> Self {
        DataFusionError::External(Box::new(err))
    }
}

/// A missing table's name as PostgreSQL reports it, which is as it was
/// written: DataFusion qualifies it fully (`postgres.shop.t`), and a bare name
/// with the search_path schema (`postgres.$search_path.t`).
fn as_written(qualified: &str) -> String {
    let parts: Vec<&str> = qualified.split('.').collect();
    match parts.as_slice() {
        [.., schema, table] if *schema != crate::constants::SEARCH_PATH => {
            format!("{schema}.{table}")
        }
        [.., table] => table.to_string(),
        [] => qualified.to_string(),
    }
}

fn classify_plan(msg: &str) -> Error {
    let lower = msg.to_ascii_lowercase();
    if let Some(name) = between(msg, "table '", "' not found") {
        return Error::UndefinedTable(as_written(name));
    }
    if lower.starts_with("invalid function")
        || lower.contains("function") && lower.contains("not found")
    {
        let name = between(msg, "'", "'").unwrap_or(msg);
        return Error::UndefinedFunction(format!("function {name} does not exist"));
    }
    if lower.contains("no function matches")
        || lower.contains("failed to coerce arguments")
        || lower.contains("does not support inputs of type")
    {
        return Error::UndefinedFunction(msg.lines().next().unwrap_or(msg).to_string());
    }
    if lower.contains("must be in group by or an aggregate function") {
        return Error::Coded {
            code: "42803",
            message: msg.lines().next().unwrap_or(msg).to_string(),
        };
    }
    if lower.starts_with("order by column out of bounds") {
        return Error::Coded {
            code: "42P10",
            message: msg.to_string(),
        };
    }
    if lower.starts_with("limit must be >= 0") {
        return Error::Coded {
            code: "2201W",
            message: "LIMIT must not be negative".into(),
        };
    }
    if lower.starts_with("offset must be >=") {
        return Error::Coded {
            code: "2201X",
            message: "OFFSET must not be negative".into(),
        };
    }
    if lower.contains("non-boolean predicate") {
        return Error::DatatypeMismatch("argument of WHERE must be type boolean".into());
    }
    if lower.contains("cannot infer common argument type")
        || lower.contains("cannot coerce arithmetic expression")
        || lower.contains("cannot be cast")
    {
        return Error::DatatypeMismatch(msg.lines().next().unwrap_or(msg).to_string());
    }
    if lower.contains("schema") && lower.contains("not found")
        || lower.contains("failed to resolve schema")
    {
        let name = between(msg, "'", "'").unwrap_or(msg);
        return Error::UndefinedSchema(name.to_string());
    }
    if lower.contains("unsupported") || lower.contains("not supported") {
        return Error::FeatureNotSupported(msg.to_string());
    }
    Error::syntax(msg.lines().next().unwrap_or(msg).to_string())
}

fn classify_execution(msg: &str) -> Error {
    let lower = msg.to_ascii_lowercase();
    if let Some(name) = between(msg, "Table '", "' already exists") {
        let short = name.rsplit('.').next().unwrap_or(name);
        return Error::DuplicateTable(short.to_string());
    }
    if let Some(name) = between(msg, "Table '", "' doesn't exist") {
        return Error::UndefinedTable(as_written(name));
    }
    if let Some(name) = between(msg, "Schema '", "' already exists") {
        return Error::DuplicateSchema(name.to_string());
    }
    if lower.contains("divide by zero") || lower.contains("division by zero") {
        return Error::DivisionByZero;
    }
    // DataFusion's substr refusing a negative length.
    if lower.starts_with("negative count not allowed") {
        return Error::Coded {
            code: "22011",
            message: "negative substring length not allowed".into(),
        };
    }
    if lower.contains("scalar subquery returned more than one row") {
        return Error::Coded {
            code: "21000",
            message: "more than one row returned by a subquery used as an expression".into(),
        };
    }
    if lower.contains("square root of a negative number") {
        return Error::Coded {
            code: "2201F",
            message: "cannot take square root of a negative number".into(),
        };
    }
    if lower.contains("overflow") {
        return Error::NumericValueOutOfRange("value out of range".into());
    }
    if lower.contains("non-nullable") || lower.contains("null value") && lower.contains("not-null")
    {
        return Error::NotNullViolation(msg.to_string());
    }
    if lower.contains("cast error") || lower.contains("cannot cast") {
        return classify_cast(msg);
    }
    if let Some((_, code)) = BY_MESSAGE.iter().find(|(part, _)| lower.contains(part)) {
        return Error::Coded {
            code,
            message: msg.to_string(),
        };
    }
    Error::Internal(msg.to_string())
}

/// DataFusion functions' argument errors, which come as plain execution
/// errors, and the SQLSTATE PostgreSQL gives the same mistake.
const BY_MESSAGE: &[(&str, &str)] = &[
    // invalid_regular_expression
    ("regex parse error", "2201B"),
    ("regular expression did not compile", "2201B"),
    // invalid_argument_for_power_function
    ("zero raised to a negative power", "2201F"),
    // invalid_parameter_value: an unknown unit, field or stride
    ("unsupported date_trunc granularity", "22023"),
    ("granularity of `date_trunc`", "22023"),
    ("date part '", "22023"),
    ("date_bin stride", "22023"),
    ("field position must not be zero", "22023"),
    ("requires start to be 1", "22023"),
    // datetime_field_overflow: make_date and kin out of the calendar
    ("' is out of range", "22008"),
    ("unable to parse date from", "22008"),
    // invalid_argument_for_ntile_function
    ("n must be 1 or greater", "22014"),
];

/// PostgreSQL's name for the Arrow type named in a message, if recognisable.
fn pg_type_word(lower: &str) -> &'static str {
    if lower.contains("int16") {
        "smallint"
    } else if lower.contains("int32") {
        "integer"
    } else if lower.contains("int64") {
        "bigint"
    } else if lower.contains("decimal") {
        "numeric"
    } else if lower.contains("float") {
        "double precision"
    } else {
        "value"
    }
}

fn integer_word(lower: &str) -> Option<&'static str> {
    if lower.contains("int16") {
        Some("smallint")
    } else if lower.contains("int32") {
        Some("integer")
    } else if lower.contains("int64") {
        Some("bigint")
    } else {
        None
    }
}

fn classify_cast(msg: &str) -> Error {
    let lower = msg.to_ascii_lowercase();
    // A timestamp beyond nanoseconds' range (1677 to 2262).
    if lower.contains("timestamp") && lower.contains("exceeds the representable") {
        return Error::Coded {
            code: "22008",
            message: "timestamp out of range".into(),
        };
    }
    if lower.contains("can't cast value")
        || lower.contains("overflow")
        || lower.contains("out of range")
        || lower.contains("too large")
    {
        return Error::NumericValueOutOfRange(format!("{} out of range", pg_type_word(&lower)));
    }
    // "Cannot cast string 'abc' to value of Int32 type"
    if let Some(value) = between(msg, "string '", "'") {
        let ty = if lower.contains("date") || lower.contains("timestamp") || lower.contains("time")
        {
            return Error::InvalidDatetime(format!(
                "invalid input syntax for type {}: \"{value}\"",
                if lower.contains("date32") {
                    "date"
                } else {
                    "timestamp"
                }
            ));
        } else if let Some(ty) = integer_word(&lower) {
            // Digits that do not fit the type are out of range, not bad syntax.
            let digits = value.trim().trim_start_matches(['+', '-']);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                return Error::NumericValueOutOfRange(format!(
                    "value \"{value}\" is out of range for type {ty}"
                ));
            }
            ty
        } else if lower.contains("float") {
            "double precision"
        } else if lower.contains("decimal") {
            "numeric"
        } else if lower.contains("boolean") {
            "boolean"
        } else {
            "the requested type"
        };
        return Error::InvalidTextRepresentation(format!(
            "invalid input syntax for type {ty}: \"{value}\""
        ));
    }
    Error::InvalidTextRepresentation(msg.to_string())
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// Finds sqlparser's "Line: l, Column: c" in an error message.
fn line_column(text: &str) -> Option<(usize, usize)> {
    let line = between(text, "Line: ", ",")?.trim().parse().ok()?;
    let rest = &text[text.find("Column: ")? + "Column: ".len()..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    Some((line, digits.parse().ok()?))
}

/// Some parser errors name the offending token but not where it is ("found: e");
/// PostgreSQL points at its first whole-word occurrence, or the end of the input.
fn found_token_offset(message: &str, sql: &str) -> Option<usize> {
    let token = message.split("found: ").nth(1)?.split_whitespace().next()?;
    if sql.is_empty() {
        return None;
    }
    if token == "EOF" {
        return Some(sql.chars().count() + 1);
    }
    let lower = sql.to_lowercase();
    let needle = token.to_lowercase();
    let is_word = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
    let mut from = 0;
    while let Some(i) = lower[from..].find(&needle) {
        let start = from + i;
        let end = start + needle.len();
        if is_word(lower[..start].chars().next_back()) && is_word(lower[end..].chars().next()) {
            return Some(lower[..start].chars().count() + 1);
        }
        from = end;
    }
    None
}

/// Converts a 1-based line and column into PostgreSQL's 1-based character offset.
fn char_offset(sql: &str, line: usize, column: usize) -> Option<usize> {
    if sql.is_empty() || line == 0 || column == 0 {
        return None;
    }
    let mut offset = 0;
    for (i, text) in sql.split('\n').enumerate() {
        if i + 1 == line {
            return Some(offset + column.min(text.chars().count() + 1));
        }
        offset += text.chars().count() + 1;
    }
    None
}

/// 42P10: a RIGHT or FULL join whose right side is LATERAL.
pub(crate) fn lateral_join_type() -> Error {
    Error::Coded {
        code: "42P10",
        message: "invalid reference to FROM-clause entry: the combining JOIN type must be INNER or LEFT for a LATERAL reference".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_positions_become_character_offsets() {
        assert_eq!(char_offset("select 1", 1, 8), Some(8));
        assert_eq!(char_offset("select\n  frm", 2, 3), Some(10));
        assert_eq!(
            line_column("Expected: end, found: x at Line: 2, Column: 14"),
            Some((2, 14))
        );
    }

    #[test]
    fn datafusion_errors_are_classified() {
        let e = Error::from_datafusion(DataFusionError::Plan(
            "table 'postgres.$search_path.nope' not found".into(),
        ));
        assert!(
            matches!(e, Error::UndefinedTable(ref t) if t == "nope"),
            "{e:?}"
        );
        let e = Error::from_datafusion(DataFusionError::IoError(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "permission denied",
        )));
        assert!(matches!(e, Error::Coded { code: "58030", .. }), "{e:?}");
        let e = Error::from_datafusion(DataFusionError::Context(
            "reading".into(),
            Box::new(DataFusionError::IoError(
                std::io::ErrorKind::StorageFull.into(),
            )),
        ));
        assert!(matches!(e, Error::DiskFull(_)), "{e:?}");
        let e = Error::from_datafusion(DataFusionError::Execution(
            "regex parse error:\n    (a)\\1\n       ^^\nerror: backreferences are not supported"
                .into(),
        ));
        assert!(matches!(e, Error::Coded { code: "2201B", .. }), "{e:?}");
        let e = Error::from_datafusion(DataFusionError::Execution(
            "Month value '13' is out of range".into(),
        ));
        assert!(matches!(e, Error::Coded { code: "22008", .. }), "{e:?}");
        let e = Error::from_datafusion(DataFusionError::Execution("something new".into()));
        assert!(matches!(e, Error::Internal(_)), "{e:?}");
        let e = Error::from_datafusion(DataFusionError::ArrowError(
            Box::new(ArrowError::DivideByZero),
            None,
        ));
        assert!(matches!(e, Error::DivisionByZero));
        let e = Error::from_datafusion(DataFusionError::ArrowError(
            Box::new(ArrowError::CastError(
                "Cannot cast string 'abc' to value of Int32 type".into(),
            )),
            None,
        ));
        assert_eq!(
            e.to_string(),
            "invalid input syntax for type integer: \"abc\""
        );
        let e = Error::from_datafusion(DataFusionError::ArrowError(
            Box::new(ArrowError::CastError(
                "Cannot cast string '1000000000000' to value of Int32 type".into(),
            )),
            None,
        ));
        assert!(matches!(e, Error::NumericValueOutOfRange(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            "value \"1000000000000\" is out of range for type integer"
        );
    }
}
