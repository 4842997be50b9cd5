//! The sharding tests' source (an ACME export with quoted line breaks,
//! multi-byte text, bad rows and a repeated id) and how they compare run
//! folders.

use std::collections::BTreeMap;
use std::path::Path;

const HEADER: &str = "customer_ref,document_id,first_name,last_name,language,street,postcode,city,country,label,invoice_date,due_date,payment_reference,line_description,line_quantity,line_unit,line_unit_price,line_vat_rate\n";

/// 120 invoices of 1–4 lines: some descriptions quoted with a line break,
/// a delimiter or non-ASCII text inside, a row that is not a number, a
/// row with too few fields, blank lines, and an id that comes back later.
pub fn export(crlf: bool) -> Vec<u8> {
    let mut csv = HEADER.to_owned();
    for d in 0..120u32 {
        let id = if d == 77 { "INV-00000005".to_owned() } else { format!("INV-{d:08}") };
        for l in 0..(1 + d % 4) {
            let description = match (d + l) % 4 {
                0 => "\"Stroom, dal\ntarief\"".to_owned(),
                1 => "Énergie « verte » für Zoë".to_owned(),
                _ => format!("Item {l}"),
            };
            let quantity = if d == 31 { "abc".to_owned() } else { format!("{}.5", 1 + (d + l) % 9) };
            if d == 52 && l == 0 {
                csv += &format!("C-{d:05},{id},too,few\n");
                continue;
            }
            csv += &format!(
                "C-{d:05},{id},Zoë,Müller {d},nl,Teststraat {l},1000 AA,Amsterdam,NL,acme,2026-11-01,2026-11-15,RF18539007547034,{description},{quantity},kWh,0.{:04},21\n",
                1000 + (d * 31 + l * 17) % 8000
            );
            if d % 29 == 3 {
                csv += "\n";
            }
        }
    }
    if crlf { csv.replace('\n', "\r\n").into_bytes() } else { csv.into_bytes() }
}

/// Every file of a run's folder; `report.json` without [`VOLATILE`].
pub fn folder(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    super::fs::run_folder(dir, &VOLATILE)
}

/// What `report.json` says of the process rather than the result.
pub const VOLATILE: [&str; 6] = ["timings", "stages", "docs_per_sec", "threads", "fuel", "shards"];
