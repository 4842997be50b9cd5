//! The spool half of `tessera bench pdf`: the same generated letters made
//! into print spools — translated, composed on every core, sorted by
//! country and postcode, then typeset many letters per formatter call
//! ([`tessera_pipeline::spool`]), each spool on whichever core is free, and
//! every letter checked on its own pages.
//!
//! The clock runs from the first translated byte to the last spool checked,
//! so letters/s counts composing and sorting as well as typesetting.

use crate::bench::median;
use anyhow::{Context as _, anyhow, bail, ensure};
use serde::Serialize;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tessera_pipeline::spool::{SpoolLetter, SpoolOutcome, make_spool, order_letters, sort_key};
use tessera_pipeline::verify::Facts;
use tessera_pipeline::{CdmRecord, LoadedTenant, Renditions};
use tessera_runtime::{CallContext, Plugin, TranslateOutcome};

/// How the spools are made.
pub struct SpoolRun<'a> {
    pub loaded: &'a LoadedTenant,
    pub plugin: &'a Plugin,
    pub call: &'a CallContext,
    pub input: &'a Path,
    pub threads: usize,
    pub letters_per_spool: usize,
    pub duplex: bool,
    pub metadata: &'a [(String, String)],
}

/// The spool figures of a bench, medians over runs.
#[derive(Serialize)]
pub struct SpoolFigures {
    /// Letters per spool file (the last spool of a run may hold fewer).
    pub letters_per_spool: usize,
    pub duplex: bool,
    /// Letters per second of wall time, whole path: median over runs.
    pub letters_per_sec: f64,
    pub runs_letters_per_sec: Vec<f64>,
    /// Pages (blank backs included) per second of wall time.
    pub pages_per_sec: f64,
    /// Formatter time per letter in a spool (a spool's time over its
    /// letters), p50 and p99 over the spools of the median run.
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Of a run's wall time: translating and composing, and typesetting
    /// with the self-check (medians, ms).
    pub compose_ms: f64,
    pub typeset_ms: f64,
    pub spools: usize,
    pub pages: u64,
    pub sheets: u64,
    pub blank_pages: u64,
    /// Fuel of one spool's formatter call (median), against the plugin's budget.
    pub fuel_per_spool: u64,
    pub bytes_per_letter: f64,
}

struct RunFigures {
    letters_per_sec: f64,
    pages_per_sec: f64,
    per_letter_ms: Vec<f64>,
    compose: Duration,
    typeset: Duration,
    spools: usize,
    pages: u64,
    sheets: u64,
    blank_pages: u64,
    fuel: Vec<u64>,
    bytes: u64,
    letters: usize,
}

/// Makes every letter of the input into spools `runs` times.
pub fn spool_runs(run: &SpoolRun<'_>, runs: usize, records: usize) -> anyhow::Result<SpoolFigures> {
    let mut all = Vec::new();
    for _ in 0..runs {
        let figures = one_run(run)?;
        ensure!(figures.letters == records, "{} of {records} letters were spooled", figures.letters);
        all.push(figures);
    }
    let rates: Vec<f64> = all.iter().map(|f| f.letters_per_sec).collect();
    let mid = median(rates.clone());
    let middle = all.iter().find(|f| f.letters_per_sec == mid).unwrap_or(&all[0]);
    let mut per_letter = middle.per_letter_ms.clone();
    per_letter.sort_by(f64::total_cmp);
    let pct = |p: f64| per_letter.get(((per_letter.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0);
    let mut fuel = middle.fuel.clone();
    fuel.sort_unstable();
    Ok(SpoolFigures {
        letters_per_spool: run.letters_per_spool,
        duplex: run.duplex,
        letters_per_sec: mid,
        runs_letters_per_sec: rates,
        pages_per_sec: median(all.iter().map(|f| f.pages_per_sec).collect()),
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        compose_ms: median(all.iter().map(|f| f.compose.as_secs_f64() * 1e3).collect()),
        typeset_ms: median(all.iter().map(|f| f.typeset.as_secs_f64() * 1e3).collect()),
        spools: middle.spools,
        pages: middle.pages,
        sheets: middle.sheets,
        blank_pages: middle.blank_pages,
        fuel_per_spool: fuel.get(fuel.len() / 2).copied().unwrap_or(0),
        bytes_per_letter: middle.bytes as f64 / middle.letters.max(1) as f64,
    })
}

fn one_run(run: &SpoolRun<'_>) -> anyhow::Result<RunFigures> {
    let started = Instant::now();
    let mut letters = compose_all(run)?;
    order_letters(&mut letters);
    let compose = started.elapsed();
    let mut spools: Vec<Vec<SpoolLetter>> = Vec::new();
    let mut rest = letters.into_iter().peekable();
    while rest.peek().is_some() {
        spools.push(rest.by_ref().take(run.letters_per_spool.max(1)).collect());
    }
    let count = spools.len();
    let queue: Vec<Mutex<Option<Vec<SpoolLetter>>>> = spools.into_iter().map(|s| Mutex::new(Some(s))).collect();
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(SpoolOutcome, Duration)>> = Mutex::new(Vec::new());
    let t0 = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..run.threads.max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(slot) = queue.get(i) else { break };
                    let letters = slot.lock().expect("queue").take().expect("each spool is taken once");
                    let id = format!("print-{:05}", i + 1);
                    let t = Instant::now();
                    let outcome = make_spool(run.plugin, run.call, "print", run.metadata, &id, run.duplex, letters);
                    done.lock().expect("results").push((outcome, t.elapsed()));
                }
            });
        }
    });
    let typeset = t0.elapsed();
    let total = started.elapsed();
    let done = done.into_inner().expect("results");
    let mut figures = RunFigures {
        letters_per_sec: 0.0,
        pages_per_sec: 0.0,
        per_letter_ms: Vec::new(),
        compose,
        typeset,
        spools: count,
        pages: 0,
        sheets: 0,
        blank_pages: 0,
        fuel: Vec::new(),
        bytes: 0,
        letters: 0,
    };
    for (outcome, took) in done {
        if let Some(u) = outcome.unspooled.first() {
            bail!("letter {} was left out of its spool: {}", u.letter.document_id, u.reason);
        }
        let spool = outcome.spool.ok_or_else(|| anyhow!("a spool came out empty"))?;
        figures.letters += spool.letters.len();
        figures.pages += u64::from(spool.pages);
        figures.sheets += u64::from(spool.sheets);
        figures.blank_pages += u64::from(spool.blank_pages);
        figures.fuel.push(spool.usage.fuel);
        figures.bytes += spool.pdf.len() as u64;
        figures.per_letter_ms.push(took.as_secs_f64() * 1e3 / spool.letters.len() as f64);
    }
    figures.letters_per_sec = figures.letters as f64 / total.as_secs_f64();
    figures.pages_per_sec = figures.pages as f64 / total.as_secs_f64();
    Ok(figures)
}

