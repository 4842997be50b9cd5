//! What the binary's end-to-end tests share: a generated ACME export, and
//! comparing two runs' folders file by file.

#![allow(dead_code)]

pub mod nats;

#[path = "../../../pipeline/tests/common/fs.rs"]
pub mod fs;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// `docs` invoices for acme-energy, every 97th with an unreadable quantity
/// (so the rejection file is exercised too).
pub fn billing_csv(docs: usize) -> String {
    let mut csv = String::from(
        "customer_ref,document_id,first_name,last_name,language,street,postcode,city,country,label,invoice_date,due_date,payment_reference,line_description,line_quantity,line_unit,line_unit_price,line_vat_rate\n",
    );
    for d in 0..docs {
        let label = if d % 2 == 0 { "acme" } else { "acme-green" };
        let lang = if d % 3 == 0 { "nl" } else { "en" };
        for l in 0..(3 + d % 5) {
            let quantity = if d % 97 == 5 && l == 1 { "abc".to_owned() } else { format!("{}.5", (d + l) % 300 + 1) };
            let _ = writeln!(
                csv,
                "C-{d:05},INV-R-{d:05},Test,Customer {d},{lang},Teststraat {l},1000 AA,Amsterdam,NL,{label},2026-11-01,2026-11-15,RF18539007547034,Item {l},{quantity},kWh,0.{p:04},21",
                p = 1000 + (d * 31 + l * 17) % 8000,
            );
        }
    }
    csv
}

/// Every file of a folder with its bytes; `report.json` without the figures
/// that describe the process rather than the result.
pub fn folder(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    read_into(dir, "", &mut files);
    files
}

/// Reads `dir` and its sub-folders (the sink's blocks) into `files`, by
/// path relative to the run's folder.
fn read_into(dir: &Path, prefix: &str, files: &mut BTreeMap<String, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.file_type().unwrap().is_dir() {
            read_into(&entry.path(), &format!("{name}/"), files);
            continue;
        }
        let mut bytes = std::fs::read(entry.path()).unwrap();
        if name == "report.json" {
            let mut report: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            for volatile in VOLATILE {
                report.as_object_mut().unwrap().remove(volatile);
            }
            bytes = serde_json::to_vec_pretty(&report).unwrap();
        }
        files.insert(name, bytes);
    }
}

/// What `report.json` says of the process rather than the result.
pub const VOLATILE: [&str; 6] = ["timings", "stages", "docs_per_sec", "threads", "resumed_at", "stray_outputs_removed"];

pub fn assert_same_folder(expected: &Path, actual: &Path) {
    let (a, b) = (folder(expected), folder(actual));
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b), "{} and {} hold different files", expected.display(), actual.display());
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{name} differs between {} and {}", expected.display(), actual.display());
    }
}
