//! Recurses without end when the record mentions RECURSE (big frames: Rust's
//! shadow stack in linear memory overflows), or DEEP (frames with nothing in
//! memory: the engine's own wasm call stack overflows), executes a bare
//! `unreachable` when it mentions UNREACHABLE, and renders `<b>calm</b>`
//! otherwise.

// Endless recursion is what this plugin is for.
#![allow(unconditional_recursion)]

wit_bindgen::generate!({ world: "fragment", path: "../../../wit/v0.1" });

use exports::tessera::plugin::render::{Guest, Rendered};
use tessera::plugin::types::{Entry, PluginError};

struct Plugin;

/// Each frame keeps a buffer alive across the call, so the optimiser can
/// neither turn the recursion into a loop nor drop the frames.
#[inline(never)]
fn descend(depth: u64, salt: &[u8; 256]) -> u64 {
    let mut frame = *salt;
    frame[(depth % 256) as usize] = frame[(depth % 256) as usize].wrapping_add(1);
    let below = descend(depth + 1, &frame);
    below.wrapping_add(u64::from(frame[0]))
}

/// Nothing of this frame lives in linear memory: only the engine's stack grows.
#[inline(never)]
fn plunge(depth: u64) -> u64 {
    std::hint::black_box(plunge(std::hint::black_box(depth + 1))) + 1
}

impl Guest for Plugin {
    fn render(_name: String, _params: Vec<Entry>, context: String) -> Result<Rendered, PluginError> {
        if context.contains("RECURSE") {
            let depth = descend(0, &[context.len() as u8; 256]);
            return Ok(Rendered { html: depth.to_string(), text: String::new() });
        }
        if context.contains("DEEP") {
            return Ok(Rendered { html: plunge(0).to_string(), text: String::new() });
        }
        if context.contains("UNREACHABLE") {
            core::arch::wasm32::unreachable();
        }
        Ok(Rendered { html: "<b>calm</b>".into(), text: "calm".into() })
    }
}

export!(Plugin);
