//! `tessera bench serve`: a bounded load test of the render API on
//! loopback. It starts the server in this process (sample tenants, default
//! limits) on an ephemeral 127.0.0.1 port, then for 2, 8 and 32 keep-alive
//! connections posts the sample HTML render for a fixed time and stops by
//! itself. The load generator shares the machine's cores with the server,
//! so the figures are conservative. `rps` counts 200 answers only; `busy`
//! counts the 503s of back-pressure, `errors` every other failure.

use crate::bench::{emit, percentile};
use crate::paths::{Context, samples_dir};
use anyhow::{Context as _, anyhow, ensure};
use serde::Serialize;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_pipeline::LoadedTenant;
use tessera_server::{AppState, Background, ServerLimits};

const CONNECTIONS: [usize; 3] = [2, 8, 32];
const TARGET_RPS: f64 = 3000.0;
const TARGET_P99_MS: f64 = 20.0;
const TOKEN: &str = "acme-demo-token";

#[derive(Serialize)]
struct Level {
    connections: usize,
    requests: usize,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    busy: usize,
    errors: usize,
}

#[derive(Serialize)]
struct ServeReport {
    bench: &'static str,
    seconds_per_level: f64,
    slots: usize,
    levels: Vec<Level>,
    /// The 8-connection level's figures.
    rps: f64,
    p99_ms: f64,
    errors: usize,
    target_rps: f64,
    target_p99_ms: f64,
}

/// Runs the bench.
pub fn run(ctx: &Context, seconds: f64, json: bool) -> anyhow::Result<ExitCode> {
    let runtime = ctx.runtime()?;
    let samples = samples_dir(None);
    let loaded = Arc::new(LoadedTenant::load(&runtime, &samples.join("acme-energy"), &ctx.plugin_roots)?);
    let body = std::fs::read_to_string(samples.join("acme-energy/requests/render-invoice.json"))
        .context("reading the sample render request")?;
    let limits = ServerLimits::default();
    let slots = limits.slots;
    let state = Arc::new(AppState::new(vec![loaded], limits).map_err(|e| anyhow!(e))?);
    let server = Background::start(state).context("starting the bench server")?;
    let url = format!("http://{}/v1/tenants/acme-energy/render", server.addr());

    // Warm up: compile caches, Tera, the plugin instances.
    let warm = load(&url, &body, 2, Duration::from_millis(500));
    ensure!(warm.ok > 0, "the server rendered nothing while warming up ({} errors)", warm.errors);
    let duration = Duration::from_secs_f64(seconds.max(0.5));
    let mut levels = Vec::new();
    for connections in CONNECTIONS {
        let mut r = load(&url, &body, connections, duration);
        r.latencies.sort();
        levels.push(Level {
            connections,
            requests: r.ok + r.busy + r.errors,
            rps: r.ok as f64 / r.elapsed.as_secs_f64(),
            p50_ms: percentile(&r.latencies, 0.50) / 1e3,
            p99_ms: percentile(&r.latencies, 0.99) / 1e3,
            busy: r.busy,
            errors: r.errors,
        });
    }
    drop(server);
    let eight = levels.iter().find(|l| l.connections == 8).ok_or_else(|| anyhow!("no 8-connection level"))?;
    let report = ServeReport {
        bench: "serve",
        seconds_per_level: duration.as_secs_f64(),
        slots,
        rps: eight.rps,
        p99_ms: eight.p99_ms,
        errors: eight.errors,
        levels,
        target_rps: TARGET_RPS,
        target_p99_ms: TARGET_P99_MS,
    };
    emit(json, &report, || {
        let mut text = format!(
            "serve: HTML renders of the sample invoice over loopback, {:.0} s per level, {} render slots\n",
            report.seconds_per_level, report.slots
        );
        for l in &report.levels {
            text.push_str(&format!(
                "  {:>2} connections: {:>6.0} rps, p50 {:.2} ms, p99 {:.2} ms, {} busy (503), {} errors\n",
                l.connections, l.rps, l.p50_ms, l.p99_ms, l.busy, l.errors
            ));
        }
        text.push_str(&format!(
            "  target at 8 connections: ≥ {TARGET_RPS:.0} rps at p99 ≤ {TARGET_P99_MS:.0} ms, 0 errors"
        ));
        text
    })?;
    Ok(ExitCode::SUCCESS)
}

struct LoadResult {
    ok: usize,
    busy: usize,
    errors: usize,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

/// `connections` threads, each with its own keep-alive connection, posting
/// `body` until `duration` is over.
fn load(url: &str, body: &str, connections: usize, duration: Duration) -> LoadResult {
    let started = Instant::now();
    let deadline = started + duration;
    let results: Vec<LoadResult> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..connections)
            .map(|_| {
                scope.spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .timeout_global(Some(Duration::from_secs(10)))
                        .build()
                        .into();
                    let mut r =
                        LoadResult { ok: 0, busy: 0, errors: 0, latencies: Vec::new(), elapsed: Duration::ZERO };
                    while Instant::now() < deadline {
                        let t0 = Instant::now();
                        let answer = agent
                            .post(url)
                            .header("authorization", format!("Bearer {TOKEN}"))
                            .header("content-type", "application/json")
                            .send(body)
                            .and_then(|mut a| a.body_mut().read_to_vec().map(|b| (a.status().as_u16(), b.len())));
                        match answer {
                            Ok((200, len)) if len > 0 => {
                                r.ok += 1;
                                r.latencies.push(t0.elapsed());
                            }
                            Ok((503, _)) => r.busy += 1,
                            _ => r.errors += 1,
                        }
                    }
                    r
                })
            })
            .collect();
        workers.into_iter().filter_map(|w| w.join().ok()).collect()
    });
    let elapsed = started.elapsed();
    let mut all = LoadResult { ok: 0, busy: 0, errors: 0, latencies: Vec::new(), elapsed };
    for r in results {
        all.ok += r.ok;
        all.busy += r.busy;
        all.errors += r.errors;
        all.latencies.extend(r.latencies);
    }
    all
}
