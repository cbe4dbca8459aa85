//! The audit log (`security.enable_audit`): one line per login, refused login,
//! statement and logout, as `key=value` fields after a UTC timestamp, e.g.
//!
//! ```text
//! 2026-11-27T17:00:00.123Z event=statement user_id=postgres database=postgres client=127.0.0.1:50412 pid=12 outcome=ok sqlstate=00000 statement="SELECT 1"
//! ```
//!
//! so `grep user_id=alice audit.log` finds a user's actions. Values with spaces,
//! quotes or `=` are double-quoted, with `"` and `\` escaped by a backslash and
//! line breaks written as `\n`. Passwords and tokens are never written: a
//! statement that sets a password is recorded with the password replaced.
//!
//! Records go through a bounded queue (`QUEUE_CAPACITY`) to a writer thread, so
//! a slow disk does not slow every statement. When the queue is full the
//! statement waits for room: records are never dropped.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, TrySendError};

use crate::logging::ReopenableFile;

/// Records that may wait for the writer before statements wait for it.
pub const QUEUE_CAPACITY: usize = 65_536;

#[derive(Debug)]
pub struct Audit {
    file: Arc<ReopenableFile>,
    queue: SyncSender<String>,
}

impl Audit {
    pub fn open(path: &Path) -> std::io::Result<Arc<Self>> {
        let file = ReopenableFile::open(path)?;
        let (queue, lines) = std::sync::mpsc::sync_channel::<String>(QUEUE_CAPACITY);
        let writer = file.clone();
        std::thread::Builder::new()
            .name("enishi-audit".into())
            .spawn(move || {
                for line in lines {
                    if let Err(e) = writer.write_line(&line) {
                        tracing::error!(path = %writer.path().display(), error = %e, "cannot write the audit log");
                    }
                }
            })?;
        Ok(Arc::new(Self { file, queue }))
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
        match self.queue.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(line)) => {
                tracing::warn!("the audit queue is full: waiting for the writer");
                let _ = self.queue.send(line);
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::error!("the audit writer has stopped");
            }
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
