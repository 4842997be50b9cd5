//! The content studio at `/studio`: business authors edit their tenant's
//! content in the browser, see every change on the tenant's sample records
//! beside the published document, and submit it; a second person approves
//! it, which publishes it exactly as `tessera content publish` would (the
//! published ref moves; a running server hot-reloads it).
//!
//! Everything an author does is a git object or ref (see the
//! `tessera-content` drafts): the studio keeps no store of its own besides
//! the sessions in memory. A user signs in for one tenant and reaches only
//! that tenant's own content layer: paths are logical (`fragments/…`) and
//! always land in the tenant's layer; the provider's base shows read-only
//! in the tree, and saving a base file creates the tenant's override.
//!
//! Every change (POST/PUT) needs the session's CSRF token (a form field or
//! the `X-CSRF-Token` header) and, when the browser sends one, an `Origin`
//! equal to the server's own.

mod files;
mod pages;
mod people;

pub use people::hash_password;

use crate::api::{AppState, TenantEntry};
use crate::problem::Problem;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use files::FileRefusal;
use people::{Person, Scope, Session, Sessions};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tessera_content::{ContentRepo, Draft, RepoError, Snapshot, SourceMode};
use tessera_pipeline::{Library, RenderRequest, StudioRole, render_record_from};

/// The CodeMirror bundle (see `build.rs`); empty when node was missing.
const EDITOR_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/editor.js"));
const EDITOR_JS_GZ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/editor.js.gz"));
/// The studio's own script and style (no build step).
const STUDIO_JS: &str = include_str!("assets/studio.js");
const STUDIO_CSS: &str = include_str!("assets/studio.css");

/// Draft libraries kept for previews (by draft tip).
const KEPT_LIBRARIES: usize = 16;

/// The studio's state: who may sign in, who is signed in.
pub(crate) struct Studio {
    people: BTreeMap<String, Vec<Person>>,
    sessions: Sessions,
    /// Whether the browser reaches us over TLS (cookies get `Secure`).
    secure: bool,
    /// One git write at a time (tenants may share a repository).
    writes: Mutex<()>,
    libraries: Mutex<Vec<(String, Arc<Library>)>>,
}

/// How the studio is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StudioTransport {
    /// Plain HTTP on loopback (a developer's or author's own machine).
    Loopback,
    /// A proxy in front terminates TLS: cookies are marked `Secure`.
    BehindTlsProxy,
}

impl Studio {
    pub(crate) fn new(tenants: &BTreeMap<String, TenantEntry>, transport: StudioTransport) -> Result<Studio, String> {
        let mut people = BTreeMap::new();
        for (id, entry) in tenants {
            let config = &entry.loaded.tenant.config;
            let mut list = people::people(&format!("tenant `{id}`"), &config.studio.users, Scope::Tenant)?;
            for person in provider_people(entry)? {
                if list.iter().any(|p| p.name == person.name) {
                    return Err(format!(
                        "tenant `{id}` and its provider both have a studio user `{}`: names must be unique",
                        person.name
                    ));
                }
                list.push(person);
            }
            if !list.is_empty() && !matches!(entry.loaded.content.source().mode(), SourceMode::Published(_)) {
                return Err(format!(
                    "tenant `{id}` has studio users but renders its working tree: the studio publishes through \
                     the published ref, so set [content] source = \"published\" in its tenant.toml"
                ));
            }
            if !list.is_empty() && !list.iter().any(|p| p.role == StudioRole::Approver) {
                tracing::warn!(tenant = %id, "studio users but no approver: nothing this tenant's authors submit can be published");
            }
            people.insert(id.clone(), list);
        }
        Ok(Studio {
            people,
            sessions: Sessions::default(),
            secure: transport == StudioTransport::BehindTlsProxy,
            writes: Mutex::new(()),
            libraries: Mutex::new(Vec::new()),
        })
    }
}

/// The provider's `provider.toml`: beside its base layer folder (for the
/// samples, `printhub/provider.toml` beside `printhub/content`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderFile {
    /// The provider's name, for people reading the file (read, not used).
    #[serde(default, rename = "name")]
    _name: Option<String>,
    #[serde(default)]
    studio: tessera_pipeline::StudioConfig,
}

/// The provider's studio users for a tenant built on a base layer: they
/// edit the base (every tenant on it sees the change), never a tenant's own
/// layer. A tenant with one layer has no provider.
fn provider_people(entry: &TenantEntry) -> Result<Vec<Person>, String> {
    let all = layers(entry);
    let [base, _, ..] = all.as_slice() else { return Ok(Vec::new()) };
    let base_dir = repo(entry).root().join(base);
    let Some(file) = base_dir.parent().map(|d| d.join("provider.toml")) else { return Ok(Vec::new()) };
    if !file.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let parsed: ProviderFile =
        toml::from_str(&text).map_err(|e| tessera_content::ContentError::toml(&file, &text, &e).to_string())?;
    people::people(&file.display().to_string(), &parsed.studio.users, Scope::Provider)
}

