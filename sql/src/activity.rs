//! What each connected session is doing, and what the sessions of each
//! database have done: the source of `pg_stat_activity` and
//! `pg_stat_database`. The front end registers a connection once it has
//! logged in and reports each statement's start and end.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::output::TxState;

/// Microseconds since the Unix epoch.
fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// One connected session, as pg_stat_activity shows it.
#[derive(Debug, Clone)]
pub struct Backend {
    pub pid: i32,
    pub database: String,
    pub user: String,
    pub application_name: String,
    pub client: Option<std::net::SocketAddr>,
    /// Times in microseconds since the Unix epoch.
    pub backend_start: i64,
    pub xact_start: Option<i64>,
    pub query_start: Option<i64>,
    pub state_change: i64,
    /// `active`, `idle`, `idle in transaction` or `idle in transaction (aborted)`.
    pub state: &'static str,
    /// The statement running, or the last one run.
    pub query: String,
}

/// Who a session is, kept in its DataFusion config so the statistics views
/// show each caller what PostgreSQL would: the statements and states of
/// other roles' sessions only to superusers.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: String,
    pub superuser: bool,
}

impl Caller {
    /// Whether this caller may see what `backend` runs.
    pub fn sees(&self, backend: &Backend) -> bool {
        self.superuser || self.user == backend.user
    }
}

/// What the sessions of one database have done since the server started.
#[derive(Debug, Default, Clone, Copy)]
pub struct DatabaseCounts {
    pub sessions: u64,
    pub commits: u64,
    pub rollbacks: u64,
}

/// The registry of sessions, shared by the engine.
#[derive(Debug, Default)]
pub struct Activity {
    backends: Mutex<BTreeMap<i32, Backend>>,
    databases: Mutex<HashMap<String, DatabaseCounts>>,
}

impl Activity {
    /// Registers a logged-in connection; it stays listed until the guard drops.
    pub fn connect(
        self: &Arc<Self>,
        pid: i32,
        user: &str,
        database: &str,
        application_name: &str,
        client: Option<std::net::SocketAddr>,
    ) -> BackendGuard {
        let now = now_micros();
        self.backends.lock().expect("activity lock").insert(
            pid,
            Backend {
                pid,
                database: database.to_string(),
                user: user.to_string(),
                application_name: application_name.to_string(),
                client,
                backend_start: now,
                xact_start: None,
                query_start: None,
                state_change: now,
                state: "idle",
                query: String::new(),
            },
        );
        self.databases
            .lock()
            .expect("activity lock")
            .entry(database.to_string())
            .or_default()
            .sessions += 1;
        BackendGuard {
            activity: self.clone(),
            pid,
        }
    }

    /// The connected sessions, by pid.
    pub fn backends(&self) -> Vec<Backend> {
        self.backends
            .lock()
            .expect("activity lock")
            .values()
            .cloned()
            .collect()
    }

    /// What the sessions of `database` have done.
    pub fn database(&self, database: &str) -> DatabaseCounts {
        self.databases
            .lock()
            .expect("activity lock")
            .get(database)
            .copied()
            .unwrap_or_default()
    }

    fn update(&self, pid: i32, change: impl FnOnce(&mut Backend)) {
        if let Some(backend) = self.backends.lock().expect("activity lock").get_mut(&pid) {
            change(backend);
        }
    }
}

/// A connection's entry in the registry; removes it when dropped.
#[derive(Debug)]
pub struct BackendGuard {
    activity: Arc<Activity>,
    pid: i32,
}

impl BackendGuard {
    /// A statement starts.
    pub fn started(&self, query: &str, application_name: &str) {
        let now = now_micros();
        self.activity.update(self.pid, |b| {
            b.state = "active";
            b.query = query.trim().to_string();
            b.query_start = Some(now);
            b.state_change = now;
            b.xact_start.get_or_insert(now);
            b.application_name = application_name.to_string();
        });
    }

    /// A statement ended, leaving the session in transaction state `tx`;
    /// `committed` tells whether a transaction that ended with it committed.
    pub fn finished(&self, tx: TxState, committed: bool) {
        let now = now_micros();
        let mut ended = None;
        self.activity.update(self.pid, |b| {
            b.state = match tx {
                TxState::Idle => "idle",
                TxState::Block => "idle in transaction",
                TxState::Failed => "idle in transaction (aborted)",
            };
            b.state_change = now;
            if tx == TxState::Idle {
                b.xact_start = None;
                ended = Some(b.database.clone());
            }
        });
        if let Some(database) = ended {
            let mut databases = self.activity.databases.lock().expect("activity lock");
            let counts = databases.entry(database).or_default();
            if committed {
                counts.commits += 1;
            } else {
                counts.rollbacks += 1;
            }
        }
    }
}

impl Drop for BackendGuard {
    fn drop(&mut self) {
        self.activity
            .backends
            .lock()
            .expect("activity lock")
            .remove(&self.pid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_listed_while_connected_and_counted() {
        let activity = Arc::new(Activity::default());
        let guard = activity.connect(7, "ann", "postgres", "psql", None);
        guard.started("select 1", "psql");
        assert_eq!(activity.backends()[0].state, "active");
        guard.finished(TxState::Idle, true);
        guard.started("begin", "psql");
        guard.finished(TxState::Block, true);
        let listed = &activity.backends()[0];
        assert_eq!(listed.state, "idle in transaction");
        assert!(listed.xact_start.is_some());
        guard.started("rollback", "psql");
        guard.finished(TxState::Idle, false);
        let counts = activity.database("postgres");
        assert_eq!(
            (counts.sessions, counts.commits, counts.rollbacks),
            (1, 1, 1)
        );
        drop(guard);
        assert!(activity.backends().is_empty());
    }
}
