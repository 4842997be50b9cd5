//! The bad-input corpus through the whole pipeline, with the real sample
//! tenant and translators: malformed CSV rows, invalid UTF-8, truncated
//! JSON and XML, records the CDM schema refuses, content the record asks
//! for but the tenant lacks, and a translator that dies mid-source. For
//! every case and every thread count: `in = delivered + rejected`, every
//! delivered document has its files, every rejection is written down and
//! names its record (document id or customer reference) or its place in
//! the source (line, field or byte offset).

mod common;

use common::{HEADER, TestTenant, row, runtime};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use tessera_pipeline::SourceEncoding;
use tessera_pipeline::sink::SinkKind;
use tessera_pipeline::{BatchJob, LoadedTenant, Report, run_batch};

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn acme() -> LoadedTenant {
    let roots = tessera_pipeline::default_roots(Path::new(tessera_plugin_artifacts::STORE));
    LoadedTenant::load(runtime(), &repo().join("samples/acme-energy"), &roots).expect("acme-energy loads")
}

/// Runs `bytes` as `name` with 1 and 3 threads, whole and in shards (of 64
/// bytes: a cut at every document, for a translator that can cut), into
/// the `dir` sink and the `zip` sink; checks the accounting and that every
/// run agrees; returns the report and the delivered document ids.
fn run(loaded: &LoadedTenant, name: &str, bytes: &[u8]) -> (Report, BTreeSet<String>) {
    run_in(loaded, name, bytes, None)
}

/// [`run`] of a source in `encoding`.
fn run_in(
    loaded: &LoadedTenant,
    name: &str,
    bytes: &[u8],
    encoding: Option<SourceEncoding>,
) -> (Report, BTreeSet<String>) {
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join(name);
    std::fs::write(&input, bytes).unwrap();
    let mut results = Vec::new();
    for (threads, shard_bytes, sink) in
        [(1, 0, SinkKind::Dir), (3, 0, SinkKind::Dir), (3, 64, SinkKind::Dir), (3, 64, SinkKind::Zip)]
    {
        let out = work.path().join(format!("out-{threads}-{shard_bytes}-{sink:?}"));
        // HTML and line data: these sources carry no e-mail or postal address
        // for ACME's scenario, and this test is about accounting, not routing.
        let channels = Some(vec!["html".to_owned(), "lines".to_owned()]);
        let job = BatchJob {
            threads: Some(threads),
            shard_bytes: Some(shard_bytes),
            channels,
            sink: Some(sink),
            documents_per_block: Some(3),
            encoding,
            ..BatchJob::new(&input, &out)
        };
        let report = run_batch(loaded, &job).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(report.balanced, "{name}: {report:#?}");
        assert_eq!(report.records_in, report.delivered + report.rejected, "{name}");

        let manifest = std::fs::read_to_string(out.join("manifest.jsonl")).unwrap();
        let mut delivered = BTreeSet::new();
        // Where each output is aside, the manifests of both sinks agree.
        let mut placed_aside = String::new();
        for line in manifest.lines() {
            let mut line: serde_json::Value = serde_json::from_str(line).unwrap();
            let file = line["file"].as_str().unwrap().to_owned();
            match line.as_object_mut().unwrap().remove("container") {
                Some(container) => {
                    let bytes = std::fs::File::open(out.join(container.as_str().unwrap())).unwrap();
                    let mut archive = zip::ZipArchive::new(bytes).unwrap();
                    assert!(archive.by_name(&file).is_ok(), "{name}: {container}!{file}");
                }
                None => {
                    assert!(out.join(&file).is_file(), "{name}: {line}");
                    line["file"] = file.rsplit('/').next().unwrap().into();
                }
            }
            placed_aside += &format!("{line}\n");
            delivered.insert(line["document_id"].as_str().unwrap().to_owned());
        }
        let manifest = placed_aside;
        assert_eq!(delivered.len() as u64, report.delivered, "{name}: one document id per delivered record");

        let rejected = std::fs::read_to_string(out.join("rejected.jsonl")).unwrap();
        assert_eq!(rejected.lines().count() as u64, report.rejected, "{name}: every rejection is written down");
        for line in rejected.lines() {
            let r: serde_json::Value = serde_json::from_str(line).unwrap();
            let named = r.get("document_id").is_some() || r.get("record").is_some();
            let source = &r["source"];
            let placed = source["source"] == name && (source.get("line").is_some() || source.get("field").is_some());
            assert!(named || placed, "{name}: a rejection that names neither its record nor its place: {r}");
            assert!(!r["reason"].as_str().unwrap().is_empty(), "{name}: {r}");
        }
        results.push((report, delivered, manifest, rejected));
    }
    for other in &results[1..] {
        assert_eq!(
            (&results[0].2, &results[0].3),
            (&other.2, &other.3),
            "{name}: manifest and rejections differ between 1 and 3 threads, whole and in shards"
        );
    }
    let (report, delivered, _, _) = results.remove(0);
    (report, delivered)
}

