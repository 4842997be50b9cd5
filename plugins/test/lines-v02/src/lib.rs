//! `test-lines-v02`: a translator built for contract 0.2.0 (the plugin
//! kit's template of that release), kept to prove that a host runs every
//! older version: whole, unsharded, beside 0.3.0 translators. It reads
//! semicolon-separated lines `customer_ref;document_id;last_name;email`
//! (the first line is the header)
//! and makes one CDM letter record per line. A line it cannot use is
//! rejected with its line, column and field; the rest of the source goes on.

wit_bindgen::generate!({ world: "translator", path: "../../../wit/v0.2" });

use exports::tessera::plugin::translate::{Emitted, Guest, GuestSession, Outcome};
use std::cell::RefCell;
use tessera::plugin::types::{ErrorCode, Location, PluginError};

const FIELDS: [&str; 4] = ["customer_ref", "document_id", "last_name", "email"];

struct Plugin;

impl Guest for Plugin {
    type Session = Session;
}

/// One source: the bytes of the line not yet complete, and where we are.
struct Session {
    source: String,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    pending: Vec<u8>,
    line: u32,
}

impl GuestSession for Session {
    fn new(source_name: String) -> Self {
        Session { source: source_name, state: RefCell::new(State::default()) }
    }

    fn feed(&self, chunk: Vec<u8>) -> Vec<Outcome> {
        let mut state = self.state.borrow_mut();
        state.pending.extend_from_slice(&chunk);
        let mut out = Vec::new();
        // A chunk may end anywhere, even inside a character: only whole
        // lines are decoded.
        while let Some(end) = state.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = state.pending.drain(..=end).collect();
            state.line += 1;
            self.line(&line[..end], state.line, &mut out);
        }
        out
    }

    fn finish(&self) -> Vec<Outcome> {
        let mut state = self.state.borrow_mut();
        let mut out = Vec::new();
        if !state.pending.is_empty() {
            let line = std::mem::take(&mut state.pending);
            state.line += 1;
            self.line(&line, state.line, &mut out);
        }
        out
    }
}

impl Session {
    fn line(&self, bytes: &[u8], number: u32, out: &mut Vec<Outcome>) {
        let Ok(text) = std::str::from_utf8(bytes) else {
            out.push(self.reject(ErrorCode::InvalidInput, "the line is not UTF-8".into(), number, 1, None));
            return;
        };
        let text = text.strip_suffix('\r').unwrap_or(text);
        if number == 1 || text.trim().is_empty() {
            return; // the header, or a blank line
        }
        let values: Vec<&str> = text.split(';').collect();
        if values.len() != FIELDS.len() {
            let message = format!("expected 4 fields ({}), found {}", FIELDS.join(";"), values.len());
            out.push(self.reject(ErrorCode::InvalidInput, message, number, 1, None));
            return;
        }
        let mut column = 1;
        for (name, value) in FIELDS.iter().zip(&values).take(3) {
            if value.trim().is_empty() {
                out.push(self.reject(ErrorCode::MissingData, format!("{name} is empty"), number, column, Some(name)));
                return;
            }
            column += value.chars().count() as u32 + 1;
        }
        let email = values[3].trim();
        let record = serde_json::json!({
            "cdm": "1.0",
            "reference": {
                "customer_ref": values[0].trim(),
                "document_id": values[1].trim(),
                "document_type": "letter",
                "source": { "name": self.source, "line": number },
            },
            "personal": { "last_name": values[2].trim() },
            "address": {},
            "production": {},
            "distribution": { "email": if email.is_empty() { None } else { Some(email) } },
            "content": {},
        });
        let location = Location { source: Some(self.source.clone()), line: Some(number), column: Some(1), field: None };
        out.push(Outcome::Translated(Emitted { cdm: record.to_string(), location: Some(location) }));
    }

    fn reject(&self, code: ErrorCode, message: String, line: u32, column: u32, field: Option<&str>) -> Outcome {
        let location = Location {
            source: Some(self.source.clone()),
            line: Some(line),
            column: Some(column),
            field: field.map(str::to_owned),
        };
        Outcome::Rejected(PluginError { code, message, location: Some(location) })
    }
}

export!(Plugin);
