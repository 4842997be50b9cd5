//! Allocates (and touches) memory until it is stopped: the sandbox's memory
//! cap must stop it, and the host must say so.
wit_bindgen::generate!({ world: "fragment", path: "../../../wit/v0.1" });

use exports::tessera::plugin::render::{Guest, Rendered};
use tessera::plugin::types::{Entry, PluginError};

struct Plugin;

impl Guest for Plugin {
    fn render(_name: String, _params: Vec<Entry>, _context: String) -> Result<Rendered, PluginError> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(vec![0xA5; 1 << 20]);
            std::hint::black_box(&hoard);
        }
    }
}

export!(Plugin);
