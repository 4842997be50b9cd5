//! The partner loop end to end, through the real binary, build tools and
//! sandbox: `plugin new` → `plugin test` passes as generated, for every kind
//! in Rust, Python and JavaScript; the sample Python and JavaScript fragments
//! pass their fixtures; a broken expectation fails with a diff; the built
//! package carries its world and passes `plugin check`.
//!
//! The Python and JavaScript toolchains are installed, pinned, on first use
//! into the user's cache (or `$TESSERA_TOOLCHAINS`), from PyPI and npm.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The binary, with a compile cache and a cargo target folder of the test's own
/// (so the nested cargo never waits for the outer build's lock).
fn tessera(args: &[&str]) -> std::process::Output {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("TESSERA_CACHE_DIR", tmp.join("tessera-compile-cache"))
        .env("CARGO_TARGET_DIR", tmp.join("plugin-kit-cargo"))
        .output()
        .expect("tessera runs")
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `plugin test --json` on a project; the report, and whether it exited 0.
fn plugin_test(project: &Path, out: &Path) -> (bool, Value) {
    let run = tessera(&["plugin", "test", "--json", "--out", out.to_str().unwrap(), project.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    let report = stdout.lines().last().and_then(|l| serde_json::from_str(l).ok());
    let report = report.unwrap_or_else(|| panic!("no JSON report from plugin test:\n{}", text(&run)));
    (run.status.success(), report)
}

fn scaffold_and_test(lang: &str) {
    let root = tempfile::tempdir().unwrap();
    for kind in ["fragment", "translator", "formatter"] {
        let name = format!("my-{kind}");
        let dir = root.path().join(&name);
        let started = Instant::now();
        let made = tessera(&["plugin", "new", dir.to_str().unwrap(), "--kind", kind, "--lang", lang]);
        assert!(made.status.success(), "{}", text(&made));
        let (ok, report) = plugin_test(&dir, &dir.join("dist"));
        let elapsed = started.elapsed();
        assert!(ok, "{lang} {kind}: {report:#}");
        assert_eq!(report["failed"], 0, "{lang} {kind}: {report:#}");
        assert!(report["passed"].as_u64().unwrap() >= 1, "{lang} {kind}: {report:#}");
        assert_eq!(report["world"], format!("{kind}@0.3.0"));
        for fixture in report["fixtures"].as_array().unwrap() {
            if kind == "formatter" {
                assert_eq!(fixture["pages"], 1, "a 0.2.0 formatter states its pages: {fixture}");
            }
            assert!(fixture["fuel"].as_u64().unwrap() > 0, "{fixture}");
            assert!(fixture["peak_memory_bytes"].as_u64().unwrap() > 0, "{fixture}");
        }
        eprintln!("{lang} {kind}: plugin new → passing plugin test in {:.1} s", elapsed.as_secs_f64());
    }
}

#[test]
fn a_new_rust_plugin_of_each_kind_passes_its_own_fixtures() {
    scaffold_and_test("rust");
}

#[test]
fn a_new_python_plugin_of_each_kind_passes_its_own_fixtures() {
    scaffold_and_test("python");
}

#[test]
fn a_new_javascript_plugin_of_each_kind_passes_its_own_fixtures() {
    scaffold_and_test("js");
}

#[test]
fn the_sample_python_and_javascript_fragments_pass_their_fixtures() {
    let out = tempfile::tempdir().unwrap();
    for (sample, fixtures) in [("amount-in-words", 4), ("usage-chart", 3)] {
        let (ok, report) = plugin_test(&repo().join("plugins/fragments").join(sample), out.path());
        assert!(ok, "{sample}: {report:#}");
        assert_eq!(report["passed"], fixtures, "{sample}: {report:#}");
    }
    // The package is what a tenant gets: check passes and names the embedded world.
    let check = tessera(&["plugin", "check", "--json", out.path().join("usage-chart-0.1.0").to_str().unwrap()]);
    assert!(check.status.success(), "{}", text(&check));
    let report: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(report["embedded_world"], "fragment@0.1.0");
    assert_eq!(report["manifest"]["sha256"], report["sha256"]);
}

#[test]
fn a_wrong_expectation_fails_with_a_diff_and_bless_rewrites_it() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("greeter");
    assert!(tessera(&["plugin", "new", dir.to_str().unwrap(), "--kind", "fragment"]).status.success());
    let expected = dir.join("fixtures/greets-a-person/expected.txt");
    std::fs::write(&expected, "Hello Ms de Vries,").unwrap();
    let run = tessera(&["plugin", "test", dir.to_str().unwrap()]);
    let shown = text(&run);
    assert!(!run.status.success(), "{shown}");
    assert!(shown.contains("FAIL greets-a-person"), "{shown}");
    assert!(shown.contains("-Hello Ms de Vries,") && shown.contains("+Hello Ms de Vries & Zn,"), "{shown}");
    assert!(shown.contains("PASS greets-a-company"), "the other fixtures still run: {shown}");
    assert!(shown.contains("1 failed"), "{shown}");

    let blessed = tessera(&["plugin", "test", "--no-build", "--bless", dir.to_str().unwrap()]);
    assert!(blessed.status.success(), "{}", text(&blessed));
    assert_eq!(std::fs::read_to_string(&expected).unwrap(), "Hello Ms de Vries & Zn,");
}

#[test]
fn a_broken_build_reports_the_compiler_output() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("broken");
    assert!(tessera(&["plugin", "new", dir.to_str().unwrap(), "--kind", "formatter", "--lang", "js"]).status.success());
    std::fs::write(dir.join("plugin.js"), "export const format = { format(doc) { return ; ").unwrap();
    let run = tessera(&["plugin", "build", dir.to_str().unwrap()]);
    let shown = text(&run);
    assert!(!run.status.success(), "{shown}");
    assert!(shown.contains("building broken@0.1.0 with componentize-qjs failed"), "{shown}");
    assert!(!dir.join("dist/broken-0.1.0").exists(), "no package from a failed build");
}

#[test]
fn with_a_tenant_the_plugin_runs_under_the_tenants_caps() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("capped");
    assert!(tessera(&["plugin", "new", dir.to_str().unwrap(), "--kind", "fragment"]).status.success());
    let tenant = root.path().join("tenant");
    std::fs::create_dir_all(&tenant).unwrap();
    let write_tenant = |fuel: &str| {
        let toml = format!(
            "id = \"capping-tenant\"\nname = \"Capping\"\ndefault_label = \"main\"\n\n[[plugins]]\nid = \"capped\"\nversion = \"0.1.0\"\nsha256 = \"{}\"\nlimits = {{ fuel = {fuel}, memory_mib = 16 }}\n",
            "0".repeat(64)
        );
        std::fs::write(tenant.join("tenant.toml"), toml).unwrap();
    };
    // The plugin asks for 20 M fuel; a tenant allowing 5 M refuses it at load.
    write_tenant("5_000_000");
    let run = tessera(&["plugin", "test", dir.to_str().unwrap(), "--tenant", tenant.to_str().unwrap()]);
    let shown = text(&run);
    assert!(!run.status.success(), "{shown}");
    assert!(shown.contains("plugin.toml asks for fuel = 20000000, above the tenant's limit of 5000000"), "{shown}");
    // A tenant allowing more runs it with the plugin's own request.
    write_tenant("50_000_000");
    let run = tessera(&["plugin", "test", "--no-build", dir.to_str().unwrap(), "--tenant", tenant.to_str().unwrap()]);
    let shown = text(&run);
    assert!(run.status.success(), "{shown}");
    assert!(shown.contains("limits per call: fuel 20.00M, memory 16.0 MiB"), "{shown}");
}

