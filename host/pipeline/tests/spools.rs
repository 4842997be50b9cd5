//! Print spools made by the real typst-pdf formatter in the sandbox: every
//! letter found on its own pages (poppler reads them back), blank backs
//! where a two-sided spool needs them, the file clean for qpdf (a PDF/A-2b
//! one still identified as such), control marks that read back, and a
//! letter that cannot be typeset or contradicts its record left out alone;
//! a spool too big for the formatter as a whole made in parts.

mod common;

use common::pdf::{
    assert_letters_on_their_own_pages, assert_marks_read_back, omr_columns, pdfinfo_pages, pdftotext_pages, qpdf_check,
};
use common::*;
use std::sync::Arc;
use tessera_pipeline::spool::marks::{ControlMarks, MarkKind, SheetMarks, read_omr};
use tessera_pipeline::spool::{
    SpoolLetter, SpoolOutcome, SpoolPlan, SpoolSettings, TypesetFailure, make_spool, make_spool_with, order_letters,
    plugin_typesetter,
};
use tessera_pipeline::verify::{Fact, Facts};
use tessera_pipeline::{Markup, Stage};
use tessera_runtime::{CallContext, Plugin};

fn call() -> CallContext {
    CallContext { as_of: Arc::from("2026-11-01"), as_of_unix: 1_793_491_200, seed: 7 }
}

fn typst_plugin() -> (TestTenant, Arc<Plugin>) {
    let mut t = TestTenant::new(&[], "x");
    t.stage("typst-pdf");
    t.grant("typst-pdf", "reuse = \"run\"");
    let loaded = t.load().unwrap_or_else(|e| panic!("tenant loads: {e}"));
    let plugin = Arc::clone(&loaded.plugins["typst-pdf"]);
    (t, plugin)
}

/// A letter of `pages` pages that shows its number on each and its page
/// counter in the footer; `key` is its postcode.
fn letter(seq: u64, key: &str, pages: usize, body: &str) -> SpoolLetter {
    let id = format!("INV-{seq}");
    let mut markup = format!(
        "#set page(paper: \"a5\", footer: context [{id} page #counter(page).display()])\n#set text(font: \"Libertinus Serif\")\n= Letter {id}\n{body}\n"
    );
    for page in 2..=pages {
        markup.push_str(&format!("#pagebreak()\nPage {page} of {id}.\n"));
    }
    SpoolLetter {
        seq,
        document_id: id.clone(),
        customer_ref: format!("C-{seq}"),
        sort_key: vec!["NL".into(), key.into()],
        markup,
        facts: Facts::number_only(&id, &[Fact::DocumentNumber]),
    }
}

fn spool(plugin: &Plugin, duplex: bool, letters: Vec<SpoolLetter>) -> SpoolOutcome {
    let settings = SpoolSettings { letters: 100, sort: Vec::new(), duplex, marks: None };
    spool_with(plugin, &settings, letters)
}

fn spool_with(plugin: &Plugin, settings: &SpoolSettings, letters: Vec<SpoolLetter>) -> SpoolOutcome {
    let plan = SpoolPlan { id: "print-00003", number: 3, settings, markup: Markup::Typst };
    make_spool(plugin, &call(), "print", &[("pdf.tagged".into(), "false".into())], plan, letters)
}

#[test]
fn a_two_sided_spool_starts_every_letter_on_a_front_and_says_where() {
    let (_t, plugin) = typst_plugin();
    // Sorted by postcode, ties in input order: 3, 1, 4, 2.
    let mut letters = vec![
        letter(1, "2000", 1, "One page."),
        letter(2, "3000", 3, "Three pages."),
        letter(3, "1000", 2, "Two pages."),
        letter(4, "2000", 1, "One page again."),
    ];
    order_letters(&mut letters);
    assert_eq!(letters.iter().map(|l| l.seq).collect::<Vec<_>>(), [3, 1, 4, 2]);
    let outcome = spool(&plugin, true, letters);
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
        // Each letter counts its own pages from 1.
        assert!(text.contains(&format!("{} page 1", placed.document_id)), "{text}");
    }
    assert!(pdftotext_pages(&spool.pdf, 9, 9).contains("Page 3 of INV-2"));
}

#[test]
fn every_sheet_carries_control_marks_that_read_back() {
    let (_t, plugin) = typst_plugin();
    let marks = ControlMarks { kind: MarkKind::Omr, x_mm: 4.0, y_mm: 30.0 };
    for duplex in [true, false] {
        let settings = SpoolSettings { letters: 100, sort: Vec::new(), duplex, marks: Some(marks.clone()) };
        let letters =
            vec![letter(1, "a", 3, "x"), letter(2, "b", 1, "y"), letter(3, "c", 4, "z"), letter(4, "d", 1, "w")];
        let spool = spool_with(&plugin, &settings, letters).spools.into_iter().next().expect("a spool");
        qpdf_check(&spool.pdf);
        let with_marks = assert_marks_read_back(&spool, &marks, duplex, 3);
        assert_eq!(with_marks, if duplex { 2 + 1 + 2 + 1 } else { 9 });
    }
}

