//! Tera for print layouts: templates `templates/<name>.layout.json.tera`
//! render the layout JSON the print-compose formatter reads, so values are
//! escaped for the inside of a JSON string (`"{{ p.last_name }}"` stays a
//! string whatever the name holds), and `asset(path=…)` and `| svg` give
//! whole JSON strings holding the SVG.

use std::io::Write;

/// The autoescape function of layout templates: the inside of a JSON string.
pub fn escape_json(input: &str, out: &mut dyn Write) -> std::io::Result<()> {
    let mut start = 0;
    for (i, b) in input.bytes().enumerate() {
        let escaped: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            _ => None,
        };
        if escaped.is_none() && b >= 0x20 {
            continue;
        }
        out.write_all(&input.as_bytes()[start..i])?;
        match escaped {
            Some(e) => out.write_all(e)?,
            None => write!(out, "\\u{b:04x}")?,
        }
        start = i + 1;
    }
    out.write_all(&input.as_bytes()[start..])
}

/// A file or an SVG element as a JSON string literal, quotes included.
/// Only text (SVG) can be composed; a binary file becomes a string that
/// says so, which the formatter rejects as not an SVG.
pub fn json_string(bytes: &[u8]) -> String {
    let text = std::str::from_utf8(bytes).unwrap_or("binary image: print layouts take SVG images");
    let mut out = Vec::with_capacity(text.len() + 16);
    out.push(b'"');
    let _ = escape_json(text, &mut out);
    out.push(b'"');
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_stay_inside_their_json_string() {
        let mut out = Vec::new();
        escape_json("a \"quote\", a \\ and\na line\u{1}", &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, r#"a \"quote\", a \\ and\na line\u0001"#);
        let parsed: String = serde_json::from_str(&format!("\"{text}\"")).unwrap();
        assert_eq!(parsed, "a \"quote\", a \\ and\na line\u{1}");
        assert_eq!(json_string(b"<svg a=\"1\"/>"), r#""<svg a=\"1\"/>""#);
    }
}
