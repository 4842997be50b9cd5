//! `tessera bench approve`: approval-to-live latency of the content studio.
//! A private, published copy of the sample provider and tenant, with an
//! author and an approver, is served with the studio and its content
//! watched exactly as `tessera serve --studio` does. Each round the author
//! signs in over HTTP, starts a change, saves the footer with a new marker
//! and submits; the approver approves; the time from sending the approval
//! to the first render-API answer carrying the marker is measured.

use crate::bench::{emit, median, percentile};
use crate::paths::samples_dir;
use anyhow::{anyhow, bail};
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_content::watch::WatchConfig;
use tessera_content::{ContentRepo, DEFAULT_PUBLISHED_REF};
use tessera_pipeline::LoadedTenant;
use tessera_server::{AppState, Background, ServerLimits, StudioTransport};

#[derive(Serialize)]
struct ApproveReport {
    bench: &'static str,
    runs: usize,
    approvals: usize,
    /// Approval sent → the render API shows the change: medians over runs
    /// of each run's percentile.
    p50_ms: f64,
    max_ms: f64,
    /// The approval request alone (merge, commit, ref update).
    approve_request_p50_ms: f64,
    target_ms: f64,
}

/// The sample tenant with `source = "published"` and two studio users.
fn prepare(dir: &Path) -> anyhow::Result<()> {
    for name in ["printhub", "acme-energy"] {
        crate::bench_reload::copy_dir(&samples_dir(None).join(name), &dir.join(name))?;
    }
    let toml = dir.join("acme-energy/tenant.toml");
    let mut text = std::fs::read_to_string(&toml)?.replacen("layers = [", "source = \"published\"\nlayers = [", 1);
    for (name, role) in [("author", "author"), ("approver", "approver")] {
        let hash = tessera_server::hash_password(&format!("{name}-pw")).map_err(|e| anyhow!(e))?;
        text.push_str(&format!(
            "\n[[studio.users]]\nname = \"{name}\"\nrole = \"{role}\"\npassword_argon2 = \"{hash}\"\n"
        ));
    }
    std::fs::write(&toml, text)?;
    ContentRepo::init(dir)?.publish(DEFAULT_PUBLISHED_REF, "Initial content")?;
    Ok(())
}

/// One signed-in studio user over HTTP.
struct User {
    base: String,
    agent: ureq::Agent,
    cookie: String,
    csrf: String,
}

impl User {
    fn sign_in(base: &str, name: &str) -> anyhow::Result<User> {
        let agent: ureq::Agent =
            ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
        let answer = agent
            .post(format!("{base}/studio"))
            .header("content-type", "application/x-www-form-urlencoded")
            .send(format!("tenant=acme-energy&user={name}&password={name}-pw"))?;
        let cookie = answer
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|c| c.split(';').next())
            .ok_or_else(|| anyhow!("{name} could not sign in ({})", answer.status()))?
            .to_owned();
        let home = agent
            .get(format!("{base}/studio/acme-energy"))
            .header("cookie", &cookie)
            .call()?
            .into_body()
            .read_to_string()?;
        let csrf = home
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .ok_or_else(|| anyhow!("no CSRF token on the studio's page"))?
            .to_owned();
        Ok(User { base: base.to_owned(), agent, cookie, csrf })
    }

    /// A form post; returns the redirect target.
    fn post(&self, path: &str, fields: &str) -> anyhow::Result<String> {
        let mut answer = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .send(format!("csrf={}&{fields}", self.csrf))?;
        if answer.status().as_u16() != 303 {
            bail!("POST {path}: {} {}", answer.status(), answer.body_mut().read_to_string().unwrap_or_default());
        }
        Ok(answer.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned())
    }

    fn save(&self, draft: &str, path: &str, text: &str) -> anyhow::Result<()> {
        let mut answer = self
            .agent
            .put(format!("{}/studio/acme-energy/drafts/{draft}/file?path={path}", self.base))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .send(text)?;
        if answer.status().as_u16() != 200 {
            bail!("saving {path}: {}", answer.body_mut().read_to_string().unwrap_or_default());
        }
        Ok(())
    }
}

