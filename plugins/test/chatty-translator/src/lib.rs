//! A translator that writes five 1 KiB log lines on every `feed` and
//! `finish` call (over its 4 KiB per-call log cap) and emits no records: it
//! checks that log accounting is per call across a session's calls.

wit_bindgen::generate!({ world: "translator", path: "../../../wit/v0.1" });

use exports::tessera::plugin::translate::{Guest, GuestSession, Outcome};
use tessera::plugin::host;
use tessera::plugin::types::LogLevel;

struct Plugin;

impl Guest for Plugin {
    type Session = Session;
}

struct Session;

fn chatter() -> Vec<Outcome> {
    for i in 0..5 {
        host::log(LogLevel::Info, &format!("line {i} {}", "x".repeat(1024)));
    }
    Vec::new()
}

impl GuestSession for Session {
    fn new(_source_name: String) -> Self {
        Session
    }
    fn feed(&self, _chunk: Vec<u8>) -> Vec<Outcome> {
        chatter()
    }
    fn finish(&self) -> Vec<Outcome> {
        chatter()
    }
}

export!(Plugin);
