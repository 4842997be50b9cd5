//! The running account of a batch: what the committed records (a prefix of
//! the input, in input order) added up to. It is small whatever the number
//! of records — counters, meters, the content sets used and the first
//! rejections — and it is saved in every checkpoint, so a resumed run's
//! report and `usage.json` equal an uninterrupted run's.

use crate::report::usage::UsageTally;
use crate::report::{ManifestLine, Rejection};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use tessera_content::Resolution;

/// Rejections repeated in `report.json` (all are in `rejected.jsonl`).
pub const REPORT_REJECTIONS: usize = 100;

/// The files of one content view at one revision, with their resolution
/// chains and the assets the templates used.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContentSetUse {
    /// Content revision.
    pub revision: String,
    /// `label/locale`.
    pub view: String,
    /// Each file and how it resolved.
    pub files: Vec<Resolution>,
}

/// The account.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Tally {
    /// Records committed (delivered or rejected).
    pub records_in: u64,
    /// Delivered records.
    pub delivered: u64,
    /// Rejected records.
    pub rejected: u64,
    /// Output files.
    pub outputs: u64,
    /// Files per channel.
    pub by_channel: BTreeMap<String, u64>,
    /// Documents per content view.
    pub by_view: BTreeMap<String, u64>,
    /// Documents per A/B variant.
    #[serde(default)]
    pub by_variant: BTreeMap<String, u64>,
    /// Delivered documents with a warning, per warning code.
    #[serde(default)]
    pub warnings: BTreeMap<String, u64>,
    /// Fuel of fragment and formatter plugins (the translator's is counted
    /// for the whole source at the end).
    pub fuel: u64,
    /// Usage meters.
    pub usage: UsageTally,
    /// The first [`REPORT_REJECTIONS`] rejections.
    pub first_rejections: Vec<Rejection>,
    /// Content sets used, keyed `revision view`.
    pub content_sets: BTreeMap<String, ContentSetUse>,
    /// File extensions written.
    pub extensions: BTreeSet<String>,
}

impl Tally {
    /// A delivered document and its manifest lines.
    pub fn delivered(&mut self, lines: &[ManifestLine]) {
        self.records_in += 1;
        self.delivered += 1;
        if let Some(first) = lines.first() {
            *self.by_view.entry(first.content_view.clone()).or_default() += 1;
            if let Some(variant) = &first.variant {
                *self.by_variant.entry(variant.clone()).or_default() += 1;
            }
            for warning in &first.warnings {
                *self.warnings.entry(warning.code.clone()).or_default() += 1;
            }
        }
        for line in lines {
            *self.by_channel.entry(line.channel.clone()).or_default() += 1;
            self.fuel += line.fuel;
            self.outputs += 1;
            if let Some(ext) = std::path::Path::new(&line.file).extension().and_then(|e| e.to_str())
                && !self.extensions.contains(ext)
            {
                self.extensions.insert(ext.to_owned());
            }
        }
        self.usage.add_document(lines);
    }

    /// A letter placed in a print spool at the end of the run: one more
    /// output of its record (counted as delivered when it was committed).
    pub fn spooled(&mut self, line: &ManifestLine, only_output: bool) {
        if only_output {
            *self.by_view.entry(line.content_view.clone()).or_default() += 1;
            if let Some(variant) = &line.variant {
                *self.by_variant.entry(variant.clone()).or_default() += 1;
            }
            for warning in &line.warnings {
                *self.warnings.entry(warning.code.clone()).or_default() += 1;
            }
        }
        *self.by_channel.entry(line.channel.clone()).or_default() += 1;
        self.fuel += line.fuel;
        self.outputs += 1;
        if let Some(ext) = std::path::Path::new(&line.file).extension().and_then(|e| e.to_str())
            && !self.extensions.contains(ext)
        {
            self.extensions.insert(ext.to_owned());
        }
        self.usage.add_spooled(line, only_output);
    }

    /// A letter left out of its spool: its record becomes a rejection when
    /// the letter was its only output (else the record stays delivered on
    /// its other channels, and the rejection names the channel).
    pub fn unspooled(&mut self, rejection: &Rejection, only_output: bool) {
        if only_output {
            self.delivered -= 1;
            self.rejected += 1;
        }
        if self.first_rejections.len() < REPORT_REJECTIONS {
            self.first_rejections.push(rejection.clone());
        }
    }

    /// A rejected record.
    pub fn rejected(&mut self, rejection: &Rejection) {
        self.records_in += 1;
        self.rejected += 1;
        if self.first_rejections.len() < REPORT_REJECTIONS {
            self.first_rejections.push(rejection.clone());
        }
    }

    /// Notes the content a document used: its view's files, and assets.
    pub fn content_used(&mut self, revision: &str, view: &str, files: &[Resolution], assets: &[Resolution]) {
        let key = format!("{revision} {view}");
        let set = self.content_sets.entry(key).or_insert_with(|| ContentSetUse {
            revision: revision.to_owned(),
            view: view.to_owned(),
            files: files.to_vec(),
        });
        for asset in assets {
            if !set.files.iter().any(|f| f.path == asset.path) {
                set.files.push(asset.clone());
            }
        }
    }

    /// The content revisions documents came from.
    pub fn revisions(&self) -> BTreeSet<String> {
        self.content_sets.values().map(|s| s.revision.clone()).collect()
    }
}
