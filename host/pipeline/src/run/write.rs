//! Writing outputs so that a crash never leaves a half-written file under a
//! real name, and a document's files all or none ([`FolderWriter`]).
//!
//! On Linux a file is written as an unnamed inode in its folder (`O_TMPFILE`)
//! and linked under its real name once complete: one directory update per
//! output instead of the create + rename pair, which matters because every
//! worker updates the same folder and the folder lock is the batch's hottest
//! contention point. Where that is not possible (another OS, a file system
//! without `O_TMPFILE`, or a name that already exists) the file is written to
//! a temporary name in the same folder and renamed.
//!
//! Files are not fsynced one by one (that costs milliseconds per file and
//! would cap a batch at a few hundred documents per second); either way each
//! file appears whole or not at all after a process crash, and the manifest
//! records every file's sha256 so a run can verify its outputs.

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    if unnamed::write_then_link(path, bytes)? {
        return Ok(());
    }
    write_then_rename(path, bytes)
}

fn write_then_rename(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    drop(file);
    std::fs::rename(&tmp, path)
}

#[cfg(target_os = "linux")]
mod unnamed {
    use rustix::fs::{AtFlags, CWD, Mode, OFlags};
    use rustix::io::Errno;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::path::Path;

    /// Writes an unnamed file in `path`'s folder and links it as `path`.
    /// `Ok(false)` means "not possible here, use the rename path".
    pub(super) fn write_then_link(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let fd = match rustix::fs::open(dir, OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC, Mode::from(0o666)) {
            Ok(fd) => fd,
            // Kernels or file systems without O_TMPFILE answer in several ways.
            Err(Errno::OPNOTSUPP | Errno::ISDIR | Errno::INVAL | Errno::NOENT) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let mut file = std::fs::File::from(fd);
        file.write_all(bytes)?;
        // Linking through /proc needs no privilege, unlike AT_EMPTY_PATH.
        let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
        match rustix::fs::linkat(CWD, proc_path.as_str(), CWD, path, AtFlags::SYMLINK_FOLLOW) {
            Ok(()) => Ok(true),
            // An existing name must be replaced atomically, which linkat cannot do;
            // without /proc mounted, linkat cannot find the file.
            Err(Errno::EXIST | Errno::NOENT) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// Hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A file extension a formatter may use: 1–10 lower-case letters or digits.
pub fn valid_extension(ext: &str) -> bool {
    (1..=10).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Writes documents' files into a run's output folder, each record's in
/// the sub-folder of its block (see [`crate::sink`]).
pub(crate) struct FolderWriter<'a> {
    /// The output folder.
    pub out_dir: &'a Path,
    /// The run's sink (for its block size).
    pub sink: crate::sink::Sink,
    /// Blocks whose sub-folder exists (made once, by whichever worker
    /// comes first).
    pub made: std::sync::Mutex<std::collections::HashSet<u64>>,
}

impl<'a> FolderWriter<'a> {
    /// A writer into `out_dir`.
    pub(crate) fn new(out_dir: &'a Path, sink: crate::sink::Sink) -> FolderWriter<'a> {
        FolderWriter { out_dir, sink, made: Default::default() }
    }

    /// Writes every file of record `seq`, or none of them: a failed write
    /// removes the files of the document written before it. Returns each
    /// file's name relative to the output folder.
    pub(crate) fn write(&self, seq: u64, files: &[(String, Vec<u8>)]) -> Result<Vec<String>, crate::flow::Failure> {
        let block = self.sink.block(seq);
        let failed = |path: &Path, e: std::io::Error| {
            crate::flow::Failure::plain(crate::report::Stage::Write, format!("{}: {e}", path.display()))
        };
        let folder = self.out_dir.join(crate::sink::block_name(block));
        {
            let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
            if !made.contains(&block) {
                std::fs::create_dir_all(&folder).map_err(|e| failed(&folder, e))?;
                made.insert(block);
            }
        }
        let mut placed = Vec::with_capacity(files.len());
        for (i, (name, bytes)) in files.iter().enumerate() {
            let path = folder.join(name);
            if let Err(e) = write_atomic(&path, bytes) {
                for (written, _) in &files[..i] {
                    let _ = std::fs::remove_file(folder.join(written));
                }
                return Err(failed(&path, e));
            }
            placed.push(crate::sink::dir_path(block, name));
        }
        crate::run::checkpoint::crash::point("output");
        Ok(placed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_leaves_no_temporaries() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.html");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn the_rename_path_also_replaces_and_cleans_up() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("b.html");
        write_then_rename(&p, b"one").unwrap();
        write_then_rename(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn extensions() {
        assert!(valid_extension("asa"));
        assert!(!valid_extension("../x"));
        assert!(!valid_extension(""));
    }
}
