//! The worker stage, one per core: validates a record against the CDM,
//! composes it with the live content, makes every channel's output and
//! checks them against the record — all in memory ([`Producer::produce`]).
//! A batch then hands the document to [`crate::run::write`], which writes
//! all of its files or none; the render server keeps them in memory.
//!
//! A document's outputs are written only when every one succeeded, so no
//! customer gets the HTML of a letter whose print version failed. Each document takes the live content once: whatever
//! reloads meanwhile, it comes from one snapshot. A panic while producing a
//! document rejects that document instead of taking the run down.

use crate::channels::config::{BuiltIn, Markup};
use crate::channels::routing::{Channel, Maker};
use crate::channels::{email, sms};
use crate::compose::library::Library;
use crate::compose::live::Canary;
use crate::compose::{ComposeError, Composed, Renditions};
use crate::flow::{ContentUse, Done, Failure, Outcome, StageTimes, Work, WorkItem, rejection};
use crate::report::{ManifestLine, PluginUse, Rejection, Stage};
use crate::run::write::{FolderWriter, sha256_hex, valid_extension};
use crate::spool::staging::StagedLetter;
use crate::tenant::LoadedTenant;
use crate::verify::Facts;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use tessera_cdm::CdmRecord;
use tessera_runtime::{CallContext, CallUsage, DocumentInput, Plugin, SourceLocation};

/// A per-record seed: reruns of the same record see the same randomness.
pub(crate) fn seed_for(document_id: &str) -> u64 {
    let digest = Sha256::digest(document_id.as_bytes());
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// What every worker shares.
#[derive(Clone)]
pub(crate) struct Producer<'a> {
    pub loaded: &'a LoadedTenant,
    /// The translator the records came from (`None` for records sent as
    /// CDM, e.g. to the render server).
    pub translator: Option<&'a Plugin>,
    /// The operator's `--channels`: these channels for every record,
    /// instead of the scenario's choice.
    pub only: Option<&'a [String]>,
    pub as_of: Arc<str>,
    pub as_of_unix: u64,
    /// Content to compose from instead of the live content: the studio's
    /// preview of a draft. `None` in production.
    pub library: Option<Arc<Library>>,
}

/// A document's files: (file name, bytes), one per channel.
type Files = Vec<(String, Vec<u8>)>;

/// One document's files and manifest lines, before they are written.
pub(crate) struct Delivery {
    /// (file name, bytes), one per channel, in the lines' order.
    pub files: Files,
    pub lines: Vec<ManifestLine>,
    pub content: ContentUse,
    /// Its letters for spooled channels, made into spools at the run's end.
    pub staged: Vec<StagedLetter>,
}