impl Studio {
    /// Tenants someone can sign in to.
    fn tenants(&self) -> Vec<&String> {
        self.people.iter().filter(|(_, people)| !people.is_empty()).map(|(id, _)| id).collect()
    }
}

/// The studio's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/studio", get(sign_in_page).post(sign_in))
        .route("/studio/assets/{name}", get(asset))
        .route("/studio/{tenant}", get(home))
        .route("/studio/{tenant}/sign-out", post(sign_out))
        .route("/studio/{tenant}/history", get(history))
        .route("/studio/{tenant}/drafts", post(start))
        .route("/studio/{tenant}/drafts/{id}", get(draft_page))
        .route("/studio/{tenant}/drafts/{id}/review", get(review_page))
        .route("/studio/{tenant}/drafts/{id}/file", get(read_file).put(save_file))
        .route("/studio/{tenant}/drafts/{id}/label", post(save_label))
        .route("/studio/{tenant}/drafts/{id}/check", post(check))
        .route("/studio/{tenant}/drafts/{id}/render", get(render))
        .route("/studio/{tenant}/drafts/{id}/{action}", post(act))
}

fn studio(state: &AppState) -> Result<&Studio, Problem> {
    state.studio.as_ref().ok_or_else(|| {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "The studio is off", "start the server with --studio")
    })
}

fn forbidden(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed", detail)
}

fn refused(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", "Refused", detail)
}

fn repo_problem(e: RepoError) -> Problem {
    match e {
        RepoError::UnknownDraft { .. } => {
            Problem::new(StatusCode::NOT_FOUND, "not-found", "No such draft", e.to_string())
        }
        RepoError::OwnChange { .. } => forbidden(e.to_string()),
        RepoError::Conflict { ref paths, .. } => {
            let paths = json!(paths);
            Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                "The draft conflicts with the published content",
                e.to_string(),
            )
            .with("paths", paths)
        }
        other => refused(other.to_string()),
    }
}

/// The signed-in session for `tenant`: 401 without one, 403 for another tenant's.
fn session(state: &AppState, headers: &HeaderMap, tenant: &str) -> Result<Session, Problem> {
    let studio = studio(state)?;
    let id = people::cookie(headers.get(header::COOKIE).and_then(|v| v.to_str().ok()));
    let session = id.and_then(|id| studio.sessions.get(id)).ok_or_else(|| {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", "Sign in first", "no studio session: sign in at /studio")
    })?;
    if session.tenant != tenant {
        return Err(forbidden(format!("you are signed in for tenant `{}`, not this one", session.tenant)));
    }
    Ok(session)
}

/// A change must carry the session's CSRF token and come from our own origin.
fn change_allowed(session: &Session, headers: &HeaderMap, form_token: Option<&str>) -> Result<(), Problem> {
    if let (Some(origin), Some(host)) = (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
        if origin_host != host {
            return Err(forbidden(format!("a change from origin {origin} is refused")));
        }
    }
    let token = form_token.or_else(|| headers.get("x-csrf-token").and_then(|v| v.to_str().ok()));
    match token {
        Some(t) if people::same(t, &session.csrf) => Ok(()),
        _ => Err(forbidden("the CSRF token is missing or wrong: reload the page and try again")),
    }
}

fn entry<'a>(state: &'a AppState, tenant: &str) -> Result<&'a TenantEntry, Problem> {
    state.tenants.get(tenant).ok_or_else(|| forbidden("no such tenant"))
}

fn repo(entry: &TenantEntry) -> &ContentRepo {
    entry.loaded.content.source().repo()
}

fn published_ref(entry: &TenantEntry) -> String {
    entry.loaded.tenant.config.content.published_ref.clone()
}

/// The tenant's layer roots in the repository, most general first; the last is its own.
fn layers(entry: &TenantEntry) -> Vec<String> {
    entry.loaded.content.source().layers().roots().to_vec()
}

/// The layers a user sees, most general first; the last is the one they
/// edit: all of the tenant's for its own users, only the base for the
/// provider's.
fn visible_layers(entry: &TenantEntry, session: &Session) -> Vec<String> {
    let mut all = layers(entry);
    if session.scope == Scope::Provider {
        all.truncate(1);
    }
    all
}

/// The layer a user's saves go to.
fn own_layer(entry: &TenantEntry, session: &Session) -> String {
    visible_layers(entry, session).pop().unwrap_or_default()
}

fn full_path(entry: &TenantEntry, session: &Session, logical: &str) -> String {
    let own = own_layer(entry, session);
    if own.is_empty() { logical.to_owned() } else { format!("{own}/{logical}") }
}

/// Runs git work off the async threads, one write at a time when `write`.
async fn blocking<T: Send + 'static>(
    state: &Arc<AppState>,
    write: bool,
    work: impl FnOnce(&AppState) -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || {
        let studio = studio(&state)?;
        let _one = write.then(|| studio.writes.lock().unwrap_or_else(|e| e.into_inner()));
        work(&state)
    })
    .await
    .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "The studio failed", e.to_string()))?
}

// ---- signing in and out ---------------------------------------------------

