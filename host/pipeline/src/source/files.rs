//! A batch over many source files — a folder, or a ZIP of them (UBL and
//! TMF678 deliveries come as thousands of small files): each file is a
//! shard, translated whole by the translator its type names, on every core.
//!
//! ```text
//! this thread: list files ─► read file k ──bounded──► translators (1 per core)
//!      ▲                                                   │ outcomes of file k
//!      └────── put back in file order, numbered, sent on ◄─┘
//! ```
//!
//! Files are taken in name order (a folder, walked with its sub-folders) or
//! in the archive's order (a ZIP), so numbering and every output are the
//! same whatever the thread count, and the duplicate check covers the whole
//! delivery. Nothing of a ZIP is ever written to disk: members are read
//! into memory, and a member is rejected — with its name and the reason,
//! the rest of the archive going on — when its name leaves the archive
//! (`../`, an absolute path), when it would unpack to more than
//! [`MAX_FILE_BYTES`] or more than [`MAX_RATIO`] times its compressed size
//! (a ZIP bomb; the reader stops at the limit whatever the header claims),
//! or when it is corrupt. A ZIP whose directory cannot be read at all is
//! one rejection. Symbolic links in a folder are not followed.

use crate::flow::Work;
use crate::source::numbering::Numbering;
use crate::source::{CHUNK_BYTES, SourceEnd, SourceError};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tessera_runtime::{CallContext, Plugin, PluginFault, TranslateOutcome};

/// The most bytes one file of a delivery may hold (unpacked).
pub const MAX_FILE_BYTES: u64 = 256 << 20;
/// The most a ZIP member may unpack to per compressed byte: real XML and
/// JSON compress 5–20×; a bomb, thousands of times.
pub const MAX_RATIO: u64 = 200;

/// Where the files come from.
pub(crate) enum Delivery {
    /// A folder and its sub-folders.
    Folder(PathBuf),
    /// A ZIP archive.
    Zip(PathBuf),
}

impl Delivery {
    /// A folder or a `.zip` file is a delivery of many sources; any other
    /// path is one source.
    pub fn of(input: &Path) -> Option<Delivery> {
        if input.is_dir() {
            return Some(Delivery::Folder(input.to_path_buf()));
        }
        let zip = input.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("zip"));
        zip.then(|| Delivery::Zip(input.to_path_buf()))
    }

    /// Total size and latest modification (ns) of what it holds, for the
    /// run's identity.
    pub fn fingerprint(&self) -> std::io::Result<(u64, u128)> {
        let mtime = |m: &std::fs::Metadata| {
            m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos())
        };
        match self {
            Delivery::Zip(path) => {
                let m = std::fs::metadata(path)?;
                Ok((m.len(), mtime(&m)))
            }
            Delivery::Folder(dir) => {
                let (mut bytes, mut latest) = (0, 0);
                for (_, path) in folder_files(dir)? {
                    let m = std::fs::symlink_metadata(&path)?;
                    bytes += m.len();
                    latest = latest.max(mtime(&m));
                }
                Ok((bytes, latest))
            }
        }
    }
}

/// Every regular file under `dir` (not hidden, links not followed), by
/// relative name with `/`, in name order.
fn folder_files(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    let mut pending = vec![(String::new(), dir.to_path_buf())];
    while let Some((prefix, folder)) = pending.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let kind = entry.file_type()?;
            let relative = format!("{prefix}{name}");
            if kind.is_dir() {
                pending.push((format!("{relative}/"), entry.path()));
            } else if kind.is_file() || kind.is_symlink() {
                files.push((relative, entry.path()));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Picks the translator for a file by its name and first bytes.
pub(crate) type Pick<'a> = dyn Fn(&str, &[u8]) -> Result<&'a Arc<Plugin>, String> + Sync + 'a;

/// The files source stage.
pub(crate) struct FilesSource<'a> {
    /// Where the files are.
    pub delivery: Delivery,
    /// The delivery's name (`bills.zip`, `deliveries`), before each file's.
    pub name: &'a str,
    /// The translator of each file.
    pub pick: &'a Pick<'a>,
    /// Any translator of the tenant's (the numbering starts with it).
    pub first: &'a Plugin,
    /// Call context of every session.
    pub call: CallContext,
    /// Records already committed by an interrupted run.
    pub skip: u64,
    /// Bytes read so far.
    pub bytes_read: &'a AtomicU64,
    /// Translator threads.
    pub threads: usize,
}

/// One file to translate, or why it cannot be.
pub(crate) struct File<'a> {
    index: usize,
    /// The delivery's name and the file's (`bills.zip/ubl/1.xml`).
    pub name: String,
    /// Its bytes and translator.
    pub read: Result<(Vec<u8>, &'a Arc<Plugin>), String>,
}

/// What became of one file.
struct Translated<'a> {
    index: usize,
    name: String,
    translator: Option<&'a Arc<Plugin>>,
    outcomes: Vec<(TranslateOutcome, Duration)>,
    fault: Option<(PluginFault, u64)>,
    refused: Option<String>,
    fuel: u64,
}

