//! `ubl-invoice-out`: a tessera formatter writing the CDM record of an
//! invoice or credit note as a UBL 2.1 `Invoice` or `CreditNote`, with the
//! customisation the channel's `ubl.customization` metadata picks:
//! `en16931` (the default), `xrechnung` (XRechnung 3.0) or `peppol` (PEPPOL
//! BIS Billing 3.0) — the latter two also require the terms their rules
//! make mandatory (the buyer reference, the electronic addresses, ...).
//!
//! It reads the record from the `cdm` metadata entry (`cdm = true` on the
//! channel); see the `en16931` crate for where each term comes from. A record
//! that lacks a business term is refused naming it (`BT-…`) and its CDM
//! path, never written as an invalid invoice.

pub mod ubl;

wit_bindgen::generate!({
    world: "formatter",
    path: "../../../wit/v0.3",
});

use exports::tessera::plugin::format::{Document, Formatted, Guest};
use tessera::plugin::types::{ErrorCode, Location, PluginError};

struct UblInvoiceOut;

impl Guest for UblInvoiceOut {
    fn format(doc: Document) -> Result<Formatted, PluginError> {
        let meta = |key: &str| doc.metadata.iter().find(|e| e.name == key).map(|e| e.value.clone());
        let xml = ubl::write_from_metadata(&meta).map_err(|refusal| PluginError {
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

export!(UblInvoiceOut);
