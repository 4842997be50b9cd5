//! Print spools made by the real print-compose formatter in the sandbox,
//! from layout markup: every letter found on its own pages (poppler reads
//! them back) with its own page total, blank backs where a two-sided spool
//! needs them, the file clean for qpdf, control marks that read back on
//! every sheet, and a letter that is broken, contradicts its record or hits
//! a limit left out alone.

mod common;

use common::pdf::{
    assert_letters_on_their_own_pages, assert_marks_read_back, pdfinfo_pages, pdftotext_pages, qpdf_check,
};
use common::*;
use std::sync::Arc;
use tessera_pipeline::spool::marks::{ControlMarks, MarkKind};
use tessera_pipeline::spool::{SpoolLetter, SpoolOutcome, SpoolPlan, SpoolSettings, make_spool, order_letters};
use tessera_pipeline::verify::{Fact, Facts};
use tessera_pipeline::{Markup, Stage};
use tessera_runtime::{CallContext, Plugin};

fn call() -> CallContext {
    CallContext { as_of: Arc::from("2026-11-01"), as_of_unix: 1_793_491_200, seed: 7 }
}

/// The formatter, with `fuel` per letter instead of its manifest's when given.
fn composer(fuel: Option<u64>) -> (TestTenant, Arc<Plugin>) {
    let mut t = TestTenant::new(&[], "x");
    t.stage("print-compose");
    if let Some(fuel) = fuel {
        t.edit_manifest("print-compose", |m| m.replace("fuel = 400_000_000", &format!("fuel = {fuel}")));
    }
    t.grant("print-compose", "reuse = \"run\"");
    let loaded = t.load().unwrap_or_else(|e| panic!("tenant loads: {e}"));
    let plugin = Arc::clone(&loaded.plugins["print-compose"]);
    (t, plugin)
}

