//! The `demo`, `batch` and `plugin` commands.

use crate::paths::{Context, samples_dir};
use anyhow::{Context as _, bail};
use std::path::Path;
use std::process::ExitCode;
use tessera_content::SourceMode;
use tessera_content::watch::WatchConfig;
use tessera_pipeline::{BatchJob, LoadedTenant, ReloadOutcome, run_batch};

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
        let report = run_batch(&loaded, &BatchJob::new(&dir.join(input), &out_dir))?;
        print!("{}", crate::operator::summary(&report, &out_dir));
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
    pub resume: bool,
    pub threads: Option<usize>,
    /// Bytes per shard (`Some(0)`: the source whole).
    pub shard_bytes: Option<u64>,
    pub sink: Option<tessera_pipeline::sink::SinkKind>,
    pub documents_per_block: Option<u64>,
    pub encoding: Option<tessera_pipeline::SourceEncoding>,
    pub channels: Option<Vec<String>>,
    /// Render the shards on this NATS server's workers.
    pub cluster: Option<&'a str>,
    /// Cluster runs: shards out at a time.
    pub in_flight: usize,
    /// Cluster runs: the workers' consumer settings.
    pub cluster_settings: tessera_cluster::layout::Settings,
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
    let bar = crate::operator::ProgressLine::on_terminal();
    let cluster = match args.cluster {
        Some(url) => Some(crate::worker::exchange(url, &loaded, args)?),
        None => None,
    };
    let show = |p: &tessera_pipeline::Progress| match &cluster {
        Some((exchange, _)) => bar.update_with(p, &crate::worker::progress_note(exchange)),
        None => bar.update(p),
    };
    let remote = cluster.as_ref().map(|(exchange, run)| tessera_pipeline::Remote {
        exchange,
        run,
        in_flight: args.in_flight.max(1),
    });
    let job = BatchJob {
        translator: args.translator,
        as_of: args.as_of,
        threads: args.threads,
        shard_bytes: args.shard_bytes,
        sink: args.sink,
        documents_per_block: args.documents_per_block,
        encoding: args.encoding,
        resume: args.resume,
        channels: args.channels.clone(),
        progress: (!args.json).then_some(&show as &(dyn Fn(&tessera_pipeline::Progress) + Sync)),
        remote,
        ..BatchJob::new(args.input, args.out)
    };
    let report = run_batch(&loaded, &job);
    bar.clear();
    let report = report?;
    if let Some((exchange, _)) = &cluster {
        // The run is committed: its shards and results may go.
        if let Err(e) = exchange.finish() {
            eprintln!("warning: the run's shards and results stay on the NATS server: {e}");
        }
        crate::worker::finished(args.out)?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", crate::operator::summary(&report, args.out));
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
                print!("{}", crate::operator::summary(&report, job.out_dir));
            }
            ReloadOutcome::Refused(f) => {
                eprintln!("content change refused; the last good content stays live:\n{}", f.detailed)
            }
            ReloadOutcome::Unchanged | ReloadOutcome::Unsettled => {}
        }
    }
    Ok(())
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
