//! A small XML writer: elements open and close in order, text and attribute
//! values are escaped, empty optional values write nothing. Enough for
//! e-invoices, whose shape the formatter knows; no parser, no DOM.

/// XML being written, indented by two spaces per level.
pub struct Xml {
    out: String,
    open: Vec<&'static str>,
}

impl Xml {
    /// A document starting with the XML declaration.
    pub fn new() -> Xml {
        Xml { out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"), open: Vec::new() }
    }

    fn indent(&mut self) {
        for _ in 0..self.open.len() {
            self.out.push_str("  ");
        }
    }

    /// Opens `<tag a="v" ...>`.
    pub fn open(&mut self, tag: &'static str, attributes: &[(&str, &str)]) -> &mut Xml {
        self.indent();
        self.out.push('<');
        self.out.push_str(tag);
        self.attributes(attributes);
        self.out.push_str(">\n");
        self.open.push(tag);
        self
    }

    /// Closes the innermost open element.
    pub fn close(&mut self) -> &mut Xml {
        let tag = self.open.pop().expect("close matches an open");
        self.indent();
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push_str(">\n");
        self
    }

    /// `<tag>text</tag>`.
    pub fn leaf(&mut self, tag: &str, text: &str) -> &mut Xml {
        self.leaf_with(tag, &[], text)
    }

    /// `<tag>text</tag>` when there is a text.
    pub fn maybe(&mut self, tag: &str, text: Option<&str>) -> &mut Xml {
        if let Some(text) = text.filter(|t| !t.trim().is_empty()) {
            self.leaf(tag, text);
        }
        self
    }

    /// `<tag a="v">text</tag>`.
    pub fn leaf_with(&mut self, tag: &str, attributes: &[(&str, &str)], text: &str) -> &mut Xml {
        self.indent();
        self.out.push('<');
        self.out.push_str(tag);
        self.attributes(attributes);
        self.out.push('>');
        escape_into(&mut self.out, text, false);
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push_str(">\n");
        self
    }

    fn attributes(&mut self, attributes: &[(&str, &str)]) {
        for (name, value) in attributes {
            self.out.push(' ');
            self.out.push_str(name);
            self.out.push_str("=\"");
            escape_into(&mut self.out, value, true);
            self.out.push('"');
        }
    }

    /// The document; every element must be closed.
    pub fn finish(self) -> String {
        assert!(self.open.is_empty(), "unclosed elements: {:?}", self.open);
        self.out
    }
}

impl Default for Xml {
    fn default() -> Self {
        Xml::new()
    }
}

/// Escapes markup characters; control characters XML 1.0 cannot hold are
/// dropped (they cannot be written, and a source system's stray one must
/// not make the file unreadable).
fn escape_into(out: &mut String, text: &str, attribute: bool) {
    // Most values need nothing: copy them whole.
    let plain = |b: u8| !matches!(b, b'&' | b'<' | b'>' | b'"' | b'\n' | b'\r' | b'\t') && b >= 0x20 && b != 0xEF;
    if text.bytes().all(plain) {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_attributes_and_nests() {
        let mut x = Xml::new();
        x.open("a", &[("x", "1\"<2")]).leaf("b", "R&D <x>\u{1}").maybe("c", None).maybe("d", Some(" ")).close();
        assert_eq!(
            x.finish(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a x=\"1&quot;&lt;2\">\n  <b>R&amp;D &lt;x&gt;</b>\n</a>\n"
        );
    }
}
