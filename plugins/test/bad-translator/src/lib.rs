//! A translator that emits, per source line: `good` a valid CDM letter,
//! `not-json` text that is not JSON, `not-cdm` JSON that is no CDM record,
//! and `bad-utf8` a string that is not UTF-8 — which the canonical ABI
//! refuses to lift, so the host sees a trap instead of a corrupted string.
#![allow(unsafe_code)] // only to forge the invalid UTF-8 the host must refuse

wit_bindgen::generate!({ world: "translator", path: "../../../wit/v0.1" });

use exports::tessera::plugin::translate::{Emitted, Guest, GuestSession, Outcome};
use std::cell::RefCell;
use tessera::plugin::types::Location;

struct Plugin;

impl Guest for Plugin {
    type Session = Session;
}

struct Session {
    pending: RefCell<(Vec<u8>, u32)>,
}

fn emit(line: &str, number: u32) -> Option<Outcome> {
    let cdm = match line.trim() {
        "" => return None,
        "good" => format!(
            r#"{{"cdm":"1.0","reference":{{"customer_ref":"C-{number}","document_id":"L-{number}","document_type":"letter"}},"personal":{{"last_name":"Good"}},"address":{{}},"production":{{}},"distribution":{{}},"content":{{}}}}"#
        ),
        "not-json" => format!("{{\"cdm\": \"1.0\", \"reference\": L-{number}"),
        "not-cdm" => format!(r#"{{"hello":"world","line":{number}}}"#),
        // SAFETY: deliberately not UTF-8; it never becomes a Rust `str` on
        // our side again, only bytes the host must refuse to lift.
        "bad-utf8" => unsafe { String::from_utf8_unchecked(vec![b'{', 0xff, 0xfe, b'}']) },
        other => format!("{{\"unknown line\": {:?}}}", other),
    };
    let location = Location { source: Some("source".into()), line: Some(number), column: Some(1), field: None };
    Some(Outcome::Translated(Emitted { cdm, location: Some(location) }))
}

impl GuestSession for Session {
    fn new(_source_name: String) -> Self {
        Session { pending: RefCell::new((Vec::new(), 0)) }
    }

    fn feed(&self, chunk: Vec<u8>) -> Vec<Outcome> {
        let mut state = self.pending.borrow_mut();
        state.0.extend_from_slice(&chunk);
        let mut out = Vec::new();
        while let Some(end) = state.0.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = state.0.drain(..=end).collect();
            state.1 += 1;
            out.extend(emit(&String::from_utf8_lossy(&line), state.1));
        }
        out
    }

    fn finish(&self) -> Vec<Outcome> {
        let mut state = self.pending.borrow_mut();
        let line = std::mem::take(&mut state.0);
        state.1 += 1;
        emit(&String::from_utf8_lossy(&line), state.1).into_iter().collect()
    }
}

export!(Plugin);
