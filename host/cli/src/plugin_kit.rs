//! `tessera plugin new | build | test`: the partner's loop, from an empty
//! folder to a tested package. The work is done by `tessera-plugin-kit`;
//! this module parses what the tenant allows and prints reports for people.

use crate::bench::emit;
use crate::paths::Context;
use anyhow::{Context as _, anyhow};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tessera_pipeline::Tenant;
use tessera_plugin_kit::fixtures::{FixtureReport, TestOptions, TestReport};
use tessera_plugin_kit::{Lang, Project, build, fixtures, scaffold};
use tessera_runtime::Kind;

/// `plugin new`.
pub fn new(path: &Path, kind: Kind, lang: Lang) -> anyhow::Result<ExitCode> {
    let made = scaffold::new_project(path, kind, lang)?;
    println!("created the {lang} {kind} plugin {} with:", made.dir.display());
    for file in &made.files {
        println!("  {file}");
    }
    println!("next: tessera plugin test {}", made.dir.display());
    Ok(ExitCode::SUCCESS)
}

/// `plugin build`.
pub fn build(path: &Path, out: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    let project = open(path, out)?;
    let built = build::build(&project)?;
    emit(json, &built, || {
        format!(
            "built {} with {} in {:.1} s\n  package  {}\n  size     {} bytes\n  sha256   {}",
            built.plugin,
            built.tool,
            built.elapsed.as_secs_f64(),
            built.package_dir.display(),
            built.size,
            built.sha256
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

fn open(path: &Path, out: Option<&Path>) -> anyhow::Result<Project> {
    let project = Project::open(path)?;
    Ok(match out {
        Some(dist) => project.with_dist(dist)?,
        None => project,
    })
}

/// What `plugin test` was asked.
pub struct TestArgs<'a> {
    pub path: &'a Path,
    pub out: Option<&'a Path>,
    pub tenant: Option<PathBuf>,
    pub as_of: String,
    pub no_build: bool,
    pub bless: bool,
    pub json: bool,
}

/// `plugin test`: builds (unless told not to), then runs the fixtures.
pub fn test(ctx: &Context, args: TestArgs<'_>) -> anyhow::Result<ExitCode> {
    let project = open(args.path, args.out)?;
    if args.no_build {
        if !project.package_dir().join("plugin.toml").is_file() {
            return Err(anyhow!("{} is not built: run `tessera plugin build {}`", project.name(), args.path.display()));
        }
    } else {
        let built = build::build(&project)?;
        if !args.json {
            println!("built {} with {} in {:.1} s", built.plugin, built.tool, built.elapsed.as_secs_f64());
        }
    }
    let mut opts = TestOptions { as_of: args.as_of.clone(), bless: args.bless, ..Default::default() };
    if let Some(dir) = &args.tenant {
        let tenant = Tenant::load(dir)?;
        let grant = tenant
            .grant(&project.id)
            .with_context(|| format!("tenant `{}` has no [[plugins]] entry for `{}`", tenant.config.id, project.id))?;
        opts.ceilings = grant.limits.clone();
        opts.granted_assets = Some(grant.assets.clone());
        opts.assets_root = Some(tenant.content_dir().join("assets"));
    }
    let runtime = ctx.runtime()?;
    let report = fixtures::run(&runtime, &project.dir, &project.package_dir(), &opts)?;
    emit(args.json, &report, || human(&report, args.bless))?;
    Ok(if report.failed == 0 && !report.fixtures.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn human(r: &TestReport, blessed: bool) -> String {
    let l = &r.limits;
    let mut out = format!(
        "{} ({}), sha256 {}, loaded in {:.0} ms\n  limits per call: fuel {}, memory {}, time {} ms, output {}, log {}\n",
        r.plugin,
        r.world,
        &r.sha256[..12],
        r.load_ms,
        count(l.fuel),
        bytes(l.memory_bytes),
        l.timeout_ms,
        bytes(l.output_bytes),
        bytes(l.log_bytes)
    );
    for f in &r.fixtures {
        out.push_str(&fixture_line(f, r));
    }
    if r.fixtures.is_empty() {
        out.push_str("  no fixtures: add a folder under fixtures/\n");
    }
    let verdict = if blessed {
        "blessed (expected files rewritten)"
    } else if r.failed == 0 {
        "ok"
    } else {
        "FAILED"
    };
    out.push_str(&format!("{} passed, {} failed: {verdict}", r.passed, r.failed));
    out
}

fn fixture_line(f: &FixtureReport, r: &TestReport) -> String {
    let l = &r.limits;
    let pct = |used: f64, limit: f64| if limit > 0.0 { used * 100.0 / limit } else { 0.0 };
    let mut out = format!(
        "  {} {:<28} fuel {} ({:.1}%)  memory {} ({:.0}%)  time {:.2} ms ({:.1}%)  output {} ({:.1}%)\n",
        if f.passed { "PASS" } else { "FAIL" },
        f.name,
        count(f.fuel),
        pct(f.fuel as f64, l.fuel as f64),
        bytes(f.peak_memory_bytes),
        pct(f.peak_memory_bytes as f64, l.memory_bytes as f64),
        f.time_ms,
        pct(f.time_ms, l.timeout_ms as f64),
        bytes(f.output_bytes),
        pct(f.output_bytes as f64, l.output_bytes as f64),
    );
    if let Some(pages) = f.pages {
        out.push_str(&format!("       pages: {pages} (stated by the formatter)\n"));
    }
    if f.log_dropped_bytes > 0 {
        out.push_str(&format!("       log: {} dropped over the cap\n", bytes(f.log_dropped_bytes)));
    }
    for p in &f.problems {
        out.push_str(&format!("       {p}\n"));
    }
    if let Some(d) = &f.diff {
        for line in d.lines() {
            out.push_str(&format!("       {line}\n"));
        }
    }
    out
}

fn count(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.2}G", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.2}M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}
