//! On-demand rendering: one CDM record to its outputs, in memory, with the
//! same validation, routing, composition and formatters as a batch run —
//! so a document rendered for a portal is byte-identical to the one the
//! batch would have written, and a refusal carries the same reason.

use crate::batch::{LoadedTenant, parse_as_of, today};
use crate::flow::{Failure, StageTimes};
use crate::produce::Producer;
use crate::report::{ManifestLine, Rejection, Stage};
use std::path::Path;
use std::sync::Arc;

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
}

/// Why a record was not rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The as-of date is not `YYYY-MM-DD`.
    #[error("as-of date `{0}` is not YYYY-MM-DD")]
    AsOf(String),
    /// The record was refused, with the same reason a batch would give.
    #[error("{}", .0.reason)]
    Rejected(Box<Rejection>),
}

impl RenderError {
    /// The rejection, when the record itself was refused.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            RenderError::Rejected(r) => Some(r),
            RenderError::AsOf(_) => None,
        }
    }
}

/// Renders one record of `loaded`'s tenant.
pub fn render_record(loaded: &LoadedTenant, request: RenderRequest<'_>) -> Result<Rendered, RenderError> {
    let as_of =
        request.as_of.map(str::to_owned).or_else(|| loaded.tenant.config.job.as_of.clone()).unwrap_or_else(today);
    let as_of_unix = parse_as_of(&as_of).map_err(|_| RenderError::AsOf(as_of.clone()))?;
    let producer = Producer {
        loaded,
        translator: None,
        only: request.channels,
        as_of: Arc::from(as_of.as_str()),
        as_of_unix,
        out_dir: Path::new(""),
    };
    let record = producer.validate(request.cdm, None).map_err(RenderError::Rejected)?;
    let mut times = StageTimes::default();
    let produced = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| producer.produce(&record, &mut times)))
        .unwrap_or_else(|_| Err(Failure::plain(Stage::Compose, "internal error while producing this document".into())));
    let delivery =
        produced.map_err(|failure| RenderError::Rejected(Box::new(producer.reject(&record, None, failure))))?;
    let outputs = delivery
        .files
        .into_iter()
        .zip(delivery.lines)
        .map(|((file, bytes), line)| RenderedOutput { file, bytes, line })
        .collect();
    Ok(Rendered { outputs, content_revision: delivery.content.revision })
}
