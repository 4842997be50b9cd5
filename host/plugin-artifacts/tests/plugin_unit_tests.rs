//! Runs the plugins' own unit tests (pure logic such as decimal rounding,
//! QR mask scoring, the print composer's line breaking) natively, so `cargo
//! test --workspace` covers them too. The plugins are their own workspaces;
//! this uses a separate target directory, so it never waits on the outer
//! build's lock.

use std::path::Path;
use std::process::Command;

/// Plugins of the small plugins' workspace whose unit tests run natively
/// (they call no host import from code the test harness links).
const TESTED: &[&str] = &[
    "csv-billing",
    "tmf678-bill",
    "ubl-invoice",
    "cii-invoice",
    "document-buffer",
    "en16931",
    "payment-qr",
    "print-asa",
    "cii-invoice-out",
    "ubl-invoice-out",
];

/// Runs `cargo test` on the workspace of `manifest` (the packages given, or
/// all) and returns how many tests passed.
fn unit_tests(manifest: &str, packages: &[&str]) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugins-native");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.arg("test").arg("--release").arg("--locked").arg("--manifest-path").arg(root.join(manifest));
    for p in packages {
        cmd.args(["-p", p]);
    }
    cmd.arg("--target-dir").arg(&target);
    for var in ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"] {
        cmd.env_remove(var);
    }
    let out = cmd.output().expect("cargo runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "unit tests of {manifest} failed:\n{text}");
    text.lines()
        .filter_map(|l| l.strip_prefix("test result: ok. "))
        .filter_map(|l| l.split(' ').next()?.parse::<usize>().ok())
        .sum()
}

#[test]
fn plugin_unit_tests_pass() {
    let passed = unit_tests("plugins/Cargo.toml", TESTED);
    assert!(passed >= 4, "expected the plugins' unit tests to run, saw {passed}");
}

#[test]
fn print_composer_unit_tests_pass() {
    let passed = unit_tests("plugins/formatters/print-compose/Cargo.toml", &["print-compose", "omr-code"]);
    assert!(passed >= 11, "expected print-compose's and omr-code's unit tests to run, saw {passed}");
}
