//! The sample plugins doing their real jobs through the real runtime:
//! csv-billing on well-formed and broken exports, payment-qr read back by an
//! independent QR decoder, print-asa's pagination.

mod common;

use common::*;
use std::sync::Arc;
use tessera_runtime::{CallContext, DocumentInput, FaultKind, TranslateOutcome};

fn call() -> CallContext {
    CallContext { as_of: Arc::from("2026-11-01"), as_of_unix: 1_793_491_200, seed: 1 }
}

const CONTEXT: &str = r#"{"cdm":"1.0","content":{"payment":{"amount":"228.97","currency":"EUR","reference":"RF18539007547034","credit":false}}}"#;

fn qr_params(iban: &str) -> Vec<(String, String)> {
    vec![
        ("creditor".into(), "ACME Energy B.V.".into()),
        ("iban".into(), iban.into()),
        ("bic".into(), "ABNANL2A".into()),
    ]
}

#[test]
fn payment_qr_draws_the_epc_payload_that_a_decoder_reads_back() {
    let t = TestTenant::new(&["payment-qr"], "x");
    let loaded = t.load().unwrap();
    let qr = &loaded.plugins["payment-qr"];
    let (rendered, usage) = qr.render(&call(), "payment-qr", &qr_params("NL91 ABNA 0417 1643 00"), CONTEXT).unwrap();
    let decoded = qr::decode_all(&rendered.html);
    assert_eq!(
        decoded,
        ["BCD\n002\n1\nSCT\nABNANL2A\nACME Energy B.V.\nNL91ABNA0417164300\nEUR228.97\n\nRF18539007547034"]
    );
    assert!(rendered.text.contains("EUR 228.97 to NL91ABNA0417164300"), "{}", rendered.text);
    assert!(usage.fuel > 0 && usage.fuel < qr.limits().fuel);

    // Free remittance text (not an RF reference) goes in the last field; a
    // longer payload needs a larger symbol, which must decode as well.
    let long = r#"{"cdm":"1.0","content":{"payment":{"amount":"1234567.89","currency":"EUR","reference":"Invoice 2026-1001 / customer C-100231 / electricity and gas October 2026, thank you","credit":false}}}"#;
    let (rendered, _) = qr.render(&call(), "payment-qr", &qr_params("NL91ABNA0417164300"), long).unwrap();
    assert_eq!(
        qr::decode_all(&rendered.html),
        [
            "BCD\n002\n1\nSCT\nABNANL2A\nACME Energy B.V.\nNL91ABNA0417164300\nEUR1234567.89\n\n\nInvoice 2026-1001 / customer C-100231 / electricity and gas October 2026, thank you"
        ]
    );
}

#[test]
fn payment_qr_refuses_an_iban_with_wrong_check_digits() {
    let t = TestTenant::new(&["payment-qr"], "x");
    let loaded = t.load().unwrap();
    let fault = loaded.plugins["payment-qr"]
        .render(&call(), "payment-qr", &qr_params("NL02ABNA0417164300"), CONTEXT)
        .unwrap_err();
    match &*fault.kind {
        FaultKind::Reported { code, message, location, .. } => {
            assert_eq!(code, "invalid-input");
            assert!(message.contains("check digits are wrong"), "{message}");
            assert_eq!(location.as_deref(), Some("field iban"));
        }
        other => panic!("expected a plugin error, got {other:?}"),
    }
}

#[test]
fn payment_qr_renders_nothing_for_a_credit_note() {
    let t = TestTenant::new(&["payment-qr"], "x");
    let loaded = t.load().unwrap();
    let credit = CONTEXT.replace("\"credit\":false", "\"credit\":true");
    let (rendered, _) =
        loaded.plugins["payment-qr"].render(&call(), "payment-qr", &qr_params("NL91ABNA0417164300"), &credit).unwrap();
    assert_eq!((rendered.html.as_str(), rendered.text.as_str()), ("", ""));
}

/// Runs `csv` through csv-billing in chunks of `chunk` bytes.
fn translate(loaded: &tessera_pipeline::LoadedTenant, csv: &[u8], chunk: usize) -> Vec<TranslateOutcome> {
    let mut session = loaded.plugins["csv-billing"].translate(&call(), "billing.csv").unwrap();
    let mut out = Vec::new();
    for piece in csv.chunks(chunk) {
        out.extend(session.feed(piece).unwrap());
    }
    out.extend(session.finish().unwrap().0);
    out
}

