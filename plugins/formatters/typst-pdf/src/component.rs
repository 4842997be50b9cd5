//! The WIT glue: tessera's formatter world around [`crate::typeset`].
//!
//! Document metadata it reads: `markup` (the Typst source the host composed
//! from the tenant's print template; required), `markup.language` (must be
//! `typst` when present), `pdf.standard` (`pdf-1.7`, the default, or
//! `pdf-a-2b`) and `pdf.tagged` (`true`, the default: an accessible, tagged
//! PDF; `false` for paper, which is faster). Files the markup refers to are read with `host.read-asset`,
//! so only folders the tenant granted are reachable.

use crate::{Setup, Standard, typeset};

wit_bindgen::generate!({
    world: "formatter",
    path: "../../../wit/v0.1",
});

use exports::tessera::plugin::format::{Document, Formatted, Guest};
use tessera::plugin::host;
use tessera::plugin::types::{ErrorCode, Location, PluginError};

struct TypstPdf;

fn error(code: ErrorCode, message: String, location: Option<Location>) -> PluginError {
    PluginError { code, message, location }
}

fn field(name: &str) -> Option<Location> {
    Some(Location { source: None, line: None, column: None, field: Some(name.into()) })
}

impl Guest for TypstPdf {
    fn format(doc: Document) -> Result<Formatted, PluginError> {
        let meta = |key: &str| doc.metadata.iter().find(|e| e.name == key).map(|e| e.value.as_str());
        if let Some(language) = meta("markup.language")
            && language != "typst"
        {
            return Err(error(
                ErrorCode::Unsupported,
                format!("markup in `{language}` cannot be typeset; this formatter reads Typst"),
                field("markup.language"),
            ));
        }
        let markup = meta("markup").ok_or_else(|| {
            error(
                ErrorCode::MissingData,
                format!(
                    "document {} has no Typst markup: give the channel a print template (`template = \"….typ\"`)",
                    doc.document_id
                ),
                field("markup"),
            )
        })?;
        let standard = match meta("pdf.standard").unwrap_or("pdf-1.7") {
            "pdf-1.7" => Standard::Pdf17,
            "pdf-a-2b" => Standard::PdfA2b,
            other => {
                return Err(error(
                    ErrorCode::Unsupported,
                    format!("pdf.standard `{other}` is not offered; use `pdf-1.7` or `pdf-a-2b`"),
                    field("pdf.standard"),
                ));
            }
        };
        let tagged = match meta("pdf.tagged").unwrap_or("true") {
            "true" => true,
            "false" => false,
            other => {
                return Err(error(
                    ErrorCode::InvalidInput,
                    format!("pdf.tagged `{other}` must be `true` or `false`"),
                    field("pdf.tagged"),
                ));
            }
        };
        let as_of = parse_date(&host::as_of())
            .ok_or_else(|| error(ErrorCode::Internal, "the host's as-of date is not YYYY-MM-DD".into(), None))?;
        let read = |path: &str| host::read_asset(path).map_err(|e| e.message);
        let setup = Setup { document_id: &doc.document_id, as_of, standard, tagged, read: &read };
        let bytes = typeset(markup, &setup).map_err(|e| {
            let location = Location {
                source: Some("markup".into()),
                line: e.at.map(|(line, _)| line),
                column: e.at.map(|(_, column)| column),
                field: None,
            };
            error(ErrorCode::InvalidInput, format!("Typst: {}", e.message), Some(location))
        })?;
        Ok(Formatted { bytes, media_type: "application/pdf".into(), extension: "pdf".into() })
    }
}

fn parse_date(text: &str) -> Option<(i32, u8, u8)> {
    let mut parts = text.splitn(3, '-');
    let year = parts.next()?.parse().ok()?;
    let month = parts.next()?.parse().ok()?;
    let day = parts.next()?.parse().ok()?;
    Some((year, month, day))
}

export!(TypstPdf);