async fn sign_in_page(State(state): State<Arc<AppState>>) -> Result<Response, Problem> {
    studio(&state)?;
    Ok(page_response(pages::sign_in(&studio(&state)?.tenants(), None)))
}

#[derive(Deserialize)]
struct SignIn {
    tenant: String,
    user: String,
    password: String,
}

async fn sign_in(
    State(state): State<Arc<AppState>>,
    axum::Form(form): axum::Form<SignIn>,
) -> Result<Response, Problem> {
    let studio_state = studio(&state)?;
    let tenants = studio_state.tenants();
    if let Some(left) = studio_state.sessions.locked(&form.tenant, &form.user) {
        let minutes = left.as_secs().div_ceil(60);
        let message = format!("Too many failed sign-ins: this account is locked for {minutes} more minutes.");
        return Ok(
            (StatusCode::TOO_MANY_REQUESTS, page_response(pages::sign_in(&tenants, Some(&message)))).into_response()
        );
    }
    let (tenant, user, password) = (form.tenant.clone(), form.user.clone(), form.password);
    let checked = blocking(&state, false, move |state| {
        let studio = studio(state)?;
        let person = studio.people.get(&tenant).and_then(|list| list.iter().find(|p| p.name == user));
        Ok(people::verify(person, &password).then(|| person.map(|p| (p.role, p.scope))).flatten())
    })
    .await?;
    let Some((role, scope)) = checked else {
        studio_state.sessions.failed(&form.tenant, &form.user);
        let message = "Wrong tenant, name or password.";
        return Ok((StatusCode::UNAUTHORIZED, page_response(pages::sign_in(&tenants, Some(message)))).into_response());
    };
    studio_state.sessions.succeeded(&form.tenant, &form.user);
    let (id, _) = studio_state.sessions.open(&form.tenant, &form.user, role, scope);
    tracing::info!(tenant = %form.tenant, user = %form.user, "studio sign-in");
    let secure = if studio_state.secure { "; Secure" } else { "" };
    let cookie = format!("{}={id}; Path=/studio; HttpOnly; SameSite=Strict{secure}", people::COOKIE);
    let mut response = Redirect::to(&format!("/studio/{}", form.tenant)).into_response();
    *response.status_mut() = StatusCode::SEE_OTHER;
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("hex cookie"));
    Ok(response)
}

#[derive(Deserialize, Default)]
struct TokenForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    comment: Option<String>,
}

async fn sign_out(
    State(state): State<Arc<AppState>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<TokenForm>,
) -> Result<Response, Problem> {
    let session = session(&state, &headers, &tenant)?;
    change_allowed(&session, &headers, form.csrf.as_deref())?;
    if let Some(id) = people::cookie(headers.get(header::COOKIE).and_then(|v| v.to_str().ok())) {
        studio(&state)?.sessions.close(id);
    }
    let mut response = see_other("/studio");
    let cookie = format!("{}=; Path=/studio; HttpOnly; SameSite=Strict; Max-Age=0", people::COOKIE);
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("ascii"));
    Ok(response)
}

// ---- pages ----------------------------------------------------------------

fn see_other(to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}

