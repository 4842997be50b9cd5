//! Resume set-up: what identifies a run (a resume must continue the same
//! input with the same translator and date), and where the committer
//! starts — at the interrupted run's checkpoint, or at zero with the run
//! files emptied.

use crate::error::{PipelineError, io};
use crate::run::checkpoint::{self, Checkpoint, RunIdentity};
use crate::run::job::BatchJob;
use crate::run::tally::Tally;
use std::path::Path;
use tessera_runtime::Plugin;

/// The identity of a run of `input` (what a resume must match).
pub(crate) fn identity(
    tenant: &str,
    input: &Path,
    source_name: &str,
    translator: &Plugin,
    as_of: &str,
) -> Result<RunIdentity, PipelineError> {
    let meta = std::fs::metadata(input).map_err(io(input))?;
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Ok(RunIdentity {
        tenant: tenant.to_owned(),
        input: source_name.to_owned(),
        input_bytes: meta.len(),
        input_mtime_ns: mtime_ns,
        translator: translator.name().to_owned(),
        translator_sha256: translator.sha256().to_owned(),
        as_of: as_of.to_owned(),
        channels: String::new(),
        sink: String::new(),
        encoding: String::new(),
    })
}

/// Where the committer starts: at the interrupted run's checkpoint, or at
/// zero with the run files emptied.
pub(crate) fn starting_point(job: &BatchJob<'_>, identity: &RunIdentity) -> Result<(Checkpoint, bool), PipelineError> {
    let out = job.out_dir;
    let problem = |message: String| PipelineError::Resume { out_dir: out.to_path_buf(), message };
    checkpoint::remove_temporaries(out).map_err(io(out))?;
    if job.resume {
        match Checkpoint::read(out).map_err(problem)? {
            Some(from) => {
                let differences = from.identity.differences(identity);
                if !differences.is_empty() {
                    return Err(problem(format!(
                        "the interrupted run was of other input: {}; start over without --resume",
                        differences.join("; ")
                    )));
                }
                for (file, len) in [("manifest.jsonl", from.manifest_bytes), ("rejected.jsonl", from.rejected_bytes)] {
                    let path = out.join(file);
                    checkpoint::truncate(&path, len).map_err(io(&path))?;
                }
                return Ok((from, true));
            }
            None if out.join("report.json").is_file() => {
                return Err(problem("that run finished (report.json is there, progress.json is not)".into()));
            }
            // Killed before its first checkpoint: nothing was committed.
            None => {}
        }
    }
    let start = Checkpoint {
        version: checkpoint::CHECKPOINT_VERSION,
        identity: identity.clone(),
        records: 0,
        manifest_bytes: 0,
        rejected_bytes: 0,
        staged_bytes: Default::default(),
        tally: Tally::default(),
    };
    // The checkpoint first: from here on a kill leaves a resumable run.
    start.write(out).map_err(io(out))?;
    for file in ["manifest.jsonl", "rejected.jsonl", "report.json", "usage.json", "content.json"] {
        let path = out.join(file);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&path)(e)),
            _ => {}
        }
    }
    Ok((start, false))
}
