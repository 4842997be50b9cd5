//! Inspecting a component before anyone runs it (`tessera plugin check`):
//! its size and sha256, the world and contract version it really exports
//! (read from the component's own export names, not from what its
//! `plugin.toml` claims), and each import with what this host does about
//! it — provided by the contract, provided by WASI but denied or pinned by
//! the sandbox, or not provided at all. The last word is the linker's: a
//! component the host could not instantiate is refused, whatever the list
//! says.

use crate::contract::{host_contract, host_supports, supported_list};
use crate::engine::Runtime;
use crate::version::{Kind, exported_version, parse_version};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What the host does with one import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", content = "note", rename_all = "kebab-case")]
pub enum ImportVerdict {
    /// Part of the `tessera:plugin` contract.
    Contract,
    /// WASI the sandbox provides, with how it is pinned (clock, randomness).
    Provided(&'static str),
    /// WASI that links but gives nothing at run time (no folders, no network, no environment).
    Denied(&'static str),
    /// Not provided: the host refuses the component.
    Refused(String),
}

/// One import of the component.
#[derive(Debug, Clone, Serialize)]
pub struct ImportCheck {
    /// The import's name (`wasi:cli/environment@0.2.6`).
    pub name: String,
    /// What the host does with it.
    #[serde(flatten)]
    pub verdict: ImportVerdict,
}

/// The world a component exports.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedWorld {
    /// Which world.
    pub kind: String,
    /// The contract version in the export name.
    pub version: String,
    /// Whether this host runs that version.
    pub supported: bool,
    /// A translator whose contract lets it cut a source into shards that
    /// translate on every core (0.3.0 and later); false for other worlds.
    pub splits_sources: bool,
}

/// Everything `plugin check` reports about a component.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// Bytes.
    pub size: u64,
    /// Hex sha256 (what a tenant pins).
    pub sha256: String,
    /// The `tessera:plugin` worlds it exports (one, for a usable plugin).
    pub worlds: Vec<ExportedWorld>,
    /// Every export name.
    pub exports: Vec<String>,
    /// Every import, with the host's verdict.
    pub imports: Vec<ImportCheck>,
    /// The newest contract version this host implements.
    pub host_contract: String,
    /// Why the linker could not instantiate it, if it could not.
    pub link_error: Option<String>,
    /// The world `plugin build` (or the sample build) embedded, when it did.
    pub embedded_world: Option<String>,
}

/// What the sandbox does with an import, by name.
pub fn import_verdict(name: &str) -> ImportVerdict {
    let (path, version) = name.split_once('@').unwrap_or((name, ""));
    if let Some(iface) = path.strip_prefix("tessera:plugin/") {
        return match (iface, parse_version(version)) {
            ("host" | "types", Ok(v)) if host_supports(&v) => ImportVerdict::Contract,
            ("host" | "types", _) => ImportVerdict::Refused(format!(
                "this host runs tessera:plugin {}; the component wants {version}",
                supported_list()
            )),
            _ => ImportVerdict::Refused(format!(
                "tessera:plugin has no `{iface}` interface to import (plugins import host and types)"
            )),
        };
    }
    let package = path.split('/').next().unwrap_or(path);
    match (package, path) {
        (_, "wasi:cli/environment") => ImportVerdict::Denied("an empty environment: no variables, no arguments"),
        ("wasi:filesystem", _) => {
            ImportVerdict::Denied("no folder is open: read granted assets through host.read-asset")
        }
        ("wasi:sockets", _) => ImportVerdict::Denied("no network"),
        ("wasi:clocks", _) => ImportVerdict::Provided("frozen at the job's as-of date"),
        ("wasi:random", _) => ImportVerdict::Provided("seeded per document (reproducible)"),
        (_, "wasi:cli/exit") => ImportVerdict::Provided("ends the call"),
        ("wasi:cli", p) if p.starts_with("wasi:cli/terminal") => ImportVerdict::Provided("no terminal is attached"),
        ("wasi:cli", _) => ImportVerdict::Provided("stdout and stderr go to the capped plugin log; stdin is empty"),
        ("wasi:io", _) => ImportVerdict::Provided("streams and polling for the above"),
        _ => ImportVerdict::Refused("this host does not provide it".into()),
    }
}