/// A studio page: no framing by others, scripts only from the studio itself.
fn page_response(html: String) -> Response {
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             frame-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

async fn home(
    State(state): State<Arc<AppState>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let session = match session(&state, &headers, &tenant) {
        Ok(s) => s,
        Err(p) if p.status == StatusCode::UNAUTHORIZED => return Ok(see_other("/studio")),
        Err(p) => return Err(p),
    };
    let t = tenant.clone();
    let (drafts, log) = blocking(&state, false, move |state| {
        let entry = entry(state, &t)?;
        let repo = repo(entry);
        let drafts = repo.drafts(&t).map_err(repo_problem)?;
        let log = repo.log(&published_ref(entry), None, 10).map_err(repo_problem)?;
        Ok((drafts, log))
    })
    .await?;
    Ok(page_response(pages::home(&session, &drafts, &log)))
}

async fn history(
    State(state): State<Arc<AppState>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let session = session(&state, &headers, &tenant)?;
    let (t, s) = (tenant.clone(), session.clone());
    let log = blocking(&state, false, move |state| {
        let entry = entry(state, &t)?;
        let own = own_layer(entry, &s);
        repo(entry).log(&published_ref(entry), Some(&own), 200).map_err(repo_problem)
    })
    .await?;
    Ok(page_response(pages::history(&session, &log)))
}

async fn start(
    State(state): State<Arc<AppState>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<TokenForm>,
) -> Result<Response, Problem> {
    let session = session(&state, &headers, &tenant)?;
    change_allowed(&session, &headers, form.csrf.as_deref())?;
    let (t, user) = (tenant.clone(), session.user.clone());
    let draft = blocking(&state, true, move |state| {
        let entry = entry(state, &t)?;
        repo(entry).start_draft(&t, &published_ref(entry), &user).map_err(repo_problem)
    })
    .await?;
    Ok(see_other(&format!("/studio/{tenant}/drafts/{}", draft.id)))
}

/// A draft with the tree of the files it shows.
fn load_draft(state: &AppState, tenant: &str, id: &str) -> Result<(Draft, Snapshot), Problem> {
    let entry = entry(state, tenant)?;
    let repo = repo(entry);
    let draft = repo.draft(tenant, id).map_err(repo_problem)?;
    let snapshot = repo.draft_snapshot(&draft, &layers(entry)).map_err(repo_problem)?;
    Ok((draft, snapshot))
}

async fn draft_page(
    State(state): State<Arc<AppState>>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let session = session(&state, &headers, &tenant)?;
    let (t, i, s) = (tenant.clone(), id.clone(), session.clone());
    let (draft, tree, changed) = blocking(&state, false, move |state| {
        let (draft, snapshot) = load_draft(state, &t, &i)?;
        let entry = entry(state, &t)?;
        let tree = files::tree(&snapshot, &visible_layers(entry, &s));
        let changed = repo(entry).draft_changes(&draft).map_err(repo_problem)?;
        Ok((draft, tree, changed))
    })
    .await?;
    let entry = entry(&state, &tenant)?;
    let choices = preview_choices(entry).await?;
    Ok(page_response(pages::draft(&session, &draft, &tree, &changed, &choices, &own_layer(entry, &session))))
}

async fn review_page(
    State(state): State<Arc<AppState>>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let session = session(&state, &headers, &tenant)?;
    let (t, i) = (tenant.clone(), id.clone());
    let (draft, diffs) = blocking(&state, false, move |state| {
        let entry = entry(state, &t)?;
        let repo = repo(entry);
        let draft = repo.draft(&t, &i).map_err(repo_problem)?;
        let before = repo.snapshot(&draft.base, "", &[String::new()]).map_err(repo_problem)?;
        let after = repo.draft_snapshot(&draft, &[String::new()]).map_err(repo_problem)?;
        let all = layers(entry);
        let diffs = repo
            .draft_changes(&draft)
            .map_err(repo_problem)?
            .iter()
            .map(|c| {
                let shadowed = match c {
                    tessera_content::Change::Added(p) => shadowed_file(&all, &before, p),
                    _ => None,
                };
                pages::FileDiff::of(c, &before, &after, shadowed.as_deref())
            })
            .collect::<Vec<_>>();
        Ok((draft, diffs))
    })
    .await?;
    let entry = entry(&state, &tenant)?;
    let choices = preview_choices(entry).await?;
    Ok(page_response(pages::review(&session, &draft, &diffs, &choices)))
}

/// The file of a more general layer that a new file of the tenant's own
/// layer (`full`) overrides, if any.
fn shadowed_file(layers: &[String], before: &Snapshot, full: &str) -> Option<String> {
    let (own, general) = layers.split_last()?;
    let logical = full.strip_prefix(&format!("{own}/"))?;
    general.iter().rev().map(|l| format!("{l}/{logical}")).find(|p| before.get(p).is_some())
}

// ---- files ----------------------------------------------------------------

/// A change to one file of a draft: signed in for the tenant, with the
/// CSRF token, at a path inside the tenant's layer.
fn file_change(state: &AppState, headers: &HeaderMap, tenant: &str, path: &str) -> Result<(Session, String), Problem> {
    let session = session(state, headers, tenant)?;
    change_allowed(&session, headers, None)?;
    let path = files::logical_path(path).map_err(|e| forbidden(e.to_string()))?.to_owned();
    Ok((session, path))
}

#[derive(Deserialize)]
struct FileQuery {
    path: String,
    /// The draft tip the editor loaded: a save from a stale tab is refused.
    #[serde(default)]
    tip: Option<String>,
}

async fn read_file(
    State(state): State<Arc<AppState>>,
    Path((tenant, id)): Path<(String, String)>,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let session = session(&state, &headers, &tenant)?;
    let path = files::logical_path(&q.path).map_err(|e| forbidden(e.to_string()))?.to_owned();
    let answer = blocking(&state, false, move |state| {
        let (draft, snapshot) = load_draft(state, &tenant, &id)?;
        let entry = entry(state, &tenant)?;
        let all = visible_layers(entry, &session);
        let found = all
            .iter()
            .rev()
            .find_map(|layer| snapshot.get(&format!("{layer}/{path}")).map(|f| (layer.clone(), f.bytes.clone())));
        let Some((layer, bytes)) = found else {
            return Err(Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "No such file",
                format!("no layer has `{path}`"),
            ));
        };
        let text = files::is_text(&path).then(|| String::from_utf8_lossy(&bytes).into_owned());
        let label = label_fields(&path, text.as_deref());
        Ok(json!({
            "path": path,
            "tip": draft.tip,
            "layer": layer,
            "own": layer == own_layer(entry, &session),
            "text": text,
            "bytes": bytes.len(),
            "label": label,
        }))
    })
    .await?;
    Ok(axum::Json(answer).into_response())
}

