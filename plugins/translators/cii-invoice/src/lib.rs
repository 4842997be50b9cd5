//! `cii-invoice`: a tessera translator for UN/CEFACT Cross Industry
//! Invoices (CII D16B, EN 16931) — the XML inside Factur-X and ZUGFeRD PDFs
//! and XRechnung's CII syntax — one invoice per file, see [`cii`].
//!
//! The document is collected as it is fed (up to [`MAX_BYTES`]) and parsed
//! at `finish`; an unusable document is one rejection naming the XPath (or
//! the line and column of malformed XML).

pub mod cii;

wit_bindgen::generate!({
    world: "translator",
    path: "../../../wit/v0.3",
});

use exports::tessera::plugin::translate::{Cut, Emitted, Guest, GuestSession, GuestSplitter, Outcome};
use tessera::plugin::types::{ErrorCode, Location, PluginError};

/// The largest document accepted.
pub const MAX_BYTES: usize = 32 * 1024 * 1024;

document_buffer::xml_translator!(CiiInvoice, max_bytes = MAX_BYTES, translate = cii::translate);
