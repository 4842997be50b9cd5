//! A source cut into shards that translate on every core (contract 0.3.0).
//!
//! ```text
//! this thread: read ─► splitter ─► shard k = [cut k, cut k+1) ──bounded──► translators (1 per core)
//!      ▲                                                                       │ outcomes of shard k
//!      └──────────── put back in shard order, numbered, sent on ◄──────────────┘
//! ```
//!
//! The splitter reads the file once, in order, and only follows its framing;
//! each translator opens the file itself and reads its shard's bytes. The
//! outcomes of a shard come back whole and are numbered here in shard order
//! ([`Numbering`]), so numbering, the duplicate check and every output are
//! the same as one session over the whole file would give, whatever the
//! shard size and the number of threads. At most `2 × translators` shards
//! are in flight, which bounds the memory a run holds: a few shards' records.
//!
//! A translator that fails in a shard loses what it had not returned of that
//! shard (one rejection naming the bytes); the other shards go on. A
//! splitter that fails leaves the rest of the source as one shard.

use crate::flow::Work;
use crate::source::numbering::Numbering;
use crate::source::{CHUNK_BYTES, SourceEnd, SourceError, SourceStage};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tessera_runtime::{Cut, PluginFault, TranslateOutcome};

/// Shard size when the job does not say: large enough that opening an
/// instance per shard is noise (a few hundred records), small enough that
/// a 2-core machine has dozens of shards in a 100 MB source.
pub const DEFAULT_SHARD_BYTES: u64 = 4 * 1024 * 1024;

/// What the sharded source stage needs: what any source stage needs
/// (its translator must be able to split), and how to shard.
pub(crate) struct ShardedSource<'a> {
    /// Translator, call context, file, name, resume skip, progress.
    pub stage: SourceStage<'a>,
    /// The splitter's minimum gap between cuts.
    pub shard_bytes: u64,
    /// Translator threads.
    pub threads: usize,
}

/// One shard to translate.
pub(crate) struct Shard {
    pub index: usize,
    /// Where it starts (`None`: the source's start).
    pub start: Option<Cut>,
    /// Its bytes in the file.
    pub from: u64,
    pub to: u64,
}

/// What a translator made of one shard.
pub(crate) struct Translated {
    pub index: usize,
    /// The outcomes, each with its share of the translator's time.
    pub outcomes: Vec<(TranslateOutcome, Duration)>,
    /// The translator died: the fault, and the offset of the chunk it died on.
    pub fault: Option<(PluginFault, u64)>,
    /// The shard's bytes, for the fault's message.
    pub span: (u64, u64),
    pub fuel: u64,
    /// Reading the file failed.
    pub io: Option<std::io::Error>,
}

