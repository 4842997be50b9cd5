//! A plugin *project*: the source folder a partner works in, as opposed to
//! the package the host loads. Its `plugin.toml` is the package manifest
//! without `component`/`sha256` (the build adds those) plus a `[build]`
//! table saying which language it is written in.

use crate::error::KitError;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use tessera_runtime::{TomlFile, WorldVersion, check_identity};

/// A language plugins can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Rust, built by cargo for `wasm32-wasip2`.
    Rust,
    /// Python, built by componentize-py.
    Python,
    /// JavaScript, built by componentize-qjs (QuickJS).
    Js,
}

impl Lang {
    /// Every language, in the order they are documented.
    pub const ALL: [Lang; 3] = [Lang::Rust, Lang::Python, Lang::Js];

    /// The name used in `plugin.toml` and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
        }
    }

    /// The source file a project of this language starts from.
    pub fn default_source(self) -> &'static str {
        match self {
            Lang::Rust => "src/lib.rs",
            Lang::Python => "app.py",
            Lang::Js => "plugin.js",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Lang, String> {
        match s {
            "rust" => Ok(Lang::Rust),
            "python" | "py" => Ok(Lang::Python),
            "js" | "javascript" => Ok(Lang::Js),
            other => Err(format!("language `{other}` is not one of rust, python, js")),
        }
    }
}

#[derive(Deserialize)]
struct RawProject {
    id: String,
    version: String,
    kind: String,
    world: String,
    build: Option<RawBuild>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBuild {
    lang: String,
    source: Option<String>,
    wit: Option<String>,
}

/// A plugin project folder.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project folder.
    pub dir: PathBuf,
    /// Plugin id.
    pub id: String,
    /// Plugin version.
    pub version: String,
    /// Its world and contract version.
    pub world: WorldVersion,
    /// The language it is written in.
    pub lang: Lang,
    /// The entry source file, relative to `dir` (Python: the module's file).
    pub source: String,
    /// The contract's WIT folder, relative to `dir` (default `wit`).
    pub wit: String,
    /// `plugin.toml` as written.
    pub manifest_text: String,
    /// Where builds go (default `dist/` in the project).
    pub dist: PathBuf,
}

impl Project {
    /// Reads a project's `plugin.toml`. A project without `[build]` is a
    /// Rust project (as the sample plugins in this repository are).
    pub fn open(dir: &Path) -> Result<Project, KitError> {
        // Build tools run inside the project folder: every path must be absolute.
        let dir = &dir.canonicalize().map_err(|e| KitError::io(dir, e))?;
        let file = TomlFile::<RawProject>::read(&dir.join("plugin.toml"))?;
        let raw = &file.value;
        let (_, world) = check_identity(&raw.id, &raw.version, &raw.kind, &raw.world)
            .map_err(|e| file.error_at(&[e.key()], e.to_string()))?;
        let (lang, source, wit) = match &raw.build {
            None => (Lang::Rust, None, None),
            Some(b) => {
                let lang = b.lang.parse().map_err(|e: String| file.error_at(&["build", "lang"], e))?;
                (lang, b.source.clone(), b.wit.clone())
            }
        };
        let source = source.unwrap_or_else(|| lang.default_source().to_owned());
        if source.starts_with('/') || source.split('/').any(|p| p == "..") {
            let message = format!("build.source `{source}` must be a path inside the project");
            return Err(file.error_at(&["build", "source"], message).into());
        }
        let wit = wit.unwrap_or_else(|| "wit".to_owned());
        Ok(Project {
            dir: dir.to_path_buf(),
            id: raw.id.clone(),
            version: raw.version.clone(),
            world,
            lang,
            source,
            wit,
            manifest_text: file.text,
            dist: dir.join("dist"),
        })
    }

    /// `id@version`.
    pub fn name(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    /// Builds go to `dist` instead of the project's `dist/` (made absolute).
    pub fn with_dist(mut self, dist: &Path) -> Result<Project, KitError> {
        std::fs::create_dir_all(dist).map_err(|e| KitError::io(dist, e))?;
        self.dist = dist.canonicalize().map_err(|e| KitError::io(dist, e))?;
        Ok(self)
    }

    /// Where `build` puts the package: `<dist>/<id>-<version>/`.
    pub fn package_dir(&self) -> PathBuf {
        self.dist.join(format!("{}-{}", self.id, self.version))
    }

    /// The project's fixture folder.
    pub fn fixtures_dir(&self) -> PathBuf {
        self.dir.join("fixtures")
    }
}
