//! The content repository on disk and in git: snapshots of the working tree
//! or of any revision, and the author commands (publish, rollback, log, diff).
//!
//! A content repository is a folder — a git repository of its own, or a
//! folder inside one (this project's `samples/`). Publishing commits the
//! folder's working tree onto a ref of its own (`refs/tessera/published` by
//! default); HEAD, the index and the branches are never touched, so the
//! authors' and developers' git workflows stay as they are, and
//! `git log refs/tessera/published` shows the publishing history. Rolling
//! back is a new commit with an older tree: history only grows, and every
//! revision a manifest names stays reachable.

use crate::error::ContentError;
use crate::snapshot::{Snapshot, SnapshotFile, is_ignored_name, read_worktree};
use gix::bstr::ByteSlice;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The ref production renders from unless configured otherwise.
pub const DEFAULT_PUBLISHED_REF: &str = "refs/tessera/published";

/// Revision names the commands accept besides git's own syntax.
pub const WORKTREE: &str = "worktree";
/// The published ref, as a revision name.
pub const PUBLISHED: &str = "published";

/// Why a repository operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The folder is not in a git repository.
    #[error("{0} is not inside a git repository (run `git init` there to version the content)")]
    NotGit(PathBuf),
    /// The folder does not exist.
    #[error("content repository {0} does not exist")]
    Missing(PathBuf),
    /// A git operation failed.
    #[error("git {action}: {message}")]
    Git {
        /// What was being done.
        action: &'static str,
        /// What git said.
        message: String,
    },
    /// A revision does not name a commit.
    #[error("unknown revision `{0}`")]
    UnknownRevision(String),
    /// The published ref does not exist yet.
    #[error("nothing is published yet ({0} does not exist): run `tessera content publish -m MESSAGE`")]
    NotPublished(String),
    /// Publishing or rolling back would not change anything.
    #[error("nothing to do: {0}")]
    Unchanged(String),
    /// A content file could not be read.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// A draft operation is not possible in the draft's state.
    #[error("{0}")]
    Draft(String),
    /// No such draft.
    #[error("tenant `{tenant}` has no draft `{id}` (approved, discarded or never started)")]
    UnknownDraft {
        /// The tenant.
        tenant: String,
        /// The draft id asked for.
        id: String,
    },
    /// The four-eyes rule: nobody approves a change they edited.
    #[error("{user} edited draft {draft} and so cannot approve it: another approver must")]
    OwnChange {
        /// Who tried.
        user: String,
        /// The draft.
        draft: String,
    },
    /// The draft and the published content changed the same files.
    #[error(
        "draft {draft} and the published revision {published} both changed {}: rebase the draft and redo those edits",
        paths.join(", ")
    )]
    Conflict {
        /// The draft.
        draft: String,
        /// The published commit it conflicts with.
        published: String,
        /// The files changed on both sides.
        paths: Vec<String>,
    },
}

pub(crate) fn git(action: &'static str) -> impl FnOnce(gix::Error) -> RepoError {
    move |e| RepoError::Git { action, message: e.to_string() }
}

/// A content repository folder.
#[derive(Debug, Clone)]
pub struct ContentRepo {
    root: PathBuf,
    git: Option<GitLocation>,
}

#[derive(Debug, Clone)]
pub(crate) struct GitLocation {
    pub(crate) repo: gix::ThreadSafeRepository,
    /// The content folder relative to the git work tree (`samples`), or empty.
    pub(crate) prefix: String,
}

/// One entry of `content log`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogEntry {
    /// Commit id.
    pub commit: String,
    /// Who wrote the change: the draft's editors for an approved change,
    /// else the git author.
    pub author: String,
    /// Who approved it (studio changes; `None` for a command-line publish).
    pub approved_by: Option<String>,
    /// Commit time, seconds since the epoch.
    pub time: i64,
    /// First line of the message.
    pub summary: String,
}