fn ids(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The first rejection's field, for the cases that have one.
fn stages(report: &Report) -> Vec<String> {
    report.rejections.iter().map(|r| format!("{:?}", r.stage)).collect()
}

#[test]
fn malformed_csv_rows_reject_their_documents_and_nothing_else() {
    let loaded = acme();
    let csv = format!(
        "{HEADER}{}{}{}{}{}{}{}",
        row(1, "good"),
        row(2, "bad quantity").replace(",1,10.00,", ",abc,10.00,"),
        "C-3,INV-3,Tester,Street 1\n",
        ",,Tester,Street 1,1000 AA,Amsterdam,NL,2026-11-01,2026-11-15,no id,1,10.00,21\n",
        row(5, "good"),
        row(2, "INV-2 again, after another document"),
        "C-7,INV-7,\"Tester,Street 1,1000 AA,Amsterdam,NL,2026-11-01,2026-11-15,unclosed quote,1,10.00,21\n",
    );
    let (report, delivered) = run(&loaded, "rows.csv", csv.as_bytes());
    assert_eq!(delivered, ids(&["INV-1", "INV-5"]), "{report:#?}");
    let lines: Vec<Option<u32>> = report.rejections.iter().map(|r| r.source.as_ref().and_then(|s| s.line)).collect();
    assert!(lines.iter().all(Option::is_some), "every CSV rejection has its line: {lines:?}");
    assert!(stages(&report).iter().all(|s| s == "Translate"), "{report:#?}");
}

#[test]
fn invalid_utf8_rejects_the_row_with_its_line() {
    let loaded = acme();
    let mut csv = format!("{HEADER}{}", row(1, "good")).into_bytes();
    csv.extend_from_slice(row(2, "bad \u{1}").replace('\u{1}', "\u{0}").as_bytes());
    let at = csv.iter().rposition(|b| *b == 0).unwrap();
    csv[at] = 0xFF;
    csv.extend_from_slice(row(3, "good").as_bytes());
    let (report, delivered) = run(&loaded, "latin1.csv", &csv);
    assert_eq!(delivered, ids(&["INV-1", "INV-3"]));
    assert_eq!(report.rejected, 1);
    let r = &report.rejections[0];
    assert_eq!(r.source.as_ref().and_then(|s| s.line), Some(3), "{r:?}");
    assert!(r.reason.contains("UTF-8"), "{}", r.reason);
}

/// A windows-1252 export reads as text (`Müller`, `€`, curly quotes), and
/// a byte that encoding does not define rejects its row, naming the byte,
/// its line and column and the column's header; so does a Latin-9 one.
#[test]
fn single_byte_encodings_are_read_and_a_wrong_byte_names_line_and_column() {
    let loaded = acme();
    let mut csv = format!("{HEADER}{}", row(1, "M\u{1}ller \u{2} \u{3}stroom\u{4}")).into_bytes();
    for (marker, byte) in [(1u8, 0xFCu8), (2, 0x80), (3, 0x93), (4, 0x94)] {
        let at = csv.iter().position(|b| *b == marker).unwrap();
        csv[at] = byte;
    }
    csv.extend_from_slice(row(2, "ba\u{1}d").as_bytes());
    let at = csv.iter().position(|b| *b == 1).unwrap();
    csv[at] = 0x81;
    csv.extend_from_slice(row(3, "good").as_bytes());
    let (report, delivered) = run_in(&loaded, "export.csv", &csv, Some(SourceEncoding::Windows1252));
    assert_eq!(delivered, ids(&["INV-1", "INV-3"]), "{report:#?}");
    let r = &report.rejections[0];
    let source = r.source.as_ref().unwrap();
    assert_eq!((source.line, source.column), (Some(3), Some(72)), "{r:?}");
    assert_eq!(source.field.as_deref(), Some("line_description"), "{r:?}");
    assert!(r.reason.contains("byte 0x81 at line 3, column 72 is not a windows-1252 character"), "{}", r.reason);

    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("export.csv");
    std::fs::write(&input, &csv).unwrap();
    let out = work.path().join("out");
    let job = BatchJob {
        encoding: Some(SourceEncoding::Windows1252),
        channels: Some(vec!["html".to_owned()]),
        ..BatchJob::new(&input, &out)
    };
    run_batch(&loaded, &job).unwrap();
    let html = std::fs::read_to_string(out.join("00000/INV-1.html")).unwrap();
    assert!(html.contains("Müller € \u{201c}stroom\u{201d}"), "windows-1252 text arrives as itself");
    let hidden: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "the UTF-8 copy of the source is gone: {hidden:?}");

    let latin9 = format!("{HEADER}{}", row(1, "\u{1}5")).replace('\u{1}', "\u{a4}");
    let latin9: Vec<u8> = latin9.chars().map(|c| u8::try_from(u32::from(c)).unwrap()).collect();
    let (report, delivered) = run_in(&loaded, "latin9.csv", &latin9, Some(SourceEncoding::Iso8859_15));
    assert_eq!(delivered, ids(&["INV-1"]), "{report:#?}");
}

