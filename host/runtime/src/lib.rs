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

mod cache;
mod contract;
mod engine;
mod error;
mod grant;
mod inspect;
mod limits;
mod manifest;
mod plugin;
mod sandbox;
mod stderr;
mod types;
mod version;

pub use cache::CompileSource;
pub use contract::{host_contract, host_supports, supported_contracts, supported_list};
pub use engine::{Allocation, Runtime, RuntimeConfig, RuntimeError};
pub use error::{CallUsage, FaultKind, LoadError, PluginFault};
pub use grant::PluginGrant;
pub use inspect::{ExportedWorld, ImportCheck, ImportVerdict, InspectError, Inspection, import_verdict};
pub use limits::{HOST_MAX_MEMORY_MIB, LimitSpec, Limits};
pub use manifest::{IdentityError, ManifestError, PluginManifest, Reuse, check_identity, is_id};
pub use plugin::{LoadRequest, Plugin, SplitSession, TranslateSession};
pub use sandbox::CallContext;
pub use semver::Version;
pub use tessera_diagnostic::{FileDiagnostic, TomlFile};
pub use types::{Cut, DocumentInput, Formatted, MAX_CUT_STATE, Rendered, SourceLocation, TranslateOutcome};
pub use version::{Kind, VersionError, WorldVersion, exported_version, parse_version};
