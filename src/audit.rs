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
//! Records go to a writer thread through a queue bounded in bytes
//! (`security.audit_queue_max_bytes`), so a slow or failing disk never blocks
//! a tokio worker, and no record is ever dropped silently. The policy when the
//! writer cannot keep up or cannot write is to refuse new statements
//! ([`Audit::admit`]): SQLSTATE 53000 while the queue is over its bound, 58030
//! while writes fail (the writer retries them in order every second, and
//! SIGHUP's reopen lets it write to a new file). Records of statements already
//! running, logins and logouts are always queued. At shutdown [`Audit::close`]
//! lets the writer drain the queue and joins it; records that still cannot be
//! written by then are reported as lost in the server log.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::logging::ReopenableFile;

/// How long the writer waits before retrying a failed write.
const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// How long shutdown waits for queued records to reach the file, after the
/// connections have drained: with the 30 s drain it fits the packaged
/// units' 45 s stop timeout.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why [`Audit::admit`] refuses a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// More than `security.audit_queue_max_bytes` wait for the writer.
    QueueFull,
    /// The last write to the audit log failed.
    WriteFailed,
}

impl Refusal {
    /// The SQLSTATE a refused statement fails with.
    pub fn sqlstate(self) -> &'static str {
        match self {
            Refusal::QueueFull => "53000",
            Refusal::WriteFailed => "58030",
        }
    }

    /// The `reason` label of `enishi_audit_refusals_total`.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::QueueFull => "queue_full",
            Refusal::WriteFailed => "write_failed",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::QueueFull => write!(
                f,
                "statement refused: the audit log is not keeping up (its queue is full); try again shortly"
            ),
            Refusal::WriteFailed => write!(
                f,
                "statement refused: could not write to the audit log; see the server log"
            ),
        }
    }
}

/// The audit writer's figures, for /metrics and /status.
#[derive(Debug, Clone, Copy)]
pub struct AuditStats {
    /// Bytes of records not yet written.
    pub queue_bytes: u64,
    /// Failed writes since start.
    pub write_errors: u64,
    /// The last write succeeded (or none failed yet).
    pub writable: bool,
}

#[derive(Debug)]
pub struct Audit {
    file: Arc<ReopenableFile>,
    queue: Arc<Queue>,
    max_bytes: usize,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Statements are being refused now (to log the changes only).
    refusing: AtomicBool,
}

/// What the front end and the writer thread share.
#[derive(Debug, Default)]
struct Queue {
    state: Mutex<State>,
    /// Wakes the writer (records queued, close asked) and `close` (writer stopped).
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Records waiting for the writer, each ending in a line break.
    queued: Vec<u8>,
    /// Bytes the writer has taken and not yet written.
    unwritten: usize,
    /// The last write failed.
    failing: bool,
    write_errors: u64,
    /// `close` was called: write what is left, giving up at this instant.
    closing: Option<Instant>,
    /// The writer thread has returned; records are written in place.
    stopped: bool,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn pending(&self) -> usize {
        self.queued.len() + self.unwritten
    }
}

impl Audit {
    /// Opens (creating) the audit file and starts its writer thread.
    pub fn open(path: &Path, max_bytes: u64) -> std::io::Result<Arc<Self>> {
        let file = ReopenableFile::open(path)?;
        let queue = Arc::new(Queue::default());
        let writer = {
            let (file, queue) = (file.clone(), queue.clone());
            std::thread::Builder::new()
                .name("enishi-audit".into())
                .spawn(move || write_records(&file, &queue))?
        };
        Ok(Arc::new(Self {
            file,
            queue,
            max_bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
            writer: Mutex::new(Some(writer)),
            refusing: AtomicBool::new(false),
        }))
    }

