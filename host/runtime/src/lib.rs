//! # tessera-runtime: the sandboxed plugin runtime
//!
//! Tenants extend tessera with WebAssembly components of three kinds —
//! translators, fragments and formatters — written against the WIT contract
//! in `wit/` (`tessera:plugin`). This crate loads and runs them so that a
//! plugin can neither see what it was not given nor take more than its share:
//!
//! * **Two keys.** A plugin's `plugin.toml` *declares* what it needs
//!   ([`PluginManifest`]); the tenant's `tenant.toml` *grants* it and pins the
//!   component by sha256 ([`PluginGrant`]). Loading refuses anything either side
//!   did not agree to, and says which side refused ([`LoadError`]).
//! * **Deny by default.** No files, sockets, environment or real clock; the
//!   wall clock is frozen at the job's as-of date and randomness is seeded,
//!   so runs are reproducible. Asset reads go through cap-std handles on the
//!   granted folders only.
//! * **Limits per call**: fuel, an epoch deadline, a memory cap, an output cap
//!   and a log cap ([`Limits`]). A hit becomes a [`PluginFault`] that names the
//!   plugin, its world and the limit; the caller rejects that record and goes on.
//! * **Fresh instance per call**, cheap thanks to `InstancePre`, the pooling
//!   allocator and a compile cache on disk ([`Runtime`]).

mod adapter;
mod bindings;
mod cache;
mod engine;
mod error;
mod grant;
mod inspect;
mod limits;
mod manifest;
mod plugin;
mod sandbox;
mod stderr;
mod version;

pub use cache::CompileSource;
pub use engine::{Allocation, Runtime, RuntimeConfig, RuntimeError};
pub use error::{CallUsage, FaultKind, LoadError, PluginFault};
pub use grant::PluginGrant;
pub use inspect::{ExportedWorld, ImportCheck, ImportVerdict, Inspection, import_verdict};
pub use limits::{HOST_MAX_MEMORY_MIB, LimitSpec, Limits};
pub use manifest::{ManifestError, PluginManifest, Reuse, check_identity, is_id, read_toml};
pub use plugin::{
    DocumentInput, Formatted, LoadRequest, Plugin, Rendered, SourceLocation, TranslateOutcome, TranslateSession,
};
pub use sandbox::CallContext;
pub use version::{HOST_CONTRACT, Kind, SUPPORTED_CONTRACTS, SemVer, WorldVersion, supported_list};