/// An A5 letter of `pages` pages whose footer counts its own pages; `key`
/// is its postcode.
fn letter(seq: u64, key: &str, pages: usize, body: &str) -> SpoolLetter {
    let id = format!("INV-{seq}");
    let mut blocks = vec![format!(r#"{{"text": "Letter {id}", "size": 14, "bold": true}}"#), body.to_owned()];
    for page in 2..=pages {
        blocks.push(r#"{"break": "page"}"#.into());
        blocks.push(format!(r#"{{"text": "Page {page} of {id}."}}"#));
    }
    let markup = format!(
        r#"{{"page": {{"size": "a5"}}, "footer": [{{"text": ["{id} page ", {{"field": "page"}}, " of ", {{"field": "pages"}}]}}], "body": [{},]}}"#,
        blocks.join(",\n")
    );
    SpoolLetter {
        seq,
        document_id: id.clone(),
        customer_ref: format!("C-{seq}"),
        sort_key: vec!["NL".into(), key.into()],
        markup,
        facts: Facts::number_only(&id, &[Fact::DocumentNumber]),
    }
}

fn text(words: &str) -> String {
    format!(r#"{{"text": "{words}"}}"#)
}

fn spool_with(plugin: &Plugin, settings: &SpoolSettings, letters: Vec<SpoolLetter>) -> SpoolOutcome {
    let plan = SpoolPlan { id: "post-00003", number: 3, settings, markup: Markup::Layout };
    make_spool(plugin, &call(), "post", &[], plan, letters)
}

fn settings(duplex: bool, marks: Option<ControlMarks>) -> SpoolSettings {
    SpoolSettings { letters: 100, sort: Vec::new(), duplex, marks }
}

#[test]
fn a_two_sided_spool_starts_every_letter_on_a_front_and_each_counts_its_own_pages() {
    let (_t, plugin) = composer(None);
    let mut letters = vec![
        letter(1, "2000", 1, &text("One page.")),
        letter(2, "3000", 3, &text("Three pages.")),
        letter(3, "1000", 2, &text("Two pages.")),
        letter(4, "2000", 1, &text("One page again.")),
    ];
    order_letters(&mut letters);
    let outcome = spool_with(&plugin, &settings(true, None), letters);
    assert!(outcome.unspooled.is_empty(), "{:?}", outcome.unspooled.first().map(|u| &u.reason));
    let spool = outcome.spools.into_iter().next().expect("a spool");
    qpdf_check(&spool.pdf);
    // INV-3: pages 1–2; INV-1: 3 (+ blank 4); INV-4: 5 (+ blank 6); INV-2: 7–9.
    let ranges: Vec<(u64, u32, u32, u32)> =
        spool.letters.iter().map(|l| (l.seq, l.pages.first, l.pages.last, l.pages.blank_after)).collect();
    assert_eq!(ranges, [(3, 1, 2, 0), (1, 3, 3, 1), (4, 5, 5, 1), (2, 7, 9, 0)]);
    assert_eq!((spool.pages, spool.blank_pages, spool.sheets), (9, 2, 5));
    assert_eq!(pdfinfo_pages(&spool.pdf), 9);
    let texts = assert_letters_on_their_own_pages(&spool);
    for (placed, text) in spool.letters.iter().zip(&texts) {
        let pages = placed.pages.pages();
        for page in 1..=pages {
            assert!(text.contains(&format!("{} page {page} of {pages}", placed.document_id)), "{text}");
        }
    }
    assert!(pdftotext_pages(&spool.pdf, 9, 9).contains("Page 3 of INV-2"));
}

#[test]
fn every_sheet_carries_control_marks_that_read_back() {
    let (_t, plugin) = composer(None);
    let marks = ControlMarks { kind: MarkKind::Omr, x_mm: 4.0, y_mm: 30.0 };
    for duplex in [true, false] {
        let letters = vec![
            letter(1, "a", 3, &text("x")),
            letter(2, "b", 1, &text("y")),
            letter(3, "c", 4, &text("z")),
            letter(4, "d", 1, &text("w")),
        ];
        let outcome = spool_with(&plugin, &settings(duplex, Some(marks.clone())), letters);
        let spool = outcome.spools.into_iter().next().expect("a spool");
        qpdf_check(&spool.pdf);
        let with_marks = assert_marks_read_back(&spool, &marks, duplex, 3);
        assert_eq!(with_marks, if duplex { 2 + 1 + 2 + 1 } else { 9 });
    }
}

#[test]
fn a_letter_that_breaks_contradicts_its_record_or_hits_a_limit_is_left_out_alone() {
    // Fuel for a few ordinary letters per letter; the long one needs far more.
    let (_t, plugin) = composer(Some(40_000_000));
    let broken = letter(2, "b", 1, r#"{"txet": "a typo"}"#);
    let mut contradicting = letter(4, "d", 1, &text("fine"));
    contradicting.markup = r#"{"body": [{"text": "This letter forgot its number."}]}"#.into();
    let rows: Vec<String> = (0..6000).map(|i| format!(r#"["Line {i} of a very long bill", "1", "{i}.00"]"#)).collect();
    let long = format!(r#"{{"table": {{"columns": ["1fr", "auto", "auto"], "rows": [{}]}}}}"#, rows.join(","));
    let too_long = letter(6, "f", 1, &long);
    let letters = vec![
        letter(1, "a", 1, &text("x")),
        broken,
        letter(3, "c", 2, &text("y")),
        contradicting,
        letter(5, "e", 1, &text("z")),
        too_long,
        letter(7, "g", 1, &text("last")),
    ];
    let outcome = spool_with(&plugin, &settings(true, None), letters);
    let left: Vec<(u64, Stage)> = outcome.unspooled.iter().map(|u| (u.letter.seq, u.stage)).collect();
    assert_eq!(left, [(2, Stage::Format), (4, Stage::Verify), (6, Stage::Format)]);
    let broken = &outcome.unspooled[0];
    assert!(broken.plugin.as_deref().is_some_and(|p| p.starts_with("print-compose@")), "{:?}", broken.plugin);
    assert!(broken.reason.contains("layout") && broken.reason.contains("txet"), "{}", broken.reason);
    assert_eq!(outcome.unspooled[1].field.as_deref(), Some("$.reference.document_id"));
    let limited = &outcome.unspooled[2];
    assert_eq!(limited.limit.as_deref(), Some("fuel"), "{}", limited.reason);
    let spool = outcome.spools.into_iter().next().expect("the others are spooled");
    assert_eq!(spool.letters.iter().map(|l| l.seq).collect::<Vec<_>>(), [1, 3, 5, 7]);
    qpdf_check(&spool.pdf);
    for placed in &spool.letters {
        let text = pdftotext_pages(&spool.pdf, placed.pages.first, placed.pages.last);
        assert!(text.contains(&format!("Letter {}", placed.document_id)), "{text}");
    }
}
