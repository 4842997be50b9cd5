//! The server's counters, exposed at `GET /metrics` in the Prometheus text
//! format: renders by tenant, channel and outcome, a latency histogram per
//! tenant, plugin uses, fuel and time by tenant and plugin, and content reloads per tenant
//! (read from the live content when scraped). Tenant and plugin ids are
//! the only labels: no record data ever reaches a metric.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    renders: BTreeMap<(String, String, String), u64>,
    latency: BTreeMap<String, Histogram>,
    plugins: BTreeMap<(String, String), PluginTotals>,
}

/// A plugin metric: name, type, help and how to read it from the totals.
type PluginSeries = (&'static str, &'static str, &'static str, fn(&PluginTotals) -> String);

#[derive(Default)]
struct PluginTotals {
    uses: u64,
    fuel: u64,
    time: Duration,
}

/// Counters shared by every request.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// One tenant's content reload counters, read when scraped.
pub(crate) struct ReloadCounts {
    pub tenant: String,
    pub reloads: u64,
    pub failures: u64,
    pub generation: u64,
}

impl Metrics {
    /// Counts one render request's outcome for `channel` (`-` when the
    /// request failed before routing).
    pub fn count(&self, tenant: &str, channel: &str, outcome: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *inner.renders.entry((tenant.to_owned(), channel.to_owned(), outcome.to_owned())).or_default() += 1;
    }

    /// Records how long a request for `tenant` took.
    pub fn observe(&self, tenant: &str, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let h = inner.latency.entry(tenant.to_owned()).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// Adds one use of a plugin for `tenant`: the fuel it spent (when it is
    /// metered per call) and the time its calls took.
    pub fn add_plugin(&self, tenant: &str, plugin: &str, fuel: Option<u64>, elapsed: Duration) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let totals = inner.plugins.entry((tenant.to_owned(), plugin.to_owned())).or_default();
        totals.uses += 1;
        totals.fuel += fuel.unwrap_or(0);
        totals.time += elapsed;
    }

    /// The exposition text.
    pub(crate) fn render(&self, reloads: &[ReloadCounts]) -> String {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        out.push_str("# HELP tessera_renders_total Render requests by tenant, channel and outcome.\n");
        out.push_str("# TYPE tessera_renders_total counter\n");
        for ((tenant, channel, outcome), n) in &inner.renders {
            let _ = writeln!(
                out,
                "tessera_renders_total{{tenant=\"{}\",channel=\"{}\",outcome=\"{}\"}} {n}",
                escape(tenant),
                escape(channel),
                escape(outcome)
            );
        }
        out.push_str("# HELP tessera_render_duration_seconds Time from request to answer.\n");
        out.push_str("# TYPE tessera_render_duration_seconds histogram\n");
        for (tenant, h) in &inner.latency {
            let t = escape(tenant);
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(out, "tessera_render_duration_seconds_bucket{{tenant=\"{t}\",le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(out, "tessera_render_duration_seconds_bucket{{tenant=\"{t}\",le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "tessera_render_duration_seconds_sum{{tenant=\"{t}\"}} {}", h.sum);
            let _ = writeln!(out, "tessera_render_duration_seconds_count{{tenant=\"{t}\"}} {}", h.count);
        }
        let plugin_series: [PluginSeries; 3] = [
            ("tessera_plugin_uses_total", "counter", "Outputs a plugin took part in.", |t| t.uses.to_string()),
            (
                "tessera_plugin_fuel_total",
                "counter",
                "Fuel spent by plugins (formatters that reuse instances are not metered per call).",
                |t| t.fuel.to_string(),
            ),
            (
                "tessera_plugin_seconds_total",
                "counter",
                "Wall-clock time in plugin calls, instantiation included.",
                |t| t.time.as_secs_f64().to_string(),
            ),
        ];
        for (name, kind, help, value) in plugin_series {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((tenant, plugin), totals) in &inner.plugins {
                let _ = writeln!(
                    out,
                    "{name}{{tenant=\"{}\",plugin=\"{}\"}} {}",
                    escape(tenant),
                    escape(plugin),
                    value(totals)
                );
            }
        }
        out.push_str("# HELP tessera_content_reloads_total Content reloads that found a change.\n");
        out.push_str("# TYPE tessera_content_reloads_total counter\n");
        for r in reloads {
            let _ = writeln!(out, "tessera_content_reloads_total{{tenant=\"{}\"}} {}", escape(&r.tenant), r.reloads);
        }
        out.push_str(
            "# HELP tessera_content_reload_errors_total Content reloads refused (the last good content stayed live).\n",
        );
        out.push_str("# TYPE tessera_content_reload_errors_total counter\n");
        for r in reloads {
            let _ =
                writeln!(out, "tessera_content_reload_errors_total{{tenant=\"{}\"}} {}", escape(&r.tenant), r.failures);
        }
        out.push_str("# HELP tessera_content_generation Content libraries swapped in since start.\n");
        out.push_str("# TYPE tessera_content_generation gauge\n");
        for r in reloads {
            let _ = writeln!(out, "tessera_content_generation{{tenant=\"{}\"}} {}", escape(&r.tenant), r.generation);
        }
        out
    }
}

/// Escapes a label value (backslash, quote, newline).
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
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
        let text = m.render(&[]);
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
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
