//! `tessera plugin build`: a project becomes a package the host can load —
//! `dist/<id>-<version>/<id>.wasm` and a `plugin.toml` that records the
//! component's file name and sha256 ahead of the project's own manifest.
//! The world is embedded in the component ([`crate::embed_world`]) before
//! the digest is taken. The package folder is replaced whole, so a failed
//! build leaves the previous package as it was.

use crate::error::KitError;
use crate::project::{Lang, Project};
use crate::toolchain::{self, RUST_TARGET, tail};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tessera_runtime::FileDiagnostic;

/// A built package.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Built {
    /// `id@version`.
    pub plugin: String,
    /// The package folder (give it to `plugin check`, or `--plugins` its parent).
    pub package_dir: PathBuf,
    /// The component file inside it.
    pub component: PathBuf,
    /// Its sha256, for the tenant's pin.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// The tool that compiled it.
    pub tool: String,
    /// Wall time of the build.
    #[serde(serialize_with = "millis")]
    pub elapsed: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u128(d.as_millis())
}

/// Builds the project with its language's tool.
pub fn build(project: &Project) -> Result<Built, KitError> {
    let started = Instant::now();
    let tool = toolchain::ensure(project.lang)?;
    let staging = project.dist.join(format!(".build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| KitError::io(&staging, e))?;
    let result = compile(project, &tool, &staging).and_then(|wasm| package(project, &wasm, &staging));
    let _ = std::fs::remove_dir_all(&staging);
    let (component, sha256, size) = result?;
    let tool_name = match project.lang {
        Lang::Rust => format!("cargo ({RUST_TARGET})"),
        Lang::Python => format!("componentize-py {}", toolchain::COMPONENTIZE_PY),
        Lang::Js => format!("componentize-qjs {}", toolchain::COMPONENTIZE_QJS),
    };
    Ok(Built {
        plugin: project.name(),
        package_dir: project.package_dir(),
        component,
        sha256,
        size,
        tool: tool_name,
        elapsed: started.elapsed(),
    })
}

/// Runs the language's compiler; returns the component it wrote.
fn compile(project: &Project, tool: &Path, staging: &Path) -> Result<PathBuf, KitError> {
    let out = staging.join(format!("{}.wasm", project.id));
    let world = project.world.kind.as_str();
    match project.lang {
        Lang::Rust => {
            let manifest = project.dir.join("Cargo.toml");
            let mut cmd = Command::new(tool);
            cmd.args(["build", "--release", "--target", RUST_TARGET, "--message-format=json-render-diagnostics"])
                .arg("--manifest-path")
                .arg(&manifest)
                .env("CARGO_ENCODED_RUSTFLAGS", reproducible_rustflags(project));
            let stdout = run(project, "cargo", &mut cmd)?;
            // cargo names the artifact after the crate; read it from cargo itself.
            let wasm = stdout
                .lines()
                .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
                .filter(|m| m["reason"] == "compiler-artifact")
                .flat_map(|m| m["filenames"].as_array().cloned().unwrap_or_default())
                .filter_map(|f| f.as_str().map(PathBuf::from))
                .rfind(|f| f.extension().is_some_and(|e| e == "wasm"))
                .ok_or_else(|| KitError::BuildFailed {
                    plugin: project.name(),
                    tool: "cargo".into(),
                    status: "0".into(),
                    output: format!("{} built no .wasm file: is it a `cdylib`?", manifest.display()),
                })?;
            std::fs::copy(&wasm, &out).map_err(|e| KitError::io(&wasm, e))?;
        }
        Lang::Python => {
            let module = Path::new(&project.source).file_stem().and_then(|s| s.to_str()).ok_or_else(|| {
                let message = format!("build.source `{}` is not a .py file", project.source);
                let manifest = project.dir.join("plugin.toml");
                KitError::Project(FileDiagnostic::at_key(
                    manifest,
                    &project.manifest_text,
                    &["build", "source"],
                    message,
                ))
            })?;
            let module_dir = project.dir.join(&project.source);
            let module_dir = module_dir.parent().unwrap_or(&project.dir);
            let mut cmd = Command::new(tool);
            // No __pycache__ in the partner's project.
            cmd.current_dir(&project.dir)
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .arg("-d")
                .arg(&project.wit)
                .args(["-w", world, "--quiet", "componentize", module, "-p"])
                .arg(module_dir)
                .arg("-o")
                .arg(&out);
            run(project, "componentize-py", &mut cmd)?;
        }
        Lang::Js => {
            // `--sync`: the host does not enable the component-model async ABI.
            let mut cmd = Command::new(tool);
            cmd.current_dir(&project.dir)
                .arg("--wit")
                .arg(&project.wit)
                .arg("--js")
                .arg(&project.source)
                .args(["--world", world, "--sync", "-o"])
                .arg(&out);
            run(project, "componentize-qjs", &mut cmd)?;
        }
    }
    Ok(out)
}

/// The caller's rustflags plus path remapping: panic locations and debug
/// paths name `/plugin/src/lib.rs`, not the partner's home folder, so the
/// same source builds the same bytes in any folder on any machine (and a
/// tenant can check a pin by building the source).
fn reproducible_rustflags(project: &Project) -> String {
    let mut flags: Vec<String> = match std::env::var("CARGO_ENCODED_RUSTFLAGS") {
        Ok(encoded) if !encoded.is_empty() => encoded.split('\x1f').map(str::to_owned).collect(),
        _ => std::env::var("RUSTFLAGS").unwrap_or_default().split_whitespace().map(str::to_owned).collect(),
    };
    flags.push(format!("--remap-path-prefix={}=/plugin", project.dir.display()));
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(home) = cargo_home {
        flags.push(format!("--remap-path-prefix={}=/cargo", home.display()));
    }
    flags.join("\x1f")
}

/// Embeds the world, writes the package beside the staging folder and
/// swaps it into place.
fn package(project: &Project, wasm: &Path, staging: &Path) -> Result<(PathBuf, String, u64), KitError> {
    let bytes = std::fs::read(wasm).map_err(|e| KitError::io(wasm, e))?;
    let bytes = crate::embed_world(&bytes, &project.world.to_string());
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let next = staging.join("package");
    std::fs::create_dir_all(&next).map_err(|e| KitError::io(&next, e))?;
    let file = format!("{}.wasm", project.id);
    std::fs::write(next.join(&file), &bytes).map_err(|e| KitError::io(next.join(&file), e))?;
    let manifest = format!(
        "# Packaged by `tessera plugin build`: do not edit, edit the project's plugin.toml.\ncomponent = {file:?}\nsha256 = {sha256:?}\n{}",
        project.manifest_text
    );
    std::fs::write(next.join("plugin.toml"), manifest).map_err(|e| KitError::io(next.join("plugin.toml"), e))?;
    let target = project.package_dir();
    let _ = std::fs::remove_dir_all(&target);
    std::fs::rename(&next, &target).map_err(|e| KitError::io(&target, e))?;
    Ok((target.join(file), sha256, bytes.len() as u64))
}

/// Runs a build tool; its stdout on success, its output's end on failure.
fn run(project: &Project, tool: &str, cmd: &mut Command) -> Result<String, KitError> {
    let out = cmd.output().map_err(|e| KitError::BuildFailed {
        plugin: project.name(),
        tool: tool.into(),
        status: "not started".into(),
        output: e.to_string(),
    })?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    if tool != "cargo" {
        text.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    Err(KitError::BuildFailed {
        plugin: project.name(),
        tool: tool.into(),
        status: out.status.code().map_or_else(|| "signal".into(), |c| c.to_string()),
        output: tail(&text, 60),
    })
}