impl Producer<'_> {
    /// Turns one piece of work into its end: produced and written by
    /// `writer`, or rejected.
    /// `writer` is `None` when the committer writes the files (`zip` sink).
    pub fn handle(&self, work: Work, writer: Option<&FolderWriter<'_>>) -> Done {
        let mut times = StageTimes { translate: work.translate, ..Default::default() };
        let outcome = match work.item {
            WorkItem::Rejected(r) => Outcome::Rejected(r),
            WorkItem::Rendered { outcome, times: rendered, location } => {
                times = StageTimes { translate: work.translate, ..rendered };
                match (outcome, writer) {
                    (Outcome::Delivered { mut lines, content, files, staged }, Some(writer)) => {
                        let t0 = Instant::now();
                        let written = writer.write(work.seq, &files);
                        times.write = Some(t0.elapsed());
                        match written {
                            Ok(placed) => {
                                for (line, placed) in lines.iter_mut().zip(placed) {
                                    line.file = placed;
                                }
                                Outcome::Delivered { lines, content, files: Vec::new(), staged }
                            }
                            Err(failure) => {
                                let first = lines.first();
                                let ids = (first.map(|l| l.record.clone()), first.map(|l| l.document_id.clone()));
                                Outcome::Rejected(rejection(ids, location, failure, None))
                            }
                        }
                    }
                    (outcome, _) => outcome,
                }
            }
            WorkItem::Record { cdm, location, translator } => {
                // A file of a delivery: its own translator is the record's.
                let of_file;
                let this = match &translator {
                    Some(t) => {
                        of_file = Producer { translator: Some(&**t), ..self.clone() };
                        &of_file
                    }
                    None => self,
                };
                let t0 = Instant::now();
                let checked = this.validate(&cdm, location.clone());
                times.validate = Some(t0.elapsed());
                let mut record = match checked {
                    Ok(record) => record,
                    Err(rejected) => return Done { seq: work.seq, outcome: Outcome::Rejected(*rejected), times },
                };
                let produced = guarded(|| this.deliver(work.seq, &mut record, writer, &mut times));
                match produced {
                    Ok(delivery) => Outcome::Delivered {
                        lines: delivery.lines,
                        content: delivery.content,
                        files: delivery.files,
                        staged: delivery.staged,
                    },
                    Err(failure) => Outcome::Rejected(this.reject(&record, location, failure)),
                }
            }
        };
        Done { seq: work.seq, outcome, times }
    }

    /// Parses and validates a translator's (or a client's) CDM JSON; a
    /// schema violation names the JSON path and rule, never the value.
    pub(crate) fn validate(&self, cdm: &str, location: Option<SourceLocation>) -> Result<CdmRecord, Box<Rejection>> {
        match std::panic::catch_unwind(|| CdmRecord::parse(cdm)) {
            Ok(Ok(record)) => Ok(record),
            Err(panic) => {
                let failure = Failure::plain(
                    Stage::Validate,
                    format!("internal error while validating this record: {}", panic_message(&*panic)),
                );
                Err(Box::new(rejection(CdmRecord::identifiers(cdm), location, failure, None)))
            }
            Ok(Err(e)) => {
                // The record broke the schema: it is named by its
                // identifiers, the rest of it is not repeated.
                let failure = Failure {
                    field: Some(e.path.clone()),
                    plugin: self.translator.map(|t| t.name().to_owned()),
                    ..Failure::plain(Stage::Validate, e.to_string())
                };
                Err(Box::new(rejection(CdmRecord::identifiers(cdm), location, failure, Some(e.rule))))
            }
        }
    }

    pub(crate) fn reject(&self, record: &CdmRecord, location: Option<SourceLocation>, failure: Failure) -> Rejection {
        let ids = (Some(record.customer_ref.clone()), Some(record.document_id.clone()));
        rejection(ids, location, failure, None)
    }

    /// Produces every output of record `seq` and has `writer` write them
    /// (or, without one, hands them over for the committer to write).
    fn deliver(
        &self,
        seq: u64,
        record: &mut CdmRecord,
        writer: Option<&FolderWriter<'_>>,
        times: &mut StageTimes,
    ) -> Result<Delivery, Failure> {
        let mut delivery = self.produce(record, times)?;
        let Some(writer) = writer else {
            return Ok(delivery);
        };
        let t0 = Instant::now();
        let written = writer.write(seq, &delivery.files);
        times.write = Some(t0.elapsed());
        for (line, placed) in delivery.lines.iter_mut().zip(written?) {
            line.file = placed;
        }
        delivery.files.clear();
        Ok(delivery)
    }

    pub(crate) fn call_context(&self, seed: u64) -> CallContext {
        CallContext { as_of: Arc::clone(&self.as_of), as_of_unix: self.as_of_unix, seed }
    }

    /// Composes and formats every output of a record, in memory: routes it
    /// to its channels, composes the renditions those need once, then makes
    /// each channel's file and checks them all against the record (into
    /// which the scenario's variant is written).
    pub(crate) fn produce(&self, record: &mut CdmRecord, times: &mut StageTimes) -> Result<Delivery, Failure> {
        let plan = self.plan(record)?;
        let composed = self.compose(&plan, times)?;
        let (files, lines, staged) = self.make_outputs(&plan, &composed, times)?;
        let t0 = Instant::now();
        let required = &self.loaded.tenant.config.verify.facts;
        // A spooled letter is checked on its pages when its spool is made.
        let made: Vec<&Channel> = plan.channels.iter().copied().filter(|c| c.spool.is_none()).collect();
        let checked = self_check(plan.record, &composed, &plan.locale, &made, &lines, &files, required);
        times.verify = Some(t0.elapsed());
        checked.map_err(|c| Failure {
            field: c.fact.map(|f| f.field().to_owned()),
            rule: Some("self-check"),
            ..Failure::plain(Stage::Verify, c.to_string())
        })?;
        let content = ContentUse {
            revision: Arc::clone(&composed.revision),
            view: Arc::clone(&composed.view),
            assets: composed.assets.clone(),
        };
        Ok(Delivery { files, lines, content, staged })
    }

    /// Where a record goes and how it looks: its channels (the scenario's
    /// choice or the operator's), its variant, label, locale and template.
    fn plan<'r>(&'r self, record: &'r mut CdmRecord) -> Result<Plan<'r>, Failure> {
        let cfg = &self.loaded.tenant.config;
        let routing = &self.loaded.routing;
        let choice = routing.route(record, self.only).map_err(|e| Failure::plain(Stage::Route, e.to_string()))?;
        let mut channels = Vec::with_capacity(choice.channels.len());
        for name in &choice.channels {
            channels.push(routing.channel(name).ok_or_else(|| {
                Failure::plain(Stage::Route, format!("channel `{name}` is not defined in tenant.toml"))
            })?);
        }
        // The variant is part of the record's production area from here on,
        // so templates and fragment plugins both see it.
        if let Some(v) = &choice.variant
            && record.str_at("production", "variant") != Some(v.as_str())
        {
            record.set_variant(v);
        }
        let record: &'r CdmRecord = record;
        let label = record.str_at("production", "label").unwrap_or(&cfg.default_label).to_owned();
        let locale = record
            .str_at("production", "locale")
            .or_else(|| record.str_at("personal", "language"))
            .unwrap_or(&cfg.default_locale)
            .to_owned();
        let variant_template =
            choice.variant.as_deref().and_then(|v| routing.scenario().and_then(|s| s.template_of(v)));
        let template =
            variant_template.or_else(|| record.str_at("production", "template")).unwrap_or("invoice").to_owned();
        let call = self.call_context(seed_for(&record.document_id));
        Ok(Plan { record, channels, variant: choice.variant, label, locale, template, call })
    }

    /// Composes the renditions the record's channels need, from one
    /// snapshot of the live content, and settles what the document asks
    /// to be paid (refused when the payee is not the tenant's to name).
    fn compose(&self, plan: &Plan<'_>, times: &mut StageTimes) -> Result<Composed, Failure> {
        let loaded = self.loaded;
        let record = plan.record;
        let renditions = plan.channels.iter().fold(Renditions::HTML_ONLY, |r, c| r.union(c.renditions()));
        let t0 = Instant::now();
        let library = self.library.clone().unwrap_or_else(|| loaded.content.current());
        let composed = library.compose(
            record,
            &plan.template,
            &plan.label,
            &plan.locale,
            &plan.call,
            &loaded.fragments,
            renditions,
        );
        times.compose = Some(t0.elapsed());
        let mut composed = composed.map_err(|e| match e {
            ComposeError::Fragment(fault) => Failure::fault(Stage::Compose, fault),
            other => Failure::plain(Stage::Compose, other.to_string()),
        })?;
        if let Some(settlement) = composed.settlement.as_mut() {
            loaded.payment.admit(settlement, &composed.view.label).map_err(refused)?;
        }
        // A draft's render (the studio) must not pick the canary production checks with.
        if self.library.is_none() {
            loaded.content.offer_canary(|| Canary {
                record: record.clone(),
                template: plan.template.clone(),
                fragments: Arc::clone(&loaded.fragments),
                call: plan.call.clone(),
            });
        }
        Ok(composed)
    }

    /// Makes each channel's file, with its manifest line, in the channels' order.
    fn make_outputs(
        &self,
        plan: &Plan<'_>,
        composed: &Composed,
        times: &mut StageTimes,
    ) -> Result<(Files, Vec<ManifestLine>, Vec<StagedLetter>), Failure> {
        let record = plan.record;
        let uses = PluginUses::new(self, composed);
        let lines_of = LineFacts::new(plan, composed);
        let mut files: Files = Vec::new();
        let mut lines = Vec::new();
        let mut staged = Vec::new();
        let id = &record.document_id;
        let t0 = Instant::now();
        for channel in &plan.channels {
            let name = channel.name.as_str();
            if let Some(spool) = &channel.spool {
                staged.push(self.stage(plan, composed, channel, spool, uses.list(None)));
                continue;
            }
            let (file, media_type, bytes, pages, plugins) = match &channel.maker {
                Maker::BuiltIn { format, max_segments } => {
                    let (suffix, media_type, bytes) = built_in(*format, *max_segments, record, composed, &plan.call)
                        .map_err(|reason| Failure::plain(Stage::Format, format!("channel `{name}`: {reason}")))?;
                    (format!("{id}.{suffix}"), media_type.to_owned(), bytes, None, uses.list(None))
                }
                Maker::Plugin { plugin, markup } => {
                    let result = plugin.format(&plan.call, formatter_input(plan, composed, channel, *markup));
                    times.format = Some(t0.elapsed());
                    let (formatted, usage) = result.map_err(|fault| Failure::fault(Stage::Format, fault))?;
                    if !valid_extension(&formatted.extension) {
                        return Err(Failure {
                            plugin: Some(plugin.name().to_owned()),
                            ..Failure::plain(
                                Stage::Format,
                                format!("plugin {} returned an invalid file extension", plugin.name()),
                            )
                        });
                    }
                    let file = if channel.short_name {
                        format!("{id}.{}", formatted.extension)
                    } else {
                        format!("{id}.{name}.{}", formatted.extension)
                    };
                    let mut plugins = uses.list(Some((plugin, &usage)));
                    let mut bytes = formatted.bytes;
                    if let Some(xml_maker) = channel.factur_x.as_ref().filter(|_| is_invoice(record)) {
                        let (with_xml, xml_usage) = self.factur_x(plan, composed, channel, xml_maker, &bytes)?;
                        bytes = with_xml;
                        plugins.push(plugin_use(xml_maker, &xml_usage));
                    }
                    (file, formatted.media_type, bytes, formatted.pages, plugins)
                }
            };
            if files.iter().any(|(f, _)| *f == file) {
                return Err(Failure::plain(
                    Stage::Format,
                    format!("two outputs of this document would be named {file}"),
                ));
            }
            lines.push(lines_of.line(name, &file, &media_type, &bytes, pages, plugins));
            files.push((file, bytes));
        }
        if times.format.is_none() && files.len() > 1 {
            times.format = Some(t0.elapsed());
        }
        for letter in &mut staged {
            letter.only_output = lines.is_empty();
        }
        Ok((files, lines, staged))
    }

    /// The channel's PDF made a Factur-X invoice: `xml_maker` writes the CII
    /// XML from the record (as a `cdm = true` channel would be given it), and
    /// the host attaches it ([`crate::channels::factur_x`]).
    fn factur_x(
        &self,
        plan: &Plan<'_>,
        composed: &Composed,
        channel: &Channel,
        xml_maker: &Plugin,
        pdf: &[u8],
    ) -> Result<(Vec<u8>, CallUsage), Failure> {
        // No markup (`None`): the XML plugin reads the record, not the letter's Typst.
        let mut input = formatter_input(plan, composed, channel, None);
        if !channel.with_record {
            record_metadata(&mut input.metadata, plan, composed);
        }
        let (xml, usage) = xml_maker.format(&plan.call, input).map_err(|fault| Failure::fault(Stage::Format, fault))?;
        // The attached invoice is held to the record as a separate one is.
        let output = format!("`{}` Factur-X invoice", channel.name);
        crate::verify::einvoice::check(&output, &xml.bytes, plan.record, composed.settlement.as_ref()).map_err(
            |c| Failure { plugin: Some(xml_maker.name().to_owned()), ..Failure::plain(Stage::Verify, c.to_string()) },
        )?;
        let date = plan.record.value["content"]["invoice"]["date"].as_str().unwrap_or("2000-01-01");
        let bytes = crate::channels::factur_x::attach(pdf, &xml.bytes, date).map_err(|e| Failure {
            plugin: Some(xml_maker.name().to_owned()),
            ..Failure::plain(Stage::Format, format!("channel `{}`: Factur-X: {e}", channel.name))
        })?;
        Ok((bytes, usage))
    }

    /// A spooled channel's letter, kept for its spool: the markup, what its
    /// pages must show, and its manifest line's fields.
    fn stage(
        &self,
        plan: &Plan<'_>,
        composed: &Composed,
        channel: &Channel,
        spool: &crate::spool::SpoolSettings,
        plugins: Vec<PluginUse>,
    ) -> StagedLetter {
        let record = plan.record;
        let required = &self.loaded.tenant.config.verify.facts;
        let facts = match &composed.settlement {
            Some(s) => Facts::new(&record.document_id, s, &plan.locale, &composed.view.label, required),
            None => Facts::number_only(&record.document_id, required),
        };
        StagedLetter {
            seq: 0,
            channel: channel.name.clone(),
            sort_key: crate::spool::sort_key(&record.value, &spool.sort),
            only_output: false,
            markup: match &channel.maker {
                Maker::Plugin { markup: Some(language), .. } => composed.markup(*language).cloned(),
                _ => None,
            }
            .unwrap_or_default(),
            facts,
            record: record.customer_ref.clone(),
            document_id: record.document_id.clone(),
            templates: composed.templates.clone(),
            label: plan.label.clone(),
            locale: plan.locale.clone(),
            variant: plan.variant.clone(),
            content_revision: composed.revision.to_string(),
            content_view: composed.view.key().to_owned(),
            files_digest: String::new(),
            content_files: Arc::clone(&composed.files),
            plugins,
            warnings: composed.settlement.as_ref().map(|s| s.warnings.clone()).unwrap_or_default(),
        }
    }
}

