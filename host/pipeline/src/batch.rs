//! A batch run: one source file of one tenant through translate → validate
//! → compose → format → write, with every record ending as outputs or as a
//! rejection, and the accounting checked at the end.
//!
//! A record is delivered only when all of its outputs were produced: they
//! are rendered in memory first and written only if every one succeeded, so
//! no customer gets the HTML of a letter whose print version failed.

use crate::cdm::CdmRecord;
use crate::compose::{ComposeError, FragmentPlugins};
use crate::live::{Canary, LiveContent};
use crate::output::{sha256_hex, valid_extension, write_atomic};
use crate::report::{ManifestLine, PluginUse, Rejection, Report, Stage, Timings};
use crate::store;
use crate::tenant::{Tenant, TenantError};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_content::{RepoError, Resolution, SourceMode};
use tessera_runtime::{
    CallContext, DocumentInput, Kind, LoadError, LoadRequest, Plugin, PluginFault, Runtime, SourceLocation,
    TranslateOutcome,
};

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
        Ok(LoadedTenant { tenant, content: Arc::new(content), plugins, fragments: Arc::new(fragments) })
    }

    fn plugin_of_kind(&self, id: &str, kind: Kind) -> Result<&Arc<Plugin>, PipelineError> {
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

/// One run's parameters.
pub struct BatchJob<'a> {
    /// The source file.
    pub input: &'a Path,
    /// Output folder.
    pub out_dir: &'a Path,
    /// Translator id (default: the tenant's `job.translator`).
    pub translator: Option<&'a str>,
    /// As-of date (default: the tenant's `job.as_of`, else today, UTC).
    pub as_of: Option<&'a str>,
}

