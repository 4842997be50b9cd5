//! `plugin.toml`: what a plugin is, which contract it implements, what it
//! needs (capabilities) and how much (limits). This is the plugin's key of
//! the two-key capability model; the tenant's grant is the other.

use crate::limits::LimitSpec;
use crate::version::{Kind, VersionError, WorldVersion};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use tessera_diagnostic::{FileDiagnostic, TomlFile};

/// A parsed, checked `plugin.toml` of a packaged plugin.
#[derive(Debug, Clone)]
pub struct PluginManifest {
    /// Lower-case id, `a-z 0-9 -`.
    pub id: String,
    /// The plugin's own version (semver).
    pub version: String,
    /// Which world it implements.
    pub kind: Kind,
    /// Which version of that world.
    pub world: WorldVersion,
    /// Hex sha256 of the component file.
    pub sha256: String,
    /// The component file, resolved against the manifest's folder.
    pub component: PathBuf,
    /// Human description.
    pub description: String,
    /// Asset folders the plugin needs to read.
    pub assets: Vec<String>,
    /// Whether the plugin keeps state across documents (see [`Reuse`]).
    pub reuse: Reuse,
    /// Limits the plugin asks for.
    pub limits: LimitSpec,
}

/// How long one plugin instance may live: the `reuse` capability.
///
/// A formatter or fragment declares `reuse = "run"` when it is built to
/// serve several documents from one instance (keeping parsed fonts or
/// caches, or just sparing the instance's start-up), its output depending on
/// each call's input alone; the tenant grants it with the same key. Only
/// when both say so does the host keep instances across the documents of
/// that tenant's run — never across tenants. Without it every call gets a
/// fresh instance. (A translator's instance lives for its source anyway.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reuse {
    /// A fresh instance per call (the default).
    #[default]
    Call,
    /// One instance may serve many documents of one tenant's run.
    Run,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    id: String,
    version: String,
    kind: String,
    world: String,
    sha256: Option<String>,
    component: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    capabilities: RawCapabilities,
    #[serde(default)]
    limits: LimitSpec,
    /// How the plugin kit builds the project (`lang`, `source`, `wit`);
    /// packaged with the manifest, and of no meaning to the host.
    #[serde(default)]
    #[allow(dead_code)]
    build: Option<toml::Table>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCapabilities {
    #[serde(default)]
    assets: Vec<String>,
    #[serde(default)]
    reuse: Reuse,
}

/// A `plugin.toml` that cannot be used: the file, the line and column of
/// the key at fault, and what is wrong.
pub type ManifestError = FileDiagnostic;

/// Why a plugin's id, version, kind or world is not acceptable.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The id is not `a-z 0-9 -`.
    #[error("id `{0}` must be lower-case letters, digits and `-`")]
    Id(String),
    /// The plugin's version is not semver.
    #[error("version `{version}` is not MAJOR.MINOR.PATCH")]
    Version {
        /// As written.
        version: String,
        /// What the semver parser said.
        #[source]
        source: semver::Error,
    },
    /// The kind is not one of the three.
    #[error(transparent)]
    Kind(VersionError),
    /// The world is not `kind@MAJOR.MINOR.PATCH`.
    #[error(transparent)]
    World(VersionError),
    /// The world is of another kind.
    #[error("kind is `{kind}` but world is `{world}`")]
    Mismatch {
        /// The declared kind.
        kind: Kind,
        /// The declared world.
        world: WorldVersion,
    },
}

impl IdentityError {
    /// The `plugin.toml` key the error is about.
    pub fn key(&self) -> &'static str {
        match self {
            IdentityError::Id(_) => "id",
            IdentityError::Version { .. } => "version",
            IdentityError::Kind(_) => "kind",
            IdentityError::World(_) | IdentityError::Mismatch { .. } => "world",
        }
    }
}

