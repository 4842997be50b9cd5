//! The source stage of a run whose shards are rendered elsewhere: it cuts
//! the source as a local sharded run does, hands each shard to a
//! [`ShardExchange`], and takes the results back in shard order, numbering
//! every outcome and checking duplicates here ([`Numbering`]), so the run's
//! folder is the one a local run writes.
//!
//! ```text
//! read ─► splitter ─► shard k ──exchange──► workers (translate … self-check)
//!   ▲                                             │ result of shard k (any order, maybe twice)
//!   └── first result per shard, in shard order, numbered, sent on ◄──┘
//! ```
//!
//! A result counts once: the first for a shard is taken, later ones (a
//! shard redelivered after a slow worker's ack) are ignored, and one for
//! other bytes than the shard's is refused. At most `in_flight` shards are
//! out at a time.

use crate::flow::{ContentUse, Failure, Outcome, StageTimes, Work};
use crate::remote::{Arrival, RecordEnd, RemoteOutcome, ShardExchange, ShardResult, ShardStart, ShardTask};
use crate::report::{ManifestLine, PluginUse};
use crate::source::files::FilesSource;
use crate::source::numbering::Numbering;
use crate::source::shards::{ShardedSource, lost_in};
use crate::source::{SourceEnd, SourceError};
use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::Duration;
use tessera_content::ContentSet;
use tessera_runtime::{Plugin, TranslateOutcome};

/// Where a remote source stage sends its shards and what it pins them to.
pub(crate) struct Dispatch<'a> {
    /// Where shards go and results come from.
    pub exchange: &'a dyn ShardExchange,
    /// What every shard's task says (run, tenant, revision, plugins…);
    /// index, start, span and digest are filled in per shard.
    pub task: ShardTask,
    /// The content revision the run is pinned to, and its content:
    /// results name their views in it.
    pub revision: Arc<str>,
    /// That revision's content.
    pub content: &'a ContentSet,
    /// Shards out at a time.
    pub in_flight: usize,
}

impl<'a> Dispatch<'a> {
    /// An empty ordering of this dispatch's results, numbered by `numbering`;
    /// `translator` is named for a shard no worker finished, `source_name`
    /// and `source_len` locate what it lost.
    fn order<'d, F: FnMut(Work) -> bool>(
        &'d self,
        numbering: Numbering<'d, F>,
        translator: &'d str,
        source_name: &'d str,
        source_len: u64,
    ) -> InShardOrder<'d, F> {
        InShardOrder {
            numbering,
            refused: BTreeMap::new(),
            parked: BTreeMap::new(),
            sent: BTreeMap::new(),
            next: 0,
            dispatched: 0,
            fuel: 0,
            run: &self.task.run,
            numbering_translator: translator,
            source_name,
            source_len,
            revision: &self.revision,
            content: self.content,
            exchange: self.exchange,
        }
    }
}

/// The remote source stage.
pub(crate) struct RemoteSource<'a> {
    /// The source, its translator (whose splitter cuts it) and shard size.
    pub sharded: ShardedSource<'a>,
    /// Where its shards go.
    pub dispatch: Dispatch<'a>,
}

impl RemoteSource<'_> {
    /// Cuts, dispatches and numbers; `send` passes each numbered outcome on.
    pub fn run(self, send: impl FnMut(Work) -> bool) -> Result<SourceEnd, SourceError> {
        let stage = &self.sharded.stage;
        let file = File::open(stage.input).map_err(SourceError::Io)?;
        let len = file.metadata().map_err(SourceError::Io)?.len();
        let dispatch = &self.dispatch;
        let in_flight = dispatch.in_flight.max(1);
        let numbering = Numbering::new(stage.translator, stage.skip, stage.wrong_bytes, send);
        let mut order = dispatch.order(numbering, stage.translator.name(), stage.source_name, len);
        let split_fuel = self.sharded.split(&file, len, |shard| {
            while order.dispatched - order.next >= in_flight as u64 {
                order.receive()?;
            }
            let mut bytes = vec![0u8; (shard.to - shard.from) as usize];
            file.read_exact_at(&mut bytes, shard.from).map_err(SourceError::Io)?;
            let task = ShardTask {
                index: shard.index as u64,
                start: shard.start.as_ref().map(ShardStart::from),
                from: shard.from,
                to: shard.to,
                sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
                ..dispatch.task.clone()
            };
            order.send(task, bytes, None)
        })?;
        order.finish()?;
        Ok(SourceEnd {
            records: order.numbering.count(),
            translator_fuel: order.fuel + split_fuel,
            shards: order.dispatched,
        })
    }
}

/// A shard that went out: its bytes in the source, their sha256, and for
/// a file of a delivery the file's name and translator.
struct Sent<'a> {
    span: (u64, u64),
    sha256: String,
    file: Option<(String, &'a Arc<Plugin>)>,
}

