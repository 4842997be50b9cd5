//! `tessera bench plugin-fixture DIR`: the fresh-instance cost of any
//! plugin project, in any language — the project is built, loaded as a
//! tenant would load it, and one of its fixtures is called again and again,
//! each call in a fresh instance (as production does). Reports the median
//! over runs of each run's p50 and p99, the host's fixed cost (a fresh
//! store + instantiate, no call), fuel and peak memory per call, the
//! component's size and the time to compile it.

use crate::bench::{emit, median, percentile};
use crate::paths::Context;
use anyhow::anyhow;
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use tessera_plugin_kit::fixtures::{self, FixtureCall, TestOptions};
use tessera_plugin_kit::{Project, build};

/// What was asked.
pub struct FixtureBench<'a> {
    pub project: &'a Path,
    pub fixture: Option<&'a str>,
    pub calls: usize,
    pub runs: usize,
    pub json: bool,
}

#[derive(Serialize)]
struct Report {
    bench: &'static str,
    plugin: String,
    world: String,
    lang: String,
    fixture: String,
    component_bytes: u64,
    /// Loading the package the first time: compile (or read the cache) and link.
    load_ms: f64,
    calls: usize,
    runs: usize,
    /// Fresh instance + the call, per call: medians over runs.
    p50_us: f64,
    p99_us: f64,
    /// Fresh store + instantiate only: the fixed part of every call.
    instantiate_p50_us: f64,
    fuel_per_call: u64,
    peak_memory_bytes: u64,
}

/// Runs the bench.
pub fn run(ctx: &Context, b: &FixtureBench<'_>) -> anyhow::Result<ExitCode> {
    let dist = tempfile::tempdir()?;
    let project = Project::open(b.project)?.with_dist(dist.path())?;
    let built = build::build(&project)?;
    let runtime = ctx.runtime()?;
    let (plugin, load_ms) = fixtures::load(&runtime, &project.dir, &built.package_dir, &TestOptions::default())?;
    let call_ctx = fixtures::call_context("2026-01-01")?;
    let fixture_dir = match b.fixture {
        Some(name) => project.fixtures_dir().join(name),
        None => {
            // The first fixture that expects a result, not an error.
            let mut dirs: Vec<_> = std::fs::read_dir(project.fixtures_dir())?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir() && !p.join("expected-error.json").exists())
                .collect();
            dirs.sort();
            dirs.into_iter()
                .next()
                .ok_or_else(|| anyhow!("{} has no fixture that expects a result", project.dir.display()))?
        }
    };
    let call = FixtureCall::read(plugin.kind(), plugin.id(), &fixture_dir)?;
    let usage = call.call(&plugin, &call_ctx).map_err(|e| anyhow!("the fixture's call fails: {e}"))?;
    for _ in 0..b.calls.min(200) {
        call.call(&plugin, &call_ctx).map_err(|e| anyhow!("{e}"))?;
    }
    let (mut p50s, mut p99s, mut inst) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..b.runs {
        let mut times = Vec::with_capacity(b.calls);
        for _ in 0..b.calls {
            let t = Instant::now();
            call.call(&plugin, &call_ctx).map_err(|e| anyhow!("{e}"))?;
            times.push(t.elapsed());
        }
        times.sort();
        p50s.push(percentile(&times, 0.50));
        p99s.push(percentile(&times, 0.99));
        let mut only = Vec::with_capacity(b.calls);
        for _ in 0..b.calls {
            only.push(plugin.instantiate_only(&call_ctx).map_err(|e| anyhow!("{e}"))?);
        }
        only.sort();
        inst.push(percentile(&only, 0.50));
    }
    let report = Report {
        bench: "plugin-fixture",
        plugin: plugin.name().to_owned(),
        world: plugin.world().to_string(),
        lang: project.lang.to_string(),
        fixture: fixture_dir.file_name().unwrap_or_default().to_string_lossy().into_owned(),
        component_bytes: built.size,
        load_ms,
        calls: b.calls,
        runs: b.runs,
        p50_us: median(p50s),
        p99_us: median(p99s),
        instantiate_p50_us: median(inst),
        fuel_per_call: usage.fuel,
        peak_memory_bytes: usage.peak_memory,
    };
    emit(b.json, &report, || {
        format!(
            "plugin-fixture: {} ({}, {}), fixture {}: {} × {} calls, each in a fresh instance\n  component {:.1} MiB, first load {:.0} ms\n  instantiate + call   p50 {:.1} µs   p99 {:.1} µs   ({} fuel, {} KiB peak memory per call)\n  instantiate only     p50 {:.1} µs",
            report.plugin,
            report.lang,
            report.world,
            report.fixture,
            report.runs,
            report.calls,
            report.component_bytes as f64 / (1 << 20) as f64,
            report.load_ms,
            report.p50_us,
            report.p99_us,
            report.fuel_per_call,
            report.peak_memory_bytes >> 10,
            report.instantiate_p50_us,
        )
    })?;
    Ok(ExitCode::SUCCESS)
}