#[test]
fn a_spool_too_big_as_a_whole_is_made_in_parts_and_no_letter_is_lost() {
    // The real formatter, behind a cap that refuses more than two letters
    // per call, as the memory cap refuses a spool of too many: every part
    // fits, the whole does not.
    let (_t, plugin) = typst_plugin();
    let marks = ControlMarks { kind: MarkKind::Omr, x_mm: 4.0, y_mm: 30.0 };
    let settings = SpoolSettings { letters: 100, sort: Vec::new(), duplex: false, marks: Some(marks.clone()) };
    let metadata = [("pdf.tagged".to_owned(), "false".to_owned())];
    let call = call();
    let formatter = plugin_typesetter(&plugin, &call, "print", &metadata, Markup::Typst);
    let ids = std::cell::RefCell::new(Vec::new());
    let typeset = |id: &str, markup: String, letters: usize| {
        ids.borrow_mut().push(id.to_owned());
        if letters > 2 {
            return Err(TypesetFailure {
                reason: format!("memory limit hit ({letters} letters)"),
                plugin: Some("typst-pdf@0.1.0".into()),
                limit: Some("memory".into()),
            });
        }
        formatter(id, markup, letters)
    };
    let letters: Vec<SpoolLetter> = (1..=5).map(|n| letter(n, &n.to_string(), 1, "x")).collect();
    let plan = SpoolPlan { id: "print-00003", number: 3, settings: &settings, markup: Markup::Typst };
    let outcome = make_spool_with(&typeset, "print", plan, letters);
    assert!(outcome.unspooled.is_empty(), "{:?}", outcome.unspooled);
    // Halved until each part fits: 2 | 3 → 2 | 1 + 2, in spool order.
    let parts: Vec<(&str, Vec<u64>)> =
        outcome.spools.iter().map(|s| (s.id.as_str(), s.letters.iter().map(|l| l.seq).collect())).collect();
    assert_eq!(parts, [("print-00003", vec![1, 2]), ("print-00003-2", vec![3]), ("print-00003-3", vec![4, 5])]);
    // The places in the control marks count on across the parts.
    let mut place = 0;
    for spool in &outcome.spools {
        qpdf_check(&spool.pdf);
        assert_eq!(pdfinfo_pages(&spool.pdf), spool.pages);
        for (page, column) in omr_columns(&spool.pdf, marks.x_mm, marks.y_mm).iter().enumerate() {
            let read = read_omr(column).unwrap_or_else(|e| panic!("{} page {}: {e}", spool.id, page + 1));
            assert_eq!(read, SheetMarks { sheet: 1, sheets: 1, place, spool: 3 }, "{} page {}", spool.id, page + 1);
            place += 1;
        }
    }
    assert_eq!(place, 5);
    // Over the memory cap a spool goes straight to parts, each part named
    // (and identified in its PDF) as itself.
    let calls = ["print-00003", "print-00003", "print-00003-2", "print-00003-2", "print-00003-3"];
    assert_eq!(*ids.borrow(), calls);
}

#[test]
fn a_letter_shows_its_own_page_total_in_a_spool() {
    let (_t, plugin) = typst_plugin();
    let total = "#let letter-pages() = { let at = state(\"tessera-letter\").get(); if at == none { counter(page).final().first() } else { counter(page).at(label(\"tessera-letter-end-\" + str(at))).first() } }\n";
    let mut letters = vec![letter(1, "a", 2, "x"), letter(2, "b", 1, "y"), letter(3, "c", 3, "z")];
    for l in &mut letters {
        l.markup =
            l.markup.replace("page #counter(page).display()", "page #counter(page).display() of #letter-pages()");
        l.markup.insert_str(0, total);
    }
    let spool = spool(&plugin, true, letters).spools.into_iter().next().expect("a spool");
    for (letter, pages) in spool.letters.iter().zip([2, 1, 3]) {
        let text = pdftotext_pages(&spool.pdf, letter.pages.first, letter.pages.last);
        for page in 1..=pages {
            assert!(text.contains(&format!("{} page {page} of {pages}", letter.document_id)), "{text}");
        }
    }
}

