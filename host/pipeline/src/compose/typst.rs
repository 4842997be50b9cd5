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
//! `asset(path=…)` returns a Typst `bytes(…)` expression ([`bytes_expression`],
//! through [`crate::compose::embed`]) holding the file from the document's
//! content snapshot (`#image(asset(path="images/logo.svg"))`
//! in a template becomes `#image(bytes("<svg…"))`): the print formatter
//! needs no access to the tenant's folders, and a content change mid-run can
//! never mix revisions inside one letter.

use std::fmt::Write as _;
use std::io::Write;
use tera::{Kwargs, State};

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
