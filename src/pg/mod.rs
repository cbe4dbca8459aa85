//! The PostgreSQL wire-protocol front end.
//!
//! `serve` accepts connections and hands each socket to pgwire with a fresh set of
//! handlers (`connection`). The front end owns only protocol concerns: message
//! flow, encoding (`encode`), SQLSTATEs (`error`) and cancellation (`cancel`); every
//! statement is answered by the engine's session.

pub mod cancel;
pub mod connection;
pub mod encode;
pub mod error;

use std::sync::Arc;

use enishi_sql::Engine;

use crate::lifecycle::Lifecycle;
use crate::metrics::Metrics;
use pgwire::api::RandomPidSecretKeyGenerator;
use tokio::net::TcpListener;
use tokio::sync::watch;

use connection::{Handlers, Shared};

/// Accepts clients until `shutdown` turns true. Each connection runs in its own
/// task; one client's failure never touches another.
pub async fn serve(
    listener: TcpListener,
    engine: Arc<Engine>,
    metrics: Arc<Metrics>,
    lifecycle: Arc<Lifecycle>,
    mut shutdown: watch::Receiver<bool>,
) {
    let shared = Arc::new(Shared {
        engine,
        cancel: Arc::default(),
        keys: RandomPidSecretKeyGenerator::default(),
        metrics: metrics.clone(),
        lifecycle,
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
                let handlers = Handlers::new(shared.clone());
                let metrics = metrics.clone();
                metrics.connections_total.inc();
                metrics.connections_active.inc();
                tokio::spawn(async move {
                    if let Err(e) = pgwire::tokio::process_socket(socket, None, handlers).await {
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
