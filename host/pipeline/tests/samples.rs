//! The sample tenants under samples/: their pins match the plugins this
//! repository builds (which are reproducible: paths are remapped), and
//! their documents render as recorded (insta snapshots over
//! input + templates → output).

mod common;

use common::runtime;
use std::path::{Path, PathBuf};
use tessera_pipeline::{BatchJob, LoadedTenant, Tenant, run_batch};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples")
}

fn store() -> Vec<PathBuf> {
    vec![PathBuf::from(tessera_plugin_artifacts::STORE)]
}

#[test]
fn sample_tenants_pin_exactly_the_plugins_this_repository_builds() {
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(samples()).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("tenant.toml").is_file() {
            continue;
        }
        let tenant = Tenant::load(&dir).unwrap();
        for grant in &tenant.config.plugins {
            let built = tessera_plugin_artifacts::artifact(&grant.id);
            if grant.sha256 != built.sha256 {
                stale.push(format!(
                    "{}/tenant.toml, plugin {}: sha256 = \"{}\"  (pinned {})",
                    dir.display(),
                    grant.id,
                    built.sha256,
                    grant.sha256
                ));
            }
        }
    }
    assert!(stale.is_empty(), "a plugin changed; review it and update the pins:\n{}", stale.join("\n"));
}

/// Runs a sample tenant's sample input into a temporary folder.
fn render(tenant: &str, input: &str) -> (tessera_pipeline::Report, tempfile::TempDir) {
    let dir = samples().join(tenant);
    let loaded = LoadedTenant::load(runtime(), &dir, &store()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let report = run_batch(&loaded, &BatchJob::new(&dir.join(input), out.path())).unwrap();
    (report, out)
}

#[test]
fn acme_energy_print_output_is_stable() {
    let (report, out) = render("acme-energy", "data/billing.csv");
    assert_eq!((report.records_in, report.delivered, report.rejected), (4, 4, 0));
    for id in ["INV-2026-1001", "INV-2026-1002", "INV-2026-1003", "CN-2026-0042"] {
        let asa = std::fs::read_to_string(out.path().join(format!("00000/{id}.lines.asa"))).unwrap();
        insta::assert_snapshot!(format!("acme_energy_{id}_asa"), asa);
    }
}

#[test]
fn acme_energy_html_is_stable_and_self_contained() {
    let (_, out) = render("acme-energy", "data/billing.csv");
    let html = std::fs::read_to_string(out.path().join("00000/INV-2026-1001.html")).unwrap();
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "no external fetches");
    // The logo is inlined and the QR code is checked elsewhere; keep the snapshot readable.
    let readable =
        redact_between(&redact_between(&html, "data:image/svg+xml;base64,", "\""), "<path fill=\"#000\" d=\"", "\"");
    insta::assert_snapshot!("acme_energy_INV-2026-1001_html", readable);
}

#[test]
fn acme_green_in_dutch_and_northwind_html_are_stable() {
    let (_, out) = render("acme-energy", "data/billing.csv");
    let html = std::fs::read_to_string(out.path().join("00000/INV-2026-1003.html")).unwrap();
    let readable =
        redact_between(&redact_between(&html, "data:image/svg+xml;base64,", "\""), "<path fill=\"#000\" d=\"", "\"");
    insta::assert_snapshot!("acme_green_INV-2026-1003_nl_html", readable);

    let (report, out) = render("northwind-telecom", "data/usage.csv");
    assert_eq!((report.records_in, report.delivered, report.rejected), (2, 2, 0), "{report:#?}");
    let html = std::fs::read_to_string(out.path().join("00000/NW-2026-11-0002.html")).unwrap();
    assert!(html.contains("data:image/png;base64,iVBORw0KGgo"), "the PNG logo is inlined");
    insta::assert_snapshot!("northwind_NW-2026-11-0002_html", redact_between(&html, "data:image/png;base64,", "\""));
}