/// A brand label's fields for the form: every string, number or boolean of
/// `labels/<id>.toml`, by dotted key.
fn label_fields(path: &str, text: Option<&str>) -> Option<BTreeMap<String, String>> {
    let rest = path.strip_prefix("labels/")?;
    if rest.contains('/') || !rest.ends_with(".toml") {
        return None;
    }
    let table: toml::Table = toml::from_str(text?).ok()?;
    let mut out = BTreeMap::new();
    fn walk(prefix: &str, table: &toml::Table, out: &mut BTreeMap<String, String>) {
        for (key, value) in table {
            let name = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            match value {
                toml::Value::Table(t) => walk(&name, t, out),
                toml::Value::String(s) => {
                    out.insert(name, s.clone());
                }
                toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
                    out.insert(name, value.to_string());
                }
                // Lists of lines (legal lines, the sender's address): one per line.
                toml::Value::Array(items) if items.iter().all(toml::Value::is_str) => {
                    out.insert(name, items.iter().filter_map(toml::Value::as_str).collect::<Vec<_>>().join("\n"));
                }
                _ => {}
            }
        }
    }
    walk("", &table, &mut out);
    Some(out)
}

async fn save_file(
    State(state): State<Arc<AppState>>,
    Path((tenant, id)): Path<(String, String)>,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let (session, path) = file_change(&state, &headers, &tenant, &q.path)?;
    if path.starts_with("assets/") {
        files::check_image(&path, &body).map_err(|e: FileRefusal| refused(e.to_string()))?;
    } else if std::str::from_utf8(&body).is_err() {
        return Err(refused(format!("`{path}` must be UTF-8 text")));
    }
    save(&state, session, tenant, id, path, q.tip, body.to_vec()).await
}

async fn save(
    state: &Arc<AppState>,
    session: Session,
    tenant: String,
    id: String,
    path: String,
    tip: Option<String>,
    bytes: Vec<u8>,
) -> Result<Response, Problem> {
    let answer = blocking(state, true, move |state| {
        let entry = entry(state, &tenant)?;
        let repo = repo(entry);
        let draft = repo.draft(&tenant, &id).map_err(repo_problem)?;
        if tip.as_deref().is_some_and(|t| t != draft.tip) {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "stale",
                "The draft changed meanwhile",
                "someone saved this draft after you opened it: reload the page to see their changes",
            ));
        }
        let full = full_path(entry, &session, &path);
        let draft = repo
            .save_draft(&draft, &session.user, &[(full, Some(bytes))], &format!("Edit {path}"))
            .map_err(repo_problem)?;
        let check = check_draft(entry, &draft, None)?;
        Ok(json!({ "tip": draft.tip, "state": draft.state, "errors": check }))
    })
    .await?;
    Ok(axum::Json(answer).into_response())
}

async fn save_label(
    State(state): State<Arc<AppState>>,
    Path((tenant, id)): Path<(String, String)>,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
    axum::Json(fields): axum::Json<BTreeMap<String, String>>,
) -> Result<Response, Problem> {
    let (session, path) = file_change(&state, &headers, &tenant, &q.path)?;
    let (t, i, p, s) = (tenant.clone(), id.clone(), path.clone(), session.clone());
    let current = blocking(&state, false, move |state| {
        let (_, snapshot) = load_draft(state, &t, &i)?;
        let entry = entry(state, &t)?;
        let found = visible_layers(entry, &s)
            .iter()
            .rev()
            .find_map(|l| snapshot.get(&format!("{l}/{p}")).map(|f| f.bytes.clone()));
        found.ok_or_else(|| refused(format!("`{p}` is not a label file")))
    })
    .await?;
    let mut table: toml::Table = toml::from_str(&String::from_utf8_lossy(&current))
        .map_err(|e| refused(format!("`{path}` is not valid TOML: {e}")))?;
    for (key, value) in fields {
        set_field(&mut table, &key, &value).map_err(refused)?;
    }
    let text = toml::to_string(&table).map_err(|e| refused(e.to_string()))?;
    save(&state, session, tenant, id, path, q.tip, text.into_bytes()).await
}

/// Sets a dotted key that the label already has, keeping its type.
fn set_field(table: &mut toml::Table, key: &str, value: &str) -> Result<(), String> {
    let mut parts = key.split('.').peekable();
    let mut here = table;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            let old = here.get_mut(part).ok_or_else(|| format!("the label has no field `{key}`"))?;
            *old = match old {
                toml::Value::String(_) => toml::Value::String(value.to_owned()),
                toml::Value::Integer(_) => {
                    toml::Value::Integer(value.trim().parse().map_err(|_| format!("`{key}` must be a whole number"))?)
                }
                toml::Value::Float(_) => {
                    toml::Value::Float(value.trim().parse().map_err(|_| format!("`{key}` must be a number"))?)
                }
                toml::Value::Boolean(_) => {
                    toml::Value::Boolean(value.trim().parse().map_err(|_| format!("`{key}` must be true or false"))?)
                }
                toml::Value::Array(_) => toml::Value::Array(
                    value
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(|l| toml::Value::String(l.to_owned()))
                        .collect(),
                ),
                _ => return Err(format!("`{key}` is not a simple field")),
            };
            return Ok(());
        }
        here = match here.get_mut(part) {
            Some(toml::Value::Table(t)) => t,
            _ => return Err(format!("the label has no field `{key}`")),
        };
    }
    Err(format!("the label has no field `{key}`"))
}

