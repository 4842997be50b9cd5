//! One host, three contract versions: plugins built for `tessera:plugin@0.1.0`
//! and `0.2.0` run unchanged next to plugins built for `0.3.0`, and what each
//! release added reaches the host (a formatter stating its page count in
//! 0.2.0, a translator cutting its source into shards in 0.3.0). Released
//! contracts are frozen: their WIT may never change.

mod common;

use common::*;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tessera_pipeline::{BatchJob, run_batch};
use tessera_runtime::{CallContext, DocumentInput};

fn call() -> CallContext {
    CallContext { as_of: Arc::from("2026-11-01"), as_of_unix: 1_793_491_200, seed: 1 }
}

#[test]
fn plugins_for_0_1_0_and_0_2_0_run_side_by_side() {
    let t = TestTenant::new(&["print-asa", "payment-qr", "typst-pdf"], "x");
    let loaded = t.load().unwrap();
    let asa = &loaded.plugins["print-asa"];
    assert_eq!(asa.world().to_string(), "formatter@0.2.0");
    assert_eq!(loaded.plugins["payment-qr"].world().to_string(), "fragment@0.1.0");
    assert_eq!(loaded.plugins["typst-pdf"].world().to_string(), "formatter@0.1.0");

    // 0.2.0: the formatter states its pages, and they match its page breaks.
    let text: String = (1..=120).map(|i| format!("line {i}\n")).collect();
    let doc = DocumentInput {
        channel: "lines".into(),
        document_id: "INV-1".into(),
        text,
        metadata: vec![("print.page-lines".into(), "40".into())],
        ..Default::default()
    };
    let (out, _) = asa.format(&call(), doc).unwrap();
    let breaks = out.bytes.split(|&b| b == b'\n').filter(|l| l.first() == Some(&b'1')).count() as u32;
    assert!(breaks >= 3);
    assert_eq!(out.pages, Some(breaks));

    // 0.1.0 through its own contract module: same calls, no page count stated.
    let letter = DocumentInput {
        channel: "print".into(),
        document_id: "L-1".into(),
        metadata: vec![("markup".into(), "= Hello\n\nA letter.".into()), ("markup.language".into(), "typst".into())],
        ..Default::default()
    };
    let (pdf, _) = loaded.plugins["typst-pdf"].format(&call(), letter).unwrap();
    assert!(pdf.bytes.starts_with(b"%PDF"));
    assert_eq!(pdf.pages, None, "a 0.1.0 formatter cannot state pages; the host counts them");
    let params = vec![("creditor".to_owned(), "ACME".to_owned()), ("iban".to_owned(), "NL91ABNA0417164300".to_owned())];
    let context = r#"{"cdm":"1.0","content":{"payment":{"amount":"10.00","currency":"EUR"}}}"#;
    let (qr, _) = loaded.plugins["payment-qr"].render(&call(), "payment-qr", &params, context).unwrap();
    assert!(qr.html.contains("<svg"));
}

#[test]
fn the_released_0_1_0_contract_is_frozen() {
    let wit = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../wit/v0.1/plugin.wit")).unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(&wit)),
        "6e4ff09a7b4d01d37f6a98c453b5f39e3baa006bb7af2e52494cc1394dd567f9",
        "tessera:plugin@0.1.0 is released: plugins in the field are built against it. Never change it; add a new version under wit/"
    );
}

#[test]
fn a_0_2_0_translator_runs_whole_beside_a_0_3_0_translator_that_shards() {
    let t = TestTenant::new(&["csv-billing", "test-lines-v02"], "<p>{{ record.reference.document_id }}</p>");
    let loaded = t.load().unwrap();
    let (old, new) = (&loaded.plugins["test-lines-v02"], &loaded.plugins["csv-billing"]);
    assert_eq!(old.world().to_string(), "translator@0.2.0");
    assert_eq!(new.world().to_string(), "translator@0.3.0");
    assert!(!old.can_split() && new.can_split());
    assert!(old.split(&call(), "x.txt", 1).is_err(), "a 0.2.0 translator has no splitter");

    let lines: String = std::iter::once("customer_ref;document_id;last_name;email\n".to_owned())
        .chain((1..=40).map(|n| format!("C-{n};L-{n};Tester;t{n}@example.org\n")))
        .collect();
    let invoices: String = std::iter::once(HEADER.to_owned()).chain((1..=40).map(|n| row(n, "power"))).collect();
    for (name, bytes, translator, sharded) in
        [("letters.txt", lines, "test-lines-v02", false), ("billing.csv", invoices, "csv-billing", true)]
    {
        let input = t.path().join(name);
        std::fs::write(&input, bytes).unwrap();
        let out = t.path().join(format!("out-{name}"));
        // 64 bytes a shard: a cut at every document of a translator that can cut.
        let job = BatchJob { translator: Some(translator), shard_bytes: Some(64), ..BatchJob::new(&input, &out) };
        let report = run_batch(&loaded, &job).unwrap();
        assert_eq!((report.records_in, report.delivered), (40, 40), "{name}: {report:#?}");
        assert_eq!(report.shards > 1, sharded, "{name}: {} shards", report.shards);
    }
}

#[test]
fn the_released_0_2_0_contract_is_frozen() {
    let wit = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../wit/v0.2/plugin.wit")).unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(&wit)),
        "61473e5bdcb404028ec1e27571eba71a954dc153ccdf8677210c3befc9b3cea3",
        "tessera:plugin@0.2.0 is released: plugins in the field are built against it. Never change it; add a new version under wit/"
    );
}
