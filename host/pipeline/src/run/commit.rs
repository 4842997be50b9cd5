//! The last stage of a run, on the calling thread: takes the workers'
//! results in whatever order they finish, puts them back in input order,
//! appends each record's manifest lines or rejection, keeps the tally and
//! writes a checkpoint every so often.
//!
//! Only this stage writes `manifest.jsonl` and `rejected.jsonl`, and only in
//! input order, so both files are the same for every thread count and
//! every scheduling, and a checkpoint always describes a prefix of the input.

use crate::flow::{Done, Outcome};
use crate::report::latency::StageHistograms;
use crate::run::checkpoint::{CHECKPOINT_VERSION, Checkpoint, RunIdentity, crash};
use crate::run::tally::Tally;
use crate::sink::containers::{Containers, Member};
use crate::spool::stage::SpoolEnd;
use crate::spool::staging::Stager;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A checkpoint at least every this many records...
const CHECKPOINT_RECORDS: u64 = 2_000;

/// The record cadence: [`CHECKPOINT_RECORDS`], or `TESSERA_CHECKPOINT_RECORDS`
/// (the resume tests use it so that their crash points do not depend on
/// how fast the machine renders).
fn checkpoint_records() -> u64 {
    static EVERY: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *EVERY.get_or_init(|| {
        std::env::var("TESSERA_CHECKPOINT_RECORDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(CHECKPOINT_RECORDS)
    })
}
/// ...or this often, whichever comes first.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// An appended file and how many bytes it holds.
struct Appender {
    path: PathBuf,
    out: BufWriter<File>,
    len: u64,
}

impl Appender {
    /// Opens `path` for appending at `len` bytes (the file was cut to it).
    fn open(path: PathBuf, len: u64) -> std::io::Result<Appender> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Appender { path, out: BufWriter::with_capacity(256 << 10, file), len })
    }

    fn line<T: serde::Serialize>(&mut self, item: &T, scratch: &mut Vec<u8>) -> std::io::Result<()> {
        scratch.clear();
        serde_json::to_writer(&mut *scratch, item).expect("serialises");
        scratch.push(b'\n');
        self.out.write_all(scratch)?;
        self.len += scratch.len() as u64;
        Ok(())
    }
}

/// The committer.
pub(crate) struct Committer {
    out_dir: PathBuf,
    identity: RunIdentity,
    manifest: Appender,
    rejected: Appender,
    /// The account of records `0..next`.
    pub tally: Tally,
    /// Next sequence number to commit.
    next: u64,
    pending: BTreeMap<u64, Done>,
    /// Stage timings of the records committed by this process.
    pub stages: StageHistograms,
    since_checkpoint: u64,
    last_checkpoint: Instant,
    scratch: Vec<u8>,
    /// The `zip` sink's containers (the committer writes them); `None`
    /// when the workers write files into folders.
    containers: Option<Containers>,
    /// Letters of spooled channels, kept for the spool stage.
    stager: Stager,
}

impl Committer {
    /// Starts at checkpoint `from` (records `0..from.records` committed,
    /// the files already cut to its lengths). With `containers` the
    /// committer writes the outputs too, and checkpoints only when a block
    /// is complete.
    pub fn new(
        out_dir: &Path,
        identity: RunIdentity,
        from: Checkpoint,
        containers: Option<Containers>,
    ) -> std::io::Result<Committer> {
        Ok(Committer {
            stager: Stager::open(out_dir, &from.staged_bytes, from.records > 0)?,
            manifest: Appender::open(out_dir.join("manifest.jsonl"), from.manifest_bytes)?,
            rejected: Appender::open(out_dir.join("rejected.jsonl"), from.rejected_bytes)?,
            out_dir: out_dir.to_path_buf(),
            identity,
            tally: from.tally,
            next: from.records,
            pending: BTreeMap::new(),
            stages: StageHistograms::default(),
            since_checkpoint: 0,
            last_checkpoint: Instant::now(),
            scratch: Vec::with_capacity(4096),
            containers,
        })
    }

    /// Records committed so far.
    pub fn committed(&self) -> u64 {
        self.next
    }

    /// Takes one result; commits it and every result it unblocks, in input
    /// order. Returns how many were committed.
    pub fn accept(&mut self, done: Done) -> std::io::Result<u64> {
        self.pending.insert(done.seq, done);
        let mut committed = 0;
        while let Some(done) = self.pending.remove(&self.next) {
            self.commit(done)?;
            committed += 1;
        }
        // Containers checkpoint at block boundaries (in `commit`) only.
        if self.containers.is_none()
            && (self.since_checkpoint >= checkpoint_records()
                || (self.since_checkpoint > 0 && self.last_checkpoint.elapsed() >= CHECKPOINT_INTERVAL))
        {
            self.checkpoint()?;
        }
        Ok(committed)
    }

