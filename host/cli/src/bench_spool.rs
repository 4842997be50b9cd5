//! The spool half of `tessera bench pdf`: the same generated letters sent
//! through a whole batch to ACME's `post` channel, which makes two-sided
//! print spools sorted by country and postcode ([`tessera_pipeline::spool`]):
//! translated and composed on every core, staged, then typeset many letters
//! per formatter call, each spool on whichever core is free, and every
//! letter checked on its own pages.
//!
//! Letters/s is delivered letters over the batch's whole wall time; the
//! spool stage's own share is reported beside it.

use crate::bench::median;
use crate::bench_pdf::run_all;
use anyhow::Context as _;
use serde::Serialize;
use std::path::Path;
use tessera_pipeline::{BatchJob, LoadedTenant};

/// The spool figures of a bench, medians over runs.
#[derive(Serialize)]
pub struct SpoolFigures {
    /// The spooled channel (`post`) and its settings.
    pub channel: &'static str,
    pub letters_per_spool: usize,
    pub duplex: bool,
    /// Letters per second of the batch's wall time: median over runs.
    pub letters_per_sec: f64,
    pub runs_letters_per_sec: Vec<f64>,
    /// Pages (blank backs included) per second of wall time.
    pub pages_per_sec: f64,
    /// The spool stage's wall time × threads ÷ letters: what typesetting
    /// and checking one letter in a spool costs the machine.
    pub spool_ms_per_letter: f64,
    /// Wall time of the batch before the spool stage and of the stage (ms).
    pub compose_ms: f64,
    pub spool_ms: f64,
    pub spools: u64,
    /// Pages of the spools, blank backs included.
    pub pages: u64,
    pub sheets: u64,
    pub blank_pages: u64,
    pub bytes_per_letter: f64,
}

/// Runs the batch to the `post` channel `runs` times on `input`.
pub fn spool_runs(
    loaded: &LoadedTenant,
    input: &Path,
    work: &Path,
    threads: Option<usize>,
    runs: usize,
    records: usize,
) -> anyhow::Result<SpoolFigures> {
    let post = loaded.routing.channel("post").context("acme-energy has no `post` channel")?;
    let settings = post.spool.clone().context("acme-energy's `post` channel makes no spools")?;
    let channels = Some(vec!["post".to_owned()]);
    let mut all = Vec::new();
    for run in 0..runs {
        let out = work.join(format!("spool-{run}"));
        let job = BatchJob { threads, channels: channels.clone(), ..BatchJob::new(input, &out) };
        let report = run_all(loaded, &job, records, "spooled")?;
        let usage: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("usage.json"))?)?;
        let row = usage["by_label_channel"].as_array().map(Vec::as_slice).unwrap_or_default();
        let sum =
            |key: &str| row.iter().filter(|r| r["channel"] == "post").filter_map(|r| r[key].as_u64()).sum::<u64>();
        let bytes: u64 =
            std::fs::read_dir(out.join("spools"))?.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum();
        let total_s = report.timings.total_ms / 1e3;
        all.push(Run {
            letters_per_sec: report.delivered as f64 / total_s,
            pages_per_sec: (sum("pages") + sum("blank_pages")) as f64 / total_s,
            spool_ms: report.timings.spool_ms,
            compose_ms: report.timings.total_ms - report.timings.spool_ms,
            per_letter: report.timings.spool_ms * report.threads as f64 / report.delivered.max(1) as f64,
            spools: report.spools,
            pages: sum("pages") + sum("blank_pages"),
            sheets: sum("sheets"),
            blank_pages: sum("blank_pages"),
            bytes_per_letter: bytes as f64 / report.delivered.max(1) as f64,
        });
        std::fs::remove_dir_all(&out).ok();
    }
    let rates: Vec<f64> = all.iter().map(|r| r.letters_per_sec).collect();
    let mid = median(rates.clone());
    let middle = all.iter().find(|r| r.letters_per_sec == mid).unwrap_or(&all[0]);
    Ok(SpoolFigures {
        channel: "post",
        letters_per_spool: settings.letters,
        duplex: settings.duplex,
        letters_per_sec: mid,
        runs_letters_per_sec: rates,
        pages_per_sec: median(all.iter().map(|r| r.pages_per_sec).collect()),
        spool_ms_per_letter: median(all.iter().map(|r| r.per_letter).collect()),
        compose_ms: median(all.iter().map(|r| r.compose_ms).collect()),
        spool_ms: median(all.iter().map(|r| r.spool_ms).collect()),
        spools: middle.spools,
        pages: middle.pages,
        sheets: middle.sheets,
        blank_pages: middle.blank_pages,
        bytes_per_letter: middle.bytes_per_letter,
    })
}

struct Run {
    letters_per_sec: f64,
    pages_per_sec: f64,
    spool_ms: f64,
    compose_ms: f64,
    per_letter: f64,
    spools: u64,
    pages: u64,
    sheets: u64,
    blank_pages: u64,
    bytes_per_letter: f64,
}
