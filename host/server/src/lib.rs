//! # tessera-server: the on-demand render API
//!
//! `POST /v1/tenants/{tenant}/render` takes one CDM record and answers with
//! its outputs, made by the same pipeline as a batch (validation, routing,
//! composition from the live content, sandboxed plugins), so a letter
//! rendered for a portal is byte-identical to the batch's. Callers hold a
//! per-tenant bearer token, stored only as its SHA-256 in `tenant.toml`.
//! Errors are RFC 9457 `application/problem+json` with the batch's reasons;
//! when every render slot is busy the answer is `503` with `Retry-After`
//! instead of a queue that grows until the host falls over.
//! `GET /healthz`, `GET /metrics` (Prometheus text) and `GET /openapi.json`
//! (the committed API description) are open.

mod api;
mod auth;
mod metrics;
mod problem;

pub use api::{AppState, OPENAPI, ServerLimits, router};
pub use auth::token_digest;
pub use metrics::Metrics;

use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Serves `state` on `listener` until `shutdown` completes; requests in
/// flight then finish before this returns.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
