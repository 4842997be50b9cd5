//! Contract 0.1.0, frozen: the first release. Its formatters cannot state
//! a page count; everything else has the shape of every later 0.x.

use crate::error::FaultKind;
use crate::sandbox::Sandbox;
use crate::types::{DocumentInput, Formatted, Rendered, TranslateOutcome};

mod bindings {
    bindings!("../../wit/v0.1");
}

shared_conversions!();
worlds!(semver::Version::new(0, 1, 0));

/// A 0.1.0 formatter's output: it cannot state pages.
fn formatted(f: bindings::formatter::exports::tessera::plugin::format::Formatted) -> Formatted {
    Formatted { bytes: f.bytes, media_type: f.media_type, extension: f.extension, pages: None }
}
