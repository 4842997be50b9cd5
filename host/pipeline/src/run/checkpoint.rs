//! Crash safety of a run: `progress.json`, the checkpoint that lets
//! `tessera batch --resume` finish a run killed at any point so that the
//! output folder ends exactly as an uninterrupted run leaves it.
//!
//! The checkpoint names how many records (in input order) are committed, the
//! byte lengths of `manifest.jsonl` and `rejected.jsonl` that hold exactly
//! their lines, and the run's tally up to there. It is written atomically
//! (temp + rename) after both files were flushed, so whatever moment the
//! process dies, the last checkpoint describes a consistent prefix: resume
//! cuts the two files back to it and renders the rest again. Outputs of
//! records after the checkpoint may already exist; rendering is
//! deterministic, so they are written again with the same bytes.
//!
//! Crash safety here is against the process dying (kill -9, OOM killer,
//! a host panic), not against power loss: files are not fsynced (see
//! `run/write.rs`).

use crate::run::tally::Tally;
use crate::run::write::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The checkpoint file in the output folder.
pub const PROGRESS_FILE: &str = "progress.json";
/// Files of the run itself (not outputs) in the output folder.
pub const RUN_FILES: [&str; 6] =
    ["manifest.jsonl", "rejected.jsonl", "content.json", "usage.json", "report.json", PROGRESS_FILE];

/// What must match for a run to be resumed: the same input, tenant,
/// translator and date. (Content may differ: each manifest line names the
/// revision it was rendered from.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunIdentity {
    /// Tenant id.
    pub tenant: String,
    /// Input file name.
    pub input: String,
    /// Input size in bytes.
    pub input_bytes: u64,
    /// Input modification time, ns since the epoch.
    pub input_mtime_ns: u128,
    /// Translator `id@version` and its component digest.
    pub translator: String,
    /// Translator sha256.
    pub translator_sha256: String,
    /// As-of date.
    pub as_of: String,
    /// The operator's `--channels` (comma-separated), empty for the scenario's choice.
    #[serde(default)]
    pub channels: String,
    /// The sink and its block size (`dir per 1000`).
    #[serde(default)]
    pub sink: String,
    /// The source's encoding.
    #[serde(default)]
    pub encoding: String,
}

impl RunIdentity {
    /// Describes the differences from `other`, for the refusal message.
    pub fn differences(&self, other: &RunIdentity) -> Vec<String> {
        // Every field is a string or a number, so equal text is equal value.
        let fields = |r: &RunIdentity| {
            [
                ("tenant", r.tenant.clone()),
                ("input", r.input.clone()),
                ("input size", r.input_bytes.to_string()),
                ("input modification time", r.input_mtime_ns.to_string()),
                ("translator", r.translator.clone()),
                ("translator digest", r.translator_sha256.clone()),
                ("as-of date", r.as_of.clone()),
                ("channels", r.channels.clone()),
                ("sink", r.sink.clone()),
                ("encoding", r.encoding.clone()),
            ]
        };
        fields(self)
            .into_iter()
            .zip(fields(other))
            .filter(|((_, was), (_, now))| was != now)
            .map(|((what, was), (_, now))| format!("{what} was {was}, now {now}"))
            .collect()
    }
}

/// `progress.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version of this file.
    pub version: u32,
    /// The run.
    pub identity: RunIdentity,
    /// Records committed: sequence numbers `0..records` are in the files.
    pub records: u64,
    /// Length of `manifest.jsonl` holding exactly their lines.
    pub manifest_bytes: u64,
    /// Length of `rejected.jsonl` holding exactly their lines.
    pub rejected_bytes: u64,
    /// Lengths of the spool staging files holding exactly their letters
    /// (file name in the staging folder → bytes).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub staged_bytes: std::collections::BTreeMap<String, u64>,
    /// The tally of those records.
    pub tally: Tally,
}

/// This format's version.
pub const CHECKPOINT_VERSION: u32 = 1;

impl Checkpoint {
    /// Writes `progress.json` atomically.
    pub fn write(&self, out_dir: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec(self).expect("checkpoint serialises");
        write_atomic(&out_dir.join(PROGRESS_FILE), &json)
    }

    /// Reads `progress.json`; `None` when there is none.
    pub fn read(out_dir: &Path) -> Result<Option<Checkpoint>, String> {
        let path = out_dir.join(PROGRESS_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let checkpoint: Checkpoint =
            serde_json::from_slice(&bytes).map_err(|e| format!("{}: not a checkpoint: {e}", path.display()))?;
        if checkpoint.version != CHECKPOINT_VERSION {
            return Err(format!(
                "{}: checkpoint format {} (this tessera reads {CHECKPOINT_VERSION})",
                path.display(),
                checkpoint.version
            ));
        }
        Ok(Some(checkpoint))
    }
}

/// Removes the temporary files a killed process left behind
/// (`.<name>.<pid>.tmp`), in the output folder and its block sub-folders.
pub fn remove_temporaries(out_dir: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(out_dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let kind = entry.file_type()?;
        if name.starts_with('.') && name.ends_with(".tmp") && kind.is_file() {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        } else if kind.is_dir() && crate::sink::is_block_name(&name) {
            removed += remove_temporaries(&entry.path())?;
        }
    }
    Ok(removed)
}

/// Cuts a file back to `len` bytes (the checkpointed prefix).
pub fn truncate(path: &Path, len: u64) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new().write(true).open(path)?;
    let actual = file.metadata()?.len();
    if actual < len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("{} has {actual} bytes, the checkpoint counts {len}", path.display()),
        ));
    }
    file.set_len(len)
}

