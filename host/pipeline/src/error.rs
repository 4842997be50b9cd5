//! The pipeline's error: why a run could not start or finish. Problems of
//! one record are never errors: they are rejections ([`crate::Rejection`]),
//! and the run goes on.

use std::path::{Path, PathBuf};
use tessera_content::RepoError;
use tessera_runtime::LoadError;

/// Why a run could not start or finish (record-level problems are
/// rejections, not errors).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// `tenant.toml` or `scenario.toml` is unusable (file, line, column).
    #[error(transparent)]
    Tenant(#[from] tessera_runtime::FileDiagnostic),
    /// The content does not load.
    #[error("content of tenant `{tenant}`: {error}")]
    Content {
        /// Tenant id.
        tenant: String,
        /// The first content error (boxed: it carries paths and source lines).
        error: Box<RepoError>,
    },
    /// A plugin the tenant grants is not in any plugin folder.
    #[error("tenant `{tenant}` grants plugin {id}@{version}, but no package `{id}-{version}` is in {searched}")]
    PluginNotFound {
        /// Tenant id.
        tenant: String,
        /// Plugin id.
        id: String,
        /// Version.
        version: String,
        /// Folders searched.
        searched: String,
    },
    /// A plugin was refused at load.
    #[error("tenant `{tenant}`: {error}")]
    Load {
        /// Tenant id.
        tenant: String,
        /// Why (boxed: load errors carry paths and digests).
        error: Box<LoadError>,
    },
    /// A channel cannot be made as configured.
    #[error("tenant `{tenant}`: {error}")]
    Routing {
        /// Tenant id.
        tenant: String,
        /// Which channel, and why.
        #[source]
        error: crate::channels::routing::RoutingError,
    },
    /// `[payment] allowed_ibans` lists a broken account.
    #[error("tenant `{tenant}`: {error}")]
    Payment {
        /// Tenant id.
        tenant: String,
        /// The entry, masked.
        #[source]
        error: crate::truth::BadAllowedIban,
    },
    /// The run names a plugin of the wrong kind or one not granted.
    #[error("tenant `{tenant}`: {message}")]
    Config {
        /// Tenant id.
        tenant: String,
        /// What is wrong.
        message: String,
    },
    /// Reading the input or writing the output folder failed.
    #[error("{path}: {error}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The as-of date is not a date.
    #[error(transparent)]
    AsOf(#[from] tessera_cdm::AsOfError),
    /// `--resume` cannot continue the run in this folder.
    #[error("cannot resume the run in {out_dir}: {message}")]
    Resume {
        /// The output folder.
        out_dir: PathBuf,
        /// Why.
        message: String,
    },
    /// Records went missing between the stages (a bug: the run is not
    /// reported as complete).
    #[error("the source gave {records} records but {committed} were committed")]
    Lost {
        /// Records numbered by the source stage.
        records: u64,
        /// Records committed.
        committed: u64,
    },
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PipelineError + '_ {
    move |error| PipelineError::Io { path: path.to_path_buf(), error }
}