// ---- checking and previewing ------------------------------------------------

/// A content error for the editor: file (logical, when in a layer), line, column.
fn diagnostic(entry: &TenantEntry, failure: &tessera_pipeline::ReloadFailure) -> serde_json::Value {
    let (file, line, column, message) = match &failure.error {
        Some(e) => {
            let file = e.file.to_string_lossy().replace('\\', "/");
            (file, e.line, e.column, e.message.clone())
        }
        None => (String::new(), None, None, failure.message.clone()),
    };
    let logical = layers(entry)
        .iter()
        .rev()
        .find_map(|l| file.strip_prefix(&format!("{l}/")).map(str::to_owned))
        .unwrap_or_else(|| file.clone());
    json!({ "file": file, "path": logical, "line": line, "column": column, "message": message, "summary": failure.message })
}

/// Compiles the draft (with `overlay`, an unsaved buffer, over it) and
/// renders the canary with every view — the hot reload's own check.
fn check_draft(
    entry: &TenantEntry,
    draft: &Draft,
    overlay: Option<(&str, &[u8])>,
) -> Result<Vec<serde_json::Value>, Problem> {
    ensure_canary(entry);
    let snapshot = repo(entry).draft_snapshot(draft, &layers(entry)).map_err(repo_problem)?;
    let snapshot = match overlay {
        Some((full, bytes)) => snapshot.with_file(full, Some(bytes)),
        None => snapshot,
    };
    Ok(match entry.loaded.content.check(snapshot) {
        Ok(_) => Vec::new(),
        Err(failure) => vec![diagnostic(entry, &failure)],
    })
}

/// The canary comes from the first document rendered; render one sample
/// now if nothing was rendered yet, so a draft is checked against it.
fn ensure_canary(entry: &TenantEntry) {
    if entry.loaded.content.has_canary() {
        return;
    }
    if let Some(sample) =
        crate::preview::samples_now(entry).ok().and_then(|s| s.records.first().map(|r| r.record.value.to_string()))
    {
        let _ =
            tessera_pipeline::render_record(&entry.loaded, RenderRequest { cdm: &sample, channels: None, as_of: None });
    }
}

async fn check(
    State(state): State<Arc<AppState>>,
    Path((tenant, id)): Path<(String, String)>,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let (session, path) = file_change(&state, &headers, &tenant, &q.path)?;
    let errors = blocking(&state, false, move |state| {
        let entry = entry(state, &tenant)?;
        let draft = repo(entry).draft(&tenant, &id).map_err(repo_problem)?;
        check_draft(entry, &draft, Some((&full_path(entry, &session, &path), &body)))
    })
    .await?;
    Ok(axum::Json(json!({ "errors": errors })).into_response())
}

/// What the preview pickers offer.
pub(crate) struct PreviewChoices {
    pub records: Vec<String>,
    pub labels: Vec<String>,
    pub locales: Vec<String>,
    pub channels: Vec<String>,
}

async fn preview_choices(entry: &TenantEntry) -> Result<PreviewChoices, Problem> {
    let samples = crate::preview::samples(entry).await?;
    let library = entry.loaded.content.current();
    let set = library.set();
    let mut locales: Vec<String> = set.views().map(|v| v.locale.clone()).collect();
    locales.sort();
    locales.dedup();
    Ok(PreviewChoices {
        records: samples.records.iter().map(|s| s.title.clone()).collect(),
        labels: set.label_ids().map(str::to_owned).collect(),
        locales,
        channels: entry.loaded.routing.names().iter().cloned().collect(),
    })
}

#[derive(Deserialize)]
struct RenderQuery {
    /// `draft` or `published`.
    side: String,
    #[serde(default)]
    record: usize,
    label: Option<String>,
    locale: Option<String>,
    channel: Option<String>,
}

/// The draft's library, compiled and checked once per draft tip.
fn draft_library(state: &AppState, entry: &TenantEntry, draft: &Draft) -> Result<Arc<Library>, Problem> {
    let studio = studio(state)?;
    let key = format!("{}:{}", draft.tenant, draft.tip);
    if let Some((_, lib)) = studio.libraries.lock().unwrap_or_else(|e| e.into_inner()).iter().find(|(k, _)| *k == key) {
        return Ok(Arc::clone(lib));
    }
    ensure_canary(entry);
    let snapshot = repo(entry).draft_snapshot(draft, &layers(entry)).map_err(repo_problem)?;
    let library = entry.loaded.content.check(snapshot).map_err(|f| {
        refused(format!("the draft does not compile or render: {}", f.message)).with("error", diagnostic(entry, &f))
    })?;
    let library = Arc::new(library);
    let mut kept = studio.libraries.lock().unwrap_or_else(|e| e.into_inner());
    if kept.len() == KEPT_LIBRARIES {
        kept.remove(0);
    }
    kept.push((key, Arc::clone(&library)));
    Ok(library)
}

