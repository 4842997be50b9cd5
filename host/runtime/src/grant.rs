//! The tenant's side of the two-key model: which plugins a tenant runs
//! (pinned by id, version and sha256), which capabilities it grants each,
//! and the most each may spend. Lives in `tenant.toml` as `[[plugins]]`.

use crate::limits::LimitSpec;
use crate::manifest::Reuse;
use serde::Deserialize;

/// One `[[plugins]]` entry of `tenant.toml`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PluginGrant {
    /// Plugin id.
    pub id: String,
    /// Exact plugin version.
    pub version: String,
    /// The component's sha256 the tenant approved; any other bytes are refused.
    pub sha256: String,
    /// Asset folders (under the tenant's content `assets/`) the plugin may read.
    #[serde(default)]
    pub assets: Vec<String>,
    /// Whether instances may serve several documents of this tenant's run
    /// (effective only when the plugin declares it too).
    #[serde(default)]
    pub reuse: Reuse,
    /// Ceilings on the plugin's limits.
    #[serde(default)]
    pub limits: LimitSpec,
}
