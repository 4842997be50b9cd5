//! The author preview at `/preview`: a server-rendered page where a content
//! author picks a tenant, template, sample record, brand label, locale and
//! channel and sees the document exactly as the pipeline makes it (same
//! validation, routing, live content and plugins as a batch), with the
//! content revision and every file's resolution chain beside it.
//!
//! The page keeps itself current: `/preview/events` is a server-sent event
//! stream that says when the tenant's live content changed (a new library
//! swapped in, or a reload refused); the page's little script then fetches
//! `/preview/panel` and swaps it in, without reloading the page. A refused
//! reload shows an overlay with the content error's `file:line:col` over
//! the last good document, until the content is good again.
//!
//! The preview has no token: it is only served when the server is started
//! with it switched on, and `tessera serve` allows that on loopback only.

mod html;

use crate::api::{AppState, TenantEntry};
use crate::problem::Problem;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tessera_pipeline::{CdmRecord, LiveContent, LoadedTenant, RenderError, RenderRequest, Rendered, render_record};

/// How often an open event stream looks at the content's reload status: a
/// change reaches the page well within a second of the reload.
const STATUS_POLL: Duration = Duration::from_millis(100);

/// Outputs kept for the page's document frame to fetch.
const KEPT_OUTPUTS: usize = 64;

/// The preview's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/preview", get(page))
        .route("/preview/panel", get(panel))
        .route("/preview/output/{id}", get(output))
        .route("/preview/events", get(events))
}

/// What the author picked; an empty or missing value means "as the record
/// says" (or the tenant's default), so the default view is what the batch
/// would make.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Picked {
    tenant: Option<String>,
    template: Option<String>,
    record: Option<usize>,
    label: Option<String>,
    locale: Option<String>,
    channel: Option<String>,
}

fn chosen(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// One sample record the author can pick.
pub(crate) struct Sample {
    /// `customer_ref · document_id`: the only identifiers shown outside the document.
    pub title: String,
    pub record: CdmRecord,
}

/// A tenant's sample records, translated once from its `[job] input`.
pub(crate) struct Samples {
    pub records: Vec<Sample>,
    /// Records of the sample input that the batch would refuse, with why.
    pub refused: Vec<String>,
}

/// The choices the page offers, with what is picked now.
pub(crate) struct Choices {
    pub tenants: Vec<String>,
    pub tenant: String,
    pub templates: Vec<String>,
    pub labels: Vec<String>,
    pub locales: Vec<String>,
    pub channels: Vec<String>,
    pub picked: Picked,
    pub record: usize,
    pub channel: String,
    pub samples: Arc<Samples>,
}

/// One render's output, kept for the document frame, with how it is
/// served decided once when it is kept.
pub(crate) struct Output {
    file: String,
    /// HTML and PDF as they are (a PDF is shown inline by the browser);
    /// other text outputs (e-mail source, SMS JSON, print lines) as plain
    /// text, so the browser shows rather than downloads them.
    shown_as: String,
    /// Tenant-authored HTML, served with a sandboxing CSP.
    html: bool,
    bytes: axum::body::Bytes,
}

impl Output {
    pub(crate) fn new(file: String, media_type: &str, bytes: Vec<u8>) -> Output {
        let essence = media_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let shown_as = match essence.as_str() {
            "text/html" | "application/pdf" | "image/png" | "image/svg+xml" => media_type.to_owned(),
            _ if std::str::from_utf8(&bytes).is_ok() => "text/plain; charset=utf-8".into(),
            _ => "application/octet-stream".into(),
        };
        Output { file, shown_as, html: essence == "text/html", bytes: bytes.into() }
    }
}

/// The last few outputs, by id: the panel names one, the frame fetches it,
/// so what the frame shows is what the panel describes (one render, one
/// content revision).
#[derive(Default)]
pub(crate) struct OutputCache {
    next: AtomicU64,
    kept: Mutex<VecDeque<(u64, Arc<Output>)>>,
}

impl OutputCache {
    fn keep(&self, output: Output) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() == KEPT_OUTPUTS {
            kept.pop_front();
        }
        kept.push_back((id, Arc::new(output)));
        id
    }

    fn get(&self, id: u64) -> Option<Arc<Output>> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter().find(|(i, _)| *i == id).map(|(_, o)| Arc::clone(o))
    }
}

/// What the panel shows: the render (or why it failed) and the content's state.
pub(crate) struct Shown {
    pub result: Result<(Rendered, u64), RenderError>,
    pub status: tessera_pipeline::ReloadStatus,
}

fn not_found(what: String) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not-found", "Not in the preview", what)
}

fn entry<'a>(state: &'a AppState, picked: &Picked) -> Result<(&'a str, &'a TenantEntry), Problem> {
    match chosen(&picked.tenant) {
        Some(id) => state
            .tenants
            .get_key_value(id)
            .map(|(k, v)| (k.as_str(), v))
            .ok_or_else(|| not_found(format!("no tenant `{id}` is served"))),
        None => state
            .tenants
            .iter()
            .next()
            .map(|(k, v)| (k.as_str(), v))
            .ok_or_else(|| not_found("the server has no tenants".into())),
    }
}