impl ShardedSource<'_> {
    /// Splits, translates and numbers the source; `send` passes each
    /// numbered outcome on and returns false once nobody listens.
    pub fn run(self, send: impl FnMut(Work) -> bool) -> Result<SourceEnd, SourceError> {
        let file = File::open(self.stage.input).map_err(SourceError::Io)?;
        let len = file.metadata().map_err(SourceError::Io)?.len();
        let threads = self.threads.max(1);
        let in_flight = 2 * threads;
        let (shard_tx, shard_rx) = crossbeam_channel::bounded::<Shard>(in_flight);
        let (done_tx, done_rx) = crossbeam_channel::bounded::<Translated>(in_flight);
        std::thread::scope(|scope| {
            for n in 0..threads {
                let (shard_rx, done_tx, file, this) = (shard_rx.clone(), done_tx.clone(), &file, &self);
                std::thread::Builder::new()
                    .name(format!("tessera-translate-{n}"))
                    .spawn_scoped(scope, move || {
                        for shard in shard_rx {
                            if done_tx.send(this.translate_guarded(file, shard)).is_err() {
                                break;
                            }
                        }
                    })
                    .map_err(SourceError::Io)?;
            }
            drop((shard_rx, done_tx));
            let mut order = InOrder {
                numbering: Numbering::new(self.stage.translator, self.stage.skip, self.stage.wrong_bytes, send),
                source_len: len,
                parked: BTreeMap::new(),
                next: 0,
                dispatched: 0,
                fuel: 0,
                source_name: self.stage.source_name,
            };
            let split_fuel = self.split(&file, len, |shard| {
                // Never more than `in_flight` shards out: the translators
                // then never wait on this thread to take their results.
                while order.dispatched - order.next >= in_flight {
                    order.take(done_rx.recv().expect("a translator answers for every shard"))?;
                }
                order.dispatched += 1;
                shard_tx.send(shard).map_err(|_| SourceError::Closed)
            })?;
            drop(shard_tx);
            while order.next < order.dispatched {
                order.take(done_rx.recv().expect("a translator answers for every shard"))?;
            }
            Ok(SourceEnd {
                records: order.numbering.count(),
                translator_fuel: order.fuel + split_fuel,
                shards: order.dispatched as u64,
            })
        })
    }

    /// Reads the file through the translator's splitter and hands over each
    /// shard as soon as the cut after it is known. Returns the splitter's fuel.
    pub(crate) fn split(
        &self,
        mut file: &File,
        len: u64,
        mut dispatch: impl FnMut(Shard) -> Result<(), SourceError>,
    ) -> Result<u64, SourceError> {
        let mut start: Option<Cut> = None;
        let mut index = 0;
        let mut close = |start: &mut Option<Cut>, cut: Option<Cut>| {
            let from = start.as_ref().map_or(0, |c| c.offset);
            let to = cut.as_ref().map_or(len, |c| c.offset);
            let shard = Shard { index, start: std::mem::replace(start, cut), from, to };
            index += 1;
            dispatch(shard)
        };
        let mut splitter = match self.stage.translator.split(&self.stage.call, self.stage.source_name, self.shard_bytes)
        {
            Ok(s) => Some(s),
            Err(fault) => {
                tracing::warn!(plugin = %self.stage.translator.name(), "the splitter did not start, translating {} whole: {fault}", self.stage.source_name);
                None
            }
        };
        let mut chunk = vec![0u8; CHUNK_BYTES];
        let mut offset = 0u64;
        while let Some(s) = splitter.as_mut() {
            let n = file.read(&mut chunk).map_err(SourceError::Io)?;
            if n == 0 {
                break;
            }
            offset += n as u64;
            self.stage.bytes_read.store(offset, Ordering::Relaxed);
            match s.feed(&chunk[..n]) {
                Ok(cuts) => cuts.into_iter().try_for_each(|cut| close(&mut start, Some(cut)))?,
                Err(fault) => {
                    tracing::warn!(plugin = %self.stage.translator.name(), "the splitter failed, translating the rest of {} whole: {fault}", self.stage.source_name);
                    splitter = None;
                }
            }
        }
        let mut fuel = 0;
        if let Some(s) = splitter {
            match s.finish() {
                Ok((cuts, usage)) => {
                    fuel = usage.fuel;
                    // A cut at or past the end would make an empty shard.
                    cuts.into_iter().filter(|c| c.offset < len).try_for_each(|cut| close(&mut start, Some(cut)))?;
                }
                Err(fault) => {
                    tracing::warn!(plugin = %self.stage.translator.name(), "the splitter failed at the end of {}: {fault}", self.stage.source_name);
                }
            }
        }
        self.stage.bytes_read.store(len, Ordering::Relaxed);
        close(&mut start, None)?;
        Ok(fuel)
    }

    /// [`Self::translate`], answering for the shard even if the host
    /// panics while translating it (the run then stops with that error,
    /// instead of waiting for the shard for ever).
    fn translate_guarded(&self, file: &File, shard: Shard) -> Translated {
        let (index, span) = (shard.index, (shard.from, shard.to));
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.translate(file, shard))).unwrap_or_else(|_| {
            Translated {
                index,
                outcomes: Vec::new(),
                fault: None,
                span,
                fuel: 0,
                io: Some(std::io::Error::other(format!(
                    "internal error: the host panicked while translating bytes {}–{} of the source",
                    span.0, span.1
                ))),
            }
        })
    }

    /// Translates one shard in a fresh instance, reading its bytes from the file.
    fn translate(&self, file: &File, shard: Shard) -> Translated {
        let stage = &self.stage;
        translate_span(
            stage.translator,
            &stage.call,
            stage.source_name,
            shard.start.as_ref(),
            (shard.index, shard.from, shard.to),
            |chunk, at| file.read_exact_at(chunk, at),
        )
    }
}

/// Translates the bytes `from..to` of a source (shard `index`) in a fresh
/// instance of `translator`, started at `start` (`None`: the source's
/// start); `read_at` fills a chunk with the bytes at an offset.
pub(crate) fn translate_span(
    translator: &tessera_runtime::Plugin,
    call: &tessera_runtime::CallContext,
    source_name: &str,
    start: Option<&Cut>,
    span: (usize, u64, u64),
    read_at: impl FnMut(&mut [u8], u64) -> std::io::Result<()>,
) -> Translated {
    let mut outcomes = Vec::new();
    let mut done = translate_span_each(translator, call, source_name, start, span, read_at, |batch| {
        outcomes.extend(batch);
        true
    });
    done.outcomes = outcomes;
    done
}

