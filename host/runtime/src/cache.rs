//! Compiled components on disk, so compilation happens once per component
//! and engine configuration, never on the render path and never twice.
//!
//! The key is (component sha256, engine compatibility hash): a precompiled
//! component only loads into an engine with the same settings (fuel and
//! epoch interruption included), and the compatibility hash covers wasmtime's
//! version and every such setting. Files are written to a temporary name and
//! renamed, so a crash or a concurrent process never leaves half a file
//! under a real name; wasmtime also checks each file's header on load, and
//! a file that does not load is compiled again and replaced. A component
//! compiled now is run from the file it was stored in, like a cached one.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where a loaded component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompileSource {
    /// Loaded from the on-disk cache.
    Cache,
    /// Compiled now (and stored in the cache).
    Compiled,
}

/// The on-disk cache of compiled components.
pub(crate) struct CompileCache {
    dir: Option<PathBuf>,
    engine_key: String,
    after_compile: Option<fn()>,
}

/// Feeds `Hash` output into sha256, for a key that is stable across runs.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl CompileCache {
    pub(crate) fn new(engine: &Engine, dir: Option<PathBuf>, after_compile: Option<fn()>) -> CompileCache {
        let mut hasher = ShaHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = hex::encode(&hasher.0.finalize()[..12]);
        CompileCache { dir, engine_key, after_compile }
    }

    fn path(&self, sha256: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{sha256}-{}.cwasm", self.engine_key)))
    }

    /// The compiled component for `bytes` (whose sha256 is `sha256`).
    pub(crate) fn load(
        &self,
        engine: &Engine,
        sha256: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, CompileSource)> {
        if let Some(path) = self.path(sha256).filter(|p| p.is_file()) {
            match deserialize(engine, &path) {
                Ok(component) => return Ok((component, CompileSource::Cache)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), "cached component does not load, compiling again: {e}")
                }
            }
        }
        // Called once `compile` has returned: the compiler's work, the
        // serialised copy and the compiled one (loaded back from its file)
        // are all dropped by then.
        let compiled = self.compile(engine, sha256, bytes);
        if let Some(after) = self.after_compile {
            after();
        }
        compiled.map(|component| (component, CompileSource::Compiled))
    }

    /// Compiles `bytes` and, with a cache folder, stores the result and
    /// loads it back from the file.
    fn compile(&self, engine: &Engine, sha256: &str, bytes: &[u8]) -> wasmtime::Result<Component> {
        let component = Component::from_binary(engine, bytes)?;
        if let Some(path) = self.path(sha256) {
            match store(&component, &path) {
                // Loaded back from the file it was just written to: the
                // compiled code is then file-backed and only its pages in
                // use stay resident, as after a start with a warm cache.
                // Kept as compiled, every component's code and metadata
                // stay in anonymous memory for good, typst-pdf's included
                // for a run that only renders HTML: `bench batch` (ACME,
                // 30,000 records) with an empty cache peaked at 366 MiB,
                // loaded back at 285 MiB (a warm cache: 101; the rest is
                // the compiler's memory the allocator keeps, see
                // `RuntimeConfig::after_compile`).
                Ok(()) => match deserialize(engine, &path) {
                    Ok(mapped) => return Ok(mapped),
                    Err(e) => tracing::warn!(path = %path.display(), "the component just cached does not load: {e}"),
                },
                Err(e) => tracing::warn!(path = %path.display(), "cannot write the compile cache: {e}"),
            }
        }
        Ok(component)
    }
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: wasmtime requires that the file was produced by
    // `Component::serialize` of a compatible engine and is not modified while
    // mapped. Only this cache writes into its folder, always through a
    // rename of a complete file, and the engine key in the name ties the
    // file to this engine's settings; wasmtime re-checks version and
    // settings in the file header and refuses a mismatch.
    unsafe { Component::deserialize_file(engine, path) }
}

fn store(component: &Component, path: &Path) -> std::io::Result<()> {
    let bytes = component.serialize().map_err(std::io::Error::other)?;
    let dir = path.parent().expect("cache files live in the cache folder");
    std::fs::create_dir_all(dir)?;
    let tmp =
        dir.join(format!(".{}.{}.tmp", std::process::id(), path.file_name().unwrap_or_default().to_string_lossy()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
