//! `tessera content …`: the author commands over a tenant's content
//! repository — log, diff, publish, rollback, which — and `watch`, which
//! shows every reload (or the error that kept the last good content live).

use anyhow::{Context as _, anyhow, bail};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tessera_content::watch::WatchConfig;
use tessera_content::{Change, ContentRepo, PUBLISHED, RepoError, WORKTREE};
use tessera_pipeline::{LiveContent, ReloadOutcome, Tenant};

/// Writes to stdout; a closed pipe (`tessera content log | head`) ends the
/// program quietly instead of with a panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

macro_rules! outln {
    ($($arg:tt)*) => {{ out!($($arg)*); out!("\n"); }};
}

/// Author commands.
#[derive(Subcommand)]
pub enum ContentCommand {
    /// The publishing history, newest first (only commits touching PATH when given).
    Log {
        /// A file or folder, relative to the content repository.
        path: Option<String>,
        /// At most this many entries.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// What differs between two revisions (default: published → worktree).
    Diff {
        /// From (`published`, `worktree`, or any git revision).
        from: Option<String>,
        /// To.
        to: Option<String>,
    },
    /// Commit the content repository's working tree and move the published ref.
    Publish {
        /// The commit message.
        #[arg(short, long)]
        message: String,
    },
    /// Move the published content back to REV (default: the previous publish)
    /// with a new commit; history is never rewritten.
    Rollback {
        /// The revision to go back to.
        rev: Option<String>,
    },
    /// Which content revision, files and resolution chains made a document.
    Which {
        /// The document id.
        document_id: String,
        /// The run's output folder (with manifest.jsonl and content.json).
        #[arg(long)]
        run: PathBuf,
    },
    /// Watch the content and report every reload, or the error that kept the
    /// last good content live (Ctrl-C stops).
    Watch,
}

/// Runs a content command for the tenant in `tenant_dir`.
pub fn run(tenant_dir: &Path, command: ContentCommand) -> anyhow::Result<ExitCode> {
    if let ContentCommand::Which { document_id, run } = &command {
        return which(document_id, run);
    }
    let tenant = Tenant::load(tenant_dir)?;
    let published_ref = tenant.config.content.published_ref.clone();
    let repo_dir = tenant_dir.join(&tenant.config.content.repository);
    let repo = ContentRepo::open(&repo_dir)?;
    match command {
        ContentCommand::Log { path, limit } => {
            for e in repo.log(&published_ref, path.as_deref(), limit)? {
                // Studio changes name their approver; a command-line publish has none.
                let approved = e.approved_by.as_deref().map(|a| format!("  (approved by {a})")).unwrap_or_default();
                outln!("{}  {}  {:<16}  {}{approved}", &e.commit[..12], date(e.time), e.author, e.summary);
            }
        }
        ContentCommand::Diff { from, to } => {
            let from = from.unwrap_or_else(|| PUBLISHED.into());
            let to = to.unwrap_or_else(|| WORKTREE.into());
            let (changes, a, b) = repo.diff(&from, &to, &published_ref)?;
            if changes.is_empty() {
                outln!("no differences between {from} and {to}");
            }
            for change in &changes {
                print_change(change, &a, &b, &from, &to);
            }
        }
        ContentCommand::Publish { message } => match repo.publish(&published_ref, &message) {
            Ok(p) => {
                outln!("published {} on {published_ref}", p.commit);
                summarise(&p.changes);
            }
            Err(RepoError::Unchanged(why)) => outln!("nothing to do: {why}"),
            Err(e) => return Err(e.into()),
        },
        ContentCommand::Rollback { rev } => {
            let p = repo.rollback(&published_ref, rev.as_deref())?;
            outln!(
                "{published_ref} now at {} (was {}); the content is that of the older revision",
                p.commit,
                p.previous.as_deref().unwrap_or("-")
            );
            summarise(&p.changes);
        }
        ContentCommand::Watch => watch(&tenant)?,
        ContentCommand::Which { .. } => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}

fn summarise(changes: &[Change]) {
    for c in changes {
        match c {
            Change::Added(p) => outln!("  added     {p}"),
            Change::Removed(p) => outln!("  removed   {p}"),
            Change::Modified(p) => outln!("  modified  {p}"),
        }
    }
}

fn print_change(change: &Change, a: &tessera_content::Snapshot, b: &tessera_content::Snapshot, from: &str, to: &str) {
    let path = tessera_content::change_path(change);
    let text = |s: &tessera_content::Snapshot| {
        s.get(path).map(|f| String::from_utf8(f.bytes.to_vec())).transpose().map(Option::unwrap_or_default)
    };
    match (text(a), text(b)) {
        (Ok(old), Ok(new)) => {
            let diff = similar::TextDiff::from_lines(&old, &new);
            out!(
                "{}",
                diff.unified_diff().context_radius(3).header(&format!("{from}:{path}"), &format!("{to}:{path}"))
            );
        }
        _ => outln!("binary file {path} differs"),
    }
}

fn date(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .map(|t| format!("{:04}-{:02}-{:02} {:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute()))
        .unwrap_or_default()
}

/// Prints what `content.json` and `manifest.jsonl` of a run say about a document.
fn which(document_id: &str, run: &Path) -> anyhow::Result<ExitCode> {
    let manifest = std::fs::read_to_string(run.join("manifest.jsonl"))
        .with_context(|| format!("reading {}/manifest.jsonl", run.display()))?;
    let lines: Vec<serde_json::Value> = manifest
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["document_id"] == document_id)
        .collect();
    let Some(first) = lines.first() else {
        bail!("document {document_id} is not in {}/manifest.jsonl", run.display());
    };
    let revision = first["content_revision"].as_str().unwrap_or_default();
    let view = first["content_view"].as_str().unwrap_or_default();
    outln!("document   {document_id}");
    // A `zip` sink's output is a member of a container: `container!member`.
    let outputs: Vec<String> = lines
        .iter()
        .filter_map(|l| {
            let file = l["file"].as_str()?;
            Some(match l["container"].as_str() {
                Some(container) => format!("{container}!{file}"),
                None => file.to_owned(),
            })
        })
        .collect();
    outln!("outputs    {}", outputs.join(", "));
    outln!("revision   {revision}");
    outln!(
        "label      {}  locale {}  (content view {view})",
        first["label"].as_str().unwrap_or_default(),
        first["locale"].as_str().unwrap_or_default()
    );
    let sets: serde_json::Value = serde_json::from_slice(
        &std::fs::read(run.join("content.json")).with_context(|| format!("reading {}/content.json", run.display()))?,
    )?;
    let set = sets["sets"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["revision"] == revision && s["view"] == view))
        .ok_or_else(|| anyhow!("{}/content.json has no entry for {revision} {view}", run.display()))?;
    outln!("files");
    for file in set["files"].as_array().into_iter().flatten() {
        outln!(
            "  {:<36} {}  blob {}",
            file["logical"].as_str().unwrap_or_default(),
            file["path"].as_str().unwrap_or_default(),
            file["blob"].as_str().unwrap_or_default()
        );
        for candidate in file["chain"].as_array().into_iter().flatten() {
            let path = candidate["path"].as_str().unwrap_or_default();
            let mark = if path == file["path"].as_str().unwrap_or_default() {
                "✔ used"
            } else if candidate["found"] == true {
                "  (found, less specific)"
            } else {
                "  (absent)"
            };
            outln!("      {mark:<26} {path}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn watch(tenant: &Tenant) -> anyhow::Result<()> {
    let live = std::sync::Arc::new(LiveContent::load(tenant.content_source(None)?)?);
    let status = live.status();
    outln!("{}: content {} live; watching for changes (Ctrl-C stops)", tenant.config.id, status.revision);
    let started = std::time::Instant::now();
    let handle = live.watch(WatchConfig::from_env(), move |outcome| match outcome {
        ReloadOutcome::Swapped { revision, took } => {
            outln!(
                "[{:>8.3}s] reloaded: {revision} live ({:.1} ms)",
                started.elapsed().as_secs_f64(),
                took.as_secs_f64() * 1e3
            )
        }
        ReloadOutcome::Refused(f) => outln!(
            "[{:>8.3}s] refused, the last good content stays live:\n{}",
            started.elapsed().as_secs_f64(),
            f.detailed
        ),
        ReloadOutcome::Unchanged | ReloadOutcome::Unsettled => {}
    })?;
    outln!("watching with {:?} events", handle.backend());
    loop {
        std::thread::park();
    }
}
