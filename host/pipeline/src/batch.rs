//! A batch run: one source file of one tenant through translate → validate
//! → compose → format → write, with every record ending as outputs or as a
//! rejection, and the accounting checked at the end.
//!
//! ```text
//! source stage (1 thread) ──bounded──► workers (1 per core) ──► committer (this thread)
//!   translate + validate                compose, format, write    input order: manifest,
//!   + duplicate check                   the document's files      rejections, tally, checkpoints
//! ```
//!
//! At most `64 × workers` records are in flight between reading and
//! committing (credits returned by the committer), so memory stays flat
//! however long the input and however slow one record is.

use crate::channels::routing::Routing;
use crate::checkpoint::{self, Checkpoint, RunIdentity};
use crate::commit::Committer;
use crate::compose::FragmentPlugins;
use crate::flow::{Done, Work};
use crate::live::LiveContent;
use crate::output::write_atomic;
use crate::produce::{Producer, seed_for};
use crate::report::{Report, Timings};
use crate::scenario::Scenario;
use crate::source::{SourceEnd, SourceError, SourceStage};
use crate::store;
use crate::tally::Tally;
use crate::tenant::{Tenant, TenantError};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tessera_content::{RepoError, SourceMode};
use tessera_runtime::{CallContext, Kind, LoadError, LoadRequest, Plugin, Runtime};

