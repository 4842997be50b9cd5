//! `tessera bench batch`: the whole batch pipeline on generated invoices —
//! a csv-billing export of N documents with 5–30 lines each, written to disk
//! as it is generated — through a sample tenant (default `acme-energy`: its
//! real content, its translator, and the payment-qr fragment drawing a SEPA
//! QR code on every euro invoice; `northwind-telecom` bills in pounds, so
//! its letters have no QR code), reporting documents/s, per-stage p50/p99
//! and the peak resident memory of each run.
//!
//! By default the documents are rendered to HTML only (the figure the
//! target is about); `--channels` names others (`html,lines` adds ACME's
//! print-shop line data).

use crate::bench::{emit, median};
use crate::paths::{Context, samples_dir};
use anyhow::{Context as _, ensure};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use tessera_pipeline::sink::SinkKind;
use tessera_pipeline::{BatchJob, LoadedTenant, StageLatency, run_batch};

/// Each stage's total time per delivered document, µs.
fn per_doc(stages: &StageLatency, documents: u64) -> BTreeMap<&'static str, f64> {
    let n = documents.max(1) as f64;
    [
        ("translate", stages.translate.total_ms),
        ("validate", stages.validate.total_ms),
        ("compose", stages.compose.total_ms),
        ("format", stages.format.total_ms),
        ("write", stages.write.total_ms),
        ("verify", stages.verify.total_ms),
    ]
    .into_iter()
    .map(|(stage, ms)| (stage, (ms * 1000.0 / n * 10.0).round() / 10.0))
    .collect()
}

/// The bench's settings.
pub struct BatchBench {
    pub tenant: String,
    pub records: usize,
    pub runs: usize,
    pub threads: Option<usize>,
    /// Bytes per shard (`Some(0)`: the source whole).
    pub shard_bytes: Option<u64>,
    pub sink: SinkKind,
    pub channels: Vec<String>,
    /// Where the source and outputs go (`None`: the system's temp folder).
    pub work_dir: Option<std::path::PathBuf>,
    pub json: bool,
}

#[derive(Serialize)]
struct BatchReport {
    bench: &'static str,
    tenant: String,
    records: usize,
    runs: usize,
    threads: usize,
    channels: Vec<String>,
    /// Delivered documents per second of wall time: median over runs.
    docs_per_sec: f64,
    /// Each run's figure.
    docs_per_sec_runs: Vec<f64>,
    /// CPU time of the whole process (every thread, user + system) per
    /// delivered document: median over runs. 200 µs is 10,000/s on 2 cores.
    cpu_us_per_doc: f64,
    /// Each run's figure.
    cpu_us_per_doc_runs: Vec<f64>,
    /// Bytes per shard asked of the translator (0: the source read whole).
    shard_bytes: u64,
    /// Shards the source was cut into (median run).
    shards: u64,
    /// `dir` or `zip`.
    sink: &'static str,
    /// The folder the runs wrote under, and its file system type.
    work_dir: String,
    work_fs: String,
    /// Wall time per document spent in each stage, on the thread doing it
    /// (µs, median run): where the CPU per document goes.
    stage_us_per_doc: BTreeMap<&'static str, f64>,
    /// Per-stage latency of the median run.
    stages: StageLatency,
    /// `dir` sink only: how many files per second this file system takes
    /// when nothing else is done — `records` files (at most 100,000) of a run's mean output
    /// size, written the way the sink writes them (unnamed file, then a
    /// link) into blocks of 1,000, on as many threads as the runs had,
    /// after the runs (their outputs still there). One HTML document is one
    /// file, so no dir-sink run can deliver documents faster than this.
    #[serde(skip_serializing_if = "Option::is_none")]
    fs_floor_files_per_sec: Option<f64>,
    /// `dir` sink only: the same rate measured before the first run (its
    /// files kept until the end, so measuring it does not slow the runs).
    /// Far below the rate after the runs, it says the file system was
    /// still busy with files deleted just before the bench (see
    /// [`SLOW_FS_WARNING`]) and the dir-sink figures understate it.
    #[serde(skip_serializing_if = "Option::is_none")]
    fs_floor_before_files_per_sec: Option<f64>,
    /// Peak resident set of the process during a run (the largest over runs), MiB.
    peak_rss_mb: f64,
    /// How peak_rss_mb was measured.
    rss_source: &'static str,
    /// Source size, MiB.
    input_mb: f64,
    /// Output per run, MiB.
    output_mb: f64,
    target_docs_per_sec: f64,
    target_peak_rss_mb: f64,
}

