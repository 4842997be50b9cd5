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
//! (the committed API description) are open. `/preview`, when switched on,
//! is the content authors' live preview (see the `preview` module);
//! `/studio`, when switched on, is where they edit, submit and approve
//! changes (see the `studio` module).

mod api;
mod auth;
mod metrics;
mod preview;
mod problem;
mod studio;

pub use api::{AppState, OPENAPI, ServerLimits, router};
pub use auth::token_digest;
pub use metrics::Metrics;
pub use studio::{StudioTransport, hash_password, page_weight};

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
    let stopping = Arc::clone(&state);
    let shutdown = async move {
        shutdown.await;
        stopping.begin_shutdown();
    };
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}

/// A server on its own thread and runtime, on an ephemeral 127.0.0.1 port
/// (for benchmarks and tests); dropping it stops the server after the
/// requests in flight.
pub struct Background {
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Starts serving `state`; returns once the port is bound.
    pub fn start(state: Arc<AppState>) -> std::io::Result<Background> {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (bound_tx, bound) = std::sync::mpsc::channel::<std::io::Result<std::net::SocketAddr>>();
        let thread = std::thread::Builder::new().name("tessera-serve".into()).spawn(move || {
            let started = tokio::runtime::Builder::new_multi_thread().enable_all().build().and_then(|rt| {
                let listener = rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
                Ok((rt, listener))
            });
            let (rt, listener) = match started {
                Ok(ok) => ok,
                Err(e) => return bound_tx.send(Err(e)).unwrap_or(()),
            };
            let _ = bound_tx.send(listener.local_addr());
            let _ = rt.block_on(serve(listener, state, async {
                let _ = stopped.await;
            }));
        })?;
        let addr = bound.recv().map_err(|_| std::io::Error::other("the server thread ended before binding"))??;
        Ok(Background { addr, stop: Some(stop), thread: Some(thread) })
    }

    /// Where it listens.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
