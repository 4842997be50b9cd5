//! Plugin kinds and contract versions: which `tessera:plugin` versions this
//! host runs, and how to read the version a component was really built for
//! from the component itself (its exported interface names carry it).

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

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "translator" => Ok(Kind::Translator),
            "fragment" => Ok(Kind::Fragment),
            "formatter" => Ok(Kind::Formatter),
            other => Err(format!("kind `{other}` is not one of translator, fragment, formatter")),
        }
    }
}

/// A semantic version `MAJOR.MINOR.PATCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SemVer {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch.
    pub patch: u32,
}

impl FromStr for SemVer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('.').collect();
        let num = |p: &str| p.parse::<u32>().map_err(|_| format!("`{s}` is not MAJOR.MINOR.PATCH"));
        match parts.as_slice() {
            [a, b, c] => Ok(SemVer { major: num(a)?, minor: num(b)?, patch: num(c)? }),
            _ => Err(format!("`{s}` is not MAJOR.MINOR.PATCH")),
        }
    }
}

impl fmt::Display for SemVer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A world and its contract version, written `fragment@0.1.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorldVersion {
    /// Which world.
    pub kind: Kind,
    /// Which `tessera:plugin` version.
    pub version: SemVer,
}

impl FromStr for WorldVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, version) = s
            .split_once('@')
            .ok_or_else(|| format!("world `{s}` must be written WORLD@VERSION, e.g. fragment@0.1.0"))?;
        Ok(WorldVersion { kind: kind.parse()?, version: version.parse()? })
    }
}

impl fmt::Display for WorldVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.kind, self.version)
    }
}

/// The newest `tessera:plugin` version this host implements.
pub const HOST_CONTRACT: SemVer = SemVer { major: 0, minor: 2, patch: 0 };

/// Every contract release this host runs, oldest first. A release is frozen
/// once listed: plugins built for it keep running on every later host of
/// the same major version (through [`crate::adapter`]).
pub const SUPPORTED_CONTRACTS: &[SemVer] =
    &[SemVer { major: 0, minor: 1, patch: 0 }, SemVer { major: 0, minor: 2, patch: 0 }];

/// Does this host run plugins built for `v`? It does for every release it
/// lists, and for an older patch of one; never for a newer one.
pub fn host_supports(v: SemVer) -> bool {
    SUPPORTED_CONTRACTS.iter().any(|s| s.major == v.major && s.minor == v.minor && v.patch <= s.patch)
}

/// The supported releases, as `0.1.0, 0.2.0`.
pub fn supported_list() -> String {
    SUPPORTED_CONTRACTS.iter().map(SemVer::to_string).collect::<Vec<_>>().join(", ")
}

/// The contract version in an export name such as
/// `tessera:plugin/render@0.1.0`, when the name is that interface.
pub fn exported_version(export_name: &str, kind: Kind) -> Option<Result<SemVer, String>> {
    let rest = export_name.strip_prefix("tessera:plugin/")?;
    let (iface, version) = rest.split_once('@').unwrap_or((rest, ""));
    if iface != kind.export_interface() {
        return None;
    }
    Some(version.parse())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_worlds() {
        let w: WorldVersion = "translator@0.1.0".parse().unwrap();
        assert_eq!(w.kind, Kind::Translator);
        assert_eq!(w.version, SemVer { major: 0, minor: 1, patch: 0 });
        assert!("translator".parse::<WorldVersion>().is_err());
        assert!("painter@0.1.0".parse::<WorldVersion>().is_err());
    }

    #[test]
    fn supports_every_listed_release_and_nothing_newer() {
        assert!(host_supports("0.1.0".parse().unwrap()));
        assert!(host_supports("0.2.0".parse().unwrap()));
        assert!(!host_supports("0.3.0".parse().unwrap()));
        assert!(!host_supports("9.0.0".parse().unwrap()));
        assert!(!host_supports("0.1.1".parse().unwrap()), "a newer patch of the contract is newer than the host");
        assert_eq!(supported_list(), "0.1.0, 0.2.0");
    }

    #[test]
    fn reads_the_version_from_export_names() {
        assert_eq!(exported_version("tessera:plugin/render@9.0.0", Kind::Fragment), Some(Ok("9.0.0".parse().unwrap())));
        assert_eq!(exported_version("tessera:plugin/format@0.1.0", Kind::Fragment), None);
        assert_eq!(exported_version("wasi:cli/run@0.2.0", Kind::Fragment), None);
    }
}
