//! A tenant's [`ContentSource`]: which repository, which layers, and whether
//! documents render from the working tree (authors) or from the published
//! ref (production).

use crate::layers::Layers;
use crate::repo::{ContentRepo, PUBLISHED, RepoError, WORKTREE};
use crate::set::ContentSet;
use crate::snapshot::Snapshot;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where documents render from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceMode {
    /// The files on disk now.
    WorkTree,
    /// The commit a ref points to (following the ref when it moves).
    Published(String),
    /// One revision, whatever the refs do later: a commit id or anything
    /// git resolves (`v12`, `HEAD~2`). A cluster worker pinned to the run's
    /// revision loads it this way.
    Revision(String),
}

/// One tenant's content: repository, layers, mode.
#[derive(Debug, Clone)]
pub struct ContentSource {
    repo: ContentRepo,
    layers: Layers,
    mode: SourceMode,
    default_locale: String,
}

impl ContentSource {
    /// `layer_dirs` are folders on disk, most general first; each must be
    /// inside `repository`.
    pub fn new(
        repository: &Path,
        layer_dirs: &[PathBuf],
        mode: SourceMode,
        default_locale: &str,
    ) -> Result<ContentSource, RepoError> {
        let repo = ContentRepo::open(repository)?;
        let mut roots = Vec::new();
        for dir in layer_dirs {
            let canonical = dir.canonicalize().map_err(|_| RepoError::Missing(dir.clone()))?;
            let rel = canonical.strip_prefix(repo.root()).map_err(|_| {
                RepoError::Content(crate::ContentError::file(
                    dir,
                    format!("content layer is outside the content repository {}", repo.root().display()),
                ))
            })?;
            roots.push(rel.to_string_lossy().replace('\\', "/"));
        }
        if matches!(mode, SourceMode::Published(_) | SourceMode::Revision(_)) && !repo.is_git() {
            return Err(RepoError::NotGit(repo.root().to_path_buf()));
        }
        Ok(ContentSource { repo, layers: Layers::new(roots), mode, default_locale: default_locale.to_owned() })
    }

    /// The repository.
    pub fn repo(&self) -> &ContentRepo {
        &self.repo
    }

    /// The layers.
    pub fn layers(&self) -> &Layers {
        &self.layers
    }

    /// The mode.
    pub fn mode(&self) -> &SourceMode {
        &self.mode
    }

    /// A snapshot of the layers in the current mode.
    pub fn snapshot(&self) -> Result<Snapshot, RepoError> {
        match &self.mode {
            SourceMode::WorkTree => self.repo.snapshot(WORKTREE, "", self.layers.roots()),
            SourceMode::Published(r) => self.repo.snapshot(PUBLISHED, r, self.layers.roots()),
            SourceMode::Revision(rev) => self.repo.snapshot(rev, "", self.layers.roots()),
        }
    }

    /// Reads and checks a complete content set.
    pub fn load(&self) -> Result<ContentSet, RepoError> {
        Ok(self.build(self.snapshot()?)?)
    }

    /// Resolves and checks a snapshot of this source.
    pub fn build(&self, snapshot: Snapshot) -> Result<ContentSet, crate::ContentError> {
        ContentSet::build(Arc::new(snapshot), self.layers.clone(), &self.default_locale)
    }

    /// Folders to watch for changes in working-tree mode (in published mode
    /// the ref is polled instead: refs move inside `.git`, in loose files or
    /// packed, and one ref read is cheaper than watching the object store).
    pub fn watch_dirs(&self) -> Vec<PathBuf> {
        match &self.mode {
            SourceMode::WorkTree => self.layers.roots().iter().map(|r| self.repo.root().join(r)).collect(),
            SourceMode::Published(_) | SourceMode::Revision(_) => Vec::new(),
        }
    }

    /// A cheap fingerprint of what would be loaded, when there is one: the
    /// published commit id (reloading is skipped while it is unchanged).
    pub fn published_commit(&self) -> Option<String> {
        match &self.mode {
            SourceMode::WorkTree => None,
            SourceMode::Published(r) => self.repo.published(r).ok().flatten(),
            SourceMode::Revision(rev) => self.repo.resolve(rev, "").ok(),
        }
    }
}
