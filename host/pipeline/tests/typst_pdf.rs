//! The typst-pdf formatter plugin in the real runtime: letters come out as
//! PDFs that poppler reads, a runaway template is stopped by the sandbox and
//! rejected with a reason, and instances are reused only when the plugin
//! declares it and the tenant grants it — with the same bytes either way.

mod common;

use common::*;
use std::sync::Arc;
use tessera_runtime::{CallContext, DocumentInput, FaultKind, Plugin};

fn call() -> CallContext {
    CallContext { as_of: Arc::from("2026-11-01"), as_of_unix: 1_793_491_200, seed: 7 }
}

fn letter(markup: &str) -> DocumentInput {
    DocumentInput {
        channel: "print".into(),
        document_id: "INV-1".into(),
        metadata: vec![("markup".into(), markup.into()), ("markup.language".into(), "typst".into())],
        ..Default::default()
    }
}

fn typst_plugin(grant: &str) -> (TestTenant, Arc<Plugin>) {
    typst_plugin_with_fuel(grant, None)
}

/// With `fuel`, the plugin asks for that budget instead of its own.
fn typst_plugin_with_fuel(grant: &str, fuel: Option<u64>) -> (TestTenant, Arc<Plugin>) {
    let mut t = TestTenant::new(&[], "x");
    t.stage("typst-pdf");
    if let Some(fuel) = fuel {
        t.edit_manifest("typst-pdf", |m| m.replace("fuel = 2_000_000_000", &format!("fuel = {fuel}")));
    }
    t.grant("typst-pdf", grant);
    let loaded = t.load().unwrap_or_else(|e| panic!("tenant loads: {e}"));
    let plugin = Arc::clone(&loaded.plugins["typst-pdf"]);
    (t, plugin)
}

fn pdf_text(pdf: &[u8]) -> String {
    common::pdf::pdftotext(pdf, common::pdf::Mode::Reading)
}

const LETTER: &str = "#set page(paper: \"a4\")\n= Invoice INV-1\nDear Zoë Ångström, you owe *EUR 12.10*.";

#[test]
fn a_letter_becomes_a_pdf_that_poppler_reads() {
    let (_t, plugin) = typst_plugin("reuse = \"run\"");
    let (out, usage) = plugin.format(&call(), letter(LETTER)).unwrap();
    assert_eq!((out.media_type.as_str(), out.extension.as_str()), ("application/pdf", "pdf"));
    assert!(out.bytes.starts_with(b"%PDF-"));
    let text = pdf_text(&out.bytes);
    assert!(text.contains("Zoë Ångström") && text.contains("EUR 12.10"), "{text}");
    assert!(usage.fuel > 0);
    assert_eq!(tessera_pipeline::pages("application/pdf", &out.bytes), Some(1));
}

#[test]
fn instances_are_reused_only_when_declared_and_granted_and_the_bytes_do_not_change() {
    let (_a, granted) = typst_plugin("reuse = \"run\"");
    let (_b, fresh) = typst_plugin("");
    assert!(granted.reuses_instances());
    assert!(!fresh.reuses_instances(), "the tenant did not grant reuse");
    let (first, first_use) = granted.format(&call(), letter(LETTER)).unwrap();
    let (second, second_use) = granted.format(&call(), letter(LETTER)).unwrap();
    let (other, _) = fresh.format(&call(), letter(LETTER)).unwrap();
    assert_eq!(first.bytes, second.bytes, "a warm instance writes the same PDF");
    assert_eq!(first.bytes, other.bytes, "a fresh instance writes the same PDF");
    assert!(
        second_use.fuel * 2 < first_use.fuel,
        "the warm instance skips parsing the fonts: {} then {} fuel",
        first_use.fuel,
        second_use.fuel
    );
}

#[test]
fn a_runaway_template_is_stopped_and_the_next_letter_still_prints() {
    // A budget a few times what a letter needs, so the loop ends soon.
    let (_t, plugin) = typst_plugin_with_fuel("reuse = \"run\"", Some(600_000_000));
    plugin.format(&call(), letter(LETTER)).unwrap();
    // Typst itself refuses `while true` and stops a while loop after 10,000
    // rounds; nested for loops have no such guard.
    let runaway = "#let n = 0\n#for i in range(100000) { for j in range(100000) { n += 1 } }\n#n";
    let fault = plugin.format(&call(), letter(runaway)).unwrap_err();
    let message = fault.to_string();
    assert!(
        matches!(*fault.kind, FaultKind::FuelExhausted { .. } | FaultKind::Deadline { .. }),
        "an endless loop is stopped by a limit: {message}"
    );
    assert!(message.contains("typst-pdf@0.1.0"), "the reason names the plugin and version: {message}");
    let fault = plugin.format(&call(), letter("#let s = \"x\" * 400000000\n#s")).unwrap_err();
    assert!(
        matches!(*fault.kind, FaultKind::MemoryCap { .. } | FaultKind::FuelExhausted { .. }),
        "a huge allocation is stopped by a limit: {fault}"
    );
    let (out, _) = plugin.format(&call(), letter(LETTER)).expect("the trapped instance was dropped, not reused");
    assert!(pdf_text(&out.bytes).contains("INV-1"));
}

#[test]
fn a_broken_template_is_a_reported_error_with_its_line_and_column() {
    let (_t, plugin) = typst_plugin("reuse = \"run\"");
    let fault = plugin.format(&call(), letter("= Title\n\n#unknown-function(1)")).unwrap_err();
    let message = fault.to_string();
    assert!(message.contains("Typst") && message.contains("unknown"), "{message}");
    assert!(message.contains("3:"), "the markup's line is named: {message}");
    let fault = plugin.format(&call(), DocumentInput { metadata: vec![], ..letter("") }).unwrap_err();
    assert!(fault.to_string().contains("no Typst markup"), "{fault}");
}

#[test]
fn pdf_a_2b_is_a_tenant_option() {
    let (_t, plugin) = typst_plugin("reuse = \"run\"");
    let mut doc = letter(LETTER);
    doc.metadata.push(("pdf.standard".into(), "pdf-a-2b".into()));
    let (out, _) = plugin.format(&call(), doc).unwrap();
    let text = String::from_utf8_lossy(&out.bytes);
    assert!(text.contains("pdfaid:part") && text.contains("pdfaid:conformance"), "PDF/A identification in the XMP");
    let mut doc = letter(LETTER);
    doc.metadata.push(("pdf.standard".into(), "pdf-x".into()));
    assert!(plugin.format(&call(), doc).unwrap_err().to_string().contains("pdf.standard"));
}

#[test]
fn untagged_pdfs_for_paper_are_a_tenant_option() {
    let (_t, plugin) = typst_plugin("reuse = \"run\"");
    let mut doc = letter(LETTER);
    doc.metadata.push(("pdf.tagged".into(), "false".into()));
    let (untagged, _) = plugin.format(&call(), doc).unwrap();
    let (tagged, _) = plugin.format(&call(), letter(LETTER)).unwrap();
    assert!(String::from_utf8_lossy(&tagged.bytes).contains("/StructTreeRoot"), "tagged by default");
    assert!(!String::from_utf8_lossy(&untagged.bytes).contains("/StructTreeRoot"));
    assert!(pdf_text(&untagged.bytes).contains("EUR 12.10"));
    let mut doc = letter(LETTER);
    doc.metadata.push(("pdf.tagged".into(), "maybe".into()));
    assert!(plugin.format(&call(), doc).unwrap_err().to_string().contains("pdf.tagged"));
}
