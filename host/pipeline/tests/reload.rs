//! Hot reload under load: a reload storm while documents render, and
//! broken content that must never replace good content.

mod common;

use common::fs::copy_dir;
use common::runtime;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tessera_content::watch::WatchConfig;
use tessera_pipeline::{Canary, CdmRecord, LoadedTenant, ReloadOutcome, Renditions, parse_as_of};
use tessera_runtime::{CallContext, TranslateOutcome};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples")
}

/// A private copy of the provider and acme-energy samples, loaded.
fn acme_copy() -> (tempfile::TempDir, LoadedTenant) {
    let dir = tempfile::tempdir().unwrap();
    for name in ["printhub", "acme-energy"] {
        copy_dir(&samples().join(name), &dir.path().join(name));
    }
    let store = vec![PathBuf::from(tessera_plugin_artifacts::STORE)];
    let loaded = LoadedTenant::load(runtime(), &dir.path().join("acme-energy"), &store).unwrap();
    (dir, loaded)
}

fn call() -> CallContext {
    CallContext { as_of: Arc::from("2026-11-01"), as_of_unix: parse_as_of("2026-11-01").unwrap(), seed: 1 }
}

/// The first record of the sample billing file, translated by the real plugin.
fn first_record(loaded: &LoadedTenant) -> CdmRecord {
    let translator = &loaded.plugins["csv-billing"];
    let mut session = translator.translate(&call(), "billing.csv").unwrap();
    let mut outcomes = session.feed(&std::fs::read(samples().join("acme-energy/data/billing.csv")).unwrap()).unwrap();
    outcomes.extend(session.finish().unwrap().0);
    outcomes
        .into_iter()
        .find_map(|o| match o {
            TranslateOutcome::Record { cdm, .. } => Some(CdmRecord::parse(&cdm).unwrap()),
            _ => None,
        })
        .unwrap()
}

/// Writes like an editor that saves in place: truncate, then write.
/// Offers the first sample record as the content's canary (what a reload
/// must render before it goes live) and returns it.
fn canary_of_first_record(loaded: &LoadedTenant) -> CdmRecord {
    let record = first_record(loaded);
    loaded.content.offer_canary(|| Canary {
        record: record.clone(),
        template: "invoice".into(),
        fragments: Arc::clone(&loaded.fragments),
        call: call(),
    });
    record
}

fn write_in_place(path: &Path, text: &str) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Writes half of `text`, pauses like a slow disk or a crashed editor would,
/// then the rest.
fn write_in_two_steps(path: &Path, text: &str) {
    let mut f = std::fs::File::create(path).unwrap();
    let half = text.len() / 2;
    f.write_all(&text.as_bytes()[..half]).unwrap();
    f.flush().unwrap();
    std::thread::sleep(Duration::from_millis(2));
    f.write_all(&text.as_bytes()[half..]).unwrap();
}

fn good_footer(v: u32) -> String {
    format!(
        "<footer class=\"legal\"><p>BEGIN-v{v}</p>\n  {{% for line in label.legal %}}<p>{{{{ line }}}}</p>{{% endfor %}}\n  <p>{{{{ label.name }}}} END-v{v}</p>\n</footer>\n"
    )
}

/// The footer version in a document: `Some(v)` for a complete one, `None`
/// for the original footer; panics on a torn or broken footer.
fn footer_version(html: &str) -> Option<u32> {
    assert!(!html.contains("BROKEN"), "a broken footer went live");
    let at = html.find("BEGIN-v")?;
    let digits: String = html[at + 7..].chars().take_while(char::is_ascii_digit).collect();
    let v: u32 = digits.parse().unwrap();
    assert!(html.contains(&format!("END-v{v}</p>")), "footer v{v} is incomplete in a rendered document");
    Some(v)
}

