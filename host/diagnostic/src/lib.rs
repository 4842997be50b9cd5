//! # tessera-diagnostic: "this file is wrong here"
//!
//! Every error about a file a person wrote — a brand label, a template, a
//! `tenant.toml`, a `plugin.toml`, a scenario — is a [`FileDiagnostic`]:
//! the file, where known the 1-based line and column, what is wrong, and
//! the text of that line so [`FileDiagnostic::detailed`] can put a caret
//! under the column. One type means the CLI, the server and the reload
//! watcher show every such error the same way.
//!
//! Positions in TOML come from the parser itself: syntax errors carry their
//! span, and [`key_span`] finds a key's span in `toml`'s spanned document
//! for checks that run after the file parsed (a colour that is not a
//! colour, an id that is not an id).

use serde::de::DeserializeOwned;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A problem with a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FileDiagnostic {
    /// The file, relative to the folder the user works in when possible.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// The text of the line the error is on, when known.
    pub source_line: Option<String>,
}

impl FileDiagnostic {
    /// An error about a whole file.
    pub fn file(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        FileDiagnostic { file: file.into(), line: None, column: None, message: message.into(), source_line: None }
    }

    /// An error at a position.
    pub fn at(file: impl Into<PathBuf>, line: usize, column: usize, message: impl Into<String>) -> Self {
        FileDiagnostic {
            file: file.into(),
            line: Some(line),
            column: Some(column),
            message: message.into(),
            source_line: None,
        }
    }

    /// An error at byte `offset` of `text` (the file's content), keeping the
    /// line for [`Self::detailed`].
    pub fn at_offset(file: impl Into<PathBuf>, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_col(text, offset);
        FileDiagnostic::at(file, line, column, message).with_source(text)
    }

    /// A TOML syntax or shape error, at the position the parser gives.
    pub fn toml(file: impl Into<PathBuf>, text: &str, error: &toml::de::Error) -> Self {
        match error.span() {
            Some(span) => FileDiagnostic::at_offset(file, text, span.start, error.message()),
            None => FileDiagnostic::file(file, error.message()),
        }
    }

    /// An error about the value of the TOML key at `path` (`["colors",
    /// "primary"]`), at that key; about the whole file when the key is not
    /// written in it (a default was used).
    pub fn at_key(file: impl Into<PathBuf>, text: &str, path: &[&str], message: impl Into<String>) -> Self {
        match key_span(text, path) {
            Some(span) => FileDiagnostic::at_offset(file, text, span.start, message),
            None => FileDiagnostic::file(file, message),
        }
    }

    /// Keeps the offending line of `text` (the file's content) for [`Self::detailed`].
    pub fn with_source(mut self, text: &str) -> Self {
        if let Some(line) = self.line {
            self.source_line = text.lines().nth(line.saturating_sub(1)).map(str::to_owned);
        }
        self
    }

    /// The error with its source line and a caret under the column:
    ///
    /// ```text
    /// acme/content/fragments/footer.html.tera:2:9: expected `}}`
    ///     2 | <p>{{ label.name </p>
    ///       |         ^
    /// ```
    pub fn detailed(&self) -> String {
        let mut out = self.to_string();
        if let (Some(line), Some(text)) = (self.line, &self.source_line) {
            let number = line.to_string();
            let pad = " ".repeat(number.len());
            out.push_str(&format!("\n  {number} | {text}"));
            if let Some(col) = self.column {
                // Tabs keep their width so the caret lines up in a terminal.
                let lead: String =
                    text.chars().take(col.saturating_sub(1)).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
                out.push_str(&format!("\n  {pad} | {lead}^"));
            }
        }
        out
    }
}

