//! The content studio end to end: `tessera serve --studio` on a published
//! copy of the samples with studio users, and real headless Chromium
//! (`tests/browser/studio.mjs`, playwright-core; `tests/browser/setup.sh`
//! installs both when missing): an author edits the footer, sees errors as
//! she types and the preview change, submits; she cannot approve; an
//! approver approves; the running server renders the change within a
//! second; then a batch renders from the new revision and `content which`
//! names it. The HTTP-level refusals are in `host/server/tests/studio.rs`.
//!
//! `TESSERA_SKIP_BROWSER=1` skips the browser part, saying so.

#[path = "../../server/tests/common/studio_repo.rs"]
mod studio_repo;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(samples: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["serve", "--studio", "--addr", "127.0.0.1:0", "--tenant"])
            .arg(samples.join("acme-energy"))
            .arg("--tenant")
            .arg(samples.join("northwind-telecom"))
            .env("TESSERA_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("tessera-compile-cache"))
            .stderr(Stdio::piped())
            .spawn()
            .expect("tessera serve starts");
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("tessera serve: studio at ") {
                    let _ = tx.send(Ok(url.trim_end_matches("/studio").to_owned()));
                }
                if line.starts_with("error") {
                    let _ = tx.send(Err(line.clone()));
                }
                eprintln!("serve: {line}");
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(Ok(base)) => base,
            other => {
                let _ = child.kill();
                panic!("the server did not start: {other:?}")
            }
        };
        Server { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn tessera(args: &[&str], dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .current_dir(dir)
        .env("TESSERA_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("tessera-compile-cache"))
        .output()
        .unwrap();
    assert!(out.status.success(), "tessera {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_studio_off_loopback_needs_a_tls_proxy() {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--studio", "--addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--behind-tls-proxy"));
}

#[test]
fn hash_password_prints_an_argon2id_phc_string() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["studio", "hash-password"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"s3cret\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let hash = String::from_utf8(out.stdout).unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
}

#[test]
fn an_author_edits_and_an_approver_publishes_in_chromium() {
    if std::env::var_os("TESSERA_SKIP_BROWSER").is_some() {
        eprintln!("SKIPPED: the studio's browser test (TESSERA_SKIP_BROWSER is set)");
        return;
    }
    let setup = Command::new("bash").arg(browser_dir().join("setup.sh")).output().expect("bash runs");
    assert!(
        setup.status.success(),
        "the browser test's set-up failed (Chromium or playwright-core; TESSERA_SKIP_BROWSER=1 skips):\n{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let samples = studio_repo::studio_repo(dir.path());
    let server = Server::start(&samples);
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("studio-screenshots");
    let out = Command::new("node")
        .arg(browser_dir().join("studio.mjs"))
        .arg(&server.base)
        .arg(&shots)
        .env("RENDER_REQUEST", studio_repo::samples().join("acme-energy/requests/render-invoice.json"))
        .current_dir(browser_dir())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "the studio's browser test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps: Vec<serde_json::Value> = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(!steps.iter().any(|s| s["step"] == "page-error"), "the page threw: {stdout}");
    let live = steps.iter().find(|s| s["step"] == "approved-and-live").expect("the approval step ran");
    let commit = live["commit"].as_str().unwrap().to_owned();
    assert!(live["live_after_approval_ms"].as_u64().unwrap() <= 5_000, "{live}");
    drop(server);

    // A batch renders the approved revision, and `content which` names it.
    let repo = tessera_content::ContentRepo::open(&samples).unwrap();
    assert_eq!(repo.published(tessera_content::DEFAULT_PUBLISHED_REF).unwrap().as_deref(), Some(commit.as_str()));
    let run = dir.path().join("run");
    let acme = samples.join("acme-energy");
    tessera(
        &[
            "batch",
            "--tenant",
            acme.to_str().unwrap(),
            "--input",
            acme.join("data/billing.csv").to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
            "--channels",
            "html",
        ],
        dir.path(),
    );
    let manifest = std::fs::read_to_string(run.join("manifest.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = manifest.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // A letter of the `acme` label uses the footer the author changed.
    let first = lines.iter().find(|l| l["label"] == "acme").expect("an acme letter");
    let document = first["document_id"].as_str().unwrap();
    let letter = std::fs::read_to_string(run.join(first["file"].as_str().unwrap())).unwrap();
    assert!(letter.contains("Winter opening hours: 9 to 17"), "the batch's letter has the approved footer");
    let which = tessera(
        &["content", "--tenant", acme.to_str().unwrap(), "which", document, "--run", run.to_str().unwrap()],
        dir.path(),
    );
    assert!(which.contains(&commit), "content which names the approved revision {commit}:\n{which}");
    let log = tessera(&["content", "--tenant", acme.to_str().unwrap(), "log", "--limit", "1"], dir.path());
    assert!(log.contains("alice") && log.contains("(approved by bob)"), "{log}");
}
