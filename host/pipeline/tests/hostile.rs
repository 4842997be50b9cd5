//! The rest of the hostile-plugin corpus: a stack overflow, a bare
//! `unreachable`, a translator that emits broken JSON, records that are no
//! CDM and strings that are not UTF-8 — and all of them at once in one
//! tenant while another tenant renders its documents undisturbed. Every
//! failure names the plugin, its version and what stopped it; every input
//! record is delivered or rejected (`in = delivered + rejected`).

mod common;

use common::*;
use std::path::Path;
use tessera_pipeline::{BatchJob, LoadedTenant, Report, Stage, run_batch};

#[test]
fn a_stack_overflow_is_a_contained_trap_in_either_stack() {
    // RECURSE overflows Rust's stack in linear memory, DEEP the engine's.
    for (mode, says) in [("RECURSE", "stack overflow from deep recursion"), ("DEEP", "call stack exhausted")] {
        let t = TestTenant::new(
            &["test-deep-recursion"],
            &template_calling_on_inv2(r#"{{ fragment(name="test-deep-recursion") }}"#),
        );
        let csv = format!("{HEADER}{}{}{}", row(1, "one"), row(2, mode), row(3, "three"));
        let (report, out) = t.run(&csv);
        let r = only_inv2_rejected(&report, &out);
        assert_eq!(r.stage, Stage::Compose);
        assert_eq!(r.plugin.as_deref(), Some("test-deep-recursion@0.1.0"));
        assert!(r.reason.contains("plugin test-deep-recursion@0.1.0 (fragment@0.1.0): trapped:"), "{}", r.reason);
        assert!(r.reason.contains(says), "{mode}: {}", r.reason);
    }
}

#[test]
fn a_bare_unreachable_is_a_contained_trap() {
    let t = TestTenant::new(
        &["test-deep-recursion"],
        &template_calling_on_inv2(r#"{{ fragment(name="test-deep-recursion") }}"#),
    );
    let csv = format!("{HEADER}{}{}{}", row(1, "one"), row(2, "UNREACHABLE"), row(3, "three"));
    let (report, out) = t.run(&csv);
    let r = only_inv2_rejected(&report, &out);
    assert!(
        r.reason.contains("test-deep-recursion@0.1.0 (fragment@0.1.0): trapped: reached `unreachable`"),
        "{}",
        r.reason
    );
}

fn bad_translator_run(source: &str) -> (Report, std::path::PathBuf, tempfile::TempDir) {
    let t = TestTenant::new(&["test-bad-translator"], "<p>{{ record.reference.document_id }}</p>");
    let loaded = t.load().unwrap();
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("source.txt");
    std::fs::write(&input, source).unwrap();
    let out = work.path().join("out");
    let job = BatchJob { translator: Some("test-bad-translator"), ..BatchJob::new(&input, &out) };
    let report = run_batch(&loaded, &job).unwrap();
    assert_eq!(report.records_in, report.delivered + report.rejected, "{report:#?}");
    (report, out, work)
}

#[test]
fn broken_json_and_records_that_are_no_cdm_are_rejected_one_by_one() {
    let (report, out, _work) = bad_translator_run("good\nnot-json\nnot-cdm\ngood\n");
    assert_eq!((report.records_in, report.delivered, report.rejected), (4, 2, 2), "{report:#?}");
    assert!(out.join("00000/L-1.html").is_file() && out.join("00000/L-4.html").is_file());
    let reasons: Vec<&str> = report.rejections.iter().map(|r| r.reason.as_str()).collect();
    assert!(reasons.iter().any(|r| r.contains("not JSON")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("cdm")), "the schema names the missing version: {reasons:?}");
    for r in &report.rejections {
        let line = r.source.as_ref().and_then(|s| s.line);
        assert!(matches!(line, Some(2 | 3)), "each rejection keeps its source line: {r:?}");
    }
}

#[test]
fn a_string_that_is_not_utf8_is_refused_by_the_abi_and_accounted() {
    let (report, _out, _work) = bad_translator_run("good\nbad-utf8\n");
    assert_eq!(report.delivered, 0, "the whole feed call trapped: {report:#?}");
    assert_eq!(report.rejected, 1, "{report:#?}");
    let r = &report.rejections[0];
    assert_eq!(r.plugin.as_deref(), Some("test-bad-translator@0.1.0"));
    assert!(r.reason.contains("the rest of the source was not translated"), "{}", r.reason);
    assert!(r.reason.to_lowercase().contains("utf-8"), "the reason says why: {}", r.reason);
}

fn acme() -> LoadedTenant {
    let repo = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let roots = tessera_pipeline::default_roots(Path::new(tessera_plugin_artifacts::STORE));
    LoadedTenant::load(runtime(), &repo.join("samples/acme-energy"), &roots).expect("acme-energy loads")
}

/// ACME's sample run: (delivered, rejected, sorted `file sha256` lines).
fn acme_run(loaded: &LoadedTenant, out: &Path) -> (u64, u64, Vec<String>) {
    let input = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/acme-energy/data/billing.csv"));
    let channels = Some(vec!["html".to_owned(), "lines".to_owned(), "email".to_owned()]);
    let report = run_batch(loaded, &BatchJob { channels, ..BatchJob::new(input, out) }).unwrap();
    let manifest = std::fs::read_to_string(out.join("manifest.jsonl")).unwrap();
    let mut files: Vec<String> = manifest
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{} {}", v["file"].as_str().unwrap(), v["sha256"].as_str().unwrap())
        })
        .collect();
    files.sort();
    (report.delivered, report.rejected, files)
}

