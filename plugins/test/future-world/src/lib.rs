//! Built against `tessera:plugin@9.0.0`, a contract version no host knows
//! yet: loading it must be refused with both versions named.
wit_bindgen::generate!({ world: "fragment", path: "wit" });

use exports::tessera::plugin::render::{Guest, Rendered};
use tessera::plugin::types::{Entry, PluginError};

struct Plugin;
impl Guest for Plugin {
    fn render(_name: String, _params: Vec<Entry>, _context: String) -> Result<Rendered, PluginError> {
        Ok(Rendered { html: "from the future".into(), text: "from the future".into() })
    }
}

export!(Plugin);
