//! `tessera bench einvoice`: EN 16931 e-invoices per second on ACME's
//! generated invoices (5–30 lines each) — the CII XML (`cii-invoice-out`),
//! the UBL XML (`ubl-invoice-out`) and Factur-X PDFs (the `facturx` channel: the letter
//! typeset by Typst with the CII XML attached by the host) — each a whole
//! batch to that one channel, medians over runs; and, alone, the host's
//! Factur-X step (attach + XMP) on one letter.

use crate::bench::{emit, median};
use crate::bench_batch::{ACME, write_billing_csv};
use crate::paths::{Context, samples_dir};
use anyhow::ensure;
use serde::Serialize;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;
use tessera_pipeline::{BatchJob, LoadedTenant, run_batch};

/// One channel's figures.
#[derive(Serialize)]
struct ChannelFigures {
    /// What the channel makes.
    makes: &'static str,
    /// Delivered e-invoices per second of wall time, median over runs.
    per_sec: f64,
    /// Each run's figure.
    per_sec_runs: Vec<f64>,
    /// Wall time in the format stage per document (the formatter plugins,
    /// and for Factur-X the host's attach step), µs, median run.
    format_us_per_doc: f64,
    /// Mean output size, bytes.
    mean_bytes: u64,
}

#[derive(Serialize)]
struct EinvoiceReport {
    bench: &'static str,
    tenant: &'static str,
    records: usize,
    runs: usize,
    threads: usize,
    channels: BTreeMap<&'static str, ChannelFigures>,
    /// The host's Factur-X step alone on one letter (PDF/A + CII XML →
    /// PDF/A-3b), µs, median of `attach_calls`.
    factur_x_attach_us: f64,
    attach_calls: usize,
}

/// Runs the bench: `records` invoices per run.
pub fn run(ctx: &Context, records: usize, runs: usize, json: bool) -> anyhow::Result<ExitCode> {
    let runtime = ctx.runtime()?;
    let loaded = LoadedTenant::load(&runtime, &samples_dir(None).join("acme-energy"), &ctx.plugin_roots)?;
    let work = tempfile::tempdir()?;
    let input = work.path().join("billing.csv");
    write_billing_csv(std::fs::File::create(&input)?, records, &ACME)?;
    let warm = work.path().join("warm.csv");
    write_billing_csv(std::fs::File::create(&warm)?, 20, &ACME)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());

    let mut channels = BTreeMap::new();
    for (channel, makes, suffix) in [
        ("cii", "CII D16B XML (cii-invoice-out)", ".cii.xml"),
        ("ubl", "UBL 2.1 XML (ubl-invoice-out)", ".ubl.xml"),
        ("facturx", "Factur-X PDF/A-3b (typst-pdf + cii-invoice-out + host attach)", ".facturx.pdf"),
    ] {
        let warm_out = work.path().join(format!("warm-{channel}"));
        run_batch(&loaded, &job(&warm, &warm_out, channel))?;
        let (mut rates, mut format_us, mut sizes) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..runs {
            let out = work.path().join(format!("{channel}-{run}"));
            let report = run_batch(&loaded, &job(&input, &out, channel))?;
            ensure!(
                report.delivered as usize == records && report.rejected == 0,
                "channel {channel}: {} of {records} delivered, {} rejected: {:?}",
                report.delivered,
                report.rejected,
                report.rejections.first().map(|r| &r.reason)
            );
            rates.push(report.docs_per_sec);
            format_us.push(report.stages.format.total_ms * 1000.0 / records as f64);
            sizes.push(mean_size(&out, suffix));
            std::fs::remove_dir_all(&out)?;
        }
        let figures = ChannelFigures {
            makes,
            per_sec: round1(median(rates.clone())),
            per_sec_runs: rates.into_iter().map(round1).collect(),
            format_us_per_doc: round1(median(format_us)),
            mean_bytes: median(sizes) as u64,
        };
        channels.insert(channel, figures);
    }

    // The attach step alone, on one of the warm-up's Factur-X letters:
    // the XML is taken back out of it, and the plain PDF/A made again.
    let (pdf, xml) = one_letter(work.path())?;
    let calls = 200;
    let mut times = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        let out = tessera_pipeline::factur_x::attach(&pdf, &xml, "2026-11-01")?;
        times.push(started.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(out);
    }
    let report = EinvoiceReport {
        bench: "einvoice",
        tenant: "acme-energy",
        records,
        runs,
        threads,
        channels,
        factur_x_attach_us: round1(median(times)),
        attach_calls: calls,
    };
    emit(json, &report, || {
        let mut text =
            format!("e-invoices: {records} ACME invoices per run, {runs} runs, {threads} threads (medians)\n");
        for (name, c) in &report.channels {
            text.push_str(&format!(
                "  {name:8} {:8.1}/s   format {:7.1} µs/doc   {:6} bytes   {}\n",
                c.per_sec, c.format_us_per_doc, c.mean_bytes, c.makes
            ));
        }
        text.push_str(&format!("  Factur-X attach step alone: {:.1} µs per letter", report.factur_x_attach_us));
        text
    })?;
    Ok(ExitCode::SUCCESS)
}

/// A batch of `input` to one channel.
fn job<'a>(input: &'a std::path::Path, out: &'a std::path::Path, channel: &str) -> BatchJob<'a> {
    BatchJob { channels: Some(vec![channel.to_owned()]), ..BatchJob::new(input, out) }
}

/// A plain PDF/A letter and its CII XML: the CII channel's XML and the
/// Factur-X PDF with the attachment cut off (the bytes before the update).
fn one_letter(dir: &std::path::Path) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let find = |suffix: &str| -> anyhow::Result<Vec<u8>> {
        let folder = dir.join(format!("warm-{}", if suffix.ends_with(".pdf") { "facturx" } else { "cii" }));
        for block in std::fs::read_dir(&folder)?.flatten().filter(|e| e.path().is_dir()) {
            for file in std::fs::read_dir(block.path())?.flatten() {
                if file.file_name().to_string_lossy().ends_with(suffix) {
                    return Ok(std::fs::read(file.path())?);
                }
            }
        }
        anyhow::bail!("no {suffix} in {}", folder.display())
    };
    let xml = find(".cii.xml")?;
    let with = find(".facturx.pdf")?;
    // An incremental update appends: the original PDF ends at the first %%EOF.
    let end = with.windows(5).position(|w| w == b"%%EOF").map(|p| p + 5).unwrap_or(with.len());
    Ok((with[..end].to_vec(), xml))
}

fn mean_size(dir: &std::path::Path, suffix: &str) -> f64 {
    let (mut total, mut count) = (0u64, 0u64);
    for block in std::fs::read_dir(dir).into_iter().flatten().flatten().filter(|e| e.path().is_dir()) {
        for file in std::fs::read_dir(block.path()).into_iter().flatten().flatten() {
            if file.file_name().to_string_lossy().ends_with(suffix) {
                total += file.metadata().map_or(0, |m| m.len());
                count += 1;
            }
        }
    }
    total as f64 / count.max(1) as f64
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
