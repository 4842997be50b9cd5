//! The cluster commands' glue: `batch --cluster` gets its shard exchange
//! here, and `tessera worker` loads its tenants and serves until told to
//! stop.

use crate::commands::BatchArgs;
use crate::paths::Context;
use anyhow::Context as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tessera_cluster::coordinator::NatsExchange;
use tessera_cluster::layout::Settings;
use tessera_cluster::worker::{WorkerConfig, run_worker, worker_name};
use tessera_content::SourceMode;
use tessera_pipeline::LoadedTenant;

/// The file in a cluster run's output folder that names the run on the
/// NATS server until the run is finished, so `--resume` finds the results of
/// the interrupted attempt.
const RUN_ID_FILE: &str = ".cluster-run";

/// The exchange of a cluster run and the run's id.
///
/// Each fresh run gets an id of its own: shards go out with the message id
/// `<run>/<shard>`, and the server drops a message whose id it saw within
/// its duplicate window, so running the same source into the same folder
/// again under the same id would publish nothing and wait for ever. A
/// resumed run reads the id its first attempt wrote into the folder.
pub fn exchange(url: &str, loaded: &LoadedTenant, args: &BatchArgs<'_>) -> anyhow::Result<(NatsExchange, String)> {
    let absolute = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let tenant = &loaded.tenant.config.id;
    let id_file = args.out.join(RUN_ID_FILE);
    let earlier = std::fs::read_to_string(&id_file).ok().map(|id| id.trim().to_owned()).filter(|id| !id.is_empty());
    let run = match earlier {
        Some(run) if args.resume => run,
        _ => {
            let started =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            let identity = format!(
                "{tenant}\n{}\n{}\n{started}\n{}",
                absolute(args.input).display(),
                absolute(args.out).display(),
                std::process::id()
            );
            let run = format!(
                "{}-{}",
                tessera_cluster::layout::token(tenant),
                &tessera_pipeline::sha256_hex(identity.as_bytes())[..16]
            );
            std::fs::create_dir_all(args.out).with_context(|| format!("making {}", args.out.display()))?;
            std::fs::write(&id_file, format!("{run}\n")).with_context(|| format!("writing {}", id_file.display()))?;
            run
        }
    };
    let exchange = NatsExchange::connect(url, tenant, &run, args.cluster_settings)?;
    Ok((exchange, run))
}

/// Forgets the run's id once the run is finished: the folder then holds
/// exactly what a local run's does.
pub fn finished(out: &std::path::Path) -> anyhow::Result<()> {
    let id_file = out.join(RUN_ID_FILE);
    match std::fs::remove_file(&id_file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", id_file.display()))
        }
        _ => Ok(()),
    }
}

/// The cluster's part of the progress line.
pub fn progress_note(exchange: &NatsExchange) -> String {
    let p = exchange.progress();
    let workers = p.workers.lock().map(|w| w.len()).unwrap_or(0);
    format!(
        "  shards {} sent, {} back  {workers} workers",
        p.published.load(Ordering::Relaxed),
        p.results.load(Ordering::Relaxed)
    )
}

/// Which content a worker renders from.
pub enum WorkerContent {
    /// Each tenant's configured source (`[content] source`).
    Configured,
    /// Each tenant's published ref, as it is when the worker starts.
    Published,
    /// One revision, resolved in each tenant's repository when the worker starts.
    Revision(String),
}

/// `tessera worker`'s arguments.
pub struct WorkerArgs<'a> {
    pub url: &'a str,
    pub tenant_dirs: &'a [PathBuf],
    pub content: WorkerContent,
    pub metrics_addr: Option<std::net::SocketAddr>,
    pub slots: Option<usize>,
    pub settings: Settings,
}

/// `tessera worker`.
pub fn run(ctx: &Context, args: WorkerArgs<'_>) -> anyhow::Result<ExitCode> {
    // Watched from the start: a worker told to stop while it is still
    // loading (compiling plugins on a cold machine) stops cleanly once
    // loaded, without taking a shard.
    let stop = Arc::new(AtomicBool::new(false));
    stop_on_signal(Arc::clone(&stop))?;
    let runtime = ctx.runtime()?;
    let mut tenants = Vec::new();
    for dir in args.tenant_dirs {
        let mode = match &args.content {
            WorkerContent::Configured => None,
            WorkerContent::Published => {
                let tenant = tessera_pipeline::Tenant::load(dir)?;
                Some(SourceMode::Published(tenant.config.content.published_ref.clone()))
            }
            WorkerContent::Revision(rev) => {
                let tenant = tessera_pipeline::Tenant::load(dir)?;
                let repo = tessera_content::ContentRepo::open(&dir.join(&tenant.config.content.repository))?;
                let commit = repo
                    .resolve(rev, &tenant.config.content.published_ref)
                    .with_context(|| format!("content revision {rev} of tenant {}", tenant.config.id))?;
                Some(SourceMode::Revision(commit))
            }
        };
        let loaded = LoadedTenant::load_from(&runtime, dir, &ctx.plugin_roots, mode)
            .with_context(|| format!("loading tenant {}", dir.display()))?;
        eprintln!("serving {} (content {})", loaded.tenant.config.id, loaded.content.current().revision());
        tenants.push(Arc::new(loaded));
    }
    let config = WorkerConfig {
        url: args.url.to_owned(),
        name: worker_name(),
        slots: args.slots.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        settings: args.settings,
    };
    let metrics = match args.metrics_addr {
        Some(addr) => {
            let listener = std::net::TcpListener::bind(addr).with_context(|| format!("metrics address {addr}"))?;
            eprintln!("metrics on http://{}/metrics", listener.local_addr()?);
            Some(listener)
        }
        None => None,
    };
    eprintln!("worker {} on {}, {} slots", config.name, tessera_cluster::redacted(args.url), config.slots);
    let summary = run_worker(&config, tenants, stop, metrics)?;
    eprintln!("worker {} stopped: {} shards rendered, {} refused", config.name, summary.rendered, summary.refused);
    Ok(ExitCode::SUCCESS)
}

/// Sets `stop` on SIGTERM or Ctrl-C.
fn stop_on_signal(stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    let signals = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::Builder::new().name("tessera-signals".into()).spawn(move || {
        signals.block_on(async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("SIGTERM can be watched");
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            eprintln!("stopping: finishing the shards in hand");
            stop.store(true, Ordering::Relaxed);
        })
    })?;
    Ok(())
}
