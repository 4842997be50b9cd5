//! The text of a PDF a formatter made, for the self-check: every page's
//! text in content-stream order, characters mapped to Unicode through each
//! font's ToUnicode map (how Typst's embedded, subset fonts say what their
//! glyphs mean). Layout is not reconstructed — the self-check compares
//! without white space.

/// The PDF's text, all pages.
pub fn text(bytes: &[u8]) -> Result<String, String> {
    let doc = lopdf::Document::load_mem(bytes).map_err(|e| format!("not a readable PDF: {e}"))?;
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    if pages.is_empty() {
        return Err("the PDF has no pages".into());
    }
    doc.extract_text(&pages).map_err(|e| format!("its text cannot be extracted: {e}"))
}

#[cfg(test)]
mod timing {
    /// `TESSERA_PDF=letter.pdf cargo test --release -p tessera-pipeline --lib pdf_text_timing -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn pdf_text_timing() {
        let pdf = std::fs::read(std::env::var("TESSERA_PDF").unwrap()).unwrap();
        let started = std::time::Instant::now();
        let mut n = 0;
        for _ in 0..200 {
            n += super::text(&pdf).unwrap().len();
        }
        eprintln!("{} bytes: {:.0} µs per PDF ({n})", pdf.len(), started.elapsed().as_secs_f64() * 1e6 / 200.0);
    }
}