/// Translates the input and composes every letter's markup on `threads`
/// threads, with the facts its pages must show.
fn compose_all(run: &SpoolRun<'_>) -> anyhow::Result<Vec<SpoolLetter>> {
    let loaded = run.loaded;
    let translator = loaded.plugins.get("csv-billing").ok_or_else(|| anyhow!("csv-billing is not granted"))?;
    let mut session = translator.translate(run.call, "letters.csv").map_err(|e| anyhow!("{e}"))?;
    let bytes = std::fs::read(run.input).context("reading the generated letters")?;
    let mut records = Vec::new();
    for chunk in bytes.chunks(1 << 20) {
        records.extend(session.feed(chunk).map_err(|e| anyhow!("{e}"))?);
    }
    records.extend(session.finish().map_err(|e| anyhow!("{e}"))?.0);
    let records: Vec<String> = records
        .into_iter()
        .map(|o| match o {
            TranslateOutcome::Record { cdm, .. } => Ok(cdm),
            TranslateOutcome::Rejected { message, .. } => Err(anyhow!("the generated CSV has a bad record: {message}")),
        })
        .collect::<anyhow::Result<_>>()?;
    let keys = ["address.country".to_owned(), "address.postcode".to_owned()];
    let required = &loaded.tenant.config.verify.facts;
    let renditions = Renditions { typst: true, ..Renditions::HTML_ONLY };
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<SpoolLetter>> = Mutex::new(Vec::with_capacity(records.len()));
    let failed: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..run.threads.max(1) {
            scope.spawn(|| {
                let library = loaded.content.current();
                loop {
                    let seq = next.fetch_add(1, Ordering::Relaxed);
                    let Some(cdm) = records.get(seq) else { break };
                    let letter = (|| -> anyhow::Result<SpoolLetter> {
                        let record = CdmRecord::parse(cdm).map_err(|e| anyhow!("{e}"))?;
                        let label = record.str_at("production", "label").unwrap_or("acme").to_owned();
                        let locale = record.str_at("personal", "language").unwrap_or("en").to_owned();
                        let composed = library
                            .compose(&record, "invoice", &label, &locale, run.call, &loaded.fragments, renditions)
                            .map_err(|e| anyhow!("{e}"))?;
                        let facts = match &composed.settlement {
                            Some(s) => Facts::new(&record.document_id, s, &locale, &composed.view.label, required),
                            None => Facts::number_only(&record.document_id, required),
                        };
                        Ok(SpoolLetter {
                            seq: seq as u64,
                            document_id: record.document_id.clone(),
                            customer_ref: record.customer_ref.clone(),
                            sort_key: sort_key(&record.value, &keys),
                            markup: composed.typst.unwrap_or_default(),
                            facts,
                        })
                    })();
                    match letter {
                        Ok(letter) => out.lock().expect("letters").push(letter),
                        Err(e) => {
                            failed.lock().expect("error").get_or_insert(e);
                            break;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().expect("error") {
        return Err(e);
    }
    Ok(out.into_inner().expect("letters"))
}