/// Both tenants render PrintHub's one invoice template with their own
/// labels and locales, and every manifest line names the content revision
/// and the blob of every content file, as git computes it.
#[test]
fn samples_show_white_labelling_and_every_line_names_its_content() {
    use std::collections::BTreeSet;
    let (mut labels, mut locales) = (BTreeSet::new(), BTreeSet::new());
    for (tenant, input) in [("acme-energy", "data/billing.csv"), ("northwind-telecom", "data/usage.csv")] {
        let (_, out) = render(tenant, input);
        let manifest = std::fs::read_to_string(out.path().join("manifest.jsonl")).unwrap();
        for line in manifest.lines() {
            let line: serde_json::Value = serde_json::from_str(line).unwrap();
            let revision = line["content_revision"].as_str().unwrap();
            assert!(revision.starts_with("worktree:") && revision.len() == 49, "{revision}");
            let files = line["content_files"].as_object().unwrap();
            assert!(files.contains_key("printhub/content/templates/invoice.html.tera"), "{files:?}");
            // Assets a template asks for with asset(path=…) are recorded too.
            assert!(files.contains_key("printhub/content/assets/images/printhub-mark.svg"), "{files:?}");
            for (path, blob) in files {
                let bytes = std::fs::read(samples().join(path)).unwrap();
                assert_eq!(blob.as_str().unwrap(), tessera_content::blob_id(&bytes), "{path}");
            }
            labels.insert(line["label"].as_str().unwrap().to_owned());
            locales.insert(line["locale"].as_str().unwrap().to_owned());
            if line["channel"] == "html" {
                let html = std::fs::read_to_string(out.path().join(line["file"].as_str().unwrap())).unwrap();
                let primary = match line["label"].as_str().unwrap() {
                    "acme" => "#0b4f8a",
                    "acme-green" => "#1f6f43",
                    _ => "#3b1f6b",
                };
                assert!(html.contains(&format!("border-top: 8px solid {primary}")), "{}", line["file"]);
            }
        }
        let sets: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.path().join("content.json")).unwrap()).unwrap();
        assert!(!sets["sets"].as_array().unwrap().is_empty());
    }
    assert_eq!(labels.into_iter().collect::<Vec<_>>(), ["acme", "acme-green", "northwind"]);
    assert_eq!(locales.into_iter().collect::<Vec<_>>(), ["en", "nl"]);
}

fn redact_between(text: &str, start: &str, end: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(start) {
        let from = at + start.len();
        let to = from + rest[from..].find(end).unwrap_or(0);
        out.push_str(&rest[..from]);
        out.push_str("[redacted]");
        rest = &rest[to..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_same_input_renders_byte_identical_outputs_every_time() {
    let (_, a) = render("acme-energy", "data/billing.csv");
    let (_, b) = render("acme-energy", "data/billing.csv");
    let manifest = |d: &Path| std::fs::read_to_string(d.join("manifest.jsonl")).unwrap();
    assert_eq!(manifest(a.path()), manifest(b.path()));
}

#[test]
fn the_error_sample_is_fully_accounted_for_with_reasons() {
    let (report, out) = render("acme-energy", "data/billing-errors.csv");
    assert!(report.balanced);
    assert_eq!((report.records_in, report.delivered, report.rejected), (4, 1, 3), "{report:#?}");
    let rejected = std::fs::read_to_string(out.path().join("rejected.jsonl")).unwrap();
    assert_eq!(rejected.lines().count(), 3);
    insta::assert_snapshot!("acme_energy_billing_errors_rejected", rejected);
    // No personal data in what operators read.
    for name in ["Bakker", "Smit", "Visser", "Lindelaan"] {
        assert!(!rejected.contains(name), "rejections must not carry personal data ({name})");
    }
}

/// `usage.json` meters what the manifest lists, per label and channel.
#[test]
fn usage_meters_documents_outputs_bytes_and_pages_per_label_and_channel() {
    let (report, out) = render("acme-energy", "data/billing.csv");
    let usage: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("usage.json")).unwrap()).unwrap();
    let manifest: Vec<serde_json::Value> = std::fs::read_to_string(out.path().join("manifest.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let totals = &usage["totals"];
    assert_eq!(totals["documents"].as_u64(), Some(report.delivered));
    assert_eq!(totals["outputs"].as_u64(), Some(manifest.len() as u64));
    assert_eq!(totals["bytes"].as_u64(), Some(manifest.iter().map(|l| l["bytes"].as_u64().unwrap()).sum()));
    let print_pages: u64 = manifest.iter().filter_map(|l| l["pages"].as_u64()).sum();
    assert!(print_pages >= 9, "every archive and print PDF and every line-data output has a page");
    assert_eq!(totals["pages"].as_u64(), Some(print_pages));
    let rows: Vec<(String, String, u64)> = usage["by_label_channel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["label"].as_str().unwrap().into(),
                r["channel"].as_str().unwrap().into(),
                r["documents"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("acme".into(), "archive".into(), 1),
            ("acme".into(), "email".into(), 1),
            ("acme".into(), "html".into(), 1),
            ("acme".into(), "lines".into(), 1),
            ("acme-green".into(), "archive".into(), 3),
            ("acme-green".into(), "email".into(), 2),
            ("acme-green".into(), "html".into(), 3),
            ("acme-green".into(), "lines".into(), 3),
            ("acme-green".into(), "print".into(), 1)
        ]
    );
}
