//! Tera for Typst: print templates (`templates/<name>.typ.tera`) are Typst
//! markup, so values are escaped for Typst markup, not HTML, and assets are
//! embedded in the markup itself.
//!
//! Escaping puts a backslash before every character that means something
//! in Typst markup (`#` starts code, `*` and `_` emphasis, `$` maths, `@`
//! references, `<`/`>` labels, `/`, `=`, `-` and `+` structure at the start
//! of a line, `//` comments...), so a customer called `*Smith* #1` prints
//! exactly that. Values go into markup only; to put a value into a Typst
//! string literal, use `| typst_str`.
//!
//! `asset(path=…)` returns a Typst `bytes(…)` expression holding the file
//! from the document's content snapshot (`#image(asset(path="images/logo.svg"))`
//! in a template becomes `#image(bytes("<svg…"))`): the print formatter
//! needs no access to the tenant's folders, and a content change mid-run can
//! never mix revisions inside one letter.

use crate::compose::note_asset;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tera::{Kwargs, State, TeraResult};
use tessera_content::{ContentView, Resolution};

/// Characters that have a meaning somewhere in Typst markup.
const SPECIAL: &[u8] = b"\\#*_`$@<>[]~/=-+";

/// The autoescape function of Typst templates.
pub fn escape_markup(input: &str, out: &mut dyn Write) -> std::io::Result<()> {
    let mut start = 0;
    for (i, b) in input.bytes().enumerate() {
        if SPECIAL.contains(&b) {
            out.write_all(&input.as_bytes()[start..i])?;
            out.write_all(&[b'\\', b])?;
            start = i + 1;
        }
    }
    out.write_all(&input.as_bytes()[start..])
}

/// The contents of a Typst string literal for `text` (without the quotes).
pub fn string_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `{{ value | typst_str }}`: the value escaped for the inside of a Typst
/// string literal.
pub struct StringFilter;

impl tera::Filter<&str, String> for StringFilter {
    fn call(&self, value: &str, _: Kwargs, _: &State) -> String {
        string_literal(value)
    }

    fn is_safe(&self) -> bool {
        true
    }
}

/// `{{ fragment(name="payment-qr", …) | svg_bytes }}`: the first `<svg>`
/// element of a fragment's HTML as a `bytes(…)` expression, for
/// `#image(…)` — how a fragment drawn for the web (a QR code) goes to print.
pub struct SvgBytes;

impl tera::Filter<&str, TeraResult<String>> for SvgBytes {
    fn call(&self, value: &str, _: Kwargs, _: &State) -> TeraResult<String> {
        let start =
            value.find("<svg").ok_or_else(|| tera::Error::message("svg_bytes: the value has no <svg> element"))?;
        let end = value[start..]
            .find("</svg>")
            .map(|e| start + e + "</svg>".len())
            .ok_or_else(|| tera::Error::message("svg_bytes: the <svg> element is not closed"))?;
        Ok(bytes_expression(&value.as_bytes()[start..end]))
    }

    fn is_safe(&self) -> bool {
        true
    }
}

/// `asset(path=…)` in Typst templates: the file as a `bytes(…)` expression.
pub struct AssetBytes {
    view: Arc<ContentView>,
    cache: Mutex<HashMap<String, (Arc<str>, Resolution)>>,
}

impl AssetBytes {
    /// For one content view.
    pub fn new(view: Arc<ContentView>) -> AssetBytes {
        AssetBytes { view, cache: Mutex::new(HashMap::new()) }
    }
}

/// A Typst expression for `bytes`: a string for UTF-8 files (SVG), an array
/// of numbers otherwise.
pub fn bytes_expression(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => format!("bytes(\"{}\")", string_literal(text)),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len() * 4 + 10);
            out.push_str("bytes((");
            for b in bytes {
                let _ = write!(out, "{b},");
            }
            out.push_str("))");
            out
        }
    }
}

impl tera::Function<TeraResult<String>> for AssetBytes {
    fn call(&self, kwargs: Kwargs, _: &State) -> TeraResult<String> {
        let path: &str = kwargs.must_get::<&str>("path")?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if !cache.contains_key(path) {
            let (bytes, resolution) =
                self.view.asset(path).map_err(|e| tera::Error::message(format!("asset(path=\"{path}\"): {e}")))?;
            cache.insert(path.to_owned(), (Arc::from(bytes_expression(&bytes)), resolution));
        }
        let (expression, resolution) = cache.get(path).expect("inserted above");
        note_asset(resolution);
        Ok(expression.to_string())
    }

    fn is_safe(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escape(text: &str) -> String {
        let mut out = Vec::new();
        escape_markup(text, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn markup_characters_are_escaped_and_others_kept() {
        assert_eq!(escape("*Smith* #1 $5 @ref <x> a_b"), r"\*Smith\* \#1 \$5 \@ref \<x\> a\_b");
        assert_eq!(escape("- = + // [a] ~ `c` \\"), r"\- \= \+ \/\/ \[a\] \~ \`c\` \\");
        assert_eq!(escape("Zoë Ångström, Keizersgracht 12"), "Zoë Ångström, Keizersgracht 12");
    }

    #[test]
    fn string_literals_escape_quotes_backslashes_and_controls() {
        assert_eq!(string_literal("a\"b\\c\nd\u{1}"), r#"a\"b\\c\nd\u{1}"#);
    }

    #[test]
    fn binary_assets_become_byte_arrays() {
        assert_eq!(bytes_expression(&[0x89, 0x50, 0]), "bytes((137,80,0,))");
        assert_eq!(bytes_expression(b"<svg a=\"1\"/>"), r#"bytes("<svg a=\"1\"/>")"#);
    }
}