#[test]
fn a_reload_storm_never_tears_a_document_and_never_lets_broken_content_live() {
    let (dir, loaded) = acme_copy();
    let footer = dir.path().join("printhub/content/fragments/footer.html.tera");
    let record = first_record(&loaded);
    let fragments = Arc::clone(&loaded.fragments);
    loaded.content.offer_canary(|| Canary {
        record: record.clone(),
        template: "invoice".into(),
        fragments: Arc::clone(&fragments),
        call: call(),
    });
    let refused = Arc::new(Mutex::new(Vec::new()));
    let swaps = Arc::new(AtomicU64::new(0));
    let watch = {
        let (refused, swaps) = (Arc::clone(&refused), Arc::clone(&swaps));
        loaded
            .content
            .watch(WatchConfig::default(), move |outcome| match outcome {
                ReloadOutcome::Refused(f) => refused.lock().unwrap().push(f.clone()),
                ReloadOutcome::Swapped { .. } => {
                    swaps.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            })
            .unwrap()
    };

    let stop = Arc::new(AtomicBool::new(false));
    let content = Arc::clone(&loaded.content);
    let renderer = {
        let stop = Arc::clone(&stop);
        let record = record.clone();
        std::thread::spawn(move || {
            let (mut rendered, mut failed) = (0u64, Vec::new());
            // One revision must always mean one footer.
            let mut footer_of: HashMap<String, Option<u32>> = HashMap::new();
            while !stop.load(Ordering::Relaxed) {
                let library = content.current();
                match library.compose(&record, "invoice", "acme", "en", &call(), &fragments, Renditions::ALL) {
                    Ok(doc) => {
                        let v = footer_version(&doc.html);
                        let seen = footer_of.entry(doc.revision.to_string()).or_insert(v);
                        assert_eq!(*seen, v, "revision {} rendered two different footers", doc.revision);
                        rendered += 1;
                    }
                    Err(e) => failed.push(e.to_string()),
                }
            }
            (rendered, failed, footer_of.len())
        })
    };

    // 1,000 saves: good ones, syntax errors, templates that only fail when
    // rendered, and saves written in two steps.
    let mut last_good = 0;
    for v in 1..=1000u32 {
        match v % 10 {
            3 => write_in_place(&footer, &format!("<footer>BROKEN-v{v} {{{{ label.name </footer>\n")),
            6 => write_in_place(&footer, &format!("<footer>BROKEN-v{v} {{{{ label.no_such_key.deeper }}}}</footer>\n")),
            8 => write_in_two_steps(&footer, &good_footer(v)),
            _ => write_in_place(&footer, &good_footer(v)),
        }
        if !matches!(v % 10, 3 | 6) {
            last_good = v;
        }
        // Mostly bursts faster than any debounce, with a pause now and then
        // so that reloads happen during the storm, after every kind of save.
        let pause = if v % 7 == 0 { 30_000 } else { u64::from(v % 4) * 500 };
        std::thread::sleep(Duration::from_micros(pause));
    }
    // The last save is good: it must go live.
    let deadline = Instant::now() + Duration::from_secs(10);
    let record_html = |lib: &tessera_pipeline::Library| {
        lib.compose(&record, "invoice", "acme", "en", &call(), &loaded.fragments, Renditions::ALL).unwrap().html
    };
    while footer_version(&record_html(&loaded.content.current())) != Some(last_good) {
        assert!(Instant::now() < deadline, "the last good save did not go live");
        std::thread::sleep(Duration::from_millis(10));
    }
    // A broken save after it: refused, reported with file:line:col, and the good one stays.
    let before = refused.lock().unwrap().len();
    write_in_place(&footer, "<footer>BROKEN-final\n  {{ label.name </footer>\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    while refused.lock().unwrap().len() == before {
        assert!(Instant::now() < deadline, "the broken save was not reported");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(footer_version(&record_html(&loaded.content.current())), Some(last_good));
    stop.store(true, Ordering::Relaxed);
    let (rendered, failed, revisions) = renderer.join().unwrap();
    drop(watch);

    assert!(failed.is_empty(), "renders failed during the storm: {:?}", &failed[..failed.len().min(3)]);
    assert!(rendered > 100, "the renderer kept rendering ({rendered})");
    assert!(swaps.load(Ordering::Relaxed) >= 20, "content went live during the storm");
    assert!(revisions >= 20, "documents came from many revisions ({revisions})");
    let refused = refused.lock().unwrap();
    let last = refused.last().unwrap();
    assert!(
        last.message.starts_with("printhub/content/fragments/footer.html.tera:2:"),
        "error names file, line and column: {}",
        last.message
    );
    assert!(last.detailed.contains("\n  2 |   {{ label.name </footer>"), "{}", last.detailed);
    let status = loaded.content.status();
    assert!(status.last_error.is_some());
    eprintln!(
        "storm: {rendered} documents from {revisions} revisions, {} swaps, {} refusals reported",
        swaps.load(Ordering::Relaxed),
        refused.len()
    );
}

#[test]
fn a_template_that_fails_only_when_rendered_is_refused_by_the_canary() {
    let (dir, loaded) = acme_copy();
    let record = canary_of_first_record(&loaded);
    let before = loaded.content.current().revision().clone();
    let footer = dir.path().join("acme-energy/content/labels/acme-green/fragments/footer.html.tera");
    std::fs::write(&footer, "<footer>\n<p>{{ label.colors.nope }}</p></footer>\n").unwrap();
    match loaded.content.reload(Duration::ZERO) {
        ReloadOutcome::Refused(f) => {
            assert!(
                f.message.starts_with("acme-energy/content/labels/acme-green/fragments/footer.html.tera:2:"),
                "{}",
                f.message
            );
            assert!(f.message.contains("acme-green/"), "names the view: {}", f.message);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(*loaded.content.current().revision(), before, "the last good content stays live");
    // Fixing it goes live.
    std::fs::write(&footer, "<footer><p>{{ label.colors.primary }}</p></footer>\n").unwrap();
    assert!(matches!(loaded.content.reload(Duration::ZERO), ReloadOutcome::Swapped { .. }));
    let html = loaded.content.current().compose(
        &record,
        "invoice",
        "acme-green",
        "nl",
        &call(),
        &loaded.fragments,
        Renditions::ALL,
    );
    assert!(html.unwrap().html.contains("<footer><p>#1f6f43</p></footer>"));
}

/// A brand label whose IBAN fails its check digits would put a wrong account
/// on every letter: the reload that brings it in is refused, naming the file.
#[test]
fn a_label_with_an_iban_that_fails_its_check_is_refused_by_the_canary() {
    let (dir, loaded) = acme_copy();
    canary_of_first_record(&loaded);
    let before = loaded.content.current().revision().clone();
    let label = dir.path().join("acme-energy/content/labels/acme.toml");
    let text = std::fs::read_to_string(&label).unwrap();
    std::fs::write(&label, text.replace("NL91ABNA0417164300", "NL91ABNA0417164301")).unwrap();
    match loaded.content.reload(Duration::ZERO) {
        ReloadOutcome::Refused(f) => {
            assert!(f.message.contains("labels/acme.toml") && f.message.contains("ISO-13616"), "{}", f.message);
            assert!(!f.message.contains("ABNA0417164301"), "the account is masked: {}", f.message);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(*loaded.content.current().revision(), before, "the last good content stays live");
}

#[test]
fn polling_picks_up_changes_too() {
    let (dir, loaded) = acme_copy();
    let config = WatchConfig { force_poll: true, poll_interval: Duration::from_millis(25), ..Default::default() };
    let before = loaded.content.status().generation;
    let watch = loaded.content.watch(config, |_| {}).unwrap();
    assert_eq!(watch.backend(), tessera_content::watch::Backend::Polling);
    std::fs::write(dir.path().join("printhub/content/fragments/footer.html.tera"), good_footer(7)).unwrap();
    assert!(loaded.content.wait_for_generation(before, Duration::from_secs(10)), "polling saw the change");
}

fn git(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .expect("git is installed")
        .success();
    assert!(ok, "git {args:?}");
}

/// Production renders the published commit, ignores unpublished edits, and
/// follows the ref when it moves (publish and rollback), without a restart.
#[test]
fn published_mode_follows_the_ref_and_ignores_the_working_tree() {
    let (dir, _) = acme_copy();
    git(dir.path(), &["init", "-q"]);
    let repo = tessera_content::ContentRepo::open(dir.path()).unwrap();
    let published_ref = tessera_content::DEFAULT_PUBLISHED_REF;
    let first = repo.publish(published_ref, "first").unwrap().commit;

    let store = vec![PathBuf::from(tessera_plugin_artifacts::STORE)];
    let mode = tessera_content::SourceMode::Published(published_ref.into());
    let loaded = LoadedTenant::load_from(runtime(), &dir.path().join("acme-energy"), &store, Some(mode)).unwrap();
    assert_eq!(**loaded.content.current().revision(), *first);
    let record = first_record(&loaded);
    let footer_of = |loaded: &LoadedTenant| {
        footer_version(
            &loaded
                .content
                .current()
                .compose(&record, "invoice", "acme", "en", &call(), &loaded.fragments, Renditions::ALL)
                .unwrap()
                .html,
        )
    };
    let config = WatchConfig { poll_interval: Duration::from_millis(20), ..Default::default() };
    let _watch = loaded.content.watch(config, |_| {}).unwrap();

    // An unpublished edit is not rendered: a reload asked for now (not a
    // wait that would pass as well with a slow watcher) finds nothing new.
    let footer = dir.path().join("printhub/content/fragments/footer.html.tera");
    let generation = loaded.content.status().generation;
    std::fs::write(&footer, good_footer(1)).unwrap();
    let outcome = loaded.content.reload(Duration::ZERO);
    assert!(matches!(outcome, ReloadOutcome::Unchanged), "an unpublished edit changed nothing: {outcome:?}");
    assert_eq!(loaded.content.status().generation, generation);
    assert_eq!(footer_of(&loaded), None);

    // Publishing moves the ref: the next documents follow.
    let generation = loaded.content.status().generation;
    let second = repo.publish(published_ref, "footer v1").unwrap().commit;
    assert!(loaded.content.wait_for_generation(generation, Duration::from_secs(10)));
    assert_eq!(**loaded.content.current().revision(), *second);
    assert_eq!(footer_of(&loaded), Some(1));

    // So does a rollback.
    let generation = loaded.content.status().generation;
    let rolled = repo.rollback(published_ref, None).unwrap();
    assert_eq!(rolled.previous.as_deref(), Some(second.as_str()));
    assert!(loaded.content.wait_for_generation(generation, Duration::from_secs(10)));
    assert_eq!(footer_of(&loaded), None);
}

#[test]
fn a_missing_asset_is_a_template_error_naming_the_asset() {
    let (dir, loaded) = acme_copy();
    std::fs::remove_file(dir.path().join("printhub/content/assets/images/printhub-mark.svg")).unwrap();
    assert!(matches!(loaded.content.reload(Duration::ZERO), ReloadOutcome::Swapped { .. }), "no canary yet");
    let record = first_record(&loaded);
    let err = loaded
        .content
        .current()
        .compose(&record, "invoice", "acme", "en", &call(), &loaded.fragments, Renditions::ALL)
        .expect_err("the footer asks for a missing asset");
    let message = err.to_string();
    assert!(message.contains("printhub/content/fragments/footer.html.tera:8:"), "{message}");
    assert!(message.contains("asset(path=\"images/printhub-mark.svg\")"), "{message}");
    assert!(message.contains("not in assets/ of any layer"), "{message}");
}

/// Regression: an unknown filter fails while the set compiles, where Tera
/// reports the template only inside its message; the refusal used to name
/// the file `templates` without line or column.
#[test]
fn an_unknown_filter_is_refused_at_its_file_line_and_column() {
    let (dir, loaded) = acme_copy();
    let footer = dir.path().join("printhub/content/fragments/footer.html.tera");
    let text = std::fs::read_to_string(&footer).unwrap();
    std::fs::write(&footer, format!("{text}{{{{ customer.name | nosuchfilter }}}}\n")).unwrap();
    let line = text.lines().count() + 1;
    match loaded.content.reload(Duration::ZERO) {
        ReloadOutcome::Refused(f) => {
            let error = f.error.expect("a file is to blame");
            assert_eq!(error.file, Path::new("printhub/content/fragments/footer.html.tera"), "{}", f.message);
            assert_eq!((error.line, error.column), (Some(line), Some(20)), "{}", f.message);
            assert!(error.message.contains("nosuchfilter"), "{}", f.message);
        }
        other => panic!("an unknown filter went live: {other:?}"),
    }
}
