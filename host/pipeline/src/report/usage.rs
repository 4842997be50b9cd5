//! `usage.json`: what a run produced, metered per brand label and channel —
//! documents, outputs, bytes and pages — the figures white-label providers
//! bill their tenants by. Counted from the manifest lines as each document
//! is committed, so the two always agree and memory does not grow with the
//! number of documents.

use crate::report::ManifestLine;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One meter.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Meter {
    /// Documents (recipients) with at least one output here.
    pub documents: u64,
    /// Output files.
    pub outputs: u64,
    /// Output bytes.
    pub bytes: u64,
    /// Printed pages, for outputs whose format has pages.
    pub pages: u64,
    /// Sheets of paper of print spools (a two-sided sheet holds two
    /// pages; a letter's blank back counts as a sheet side).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sheets: u64,
    /// Blank pages inserted in print spools so letters start on a front.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub blank_pages: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Meter {
    fn add(&mut self, line: &ManifestLine) {
        self.outputs += 1;
        // A spool's letters share its file: its bytes are counted once, with its first letter.
        match &line.spool {
            Some(place) => {
                self.bytes += if place.first_page == 1 { line.bytes } else { 0 };
                self.sheets += u64::from(place.sheets);
                self.blank_pages += u64::from(place.blank_after);
            }
            None => self.bytes += line.bytes,
        }
        self.pages += line.pages.unwrap_or(0);
    }
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
    /// Per A/B variant (documents with no variant are not listed).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_variant: BTreeMap<String, Meter>,
}

/// The meters of a run so far (kept in its checkpoint).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct UsageTally {
    totals: Meter,
    /// label → channel → meter.
    rows: BTreeMap<String, BTreeMap<String, Meter>>,
    /// variant → meter.
    #[serde(default)]
    variants: BTreeMap<String, Meter>,
}

impl UsageTally {
    /// Counts the outputs of one delivered document.
    pub fn add_document(&mut self, lines: &[ManifestLine]) {
        let mut rows_hit = BTreeSet::new();
        for line in lines {
            let meter = self.rows.entry(line.label.clone()).or_default().entry(line.channel.clone()).or_default();
            meter.add(line);
            if rows_hit.insert((line.label.as_str(), line.channel.as_str())) {
                meter.documents += 1;
            }
            self.totals.add(line);
        }
        if !lines.is_empty() {
            self.totals.documents += 1;
        }
        if let Some(variant) = lines.first().and_then(|l| l.variant.as_ref()) {
            let meter = self.variants.entry(variant.clone()).or_default();
            meter.documents += 1;
            for line in lines {
                meter.add(line);
            }
        }
    }

    /// Counts a letter placed in a print spool at the end of the run:
    /// an output of a document counted already, unless it is the
    /// document's only output (`only_output`).
    pub fn add_spooled(&mut self, line: &ManifestLine, only_output: bool) {
        let meter = self.rows.entry(line.label.clone()).or_default().entry(line.channel.clone()).or_default();
        meter.add(line);
        meter.documents += 1;
        self.totals.add(line);
        if only_output {
            self.totals.documents += 1;
        }
        if let Some(variant) = &line.variant {
            let meter = self.variants.entry(variant.clone()).or_default();
            if only_output {
                meter.documents += 1;
            }
            meter.add(line);
        }
    }

    /// `usage.json` of the run.
    pub fn usage(&self, tenant: &str, input: &str, as_of: &str) -> Usage {
        let by_label_channel = self
            .rows
            .iter()
            .flat_map(|(label, channels)| {
                channels.iter().map(move |(channel, meter)| UsageRow {
                    label: label.clone(),
                    channel: channel.clone(),
                    meter: meter.clone(),
                })
            })
            .collect();
        Usage {
            tenant: tenant.to_owned(),
            input: input.to_owned(),
            as_of: as_of.to_owned(),
            totals: self.totals.clone(),
            by_label_channel,
            by_variant: self.variants.clone(),
        }
    }
}

/// Pages of an output, when its format has them: ASA line printer data
/// starts each page with carriage control `1`.
pub fn pages(media_type: &str, bytes: &[u8]) -> Option<u64> {
    if media_type.contains("x-carriage-control=asa") {
        let starts = std::iter::once(&b'\n').chain(bytes.iter()).zip(bytes.iter());
        Some(starts.filter(|(prev, cur)| **prev == b'\n' && **cur == b'1').count() as u64)
    } else if media_type == "application/pdf" {
        pdf_pages(bytes)
    } else {
        None
    }
}

/// The page count of a PDF whose page tree is not compressed (as Typst
/// writes it): the `/Count` of the root `/Type /Pages` object, the one
/// without a `/Parent`. `None` when it cannot be found that way.
fn pdf_pages(bytes: &[u8]) -> Option<u64> {
    // Bytes, not text: this runs for every PDF written, and a lossy UTF-8
    // copy of the whole file per document is work for nothing.
    let root = split_on(bytes, b"endobj").find(|obj| is_pages_node(obj) && find(obj, b"/Parent").is_none())?;
    let after = &root[find(root, b"/Count")? + b"/Count".len()..];
    let digits: Vec<u8> =
        after.iter().skip_while(|b| b.is_ascii_whitespace()).take_while(|b| b.is_ascii_digit()).copied().collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

/// Whether a PDF object is a page tree node: `/Type` then `/Pages`, with
/// or without white space between (PDF writers differ).
fn is_pages_node(obj: &[u8]) -> bool {
    let mut rest = obj;
    while let Some(at) = find(rest, b"/Type") {
        rest = &rest[at + b"/Type".len()..];
        let value: &[u8] = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
        if value.starts_with(b"/Pages") && !value.get(b"/Pages".len()).is_some_and(|b| b.is_ascii_alphanumeric()) {
            return true;
        }
    }
    false
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `bytes` cut at every `separator`.
fn split_on<'a>(bytes: &'a [u8], separator: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let current = rest?;
        match find(current, separator) {
            Some(at) => {
                rest = Some(&current[at + separator.len()..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
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

    #[test]
    fn pdf_pages_come_from_the_root_page_tree_node() {
        let typst = b"1 0 obj\n<</Type/Pages/Count 3/Kids[4 0 R 5 0 R]>>\nendobj\n2 0 obj\n<</Type/Catalog/Pages 1 0 R>>\nendobj\n6 0 obj <</Type /Pages /Parent 1 0 R /Count 2>> endobj";
        assert_eq!(pages("application/pdf", typst), Some(3));
        assert_eq!(pages("application/pdf", b"<</Type /Pages\n/Count 12 >> endobj"), Some(12));
        assert_eq!(pages("application/pdf", b"%PDF-1.7 compressed object streams"), None);
    }
}