/// Who the generated invoices are for: labels (taken in turn) and currency.
pub struct Audience<'a> {
    pub labels: &'a [&'a str],
    pub currency: &'a str,
    /// Invoice lines run from 5 to this many.
    pub max_lines: usize,
}

impl<'a> Audience<'a> {
    /// The generated invoices' audience for sample tenant `tenant`: ACME's
    /// two labels in euros, or any other tenant's `default_label` in pounds.
    pub fn of(tenant: &str, default_label: &'a [&'a str; 1]) -> Audience<'a> {
        if tenant == "acme-energy" { ACME } else { Audience { labels: default_label, currency: "GBP", max_lines: 30 } }
    }
}

/// ACME Energy's two labels, in euros.
pub const ACME: Audience<'static> = Audience { labels: &["acme", "acme-green"], currency: "EUR", max_lines: 30 };

/// Writes a billing export of `docs` invoices with 5–30 lines each in the
/// csv-billing format (deterministic, no randomness), streaming to `out`.
pub fn write_billing_csv(out: impl Write, docs: usize, audience: &Audience<'_>) -> std::io::Result<()> {
    let mut csv = BufWriter::with_capacity(1 << 20, out);
    csv.write_all(b"customer_ref,document_id,salutation,first_name,last_name,language,street,postcode,city,country,email,channels,label,currency,invoice_date,due_date,payment_reference,line_description,line_quantity,line_unit,line_unit_price,line_vat_rate\n")?;
    for d in 0..docs {
        let lines = 5 + (d * 7) % (audience.max_lines.max(5) - 4);
        let lang = if d % 3 == 0 { "nl" } else { "en" };
        let label = audience.labels[d % audience.labels.len()];
        let currency = audience.currency;
        for l in 0..lines {
            writeln!(
                csv,
                "C-{d:07},INV-B-{d:08},Ms,Test,Customer {d},{lang},Teststraat {n},1000 AA,Amsterdam,NL,,print,{label},{currency},2026-11-01,2026-11-15,RF18539007547034,Usage item {l},{q}.5,kWh,0.{p:04},21",
                n = d % 500 + 1,
                q = (d + l) % 400 + 1,
                p = 1000 + (d * 31 + l * 17) % 8000,
            )?;
        }
    }
    csv.flush()
}

/// Peak resident set size of this process (VmHWM), MiB.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets the peak (Linux: writing 5 to clear_refs), so each run measures
/// its own; false when the kernel does not allow it.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The type of the file system `path` is on (`ext4`, `tmpfs`…), from the
/// longest mount point in /proc/self/mounts that contains it.
fn file_system_of(path: &Path) -> String {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_, point, kind) = (fields.next()?, fields.next()?, fields.next()?);
            path.starts_with(point).then(|| (point.len(), kind.to_owned()))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "unknown".to_owned(), |(_, kind)| kind)
}

/// Writes every dirty page back (`sync`), outside the measured time.
fn settle_disk() {
    if let Err(e) = std::process::Command::new("sync").status() {
        tracing::warn!("cannot run `sync` between runs ({e}): a run may pay for the previous one's writeback");
    }
}

/// Bytes of each file the probe before the runs writes: about an ACME
/// letter's HTML.
const PROBE_FILE_BYTES: usize = 16 * 1024;

/// The most files a file-system probe writes: enough for a steady rate; a
/// million-record bench need not write two million more files to learn it.
const PROBE_FILES: usize = 100_000;

/// Below this rate before the runs, the dir-sink figures are not this
/// file system's usual ones: an idle ext4 (no journal) on this 2-core machine takes
/// 50,000–55,000 files/s, and 14,000–21,000 in the minutes after many
/// files were deleted.
const SLOW_FS_FILES_PER_SEC: f64 = 30_000.0;

/// What a slow file system before the runs means.
const SLOW_FS_WARNING: &str = "\n  warning: the file system was slow before the runs: files were probably deleted in the minutes before \
     (ext4 without a journal passes over inodes freed in the last 60 s, 6 min while their table block is unwritten, and each new file pays \
     for that scan); wait a few minutes after deleting many files and run the bench again";

