//! `tmf678-bill`: a tessera translator for TM Forum TMF678 Customer Bill
//! Management JSON — a `CustomerBill`, a list of them, a
//! `CustomerBillCreateEvent` (or any event wrapping `event.customerBill`),
//! and lists of `AppliedCustomerBillingRate` (rated charges), see [`bill`].
//!
//! JSON is not a record stream: the document is collected as it is fed (up
//! to [`MAX_BYTES`]) and translated at `finish`. Each bill or statement is
//! one outcome; a bad element rejects only itself, named by its JSON pointer.

pub mod amount;
pub mod bill;

wit_bindgen::generate!({
    world: "translator",
    path: "../../../wit/v0.3",
});

use exports::tessera::plugin::translate::{Cut, Emitted, Guest, GuestSession, GuestSplitter, Outcome};
use tessera::plugin::types::{ErrorCode, Location, PluginError};

/// The largest document accepted (bills are kilobytes; a list of thousands
/// of bills is megabytes).
pub const MAX_BYTES: usize = 32 * 1024 * 1024;

document_buffer::whole_document_translator!(Tmf678Bill, max_bytes = MAX_BYTES, finish = finish_document);

/// The collected document, translated: each bill or statement an outcome.
fn finish_document(source: &str, bytes: Result<Vec<u8>, document_buffer::TooLarge>) -> Vec<Outcome> {
    let text = match bytes {
        Ok(text) => text,
        Err(too_large) => {
            return vec![reject(source, None, None, ErrorCode::Unsupported, too_large.to_string())];
        }
    };
    let doc: serde_json::Value = match serde_json::from_slice(&text) {
        Ok(doc) => doc,
        Err(e) => {
            let what = if e.is_eof() { "the JSON ends too early" } else { "not valid JSON" };
            return vec![reject(
                source,
                Some(e.line() as u32),
                Some(e.column() as u32),
                ErrorCode::InvalidInput,
                format!("{what}: {e}"),
            )];
        }
    };
    bill::translate(&doc, source)
        .into_iter()
        .map(|item| match item {
            bill::Item::Record { cdm, pointer } => Outcome::Translated(Emitted {
                cdm: cdm.to_string(),
                location: Some(location(source, None, None, &pointer)),
            }),
            bill::Item::Problem { pointer, message, missing } => Outcome::Rejected(PluginError {
                code: if missing { ErrorCode::MissingData } else { ErrorCode::InvalidInput },
                message: format!("{}: {message}", if pointer.is_empty() { "/" } else { &pointer }),
                location: Some(location(source, None, None, &pointer)),
            }),
        })
        .collect()
}

fn location(source: &str, line: Option<u32>, column: Option<u32>, pointer: &str) -> Location {
    Location {
        source: Some(source.to_owned()),
        line,
        column,
        field: Some(if pointer.is_empty() { "/".to_owned() } else { pointer.to_owned() }),
    }
}

fn reject(source: &str, line: Option<u32>, column: Option<u32>, code: ErrorCode, message: String) -> Outcome {
    Outcome::Rejected(PluginError {
        code,
        message,
        location: Some(Location { source: Some(source.to_owned()), line, column, field: None }),
    })
}
