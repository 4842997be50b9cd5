//! `tessera bench pdf`: one-page print letters through the sandboxed print
//! formatter of ACME's `print` channel (print-compose from a layout, or
//! typst-pdf from Typst markup), the way a print run makes them.
//!
//! A generated batch of ACME invoices (5–12 lines: one A4 page each) goes
//! through the whole pipeline to ACME's `print` channel on every core:
//! `pdf_per_sec` is documents per second of wall time (median over runs),
//! `p50_ms`/`p99_ms` the per-document time in the formatter.
//!
//! `native_ratio` compares the sandbox with native code on the same work: a
//! sample of the letters' markup is formatted one after the other, once in
//! the component (warm instance, as the batch uses it) and once by the same
//! Rust code built natively (the formatter's `examples/native.rs`, built on
//! first use — minutes the first time); the ratio is native time / sandbox
//! time (1.0 = no cost). For Typst the native run also reports typesetting
//! each letter from scratch (Typst's caches emptied before each one).
//!
//! `--typst` adds the same letters as single PDFs through the `archive`
//! channel (typst-pdf, PDF/A-2b): what Typst makes of them, for comparison.

use crate::bench::{emit, median};
use crate::bench_batch::{Audience, write_billing_csv};
use crate::bench_spool::{SpoolFigures, spool_runs};
use crate::paths::{Context, samples_dir};
use anyhow::{Context as _, anyhow, bail, ensure};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Instant;
use tessera_pipeline::{BatchJob, CdmRecord, LoadedTenant, Maker, Markup, Renditions, Report, parse_as_of, run_batch};
use tessera_runtime::{CallContext, DocumentInput, Plugin, TranslateOutcome};

/// Letters of one A4 page: up to 12 invoice lines.
const LETTERS: Audience<'static> = Audience { labels: &["acme", "acme-green"], currency: "EUR", max_lines: 12 };
/// Issue 20's targets: spooled letters, and single PDFs.
const TARGET_PDF_PER_SEC: f64 = 250.0;
const TARGET_SINGLE_PER_SEC: f64 = 100.0;

/// The bench's settings.
pub struct PdfBench {
    pub records: usize,
    pub runs: usize,
    pub threads: Option<usize>,
    pub sample: usize,
    pub native: bool,
    /// Keep the sample's Typst markup here (to profile or read it).
    pub keep_markup: Option<PathBuf>,
    /// Also run the letters as print spools (ACME's `post` channel).
    pub spools: bool,
    /// Also run the letters as single PDFs through Typst (the `archive` channel).
    pub typst: bool,
    pub json: bool,
}

#[derive(Serialize)]
struct PdfReport {
    bench: &'static str,
    records: usize,
    runs: usize,
    threads: usize,
    /// The print channel's formatter (`id@version`) and markup language.
    formatter: String,
    markup: &'static str,
    /// Whether the tenant grants the formatter instance reuse across documents.
    instance_reuse: bool,
    /// Letters per second of wall time, whole pipeline: median over runs.
    pdf_per_sec: f64,
    runs_pdf_per_sec: Vec<f64>,
    /// Formatter time per letter (median over runs of each run's percentile).
    p50_ms: f64,
    p99_ms: f64,
    /// The self-check per letter (reading the PDF's text back and looking
    /// for its figures), median over runs of each run's percentile.
    verify_p50_ms: f64,
    verify_p99_ms: f64,
    /// Letters that did not fit on one page (should be 0).
    multi_page: u64,
    /// Letters in the sandbox/native comparison.
    sample: usize,
    /// Mean per letter, one after the other in one warm component instance.
    sandbox_ms: f64,
    /// Mean per letter natively with caches kept, and from scratch.
    native_ms: Option<f64>,
    native_scratch_ms: Option<f64>,
    /// native_ms / sandbox_ms.
    native_ratio: Option<f64>,
    /// Single PDFs per second the bench aims at.
    target_pdf_per_sec: f64,
    /// The same letters made into print spools.
    #[serde(skip_serializing_if = "Option::is_none")]
    spool: Option<SpoolFigures>,
    /// The same letters as single PDF/A-2b PDFs typeset by typst-pdf (the
    /// `archive` channel): letters per second, median over runs, and runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    typst_pdf_per_sec: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    typst_runs_pdf_per_sec: Option<Vec<f64>>,
}

#[derive(Deserialize)]
struct NativeTimes {
    cached: NativeSeries,
    /// Typst only: each letter with its caches emptied first.
    scratch: Option<NativeSeries>,
}

#[derive(Deserialize)]
struct NativeSeries {
    mean_ms: f64,
}