/// Files per second when `threads` threads do nothing but write `files`
/// files of `size` bytes under `dir`, 1,000 per sub-folder, as the dir sink
/// does ([`tessera_pipeline::write_atomic`]).
fn file_creation_rate(dir: &Path, files: usize, size: usize, threads: usize) -> anyhow::Result<f64> {
    const PER_FOLDER: usize = 1000;
    let folders = files.div_ceil(PER_FOLDER);
    for folder in 0..folders {
        std::fs::create_dir_all(dir.join(format!("{folder:05}")))?;
    }
    // Varied bytes, so no file system could share or skip them.
    let bytes: Vec<u8> = (0..size).map(|i| b"<p>tessera floor</p>\n"[i % 21]).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = std::time::Instant::now();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| -> std::io::Result<()> {
                    loop {
                        let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if n >= files {
                            return Ok(());
                        }
                        let path = dir.join(format!("{:05}/INV-{n}.html", n / PER_FOLDER));
                        tessera_pipeline::write_atomic(&path, &bytes)?;
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().map_err(|_| anyhow::anyhow!("a floor writer panicked"))??;
        }
        Ok(())
    })?;
    Ok(files as f64 / started.elapsed().as_secs_f64())
}

/// Bytes of every file under `dir`, the dir sink's block folders included.
fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| Some((e.path(), e.metadata().ok()?)))
                .map(|(path, meta)| if meta.is_dir() { dir_size(&path) } else { meta.len() })
                .sum()
        })
        .unwrap_or(0)
}

/// One measured (or warm-up) run's job.
fn job<'a>(input: &'a Path, out: &'a Path, b: &BatchBench, channels: &[String]) -> BatchJob<'a> {
    BatchJob {
        threads: b.threads,
        shard_bytes: b.shard_bytes,
        sink: Some(b.sink),
        channels: Some(channels.to_vec()),
        ..BatchJob::new(input, out)
    }
}

