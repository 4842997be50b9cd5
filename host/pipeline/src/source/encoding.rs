//! Sources in the encodings back offices write: `utf-8` (the default),
//! `windows-1252` and `iso-8859-15` (`[job] encoding`, `--encoding`).
//!
//! A source in a single-byte encoding is transcoded to UTF-8 into a hidden
//! file of the output folder before the translator sees it: translators
//! (and their splitters) read UTF-8 only, and every byte of these encodings
//! is one character, so line numbers are unchanged. A byte that is no text
//! in the declared encoding — the C1 control range, which is where a
//! UTF-8 file mistakenly declared `windows-1252` or a binary file shows
//! itself — becomes the byte `0xFF`, which is never UTF-8, so the
//! translator rejects that row as it rejects any bad byte; the rejection's
//! reason is then rewritten here to name the original byte, its line and
//! its column ([`WrongBytes::explain`]).

use serde::Deserialize;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use tessera_runtime::SourceLocation;

/// A source's character encoding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum SourceEncoding {
    /// UTF-8, with or without a byte-order mark.
    #[default]
    #[serde(rename = "utf-8")]
    Utf8,
    /// Windows Western European (the Excel and Windows back-office default).
    #[serde(rename = "windows-1252")]
    Windows1252,
    /// Latin-9: Latin-1 with the euro sign.
    #[serde(rename = "iso-8859-15")]
    Iso8859_15,
}

impl SourceEncoding {
    /// Its name, as written in `tenant.toml`.
    pub fn name(self) -> &'static str {
        match self {
            SourceEncoding::Utf8 => "utf-8",
            SourceEncoding::Windows1252 => "windows-1252",
            SourceEncoding::Iso8859_15 => "iso-8859-15",
        }
    }

    /// Parses a name (`--encoding`).
    pub fn parse(name: &str) -> Option<SourceEncoding> {
        [SourceEncoding::Utf8, SourceEncoding::Windows1252, SourceEncoding::Iso8859_15]
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(name))
    }

    fn table(self) -> Option<&'static encoding_rs::Encoding> {
        match self {
            SourceEncoding::Utf8 => None,
            SourceEncoding::Windows1252 => Some(encoding_rs::WINDOWS_1252),
            SourceEncoding::Iso8859_15 => Some(encoding_rs::ISO_8859_15),
        }
    }
}

/// A byte that is no character of the source's encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongByte {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (bytes are characters in these encodings).
    pub column: u32,
    /// The byte.
    pub byte: u8,
}

/// The wrong bytes of a transcoded source, by line.
#[derive(Debug, Clone, Default)]
pub struct WrongBytes {
    /// The declared encoding.
    pub encoding: SourceEncoding,
    /// In source order.
    pub at: Vec<WrongByte>,
}

impl WrongBytes {
    /// Rewrites a translator's rejection of a row that holds a wrong byte
    /// (it saw `0xFF`) to name the original byte and its column.
    pub fn explain(&self, message: &mut String, location: &mut Option<SourceLocation>) {
        let Some(line) = location.as_ref().and_then(|l| l.line) else { return };
        let first = self.at.partition_point(|w| w.line < line);
        let Some(wrong) = self.at.get(first).filter(|w| w.line == line) else { return };
        *message = format!(
            "byte 0x{:02X} at line {}, column {} is not a {} character (is the file in another encoding?)",
            wrong.byte,
            wrong.line,
            wrong.column,
            self.encoding.name()
        );
        if let Some(l) = location.as_mut() {
            l.column = Some(wrong.column);
        }
    }
}

/// The UTF-8 of every byte of `encoding`, or `None` for a wrong byte.
fn decoding_table(encoding: &'static encoding_rs::Encoding) -> Vec<Option<String>> {
    (0..=255u8)
        .map(|b| {
            let byte = [b];
            let (text, _) = encoding.decode_without_bom_handling(&byte);
            let c = text.chars().next().expect("one character per byte");
            // C1 controls are no text; neither are the bytes windows-1252 leaves undefined.
            (!('\u{80}'..='\u{9f}').contains(&c)).then(|| text.into_owned())
        })
        .collect()
}

