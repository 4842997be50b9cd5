//! Returns 8 MiB of HTML, far over its 64 KiB output cap.
wit_bindgen::generate!({ world: "fragment", path: "../../../wit/v0.1" });

use exports::tessera::plugin::render::{Guest, Rendered};
use tessera::plugin::types::{Entry, PluginError};

struct Plugin;

impl Guest for Plugin {
    fn render(_name: String, _params: Vec<Entry>, _context: String) -> Result<Rendered, PluginError> {
        Ok(Rendered { html: "x".repeat(8 << 20), text: String::new() })
    }
}

export!(Plugin);
