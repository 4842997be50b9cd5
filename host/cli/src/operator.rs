//! What an operator sees of a batch run: a one-line progress bar on a
//! terminal (records/s, ETA from the share of the source read) and a
//! one-screen summary at the end. Scripts use `--json` instead.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::path::Path;
use tessera_pipeline::{Progress, Report, Stage, StageSummary};

/// The progress line on stderr: drawn only when stderr is a terminal, at
/// most 20 times a second however often the workers report.
pub struct ProgressLine {
    bar: ProgressBar,
}

impl ProgressLine {
    /// A progress line that draws only on a terminal.
    pub fn on_terminal() -> ProgressLine {
        // The bar is the share of the source read: records have no total
        // until the translator has seen them all, bytes do.
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{bar:28} {percent:>3}%  {msg}  ETA {eta}")
            .expect("the template's keys are indicatif's")
            .progress_chars("█·");
        bar.set_style(style);
        ProgressLine { bar }
    }

    /// Moves the bar and rewrites the counts.
    pub fn update(&self, p: &Progress) {
        self.update_with(p, "");
    }

    /// [`Self::update`] with more to say after the counts (a cluster
    /// run's shards and workers).
    pub fn update_with(&self, p: &Progress, more: &str) {
        let secs = p.elapsed.as_secs_f64().max(1e-3);
        let rate = (p.records - p.resumed_at) as f64 / secs;
        self.bar.set_length(p.bytes_total);
        self.bar.set_position(p.bytes_read);
        self.bar.set_message(format!("{} records  {} rejected  {rate:.0}/s{more}", p.records, p.rejected));
    }

    /// Clears the line before the summary is printed.
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Translate => "translate",
        Stage::Validate => "validate",
        Stage::Route => "route",
        Stage::Compose => "compose",
        Stage::Format => "format",
        Stage::Write => "write",
        Stage::Verify => "verify",
    }
}

fn latency(name: &str, s: &StageSummary) -> Option<String> {
    (s.count > 0).then(|| format!("{name} {:.0}/{:.0} µs", s.p50_us, s.p99_us))
}

/// The one-screen summary of a run.
pub fn summary(r: &Report, out: &Path) -> String {
    let mut text = String::new();
    let mut line = |s: String| {
        text.push_str(&s);
        text.push('\n');
    };
    line(format!("{}: {} → {}", r.tenant, r.input, out.display()));
    line(format!(
        "  {} records in = {} delivered + {} rejected  {}",
        r.records_in,
        r.delivered,
        r.rejected,
        if r.balanced { "✓ balanced" } else { "✗ DOES NOT BALANCE" }
    ));
    if let Some(at) = r.resumed_at {
        line(format!("  resumed after record {at} of an interrupted run"));
    }
    let channels: Vec<String> = r.outputs_by_channel.iter().map(|(c, n)| format!("{n} {c}")).collect();
    line(format!("  outputs: {}", if channels.is_empty() { "none".into() } else { channels.join(", ") }));
    line(format!(
        "  {:.2} s, {:.0} documents/s on {} worker thread{}, {} fuel",
        r.timings.total_ms / 1000.0,
        r.docs_per_sec,
        r.threads,
        if r.threads == 1 { "" } else { "s" },
        r.fuel
    ));
    let s = &r.stages;
    let stages: Vec<String> = [
        latency("translate", &s.translate),
        latency("validate", &s.validate),
        latency("compose", &s.compose),
        latency("format", &s.format),
        latency("write", &s.write),
        latency("self-check", &s.verify),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !stages.is_empty() {
        line(format!("  p50/p99 per record: {}", stages.join(", ")));
    }
    let views: Vec<String> = r.documents_by_view.iter().map(|(v, n)| format!("{v} {n}")).collect();
    let revisions: Vec<&str> = r.content_revisions.iter().map(String::as_str).collect();
    line(format!("  content {}", if revisions.is_empty() { "-".into() } else { revisions.join(", ") }));
    if !views.is_empty() {
        line(format!("  documents by label/locale: {}", views.join(", ")));
    }
    if !r.warnings.is_empty() {
        let warnings: Vec<String> = r.warnings.iter().map(|(code, n)| format!("{n} {code}")).collect();
        line(format!("  delivered with warnings (see manifest.jsonl): {}", warnings.join(", ")));
    }
    if r.rejected > 0 {
        let mut by_stage: BTreeMap<&str, usize> = BTreeMap::new();
        for rej in &r.rejections {
            *by_stage.entry(stage_name(rej.stage)).or_default() += 1;
        }
        const SHOWN: usize = 8;
        for rej in r.rejections.iter().take(SHOWN) {
            let who = rej
                .document_id
                .clone()
                .or_else(|| rej.source.as_ref().map(|s| s.to_string()))
                .unwrap_or_else(|| "(no reference)".into());
            line(format!("  rejected {who} at {}: {}", stage_name(rej.stage), rej.reason));
        }
        if r.rejected as usize > SHOWN {
            line(format!("  … {} more in {}", r.rejected as usize - SHOWN, out.join("rejected.jsonl").display()));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_fits_on_one_screen_and_names_the_rejections_file() {
        let rejection = tessera_pipeline::Rejection {
            record: None,
            document_id: Some("INV-1".into()),
            source: None,
            stage: Stage::Validate,
            field: None,
            rule: None,
            plugin: None,
            limit: None,
            reason: "why".into(),
        };
        let report: Report = serde_json::from_value(serde_json::json!({
            "tenant": "t", "input": "in.csv", "translator": "x@1", "as_of": "2026-11-01",
            "records_in": 30, "delivered": 10, "rejected": 20, "outputs": 10,
            "outputs_by_channel": {"html": 10}, "documents_by_view": {"acme/en": 10},
            "content_revisions": ["worktree:abc"], "balanced": true, "fuel": 5, "threads": 2,
            "rejections": vec![serde_json::to_value(&rejection).unwrap(); 20],
            "timings": {"translate_ms": 1.0, "validate_ms": 1.0, "compose_ms": 1.0, "format_ms": 0.0, "write_ms": 1.0, "total_ms": 10.0},
            "stages": serde_json::to_value(tessera_pipeline::StageLatency::default()).unwrap(),
            "docs_per_sec": 1000.0
        }))
        .unwrap();
        let text = summary(&report, Path::new("out"));
        assert!(text.lines().count() <= 24, "{text}");
        assert!(text.contains("30 records in = 10 delivered + 20 rejected  ✓ balanced"), "{text}");
        assert!(text.contains("… 12 more in out/rejected.jsonl"), "{text}");
    }
}
