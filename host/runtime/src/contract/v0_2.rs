//! Contract 0.2.0, frozen: a formatter may state the pages it produced.

use crate::error::FaultKind;
use crate::sandbox::Sandbox;
use crate::types::{DocumentInput, Formatted, Rendered, TranslateOutcome};

mod bindings {
    bindings!("../../wit/v0.2");
}

shared_conversions!();
worlds!(semver::Version::new(0, 2, 0));

/// A 0.2.0 formatter's output, with the page count it may state.
fn formatted(f: bindings::formatter::exports::tessera::plugin::format::Formatted) -> Formatted {
    Formatted { bytes: f.bytes, media_type: f.media_type, extension: f.extension, pages: f.pages }
}