/// Bytes handed to the translator per call.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Why a run could not start or finish (record-level problems are
/// rejections, not errors).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// `tenant.toml` is unusable.
    #[error(transparent)]
    Tenant(#[from] TenantError),
    /// The content does not load.
    #[error("content of tenant `{tenant}`: {error}")]
    Content {
        /// Tenant id.
        tenant: String,
        /// The first content error (boxed: it carries paths and source lines).
        error: Box<RepoError>,
    },
    /// A plugin the tenant grants is not in any plugin folder.
    #[error("tenant `{tenant}` grants plugin {id}@{version}, but no package `{id}-{version}` is in {searched}")]
    PluginNotFound {
        /// Tenant id.
        tenant: String,
        /// Plugin id.
        id: String,
        /// Version.
        version: String,
        /// Folders searched.
        searched: String,
    },
    /// A plugin was refused at load.
    #[error("tenant `{tenant}`: {error}")]
    Load {
        /// Tenant id.
        tenant: String,
        /// Why (boxed: load errors carry paths and digests).
        error: Box<LoadError>,
    },
    /// The run names a plugin of the wrong kind or one not granted.
    #[error("tenant `{tenant}`: {message}")]
    Config {
        /// Tenant id.
        tenant: String,
        /// What is wrong.
        message: String,
    },
    /// Reading the input or writing the output folder failed.
    #[error("{path}: {error}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The as-of date is not a date.
    #[error("as-of date `{0}` is not YYYY-MM-DD")]
    AsOf(String),
    /// `--resume` cannot continue the run in this folder.
    #[error("cannot resume the run in {out_dir}: {message}")]
    Resume {
        /// The output folder.
        out_dir: PathBuf,
        /// Why.
        message: String,
    },
    /// Records went missing between the stages (a bug: the run is not
    /// reported as complete).
    #[error("the source gave {records} records but {committed} were committed")]
    Lost {
        /// Records numbered by the source stage.
        records: u64,
        /// Records committed.
        committed: u64,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PipelineError + '_ {
    move |error| PipelineError::Io { path: path.to_path_buf(), error }
}

/// A tenant with its content compiled and its plugins loaded.
pub struct LoadedTenant {
    /// The tenant.
    pub tenant: Tenant,
    /// Its content, live (hot reload swaps it).
    pub content: Arc<LiveContent>,
    /// Every plugin it grants, by id.
    pub plugins: HashMap<String, Arc<Plugin>>,
    /// Its fragment plugins.
    pub fragments: Arc<FragmentPlugins>,
    /// Its channels and scenario.
    pub routing: Arc<Routing>,
    /// The payee accounts its documents may name (`[payment]`).
    pub payment: Arc<crate::truth::PaymentPolicy>,
}

impl LoadedTenant {
    /// Loads `tenant.toml`, the content and every granted plugin; any
    /// refusal stops here, before a single document is rendered.
    pub fn load(runtime: &Runtime, tenant_dir: &Path, plugin_roots: &[PathBuf]) -> Result<LoadedTenant, PipelineError> {
        Self::load_from(runtime, tenant_dir, plugin_roots, None)
    }

    /// Like [`Self::load`], with the content read in `mode` instead of the
    /// tenant's configured one.
    pub fn load_from(
        runtime: &Runtime,
        tenant_dir: &Path,
        plugin_roots: &[PathBuf],
        mode: Option<SourceMode>,
    ) -> Result<LoadedTenant, PipelineError> {
        let tenant = Tenant::load(tenant_dir)?;
        let id = tenant.config.id.clone();
        let content = tenant
            .content_source(mode)
            .and_then(LiveContent::load)
            .map_err(|error| PipelineError::Content { tenant: id.clone(), error: Box::new(error) })?;
        if content.current().label(&tenant.config.default_label).is_none() {
            return Err(PipelineError::Config {
                tenant: id,
                message: format!("default_label `{}` is not in any layer's labels/", tenant.config.default_label),
            });
        }
        // Plugins read assets through their grant from the tenant's own
        // assets folder on disk.
        let assets = tenant.content_dir().join("assets");
        let mut plugins = HashMap::new();
        for grant in &tenant.config.plugins {
            let dir = store::find_package(plugin_roots, &grant.id, &grant.version).ok_or_else(|| {
                PipelineError::PluginNotFound {
                    tenant: id.clone(),
                    id: grant.id.clone(),
                    version: grant.version.clone(),
                    searched: store::describe(plugin_roots),
                }
            })?;
            let plugin = runtime
                .load(LoadRequest { tenant: &id, package_dir: &dir, grant, assets_root: Some(&assets) })
                .map_err(|error| PipelineError::Load { tenant: id.clone(), error: Box::new(error) })?;
            plugins.insert(grant.id.clone(), Arc::new(plugin));
        }
        let fragments: FragmentPlugins = plugins
            .iter()
            .filter(|(_, p)| p.kind() == Kind::Fragment)
            .map(|(k, p)| (k.clone(), Arc::clone(p)))
            .collect();
        let scenario = match tenant.scenario_path() {
            Some(path) => Some(
                Scenario::load(&path, &channel_names(&tenant.config))
                    .map_err(|e| PipelineError::Config { tenant: id.clone(), message: e.to_string() })?,
            ),
            None => None,
        };
        let routing = Routing::new(&tenant.config, &plugins, scenario)
            .map_err(|e| PipelineError::Config { tenant: id.clone(), message: e.to_string() })?;
        let payment = crate::truth::PaymentPolicy::from_list(
            &tenant.config.payment.allowed_ibans,
            tenant.config.payment.require_valid_iban,
        )
        .map_err(|message| PipelineError::Config { tenant: id.clone(), message })?;
        Ok(LoadedTenant {
            payment: Arc::new(payment),
            tenant,
            content: Arc::new(content),
            plugins,
            fragments: Arc::new(fragments),
            routing: Arc::new(routing),
        })
    }

    /// The as-of date of a job: `explicit`, else the tenant's `job.as_of`,
    /// else today (UTC).
    pub(crate) fn as_of(&self, explicit: Option<&str>) -> String {
        explicit.map(str::to_owned).or_else(|| self.tenant.config.job.as_of.clone()).unwrap_or_else(today)
    }

    pub(crate) fn plugin_of_kind(&self, id: &str, kind: Kind) -> Result<&Arc<Plugin>, PipelineError> {
        let tenant = self.tenant.config.id.clone();
        let plugin = self.plugins.get(id).ok_or_else(|| PipelineError::Config {
            tenant: tenant.clone(),
            message: format!("plugin `{id}` is not granted"),
        })?;
        if plugin.kind() != kind {
            return Err(PipelineError::Config {
                tenant,
                message: format!("plugin `{id}` is a {}, not a {kind}", plugin.kind()),
            });
        }
        Ok(plugin)
    }
}

/// Every channel name a tenant defines: its fixed outputs and `[channels]`.
fn channel_names(cfg: &crate::tenant::TenantConfig) -> std::collections::BTreeSet<String> {
    let mut names: std::collections::BTreeSet<String> = cfg.channels.keys().cloned().collect();
    if cfg.outputs.html {
        names.insert("html".into());
    }
    names.extend(cfg.outputs.formatters.iter().map(|f| f.channel.clone()));
    names
}

/// One run's parameters.
pub struct BatchJob<'a> {
    /// The source file.
    pub input: &'a Path,
    /// Output folder.
    pub out_dir: &'a Path,
    /// Translator id (default: by the file's type, else the tenant's `job.translator`).
    pub translator: Option<&'a str>,
    /// As-of date (default: the tenant's `job.as_of`, else today, UTC).
    pub as_of: Option<&'a str>,
    /// Worker threads composing and formatting (default: one per core).
    pub threads: Option<usize>,
    /// Finish the interrupted run in `out_dir` instead of starting over.
    pub resume: bool,
    /// Called on the committing thread about every 100 ms, and once at the end.
    pub progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
    /// Send every record to exactly these channels instead of the
    /// scenario's (or the fixed outputs') choice.
    pub channels: Option<Vec<String>>,
}

