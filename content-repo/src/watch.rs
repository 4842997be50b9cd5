//! Change notification for content folders: notify's native watcher on the
//! folders (never on single files: editors replace files, which a file
//! watch loses), debounced, with editors' temporary and swap files ignored,
//! and a polling watcher where native events are unavailable (inotify
//! limits, network file systems) or when `TESSERA_WATCH=poll` asks for it.

use crate::snapshot::is_ignored_name;
use notify::{Event, EventKind, RecursiveMode};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// Debounce and polling settings.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// A change is acted on once no event came for this long...
    pub quiet: Duration,
    /// ...or this long after the first event, whichever is first (an
    /// editor saving continuously still gets its changes seen).
    pub max_delay: Duration,
    /// Use polling instead of native events.
    pub force_poll: bool,
    /// Polling interval.
    pub poll_interval: Duration,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            quiet: Duration::from_millis(20),
            max_delay: Duration::from_millis(250),
            force_poll: false,
            poll_interval: Duration::from_millis(100),
        }
    }
}

impl WatchConfig {
    /// The defaults, with `TESSERA_WATCH=poll` forcing the polling watcher.
    pub fn from_env() -> Self {
        let force_poll = std::env::var("TESSERA_WATCH").is_ok_and(|v| v.eq_ignore_ascii_case("poll"));
        WatchConfig { force_poll, ..Default::default() }
    }
}

/// Which mechanism delivers events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The OS's native notifications (inotify, FSEvents, ...).
    Native,
    /// Periodic scans comparing modification times.
    Polling,
}

/// Watches folders and reports settled changes.
pub struct ChangeWatcher {
    _watcher: Box<dyn notify::Watcher + Send>,
    events: Receiver<notify::Result<Event>>,
    backend: Backend,
    config: WatchConfig,
}

/// Why watching could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {path}: {message}")]
pub struct WatchError {
    /// The folder.
    pub path: PathBuf,
    /// What the watcher said.
    pub message: String,
}

impl ChangeWatcher {
    /// Watches `dirs` recursively (missing folders are skipped).
    pub fn new(dirs: &[PathBuf], config: WatchConfig) -> Result<ChangeWatcher, WatchError> {
        let dirs: Vec<&PathBuf> = dirs.iter().filter(|d| d.is_dir()).collect();
        if !config.force_poll {
            match Self::start(&dirs, Backend::Native, &config) {
                Ok(w) => return Ok(w),
                Err(e) => {
                    tracing::warn!("native file events unavailable ({e}); polling every {:?}", config.poll_interval)
                }
            }
        }
        Self::start(&dirs, Backend::Polling, &config)
    }

    fn start(dirs: &[&PathBuf], backend: Backend, config: &WatchConfig) -> Result<ChangeWatcher, WatchError> {
        let (tx, events) = channel();
        let fail = |path: &Path, e: notify::Error| WatchError { path: path.to_path_buf(), message: e.to_string() };
        let mut watcher: Box<dyn notify::Watcher + Send> = match backend {
            Backend::Native => Box::new(notify::recommended_watcher(tx).map_err(|e| fail(Path::new("."), e))?),
            Backend::Polling => Box::new(
                notify::PollWatcher::new(
                    tx,
                    // Modification times have one-second resolution in the poll
                    // watcher: compare contents, or a quick second save is missed.
                    notify::Config::default().with_poll_interval(config.poll_interval).with_compare_contents(true),
                )
                .map_err(|e| fail(Path::new("."), e))?,
            ),
        };
        for dir in dirs {
            watcher.watch(dir, RecursiveMode::Recursive).map_err(|e| fail(dir, e))?;
        }
        Ok(ChangeWatcher { _watcher: watcher, events, backend, config: config.clone() })
    }

    /// The mechanism in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Waits up to `timeout` for a change, then until it settles; returns
    /// the changed paths, or `None` when nothing changed in time.
    pub fn next_change(&self, timeout: Duration) -> Option<Vec<PathBuf>> {
        let mut changed = Vec::new();
        let deadline = Instant::now() + timeout;
        // Wait for the first relevant event.
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    if relevant(&event, &mut changed) {
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
        // Then until it is quiet, or the maximum delay has passed.
        let give_up = Instant::now() + self.config.max_delay;
        loop {
            let wait = self.config.quiet.min(give_up.saturating_duration_since(Instant::now()));
            if wait.is_zero() {
                break;
            }
            match self.events.recv_timeout(wait) {
                Ok(event) => {
                    relevant(&event, &mut changed);
                }
                Err(_) => break,
            }
        }
        changed.sort();
        changed.dedup();
        Some(changed)
    }
}

/// Whether an event is about an author's file; collects its paths.
fn relevant(event: &notify::Result<Event>, changed: &mut Vec<PathBuf>) -> bool {
    let Ok(event) = event else {
        // The watcher lost events (queue overflow): treat as "something changed".
        return true;
    };
    let interesting = match event.kind {
        EventKind::Access(notify::event::AccessKind::Close(notify::event::AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    };
    if !interesting {
        return false;
    }
    let mut any = false;
    for path in &event.paths {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if is_ignored_name(name) {
            continue;
        }
        any = true;
        changed.push(path.clone());
    }
    any || event.paths.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(config: WatchConfig) {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("fragments");
        std::fs::create_dir_all(&dir).unwrap();
        let w = ChangeWatcher::new(&[d.path().to_path_buf()], config).unwrap();
        // Editors' files alone are not a change.
        std::fs::write(dir.join(".footer.html.tera.swp"), "x").unwrap();
        std::fs::write(dir.join("footer.html.tera~"), "x").unwrap();
        std::fs::write(dir.join("4913"), "").unwrap();
        assert_eq!(w.next_change(Duration::from_millis(300)), None, "{:?}", w.backend());
        std::fs::write(dir.join("footer.html.tera"), "new").unwrap();
        let changed = w.next_change(Duration::from_secs(5)).expect("a change");
        assert!(changed.iter().any(|p| p.ends_with("fragments/footer.html.tera")), "{changed:?}");
    }

    #[test]
    fn native_watcher_reports_authors_files_only() {
        check(WatchConfig::default());
    }

    #[test]
    fn polling_watcher_reports_authors_files_only() {
        let config = WatchConfig { force_poll: true, poll_interval: Duration::from_millis(20), ..Default::default() };
        let d = tempfile::tempdir().unwrap();
        let w = ChangeWatcher::new(&[d.path().to_path_buf()], config.clone()).unwrap();
        assert_eq!(w.backend(), Backend::Polling);
        drop(w);
        check(config);
    }
}
