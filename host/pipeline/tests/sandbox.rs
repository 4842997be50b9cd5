//! The sandbox's promises as a run sees them, each with its own hostile test
//! plugin (plugins/test/*): the failing record is rejected with a reason
//! naming the plugin, its version, its world and the limit or capability
//! involved, and the other records of the same run still render. The
//! promises themselves, call by call, are tested in the runtime crate
//! (`host/runtime/tests/sandbox.rs`); here, how a tenant's grant reaches them.

mod common;

use common::*;
use std::time::Instant;
use tessera_pipeline::{PipelineError, Stage};
use tessera_runtime::LoadError;

#[test]
fn an_endless_loop_is_stopped_by_the_fuel_budget() {
    let t = TestTenant::new(&["test-spin"], &template_calling_on_inv2(r#"{{ fragment(name="test-spin") }}"#));
    let (report, out) = t.run(three_invoices());
    let r = only_inv2_rejected(&report, &out);
    assert_eq!(r.stage, Stage::Compose);
    assert_eq!(r.plugin.as_deref(), Some("test-spin@0.1.0"));
    assert_eq!(r.limit.as_deref(), Some("fuel"));
    assert!(r.reason.contains("plugin test-spin@0.1.0 (fragment@0.1.0): fuel limit hit"), "{}", r.reason);
}

#[test]
fn an_endless_loop_with_fuel_to_spare_is_stopped_by_the_epoch_deadline() {
    let t = TestTenant::new(&["test-spin"], &template_calling_on_inv2(r#"{{ fragment(name="test-spin") }}"#));
    // The plugin asks for practically unlimited fuel but a 50 ms deadline.
    t.edit_manifest("test-spin", |m| {
        m.replace("fuel = 10_000_000", "fuel = 1_000_000_000_000").replace("timeout_ms = 1_000", "timeout_ms = 50")
    });
    let started = Instant::now();
    let (report, out) = t.run(three_invoices());
    let r = only_inv2_rejected(&report, &out);
    assert_eq!(r.limit.as_deref(), Some("timeout"), "{}", r.reason);
    assert!(r.reason.contains("timeout limit hit: still running after 50 ms"), "{}", r.reason);
    assert!(started.elapsed().as_secs() < 10, "the deadline must stop it promptly");
}

#[test]
fn an_allocation_bomb_hits_the_memory_cap() {
    let t =
        TestTenant::new(&["test-alloc-bomb"], &template_calling_on_inv2(r#"{{ fragment(name="test-alloc-bomb") }}"#));
    let (report, out) = t.run(three_invoices());
    let r = only_inv2_rejected(&report, &out);
    assert_eq!(r.limit.as_deref(), Some("memory"), "{}", r.reason);
    assert!(
        r.reason.contains("plugin test-alloc-bomb@0.1.0 (fragment@0.1.0): memory limit hit: tried to grow past 16 MiB"),
        "{}",
        r.reason
    );
}

#[test]
fn an_oversized_output_is_refused() {
    let t =
        TestTenant::new(&["test-big-output"], &template_calling_on_inv2(r#"{{ fragment(name="test-big-output") }}"#));
    let (report, out) = t.run(three_invoices());
    let r = only_inv2_rejected(&report, &out);
    assert_eq!(r.limit.as_deref(), Some("output"), "{}", r.reason);
    assert!(r.reason.contains("output limit hit: returned 8388608 bytes, the cap is 65536 bytes"), "{}", r.reason);
}

#[test]
fn a_panic_becomes_a_rejected_record() {
    // The plugin panics when the record's JSON contains PANIC.
    let t = TestTenant::new(&["test-panic"], r#"<p>{{ fragment(name="test-panic") }}</p>"#);
    let csv = format!("{HEADER}{}{}{}", row(1, "fine"), row(2, "PANIC"), row(3, "fine"));
    let (report, out) = t.run(&csv);
    let r = only_inv2_rejected(&report, &out);
    assert_eq!(r.plugin.as_deref(), Some("test-panic@0.1.0"));
    assert!(
        r.reason.contains("trapped: reached `unreachable`: the plugin panicked at test/panic/src/lib.rs:"),
        "the panic's location and message reach the rejection: {}",
        r.reason
    );
    assert!(r.reason.ends_with("test plugin panics as asked"), "{}", r.reason);
    assert!(std::fs::read_to_string(out.join("00000/INV-1.html")).unwrap().contains("<b>calm</b>"));
}

/// Tenant content with `assets/shared/ok.txt` (granted), `assets/private/secret.txt`
/// (not granted) and a symlink inside the grant that points at the secret.
fn asset_tenant(grant: &str) -> TestTenant {
    let mut t = TestTenant::new(
        &["test-asset-reader"],
        r#"<p>{{ fragment(name="test-asset-reader", path=record.content.lines[0].description) }}</p>"#,
    );
    t.grant("test-asset-reader", grant);
    let assets = t.path().join("content/assets");
    std::fs::create_dir_all(assets.join("shared")).unwrap();
    std::fs::create_dir_all(assets.join("private")).unwrap();
    std::fs::write(assets.join("shared/ok.txt"), "granted text").unwrap();
    std::fs::write(assets.join("private/secret.txt"), "SECRET").unwrap();
    std::os::unix::fs::symlink("../private/secret.txt", assets.join("shared/escape.txt")).unwrap();
    t
}

#[test]
fn asset_reads_outside_the_grant_are_denied() {
    let t = asset_tenant(r#"assets = ["shared"]"#);
    let paths = [
        "shared/ok.txt",
        "shared/../private/secret.txt",
        "private/secret.txt",
        "/etc/passwd",
        "shared/escape.txt",
        "shared/missing.txt",
    ];
    let csv: String =
        std::iter::once(HEADER.to_owned()).chain(paths.iter().enumerate().map(|(i, p)| row(i as u32 + 1, p))).collect();
    let (report, out) = t.run(&csv);
    assert_eq!((report.delivered, report.rejected), (1, 5), "{report:#?}");
    let html = std::fs::read_to_string(out.join("00000/INV-1.html")).unwrap();
    assert!(
        html.contains("granted text|ambient=false"),
        "the granted file is readable, the ambient filesystem is not: {html}"
    );
    for r in &report.rejections {
        assert!(r.reason.contains("plugin test-asset-reader@0.1.0 (fragment@0.1.0): denied"), "{}", r.reason);
        assert!(!r.reason.contains("SECRET"));
    }
    let reason =
        |id: &str| report.rejections.iter().find(|r| r.document_id.as_deref() == Some(id)).unwrap().reason.clone();
    assert!(reason("INV-3").contains("asset folder `private` is not granted"), "{}", reason("INV-3"));
    assert!(reason("INV-4").contains("is absolute"), "{}", reason("INV-4"));
    for escaping in ["INV-2", "INV-5"] {
        assert!(!out.join(format!("00000/{escaping}.html")).exists());
    }
}

#[test]
fn a_capability_the_tenant_does_not_grant_is_refused_at_load() {
    let t = asset_tenant("");
    match t.load() {
        Err(PipelineError::Load { error, .. }) if matches!(*error, LoadError::CapabilityNotGranted { .. }) => {
            assert_eq!(
                error.to_string(),
                "plugin test-asset-reader@0.1.0: plugin.toml declares capability assets:shared, which tenant `test-tenant` does not grant; refused by the tenant"
            )
        }
        other => panic!("expected a capability refusal, got {:?}", other.err()),
    }
}

#[test]
fn a_sha256_mismatch_is_refused_at_load() {
    let mut t = TestTenant::new(&["test-panic"], "x");
    let wrong = "0".repeat(64);
    t.grant_pinned("test-panic", &wrong, "");
    let actual = tessera_plugin_artifacts::artifact("test-panic").sha256;
    let message = t.load().err().expect("refused").to_string();
    assert!(
        message.contains(&format!("plugin test-panic@0.1.0: tenant `test-tenant` pins sha256 {wrong}")),
        "{message}"
    );
    assert!(message.contains(&format!("has sha256 {actual}; refused by the tenant's pin")), "{message}");
}