#[test]
fn truncated_json_and_xml_are_rejected_with_their_position() {
    let loaded = acme();
    for (name, sample) in [
        ("bill.json", "samples/sources/tmf678/CustomerBillCreateEvent_request.json"),
        ("invoice.xml", "samples/sources/ubl/ubl-tc434-example1.xml"),
    ] {
        let whole = std::fs::read(repo().join(sample)).unwrap();
        let (report, delivered) = run(&loaded, name, &whole);
        assert_eq!((report.delivered, report.rejected), (1, 0), "{name} whole: {report:#?}");
        assert_eq!(delivered.len(), 1);
        let (report, delivered) = run(&loaded, name, &whole[..whole.len() / 2]);
        assert!(delivered.is_empty(), "{name} truncated: {report:#?}");
        assert_eq!(report.rejected, 1, "{name} truncated: {report:#?}");
        let r = &report.rejections[0];
        assert!(r.source.as_ref().is_some_and(|s| s.line.is_some() || s.field.is_some()), "{name}: {r:?}");
    }
}

#[test]
fn schema_violations_and_missing_content_reject_the_record_at_their_stage() {
    let loaded = acme();
    let header = HEADER.replace('\n', ",label\n");
    let with_label = |n: u32, label: &str| row(n, "item").replace('\n', &format!(",{label}\n"));
    let csv = format!(
        "{header}{}{}{}{}",
        with_label(1, "acme"),
        with_label(2, "Not A Label!"),
        with_label(3, "no-such-label"),
        with_label(4, "acme-green"),
    );
    let (report, delivered) = run(&loaded, "labels.csv", csv.as_bytes());
    assert_eq!(delivered, ids(&["INV-1", "INV-4"]));
    let by_doc = |id: &str| report.rejections.iter().find(|r| r.document_id.as_deref() == Some(id)).unwrap();
    let schema = by_doc("INV-2");
    assert_eq!((format!("{:?}", schema.stage), schema.rule.as_deref()), ("Validate".into(), Some("pattern")));
    assert_eq!(schema.field.as_deref(), Some("$.production.label"));
    let content = by_doc("INV-3");
    assert_eq!(format!("{:?}", content.stage), "Compose");
    assert!(content.reason.contains("no-such-label"), "{}", content.reason);
}

#[test]
fn a_document_id_may_appear_once_per_source() {
    let loaded = acme();
    // Two sources of the same invoice in one TMF678 list: the second is refused.
    let bill =
        std::fs::read_to_string(repo().join("samples/sources/tmf678/Customer_Bill_Update_JSON_Patch_response.json"))
            .unwrap();
    let list = format!("[{bill},{bill}]");
    let (report, delivered) = run(&loaded, "twice.json", list.as_bytes());
    assert_eq!((delivered.len(), report.rejected), (1, 1), "{report:#?}");
    let r = &report.rejections[0];
    assert_eq!(r.field.as_deref(), Some("$.reference.document_id"));
    assert!(r.reason.contains("appeared earlier in this source"), "{}", r.reason);
}

#[test]
fn a_translator_that_dies_mid_source_loses_no_record_silently() {
    // Documents before the fault are delivered; the fault itself is one
    // rejection naming the plugin, the limit and the byte offset from which
    // the source was not read.
    let mut tenant = TestTenant::new(&[], "<p>{{ record.reference.document_id }}</p>");
    tenant.edit_manifest("csv-billing", |m| m.replace("output_kib = 8_192", "output_kib = 256"));
    tenant.grant("csv-billing", "limits = { output_kib = 256 }");
    let mut csv = String::from(HEADER);
    for n in 1..=20 {
        csv.push_str(&row(n, "small"));
    }
    for l in 0..4_000 {
        let _ = write!(csv, "{}", row(21, &format!("line {l} of a very long invoice")));
    }
    for n in 22..=25 {
        csv.push_str(&row(n, "after"));
    }
    let (report, out) = tenant.run(csv);
    assert_eq!((report.delivered, report.rejected), (20, 1), "{report:#?}");
    assert!(out.join("00000/INV-20.html").is_file());
    let r = &report.rejections[0];
    assert_eq!(r.plugin.as_deref(), Some("csv-billing@0.2.0"));
    assert!(r.limit.is_some(), "{r:?}");
    assert!(r.reason.starts_with("the rest of the source was not translated"), "{}", r.reason);
    let field = r.source.as_ref().and_then(|s| s.field.clone()).unwrap_or_default();
    assert!(field.starts_with("byte ") && field.ends_with(" onwards"), "{field}");
}
