//! The PostgreSQL wire-protocol front end.
//!
//! `serve` accepts connections and runs each socket's message loop with a fresh
//! set of handlers (`connection`). The loop is pgwire's, with Enishi's limits
//! before login (`startup`): the authentication timeout, the byte cap and the
//! place under `server.max_startup_connections`. The front end owns only
//! protocol concerns: message flow, encoding (`encode`), SQLSTATEs (`error`)
//! and cancellation (`cancel`); every statement is answered by the engine's
//! session.

pub mod auth;
pub mod cancel;
pub mod connection;
pub mod copy;
pub mod encode;
pub mod error;
pub mod startup;

use std::sync::Arc;

use enishi_sql::Engine;
use futures::StreamExt;
use pgwire::api::{
    ClientInfo, ErrorHandler, PgWireConnectionState, PgWireServerHandlers,
    RandomPidSecretKeyGenerator,
};
use pgwire::error::{ErrorInfo, PgWireError};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::server::{negotiate_tls, process_error, process_message};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::audit::Audit;
use crate::lifecycle::Lifecycle;
use crate::metrics::Metrics;
use connection::{Activity, Handlers, Shared};
use startup::{OpenConnection, StartupSlot};

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
        logging_in: Default::default(),
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
                let open = OpenConnection::new(metrics.clone());
                let max = shared.limits.max_startup_connections;
                let Some(slot) = StartupSlot::take(&shared.logging_in, max, &metrics) else {
                    tracing::info!(%peer, max, "connection refused: server.max_startup_connections reached");
                    metrics.connections_rejected.inc();
                    metrics.limits.with_label_values(&["max_startup_connections"]).inc();
                    tokio::spawn(async move {
                        let _open = open;
                        startup::refuse_too_many(socket).await;
                    });
                    continue;
                };
                let shared = shared.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let _open = open;
                    if let Err(e) = run_connection(socket, tls, shared, slot).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
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
    slot: StartupSlot,
) -> std::io::Result<()> {
    let activity = Arc::new(Activity::default());
    let handlers = Handlers::new(shared.clone(), activity.clone());
    let Some(timeout) = shared.limits.session_timeout else {
        return serve_socket(socket, tls, handlers, &shared, slot).await;
    };
    let encrypted = tls.is_some();
    // A second handle on the socket, to tell the client why it is closed after
    // the protocol task (which owns the first) is dropped.
    let std_socket = socket.into_std()?;
    let spare = std_socket.try_clone()?;
    let socket = TcpStream::from_std(std_socket)?;
    tokio::select! {
        result = serve_socket(socket, tls, handlers, &shared, slot) => result,
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

/// pgwire's message loop (`process_socket`), with Enishi's limits before
/// login: the connection is closed, without a message as PostgreSQL does, when
/// it has not logged in within `server.authentication_timeout_secs` or sends
/// more than [`startup::STARTUP_BYTES_MAX`] bytes first; its place under
/// `max_startup_connections` is given back once it has logged in.
async fn serve_socket(
    socket: TcpStream,
    tls: Option<pgwire::tokio::TlsAcceptor>,
    handlers: Handlers,
    shared: &Shared,
    slot: StartupSlot,
) -> std::io::Result<()> {
    let timeout = shared.limits.authentication_timeout;
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let timed_out = || {
        shared
            .metrics
            .limits
            .with_label_values(&["authentication_timeout"])
            .inc();
        tracing::info!(
            timeout_secs = timeout.as_secs(),
            "closing a connection that did not log in in time"
        );
    };
    let negotiated = tokio::select! {
        socket = negotiate_tls(socket, tls) => socket?,
        _ = &mut deadline => {
            timed_out();
            return Ok(());
        }
    };
    // None: a client opened TLS directly, and no certificate is configured.
    let Some(socket) = negotiated else {
        return Ok(());
    };
    let mut socket = startup::capped(socket);
    let startup_handler = handlers.startup_handler();
    let simple_query_handler = handlers.simple_query_handler();
    let extended_query_handler = handlers.extended_query_handler();
    let copy_handler = handlers.copy_handler();
    let cancel_handler = handlers.cancel_handler();
    let error_handler = handlers.error_handler();
    let mut slot = Some(slot);
    loop {
        let logging_in = matches!(
            socket.state(),
            PgWireConnectionState::AwaitingStartup
                | PgWireConnectionState::AuthenticationInProgress
        );
        if !logging_in && slot.take().is_some() {
            socket.get_mut().lift();
        }
        let message = if logging_in {
            tokio::select! {
                message = socket.next() => message,
                _ = &mut deadline => {
                    timed_out();
                    break;
                }
            }
        } else {
            socket.next().await
        };
        let message = match message {
            Some(Ok(message)) => message,
            Some(Err(e)) => {
                let too_large =
                    socket.get_ref().exceeded() || matches!(e, PgWireError::MessageTooLarge(..));
                if logging_in && too_large {
                    shared
                        .metrics
                        .limits
                        .with_label_values(&["startup_bytes"])
                        .inc();
                    tracing::info!(
                        peer = %socket.socket_addr(),
                        error = %e,
                        "closing a connection that sent too much before logging in"
                    );
                }
                break;
            }
            None => break,
        };
        // Terminate: the client is leaving (asyncpg waits for the close).
        if matches!(message, PgWireFrontendMessage::Terminate(_)) {
            break;
        }
        let extended = match socket.state() {
            PgWireConnectionState::CopyInProgress(extended) => extended,
            _ => message.is_extended_query(),
        };
        if let Err(mut e) = process_message(
            message,
            &mut socket,
            startup_handler.clone(),
            simple_query_handler.clone(),
            extended_query_handler.clone(),
            copy_handler.clone(),
            cancel_handler.clone(),
        )
        .await
        {
            error_handler.on_error(&socket, &mut e);
            if let Err(e) = process_error(&mut socket, e, extended).await {
                handlers.end_session().await;
                return Err(e);
            }
        }
    }
    handlers.end_session().await;
    Ok(())
}
