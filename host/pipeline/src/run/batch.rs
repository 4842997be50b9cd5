//! A batch run: one source file of one tenant through translate → validate
//! → compose → format → write, with every record ending as outputs or as a
//! rejection, and the accounting checked at the end.
//!
//! ```text
//! source stage (1 thread) ──bounded──► workers (1 per core) ──► committer (this thread)
//!   translate + number                  validate, compose,        input order: manifest,
//!   + duplicate check                   format, write             rejections, tally, checkpoints
//! ```
//!
//! A translator that can cut the source (contract 0.3.0) translates its
//! shards on translator threads, one per core, and the source stage only
//! splits and puts the shards' outcomes back in order ([`crate::source::shards`]).
//!
//! At most `64 × workers` records are in flight between reading and
//! committing (credits returned by the committer), so memory stays flat
//! however long the input and however slow one record is.

use crate::Maker;
use crate::error::{PipelineError, io};
use crate::flow::{Done, Work};
use crate::remote::ShardTask;
use crate::report::{Report, Timings};
use crate::run::checkpoint;
use crate::run::commit::Committer;
use crate::run::job::{BatchJob, Progress, pick_translator, pick_translator_for};
use crate::run::produce::{Producer, seed_for};
use crate::run::resume::{identity, starting_point};
use crate::run::write::{FolderWriter, write_atomic};
use crate::sink::containers::Containers;
use crate::sink::{Sink, SinkKind};
use crate::source::encoding::transcode;
use crate::source::files::{Delivery, FilesSource};
use crate::source::remote::{Dispatch, RemoteFilesSource, RemoteSource};
use crate::source::shards::{DEFAULT_SHARD_BYTES, ShardedSource};
use crate::source::{SourceEnd, SourceError, SourceStage};
use crate::spool::stage::{SpooledChannel, make_channel_spools};
use crate::spool::staging::STAGING_DIR;
use crate::tenant::LoadedTenant;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tessera_cdm::parse_as_of;
use tessera_runtime::Plugin;
use tessera_runtime::{CallContext, Kind};

/// How often progress is reported.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// Records in flight (read but not committed) per worker: bounds memory
/// whatever a slow record holds up.
const IN_FLIGHT_PER_WORKER: usize = 64;