#[test]
fn csv_billing_gives_the_same_records_whatever_the_chunk_size() {
    let t = TestTenant::new(&[], "x");
    let loaded = t.load().unwrap();
    let sample =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/acme-energy/data/billing.csv")).unwrap();
    let whole = translate(&loaded, &sample, 1 << 20);
    assert_eq!(whole.len(), 4);
    for chunk in [1, 2, 3, 7, 64, 1000] {
        assert_eq!(translate(&loaded, &sample, chunk), whole, "chunk size {chunk}");
    }
    let TranslateOutcome::Record { cdm, location } = &whole[0] else { panic!("a record") };
    let record: serde_json::Value = serde_json::from_str(cdm).unwrap();
    assert_eq!(record["content"]["lines"].as_array().unwrap().len(), 5);
    assert_eq!(record["content"]["totals"], serde_json::json!({"net": "189.23", "vat": "39.74", "gross": "228.97"}));
    assert_eq!(record["content"]["lines"][0]["quantity"], "212.4", "decimal comma read");
    assert_eq!(location.as_ref().unwrap().line, Some(2));
}

#[test]
fn csv_billing_reads_bom_quotes_and_embedded_newlines() {
    let t = TestTenant::new(&[], "x");
    let loaded = t.load().unwrap();
    let csv = format!(
        "\u{feff}{}C-1,INV-1,\"Smith, Jr.\",\"Main St 1\nBuilding B\",1000 AA,Amsterdam,NL,2026-11-01,2026-11-15,\"Energy \"\"green\"\"\",2,1.50,21\n{}",
        HEADER,
        row(2, "two")
    );
    let out = translate(&loaded, csv.as_bytes(), 5);
    assert_eq!(out.len(), 2, "{out:?}");
    let TranslateOutcome::Record { cdm, .. } = &out[0] else { panic!("{:?}", out[0]) };
    let r: serde_json::Value = serde_json::from_str(cdm).unwrap();
    assert_eq!(r["personal"]["last_name"], "Smith, Jr.");
    assert_eq!(r["address"]["street"], "Main St 1\nBuilding B");
    assert_eq!(r["content"]["lines"][0]["description"], "Energy \"green\"");
    assert_eq!(r["reference"]["customer_ref"], "C-1", "the BOM is not part of the first column name");
    let TranslateOutcome::Record { location, .. } = &out[1] else { panic!() };
    assert_eq!(location.as_ref().unwrap().line, Some(4), "a quoted newline counts as a line");
}

#[test]
fn csv_billing_rejects_bad_rows_with_line_and_column_and_keeps_going() {
    let t = TestTenant::new(&[], "<p>{{ record.reference.document_id }}</p>");
    let mut csv = HEADER.as_bytes().to_vec();
    csv.extend(row(1, "ok").as_bytes()); // line 2: fine
    csv.extend(row(2, "ok").replace(",1,10.00,", ",abc,10.00,").as_bytes()); // line 3: bad quantity
    csv.extend(b"C-3,INV-3,only,four\n"); // line 4: wrong field count
    csv.extend(row(4, "caf\u{e9} cr\u{e8}me").as_bytes()); // line 5: fine, non-ASCII
    let mut bad_utf8 = row(5, "XX").into_bytes();
    let at = bad_utf8.windows(2).position(|w| w == b"XX").unwrap();
    bad_utf8[at] = 0xFF; // line 6: invalid UTF-8
    csv.extend(bad_utf8);
    csv.extend(row(6, "ok").as_bytes()); // line 7: fine
    csv.extend(row(1, "again").as_bytes()); // line 8: INV-1 again, not consecutive
    let (report, out) = t.run(&csv);
    assert_eq!((report.records_in, report.delivered, report.rejected), (7, 3, 4), "{report:#?}");
    for ok in ["INV-1", "INV-4", "INV-6"] {
        assert!(out.join(format!("00000/{ok}.html")).is_file(), "{ok} delivered");
    }
    let reasons: Vec<String> = report.rejections.iter().map(|r| r.reason.clone()).collect();
    assert!(
        reasons.iter().any(|r| r.contains("document INV-2: line 3, column line_quantity: `abc` is not a number")),
        "{reasons:#?}"
    );
    assert!(reasons.iter().any(|r| r.contains("line 4: row has 4 fields, the header has 13")), "{reasons:#?}");
    assert!(
        reasons.iter().any(|r| r.contains("line 6, column line_description: field is not valid UTF-8")),
        "{reasons:#?}"
    );
    // INV-1's rows are not consecutive: the second group is refused by the
    // host's once-per-source check, at the line where it starts.
    let again = report.rejections.iter().find(|r| r.reason.contains("appeared earlier in this source")).unwrap();
    assert_eq!((again.document_id.as_deref(), again.stage), (Some("INV-1"), tessera_pipeline::Stage::Validate));
    assert_eq!(again.source.as_ref().and_then(|s| s.line), Some(8));
    let lines: Vec<Option<u32>> = report.rejections.iter().map(|r| r.source.as_ref().and_then(|s| s.line)).collect();
    assert!(lines.iter().all(Option::is_some), "every rejection has a line: {lines:?}");
}