impl PluginManifest {
    /// Reads `plugin.toml` from a package folder.
    pub fn read(package_dir: &Path) -> Result<PluginManifest, ManifestError> {
        let file = TomlFile::<RawManifest>::read(&package_dir.join("plugin.toml"))?;
        let raw = &file.value;
        let (kind, world) = check_identity(&raw.id, &raw.version, &raw.kind, &raw.world)
            .map_err(|e| file.error_at(&[e.key()], e.to_string()))?;
        let Some(sha256) = raw.sha256.clone() else {
            return Err(FileDiagnostic::file(&file.path, "no `sha256`: package the plugin with its build first"));
        };
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(file.error_at(&["sha256"], "`sha256` must be 64 hex digits"));
        }
        let Some(component) = raw.component.clone() else {
            return Err(FileDiagnostic::file(&file.path, "no `component` file named"));
        };
        if component.contains('/') || component.contains('\\') || component.starts_with('.') {
            let message = format!("component `{component}` must be a file name inside the package folder");
            return Err(file.error_at(&["component"], message));
        }
        for asset in &raw.capabilities.assets {
            if !is_id(asset) {
                let message = format!("capabilities.assets entry `{asset}` must be a folder name (a-z 0-9 -)");
                return Err(file.error_at(&["capabilities", "assets"], message));
            }
        }
        let raw = file.value;
        Ok(PluginManifest {
            id: raw.id,
            version: raw.version,
            kind,
            world,
            sha256: sha256.to_ascii_lowercase(),
            component: package_dir.join(component),
            description: raw.description,
            assets: raw.capabilities.assets,
            reuse: raw.capabilities.reuse,
            limits: raw.limits,
        })
    }
}

/// The checks every `plugin.toml` passes, packaged or not (the plugin kit
/// reads projects with it): a valid id and version, a known kind, and a
/// world of that kind.
pub fn check_identity(id: &str, version: &str, kind: &str, world: &str) -> Result<(Kind, WorldVersion), IdentityError> {
    if !is_id(id) {
        return Err(IdentityError::Id(id.to_owned()));
    }
    semver::Version::parse(version).map_err(|source| IdentityError::Version { version: version.to_owned(), source })?;
    let kind: Kind = kind.parse().map_err(IdentityError::Kind)?;
    let world: WorldVersion = world.parse().map_err(IdentityError::World)?;
    if world.kind != kind {
        return Err(IdentityError::Mismatch { kind, world });
    }
    Ok((kind, world))
}

/// Lower-case letters, digits and inner dashes.
pub fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) {
        std::fs::write(dir.join("plugin.toml"), text).unwrap();
    }

    const GOOD: &str = r#"
component = "x.wasm"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
id = "x"
version = "1.2.3"
kind = "fragment"
world = "fragment@0.1.0"
[limits]
fuel = 5
"#;

    #[test]
    fn reads_a_packaged_manifest() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), GOOD);
        let m = PluginManifest::read(d.path()).unwrap();
        assert_eq!(m.kind, Kind::Fragment);
        assert_eq!(m.world.to_string(), "fragment@0.1.0");
        assert_eq!(m.limits.fuel, Some(5));
        assert_eq!(m.component, d.path().join("x.wasm"));
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "id = \"x\"\nversion = 1.2.3.4\n");
        let e = PluginManifest::read(d.path()).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn world_must_match_kind() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), &GOOD.replace("kind = \"fragment\"", "kind = \"formatter\""));
        let e = PluginManifest::read(d.path()).unwrap_err();
        assert!(e.message.contains("kind is `formatter` but world is `fragment@0.1.0`"), "{e}");
        assert_eq!((e.line, e.column), (Some(7), Some(1)), "at the `world` key: {e}");
    }

    #[test]
    fn unpackaged_manifest_is_refused() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), &GOOD.replace("sha256 = ", "# sha256 = "));
        assert!(PluginManifest::read(d.path()).unwrap_err().message.contains("no `sha256`"));
    }

    #[test]
    fn component_must_stay_in_the_package() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), &GOOD.replace("\"x.wasm\"", "\"../x.wasm\""));
        assert!(PluginManifest::read(d.path()).unwrap_err().message.contains("inside the package folder"));
    }
}
