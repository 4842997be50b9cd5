//! One host, two contract versions: plugins built for `tessera:plugin@0.1.0`
//! run unchanged next to plugins built for `0.2.0`, and what 0.2.0 added (a
//! formatter stating its page count) reaches the host. The released 0.1.0
//! contract is frozen: its WIT may never change.

mod common;

use common::*;
use sha2::{Digest, Sha256};
use std::sync::Arc;
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
