//! Spins forever: the sandbox's fuel budget or epoch deadline must stop it.
wit_bindgen::generate!({ world: "fragment", path: "../../../wit/v0.1" });

use exports::tessera::plugin::render::{Guest, Rendered};
use tessera::plugin::types::{Entry, PluginError};

struct Plugin;

impl Guest for Plugin {
    fn render(_name: String, _params: Vec<Entry>, _context: String) -> Result<Rendered, PluginError> {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

export!(Plugin);