pub fn run(ctx: &crate::paths::Context, approvals: usize, runs: usize, json: bool) -> anyhow::Result<ExitCode> {
    let runtime = ctx.runtime()?;
    let request = std::fs::read_to_string(samples_dir(None).join("acme-energy/requests/render-invoice.json"))?;
    let mut request: serde_json::Value = serde_json::from_str(&request)?;
    request["channels"] = serde_json::json!(["html"]);
    let request = request.to_string();
    let (mut p50s, mut approve_p50s, mut max_ms) = (Vec::new(), Vec::new(), 0f64);
    for _ in 0..runs {
        let work = tempfile::tempdir()?;
        prepare(work.path())?;
        let loaded = Arc::new(LoadedTenant::load(&runtime, &work.path().join("acme-energy"), &ctx.plugin_roots)?);
        let _watch = loaded.content.watch(WatchConfig::from_env(), |_| {})?;
        let state = AppState::new(vec![Arc::clone(&loaded)], ServerLimits::default())
            .and_then(|s| s.with_studio(StudioTransport::Loopback))
            .map_err(|e| anyhow!(e))?;
        let server = Background::start(Arc::new(state))?;
        let base = format!("http://{}", server.addr());
        let (author, approver) = (User::sign_in(&base, "author")?, User::sign_in(&base, "approver")?);
        let footer = std::fs::read_to_string(work.path().join("printhub/content/fragments/footer.html.tera"))?;
        let render = ureq::Agent::config_builder().http_status_as_error(false).build().new_agent();
        let (mut live, mut approving) = (Vec::new(), Vec::new());
        for round in 0..approvals {
            let draft = author.post("/studio/acme-energy/drafts", "")?;
            let draft = draft.rsplit('/').next().unwrap_or_default().to_owned();
            let marker = format!("APPROVED-{round}-{}", std::process::id());
            let text = footer.replacen("</footer>", &format!("<p>{marker}</p></footer>"), 1);
            author.save(&draft, "fragments/footer.html.tera", &text)?;
            author.post(&format!("/studio/acme-energy/drafts/{draft}/submit"), &format!("message=Round+{round}"))?;
            let started = Instant::now();
            approver.post(&format!("/studio/acme-energy/drafts/{draft}/approve"), "")?;
            approving.push(started.elapsed());
            loop {
                let html = render
                    .post(format!("{base}/v1/tenants/acme-energy/render"))
                    .header("authorization", "Bearer acme-demo-token")
                    .header("content-type", "application/json")
                    .send(&request)?
                    .into_body()
                    .read_to_string()?;
                if html.contains(&marker) {
                    break;
                }
                if started.elapsed() > Duration::from_secs(10) {
                    bail!("round {round}: the approved change was not live after 10 s");
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            live.push(started.elapsed());
        }
        live.sort();
        approving.sort();
        // `percentile` answers in microseconds.
        p50s.push(percentile(&live, 0.5) / 1e3);
        approve_p50s.push(percentile(&approving, 0.5) / 1e3);
        max_ms = max_ms.max(live.last().map_or(0.0, |d| d.as_secs_f64() * 1e3));
        drop(server);
    }
    let report = ApproveReport {
        bench: "approve",
        runs,
        approvals,
        p50_ms: median(p50s),
        max_ms,
        approve_request_p50_ms: median(approve_p50s),
        target_ms: 1000.0,
    };
    emit(json, &report, || {
        format!(
            "approval → live in serve: p50 {:.0} ms, max {:.0} ms over {} approvals × {} runs (target ≤ {:.0} ms); \
             the approval request itself p50 {:.0} ms",
            report.p50_ms,
            report.max_ms,
            report.approvals,
            report.runs,
            report.target_ms,
            report.approve_request_p50_ms
        )
    })?;
    Ok(if report.max_ms <= report.target_ms { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
