//! Panics when the record's document id contains `PANIC`; renders otherwise.
wit_bindgen::generate!({ world: "fragment", path: "../../../wit/v0.1" });

use exports::tessera::plugin::render::{Guest, Rendered};
use tessera::plugin::types::{Entry, PluginError};

struct Plugin;

impl Guest for Plugin {
    fn render(_name: String, _params: Vec<Entry>, context: String) -> Result<Rendered, PluginError> {
        if context.contains("PANIC") {
            panic!("test plugin panics as asked");
        }
        Ok(Rendered { html: "<b>calm</b>".into(), text: "calm".into() })
    }
}

export!(Plugin);
