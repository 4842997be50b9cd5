//! The host's own values at the plugin boundary: what a call takes and
//! gives back, whatever contract version the plugin was built for. Each
//! version's module in [`crate::contract`] converts its generated types
//! into these and back, so nothing above the contract layer names a
//! contract version.

use std::fmt;

/// A rendered fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// HTML rendition.
    pub html: String,
    /// Text rendition.
    pub text: String,
}

/// A composed document handed to a formatter.
#[derive(Debug, Clone, Default)]
pub struct DocumentInput {
    /// Channel name.
    pub channel: String,
    /// Document id.
    pub document_id: String,
    /// HTML rendition.
    pub html: String,
    /// Text rendition.
    pub text: String,
    /// Subject, if any.
    pub subject: Option<String>,
    /// Metadata pairs.
    pub metadata: Vec<(String, String)>,
}

/// A formatter's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formatted {
    /// File bytes.
    pub bytes: Vec<u8>,
    /// Media type.
    pub media_type: String,
    /// File extension without the dot.
    pub extension: String,
    /// Pages, when the formatter states them (contract 0.2.0 and later).
    pub pages: Option<u32>,
}

/// Where in a source a translator located something.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceLocation {
    /// Source name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// Field or JSON path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(s) = &self.source {
            parts.push(s.clone());
        }
        match (self.line, self.column) {
            (Some(l), Some(c)) => parts.push(format!("{l}:{c}")),
            (Some(l), None) => parts.push(format!("{l}")),
            _ => {}
        }
        let mut text = parts.join(":");
        if let Some(field) = &self.field {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&format!("field {field}"));
        }
        f.write_str(&text)
    }
}

/// What one source record became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TranslateOutcome {
    /// A CDM record (JSON text, not yet validated).
    Record {
        /// The CDM JSON.
        cdm: String,
        /// Where it starts in the source.
        location: Option<SourceLocation>,
    },
    /// A source record the translator rejected.
    Rejected {
        /// Error code.
        code: String,
        /// The translator's message.
        message: String,
        /// Where.
        location: Option<SourceLocation>,
    },
}

impl TranslateOutcome {
    /// Bytes the plugin returned for it (what the output cap counts).
    pub(crate) fn size(&self) -> usize {
        match self {
            TranslateOutcome::Record { cdm, .. } => cdm.len(),
            TranslateOutcome::Rejected { message, .. } => message.len(),
        }
    }
}

/// A place where a translator says a source may be cut (contract 0.3.0):
/// a document starts at `offset`, on `line`, and a session started there
/// needs `state` (opaque to the host) to go on as if it had read the bytes
/// before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// Byte offset from the start of the source.
    pub offset: u64,
    /// The 1-based line that starts there.
    pub line: u32,
    /// The plugin's own state for a session starting there.
    pub state: Vec<u8>,
}

/// The largest `state` a cut may carry: it travels with every shard.
pub const MAX_CUT_STATE: usize = 64 * 1024;

/// How loud a plugin's log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// The error codes of the contract's `plugin-error`, in every version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    InvalidInput,
    MissingData,
    Unsupported,
    Denied,
    Internal,
}

impl ErrorCode {
    /// The code as the contract spells it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid-input",
            ErrorCode::MissingData => "missing-data",
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::Denied => "denied",
            ErrorCode::Internal => "internal",
        }
    }
}

/// A `plugin-error`, in either direction: returned by a plugin, or by a
/// host call to a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContractError {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
    pub(crate) location: Option<SourceLocation>,
}

impl From<ContractError> for crate::error::FaultKind {
    fn from(e: ContractError) -> Self {
        crate::error::FaultKind::Reported {
            code: e.code.as_str().into(),
            message: e.message,
            field: e.location.as_ref().and_then(|l| l.field.clone()),
            location: e.location.map(|l| l.to_string()).filter(|s| !s.is_empty()),
        }
    }
}