    /// Appends a record of `event` with `fields`. Never blocks on the disk and
    /// never fails the caller: the record is queued (past the bound, too: the
    /// bound is enforced by refusing statements in [`Audit::admit`]).
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
        let mut state = self.queue.lock();
        if state.stopped {
            drop(state);
            // After shutdown (a connection dropped last): write it here.
            if let Err(e) = self.file.write_line(&line) {
                tracing::error!(path = %self.file.path().display(), error = %e, event, "audit record lost: cannot write the audit log");
            }
            return;
        }
        line.push('\n');
        state.queued.extend_from_slice(line.as_bytes());
        drop(state);
        self.queue.changed.notify_all();
    }

    /// Whether a new statement may run: Err while the queue is over
    /// `security.audit_queue_max_bytes` or the audit log cannot be written.
    pub fn admit(&self) -> Result<(), Refusal> {
        let refusal = {
            let state = self.queue.lock();
            if state.failing {
                Some(Refusal::WriteFailed)
            } else if state.pending() >= self.max_bytes {
                Some(Refusal::QueueFull)
            } else {
                None
            }
        };
        let was = self.refusing.swap(refusal.is_some(), Ordering::AcqRel);
        match refusal {
            Some(refusal) if !was => {
                tracing::warn!(
                    reason = refusal.reason(),
                    "the audit log cannot take more records: refusing statements"
                );
            }
            None if was => tracing::info!("the audit log takes records again: statements run"),
            _ => {}
        }
        refusal.map_or(Ok(()), Err)
    }

    pub fn stats(&self) -> AuditStats {
        let state = self.queue.lock();
        AuditStats {
            queue_bytes: state.pending() as u64,
            write_errors: state.write_errors,
            writable: !state.failing,
        }
    }

    /// SIGHUP: continue in a new file at the same path.
    pub fn reopen(&self) {
        if let Err(e) = self.file.reopen() {
            tracing::error!(path = %self.file.path().display(), error = %e, "cannot reopen the audit log");
        }
    }

    /// Shutdown: lets the writer write every queued record and joins it,
    /// waiting about `timeout` at most (a disk that does not answer must not
    /// keep the process alive). Blocks the calling thread. Records queued later
    /// are written in place by [`Audit::record`].
    pub fn close(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut state = self.queue.lock();
        state.closing = Some(deadline);
        self.queue.changed.notify_all();
        // The writer gives up by itself at the deadline, after a last try;
        // past that (and a pause), it is stuck in a write.
        let stuck = deadline + RETRY_INTERVAL;
        while !state.stopped {
            let left = stuck.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self
                .queue
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        if !state.stopped {
            let lost = state.pending();
            // The writer is stuck in a write; later records go to the file in
            // place rather than to a queue nobody reads.
            state.stopped = true;
            drop(state);
            tracing::error!(
                path = %self.file.path().display(),
                bytes = lost,
                "audit records lost: the audit log did not take them before shutdown"
            );
            return;
        }
        drop(state);
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(writer) = writer
            && writer.join().is_err()
        {
            tracing::error!("the audit writer panicked");
        }
    }
}

/// The writer thread: writes queued records in order, keeping what a failed
/// write left to retry, until `close` and the queue is empty (or the close
/// deadline has passed while writes fail).
fn write_records(file: &ReopenableFile, queue: &Queue) {
    let mut batch: Vec<u8> = Vec::new();
    loop {
        let mut state = queue.lock();
        loop {
            if batch.is_empty() {
                std::mem::swap(&mut batch, &mut state.queued);
            } else {
                batch.append(&mut state.queued);
            }
            if !batch.is_empty() || state.closing.is_some() {
                break;
            }
            state = queue.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        if batch.is_empty() {
            state.stopped = true;
            drop(state);
            queue.changed.notify_all();
            return;
        }
        state.unwritten = batch.len();
        drop(state);

        let mut written = 0;
        let outcome = loop {
            if written == batch.len() {
                break Ok(());
            }
            match file.append(&batch[written..]) {
                Ok(0) => break Err(std::io::Error::from(std::io::ErrorKind::WriteZero)),
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        batch.drain(..written);

        let mut state = queue.lock();
        state.unwritten = batch.len();
        match outcome {
            Ok(()) => {
                if std::mem::replace(&mut state.failing, false) {
                    tracing::info!(path = %file.path().display(), "the audit log is written again");
                }
            }
            Err(e) => {
                state.write_errors += 1;
                if !std::mem::replace(&mut state.failing, true) {
                    tracing::error!(path = %file.path().display(), error = %e, "cannot write the audit log; retrying every second");
                }
                if state
                    .closing
                    .is_some_and(|deadline| Instant::now() >= deadline)
                {
                    tracing::error!(
                        path = %file.path().display(),
                        bytes = state.pending(),
                        "audit records lost: the audit log could not be written before shutdown"
                    );
                    state.stopped = true;
                    drop(state);
                    queue.changed.notify_all();
                    return;
                }
                // Retry after a pause, which ends early only at the close deadline.
                let mut until = Instant::now() + RETRY_INTERVAL;
                loop {
                    if let Some(deadline) = state.closing {
                        until = until.min(deadline);
                    }
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    state = queue
                        .changed
                        .wait_timeout(state, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
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
