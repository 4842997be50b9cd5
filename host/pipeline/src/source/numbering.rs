//! Numbering a source's outcomes, in input order, whichever way they were
//! translated (one session, or shards put back in order).
//!
//! The duplicate check happens here, in input order: a document id may
//! appear once per source, and every later record with the same id is
//! rejected whatever became of the first — so which record owns a file
//! name never depends on the scheduling of the workers. Only the id is read
//! here (validation is the workers' job); ids are remembered as 64-bit
//! digests in a set that uses them as their own hash: about 9 bytes a
//! document (28 MB at a million, counting the moment the set grows), the
//! only memory of a run that grows with its length. Two different ids
//! sharing a digest (odds about 1 in 37 million for a million documents)
//! would reject the second with a visible reason, never deliver it twice.

use crate::flow::{Failure, Outcome, StageTimes, Work, WorkItem, rejection};
use crate::report::Stage;
use crate::source::SourceError;
use crate::source::encoding::WrongBytes;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::time::Duration;
use tessera_cdm::CdmRecord;
use tessera_runtime::{Plugin, PluginFault, SourceLocation, TranslateOutcome};

/// Numbers a source's outcomes in input order, rejects repeated document
/// ids, drops what an interrupted run already committed, and sends the rest.
pub(crate) struct Numbering<'a, F: FnMut(Work) -> bool> {
    next: u64,
    skip: u64,
    seen: HashSet<u64, BuildHasherDefault<AlreadyHashed>>,
    send: F,
    translator: &'a Plugin,
    wrong_bytes: Option<&'a WrongBytes>,
    /// The translator of the file being numbered, when each file of the
    /// source may have its own: its records carry it.
    of_file: Option<Arc<Plugin>>,
}

impl<'a, F: FnMut(Work) -> bool> Numbering<'a, F> {
    /// Numbering from 0; the first `skip` outcomes are checked, not sent.
    pub fn new(translator: &'a Plugin, skip: u64, wrong_bytes: Option<&'a WrongBytes>, send: F) -> Self {
        Numbering { next: 0, skip, seen: HashSet::default(), send, translator, wrong_bytes, of_file: None }
    }

    /// Outcomes numbered so far.
    pub fn count(&self) -> u64 {
        self.next
    }

    /// The translator whose outcomes come next (a folder's files may each
    /// have another).
    pub fn set_translator(&mut self, translator: &'a Arc<Plugin>) {
        self.translator = translator;
        self.of_file = Some(Arc::clone(translator));
    }

    /// A source file that could not be translated at all (a ZIP member
    /// that is unsafe or corrupt, a file no translator reads): one
    /// rejection naming the file and why.
    pub fn reject_file(&mut self, source_name: &str, reason: String) -> Result<(), SourceError> {
        let location = SourceLocation { source: Some(source_name.to_owned()), ..Default::default() };
        self.untranslated(location, Failure::plain(Stage::Translate, reason))
    }

    /// Numbers and sends one rejection of bytes that became no record
    /// (a file refused, what a dead translator left).
    fn untranslated(&mut self, location: SourceLocation, failure: Failure) -> Result<(), SourceError> {
        let seq = self.next;
        self.next += 1;
        if seq < self.skip {
            return Ok(());
        }
        let item = WorkItem::Rejected(rejection((None, None), Some(location), failure, None));
        if (self.send)(Work { seq, item, translate: Duration::ZERO }) { Ok(()) } else { Err(SourceError::Closed) }
    }

