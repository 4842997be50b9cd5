//! Where things are: the compile cache, the plugin folders, the samples.

use std::path::{Path, PathBuf};
use tessera_runtime::{Runtime, RuntimeConfig};

/// Settings shared by every command.
pub struct Context {
    /// Compile cache folder.
    pub cache_dir: PathBuf,
    /// Plugin folders, in search order.
    pub plugin_roots: Vec<PathBuf>,
}

impl Context {
    pub fn new(cache_dir: Option<PathBuf>, mut plugin_dirs: Vec<PathBuf>) -> Context {
        let cache_dir = cache_dir
            .or_else(|| std::env::var_os("TESSERA_CACHE_DIR").map(PathBuf::from))
            .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("tessera")))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/tessera")))
            .unwrap_or_else(|| std::env::temp_dir().join("tessera-cache"));
        plugin_dirs.extend(tessera_pipeline::default_roots(Path::new(tessera_plugin_artifacts::STORE)));
        Context { cache_dir, plugin_roots: plugin_dirs }
    }

    /// Starts the plugin runtime with the compile cache.
    pub fn runtime(&self) -> anyhow::Result<Runtime> {
        Ok(Runtime::new(RuntimeConfig {
            cache_dir: Some(self.cache_dir.join("components")),
            after_compile: Some(crate::memory::release_compiler_memory),
            ..Default::default()
        })?)
    }
}

/// The sample tenants: `./samples` when run from the repository, else the
/// folder this binary was built from.
pub fn samples_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    let local = PathBuf::from("samples");
    if local.join("acme-energy/tenant.toml").is_file() {
        return local;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples"))
}
