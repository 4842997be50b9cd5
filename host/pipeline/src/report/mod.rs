//! What a run produced: the manifest (one line per output), the rejections
//! (one line per rejected record) and the run report with the accounting
//! identity `records_in = delivered + rejected`.
//!
//! Manifests and reports carry the customer reference and document id only,
//! never names, addresses or amounts.

pub mod latency;
pub mod usage;

use serde::{Deserialize, Serialize};
use tessera_runtime::SourceLocation;

/// A plugin that contributed to an output.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PluginUse {
    /// Plugin id.
    pub id: String,
    /// Plugin version.
    pub version: String,
    /// Component sha256.
    pub sha256: String,
    /// Fuel it used for this output (translators: not attributable, 0).
    /// Absent for a formatter whose instances serve several documents: its
    /// fuel depends on what the instance did before (parsing fonts on its
    /// first letter, cache hits later), so it would differ between two runs
    /// of the same input and make their manifests differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    /// Wall-clock time of its calls for this output (instantiation
    /// included), for the server's metrics; never written to the manifest,
    /// which stays byte-identical between runs.
    #[serde(skip)]
    pub elapsed: std::time::Duration,
}

/// One line of `manifest.jsonl`: one output file.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestLine {
    /// `reference.customer_ref`.
    pub record: String,
    /// `reference.document_id`.
    pub document_id: String,
    /// `html`, `print`, ...
    pub channel: String,
    /// The file: its path in the output folder (`dir` sink,
    /// `00000/INV-1.html`), or its member name in `container` (`zip` sink).
    pub file: String,
    /// The `zip` sink's container holding the file (`00000.html.zip`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub container: Option<String>,
    /// Media type.
    pub media_type: String,
    /// Templates used.
    pub templates: Vec<String>,
    /// Brand label used.
    pub label: String,
    /// Locale used.
    pub locale: String,
    /// The A/B variant the document got, if its scenario has variants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The content revision: a commit id, or `worktree:<digest>`.
    pub content_revision: std::sync::Arc<str>,
    /// The content view (`label/locale`) whose files were used; its
    /// resolution chains are in the run's `content.json`.
    pub content_view: String,
    /// Path (in the content repository) → git blob id of every content file
    /// of that view.
    #[serde(serialize_with = "content_files_json")]
    pub content_files: std::sync::Arc<std::collections::BTreeMap<String, String>>,
    /// Plugins involved, with fuel.
    pub plugins: Vec<PluginUse>,
    /// Total fuel of the plugins for this output (those that report it).
    pub fuel: u64,
    /// Output size.
    pub bytes: u64,
    /// Pages, for outputs whose format has pages (print).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages: Option<u64>,
    /// Where the letter is in its print spool (`file`, whose size and
    /// sha256 these are): spooled channels only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spool: Option<SpoolPlace>,
    /// Output sha256.
    pub sha256: String,
    /// What was left out of the document or deserves a second look (a
    /// malformed optional BIC, a payee account the tenant does not list);
    /// never a value.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::truth::Warning>,
}

/// A letter's place in its print spool.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct SpoolPlace {
    /// Its first page in the spool (1-based).
    pub first_page: u32,
    /// Its last page of its own.
    pub last_page: u32,
    /// Blank pages inserted after it so that the next letter starts on a
    /// front (two-sided spools).
    pub blank_after: u32,
    /// Sheets of paper it takes.
    pub sheets: u32,
}

/// Writes a manifest line's `content_files` as serde would, from JSON made
/// once per map: the documents of a content view share one map, and its
/// paths and blob ids (a kilobyte and more) were escaped again for every
/// line. The last map seen is kept per thread; the committer writes the
/// lines of one view after another.
fn content_files_json<S: serde::Serializer>(
    files: &std::sync::Arc<std::collections::BTreeMap<String, String>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use std::cell::RefCell;
    type Files = std::sync::Arc<std::collections::BTreeMap<String, String>>;
    thread_local! {
        static LAST: RefCell<Option<(Files, Box<serde_json::value::RawValue>)>> = const { RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        let cached = last.as_ref().filter(|(map, _)| std::sync::Arc::ptr_eq(map, files));
        let json = match cached {
            Some((_, json)) => json,
            None => {
                let json = serde_json::value::to_raw_value(&**files).map_err(serde::ser::Error::custom)?;
                &last.insert((std::sync::Arc::clone(files), json)).1
            }
        };
        json.serialize(serializer)
    })
}

/// Where a record was lost.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// The translator rejected it or failed.
    Translate,
    /// It is not a usable CDM record.
    Validate,
    /// No channel could be used for it (scenario routing).
    Route,
    /// Composition failed (template or fragment).
    Compose,
    /// A formatter failed.
    Format,
    /// Its outputs could not be written.
    Write,
    /// The self-check found an output that contradicts its record.
    Verify,
}