/// The translator for a source file: by extension, then by the first
/// non-blank byte, through `[job.translators]`; else `job.translator`.
fn pick_translator(job: &crate::tenant::JobDefaults, input: &Path) -> Option<String> {
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

/// A per-record seed: reruns of the same record see the same randomness.
fn seed_for(document_id: &str) -> u64 {
    let digest = Sha256::digest(document_id.as_bytes());
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// What one record produced.
struct Delivery {
    files: Vec<(String, Vec<u8>)>,
    lines: Vec<ManifestLine>,
}

/// A record that did not make it, before it is written down.
struct Failure {
    stage: Stage,
    reason: String,
    field: Option<String>,
    plugin: Option<String>,
    limit: Option<String>,
}

impl Failure {
    fn plain(stage: Stage, reason: String) -> Failure {
        Failure { stage, reason, field: None, plugin: None, limit: None }
    }

    fn fault(stage: Stage, fault: PluginFault) -> Failure {
        Failure {
            stage,
            plugin: Some(fault.plugin.clone()),
            limit: fault.kind.limit().map(str::to_owned),
            reason: fault.to_string(),
            field: None,
        }
    }
}

/// Runs one source file of a loaded tenant.
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
    let formatters: Vec<(String, Arc<Plugin>)> = cfg
        .outputs
        .formatters
        .iter()
        .map(|f| loaded.plugin_of_kind(&f.plugin, Kind::Formatter).map(|p| (f.channel.clone(), Arc::clone(p))))
        .collect::<Result<_, _>>()?;
    let as_of = job.as_of.map(str::to_owned).or_else(|| cfg.job.as_of.clone()).unwrap_or_else(today);
    let as_of_unix = parse_as_of(&as_of)?;
    std::fs::create_dir_all(job.out_dir).map_err(io(job.out_dir))?;

    let mut run = Run {
        loaded,
        formatters,
        translator: Arc::clone(translator),
        as_of: Arc::from(as_of.as_str()),
        as_of_unix,
        out_dir: job.out_dir,
        manifest: Vec::new(),
        rejections: Vec::new(),
        seen: HashSet::new(),
        records_in: 0,
        delivered: 0,
        by_channel: BTreeMap::new(),
        timings: Timings::default(),
        fuel: 0,
        content_sets: BTreeMap::new(),
        by_view: BTreeMap::new(),
    };
    let source_name = job.input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    run.translate_source(job.input, &source_name)?;

    write_lines(&job.out_dir.join("manifest.jsonl"), &run.manifest)?;
    write_content_sets(&job.out_dir.join("content.json"), &run.content_sets)?;
    let usage = crate::usage::Usage::from_manifest(&cfg.id, &source_name, &as_of, &run.manifest);
    let usage_path = job.out_dir.join("usage.json");
    write_atomic(&usage_path, &serde_json::to_vec_pretty(&usage).expect("usage serialises"))
        .map_err(io(&usage_path))?;
    write_lines(&job.out_dir.join("rejected.jsonl"), &run.rejections)?;
    let total = started.elapsed();
    run.timings.total_ms = ms(total);
    let rejected = run.rejections.len() as u64;
    let report = Report {
        tenant: cfg.id.clone(),
        input: source_name,
        translator: translator.name().to_owned(),
        as_of,
        records_in: run.records_in,
        delivered: run.delivered,
        rejected,
        outputs: run.manifest.len() as u64,
        outputs_by_channel: run.by_channel,
        documents_by_view: run.by_view,
        content_revisions: run.content_sets.keys().map(|(revision, _)| revision.clone()).collect(),
        balanced: run.records_in == run.delivered + rejected,
        rejections: run.rejections,
        timings: run.timings,
        docs_per_sec: run.delivered as f64 / total.as_secs_f64().max(1e-9),
        fuel: run.fuel,
    };
    let json = serde_json::to_vec_pretty(&report).expect("report serialises");
    let path = job.out_dir.join("report.json");
    write_atomic(&path, &json).map_err(io(&path))?;
    Ok(report)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn write_lines<T: serde::Serialize>(path: &Path, items: &[T]) -> Result<(), PipelineError> {
    let mut buf = BufWriter::new(Vec::new());
    for item in items {
        serde_json::to_writer(&mut buf, item).expect("serialises");
        buf.write_all(b"\n").expect("in memory");
    }
    let bytes = buf.into_inner().expect("in memory");
    write_atomic(path, &bytes).map_err(io(path))
}

struct Run<'a> {
    loaded: &'a LoadedTenant,
    formatters: Vec<(String, Arc<Plugin>)>,
    translator: Arc<Plugin>,
    as_of: Arc<str>,
    as_of_unix: u64,
    out_dir: &'a Path,
    manifest: Vec<ManifestLine>,
    rejections: Vec<Rejection>,
    seen: HashSet<String>,
    records_in: u64,
    delivered: u64,
    by_channel: BTreeMap<String, u64>,
    timings: Timings,
    fuel: u64,
    /// (revision, view) → the files and chains of every content view used.
    content_sets: BTreeMap<(String, String), Vec<Resolution>>,
    by_view: BTreeMap<String, u64>,
}

/// `content.json`: for every (revision, view) a run used, each file with its
/// resolution chain — what `tessera content which` reads.
fn write_content_sets(path: &Path, sets: &BTreeMap<(String, String), Vec<Resolution>>) -> Result<(), PipelineError> {
    let sets: Vec<serde_json::Value> = sets
        .iter()
        .map(|((revision, view), files)| serde_json::json!({ "revision": revision, "view": view, "files": files }))
        .collect();
    let json = serde_json::to_vec_pretty(&serde_json::json!({ "sets": sets })).expect("serialises");
    write_atomic(path, &json).map_err(io(path))
}

impl Run<'_> {
    fn call_context(&self, seed: u64) -> CallContext {
        CallContext { as_of: Arc::clone(&self.as_of), as_of_unix: self.as_of_unix, seed }
    }

    fn translate_source(&mut self, input: &Path, source_name: &str) -> Result<(), PipelineError> {
        let mut file = std::fs::File::open(input).map_err(io(input))?;
        let translator = Arc::clone(&self.translator);
        let t0 = Instant::now();
        let mut session = match translator.translate(&self.call_context(seed_for(source_name)), source_name) {
            Ok(s) => s,
            Err(fault) => {
                self.timings.translate_ms += ms(t0.elapsed());
                self.reject_source_rest(fault, source_name, 0);
                return Ok(());
            }
        };
        self.timings.translate_ms += ms(t0.elapsed());
        let mut chunk = vec![0u8; CHUNK_BYTES];
        let mut offset = 0u64;
        loop {
            let n = file.read(&mut chunk).map_err(io(input))?;
            if n == 0 {
                break;
            }
            let t0 = Instant::now();
            let result = session.feed(&chunk[..n]);
            self.timings.translate_ms += ms(t0.elapsed());
            match result {
                Ok(outcomes) => outcomes.into_iter().for_each(|o| self.outcome(o)),
                Err(fault) => {
                    self.fuel += session.usage().fuel;
                    self.reject_source_rest(fault, source_name, offset);
                    return Ok(());
                }
            }
            offset += n as u64;
        }
        let t0 = Instant::now();
        let result = session.finish();
        self.timings.translate_ms += ms(t0.elapsed());
        match result {
            Ok((outcomes, usage)) => {
                self.fuel += usage.fuel;
                outcomes.into_iter().for_each(|o| self.outcome(o));
            }
            Err(fault) => self.reject_source_rest(fault, source_name, offset),
        }
        Ok(())
    }

    /// The translator died: what it had not yet returned is one rejection,
    /// located at the byte offset where the failing chunk started.
    fn reject_source_rest(&mut self, fault: PluginFault, source_name: &str, offset: u64) {
        self.records_in += 1;
        let mut failure = Failure::fault(Stage::Translate, fault);
        failure.reason = format!("the rest of the source was not translated: {}", failure.reason);
        let location = SourceLocation {
            source: Some(source_name.to_owned()),
            field: Some(format!("byte {offset} onwards")),
            ..Default::default()
        };
        self.reject(None, Some(location), failure);
    }

    fn outcome(&mut self, outcome: TranslateOutcome) {
        self.records_in += 1;
        match outcome {
            TranslateOutcome::Rejected { code, message, location } => {
                let failure = Failure {
                    field: location.as_ref().and_then(|l| l.field.clone()),
                    plugin: Some(self.translator.name().to_owned()),
                    ..Failure::plain(Stage::Translate, format!("{code}: {message}"))
                };
                self.reject(None, location, failure);
            }
            TranslateOutcome::Record { cdm, location } => self.record(&cdm, location),
        }
    }

    fn record(&mut self, cdm: &str, location: Option<SourceLocation>) {
        let t0 = Instant::now();
        let parsed = CdmRecord::parse(cdm);
        self.timings.validate_ms += ms(t0.elapsed());
        let record = match parsed {
            Ok(r) => r,
            Err(e) => {
                // The translator's output broke the schema: its record is
                // named by its identifiers, the rest of it is not repeated.
                let failure = Failure {
                    field: Some(e.path.clone()),
                    plugin: Some(self.translator.name().to_owned()),
                    ..Failure::plain(Stage::Validate, e.to_string())
                };
                self.reject_as(CdmRecord::identifiers(cdm), location, failure, Some(e.rule));
                return;
            }
        };
        if !self.seen.insert(record.document_id.clone()) {
            let failure = Failure {
                field: Some("$.reference.document_id".into()),
                ..Failure::plain(
                    Stage::Validate,
                    format!("document id {} was already delivered in this run", record.document_id),
                )
            };
            return self.reject(Some(&record), location, failure);
        }
        match self.produce(&record) {
            Ok(delivery) => {
                let t0 = Instant::now();
                for (name, bytes) in &delivery.files {
                    let path = self.out_dir.join(name);
                    if let Err(e) = write_atomic(&path, bytes) {
                        for (written, _) in &delivery.files {
                            let _ = std::fs::remove_file(self.out_dir.join(written));
                        }
                        self.timings.write_ms += ms(t0.elapsed());
                        let failure = Failure::plain(Stage::Write, format!("{}: {e}", path.display()));
                        return self.reject(Some(&record), location, failure);
                    }
                }
                self.timings.write_ms += ms(t0.elapsed());
                if let Some(line) = delivery.lines.first() {
                    *self.by_view.entry(line.content_view.clone()).or_default() += 1;
                }
                for line in delivery.lines {
                    *self.by_channel.entry(line.channel.clone()).or_default() += 1;
                    self.fuel += line.fuel;
                    self.manifest.push(line);
                }
                self.delivered += 1;
            }
            Err(failure) => self.reject(Some(&record), location, failure),
        }
    }

    fn reject(&mut self, record: Option<&CdmRecord>, location: Option<SourceLocation>, failure: Failure) {
        let ids = (record.map(|r| r.customer_ref.clone()), record.map(|r| r.document_id.clone()));
        self.reject_as(ids, location, failure, None);
    }

    /// Records a rejection of the record with these (customer ref,
    /// document id), and the schema rule when validation refused it.
    fn reject_as(
        &mut self,
        (record, document_id): (Option<String>, Option<String>),
        location: Option<SourceLocation>,
        failure: Failure,
        rule: Option<String>,
    ) {
        self.rejections.push(Rejection {
            record,
            document_id,
            source: location,
            stage: failure.stage,
            field: failure.field,
            rule,
            plugin: failure.plugin,
            limit: failure.limit,
            reason: failure.reason,
        });
    }

    /// Composes and formats every output of a record, in memory.
    fn produce(&mut self, record: &CdmRecord) -> Result<Delivery, Failure> {
        let cfg = &self.loaded.tenant.config;
        let label = record.str_at("production", "label").unwrap_or(&cfg.default_label).to_owned();
        let locale = record
            .str_at("production", "locale")
            .or_else(|| record.str_at("personal", "language"))
            .unwrap_or(&cfg.default_locale)
            .to_owned();
        let template = record.str_at("production", "template").unwrap_or("invoice").to_owned();
        let call = self.call_context(seed_for(&record.document_id));
        let t0 = Instant::now();
        // One library per document: whatever reloads meanwhile, this
        // document comes from one snapshot.
        let library = self.loaded.content.current();
        let composed = library.compose(record, &template, &label, &locale, &call, &self.loaded.fragments);
        self.timings.compose_ms += ms(t0.elapsed());
        let composed = composed.map_err(|e| match e {
            ComposeError::Fragment(fault) => Failure::fault(Stage::Compose, fault),
            other => Failure::plain(Stage::Compose, other.to_string()),
        })?;
        self.loaded.content.offer_canary(|| Canary {
            record: record.clone(),
            template: template.clone(),
            fragments: Arc::clone(&self.loaded.fragments),
            call: call.clone(),
        });
        let set = self
            .content_sets
            .entry((composed.revision.to_string(), composed.view.key().to_owned()))
            .or_insert_with(|| composed.view.files().to_vec());
        for asset in &composed.assets {
            if !set.iter().any(|f| f.path == asset.path) {
                set.push(asset.clone());
            }
        }

        let mut fragment_uses: BTreeMap<String, u64> = BTreeMap::new();
        for (id, usage) in &composed.fragment_calls {
            *fragment_uses.entry(id.clone()).or_default() += usage.fuel;
        }
        let uses = |extra: Option<(&Plugin, u64)>| -> Vec<PluginUse> {
            let mut list = vec![plugin_use(&self.translator, 0)];
            for (id, fuel) in &fragment_uses {
                if let Some(p) = self.loaded.fragments.get(id) {
                    list.push(plugin_use(p, *fuel));
                }
            }
            if let Some((p, fuel)) = extra {
                list.push(plugin_use(p, fuel));
            }
            list
        };
        let line = |channel: &str, file: &str, media_type: &str, bytes: &[u8], plugins: Vec<PluginUse>| ManifestLine {
            record: record.customer_ref.clone(),
            document_id: record.document_id.clone(),
            channel: channel.to_owned(),
            file: file.to_owned(),
            media_type: media_type.to_owned(),
            templates: composed.templates.clone(),
            label: label.clone(),
            locale: locale.clone(),
            content_revision: Arc::clone(&composed.revision),
            content_view: composed.view.key().to_owned(),
            content_files: Arc::clone(&composed.files),
            fuel: plugins.iter().map(|p| p.fuel).sum(),
            plugins,
            bytes: bytes.len() as u64,
            pages: crate::usage::pages(media_type, bytes),
            sha256: sha256_hex(bytes),
        };

        let mut delivery = Delivery { files: Vec::new(), lines: Vec::new() };
        if cfg.outputs.html {
            let file = format!("{}.html", record.document_id);
            let bytes = composed.html.as_bytes().to_vec();
            delivery.lines.push(line("html", &file, "text/html; charset=utf-8", &bytes, uses(None)));
            delivery.files.push((file, bytes));
        }
        let label_name = composed.view.label.name.clone();
        for (channel, formatter) in &self.formatters {
            let mut metadata: Vec<(String, String)> =
                cfg.outputs.metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            metadata.push(("label.name".into(), label_name.clone()));
            metadata.push(("locale".into(), locale.clone()));
            let input = DocumentInput {
                channel: channel.clone(),
                document_id: record.document_id.clone(),
                html: composed.html.clone(),
                text: composed.text.clone(),
                subject: composed.subject.clone(),
                metadata,
            };
            let t0 = Instant::now();
            let result = formatter.format(&call, input);
            self.timings.format_ms += ms(t0.elapsed());
            let (formatted, usage) = result.map_err(|fault| Failure::fault(Stage::Format, fault))?;
            if !valid_extension(&formatted.extension) {
                return Err(Failure {
                    plugin: Some(formatter.name().to_owned()),
                    ..Failure::plain(
                        Stage::Format,
                        format!("plugin {} returned an invalid file extension", formatter.name()),
                    )
                });
            }
            let file = format!("{}.{}", record.document_id, formatted.extension);
            if delivery.files.iter().any(|(f, _)| *f == file) {
                return Err(Failure::plain(
                    Stage::Format,
                    format!("two outputs of this document would be named {file}"),
                ));
            }
            delivery.lines.push(line(
                channel,
                &file,
                &formatted.media_type,
                &formatted.bytes,
                uses(Some((formatter, usage.fuel))),
            ));
            delivery.files.push((file, formatted.bytes));
        }
        Ok(delivery)
    }
}

fn plugin_use(p: &Plugin, fuel: u64) -> PluginUse {
    PluginUse { id: p.id().to_owned(), version: p.version().to_owned(), sha256: p.sha256().to_owned(), fuel }
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