#[test]
fn every_hostile_plugin_at_once_leaves_another_tenant_undisturbed() {
    let work = tempfile::tempdir().unwrap();
    let acme = acme();
    let alone = acme_run(&acme, &work.path().join("alone"));
    assert!(alone.0 > 0);

    let template = r#"<p>{{ record.reference.document_id }}</p>
{% set d = record.content.lines[0].description %}
{% if d == "spin" %}{{ fragment(name="test-spin") }}{% elif d == "bomb" %}{{ fragment(name="test-alloc-bomb") }}
{% elif d == "RECURSE" %}{{ fragment(name="test-deep-recursion") }}{% elif d == "flood" %}{{ fragment(name="test-big-output") }}
{% elif d == "PANIC" %}{{ fragment(name="test-panic") }}{% endif %}"#;
    let hostile = TestTenant::new(
        &["test-spin", "test-alloc-bomb", "test-deep-recursion", "test-big-output", "test-panic"],
        template,
    );
    let descriptions = ["calm", "spin", "bomb", "RECURSE", "flood", "PANIC", "calm"];
    let csv: String = std::iter::once(HEADER.to_owned())
        .chain(descriptions.iter().enumerate().map(|(i, d)| row(i as u32 + 1, d)))
        .collect();

    let (together, (report, _out)) = std::thread::scope(|s| {
        let other = s.spawn(|| acme_run(&acme, &work.path().join("together")));
        let hostile_run = hostile.run(&csv);
        (other.join().unwrap(), hostile_run)
    });
    assert_eq!(together, alone, "ACME's documents are the same, byte for byte, while the hostile tenant runs");

    assert_eq!((report.records_in, report.delivered, report.rejected), (7, 2, 5), "{report:#?}");
    let expect = [
        ("INV-2", "test-spin@0.1.0", "fuel limit hit"),
        ("INV-3", "test-alloc-bomb@0.1.0", "memory limit hit"),
        ("INV-4", "test-deep-recursion@0.1.0", "trapped"),
        ("INV-5", "test-big-output@0.1.0", "output limit hit"),
        ("INV-6", "test-panic@0.1.0", "trapped"),
    ];
    for (id, plugin, what) in expect {
        let r = report.rejections.iter().find(|r| r.document_id.as_deref() == Some(id)).expect(id);
        assert_eq!(r.plugin.as_deref(), Some(plugin), "{r:?}");
        assert!(r.reason.contains(plugin) && r.reason.contains(what), "{id}: {}", r.reason);
    }
}
