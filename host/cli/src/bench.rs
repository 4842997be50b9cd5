//! `tessera bench …`: performance checks on this machine. Human output by
//! default, one JSON object with `--json`. Figures are medians over several
//! runs, because the machines here are shared and noisy.

use crate::paths::{Context, samples_dir};
use anyhow::{Context as _, anyhow};
use clap::Subcommand;
use serde::Serialize;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_pipeline::{BatchJob, LoadedTenant, parse_as_of, run_batch};
use tessera_runtime::CallContext;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Warm fresh-instance instantiate+call of the payment-qr fragment, and
    /// the demo tenant's documents/s through the whole pipeline.
    PluginCall {
        /// Calls per run.
        #[arg(long, default_value_t = 10_000)]
        calls: usize,
        /// Runs (the report gives medians).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Invoices generated for the pipeline throughput run.
        #[arg(long, default_value_t = 2_000)]
        docs: usize,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The whole batch pipeline on generated invoices: documents/s,
    /// per-stage p50/p99, peak RSS.
    Batch {
        /// Sample tenant (acme-energy: euro invoices with a payment QR code;
        /// northwind-telecom: pound invoices, no QR code).
        #[arg(long, default_value = "acme-energy")]
        tenant: String,
        /// Invoices to generate.
        #[arg(long, default_value_t = 100_000)]
        records: usize,
        /// Runs (the report gives the median).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// KiB per shard (default 4096; 0 translates the source whole, on one thread).
        #[arg(long)]
        shard_kib: Option<u64>,
        /// Where the outputs go: `dir` (block sub-folders) or `zip` (one ZIP per block and channel).
        #[arg(long, value_enum, default_value = "dir")]
        sink: crate::SinkArg,
        /// Channels every document goes to, comma-separated (the tenant's
        /// channel names; `html,lines` adds ACME's print-asa line data).
        #[arg(long, value_delimiter = ',', default_value = "html")]
        channels: Vec<String>,
        /// Folder the source and the runs' outputs are written under
        /// (default: the system's temporary folder). Its file system is
        /// part of what a dir-sink run measures.
        #[arg(long)]
        work_dir: Option<std::path::PathBuf>,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// A cluster run against a local one: `tessera worker` processes on a
    /// NATS server of our own (all on this machine, loopback), documents/s
    /// for each worker count, and a worker killed mid-run.
    Cluster {
        /// Sample tenant.
        #[arg(long, default_value = "acme-energy")]
        tenant: String,
        /// Invoices to generate.
        #[arg(long, default_value_t = 20_000)]
        records: usize,
        /// Runs per figure (the report gives the median).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Worker counts, comma-separated (a local run gets as many threads).
        #[arg(long, value_delimiter = ',', default_value = "1,2")]
        workers: Vec<usize>,
        /// KiB per shard, for both runs (default 4096).
        #[arg(long)]
        shard_kib: Option<u64>,
        /// Where the outputs go: `dir` or `zip`.
        #[arg(long, value_enum, default_value = "zip")]
        sink: crate::SinkArg,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// One-page print letters through the sandboxed Typst formatter:
    /// PDF/s, per-letter p50/p99, and the sandbox's cost against native.
    Pdf {
        /// Letters to generate.
        #[arg(long, default_value_t = 10_000)]
        records: usize,
        /// Runs (the report gives the median).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// Letters in the sandbox/native comparison.
        #[arg(long, default_value_t = 300)]
        sample: usize,
        /// Skip the native comparison (it builds the formatter natively the first time).
        #[arg(long)]
        no_native: bool,
        /// Keep the sample letters' print markup in this folder.
        #[arg(long)]
        keep_markup: Option<std::path::PathBuf>,
        /// Skip the print-spool runs (ACME's `post` channel).
        #[arg(long)]
        no_spools: bool,
        /// Also make the letters as single PDFs with typst-pdf (the `archive` channel).
        #[arg(long)]
        typst: bool,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// A bounded load test of `tessera serve` on loopback: HTML renders/s and
    /// p50/p99 latency at 2, 8 and 32 connections.
    Serve {
        /// Seconds of load per connection count.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Fresh-instance call cost of any plugin project (Rust, Python or
    /// JavaScript): builds it and calls one of its fixtures repeatedly.
    PluginFixture {
        /// The plugin project folder.
        project: std::path::PathBuf,
        /// Which fixture (default: the first by name that expects a result, not an error).
        #[arg(long)]
        fixture: Option<String>,
        /// Calls per run.
        #[arg(long, default_value_t = 2_000)]
        calls: usize,
        /// Runs (the report gives medians).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// EN 16931 e-invoices per second: CII and UBL XML, Factur-X PDFs.
    Einvoice {
        /// Invoices per run.
        #[arg(long, default_value_t = 500)]
        records: usize,
        /// Runs (the report gives medians).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Content studio: approval-to-live latency in a serving server.
    Approve {
        /// Approvals per run.
        #[arg(long, default_value_t = 10)]
        approvals: usize,
        /// Runs (the report gives medians).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Hot reload: save-to-live latency while rendering continuously.
    Reload {
        /// Good saves per run (one broken save is added per nine good ones).
        #[arg(long, default_value_t = 200)]
        saves: usize,
        /// Runs (the report gives medians).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(ctx: &Context, cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::PluginCall { calls, runs, docs, json } => plugin_call(ctx, calls, runs.max(1), docs, json),
        BenchCommand::Batch { tenant, records, runs, threads, shard_kib, sink, channels, work_dir, json } => {
            crate::bench_batch::run(
                ctx,
                &crate::bench_batch::BatchBench {
                    tenant,
                    records: records.max(1),
                    runs: runs.max(1),
                    threads,
                    shard_bytes: shard_kib.map(|k| k * 1024),
                    sink: sink.into(),
                    channels,
                    work_dir,
                    json,
                },
            )
        }
        BenchCommand::Cluster { tenant, records, runs, workers, shard_kib, sink, json } => crate::bench_cluster::run(
            ctx,
            &crate::bench_cluster::ClusterBench {
                tenant,
                records: records.max(1),
                runs: runs.max(1),
                workers: workers.into_iter().filter(|w| *w > 0).collect(),
                shard_bytes: shard_kib.map(|k| k * 1024),
                sink: sink.into(),
                json,
            },
        ),
        BenchCommand::Pdf { records, runs, threads, sample, no_native, keep_markup, no_spools, typst, json } => {
            crate::bench_pdf::run(
                ctx,
                &crate::bench_pdf::PdfBench {
                    records: records.max(1),
                    runs: runs.max(1),
                    threads,
                    sample: sample.max(1),
                    native: !no_native,
                    keep_markup,
                    spools: !no_spools,
                    typst,
                    json,
                },
            )
        }
        BenchCommand::Serve { seconds, json } => crate::bench_serve::run(ctx, seconds, json),
        BenchCommand::PluginFixture { project, fixture, calls, runs, json } => crate::bench_fixture::run(
            ctx,
            &crate::bench_fixture::FixtureBench {
                project: &project,
                fixture: fixture.as_deref(),
                calls: calls.max(1),
                runs: runs.max(1),
                json,
            },
        ),
        BenchCommand::Reload { saves, runs, json } => crate::bench_reload::run(ctx, saves.max(1), runs.max(1), json),
        BenchCommand::Einvoice { records, runs, json } => {
            crate::bench_einvoice::run(ctx, records.max(1), runs.max(1), json)
        }
        BenchCommand::Approve { approvals, runs, json } => {
            crate::bench_approve::run(ctx, approvals.max(1), runs.max(1), json)
        }
    }
}

#[derive(Serialize)]
struct PluginCallReport {
    bench: &'static str,
    plugin: String,
    calls: usize,
    runs: usize,
    /// Instantiate + render, per call: medians over runs of each run's percentile.
    p50_us: f64,
    p99_us: f64,
    /// Fresh store + instantiate only (the host's fixed cost per call).
    instantiate_p50_us: f64,
    instantiate_p99_us: f64,
    /// Fuel one render uses.
    fuel_per_call: u64,
    /// The largest linear memory one render's instance reached, in bytes.
    peak_memory_bytes: u64,
    allocation: String,
    /// Whole pipeline (translate, compose with payment-qr, HTML + print-asa, write), median over runs.
    html_docs_per_sec: f64,
    pipeline_docs: usize,
    /// Per document, in the median run: where the pipeline's time goes.
    pipeline_ms_per_doc: StageMs,
    target_p50_us: f64,
    target_p99_us: f64,
}

#[derive(Serialize, Clone, Copy)]
struct StageMs {
    translate: f64,
    compose: f64,
    format: f64,
    write: f64,
}

/// The `p` quantile (nearest rank) of sorted durations, in microseconds.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx].as_secs_f64() * 1e6
}

/// The median of per-run figures (NaN when there are none).
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Prints a bench report: one JSON object with `--json`, else the text.
pub(crate) fn emit<T: Serialize>(json: bool, report: &T, text: impl FnOnce() -> String) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(report)?);
    } else {
        println!("{}", text());
    }
    Ok(())
}

fn plugin_call(ctx: &Context, calls: usize, runs: usize, docs: usize, json: bool) -> anyhow::Result<ExitCode> {
    let runtime = ctx.runtime()?;
    let tenant_dir = samples_dir(None).join("acme-energy");
    let loaded = LoadedTenant::load(&runtime, &tenant_dir, &ctx.plugin_roots)?;
    let plugin = loaded.plugins.get("payment-qr").ok_or_else(|| anyhow!("acme-energy does not grant payment-qr"))?;
    let library = loaded.content.current();
    let label = library.label("acme").ok_or_else(|| anyhow!("no label acme"))?;
    let payment = label.payment.clone().ok_or_else(|| anyhow!("label acme has no payment account"))?;
    let call = CallContext { as_of: Arc::from("2026-11-01"), as_of_unix: parse_as_of("2026-11-01")?, seed: 7 };
    let params = vec![("creditor".to_owned(), payment.creditor.clone()), ("iban".to_owned(), payment.iban.clone())];
    let context = r#"{"cdm":"1.0","reference":{"customer_ref":"C-1","document_id":"INV-1"},"content":{"payment":{"amount":"123.45","currency":"EUR","reference":"RF18539007547034","credit":false}}}"#;

    let (_, usage) = plugin.render(&call, "payment-qr", &params, context).map_err(|e| anyhow!("{e}"))?;
    for _ in 0..500 {
        plugin.render(&call, "payment-qr", &params, context).map_err(|e| anyhow!("{e}"))?;
    }
    let (mut p50s, mut p99s, mut ip50s, mut ip99s) = (vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        let mut times = Vec::with_capacity(calls);
        for _ in 0..calls {
            let t = Instant::now();
            plugin.render(&call, "payment-qr", &params, context).map_err(|e| anyhow!("{e}"))?;
            times.push(t.elapsed());
        }
        times.sort();
        p50s.push(percentile(&times, 0.50));
        p99s.push(percentile(&times, 0.99));
        let mut inst = Vec::with_capacity(calls);
        for _ in 0..calls {
            inst.push(plugin.instantiate_only(&call).map_err(|e| anyhow!("{e}"))?);
        }
        inst.sort();
        ip50s.push(percentile(&inst, 0.50));
        ip99s.push(percentile(&inst, 0.99));
    }

    let work = tempfile::tempdir()?;
    let input = work.path().join("billing.csv");
    crate::bench_batch::write_billing_csv(std::fs::File::create(&input)?, docs, &crate::bench_batch::ACME)
        .context("writing the generated CSV")?;
    let mut dps = Vec::new();
    let mut stages = Vec::new();
    for run in 0..runs {
        let out = work.path().join(format!("out-{run}"));
        // The HTML letter and the print shop's line data, as before scenarios.
        let channels = Some(vec!["html".to_owned(), "lines".to_owned()]);
        let report = run_batch(&loaded, &BatchJob { channels, ..BatchJob::new(&input, &out) })?;
        anyhow::ensure!(report.delivered as usize == docs && report.balanced, "pipeline run lost records: {report:?}");
        dps.push(report.docs_per_sec);
        let per = |ms: f64| ms / docs as f64;
        let t = &report.timings;
        stages.push((
            report.docs_per_sec,
            StageMs {
                translate: per(t.translate_ms),
                compose: per(t.compose_ms),
                format: per(t.format_ms),
                write: per(t.write_ms),
            },
        ));
    }

    let report = PluginCallReport {
        bench: "plugin-call",
        plugin: plugin.name().to_owned(),
        calls,
        runs,
        p50_us: median(p50s),
        p99_us: median(p99s),
        instantiate_p50_us: median(ip50s),
        instantiate_p99_us: median(ip99s),
        fuel_per_call: usage.fuel,
        peak_memory_bytes: usage.peak_memory,
        allocation: format!("{:?}", runtime.allocation()),
        html_docs_per_sec: median(dps),
        pipeline_docs: docs,
        pipeline_ms_per_doc: {
            stages.sort_by(|a, b| a.0.total_cmp(&b.0));
            stages[stages.len() / 2].1
        },
        target_p50_us: 10.0,
        target_p99_us: 50.0,
    };
    emit(json, &report, || {
        format!(
            "plugin-call: {} × {} calls of {} ({} allocation)\n  instantiate + render   p50 {:.1} µs   p99 {:.1} µs   ({} fuel, {} KiB peak memory per call)\n  instantiate only       p50 {:.1} µs   p99 {:.1} µs   (targets: p50 ≤ 10 µs, p99 ≤ 50 µs)\n  pipeline ({} invoices, HTML + print): {:.0} documents/s\n    per document: translate {:.3} ms, compose {:.3} ms, format {:.3} ms, write {:.3} ms",
            report.runs,
            report.calls,
            report.plugin,
            report.allocation,
            report.p50_us,
            report.p99_us,
            report.fuel_per_call,
            report.peak_memory_bytes >> 10,
            report.instantiate_p50_us,
            report.instantiate_p99_us,
            report.pipeline_docs,
            report.html_docs_per_sec,
            report.pipeline_ms_per_doc.translate,
            report.pipeline_ms_per_doc.compose,
            report.pipeline_ms_per_doc.format,
            report.pipeline_ms_per_doc.write,
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

/// CPU seconds a process has used, every thread, user and system
/// (`/proc/<pid>/stat`, in clock ticks of 1/100 s); `pid` is a number or
/// `self`. `None` once the process is gone or off Linux.
pub fn process_cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields are counted after its `)`.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}
