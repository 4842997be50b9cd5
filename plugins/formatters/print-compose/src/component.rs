//! The WIT glue: tessera's formatter world (0.3.0) around [`crate::compose`].
//!
//! Document metadata it reads: `markup` (the layout JSON the host composed
//! from the tenant's `.layout.json` template, or a spool of them; required)
//! and `markup.language` (must be `layout` when present).

use crate::compose;

wit_bindgen::generate!({
    world: "formatter",
    path: "../../../wit/v0.3",
});

use exports::tessera::plugin::format::{Document, Formatted, Guest};
use tessera::plugin::types::{ErrorCode, Location, PluginError};

struct PrintCompose;

fn field(name: &str) -> Option<Location> {
    Some(Location { source: None, line: None, column: None, field: Some(name.into()) })
}

impl Guest for PrintCompose {
    fn format(doc: Document) -> Result<Formatted, PluginError> {
        let meta = |key: &str| doc.metadata.iter().find(|e| e.name == key).map(|e| e.value.as_str());
        if let Some(language) = meta("markup.language")
            && language != "layout"
        {
            return Err(PluginError {
                code: ErrorCode::Unsupported,
                message: format!("markup in `{language}` cannot be composed; this formatter reads layout JSON"),
                location: field("markup.language"),
            });
        }
        let markup = meta("markup").ok_or_else(|| PluginError {
            code: ErrorCode::MissingData,
            message: format!(
                "document {} has no layout markup: give the channel `markup = \"layout\"` and a `.layout.json` template",
                doc.document_id
            ),
            location: field("markup"),
        })?;
        let composed = compose(markup).map_err(|e| PluginError {
            code: ErrorCode::InvalidInput,
            message: format!("layout: {}", e.message),
            location: Some(Location {
                source: Some("markup".into()),
                line: e.at.map(|(line, _)| line),
                column: e.at.map(|(_, column)| column),
                field: None,
            }),
        })?;
        Ok(Formatted {
            bytes: composed.pdf,
            media_type: "application/pdf".into(),
            extension: "pdf".into(),
            pages: Some(composed.pages),
        })
    }
}

export!(PrintCompose);