/// Runs the bench.
pub fn run(ctx: &Context, b: &PdfBench) -> anyhow::Result<ExitCode> {
    let runtime = ctx.runtime()?;
    let samples = samples_dir(None);
    let loaded = LoadedTenant::load(&runtime, &samples.join("acme-energy"), &ctx.plugin_roots)?;
    let print = loaded.routing.channel("print").ok_or_else(|| anyhow!("acme-energy has no `print` channel"))?;
    let Maker::Plugin { plugin, markup: Some(language) } = &print.maker else {
        bail!("acme-energy's print channel is not a formatter plugin with print markup")
    };
    let (plugin, language) = (Arc::clone(plugin), *language);

    let work = tempfile::tempdir()?;
    let input = work.path().join("letters.csv");
    write_billing_csv(std::fs::File::create(&input)?, b.records, &LETTERS).context("writing the generated CSV")?;
    let channels = Some(vec!["print".to_owned()]);
    let warm_input = work.path().join("warm.csv");
    write_billing_csv(std::fs::File::create(&warm_input)?, 50, &LETTERS)?;
    let warm_out = work.path().join("warm");
    run_batch(
        &loaded,
        &BatchJob { threads: b.threads, channels: channels.clone(), ..BatchJob::new(&warm_input, &warm_out) },
    )?;

    let (mut rates, mut p50s, mut p99s, mut multi_page, mut threads) = (Vec::new(), Vec::new(), Vec::new(), 0, 0);
    let (mut verify50, mut verify99) = (Vec::new(), Vec::new());
    for run in 0..b.runs {
        let out = work.path().join(format!("out-{run}"));
        let job = BatchJob { threads: b.threads, channels: channels.clone(), ..BatchJob::new(&input, &out) };
        let report = run_all(&loaded, &job, b.records, "delivered")?;
        rates.push(report.docs_per_sec);
        p50s.push(report.stages.format.p50_us / 1e3);
        p99s.push(report.stages.format.p99_us / 1e3);
        verify50.push(report.stages.verify.p50_us / 1e3);
        verify99.push(report.stages.verify.p99_us / 1e3);
        threads = report.threads;
        multi_page = count_multi_page(&out.join("manifest.jsonl"))?;
        std::fs::remove_dir_all(&out).ok();
    }

    let spool =
        if b.spools { Some(spool_runs(&loaded, &input, work.path(), b.threads, b.runs, b.records)?) } else { None };

    let typst = if b.typst { Some(typst_runs(&loaded, &input, work.path(), b)?) } else { None };

    let markups = sample_markups(&loaded, &input, b.sample.min(b.records), language)?;
    let sandbox_ms = sandbox_mean_ms(&plugin, &loaded, &markups, language)?;
    let markup_dir = b.keep_markup.clone().unwrap_or_else(|| work.path().join("markup"));
    write_markups(&markups, &markup_dir, language)?;
    let native = if b.native { Some(native_times(&markup_dir, loaded_as_of(&loaded), language)?) } else { None };
    let report = PdfReport {
        bench: "pdf",
        records: b.records,
        runs: b.runs,
        threads,
        formatter: format!("{}@{}", plugin.id(), plugin.version()),
        markup: language.name(),
        instance_reuse: plugin.reuses_instances(),
        pdf_per_sec: median(rates.clone()),
        runs_pdf_per_sec: rates,
        p50_ms: median(p50s),
        p99_ms: median(p99s),
        verify_p50_ms: median(verify50),
        verify_p99_ms: median(verify99),
        multi_page,
        sample: markups.len(),
        sandbox_ms,
        native_ms: native.as_ref().map(|n| n.cached.mean_ms),
        native_scratch_ms: native.as_ref().and_then(|n| n.scratch.as_ref()).map(|s| s.mean_ms),
        native_ratio: native.as_ref().map(|n| n.cached.mean_ms / sandbox_ms),
        target_pdf_per_sec: TARGET_SINGLE_PER_SEC,
        spool,
        typst_pdf_per_sec: typst.as_ref().map(|rates| median(rates.clone())),
        typst_runs_pdf_per_sec: typst,
    };
    emit(b.json, &report, || {
        let native = match (report.native_ms, report.native_scratch_ms, report.native_ratio) {
            (Some(n), Some(s), Some(r)) => format!(
                "  same letters one by one: sandbox {:.2} ms, native {n:.2} ms (from scratch {s:.2} ms): native_ratio {r:.2}\n",
                report.sandbox_ms
            ),
            (Some(n), None, Some(r)) => format!(
                "  same letters one by one: sandbox {:.2} ms, native {n:.2} ms: native_ratio {r:.2}\n",
                report.sandbox_ms
            ),
            _ => format!("  same letters one by one: sandbox {:.2} ms (native run skipped)\n", report.sandbox_ms),
        };
        let spool = match &report.spool {
            Some(s) => format!(
                "  print spools (`{}`: up to {} letters{}): {:.0} letters/s, {:.0} pages/s (median; runs {:?}; target ≥ {TARGET_PDF_PER_SEC:.0})\n    spool stage {:.2} ms per letter (wall × threads); before it {:.0} ms, spool stage {:.0} ms; {} spools, {} pages ({} blank), {} sheets; {:.0} bytes per letter\n",
                s.channel,
                s.letters_per_spool,
                if s.duplex { ", two-sided" } else { "" },
                s.letters_per_sec,
                s.pages_per_sec,
                s.runs_letters_per_sec.iter().map(|r| r.round()).collect::<Vec<_>>(),
                s.spool_ms_per_letter,
                s.compose_ms,
                s.spool_ms,
                s.spools,
                s.pages,
                s.blank_pages,
                s.sheets,
                s.bytes_per_letter,
            ),
            None => String::new(),
        };
        let typst = match (&report.typst_pdf_per_sec, &report.typst_runs_pdf_per_sec) {
            (Some(rate), Some(runs)) => format!(
                "  the same letters typeset by typst-pdf (archive channel, PDF/A-2b): {rate:.0} PDF/s (median; runs {:?})\n",
                runs.iter().map(|r| r.round()).collect::<Vec<_>>()
            ),
            _ => String::new(),
        };
        format!(
            "pdf: {} one-page letters (print channel, {} from {} markup{}) on {} worker threads, {} runs\n  {:.0} PDF/s (median; runs {:?}; target ≥ {TARGET_SINGLE_PER_SEC:.0})\n  per letter in the formatter: p50 {:.2} ms, p99 {:.2} ms; letters over one page: {}\n  self-check (PDF text read back): p50 {:.2} ms, p99 {:.2} ms\n{native}{spool}{typst}",
            report.records,
            report.formatter,
            report.markup,
            if report.instance_reuse { ", instances reused" } else { ", fresh instance per letter" },
            report.threads,
            report.runs,
            report.pdf_per_sec,
            report.runs_pdf_per_sec.iter().map(|r| r.round()).collect::<Vec<_>>(),
            report.p50_ms,
            report.p99_ms,
            report.multi_page,
            report.verify_p50_ms,
            report.verify_p99_ms,
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `job` and checks that all `records` letters came out (`what`: how
/// the error says they should have).
pub(crate) fn run_all(loaded: &LoadedTenant, job: &BatchJob, records: usize, what: &str) -> anyhow::Result<Report> {
    let report = run_batch(loaded, job)?;
    ensure!(
        report.balanced && report.delivered as usize == records,
        "{} of {records} letters {what}; first rejection: {:?}",
        report.delivered,
        report.rejections.first()
    );
    Ok(report)
}

fn loaded_as_of(loaded: &LoadedTenant) -> String {
    loaded.tenant.config.job.as_of.clone().unwrap_or_else(|| "2026-11-01".into())
}

/// Manifest lines whose PDF has more than one page.
fn count_multi_page(manifest: &Path) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(manifest)?;
    let mut over = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        if v["pages"].as_u64() != Some(1) {
            over += 1;
        }
    }
    Ok(over)
}

/// The print markup (in `language`) of the first `n` letters, as the
/// pipeline composes it.
fn sample_markups(
    loaded: &LoadedTenant,
    input: &Path,
    n: usize,
    language: Markup,
) -> anyhow::Result<Vec<(String, String)>> {
    let as_of = loaded_as_of(loaded);
    let call = CallContext { as_of: Arc::from(as_of.as_str()), as_of_unix: parse_as_of(&as_of)?, seed: 1 };
    let translator = loaded.plugins.get("csv-billing").ok_or_else(|| anyhow!("csv-billing is not granted"))?;
    let mut session = translator.translate(&call, "letters.csv").map_err(|e| anyhow!("{e}"))?;
    let mut outcomes = Vec::new();
    let bytes = std::fs::read(input)?;
    for chunk in bytes.chunks(64 << 10) {
        outcomes.extend(session.feed(chunk).map_err(|e| anyhow!("{e}"))?);
        if outcomes.len() >= n {
            break;
        }
    }
    let library = loaded.content.current();
    let renditions = Renditions::HTML_ONLY.with_markup(language);
    let mut markups = Vec::new();
    for outcome in outcomes.into_iter().take(n) {
        let TranslateOutcome::Record { cdm, .. } = outcome else { bail!("the generated CSV has a bad record") };
        let record = CdmRecord::parse(&cdm).map_err(|e| anyhow!("{e}"))?;
        let label = record.str_at("production", "label").unwrap_or("acme").to_owned();
        let locale = record.str_at("personal", "language").unwrap_or("en").to_owned();
        let composed = library
            .compose(&record, "invoice", &label, &locale, &call, &loaded.fragments, renditions)
            .map_err(|e| anyhow!("{e}"))?;
        markups.push((record.document_id.clone(), composed.markup(language).cloned().unwrap_or_default()));
    }
    Ok(markups)
}

/// Mean ms per letter in the component, one after the other (after one
/// letter that warms the instance up).
fn sandbox_mean_ms(
    plugin: &Plugin,
    loaded: &LoadedTenant,
    markups: &[(String, String)],
    language: Markup,
) -> anyhow::Result<f64> {
    let as_of = loaded_as_of(loaded);
    let call = CallContext { as_of: Arc::from(as_of.as_str()), as_of_unix: parse_as_of(&as_of)?, seed: 1 };
    let input = |(id, markup): &(String, String)| DocumentInput {
        channel: "print".into(),
        document_id: id.clone(),
        metadata: vec![("markup".into(), markup.clone()), ("markup.language".into(), language.name().into())],
        ..DocumentInput::default()
    };
    let first = markups.first().ok_or_else(|| anyhow!("no letters to compare"))?;
    plugin.format(&call, input(first)).map_err(|e| anyhow!("{e}"))?;
    let started = Instant::now();
    for m in markups {
        plugin.format(&call, input(m)).map_err(|e| anyhow!("{e}"))?;
    }
    Ok(started.elapsed().as_secs_f64() * 1e3 / markups.len() as f64)
}

/// Writes the sample's markup as `000000.typ`, `000001.typ`, ... (`.json`
/// for layouts).
fn write_markups(markups: &[(String, String)], dir: &Path, language: Markup) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let extension = match language {
        Markup::Typst => "typ",
        Markup::Layout => "json",
    };
    for (i, (_, markup)) in markups.iter().enumerate() {
        std::fs::write(dir.join(format!("{i:06}.{extension}")), markup)?;
    }
    Ok(())
}

/// The letters as single PDFs through the `archive` channel (typst-pdf):
/// PDF/s of each run.
fn typst_runs(loaded: &LoadedTenant, input: &Path, work: &Path, b: &PdfBench) -> anyhow::Result<Vec<f64>> {
    let channels = Some(vec!["archive".to_owned()]);
    let mut rates = Vec::with_capacity(b.runs);
    for run in 0..b.runs {
        let out = work.join(format!("typst-{run}"));
        let report = run_batch(
            loaded,
            &BatchJob { threads: b.threads, channels: channels.clone(), ..BatchJob::new(input, &out) },
        )?;
        ensure!(
            report.balanced && report.delivered as usize == b.records,
            "{} of {} letters typeset by Typst; first rejection: {:?}",
            report.delivered,
            b.records,
            report.rejections.first()
        );
        rates.push(report.docs_per_sec);
        std::fs::remove_dir_all(&out).ok();
    }
    Ok(rates)
}

/// Builds (first time only) and runs the native formatter for `language`
/// on the markups in `dir`.
fn native_times(dir: &Path, as_of: String, language: Markup) -> anyhow::Result<NativeTimes> {
    let (formatter, default_target) = match language {
        Markup::Typst => ("typst-pdf", "target/native-typst"),
        Markup::Layout => ("print-compose", "target/native-print-compose"),
    };
    let manifest = PathBuf::from(format!("plugins/formatters/{formatter}/Cargo.toml"));
    ensure!(manifest.is_file(), "run the pdf bench from the repository root (it builds {})", manifest.display());
    let target = std::env::var_os("TESSERA_NATIVE_TARGET_DIR")
        .map(|t| PathBuf::from(t).join(formatter))
        .unwrap_or_else(|| PathBuf::from(default_target));
    eprintln!("building the native {formatter} (the first time takes minutes)…");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--locked", "--example", "native", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .status()
        .context("running cargo to build the native formatter")?;
    ensure!(status.success(), "building the native {formatter} failed");
    // One thread, like the component: natively Typst would otherwise hand
    // some of its work (PDF export) to a rayon pool on the other core.
    let mut native = Command::new(target.join("release/examples/native"));
    native.env("RAYON_NUM_THREADS", "1").arg(dir);
    if language == Markup::Typst {
        native.arg(as_of);
    }
    let output = native.output().context("running the native formatter")?;
    ensure!(output.status.success(), "the native {formatter} failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).context("reading the native formatter's timings")
}