/// What [`Producer::plan`] decided for one record.
struct Plan<'r> {
    /// The record, with the scenario's variant written into it.
    record: &'r CdmRecord,
    channels: Vec<&'r Channel>,
    variant: Option<String>,
    label: String,
    locale: String,
    template: String,
    call: CallContext,
}

/// What a formatter plugin is given: the renditions, and the channel's
/// metadata with the label, locale, variant and, when it asks for one, the
/// markup its template rendered.
fn formatter_input(plan: &Plan<'_>, composed: &Composed, channel: &Channel, markup: Option<Markup>) -> DocumentInput {
    let mut metadata = channel.metadata.clone();
    metadata.push(("label.name".into(), composed.view.label.name.clone()));
    metadata.push(("locale".into(), plan.locale.clone()));
    if let Some(variant) = &plan.variant {
        metadata.push(("variant".into(), variant.clone()));
    }
    if let Some((language, text)) = markup.and_then(|l| Some((l, composed.markup(l)?))) {
        metadata.push(("markup".into(), text.clone()));
        metadata.push(("markup.language".into(), language.name().into()));
    }
    if channel.with_record {
        record_metadata(&mut metadata, plan, composed);
    }
    DocumentInput {
        channel: channel.name.clone(),
        document_id: plan.record.document_id.clone(),
        html: composed.html.clone(),
        text: composed.text.clone(),
        subject: composed.subject.clone(),
        metadata,
    }
}

