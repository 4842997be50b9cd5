//! The routes and their handlers. A render request is checked in the order
//! a caller can act on: token (401), tenant (403: a token never learns
//! whether another tenant exists), body size (413), JSON (400), a free
//! render slot (503 + `Retry-After`), then the record itself (422 with the
//! batch's rejection fields).

use crate::auth;
use crate::metrics::{Metrics, ReloadCounts};
use crate::problem::Problem;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use tessera_pipeline::{
    LoadedTenant, Rejection, RenderError, RenderRequest, Rendered, SourceRequest, render_record, render_source,
};
use tokio::sync::Semaphore;

/// Limits of the server.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Renders that may run at once; one more gets `503` with `Retry-After`.
    pub slots: usize,
    /// Largest request body, in bytes (`413` above it).
    pub max_body_bytes: usize,
    /// Seconds a refused caller is told to wait.
    pub retry_after_secs: u32,
    /// How long a request may wait for a slot before it is refused: a
    /// burst a little over capacity is smoothed out instead of refused...
    pub queue_wait: std::time::Duration,
    /// ...but only this many wait at once; the next one is refused at
    /// once, so the queue (and the latency) stays bounded.
    pub max_waiting: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        ServerLimits {
            slots: cores * 4,
            max_body_bytes: 1 << 20,
            retry_after_secs: 1,
            queue_wait: std::time::Duration::from_millis(50),
            max_waiting: cores * 16,
        }
    }
}

pub(crate) struct TenantEntry {
    pub loaded: Arc<LoadedTenant>,
    tokens: Vec<[u8; 32]>,
    /// The preview's sample records, translated on first use.
    pub samples: std::sync::OnceLock<Arc<crate::preview::Samples>>,
}

/// Everything the handlers share.
pub struct AppState {
    pub(crate) tenants: BTreeMap<String, TenantEntry>,
    pub(crate) slots: Arc<Semaphore>,
    /// Requests waiting for a slot now.
    waiting: std::sync::atomic::AtomicUsize,
    limits: ServerLimits,
    /// The counters behind `/metrics`.
    pub metrics: Metrics,
    /// Whether `/preview` is served.
    pub(crate) preview: bool,
    pub(crate) outputs: crate::preview::OutputCache,
    /// The content studio, when switched on.
    pub(crate) studio: Option<crate::studio::Studio>,
    /// Set when the server starts stopping: long-lived answers (the
    /// preview's event streams) end so in-flight requests can finish.
    pub(crate) closing: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    /// The state for `tenants`; refuses a malformed token digest, naming
    /// the tenant.
    pub fn new(tenants: Vec<Arc<LoadedTenant>>, limits: ServerLimits) -> Result<AppState, String> {
        let mut map = BTreeMap::new();
        for loaded in tenants {
            let id = loaded.tenant.config.id.clone();
            let tokens = auth::parse_digests(&id, &loaded.tenant.config.api.token_sha256)?;
            if tokens.is_empty() {
                tracing::warn!(tenant = %id, "no [api] token_sha256: nobody can render for this tenant");
            }
            map.insert(id, TenantEntry { loaded, tokens, samples: std::sync::OnceLock::new() });
        }
        Ok(AppState {
            tenants: map,
            slots: Arc::new(Semaphore::new(limits.slots)),
            waiting: Default::default(),
            limits,
            metrics: Metrics::default(),
            preview: false,
            outputs: Default::default(),
            studio: None,
            closing: tokio::sync::watch::Sender::new(false),
        })
    }

    /// Serves the author preview at `/preview` too. It has no token: turn
    /// it on only where every caller may see every tenant's sample records
    /// and content (`tessera serve` allows it on loopback only).
    pub fn with_preview(mut self) -> AppState {
        self.preview = true;
        self
    }

    /// Serves the content studio at `/studio` too; refuses tenants whose
    /// studio users are malformed or whose content is not published from git.
    pub fn with_studio(mut self, transport: crate::studio::StudioTransport) -> Result<AppState, String> {
        self.studio = Some(crate::studio::Studio::new(&self.tenants, transport)?);
        Ok(self)
    }