/// The source stage of a cluster run over a delivery (a folder or ZIP of
/// source files): each readable file is one shard, sent whole with the
/// translator its type names; a file that cannot be read is rejected here,
/// in its place, as a local run rejects it.
pub(crate) struct RemoteFilesSource<'a> {
    /// The delivery, how each file's translator is picked, and the call
    /// context whose seed every file shares.
    pub files: FilesSource<'a>,
    /// Where its shards go.
    pub dispatch: Dispatch<'a>,
}

impl<'a> RemoteFilesSource<'a> {
    /// Lists, dispatches and numbers; `send` passes each numbered outcome on.
    pub fn run(self, send: impl FnMut(Work) -> bool) -> Result<SourceEnd, SourceError> {
        let dispatch = &self.dispatch;
        let in_flight = dispatch.in_flight.max(1);
        let numbering = Numbering::new(self.files.first, self.files.skip, None, send);
        let mut order = dispatch.order(numbering, self.files.first.name(), self.files.name, 0);
        self.files.list(&mut |file| {
            while order.dispatched - order.next >= in_flight as u64 {
                order.receive()?;
            }
            let index = order.dispatched;
            match file.read {
                Err(reason) => {
                    order.refused.insert(index, (file.name, reason));
                    order.dispatched += 1;
                    order.drain()
                }
                Ok((bytes, translator)) => {
                    let task = ShardTask {
                        index,
                        translator: translator.id().to_owned(),
                        source_name: file.name.clone(),
                        seed_name: Some(self.files.name.to_owned()),
                        start: None,
                        from: 0,
                        to: bytes.len() as u64,
                        sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
                        ..dispatch.task.clone()
                    };
                    order.send(task, bytes, Some((file.name, translator)))
                }
            }
        })?;
        order.finish()?;
        Ok(SourceEnd { records: order.numbering.count(), translator_fuel: order.fuel, shards: order.dispatched })
    }
}

/// Results parked until every shard before them is numbered.
struct InShardOrder<'a, F: FnMut(Work) -> bool> {
    numbering: Numbering<'a, F>,
    /// Files of a delivery that could not be read, by their place: why.
    refused: BTreeMap<u64, (String, String)>,
    /// Results by shard, not yet read: a shard's own, or (for shards not
    /// yet dispatched) one that came early.
    parked: BTreeMap<u64, Arrival>,
    /// Each dispatched shard's bytes, their sha256 and, for a file of a
    /// delivery, its name and translator.
    sent: BTreeMap<u64, Sent<'a>>,
    next: u64,
    dispatched: u64,
    fuel: u64,
    run: &'a str,
    /// The translator's name (`id@version`).
    numbering_translator: &'a str,
    source_name: &'a str,
    source_len: u64,
    revision: &'a Arc<str>,
    content: &'a ContentSet,
    exchange: &'a dyn ShardExchange,
}