async fn render(
    State(state): State<Arc<AppState>>,
    Path((tenant, id)): Path<(String, String)>,
    Query(q): Query<RenderQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    session(&state, &headers, &tenant)?;
    let entry_ref = entry(&state, &tenant)?;
    let samples = crate::preview::samples(entry_ref).await?;
    let sample = samples
        .records
        .get(q.record)
        .ok_or_else(|| refused(format!("the tenant has no sample record {}", q.record)))?;
    let mut value = sample.record.value.clone();
    if let Some(production) = value.get_mut("production").and_then(|p| p.as_object_mut()) {
        for (field, picked) in [("label", &q.label), ("locale", &q.locale)] {
            if let Some(v) = picked.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                production.insert(field.into(), v.into());
            }
        }
    }
    let cdm = value.to_string();
    let channel = q.channel.clone().filter(|c| !c.is_empty()).unwrap_or_else(|| "html".into());
    let permit = Arc::clone(&state.slots)
        .acquire_owned()
        .await
        .map_err(|e| Problem::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "The server is stopping", e.to_string()))?;
    let side = q.side.clone();
    let output = blocking(&state, false, move |state| {
        let _permit = permit;
        let entry = entry(state, &tenant)?;
        let library = match side.as_str() {
            "published" => {
                let draft = repo(entry).draft(&tenant, &id).map_err(repo_problem)?;
                published_library(state, entry, &draft)?
            }
            "draft" => {
                let draft = repo(entry).draft(&tenant, &id).map_err(repo_problem)?;
                draft_library(state, entry, &draft)?
            }
            other => return Err(refused(format!("side `{other}` is neither draft nor published"))),
        };
        let channels = vec![channel];
        let rendered = render_record_from(
            &entry.loaded,
            Some(library),
            RenderRequest { cdm: &cdm, channels: Some(&channels), as_of: None },
        )
        .map_err(|e| refused(format!("the document cannot be rendered: {e}")))?;
        let first = rendered.outputs.into_iter().next().ok_or_else(|| refused("the channel made no output"))?;
        Ok(crate::preview::Output::new(first.file, &first.line.media_type, first.bytes))
    })
    .await?;
    Ok(crate::preview::output_response(&output))
}

/// The content the draft started from, as a library (for "before").
fn published_library(state: &AppState, entry: &TenantEntry, draft: &Draft) -> Result<Arc<Library>, Problem> {
    let base = Draft { tip: draft.base.clone(), ..draft.clone() };
    draft_library(state, entry, &base)
}

// ---- submit, approve, send back, rebase, discard ------------------------------

async fn act(
    State(state): State<Arc<AppState>>,
    Path((tenant, id, action)): Path<(String, String, String)>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<TokenForm>,
) -> Result<Response, Problem> {
    let session = session(&state, &headers, &tenant)?;
    change_allowed(&session, &headers, form.csrf.as_deref())?;
    let (t, i) = (tenant.clone(), id.clone());
    let user = session.user.clone();
    let role = session.role;
    let me = session.clone();
    let done = blocking(&state, true, move |state| {
        let entry = entry(state, &t)?;
        let repo = repo(entry);
        let draft = repo.draft(&t, &i).map_err(repo_problem)?;
        let published = published_ref(entry);
        match action.as_str() {
            "submit" => {
                let errors = check_draft(entry, &draft, None)?;
                if let Some(first) = errors.first() {
                    return Err(refused(format!(
                        "the draft cannot be submitted while it does not compile or render: {}",
                        first["summary"].as_str().unwrap_or_default()
                    ))
                    .with("errors", json!(errors)));
                }
                let library = draft_library(state, entry, &draft)?;
                every_channel_renders(entry, library)?;
                repo.submit_draft(&draft, &user, form.message.as_deref().unwrap_or_default()).map_err(repo_problem)?;
                Ok(format!("/studio/{t}/drafts/{i}"))
            }
            "approve" | "return" if role != StudioRole::Approver => {
                Err(forbidden(format!("{user} is an author: only an approver may {action} a change")))
            }
            "approve" => {
                // An approver answers for their own layer only: a tenant's
                // approver never publishes a change to the provider's base.
                let own = format!("{}/", own_layer(entry, &me));
                let changes = repo.draft_changes(&draft).map_err(repo_problem)?;
                let outside: Vec<&str> =
                    changes.iter().map(tessera_content::change_path).filter(|p| !p.starts_with(&own)).collect();
                if !outside.is_empty() {
                    return Err(forbidden(format!(
                        "{user} approves changes to {own} only; this change also touches {}",
                        outside.join(", ")
                    )));
                }
                let result = repo.approve_draft(&draft, &user, &published).map_err(|e| match e {
                    RepoError::Conflict { published: ref now, ref paths, .. } => {
                        let sides = conflict_sides(repo, &draft, now, paths);
                        repo_problem(e).with("sides", sides)
                    }
                    other => repo_problem(other),
                })?;
                tracing::info!(tenant = %t, draft = %i, approver = %user, commit = %result.commit, "studio change approved and published");
                Ok(format!("/studio/{t}?published={}", result.commit))
            }
            "return" => {
                repo.return_draft(&draft, &user, form.comment.as_deref().unwrap_or_default()).map_err(repo_problem)?;
                Ok(format!("/studio/{t}"))
            }
            "rebase" => {
                repo.rebase_draft(&draft, &user, &published).map_err(repo_problem)?;
                Ok(format!("/studio/{t}/drafts/{i}"))
            }
            "discard" => {
                repo.discard_draft(&draft).map_err(repo_problem)?;
                Ok(format!("/studio/{t}"))
            }
            other => Err(Problem::new(StatusCode::NOT_FOUND, "not-found", "No such action", format!("`{other}`"))),
        }
    })
    .await;
    match done {
        Ok(to) => Ok(see_other(&to)),
        // Form posts come from the pages: answer with a page that says why.
        Err(problem) => {
            let back = format!("/studio/{tenant}/drafts/{id}");
            Ok((problem.status, page_response(pages::refusal(&session, &problem, Some(&back)))).into_response())
        }
    }
}

