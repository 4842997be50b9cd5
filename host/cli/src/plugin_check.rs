//! `tessera plugin check PATH`: what a partner (or an operator about to pin
//! a plugin) needs to know before a plugin runs — size and sha256, the world
//! and contract version the component really exports, whether that matches
//! its `plugin.toml`, and every import with what the sandbox does about it.
//! PATH is a package folder (with `plugin.toml`) or a component file (its
//! folder's `plugin.toml` is compared when there is one). Exits 1 when the
//! host would refuse the plugin.

use crate::bench::emit;
use crate::paths::Context;
use anyhow::{Context as _, anyhow};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tessera_runtime::{ImportVerdict, Inspection, PluginManifest};

#[derive(Serialize)]
struct CheckReport {
    file: PathBuf,
    /// `id@version` and world from `plugin.toml`, when there is one.
    manifest: Option<ManifestFacts>,
    #[serde(flatten)]
    inspection: Inspection,
    /// Every reason the host would refuse it; empty when it would run it.
    problems: Vec<String>,
    ok: bool,
}

#[derive(Serialize)]
struct ManifestFacts {
    plugin: String,
    world: String,
    sha256: String,
}

/// Runs the check.
pub fn run(ctx: &Context, path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let (file, manifest) = if path.is_dir() {
        let m = PluginManifest::read(path).map_err(|e| anyhow!("{e}"))?;
        (m.component.clone(), Some(m))
    } else {
        let beside = path.parent().filter(|d| d.join("plugin.toml").is_file());
        // A source folder's plugin.toml has no sha256/component yet: then
        // only the component is checked.
        (path.to_path_buf(), beside.and_then(|d| PluginManifest::read(d).ok()))
    };
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let runtime = ctx.runtime()?;
    let inspection = runtime.inspect(&bytes).with_context(|| file.display().to_string())?;
    let mut problems = inspection.problems();
    let facts = manifest.map(|m| {
        let declared = (m.kind.as_str(), m.world.version.to_string());
        if !inspection.worlds.iter().any(|w| (w.kind.as_str(), &w.version) == (declared.0, &declared.1)) {
            let found: Vec<String> = inspection.worlds.iter().map(|w| format!("{}@{}", w.kind, w.version)).collect();
            problems.push(format!(
                "plugin.toml says world {} but the component exports {}",
                m.world,
                if found.is_empty() { "none".into() } else { found.join(", ") }
            ));
        }
        if m.sha256 != inspection.sha256 {
            problems.push(format!(
                "plugin.toml records sha256 {} but the component's is {}: package it again",
                m.sha256, inspection.sha256
            ));
        }
        ManifestFacts { plugin: format!("{}@{}", m.id, m.version), world: m.world.to_string(), sha256: m.sha256 }
    });
    let report = CheckReport { file, manifest: facts, ok: problems.is_empty(), problems, inspection };
    emit(json, &report, || human(&report))?;
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn human(r: &CheckReport) -> String {
    let mut out = format!("{}\n", r.file.display());
    if let Some(m) = &r.manifest {
        out.push_str(&format!("  plugin.toml   {} ({})\n", m.plugin, m.world));
    }
    if let Some(w) = &r.inspection.embedded_world {
        out.push_str(&format!("  built for     {w} (embedded by plugin build)\n"));
    }
    let worlds: Vec<String> = r.inspection.worlds.iter().map(|w| format!("{}@{}", w.kind, w.version)).collect();
    out.push_str(&format!(
        "  exports       {} (host implements tessera:plugin@{})\n",
        if worlds.is_empty() { "no tessera:plugin world".into() } else { worlds.join(", ") },
        r.inspection.host_contract
    ));
    if let Some(w) = r.inspection.worlds.iter().find(|w| w.kind == "translator") {
        out.push_str(if w.splits_sources {
            "  shards        yes: its splitter may cut a source, and the shards translate on every core\n"
        } else {
            "  shards        no: a source is translated whole, in one session (contract 0.3.0 adds splitting)\n"
        });
    }
    out.push_str(&format!(
        "  size          {} bytes\n  sha256        {}\n  imports\n",
        r.inspection.size, r.inspection.sha256
    ));
    for import in &r.inspection.imports {
        let (mark, note) = match &import.verdict {
            ImportVerdict::Contract => ("ok     ", "the tessera:plugin contract".to_owned()),
            ImportVerdict::Provided(n) => ("ok     ", (*n).to_owned()),
            ImportVerdict::Denied(n) => ("denied ", (*n).to_owned()),
            ImportVerdict::Refused(n) => ("REFUSED", n.clone()),
        };
        out.push_str(&format!("    {mark} {:<42} {note}\n", import.name));
    }
    if r.ok {
        out.push_str("  ok: this host runs it\n");
    } else {
        for p in &r.problems {
            out.push_str(&format!("  refused: {p}\n"));
        }
    }
    out
}
