//! What the audit log and pg_stat_activity keep of a statement: its kind,
//! and its text with passwords redacted.

use super::*;

/// A statement's audit class (as pgaudit names them: READ, WRITE, DDL, ROLE,
/// MISC) and its command (`SELECT`, `CREATE TABLE`, `GRANT` …).
pub fn classify(stmt: &DFStatement) -> (&'static str, String) {
    use datafusion::sql::sqlparser::ast::{ObjectType, Statement};
    let s = match stmt {
        DFStatement::Statement(s) => s.as_ref(),
        DFStatement::CreateExternalTable(_) => return ("DDL", "CREATE EXTERNAL TABLE".into()),
        DFStatement::CopyTo(_) => return ("READ", "COPY".into()),
        DFStatement::Explain(_) => return ("READ", "EXPLAIN".into()),
        DFStatement::Reset(_) => return ("MISC", "RESET".into()),
    };
    let (class, command) = match s {
        Statement::Query(_) => ("READ", "SELECT"),
        Statement::Insert(_) => ("WRITE", "INSERT"),
        Statement::Update(_) => ("WRITE", "UPDATE"),
        Statement::Delete(_) => ("WRITE", "DELETE"),
        Statement::Merge(_) => ("WRITE", "MERGE"),
        Statement::Lock(_) => ("MISC", "LOCK TABLE"),
        Statement::Truncate(_) => ("WRITE", "TRUNCATE TABLE"),
        Statement::Copy { to: true, .. } => ("READ", "COPY"),
        Statement::Copy { to: false, .. } => ("WRITE", "COPY"),
        Statement::CreateTable(_) => ("DDL", "CREATE TABLE"),
        Statement::CreateView(_) => ("DDL", "CREATE VIEW"),
        Statement::CreateSchema { .. } => ("DDL", "CREATE SCHEMA"),
        Statement::AlterTable(_) => ("DDL", "ALTER TABLE"),
        Statement::CreateRole(_) => ("ROLE", "CREATE ROLE"),
        Statement::AlterRole { .. } => ("ROLE", "ALTER ROLE"),
        Statement::Grant(_) => ("ROLE", "GRANT"),
        Statement::Revoke(_) => ("ROLE", "REVOKE"),
        Statement::Drop { object_type, .. } => match object_type {
            ObjectType::Role | ObjectType::User => ("ROLE", "DROP ROLE"),
            ObjectType::Table => ("DDL", "DROP TABLE"),
            ObjectType::View => ("DDL", "DROP VIEW"),
            ObjectType::Schema => ("DDL", "DROP SCHEMA"),
            _ => ("DDL", "DROP"),
        },
        Statement::StartTransaction { .. } => ("MISC", "BEGIN"),
        Statement::Commit { .. } => ("MISC", "COMMIT"),
        Statement::Rollback { .. } => ("MISC", "ROLLBACK"),
        Statement::Set(_) => ("MISC", "SET"),
        Statement::ShowVariable { .. } => ("MISC", "SHOW"),
        Statement::Prepare { .. } => ("MISC", "PREPARE"),
        Statement::Execute { .. } => ("MISC", "EXECUTE"),
        Statement::Declare { .. } => ("READ", "DECLARE CURSOR"),
        Statement::Fetch { .. } => ("READ", "FETCH"),
        _ => ("MISC", "OTHER"),
    };
    (class, command.to_string())
}

