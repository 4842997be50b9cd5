//! The sandbox's promises, tested on the runtime alone: each hostile test
//! plugin (`plugins/test/*`) is loaded with `Runtime::load` and called
//! directly, and the fault says which plugin, which world and which limit
//! or capability — with no pipeline, tenant or template in between. The
//! pipeline's own tests (`host/pipeline/tests/sandbox.rs`) show the other
//! half: the record is rejected and the rest of the run still renders.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tessera_runtime::{
    CallContext, FaultKind, LoadError, LoadRequest, Plugin, PluginFault, PluginGrant, Runtime, RuntimeConfig,
};

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("runtime-sandbox-cache");
        Runtime::new(RuntimeConfig { cache_dir: Some(cache), ..Default::default() }).expect("runtime starts")
    })
}

/// A copy of a packaged test plugin, so a test may edit its manifest or bytes.
struct Package {
    dir: tempfile::TempDir,
    id: &'static str,
}

// The helpers hand back the runtime's own `LoadError`, as large as the
// library returns it, so the tests match on it unchanged.
#[allow(clippy::result_large_err)]
impl Package {
    fn of(id: &'static str) -> Package {
        let artifact = tessera_plugin_artifacts::artifact(id);
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(artifact.dir).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
        Package { dir, id }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn edit_manifest(&self, edit: impl FnOnce(String) -> String) {
        let path = self.path().join("plugin.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, edit(text)).unwrap();
    }

    /// The tenant's grant: pinned to the packaged bytes, plus `extra` TOML.
    fn grant(&self, extra: &str) -> PluginGrant {
        let a = tessera_plugin_artifacts::artifact(self.id);
        toml::from_str(&format!("id = \"{}\"\nversion = \"{}\"\nsha256 = \"{}\"\n{extra}", a.id, a.version, a.sha256))
            .unwrap()
    }

    fn load_with(&self, grant: &PluginGrant, assets_root: Option<&Path>) -> Result<Plugin, LoadError> {
        runtime().load(LoadRequest { tenant: "test-tenant", package_dir: self.path(), grant, assets_root })
    }

    fn load(&self) -> Result<Plugin, LoadError> {
        self.load_with(&self.grant(""), None)
    }
}

fn context(seed: u64) -> CallContext {
    CallContext { as_of: Arc::from("2026-11-01"), as_of_unix: 1_793_491_200, seed }
}

/// Calls a fragment and expects a fault.
fn fault_of(plugin: &Plugin, params: &[(&str, &str)], record: &str) -> PluginFault {
    let params: Vec<(String, String)> = params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    match plugin.render(&context(1), "x", &params, record) {
        Err(fault) => fault,
        Ok((rendered, _)) => panic!("expected a fault, the plugin returned {:?}", rendered.text),
    }
}

#[test]
fn an_endless_loop_is_stopped_by_the_fuel_budget() {
    let spin = Package::of("test-spin").load().unwrap();
    let fault = fault_of(&spin, &[], "{}");
    assert!(matches!(*fault.kind, FaultKind::FuelExhausted { budget: 10_000_000 }), "{fault}");
    assert_eq!(fault.kind.limit(), Some("fuel"));
    assert_eq!(
        fault.to_string(),
        "plugin test-spin@0.1.0 (fragment@0.1.0): fuel limit hit: used its whole budget of 10000000 fuel"
    );
}

#[test]
fn an_endless_loop_with_fuel_to_spare_is_stopped_by_the_epoch_deadline() {
    let package = Package::of("test-spin");
    package.edit_manifest(|m| {
        m.replace("fuel = 10_000_000", "fuel = 1_000_000_000_000").replace("timeout_ms = 1_000", "timeout_ms = 50")
    });
    let spin = package.load().unwrap();
    let started = Instant::now();
    let fault = fault_of(&spin, &[], "{}");
    assert_eq!(fault.kind.limit(), Some("timeout"), "{fault}");
    assert!(fault.to_string().ends_with("timeout limit hit: still running after 50 ms"), "{fault}");
    assert!(started.elapsed().as_secs() < 10, "the deadline stops it promptly");
}

#[test]
fn an_allocation_bomb_hits_the_memory_cap() {
    let bomb = Package::of("test-alloc-bomb").load().unwrap();
    let fault = fault_of(&bomb, &[], "{}");
    assert_eq!(fault.kind.limit(), Some("memory"), "{fault}");
    assert!(fault.to_string().contains("(fragment@0.1.0): memory limit hit: tried to grow past 16 MiB"), "{fault}");
}

#[test]
fn an_oversized_output_is_refused() {
    let big = Package::of("test-big-output").load().unwrap();
    let fault = fault_of(&big, &[], "{}");
    assert_eq!(fault.kind.limit(), Some("output"), "{fault}");
    assert!(fault.to_string().contains("output limit hit: returned 8388608 bytes, the cap is 65536 bytes"), "{fault}");
}

#[test]
fn a_panic_is_a_trap_with_the_plugins_own_message() {
    let panic = Package::of("test-panic").load().unwrap();
    let calm = panic.render(&context(1), "x", &[], "{\"say\":\"calm\"}");
    assert!(calm.is_ok(), "the same plugin without PANIC in its input renders: {:?}", calm.err());
    let fault = fault_of(&panic, &[], "{\"say\":\"PANIC\"}");
    assert!(matches!(*fault.kind, FaultKind::Trap { .. }), "{fault}");
    let text = fault.to_string();
    assert!(text.contains("trapped: reached `unreachable`: the plugin panicked at test/panic/src/lib.rs:"), "{text}");
    assert!(text.ends_with("test plugin panics as asked"), "{text}");
}

#[test]
fn a_component_compiled_now_runs_from_its_cache_file_as_a_cached_one_does() {
    // Compiled, it is stored and loaded back from the file (file-backed
    // code, not the compiler's memory); the next runtime loads that file.
    // The compile hook follows the compile, and only the compile.
    static AFTER: AtomicUsize = AtomicUsize::new(0);
    fn after() {
        AFTER.fetch_add(1, Ordering::SeqCst);
    }
    let cache = tempfile::tempdir().unwrap();
    let package = Package::of("test-panic");
    let grant = package.grant("");
    for expected in [tessera_runtime::CompileSource::Compiled, tessera_runtime::CompileSource::Cache] {
        let runtime = Runtime::new(RuntimeConfig {
            cache_dir: Some(cache.path().to_owned()),
            after_compile: Some(after),
            ..Default::default()
        })
        .expect("runtime starts");
        let request =
            LoadRequest { tenant: "test-tenant", package_dir: package.path(), grant: &grant, assets_root: None };
        let plugin = runtime.load(request).unwrap();
        assert_eq!(plugin.compile_source(), expected);
        let files: Vec<_> = std::fs::read_dir(cache.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(files.len() == 1 && files[0].to_string_lossy().ends_with(".cwasm"), "{files:?}");
        assert!(plugin.render(&context(1), "x", &[], "{\"say\":\"calm\"}").is_ok());
        let fault = fault_of(&plugin, &[], "{\"say\":\"PANIC\"}");
        assert!(fault.to_string().ends_with("test plugin panics as asked"), "{fault}");
        assert_eq!(AFTER.load(Ordering::SeqCst), 1, "one compile, one call; a cached load makes none");
    }
}

/// `assets/shared/ok.txt` (to be granted), `assets/private/secret.txt` (not)
/// and a symlink inside the grant that points at the secret.
fn assets() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let assets = root.path();
    std::fs::create_dir_all(assets.join("shared")).unwrap();
    std::fs::create_dir_all(assets.join("private")).unwrap();
    std::fs::write(assets.join("shared/ok.txt"), "granted text").unwrap();
    std::fs::write(assets.join("private/secret.txt"), "SECRET").unwrap();
    std::os::unix::fs::symlink("../private/secret.txt", assets.join("shared/escape.txt")).unwrap();
    root
}

#[test]
fn asset_reads_stay_inside_the_granted_folders() {
    let root = assets();
    let package = Package::of("test-asset-reader");
    let reader = package.load_with(&package.grant(r#"assets = ["shared"]"#), Some(root.path())).unwrap();
    let (ok, _) = reader.render(&context(1), "x", &[("path".into(), "shared/ok.txt".into())], "{}").unwrap();
    assert_eq!(ok.html, "granted text|ambient=false", "the grant is readable, the ambient filesystem is not");
    for (path, why) in [
        ("shared/../private/secret.txt", "denied"),
        ("private/secret.txt", "asset folder `private` is not granted"),
        ("/etc/passwd", "is absolute"),
        ("shared/escape.txt", "denied"),
        ("shared/missing.txt", "denied"),
    ] {
        let fault = fault_of(&reader, &[("path", path)], "{}");
        let text = fault.to_string();
        assert!(text.starts_with("plugin test-asset-reader@0.1.0 (fragment@0.1.0): denied"), "{path}: {text}");
        assert!(text.contains(why), "{path}: {text}");
        assert!(!text.contains("SECRET"), "{path}: {text}");
    }
}

#[test]
fn a_capability_the_tenant_does_not_grant_is_refused_at_load() {
    let root = assets();
    let package = Package::of("test-asset-reader");
    let error = package.load_with(&package.grant(""), Some(root.path())).err().expect("refused");
    assert!(matches!(error, LoadError::CapabilityNotGranted { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        "plugin test-asset-reader@0.1.0: plugin.toml declares capability assets:shared, which tenant `test-tenant` does not grant; refused by the tenant"
    );
}

#[test]
fn a_sha256_mismatch_is_refused_at_load() {
    let package = Package::of("test-panic");
    let mut grant = package.grant("");
    grant.sha256 = "0".repeat(64);
    let error = package.load_with(&grant, None).err().expect("refused");
    assert!(matches!(error, LoadError::PinMismatch { .. }), "{error}");
    let actual = tessera_plugin_artifacts::artifact("test-panic").sha256;
    assert!(error.to_string().ends_with(&format!("has sha256 {actual}; refused by the tenant's pin")), "{error}");
}

#[test]
fn a_component_altered_after_packaging_is_refused_at_load() {
    let package = Package::of("test-panic");
    let wasm: PathBuf = package.path().join("test-panic.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF;
    std::fs::write(&wasm, bytes).unwrap();
    // The tenant pins the altered bytes: only the package's own record can tell.
    let mut grant = package.grant("");
    grant.sha256 = hex_sha256(&std::fs::read(&wasm).unwrap());
    let error = package.load_with(&grant, None).err().expect("refused");
    assert!(matches!(error, LoadError::PackageDigest { .. }), "{error}");
    assert!(error.to_string().contains("the package is damaged or was altered"), "{error}");
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn a_plugin_for_a_newer_contract_is_refused_naming_both_versions() {
    let error = Package::of("test-future-world").load().err().expect("refused");
    assert!(
        error.to_string().contains(
            "plugin test-future-world@0.1.0: built for tessera:plugin@9.0.0 (fragment@9.0.0), but this host runs tessera:plugin 0.1.0, 0.2.0, 0.3.0; refused by the host"
        ),
        "{error}"
    );
}

#[test]
fn a_manifest_that_misstates_the_contract_is_caught_from_the_component_itself() {
    let package = Package::of("test-future-world");
    package.edit_manifest(|m| m.replace("fragment@9.0.0", "fragment@0.1.0"));
    let error = package.load().err().expect("refused");
    assert!(
        error.to_string().contains(
            "plugin.toml declares world fragment@0.1.0, but the component exports tessera:plugin/render@9.0.0"
        ),
        "{error}"
    );
}

#[test]
fn an_import_the_host_does_not_offer_is_refused_at_load() {
    let error = Package::of("test-foreign-import").load().err().expect("refused");
    let text = error.to_string();
    assert!(text.contains("test-foreign-import@0.1.0"), "{text}");
    assert!(text.contains("imports something this host does not provide"), "{text}");
    assert!(text.contains("tessera:plugin/vault"), "{text}");
}

#[test]
fn a_limit_above_the_tenants_ceiling_is_refused_at_load() {
    let package = Package::of("test-spin");
    let error = package.load_with(&package.grant("limits = { fuel = 1_000 }"), None).err().expect("refused");
    assert_eq!(
        error.to_string(),
        "plugin test-spin@0.1.0: plugin.toml asks for fuel = 10000000, above the tenant's limit of 1000; refused by the tenant"
    );
}

#[test]
fn the_sandbox_has_no_environment_a_frozen_clock_and_seeded_randomness() {
    let probe = Package::of("test-probe").load().unwrap();
    let see = |seed| probe.render(&context(seed), "probe", &[], "{}").unwrap().0.text;
    let first = see(1);
    assert!(first.starts_with("env=0 args=0 now=1793491200 as_of=2026-11-01 random="), "{first}");
    assert!(first.ends_with("random_ok=true fs=false"), "{first}");
    assert_eq!(see(1), first, "the same seed gives the same randomness: reruns are reproducible");
    assert_ne!(see(2), first, "another record gets other randomness");
}

/// `reuse = "run"` for a fragment: only when the plugin declares it and the
/// tenant grants it; a warm instance draws each document's randomness as a
/// fresh one made for that document would.
#[test]
fn a_fragment_instance_serves_several_documents_only_when_declared_and_granted_each_with_its_own_randomness() {
    let draw =
        |text: String| text.split(' ').find(|w| w.starts_with("draw=")).expect("probe reports a draw").to_owned();
    let declared = Package::of("test-probe");
    declared.edit_manifest(|m| m.replace("assets = []", "assets = []\nreuse = \"run\""));
    let warm = declared.load_with(&declared.grant("reuse = \"run\""), None).unwrap();
    assert!(warm.reuses_instances());
    assert!(!declared.load().unwrap().reuses_instances(), "declared, not granted");
    let undeclared = Package::of("test-probe");
    let fresh = undeclared.load_with(&undeclared.grant("reuse = \"run\""), None).unwrap();
    assert!(!fresh.reuses_instances(), "granted, not declared");

    let see = |plugin: &Plugin, seed| draw(plugin.render(&context(seed), "probe", &[], "{}").unwrap().0.text);
    let expected: Vec<String> = [1, 2, 1, 3].iter().map(|&seed| see(&fresh, seed)).collect();
    let reused: Vec<String> = [1, 2, 1, 3].iter().map(|&seed| see(&warm, seed)).collect();
    assert_eq!(reused, expected, "document by document, the same draws as fresh instances");
    assert_ne!(expected[0], expected[1]);
}

#[test]
fn log_lines_over_the_cap_are_dropped_and_counted_without_failing_the_call() {
    let probe = Package::of("test-probe").load().unwrap();
    let params = [("log_lines".to_owned(), "10".to_owned())];
    let (_, usage) = probe.render(&context(1), "probe", &params, "{}").unwrap();
    // 4 KiB cap, ~1 KiB lines: three fit, seven are dropped.
    let line = "line 0 ".len() as u64 + 1024;
    assert_eq!(usage.log_dropped, 7 * line, "{usage:?}");
}

/// Regression: a translate session's store lives across calls, and the
/// dropped-log count was cumulative per store while session usage adds up
/// per call, so drops were counted again on every later call.
#[test]
fn log_drops_in_a_translate_session_are_counted_once_per_call() {
    let chatty = Package::of("test-chatty-translator").load().unwrap();
    let mut session = chatty.translate(&context(1), "input.txt").unwrap();
    for _ in 0..3 {
        assert!(session.feed(b"anything").unwrap().is_empty());
    }
    let (outcomes, usage) = session.finish().unwrap();
    assert!(outcomes.is_empty());
    // Per call: 4 KiB cap, ~1 KiB lines: three fit, two are dropped; four calls.
    let line = "line 0 ".len() as u64 + 1024;
    assert_eq!(usage.log_dropped, 4 * 2 * line, "{usage:?}");
}

#[test]
fn a_fragment_cannot_be_called_as_a_translator() {
    let probe = Package::of("test-probe").load().unwrap();
    assert!(probe.translate(&context(1), "input.txt").is_err(), "a fragment has no translate session");
}