/// The tenant's samples, translated on first use (off the async threads).
pub(crate) async fn samples(entry: &TenantEntry) -> Result<Arc<Samples>, Problem> {
    if let Some(done) = entry.samples.get() {
        return Ok(Arc::clone(done));
    }
    let loaded = Arc::clone(&entry.loaded);
    let samples = tokio::task::spawn_blocking(move || translate_samples(&loaded)).await.map_err(|e| {
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Translating failed", e.to_string())
    })??;
    Ok(Arc::clone(entry.samples.get_or_init(|| Arc::new(samples))))
}

/// [`samples`] for code already off the async threads (the studio's checks).
pub(crate) fn samples_now(entry: &TenantEntry) -> Result<Arc<Samples>, Problem> {
    if let Some(done) = entry.samples.get() {
        return Ok(Arc::clone(done));
    }
    let samples = translate_samples(&entry.loaded)?;
    Ok(Arc::clone(entry.samples.get_or_init(|| Arc::new(samples))))
}

fn translate_samples(loaded: &LoadedTenant) -> Result<Samples, Problem> {
    let translated = tessera_pipeline::sample_records(loaded).map_err(|e| {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "no-samples", "The sample input cannot be read", e.to_string())
    })?;
    let mut samples = Samples { records: Vec::new(), refused: Vec::new() };
    for result in translated {
        match result {
            Ok(record) => samples
                .records
                .push(Sample { title: format!("{} · {}", record.customer_ref, record.document_id), record }),
            Err(rejection) => samples.refused.push(rejection.reason.clone()),
        }
    }
    Ok(samples)
}

async fn choices(state: &AppState, picked: Picked) -> Result<(Arc<LoadedTenant>, Choices), Problem> {
    let (tenant, entry) = entry(state, &picked)?;
    let samples = samples(entry).await?;
    let loaded = Arc::clone(&entry.loaded);
    let library = loaded.content.current();
    let set = library.set();
    let mut templates: Vec<String> = set
        .views()
        .flat_map(|v| v.templates().map(|(name, _)| name.to_owned()).collect::<Vec<_>>())
        .filter_map(|name| name.strip_prefix("templates/")?.strip_suffix(".html").map(str::to_owned))
        .collect();
    templates.sort();
    templates.dedup();
    let mut locales: Vec<String> = set.views().map(|v| v.locale.clone()).collect();
    locales.sort();
    locales.dedup();
    let record = picked.record.unwrap_or(0).min(samples.records.len().saturating_sub(1));
    let channel = chosen(&picked.channel).unwrap_or("html").to_owned();
    let choices = Choices {
        tenants: state.tenants.keys().cloned().collect(),
        tenant: tenant.to_owned(),
        templates,
        labels: set.label_ids().map(str::to_owned).collect(),
        locales,
        channels: loaded.routing.names().iter().cloned().collect(),
        record,
        channel,
        picked,
        samples,
    };
    Ok((loaded, choices))
}

/// Renders the picked record with the picked overrides, on a render slot.
async fn show(state: &Arc<AppState>, loaded: Arc<LoadedTenant>, choices: &Choices) -> Result<Shown, Problem> {
    let sample = choices.samples.records.get(choices.record).ok_or_else(|| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no-samples",
            "The tenant has no usable sample record",
            format!("its sample input gave no usable record ({} refused)", choices.samples.refused.len()),
        )
    })?;
    let mut value = sample.record.value.clone();
    if let Some(production) = value.get_mut("production").and_then(|p| p.as_object_mut()) {
        for (field, picked) in [
            ("template", &choices.picked.template),
            ("label", &choices.picked.label),
            ("locale", &choices.picked.locale),
        ] {
            if let Some(v) = chosen(picked) {
                production.insert(field.into(), v.into());
            }
        }
    }
    let cdm = value.to_string();
    let channels = vec![choices.channel.clone()];
    let permit = Arc::clone(&state.slots)
        .acquire_owned()
        .await
        .map_err(|e| Problem::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "The server is stopping", e.to_string()))?;
    let status_of = Arc::clone(&loaded.content);
    let result = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        render_record(&loaded, RenderRequest { cdm: &cdm, channels: Some(&channels), as_of: None })
    })
    .await
    .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "The render failed", e.to_string()))?;
    let result = result.map(|mut rendered| {
        let id = match rendered.outputs.first_mut() {
            Some(first) => state.outputs.keep(Output::new(
                first.file.clone(),
                &first.line.media_type,
                std::mem::take(&mut first.bytes),
            )),
            None => 0,
        };
        (rendered, id)
    });
    Ok(Shown { result, status: status_of.status() })
}

fn enabled(state: &AppState) -> Result<(), Problem> {
    if state.preview { Ok(()) } else { Err(not_found("the preview is off (start the server with --preview)".into())) }
}

