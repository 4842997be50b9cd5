//! Reads the asset named by its `path` parameter through the host and
//! returns its text, or passes the host's refusal on.
wit_bindgen::generate!({ world: "fragment", path: "../../../wit/v0.1" });

use exports::tessera::plugin::render::{Guest, Rendered};
use tessera::plugin::types::{Entry, PluginError};

struct Plugin;

impl Guest for Plugin {
    fn render(_name: String, params: Vec<Entry>, _context: String) -> Result<Rendered, PluginError> {
        let path = params.iter().find(|e| e.name == "path").map(|e| e.value.clone()).unwrap_or_default();
        // Also try the ambient filesystem: WASI has no preopens, so this must fail.
        let ambient = std::fs::read("/etc/passwd").is_ok() || std::fs::read(&path).is_ok();
        let bytes = tessera::plugin::host::read_asset(&path)?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Ok(Rendered { html: format!("{text}|ambient={ambient}"), text })
    }
}

export!(Plugin);
