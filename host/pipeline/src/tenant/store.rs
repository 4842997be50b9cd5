//! Where packaged plugins are found: folders of `<id>-<version>/` packages,
//! searched in order (the first match wins).

use std::path::{Path, PathBuf};

/// Finds the package folder of `id@version` in the plugin folders.
pub fn find_package(roots: &[PathBuf], id: &str, version: &str) -> Option<PathBuf> {
    roots.iter().map(|root| root.join(format!("{id}-{version}"))).find(|dir| dir.join("plugin.toml").is_file())
}

/// The searched folders, for messages.
pub fn describe(roots: &[PathBuf]) -> String {
    roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// The default plugin folders: `TESSERA_PLUGIN_PATH` (`:`-separated), then `fallback`.
pub fn default_roots(fallback: &Path) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> =
        std::env::var_os("TESSERA_PLUGIN_PATH").map(|v| std::env::split_paths(&v).collect()).unwrap_or_default();
    roots.push(fallback.to_path_buf());
    roots
}
