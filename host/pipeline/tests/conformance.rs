//! Real source documents from `../shared/conformance/` (public samples that
//! nobody here wrote) through the real translator plugins: every file must
//! become valid CDM records — or, for parts that cannot be translated,
//! rejections that name the element — and nothing may go missing.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tessera_pipeline::CdmRecord;
use tessera_runtime::{CallContext, TranslateOutcome};

fn conformance(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn call() -> CallContext {
    CallContext { as_of: Arc::from("2026-11-01"), as_of_unix: 1_793_491_200, seed: 1 }
}

/// Translates a file in small chunks (a chunk may end anywhere).
fn translate(plugin: &tessera_runtime::Plugin, path: &Path) -> Vec<TranslateOutcome> {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut session = plugin.translate(&call(), &name).unwrap();
    let bytes = std::fs::read(path).unwrap();
    let mut outcomes = Vec::new();
    for chunk in bytes.chunks(333) {
        outcomes.extend(session.feed(chunk).unwrap());
    }
    outcomes.extend(session.finish().unwrap().0);
    outcomes
}

#[test]
fn every_tmf678_sample_becomes_valid_cdm() {
    let t = TestTenant::new(&["tmf678-bill"], "x");
    let loaded = t.load().unwrap();
    let plugin = &loaded.plugins["tmf678-bill"];
    let mut summary = Vec::new();
    for path in conformance("tmf678") {
        let outcomes = translate(plugin, &path);
        assert!(!outcomes.is_empty(), "{}: nothing came out", path.display());
        let mut types = Vec::new();
        for outcome in outcomes {
            match outcome {
                TranslateOutcome::Record { cdm, location } => {
                    let record = CdmRecord::parse(&cdm)
                        .unwrap_or_else(|e| panic!("{}: invalid CDM: {e}\n{cdm}", path.display()));
                    assert!(
                        location.and_then(|l| l.field).is_some_and(|f| f.starts_with('/')),
                        "located by JSON pointer"
                    );
                    types.push(format!(
                        "{}:{}",
                        record.document_id,
                        record.value["reference"]["document_type"].as_str().unwrap()
                    ));
                }
                TranslateOutcome::Rejected { message, .. } => panic!("{}: rejected: {message}", path.display()),
            }
        }
        summary.push(format!("{}: {}", path.file_name().unwrap().to_string_lossy(), types.join(", ")));
    }
    insta::assert_snapshot!("tmf678_documents", summary.join("\n"));
}

#[test]
fn broken_tmf678_input_is_rejected_with_a_position() {
    let t = TestTenant::new(&["tmf678-bill"], "x");
    let loaded = t.load().unwrap();
    let plugin = &loaded.plugins["tmf678-bill"];
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[u8], &str)] = &[
        ("truncated.json", br#"{"@type":"CustomerBill","id":"CB-1","billingAccount":{"id":"#, "ends too early"),
        ("garbage.json", b"{\"a\": \xff}", "not valid JSON"),
        ("other.json", br#"{"@type":"Invoice"}"#, "is not a TMF678"),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let outcomes = translate(plugin, &path);
        assert_eq!(outcomes.len(), 1, "{name}");
        match &outcomes[0] {
            TranslateOutcome::Rejected { message, location, .. } => {
                assert!(message.contains(expected), "{name}: {message}");
                assert_eq!(location.as_ref().and_then(|l| l.source.as_deref()), Some(*name));
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

/// The acme-energy sample tenant grants tmf678-bill: every sample bill
/// renders with PrintHub's invoice template (HTML and print).
#[test]
fn every_tmf678_sample_renders_with_the_sample_invoice() {
    let tenant = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/acme-energy");
    let store = vec![PathBuf::from(tessera_plugin_artifacts::STORE)];
    let loaded = tessera_pipeline::LoadedTenant::load(runtime(), &tenant, &store).unwrap();
    for path in conformance("tmf678") {
        let out = tempfile::tempdir().unwrap();
        let job = tessera_pipeline::BatchJob {
            input: &path,
            out_dir: out.path(),
            translator: Some("tmf678-bill"),
            as_of: None,
        };
        let report = tessera_pipeline::run_batch(&loaded, &job).unwrap();
        assert!(report.balanced && report.rejected == 0 && report.delivered >= 1, "{}: {report:#?}", path.display());
        let manifest = std::fs::read_to_string(out.path().join("manifest.jsonl")).unwrap();
        for line in manifest.lines() {
            let line: serde_json::Value = serde_json::from_str(line).unwrap();
            let file = std::fs::read_to_string(out.path().join(line["file"].as_str().unwrap())).unwrap();
            assert!(file.contains(line["document_id"].as_str().unwrap()), "{}", line["file"]);
            if line["channel"] == "html" {
                assert!(file.contains("<h1>") && file.contains("</html>"), "{}", line["file"]);
            }
        }
    }
}