#[test]
fn an_archive_spool_keeps_its_pdf_a_identification() {
    let (_t, plugin) = typst_plugin();
    let settings = SpoolSettings { letters: 100, sort: Vec::new(), duplex: true, marks: None };
    let plan = SpoolPlan { id: "archive-00001", number: 1, settings: &settings, markup: Markup::Typst };
    let metadata = [("pdf.standard".to_owned(), "pdf-a-2b".to_owned())];
    let letters = vec![letter(1, "a", 1, "x"), letter(2, "b", 2, "y")];
    let outcome = make_spool(&plugin, &call(), "archive", &metadata, plan, letters);
    assert!(outcome.unspooled.is_empty(), "{:?}", outcome.unspooled.first().map(|u| &u.reason));
    let spool = outcome.spools.into_iter().next().expect("a spool");
    qpdf_check(&spool.pdf);
    let text = String::from_utf8_lossy(&spool.pdf);
    assert!(text.contains("pdfaid:part") && text.contains("pdfaid:conformance"), "PDF/A identification in the XMP");
    assert_eq!(spool.letters.iter().map(|l| (l.pages.first, l.pages.last)).collect::<Vec<_>>(), [(1, 1), (3, 4)]);
}

#[test]
fn a_one_sided_spool_has_no_blank_pages() {
    let (_t, plugin) = typst_plugin();
    let letters = vec![letter(1, "a", 1, "x"), letter(2, "b", 2, "y"), letter(3, "c", 1, "z")];
    let spool = spool(&plugin, false, letters).spools.into_iter().next().expect("a spool");
    let ranges: Vec<(u32, u32)> = spool.letters.iter().map(|l| (l.pages.first, l.pages.last)).collect();
    assert_eq!(ranges, [(1, 1), (2, 3), (4, 4)]);
    assert_eq!((spool.pages, spool.blank_pages, spool.sheets, pdfinfo_pages(&spool.pdf)), (4, 0, 4, 4));
}

#[test]
fn a_letter_that_breaks_or_contradicts_its_record_is_left_out_alone() {
    let (_t, plugin) = typst_plugin();
    let mut broken = letter(2, "b", 1, "#let x = (");
    broken.markup.push_str("#undefined-function()\n");
    let mut contradicting = letter(4, "d", 1, "fine");
    contradicting.markup = "#set page(paper: \"a5\")\nThis letter forgot its number.\n".into();
    let letters = vec![letter(1, "a", 1, "x"), broken, letter(3, "c", 2, "y"), contradicting, letter(5, "e", 1, "z")];
    let outcome = spool(&plugin, true, letters);
    let left: Vec<(u64, Stage)> = outcome.unspooled.iter().map(|u| (u.letter.seq, u.stage)).collect();
    assert_eq!(left, [(2, Stage::Format), (4, Stage::Verify)]);
    let broken = &outcome.unspooled[0];
    assert!(broken.plugin.as_deref().is_some_and(|p| p.starts_with("typst-pdf@")), "{:?}", broken.plugin);
    assert!(broken.reason.contains("Typst"), "{}", broken.reason);
    assert_eq!(outcome.unspooled[1].field.as_deref(), Some("$.reference.document_id"));
    let spool = outcome.spools.into_iter().next().expect("the others are spooled");
    assert_eq!(spool.letters.iter().map(|l| l.seq).collect::<Vec<_>>(), [1, 3, 5]);
    assert!(spool.typesets > 2, "found by typesetting parts: {}", spool.typesets);
    qpdf_check(&spool.pdf);
    for placed in &spool.letters {
        let text = pdftotext_pages(&spool.pdf, placed.pages.first, placed.pages.last);
        assert!(text.contains(&format!("Letter {}", placed.document_id)), "{text}");
    }
}

#[test]
fn asked_for_on_demand_a_spooled_letter_is_a_spool_of_one() {
    use tessera_pipeline::{LoadedTenant, RenderRequest, SourceRequest, render_record};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/acme-energy");
    let store = vec![std::path::PathBuf::from(tessera_plugin_artifacts::STORE)];
    let loaded = LoadedTenant::load(runtime(), &dir, &store).unwrap_or_else(|e| panic!("ACME loads: {e}"));
    let csv = std::fs::read(dir.join("data/billing.csv")).unwrap();
    let records = tessera_pipeline::translate_source(
        &loaded,
        SourceRequest { translator: "csv-billing", name: "billing.csv", bytes: &csv, channels: None, as_of: None },
    )
    .unwrap();
    let record = records.into_iter().find_map(Result::ok).expect("a good record");
    let cdm = serde_json::to_string(&record.value).unwrap();
    let channels = vec!["post".to_owned()];
    let rendered = render_record(&loaded, RenderRequest { cdm: &cdm, channels: Some(&channels), as_of: None })
        .unwrap_or_else(|e| panic!("renders: {e:?}"));
    let [output] = rendered.outputs.as_slice() else { panic!("one output: {:?}", rendered.outputs.len()) };
    assert_eq!(output.file, format!("{}.post.pdf", record.document_id));
    assert_eq!(output.line.spool.map(|s| (s.first_page, s.blank_after)), Some((1, 0)));
    qpdf_check(&output.bytes);
    assert!(pdftotext_pages(&output.bytes, 1, 1).contains(&record.document_id));
}
