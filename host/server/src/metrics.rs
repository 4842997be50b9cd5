//! The server's counters, exposed at `GET /metrics` in the Prometheus text
//! format (prometheus-client's encoder): renders by tenant, channel and
//! outcome, a latency histogram per tenant, plugin uses, fuel and time by
//! tenant and plugin, and content reloads per tenant (read from the live
//! content when scraped). Tenant and plugin ids are the only labels: no
//! record data ever reaches a metric.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RenderLabels {
    tenant: String,
    channel: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabels {
    tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabels {
    tenant: String,
    plugin: String,
}

type LatencyFamily = Family<TenantLabels, Histogram, fn() -> Histogram>;

/// Counters shared by every request; each series is its own atomic, so
/// requests never wait on one another to count.
pub struct Metrics {
    registry: Registry,
    renders: Family<RenderLabels, Counter>,
    latency: LatencyFamily,
    plugin_uses: Family<PluginLabels, Counter>,
    plugin_fuel: Family<PluginLabels, Counter>,
    plugin_seconds: Family<PluginLabels, Counter<f64, AtomicU64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let renders = Family::default();
        let latency: LatencyFamily = Family::new_with_constructor(|| Histogram::new(BUCKETS));
        let plugin_uses = Family::default();
        let plugin_fuel = Family::default();
        let plugin_seconds = Family::default();
        let mut registry = Registry::default();
        registry.register("tessera_renders", "Render requests by tenant, channel and outcome", renders.clone());
        registry.register("tessera_render_duration_seconds", "Time from request to answer", latency.clone());
        registry.register("tessera_plugin_uses", "Outputs a plugin took part in", plugin_uses.clone());
        registry.register(
            "tessera_plugin_fuel",
            "Fuel spent by plugins (formatters that reuse instances are not metered per call)",
            plugin_fuel.clone(),
        );
        registry.register(
            "tessera_plugin_seconds",
            "Wall-clock time in plugin calls, instantiation included",
            plugin_seconds.clone(),
        );
        Metrics { registry, renders, latency, plugin_uses, plugin_fuel, plugin_seconds }
    }
}

/// One tenant's content reload counters, read when scraped.
#[derive(Debug)]
pub(crate) struct ReloadCounts {
    pub tenant: String,
    pub reloads: u64,
    pub failures: u64,
    pub generation: u64,
}

/// A reload counter: name, help and how to read it from the counts.
type ReloadSeries = (&'static str, &'static str, fn(&ReloadCounts) -> u64);

/// The reload counters of one scrape: they live in each tenant's content,
/// so they are read then, not counted here.
#[derive(Debug)]
struct ReloadCollector(Vec<ReloadCounts>);

impl Collector for ReloadCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let series: [ReloadSeries; 2] = [
            ("tessera_content_reloads", "Content reloads that found a change", |r| r.reloads),
            ("tessera_content_reload_errors", "Content reloads refused (the last good content stayed live)", |r| {
                r.failures
            }),
        ];
        for (name, help, value) in series {
            let mut metric = encoder.encode_descriptor(name, help, None, ConstCounter::new(0u64).metric_type())?;
            for r in &self.0 {
                let labels = TenantLabels { tenant: r.tenant.clone() };
                ConstCounter::new(value(r)).encode(metric.encode_family(&labels)?)?;
            }
        }
        let generation = ConstGauge::new(0i64);
        let mut metric = encoder.encode_descriptor(
            "tessera_content_generation",
            "Content libraries swapped in since start",
            None,
            generation.metric_type(),
        )?;
        for r in &self.0 {
            let labels = TenantLabels { tenant: r.tenant.clone() };
            let value = i64::try_from(r.generation).unwrap_or(i64::MAX);
            ConstGauge::new(value).encode(metric.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

impl Metrics {
    /// Counts one render request's outcome for `channel` (`-` when the
    /// request failed before routing).
    pub fn count(&self, tenant: &str, channel: &str, outcome: &str) {
        let labels =
            RenderLabels { tenant: tenant.to_owned(), channel: channel.to_owned(), outcome: outcome.to_owned() };
        self.renders.get_or_create(&labels).inc();
    }

    /// Records how long a request for `tenant` took.
    pub fn observe(&self, tenant: &str, elapsed: Duration) {
        self.latency.get_or_create(&TenantLabels { tenant: tenant.to_owned() }).observe(elapsed.as_secs_f64());
    }

    /// Adds one use of a plugin for `tenant`: the fuel it spent (when it is
    /// metered per call) and the time its calls took.
    pub fn add_plugin(&self, tenant: &str, plugin: &str, fuel: Option<u64>, elapsed: Duration) {
        let labels = PluginLabels { tenant: tenant.to_owned(), plugin: plugin.to_owned() };
        self.plugin_uses.get_or_create(&labels).inc();
        self.plugin_fuel.get_or_create(&labels).inc_by(fuel.unwrap_or(0));
        self.plugin_seconds.get_or_create(&labels).inc_by(elapsed.as_secs_f64());
    }

    /// The exposition text (Prometheus text format 0.0.4, [`CONTENT_TYPE`]).
    pub(crate) fn render(&self, reloads: Vec<ReloadCounts>) -> String {
        let mut out = String::new();
        let mut scrape = Registry::default();
        scrape.register_collector(Box::new(ReloadCollector(reloads)));
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &scrape);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_counts_and_buckets() {
        let m = Metrics::default();
        m.count("acme", "html", "ok");
        m.count("acme", "html", "ok");
        m.observe("acme", Duration::from_millis(3));
        m.add_plugin("acme", "payment-qr", Some(1200), Duration::from_millis(2));
        m.add_plugin("acme", "payment-qr", None, Duration::from_millis(3));
        let text = m.render(Vec::new());
        assert!(text.contains("tessera_plugin_uses_total{tenant=\"acme\",plugin=\"payment-qr\"} 2"), "{text}");
        assert!(text.contains("tessera_plugin_fuel_total{tenant=\"acme\",plugin=\"payment-qr\"} 1200"), "{text}");
        assert!(text.contains("tessera_plugin_seconds_total{tenant=\"acme\",plugin=\"payment-qr\"} 0.005"), "{text}");
        assert!(text.contains("tessera_renders_total{tenant=\"acme\",channel=\"html\",outcome=\"ok\"} 2"), "{text}");
        assert!(text.contains("tessera_render_duration_seconds_bucket{tenant=\"acme\",le=\"0.0025\"} 0"), "{text}");
        assert!(text.contains("tessera_render_duration_seconds_bucket{tenant=\"acme\",le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("tessera_render_duration_seconds_count{tenant=\"acme\"} 1"), "{text}");
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::default();
        m.count("a\"b\\c\nd", "html", "ok");
        let text = m.render(Vec::new());
        assert!(text.contains(r#"tenant="a\"b\\c\nd""#), "{text}");
    }

    #[test]
    fn reload_counters_are_read_at_scrape() {
        let m = Metrics::default();
        let counts = ReloadCounts { tenant: "acme".into(), reloads: 3, failures: 1, generation: 4 };
        let text = m.render(vec![counts]);
        assert!(text.contains("tessera_content_reloads_total{tenant=\"acme\"} 3"), "{text}");
        assert!(text.contains("tessera_content_reload_errors_total{tenant=\"acme\"} 1"), "{text}");
        assert!(text.contains("tessera_content_generation{tenant=\"acme\"} 4"), "{text}");
        assert!(text.contains("# TYPE tessera_content_generation gauge"), "{text}");
    }
}
