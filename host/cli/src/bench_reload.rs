//! `tessera bench reload`: save-to-live latency of hot reload. A private
//! copy of the sample provider and tenant is rendered continuously on one
//! thread while this thread saves the footer (in place, as editors do) and
//! measures the time from the end of each write to the first document
//! rendered with it. One save in ten is a broken template, which must be
//! refused while the last good footer stays live.

use crate::bench::{emit, median, percentile};
use crate::paths::samples_dir;
use anyhow::{anyhow, bail};
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tessera_content::watch::WatchConfig;
use tessera_pipeline::{Canary, CdmRecord, LoadedTenant, ReloadOutcome, Renditions, parse_as_of};
use tessera_runtime::{CallContext, TranslateOutcome};

#[derive(Serialize)]
struct ReloadReport {
    bench: &'static str,
    runs: usize,
    /// Good saves per run (each measured).
    saves: usize,
    /// Broken saves per run (each must be refused).
    broken_saves: usize,
    /// Save-to-live latency: medians over runs of each run's percentile.
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// Documents rendered meanwhile, and how many failed.
    renders: u64,
    failed_renders: u64,
    /// Broken saves that reached a document (must be 0).
    broken_went_live: u64,
    /// Reloads refused (broken saves the watcher saw before the next save
    /// replaced them; polling sees fewer).
    refused_reloads: u64,
    /// Saves never seen live within 5 s (must be 0).
    missed_saves: u64,
    watcher: String,
    target_p99_ms: f64,
}

pub(crate) fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

fn call() -> anyhow::Result<CallContext> {
    Ok(CallContext { as_of: Arc::from("2026-11-01"), as_of_unix: parse_as_of("2026-11-01")?, seed: 1 })
}

fn first_record(loaded: &LoadedTenant, csv: &[u8]) -> anyhow::Result<CdmRecord> {
    let translator = loaded.plugins.get("csv-billing").ok_or_else(|| anyhow!("csv-billing is not granted"))?;
    let mut session = translator.translate(&call()?, "billing.csv")?;
    let mut outcomes = session.feed(csv)?;
    outcomes.extend(session.finish()?.0);
    for o in outcomes {
        if let TranslateOutcome::Record { cdm, .. } = o {
            return Ok(CdmRecord::parse(&cdm)?);
        }
    }
    bail!("the sample billing file has no record")
}

fn footer(marker: &str) -> String {
    format!(
        "<footer class=\"legal\"><p>{marker}</p>\n  {{% for line in label.legal %}}<p>{{{{ line }}}}</p>{{% endfor %}}\n</footer>\n"
    )
}