/// Transcodes `input` (in `encoding`) to UTF-8 in `to`; returns the wrong
/// bytes found. `None` when the source is UTF-8 already (nothing written).
pub fn transcode(input: &Path, encoding: SourceEncoding, to: &Path) -> io::Result<Option<WrongBytes>> {
    let Some(table) = encoding.table() else { return Ok(None) };
    let table = decoding_table(table);
    let mut reader = io::BufReader::with_capacity(1 << 16, std::fs::File::open(input)?);
    let mut out = BufWriter::with_capacity(1 << 16, std::fs::File::create(to)?);
    let mut wrong = WrongBytes { encoding, at: Vec::new() };
    let (mut line, mut column) = (1u32, 1u32);
    let mut buf = vec![0u8; 1 << 16];
    let mut utf8 = Vec::with_capacity(2 << 16);
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        utf8.clear();
        for &b in &buf[..n] {
            if b < 0x80 {
                utf8.push(b);
            } else if let Some(text) = &table[usize::from(b)] {
                utf8.extend_from_slice(text.as_bytes());
            } else {
                utf8.push(0xFF);
                // A file that is wrong throughout is named by its first bytes, not all of them.
                if wrong.at.len() < 100_000 {
                    wrong.at.push(WrongByte { line, column, byte: b });
                }
            }
            if b == b'\n' {
                (line, column) = (line + 1, 1);
            } else {
                column += 1;
            }
        }
        out.write_all(&utf8)?;
    }
    out.flush()?;
    Ok(Some(wrong))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcoded(bytes: &[u8], encoding: SourceEncoding) -> (Vec<u8>, WrongBytes) {
        let dir = tempfile::tempdir().unwrap();
        let (input, output) = (dir.path().join("in.csv"), dir.path().join("out.csv"));
        std::fs::write(&input, bytes).unwrap();
        let wrong = transcode(&input, encoding, &output).unwrap().unwrap();
        (std::fs::read(&output).unwrap(), wrong)
    }

    #[test]
    fn windows_1252_and_latin_9_become_utf8() {
        let (text, wrong) = transcoded(b"Caf\xe9 \x80 5,\x93quoted\x94\n", SourceEncoding::Windows1252);
        assert_eq!(text, "Café € 5,\u{201c}quoted\u{201d}\n".as_bytes());
        assert!(wrong.at.is_empty());
        let (text, _) = transcoded(b"\xa4 \xbd\xe9", SourceEncoding::Iso8859_15);
        assert_eq!(text, "€ œé".as_bytes());
    }

    #[test]
    fn a_byte_that_is_no_character_is_found_with_its_line_and_column() {
        let (text, wrong) = transcoded(b"a,b\nxy\x81z\n\x85", SourceEncoding::Windows1252);
        assert_eq!(text[6], 0xFF, "never UTF-8: the translator rejects the row");
        assert_eq!(wrong.at, [WrongByte { line: 2, column: 3, byte: 0x81 }]);
        // Latin-9's C1 range is control characters: no text either.
        let (_, wrong) = transcoded(b"ok\n\x85", SourceEncoding::Iso8859_15);
        assert_eq!(wrong.at, [WrongByte { line: 2, column: 1, byte: 0x85 }]);

        let mut message = "invalid-input: field is not valid UTF-8".to_owned();
        let mut location = Some(SourceLocation { source: None, line: Some(2), column: None, field: None });
        let all = WrongBytes {
            encoding: SourceEncoding::Windows1252,
            at: vec![WrongByte { line: 2, column: 3, byte: 0x81 }],
        };
        all.explain(&mut message, &mut location);
        assert_eq!(
            message,
            "byte 0x81 at line 2, column 3 is not a windows-1252 character (is the file in another encoding?)"
        );
        assert_eq!(location.unwrap().column, Some(3));
    }

    #[test]
    fn utf8_is_read_as_it_is_and_names_parse() {
        let dir = tempfile::tempdir().unwrap();
        assert!(transcode(Path::new("/nonexistent"), SourceEncoding::Utf8, &dir.path().join("x")).unwrap().is_none());
        assert_eq!(SourceEncoding::parse("Windows-1252"), Some(SourceEncoding::Windows1252));
        assert_eq!(SourceEncoding::parse("latin1"), None);
    }
}
