//! The `demo`, `batch` and `plugin` commands.

use crate::paths::{Context, samples_dir};
use anyhow::{Context as _, bail};
use std::path::Path;
use std::process::ExitCode;
use tessera_content::SourceMode;
use tessera_content::watch::WatchConfig;
use tessera_pipeline::{BatchJob, LoadedTenant, ReloadOutcome, Report, run_batch};

/// Renders every sample tenant's sample input.
pub fn demo(ctx: &Context, out: &Path, samples: Option<&Path>) -> anyhow::Result<ExitCode> {
    let samples = samples_dir(samples);
    let runtime = ctx.runtime()?;
    let mut tenants: Vec<_> = std::fs::read_dir(&samples)
        .with_context(|| format!("reading {}", samples.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("tenant.toml").is_file())
        .collect();
    tenants.sort();
    if tenants.is_empty() {
        bail!("no tenants (folders with tenant.toml) in {}", samples.display());
    }
    let mut all_balanced = true;
    for dir in tenants {
        let loaded = LoadedTenant::load(&runtime, &dir, &ctx.plugin_roots)?;
        let cfg = &loaded.tenant.config;
        let Some(input) = cfg.job.input.as_ref() else {
            eprintln!("{}: no job.input, skipped", cfg.id);
            continue;
        };
        let out_dir = out.join(&cfg.id);
        let report = run_batch(
            &loaded,
            &BatchJob { input: &dir.join(input), out_dir: &out_dir, translator: None, as_of: None },
        )?;
        print_summary(&report, &out_dir);
        all_balanced &= report.balanced;
    }
    Ok(if all_balanced { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `tessera batch` arguments.
pub struct BatchArgs<'a> {
    pub tenant: &'a Path,
    pub input: &'a Path,
    pub out: &'a Path,
    pub translator: Option<&'a str>,
    pub as_of: Option<&'a str>,
    pub json: bool,
    pub published: bool,
    pub watch: bool,
}

/// Renders one file for one tenant (and again on every content change with `--watch`).
pub fn batch(ctx: &Context, args: &BatchArgs<'_>) -> anyhow::Result<ExitCode> {
    let runtime = ctx.runtime()?;
    let mode = if args.published {
        let tenant = tessera_pipeline::Tenant::load(args.tenant)?;
        Some(SourceMode::Published(tenant.config.content.published_ref.clone()))
    } else {
        None
    };
    let loaded = LoadedTenant::load_from(&runtime, args.tenant, &ctx.plugin_roots, mode)?;
    let job = BatchJob { input: args.input, out_dir: args.out, translator: args.translator, as_of: args.as_of };
    let report = run_batch(&loaded, &job)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_summary(&report, args.out);
    }
    if !report.balanced {
        eprintln!(
            "error: accounting does not balance: {} in, {} delivered, {} rejected",
            report.records_in, report.delivered, report.rejected
        );
        return Ok(ExitCode::FAILURE);
    }
    if args.watch {
        watch_and_rerender(&loaded, &job)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Renders the job again each time new content goes live; reports refused
/// reloads with file, line, column and the source line.
fn watch_and_rerender(loaded: &LoadedTenant, job: &BatchJob<'_>) -> anyhow::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let _handle = loaded.content.watch(WatchConfig::from_env(), move |outcome| {
        let _ = tx.send(outcome.clone());
    })?;
    eprintln!(
        "watching the content of {}; edits re-render {} (Ctrl-C stops)",
        loaded.tenant.config.id,
        job.out_dir.display()
    );
    for outcome in rx {
        match outcome {
            ReloadOutcome::Swapped { revision, took } => {
                eprintln!("content {revision} live ({:.1} ms); rendering again", took.as_secs_f64() * 1e3);
                let report = run_batch(loaded, job)?;
                print_summary(&report, job.out_dir);
            }
            ReloadOutcome::Refused(f) => {
                eprintln!("content change refused; the last good content stays live:\n{}", f.detailed)
            }
            ReloadOutcome::Unchanged | ReloadOutcome::Unsettled => {}
        }
    }
    Ok(())
}

fn print_summary(r: &Report, out: &Path) {
    let channels: Vec<String> = r.outputs_by_channel.iter().map(|(c, n)| format!("{n} {c}")).collect();
    println!(
        "{tenant}: {input} → {out}\n  {in_} records in = {d} delivered + {rej} rejected{ok}\n  outputs: {ch}\n  {ms:.1} ms, {dps:.0} documents/s, {fuel} fuel",
        tenant = r.tenant,
        input = r.input,
        out = out.display(),
        in_ = r.records_in,
        d = r.delivered,
        rej = r.rejected,
        ok = if r.balanced { "" } else { "  ← DOES NOT BALANCE" },
        ch = if channels.is_empty() { "none".into() } else { channels.join(", ") },
        ms = r.timings.total_ms,
        dps = r.docs_per_sec,
        fuel = r.fuel,
    );
    let views: Vec<String> = r.documents_by_view.iter().map(|(v, n)| format!("{v} {n}")).collect();
    let revisions: Vec<&str> = r.content_revisions.iter().map(String::as_str).collect();
    println!("  content {}\n  documents by label/locale: {}", revisions.join(", "), views.join(", "));
    for rej in &r.rejections {
        let who = rej.document_id.clone().or_else(|| rej.source.as_ref().map(|s| s.to_string())).unwrap_or_default();
        println!("  rejected {who} at {:?}: {}", rej.stage, rej.reason);
    }
}

/// Lists the packaged plugins in the plugin folders.
pub fn plugin_list(ctx: &Context) -> anyhow::Result<ExitCode> {
    for root in &ctx.plugin_roots {
        let Ok(entries) = std::fs::read_dir(root) else {
            continue;
        };
        let mut dirs: Vec<_> =
            entries.flatten().map(|e| e.path()).filter(|p| p.join("plugin.toml").is_file()).collect();
        dirs.sort();
        println!("{}:", root.display());
        for dir in dirs {
            match tessera_runtime::PluginManifest::read(&dir) {
                Ok(m) => {
                    println!("  {:<20} {:<8} {:<10} {}  sha256 = \"{}\"", m.id, m.version, m.kind, m.world, m.sha256)
                }
                Err(e) => println!("  {e}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