/// The file names a manifest lists, as 64-bit digests (8 bytes a name, so
/// a million-document manifest costs megabytes, not the names themselves).
pub struct ListedFiles(std::collections::HashSet<u64>);

fn name_digest(name: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    name.hash(&mut hasher);
    hasher.finish()
}

impl ListedFiles {
    /// Reads the `file` (or the `container`) of every line of `manifest.jsonl`.
    pub fn read(manifest: &Path) -> std::io::Result<ListedFiles> {
        #[derive(Deserialize)]
        struct FileOnly {
            file: String,
            container: Option<String>,
        }
        let reader = std::io::BufReader::new(std::fs::File::open(manifest)?);
        let mut listed = std::collections::HashSet::new();
        for line in std::io::BufRead::lines(reader) {
            if let Ok(entry) = serde_json::from_str::<FileOnly>(&line?) {
                listed.insert(name_digest(entry.container.as_ref().unwrap_or(&entry.file)));
            }
        }
        Ok(ListedFiles(listed))
    }

    /// Whether `name` is listed (a digest collision keeps a stray file; it
    /// never removes a listed one).
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(&name_digest(name))
    }
}

/// Output files in `out_dir` (and its block sub-folders) that the
/// finished run's manifest does not list: left by the interrupted run for
/// records that this time ended differently. Only names with an extension
/// the run writes are touched.
pub fn unlisted_outputs(
    out_dir: &Path,
    listed: &ListedFiles,
    extensions: &std::collections::BTreeSet<String>,
) -> std::io::Result<Vec<PathBuf>> {
    let mut stray = Vec::new();
    let mut visit = |folder: &Path, prefix: &str, top: bool| -> std::io::Result<Vec<PathBuf>> {
        let mut blocks = Vec::new();
        for entry in std::fs::read_dir(folder)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = entry.file_type()?;
            if top && kind.is_dir() && crate::sink::is_block_name(&name) {
                blocks.push(entry.path());
                continue;
            }
            let ext = Path::new(&name).extension().and_then(|e| e.to_str()).unwrap_or_default();
            let relative = format!("{prefix}{name}");
            if kind.is_file()
                && !name.starts_with('.')
                && !(top && RUN_FILES.contains(&name.as_str()))
                && extensions.contains(ext)
                && !listed.contains(&relative)
            {
                stray.push(entry.path());
            }
        }
        Ok(blocks)
    };
    for block in visit(out_dir, "", true)? {
        let name = block.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        visit(&block, &format!("{name}/"), false)?;
    }
    stray.sort();
    Ok(stray)
}

/// Crash points for the resume tests, compiled in only with the
/// `crash-points` feature (the CLI's tests turn it on; a release binary has
/// none): `TESSERA_KILL_AT=<point>:<n>` makes
/// the process kill itself with SIGKILL the `n`-th time it passes `point`
/// (`output`: a record's files are written, its manifest lines are not;
/// `commit`: a record's lines are buffered, not yet checkpointed;
/// `checkpoint`: the files are flushed, `progress.json` is not yet written).
#[cfg(feature = "crash-points")]
pub mod crash {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    static TARGET: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static PASSES: AtomicU64 = AtomicU64::new(0);

    fn target() -> &'static Option<(String, u64)> {
        TARGET.get_or_init(|| {
            let spec = std::env::var("TESSERA_KILL_AT").ok()?;
            let (point, n) = spec.split_once(':')?;
            Some((point.to_owned(), n.parse().ok()?))
        })
    }

    /// Passes crash point `point`.
    pub fn point(point: &str) {
        if let Some((name, n)) = target()
            && name == point
            && PASSES.fetch_add(1, Ordering::SeqCst) + 1 == *n
        {
            die();
        }
    }

    /// `kill -9` of our own pid, from outside as an operator would do it.
    fn die() -> ! {
        let pid = std::process::id().to_string();
        let _ = std::process::Command::new("kill").args(["-9", &pid]).status();
        // kill(1) missing: end without unwinding or flushing all the same.
        std::process::abort()
    }
}

/// Without the `crash-points` feature a crash point is nothing at all.
#[cfg(not(feature = "crash-points"))]
pub mod crash {
    /// Passes crash point `point`: does nothing in this build.
    #[inline(always)]
    pub fn point(_point: &str) {}
}
