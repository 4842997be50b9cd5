//! Snapshots: an immutable copy of the content files a tenant renders from,
//! taken either from the working tree (what is on disk now) or from a git
//! commit. Every file carries its git blob id in both cases, so the audit
//! trail names objects that `git cat-file -p <id>` can show.

use crate::error::ContentError;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

/// One file of a snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotFile {
    /// The file's bytes.
    pub bytes: Arc<[u8]>,
    /// The git blob id (40 hex digits).
    pub blob: String,
}

/// Where a snapshot came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revision {
    /// A commit (the published ref, or any revision asked for).
    Commit(String),
    /// The working tree: a digest over the sorted (path, blob id) pairs, so an
    /// unchanged tree keeps its id.
    WorkTree(String),
}

impl std::fmt::Display for Revision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Revision::Commit(id) => f.write_str(id),
            Revision::WorkTree(id) => write!(f, "worktree:{id}"),
        }
    }
}

/// An immutable set of content files, by path relative to the content
/// repository's folder (`acme-energy/content/fragments/footer.html.tera`).
#[derive(Debug, Clone)]
pub struct Snapshot {
    revision: Revision,
    files: BTreeMap<String, SnapshotFile>,
    newest_write: Option<SystemTime>,
}

impl Snapshot {
    /// A snapshot of files already read, with a commit as its revision.
    pub fn from_commit(commit: String, files: BTreeMap<String, SnapshotFile>) -> Snapshot {
        Snapshot { revision: Revision::Commit(commit), files, newest_write: None }
    }

    /// A working-tree snapshot; the revision is derived from the content.
    pub fn from_worktree(files: BTreeMap<String, SnapshotFile>, newest_write: Option<SystemTime>) -> Snapshot {
        let mut digest = Sha256::new();
        for (path, file) in &files {
            digest.update(path.as_bytes());
            digest.update([0]);
            digest.update(file.blob.as_bytes());
            digest.update([b'\n']);
        }
        // 160 bits, like a commit id: collisions are not a practical concern.
        let id = hex::encode(&digest.finalize()[..20]);
        Snapshot { revision: Revision::WorkTree(id), files, newest_write }
    }

    /// The revision.
    pub fn revision(&self) -> &Revision {
        &self.revision
    }

    /// A file by path.
    pub fn get(&self, path: &str) -> Option<&SnapshotFile> {
        self.files.get(path)
    }

    /// This snapshot with one file replaced, added (`Some`) or removed
    /// (`None`): an editor's unsaved buffer over a saved revision.
    pub fn with_file(&self, path: &str, bytes: Option<&[u8]>) -> Snapshot {
        let mut files = self.files.clone();
        match bytes {
            Some(b) => {
                files.insert(path.to_owned(), SnapshotFile { bytes: b.into(), blob: blob_id(b) });
            }
            None => {
                files.remove(path);
            }
        }
        let revision = match &self.revision {
            Revision::Commit(c) => Revision::Commit(format!("{c}+{}", &blob_id(bytes.unwrap_or_default())[..8])),
            other => other.clone(),
        };
        Snapshot { revision, files, newest_write: self.newest_write }
    }

    /// Every file, sorted by path.
    pub fn files(&self) -> impl Iterator<Item = (&str, &SnapshotFile)> {
        self.files.iter().map(|(p, f)| (p.as_str(), f))
    }

    /// Files under a folder (`dir` without a trailing `/`; empty for all).
    pub fn files_under<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = (&'a str, &'a SnapshotFile)> + 'a {
        let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
        self.files
            .range(prefix.clone()..)
            .take_while(move |(p, _)| p.starts_with(&prefix))
            .map(|(p, f)| (p.as_str(), f))
    }

    /// When the most recently modified file was written (working tree only).
    pub fn newest_write(&self) -> Option<SystemTime> {
        self.newest_write
    }
}

/// The git blob id of `bytes` (`sha1("blob <len>\0" + bytes)`).
pub fn blob_id(bytes: &[u8]) -> String {
    gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, bytes)
        .map(|id| id.to_string())
        .unwrap_or_else(|_| "0".repeat(40))
}

/// Whether a file name belongs to an editor or the OS rather than an author:
/// hidden files, backups, swap and temporary files.
pub fn is_ignored_name(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('#')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name.ends_with(".bak")
        || name.ends_with(".orig")
        // vim writes this probe file to test whether a folder is writable.
        || name == "4913"
}

/// Reads every file below `root/<dir>` for each of `dirs` (paths relative to
/// `root`, `/`-separated), skipping editors' files. A file that changes while
/// it is read is read again, so each file in the snapshot is one complete
/// version of it.
pub fn read_worktree(root: &Path, dirs: &[String]) -> Result<Snapshot, ContentError> {
    let mut files = BTreeMap::new();
    let mut newest: Option<SystemTime> = None;
    for dir in dirs {
        let mut paths = Vec::new();
        collect(root, &root.join(dir), &mut paths)
            .map_err(|e| ContentError::file(dir, format!("cannot list the folder: {e}")))?;
        for (rel, path) in paths {
            let (bytes, modified) = read_stable(&path).map_err(|e| ContentError::file(&rel, e.to_string()))?;
            newest = newest.max(modified);
            let blob = blob_id(&bytes);
            files.insert(rel, SnapshotFile { bytes: bytes.into(), blob });
        }
    }
    Ok(Snapshot::from_worktree(files, newest))
}

/// Reads a file whose length and modification time are the same before and
/// after the read (up to a few attempts; a writer that never stops wins and
/// the last read is used, to be rejected or replaced by the next reload).
fn read_stable(path: &Path) -> std::io::Result<(Vec<u8>, Option<SystemTime>)> {
    let stamp = |m: &std::fs::Metadata| (m.len(), m.modified().ok());
    let mut before = stamp(&std::fs::metadata(path)?);
    for _ in 0..5 {
        let bytes = std::fs::read(path)?;
        let after = stamp(&std::fs::metadata(path)?);
        if after == before && bytes.len() as u64 == after.0 {
            return Ok((bytes, after.1));
        }
        before = after;
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let bytes = std::fs::read(path)?;
    Ok((bytes, before.1))
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, std::path::PathBuf)>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if is_ignored_name(name) {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect(root, &path, out)?;
        } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            out.push((rel, path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ids_match_git() {
        // `printf 'hello\n' | git hash-object --stdin`, and the empty blob
        assert_eq!(blob_id(b"hello\n"), "ce013625030ba8dba906f756967f9e9ca394464a");
        assert_eq!(blob_id(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    }

    #[test]
    fn worktree_revision_depends_on_content_only() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("c/fragments")).unwrap();
        std::fs::write(d.path().join("c/fragments/a.html.tera"), "a").unwrap();
        std::fs::write(d.path().join("c/fragments/.a.html.tera.swp"), "swap").unwrap();
        std::fs::write(d.path().join("c/fragments/4913"), "").unwrap();
        let dirs = vec!["c".to_owned()];
        let one = read_worktree(d.path(), &dirs).unwrap();
        let two = read_worktree(d.path(), &dirs).unwrap();
        assert_eq!(one.revision(), two.revision());
        assert_eq!(one.files().map(|(p, _)| p).collect::<Vec<_>>(), ["c/fragments/a.html.tera"]);
        std::fs::write(d.path().join("c/fragments/a.html.tera"), "b").unwrap();
        let three = read_worktree(d.path(), &dirs).unwrap();
        assert_ne!(one.revision(), three.revision());
        assert!(three.revision().to_string().starts_with("worktree:"));
    }
}