/// The number in `SAVE-<n>` of a rendered document, if any.
fn marker(html: &str) -> Option<u64> {
    let at = html.find("SAVE-")?;
    html[at + 5..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok()
}

pub fn run(ctx: &crate::paths::Context, saves: usize, runs: usize, json: bool) -> anyhow::Result<ExitCode> {
    let runtime = ctx.runtime()?;
    let (mut p50s, mut p99s, mut max_ms) = (Vec::new(), Vec::new(), 0f64);
    let (mut renders, mut failed, mut broken_live, mut missed) = (0, 0, 0, 0);
    let mut broken_per_run = 0;
    let mut refusals = 0;
    let mut watcher = String::new();
    for _ in 0..runs {
        let work = tempfile::tempdir()?;
        for name in ["printhub", "acme-energy"] {
            copy_dir(&samples_dir(None).join(name), &work.path().join(name))?;
        }
        let loaded = LoadedTenant::load(&runtime, &work.path().join("acme-energy"), &ctx.plugin_roots)?;
        let record = first_record(&loaded, &std::fs::read(work.path().join("acme-energy/data/billing.csv"))?)?;
        let call = call()?;
        loaded.content.offer_canary(|| Canary {
            record: record.clone(),
            template: "invoice".into(),
            fragments: Arc::clone(&loaded.fragments),
            call: call.clone(),
        });
        let refused = Arc::new(AtomicU64::new(0));
        let handle = {
            let refused = Arc::clone(&refused);
            loaded.content.watch(WatchConfig::from_env(), move |o| {
                if matches!(o, ReloadOutcome::Refused(_)) {
                    refused.fetch_add(1, Ordering::Relaxed);
                }
            })?
        };
        watcher = format!("{:?}", handle.backend());

        // The renderer notes when each save is first seen in a document.
        let seen: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; saves * 2 + 2]));
        let stop = Arc::new(AtomicBool::new(false));
        let renderer = {
            let (seen, stop, content, fragments) =
                (Arc::clone(&seen), Arc::clone(&stop), Arc::clone(&loaded.content), Arc::clone(&loaded.fragments));
            let (record, call) = (record.clone(), call.clone());
            std::thread::spawn(move || {
                let (mut n, mut bad, mut broken) = (0u64, 0u64, 0u64);
                while !stop.load(Ordering::Relaxed) {
                    match content.current().compose(
                        &record,
                        "invoice",
                        "acme",
                        "en",
                        &call,
                        &fragments,
                        Renditions::ALL,
                    ) {
                        Ok(doc) => {
                            n += 1;
                            if doc.html.contains("BROKEN") {
                                broken += 1;
                            }
                            if let Some(m) = marker(&doc.html) {
                                let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                                if let Some(slot) = seen.get_mut(m as usize)
                                    && slot.is_none()
                                {
                                    *slot = Some(Instant::now());
                                }
                            }
                        }
                        Err(_) => bad += 1,
                    }
                }
                (n, bad, broken)
            })
        };

        let path = work.path().join("printhub/content/fragments/footer.html.tera");
        let mut latencies = Vec::with_capacity(saves);
        let mut save = 0usize;
        let mut broken_saves = 0usize;
        let mut run_missed = 0usize;
        while latencies.len() + run_missed < saves {
            save += 1;
            // Human-ish pacing: a few to a few dozen milliseconds between saves.
            std::thread::sleep(Duration::from_millis(5 + (save as u64 * 7) % 25));
            if save.is_multiple_of(10) {
                std::fs::write(&path, format!("<footer>BROKEN {{{{ label.name </footer> SAVE-{save}\n"))?;
                broken_saves += 1;
                continue;
            }
            std::fs::write(&path, footer(&format!("SAVE-{save}")))?;
            let written = Instant::now();
            let deadline = written + Duration::from_secs(5);
            loop {
                let first = seen.lock().unwrap_or_else(|e| e.into_inner()).get(save).copied().flatten();
                if let Some(at) = first {
                    latencies.push(at.saturating_duration_since(written));
                    break;
                }
                if Instant::now() > deadline {
                    run_missed += 1;
                    break;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        stop.store(true, Ordering::Relaxed);
        let (n, bad, broken) = renderer.join().map_err(|_| anyhow!("the render thread panicked"))?;
        drop(handle);
        renders += n;
        failed += bad;
        broken_live += broken;
        missed += run_missed as u64;
        broken_per_run = broken_saves;
        refusals += refused.load(Ordering::Relaxed);
        latencies.sort();
        if let Some(last) = latencies.last() {
            max_ms = max_ms.max(last.as_secs_f64() * 1e3);
            p50s.push(percentile(&latencies, 0.50) / 1e3);
            p99s.push(percentile(&latencies, 0.99) / 1e3);
        }
    }
    let report = ReloadReport {
        bench: "reload",
        runs,
        saves,
        broken_saves: broken_per_run,
        p50_ms: median(p50s),
        p99_ms: median(p99s),
        max_ms,
        renders,
        failed_renders: failed,
        broken_went_live: broken_live,
        refused_reloads: refusals,
        missed_saves: missed,
        watcher,
        target_p99_ms: 100.0,
    };
    emit(json, &report, || {
        format!(
            "reload: {} runs × {} saves (+{} broken) with {} events, rendering continuously\n  save → first document with it   p50 {:.1} ms   p99 {:.1} ms   max {:.1} ms   (target p99 ≤ 100 ms)\n  {} documents rendered, {} failed; broken saves live: {} ({} refused); saves never seen: {}",
            report.runs,
            report.saves,
            report.broken_saves,
            report.watcher,
            report.p50_ms,
            report.p99_ms,
            report.max_ms,
            report.renders,
            report.failed_renders,
            report.broken_went_live,
            report.refused_reloads,
            report.missed_saves
        )
    })?;
    let ok = report.failed_renders == 0 && report.broken_went_live == 0 && report.missed_saves == 0;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
