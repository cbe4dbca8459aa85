//! The PostgreSQL wire-protocol front end.
//!
//! `serve` accepts connections and hands each socket to pgwire with a fresh set of
//! handlers (`connection`). The front end owns only protocol concerns: message
//! flow, encoding (`encode`), SQLSTATEs (`error`) and cancellation (`cancel`); every
//! statement is answered by the engine's session.

pub mod auth;
pub mod cancel;
pub mod connection;
pub mod copy;
pub mod encode;
pub mod error;

use std::sync::Arc;

use enishi_sql::Engine;
use pgwire::api::RandomPidSecretKeyGenerator;
use pgwire::error::ErrorInfo;
use pgwire::messages::PgWireBackendMessage;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::audit::Audit;
use crate::lifecycle::Lifecycle;
use crate::metrics::Metrics;
use connection::{Activity, Handlers, Shared};

pub use connection::Limits;

/// What the pg front end serves with.
pub struct Frontend {
    pub engine: Arc<Engine>,
    pub metrics: Arc<Metrics>,
    pub lifecycle: Arc<Lifecycle>,
    pub limits: Limits,
    pub audit: Option<Arc<Audit>>,
    pub auth: auth::Auth,
}

/// Accepts clients until `shutdown` turns true. Each connection runs in its own
/// task; one client's failure never touches another.
pub async fn serve(listener: TcpListener, frontend: Frontend, mut shutdown: watch::Receiver<bool>) {
    let Frontend {
        engine,
        metrics,
        lifecycle,
        limits,
        audit,
        auth,
    } = frontend;
    let tls = auth.tls.clone();
    let shared = Arc::new(Shared {
        engine,
        limits,
        sessions: Default::default(),
        audit,
        cancel: Arc::default(),
        keys: RandomPidSecretKeyGenerator::default(),
        metrics: metrics.clone(),
        lifecycle,
        auth,
    });
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (socket, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let _ = socket.set_nodelay(true);
                let shared = shared.clone();
                let metrics = metrics.clone();
                let tls = tls.clone();
                metrics.connections_total.inc();
                metrics.connections_active.inc();
                tokio::spawn(async move {
                    if let Err(e) = run_connection(socket, tls, shared).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                    metrics.connections_active.dec();
                });
            }
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    break;
                }
            }
        }
    }
}

/// Serves one client; with `security.session_timeout_secs`, closes it with
/// FATAL 57P05 once it has been idle that long.
async fn run_connection(
    socket: TcpStream,
    tls: Option<pgwire::tokio::TlsAcceptor>,
    shared: Arc<Shared>,
) -> std::io::Result<()> {
    let activity = Arc::new(Activity::default());
    let handlers = Handlers::new(shared.clone(), activity.clone());
    let Some(timeout) = shared.limits.session_timeout else {
        return pgwire::tokio::process_socket(socket, tls, handlers).await;
    };
    let encrypted = tls.is_some();
    // A second handle on the socket, to tell the client why it is closed after
    // the protocol task (which owns the first) is dropped.
    let std_socket = socket.into_std()?;
    let spare = std_socket.try_clone()?;
    let socket = TcpStream::from_std(std_socket)?;
    tokio::select! {
        result = pgwire::tokio::process_socket(socket, tls, handlers) => result,
        _ = activity.idle_for(timeout) => {
            tracing::info!(timeout_secs = timeout.as_secs(), "closing an idle session");
            shared.metrics.limits.with_label_values(&["idle_session_timeout"]).inc();
            if encrypted {
                // A plain message cannot be written into a TLS stream: just close.
                return Ok(());
            }
            let info = ErrorInfo::new(
                "FATAL".into(),
                "57P05".into(),
                "terminating connection due to idle-session timeout".into(),
            );
            let mut bytes = bytes::BytesMut::new();
            PgWireBackendMessage::ErrorResponse(info.into())
                .encode(&mut bytes)
                .map_err(std::io::Error::other)?;
            let mut spare = TcpStream::from_std(spare)?;
            spare.write_all(&bytes).await?;
            spare.shutdown().await
        }
    }
}
