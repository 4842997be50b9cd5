//! What travels between the stages of a run: numbered work from the source
//! stage to the workers, and numbered results from the workers to the
//! committer, which puts them back in input order.

use crate::report::{ManifestLine, Rejection, Stage};
use std::sync::Arc;
use std::time::Duration;
use tessera_content::{ContentView, Resolution};
use tessera_runtime::{Plugin, PluginFault, SourceLocation};

/// One record (or one rejection) from the source stage.
pub(crate) struct Work {
    /// Position in the input: 0, 1, 2, ...
    pub seq: u64,
    /// The record or why it never became one.
    pub item: WorkItem,
    /// Its share of the translator's time.
    pub translate: Duration,
}

/// A valid record, or a rejection made by the source stage.
pub(crate) enum WorkItem {
    /// To validate, compose and format.
    Record {
        /// The translator's CDM JSON.
        cdm: String,
        /// Where it starts in the source.
        location: Option<SourceLocation>,
        /// The translator of the record's file, when the run's files have
        /// several (a folder or ZIP of sources); `None`: the run's translator.
        translator: Option<Arc<Plugin>>,
    },
    /// Rejected by the translator or as a repeated document id.
    Rejected(Rejection),
    /// Rendered elsewhere (a cluster's worker): only its files are still
    /// to be written (`dir` sink).
    Rendered {
        /// Delivered (files not yet written) or rejected.
        outcome: Outcome,
        /// Its time in the stages the worker ran.
        times: StageTimes,
        /// Where it starts in the source (for a rejection when writing fails).
        location: Option<SourceLocation>,
    },
}

/// What became of one record.
pub(crate) struct Done {
    /// Its position in the input.
    pub seq: u64,
    /// Delivered or rejected.
    pub outcome: Outcome,
    /// Time per stage.
    pub times: StageTimes,
}

/// A record's end.
pub(crate) enum Outcome {
    /// Every output written; the manifest lines to append.
    Delivered {
        /// One per output file.
        lines: Vec<ManifestLine>,
        /// The content it was composed from.
        content: ContentUse,
        /// The files, when the committer writes them (`zip` sink; empty
        /// when the worker wrote them).
        files: Vec<(String, Vec<u8>)>,
        /// Its letters for spooled channels (the committer stages them).
        staged: Vec<crate::spool::staging::StagedLetter>,
    },
    /// Rejected, with the reason.
    Rejected(Rejection),
}

/// The content a document was composed from.
pub(crate) struct ContentUse {
    /// Revision.
    pub revision: Arc<str>,
    /// View (files and their resolutions).
    pub view: Arc<ContentView>,
    /// Assets the templates used.
    pub assets: Vec<Resolution>,
}

/// One record's time in each stage it reached.
#[derive(Default)]
pub(crate) struct StageTimes {
    pub translate: Duration,
    pub validate: Option<Duration>,
    pub compose: Option<Duration>,
    pub format: Option<Duration>,
    pub write: Option<Duration>,
    pub verify: Option<Duration>,
}

/// A record that did not make it, before it is written down.
pub(crate) struct Failure {
    pub stage: Stage,
    pub reason: String,
    pub field: Option<String>,
    pub plugin: Option<String>,
    pub limit: Option<String>,
    /// The rule broken (an amount rule, `ISO-13616`), when one was.
    pub rule: Option<&'static str>,
}

impl Failure {
    /// A failure with a stage and a reason only.
    pub fn plain(stage: Stage, reason: String) -> Failure {
        Failure { stage, reason, field: None, plugin: None, limit: None, rule: None }
    }

    /// A plugin fault: names the plugin and the limit it hit.
    pub fn fault(stage: Stage, fault: PluginFault) -> Failure {
        Failure {
            stage,
            plugin: Some(fault.plugin.clone()),
            limit: fault.kind.limit().map(str::to_owned),
            reason: fault.to_string(),
            field: match &*fault.kind {
                tessera_runtime::FaultKind::Reported { field, .. } => field.clone(),
                _ => None,
            },
            rule: None,
        }
    }
}

/// The rejection of the record with these (customer ref, document id), and
/// the schema rule when validation refused it.
pub(crate) fn rejection(
    (record, document_id): (Option<String>, Option<String>),
    location: Option<SourceLocation>,
    failure: Failure,
    rule: Option<String>,
) -> Rejection {
    Rejection {
        record,
        document_id,
        source: location,
        stage: failure.stage,
        field: failure.field,
        rule: failure.rule.map(str::to_owned).or(rule),
        plugin: failure.plugin,
        limit: failure.limit,
        reason: failure.reason,
    }
}
