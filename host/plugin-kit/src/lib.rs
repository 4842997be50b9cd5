//! # tessera-plugin-kit: from nothing to a tested plugin
//!
//! What a partner developer runs, through `tessera plugin new | build | test`:
//!
//! * [`scaffold`] writes a new plugin project — source in Rust, Python or
//!   JavaScript, `plugin.toml`, the contract's WIT, fixtures and a README —
//!   that builds and passes its own fixtures as it is.
//! * [`build`] turns a project into a package (`dist/<id>-<version>/` with the
//!   component and its `plugin.toml` carrying the sha256), with cargo for
//!   Rust, componentize-py for Python and componentize-qjs for JavaScript.
//!   [`toolchain`] installs the pinned Python and JavaScript tools on first use.
//! * [`fixtures`] runs every fixture through the real runtime with the
//!   limits a tenant would give the plugin, and reports pass/fail with a
//!   diff and what each call used against each limit.

mod error;
mod project;

pub mod build;
pub mod fixtures;
pub mod scaffold;
pub mod toolchain;

pub use error::KitError;
pub use project::{Lang, Project};
pub use tessera_world_section::{WORLD_SECTION, embed_world};