/// Invoices and credit notes (by `reference.document_type`) get the
/// e-invoice; a letter or notice on the same channel stays a plain PDF.
fn is_invoice(record: &CdmRecord) -> bool {
    matches!(record.value["reference"]["document_type"].as_str(), Some("invoice" | "credit-note"))
}

/// What a formatter that writes structured data from the record is given
/// beside it: the brand label's sender (the seller when the record names
/// none) and the account the letter names — decided once by the host, so an
/// e-invoice never names another account than its letter.
fn record_metadata(metadata: &mut Vec<(String, String)>, plan: &Plan<'_>, composed: &Composed) {
    metadata.push(("cdm".into(), plan.record.json.to_string()));
    let label = &composed.view.label;
    let sender = &label.sender;
    let mut put = |key: &str, value: Option<&String>| {
        if let Some(value) = value {
            metadata.push((key.to_owned(), value.clone()));
        }
    };
    put("seller.name", Some(&sender.name));
    put("seller.vat_id", sender.vat_id.as_ref());
    put("seller.registration", sender.registration.as_ref());
    put("seller.street", sender.street.as_ref());
    put("seller.postcode", sender.postcode.as_ref());
    put("seller.city", sender.city.as_ref());
    put("seller.country", sender.country.as_ref());
    put("seller.email", label.contact.email.as_ref());
    put("seller.phone", label.contact.phone.as_ref());
    if let Some(settlement) = &composed.settlement {
        let direction = serde_json::to_value(settlement.direction).ok();
        put("settlement.direction", direction.as_ref().and_then(|d| d.as_str()).map(str::to_owned).as_ref());
        if let Some(payee) = &settlement.payee {
            put("payee.iban", payee.iban.as_ref());
            put("payee.account", payee.account.as_ref());
            put("payee.bic", payee.bic.as_ref());
            put("payee.creditor", Some(&payee.creditor));
        }
    }
}