async fn page(State(state): State<Arc<AppState>>, Query(picked): Query<Picked>) -> Result<Html<String>, Problem> {
    enabled(&state)?;
    let (loaded, choices) = choices(&state, picked).await?;
    let shown = show(&state, loaded, &choices).await?;
    Ok(Html(html::page(&choices, &shown)))
}

async fn panel(State(state): State<Arc<AppState>>, Query(picked): Query<Picked>) -> Result<Response, Problem> {
    enabled(&state)?;
    let (loaded, choices) = choices(&state, picked).await?;
    let shown = show(&state, loaded, &choices).await?;
    let mut response = Html(html::panel(&choices, &shown)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The document itself, for the frame (see [`Output::new`] for how it is typed).
async fn output(State(state): State<Arc<AppState>>, Path(id): Path<u64>) -> Result<Response, Problem> {
    enabled(&state)?;
    let output = state.outputs.get(id).ok_or_else(|| not_found(format!("output {id} is no longer kept")))?;
    Ok(output_response(&output))
}

/// A rendered document for a frame: typed as [`Output::new`] decided, never
/// cached, and tenant HTML sandboxed (no script, nothing fetched).
pub(crate) fn output_response(output: &Output) -> Response {
    let mut response = output.bytes.clone().into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&output.shown_as) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if output.html {
        // Tenant-authored HTML runs no script and reaches nothing of the preview's.
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"),
        );
    }
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{}\"", output.file.replace('"', ""))) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

#[derive(Deserialize)]
struct EventsQuery {
    tenant: Option<String>,
    /// The state the page was rendered at (`generation.failures`): a change
    /// between the page's render and the stream's start is not missed.
    since: Option<String>,
}

/// Where a tenant's content is: a new library bumps the generation, a
/// refused reload the failure count.
fn mark(status: &tessera_pipeline::ReloadStatus) -> (u64, u64) {
    (status.generation, status.failures)
}

pub(crate) fn mark_text(status: &tessera_pipeline::ReloadStatus) -> String {
    let (g, f) = mark(status);
    format!("{g}.{f}")
}

fn parse_mark(text: &str) -> Option<(u64, u64)> {
    let (g, f) = text.split_once('.')?;
    Some((g.parse().ok()?, f.parse().ok()?))
}

async fn events(State(state): State<Arc<AppState>>, Query(q): Query<EventsQuery>) -> Result<Response, Problem> {
    enabled(&state)?;
    let picked = Picked { tenant: q.tenant, ..Default::default() };
    let (_, entry) = entry(&state, &picked)?;
    let live: Arc<LiveContent> = Arc::clone(&entry.loaded.content);
    let last = q.since.as_deref().and_then(parse_mark).unwrap_or_else(|| mark(&live.status()));
    let closing = state.closing.subscribe();
    let stream = futures_util::stream::unfold((live, last, closing), |(live, mut last, mut closing)| async move {
        loop {
            if *closing.borrow() {
                return None;
            }
            let status = live.status();
            let now = mark(&status);
            if now != last {
                last = now;
                let data = serde_json::json!({
                    "since": mark_text(&status),
                    "generation": status.generation,
                    "revision": status.revision,
                    "broken": status.last_error.is_some(),
                });
                let event = Event::default().event("content").data(data.to_string());
                return Some((Ok::<_, Infallible>(event), (live, last, closing)));
            }
            tokio::select! {
                _ = tokio::time::sleep(STATUS_POLL) => {}
                // The server is stopping (or gone): end the stream so the
                // graceful shutdown does not wait for the browser.
                _ = closing.changed() => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_round_trip() {
        assert_eq!(parse_mark("3.1"), Some((3, 1)));
        assert_eq!(parse_mark("3"), None);
        assert_eq!(parse_mark("x.1"), None);
    }

    #[test]
    fn outputs_are_typed_for_the_frame_once() {
        let pdf = Output::new("a.pdf".into(), "application/pdf", b"%PDF-".to_vec());
        assert_eq!((pdf.shown_as.as_str(), pdf.html), ("application/pdf", false));
        let eml = Output::new("a.eml".into(), "message/rfc822", b"Subject: x".to_vec());
        assert_eq!((eml.shown_as.as_str(), eml.html), ("text/plain; charset=utf-8", false));
        let html = Output::new("a.html".into(), "text/html; charset=utf-8", b"<p>".to_vec());
        assert_eq!((html.shown_as.as_str(), html.html), ("text/html; charset=utf-8", true));
        let binary = Output::new("a.bin".into(), "application/x-asa", vec![0xff, 0xfe]);
        assert_eq!(binary.shown_as, "application/octet-stream");
    }

    #[test]
    fn the_cache_keeps_the_newest_outputs() {
        let cache = OutputCache::default();
        let first = cache.keep(Output::new("a".into(), "text/html", vec![1]));
        for _ in 0..KEPT_OUTPUTS {
            cache.keep(Output::new("b".into(), "text/html", vec![2]));
        }
        assert!(cache.get(first).is_none());
        assert_eq!(cache.get(first + KEPT_OUTPUTS as u64).unwrap().bytes, [2].as_slice());
    }
}
