//! The content studio over real HTTP on loopback, on a published copy of
//! the samples with studio users: signing in, drafts, saving with the
//! hot reload's check, before/after renders, submit, the four-eyes rule,
//! approval publishing the change, conflicts, and every refusal the studio
//! owes (CSRF, other tenants, `..` paths, non-images, lock-out).

#[path = "common/studio_repo.rs"]
mod studio_repo;

use std::path::Path;
use std::sync::{Arc, OnceLock};
use tessera_content::{ContentRepo, DEFAULT_PUBLISHED_REF};
use tessera_pipeline::LoadedTenant;
use tessera_runtime::{Runtime, RuntimeConfig};
use tessera_server::{AppState, Background, ServerLimits, StudioTransport};

struct Fixture {
    _dir: tempfile::TempDir,
    samples: std::path::PathBuf,
    server: Background,
}

/// One server for the file's tests: each test uses its own users or drafts.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let samples = studio_repo::studio_repo(dir.path());
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tessera-compile-cache");
        let runtime: &'static Runtime =
            Box::leak(Box::new(Runtime::new(RuntimeConfig { cache_dir: Some(cache), ..Default::default() }).unwrap()));
        let roots = tessera_pipeline::default_roots(Path::new(tessera_plugin_artifacts::STORE));
        let tenants = ["acme-energy", "northwind-telecom"]
            .iter()
            .map(|t| Arc::new(LoadedTenant::load(runtime, &samples.join(t), &roots).unwrap()))
            .collect();
        let state =
            AppState::new(tenants, ServerLimits::default()).unwrap().with_studio(StudioTransport::Loopback).unwrap();
        let server = Background::start(Arc::new(state)).unwrap();
        Fixture { _dir: dir, samples, server }
    })
}

/// A browser-like client: keeps the session cookie, knows the CSRF token.
struct Client {
    base: String,
    cookie: Option<String>,
    csrf: Option<String>,
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into()
}

impl Client {
    fn new() -> Client {
        Client { base: format!("http://{}", fixture().server.addr()), cookie: None, csrf: None }
    }

    fn answer(mut r: ureq::http::Response<ureq::Body>) -> Answer {
        let location = r.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        Answer { status: r.status().as_u16(), location, body: r.body_mut().read_to_string().unwrap_or_default() }
    }

    fn get(&self, path: &str) -> Answer {
        let mut req = agent().get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        Client::answer(req.call().unwrap())
    }

    /// A form post; `csrf: false` leaves the token out.
    fn form(&self, path: &str, fields: &[(&str, &str)], csrf: bool) -> Answer {
        let mut pairs: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
        if csrf && let Some(t) = &self.csrf {
            pairs.push(format!("csrf={t}"));
        }
        let mut req =
            agent().post(format!("{}{path}", self.base)).header("content-type", "application/x-www-form-urlencoded");
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        Client::answer(req.send(pairs.join("&")).unwrap())
    }

    fn send(&self, method: &str, path: &str, body: &[u8], csrf: bool) -> Answer {
        let url = format!("{}{path}", self.base);
        let mut req = ureq::http::Request::builder().method(method).uri(url);
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        if csrf && let Some(t) = &self.csrf {
            req = req.header("x-csrf-token", t);
        }
        let req = req.body(body.to_vec()).unwrap();
        Client::answer(agent().run(req).unwrap())
    }

    fn post_json(&self, path: &str, json: &serde_json::Value) -> Answer {
        let mut req = agent().post(format!("{}{path}", self.base)).header("content-type", "application/json");
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        if let Some(t) = &self.csrf {
            req = req.header("x-csrf-token", t);
        }
        Client::answer(req.send(json.to_string()).unwrap())
    }

