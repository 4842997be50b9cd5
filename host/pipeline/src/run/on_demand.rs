//! On-demand rendering: one CDM record to its outputs, in memory, with the
//! same validation, routing, composition and formatters as a batch run —
//! so a document rendered for a portal is byte-identical to the one the
//! batch would have written, and a refusal carries the same reason.

use crate::Maker;
use crate::flow::Failure;
use crate::flow::{StageTimes, WorkItem};
use crate::report::{ManifestLine, Rejection};
use crate::run::produce::{Producer, guarded, plugin_use, seed_for};
use crate::run::write::sha256_hex;
use crate::source::CHUNK_BYTES;
use crate::source::{SourceError, SourceStage};
use crate::spool::stage::{SpooledChannel, line_of};
use crate::spool::staging::StagedLetter;
use crate::spool::{SpoolLetter, SpoolPlan, make_spool};
use crate::tenant::LoadedTenant;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use tessera_cdm::parse_as_of;
use tessera_content::{ContentView, Resolution};
use tessera_runtime::{CallContext, Kind};

/// What to render.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderRequest<'a> {
    /// The record as CDM JSON.
    pub cdm: &'a str,
    /// Exactly these channels instead of the scenario's choice.
    pub channels: Option<&'a [String]>,
    /// As-of date `YYYY-MM-DD` (default: the tenant's `job.as_of`, else today, UTC).
    pub as_of: Option<&'a str>,
}

/// One channel's output.
#[derive(Debug, Clone)]
pub struct RenderedOutput {
    /// The file name a batch would have written.
    pub file: String,
    /// The output's bytes.
    pub bytes: Vec<u8>,
    /// Its manifest line (channel, media type, content revision, plugins, sha256).
    pub line: ManifestLine,
}

/// Every output of one record.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// One per channel, in the order the record was routed.
    pub outputs: Vec<RenderedOutput>,
    /// The content revision every output was composed from.
    pub content_revision: Arc<str>,
    /// The content view (label and locale) they were composed from: every
    /// file with its resolution chain.
    pub view: Arc<ContentView>,
    /// How each asset the templates used resolved.
    pub assets: Vec<Resolution>,
}

/// Why a record was not rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The as-of date is not `YYYY-MM-DD`.
    #[error("as-of date `{0}` is not YYYY-MM-DD")]
    AsOf(String),
    /// The source cannot be translated: no such translator is granted.
    #[error("{0}")]
    Translator(String),
    /// The record was refused, with the same reason a batch would give.
    #[error("{}", .0.reason)]
    Rejected(Box<Rejection>),
}

/// A source document to translate and render, record by record.
#[derive(Debug, Clone, Copy)]
pub struct SourceRequest<'a> {
    /// The granted translator's id.
    pub translator: &'a str,
    /// The source's name, for locations in rejections (e.g. `bill.json`).
    pub name: &'a str,
    /// The source's bytes.
    pub bytes: &'a [u8],
    /// Exactly these channels instead of the scenario's choice.
    pub channels: Option<&'a [String]>,
    /// As-of date `YYYY-MM-DD`.
    pub as_of: Option<&'a str>,
}

fn producer<'a>(
    loaded: &'a LoadedTenant,
    translator: Option<&'a tessera_runtime::Plugin>,
    channels: Option<&'a [String]>,
    as_of: Option<&str>,
) -> Result<Producer<'a>, RenderError> {
    let as_of = loaded.as_of(as_of);
    let as_of_unix = parse_as_of(&as_of).map_err(|_| RenderError::AsOf(as_of.clone()))?;
    Ok(Producer { loaded, translator, only: channels, as_of: Arc::from(as_of.as_str()), as_of_unix, library: None })
}

/// Translates a source document with one of the tenant's translators and
/// renders each record: every record ends as its outputs or as a rejection
/// (translator refusals, repeated document ids and a translator that dies
/// included), in source order, as in a batch.
pub fn render_source(
    loaded: &LoadedTenant,
    request: SourceRequest<'_>,
) -> Result<Vec<Result<Rendered, Box<Rejection>>>, RenderError> {
    let (producer, records) = translate(loaded, request)?;
    Ok(records
        .into_iter()
        .map(|r| r.and_then(|(mut record, location)| produce(&producer, &mut record, location)))
        .collect())
}

/// Translates a source document into checked CDM records without rendering
/// them (the author preview's sample records): each record of the source
/// in order, or the rejection a batch would give it.
pub fn translate_source(
    loaded: &LoadedTenant,
    request: SourceRequest<'_>,
) -> Result<Vec<Result<tessera_cdm::CdmRecord, Box<Rejection>>>, RenderError> {
    let (_, records) = translate(loaded, request)?;
    Ok(records.into_iter().map(|r| r.map(|(record, _)| record)).collect())
}

/// The tenant's sample records (its `[job] input`, through the translator
/// the batch would pick): what the author preview renders. Each record is
/// checked CDM or the rejection a batch would give it.
pub fn sample_records(
    loaded: &LoadedTenant,
) -> Result<Vec<Result<tessera_cdm::CdmRecord, Box<Rejection>>>, RenderError> {
    let job = &loaded.tenant.config.job;
    let input = job
        .input
        .as_deref()
        .ok_or_else(|| RenderError::Translator("tenant.toml names no sample input ([job] input)".into()))?;
    let path = loaded.tenant.dir.join(input);
    let translator = crate::run::job::pick_translator(job, &path).ok_or_else(|| {
        RenderError::Translator(format!("no translator for {input} (set [job] translator or [job.translators])"))
    })?;
    let bytes =
        std::fs::read(&path).map_err(|e| RenderError::Translator(format!("reading {}: {e}", path.display())))?;
    let name = Path::new(input).file_name().and_then(|n| n.to_str()).unwrap_or(input);
    translate_source(
        loaded,
        SourceRequest { translator: &translator, name, bytes: &bytes, channels: None, as_of: None },
    )
}

