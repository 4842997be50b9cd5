//! The first stage of a run, on its own thread: reads the source and has
//! the tenant's translator turn it into numbered outcomes, in input order
//! ([`numbering`]). A translator that can cut a source (contract 0.3.0)
//! translates its shards on every core ([`shards`]); any other reads the
//! whole source in one session, here (an instance is stateful and
//! single-threaded).

pub mod encoding;
pub(crate) mod files;
pub(crate) mod numbering;
pub(crate) mod remote;
pub(crate) mod shards;

use crate::flow::Work;
use numbering::Numbering;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tessera_runtime::{CallContext, Plugin};

/// Bytes handed to the translator per call.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// What a session that died did not translate.
const REST: &str = "the rest of the source";

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
    /// A transcoded source's bytes that were no characters, for the
    /// rejections of their rows.
    pub wrong_bytes: Option<&'a encoding::WrongBytes>,
}

/// How the source ended.
pub(crate) struct SourceEnd {
    /// Outcomes numbered (records in, including skipped ones).
    pub records: u64,
    /// Fuel the translator used for the whole file.
    pub translator_fuel: u64,
    /// Shards the source was translated in (1: whole).
    pub shards: u64,
}

/// Why the source stage stopped early.
#[derive(Debug)]
pub(crate) enum SourceError {
    /// Reading the file failed.
    Io(std::io::Error),
    /// The next stage is gone (the run is being abandoned).
    Closed,
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
        let mut numbering = Numbering::new(self.translator, self.skip, self.wrong_bytes, send);
        // Translator time not yet attributed (a chunk that completed no record
        // adds to the next one's share).
        let mut took = Duration::ZERO;
        let t0 = Instant::now();
        let mut session = match self.translator.translate(&self.call, self.source_name) {
            Ok(s) => s,
            Err(fault) => {
                numbering.fault(fault, self.source_name, 0, REST)?;
                return Ok(SourceEnd { records: numbering.count(), translator_fuel: 0, shards: 1 });
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
                    numbering.fault(fault, self.source_name, offset, REST)?;
                    return Ok(SourceEnd { records: numbering.count(), translator_fuel: fuel, shards: 1 });
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
                Ok(SourceEnd { records: numbering.count(), translator_fuel: usage.fuel, shards: 1 })
            }
            Err(fault) => {
                numbering.fault(fault, self.source_name, offset, REST)?;
                Ok(SourceEnd { records: numbering.count(), translator_fuel: 0, shards: 1 })
            }
        }
    }
}