    fn sign_in(tenant: &str, user: &str) -> Client {
        let mut client = Client::new();
        let mut r = agent()
            .post(format!("{}/studio", client.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .send(format!("tenant={tenant}&user={user}&password={user}-pw"))
            .unwrap();
        assert_eq!(r.status().as_u16(), 303, "{user} signs in: {}", r.body_mut().read_to_string().unwrap_or_default());
        let set = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
        client.cookie = Some(set.split(';').next().unwrap().to_owned());
        let home = client.get(&format!("/studio/{tenant}"));
        assert_eq!(home.status, 200, "{}", home.body);
        let token = home.body.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        client.csrf = Some(token);
        client
    }

    /// Starts a draft; returns its id.
    fn start_draft(&self) -> String {
        let r = self.form("/studio/acme-energy/drafts", &[], true);
        assert_eq!(r.status, 303, "{}", r.body);
        r.location.unwrap().rsplit('/').next().unwrap().to_owned()
    }

    fn save(&self, draft: &str, path: &str, text: &str) -> Answer {
        self.send(
            "PUT",
            &format!("/studio/acme-energy/drafts/{draft}/file?path={}", encode(path)),
            text.as_bytes(),
            true,
        )
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const FOOTER: &str = "fragments/footer.html.tera";

fn footer_text(client: &Client, draft: &str) -> String {
    let r = client.get(&format!("/studio/acme-energy/drafts/{draft}/file?path={FOOTER}"));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["text"].as_str().unwrap().to_owned()
}

fn published_footer() -> Option<String> {
    let repo = ContentRepo::open(&fixture().samples).unwrap();
    let snap = repo.snapshot("published", DEFAULT_PUBLISHED_REF, &[String::new()]).unwrap();
    snap.get(&format!("acme-energy/content/{FOOTER}")).map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
}

#[test]
fn an_author_edits_submits_and_another_person_approves() {
    let alice = Client::sign_in("acme-energy", "alice");
    let draft = alice.start_draft();
    let page = alice.get(&format!("/studio/acme-energy/drafts/{draft}"));
    assert!(page.body.contains(FOOTER) && page.body.contains("acme-energy/content"), "{}", page.body);

    // The footer comes from the provider's base; saving makes ACME's own copy.
    let original = footer_text(&alice, &draft);
    let meta = alice.get(&format!("/studio/acme-energy/drafts/{draft}/file?path={FOOTER}")).json();
    assert_eq!((meta["own"].as_bool(), meta["layer"].as_str()), (Some(false), Some("printhub/content")));

    // A broken edit: saved in the draft, reported at file:line:col, and not submittable.
    let broken = format!("{original}\n{{{{ customer.name | nosuchfilter }}}}\n");
    let saved = alice.save(&draft, FOOTER, &broken);
    assert_eq!(saved.status, 200, "{}", saved.body);
    let errors = saved.json()["errors"].as_array().unwrap().clone();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], FOOTER, "{errors:?}");
    assert!(errors[0]["line"].as_u64().is_some(), "{errors:?}");
    let submit = alice.form(&format!("/studio/acme-energy/drafts/{draft}/submit"), &[("message", "broken")], true);
    assert_eq!(submit.status, 422, "{}", submit.body);
    assert!(submit.body.contains("cannot be submitted"), "{}", submit.body);
    // Checking as you type: the unsaved buffer, not the draft.
    let check = alice.send(
        "POST",
        &format!("/studio/acme-energy/drafts/{draft}/check?path={FOOTER}"),
        original.as_bytes(),
        true,
    );
    assert_eq!(check.json()["errors"], serde_json::json!([]));

    // The good edit shows in the draft's render and not in the published one.
    let marker = "Winter opening hours: 9–17";
    let fixed = original.replacen("</footer>", &format!("<p>{marker}</p></footer>"), 1);
    assert_ne!(fixed, original, "the footer has a </footer> to put the line before");
    let saved = alice.save(&draft, FOOTER, &fixed);
    assert_eq!(saved.json()["errors"], serde_json::json!([]), "{}", saved.body);
    let after = alice.get(&format!("/studio/acme-energy/drafts/{draft}/render?side=draft&channel=html"));
    let before = alice.get(&format!("/studio/acme-energy/drafts/{draft}/render?side=published&channel=html"));
    assert_eq!((after.status, before.status), (200, 200), "{}", after.body);
    assert!(after.body.contains(marker) && !before.body.contains(marker));
    let label =
        alice.get(&format!("/studio/acme-energy/drafts/{draft}/render?side=draft&channel=text&label=acme&locale=nl"));
    assert_eq!(label.status, 200, "{}", label.body);

    let submit =
        alice.form(&format!("/studio/acme-energy/drafts/{draft}/submit"), &[("message", "Winter hours")], true);
    assert_eq!(submit.status, 303, "{}", submit.body);

    // An author may not approve; an approver who did not edit it may.
    let no = alice.form(&format!("/studio/acme-energy/drafts/{draft}/approve"), &[], true);
    assert_eq!(no.status, 403, "{}", no.body);
    assert!(published_footer().is_none_or(|f| !f.contains(marker)));
    let bob = Client::sign_in("acme-energy", "bob");
    let review = bob.get(&format!("/studio/acme-energy/drafts/{draft}/review"));
    // The new override is shown against the base file it hides: one line changed, not a whole new file.
    assert!(review.body.contains("now overrides the base"), "{}", review.body);
    assert!(review.body.contains(&format!("+&lt;p&gt;{marker}")), "{}", review.body);
    assert!(review.body.contains("<span class=\"del\">-&lt;/footer&gt;</span>"), "{}", review.body);
    let yes = bob.form(&format!("/studio/acme-energy/drafts/{draft}/approve"), &[], true);
    assert_eq!(yes.status, 303, "{}", yes.body);
    assert!(published_footer().unwrap().contains(marker));
    let repo = ContentRepo::open(&fixture().samples).unwrap();
    let log = repo.log(DEFAULT_PUBLISHED_REF, Some("acme-energy/content"), 5).unwrap();
    assert_eq!((log[0].author.as_str(), log[0].approved_by.as_deref()), ("alice", Some("bob")));
    let history = bob.get("/studio/acme-energy/history");
    assert!(history.body.contains("Winter hours") && history.body.contains("bob"), "{}", history.body);
}

#[test]
fn an_approver_cannot_approve_a_change_they_edited() {
    let carol = Client::sign_in("acme-energy", "carol");
    let draft = carol.start_draft();
    let text = footer_text(&carol, &draft).replacen("</footer>", "<p>Carol was here</p></footer>", 1);
    assert_eq!(carol.save(&draft, FOOTER, &text).status, 200);
    let submit = carol.form(&format!("/studio/acme-energy/drafts/{draft}/submit"), &[("message", "Carol's")], true);
    assert_eq!(submit.status, 303, "{}", submit.body);
    let own = carol.form(&format!("/studio/acme-energy/drafts/{draft}/approve"), &[], true);
    assert_eq!(own.status, 403, "{}", own.body);
    assert!(own.body.contains("cannot approve"), "{}", own.body);
    let discard = carol.form(&format!("/studio/acme-energy/drafts/{draft}/discard"), &[], true);
    assert_eq!(discard.status, 303);
}

#[test]
fn a_second_change_to_the_same_file_is_refused_with_the_conflict() {
    let (alice, carol, bob) = (
        Client::sign_in("acme-energy", "alice"),
        Client::sign_in("acme-energy", "carol"),
        Client::sign_in("acme-energy", "bob"),
    );
    const LEGAL: &str = "labels/acme/locales/en.toml";
    let first = alice.start_draft();
    let second = carol.start_draft();
    for (who, draft, line) in [(&alice, &first, "first"), (&carol, &second, "second")] {
        assert_eq!(who.save(draft, LEGAL, &format!("conflict_note = \"{line}\"\n")).status, 200);
        let r = who.form(&format!("/studio/acme-energy/drafts/{draft}/submit"), &[("message", line)], true);
        assert_eq!(r.status, 303, "{}", r.body);
    }
    assert_eq!(bob.form(&format!("/studio/acme-energy/drafts/{first}/approve"), &[], true).status, 303);
    let refused = bob.form(&format!("/studio/acme-energy/drafts/{second}/approve"), &[], true);
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains(&format!("acme-energy/content/{LEGAL}")), "{}", refused.body);
    // Both sides are shown: what was published meanwhile, and this change.
    assert!(refused.body.contains("published since the change started") && refused.body.contains("this change"));
    assert!(refused.body.contains("+conflict_note = &quot;first&quot;"), "{}", refused.body);
    assert!(refused.body.contains("+conflict_note = &quot;second&quot;"), "{}", refused.body);
    let repo = ContentRepo::open(&fixture().samples).unwrap();
    let snap = repo.snapshot("published", DEFAULT_PUBLISHED_REF, &[String::new()]).unwrap();
    let published =
        String::from_utf8_lossy(&snap.get(&format!("acme-energy/content/{LEGAL}")).unwrap().bytes).into_owned();
    assert!(published.contains("first"), "never silently overwritten: {published}");
}

#[test]
fn changes_need_the_csrf_token() {
    let alice = Client::sign_in("acme-energy", "alice");
    assert_eq!(alice.form("/studio/acme-energy/drafts", &[], false).status, 403);
    let draft = alice.start_draft();
    let path = format!("/studio/acme-energy/drafts/{draft}/file?path={FOOTER}");
    let r = alice.send("PUT", &path, b"x", false);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("CSRF"));
    // And a wrong token is as good as none.
    let mut forged = Client::sign_in("acme-energy", "alice");
    forged.csrf = Some("0".repeat(64));
    assert_eq!(forged.send("PUT", &path, b"x", true).status, 403);
}