    /// Ends the preview's event streams; [`crate::serve`] calls it when
    /// shutdown begins.
    pub fn begin_shutdown(&self) {
        self.closing.send_replace(true);
    }

    /// Takes a render slot away until the permit is dropped (tests use it
    /// to fill the server deterministically).
    pub fn hold_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.slots).try_acquire_owned().ok()
    }
}

/// The API's routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.limits.max_body_bytes;
    Router::new()
        .route("/v1/tenants/{tenant}/render", post(render))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .merge(crate::preview::routes())
        .merge(crate::studio::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not-found", "No such resource", "see the API description for the routes")
}

/// The API description, committed beside the code (`host/server/api/openapi.json`).
pub const OPENAPI: &str = include_str!("../api/openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], OPENAPI).into_response()
}

async fn healthz(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({ "status": "ok", "tenants": state.tenants.len() }))
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let reloads: Vec<ReloadCounts> = state
        .tenants
        .iter()
        .map(|(id, t)| {
            let s = t.loaded.content.status();
            ReloadCounts { tenant: id.clone(), reloads: s.reloads, failures: s.failures, generation: s.generation }
        })
        .collect();
    let mut response = state.metrics.render(reloads).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(crate::metrics::CONTENT_TYPE));
    response
}

/// The body of a render request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenderBody {
    /// The CDM record (or give `source` and `translator`), kept as the
    /// request's own bytes: the pipeline parses and validates it once.
    #[serde(default)]
    record: Option<Box<RawValue>>,
    /// A source document (text) to translate and render record by record.
    #[serde(default)]
    source: Option<String>,
    /// The source document's bytes in base64 (for binary or non-UTF-8 sources).
    #[serde(default)]
    source_base64: Option<String>,
    /// The granted translator for `source`.
    #[serde(default)]
    translator: Option<String>,
    /// The source's name in rejections' locations (default `request`).
    #[serde(default)]
    name: Option<String>,
    /// Exactly these channels (default: the tenant's scenario decides).
    #[serde(default)]
    channels: Option<Vec<String>>,
    /// As-of date, `YYYY-MM-DD`.
    #[serde(default)]
    as_of: Option<String>,
}

async fn render(
    State(state): State<Arc<AppState>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    // Only tenants that exist get their own metric labels: a caller cannot
    // grow the metrics with made-up tenant names.
    let label = if state.tenants.contains_key(&tenant) { tenant.as_str() } else { "-" };
    let (response, outcome, outputs) = match render_checked(&state, &tenant, &headers, body).await {
        Ok(outcome) => {
            let mut outputs = 0;
            match &outcome {
                Done::One(rendered) => outputs += count_delivered(&state.metrics, label, rendered),
                Done::Many(results) => {
                    for result in results {
                        match result {
                            Ok(rendered) => outputs += count_delivered(&state.metrics, label, rendered),
                            Err(_) => state.metrics.count(label, "-", "rejected"),
                        }
                    }
                }
            }
            let response = match outcome {
                Done::One(rendered) => answer(rendered),
                Done::Many(results) => Json(source_answer(&results)).into_response(),
            };
            (response, "ok", outputs)
        }
        Err(problem) => {
            let slug = problem.slug();
            state.metrics.count(label, "-", slug);
            (problem.into_response(), slug, 0)
        }
    };
    let elapsed = started.elapsed();
    state.metrics.observe(label, elapsed);
    // Tenant, outcome and timing only: a request's record never reaches the log.
    tracing::info!(
        tenant = label,
        status = response.status().as_u16(),
        outcome,
        outputs,
        ms = elapsed.as_secs_f64() * 1e3,
        "render"
    );
    response
}

/// Counts a delivered record's outputs and its plugins' fuel and time;
/// returns how many outputs it had.
fn count_delivered(metrics: &Metrics, label: &str, rendered: &Rendered) -> usize {
    for output in &rendered.outputs {
        metrics.count(label, &output.line.channel, "ok");
        for plugin in &output.line.plugins {
            metrics.add_plugin(label, &plugin.id, plugin.fuel, plugin.elapsed);
        }
    }
    rendered.outputs.len()
}

