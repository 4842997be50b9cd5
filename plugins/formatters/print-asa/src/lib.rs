//! `print-asa`: a tessera formatter producing line data for high-volume
//! printers and print-to-AFP converters: fixed-width lines, each starting
//! with an ASA carriage-control character, a header line on every page
//! (`sender · document · page n of m`) and page breaks where the page is
//! full or where the text has a form feed.
//!
//! Document metadata it reads: `print.width` (columns, 40–255, default 80),
//! `print.page-lines` (lines per page including the header, 20–255,
//! default 64), `label.name` (for the page header).

mod layout;

wit_bindgen::generate!({
    world: "formatter",
    path: "../../../wit/v0.2",
});

use exports::tessera::plugin::format::{Document, Formatted, Guest};
use tessera::plugin::types::{ErrorCode, Location, PluginError};

struct PrintAsa;

/// Lines the page header takes: the header and one blank line.
const HEADER_LINES: usize = 2;

impl Guest for PrintAsa {
    fn format(doc: Document) -> Result<Formatted, PluginError> {
        let meta = |key: &str| doc.metadata.iter().find(|e| e.name == key).map(|e| e.value.as_str());
        let width = number(meta("print.width"), "print.width", 40..=255, 80)?;
        let page_lines = number(meta("print.page-lines"), "print.page-lines", 20..=255, 64)?;
        if doc.text.trim().is_empty() {
            return Err(PluginError {
                code: ErrorCode::MissingData,
                message: format!("document {} has no text rendition to print", doc.document_id),
                location: None,
            });
        }
        let sender = meta("label.name").unwrap_or("");
        let pages = layout::paginate(layout::fit(&doc.text, width), page_lines - HEADER_LINES);
        let total = pages.len();
        let mut out = String::with_capacity(doc.text.len() + total * (width + 4));
        for (n, page) in pages.iter().enumerate() {
            out.push('1');
            out.push_str(&page_header(sender, &doc.document_id, n + 1, total, width));
            out.push('\n');
            for (i, line) in page.iter().enumerate() {
                // The first body line also skips the blank line under the header.
                let blanks = if i == 0 { 1 } else { line.blanks_before };
                out.push(match blanks {
                    0 => ' ',
                    1 => '0',
                    _ => '-',
                });
                out.push_str(&line.text);
                out.push('\n');
            }
        }
        Ok(Formatted {
            bytes: out.into_bytes(),
            media_type: "text/plain; charset=utf-8; x-carriage-control=asa".into(),
            extension: "asa".into(),
            // Contract 0.2.0: the host meters pages by what the formatter says.
            pages: u32::try_from(total).ok(),
        })
    }
}

/// `Sender · INV-1  ...  Page 1 of 2`, fitted to the width.
fn page_header(sender: &str, document_id: &str, page: usize, total: usize, width: usize) -> String {
    let right = format!("Page {page} of {total}");
    let left = if sender.is_empty() { document_id.to_owned() } else { format!("{sender} · {document_id}") };
    let room = width.saturating_sub(right.chars().count() + 1);
    let left: String = left.chars().take(room).collect();
    let gap = width - left.chars().count() - right.chars().count();
    format!("{left}{}{right}", " ".repeat(gap))
}

fn number(
    value: Option<&str>,
    key: &str,
    range: std::ops::RangeInclusive<usize>,
    default: usize,
) -> Result<usize, PluginError> {
    let Some(text) = value else { return Ok(default) };
    text.trim().parse().ok().filter(|v| range.contains(v)).ok_or_else(|| PluginError {
        code: ErrorCode::InvalidInput,
        message: format!("{key} `{text}` is not a whole number from {} to {}", range.start(), range.end()),
        location: Some(Location { source: None, line: None, column: None, field: Some(key.to_owned()) }),
    })
}

export!(PrintAsa);