    fn commit(&mut self, mut done: Done) -> std::io::Result<()> {
        if self.containers.as_ref().is_some_and(|c| c.starts_block(done.seq)) {
            self.checkpoint()?;
        }
        if let (Some(containers), Outcome::Delivered { lines, files, .. }) = (&mut self.containers, &mut done.outcome) {
            let t0 = Instant::now();
            let members: Vec<Member<'_>> = lines
                .iter()
                .zip(files.iter())
                .map(|(line, (name, bytes))| Member {
                    channel: &line.channel,
                    name,
                    bytes,
                    document_id: &line.document_id,
                    record: &line.record,
                    sha256: &line.sha256,
                })
                .collect();
            let names = containers.add(done.seq, &members)?;
            for (line, name) in lines.iter_mut().zip(names) {
                line.container = Some(name);
            }
            files.clear();
            done.times.write = Some(t0.elapsed());
            crash::point("output");
        }
        let t = &done.times;
        self.stages.translate.record(t.translate);
        for (h, d) in [
            (&mut self.stages.validate, t.validate),
            (&mut self.stages.compose, t.compose),
            (&mut self.stages.format, t.format),
            (&mut self.stages.write, t.write),
            (&mut self.stages.verify, t.verify),
        ] {
            if let Some(d) = d {
                h.record(d);
            }
        }
        match &mut done.outcome {
            Outcome::Delivered { lines, content, staged, .. } => {
                for line in lines.iter() {
                    self.manifest.line(line, &mut self.scratch)?;
                }
                for letter in staged {
                    letter.seq = done.seq;
                    self.stager.stage(letter)?;
                }
                self.tally.delivered(lines);
                self.tally.content_used(&content.revision, content.view.key(), content.view.files(), &content.assets);
            }
            Outcome::Rejected(rejection) => {
                self.rejected.line(rejection, &mut self.scratch)?;
                self.tally.rejected(rejection);
            }
        }
        self.next += 1;
        self.since_checkpoint += 1;
        crash::point("commit");
        Ok(())
    }

    /// Publishes the open block's containers (`zip` sink), flushes both
    /// files and records the committed prefix in `progress.json`.
    pub fn checkpoint(&mut self) -> std::io::Result<()> {
        if let Some(containers) = &mut self.containers {
            containers.close()?;
        }
        self.manifest.out.flush()?;
        self.rejected.out.flush()?;
        self.stager.flush()?;
        crash::point("checkpoint");
        self.progress().write(&self.out_dir)?;
        self.since_checkpoint = 0;
        self.last_checkpoint = Instant::now();
        Ok(())
    }

    fn progress(&self) -> Checkpoint {
        Checkpoint {
            version: CHECKPOINT_VERSION,
            identity: self.identity.clone(),
            records: self.next,
            manifest_bytes: self.manifest.len,
            rejected_bytes: self.rejected.len,
            staged_bytes: self.stager.lengths(),
            tally: self.tally.clone(),
        }
    }

    /// The channels with staged letters, for the spool stage.
    pub fn spooled_channels(&self) -> Vec<String> {
        self.stager.channels()
    }

    /// Commits one spooled letter's end (the spool stage, after the last
    /// record): its manifest line or its rejection. No checkpoint follows:
    /// a resume makes the spools again from the checkpoint before them.
    pub fn spool_end(&mut self, end: SpoolEnd) -> std::io::Result<()> {
        match end {
            SpoolEnd::Line { line, only_output } => {
                self.manifest.line(&*line, &mut self.scratch)?;
                self.tally.spooled(&line, only_output);
            }
            SpoolEnd::Rejected { rejection, only_output } => {
                self.rejected.line(&*rejection, &mut self.scratch)?;
                self.tally.unspooled(&rejection, only_output);
            }
        }
        crash::point("spool");
        Ok(())
    }

    /// Writes out the manifest and rejections (after the spool stage), and
    /// waits for the `zip` sink's containers to be on the disk.
    pub fn flush(&mut self) -> std::io::Result<()> {
        if let Some(containers) = &mut self.containers {
            containers.finish()?;
        }
        self.manifest.out.flush()?;
        self.rejected.out.flush()
    }

    /// Results waiting for an earlier record (for the end-of-run check).
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The files, for messages.
    pub fn manifest_path(&self) -> &Path {
        &self.manifest.path
    }
}