impl<'a> BatchJob<'a> {
    /// A run of `input` into `out_dir` with the tenant's defaults.
    pub fn new(input: &'a Path, out_dir: &'a Path) -> BatchJob<'a> {
        BatchJob {
            input,
            out_dir,
            translator: None,
            as_of: None,
            threads: None,
            resume: false,
            progress: None,
            channels: None,
        }
    }
}

/// Where a run is, for a progress display.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Records committed (delivered + rejected), including those an
    /// interrupted run committed before.
    pub records: u64,
    /// Delivered so far.
    pub delivered: u64,
    /// Rejected so far.
    pub rejected: u64,
    /// Source bytes read by the translator.
    pub bytes_read: u64,
    /// Source size.
    pub bytes_total: u64,
    /// Records committed by an interrupted run before this one resumed.
    pub resumed_at: u64,
    /// Since this run started.
    pub elapsed: Duration,
}

/// How often progress is reported.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// Records in flight (read but not committed) per worker: bounds memory
/// whatever a slow record holds up.
const IN_FLIGHT_PER_WORKER: usize = 64;

/// The translator for a source file: by extension, then by the first
/// non-blank byte, through `[job.translators]`; else `job.translator`.
pub(crate) fn pick_translator(job: &crate::tenant::JobDefaults, input: &Path) -> Option<String> {
    let by_extension = input.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let sniffed = || -> Option<String> {
        let mut head = [0u8; 512];
        let n = std::fs::File::open(input).and_then(|mut f| f.read(&mut head)).ok()?;
        let text = head[..n].strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head[..n]);
        let first = text.iter().find(|b| !b.is_ascii_whitespace())?;
        Some(
            match first {
                b'{' | b'[' => "json",
                b'<' => "xml",
                _ => "csv",
            }
            .to_owned(),
        )
    };
    by_extension
        .and_then(|ext| job.translators.get(&ext).cloned())
        .or_else(|| sniffed().and_then(|kind| job.translators.get(&kind).cloned()))
        .or_else(|| job.translator.clone())
}

/// A `YYYY-MM-DD` date as seconds since the Unix epoch at 00:00 UTC.
pub fn parse_as_of(text: &str) -> Result<u64, PipelineError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format).map_err(|_| PipelineError::AsOf(text.to_owned()))?;
    u64::try_from(date.midnight().assume_utc().unix_timestamp()).map_err(|_| PipelineError::AsOf(text.to_owned()))
}

fn today() -> String {
    let now = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", now.year(), u8::from(now.month()), now.day())
}

/// The identity of a run of `input` (what a resume must match).
fn identity(
    tenant: &str,
    input: &Path,
    source_name: &str,
    translator: &Plugin,
    as_of: &str,
) -> Result<RunIdentity, PipelineError> {
    let meta = std::fs::metadata(input).map_err(io(input))?;
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Ok(RunIdentity {
        tenant: tenant.to_owned(),
        input: source_name.to_owned(),
        input_bytes: meta.len(),
        input_mtime_ns: mtime_ns,
        translator: translator.name().to_owned(),
        translator_sha256: translator.sha256().to_owned(),
        as_of: as_of.to_owned(),
        channels: String::new(),
    })
}

/// Where the committer starts: at the interrupted run's checkpoint, or at
/// zero with the run files emptied.
fn starting_point(job: &BatchJob<'_>, identity: &RunIdentity) -> Result<(Checkpoint, bool), PipelineError> {
    let out = job.out_dir;
    let problem = |message: String| PipelineError::Resume { out_dir: out.to_path_buf(), message };
    checkpoint::remove_temporaries(out).map_err(io(out))?;
    if job.resume {
        match Checkpoint::read(out).map_err(problem)? {
            Some(from) => {
                let differences = from.identity.differences(identity);
                if !differences.is_empty() {
                    return Err(problem(format!(
                        "the interrupted run was of other input: {}; start over without --resume",
                        differences.join("; ")
                    )));
                }
                for (file, len) in [("manifest.jsonl", from.manifest_bytes), ("rejected.jsonl", from.rejected_bytes)] {
                    let path = out.join(file);
                    checkpoint::truncate(&path, len).map_err(io(&path))?;
                }
                return Ok((from, true));
            }
            None if out.join("report.json").is_file() => {
                return Err(problem("that run finished (report.json is there, progress.json is not)".into()));
            }
            // Killed before its first checkpoint: nothing was committed.
            None => {}
        }
    }
    let start = Checkpoint {
        version: checkpoint::CHECKPOINT_VERSION,
        identity: identity.clone(),
        records: 0,
        manifest_bytes: 0,
        rejected_bytes: 0,
        tally: Tally::default(),
    };
    // The checkpoint first: from here on a kill leaves a resumable run.
    start.write(out).map_err(io(out))?;
    for file in ["manifest.jsonl", "rejected.jsonl", "report.json", "usage.json", "content.json"] {
        let path = out.join(file);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&path)(e)),
            _ => {}
        }
    }
    Ok((start, false))
}

