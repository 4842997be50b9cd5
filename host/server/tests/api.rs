//! The render API over real HTTP on loopback, with the sample tenants and
//! their real plugins: a render of each kind of answer, every error status,
//! cross-tenant denial, back-pressure and the metrics.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use tessera_pipeline::LoadedTenant;
use tessera_runtime::{Runtime, RuntimeConfig};
use tessera_server::{AppState, Background, ServerLimits};

const ACME: &str = "acme-demo-token";
const NORTHWIND: &str = "northwind-demo-token";

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tessera-compile-cache");
        Runtime::new(RuntimeConfig { cache_dir: Some(cache), ..Default::default() }).expect("runtime starts")
    })
}

fn tenants() -> Vec<Arc<LoadedTenant>> {
    static TENANTS: OnceLock<Vec<Arc<LoadedTenant>>> = OnceLock::new();
    TENANTS
        .get_or_init(|| {
            let roots = tessera_pipeline::default_roots(Path::new(tessera_plugin_artifacts::STORE));
            ["acme-energy", "northwind-telecom"]
                .iter()
                .map(|t| Arc::new(LoadedTenant::load(runtime(), &repo().join("samples").join(t), &roots).unwrap()))
                .collect()
        })
        .clone()
}

/// A server on an ephemeral loopback port, stopped when dropped.
struct TestServer {
    server: Background,
    state: Arc<AppState>,
}

