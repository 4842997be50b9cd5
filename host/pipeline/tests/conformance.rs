//! Real source documents (public samples that nobody here wrote, copied
//! unchanged from `../shared/conformance/` into `samples/sources/`) through
//! the real translator plugins: every file must become valid CDM records
//! and render with the sample invoice; broken input is rejected with a
//! position.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tessera_pipeline::CdmRecord;
use tessera_runtime::{CallContext, TranslateOutcome};

/// The repository's copy of the conformance samples (`samples/sources/`).
fn conformance(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/sources").join(kind);
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

/// (conformance folder, translator)
const FORMATS: &[(&str, &str)] = &[("tmf678", "tmf678-bill"), ("ubl", "ubl-invoice"), ("cii", "cii-invoice")];

/// Copied folders that hold no source documents: the EN 16931 validators.
const OTHER_COPIES: &[&str] = &["en16931-validation"];

#[test]
fn every_conformance_sample_becomes_valid_cdm() {
    for (folder, translator) in FORMATS {
        let summary = valid_cdm_from(folder, translator);
        insta::assert_snapshot!(format!("{folder}_documents"), summary);
    }
}

fn valid_cdm_from(folder: &str, translator: &str) -> String {
    let t = TestTenant::new(&[translator], "x");
    let loaded = t.load().unwrap();
    let plugin = &loaded.plugins[translator];
    let mut summary = Vec::new();
    for path in conformance(folder) {
        let outcomes = translate(plugin, &path);
        assert!(!outcomes.is_empty(), "{}: nothing came out", path.display());
        let mut types = Vec::new();
        for outcome in outcomes {
            match outcome {
                TranslateOutcome::Record { cdm, location } => {
                    let record = CdmRecord::parse(&cdm)
                        .unwrap_or_else(|e| panic!("{}: invalid CDM: {e}\n{cdm}", path.display()));
                    let location = location.expect("a record says where it starts");
                    assert_eq!(location.source.as_deref(), path.file_name().and_then(|n| n.to_str()));
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
    summary.join("\n")
}

#[test]
fn broken_tmf678_input_is_rejected_with_a_position() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated.json",
            br#"{"@type":"CustomerBill","id":"CB-1","billingAccount":{"id":"#.to_vec(),
            "ends too early",
        ),
        ("garbage.json", b"{\"a\": \xff}".to_vec(), "not valid JSON"),
        ("other.json", br#"{"@type":"Invoice"}"#.to_vec(), "is not a TMF678"),
    ];
    assert_each_rejected("tmf678-bill", &cases);
}

/// The acme-energy sample tenant grants every translator and picks it by
/// file type: every sample document renders with PrintHub's invoice
/// template (HTML and print) without naming the translator.
#[test]
fn every_conformance_sample_renders_with_the_sample_invoice() {
    let tenant = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/acme-energy");
    let store = vec![PathBuf::from(tessera_plugin_artifacts::STORE)];
    let loaded = tessera_pipeline::LoadedTenant::load(runtime(), &tenant, &store).unwrap();
    for (path, translator) in
        FORMATS.iter().flat_map(|(folder, t)| conformance(folder).into_iter().map(move |p| (p, *t)))
    {
        let out = tempfile::tempdir().unwrap();
        let job = tessera_pipeline::BatchJob {
            translator: Some(translator),
            // The public samples carry no e-mail or postal address for ACME's
            // scenario to route by: render the HTML and print line data.
            channels: Some(vec!["html".to_owned(), "lines".to_owned()]),
            ..tessera_pipeline::BatchJob::new(&path, out.path())
        };
        let report = tessera_pipeline::run_batch(&loaded, &job).unwrap();
        assert!(report.translator.starts_with(&format!("{translator}@")), "{}: {}", path.display(), report.translator);
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

#[test]
fn broken_ubl_input_is_rejected_with_a_position() {
    let good = std::fs::read_to_string(&conformance("ubl")[2]).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated.xml", good.as_bytes()[..good.len() / 2].to_vec(), "not well-formed XML"),
        ("latin1.xml", b"<Invoice>\n\xe9</Invoice>".to_vec(), "not valid UTF-8"),
        (
            "order.xml",
            br#"<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>"#.to_vec(),
            "not a UBL 2.1 Invoice",
        ),
        (
            "no-total.xml",
            good.replace("LegalMonetaryTotal", "LegalMonetaryTotalX").into_bytes(),
            "cac:LegalMonetaryTotal is missing",
        ),
    ];
    assert_each_rejected("ubl-invoice", &cases);
}

/// Each (file name, bytes, expected words) is one rejection, located in its source.
fn assert_each_rejected(translator: &str, cases: &[(&str, Vec<u8>, &str)]) {
    let t = TestTenant::new(&[translator], "x");
    let loaded = t.load().unwrap();
    let plugin = &loaded.plugins[translator];
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let outcomes = translate(plugin, &path);
        assert_eq!(outcomes.len(), 1, "{name}");
        match &outcomes[0] {
            TranslateOutcome::Rejected { message, location, .. } => {
                assert!(message.contains(expected), "{name}: {message}");
                let location = location.as_ref().unwrap();
                assert_eq!(location.source.as_deref(), Some(*name));
                assert!(location.line.is_some() || location.field.is_some(), "{name}: positioned");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

/// The copy in `samples/sources/` is the team's shared conformance set,
/// unchanged (checked where that folder is next to the repository).
#[test]
fn the_copied_samples_equal_the_shared_conformance_set() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance");
    for folder in FORMATS.iter().map(|(folder, _)| *folder).chain(OTHER_COPIES.iter().copied()) {
        let ours = conformance(folder);
        assert!(!ours.is_empty(), "samples/sources/{folder} is empty");
        let theirs = shared.join(folder);
        if !theirs.is_dir() {
            eprintln!("{} is not here; the copy cannot be compared on this machine", theirs.display());
            continue;
        }
        let mut names: Vec<_> = std::fs::read_dir(&theirs).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        let our_names: Vec<_> = ours.iter().map(|p| p.file_name().unwrap().to_owned()).collect();
        assert_eq!(our_names, names, "{folder}: the same files");
        for path in &ours {
            let name = path.file_name().unwrap();
            assert_eq!(std::fs::read(path).unwrap(), std::fs::read(theirs.join(name)).unwrap(), "{name:?} unchanged");
        }
    }
}