impl fmt::Display for FileDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The byte span of the key at `path` in a TOML document (through tables
/// and inline tables; `None` when the text does not parse or the key is
/// not written).
pub fn key_span(text: &str, path: &[&str]) -> Option<Range<usize>> {
    let root = toml::de::DeTable::parse(text).ok()?;
    let mut table = root.get_ref();
    let (last, parents) = path.split_last()?;
    for name in parents {
        let (_, value) = table.iter().find(|(k, _)| k.get_ref() == name)?;
        match value.get_ref() {
            toml::de::DeValue::Table(t) => table = t,
            _ => return None,
        }
    }
    table.iter().find(|(k, _)| k.get_ref() == last).map(|(k, _)| k.span())
}

/// A TOML file read and parsed, with its text kept for errors about its values.
#[derive(Debug)]
pub struct TomlFile<T> {
    /// The parsed value.
    pub value: T,
    /// The file as read.
    pub text: String,
    /// The file's path, as errors show it.
    pub path: PathBuf,
}

impl<T: DeserializeOwned> TomlFile<T> {
    /// Reads and parses `path`; errors name the file and, for syntax and
    /// shape errors, the line and column.
    pub fn read(path: &Path) -> Result<TomlFile<T>, FileDiagnostic> {
        let text =
            std::fs::read_to_string(path).map_err(|e| FileDiagnostic::file(path, format!("cannot read: {e}")))?;
        let value = toml::from_str(&text).map_err(|e| FileDiagnostic::toml(path, &text, &e))?;
        Ok(TomlFile { value, text, path: path.to_path_buf() })
    }
}

impl<T> TomlFile<T> {
    /// An error about the value of the key at `path`, at that key.
    pub fn error_at(&self, key: &[&str], message: impl Into<String>) -> FileDiagnostic {
        FileDiagnostic::at_key(&self.path, &self.text, key, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABEL: &str =
        "name = \"ACME\"\n\n[colors]\nprimary = \"#1f6f43\"\n  accent = { hue = 3 }\n\n[sender]\nname = \"x\"\n";

    #[test]
    fn detailed_shows_the_line_and_a_caret() {
        let e = FileDiagnostic::at("t.html", 2, 5, "oops").with_source("first\nab\tcd ef\n");
        assert_eq!(e.to_string(), "t.html:2:5: oops");
        assert_eq!(e.detailed(), "t.html:2:5: oops\n  2 | ab\tcd ef\n    |   \t ^");
        assert_eq!(FileDiagnostic::file("t.html", "gone").detailed(), "t.html: gone");
    }

    #[test]
    fn keys_are_found_by_their_path_not_their_name() {
        assert_eq!(key_span(LABEL, &["name"]).map(|s| line_col(LABEL, s.start)), Some((1, 1)));
        assert_eq!(key_span(LABEL, &["sender", "name"]).map(|s| line_col(LABEL, s.start)), Some((8, 1)));
        assert_eq!(key_span(LABEL, &["colors", "accent"]).map(|s| line_col(LABEL, s.start)), Some((5, 3)));
        assert_eq!(key_span(LABEL, &["colors", "accent", "hue"]).map(|s| line_col(LABEL, s.start)), Some((5, 14)));
        assert_eq!(key_span(LABEL, &["colors", "text"]), None);
        assert_eq!(key_span("not = toml = at all", &["not"]), None);
    }

    #[test]
    fn an_error_about_an_unwritten_key_is_about_the_file() {
        let e = FileDiagnostic::at_key("l.toml", LABEL, &["colors", "text"], "bad");
        assert_eq!(e.to_string(), "l.toml: bad");
        let e = FileDiagnostic::at_key("l.toml", LABEL, &["colors", "primary"], "bad");
        assert_eq!(e.to_string(), "l.toml:4:1: bad");
        assert_eq!(e.source_line.as_deref(), Some("primary = \"#1f6f43\""));
    }

    #[test]
    fn syntax_errors_carry_the_parsers_position() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            a: u32,
        }
        let text = "a = 1\nb = = 2\n";
        let e = toml::from_str::<T>(text).unwrap_err();
        let d = FileDiagnostic::toml("x.toml", text, &e);
        assert_eq!((d.line, d.column), (Some(2), Some(5)), "{d}");
        assert_eq!(d.source_line.as_deref(), Some("b = = 2"));
    }

    #[test]
    fn line_col_counts_characters_and_survives_odd_offsets() {
        assert_eq!(line_col("é = 1\nxé", 10), (2, 3));
        assert_eq!(line_col("é", 1), (1, 1), "inside a character: its start");
        assert_eq!(line_col("ab", 99), (1, 3));
    }
}