type Translated = Result<(tessera_cdm::CdmRecord, Option<tessera_runtime::SourceLocation>), Box<Rejection>>;

fn translate<'a>(
    loaded: &'a LoadedTenant,
    request: SourceRequest<'a>,
) -> Result<(Producer<'a>, Vec<Translated>), RenderError> {
    let translator = loaded.plugin_of_kind(request.translator, Kind::Translator).map_err(|e| match e {
        crate::error::PipelineError::Config { message, .. } => RenderError::Translator(message),
        other => RenderError::Translator(other.to_string()),
    })?;
    let producer = producer(loaded, Some(translator), request.channels, request.as_of)?;
    let call = CallContext {
        as_of: Arc::clone(&producer.as_of),
        as_of_unix: producer.as_of_unix,
        seed: seed_for(request.name),
    };
    let bytes_read = AtomicU64::new(0);
    let stage = SourceStage {
        translator,
        call,
        input: Path::new(request.name),
        source_name: request.name,
        skip: 0,
        bytes_read: &bytes_read,
        wrong_bytes: None,
    };
    let mut records = Vec::new();
    let chunks = std::io::BufReader::with_capacity(CHUNK_BYTES, request.bytes);
    let ran = stage.run_from(chunks, |work| {
        records.push(match work.item {
            WorkItem::Rejected(r) => Err(Box::new(r)),
            WorkItem::Record { cdm, location, .. } => {
                producer.validate(&cdm, location.clone()).map(|record| (record, location))
            }
            WorkItem::Rendered { .. } => unreachable!("a source read here is translated here"),
        });
        true
    });
    match ran {
        Ok(_) | Err(SourceError::Closed) => Ok((producer, records)),
        Err(SourceError::Io(e)) => Err(RenderError::Translator(format!("reading the source: {e}"))),
    }
}

/// Renders one record of `loaded`'s tenant.
pub fn render_record(loaded: &LoadedTenant, request: RenderRequest<'_>) -> Result<Rendered, RenderError> {
    render_record_from(loaded, None, request)
}

/// Renders one record from `library` instead of the live content (the
/// studio's preview of a draft), exactly as the live content would.
pub fn render_record_from(
    loaded: &LoadedTenant,
    library: Option<Arc<crate::Library>>,
    request: RenderRequest<'_>,
) -> Result<Rendered, RenderError> {
    let mut producer = producer(loaded, None, request.channels, request.as_of)?;
    producer.library = library;
    let mut record = producer.validate(request.cdm, None).map_err(RenderError::Rejected)?;
    produce(&producer, &mut record, None).map_err(RenderError::Rejected)
}

/// A spooled channel's letter as a PDF of its own, made and checked as in
/// a spool (so it looks exactly as it will in one).
fn spool_of_one(producer: &Producer<'_>, letter: StagedLetter) -> Result<RenderedOutput, Failure> {
    let channel = producer.loaded.routing.channel(&letter.channel).expect("a staged letter's channel exists");
    let (Maker::Plugin { plugin, markup: Some(markup) }, Some(settings)) = (&channel.maker, &channel.spool) else {
        unreachable!("only spooled channels with print markup stage letters")
    };
    let call = producer.call_context(seed_for(&letter.document_id));
    let one = SpoolLetter {
        seq: 0,
        document_id: letter.document_id.clone(),
        customer_ref: letter.record.clone(),
        sort_key: Vec::new(),
        markup: letter.markup.clone(),
        facts: letter.facts.clone(),
    };
    let id = letter.document_id.clone();
    let plan = SpoolPlan { id: &id, number: 1, settings, markup: *markup };
    let outcome = make_spool(plugin, &call, &channel.name, &channel.metadata, plan, vec![one]);
    if let Some(left) = outcome.unspooled.into_iter().next() {
        return Err(Failure {
            field: left.field,
            plugin: left.plugin,
            limit: left.limit,
            ..Failure::plain(left.stage, format!("channel `{}`: {}", channel.name, left.reason))
        });
    }
    let spool = outcome.spools.into_iter().next().expect("a letter of its own is spooled or left out");
    let file = format!("{id}.{}.pdf", channel.name);
    let sha256 = sha256_hex(&spool.pdf);
    let spooled =
        SpooledChannel { name: &channel.name, plugin, metadata: &channel.metadata, settings, markup: *markup };
    let formatter = plugin_use(plugin, &spool.usage);
    let line = line_of(&letter, &spooled, &file, &spool, &spool.letters[0], &sha256, formatter);
    Ok(RenderedOutput { file, bytes: spool.pdf, line })
}

fn produce(
    producer: &Producer<'_>,
    record: &mut tessera_cdm::CdmRecord,
    location: Option<tessera_runtime::SourceLocation>,
) -> Result<Rendered, Box<Rejection>> {
    let mut times = StageTimes::default();
    let delivery = guarded(|| producer.produce(record, &mut times))
        .map_err(|failure| Box::new(producer.reject(record, location, failure)))?;
    let mut outputs: Vec<RenderedOutput> = delivery
        .files
        .into_iter()
        .zip(delivery.lines)
        .map(|((file, bytes), line)| RenderedOutput { file, bytes, line })
        .collect();
    // A spooled channel's letter, asked for now: a spool of one.
    for letter in delivery.staged {
        outputs
            .push(spool_of_one(producer, letter).map_err(|failure| Box::new(producer.reject(record, None, failure)))?);
    }
    let content = delivery.content;
    Ok(Rendered { outputs, content_revision: content.revision, view: content.view, assets: content.assets })
}
