//! The HTTP side port for operators: `/health`, `/ready`, `/status` and
//! Prometheus `/metrics` (see `metrics`).

pub mod metrics;

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

use metrics::Metrics;

/// What the handlers read.
pub struct HttpState {
    pub engine: Arc<Engine>,
    pub metrics: Metrics,
    pub started: Instant,
}

pub fn router(state: Arc<HttpState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/status", get(status))
        .route("/metrics", get(render_metrics))
        .with_state(state)
}

/// Serves until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    state: Arc<HttpState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let stop = async move {
        while !*shutdown.borrow() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
    };
    if let Err(e) = axum::serve(listener, router(state))
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

/// Readiness: the server accepts queries.
async fn ready() -> Json<serde_json::Value> {
    Json(json!({ "status": "ready" }))
}

async fn status(State(state): State<Arc<HttpState>>) -> Json<serde_json::Value> {
    let cache = state.engine.cache();
    let (entries, bytes) = cache.usage();
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": state.started.elapsed().as_secs(),
        "state": "ready",
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
