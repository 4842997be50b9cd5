//! `{{id}}`: a tessera translator. It reads semicolon-separated lines
//! `customer_ref;document_id;last_name;email` (the first line is the header)
//! and makes one CDM letter record per line. A line it cannot use is
//! rejected with its line, column and field; the rest of the source goes on.
//! Every line is a document, so the host may cut the source at any line
//! start after the header and translate the parts on every core.

wit_bindgen::generate!({ world: "translator", path: "wit" });

use exports::tessera::plugin::translate::{Cut, Emitted, Guest, GuestSession, GuestSplitter, Outcome};
use std::cell::RefCell;
use tessera::plugin::types::{ErrorCode, Location, PluginError};

const FIELDS: [&str; 4] = ["customer_ref", "document_id", "last_name", "email"];

struct Plugin;

impl Guest for Plugin {
    type Session = Session;
    type Splitter = Splitter;
}

/// Finds where the source may be cut: at the start of any line after the
/// header, at least `min_gap` bytes after the previous cut. A session
/// starting there needs no state: it only has to know its line number.
struct Splitter {
    scan: RefCell<Scan>,
}

struct Scan {
    min_gap: u64,
    /// Offset of the chunk's first byte in the source.
    offset: u64,
    /// The line the next byte is on.
    line: u32,
    /// The next byte starts a line.
    line_start: bool,
    last_cut: u64,
}

impl GuestSplitter for Splitter {
    fn new(_source_name: String, min_gap: u64) -> Self {
        let scan = Scan { min_gap: min_gap.max(1), offset: 0, line: 1, line_start: false, last_cut: 0 };
        Splitter { scan: RefCell::new(scan) }
    }

    fn feed(&self, chunk: Vec<u8>) -> Vec<Cut> {
        let mut scan = self.scan.borrow_mut();
        let mut cuts = Vec::new();
        for (i, &byte) in chunk.iter().enumerate() {
            let at = scan.offset + i as u64;
            // A cut is made at a line's first byte, never after the last
            // byte of the source.
            if scan.line_start && scan.line > 1 && at >= scan.last_cut + scan.min_gap {
                scan.last_cut = at;
                cuts.push(Cut { offset: at, line: scan.line, state: Vec::new() });
            }
            scan.line_start = byte == b'\n';
            if byte == b'\n' {
                scan.line += 1;
            }
        }
        scan.offset += chunk.len() as u64;
        cuts
    }

    fn finish(&self) -> Vec<Cut> {
        Vec::new()
    }
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
    fn new(source_name: String, start: Option<Cut>) -> Self {
        // From a cut, the first line fed is the cut's line.
        let line = start.map_or(0, |cut| cut.line - 1);
        Session { source: source_name, state: RefCell::new(State { pending: Vec::new(), line }) }
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
