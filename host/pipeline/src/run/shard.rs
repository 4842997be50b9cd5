//! A cluster worker's part of a run: one shard translated, validated,
//! composed, formatted and self-checked, in memory, with the very stages a
//! local run uses ([`Producer`]) — and nothing numbered or written, which
//! the run that cut the source does in shard order (see [`crate::remote`]).
//!
//! A worker renders a shard only with exactly the inputs the run pinned:
//! the tenant, the content revision and every plugin's sha256. Anything
//! else is a refusal with the reason, never a document rendered from other
//! content or other code.

use crate::flow::{Failure, Outcome, Work, WorkItem};
use crate::remote::{
    FileRef, RecordEnd, RemoteFault, RemoteLine, RemoteOutcome, RemotePluginUse, RemoteRecord, RemoteTimes,
    ShardResult, ShardTask, micros,
};
use crate::report::{ManifestLine, Stage};
use crate::run::produce::{Producer, seed_for};
use crate::source::shards::translate_span_each;
use crate::tenant::LoadedTenant;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tessera_cdm::{CdmRecord, parse_as_of};
use tessera_runtime::{CallContext, Kind, TranslateOutcome};

/// Renders shard `task` of `bytes` for `loaded`; `worker` names this
/// worker in the result. The result's frame (header and file bytes) is
/// [`crate::remote::encode_result`]'s. `Err` is a refusal: why this worker
/// cannot render exactly what the run asks.
pub fn render_shard(
    loaded: &LoadedTenant,
    task: &ShardTask,
    bytes: &[u8],
    worker: &str,
) -> Result<(ShardResult, Vec<u8>), String> {
    render_shard_into(loaded, task, bytes, worker, Vec::new())
}

/// [`render_shard`], appending the files' bytes to `files` after clearing
/// it: a worker hands the same buffer to shard after shard, so tens of
/// megabytes are not allocated, grown and zeroed by the kernel every time.
pub fn render_shard_into(
    loaded: &LoadedTenant,
    task: &ShardTask,
    bytes: &[u8],
    worker: &str,
    mut files: Vec<u8>,
) -> Result<(ShardResult, Vec<u8>), String> {
    files.clear();
    check_inputs(loaded, task, bytes)?;
    let translator = loaded.plugin_of_kind(&task.translator, Kind::Translator).map_err(|e| e.to_string())?;
    let start = match &task.start {
        Some(start) => Some(start.cut().ok_or("the shard's start state is not hex")?),
        None => None,
    };
    let as_of_unix = parse_as_of(&task.as_of).map_err(|e| e.to_string())?;
    let as_of: Arc<str> = Arc::from(task.as_of.as_str());
    let call = CallContext {
        as_of: Arc::clone(&as_of),
        as_of_unix,
        seed: seed_for(task.seed_name.as_deref().unwrap_or(&task.source_name)),
    };
    let span = (task.index as usize, task.from, task.to);
    let read_at = |chunk: &mut [u8], at: u64| {
        let from = usize::try_from(at - task.from).unwrap_or(usize::MAX);
        let bytes = bytes.get(from..from + chunk.len()).ok_or_else(|| {
            std::io::Error::other(format!("bytes {at}.. are not in the shard ({}–{})", task.from, task.to))
        })?;
        chunk.copy_from_slice(bytes);
        Ok(())
    };
    let producer = Producer {
        loaded,
        translator: Some(translator),
        only: task.channels.as_deref(),
        as_of,
        as_of_unix,
        library: None,
    };
    let mut out = ResultWriter {
        result: ShardResult {
            run: task.run.clone(),
            index: task.index,
            sha256: task.sha256.clone(),
            worker: worker.to_owned(),
            ..Default::default()
        },
        files,
        maps: Vec::new(),
    };
    // The shard translates on a thread of its own while this one renders
    // what it has translated so far, as a local run's translator and
    // worker threads do: a slot is then a translator and a renderer, the
    // same two threads a local run with one worker thread has.
    let (batches, translated_batches) = crossbeam_channel::bounded::<Vec<(TranslateOutcome, Duration)>>(4);
    let (translated, rendered) = std::thread::scope(|scope| {
        let translating = std::thread::Builder::new()
            .name(format!("tessera-shard-{}", task.index))
            .spawn_scoped(scope, move || {
                translate_span_each(translator, &call, &task.source_name, start.as_ref(), span, read_at, |batch| {
                    batches.send(batch).is_ok()
                })
            })
            .map_err(|e| format!("starting the shard's translator thread: {e}"))?;
        let rendered = render_outcomes(&producer, task, &mut out, translated_batches);
        let translated =
            translating.join().map_err(|_| "internal error: the host panicked while translating the shard")?;
        Ok::<_, String>((translated, rendered))
    })?;
    if let Some(e) = translated.io {
        return Err(format!("reading the shard: {e}"));
    }
    rendered?;
    out.result.fuel = translated.fuel;
    if let Some((fault, offset)) = translated.fault {
        let failure = Failure::fault(Stage::Translate, fault);
        out.result.fault = Some(RemoteFault {
            stage: failure.stage,
            plugin: failure.plugin,
            limit: failure.limit,
            reason: failure.reason,
            offset,
        });
    }
    out.result.content_files = out.maps.into_iter().map(|m| (*m).clone()).collect();
    // A worker killed here has rendered the shard but stored nothing.
    crate::run::checkpoint::crash::point("shard-rendered");
    Ok((out.result, out.files))
}

