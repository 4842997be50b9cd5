//! The worker stage, one per core: validates a record against the CDM
//! schema, composes it with the live content, runs the formatter plugins, and writes the document's
//! files — all of them or none.
//!
//! A document's outputs are rendered in memory first and written only when
//! every one succeeded, so no customer gets the HTML of a letter whose print
//! version failed. Each document takes the live content once: whatever
//! reloads meanwhile, it comes from one snapshot. A panic while producing a
//! document rejects that document instead of taking the run down.

use crate::batch::LoadedTenant;
use crate::cdm::CdmRecord;
use crate::compose::{ComposeError, Renditions};
use crate::flow::{ContentUse, Done, Failure, Outcome, StageTimes, Work, WorkItem, rejection};
use crate::live::Canary;
use crate::output::{sha256_hex, valid_extension, write_atomic};
use crate::report::{ManifestLine, PluginUse, Stage};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tessera_runtime::{CallContext, DocumentInput, Plugin, SourceLocation};

/// A per-record seed: reruns of the same record see the same randomness.
pub(crate) fn seed_for(document_id: &str) -> u64 {
    let digest = Sha256::digest(document_id.as_bytes());
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// What every worker shares.
pub(crate) struct Producer<'a> {
    pub loaded: &'a LoadedTenant,
    pub translator: &'a Plugin,
    pub formatters: &'a [(String, Arc<Plugin>)],
    pub as_of: Arc<str>,
    pub as_of_unix: u64,
    pub out_dir: &'a Path,
}

/// One document's files and manifest lines, before they are written.
struct Delivery {
    files: Vec<(String, Vec<u8>)>,
    lines: Vec<ManifestLine>,
    content: ContentUse,
}