/// The plugins an output used: the translator, the fragments the
/// composition called (their calls summed per plugin), and its formatter.
struct PluginUses<'a> {
    producer: &'a Producer<'a>,
    fragments: BTreeMap<String, CallUsage>,
}

impl<'a> PluginUses<'a> {
    fn new(producer: &'a Producer<'a>, composed: &Composed) -> Self {
        let mut fragments: BTreeMap<String, CallUsage> = BTreeMap::new();
        for (id, usage) in &composed.fragment_calls {
            fragments.entry(id.clone()).or_default().absorb(*usage);
        }
        PluginUses { producer, fragments }
    }

    fn list(&self, formatter: Option<(&Plugin, &CallUsage)>) -> Vec<PluginUse> {
        let mut list: Vec<PluginUse> =
            self.producer.translator.map(|t| plugin_use(t, &CallUsage::default())).into_iter().collect();
        for (id, usage) in &self.fragments {
            if let Some(p) = self.producer.loaded.fragments.get(id) {
                list.push(plugin_use(p, usage));
            }
        }
        if let Some((p, usage)) = formatter {
            list.push(plugin_use(p, usage));
        }
        list
    }
}

/// What every manifest line of one document shares.
struct LineFacts<'a> {
    plan: &'a Plan<'a>,
    composed: &'a Composed,
    warnings: Vec<crate::truth::Warning>,
}

