//! `tessera plugin test`: every fixture of a project through the real
//! runtime, with the limits the plugin would run with for a tenant, and a
//! report per fixture — pass or fail with a diff, and what the call used
//! (fuel, peak memory, time, output size) against each limit.
//!
//! A fixture is a folder under `fixtures/`:
//!
//! | kind       | input                                              | expected                                   |
//! |------------|----------------------------------------------------|--------------------------------------------|
//! | fragment   | `input.json`: `fragment`, `params`, `record` (CDM) | `expected.html` and `expected.txt`         |
//! | formatter  | `input.json`: `channel`, `document_id`, `html`, `text`, `subject`, `metadata` | `expected.<extension>` |
//! | translator | `source.<ext>`: the source file                     | `expected.json`: one entry per outcome     |
//!
//! Instead of the outputs, `expected-error.json` (`{"code": "missing-data"}`,
//! optionally with `message`) expects the plugin to report that error.
//! Translators are fed the source whole and again in 7-byte chunks (the
//! host may cut a chunk anywhere); the two must agree. Records they emit are
//! checked against CDM 1.0 as the pipeline checks them.

use crate::error::KitError;
use serde::Serialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tessera_cdm::CdmRecord;
use tessera_runtime::{
    CallContext, CallUsage, DocumentInput, Kind, LimitSpec, Limits, LoadError, LoadRequest, Plugin, PluginFault,
    PluginGrant, PluginManifest, Runtime, TranslateOutcome,
};

/// Chunk size of the second translator pass.
const SMALL_CHUNK: usize = 7;