impl Producer<'_> {
    /// Turns one piece of work into its end.
    pub fn handle(&self, work: Work) -> Done {
        let mut times = StageTimes { translate: work.translate, ..Default::default() };
        let outcome = match work.item {
            WorkItem::Rejected(r) => Outcome::Rejected(r),
            WorkItem::Record { cdm, location } => {
                let t0 = Instant::now();
                let parsed = std::panic::catch_unwind(|| CdmRecord::parse(&cdm));
                times.validate = Some(t0.elapsed());
                let record = match parsed {
                    Ok(Ok(record)) => record,
                    Err(panic) => {
                        let failure = Failure::plain(
                            Stage::Validate,
                            format!("internal error while validating this record: {}", panic_message(&*panic)),
                        );
                        let rejected = rejection(CdmRecord::identifiers(&cdm), location, failure, None);
                        return Done { seq: work.seq, outcome: Outcome::Rejected(rejected), times };
                    }
                    Ok(Err(e)) => {
                        // The translator's output broke the schema: its record is
                        // named by its identifiers, the rest of it is not repeated.
                        let failure = Failure {
                            field: Some(e.path.clone()),
                            plugin: Some(self.translator.name().to_owned()),
                            ..Failure::plain(Stage::Validate, e.to_string())
                        };
                        let rejected = rejection(CdmRecord::identifiers(&cdm), location, failure, Some(e.rule));
                        return Done { seq: work.seq, outcome: Outcome::Rejected(rejected), times };
                    }
                };
                let produced =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.deliver(&record, &mut times)))
                        .unwrap_or_else(|panic| {
                            Err(Failure::plain(
                                Stage::Compose,
                                format!("internal error while producing this document: {}", panic_message(&*panic)),
                            ))
                        });
                match produced {
                    Ok((lines, content)) => Outcome::Delivered { lines, content },
                    Err(failure) => Outcome::Rejected(self.reject(&record, location, failure)),
                }
            }
        };
        Done { seq: work.seq, outcome, times }
    }

    fn reject(
        &self,
        record: &CdmRecord,
        location: Option<SourceLocation>,
        failure: Failure,
    ) -> crate::report::Rejection {
        let ids = (Some(record.customer_ref.clone()), Some(record.document_id.clone()));
        rejection(ids, location, failure, None)
    }

    /// Produces and writes every output of a record.
    fn deliver(&self, record: &CdmRecord, times: &mut StageTimes) -> Result<(Vec<ManifestLine>, ContentUse), Failure> {
        let delivery = self.produce(record, times)?;
        let t0 = Instant::now();
        for (i, (name, bytes)) in delivery.files.iter().enumerate() {
            let path = self.out_dir.join(name);
            if let Err(e) = write_atomic(&path, bytes) {
                for (written, _) in &delivery.files[..i] {
                    let _ = std::fs::remove_file(self.out_dir.join(written));
                }
                times.write = Some(t0.elapsed());
                return Err(Failure::plain(Stage::Write, format!("{}: {e}", path.display())));
            }
        }
        times.write = Some(t0.elapsed());
        crate::checkpoint::crash::point("output");
        Ok((delivery.lines, delivery.content))
    }

    fn call_context(&self, seed: u64) -> CallContext {
        CallContext { as_of: Arc::clone(&self.as_of), as_of_unix: self.as_of_unix, seed }
    }

    /// Composes and formats every output of a record, in memory.
    fn produce(&self, record: &CdmRecord, times: &mut StageTimes) -> Result<Delivery, Failure> {
        let loaded = self.loaded;
        let cfg = &loaded.tenant.config;
        let label = record.str_at("production", "label").unwrap_or(&cfg.default_label).to_owned();
        let locale = record
            .str_at("production", "locale")
            .or_else(|| record.str_at("personal", "language"))
            .unwrap_or(&cfg.default_locale)
            .to_owned();
        let template = record.str_at("production", "template").unwrap_or("invoice").to_owned();
        let call = self.call_context(seed_for(&record.document_id));
        let t0 = Instant::now();
        let library = loaded.content.current();
        // Text and subject are for formatters; a run with HTML alone skips them.
        let renditions = if self.formatters.is_empty() { Renditions::HtmlOnly } else { Renditions::All };
        let composed = library.compose(record, &template, &label, &locale, &call, &loaded.fragments, renditions);
        times.compose = Some(t0.elapsed());
        let composed = composed.map_err(|e| match e {
            ComposeError::Fragment(fault) => Failure::fault(Stage::Compose, fault),
            other => Failure::plain(Stage::Compose, other.to_string()),
        })?;
        loaded.content.offer_canary(|| Canary {
            record: record.clone(),
            template: template.clone(),
            fragments: Arc::clone(&loaded.fragments),
            call: call.clone(),
        });

        let mut fragment_uses: BTreeMap<String, u64> = BTreeMap::new();
        for (id, usage) in &composed.fragment_calls {
            *fragment_uses.entry(id.clone()).or_default() += usage.fuel;
        }
        let uses = |extra: Option<(&Plugin, u64)>| -> Vec<PluginUse> {
            let mut list = vec![plugin_use(self.translator, 0)];
            for (id, fuel) in &fragment_uses {
                if let Some(p) = loaded.fragments.get(id) {
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

        let mut files = Vec::new();
        let mut lines = Vec::new();
        if cfg.outputs.html {
            let file = format!("{}.html", record.document_id);
            let bytes = composed.html.as_bytes().to_vec();
            lines.push(line("html", &file, "text/html; charset=utf-8", &bytes, uses(None)));
            files.push((file, bytes));
        }
        let label_name = composed.view.label.name.clone();
        let t0 = Instant::now();
        for (channel, formatter) in self.formatters {
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
            let result = formatter.format(&call, input);
            times.format = Some(t0.elapsed());
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
            if files.iter().any(|(f, _)| *f == file) {
                return Err(Failure::plain(
                    Stage::Format,
                    format!("two outputs of this document would be named {file}"),
                ));
            }
            lines.push(line(
                channel,
                &file,
                &formatted.media_type,
                &formatted.bytes,
                uses(Some((formatter, usage.fuel))),
            ));
            files.push((file, formatted.bytes));
        }
        let content = ContentUse {
            revision: Arc::clone(&composed.revision),
            view: Arc::clone(&composed.view),
            assets: composed.assets.clone(),
        };
        Ok(Delivery { files, lines, content })
    }
}

/// What a caught panic said. A panic in one record must not stop the run:
/// a worker that died would leave its record uncommitted and the run waiting.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

fn plugin_use(p: &Plugin, fuel: u64) -> PluginUse {
    PluginUse { id: p.id().to_owned(), version: p.version().to_owned(), sha256: p.sha256().to_owned(), fuel }
}