impl<'a> LineFacts<'a> {
    fn new(plan: &'a Plan<'a>, composed: &'a Composed) -> Self {
        let warnings = composed.settlement.as_ref().map(|s| s.warnings.clone()).unwrap_or_default();
        LineFacts { plan, composed, warnings }
    }

    /// One output's line; a formatter's own page count (contract 0.2.0)
    /// wins over counting.
    fn line(
        &self,
        channel: &str,
        file: &str,
        media_type: &str,
        bytes: &[u8],
        stated: Option<u32>,
        plugins: Vec<PluginUse>,
    ) -> ManifestLine {
        let (plan, composed) = (self.plan, self.composed);
        ManifestLine {
            record: plan.record.customer_ref.clone(),
            document_id: plan.record.document_id.clone(),
            channel: channel.to_owned(),
            file: file.to_owned(),
            container: None,
            media_type: media_type.to_owned(),
            templates: composed.templates.clone(),
            label: plan.label.clone(),
            locale: plan.locale.clone(),
            variant: plan.variant.clone(),
            content_revision: Arc::clone(&composed.revision),
            content_view: composed.view.key().to_owned(),
            content_files: Arc::clone(&composed.files),
            fuel: plugins.iter().filter_map(|p| p.fuel).sum(),
            plugins,
            bytes: bytes.len() as u64,
            pages: stated.map(u64::from).or_else(|| crate::report::usage::pages(media_type, bytes)),
            spool: None,
            sha256: sha256_hex(bytes),
            warnings: self.warnings.clone(),
        }
    }
}