/// Runs one source file of a loaded tenant: the source stage on its own
/// thread, `threads` workers, and the committer on this thread.
pub fn run_batch(loaded: &LoadedTenant, job: &BatchJob<'_>) -> Result<Report, PipelineError> {
    let started = Instant::now();
    let cfg = &loaded.tenant.config;
    let translator_id = match job.translator {
        Some(t) => t.to_owned(),
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
    identity.channels = job.channels.as_ref().map(|c| c.join(",")).unwrap_or_default();
    let (from, resumed) = starting_point(job, &identity)?;
    let resumed_at = from.records;
    let delivered_before = from.tally.delivered;
    let threads = job.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);

    let mut committer = Committer::new(job.out_dir, identity.clone(), from).map_err(io(job.out_dir))?;
    let producer = Producer {
        loaded,
        translator: Some(translator),
        only: job.channels.as_deref(),
        as_of: Arc::from(as_of.as_str()),
        as_of_unix,
        out_dir: job.out_dir,
    };
    let bytes_read = AtomicU64::new(0);
    let source = SourceStage {
        translator,
        call: CallContext { as_of: Arc::from(as_of.as_str()), as_of_unix, seed: seed_for(&source_name) },
        input: job.input,
        source_name: &source_name,
        skip: resumed_at,
        bytes_read: &bytes_read,
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
        let (work_tx, work_rx) = crossbeam_channel::bounded::<Work>(threads * 4);
        let (done_tx, done_rx) = crossbeam_channel::unbounded::<Done>();
        let (credit_tx, credit_rx) = crossbeam_channel::bounded::<()>(window);
        for _ in 0..window {
            credit_tx.send(()).expect("room for every credit");
        }
        let reader = std::thread::Builder::new()
            .name("tessera-source".into())
            .spawn_scoped(scope, move || source.run(move |work| credit_rx.recv().is_ok() && work_tx.send(work).is_ok()))
            .map_err(io(job.out_dir))?;
        for n in 0..threads {
            let (work_rx, done_tx, producer) = (work_rx.clone(), done_tx.clone(), &producer);
            std::thread::Builder::new()
                .name(format!("tessera-work-{n}"))
                .spawn_scoped(scope, move || {
                    for work in work_rx {
                        if done_tx.send(producer.handle(work)).is_err() {
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
        },
    )
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
        stray_removed = remove_stray_outputs(out, &tally.extensions)?;
    }
    let path = out.join(checkpoint::PROGRESS_FILE);
    std::fs::remove_file(&path).map_err(io(&path))?;

    let total = f.started.elapsed();
    let stages = committer.stages.summary();
    let timings = Timings {
        translate_ms: stages.translate.total_ms,
        validate_ms: stages.validate.total_ms,
        compose_ms: stages.compose.total_ms,
        format_ms: stages.format.total_ms,
        write_ms: stages.write.total_ms,
        verify_ms: stages.verify.total_ms,
        total_ms: ms(total),
    };
    let report = Report {
        tenant: cfg.id.clone(),
        input: f.source_name,
        translator: f.translator.name().to_owned(),
        as_of: f.as_of,
        records_in: tally.records_in,
        delivered: tally.delivered,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_translator_follows_the_extension_then_the_content_then_the_default() {
        let d = tempfile::tempdir().unwrap();
        let job = crate::tenant::JobDefaults {
            translator: Some("fallback".into()),
            translators: [("csv", "c"), ("json", "j"), ("xml", "x")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            ..Default::default()
        };
        let file = |name: &str, text: &[u8]| {
            let p = d.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        assert_eq!(pick_translator(&job, &file("a.XML", b"anything")).as_deref(), Some("x"));
        assert_eq!(pick_translator(&job, &file("export.dat", b"\xEF\xBB\xBF  \n[{}]")).as_deref(), Some("j"));
        assert_eq!(pick_translator(&job, &file("invoice.txt", b"<?xml version=\"1.0\"?>")).as_deref(), Some("x"));
        assert_eq!(pick_translator(&job, &file("rows.dat", b"id;name")).as_deref(), Some("c"));
        let no_map = crate::tenant::JobDefaults { translator: Some("fallback".into()), ..Default::default() };
        assert_eq!(pick_translator(&no_map, &file("b.json", b"{}")).as_deref(), Some("fallback"));
    }
}