/// Renders a shard's outcomes into `out` as their batches arrive. `Err`:
/// the shard cannot be rendered as the run asks (dropping `batches` then
/// stops its translation).
fn render_outcomes(
    producer: &Producer<'_>,
    task: &ShardTask,
    out: &mut ResultWriter,
    batches: crossbeam_channel::Receiver<Vec<(TranslateOutcome, Duration)>>,
) -> Result<(), String> {
    for (outcome, share) in batches.into_iter().flatten() {
        match outcome {
            TranslateOutcome::Rejected { code, message, location } => out
                .result
                .outcomes
                .push(RemoteOutcome::Rejected { code, message, location, translate_us: micros(share) }),
            TranslateOutcome::Record { cdm, location } => {
                let document_id = CdmRecord::document_id_of(&cdm);
                let item = WorkItem::Record { cdm, location: location.clone(), translator: None };
                let done = producer.handle(Work { seq: 0, item, translate: share }, None);
                let t = &done.times;
                let times = RemoteTimes {
                    translate: micros(t.translate),
                    validate: t.validate.map(micros),
                    compose: t.compose.map(micros),
                    format: t.format.map(micros),
                    verify: t.verify.map(micros),
                };
                let (identifiers, end) = match done.outcome {
                    Outcome::Rejected(r) => ((r.record.clone(), r.document_id.clone()), RecordEnd::Rejected(r)),
                    Outcome::Delivered { lines, content, files, staged } => {
                        if !staged.is_empty() {
                            return Err(format!(
                                "channel `{}` makes print spools, which a cluster run does not make yet; \
                                 run it without --cluster",
                                staged[0].channel
                            ));
                        }
                        if *content.revision != *task.revision {
                            // The content was reloaded while the shard rendered.
                            return Err(format!(
                                "the content of tenant {} changed to revision {} while the shard rendered; it needs {}",
                                task.tenant, content.revision, task.revision
                            ));
                        }
                        // A delivered record passed validation: its identifiers
                        // are the record's own, as `CdmRecord::identifiers` reads them.
                        let first = lines.first();
                        let ids = (first.map(|l| l.record.clone()), first.map(|l| l.document_id.clone()));
                        let view = (content.view.label_id.clone(), content.view.locale.clone());
                        (ids, out.delivered(lines, files, view, content.assets))
                    }
                };
                let record = RemoteRecord { document_id, identifiers, location, times, end };
                out.result.outcomes.push(RemoteOutcome::Record(Box::new(record)));
            }
        }
    }
    Ok(())
}

/// Why this worker cannot render `task` exactly as the run asks, if it cannot.
fn check_inputs(loaded: &LoadedTenant, task: &ShardTask, bytes: &[u8]) -> Result<(), String> {
    let tenant = &loaded.tenant.config.id;
    if *tenant != task.tenant {
        return Err(format!("this worker loaded tenant {tenant}, the shard is for {}", task.tenant));
    }
    let revision = loaded.content.current().revision().to_string();
    if revision != task.revision {
        return Err(format!(
            "this worker has content revision {revision} of tenant {tenant}; the run is pinned to {}",
            task.revision
        ));
    }
    for (id, sha256) in &task.plugins {
        match loaded.plugins.get(id) {
            None => return Err(format!("this worker has no plugin {id} (the run uses sha256 {sha256})")),
            Some(p) if p.sha256() != sha256 => {
                return Err(format!(
                    "this worker's plugin {} has sha256 {}; the run uses {sha256}",
                    p.name(),
                    p.sha256()
                ));
            }
            Some(_) => {}
        }
    }
    let digest = crate::run::write::sha256_hex(bytes);
    if digest != task.sha256 {
        return Err(format!(
            "shard {} arrived with bytes of sha256 {digest}, not the {} the run sent",
            task.index, task.sha256
        ));
    }
    if bytes.len() as u64 != task.to.saturating_sub(task.from) {
        return Err(format!("shard {} holds {} bytes, not {}–{}", task.index, bytes.len(), task.from, task.to));
    }
    Ok(())
}

/// A result being written: its header, the files' bytes, and the distinct
/// `content_files` maps the lines share.
struct ResultWriter {
    result: ShardResult,
    files: Vec<u8>,
    maps: Vec<Arc<BTreeMap<String, String>>>,
}

impl ResultWriter {
    /// A delivered record's end, its files appended to the frame's bytes.
    fn delivered(
        &mut self,
        lines: Vec<ManifestLine>,
        files: Vec<(String, Vec<u8>)>,
        view: (String, String),
        assets: Vec<tessera_content::Resolution>,
    ) -> RecordEnd {
        let lines = lines.into_iter().map(|l| self.line(l)).collect();
        let files = files
            .into_iter()
            .map(|(name, bytes)| {
                let offset = self.files.len() as u64;
                self.files.extend_from_slice(&bytes);
                FileRef { name, offset, len: bytes.len() as u64 }
            })
            .collect();
        RecordEnd::Delivered { lines, files, view, assets }
    }

    fn line(&mut self, l: ManifestLine) -> RemoteLine {
        // The documents of a view share one map: usually found by pointer.
        let map = match self.maps.iter().position(|m| Arc::ptr_eq(m, &l.content_files) || **m == *l.content_files) {
            Some(i) => i,
            None => {
                self.maps.push(Arc::clone(&l.content_files));
                self.maps.len() - 1
            }
        };
        RemoteLine {
            record: l.record,
            document_id: l.document_id,
            channel: l.channel,
            file: l.file,
            media_type: l.media_type,
            templates: l.templates,
            label: l.label,
            locale: l.locale,
            variant: l.variant,
            content_revision: l.content_revision.to_string(),
            content_view: l.content_view,
            content_files: map,
            plugins: l.plugins.into_iter().map(RemotePluginUse::from).collect(),
            fuel: l.fuel,
            bytes: l.bytes,
            pages: l.pages,
            sha256: l.sha256,
            warnings: l.warnings,
        }
    }
}