/// How to run the fixtures.
#[derive(Debug, Clone, Default)]
pub struct TestOptions {
    /// The tenant's ceilings for this plugin (its `[[plugins]]` limits), if
    /// testing against a tenant; otherwise the plugin gets what it asks for.
    pub ceilings: LimitSpec,
    /// Asset folders the tenant grants (defaults to what the plugin declares).
    pub granted_assets: Option<Vec<String>>,
    /// Folder holding the asset folders (default: the project's `assets/`).
    pub assets_root: Option<PathBuf>,
    /// The job's as-of date given to the plugin.
    pub as_of: String,
    /// Write what the plugin produced as the expected files.
    pub bless: bool,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct TestReport {
    /// `id@version`.
    pub plugin: String,
    /// World and contract version.
    pub world: String,
    /// sha256 of the component tested.
    pub sha256: String,
    /// The limits every call ran with.
    pub limits: LimitsReport,
    /// Time to load (and compile, or read from the cache) the component, ms.
    pub load_ms: f64,
    /// One entry per fixture, in name order.
    pub fixtures: Vec<FixtureReport>,
    /// Fixtures that passed.
    pub passed: usize,
    /// Fixtures that failed.
    pub failed: usize,
}

/// The limits, in plain numbers.
#[derive(Debug, Serialize)]
pub struct LimitsReport {
    /// Fuel per call.
    pub fuel: u64,
    /// Memory cap, bytes.
    pub memory_bytes: u64,
    /// Deadline per call, ms.
    pub timeout_ms: u64,
    /// Output cap, bytes.
    pub output_bytes: u64,
    /// Log cap, bytes.
    pub log_bytes: u64,
}

/// One fixture's result.
#[derive(Debug, Serialize)]
pub struct FixtureReport {
    /// The fixture folder's name.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed (a fault, a mismatch, an invalid record).
    pub problems: Vec<String>,
    /// Expected → actual, as a unified diff, when outputs differ.
    pub diff: Option<String>,
    /// Fuel used.
    pub fuel: u64,
    /// Peak linear memory, bytes.
    pub peak_memory_bytes: u64,
    /// Wall time of the call(s), ms.
    pub time_ms: f64,
    /// Bytes returned.
    pub output_bytes: u64,
    /// Log bytes dropped over the cap.
    pub log_dropped_bytes: u64,
    /// Pages the formatter stated (contract 0.2.0 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
}

/// What one call produced, in a form that compares and diffs.
struct Produced {
    /// `(file name, bytes)` of each output, as the expected files would hold them.
    files: Vec<(String, Vec<u8>)>,
    problems: Vec<String>,
    usage: CallUsage,
    output_bytes: u64,
    pages: Option<u32>,
}

/// Loads the built package as a tenant would: the grant is what the plugin
/// declares, capped by the tenant's ceilings when given. Returns the plugin
/// and how long loading (and compiling, or reading the cache) took, in ms.
pub fn load(
    runtime: &Runtime,
    project_dir: &Path,
    package_dir: &Path,
    opts: &TestOptions,
) -> Result<(Plugin, f64), KitError> {
    let manifest = PluginManifest::read(package_dir).map_err(|e| Box::new(LoadError::from(e)))?;
    let grant = PluginGrant {
        id: manifest.id.clone(),
        version: manifest.version.clone(),
        sha256: manifest.sha256.clone(),
        assets: opts.granted_assets.clone().unwrap_or_else(|| manifest.assets.clone()),
        reuse: manifest.reuse,
        limits: opts.ceilings.clone(),
    };
    let assets_root = opts.assets_root.clone().unwrap_or_else(|| project_dir.join("assets"));
    let started = Instant::now();
    let plugin = runtime
        .load(LoadRequest { tenant: "plugin-test", package_dir, grant: &grant, assets_root: Some(&assets_root) })
        .map_err(Box::new)?;
    Ok((plugin, started.elapsed().as_secs_f64() * 1e3))
}

/// The call context fixtures run with: the as-of date, a fixed seed.
pub fn call_context(as_of: &str) -> Result<CallContext, KitError> {
    let as_of_unix =
        tessera_cdm::parse_as_of(as_of).map_err(|e| KitError::BadOption(format!("--as-of `{as_of}`: {e}")))?;
    Ok(CallContext { as_of: Arc::from(as_of), as_of_unix, seed: 1 })
}

/// Loads the built package as a tenant would and runs every fixture.
pub fn run(
    runtime: &Runtime,
    project_dir: &Path,
    package_dir: &Path,
    opts: &TestOptions,
) -> Result<TestReport, KitError> {
    let (plugin, load_ms) = load(runtime, project_dir, package_dir, opts)?;
    let ctx = call_context(&opts.as_of)?;

    let fixtures_dir = project_dir.join("fixtures");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&fixtures_dir)
        .map_err(|e| KitError::io(&fixtures_dir, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    names.sort();
    let mut fixtures = Vec::new();
    for dir in names {
        fixtures.push(run_fixture(&plugin, &ctx, &dir, opts.bless)?);
    }
    let passed = fixtures.iter().filter(|f| f.passed).count();
    let l = plugin.limits();
    Ok(TestReport {
        plugin: plugin.name().to_owned(),
        world: plugin.world().to_string(),
        sha256: plugin.sha256().to_owned(),
        limits: limits_report(l),
        load_ms,
        failed: fixtures.len() - passed,
        passed,
        fixtures,
    })
}

fn limits_report(l: &Limits) -> LimitsReport {
    LimitsReport {
        fuel: l.fuel,
        memory_bytes: l.memory_bytes,
        timeout_ms: l.timeout.as_millis() as u64,
        output_bytes: l.output_bytes,
        log_bytes: l.log_bytes,
    }
}

fn run_fixture(plugin: &Plugin, ctx: &CallContext, dir: &Path, bless: bool) -> Result<FixtureReport, KitError> {
    let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let call = FixtureCall::read(plugin.kind(), plugin.id(), dir)?;
    let produced = produce(plugin, ctx, &call);
    let mut problems = produced.problems;
    let mut diffs = Vec::new();
    let expected_error = read_json_opt(&dir.join("expected-error.json"))?;
    if bless {
        bless_outputs(dir, &produced.files, expected_error.is_some())?;
    } else {
        for (file, actual) in &produced.files {
            let path = dir.join(file);
            if file == "expected-error.json" {
                let actual: Value = serde_json::from_slice(actual).unwrap_or(Value::Null);
                match &expected_error {
                    Some(expected) if error_matches(expected, &actual) => {}
                    Some(expected) => {
                        problems.push("the plugin reported another error than expected".into());
                        diffs.push(diff(file, &pretty(expected), &pretty(&actual)));
                    }
                    None => problems.push(format!(
                        "the plugin reported an error where outputs were expected: {}",
                        actual["message"].as_str().unwrap_or_default()
                    )),
                }
                continue;
            }
            if expected_error.is_some() {
                problems.push("the plugin succeeded where expected-error.json expects an error".into());
                break;
            }
            match std::fs::read(&path) {
                Ok(expected) if &expected == actual => {}
                Ok(expected) => {
                    problems.push(format!("{file} differs"));
                    diffs.push(diff(file, &String::from_utf8_lossy(&expected), &String::from_utf8_lossy(actual)));
                }
                Err(_) => problems.push(format!("{file} is missing: run with --bless to write what the plugin made")),
            }
        }
    }
    let usage = produced.usage;
    Ok(FixtureReport {
        name,
        passed: problems.is_empty(),
        problems,
        diff: (!diffs.is_empty()).then(|| diffs.join("\n")),
        fuel: usage.fuel,
        peak_memory_bytes: usage.peak_memory,
        time_ms: usage.elapsed.as_secs_f64() * 1e3,
        output_bytes: produced.output_bytes,
        log_dropped_bytes: usage.log_dropped,
        pages: produced.pages,
    })
}

/// An expected error matches when its code (and message, when given) agree.
fn error_matches(expected: &Value, actual: &Value) -> bool {
    let same = |key: &str| expected.get(key).is_none_or(|v| Some(v) == actual.get(key));
    same("code") && same("message") && same("location")
}

fn bless_outputs(dir: &Path, files: &[(String, Vec<u8>)], had_error_file: bool) -> Result<(), KitError> {
    let errs = files.iter().any(|(f, _)| f == "expected-error.json");
    if had_error_file && !errs {
        let path = dir.join("expected-error.json");
        std::fs::remove_file(&path).map_err(|e| KitError::io(&path, e))?;
    }
    for (file, bytes) in files {
        let path = dir.join(file);
        std::fs::write(&path, bytes).map_err(|e| KitError::io(&path, e))?;
    }
    Ok(())
}

/// A fault becomes a problem; a reported error becomes `expected-error.json`.
fn fault_output(fault: &PluginFault) -> (Vec<(String, Vec<u8>)>, Vec<String>) {
    if let tessera_runtime::FaultKind::Reported { code, message, location, .. } = &*fault.kind {
        let mut v = json!({ "code": code, "message": message });
        if let Some(l) = location {
            v["location"] = json!(l);
        }
        return (vec![("expected-error.json".into(), pretty(&v).into_bytes())], Vec::new());
    }
    (Vec::new(), vec![fault.to_string()])
}

/// A fixture's input, read once: what one call of the plugin gets.
#[derive(Debug, Clone)]
pub enum FixtureCall {
    /// `render(name, params, record)`.
    Fragment {
        /// The fragment name the template calls.
        name: String,
        /// Its parameters.
        params: Vec<(String, String)>,
        /// The CDM record as JSON text (checked).
        record: String,
    },
    /// `format(document)`.
    Formatter(DocumentInput),
    /// A whole translate session over one source.
    Translator {
        /// The source file's name.
        source_name: String,
        /// Its bytes.
        bytes: Vec<u8>,
    },
}

impl FixtureCall {
    /// Reads the input of the fixture in `dir` for a plugin of `kind` (see the module docs).
    pub fn read(kind: Kind, default_name: &str, dir: &Path) -> Result<FixtureCall, KitError> {
        let fixture_err = |message: String| KitError::Fixture { fixture: dir.to_path_buf(), message };
        let pairs = |v: &Value, what: &str| match v {
            Value::Null => Ok(Vec::new()),
            Value::Object(map) => Ok(map
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                .collect()),
            _ => Err(fixture_err(format!("input.json: `{what}` must be an object of name → value"))),
        };
        match kind {
            Kind::Fragment => {
                let input = read_json(&dir.join("input.json"))?;
                let name = input["fragment"].as_str().unwrap_or(default_name).to_owned();
                let params = pairs(&input["params"], "params")?;
                let record = input.get("record").ok_or_else(|| fixture_err("input.json has no `record`".into()))?;
                let record = serde_json::to_string(record).expect("a JSON value serialises");
                if let Err(e) = CdmRecord::parse(&record) {
                    return Err(fixture_err(format!("input.json: `record` is not a valid CDM 1.0 record: {e}")));
                }
                Ok(FixtureCall::Fragment { name, params, record })
            }
            Kind::Formatter => {
                let input = read_json(&dir.join("input.json"))?;
                let text = |key: &str| input[key].as_str().unwrap_or_default().to_owned();
                Ok(FixtureCall::Formatter(DocumentInput {
                    channel: text("channel"),
                    document_id: text("document_id"),
                    html: text("html"),
                    text: text("text"),
                    subject: input["subject"].as_str().map(str::to_owned),
                    metadata: pairs(&input["metadata"], "metadata")?,
                }))
            }
            Kind::Translator => {
                let source = std::fs::read_dir(dir)
                    .map_err(|e| KitError::io(dir, e))?
                    .flatten()
                    .map(|e| e.path())
                    .find(|p| p.file_stem().is_some_and(|s| s == "source"))
                    .ok_or_else(|| fixture_err("no source.<ext> file (the source document to translate)".into()))?;
                let bytes = std::fs::read(&source).map_err(|e| KitError::io(&source, e))?;
                let source_name = source.file_name().unwrap_or_default().to_string_lossy().into_owned();
                Ok(FixtureCall::Translator { source_name, bytes })
            }
        }
    }

    /// Makes the call once in a fresh instance, for timing: what it used.
    pub fn call(&self, plugin: &Plugin, ctx: &CallContext) -> Result<CallUsage, PluginFault> {
        match self {
            FixtureCall::Fragment { name, params, record } => plugin.render(ctx, name, params, record).map(|(_, u)| u),
            FixtureCall::Formatter(doc) => plugin.format(ctx, doc.clone()).map(|(_, u)| u),
            FixtureCall::Translator { source_name, bytes } => {
                translate(plugin, ctx, source_name, bytes, bytes.len().max(1)).map(|(_, u)| u)
            }
        }
    }
}

/// A fault becomes a problem, or the `expected-error.json` it reported.
fn faulted(fault: PluginFault) -> Produced {
    let (files, problems) = fault_output(&fault);
    Produced { files, problems, usage: fault.usage, output_bytes: 0, pages: None }
}

fn produce(plugin: &Plugin, ctx: &CallContext, call: &FixtureCall) -> Produced {
    match call {
        FixtureCall::Fragment { name, params, record } => match plugin.render(ctx, name, params, record) {
            Ok((r, usage)) => Produced {
                output_bytes: (r.html.len() + r.text.len()) as u64,
                files: vec![
                    ("expected.html".into(), r.html.into_bytes()),
                    ("expected.txt".into(), r.text.into_bytes()),
                ],
                problems: Vec::new(),
                usage,
                pages: None,
            },
            Err(fault) => faulted(fault),
        },
        FixtureCall::Formatter(doc) => match plugin.format(ctx, doc.clone()) {
            Ok((f, usage)) => Produced {
                output_bytes: f.bytes.len() as u64,
                files: vec![(format!("expected.{}", f.extension), f.bytes)],
                problems: Vec::new(),
                usage,
                pages: f.pages,
            },
            Err(fault) => faulted(fault),
        },
        FixtureCall::Translator { source_name, bytes } => translated(plugin, ctx, source_name, bytes),
    }
}

fn translated(plugin: &Plugin, ctx: &CallContext, source_name: &str, bytes: &[u8]) -> Produced {
    let (outcomes, usage) = match translate(plugin, ctx, source_name, bytes, bytes.len().max(1)) {
        Ok(done) => done,
        Err(fault) => {
            return Produced {
                files: Vec::new(),
                problems: vec![fault.to_string()],
                usage: fault.usage,
                output_bytes: 0,
                pages: None,
            };
        }
    };
    let mut problems = Vec::new();
    match translate(plugin, ctx, source_name, bytes, SMALL_CHUNK) {
        Ok((chunked, _)) if chunked == outcomes => {}
        Ok(_) => problems.push(format!(
            "fed in {SMALL_CHUNK}-byte chunks the source gives other outcomes than fed whole: a record or character cut by a chunk boundary is mishandled"
        )),
        Err(fault) => problems.push(format!("fed in {SMALL_CHUNK}-byte chunks: {fault}")),
    }
    let output_bytes = outcomes.iter().map(|o| serde_json::to_string(o).map_or(0, |s| s.len() as u64)).sum();
    let text = pretty(&Value::Array(outcomes));
    Produced { files: vec![("expected.json".into(), text.into_bytes())], problems, usage, output_bytes, pages: None }
}

/// Runs one translate session; outcomes as the fixture's JSON entries.
fn translate(
    plugin: &Plugin,
    ctx: &CallContext,
    source_name: &str,
    bytes: &[u8],
    chunk: usize,
) -> Result<(Vec<Value>, CallUsage), PluginFault> {
    let mut session = plugin.translate(ctx, source_name)?;
    let mut outcomes = Vec::new();
    for piece in bytes.chunks(chunk) {
        outcomes.extend(session.feed(piece)?);
    }
    let (rest, usage) = session.finish()?;
    outcomes.extend(rest);
    Ok((outcomes.into_iter().map(outcome_json).collect(), usage))
}

fn outcome_json(o: TranslateOutcome) -> Value {
    match o {
        TranslateOutcome::Record { cdm, .. } => match CdmRecord::parse(&cdm) {
            Ok(r) => json!({ "record": r.value }),
            Err(e) => json!({ "invalid-cdm": { "path": e.path, "rule": e.rule, "message": e.message } }),
        },
        TranslateOutcome::Rejected { code, message, location } => {
            let mut v = json!({ "code": code, "message": message });
            if let Some(l) = location.map(|l| l.to_string()).filter(|l| !l.is_empty()) {
                v["location"] = json!(l);
            }
            json!({ "rejected": v })
        }
    }
}

fn read_json(path: &Path) -> Result<Value, KitError> {
    read_json_opt(path)?.ok_or_else(|| KitError::Fixture {
        fixture: path.parent().unwrap_or(path).to_path_buf(),
        message: format!("{} is missing", path.file_name().unwrap_or_default().to_string_lossy()),
    })
}

fn read_json_opt(path: &Path) -> Result<Option<Value>, KitError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(KitError::io(path, e)),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| KitError::Fixture {
        fixture: path.parent().unwrap_or(path).to_path_buf(),
        message: format!("{}:{}:{}: {e}", path.file_name().unwrap_or_default().to_string_lossy(), e.line(), e.column()),
    })
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("a JSON value serialises");
    s.push('\n');
    s
}

fn diff(file: &str, expected: &str, actual: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{file} (expected)"), &format!("{file} (actual)"))
        .to_string()
}
