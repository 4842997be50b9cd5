//! Bundles the studio's code editor (CodeMirror 6 from npm, pinned by
//! `studio-editor/package-lock.json`) with esbuild into `OUT_DIR`, so the
//! server embeds it and the studio loads nothing from a CDN. Without node
//! and npm the build still succeeds, with a warning: the studio then edits
//! in a plain text area (diagnostics listed under it instead of inline).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let source = Path::new("studio-editor");
    for file in ["package.json", "package-lock.json", "build.sh", "src/editor.js"] {
        println!("cargo:rerun-if-changed=studio-editor/{file}");
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let work = out.join("studio-editor");
    let bundle = out.join("editor.js");
    let built = copy_tree(source, &work).and_then(|()| {
        let status = Command::new("bash").arg(work.join("build.sh")).arg(&bundle).status()?;
        if status.success() { Ok(()) } else { Err(std::io::Error::other(format!("build.sh exited with {status}"))) }
    });
    if let Err(e) = built {
        println!("cargo:warning=the studio's code editor was not bundled ({e}); it falls back to a plain text area");
        std::fs::write(&bundle, "").expect("OUT_DIR is writable");
        std::fs::write(out.join("editor.js.gz"), "").expect("OUT_DIR is writable");
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "node_modules" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