#[test]
fn other_tenants_and_paths_outside_the_layer_are_refused() {
    let alice = Client::sign_in("acme-energy", "alice");
    let draft = alice.start_draft();
    assert_eq!(alice.get("/studio/northwind-telecom").status, 403);
    assert_eq!(alice.form("/studio/northwind-telecom/drafts", &[], true).status, 403);
    for bad in [
        "../northwind-telecom/content/fragments/footer.html.tera",
        "fragments/../../tenant.toml",
        "tenant.toml",
        "/etc/passwd",
    ] {
        let url = format!("/studio/acme-energy/drafts/{draft}/file?path={}", encode(bad));
        assert_eq!(alice.get(&url).status, 403, "{bad}");
        assert_eq!(alice.send("PUT", &url, b"x", true).status, 403, "{bad}");
    }
    // Nothing without signing in.
    assert_eq!(Client::new().get(&format!("/studio/acme-energy/drafts/{draft}")).status, 401);
}

#[test]
fn uploads_must_be_images() {
    let alice = Client::sign_in("acme-energy", "alice");
    let draft = alice.start_draft();
    let url = |p: &str| format!("/studio/acme-energy/drafts/{draft}/file?path={}", encode(p));
    let not = alice.send("PUT", &url("assets/images/logo.png"), b"#!/bin/sh\necho hi\n", true);
    assert_eq!(not.status, 422, "{}", not.body);
    assert!(not.body.contains("not an image"), "{}", not.body);
    let script = alice.send("PUT", &url("assets/images/x.svg"), b"<svg><script>alert(1)</script></svg>", true);
    assert_eq!(script.status, 422);
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><rect width="20" height="10" fill="green"/></svg>"#;
    let ok = alice.send("PUT", &url("assets/images/badge.svg"), svg, true);
    assert_eq!(ok.status, 200, "{}", ok.body);
}

