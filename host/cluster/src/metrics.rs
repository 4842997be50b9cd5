//! A worker's counters, served at `GET /metrics` (Prometheus text format,
//! prometheus-client's encoder) when the worker is given `--metrics-addr`:
//! shards rendered and refused, shards that came to it after an earlier
//! delivery (a worker died or refused), documents, result bytes, render and
//! store time, shards in hand. The tenant id is the only label: no record
//! data ever reaches a metric.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Duration;

pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Upper bounds of the time buckets, in seconds (a shard of a few MiB
/// renders in about a second on one core).
const BUCKETS: [f64; 11] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabels {
    tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShardLabels {
    tenant: String,
    outcome: &'static str,
}

type TimeFamily = Family<TenantLabels, Histogram, fn() -> Histogram>;

/// How a shard this worker took ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardOutcome {
    /// Rendered, its result stored and the shard acked.
    Rendered,
    /// Handed back for another worker (with a note saying why).
    Refused,
}

/// A worker's counters; every series is its own atomic.
pub struct WorkerMetrics {
    registry: Registry,
    shards: Family<ShardLabels, Counter>,
    redeliveries: Family<TenantLabels, Counter>,
    documents: Family<TenantLabels, Counter>,
    result_bytes: Family<TenantLabels, Counter>,
    render_seconds: TimeFamily,
    store_seconds: TimeFamily,
    in_hand: Gauge,
}

fn time_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

impl Default for WorkerMetrics {
    fn default() -> Self {
        let shards = Family::default();
        let redeliveries = Family::default();
        let documents = Family::default();
        let result_bytes = Family::default();
        let render_seconds: TimeFamily = Family::new_with_constructor(time_histogram);
        let store_seconds: TimeFamily = Family::new_with_constructor(time_histogram);
        let in_hand = Gauge::default();
        let mut registry = Registry::default();
        registry.register("tessera_worker_shards", "Shards this worker finished, by outcome", shards.clone());
        registry.register(
            "tessera_worker_redeliveries",
            "Shards this worker took that had been delivered before (a worker died, stalled or refused)",
            redeliveries.clone(),
        );
        registry.register(
            "tessera_worker_documents",
            "Source records in the shards this worker rendered (documents and rejections)",
            documents.clone(),
        );
        registry.register("tessera_worker_result_bytes", "Bytes of result frames stored", result_bytes.clone());
        registry.register(
            "tessera_worker_render_duration_seconds",
            "Time to render a shard: read its bytes, translate, compose, encode the result",
            render_seconds.clone(),
        );
        registry.register(
            "tessera_worker_store_duration_seconds",
            "Time to store a shard's result and have its notice acknowledged",
            store_seconds.clone(),
        );
        registry.register("tessera_worker_shards_in_hand", "Shards taken and not yet finished", in_hand.clone());
        WorkerMetrics {
            registry,
            shards,
            redeliveries,
            documents,
            result_bytes,
            render_seconds,
            store_seconds,
            in_hand,
        }
    }
}

fn tenant(tenant: &str) -> TenantLabels {
    TenantLabels { tenant: tenant.to_owned() }
}

impl WorkerMetrics {
    /// A shard was taken; `delivered` is how often the server has handed it out.
    pub fn taken(&self, tenant_id: &str, delivered: i64) {
        self.in_hand.inc();
        if delivered > 1 {
            self.redeliveries.get_or_create(&tenant(tenant_id)).inc();
        }
    }

    /// A shard taken earlier ended.
    pub fn finished(&self, tenant_id: &str, outcome: ShardOutcome) {
        self.in_hand.dec();
        let outcome = match outcome {
            ShardOutcome::Rendered => "rendered",
            ShardOutcome::Refused => "refused",
        };
        self.shards.get_or_create(&ShardLabels { tenant: tenant_id.to_owned(), outcome }).inc();
    }

    /// A shard of `documents` records rendered into a frame of `bytes` in `elapsed`.
    pub fn rendered(&self, tenant_id: &str, documents: u64, bytes: u64, elapsed: Duration) {
        let labels = tenant(tenant_id);
        self.documents.get_or_create(&labels).inc_by(documents);
        self.result_bytes.get_or_create(&labels).inc_by(bytes);
        self.render_seconds.get_or_create(&labels).observe(elapsed.as_secs_f64());
    }

    /// A result stored (and its notice acknowledged) in `elapsed`.
    pub fn stored(&self, tenant_id: &str, elapsed: Duration) {
        self.store_seconds.get_or_create(&tenant(tenant_id)).observe(elapsed.as_secs_f64());
    }

    /// The exposition text (Prometheus text format 0.0.4, [`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// Serves `GET /metrics` (and `GET /healthz`) on `listener` until the
/// runtime ends.
pub(crate) async fn serve(
    listener: std::net::TcpListener,
    metrics: std::sync::Arc<WorkerMetrics>,
) -> std::io::Result<()> {
    use axum::http::header;
    use axum::routing::get;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let metrics = std::sync::Arc::clone(&metrics);
                async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render()) }
            }),
        )
        .route("/healthz", get(|| async { "ok\n" }));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("the metrics endpoint stopped: {e}");
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_redeliveries_and_times_are_counted_per_tenant() {
        let m = WorkerMetrics::default();
        m.taken("acme", 1);
        m.taken("acme", 3);
        m.rendered("acme", 250, 4096, Duration::from_millis(70));
        m.stored("acme", Duration::from_millis(3));
        m.finished("acme", ShardOutcome::Rendered);
        m.finished("acme", ShardOutcome::Refused);
        m.taken("nw", 1);
        let text = m.render();
        for line in [
            "tessera_worker_shards_total{tenant=\"acme\",outcome=\"rendered\"} 1",
            "tessera_worker_shards_total{tenant=\"acme\",outcome=\"refused\"} 1",
            "tessera_worker_redeliveries_total{tenant=\"acme\"} 1",
            "tessera_worker_documents_total{tenant=\"acme\"} 250",
            "tessera_worker_result_bytes_total{tenant=\"acme\"} 4096",
            "tessera_worker_render_duration_seconds_bucket{tenant=\"acme\",le=\"0.05\"} 0",
            "tessera_worker_render_duration_seconds_bucket{tenant=\"acme\",le=\"0.1\"} 1",
            "tessera_worker_render_duration_seconds_count{tenant=\"acme\"} 1",
            "tessera_worker_store_duration_seconds_count{tenant=\"acme\"} 1",
            "tessera_worker_shards_in_hand 1",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
        assert!(!text.contains("tessera_worker_redeliveries_total{tenant=\"nw\"}"), "{text}");
    }
}
