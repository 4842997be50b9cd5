//! Writes CDM JSON text directly, without building a tree of values first:
//! a record is written once, in the order its keys sort (the order a
//! `serde_json` map would give), so the text is the same as before and the
//! translator does one allocation per document instead of one per value.

use crate::decimal::Decimal;

/// An object being written into `out`.
pub struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    /// Opens an object.
    pub fn open(out: &'a mut String) -> Obj<'a> {
        out.push('{');
        Obj { out, first: true }
    }

    /// Writes the key of the next member and returns the text to write its value to.
    pub fn key(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        string(self.out, key);
        self.out.push(':');
        self.out
    }

    /// A string member.
    pub fn str(&mut self, key: &str, value: &str) {
        string(self.key(key), value);
    }

    /// A string member, `null` when empty.
    pub fn opt(&mut self, key: &str, value: &str) {
        if value.is_empty() {
            self.key(key).push_str("null");
        } else {
            self.str(key, value);
        }
    }

    /// A money amount, as a string (`"1234.50"`).
    pub fn money(&mut self, key: &str, value: Decimal) {
        let out = self.key(key);
        out.push('"');
        value.write_money(out);
        out.push('"');
    }

    /// A decimal in its shortest exact form, as a string (`"0.2345"`).
    pub fn plain(&mut self, key: &str, value: Decimal) {
        let out = self.key(key);
        out.push('"');
        value.write_plain(out);
        out.push('"');
    }

    /// A member whose value is JSON text already.
    pub fn raw(&mut self, key: &str, json: &str) {
        self.key(key).push_str(json);
    }

    /// An object member, written by `f`.
    pub fn obj(&mut self, key: &str, f: impl FnOnce(&mut Obj<'_>)) {
        let mut inner = Obj::open(self.key(key));
        f(&mut inner);
        inner.close();
    }

    /// Closes the object.
    pub fn close(self) {
        self.out.push('}');
    }
}

/// Appends `s` as a JSON string, escaped as serde_json escapes it.
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0C => "\\f",
            0x00..=0x1F => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xF) as usize] as char);
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_as_serde_json_does() {
        for s in [
            "plain",
            "quote \" and \\ back",
            "nl\ncr\rtab\tbs\u{8}ff\u{c}",
            "ctl \u{1}\u{1f} del \u{7f}",
            "é 漢 🎉",
            "",
        ] {
            let mut out = String::new();
            string(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn objects_have_commas_between_members_only() {
        let mut out = String::new();
        let mut o = Obj::open(&mut out);
        o.str("a", "x");
        o.opt("b", "");
        o.obj("c", |c| c.raw("d", "true"));
        o.close();
        assert_eq!(out, r#"{"a":"x","b":null,"c":{"d":true}}"#);
    }
}
