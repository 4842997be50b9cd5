//! Builds the guest plugins under `plugins/` for `wasm32-wasip2` and packages
//! each one (the component, with its world embedded, and `plugin.toml` with
//! its sha256) into `OUT_DIR`, the way wasmtime's test-programs crate builds
//! its guests: `cargo build` and `cargo test` just work, with no separate
//! step to remember.
//!
//! The guests are their own cargo workspace with their own target directory
//! (`<target>/wasm-plugins`), so the nested cargo never waits on the lock of
//! the outer build. Paths are remapped so the components do not depend on
//! where the repository was cloned.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";
/// Folders under `plugins/` that hold one plugin per subfolder.
const KIND_DIRS: &[&str] = &["translators", "fragments", "formatters", "test"];

#[derive(Deserialize)]
struct CargoToml {
    package: Package,
}

#[derive(Deserialize)]
struct Package {
    name: String,
}

#[derive(Deserialize)]
struct Manifest {
    id: String,
    version: String,
    kind: String,
    world: String,
}

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir.join("../..").canonicalize().expect("repository root");
    let plugins = root.join("plugins");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));
    for watched in ["plugins", "wit"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    ensure_wasm_target();
    let target_dir = cargo_target_dir(&out_dir).join("wasm-plugins");
    // The small plugins share one workspace; Typst and the print composer
    // are big enough to get their own (their own lock files, and features
    // that do not leak into the small plugins' builds).
    for workspace in [
        plugins.join("Cargo.toml"),
        plugins.join("formatters/typst-pdf/Cargo.toml"),
        plugins.join("formatters/print-compose/Cargo.toml"),
    ] {
        build_guests(&root, &workspace, &target_dir);
    }

    let wasm_dir = target_dir.join(TARGET).join("release");
    let store = out_dir.join("plugins");
    let _ = fs::remove_dir_all(&store);
    let mut table = String::new();
    for kind_dir in KIND_DIRS {
        let Ok(entries) = fs::read_dir(plugins.join(kind_dir)) else {
            continue;
        };
        let mut dirs: Vec<PathBuf> =
            // Python and JavaScript plugins (no Cargo.toml) are built by
            // `tessera plugin build`, not by this script.
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.join("plugin.toml").is_file() && p.join("Cargo.toml").is_file())
                .collect();
        dirs.sort();
        for dir in dirs {
            let row = package(&dir, &wasm_dir, &store);
            table.push_str(&row);
        }
    }
    let code = format!(
        "/// The folder holding every packaged sample and test plugin.\npub const STORE: &str = {:?};\n\n/// Every packaged plugin.\npub const PLUGINS: &[Artifact] = &[\n{table}];\n",
        store.display().to_string()
    );
    fs::write(out_dir.join("artifacts.rs"), code).expect("write artifacts.rs");
}

/// Copies one plugin's component into the store with its manifest and digest.
fn package(dir: &Path, wasm_dir: &Path, store: &Path) -> String {
    let cargo: CargoToml = read_toml(&dir.join("Cargo.toml"));
    let manifest_text = fs::read_to_string(dir.join("plugin.toml")).expect("read plugin.toml");
    let manifest: Manifest = read_toml(&dir.join("plugin.toml"));
    let wasm = wasm_dir.join(format!("{}.wasm", cargo.package.name.replace('-', "_")));
    let bytes = fs::read(&wasm).unwrap_or_else(|e| panic!("{} was not built: {e}", wasm.display()));
    // As `tessera plugin build` does: the world it was built for, inside the component.
    let bytes = tessera_world_section::embed_world(&bytes, &manifest.world);
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let package_dir = store.join(format!("{}-{}", manifest.id, manifest.version));
    fs::create_dir_all(&package_dir).expect("create package folder");
    let component = format!("{}.wasm", manifest.id);
    fs::write(package_dir.join(&component), &bytes).expect("copy component");
    // Top-level keys go before the manifest's tables.
    let packaged = format!("component = {component:?}\nsha256 = {sha256:?}\n{manifest_text}");
    fs::write(package_dir.join("plugin.toml"), packaged).expect("write plugin.toml");
    let mut row = String::new();
    writeln!(
        row,
        "    Artifact {{ id: {:?}, version: {:?}, kind: {:?}, sha256: {:?}, dir: {:?} }},",
        manifest.id,
        manifest.version,
        manifest.kind,
        sha256,
        package_dir.display().to_string()
    )
    .expect("write to string");
    row
}

fn read_toml<T: for<'de> Deserialize<'de>>(path: &Path) -> T {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The outer build's target directory: the ancestor of OUT_DIR that cargo
/// marked with `CACHEDIR.TAG` (works with `CARGO_TARGET_DIR` and `--target`).
fn cargo_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|p| p.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out_dir.to_path_buf())
}

/// Installs the wasm32-wasip2 standard library with rustup when it is
/// missing (machines here set RUSTUP_AUTO_INSTALL=0, so nothing else will).
fn ensure_wasm_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc).args(["--print", "sysroot"]).output().expect("run rustc --print sysroot");
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if sysroot.join("lib/rustlib").join(TARGET).is_dir() {
        return;
    }
    println!("cargo:warning=installing the Rust target {TARGET} with rustup (needed to build the plugins)");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .unwrap_or_else(|e| panic!("the Rust target {TARGET} is missing and rustup could not be run ({e}); install it with `rustup target add {TARGET}`"));
    assert!(status.success(), "`rustup target add {TARGET}` failed; install the target and build again");
}

fn build_guests(root: &Path, manifest: &Path, target_dir: &Path) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let cargo_home = env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env::var("HOME").unwrap_or_default()).join(".cargo"));
    // Remapped paths make the components independent of the clone's location.
    let rustflags = [
        format!("--remap-path-prefix={}=/tessera", root.display()),
        format!("--remap-path-prefix={}=/cargo", cargo_home.display()),
    ]
    .join("\x1f");
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--locked")
        .args(["--target", TARGET])
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags);
    // The guests are built the same way whatever the outer command is:
    // `cargo clippy` passes clippy-driver down as a wrapper, which would lint
    // them with the host's flags and change their fingerprints.
    for var in [
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PROFILE_RELEASE_DEBUG",
        "RUSTC_WORKSPACE_WRAPPER",
        "CLIPPY_ARGS",
        "CLIPPY_CONF_DIR",
    ] {
        cmd.env_remove(var);
    }
    let output = cmd.output().expect("run cargo to build the plugins");
    if !output.status.success() {
        panic!("building the plugins of {} failed:\n{}", manifest.display(), String::from_utf8_lossy(&output.stderr));
    }
}