/// Both sides of each conflicting file against the draft's base: what the
/// published content changed since, and what this change does.
fn conflict_sides(repo: &ContentRepo, draft: &Draft, published: &str, paths: &[String]) -> serde_json::Value {
    let all = [String::new()];
    let (Ok(base), Ok(now), Ok(mine)) =
        (repo.snapshot(&draft.base, "", &all), repo.snapshot(published, "", &all), repo.draft_snapshot(draft, &all))
    else {
        return serde_json::Value::Null;
    };
    let mut sides = Vec::new();
    for path in paths {
        let change = tessera_content::Change::Modified(path.clone());
        sides.push(pages::FileDiff::of(&change, &base, &now, None).titled("published since the change started").view());
        sides.push(pages::FileDiff::of(&change, &base, &mine, None).titled("this change").view());
    }
    serde_json::Value::Array(sides)
}

/// Before a change is submitted, the first sample record renders in every
/// channel of the tenant from the draft (print and PDF included).
fn every_channel_renders(entry: &TenantEntry, library: Arc<Library>) -> Result<(), Problem> {
    let samples = crate::preview::samples_now(entry)?;
    let Some(first) = samples.records.first() else { return Ok(()) };
    let cdm = first.record.value.to_string();
    let channels: Vec<String> = entry.loaded.routing.names().iter().cloned().collect();
    for channel in channels {
        let only = vec![channel.clone()];
        render_record_from(
            &entry.loaded,
            Some(Arc::clone(&library)),
            RenderRequest { cdm: &cdm, channels: Some(&only), as_of: None },
        )
        .map_err(|e| refused(format!("the draft cannot be submitted: channel `{channel}` fails to render: {e}")))?;
    }
    Ok(())
}

// ---- assets -----------------------------------------------------------------

async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let gzip_ok = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let (media, body, gzipped): (&str, Bytes, bool) = match name.as_str() {
        "studio.js" => ("text/javascript; charset=utf-8", Bytes::from_static(STUDIO_JS.as_bytes()), false),
        "studio.css" => ("text/css; charset=utf-8", Bytes::from_static(STUDIO_CSS.as_bytes()), false),
        "editor.js" if gzip_ok && !EDITOR_JS_GZ.is_empty() => {
            ("text/javascript; charset=utf-8", Bytes::from_static(EDITOR_JS_GZ), true)
        }
        "editor.js" => ("text/javascript; charset=utf-8", Bytes::from_static(EDITOR_JS), false),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(media).expect("ascii"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if gzipped {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// Byte sizes of what a browser loads for the editor page, for the docs:
/// (studio.js, studio.css, editor.js as sent gzipped, editor.js unpacked).
pub fn page_weight() -> (usize, usize, usize, usize) {
    (STUDIO_JS.len(), STUDIO_CSS.len(), EDITOR_JS_GZ.len(), EDITOR_JS.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_fields_are_flattened_and_set_back_with_their_types() {
        let text = "name = \"ACME\"\nlegal = [\"a\", \"b\"]\n[colors]\nprimary = \"#00a\"\n[payment]\ndays = 14\n";
        let fields = label_fields("labels/acme.toml", Some(text)).unwrap();
        assert_eq!(fields["colors.primary"], "#00a");
        assert_eq!(fields["payment.days"], "14");
        assert_eq!(fields["legal"], "a\nb");
        assert!(label_fields("labels/acme/locales/en.toml", Some(text)).is_none());
        let mut table: toml::Table = toml::from_str(text).unwrap();
        set_field(&mut table, "colors.primary", "#0a0").unwrap();
        set_field(&mut table, "payment.days", "30").unwrap();
        set_field(&mut table, "legal", "first line\n\nsecond line\n").unwrap();
        assert!(set_field(&mut table, "payment.days", "soon").is_err());
        assert!(set_field(&mut table, "colors.nope", "x").is_err());
        let back = toml::to_string(&table).unwrap();
        assert!(back.contains("primary = \"#0a0\"") && back.contains("days = 30"), "{back}");
        let legal: Vec<&str> = table["legal"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        assert_eq!(legal, ["first line", "second line"]);
    }
}
