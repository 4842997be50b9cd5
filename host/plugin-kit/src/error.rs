//! The kit's errors: each names the project, file or tool concerned and what
//! to do about it.

use std::path::PathBuf;

/// Why a kit command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum KitError {
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The system's reason.
        reason: String,
    },
    /// The project's `plugin.toml` (or another file of it) is unusable.
    #[error(transparent)]
    Project(#[from] tessera_runtime::FileDiagnostic),
    /// `plugin new` was asked for something it cannot make.
    #[error("{0}")]
    Scaffold(String),
    /// An option given to a kit command is unusable.
    #[error("{0}")]
    BadOption(String),
    /// A build tool is missing and could not be installed.
    #[error("{tool} {version} is needed to build {lang} plugins: {reason}")]
    Toolchain {
        /// The tool.
        tool: &'static str,
        /// Its pinned version.
        version: &'static str,
        /// The language it builds.
        lang: &'static str,
        /// What failed, and how to fix it.
        reason: String,
    },
    /// The build tool ran and failed.
    #[error("building {plugin} with {tool} failed (exit {status}):\n{output}")]
    BuildFailed {
        /// `id@version`.
        plugin: String,
        /// The tool's name.
        tool: String,
        /// Its exit status.
        status: String,
        /// The end of what it printed.
        output: String,
    },
    /// The runtime refused the built package.
    #[error("{0}")]
    Load(#[from] Box<tessera_runtime::LoadError>),
    /// A fixture is malformed (not a failing fixture: one that cannot be run).
    #[error("fixture {fixture}: {message}")]
    Fixture {
        /// The fixture folder.
        fixture: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

impl KitError {
    pub(crate) fn io(path: impl Into<PathBuf>, e: std::io::Error) -> KitError {
        KitError::Io { path: path.into(), reason: e.to_string() }
    }
}
