//! `usage.json`: what a run produced, metered per brand label and channel —
//! documents, outputs, bytes and pages — the figures white-label providers
//! bill their tenants by. Built from the manifest, so the two always agree.

use crate::report::ManifestLine;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One meter.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Meter {
    /// Documents (recipients) with at least one output here.
    pub documents: u64,
    /// Output files.
    pub outputs: u64,
    /// Output bytes.
    pub bytes: u64,
    /// Printed pages, for outputs whose format has pages.
    pub pages: u64,
}

/// One label × channel row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UsageRow {
    /// Brand label.
    pub label: String,
    /// Channel.
    pub channel: String,
    /// Its meter.
    #[serde(flatten)]
    pub meter: Meter,
}

/// `usage.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Usage {
    /// Tenant id.
    pub tenant: String,
    /// Source file name.
    pub input: String,
    /// The run's as-of date.
    pub as_of: String,
    /// All outputs of the run.
    pub totals: Meter,
    /// Per label and channel, sorted.
    pub by_label_channel: Vec<UsageRow>,
}

impl Usage {
    /// Meters a run's manifest.
    pub fn from_manifest(tenant: &str, input: &str, as_of: &str, manifest: &[ManifestLine]) -> Usage {
        let mut rows: BTreeMap<(&str, &str), (Meter, BTreeSet<&str>)> = BTreeMap::new();
        let mut totals = Meter::default();
        let mut documents = BTreeSet::new();
        for line in manifest {
            let (meter, docs) = rows.entry((&line.label, &line.channel)).or_default();
            for m in [&mut *meter, &mut totals] {
                m.outputs += 1;
                m.bytes += line.bytes;
                m.pages += line.pages.unwrap_or(0);
            }
            docs.insert(&line.document_id);
            documents.insert(&line.document_id);
        }
        totals.documents = documents.len() as u64;
        let by_label_channel = rows
            .into_iter()
            .map(|((label, channel), (mut meter, docs))| {
                meter.documents = docs.len() as u64;
                UsageRow { label: label.to_owned(), channel: channel.to_owned(), meter }
            })
            .collect();
        Usage { tenant: tenant.to_owned(), input: input.to_owned(), as_of: as_of.to_owned(), totals, by_label_channel }
    }
}

/// Pages of an output, when its format has them: ASA line printer data
/// starts each page with carriage control `1`.
pub fn pages(media_type: &str, bytes: &[u8]) -> Option<u64> {
    if media_type.contains("x-carriage-control=asa") {
        let starts = std::iter::once(&b'\n').chain(bytes.iter()).zip(bytes.iter());
        Some(starts.filter(|(prev, cur)| **prev == b'\n' && **cur == b'1').count() as u64)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asa_pages_are_counted_by_their_carriage_control() {
        let asa = b"1Page one\n text\n-more\n1Page two\n 1 is not a page start here\n";
        assert_eq!(pages("text/plain; charset=utf-8; x-carriage-control=asa", asa), Some(2));
        assert_eq!(pages("text/html; charset=utf-8", b"1\n1"), None);
    }
}