impl<'a> FilesSource<'a> {
    /// Reads, translates and numbers every file.
    pub fn run(self, send: impl FnMut(Work) -> bool) -> Result<SourceEnd, SourceError> {
        let threads = self.threads.max(1);
        let in_flight = 2 * threads;
        let (file_tx, file_rx) = crossbeam_channel::bounded::<File<'a>>(in_flight);
        let (done_tx, done_rx) = crossbeam_channel::bounded::<Translated<'a>>(in_flight);
        std::thread::scope(|scope| {
            for n in 0..threads {
                let (file_rx, done_tx, this) = (file_rx.clone(), done_tx.clone(), &self);
                std::thread::Builder::new()
                    .name(format!("tessera-translate-{n}"))
                    .spawn_scoped(scope, move || {
                        for file in file_rx {
                            if done_tx.send(this.translate(file)).is_err() {
                                break;
                            }
                        }
                    })
                    .map_err(SourceError::Io)?;
            }
            drop((file_rx, done_tx));
            let mut order = InOrder {
                numbering: Numbering::new(self.first, self.skip, None, send),
                parked: BTreeMap::new(),
                next: 0,
                fuel: 0,
            };
            let mut dispatched = 0;
            let mut dispatch = |file: File<'a>| -> Result<(), SourceError> {
                while dispatched - order.next >= in_flight {
                    order.take(done_rx.recv().expect("a translator answers for every file"))?;
                }
                dispatched += 1;
                file_tx.send(file).map_err(|_| SourceError::Closed)
            };
            self.list(&mut dispatch)?;
            drop(file_tx);
            while order.next < dispatched {
                order.take(done_rx.recv().expect("a translator answers for every file"))?;
            }
            Ok(SourceEnd { records: order.numbering.count(), translator_fuel: order.fuel, shards: dispatched as u64 })
        })
    }

    /// Reads each file in order and hands it over.
    pub(crate) fn list(
        &self,
        dispatch: &mut dyn FnMut(File<'a>) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let mut read_total = 0u64;
        let mut index = 0;
        let mut hand = |name: String, read: Result<Vec<u8>, String>| {
            let read = read.and_then(|bytes| {
                read_total += bytes.len() as u64;
                self.bytes_read.store(read_total, Ordering::Relaxed);
                let picked = (self.pick)(&name, &bytes[..bytes.len().min(512)])?;
                Ok((bytes, picked))
            });
            let file = File { index, name: format!("{}/{name}", self.name), read };
            index += 1;
            dispatch(file)
        };
        match &self.delivery {
            Delivery::Folder(dir) => {
                for (name, path) in folder_files(dir).map_err(SourceError::Io)? {
                    hand(name, read_file(&path))?;
                }
            }
            Delivery::Zip(path) => {
                let file = std::fs::File::open(path).map_err(SourceError::Io)?;
                let mut archive = match zip::ZipArchive::new(std::io::BufReader::new(file)) {
                    Ok(a) => a,
                    Err(e) => return hand(String::new(), Err(format!("not a readable ZIP archive: {e}"))),
                };
                for i in 0..archive.len() {
                    let (name, read) = read_member(&mut archive, i);
                    if let Some(name) = name {
                        hand(name, read)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Translates one file whole in a fresh session.
    fn translate(&self, file: File<'a>) -> Translated<'a> {
        let mut done = Translated {
            index: file.index,
            name: file.name,
            translator: None,
            outcomes: Vec::new(),
            fault: None,
            refused: None,
            fuel: 0,
        };
        let (bytes, translator) = match file.read {
            Ok(read) => read,
            Err(reason) => {
                done.refused = Some(reason);
                return done;
            }
        };
        done.translator = Some(translator);
        let guarded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut took = Duration::ZERO;
            let mut outcomes = Vec::new();
            let keep = |batch: Vec<TranslateOutcome>, took: &mut Duration, into: &mut Vec<_>| {
                if !batch.is_empty() {
                    let share = *took / batch.len() as u32;
                    *took = Duration::ZERO;
                    into.extend(batch.into_iter().map(|o| (o, share)));
                }
            };
            let t0 = Instant::now();
            let mut session =
                translator.translate(&self.call, &done.name).map_err(|f| Box::new((f, 0, 0, Vec::new())))?;
            took += t0.elapsed();
            let mut at = 0;
            for chunk in bytes.chunks(CHUNK_BYTES) {
                let t0 = Instant::now();
                let fed = session.feed(chunk);
                took += t0.elapsed();
                match fed {
                    Ok(batch) => keep(batch, &mut took, &mut outcomes),
                    Err(fault) => return Err(Box::new((fault, at, session.usage().fuel, outcomes))),
                }
                at += chunk.len() as u64;
            }
            let t0 = Instant::now();
            let finished = session.finish();
            took += t0.elapsed();
            match finished {
                Ok((batch, usage)) => {
                    keep(batch, &mut took, &mut outcomes);
                    Ok((outcomes, usage.fuel))
                }
                Err(fault) => Err(Box::new((fault, at, 0, outcomes))),
            }
        }));
        match guarded {
            Ok(Ok((outcomes, fuel))) => (done.outcomes, done.fuel) = (outcomes, fuel),
            Ok(Err(died)) => {
                let (fault, at, fuel, outcomes) = *died;
                (done.outcomes, done.fuel) = (outcomes, fuel);
                done.fault = Some((fault, at));
            }
            Err(_) => done.refused = Some("internal error: the host panicked while translating this file".into()),
        }
        done
    }
}

/// A file of a folder, whole, within [`MAX_FILE_BYTES`].
fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| e.to_string())?;
    if meta.file_type().is_symlink() {
        return Err("a symbolic link: not followed".into());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!("{} bytes, over the {} MiB a source file may hold", meta.len(), MAX_FILE_BYTES >> 20));
    }
    std::fs::read(path).map_err(|e| e.to_string())
}

