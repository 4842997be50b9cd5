//! # tessera-content: the versioned, layered content repository
//!
//! What business authors edit, per layer (provider base, tenant):
//!
//! ```text
//! templates/   document templates (Tera), e.g. invoice.html.tera, invoice.txt.tera
//! fragments/   reusable blocks included by templates: header, footer, legal text
//! labels/      brand labels, one TOML file each (see [`Label`]), and
//!              labels/<label>/… overriding any file for that label
//! locales/     UI strings per language (`nl.toml`: `invoice = "Factuur"`), and
//!              locales/<locale>/… overriding any file for that locale
//! assets/      images and fonts, by folder (assets/images/logo.svg)
//! ```
//!
//! - [`ContentRepo`] reads the files: from the working tree, or from a git
//!   revision (the published ref in production); it also publishes, rolls
//!   back, and answers log and diff.
//! - [`Snapshot`] is one immutable copy of the files, with git blob ids.
//! - [`Layers`] resolves a logical path for a label and locale, keeping the
//!   whole chain of candidates.
//! - [`ContentSet`] is everything resolved and checked from one snapshot;
//!   a set exists whole or not at all.
//! - [`Draft`]s are change sets on refs of their own, published only when
//!   someone other than their editors approves them.
//! - [`watch`] tells when the files change (notify, debounced, polling fallback).

pub mod account;
mod drafts;
mod error;
mod label;
mod layers;
mod repo;
mod set;
mod snapshot;
mod source;
pub mod watch;

pub use drafts::{DRAFTS_REF_PREFIX, Draft, DraftState, FileEdit};
pub use error::ContentError;
pub use label::{Colors, Contact, Label, Payment, Sender};
pub use layers::{Candidate, Layers, Resolution, locale_chain};
pub use repo::{
    Change, ContentRepo, DEFAULT_PUBLISHED_REF, LogEntry, PUBLISHED, Published, RepoError, WORKTREE, change_path,
    changes,
};
pub use set::{ContentSet, ContentView, data_uri, media_type};
pub use snapshot::{Revision, Snapshot, SnapshotFile, blob_id, is_ignored_name, read_worktree};
pub use source::{ContentSource, SourceMode};
pub use tessera_diagnostic::line_col;
