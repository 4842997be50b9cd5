//! Drop-behind for the `zip` sink: a finished container is written to the
//! disk and then dropped from the page cache, on a thread of its own, so a
//! long run's outputs do not pile up in memory.
//!
//! Without it a run leaves every byte it wrote in the page cache: a million
//! ACME letters are ~15 GiB. That evicts what other work on the machine had
//! cached, and the kernel finds fresh pages for every new container — on a
//! virtual machine, memory the host may have to back first. Measured
//! (`bench batch`, ACME, zip, five runs in one process): 161–163 µs CPU per
//! document in the first two runs, 181–206 in the next three as the cache
//! grew by 1.5 GiB a run, with almost all of the difference in the kernel's
//! copy of the committer's writes into fresh pages. Streaming writers do the
//! same for the same reason (PostgreSQL's `*_flush_after`, `dd
//! oflag=nocache`).
//!
//! At most [`IN_FLIGHT`] containers wait for the disk: a disk slower than the
//! run holds the committer back here, at a known point, instead of in the
//! kernel's dirty-page throttling in the middle of some write.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::thread::JoinHandle;

/// Closed containers that may wait for the disk at once (~16 MiB each
/// with the default block of 1,000 HTML letters).
pub const IN_FLIGHT: usize = 4;

/// The thread that writes finished containers out and drops their pages.
pub struct DropBehind {
    send: Option<crossbeam_channel::Sender<(File, PathBuf)>>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl DropBehind {
    /// Starts the thread.
    pub fn start() -> io::Result<DropBehind> {
        let (send, receive) = crossbeam_channel::bounded::<(File, PathBuf)>(IN_FLIGHT);
        let thread = std::thread::Builder::new().name("tessera-flush".into()).spawn(move || {
            for (file, path) in receive {
                write_out_and_forget(&file)
                    .map_err(|e| io::Error::new(e.kind(), format!("writing {} to the disk: {e}", path.display())))?;
            }
            Ok(())
        })?;
        Ok(DropBehind { send: Some(send), thread: Some(thread) })
    }

    /// Hands over a finished container (`path` only names it in an error).
    /// Waits while [`IN_FLIGHT`] others are still being written; fails with
    /// the thread's error once a write to the disk has failed.
    pub fn submit(&mut self, file: File, path: PathBuf) -> io::Result<()> {
        let sent = self.send.as_ref().is_some_and(|send| send.send((file, path)).is_ok());
        if sent {
            Ok(())
        } else {
            Err(self.stop().err().unwrap_or_else(|| io::Error::other("the flush thread stopped")))
        }
    }

    /// Waits until every container handed over is on the disk.
    pub fn finish(mut self) -> io::Result<()> {
        self.stop()
    }

    fn stop(&mut self) -> io::Result<()> {
        drop(self.send.take());
        match self.thread.take().map(JoinHandle::join) {
            None => Ok(()),
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the flush thread panicked")),
        }
    }
}

impl Drop for DropBehind {
    fn drop(&mut self) {
        // A run that failed before `finish` still leaves nothing running;
        // its own error is the one reported.
        let _ = self.stop();
    }
}

/// Writes `file`'s data to the disk, then drops its now clean pages from
/// the page cache.
fn write_out_and_forget(file: &File) -> io::Result<()> {
    file.sync_data()?;
    #[cfg(target_os = "linux")]
    {
        // Advice only: a kernel that ignores it costs the memory, not the output.
        let _ = rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::DontNeed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn every_container_handed_over_is_written_before_finish_returns() {
        let dir = tempfile::tempdir().unwrap();
        let mut flush = DropBehind::start().unwrap();
        for i in 0..(IN_FLIGHT * 3) {
            let path = dir.path().join(format!("{i}.zip"));
            let mut file = File::create(&path).unwrap();
            file.write_all(&vec![i as u8; 64 * 1024]).unwrap();
            flush.submit(file, path).unwrap();
        }
        flush.finish().unwrap();
        for i in 0..(IN_FLIGHT * 3) {
            assert_eq!(std::fs::read(dir.path().join(format!("{i}.zip"))).unwrap(), vec![i as u8; 64 * 1024]);
        }
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_failed_write_stops_the_run_naming_the_container() {
        // fdatasync(2) refuses a pipe (EINVAL): a write-out that fails.
        let (_reader, writer) = std::io::pipe().unwrap();
        let pipe = File::from(std::os::fd::OwnedFd::from(writer));
        let mut flush = DropBehind::start().unwrap();
        let reported = match flush.submit(pipe, PathBuf::from("out/00007.html.zip")) {
            Err(e) => e,
            Ok(()) => flush.finish().unwrap_err(),
        };
        assert!(reported.to_string().contains("out/00007.html.zip"), "{reported}");
    }
}
