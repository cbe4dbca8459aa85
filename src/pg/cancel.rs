//! Query cancellation: CancelRequest and statement_timeout.
//!
//! Each connection registers its (pid, secret key) here. A CancelRequest with a
//! matching pair bumps the connection's cancel counter; the running statement
//! watches that counter and stops with 57014. pgwire's own cancel hook only covers
//! building a response, not streaming it, so the registry is ours.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use pgwire::api::cancel::CancelHandler;
use pgwire::messages::cancel::CancelRequest;
use tokio::sync::watch;
use tokio::time::Instant;

/// A connection's secret key, and the channel its statements watch for cancels.
type Registration = (Vec<u8>, watch::Sender<u64>);

#[derive(Default)]
pub struct CancelRegistry {
    connections: Mutex<HashMap<i32, Registration>>,
}

impl CancelRegistry {
    /// Registers a connection; the guard unregisters it when the connection ends.
    pub fn register(self: &Arc<Self>, pid: i32, secret: Vec<u8>) -> CancelGuard {
        let (tx, rx) = watch::channel(0);
        self.connections
            .lock()
            .expect("cancel lock")
            .insert(pid, (secret, tx));
        CancelGuard {
            registry: self.clone(),
            pid,
            receiver: rx,
        }
    }

    fn cancel(&self, pid: i32, secret: &[u8]) -> bool {
        let connections = self.connections.lock().expect("cancel lock");
        match connections.get(&pid) {
            Some((expected, tx)) if expected.as_slice() == secret => {
                tx.send_modify(|n| *n += 1);
                true
            }
            _ => false,
        }
    }
}

/// A connection's registration.
pub struct CancelGuard {
    registry: Arc<CancelRegistry>,
    pid: i32,
    receiver: watch::Receiver<u64>,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        self.registry
            .connections
            .lock()
            .expect("cancel lock")
            .remove(&self.pid);
    }
}

impl CancelGuard {
    /// The limits one statement runs under, starting now.
    pub fn statement(&self, timeout_ms: u64) -> StatementLimits {
        let mut receiver = self.receiver.clone();
        receiver.mark_unchanged();
        StatementLimits {
            receiver,
            deadline: (timeout_ms > 0).then(|| Instant::now() + Duration::from_millis(timeout_ms)),
        }
    }
}

/// What stops a statement early: a cancel request or its deadline.
#[derive(Clone)]
pub struct StatementLimits {
    receiver: watch::Receiver<u64>,
    deadline: Option<Instant>,
}

impl StatementLimits {
    /// Runs `fut` until it finishes or the statement is stopped; the error names why.
    pub async fn run<F: std::future::Future>(
        &mut self,
        fut: F,
    ) -> Result<F::Output, enishi_sql::Error> {
        let deadline = self.deadline;
        let timeout = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            out = fut => Ok(out),
            _ = self.receiver.changed() => Err(enishi_sql::Error::QueryCanceled("user request")),
            _ = timeout => Err(enishi_sql::Error::QueryCanceled("statement timeout")),
        }
    }
}

/// Answers CancelRequest messages from the registry.
pub struct Canceller(pub Arc<CancelRegistry>);

#[async_trait]
impl CancelHandler for Canceller {
    async fn on_cancel_request(&self, request: CancelRequest) {
        let found = self.0.cancel(request.pid, &request.secret_key.to_bytes());
        tracing::info!(pid = request.pid, found, "cancel request");
    }
}