/// [`translate_span`], handing each call's outcomes to `take` as they come
/// (with each outcome's share of the translator's time) instead of keeping
/// them: whoever renders them can start on the first while the rest
/// translate. The returned [`Translated`] has no outcomes; `take` returning
/// false stops the translation there (nobody wants the rest).
pub(crate) fn translate_span_each(
    translator: &tessera_runtime::Plugin,
    call: &tessera_runtime::CallContext,
    source_name: &str,
    start: Option<&Cut>,
    (index, from, to): (usize, u64, u64),
    mut read_at: impl FnMut(&mut [u8], u64) -> std::io::Result<()>,
    mut take: impl FnMut(Vec<(TranslateOutcome, Duration)>) -> bool,
) -> Translated {
    let mut done = Translated { index, outcomes: Vec::new(), fault: None, span: (from, to), fuel: 0, io: None };
    let mut took = Duration::ZERO;
    let mut keep = |outcomes: Vec<TranslateOutcome>, took: &mut Duration| {
        if outcomes.is_empty() {
            return true;
        }
        let share = *took / outcomes.len() as u32;
        *took = Duration::ZERO;
        take(outcomes.into_iter().map(|o| (o, share)).collect())
    };
    let t0 = Instant::now();
    let opened = match start {
        None => translator.translate(call, source_name),
        Some(cut) => translator.translate_from(call, source_name, cut),
    };
    took += t0.elapsed();
    let mut session = match opened {
        Ok(s) => s,
        Err(fault) => {
            done.fault = Some((fault, from));
            return done;
        }
    };
    let mut chunk = vec![0u8; CHUNK_BYTES];
    let mut at = from;
    while at < to {
        let want = CHUNK_BYTES.min((to - at) as usize);
        if let Err(e) = read_at(&mut chunk[..want], at) {
            done.io = Some(e);
            return done;
        }
        let t0 = Instant::now();
        let fed = session.feed(&chunk[..want]);
        took += t0.elapsed();
        match fed {
            Ok(outcomes) => {
                if !keep(outcomes, &mut took) {
                    return done;
                }
            }
            Err(fault) => {
                done.fuel = session.usage().fuel;
                done.fault = Some((fault, at));
                return done;
            }
        }
        at += want as u64;
    }
    let t0 = Instant::now();
    let finished = session.finish();
    took += t0.elapsed();
    match finished {
        Ok((outcomes, usage)) => {
            done.fuel = usage.fuel;
            keep(outcomes, &mut took);
        }
        Err(fault) => done.fault = Some((fault, at)),
    }
    done
}

/// Puts translated shards back in order and numbers their outcomes.
struct InOrder<'a, F: FnMut(Work) -> bool> {
    numbering: Numbering<'a, F>,
    /// Shards translated before the ones ahead of them.
    parked: BTreeMap<usize, Translated>,
    /// The next shard to number.
    next: usize,
    /// Shards handed to the translators so far.
    dispatched: usize,
    fuel: u64,
    source_name: &'a str,
    source_len: u64,
}

impl<F: FnMut(Work) -> bool> InOrder<'_, F> {
    /// Takes one translated shard; numbers it and every parked one it frees.
    fn take(&mut self, done: Translated) -> Result<(), SourceError> {
        self.parked.insert(done.index, done);
        while let Some(shard) = self.parked.remove(&self.next) {
            self.next += 1;
            self.fuel += shard.fuel;
            if let Some(e) = shard.io {
                return Err(SourceError::Io(e));
            }
            for (outcome, share) in shard.outcomes {
                self.numbering.outcome(outcome, share)?;
            }
            if let Some((fault, offset)) = shard.fault {
                let lost = lost_in(shard.span, self.source_len);
                self.numbering.fault(fault, self.source_name, offset, &lost)?;
            }
        }
        Ok(())
    }
}

/// What a translator that died in the shard of bytes `span` did not translate.
pub(crate) fn lost_in(span: (u64, u64), source_len: u64) -> String {
    match span {
        (0, to) if to == source_len => "the rest of the source".to_owned(),
        (from, to) => format!("the rest of bytes {from}–{to} of the source (one shard)"),
    }
}