impl TestServer {
    fn start(limits: ServerLimits) -> TestServer {
        let state = Arc::new(AppState::new(tenants(), limits).unwrap());
        TestServer { server: Background::start(Arc::clone(&state)).unwrap(), state }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.addr())
    }

    fn post(&self, path: &str, token: Option<&str>, body: &str) -> Answer {
        let mut request = agent().post(self.url(path)).header("content-type", "application/json");
        if let Some(t) = token {
            request = request.header("authorization", format!("Bearer {t}"));
        }
        Answer::from(request.send(body).expect("the server answers"))
    }

    fn get(&self, path: &str) -> Answer {
        Answer::from(agent().get(self.url(path)).call().expect("the server answers"))
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl From<ureq::http::Response<ureq::Body>> for Answer {
    fn from(mut r: ureq::http::Response<ureq::Body>) -> Answer {
        let headers = r
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        let body = r.body_mut().with_config().limit(64 << 20).read_to_vec().unwrap();
        Answer { status: r.status().as_u16(), headers, body }
    }
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    fn problem(&self, status: u16, slug: &str) -> serde_json::Value {
        assert_eq!(self.status, status, "{}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.header("content-type"), Some("application/problem+json"));
        let p = self.json();
        assert_eq!(p["status"], status);
        assert_eq!(p["type"], format!("urn:tessera:problem:{slug}"));
        assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(p["detail"].as_str().is_some_and(|t| !t.is_empty()));
        p
    }
}

fn sample_request() -> serde_json::Value {
    let text = std::fs::read_to_string(repo().join("samples/acme-energy/requests/render-invoice.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn with_channels(channels: &[&str]) -> String {
    let mut request = sample_request();
    request["channels"] = serde_json::json!(channels);
    request.to_string()
}

const RENDER: &str = "/v1/tenants/acme-energy/render";

#[test]
fn renders_one_channel_as_its_bytes() {
    let server = TestServer::start(ServerLimits::default());
    let a = server.post(RENDER, Some(ACME), &with_channels(&["html"]));
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(a.header("x-tessera-channel"), Some("html"));
    assert!(a.header("x-tessera-content-revision").is_some_and(|r| !r.is_empty()));
    let html = String::from_utf8(a.body.clone()).unwrap();
    assert!(html.contains("de Vries") && html.contains("INV-2026-1001"), "{html}");
    // The same record renders to the same bytes (the digest says so too).
    let again = server.post(RENDER, Some(ACME), &with_channels(&["html"]));
    assert_eq!(again.body, a.body);
    assert_eq!(again.header("x-tessera-sha256"), a.header("x-tessera-sha256"));
}

/// The record names its own account and a placeholder BIC: the letter shows
/// that account without the BIC, and the answer says so.
#[test]
fn a_rendered_document_says_what_was_left_out_of_it() {
    let server = TestServer::start(ServerLimits::default());
    let mut request = sample_request();
    request["record"]["content"]["payment"]["iban"] = "NO93 8601 1117 947".into();
    request["record"]["content"]["payment"]["bic"] = "BIC CODE".into();
    let a = server.post(RENDER, Some(ACME), &request.to_string());
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.header("x-tessera-warnings"), Some("bic-malformed, payee-unlisted"));
    let html = String::from_utf8(a.body.clone()).unwrap();
    assert!(html.contains("NO93 8601 1117 947") && !html.contains("BIC CODE") && !html.contains("NL91"), "{html}");
    request["channels"] = serde_json::json!(["html", "print"]);
    let body = server.post(RENDER, Some(ACME), &request.to_string()).json();
    assert_eq!(body["outputs"][1]["warnings"][0]["code"], "bic-malformed", "{body}");
}

#[test]
fn renders_several_channels_as_json() {
    let server = TestServer::start(ServerLimits::default());
    let a = server.post(RENDER, Some(ACME), &with_channels(&["print", "email"]));
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.header("content-type"), Some("application/json"));
    let body = a.json();
    let outputs = body["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 2);
    use base64::Engine as _;
    let decode = |o: &serde_json::Value| {
        base64::engine::general_purpose::STANDARD.decode(o["bytes_base64"].as_str().unwrap()).unwrap()
    };
    assert_eq!(outputs[0]["channel"], "print");
    assert_eq!(outputs[0]["media_type"], "application/pdf");
    assert_eq!(outputs[0]["pages"], 1);
    assert!(decode(&outputs[0]).starts_with(b"%PDF-"));
    assert_eq!(outputs[1]["channel"], "email");
    let eml = String::from_utf8(decode(&outputs[1])).unwrap();
    assert!(eml.contains("To: ") && eml.contains("anna@example.nl"), "{eml}");
    assert!(body["content_revision"].as_str().is_some_and(|r| !r.is_empty()));
}

#[test]
fn tokens_open_only_their_own_tenant() {
    let server = TestServer::start(ServerLimits::default());
    let body = with_channels(&["html"]);
    let missing = server.post(RENDER, None, &body);
    missing.problem(401, "unauthorized");
    assert!(missing.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")));
    server.post(RENDER, Some("not-a-token"), &body).problem(401, "unauthorized");
    // Northwind's valid token cannot render for ACME, nor learn whether a
    // tenant exists.
    server.post(RENDER, Some(NORTHWIND), &body).problem(403, "forbidden");
    server.post("/v1/tenants/no-such-tenant/render", Some(NORTHWIND), &body).problem(403, "forbidden");
    // Its own tenant works.
    let mut record = sample_request()["record"].clone();
    record["production"]["label"] = "northwind".into();
    record["content"]["invoice"]["currency"] = "GBP".into();
    record["content"]["payment"]["currency"] = "GBP".into();
    let own = serde_json::json!({ "channels": ["html"], "record": record }).to_string();
    let a = server.post("/v1/tenants/northwind-telecom/render", Some(NORTHWIND), &own);
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
}

#[test]
fn each_error_status_says_what_to_fix() {
    let limits = ServerLimits { max_body_bytes: 64 << 10, ..ServerLimits::default() };
    let server = TestServer::start(limits);
    let p = server.post(RENDER, Some(ACME), "{\"record\": {").problem(400, "bad-json");
    assert_eq!(p["line"], 1);
    server.post(RENDER, Some(ACME), "{\"recrod\": {}}").problem(400, "bad-json");
    let mut bad_date = sample_request();
    bad_date["as_of"] = "31-12-2026".into();
    server.post(RENDER, Some(ACME), &bad_date.to_string()).problem(400, "bad-as-of");

    let huge = format!("{{\"record\": {{\"pad\": \"{}\"}}}}", "x".repeat(100 << 10));
    server.post(RENDER, Some(ACME), &huge).problem(413, "too-large");

    // A record the CDM schema refuses: the JSON path and rule, as a batch's rejection.
    let mut invalid = sample_request();
    invalid["record"]["reference"]["document_id"] = serde_json::json!(42);
    let p = server.post(RENDER, Some(ACME), &invalid.to_string()).problem(422, "rejected");
    assert_eq!(p["stage"], "validate");
    assert_eq!(p["field"], "$.reference.document_id");
    assert_eq!(p["record"], "C-100231");

    // A channel the record cannot use: refused at routing, naming why.
    let mut no_phone = sample_request();
    no_phone["channels"] = serde_json::json!(["sms"]);
    let p = server.post(RENDER, Some(ACME), &no_phone.to_string()).problem(422, "rejected");
    assert!(["route", "format"].contains(&p["stage"].as_str().unwrap()), "{p}");

    server.get("/v2/nothing").problem(404, "not-found");
}

#[test]
fn a_full_server_answers_503_with_retry_after() {
    let server = TestServer::start(ServerLimits { slots: 1, ..ServerLimits::default() });
    let held = server.state.hold_slot().expect("a free slot");
    let a = server.post(RENDER, Some(ACME), &with_channels(&["html"]));
    a.problem(503, "busy");
    assert_eq!(a.header("retry-after"), Some("1"));
    drop(held);
    let a = server.post(RENDER, Some(ACME), &with_channels(&["html"]));
    assert_eq!(a.status, 200);
}

#[test]
fn health_and_metrics() {
    let server = TestServer::start(ServerLimits::default());
    let h = server.get("/healthz");
    assert_eq!(h.status, 200);
    assert_eq!(h.json()["status"], "ok");
    server.post(RENDER, Some(ACME), &with_channels(&["html"]));
    server.post(RENDER, Some(NORTHWIND), &with_channels(&["html"]));
    server.post("/v1/tenants/made-up/render", Some(ACME), "{}");
    let m = server.get("/metrics");
    assert_eq!(m.status, 200);
    assert!(m.header("content-type").is_some_and(|c| c.starts_with("text/plain; version=0.0.4")));
    let text = String::from_utf8(m.body).unwrap();
    assert!(text.contains("tessera_renders_total{tenant=\"acme-energy\",channel=\"html\",outcome=\"ok\"} 1"), "{text}");
    assert!(
        text.contains("tessera_renders_total{tenant=\"acme-energy\",channel=\"-\",outcome=\"forbidden\"} 1"),
        "{text}"
    );
    // A made-up tenant name never becomes a label.
    assert!(!text.contains("made-up"), "{text}");
    assert!(text.contains("tessera_render_duration_seconds_count{tenant=\"acme-energy\"} 2"), "{text}");
    assert!(text.contains("tessera_plugin_fuel_total{tenant=\"acme-energy\",plugin=\"payment-qr\"}"), "{text}");
    assert!(text.contains("tessera_plugin_seconds_total{tenant=\"acme-energy\",plugin=\"payment-qr\"}"), "{text}");
    assert!(text.contains("tessera_content_reload_errors_total{tenant=\"northwind-telecom\"} 0"), "{text}");
}

#[test]
fn the_served_api_description_lists_every_route_and_status() {
    let server = TestServer::start(ServerLimits::default());
    let a = server.get("/openapi.json");
    assert_eq!(a.status, 200);
    let doc = a.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in ["/v1/tenants/{tenant}/render", "/healthz", "/metrics", "/openapi.json"] {
        assert!(doc["paths"][path].is_object(), "{path} is not described");
    }
    let render = &doc["paths"]["/v1/tenants/{tenant}/render"]["post"]["responses"];
    for status in ["200", "400", "401", "403", "413", "422", "503"] {
        assert!(render[status].is_object(), "status {status} is not described");
    }
}

#[test]
fn a_source_document_renders_record_by_record_with_every_record_accounted_for() {
    let server = TestServer::start(ServerLimits::default());
    let csv = std::fs::read_to_string(repo().join("samples/acme-energy/data/billing-errors.csv")).unwrap();
    let body = serde_json::json!({
        "source": csv, "translator": "csv-billing", "name": "billing-errors.csv", "channels": ["html"]
    });
    let a = server.post(RENDER, Some(ACME), &body.to_string());
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let v = a.json();
    let records = v["records"].as_array().unwrap();
    assert_eq!(v["records_in"].as_u64().unwrap() as usize, records.len());
    assert_eq!(v["records_in"].as_u64(), Some(v["delivered"].as_u64().unwrap() + v["rejected"].as_u64().unwrap()));
    assert!(v["delivered"].as_u64().unwrap() > 0 && v["rejected"].as_u64().unwrap() > 0, "{v}");
    for r in records {
        match r["status"].as_str().unwrap() {
            "delivered" => assert_eq!(r["outputs"][0]["media_type"], "text/html; charset=utf-8"),
            "rejected" => {
                assert!(r["reason"].as_str().is_some_and(|s| !s.is_empty()), "{r}");
                // Named by its record or by its place in the source.
                assert!(r["record"].is_string() || r["source"]["line"].is_u64(), "{r}");
            }
            other => panic!("status {other}"),
        }
    }
    // A translator the tenant does not grant is refused up front.
    let bad = serde_json::json!({ "source": "x", "translator": "no-such-translator" });
    server.post(RENDER, Some(ACME), &bad.to_string()).problem(400, "bad-translator");
    let neither = serde_json::json!({ "channels": ["html"] });
    server.post(RENDER, Some(ACME), &neither.to_string()).problem(400, "bad-request");
}

#[test]
fn the_preview_is_off_unless_switched_on() {
    let server = TestServer::start(ServerLimits::default());
    for path in ["/preview", "/preview/panel", "/preview/events", "/preview/output/1"] {
        server.get(path).problem(404, "not-found");
    }
}

#[test]
fn shutdown_ends_open_preview_event_streams() {
    let state = Arc::new(AppState::new(tenants(), ServerLimits::default()).unwrap().with_preview());
    let server = Background::start(state).unwrap();
    let url = format!("http://{}/preview/events?tenant=acme-energy", server.addr());
    let (opened, open) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut answer = agent().get(&url).call().expect("the stream opens");
        opened.send(answer.status().as_u16()).unwrap();
        // Reads until the server ends the stream.
        let _ = answer.body_mut().read_to_vec();
    });
    assert_eq!(open.recv_timeout(std::time::Duration::from_secs(10)).unwrap(), 200);
    let started = std::time::Instant::now();
    drop(server);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "shutdown waited {:?}", started.elapsed());
    reader.join().unwrap();
}