    /// Numbers, validates and sends one outcome; `translate` is its share
    /// of the translator's time.
    pub fn outcome(&mut self, outcome: TranslateOutcome, translate: Duration) -> Result<(), SourceError> {
        let seq = self.next;
        self.next += 1;
        let replay = seq < self.skip;
        let item = match outcome {
            TranslateOutcome::Rejected { code, mut message, mut location } => {
                if replay {
                    return Ok(());
                }
                if let Some(wrong) = self.wrong_bytes {
                    wrong.explain(&mut message, &mut location);
                }
                let failure = Failure {
                    field: location.as_ref().and_then(|l| l.field.clone()),
                    plugin: Some(self.translator.name().to_owned()),
                    ..Failure::plain(Stage::Translate, format!("{code}: {message}"))
                };
                WorkItem::Rejected(rejection((None, None), location, failure, None))
            }
            TranslateOutcome::Record { cdm, location } => {
                let repeated = CdmRecord::document_id_of(&cdm).filter(|id| !self.seen.insert(digest(id)));
                match repeated {
                    None => WorkItem::Record { cdm, location, translator: self.of_file.clone() },
                    Some(id) => {
                        WorkItem::Rejected(rejection(CdmRecord::identifiers(&cdm), location, repeated_id(&id), None))
                    }
                }
            }
        };
        if replay {
            return Ok(());
        }
        if (self.send)(Work { seq, item, translate }) { Ok(()) } else { Err(SourceError::Closed) }
    }

    /// Numbers a record that was rendered elsewhere (a cluster's worker),
    /// with the document id and identifiers the worker read from the
    /// translator's JSON: the same duplicate check, and the same rejection
    /// of a repeated id, as [`Self::outcome`]; `times.translate` is its
    /// share of the translator's time.
    pub fn rendered(
        &mut self,
        document_id: Option<&str>,
        identifiers: (Option<String>, Option<String>),
        location: Option<SourceLocation>,
        outcome: Outcome,
        times: StageTimes,
    ) -> Result<(), SourceError> {
        let seq = self.next;
        self.next += 1;
        let translate = times.translate;
        let repeated = document_id.filter(|id| !self.seen.insert(digest(id)));
        if seq < self.skip {
            return Ok(());
        }
        let item = match repeated {
            None => WorkItem::Rendered { outcome, times, location },
            Some(id) => WorkItem::Rejected(rejection(identifiers, location, repeated_id(id), None)),
        };
        if (self.send)(Work { seq, item, translate }) { Ok(()) } else { Err(SourceError::Closed) }
    }

    /// The translator died: what it had not yet returned is one rejection,
    /// located at the byte offset where the failing chunk started; `lost`
    /// says which bytes went untranslated ("the rest of the source").
    pub fn fault(&mut self, fault: PluginFault, source_name: &str, offset: u64, lost: &str) -> Result<(), SourceError> {
        self.failed(Failure::fault(Stage::Translate, fault), source_name, offset, lost)
    }

    /// [`Self::fault`] with the fault already made a failure (it came from
    /// another process).
    pub fn failed(
        &mut self,
        mut failure: Failure,
        source_name: &str,
        offset: u64,
        lost: &str,
    ) -> Result<(), SourceError> {
        failure.reason = format!("{lost} was not translated: {}", failure.reason);
        let location = SourceLocation {
            source: Some(source_name.to_owned()),
            field: Some(format!("byte {offset} onwards")),
            ..Default::default()
        };
        self.untranslated(location, failure)
    }

    /// Sends a batch of outcomes, sharing `took` among them.
    pub fn outcomes(&mut self, outcomes: Vec<TranslateOutcome>, took: &mut Duration) -> Result<(), SourceError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let share = *took / outcomes.len() as u32;
        *took = Duration::ZERO;
        outcomes.into_iter().try_for_each(|o| self.outcome(o, share))
    }
}

/// The rejection of a record whose document id came earlier in the source.
fn repeated_id(id: &str) -> Failure {
    Failure {
        field: Some("$.reference.document_id".into()),
        ..Failure::plain(
            Stage::Validate,
            format!("document id {id} appeared earlier in this source; it may appear once"),
        )
    }
}

fn digest(document_id: &str) -> u64 {
    let d = Sha256::digest(document_id.as_bytes());
    u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
}

/// A hasher for keys that are digests already: no second hash per lookup.
#[derive(Default)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed here; fold anything else in all the same.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