/// Compares every output of a document with the figures of its record
/// (see [`crate::verify`]).
fn self_check(
    record: &CdmRecord,
    composed: &Composed,
    locale: &str,
    channels: &[&Channel],
    lines: &[ManifestLine],
    files: &[(String, Vec<u8>)],
    required: &[crate::verify::Fact],
) -> Result<(), crate::verify::Contradiction> {
    use crate::verify::{Facts, Output, outputs};
    let facts = match &composed.settlement {
        Some(s) => Facts::new(&record.document_id, s, locale, &composed.view.label, required),
        None => Facts::number_only(&record.document_id, required),
    };
    let read: Vec<(&str, Output<'_>)> = channels
        .iter()
        .zip(lines.iter().zip(files))
        .map(|(channel, (line, (_, bytes)))| {
            let output = match &channel.maker {
                Maker::BuiltIn { format: BuiltIn::Html, .. } => Output::Html,
                Maker::BuiltIn { format: BuiltIn::Text, .. } => Output::Text,
                Maker::BuiltIn { format: BuiltIn::Email, .. } => Output::Email,
                Maker::BuiltIn { format: BuiltIn::Sms, .. } => Output::Sms,
                Maker::Plugin { .. } if line.media_type.starts_with("application/pdf") => Output::Pdf(bytes),
                Maker::Plugin { .. } if line.media_type.contains("xml") => Output::Xml(bytes),
                Maker::Plugin { .. } => Output::Opaque,
            };
            (channel.name.as_str(), output)
        })
        .collect();
    outputs(&facts, record, composed, &read)
}

/// A settlement that cannot be shown as the record says: a validation
/// rejection naming the rule and the field.
fn refused(refusal: crate::truth::Refusal) -> Failure {
    Failure {
        field: Some(refusal.path.clone()),
        rule: Some(refusal.rule),
        ..Failure::plain(Stage::Validate, refusal.to_string())
    }
}

/// Makes a built-in channel's file: (file suffix, media type, bytes), or
/// why the document cannot go to this channel.
fn built_in(
    format: BuiltIn,
    max_segments: u32,
    record: &CdmRecord,
    composed: &Composed,
    call: &CallContext,
) -> Result<(&'static str, &'static str, Vec<u8>), String> {
    match format {
        BuiltIn::Html => Ok(("html", "text/html; charset=utf-8", composed.html.as_bytes().to_vec())),
        BuiltIn::Text => {
            if composed.text.trim().is_empty() {
                return Err("the template has no text rendition (`.txt.tera`)".into());
            }
            Ok(("txt", "text/plain; charset=utf-8", composed.text.as_bytes().to_vec()))
        }
        BuiltIn::Email => {
            let label = &composed.view.label;
            let from = label
                .contact
                .email
                .as_deref()
                .filter(|e| !e.is_empty())
                .ok_or_else(|| format!("label `{}` has no contact.email to send from", label.id))?;
            let to = record
                .str_at("distribution", "email")
                .filter(|e| !e.trim().is_empty())
                .ok_or("the record has no distribution.email")?;
            let subject = composed.subject.as_deref().ok_or("the template has no subject (`.subject.tera`)")?;
            if composed.text.trim().is_empty() {
                return Err("the template has no text rendition (`.txt.tera`) for the e-mail's text part".into());
            }
            let to_name = recipient_name(record);
            let envelope = email::Envelope {
                from_name: &label.name,
                from_address: from,
                to_name: to_name.as_deref(),
                to_address: to.trim(),
                subject,
                date_unix: call.as_of_unix,
                document_id: &record.document_id,
            };
            let bytes = email::build(&envelope, &composed.html, &composed.text).map_err(|e| e.to_string())?;
            Ok(("eml", "message/rfc822", bytes))
        }
        BuiltIn::Sms => {
            let text = composed.sms.as_deref().unwrap_or_default();
            if text.is_empty() {
                return Err("the SMS template rendered an empty message".into());
            }
            let to = record
                .str_at("distribution", "phone")
                .filter(|p| !p.trim().is_empty())
                .ok_or("the record has no distribution.phone")?;
            let measured = sms::measure(text);
            if measured.segments > max_segments {
                return Err(format!(
                    "the SMS text takes {} segments ({} characters, {}); the limit is {max_segments}",
                    measured.segments,
                    measured.characters,
                    match measured.encoding {
                        sms::Encoding::Gsm7 => "GSM-7",
                        sms::Encoding::Ucs2 => "UCS-2: it has characters outside the GSM-7 alphabet",
                    },
                ));
            }
            let message = sms::SmsMessage { to: to.trim(), from: Some(&composed.view.label.name), text, measured };
            let mut bytes = serde_json::to_vec_pretty(&message).expect("an SMS serialises");
            bytes.push(b'\n');
            Ok(("sms.json", "application/json", bytes))
        }
    }
}

/// The recipient's display name: first and last name, or the company.
fn recipient_name(record: &CdmRecord) -> Option<String> {
    let first = record.str_at("personal", "first_name").unwrap_or("").trim();
    let last = record.str_at("personal", "last_name").unwrap_or("").trim();
    let name = format!("{first} {last}").trim().to_owned();
    if !name.is_empty() {
        return Some(name);
    }
    record.str_at("personal", "company").map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned)
}

/// What a caught panic said. A panic in one record must not stop the run:
/// a worker that died would leave its record uncommitted and the run waiting.
/// Runs one document's production; a panic in it rejects that document
/// (naming the panic) instead of taking the run or the server down.
pub(crate) fn guarded<T>(produce: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(produce)).unwrap_or_else(|panic| {
        Err(Failure::plain(
            Stage::Compose,
            format!("internal error while producing this document: {}", panic_message(&*panic)),
        ))
    })
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

pub(crate) fn plugin_use(p: &Plugin, usage: &CallUsage) -> PluginUse {
    let fuel = (!p.reuses_instances()).then_some(usage.fuel);
    PluginUse {
        id: p.id().to_owned(),
        version: p.version().to_owned(),
        sha256: p.sha256().to_owned(),
        fuel,
        elapsed: usage.elapsed,
    }
}