async fn render_checked(
    state: &Arc<AppState>,
    tenant: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Done, Problem> {
    let token = auth::bearer(headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())).ok_or_else(|| {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "A bearer token is required",
            "send `Authorization: Bearer <token>` with a token of this tenant",
        )
    })?;
    let token = auth::digest(token);
    let known = state.tenants.values().any(|t| auth::matches(&token, &t.tokens));
    if !known {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "The bearer token is not valid",
            "the token matches no tenant's [api] token_sha256",
        ));
    }
    let entry = state.tenants.get(tenant).filter(|t| auth::matches(&token, &t.tokens)).ok_or_else(|| {
        Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "This token may not render for this tenant",
            format!("the token is not one of tenant `{tenant}`'s"),
        )
    })?;
    let body = body.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                status,
                "too-large",
                "The request body is too large",
                format!("the limit is {} bytes", state.limits.max_body_bytes),
            )
        } else {
            Problem::new(status, "bad-request", "The request body could not be read", e.body_text())
        }
    })?;
    let mut request: RenderBody = serde_json::from_slice(&body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-json",
            "The request body is not a render request",
            format!("{e} (expected {{\"record\": {{…CDM…}}, \"channels\": [\"html\"]}})"),
        )
        .with("line", json!(e.line()))
        .with("column", json!(e.column()))
    })?;
    let loaded = Arc::clone(&entry.loaded);
    let source = match (request.source.take(), &request.source_base64) {
        (Some(text), None) => Some(text.into_bytes()),
        (None, Some(b64)) => Some(base64::engine::general_purpose::STANDARD.decode(b64.trim()).map_err(|e| {
            Problem::new(StatusCode::BAD_REQUEST, "bad-request", "source_base64 is not base64", e.to_string())
        })?),
        (None, None) => None,
        (Some(_), Some(_)) => {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "Give the source once",
                "send either `source` or `source_base64`",
            ));
        }
    };
    let job = match (request.record.take(), source, request.translator.take()) {
        (Some(record), None, None) => Job::Record(record),
        (None, Some(bytes), Some(translator)) => Job::Source { bytes, translator },
        (None, Some(_), None) => {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "A source needs a translator",
                "name one of the tenant's granted translators in `translator`",
            ));
        }
        _ => {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "Give a record or a source",
                "send either `record` (CDM) or `source` with `translator`",
            ));
        }
    };
    let permit = take_slot(state).await?;
    let name = request.name.take().unwrap_or_else(|| "request".into());
    let outcome = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let channels = request.channels.as_deref();
        let as_of = request.as_of.as_deref();
        match job {
            Job::Record(cdm) => {
                render_record(&loaded, RenderRequest { cdm: cdm.get(), channels, as_of }).map(Done::One)
            }
            Job::Source { bytes, translator } => render_source(
                &loaded,
                SourceRequest { translator: &translator, name: &name, bytes: &bytes, channels, as_of },
            )
            .map(Done::Many),
        }
    })
    .await
    .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "The render failed", e.to_string()))?
    .map_err(refused)?;
    Ok(outcome)
}

enum Job {
    Record(Box<RawValue>),
    Source { bytes: Vec<u8>, translator: String },
}

enum Done {
    One(Rendered),
    Many(Vec<Result<Rendered, Box<Rejection>>>),
}

/// A render slot: at once when one is free, else after a short bounded
/// wait; `503` with `Retry-After` when none frees up in time or too many
/// already wait.
async fn take_slot(state: &AppState) -> Result<tokio::sync::OwnedSemaphorePermit, Problem> {
    use std::sync::atomic::Ordering;
    let busy = || {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "Every render slot is busy",
            format!("all {} render slots are in use; retry shortly", state.limits.slots),
        )
        .retry_after(state.limits.retry_after_secs)
    };
    if let Ok(permit) = Arc::clone(&state.slots).try_acquire_owned() {
        return Ok(permit);
    }
    if state.waiting.fetch_add(1, Ordering::AcqRel) >= state.limits.max_waiting {
        state.waiting.fetch_sub(1, Ordering::AcqRel);
        return Err(busy());
    }
    let waited = tokio::time::timeout(state.limits.queue_wait, Arc::clone(&state.slots).acquire_owned()).await;
    state.waiting.fetch_sub(1, Ordering::AcqRel);
    match waited {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(busy()),
    }
}