#[test]
fn five_wrong_passwords_lock_the_account() {
    let client = Client::new();
    let wrong = |password: &str| {
        agent()
            .post(format!("{}/studio", client.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .send(format!("tenant=acme-energy&user=mallory&password={password}"))
            .unwrap()
            .status()
            .as_u16()
    };
    for _ in 0..5 {
        assert_eq!(wrong("guess"), 401);
    }
    // Locked: even the right password is refused now.
    assert_eq!(wrong("mallory-pw"), 429);
}

#[test]
fn a_brand_label_is_edited_as_a_form() {
    let alice = Client::sign_in("acme-energy", "alice");
    let draft = alice.start_draft();
    const LABEL: &str = "labels/acme.toml";
    let file = alice.get(&format!("/studio/acme-energy/drafts/{draft}/file?path={LABEL}")).json();
    let fields = &file["label"];
    assert_eq!(fields["colors.primary"], "#0b4f8a");
    assert!(fields["legal"].as_str().unwrap().contains('\n'), "legal lines come one per line: {fields}");
    let form = serde_json::json!({ "colors.primary": "#112233", "legal": "One legal line\nAnother" });
    let url = format!("/studio/acme-energy/drafts/{draft}/label?path={LABEL}");
    let saved = alice.post_json(&url, &form);
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.json()["errors"], serde_json::json!([]));
    let text = alice.get(&format!("/studio/acme-energy/drafts/{draft}/file?path={LABEL}")).json()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains("primary = \"#112233\"") && text.contains("\"Another\""), "{text}");
    let html = alice.get(&format!("/studio/acme-energy/drafts/{draft}/render?side=draft&channel=html&label=acme"));
    assert!(html.body.contains("#112233") && html.body.contains("One legal line"), "the letter uses the new label");
    // A field the label does not have is refused, not added.
    let bad = alice.post_json(&url, &serde_json::json!({ "colors.nope": "x" }));
    assert_eq!(bad.status, 422, "{}", bad.body);
}

