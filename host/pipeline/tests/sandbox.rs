//! One test per sandbox promise, each with its own hostile test plugin
//! (plugins/test/*). In every case the failing record is rejected with a
//! reason naming the plugin, its version, its world and the limit or
//! capability involved, and the other records of the same run still render.

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
    assert!(std::fs::read_to_string(out.join("INV-1.html")).unwrap().contains("<b>calm</b>"));
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
    let html = std::fs::read_to_string(out.join("INV-1.html")).unwrap();
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
        assert!(!out.join(format!("{escaping}.html")).exists());
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

#[test]
fn a_component_altered_after_packaging_is_refused_at_load() {
    let t = TestTenant::new(&["test-panic"], "x");
    let wasm = t.package("test-panic").join("test-panic.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF;
    std::fs::write(&wasm, bytes).unwrap();
    let message = t.load().err().expect("refused").to_string();
    assert!(message.contains("plugin test-panic@0.1.0: plugin.toml records sha256"), "{message}");
    assert!(message.contains("the package is damaged or was altered"), "{message}");
}

#[test]
fn a_plugin_for_a_newer_contract_is_refused_naming_both_versions() {
    let t = TestTenant::new(&["test-future-world"], "x");
    let message = t.load().err().expect("refused").to_string();
    assert!(
        message.contains("plugin test-future-world@0.1.0: built for tessera:plugin@9.0.0 (fragment@9.0.0), but this host runs tessera:plugin 0.1.0, 0.2.0; refused by the host"),
        "{message}"
    );
}

#[test]
fn a_plugin_importing_an_interface_the_host_does_not_offer_is_refused_at_load() {
    let t = TestTenant::new(&["test-foreign-import"], "x");
    let message = t.load().err().expect("refused").to_string();
    assert!(message.contains("test-foreign-import@0.1.0"), "{message}");
    assert!(message.contains("imports something this host does not provide"), "{message}");
    assert!(message.contains("tessera:plugin/vault"), "{message}");
}

#[test]
fn a_manifest_that_misstates_the_contract_is_caught_from_the_component_itself() {
    let t = TestTenant::new(&["test-future-world"], "x");
    t.edit_manifest("test-future-world", |m| m.replace("fragment@9.0.0", "fragment@0.1.0"));
    let message = t.load().err().expect("refused").to_string();
    assert!(
        message.contains(
            "plugin.toml declares world fragment@0.1.0, but the component exports tessera:plugin/render@9.0.0"
        ),
        "{message}"
    );
}

#[test]
fn a_limit_above_the_tenants_ceiling_is_refused_at_load() {
    let mut t = TestTenant::new(&["test-spin"], "x");
    t.grant("test-spin", "limits = { fuel = 1_000 }");
    let message = t.load().err().expect("refused").to_string();
    assert!(
        message.contains("plugin test-spin@0.1.0: plugin.toml asks for fuel = 10000000, above the tenant's limit of 1000; refused by the tenant"),
        "{message}"
    );
}

fn probe_context(seed: u64) -> tessera_runtime::CallContext {
    tessera_runtime::CallContext {
        as_of: std::sync::Arc::from("2026-11-01"),
        as_of_unix: tessera_pipeline::parse_as_of("2026-11-01").unwrap(),
        seed,
    }
}

#[test]
fn the_sandbox_has_no_environment_a_frozen_clock_and_seeded_randomness() {
    let t = TestTenant::new(&["test-probe"], "x");
    let loaded = t.load().unwrap();
    let probe = &loaded.plugins["test-probe"];
    let see = |seed| probe.render(&probe_context(seed), "probe", &[], "{}").unwrap().0.text;
    let first = see(1);
    assert!(first.starts_with("env=0 args=0 now=1793491200 as_of=2026-11-01 random="), "{first}");
    assert!(first.ends_with("random_ok=true fs=false"), "{first}");
    assert_eq!(see(1), first, "the same seed gives the same randomness: reruns are reproducible");
    assert_ne!(see(2), first, "another record gets other randomness");
}

#[test]
fn log_lines_over_the_cap_are_dropped_and_counted_without_failing_the_call() {
    let t = TestTenant::new(&["test-probe"], "x");
    let loaded = t.load().unwrap();
    let probe = &loaded.plugins["test-probe"];
    let params = [("log_lines".to_owned(), "10".to_owned())];
    let (_, usage) = probe.render(&probe_context(1), "probe", &params, "{}").unwrap();
    // 4 KiB cap, ~1 KiB lines: three fit, seven are dropped.
    let line = "line 0 ".len() as u64 + 1024;
    assert_eq!(usage.log_dropped, 7 * line, "{usage:?}");
}

/// Regression: a translate session's store lives across calls, and the
/// dropped-log count was cumulative per store while session usage adds up
/// per call, so drops were counted again on every later call.
#[test]
fn log_drops_in_a_translate_session_are_counted_once_per_call() {
    let t = TestTenant::new(&["test-chatty-translator"], "x");
    let loaded = t.load().unwrap();
    let chatty = &loaded.plugins["test-chatty-translator"];
    let mut session = chatty.translate(&probe_context(1), "input.txt").unwrap();
    for _ in 0..3 {
        assert!(session.feed(b"anything").unwrap().is_empty());
    }
    let (outcomes, usage) = session.finish().unwrap();
    assert!(outcomes.is_empty());
    // Per call: 4 KiB cap, ~1 KiB lines: three fit, two are dropped; four calls.
    let line = "line 0 ".len() as u64 + 1024;
    assert_eq!(usage.log_dropped, 4 * 2 * line, "{usage:?}");
}
