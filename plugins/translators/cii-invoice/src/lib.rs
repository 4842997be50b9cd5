//! `cii-invoice`: a tessera translator for UN/CEFACT Cross Industry
//! Invoices (CII D16B, EN 16931) — the XML inside Factur-X and ZUGFeRD PDFs
//! and XRechnung's CII syntax — one invoice per file, see [`cii`].
//!
//! The document is collected as it is fed (up to [`MAX_BYTES`]) and parsed
//! at `finish`; an unusable document is one rejection naming the XPath (or
//! the line and column of malformed XML).

pub mod cii;

use document_buffer::DocumentBuffer;

wit_bindgen::generate!({
    world: "translator",
    path: "../../../wit/v0.3",
});

use exports::tessera::plugin::translate::{Cut, Emitted, Guest, GuestSession, GuestSplitter, Outcome};
use tessera::plugin::types::{ErrorCode, Location, PluginError};

/// The largest document accepted.
pub const MAX_BYTES: usize = 32 * 1024 * 1024;

struct CiiInvoice;

impl Guest for CiiInvoice {
    type Session = Session;
    type Splitter = Splitter;
}

/// A CII file is one invoice or credit note:
/// the source is never cut, so it is one shard (a delivery of many files
/// is sharded by file instead).
pub struct Splitter;

impl GuestSplitter for Splitter {
    fn new(_source_name: String, _min_gap: u64) -> Self {
        Splitter
    }

    fn feed(&self, _chunk: Vec<u8>) -> Vec<Cut> {
        Vec::new()
    }

    fn finish(&self) -> Vec<Cut> {
        Vec::new()
    }
}

/// One CII document being collected.
pub struct Session {
    source: String,
    buffer: DocumentBuffer,
}

impl GuestSession for Session {
    /// Always from the source's start: the splitter makes no cuts.
    fn new(source_name: String, _start: Option<Cut>) -> Self {
        Session { source: source_name, buffer: DocumentBuffer::new(MAX_BYTES) }
    }

    fn feed(&self, chunk: Vec<u8>) -> Vec<Outcome> {
        self.buffer.feed(&chunk);
        Vec::new()
    }

    fn finish(&self) -> Vec<Outcome> {
        let buffer = match self.buffer.take() {
            Ok(bytes) => bytes,
            Err(too_large) => {
                return vec![reject(&self.source, None, None, None, ErrorCode::Unsupported, too_large.to_string())];
            }
        };
        let text = match std::str::from_utf8(&buffer) {
            Ok(t) => t,
            Err(e) => {
                let before = &buffer[..e.valid_up_to()];
                let line = before.iter().filter(|b| **b == b'\n').count() as u32 + 1;
                let column = (before.len() - before.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1)) as u32 + 1;
                let message = "the document is not valid UTF-8".to_owned();
                return vec![reject(&self.source, Some(line), Some(column), None, ErrorCode::InvalidInput, message)];
            }
        };
        let doc = match roxmltree::Document::parse(text) {
            Ok(doc) => doc,
            Err(e) => {
                let pos = e.pos();
                let message = format!("not well-formed XML: {e}");
                return vec![reject(
                    &self.source,
                    Some(pos.row),
                    Some(pos.col),
                    None,
                    ErrorCode::InvalidInput,
                    message,
                )];
            }
        };
        match cii::translate(&doc, &self.source) {
            Ok(cdm) => vec![Outcome::Translated(Emitted {
                cdm: cdm.to_string(),
                location: Some(Location {
                    source: Some(self.source.clone()),
                    line: Some(1),
                    column: None,
                    field: None,
                }),
            })],
            Err(p) => {
                let code = if p.missing { ErrorCode::MissingData } else { ErrorCode::InvalidInput };
                let message = format!("{}: {}", p.path, p.message);
                vec![reject(&self.source, None, None, Some(p.path), code, message)]
            }
        }
    }
}

fn reject(
    source: &str,
    line: Option<u32>,
    column: Option<u32>,
    field: Option<String>,
    code: ErrorCode,
    message: String,
) -> Outcome {
    Outcome::Rejected(PluginError {
        code,
        message,
        location: Some(Location { source: Some(source.to_owned()), line, column, field }),
    })
}

export!(CiiInvoice);
