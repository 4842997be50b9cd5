//! The sample and test plugins of this repository, built for `wasm32-wasip2`
//! by this crate's build script and packaged as a plugin store: one folder per
//! plugin (`<id>-<version>/`) holding the component and its `plugin.toml`
//! with the component's sha256 filled in.
//!
//! The demo uses [`STORE`] as its default plugin folder; tests use
//! [`artifact`] to pin plugins in the tenants they write.

/// A packaged plugin.
#[derive(Debug, Clone, Copy)]
pub struct Artifact {
    /// Plugin id from `plugin.toml`.
    pub id: &'static str,
    /// Plugin version from `plugin.toml`.
    pub version: &'static str,
    /// `translator`, `fragment` or `formatter`.
    pub kind: &'static str,
    /// Hex sha256 of the component.
    pub sha256: &'static str,
    /// The package folder (component + `plugin.toml`).
    pub dir: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/artifacts.rs"));

/// The packaged plugin with this id.
///
/// # Panics
/// When no plugin of that id is in the repository (a test bug).
pub fn artifact(id: &str) -> &'static Artifact {
    PLUGINS.iter().find(|a| a.id == id).unwrap_or_else(|| panic!("no plugin `{id}` under plugins/"))
}
