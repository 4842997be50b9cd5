//! Reports what the sandbox lets a plugin see — environment variables,
//! arguments, the wall clock, randomness, the filesystem — and, with the
//! `log_lines` parameter, writes that many 1 KiB log lines. `random` is what
//! std's hash maps are keyed with (drawn once per instance), `draw` a fresh
//! draw from WASI's random stream.

wit_bindgen::generate!({ world: "fragment", path: "../../../wit/v0.1" });

use exports::tessera::plugin::render::{Guest, Rendered};
use tessera::plugin::host;
use tessera::plugin::types::{Entry, LogLevel, PluginError};

struct Plugin;

impl Guest for Plugin {
    fn render(_name: String, params: Vec<Entry>, _context: String) -> Result<Rendered, PluginError> {
        let log_lines: usize =
            params.iter().find(|e| e.name == "log_lines").and_then(|e| e.value.parse().ok()).unwrap_or(0);
        for i in 0..log_lines {
            host::log(LogLevel::Info, &format!("line {i} {}", "x".repeat(1024)));
        }
        let env = std::env::vars().count();
        let args = std::env::args().count();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let mut random = [0u8; 8];
        let random_ok = getrandom_via_hashmap(&mut random);
        let root_listing = std::fs::read_dir("/").is_ok() || std::fs::read_dir(".").is_ok();
        let draw = getrandom::u64().unwrap_or(0);
        let text = format!(
            "env={env} args={args} now={now} as_of={} random={} draw={draw:016x} random_ok={random_ok} fs={root_listing}",
            host::as_of(),
            random.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        Ok(Rendered { html: text.clone(), text })
    }
}

/// Randomness as std sees it: HashMap's RandomState is seeded from WASI random.
fn getrandom_via_hashmap(out: &mut [u8; 8]) -> bool {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    *out = h.finish().to_le_bytes();
    true
}

export!(Plugin);