impl Inspection {
    /// Every reason the host would refuse the component (empty: it would run it).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self.worlds.as_slice() {
            [] => {
                out.push("exports no tessera:plugin world (translate, render or format): build it against wit/".into())
            }
            [one] if !one.supported => out.push(format!(
                "built for tessera:plugin@{}, which this host does not run (it runs {}): build it against \
                 one of those or upgrade the host",
                one.version,
                supported_list()
            )),
            [_] => {}
            many => out.push(format!(
                "exports {} worlds at once; a plugin is exactly one of translator, fragment, formatter",
                many.len()
            )),
        }
        for import in &self.imports {
            if let ImportVerdict::Refused(why) = &import.verdict {
                out.push(format!("imports {}: {why}", import.name));
            }
        }
        if let Some(e) = &self.link_error {
            out.push(format!("the host cannot instantiate it: {e}"));
        }
        if let Some(embedded) = &self.embedded_world {
            let exported: Vec<String> = self.worlds.iter().map(|w| format!("{}@{}", w.kind, w.version)).collect();
            if !exported.contains(embedded) {
                out.push(format!(
                    "the component was built for {embedded} (its embedded world) but exports {}",
                    if exported.is_empty() { "none".into() } else { exported.join(", ") }
                ));
            }
        }
        out
    }
}

/// Why a file could not be inspected.
#[derive(Debug, thiserror::Error)]
#[error("not a valid WebAssembly component")]
pub struct InspectError(#[source] pub wasmtime::Error);

impl Runtime {
    /// Compiles (or takes from the cache) and inspects a component.
    pub fn inspect(&self, bytes: &[u8]) -> Result<Inspection, InspectError> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        let (component, _) = self.cache.load(&self.engine, &sha256, bytes).map_err(InspectError)?;
        let ty = component.component_type();
        let exports: Vec<String> = ty.exports(&self.engine).map(|(n, _)| n.to_owned()).collect();
        let imports: Vec<ImportCheck> = ty
            .imports(&self.engine)
            .map(|(n, _)| ImportCheck { name: n.to_owned(), verdict: import_verdict(n) })
            .collect();
        let mut worlds = Vec::new();
        for export in &exports {
            for kind in [Kind::Translator, Kind::Fragment, Kind::Formatter] {
                if let Some(version) = exported_version(export, kind) {
                    let (version, supported, splits) = match version {
                        Ok(v) => {
                            let contract = crate::contract::for_version(&v);
                            (v.to_string(), contract.is_some(), contract.is_some_and(|c| c.splits_sources()))
                        }
                        Err(_) => (export.split_once('@').map_or("", |(_, v)| v).to_owned(), false, false),
                    };
                    let splits_sources = kind == Kind::Translator && splits;
                    worlds.push(ExportedWorld { kind: kind.as_str().to_owned(), version, supported, splits_sources });
                }
            }
        }
        let link_error = self.linker.instantiate_pre(&component).err().map(|e| format!("{e:#}"));
        Ok(Inspection {
            size: bytes.len() as u64,
            sha256,
            worlds,
            exports,
            imports,
            host_contract: host_contract().to_string(),
            link_error,
            embedded_world: tessera_world_section::embedded_world(bytes),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_judged_by_the_sandbox_they_meet() {
        assert_eq!(import_verdict("tessera:plugin/host@0.1.0"), ImportVerdict::Contract);
        assert!(matches!(import_verdict("tessera:plugin/host@0.9.0"), ImportVerdict::Refused(_)));
        assert!(matches!(import_verdict("tessera:plugin/secrets@0.1.0"), ImportVerdict::Refused(_)));
        assert!(matches!(import_verdict("wasi:cli/environment@0.2.6"), ImportVerdict::Denied(_)));
        assert!(matches!(import_verdict("wasi:filesystem/preopens@0.2.6"), ImportVerdict::Denied(_)));
        assert!(matches!(import_verdict("wasi:sockets/tcp@0.2.6"), ImportVerdict::Denied(_)));
        assert!(matches!(import_verdict("wasi:clocks/wall-clock@0.2.6"), ImportVerdict::Provided(_)));
        assert!(matches!(import_verdict("wasi:io/streams@0.2.6"), ImportVerdict::Provided(_)));
        assert!(matches!(import_verdict("wasi:http/outgoing-handler@0.2.6"), ImportVerdict::Refused(_)));
        assert!(matches!(import_verdict("acme:secret/keys"), ImportVerdict::Refused(_)));
    }
}