#[test]
fn print_asa_paginates_with_carriage_control_and_page_headers() {
    let t = TestTenant::new(&["print-asa"], "x");
    let loaded = t.load().unwrap();
    let mut text = String::new();
    for i in 1..=150 {
        text.push_str(&format!("Line {i} {}\n", "word ".repeat(i % 30)));
    }
    text.push_str("before the break\n\u{c}after the break\n");
    let doc = DocumentInput {
        channel: "print".into(),
        document_id: "INV-9".into(),
        text,
        metadata: vec![
            ("print.width".into(), "60".into()),
            ("print.page-lines".into(), "40".into()),
            ("label.name".into(), "ACME".into()),
        ],
        ..Default::default()
    };
    let (out, _) = loaded.plugins["print-asa"].format(&call(), doc).unwrap();
    assert_eq!(out.extension, "asa");
    let text = String::from_utf8(out.bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let pages: Vec<usize> = lines.iter().enumerate().filter(|(_, l)| l.starts_with('1')).map(|(i, _)| i).collect();
    let total = pages.len();
    assert!(total >= 6, "150+ lines at 38 per page");
    for (n, &at) in pages.iter().enumerate() {
        assert!(lines[at].ends_with(&format!("Page {} of {total}", n + 1)), "{}", lines[at]);
        assert!(lines[at].starts_with("1ACME · INV-9"), "{}", lines[at]);
    }
    for line in &lines {
        assert!(matches!(line.as_bytes()[0], b'1' | b' ' | b'0' | b'-'), "carriage control: {line:?}");
        assert!(line.chars().count() <= 61, "fits 60 columns: {line:?}");
    }
    // Physical lines per page stay within the page length.
    for w in pages.windows(2).chain(std::iter::once(&[pages[total - 1], lines.len()][..])) {
        let physical: usize = lines[w[0]..w[1]]
            .iter()
            .map(|l| match l.as_bytes()[0] {
                b'0' => 2,
                b'-' => 3,
                _ => 1,
            })
            .sum();
        assert!(physical <= 40, "page of {physical} lines");
    }
    let after = lines.iter().position(|l| l.ends_with("after the break")).unwrap();
    assert!(lines[after - 1].starts_with('1'), "a form feed starts a new page");
}

/// A record the translator accepted but the CDM schema refuses (a label id
/// with capitals and spaces) is rejected at validation with the JSON path,
/// the rule, the translator and the source line; the others are delivered.
#[test]
fn a_cdm_schema_violation_is_rejected_with_path_rule_and_source() {
    let t = TestTenant::new(&[], "<p>{{ record.reference.document_id }}</p>");
    let header = HEADER.replace('\n', ",label\n");
    let with_label = |n: u32, label: &str| row(n, "power").replace('\n', &format!(",{label}\n"));
    let csv = format!("{header}{}{}{}", with_label(1, "main"), with_label(2, "Big Brand!"), with_label(3, "main"));
    let (report, out) = t.run(csv);
    let r = only_inv2_rejected(&report, &out);
    assert_eq!(r.stage, tessera_pipeline::Stage::Validate);
    assert_eq!(r.field.as_deref(), Some("$.production.label"));
    assert_eq!(r.rule.as_deref(), Some("pattern"));
    assert_eq!(r.plugin.as_deref(), Some("csv-billing@0.2.0"));
    assert_eq!(r.record.as_deref(), Some("C-2"));
    assert_eq!(r.source.as_ref().and_then(|s| s.line), Some(3), "the source line the translator reported");
    assert!(!r.reason.contains("Big Brand!"), "the value is not repeated: {}", r.reason);
}
