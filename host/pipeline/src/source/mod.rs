//! The first stage of a run, on its own thread: reads the source file in
//! chunks, feeds them to the tenant's translator (an instance is stateful
//! and single-threaded, so one session reads the whole file), and numbers
//! every outcome in input order.
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

use crate::flow::{Failure, Work, WorkItem, rejection};
use crate::report::Stage;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tessera_cdm::CdmRecord;
use tessera_runtime::{CallContext, Plugin, PluginFault, SourceLocation, TranslateOutcome};

/// Bytes handed to the translator per call.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// What the source stage needs.
pub(crate) struct SourceStage<'a> {
    /// The translator.
    pub translator: &'a Plugin,
    /// Its call context (seeded by the source name).
    pub call: CallContext,
    /// The file.
    pub input: &'a Path,
    /// Its name, for locations.
    pub source_name: &'a str,
    /// Records already committed by an interrupted run: translated and
    /// validated again (to rebuild the duplicate check) but not sent on.
    pub skip: u64,
    /// Bytes read so far, for the progress display.
    pub bytes_read: &'a AtomicU64,
}

/// How the source ended.
pub(crate) struct SourceEnd {
    /// Outcomes numbered (records in, including skipped ones).
    pub records: u64,
    /// Fuel the translator used for the whole file.
    pub translator_fuel: u64,
}

/// Why the source stage stopped early.
#[derive(Debug)]
pub(crate) enum SourceError {
    /// Reading the file failed.
    Io(std::io::Error),
    /// The next stage is gone (the run is being abandoned).
    Closed,
}

struct Numbering<'a, F: FnMut(Work) -> bool> {
    next: u64,
    skip: u64,
    seen: HashSet<u64, BuildHasherDefault<AlreadyHashed>>,
    send: F,
    translator: &'a Plugin,
}

impl<F: FnMut(Work) -> bool> Numbering<'_, F> {
    /// Numbers, validates and sends one outcome; `translate` is its share
    /// of the translator's time.
    fn outcome(&mut self, outcome: TranslateOutcome, translate: Duration) -> Result<(), SourceError> {
        let seq = self.next;
        self.next += 1;
        let replay = seq < self.skip;
        let item = match outcome {
            TranslateOutcome::Rejected { code, message, location } => {
                if replay {
                    return Ok(());
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
                    None => WorkItem::Record { cdm, location },
                    Some(id) => {
                        let failure = Failure {
                            field: Some("$.reference.document_id".into()),
                            ..Failure::plain(
                                Stage::Validate,
                                format!("document id {id} appeared earlier in this source; it may appear once"),
                            )
                        };
                        WorkItem::Rejected(rejection(CdmRecord::identifiers(&cdm), location, failure, None))
                    }
                }
            }
        };
        if replay {
            return Ok(());
        }
        if (self.send)(Work { seq, item, translate }) { Ok(()) } else { Err(SourceError::Closed) }
    }

    /// The translator died: what it had not yet returned is one rejection,
    /// located at the byte offset where the failing chunk started.
    fn fault(&mut self, fault: PluginFault, source_name: &str, offset: u64) -> Result<(), SourceError> {
        let seq = self.next;
        self.next += 1;
        if seq < self.skip {
            return Ok(());
        }
        let mut failure = Failure::fault(Stage::Translate, fault);
        failure.reason = format!("the rest of the source was not translated: {}", failure.reason);
        let location = SourceLocation {
            source: Some(source_name.to_owned()),
            field: Some(format!("byte {offset} onwards")),
            ..Default::default()
        };
        let item = WorkItem::Rejected(rejection((None, None), Some(location), failure, None));
        if (self.send)(Work { seq, item, translate: Duration::ZERO }) { Ok(()) } else { Err(SourceError::Closed) }
    }

    /// Sends a batch of outcomes, sharing `took` among them.
    fn outcomes(&mut self, outcomes: Vec<TranslateOutcome>, took: &mut Duration) -> Result<(), SourceError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let share = *took / outcomes.len() as u32;
        *took = Duration::ZERO;
        outcomes.into_iter().try_for_each(|o| self.outcome(o, share))
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

impl SourceStage<'_> {
    /// Runs the translator over the file; `send` passes each numbered
    /// outcome on and returns false once nobody listens.
    pub fn run(self, send: impl FnMut(Work) -> bool) -> Result<SourceEnd, SourceError> {
        let file = std::fs::File::open(self.input).map_err(SourceError::Io)?;
        self.run_from(file, send)
    }

    /// Like [`Self::run`], over any reader (a request body held in memory).
    pub fn run_from(self, mut file: impl Read, send: impl FnMut(Work) -> bool) -> Result<SourceEnd, SourceError> {
        let mut numbering =
            Numbering { next: 0, skip: self.skip, seen: HashSet::default(), send, translator: self.translator };
        // Translator time not yet attributed (a chunk that completed no record
        // adds to the next one's share).
        let mut took = Duration::ZERO;
        let t0 = Instant::now();
        let mut session = match self.translator.translate(&self.call, self.source_name) {
            Ok(s) => s,
            Err(fault) => {
                numbering.fault(fault, self.source_name, 0)?;
                return Ok(SourceEnd { records: numbering.next, translator_fuel: 0 });
            }
        };
        took += t0.elapsed();
        let mut chunk = vec![0u8; CHUNK_BYTES];
        let mut offset = 0u64;
        loop {
            let n = file.read(&mut chunk).map_err(SourceError::Io)?;
            if n == 0 {
                break;
            }
            let t0 = Instant::now();
            let result = session.feed(&chunk[..n]);
            took += t0.elapsed();
            match result {
                Ok(outcomes) => numbering.outcomes(outcomes, &mut took)?,
                Err(fault) => {
                    let fuel = session.usage().fuel;
                    numbering.fault(fault, self.source_name, offset)?;
                    return Ok(SourceEnd { records: numbering.next, translator_fuel: fuel });
                }
            }
            offset += n as u64;
            self.bytes_read.store(offset, Ordering::Relaxed);
        }
        let t0 = Instant::now();
        let result = session.finish();
        took += t0.elapsed();
        match result {
            Ok((outcomes, usage)) => {
                numbering.outcomes(outcomes, &mut took)?;
                Ok(SourceEnd { records: numbering.next, translator_fuel: usage.fuel })
            }
            Err(fault) => {
                numbering.fault(fault, self.source_name, offset)?;
                Ok(SourceEnd { records: numbering.next, translator_fuel: 0 })
            }
        }
    }
}
