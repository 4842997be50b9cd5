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

    /// A whole number member (`42`).
    pub fn number(&mut self, key: &str, value: u64) {
        crate::decimal::write_digits(self.key(key), value.into());
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
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes at a time while none needs escaping (nearly every
        // field of an export): a byte-by-byte check was a tenth of the
        // translator's own time in the sandbox.
        if let Some(word) = bytes.get(i..i + 8)
            && !needs_escape(u64::from_le_bytes(word.try_into().expect("eight bytes")))
        {
            i += 8;
            continue;
        }
        let b = bytes[i];
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0C => "\\f",
            0x00..=0x1F => "",
            _ => {
                i += 1;
                continue;
            }
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
        i += 1;
        start = i;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Whether any of the eight bytes of `word` is a control character, `"`
/// or `\\` (exact: the classic zero-byte tests, no false answers).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS != 0;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS != 0;
    below_space || zero_byte(word ^ (ONES * u64::from(b'"'))) || zero_byte(word ^ (ONES * u64::from(b'\\')))
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
            "eight ok",
            "a much longer field of plain text with \"one quote\" after sixteen bytes",
            "0123456789abcdef\u{1f}",
            "tab\tat\tseven\\and\u{7f}\u{80}\u{ff} ü€ past the words",
        ] {
            let mut out = String::new();
            string(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn the_eight_byte_test_finds_every_byte_that_needs_escaping() {
        for b in 0..=255u8 {
            let wanted = b < 0x20 || b == b'"' || b == b'\\';
            for at in 0..8 {
                let mut word = *b"abcdefgh";
                word[at] = b;
                assert_eq!(needs_escape(u64::from_le_bytes(word)), wanted, "byte {b:#x} at {at}");
            }
        }
        // And words of any bytes at all, against the byte-by-byte answer.
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let wanted = seed.to_le_bytes().iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
            assert_eq!(needs_escape(seed), wanted, "{seed:#018x}");
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