/// One line of `rejected.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rejection {
    /// `reference.customer_ref`, when the record got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// `reference.document_id`, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
    /// Where in the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceLocation>,
    /// Stage that rejected it.
    pub stage: Stage,
    /// The field or JSON path at fault, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The CDM schema rule violated (`required`, `pattern`, ...), for
    /// validation rejections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Plugin at fault (`id@version`), when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// Limit hit, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// What a person can act on.
    pub reason: String,
}

/// Milliseconds spent per stage (summed over the threads that ran it).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Timings {
    /// Translating (plugin calls).
    pub translate_ms: f64,
    /// Validating CDM.
    pub validate_ms: f64,
    /// Composing (templates + fragment plugins).
    pub compose_ms: f64,
    /// Formatting (formatter plugins).
    pub format_ms: f64,
    /// Writing files.
    pub write_ms: f64,
    /// Self-checking outputs against their records.
    #[serde(default)]
    pub verify_ms: f64,
    /// Making print spools at the end of the run (wall time).
    #[serde(default, skip_serializing_if = "is_zero_ms")]
    pub spool_ms: f64,
    /// The whole run.
    pub total_ms: f64,
}

fn is_zero_ms(ms: &f64) -> bool {
    *ms == 0.0
}

/// `report.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Tenant id.
    pub tenant: String,
    /// Input file name.
    pub input: String,
    /// Translator used.
    pub translator: String,
    /// As-of date.
    pub as_of: String,
    /// Records that came in (translated + rejected by the translator).
    pub records_in: u64,
    /// Records whose every output was written.
    pub delivered: u64,
    /// Print spool files written (spooled channels).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub spools: u64,
    /// Records rejected, at any stage.
    pub rejected: u64,
    /// Files written.
    pub outputs: u64,
    /// Files per channel.
    pub outputs_by_channel: std::collections::BTreeMap<String, u64>,
    /// Delivered documents per content view (`label/locale`).
    pub documents_by_view: std::collections::BTreeMap<String, u64>,
    /// Delivered documents per A/B variant.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub documents_by_variant: std::collections::BTreeMap<String, u64>,
    /// Delivered documents with a warning (in their manifest lines), per
    /// warning code: `bic-malformed`, `payee-unlisted`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub warnings: std::collections::BTreeMap<String, u64>,
    /// The content revisions documents were rendered from (more than one
    /// when the content was reloaded during the run).
    pub content_revisions: std::collections::BTreeSet<String>,
    /// `records_in == delivered + rejected`.
    pub balanced: bool,
    /// The first 100 rejections (every one is in `rejected.jsonl`).
    pub rejections: Vec<Rejection>,
    /// Fuel used by all plugins.
    pub fuel: u64,
    /// Worker threads of this run.
    pub threads: usize,
    /// Shards the source was translated in: 1 when it was read whole (a
    /// translator before contract 0.3.0, or `--shard-kib 0`).
    #[serde(default = "one")]
    pub shards: u64,
    /// Records an interrupted run had committed before this one resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_at: Option<u64>,
    /// Output files of the interrupted run that no manifest line lists
    /// (records that ended differently this time), removed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stray_outputs_removed: u64,
    /// Time per stage, summed over threads (this process only).
    pub timings: Timings,
    /// Per-stage latency of the records this process handled.
    pub stages: crate::report::latency::StageLatency,
    /// Documents this process delivered per second of its wall time.
    pub docs_per_sec: f64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn one() -> u64 {
    1
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn line(files: &Arc<BTreeMap<String, String>>) -> ManifestLine {
        ManifestLine {
            record: "C-1".into(),
            document_id: "INV-1".into(),
            channel: "html".into(),
            file: "00000/INV-1.html".into(),
            container: None,
            media_type: "text/html".into(),
            templates: vec!["templates/invoice.html".into()],
            label: "acme".into(),
            locale: "nl".into(),
            variant: None,
            content_revision: Arc::from("worktree:0"),
            content_view: "acme/nl".into(),
            content_files: Arc::clone(files),
            plugins: Vec::new(),
            fuel: 0,
            bytes: 1,
            pages: None,
            spool: None,
            sha256: "00".into(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn content_files_are_written_as_a_plain_map_whichever_map_came_before() {
        let map = |entries: &[(&str, &str)]| {
            Arc::new(entries.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>())
        };
        let a =
            map(&[("acme/labels/acme.toml", "34f7"), ("base/templates/invoice.html.tera", "d020"), ("q\"uote", "1")]);
        let b = map(&[("northwind/labels/nw.toml", "aa11")]);
        // Two equal maps that are not the same `Arc` must not share a cache entry by accident either.
        let a_again = map(&[("acme/labels/acme.toml", "34f7")]);
        for files in [&a, &b, &a, &a_again, &b, &b] {
            let written = serde_json::to_string(&line(files)).unwrap();
            let value: serde_json::Value = serde_json::from_str(&written).unwrap();
            assert_eq!(value["content_files"], serde_json::to_value(&**files).unwrap(), "{written}");
            let plain = serde_json::to_string(&**files).unwrap();
            assert!(written.contains(&format!(",\"content_files\":{plain},")), "{written}");
        }
    }
}
