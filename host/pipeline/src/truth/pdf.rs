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
