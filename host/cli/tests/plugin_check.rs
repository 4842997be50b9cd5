//! `tessera plugin check` on the real packaged plugins: every sample plugin
//! passes with the world its plugin.toml names and the digest tenants pin;
//! a plugin built for a newer contract, and a component whose plugin.toml
//! names another world, are refused with the versions and worlds named.

use std::path::{Path, PathBuf};
use std::process::Command;

fn store() -> PathBuf {
    PathBuf::from(tessera_plugin_artifacts::STORE)
}

fn check(path: &Path) -> (bool, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["plugin", "check", "--json"])
        .arg(path)
        .env("TESSERA_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("tessera-compile-cache"))
        .output()
        .expect("tessera runs");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    (out.status.success(), report)
}

#[test]
fn every_sample_plugin_passes_with_its_declared_world_and_digest() {
    let samples = [
        ("csv-billing", "0.2.0"),
        ("tmf678-bill", "0.2.0"),
        ("ubl-invoice", "0.3.0"),
        ("cii-invoice", "0.1.0"),
        ("payment-qr", "0.1.0"),
        ("cii-invoice-out", "0.1.0"),
        ("ubl-invoice-out", "0.1.0"),
        ("print-asa", "0.1.0"),
        ("typst-pdf", "0.1.0"),
    ];
    for (id, version) in samples {
        let (ok, report) = check(&store().join(format!("{id}-{version}")));
        assert!(ok, "{id}: {report:#}");
        assert_eq!(report["ok"], true);
        assert_eq!(report["problems"], serde_json::json!([]));
        let world = report["manifest"]["world"].as_str().unwrap();
        assert_eq!(report["embedded_world"], world, "{id}: the build embeds the world it was built for");
        let exported = &report["worlds"][0];
        assert_eq!(format!("{}@{}", exported["kind"].as_str().unwrap(), exported["version"].as_str().unwrap()), world);
        let translator = exported["kind"] == "translator";
        assert_eq!(exported["splits_sources"], translator, "{id}: the sample translators target 0.3.0 and may shard");
        assert_eq!(report["sha256"], report["manifest"]["sha256"]);
        assert!(report["size"].as_u64().unwrap() > 1000);
        let imports = report["imports"].as_array().unwrap();
        let contract = |i: &&serde_json::Value| i["name"].as_str().is_some_and(|n| n.starts_with("tessera:plugin/"));
        assert!(imports.iter().filter(contract).all(|i| i["verdict"] == "contract"), "{id}: {imports:?}");
        // Rust's std for wasip2 asks for the environment; the sandbox gives none.
        let environment = |i: &serde_json::Value| i["name"].as_str().unwrap().starts_with("wasi:cli/environment");
        assert!(imports.iter().any(|i| environment(i) && i["verdict"] == "denied"), "{id}: {imports:?}");
        assert!(imports.iter().all(|i| i["verdict"] != "refused"), "{id}: {imports:?}");
    }
    // The pin in the sample tenant is the digest check reports.
    let (_, qr) = check(&store().join("payment-qr-0.1.0"));
    let tenant =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/acme-energy/tenant.toml")).unwrap();
    assert!(tenant.contains(qr["sha256"].as_str().unwrap()));
}

#[test]
fn a_plugin_for_a_newer_contract_is_refused_naming_both_versions() {
    let (ok, report) = check(&store().join("test-future-world-0.1.0"));
    assert!(!ok);
    assert_eq!(report["worlds"][0]["version"], "9.0.0");
    let problems = report["problems"].to_string();
    assert!(problems.contains("9.0.0") && problems.contains("0.1.0, 0.2.0"), "{problems}");
}

#[test]
fn a_component_and_a_plugin_toml_that_disagree_are_refused() {
    // payment-qr's component packaged with print-asa's plugin.toml.
    let dir = tempfile::tempdir().unwrap();
    let asa = store().join("print-asa-0.1.0");
    std::fs::copy(asa.join("plugin.toml"), dir.path().join("plugin.toml")).unwrap();
    let manifest = std::fs::read_to_string(asa.join("plugin.toml")).unwrap();
    let component = manifest
        .lines()
        .find_map(|l| l.strip_prefix("component = ").map(|v| v.trim_matches('"').to_owned()))
        .expect("a packaged plugin.toml names its component");
    let qr = store().join("payment-qr-0.1.0");
    let qr_component = std::fs::read_dir(&qr)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "wasm"))
        .unwrap();
    std::fs::copy(qr_component, dir.path().join(&component)).unwrap();
    let (ok, report) = check(dir.path());
    assert!(!ok);
    let problems = report["problems"].to_string();
    assert!(
        problems.contains("plugin.toml says world formatter@0.2.0 but the component exports fragment@0.1.0"),
        "{problems}"
    );
    assert!(problems.contains("package it again"), "{problems}");
}

#[test]
fn an_import_the_host_does_not_offer_is_refused_by_name() {
    let (ok, report) = check(&store().join("test-foreign-import-0.1.0"));
    assert!(!ok);
    let vault = report["imports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "tessera:plugin/vault@0.1.0")
        .cloned()
        .expect("the vault import is listed");
    assert_eq!(vault["verdict"], "refused", "{vault}");
    let problems = report["problems"].to_string();
    assert!(problems.contains("imports tessera:plugin/vault@0.1.0"), "{problems}");
    assert!(problems.contains("the host cannot instantiate it"), "{problems}");
}

#[test]
fn an_embedded_world_that_disagrees_with_the_exports_is_refused() {
    // payment-qr's component with its embedded world rewritten in place
    // (same length): it still exports fragment@0.1.0.
    let qr = store().join("payment-qr-0.1.0/payment-qr.wasm");
    let mut bytes = std::fs::read(&qr).unwrap();
    let from = b"tessera:worldfragment@0.1.0";
    let at = bytes.windows(from.len()).rposition(|w| w == from).expect("the build embeds the world");
    bytes[at..at + from.len()].copy_from_slice(b"tessera:worldfragment@0.2.0");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("payment-qr.wasm");
    std::fs::write(&file, bytes).unwrap();
    let (ok, report) = check(&file);
    assert!(!ok);
    assert_eq!(report["embedded_world"], "fragment@0.2.0");
    let problems = report["problems"].to_string();
    assert!(
        problems.contains("built for fragment@0.2.0 (its embedded world) but exports fragment@0.1.0"),
        "{problems}"
    );
}
