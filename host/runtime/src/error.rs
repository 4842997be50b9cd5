//! The runtime's errors. Every one names the plugin (`id@version`), and the
//! world, limit or capability involved, and says which side refused: the
//! plugin's manifest, the tenant's grant, or the host.

use crate::manifest::ManifestError;
use crate::version::WorldVersion;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Why a plugin could not be loaded for a tenant.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// `plugin.toml` is missing or invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The tenant pinned other bytes than the component has.
    #[error(
        "plugin {plugin}: tenant `{tenant}` pins sha256 {pinned}, but {file} has sha256 {actual}; refused by the tenant's pin"
    )]
    PinMismatch {
        /// `id@version`.
        plugin: String,
        /// Tenant id.
        tenant: String,
        /// Digest in `tenant.toml`.
        pinned: String,
        /// Digest of the file.
        actual: String,
        /// The component file.
        file: PathBuf,
    },
    /// The package's own manifest disagrees with its component.
    #[error(
        "plugin {plugin}: plugin.toml records sha256 {recorded}, but {file} has sha256 {actual}; the package is damaged or was altered"
    )]
    PackageDigest {
        /// `id@version`.
        plugin: String,
        /// Digest in `plugin.toml`.
        recorded: String,
        /// Digest of the file.
        actual: String,
        /// The component file.
        file: PathBuf,
    },
    /// The plugin targets a contract version this host does not run.
    #[error(
        "plugin {plugin}: built for tessera:plugin@{wanted} ({world}), but this host runs tessera:plugin {host}; refused by the host (use a host that supports {wanted}, or rebuild the plugin against one of {host})"
    )]
    UnsupportedWorld {
        /// `id@version`.
        plugin: String,
        /// The world as the plugin states it.
        world: WorldVersion,
        /// Contract version the plugin needs.
        wanted: String,
        /// Contract versions this host runs (`0.1.0, 0.2.0, 0.3.0`).
        host: String,
    },
    /// `plugin.toml` and the component disagree on the contract.
    #[error("plugin {plugin}: plugin.toml declares world {declared}, but the component {found}; refused by the host")]
    WorldMismatch {
        /// `id@version`.
        plugin: String,
        /// From `plugin.toml`.
        declared: WorldVersion,
        /// What the component exports, in words.
        found: String,
    },
    /// The plugin needs a capability the tenant did not grant.
    #[error(
        "plugin {plugin}: plugin.toml declares capability assets:{asset}, which tenant `{tenant}` does not grant; refused by the tenant"
    )]
    CapabilityNotGranted {
        /// `id@version`.
        plugin: String,
        /// Tenant id.
        tenant: String,
        /// The asset folder.
        asset: String,
    },
    /// The plugin asks for more than allowed.
    #[error(
        "plugin {plugin}: plugin.toml asks for {limit} = {requested}, above the {by}'s limit of {allowed}; refused by the {by}"
    )]
    LimitRefused {
        /// `id@version`.
        plugin: String,
        /// Limit name.
        limit: &'static str,
        /// Requested value.
        requested: u64,
        /// The cap.
        allowed: u64,
        /// `tenant` or `host`.
        by: &'static str,
    },
    /// A granted asset folder cannot be opened.
    #[error("plugin {plugin}: granted asset folder `{asset}` cannot be opened at {path}: {reason}")]
    AssetFolder {
        /// `id@version`.
        plugin: String,
        /// Folder name.
        asset: String,
        /// Where it was looked for.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
    /// The component cannot be read, compiled or linked.
    #[error("plugin {plugin}: {what}: {reason}")]
    Component {
        /// `id@version`.
        plugin: String,
        /// What step failed.
        what: &'static str,
        /// Details.
        reason: String,
    },
}

/// What a call used. Recorded for every call, failed or not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallUsage {
    /// Fuel consumed.
    pub fuel: u64,
    /// Largest linear memory the instance reached, in bytes.
    pub peak_memory: u64,
    /// Wall-clock time of the call (instantiation included).
    pub elapsed: Duration,
    /// Log bytes dropped over the cap.
    pub log_dropped: u64,
}

impl CallUsage {
    /// Adds another call's usage (fuel and time add up; memory is the peak).
    pub fn absorb(&mut self, other: CallUsage) {
        self.fuel += other.fuel;
        self.peak_memory = self.peak_memory.max(other.peak_memory);
        self.elapsed += other.elapsed;
        self.log_dropped += other.log_dropped;
    }
}

/// How a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// The fuel budget ran out (an endless or too expensive computation).
    FuelExhausted {
        /// The budget.
        budget: u64,
    },
    /// The wall-clock deadline passed.
    Deadline {
        /// The deadline.
        timeout: Duration,
    },
    /// The instance tried to grow its memory past the cap.
    MemoryCap {
        /// The cap in bytes.
        limit: u64,
    },
    /// The call returned more bytes than allowed.
    OutputCap {
        /// What it returned.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// The plugin trapped (a panic, `unreachable`, an out-of-bounds access).
    Trap {
        /// The trap, as wasmtime reports it.
        message: String,
    },
    /// The plugin returned a `plugin-error`.
    Reported {
        /// `invalid-input`, `missing-data`, ...
        code: String,
        /// The plugin's message.
        message: String,
        /// `source:line:col field`, when given.
        location: Option<String>,
        /// The field or JSON path the plugin named (`$.content.lines[0].unit_code`),
        /// for the rejection's `field`.
        field: Option<String>,
    },
    /// The host could not run the call (instantiation failed, ...).
    Host {
        /// Details.
        message: String,
    },
}

impl FaultKind {
    /// The limit or capability involved, for metrics and reports.
    pub fn limit(&self) -> Option<&'static str> {
        match self {
            FaultKind::FuelExhausted { .. } => Some("fuel"),
            FaultKind::Deadline { .. } => Some("timeout"),
            FaultKind::MemoryCap { .. } => Some("memory"),
            FaultKind::OutputCap { .. } => Some("output"),
            _ => None,
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::FuelExhausted { budget } => {
                write!(f, "fuel limit hit: used its whole budget of {budget} fuel")
            }
            FaultKind::Deadline { timeout } => {
                write!(f, "timeout limit hit: still running after {} ms", timeout.as_millis())
            }
            FaultKind::MemoryCap { limit } => write!(f, "memory limit hit: tried to grow past {} MiB", limit >> 20),
            FaultKind::OutputCap { size, limit } => {
                write!(f, "output limit hit: returned {size} bytes, the cap is {limit} bytes")
            }
            FaultKind::Trap { message } => write!(f, "trapped: {message}"),
            FaultKind::Reported { code, message, location, .. } => match location {
                Some(l) => write!(f, "{code} at {l}: {message}"),
                None => write!(f, "{code}: {message}"),
            },
            FaultKind::Host { message } => write!(f, "host error: {message}"),
        }
    }
}

/// A failed plugin call: which plugin, in which world, what went wrong, and
/// what it used up to then. The record concerned is rejected; the run goes on.
#[derive(Debug, Clone, thiserror::Error)]
#[error("plugin {plugin} ({world}): {kind}")]
pub struct PluginFault {
    /// `id@version`.
    pub plugin: String,
    /// The world and contract version.
    pub world: WorldVersion,
    /// What happened (boxed: the plugin's own message can be long, and
    /// faults travel in `Result`s on the hot path).
    pub kind: Box<FaultKind>,
    /// What the call used.
    pub usage: CallUsage,
}
