//! The HTTP side port for operators: `/health`, `/ready`, `/status`,
//! Prometheus `/metrics` (see `crate::metrics`) and, with an admin token
//! configured, `/admin/capabilities` to issue and revoke capability tokens.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::Path;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{delete, get, post};
use enishi_sql::Engine;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::audit::Audit;
use crate::lifecycle::{Lifecycle, Phase};
use crate::metrics::Metrics;

/// What the handlers read.
pub struct HttpState {
    pub engine: Arc<Engine>,
    pub lifecycle: Arc<Lifecycle>,
    pub metrics: Arc<Metrics>,
    pub started: Instant,
    /// The effective configuration for /status: no secrets, no paths.
    pub configuration: serde_json::Value,
    /// The same with paths, for a caller with the admin token.
    pub configuration_admin: serde_json::Value,
    /// Bearer token of `/admin/…` (empty: the admin API is off).
    pub admin_token: String,
    pub audit: Option<Arc<Audit>>,
}

/// The HTTP API; `/metrics` only when `prometheus` is on.
pub fn router(state: Arc<HttpState>, prometheus: bool) -> Router {
    let router = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/status", get(status));
    let router = if state.admin_token.is_empty() {
        router
    } else {
        router
            .route("/admin/capabilities", post(issue_capability))
            .route("/admin/capabilities/{id}", delete(revoke_capability))
    };
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

/// What an unauthenticated caller is told of a failed storage probe: its
/// error names paths, buckets and endpoints, which go to the server log and to
/// the admin.
const STORAGE_ERROR_HIDDEN: &str = "the storage probe failed; see the server log";

/// The last storage probe's error as `headers`' caller may see it.
fn storage_error(state: &HttpState, headers: &HeaderMap) -> Option<String> {
    let error = state.lifecycle.storage_error()?;
    Some(if is_admin(state, headers) {
        error
    } else {
        STORAGE_ERROR_HIDDEN.into()
    })
}

/// Readiness: 200 while the server accepts queries; 503 while starting, while
/// draining, or while the object store fails its background probe.
async fn ready(State(state): State<Arc<HttpState>>, headers: HeaderMap) -> Response {
    let phase = state.lifecycle.phase();
    let storage_error = storage_error(&state, &headers);
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

/// What the server is doing. Open to anyone who reaches the port, so it shows
/// neither secrets nor paths; with the admin token, the paths and the storage
/// error's detail too.
async fn status(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
) -> Json<serde_json::Value> {
    let cache = state.engine.cache();
    let (entries, bytes) = cache.usage();
    let configuration = if is_admin(&state, &headers) {
        &state.configuration_admin
    } else {
        &state.configuration
    };
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
            "error": storage_error(&state, &headers),
        },
        "configuration": configuration,
        "audit": state.audit.as_ref().map(|audit| {
            let stats = audit.stats();
            json!({ "queue_bytes": stats.queue_bytes, "writable": stats.writable })
        }),
        "cache": {
            "entries": entries,
            "bytes": bytes,
            "hit_ratio": cache.stats.hit_ratio(),
        },
    }))
}

async fn render_metrics(State(state): State<Arc<HttpState>>) -> Response {
    match state.metrics.render(&state.engine, state.audit.as_deref()) {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

// ---------------------------------------------------------------- admin API

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Whether the request carries `Authorization: Bearer <admin token>` (never,
/// without an admin token configured).
fn is_admin(state: &HttpState, headers: &HeaderMap) -> bool {
    if state.admin_token.is_empty() {
        return false;
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    aws_lc_rs::constant_time::verify_slices_are_equal(
        given.as_bytes(),
        state.admin_token.as_bytes(),
    )
    .is_ok()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(json!({ "error": "a valid admin bearer token is required" })),
    )
        .into_response()
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilityRequest {
    resource: String,
    permissions: Vec<String>,
    expires_in: i64,
}

fn rfc3339(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// `POST /admin/capabilities`: issues a token; the only time it is shown.
async fn issue_capability(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !is_admin(&state, &headers) {
        return unauthorized();
    }
    let request: CapabilityRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid request: {e}")),
    };
    let issued = match enishi_sql::tokens::issue(
        state.engine.storage(),
        &request.resource,
        &request.permissions,
        request.expires_in,
    )
    .await
    {
        Ok(issued) => issued,
        Err(e @ enishi_sql::Error::InvalidParameterValue(_)) => {
            return error(StatusCode::BAD_REQUEST, e.to_string());
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot issue a capability token");
            return error(StatusCode::SERVICE_UNAVAILABLE, "cannot store the token");
        }
    };
    let expires_at = rfc3339(issued.expires_at);
    if let Some(audit) = &state.audit {
        audit.record(
            "token_issued",
            &[
                ("user_id", "admin"),
                ("token_id", &issued.id),
                ("resource", &request.resource),
                ("permissions", &request.permissions.join(",")),
                ("expires_at", &expires_at),
            ],
        );
    }
    (
        StatusCode::CREATED,
        Json(json!({
            "id": issued.id,
            "token": issued.token,
            "expires_at": expires_at,
        })),
    )
        .into_response()
}

/// `DELETE /admin/capabilities/{id}`: revokes a token; sessions using it are
/// refused from their next statement.
async fn revoke_capability(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !is_admin(&state, &headers) {
        return unauthorized();
    }
    match enishi_sql::tokens::revoke(state.engine.storage(), &id).await {
        Ok(true) => {
            if let Some(audit) = &state.audit {
                audit.record("token_revoked", &[("user_id", "admin"), ("token_id", &id)]);
            }
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(false) => error(StatusCode::NOT_FOUND, format!("no capability token {id}")),
        Err(e) => {
            tracing::error!(error = %e, "cannot revoke a capability token");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "cannot store the revocation",
            )
        }
    }
}