#[test]
fn a_rust_plugin_builds_the_same_bytes_in_any_folder() {
    let root = tempfile::tempdir().unwrap();
    let mut digests = Vec::new();
    for folder in ["alice/work", "bob"] {
        let dir = root.path().join(folder).join("same-plugin");
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        assert!(tessera(&["plugin", "new", dir.to_str().unwrap(), "--kind", "translator"]).status.success());
        let built = tessera(&["plugin", "build", "--json", dir.to_str().unwrap()]);
        assert!(built.status.success(), "{}", text(&built));
        let report: Value = serde_json::from_slice(&built.stdout).unwrap();
        digests.push(report["sha256"].as_str().unwrap().to_owned());
        let wasm = std::fs::read(dir.join("dist/same-plugin-0.1.0/same-plugin.wasm")).unwrap();
        let contains = |path: &str| wasm.windows(path.len()).any(|w| w == path.as_bytes());
        assert!(!contains(root.path().to_str().unwrap()), "the build folder is not in the component");
        // wit-bindgen's panic locations name its source: remapped to /cargo.
        assert!(contains("/cargo/registry/"), "dependency paths are remapped");
        if let Some(home) = std::env::var_os("HOME") {
            assert!(
                !contains(&format!("{}/.cargo", home.to_string_lossy())),
                "the partner's home is not in the component"
            );
        }
    }
    assert_eq!(digests[0], digests[1], "the tenant can check a pin by building the source");
}