/// How one file differs between two revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Only in the newer revision.
    Added(String),
    /// Only in the older revision.
    Removed(String),
    /// In both, with other content.
    Modified(String),
}

/// The result of publish and rollback.
#[derive(Debug, Clone)]
pub struct Published {
    /// The new commit the ref points to.
    pub commit: String,
    /// Where the ref pointed before (none on the first publish).
    pub previous: Option<String>,
    /// The files that changed.
    pub changes: Vec<Change>,
}

impl ContentRepo {
    /// Opens the content repository folder `root` and finds the git
    /// repository around it, if any.
    pub fn open(root: &Path) -> Result<ContentRepo, RepoError> {
        let root = root.canonicalize().map_err(|_| RepoError::Missing(root.to_path_buf()))?;
        let git = match gix::discover(&root) {
            Ok(repo) => repo.workdir().and_then(|w| w.canonicalize().ok()).map(|workdir| {
                let prefix = root.strip_prefix(&workdir).unwrap_or(Path::new("")).to_string_lossy().replace('\\', "/");
                GitLocation { repo: repo.into_sync(), prefix }
            }),
            Err(_) => None,
        };
        Ok(ContentRepo { root, git })
    }

    /// Makes the folder `root` a git repository of its own and opens it
    /// (a fresh content repository; benchmarks and tests start from one).
    pub fn init(root: &Path) -> Result<ContentRepo, RepoError> {
        gix::init(root).map_err(|e| RepoError::Git { action: "init", message: e.to_string() })?;
        ContentRepo::open(root)
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the folder is versioned by git.
    pub fn is_git(&self) -> bool {
        self.git.is_some()
    }

    /// What is on disk now under `dirs` (relative to the root).
    pub fn worktree(&self, dirs: &[String]) -> Result<Snapshot, ContentError> {
        read_worktree(&self.root, dirs)
    }

    /// The files under `dirs` at `rev`: `worktree`, `published` (the ref
    /// `published_ref`), or anything git understands (`HEAD~2`, a commit id).
    pub fn snapshot(&self, rev: &str, published_ref: &str, dirs: &[String]) -> Result<Snapshot, RepoError> {
        if rev == WORKTREE {
            return Ok(self.worktree(dirs)?);
        }
        let commit = self.resolve(rev, published_ref)?;
        let files = self.commit_files(&commit, dirs)?;
        Ok(Snapshot::from_commit(commit, files))
    }

    /// The commit the published ref points to, if it exists.
    pub fn published(&self, published_ref: &str) -> Result<Option<String>, RepoError> {
        let g = self.git()?;
        let repo = g.repo.to_thread_local();
        let Some(mut reference) = repo.try_find_reference(published_ref).map_err(git("find reference"))? else {
            return Ok(None);
        };
        Ok(Some(reference.peel_to_id().map_err(git("peel reference"))?.to_string()))
    }

    /// A revision as a commit id.
    pub fn resolve(&self, rev: &str, published_ref: &str) -> Result<String, RepoError> {
        let g = self.git()?;
        let repo = g.repo.to_thread_local();
        let spec = match rev.strip_prefix(PUBLISHED) {
            Some(rest) if rest.is_empty() || rest.starts_with(['~', '^']) => {
                if self.published(published_ref)?.is_none() {
                    return Err(RepoError::NotPublished(published_ref.to_owned()));
                }
                format!("{published_ref}{rest}")
            }
            _ => rev.to_owned(),
        };
        let id = repo.rev_parse_single(spec.as_str()).map_err(|_| RepoError::UnknownRevision(rev.to_owned()))?;
        let commit = id
            .object()
            .map_err(git("read object"))?
            .peel_to_commit()
            .map_err(|_| RepoError::UnknownRevision(rev.to_owned()))?;
        Ok(commit.id.to_string())
    }

    /// Commits the working tree of the whole content folder onto
    /// `published_ref` with `message`, and moves the ref.
    pub fn publish(&self, published_ref: &str, message: &str) -> Result<Published, RepoError> {
        let worktree = self.worktree(&[String::new()])?;
        let files: BTreeMap<String, Vec<u8>> =
            worktree.files().map(|(p, f)| (p.to_owned(), f.bytes.to_vec())).collect();
        self.commit_tree(published_ref, files, message)
    }

    /// Moves the published content back to `to` (default: the previous
    /// publish) by committing that revision's tree on top: history only grows.
    pub fn rollback(&self, published_ref: &str, to: Option<&str>) -> Result<Published, RepoError> {
        let current = self.published(published_ref)?.ok_or_else(|| RepoError::NotPublished(published_ref.into()))?;
        let target = match to {
            Some(rev) => self.resolve(rev, published_ref)?,
            None => self
                .resolve(&format!("{PUBLISHED}~1"), published_ref)
                .map_err(|_| RepoError::Unchanged(format!("{published_ref} has no earlier publish to go back to")))?,
        };
        let files = self.commit_files(&target, &[String::new()])?;
        let files = files.into_iter().map(|(p, f)| (p, f.bytes.to_vec())).collect();
        let summary = self.log_entry(&target)?.summary;
        let short = &target[..12.min(target.len())];
        let result = self.commit_tree(published_ref, files, &format!("Roll back to {short}: {summary}"))?;
        debug_assert_eq!(result.previous.as_deref(), Some(current.as_str()));
        Ok(result)
    }

    /// The publishing history (newest first), optionally only the commits
    /// that changed `path` (relative to the content folder, file or folder).
    pub fn log(&self, published_ref: &str, path: Option<&str>, limit: usize) -> Result<Vec<LogEntry>, RepoError> {
        let g = self.git()?;
        let repo = g.repo.to_thread_local();
        let mut next = Some(self.resolve(PUBLISHED, published_ref)?);
        let mut out = Vec::new();
        let full_path = path.map(|p| join(&g.prefix, p.trim_matches('/')));
        while let Some(id) = next.take() {
            if out.len() >= limit {
                break;
            }
            let commit = repo.find_commit(oid(&id)?).map_err(git("read commit"))?;
            let parent = commit.parent_ids().next().map(|p| p.to_string());
            let touched = match &full_path {
                None => true,
                Some(p) => {
                    entry_id(&repo, &id, p)?
                        != parent.as_ref().map(|pid| entry_id(&repo, pid, p)).transpose()?.flatten()
                }
            };
            if touched {
                out.push(self.log_entry(&id)?);
            }
            next = parent;
        }
        Ok(out)
    }

    /// Files that differ between two revisions (`worktree` allowed), and
    /// both snapshots for showing the differences.
    pub fn diff(
        &self,
        from: &str,
        to: &str,
        published_ref: &str,
    ) -> Result<(Vec<Change>, Snapshot, Snapshot), RepoError> {
        let all = [String::new()];
        let a = self.snapshot(from, published_ref, &all)?;
        let b = self.snapshot(to, published_ref, &all)?;
        let changes = changes(&a, &b);
        Ok((changes, a, b))
    }

    fn git(&self) -> Result<&GitLocation, RepoError> {
        self.git.as_ref().ok_or_else(|| RepoError::NotGit(self.root.clone()))
    }

    pub(crate) fn git_location(&self) -> Result<&GitLocation, RepoError> {
        self.git()
    }

    fn log_entry(&self, id: &str) -> Result<LogEntry, RepoError> {
        let repo = self.git()?.repo.to_thread_local();
        let commit = repo.find_commit(oid(id)?).map_err(git("read commit"))?;
        let author = commit.author().map_err(git("read author"))?;
        let time = commit.time().map_err(git("read time"))?;
        let summary = commit.message().map_err(git("read message"))?.summary().to_str_lossy().into_owned();
        let raw = commit.message_raw().map_err(git("read message"))?.to_str_lossy().into_owned();
        let trailers = crate::drafts::trailers(&raw);
        let find = |key: &str| trailers.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        Ok(LogEntry {
            commit: id.to_owned(),
            author: find("Tessera-Author").unwrap_or_else(|| author.name.to_str_lossy().into_owned()),
            approved_by: find("Tessera-Approved-By"),
            time: time.seconds,
            summary,
        })
    }

    /// Files of a commit under `dirs` (relative to the content folder).
    fn commit_files(&self, commit: &str, dirs: &[String]) -> Result<BTreeMap<String, SnapshotFile>, RepoError> {
        let repo = self.git()?.repo.to_thread_local();
        let tree = repo.find_commit(oid(commit)?).map_err(git("read commit"))?.tree_id().map_err(git("read tree"))?;
        let mut files = BTreeMap::new();
        self.walk_tree(&repo, tree.detach(), dirs, |path, id| {
            let data = repo.find_object(id).map_err(git("read blob"))?.detach().data;
            files.insert(path, SnapshotFile { bytes: data.into(), blob: id.to_string() });
            Ok(())
        })?;
        Ok(files)
    }

    /// Every content file of a tree (the whole content folder) with its blob
    /// id, without reading a blob: what comparing revisions needs.
    pub(crate) fn tree_blob_ids(&self, tree: gix::ObjectId) -> Result<BTreeMap<String, String>, RepoError> {
        let repo = self.git()?.repo.to_thread_local();
        let mut ids = BTreeMap::new();
        self.walk_tree(&repo, tree, &[String::new()], |path, id| {
            ids.insert(path, id.to_string());
            Ok(())
        })?;
        Ok(ids)
    }

    /// Calls `found(path, blob id)` for each content file under `dirs`
    /// (relative to the content folder) of `tree`.
    fn walk_tree(
        &self,
        repo: &gix::Repository,
        tree: gix::ObjectId,
        dirs: &[String],
        mut found: impl FnMut(String, gix::ObjectId) -> Result<(), RepoError>,
    ) -> Result<(), RepoError> {
        let g = self.git()?;
        let tree = repo.find_tree(tree).map_err(git("read tree"))?;
        for dir in dirs {
            let full = join(&g.prefix, dir.trim_matches('/'));
            let subtree = if full.is_empty() {
                tree.clone()
            } else {
                match tree.lookup_entry_by_path(&full).map_err(git("look up path"))? {
                    Some(entry) if entry.mode().is_tree() => entry.object().map_err(git("read tree"))?.into_tree(),
                    _ => continue,
                }
            };
            for entry in subtree.traverse().breadthfirst.files().map_err(git("walk tree"))? {
                if !entry.mode.is_blob() {
                    continue;
                }
                let name = entry.filepath.to_str_lossy();
                if name.rsplit('/').next().is_some_and(is_ignored_name) {
                    continue;
                }
                found(join(dir.trim_matches('/'), &name), entry.oid)?;
            }
        }
        Ok(())
    }

    /// Writes `files` (relative to the content folder) as the content
    /// folder's tree, commits it on `published_ref` and moves the ref.
    fn commit_tree(
        &self,
        published_ref: &str,
        files: BTreeMap<String, Vec<u8>>,
        message: &str,
    ) -> Result<Published, RepoError> {
        let g = self.git()?;
        let repo = g.repo.to_thread_local();
        let previous = self.published(published_ref)?;
        let before = match &previous {
            Some(id) => self.commit_files(id, &[String::new()])?,
            None => BTreeMap::new(),
        };
        let mut editor = repo.edit_tree(gix::ObjectId::empty_tree(repo.object_hash())).map_err(git("edit tree"))?;
        for (path, bytes) in &files {
            let blob = repo.write_blob(bytes).map_err(git("write blob"))?;
            let full = join(&g.prefix, path);
            editor
                .upsert(full.as_str(), gix::object::tree::EntryKind::Blob, blob.detach())
                .map_err(git("edit tree"))?;
        }
        let tree = editor.write().map_err(git("write tree"))?.detach();
        let after = Snapshot::from_commit(
            String::new(),
            files
                .into_iter()
                .map(|(p, b)| {
                    let blob = crate::snapshot::blob_id(&b);
                    (p, SnapshotFile { bytes: b.into(), blob })
                })
                .collect(),
        );
        let changes = changes(&Snapshot::from_commit(String::new(), before), &after);
        if let Some(prev) = &previous {
            let prev_tree =
                repo.find_commit(oid(prev)?).map_err(git("read commit"))?.tree_id().map_err(git("read tree"))?;
            if prev_tree == tree {
                return Err(RepoError::Unchanged(format!("the content equals the published revision {prev}")));
            }
        }
        let signature = signature(&repo);
        let mut time = gix::date::parse::TimeBuf::default();
        let signature_ref = signature.to_ref(&mut time);
        let parents: Vec<gix::ObjectId> = previous.iter().map(|p| oid(p)).collect::<Result<_, _>>()?;
        let commit = repo
            .commit_as(signature_ref, signature_ref, published_ref, message, tree, parents)
            .map_err(git("commit"))?;
        Ok(Published { commit: commit.to_string(), previous, changes })
    }
}

/// The committer from git's configuration, or a fallback so a fresh
/// machine without `user.name` can still publish.
fn signature(repo: &gix::Repository) -> gix::actor::Signature {
    let now = gix::date::Time::now_local_or_utc();
    let configured = repo.committer().and_then(Result::ok).map(|s| (s.name.to_owned(), s.email.to_owned()));
    let (name, email) = configured.unwrap_or_else(|| ("tessera".into(), "tessera@localhost".into()));
    gix::actor::Signature { name, email, time: now }
}

/// A studio user as a git signature (`name <name@tenant.tessera>`), now.
pub(crate) fn signature_for(name: &str, tenant: &str) -> gix::actor::Signature {
    let email = format!("{}@{tenant}.tessera", name.replace(|c: char| !c.is_ascii_alphanumeric(), "."));
    gix::actor::Signature { name: name.into(), email: email.into(), time: gix::date::Time::now_local_or_utc() }
}

fn entry_id(repo: &gix::Repository, commit: &str, path: &str) -> Result<Option<gix::ObjectId>, RepoError> {
    let tree = repo.find_commit(oid(commit)?).map_err(git("read commit"))?.tree().map_err(git("read tree"))?;
    if path.is_empty() {
        return Ok(Some(tree.id));
    }
    Ok(tree.lookup_entry_by_path(path).map_err(git("look up path"))?.map(|e| e.object_id()))
}

pub(crate) fn oid(hex: &str) -> Result<gix::ObjectId, RepoError> {
    gix::ObjectId::from_hex(hex.as_bytes()).map_err(|_| RepoError::UnknownRevision(hex.to_owned()))
}

pub(crate) fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (_, true) => a.to_owned(),
        _ => format!("{a}/{b}"),
    }
}

/// Files added, removed or modified from `a` to `b`, by path.
pub fn changes(a: &Snapshot, b: &Snapshot) -> Vec<Change> {
    let ids = |s: &Snapshot| s.files().map(|(p, f)| (p.to_owned(), f.blob.clone())).collect();
    blob_changes(&ids(a), &ids(b))
}

/// [`changes`] over (path → blob id) maps.
pub(crate) fn blob_changes(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<Change> {
    let mut out = Vec::new();
    for (path, blob) in a {
        match b.get(path) {
            None => out.push(Change::Removed(path.clone())),
            Some(other) if other != blob => out.push(Change::Modified(path.clone())),
            Some(_) => {}
        }
    }
    out.extend(b.keys().filter(|p| !a.contains_key(*p)).map(|p| Change::Added(p.clone())));
    out.sort_by(|x, y| change_path(x).cmp(change_path(y)));
    out
}

/// The path a change is about.
pub fn change_path(c: &Change) -> &str {
    match c {
        Change::Added(p) | Change::Removed(p) | Change::Modified(p) => p,
    }
}
