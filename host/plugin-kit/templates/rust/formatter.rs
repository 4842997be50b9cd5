//! `{{id}}`: a tessera formatter. It makes a plain-text letter: the
//! document id, the subject when there is one, then the text rendition
//! wrapped at `text.width` characters (metadata; 72 when not given).

wit_bindgen::generate!({ world: "formatter", path: "wit" });

use exports::tessera::plugin::format::{Document, Formatted, Guest};
use tessera::plugin::types::{ErrorCode, Location, PluginError};

/// Lines of text on one printed page.
const LINES_PER_PAGE: usize = 64;

struct Plugin;

impl Guest for Plugin {
    fn format(doc: Document) -> Result<Formatted, PluginError> {
        let width = match doc.metadata.iter().find(|e| e.name == "text.width") {
            None => 72,
            Some(e) => e.value.parse::<usize>().ok().filter(|w| (20..=200).contains(w)).ok_or_else(|| PluginError {
                code: ErrorCode::InvalidInput,
                message: format!("text.width `{}` is not a whole number from 20 to 200", e.value),
                location: Some(Location { source: None, line: None, column: None, field: Some("text.width".into()) }),
            })?,
        };
        let mut out = format!("{}\n", doc.document_id);
        if let Some(subject) = &doc.subject {
            out.push_str(&format!("Subject: {subject}\n"));
        }
        out.push('\n');
        for line in doc.text.lines() {
            for wrapped in wrap(line, width) {
                out.push_str(&wrapped);
                out.push('\n');
            }
        }
        // Since contract 0.2.0 a formatter may state its page count, which the
        // host meters usage and postage by: here, 64 lines to a page.
        let pages = u32::try_from(out.lines().count().div_ceil(LINES_PER_PAGE)).ok();
        Ok(Formatted {
            bytes: out.into_bytes(),
            media_type: "text/plain; charset=utf-8".into(),
            extension: "txt".into(),
            pages,
        })
    }
}

/// Greedy word wrap; a word longer than the width stays whole.
fn wrap(line: &str, width: usize) -> Vec<String> {
    if line.chars().count() <= width {
        return vec![line.to_owned()];
    }
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in line.split(' ') {
        if current.is_empty() {
            current = word.to_owned();
        } else if current.chars().count() + 1 + word.chars().count() <= width {
            current.push(' ');
            current.push_str(word);
        } else {
            lines.push(std::mem::replace(&mut current, word.to_owned()));
        }
    }
    lines.push(current);
    lines
}

export!(Plugin);
