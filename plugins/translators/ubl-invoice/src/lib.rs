//! `ubl-invoice`: a tessera translator for UBL 2.1 / EN 16931 e-invoices —
//! `Invoice` and `CreditNote` documents, one per file, see [`ubl`].
//!
//! The document is collected as it is fed (up to [`MAX_BYTES`]) and parsed
//! at `finish`; an unusable document is one rejection naming the XPath (or
//! the line and column of malformed XML).

pub mod ubl;

wit_bindgen::generate!({
    world: "translator",
    path: "../../../wit/v0.3",
});

use exports::tessera::plugin::translate::{Cut, Emitted, Guest, GuestSession, GuestSplitter, Outcome};
use tessera::plugin::types::{ErrorCode, Location, PluginError};

/// The largest document accepted.
pub const MAX_BYTES: usize = 32 * 1024 * 1024;

document_buffer::xml_translator!(UblInvoice, max_bytes = MAX_BYTES, translate = ubl::translate);