/// The statement text as it may be kept (pg_stat_activity, the audit log,
/// the server log): every secret replaced by `'********'`. Secrets are found
/// by PostgreSQL's own tokenizer, so quoting of every kind (`''`, `E'…'`,
/// dollar quotes) and comments are read as the server reads them:
/// - the literal after `PASSWORD` (CREATE/ALTER ROLE or USER);
/// - the value after an option key naming a secret (`'aws.secret_access_key'
///   '…'` in CREATE EXTERNAL TABLE's OPTIONS).
///
/// Text that does not tokenize is kept only when it cannot hold a secret.
pub fn redact_passwords(sql: &str) -> String {
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    let lower = sql.to_ascii_lowercase();
    let secret_word = |s: &str| {
        let s = s.to_ascii_lowercase();
        ["password", "secret", "token", "credential", "session_key"]
            .iter()
            .any(|w| s.contains(w))
    };
    if !secret_word(&lower) {
        return sql.to_string();
    }
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location() else {
        return "<a statement that could not be read, with a password or secret>".to_string();
    };
    let literal = |t: &Token| -> Option<String> {
        match t {
            Token::SingleQuotedString(s)
            | Token::EscapedStringLiteral(s)
            | Token::NationalStringLiteral(s)
            | Token::UnicodeStringLiteral(s) => Some(s.clone()),
            Token::DollarQuotedString(d) => Some(d.value.clone()),
            _ => None,
        }
    };
    let significant: Vec<_> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let mut spans = Vec::new();
    for pair in significant.windows(2) {
        let (before, value) = (&pair[0].token, pair[1]);
        if literal(&value.token).is_none() {
            continue;
        }
        let names_secret = match before {
            Token::Word(w) => w.value.eq_ignore_ascii_case("password"),
            other => literal(other).is_some_and(|key| secret_word(&key)),
        };
        if names_secret
            && let (Some(start), Some(end)) = (
                byte_offset(sql, value.span.start),
                byte_offset(sql, value.span.end),
            )
        {
            spans.push(start..end);
        }
    }
    let mut out = sql.to_string();
    for span in spans.into_iter().rev() {
        out.replace_range(span, "'********'");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_audit_text() {
        assert_eq!(
            redact_passwords("CREATE ROLE a LOGIN PASSWORD 'it''s secret' VALID UNTIL 'x'"),
            "CREATE ROLE a LOGIN PASSWORD '********' VALID UNTIL 'x'"
        );
        assert_eq!(
            redact_passwords("alter user b with password  'p'"),
            "alter user b with password  '********'"
        );
        assert_eq!(redact_passwords("SELECT 1"), "SELECT 1");
        // Every quoting PostgreSQL reads, and comments between.
        for sql in [
            "ALTER ROLE a PASSWORD E'it\\'s SECRET'",
            "ALTER ROLE a PASSWORD $q$it's SECRET$q$",
            "ALTER ROLE a PASSWORD /* c */ 'SECRET'",
            "ALTER ROLE a PASSWORD -- c\n 'SECRET'",
            "create external table t stored as csv location 's3://b/' \
             options ('aws.secret_access_key' 'SECRET', 'format.has_header' 'true')",
        ] {
            let kept = redact_passwords(sql);
            assert!(!kept.contains("SECRET"), "{sql} -> {kept}");
            assert!(kept.contains("'********'"), "{sql} -> {kept}");
        }
        assert_eq!(
            redact_passwords("SELECT password FROM t"),
            "SELECT password FROM t"
        );
    }

    #[test]
    fn user_statements_are_role_statements_anywhere_in_a_batch() {
        use datafusion::sql::sqlparser::ast::Statement;
        let parsed = parse(
            "CREATE TABLE u (user_id int); CREATE USER a PASSWORD 'x'; \
             CREATE USER b NOLOGIN; ALTER USER a PASSWORD 'y'; DROP USER b",
        )
        .unwrap();
        let login = |n: usize| match &parsed[n] {
            DFStatement::Statement(s) => match s.as_ref() {
                Statement::CreateRole(c) => c.login,
                other => panic!("{other}"),
            },
            other => panic!("{other}"),
        };
        assert_eq!(login(1), Some(true));
        assert_eq!(login(2), Some(false));
        assert_eq!(classify(&parsed[3]).1, "ALTER ROLE");
        assert_eq!(classify(&parsed[4]).1, "DROP ROLE");
    }

    #[test]
    fn statements_are_classed_as_pgaudit_does() {
        let class = |sql: &str| classify(&parse(sql).unwrap()[0]);
        assert_eq!(class("SELECT 1"), ("READ", "SELECT".into()));
        assert_eq!(
            class("INSERT INTO t VALUES (1)"),
            ("WRITE", "INSERT".into())
        );
        assert_eq!(class("GRANT SELECT ON t TO a"), ("ROLE", "GRANT".into()));
        assert_eq!(class("CREATE USER a"), ("ROLE", "CREATE ROLE".into()));
        assert_eq!(class("DROP TABLE t"), ("DDL", "DROP TABLE".into()));
    }
}