/// Runs the bench.
pub fn run(ctx: &Context, b: &BatchBench) -> anyhow::Result<ExitCode> {
    let runtime = ctx.runtime()?;
    let tenant_dir = samples_dir(None).join(&b.tenant);
    let loaded = LoadedTenant::load(&runtime, &tenant_dir, &ctx.plugin_roots)?;
    let default_label = [loaded.tenant.config.default_label.as_str()];
    let audience = Audience::of(&b.tenant, &default_label);
    let channels = b.channels.clone();

    let work = match &b.work_dir {
        Some(dir) => tempfile::tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    let input = work.path().join("billing.csv");
    write_billing_csv(std::fs::File::create(&input)?, b.records, &audience).context("writing the generated CSV")?;
    let input_mb = std::fs::metadata(&input)?.len() as f64 / (1 << 20) as f64;

    // A warm-up run, so compile caches and page cache are the same for every measured run.
    let warm_input = work.path().join("warm.csv");
    write_billing_csv(std::fs::File::create(&warm_input)?, 200, &audience)?;
    let warm_out = work.path().join("warm");
    run_batch(&loaded, &job(&warm_input, &warm_out, b, &channels))?;
    settle_disk();

    // The file system's own rate before the runs, with a file size near an
    // HTML letter's (the runs' mean size is only known after them).
    // Both probes write as many files as a run, up to PROBE_FILES, on as
    // many threads as the runs have (the pipeline's default: one per core).
    let probe_files = b.records.min(PROBE_FILES);
    let probe_threads = b.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let fs_floor_before_files_per_sec = match b.sink {
        SinkKind::Dir => {
            let dir = work.path().join("floor-before");
            let floor = file_creation_rate(&dir, probe_files, PROBE_FILE_BYTES, probe_threads)?;
            settle_disk();
            Some(floor)
        }
        SinkKind::Zip => None,
    };

    let mut runs = Vec::new();
    let mut cpu_us = Vec::new();
    let mut peak = 0f64;
    let mut rss_source = "VmHWM of the whole process (peak since start)";
    let mut output_mb = 0.0;
    for run in 0..b.runs {
        if reset_peak_rss() {
            rss_source = "VmHWM of the process, reset before each run";
        }
        let out = work.path().join(format!("out-{run}"));
        let cpu_before = crate::bench::process_cpu_seconds("self");
        let report = run_batch(&loaded, &job(&input, &out, b, &channels))?;
        if let (Some(before), Some(after)) = (cpu_before, crate::bench::process_cpu_seconds("self")) {
            cpu_us.push((after - before) * 1e6 / report.delivered.max(1) as f64);
        }
        peak = peak.max(peak_rss_mb().unwrap_or(f64::NAN));
        ensure!(
            report.delivered as usize == b.records && report.balanced,
            "the run lost records: {} in, {} delivered, {} rejected",
            report.records_in,
            report.delivered,
            report.rejected
        );
        output_mb = dir_size(&out) as f64 / (1 << 20) as f64;
        // Outputs stay until the end: deleting them here would make the next
        // run's file creation slower (ext4 checks recently freed inodes).
        // But their pages are written back before the next run starts, so a
        // run never pays for the previous one's writeback (measured: the
        // first of three back-to-back runs 180 µs CPU per document, the
        // next ones 204–211).
        settle_disk();
        runs.push(report);
    }
    let fs_floor_files_per_sec = match b.sink {
        SinkKind::Dir => {
            let mean_size = (output_mb * (1 << 20) as f64 / b.records.max(1) as f64) as usize;
            let floor = file_creation_rate(&work.path().join("floor"), probe_files, mean_size, probe_threads)?;
            settle_disk();
            Some(floor)
        }
        SinkKind::Zip => None,
    };
    let mut order: Vec<usize> = (0..runs.len()).collect();
    order.sort_by(|a, b| runs[*a].docs_per_sec.total_cmp(&runs[*b].docs_per_sec));
    let median_run = &runs[order[order.len() / 2]];
    let report = BatchReport {
        bench: "batch",
        tenant: b.tenant.clone(),
        records: b.records,
        runs: b.runs,
        threads: median_run.threads,
        channels,
        docs_per_sec: median(runs.iter().map(|r| r.docs_per_sec).collect()),
        docs_per_sec_runs: runs.iter().map(|r| r.docs_per_sec.round()).collect(),
        cpu_us_per_doc: if cpu_us.is_empty() { f64::NAN } else { median(cpu_us.clone()) },
        cpu_us_per_doc_runs: cpu_us.iter().map(|c| c.round()).collect(),
        shard_bytes: b.shard_bytes.unwrap_or(tessera_pipeline::DEFAULT_SHARD_BYTES),
        shards: median_run.shards,
        sink: b.sink.name(),
        work_dir: work.path().parent().unwrap_or(work.path()).display().to_string(),
        work_fs: file_system_of(work.path()),
        stage_us_per_doc: per_doc(&median_run.stages, median_run.delivered),
        stages: median_run.stages,
        fs_floor_files_per_sec,
        fs_floor_before_files_per_sec,
        peak_rss_mb: peak,
        rss_source,
        input_mb,
        output_mb,
        target_docs_per_sec: 10_000.0,
        target_peak_rss_mb: 256.0,
    };
    // The runs' files go, and the inode tables that record their deletion
    // are written back before the next bench starts: on ext4 without a
    // journal a freed inode is passed over for a minute while its table
    // block is clean, but for six while it is dirty, and every file the
    // next dir-sink run creates pays for that scan.
    drop(work);
    settle_disk();
    emit(b.json, &report, || {
        let s = &report.stages;
        format!(
            "batch: {} invoices (5–30 lines) for {} → {} on {} worker threads, {} runs, shards of {} KiB, {} sink\n  {:.0} documents/s (median; runs {:?}; target ≥ 10,000)\n  {:.0} µs CPU per document (median; target ≤ 200)\n  peak RSS {:.0} MiB (target ≤ 256; {})\n  per record p50/p99 µs: translate {:.0}/{:.0}, validate {:.0}/{:.0}, compose {:.0}/{:.0}, format {:.0}/{:.0}, write {:.0}/{:.0}, self-check {:.1}/{:.1}\n  input {:.0} MiB, output {:.0} MiB per run, under {} ({}){}",
            report.records,
            report.tenant,
            report.channels.join(" + "),
            report.threads,
            report.runs,
            report.shard_bytes / 1024,
            report.sink,
            report.docs_per_sec,
            report.docs_per_sec_runs,
            report.cpu_us_per_doc,
            report.peak_rss_mb,
            report.rss_source,
            s.translate.p50_us,
            s.translate.p99_us,
            s.validate.p50_us,
            s.validate.p99_us,
            s.compose.p50_us,
            s.compose.p99_us,
            s.format.p50_us,
            s.format.p99_us,
            s.write.p50_us,
            s.write.p99_us,
            s.verify.p50_us,
            s.verify.p99_us,
            report.input_mb,
            report.output_mb,
            report.work_dir,
            report.work_fs,
            report.fs_floor_files_per_sec.map_or(String::new(), |f| format!(
                "\n  this file system alone takes {f:.0} files/s after the runs, {:.0} before them (no dir-sink run can deliver more documents/s){}",
                report.fs_floor_before_files_per_sec.unwrap_or(f64::NAN),
                if report.fs_floor_before_files_per_sec.is_some_and(|before| before < SLOW_FS_FILES_PER_SEC) {
                    SLOW_FS_WARNING
                } else {
                    ""
                }
            )),
        )
    })?;
    Ok(ExitCode::SUCCESS)
}
