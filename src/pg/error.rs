//! Engine errors to PostgreSQL error responses: the one place SQLSTATEs are chosen.
//!
//! The `match` is exhaustive on purpose: a new engine error cannot compile without a
//! code. Internal errors reach the client as XX000 with a generic message; their
//! detail goes to the log.

use enishi_sql::Error;
use pgwire::error::{ErrorInfo, PgWireError};

/// SQLSTATE for an engine error.
pub fn sqlstate(err: &Error) -> &'static str {
    match err {
        Error::Syntax { .. } => "42601",
        Error::UndefinedTable(_) => "42P01",
        Error::UndefinedColumn(_) => "42703",
        Error::UndefinedFunction(_) => "42883",
        Error::UndefinedObject(_) => "42704",
        Error::DuplicateTable(_) => "42P07",
        Error::DuplicateSchema(_) => "42P06",
        Error::UndefinedSchema(_) => "3F000",
        Error::DatatypeMismatch(_) => "42804",
        Error::IndeterminateDatatype(_) => "42P18",
        Error::DivisionByZero => "22012",
        Error::InvalidTextRepresentation(_) => "22P02",
        Error::NumericValueOutOfRange(_) => "22003",
        Error::StringDataRightTruncation(_) => "22001",
        Error::DiskFull(_) => "53100",
        Error::InvalidDatetime(_) => "22007",
        Error::InvalidParameterValue(_) => "22023",
        Error::NotNullViolation(_) => "23502",
        Error::UniqueViolation { .. } => "23505",
        Error::FeatureNotSupported(_) => "0A000",
        Error::InsufficientPrivilege(_) => "42501",
        Error::InvalidAuthorization(_) => "28000",
        Error::ObjectInUse(_) => "55006",
        Error::Coded { code, .. } | Error::Explained { code, .. } => code,
        Error::InvalidGrantOperation(_) => "0LP01",
        Error::DuplicateObject(_) => "42710",
        Error::UndefinedFile(_) => "58P01",
        Error::DuplicateColumn(_) => "42701",
        Error::DependentObjects(_) => "2BP01",
        Error::SerializationFailure(_) => "40001",
        Error::InFailedTransaction => "25P02",
        Error::ActiveTransaction(_) => "25001",
        Error::NoActiveTransaction(_) => "25P01",
        Error::UndefinedSavepoint(_) => "3B001",
        Error::UndefinedDatabase(_) => "3D000",
        Error::UndefinedPreparedStatement(_) => "26000",
        Error::DuplicatePreparedStatement(_) => "42P05",
        Error::UndefinedCursor(_) => "34000",
        Error::DuplicateCursor(_) => "42P03",
        Error::Protocol(_) => "08P01",
        Error::QueryCanceled(_) => "57014",
        Error::OutOfMemory(_) => "53200",
        Error::Internal(_) => "XX000",
    }
}

/// The ErrorResponse a client receives for an engine error.
pub fn error_info(err: &Error, severity: &str) -> ErrorInfo {
    let code = sqlstate(err);
    let message = match err {
        Error::Internal(detail) => {
            tracing::error!(%detail, "internal error");
            "internal error: see the server log".to_string()
        }
        other => other.to_string(),
    };
    let mut info = ErrorInfo::new(severity.to_string(), code.to_string(), message);
    if let Error::UniqueViolation { detail, .. } = err {
        info.detail = Some(detail.clone());
    }
    if let Error::Explained { detail, hint, .. } = err {
        info.detail = Some(detail.clone()).filter(|d| !d.is_empty());
        info.hint = hint.clone();
    }
    if let Error::Syntax {
        position: Some(p), ..
    } = err
    {
        info.position = Some(p.to_string());
    }
    info
}

/// The ErrorResponse for an error of a statement in `sql`: with the position
/// of the missing relation's name, which psql shows as `LINE 1:` and a caret.
pub fn error_info_at(err: &Error, severity: &str, sql: &str) -> ErrorInfo {
    let mut info = error_info(err, severity);
    if let Error::UndefinedTable(name) = err
        && let Some(position) = relation_position(sql, name)
    {
        info.position = Some(position.to_string());
    }
    info
}

/// The 1-based character position of `name` where the text names a relation:
/// after FROM, JOIN, INTO, UPDATE or TABLE (case-insensitive).
fn relation_position(sql: &str, name: &str) -> Option<usize> {
    let lower = sql.to_lowercase();
    let name = name.to_lowercase();
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '.' || c == '"';
    let mut from = 0;
    while let Some(found) = lower[from..].find(&name) {
        let start = from + found;
        let end = start + name.len();
        let before = lower[..start].trim_end();
        let keyword = ["from", "join", "into", "update", "table"]
            .iter()
            .any(|k| before.ends_with(k) && !before[..before.len() - k.len()].ends_with(ident));
        let whole = !lower[end..].starts_with(ident) && !lower[..start].ends_with(ident);
        if keyword && whole {
            return Some(lower[..start].chars().count() + 1);
        }
        from = end;
    }
    None
}

/// An engine error as a pgwire error (severity ERROR).
pub fn to_pgwire(err: &Error) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(err, "ERROR")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_detail_stays_in_the_log() {
        let info = error_info(&Error::Internal("/secret/path: io error".into()), "ERROR");
        assert_eq!(info.code, "XX000");
        assert!(!info.message.contains("secret"));
    }

    #[test]
    fn missing_relations_are_pointed_at() {
        let err = Error::UndefinedTable("shop.nope".into());
        let info = error_info_at(&err, "ERROR", "select nope from shop.nope");
        assert_eq!(info.position.as_deref(), Some("18"));
        let info = error_info_at(
            &Error::UndefinedTable("t".into()),
            "ERROR",
            "select t.a from t",
        );
        assert_eq!(info.position.as_deref(), Some("17"));
        let info = error_info_at(&Error::UndefinedTable("t".into()), "ERROR", "select 1");
        assert_eq!(info.position, None);
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let info = error_info(
            &Error::Syntax {
                message: "syntax error".into(),
                position: Some(8),
            },
            "ERROR",
        );
        assert_eq!(
            (info.code.as_str(), info.position.as_deref()),
            ("42601", Some("8"))
        );
    }
}
