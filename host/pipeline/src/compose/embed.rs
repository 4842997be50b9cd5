//! Content files and fragments' SVG put into print markup: `asset(path=…)`
//! and the SVG filter of print templates, each encoded for its markup
//! language (a Typst `bytes(…)` expression, a JSON string for layouts).
//! Embedding keeps a letter to one content snapshot: the formatter needs no
//! access to the tenant's folders, and a content change mid-run can never
//! mix revisions inside one letter.

use crate::compose::note_asset;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tera::{Kwargs, State, TeraResult};
use tessera_content::{ContentView, Resolution};

/// `{{ fragment(name="payment-qr", …) | svg_bytes }}` (Typst) or `| svg`
/// (layout): the first `<svg>` element of a fragment's HTML, encoded for the
/// markup — how a fragment drawn for the web (a QR code) goes to print.
pub struct SvgElement(pub fn(&[u8]) -> String);

impl tera::Filter<&str, TeraResult<String>> for SvgElement {
    fn call(&self, value: &str, _: Kwargs, _: &State) -> TeraResult<String> {
        let start = value.find("<svg").ok_or_else(|| tera::Error::message("the value has no <svg> element"))?;
        let end = value[start..]
            .find("</svg>")
            .map(|e| start + e + "</svg>".len())
            .ok_or_else(|| tera::Error::message("the <svg> element is not closed"))?;
        Ok((self.0)(&value.as_bytes()[start..end]))
    }

    fn is_safe(&self) -> bool {
        true
    }
}

/// `asset(path=…)` in print templates: the file, encoded for the markup.
pub struct AssetEmbed {
    view: Arc<ContentView>,
    encode: fn(&[u8]) -> String,
    cache: Mutex<HashMap<String, (Arc<str>, Resolution)>>,
}

impl AssetEmbed {
    /// For one content view, files encoded by `encode`.
    pub fn new(view: Arc<ContentView>, encode: fn(&[u8]) -> String) -> AssetEmbed {
        AssetEmbed { view, encode, cache: Mutex::new(HashMap::new()) }
    }
}

impl tera::Function<TeraResult<String>> for AssetEmbed {
    fn call(&self, kwargs: Kwargs, _: &State) -> TeraResult<String> {
        let path: &str = kwargs.must_get::<&str>("path")?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if !cache.contains_key(path) {
            let (bytes, resolution) =
                self.view.asset(path).map_err(|e| tera::Error::message(format!("asset(path=\"{path}\"): {e}")))?;
            cache.insert(path.to_owned(), (Arc::from((self.encode)(&bytes)), resolution));
        }
        let (expression, resolution) = cache.get(path).expect("inserted above");
        note_asset(resolution);
        Ok(expression.to_string())
    }

    fn is_safe(&self) -> bool {
        true
    }
}