/// Member `i` of a ZIP: its name (`None` for a folder entry) and bytes, or
/// why it is refused.
fn read_member<R: Read + std::io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    i: usize,
) -> (Option<String>, Result<Vec<u8>, String>) {
    let mut member = match archive.by_index(i) {
        Ok(m) => m,
        Err(e) => return (Some(format!("member {}", i + 1)), Err(format!("corrupt ZIP member: {e}"))),
    };
    let raw = member.name().to_owned();
    if member.is_dir() {
        return (None, Ok(Vec::new()));
    }
    let Some(safe) = member.enclosed_name().filter(|p| !p.as_os_str().is_empty()) else {
        return (Some(raw), Err("the member's name leaves the archive (an absolute path or `..`): not read".into()));
    };
    let name = safe.to_string_lossy().replace('\\', "/");
    let (size, packed) = (member.size(), member.compressed_size().max(1));
    let limit = MAX_FILE_BYTES.min(packed.saturating_mul(MAX_RATIO));
    if size > limit {
        return (Some(name), Err(bomb(size, packed)));
    }
    // The header may lie: read at most one byte past the limit.
    let mut bytes = Vec::with_capacity(size as usize);
    match (&mut member).take(limit + 1).read_to_end(&mut bytes) {
        Ok(n) if n as u64 > limit => (Some(name), Err(bomb(n as u64, packed))),
        Ok(_) => (Some(name), Ok(bytes)),
        Err(e) => (Some(name), Err(format!("corrupt ZIP member: {e}"))),
    }
}

fn bomb(size: u64, packed: u64) -> String {
    format!(
        "unpacks to {size} bytes or more from {packed} (over {MAX_RATIO}× or {} MiB): refused as a ZIP bomb",
        MAX_FILE_BYTES >> 20
    )
}

/// Puts translated files back in order and numbers their outcomes.
struct InOrder<'a, F: FnMut(Work) -> bool> {
    numbering: Numbering<'a, F>,
    parked: BTreeMap<usize, Translated<'a>>,
    next: usize,
    fuel: u64,
}

impl<'a, F: FnMut(Work) -> bool> InOrder<'a, F> {
    fn take(&mut self, done: Translated<'a>) -> Result<(), SourceError> {
        self.parked.insert(done.index, done);
        while let Some(file) = self.parked.remove(&self.next) {
            self.next += 1;
            self.fuel += file.fuel;
            if let Some(reason) = file.refused {
                self.numbering.reject_file(&file.name, reason)?;
                continue;
            }
            if let Some(t) = file.translator {
                self.numbering.set_translator(t);
            }
            for (outcome, share) in file.outcomes {
                self.numbering.outcome(outcome, share)?;
            }
            if let Some((fault, offset)) = file.fault {
                self.numbering.fault(fault, &file.name, offset, "the rest of this file")?;
            }
        }
        Ok(())
    }
}