#[test]
fn the_providers_users_edit_the_base_and_only_they_approve_it() {
    let pat = Client::sign_in("acme-energy", "pat");
    let draft = pat.start_draft();
    let meta = pat.get(&format!("/studio/acme-energy/drafts/{draft}/file?path={FOOTER}")).json();
    // The provider edits its own base file, not an override in the tenant's layer.
    assert_eq!((meta["own"].as_bool(), meta["layer"].as_str()), (Some(true), Some("printhub/content")), "{meta}");
    let page = pat.get(&format!("/studio/acme-energy/drafts/{draft}"));
    assert!(!page.body.contains("labels/acme.toml"), "the provider sees the base layer only");
    let text = meta["text"].as_str().unwrap().replacen("</footer>", "<p>Provider-wide notice</p></footer>", 1);
    assert_eq!(pat.save(&draft, FOOTER, &text).status, 200);
    let submit = pat.form(&format!("/studio/acme-energy/drafts/{draft}/submit"), &[("message", "Notice")], true);
    assert_eq!(submit.status, 303, "{}", submit.body);
    // A tenant's approver cannot publish a change to the provider's base.
    let bob = Client::sign_in("acme-energy", "bob");
    let no = bob.form(&format!("/studio/acme-energy/drafts/{draft}/approve"), &[], true);
    assert_eq!(no.status, 403, "{}", no.body);
    assert!(no.body.contains("printhub/content/fragments/footer.html.tera"), "{}", no.body);
    let pam = Client::sign_in("acme-energy", "pam");
    let yes = pam.form(&format!("/studio/acme-energy/drafts/{draft}/approve"), &[], true);
    assert_eq!(yes.status, 303, "{}", yes.body);
    let repo = ContentRepo::open(&fixture().samples).unwrap();
    let snap = repo.snapshot("published", DEFAULT_PUBLISHED_REF, &[String::new()]).unwrap();
    let base = String::from_utf8_lossy(&snap.get(&format!("printhub/content/{FOOTER}")).unwrap().bytes).into_owned();
    assert!(base.contains("Provider-wide notice"), "{base}");
}