impl<'a, F: FnMut(Work) -> bool> InShardOrder<'a, F> {
    /// Sends shard `task` (of a delivery's `file`, with its translator),
    /// then numbers whatever is ready: a result may have come before its
    /// shard was sent.
    fn send(
        &mut self,
        task: ShardTask,
        bytes: Vec<u8>,
        file: Option<(String, &'a Arc<Plugin>)>,
    ) -> Result<(), SourceError> {
        self.sent.insert(task.index, Sent { span: (task.from, task.to), sha256: task.sha256.clone(), file });
        self.exchange.dispatch(task, bytes).map_err(|e| SourceError::Io(std::io::Error::other(e)))?;
        self.dispatched += 1;
        self.drain()
    }

    /// Waits for every shard sent.
    fn finish(&mut self) -> Result<(), SourceError> {
        while self.next < self.dispatched {
            self.receive()?;
        }
        Ok(())
    }

    /// Waits for one result and numbers every shard it frees.
    fn receive(&mut self) -> Result<(), SourceError> {
        let received = self.exchange.receive().map_err(|e| SourceError::Io(std::io::Error::other(e)))?;
        let Some(arrival) = received else {
            return Err(SourceError::Io(std::io::Error::other(format!(
                "the cluster stopped answering with shards {}–{} of {} outstanding",
                self.next,
                self.dispatched.saturating_sub(1),
                self.source_name
            ))));
        };
        if arrival.run != self.run {
            return Ok(());
        }
        if let Some(sent) = self.sent.get(&arrival.index)
            && arrival.sha256 != sent.sha256
        {
            self.exchange.note(&format!(
                "ignored a result for shard {} from {}: it was rendered from other bytes than the shard's",
                arrival.index, arrival.worker
            ));
            return Ok(());
        }
        if arrival.index < self.next || self.parked.contains_key(&arrival.index) {
            // A redelivered shard rendered twice: the first result stands.
            return Ok(());
        }
        self.parked.insert(arrival.index, arrival);
        self.drain()
    }

    /// Numbers every dispatched shard whose result is parked, in order.
    fn drain(&mut self) -> Result<(), SourceError> {
        while self.next < self.dispatched {
            if let Some((name, reason)) = self.refused.remove(&self.next) {
                // A file of a delivery that could not be read: nothing went out.
                self.next += 1;
                self.numbering.reject_file(&name, reason)?;
                continue;
            }
            let Some(arrival) = self.parked.remove(&self.next) else { break };
            let Some(sent) = self.sent.remove(&self.next) else { break };
            if arrival.sha256 != sent.sha256 {
                // It came before its shard was dispatched, for other bytes.
                self.exchange.note(&format!("ignored an early result for shard {} from {}", self.next, arrival.worker));
                self.sent.insert(self.next, sent);
                continue;
            }
            let (result, files) = (arrival.read)().map_err(|e| SourceError::Io(std::io::Error::other(e)))?;
            self.next += 1;
            if let Some((_, translator)) = &sent.file {
                self.numbering.set_translator(translator);
            }
            self.number(result, &files, &sent)?;
        }
        Ok(())
    }

    /// Numbers one shard's outcomes, in order.
    fn number(&mut self, result: ShardResult, files: &[u8], sent: &Sent<'_>) -> Result<(), SourceError> {
        self.fuel += result.fuel;
        let content_files: Vec<Arc<BTreeMap<String, String>>> =
            result.content_files.into_iter().map(Arc::new).collect();
        for outcome in result.outcomes {
            match outcome {
                RemoteOutcome::Rejected { code, message, location, translate_us } => {
                    let outcome = TranslateOutcome::Rejected { code, message, location };
                    self.numbering.outcome(outcome, Duration::from_micros(translate_us))?;
                }
                RemoteOutcome::Record(record) => {
                    let record = *record;
                    let t = &record.times;
                    let times = StageTimes {
                        translate: Duration::from_micros(t.translate),
                        validate: t.validate.map(Duration::from_micros),
                        compose: t.compose.map(Duration::from_micros),
                        format: t.format.map(Duration::from_micros),
                        write: None,
                        verify: t.verify.map(Duration::from_micros),
                    };
                    let outcome = self.outcome(record.end, files, &content_files, &record.identifiers);
                    self.numbering.rendered(
                        record.document_id.as_deref(),
                        record.identifiers,
                        record.location,
                        outcome,
                        times,
                    )?;
                }
            }
        }
        if let Some(fault) = result.fault {
            // A shard no worker finished names no plugin of its own: it is
            // its translator that never got through it.
            let translator = sent.file.as_ref().map_or(self.numbering_translator, |(_, t)| t.name());
            let failure = Failure {
                stage: fault.stage,
                reason: fault.reason,
                field: None,
                plugin: fault.plugin.or_else(|| Some(translator.to_owned())),
                limit: fault.limit,
                rule: None,
            };
            match &sent.file {
                Some((name, _)) => self.numbering.failed(failure, name, fault.offset, "the rest of this file")?,
                None => self.numbering.failed(
                    failure,
                    self.source_name,
                    fault.offset,
                    &lost_in(sent.span, self.source_len),
                )?,
            }
        }
        Ok(())
    }

    /// A record's end as the local stages would have left it.
    fn outcome(
        &self,
        end: RecordEnd,
        files: &[u8],
        content_files: &[Arc<BTreeMap<String, String>>],
        identifiers: &(Option<String>, Option<String>),
    ) -> Outcome {
        match end {
            RecordEnd::Rejected(rejection) => Outcome::Rejected(rejection),
            RecordEnd::Delivered { lines, files: refs, view, assets } => {
                let revision = Arc::clone(self.revision);
                let Some(content_view) = self.content.view(&view.0, &view.1) else {
                    return Outcome::Rejected(crate::flow::rejection(
                        identifiers.clone(),
                        None,
                        Failure::plain(
                            crate::report::Stage::Compose,
                            format!(
                                "a worker composed it from content view {}/{}, which revision {revision} does not have",
                                view.0, view.1
                            ),
                        ),
                        None,
                    ));
                };
                let lines = lines
                    .into_iter()
                    .map(|l| ManifestLine {
                        record: l.record,
                        document_id: l.document_id,
                        channel: l.channel,
                        file: l.file,
                        container: None,
                        media_type: l.media_type,
                        templates: l.templates,
                        label: l.label,
                        locale: l.locale,
                        variant: l.variant,
                        content_revision: if *revision == *l.content_revision {
                            Arc::clone(&revision)
                        } else {
                            Arc::from(l.content_revision)
                        },
                        content_view: l.content_view,
                        content_files: Arc::clone(&content_files[l.content_files]),
                        plugins: l.plugins.into_iter().map(PluginUse::from).collect(),
                        fuel: l.fuel,
                        bytes: l.bytes,
                        pages: l.pages,
                        spool: None,
                        sha256: l.sha256,
                        warnings: l.warnings,
                    })
                    .collect();
                let files = refs
                    .into_iter()
                    .map(|f| (f.name, files[f.offset as usize..(f.offset + f.len) as usize].to_vec()))
                    .collect();
                let content = ContentUse { revision, view: Arc::clone(content_view), assets };
                // Workers never stage letters: spooled channels do not run on a cluster.
                Outcome::Delivered { lines, content, files, staged: Vec::new() }
            }
        }
    }
}
