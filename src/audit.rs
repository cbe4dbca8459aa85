//! The audit log (`security.enable_audit`): one line per login, refused login,
//! statement and logout, as `key=value` fields after a UTC timestamp, e.g.
//!
//! ```text
//! 2026-11-27T17:00:00.123Z event=statement user_id=postgres database=postgres client=127.0.0.1:50412 pid=12 outcome=ok sqlstate=00000 statement="SELECT 1"
//! ```
//!
//! so `grep user_id=alice audit.log` finds a user's actions. Values with spaces,
//! quotes or `=` are double-quoted, with `"` and `\` escaped by a backslash and
//! line breaks written as `\n`.

use std::path::Path;
use std::sync::Arc;

use crate::logging::ReopenableFile;

#[derive(Debug)]
pub struct Audit {
    file: Arc<ReopenableFile>,
}

impl Audit {
    pub fn open(path: &Path) -> std::io::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            file: ReopenableFile::open(path)?,
        }))
    }

    /// Appends a record of `event` with `fields`. A failure to write is logged,
    /// never returned: auditing must not fail the client's statement.
    pub fn record(&self, event: &str, fields: &[(&str, &str)]) {
        let mut line = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        line.push_str(" event=");
        line.push_str(event);
        for (key, value) in fields {
            line.push(' ');
            line.push_str(key);
            line.push('=');
            push_value(&mut line, value);
        }
        if let Err(e) = self.file.write_line(&line) {
            tracing::error!(path = %self.file.path().display(), error = %e, "cannot write the audit log");
        }
    }

    /// SIGHUP: continue in a new file at the same path.
    pub fn reopen(&self) {
        if let Err(e) = self.file.reopen() {
            tracing::error!(path = %self.file.path().display(), error = %e, "cannot reopen the audit log");
        }
    }
}

fn push_value(line: &mut String, value: &str) {
    let plain = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '=' || c == '\\');
    if plain {
        line.push_str(value);
        return;
    }
    line.push('"');
    for c in value.chars() {
        match c {
            '"' => line.push_str("\\\""),
            '\\' => line.push_str("\\\\"),
            '\n' => line.push_str("\\n"),
            '\r' => line.push_str("\\r"),
            c => line.push(c),
        }
    }
    line.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_when_needed() {
        let mut line = String::new();
        push_value(&mut line, "postgres");
        line.push(' ');
        push_value(&mut line, "SELECT 'a=b'\nFROM \"t\"");
        line.push(' ');
        push_value(&mut line, "");
        assert_eq!(line, r#"postgres "SELECT 'a=b'\nFROM \"t\"" """#);
    }
}