/// Runs one source file of a loaded tenant: the source stage on its own
/// thread, `threads` workers, and the committer on this thread.
pub fn run_batch(loaded: &LoadedTenant, job: &BatchJob<'_>) -> Result<Report, PipelineError> {
    let started = Instant::now();
    let cfg = &loaded.tenant.config;
    let delivery = Delivery::of(job.input);
    // A delivery of many files names a translator per file; the run's own
    // is the one asked for, else the tenant's default, else any it maps.
    let translator_id = match job.translator {
        Some(t) => t.to_owned(),
        None if delivery.is_some() => {
            cfg.job.translator.clone().or_else(|| cfg.job.translators.values().next().cloned()).ok_or_else(|| {
                PipelineError::Config {
                    tenant: cfg.id.clone(),
                    message: "a folder or ZIP of sources needs [job.translators] (or --translator)".into(),
                }
            })?
        }
        None => pick_translator(&cfg.job, job.input).ok_or_else(|| PipelineError::Config {
            tenant: cfg.id.clone(),
            message: format!(
                "no translator for {} (name one with --translator, or map its type in [job.translators])",
                job.input.display()
            ),
        })?,
    };
    let translator = loaded.plugin_of_kind(&translator_id, Kind::Translator)?;
    if let Some(only) = &job.channels {
        for name in only {
            if loaded.routing.channel(name).is_none() {
                return Err(PipelineError::Config {
                    tenant: cfg.id.clone(),
                    message: format!(
                        "--channels names `{name}`, which is not one of the tenant's channels ({})",
                        loaded.routing.names().iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        }
    }
    let as_of = loaded.as_of(job.as_of);
    let as_of_unix = parse_as_of(&as_of)?;
    std::fs::create_dir_all(job.out_dir).map_err(io(job.out_dir))?;
    let source_name = job.input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut identity = identity(&cfg.id, job.input, &source_name, translator, &as_of)?;
    if let Some(d) = &delivery {
        (identity.input_bytes, identity.input_mtime_ns) = d.fingerprint().map_err(io(job.input))?;
        identity.translator = match job.translator {
            Some(t) => t.to_owned(),
            None => format!("by file type {:?}", cfg.job.translators),
        };
    }
    identity.channels = job.channels.as_ref().map(|c| c.join(",")).unwrap_or_default();
    let sink = Sink::new(cfg.output, job.sink, job.documents_per_block);
    identity.sink = sink.describe();
    let encoding = job.encoding.unwrap_or(cfg.job.encoding);
    identity.encoding = encoding.name().to_owned();
    let (from, resumed) = starting_point(job, &identity)?;
    let resumed_at = from.records;
    // A source in another encoding is read as UTF-8 from a hidden copy
    // (removed at the end, or by the next run as any temporary).
    let transcoded = job.out_dir.join(format!(".source.{}.utf-8.tmp", std::process::id()));
    let wrong_bytes = match delivery {
        None => transcode(job.input, encoding, &transcoded).map_err(io(job.input))?,
        Some(_) => None,
    };
    let input = if wrong_bytes.is_some() { transcoded.as_path() } else { job.input };
    let delivered_before = from.tally.delivered;
    let threads = job.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);

    let containers = (sink.kind == SinkKind::Zip).then(|| Containers::new(job.out_dir, sink));
    let mut committer = Committer::new(job.out_dir, identity.clone(), from, containers).map_err(io(job.out_dir))?;
    let folders = (sink.kind == SinkKind::Dir).then(|| FolderWriter::new(job.out_dir, sink));
    let writer = folders.as_ref();
    let producer = Producer {
        loaded,
        translator: Some(translator),
        only: job.channels.as_deref(),
        as_of: Arc::from(as_of.as_str()),
        as_of_unix,
        library: None,
    };
    let bytes_read = AtomicU64::new(0);
    let call = CallContext { as_of: Arc::from(as_of.as_str()), as_of_unix, seed: seed_for(&source_name) };
    let shard_bytes = job.shard_bytes.unwrap_or(DEFAULT_SHARD_BYTES);
    let library;
    let stage = SourceStage {
        translator,
        call,
        input,
        source_name: &source_name,
        skip: resumed_at,
        bytes_read: &bytes_read,
        wrong_bytes: wrong_bytes.as_ref(),
    };
    let pick = |name: &str, head: &[u8]| -> Result<&Arc<Plugin>, String> {
        let id = job
            .translator
            .map(str::to_owned)
            .or_else(|| pick_translator_for(&cfg.job, Path::new(name), head))
            .ok_or_else(|| "no translator reads this type of file (map it in [job.translators])".to_owned())?;
        loaded.plugin_of_kind(&id, Kind::Translator).map_err(|e| e.to_string())
    };
    let files = delivery.map(|delivery| FilesSource {
        delivery,
        name: &source_name,
        pick: &pick,
        first: translator,
        call: stage.call.clone(),
        skip: resumed_at,
        bytes_read: &bytes_read,
        threads,
    });
    let source = if let Some(remote) = job.remote {
        let used: Vec<&String> = match &job.channels {
            Some(only) => only.iter().collect(),
            None => loaded.routing.names().iter().collect(),
        };
        if let Some(spooled) = used.iter().find(|n| loaded.routing.channel(n).is_some_and(|c| c.spool.is_some())) {
            return Err(PipelineError::Config {
                tenant: cfg.id.clone(),
                message: format!(
                    "channel `{spooled}` makes print spools, which a cluster run does not make yet: \
                     run it without --cluster, or leave the channel out with --channels"
                ),
            });
        }
        // Every shard is rendered from the content of this moment: the
        // run is pinned to one revision, whatever is published meanwhile.
        library = loaded.content.current();
        let task = ShardTask {
            run: remote.run.to_owned(),
            index: 0,
            tenant: cfg.id.clone(),
            revision: library.revision().to_string(),
            plugins: loaded.plugins.iter().map(|(id, p)| (id.clone(), p.sha256().to_owned())).collect(),
            translator: translator_id.clone(),
            source_name: source_name.clone(),
            seed_name: None,
            as_of: as_of.clone(),
            channels: job.channels.clone(),
            start: None,
            from: 0,
            to: 0,
            sha256: String::new(),
        };
        let dispatch = Dispatch {
            exchange: remote.exchange,
            task,
            revision: Arc::clone(library.revision()),
            content: library.set(),
            in_flight: remote.in_flight,
        };
        match files {
            Some(files) => Source::RemoteFiles(Box::new(RemoteFilesSource { files, dispatch })),
            None => Source::Remote(Box::new(RemoteSource {
                sharded: ShardedSource { stage, shard_bytes, threads },
                dispatch,
            })),
        }
    } else if let Some(files) = files {
        Source::Files(files)
    } else if translator.can_split() && shard_bytes > 0 {
        Source::Sharded(ShardedSource { stage, shard_bytes, threads })
    } else {
        Source::Whole(stage)
    };
    let progress = |committer: &Committer| {
        if let Some(report) = job.progress {
            report(&Progress {
                records: committer.committed(),
                delivered: committer.tally.delivered,
                rejected: committer.tally.rejected,
                bytes_read: bytes_read.load(Ordering::Relaxed),
                bytes_total: identity.input_bytes,
                resumed_at,
                elapsed: started.elapsed(),
            });
        }
    };

    let source_end = std::thread::scope(|scope| -> Result<SourceEnd, PipelineError> {
        let window = threads * IN_FLIGHT_PER_WORKER;
        // Room for the whole window: the source stage hands over a shard's
        // records in one go instead of sleeping after every few and being
        // woken for each record a worker takes (two context switches a
        // record on a 2-core machine running six threads).
        let (work_tx, work_rx) = crossbeam_channel::bounded::<Work>(window);
        let (done_tx, done_rx) = crossbeam_channel::unbounded::<Done>();
        let (credit_tx, credit_rx) = crossbeam_channel::bounded::<()>(window);
        for _ in 0..window {
            credit_tx.send(()).expect("room for every credit");
        }
        let reader = std::thread::Builder::new()
            .name("tessera-source".into())
            .spawn_scoped(scope, move || {
                let send = move |work| credit_rx.recv().is_ok() && work_tx.send(work).is_ok();
                match source {
                    Source::Whole(stage) => stage.run(send),
                    Source::Sharded(stage) => stage.run(send),
                    Source::Files(stage) => stage.run(send),
                    Source::Remote(stage) => stage.run(send),
                    Source::RemoteFiles(stage) => stage.run(send),
                }
            })
            .map_err(io(job.out_dir))?;
        for n in 0..threads {
            let (work_rx, done_tx, producer) = (work_rx.clone(), done_tx.clone(), &producer);
            std::thread::Builder::new()
                .name(format!("tessera-work-{n}"))
                .spawn_scoped(scope, move || {
                    for work in work_rx {
                        if done_tx.send(producer.handle(work, writer)).is_err() {
                            break;
                        }
                    }
                })
                .map_err(io(job.out_dir))?;
        }
        drop((work_rx, done_tx));
        let mut last_progress = Instant::now();
        // Leaving this closure early drops the receivers and the credits,
        // which stops the source stage and the workers.
        for done in done_rx {
            let committed = committer.accept(done).map_err(io(committer.manifest_path()))?;
            for _ in 0..committed {
                let _ = credit_tx.send(());
            }
            if last_progress.elapsed() >= PROGRESS_EVERY {
                progress(&committer);
                last_progress = Instant::now();
            }
        }
        match reader.join() {
            Ok(Ok(end)) => Ok(end),
            Ok(Err(SourceError::Io(e))) => Err(io(job.input)(e)),
            Ok(Err(SourceError::Closed)) => unreachable!("the committer outlives the source stage"),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })?;
    if committer.committed() != source_end.records || committer.pending() != 0 {
        return Err(PipelineError::Lost { records: source_end.records, committed: committer.committed() });
    }
    committer.checkpoint().map_err(io(job.out_dir))?;
    progress(&committer);
    let spooled = make_spools(loaded, job, &mut committer, &producer_call(&as_of, as_of_unix), threads)?;
    if wrong_bytes.is_some() {
        std::fs::remove_file(&transcoded).map_err(io(&transcoded))?;
    }
    finish(
        loaded,
        job,
        committer,
        Finish {
            source_name,
            as_of,
            translator,
            source_end,
            resumed: resumed.then_some(resumed_at),
            delivered_before,
            threads,
            started,
            spooled,
        },
    )
}

fn producer_call(as_of: &str, as_of_unix: u64) -> CallContext {
    CallContext { as_of: Arc::from(as_of), as_of_unix, seed: 0 }
}

/// The spool stage: every channel with staged letters made into spools
/// ([`crate::spool::stage`]), their letters committed after the records.
fn make_spools(
    loaded: &LoadedTenant,
    job: &BatchJob<'_>,
    committer: &mut Committer,
    as_of: &CallContext,
    threads: usize,
) -> Result<Spooled, PipelineError> {
    let mut spooled = Spooled::default();
    let started = Instant::now();
    for name in committer.spooled_channels() {
        let channel = loaded.routing.channel(&name).ok_or_else(|| PipelineError::Config {
            tenant: loaded.tenant.config.id.clone(),
            message: format!("letters were staged for channel `{name}`, which the tenant no longer defines"),
        })?;
        let (Maker::Plugin { plugin, markup: Some(markup) }, Some(settings)) = (&channel.maker, &channel.spool) else {
            return Err(PipelineError::Config {
                tenant: loaded.tenant.config.id.clone(),
                message: format!("letters were staged for channel `{name}`, which no longer makes spools"),
            });
        };
        let channel = SpooledChannel { name: &name, plugin, metadata: &channel.metadata, settings, markup: *markup };
        let t0 = Instant::now();
        let files = make_channel_spools(job.out_dir, &channel, as_of, threads, &mut |end| committer.spool_end(end))
            .map_err(io(job.out_dir))?;
        tracing::info!(channel = %name, spools = files, took_ms = t0.elapsed().as_millis() as u64, "spools made");
        spooled.files += files;
    }
    committer.flush().map_err(io(job.out_dir))?;
    spooled.took = started.elapsed();
    Ok(spooled)
}

/// What the spool stage did.
#[derive(Default)]
struct Spooled {
    files: u64,
    took: Duration,
}

/// How the source is read: whole, in one session, in shards, or in
/// shards rendered elsewhere.
enum Source<'a> {
    Whole(SourceStage<'a>),
    Sharded(ShardedSource<'a>),
    Files(FilesSource<'a>),
    Remote(Box<RemoteSource<'a>>),
    RemoteFiles(Box<RemoteFilesSource<'a>>),
}

struct Finish<'a> {
    source_name: String,
    as_of: String,
    translator: &'a Plugin,
    source_end: SourceEnd,
    resumed: Option<u64>,
    delivered_before: u64,
    threads: usize,
    started: Instant,
    spooled: Spooled,
}

/// Writes `content.json`, `usage.json` and `report.json`, and marks the run
/// complete by removing `progress.json`.
fn finish(
    loaded: &LoadedTenant,
    job: &BatchJob<'_>,
    committer: Committer,
    f: Finish<'_>,
) -> Result<Report, PipelineError> {
    let cfg = &loaded.tenant.config;
    let out = job.out_dir;
    let tally = &committer.tally;
    let sets: Vec<_> = tally.content_sets.values().collect();
    let content = serde_json::to_vec_pretty(&serde_json::json!({ "sets": sets })).expect("serialises");
    let path = out.join("content.json");
    write_atomic(&path, &content).map_err(io(&path))?;
    let usage = tally.usage.usage(&cfg.id, &f.source_name, &f.as_of);
    let path = out.join("usage.json");
    write_atomic(&path, &serde_json::to_vec_pretty(&usage).expect("usage serialises")).map_err(io(&path))?;
    let mut stray_removed = 0;
    if f.resumed.is_some() {
        let mut extensions = tally.extensions.clone();
        extensions.insert("zip".to_owned());
        stray_removed = remove_stray_outputs(out, &extensions)?;
    }
    let path = out.join(checkpoint::PROGRESS_FILE);
    std::fs::remove_file(&path).map_err(io(&path))?;
    // Only now: until progress.json is gone, a resume makes the spools again from here.
    let staging = out.join(STAGING_DIR);
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }

    let total = f.started.elapsed();
    let stages = committer.stages.summary();
    let timings = Timings {
        translate_ms: stages.translate.total_ms,
        validate_ms: stages.validate.total_ms,
        compose_ms: stages.compose.total_ms,
        format_ms: stages.format.total_ms,
        write_ms: stages.write.total_ms,
        verify_ms: stages.verify.total_ms,
        spool_ms: ms(f.spooled.took),
        total_ms: ms(total),
    };
    let report = Report {
        tenant: cfg.id.clone(),
        input: f.source_name,
        translator: f.translator.name().to_owned(),
        as_of: f.as_of,
        records_in: tally.records_in,
        delivered: tally.delivered,
        spools: f.spooled.files,
        rejected: tally.rejected,
        outputs: tally.outputs,
        outputs_by_channel: tally.by_channel.clone(),
        documents_by_view: tally.by_view.clone(),
        documents_by_variant: tally.by_variant.clone(),
        warnings: tally.warnings.clone(),
        content_revisions: tally.revisions(),
        balanced: tally.records_in == tally.delivered + tally.rejected && tally.records_in == f.source_end.records,
        rejections: tally.first_rejections.clone(),
        fuel: tally.fuel + f.source_end.translator_fuel,
        threads: f.threads,
        shards: f.source_end.shards,
        resumed_at: f.resumed,
        stray_outputs_removed: stray_removed,
        docs_per_sec: (tally.delivered - f.delivered_before) as f64 / total.as_secs_f64().max(1e-9),
        timings,
        stages,
    };
    let json = serde_json::to_vec_pretty(&report).expect("report serialises");
    let path = out.join("report.json");
    write_atomic(&path, &json).map_err(io(&path))?;
    Ok(report)
}

/// After a resume: output files no manifest line lists, left by the
/// interrupted run for records that ended differently this time.
fn remove_stray_outputs(out: &Path, extensions: &std::collections::BTreeSet<String>) -> Result<u64, PipelineError> {
    let manifest = out.join("manifest.jsonl");
    let listed = checkpoint::ListedFiles::read(&manifest).map_err(io(&manifest))?;
    let stray = checkpoint::unlisted_outputs(out, &listed, extensions).map_err(io(out))?;
    for file in &stray {
        std::fs::remove_file(file).map_err(io(file))?;
    }
    Ok(stray.len() as u64)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
