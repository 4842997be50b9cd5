//! The adapter between contract versions: each version's generated values
//! become the host's own ([`Rendered`], [`Formatted`], [`TranslateOutcome`],
//! [`FaultKind::Reported`]) and back, so the pipeline never sees which
//! `tessera:plugin` version a plugin was built for. A 0.1.0 plugin runs
//! unchanged; what 0.2.0 added (a formatter's page count) is simply absent.

use crate::bindings::{v0_1 as wit_v0_1, v0_2 as wit_v0_2};
use crate::error::FaultKind;
use crate::plugin::{DocumentInput, Formatted, Rendered, SourceLocation, TranslateOutcome};

/// The conversions whose shape is the same in every version.
macro_rules! same_in_every_version {
    ($module:ident, $wit:ident, $formatted:ident) => {
        pub(crate) mod $module {
            pub(crate) use super::$formatted as formatted;
            use super::*;
            use $wit::formatter::exports::tessera::plugin::format::Document;
            use $wit::fragment::exports::tessera::plugin::render::Rendered as WitRendered;
            use $wit::translator::exports::tessera::plugin::translate::Outcome;
            use $wit::types::{Entry, ErrorCode, Location, PluginError};

            pub(crate) fn location(l: Location) -> SourceLocation {
                SourceLocation { source: l.source, line: l.line, column: l.column, field: l.field }
            }

            pub(crate) fn code(code: ErrorCode) -> &'static str {
                match code {
                    ErrorCode::InvalidInput => "invalid-input",
                    ErrorCode::MissingData => "missing-data",
                    ErrorCode::Unsupported => "unsupported",
                    ErrorCode::Denied => "denied",
                    ErrorCode::Internal => "internal",
                }
            }

            /// A `plugin-error` the plugin returned.
            pub(crate) fn reported(e: PluginError) -> FaultKind {
                FaultKind::Reported {
                    code: code(e.code).into(),
                    message: e.message,
                    location: e.location.map(|l| location(l).to_string()).filter(|s| !s.is_empty()),
                }
            }

            pub(crate) fn outcome(o: Outcome) -> TranslateOutcome {
                match o {
                    Outcome::Translated(e) => {
                        TranslateOutcome::Record { cdm: e.cdm, location: e.location.map(location) }
                    }
                    Outcome::Rejected(e) => TranslateOutcome::Rejected {
                        code: code(e.code).into(),
                        message: e.message,
                        location: e.location.map(location),
                    },
                }
            }

            pub(crate) fn entries(pairs: &[(String, String)]) -> Vec<Entry> {
                pairs.iter().map(|(name, value)| Entry { name: name.clone(), value: value.clone() }).collect()
            }

            pub(crate) fn rendered(r: WitRendered) -> Rendered {
                Rendered { html: r.html, text: r.text }
            }

            pub(crate) fn document(doc: DocumentInput) -> Document {
                Document {
                    channel: doc.channel,
                    document_id: doc.document_id,
                    html: doc.html,
                    text: doc.text,
                    subject: doc.subject,
                    metadata: doc.metadata.into_iter().map(|(name, value)| Entry { name, value }).collect(),
                }
            }
        }
    };
}

same_in_every_version!(v0_1, wit_v0_1, formatted_v0_1);
same_in_every_version!(v0_2, wit_v0_2, formatted_v0_2);

/// A 0.1.0 formatter's output: it cannot state pages.
pub(crate) fn formatted_v0_1(f: wit_v0_1::formatter::exports::tessera::plugin::format::Formatted) -> Formatted {
    Formatted { bytes: f.bytes, media_type: f.media_type, extension: f.extension, pages: None }
}

/// A 0.2.0 formatter's output, with the page count it may state.
pub(crate) fn formatted_v0_2(f: wit_v0_2::formatter::exports::tessera::plugin::format::Formatted) -> Formatted {
    Formatted { bytes: f.bytes, media_type: f.media_type, extension: f.extension, pages: f.pages }
}

/// A 0.1.0 plugin's log level as the host's (0.2.0) one.
pub(crate) fn log_level(level: wit_v0_1::types::LogLevel) -> wit_v0_2::types::LogLevel {
    use wit_v0_1::types::LogLevel as Old;
    use wit_v0_2::types::LogLevel as New;
    match level {
        Old::Debug => New::Debug,
        Old::Info => New::Info,
        Old::Warn => New::Warn,
        Old::Error => New::Error,
    }
}

/// A host error (0.2.0 types) for a 0.1.0 plugin.
pub(crate) fn error_to_v0_1(e: wit_v0_2::types::PluginError) -> wit_v0_1::types::PluginError {
    use wit_v0_1::types::{ErrorCode as Old, Location, PluginError};
    use wit_v0_2::types::ErrorCode as New;
    let code = match e.code {
        New::InvalidInput => Old::InvalidInput,
        New::MissingData => Old::MissingData,
        New::Unsupported => Old::Unsupported,
        New::Denied => Old::Denied,
        New::Internal => Old::Internal,
    };
    let location = e.location.map(|l| Location { source: l.source, line: l.line, column: l.column, field: l.field });
    PluginError { code, message: e.message, location }
}
