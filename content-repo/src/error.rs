//! Content errors: always the file, and where known the line and column,
//! so an author can go straight to the mistake. [`ContentError::detailed`]
//! adds the source line with a caret under the column.

use std::fmt;
use std::path::PathBuf;

/// A problem with a content file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ContentError {
    /// The file, relative to the content repository when possible.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// The text of the line the error is on, when known.
    pub source_line: Option<String>,
}

impl ContentError {
    /// An error about a whole file.
    pub fn file(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        ContentError { file: file.into(), line: None, column: None, message: message.into(), source_line: None }
    }

    /// An error at a position.
    pub fn at(file: impl Into<PathBuf>, line: usize, column: usize, message: impl Into<String>) -> Self {
        ContentError {
            file: file.into(),
            line: Some(line),
            column: Some(column),
            message: message.into(),
            source_line: None,
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

impl fmt::Display for ContentError {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detailed_shows_the_line_and_a_caret() {
        let e = ContentError::at("f.tera", 2, 5, "boom").with_source("one\n\tab cd\nthree");
        assert_eq!(e.detailed(), "f.tera:2:5: boom\n  2 | \tab cd\n    | \t   ^");
        assert_eq!(e.to_string(), "f.tera:2:5: boom");
    }
}
