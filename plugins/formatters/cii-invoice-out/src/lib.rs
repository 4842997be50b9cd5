//! `cii-invoice-out`: a tessera formatter writing the CDM record of an
//! invoice or credit note as a UN/CEFACT Cross Industry Invoice (D16B),
//! EN 16931 profile — the XML inside a Factur-X / ZUGFeRD PDF.
//!
//! It reads the record from the `cdm` metadata entry (the channel sets
//! `cdm = true`), the seller from the record or the brand label (`seller.*`)
//! and the account from the host's settlement (`payee.*`); see the
//! `en16931` crate. A record that lacks a business term is refused naming
//! it (`BT-…`) and its CDM path, never written as an invalid invoice.

pub mod cii;

wit_bindgen::generate!({
    world: "formatter",
    path: "../../../wit/v0.3",
});

use exports::tessera::plugin::format::{Document, Formatted, Guest};
use tessera::plugin::types::{ErrorCode, Location, PluginError};

struct CiiInvoiceOut;

impl Guest for CiiInvoiceOut {
    fn format(doc: Document) -> Result<Formatted, PluginError> {
        let meta = |key: &str| doc.metadata.iter().find(|e| e.name == key).map(|e| e.value.clone());
        let xml = cii::write_from_metadata(&meta).map_err(|refusal| PluginError {
            code: match refusal {
                en16931::Refusal::Setup(_) => ErrorCode::InvalidInput,
                en16931::Refusal::Missing(_) => ErrorCode::MissingData,
            },
            message: refusal.to_string(),
            location: Some(Location { source: None, line: None, column: None, field: refusal.field() }),
        })?;
        Ok(Formatted {
            bytes: xml.into_bytes(),
            media_type: "application/xml".into(),
            extension: "xml".into(),
            pages: None,
        })
    }
}

export!(CiiInvoiceOut);
