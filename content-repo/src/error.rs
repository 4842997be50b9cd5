//! Content errors: always the file, and where known the line and column,
//! so an author can go straight to the mistake. They are the workspace's one
//! file-diagnostic type ([`tessera_diagnostic::FileDiagnostic`]), so a
//! broken label shows the same way as a broken `tenant.toml`.

/// A problem with a content file.
pub type ContentError = tessera_diagnostic::FileDiagnostic;
