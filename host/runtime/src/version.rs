//! Plugin kinds and contract versions as written: `fragment@0.2.0` in a
//! manifest, `tessera:plugin/render@0.2.0` in a component's exports.
//! Versions are [`semver::Version`]s; which ones this host runs is
//! [`crate::contract`]'s to say.

use semver::Version;
use std::fmt;
use std::str::FromStr;

/// The three plugin worlds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Source data → CDM records.
    Translator,
    /// Computed content blocks.
    Fragment,
    /// Composed document → output bytes.
    Formatter,
}

impl Kind {
    /// Every world, in the contract's order.
    pub const ALL: [Kind; 3] = [Kind::Translator, Kind::Fragment, Kind::Formatter];

    /// The world's name in WIT.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Translator => "translator",
            Kind::Fragment => "fragment",
            Kind::Formatter => "formatter",
        }
    }

    /// The interface the world exports (its version is the contract version).
    pub fn export_interface(self) -> &'static str {
        match self {
            Kind::Translator => "translate",
            Kind::Fragment => "render",
            Kind::Formatter => "format",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A world or version that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    /// Not one of the three worlds.
    #[error("kind `{0}` is not one of translator, fragment, formatter")]
    Kind(String),
    /// Not `WORLD@VERSION`.
    #[error("world `{0}` must be written WORLD@VERSION, e.g. fragment@0.1.0")]
    World(String),
    /// Not a semantic version.
    #[error("`{text}` is not MAJOR.MINOR.PATCH")]
    Version {
        /// What was written.
        text: String,
        /// What the semver parser said.
        #[source]
        source: semver::Error,
    },
}

impl FromStr for Kind {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, VersionError> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| VersionError::Kind(s.to_owned()))
    }
}

/// Reads a contract version.
pub fn parse_version(s: &str) -> Result<Version, VersionError> {
    Version::parse(s).map_err(|source| VersionError::Version { text: s.to_owned(), source })
}

/// A world and its contract version, written `fragment@0.1.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorldVersion {
    /// Which world.
    pub kind: Kind,
    /// Which `tessera:plugin` version.
    pub version: Version,
}

impl FromStr for WorldVersion {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, VersionError> {
        let (kind, version) = s.split_once('@').ok_or_else(|| VersionError::World(s.to_owned()))?;
        Ok(WorldVersion { kind: kind.parse()?, version: parse_version(version)? })
    }
}

impl fmt::Display for WorldVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.kind, self.version)
    }
}

/// The contract version in an export name such as
/// `tessera:plugin/render@0.1.0`, when the name is that interface.
pub fn exported_version(export_name: &str, kind: Kind) -> Option<Result<Version, VersionError>> {
    let rest = export_name.strip_prefix("tessera:plugin/")?;
    let (iface, version) = rest.split_once('@').unwrap_or((rest, ""));
    if iface != kind.export_interface() {
        return None;
    }
    Some(parse_version(version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_worlds() {
        let w: WorldVersion = "translator@0.1.0".parse().unwrap();
        assert_eq!(w.kind, Kind::Translator);
        assert_eq!(w.version, Version::new(0, 1, 0));
        assert!(matches!("translator".parse::<WorldVersion>(), Err(VersionError::World(_))));
        assert!(matches!("painter@0.1.0".parse::<WorldVersion>(), Err(VersionError::Kind(_))));
        assert!(matches!("fragment@0.1".parse::<WorldVersion>(), Err(VersionError::Version { .. })));
    }

    #[test]
    fn reads_the_version_from_export_names() {
        assert_eq!(
            exported_version("tessera:plugin/render@9.0.0", Kind::Fragment).map(Result::unwrap),
            Some(Version::new(9, 0, 0))
        );
        assert!(exported_version("tessera:plugin/format@0.1.0", Kind::Fragment).is_none());
        assert!(exported_version("wasi:cli/run@0.2.0", Kind::Fragment).is_none());
    }
}
