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

/// Every file of a run's folder; `report.json` without [`VOLATILE`].
pub fn folder(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::run_folder(dir, &VOLATILE)
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
