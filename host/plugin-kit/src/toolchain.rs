//! The build tools for Python and JavaScript plugins, pinned, and installed
//! on first use into a cache folder of their own (never into the partner's
//! project): componentize-py from PyPI into a virtual environment, checked
//! against the wheel hashes in `toolchains/python/requirements.txt`, and
//! componentize-qjs from npm with `npm ci` over the lock file in
//! `toolchains/js/`. An install holds a lock (so parallel builds install
//! once) and is marked complete only at its end, so a half-finished install
//! is never used: it is removed and done again.
//!
//! Rust plugins need only cargo and the `wasm32-wasip2` target, which is
//! added with rustup when missing.

use crate::error::KitError;
use crate::project::Lang;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The componentize-py release Python plugins are built with.
pub const COMPONENTIZE_PY: &str = "0.25.1";
/// The componentize-qjs release JavaScript plugins are built with.
pub const COMPONENTIZE_QJS: &str = "0.4.5";
/// The Rust target plugins are built for.
pub const RUST_TARGET: &str = "wasm32-wasip2";

const PY_REQUIREMENTS: &str = include_str!("../toolchains/python/requirements.txt");
const JS_PACKAGE: &str = include_str!("../toolchains/js/package.json");
const JS_LOCK: &str = include_str!("../toolchains/js/package-lock.json");

/// Where toolchains live: `$TESSERA_TOOLCHAINS`, else the user's cache.
pub fn root() -> PathBuf {
    if let Some(dir) = std::env::var_os("TESSERA_TOOLCHAINS") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("tessera").join("toolchains")
}

/// The tool that builds `lang` plugins, installing it when missing.
/// Returns the program to run (for Rust: cargo).
pub fn ensure(lang: Lang) -> Result<PathBuf, KitError> {
    match lang {
        Lang::Rust => ensure_rust(),
        Lang::Python => ensure_python(&root()),
        Lang::Js => ensure_js(&root()),
    }
}

fn fail(lang: Lang, reason: String) -> KitError {
    let (tool, version) = match lang {
        Lang::Rust => ("the Rust target", RUST_TARGET),
        Lang::Python => ("componentize-py", COMPONENTIZE_PY),
        Lang::Js => ("componentize-qjs", COMPONENTIZE_QJS),
    };
    KitError::Toolchain { tool, version, lang: lang.as_str(), reason }
}

fn ensure_rust() -> Result<PathBuf, KitError> {
    let cargo = PathBuf::from(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| fail(Lang::Rust, format!("cannot run rustc ({e}); install Rust from https://rustup.rs")))?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if sysroot.join("lib/rustlib").join(RUST_TARGET).is_dir() {
        return Ok(cargo);
    }
    // Machines may set RUSTUP_AUTO_INSTALL=0, so nothing else adds it.
    let status = Command::new("rustup")
        .args(["target", "add", RUST_TARGET])
        .status()
        .map_err(|e| fail(Lang::Rust, format!("it is missing and rustup could not be run ({e})")))?;
    if !status.success() {
        return Err(fail(Lang::Rust, format!("`rustup target add {RUST_TARGET}` failed ({status})")));
    }
    Ok(cargo)
}

fn ensure_python(root: &Path) -> Result<PathBuf, KitError> {
    let home = root.join(format!("componentize-py-{COMPONENTIZE_PY}"));
    let tool = home.join("bin/componentize-py");
    install(Lang::Python, &home, |dir| {
        let python = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
        run(Lang::Python, Command::new(&python).args(["-m", "venv"]).arg(dir))?;
        let requirements = dir.join("requirements.txt");
        std::fs::write(&requirements, PY_REQUIREMENTS).map_err(|e| KitError::io(&requirements, e))?;
        run(
            Lang::Python,
            Command::new(dir.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check", "--require-hashes", "-r"])
                .arg(&requirements),
        )
    })?;
    Ok(tool)
}

fn ensure_js(root: &Path) -> Result<PathBuf, KitError> {
    let home = root.join(format!("componentize-qjs-{COMPONENTIZE_QJS}"));
    let tool = home.join("node_modules/.bin/componentize-qjs");
    install(Lang::Js, &home, |dir| {
        for (name, text) in [("package.json", JS_PACKAGE), ("package-lock.json", JS_LOCK)] {
            std::fs::write(dir.join(name), text).map_err(|e| KitError::io(dir.join(name), e))?;
        }
        run(Lang::Js, Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(dir))
    })?;
    Ok(tool)
}

/// Runs `steps` into `home` unless a complete install is there. Virtual
/// environments are not relocatable, so the install is made in place.
fn install(lang: Lang, home: &Path, steps: impl FnOnce(&Path) -> Result<(), KitError>) -> Result<(), KitError> {
    let done = home.join(".complete");
    if done.is_file() {
        return Ok(());
    }
    let parent = home.parent().expect("a toolchain folder has a parent");
    std::fs::create_dir_all(parent).map_err(|e| KitError::io(parent, e))?;
    let lock_path = parent.join(format!(".{}.lock", home.file_name().unwrap_or_default().to_string_lossy()));
    let lock = std::fs::File::create(&lock_path).map_err(|e| KitError::io(&lock_path, e))?;
    lock.lock().map_err(|e| KitError::io(&lock_path, e))?;
    if done.is_file() {
        return Ok(()); // another build installed it while we waited
    }
    let _ = std::fs::remove_dir_all(home);
    std::fs::create_dir_all(home).map_err(|e| KitError::io(home, e))?;
    eprintln!("installing the pinned {lang} plugin toolchain into {} (once)", home.display());
    steps(home)?;
    std::fs::write(&done, "").map_err(|e| KitError::io(&done, e))
}

fn run(lang: Lang, cmd: &mut Command) -> Result<(), KitError> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| fail(lang, format!("cannot run {shown}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    Err(fail(lang, format!("{shown} failed ({}):\n{}", out.status, tail(&text, 40))))
}

/// The last `lines` lines of a tool's output.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
