//! The README's first command, end to end: `tessera demo` renders every
//! sample tenant's sample input, and the outputs hold up to inspection by
//! parsers rather than by eye.

#[path = "../../pipeline/tests/common/qr.rs"]
mod qr;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn tessera(args: &[&str], cache: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .env("TESSERA_CACHE_DIR", cache)
        .output()
        .expect("tessera runs")
}

/// Document ids in a csv-billing export (second column).
fn document_ids(csv: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(csv).unwrap();
    text.lines().skip(1).filter_map(|l| l.split(';').nth(1)).map(str::to_owned).collect()
}

#[test]
fn demo_renders_every_sample_record_with_manifest_and_report() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("demo");
    let run = tessera(&["demo", "--out", out.to_str().unwrap()], &work.path().join("cache"));
    assert!(run.status.success(), "demo failed:\n{}", String::from_utf8_lossy(&run.stderr));

    let tenant_out = out.join("acme-energy");
    let ids =
        document_ids(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/acme-energy/data/billing.csv")));
    assert_eq!(ids.len(), 4);
    for id in &ids {
        let html = std::fs::read_to_string(tenant_out.join(format!("{id}.html"))).unwrap();
        assert!(html.starts_with("\n<!DOCTYPE html>") || html.trim_start().starts_with("<!DOCTYPE html>"));
        assert!(html.contains(&format!("{id}</dd>")), "the document shows its number");
        let asa = std::fs::read_to_string(tenant_out.join(format!("{id}.asa"))).unwrap();
        assert!(asa.starts_with('1'), "print output starts on a new page");
    }

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tenant_out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["records_in"], 4);
    assert_eq!(report["delivered"], 4);
    assert_eq!(report["rejected"], 0);
    assert_eq!(report["balanced"], true);
    assert_eq!(report["outputs_by_channel"], serde_json::json!({"html": 4, "print": 4}));

    let manifest = std::fs::read_to_string(tenant_out.join("manifest.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = manifest.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 8, "one line per output");
    for line in &lines {
        for key in ["record", "document_id", "channel", "file", "templates", "plugins", "fuel", "sha256", "bytes"] {
            assert!(line.get(key).is_some(), "manifest line lacks {key}: {line}");
        }
        let bytes = std::fs::read(tenant_out.join(line["file"].as_str().unwrap())).unwrap();
        assert_eq!(line["bytes"], bytes.len());
        let plugins = line["plugins"].as_array().unwrap();
        assert!(plugins.iter().all(|p| p["sha256"].as_str().is_some_and(|s| s.len() == 64)));
    }
    for personal in ["Anna", "de Vries", "Keizersgracht", "anna.devries@example.nl", "O'Connor"] {
        assert!(!manifest.contains(personal), "the manifest must not carry personal data ({personal})");
    }

    // The payment QR code in the first invoice pays the right account the right amount.
    let html = std::fs::read_to_string(tenant_out.join("INV-2026-1001.html")).unwrap();
    assert_eq!(
        qr::decode_all(&html),
        ["BCD\n002\n1\nSCT\nABNANL2A\nACME Energy B.V.\nNL91ABNA0417164300\nEUR228.97\n\nRF18539007547034"]
    );
}

#[test]
fn batch_reports_rejections_and_second_run_uses_the_compile_cache() {
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let out = work.path().join("errors");
    let args = [
        "batch",
        "--tenant",
        "samples/acme-energy",
        "--input",
        "samples/acme-energy/data/billing-errors.csv",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ];
    let first = tessera(&args, &cache);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let report: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(
        (report["records_in"].as_u64(), report["delivered"].as_u64(), report["rejected"].as_u64()),
        (Some(4), Some(1), Some(3))
    );
    let cached: Vec<_> = std::fs::read_dir(cache.join("components")).unwrap().flatten().collect();
    let granted =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/acme-energy/tenant.toml"))
            .unwrap()
            .matches("[[plugins]]")
            .count();
    assert_eq!(cached.len(), granted, "one compiled component per plugin of the tenant");
    let stamps: Vec<_> = cached.iter().map(|e| e.metadata().unwrap().modified().unwrap()).collect();
    let second = tessera(&args, &cache);
    assert!(second.status.success());
    let again: Vec<_> = std::fs::read_dir(cache.join("components"))
        .unwrap()
        .flatten()
        .map(|e| e.metadata().unwrap().modified().unwrap())
        .collect();
    assert_eq!(stamps, again, "the second run loads compiled components, it does not recompile");
}
