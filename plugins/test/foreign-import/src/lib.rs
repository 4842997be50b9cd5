//! Imports `tessera:plugin/vault`, an interface no host offers (standing in
//! for any capability a partner might hope for: secrets, network, files).
//! Loading it must be refused, naming the plugin and the import, and
//! `plugin check` must list the import as refused.
wit_bindgen::generate!({ world: "fragment", path: "wit" });

use exports::tessera::plugin::render::{Guest, Rendered};
use tessera::plugin::types::{Entry, PluginError};

struct Plugin;
impl Guest for Plugin {
    fn render(_name: String, _params: Vec<Entry>, _context: String) -> Result<Rendered, PluginError> {
        let secret = tessera::plugin::vault::secret("api-key");
        Ok(Rendered { html: secret.clone(), text: secret })
    }
}

export!(Plugin);
