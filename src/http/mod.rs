//! The HTTP side port for operators: `/health`, `/ready`, `/status` and
//! Prometheus `/metrics` (see `crate::metrics`).

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use enishi_sql::Engine;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::lifecycle::{Lifecycle, Phase};
use crate::metrics::Metrics;

/// What the handlers read.
pub struct HttpState {
    pub engine: Arc<Engine>,
    pub lifecycle: Arc<Lifecycle>,
    pub metrics: Arc<Metrics>,
    pub started: Instant,
    /// The effective configuration, secrets redacted, for /status.
    pub configuration: serde_json::Value,
}

/// The HTTP API; `/metrics` only when `prometheus` is on.
pub fn router(state: Arc<HttpState>, prometheus: bool) -> Router {
    let router = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/status", get(status));
    let router = if prometheus {
        router.route("/metrics", get(render_metrics))
    } else {
        router
    };
    router.with_state(state)
}

/// The metrics port: `/metrics` only.
pub fn metrics_router(state: Arc<HttpState>) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics))
        .with_state(state)
}

/// Serves until `shutdown` turns true.
pub async fn serve(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    let stop = async move {
        while !*shutdown.borrow() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
    };
    if let Err(e) = axum::serve(listener, router)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::warn!(error = %e, "HTTP server stopped");
    }
}

/// Liveness: the process answers; no storage I/O.
async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "healthy" }))
}

/// Readiness: 200 while the server accepts queries; 503 while starting, while
/// draining, or while the object store fails its background probe.
async fn ready(State(state): State<Arc<HttpState>>) -> Response {
    let phase = state.lifecycle.phase();
    let storage_error = state.lifecycle.storage_error();
    match (phase, storage_error) {
        (Phase::Ready, None) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        (Phase::Ready, Some(error)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "storage_unavailable", "error": error })),
        ),
        (phase, _) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": phase.name() })),
        ),
    }
    .into_response()
}

async fn status(State(state): State<Arc<HttpState>>) -> Json<serde_json::Value> {
    let cache = state.engine.cache();
    let (entries, bytes) = cache.usage();
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": state.started.elapsed().as_secs(),
        "state": state.lifecycle.phase().name(),
        "connections": state.metrics.connections_active.get(),
        "max_connections": state.metrics.connections_max.get(),
        "queries_in_flight": state.metrics.queries_in_flight.get(),
        "storage": {
            "used_bytes": state.engine.storage().used_bytes(),
            "files": state.engine.storage().used_files(),
            "tables": state.engine.storage().table_count(),
            "healthy": state.lifecycle.storage_error().is_none(),
            "error": state.lifecycle.storage_error(),
        },
        "configuration": state.configuration,
        "cache": {
            "entries": entries,
            "bytes": bytes,
            "hit_ratio": cache.stats.hit_ratio(),
        },
    }))
}

async fn render_metrics(State(state): State<Arc<HttpState>>) -> Response {
    match state.metrics.render(&state.engine) {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