/// A source's answer: every record in source order, delivered with its
/// outputs or rejected with the batch's fields; the counts add up.
fn source_answer(results: &[Result<Rendered, Box<Rejection>>]) -> Value {
    let records: Vec<Value> = results
        .iter()
        .map(|r| match r {
            Ok(rendered) => json!({
                "status": "delivered",
                "record": rendered.outputs.first().map(|o| o.line.record.clone()),
                "document_id": rendered.outputs.first().map(|o| o.line.document_id.clone()),
                "content_revision": &*rendered.content_revision,
                "outputs": outputs_json(rendered),
            }),
            Err(rejection) => {
                let mut v = serde_json::to_value(rejection.as_ref()).unwrap_or(Value::Null);
                if let Value::Object(map) = &mut v {
                    map.insert("status".into(), "rejected".into());
                }
                v
            }
        })
        .collect();
    let delivered = results.iter().filter(|r| r.is_ok()).count();
    json!({
        "records_in": results.len(),
        "delivered": delivered,
        "rejected": results.len() - delivered,
        "records": records,
    })
}

fn outputs_json(rendered: &Rendered) -> Vec<Value> {
    rendered
        .outputs
        .iter()
        .map(|o| {
            json!({
                "channel": o.line.channel,
                "file": o.file,
                "media_type": o.line.media_type,
                "sha256": o.line.sha256,
                "pages": o.line.pages,
                "warnings": o.line.warnings,
                "bytes_base64": base64::engine::general_purpose::STANDARD.encode(&o.bytes),
            })
        })
        .collect()
}

/// A refused record: 422 with the fields a batch writes to `rejected.jsonl`.
fn refused(error: RenderError) -> Problem {
    match &error {
        RenderError::AsOf(_) => {
            Problem::new(StatusCode::BAD_REQUEST, "bad-as-of", "The as-of date is not valid", error.to_string())
        }
        RenderError::Translator(_) => Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-translator",
            "The source cannot be translated",
            error.to_string(),
        ),
        RenderError::Rejected(r) => {
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "rejected", "The record was refused", r.reason.clone())
                .with("stage", json!(r.stage))
                .with("field", json!(r.field))
                .with("rule", json!(r.rule))
                .with("plugin", json!(r.plugin))
                .with("limit", json!(r.limit))
                .with("record", json!(r.record))
                .with("document_id", json!(r.document_id))
        }
    }
}

/// One output: its bytes with their media type. Several: one JSON object
/// listing each (bytes in base64).
fn answer(mut rendered: Rendered) -> Response {
    let revision = HeaderValue::from_str(&rendered.content_revision).ok();
    let mut response = if let [one] = rendered.outputs.as_mut_slice() {
        let mut r = std::mem::take(&mut one.bytes).into_response();
        let h = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&one.line.media_type) {
            h.insert(header::CONTENT_TYPE, v);
        }
        if let Ok(v) = HeaderValue::from_str(&one.line.channel) {
            h.insert("x-tessera-channel", v);
        }
        if let Ok(v) = HeaderValue::from_str(&one.line.sha256) {
            h.insert("x-tessera-sha256", v);
        }
        // What was left out of the document (a malformed BIC) or deserves a
        // look (a payee account the tenant does not list), by code.
        let codes: Vec<&str> = one.line.warnings.iter().map(|w| w.code.as_str()).collect();
        if let (false, Ok(v)) = (codes.is_empty(), HeaderValue::from_str(&codes.join(", "))) {
            h.insert("x-tessera-warnings", v);
        }
        r
    } else {
        let outputs = outputs_json(&rendered);
        Json(json!({ "content_revision": &*rendered.content_revision, "outputs": outputs })).into_response()
    };
    if let Some(v) = revision {
        response.headers_mut().insert("x-tessera-content-revision", v);
    }
    response
}
