//! Live content: the [`Library`] documents render from, replaced atomically
//! when the content changes.
//!
//! One reload reads a snapshot, resolves and checks every file, compiles
//! every view and (when a canary record is known) renders it with every
//! view — all off the render path. Only a library that passed all of that
//! is swapped in; on any error the last good one stays live and the error
//! is kept and reported as `file:line:col: message` with the source line.
//! A render takes the current `Arc<Library>` once, so each document comes
//! from exactly one snapshot whatever happens meanwhile.

use crate::compose::library::Library;
use crate::compose::{ComposeError, FragmentPlugins, Renditions};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};
use tessera_cdm::CdmRecord;
use tessera_content::watch::{Backend, ChangeWatcher, WatchConfig, WatchError};
use tessera_content::{ContentError, ContentSource, RepoError, SourceMode};
use tessera_runtime::CallContext;

/// Content that can change under a running pipeline.
pub struct LiveContent {
    source: ContentSource,
    current: RwLock<Arc<Library>>,
    status: Mutex<ReloadStatus>,
    swapped: Condvar,
    canary: Mutex<Option<Canary>>,
    /// Only one reload at a time (the watcher and manual calls may race).
    reloading: Mutex<()>,
}

/// A record rendered with every view of a new library before it goes live,
/// catching templates that compile but fail to render (an unknown variable).
#[derive(Clone)]
pub struct Canary {
    /// A record that rendered before.
    pub record: CdmRecord,
    /// Its template.
    pub template: String,
    /// Fragment plugins for the render.
    pub fragments: Arc<FragmentPlugins>,
    /// Call context for the render.
    pub call: CallContext,
}

/// Counters and the last error, for operators and tests.
#[derive(Debug, Clone, Default)]
pub struct ReloadStatus {
    /// Libraries swapped in since start.
    pub generation: u64,
    /// Reload attempts that found a change.
    pub reloads: u64,
    /// Reloads refused.
    pub failures: u64,
    /// The revision live now.
    pub revision: String,
    /// The last refusal, if the content has not been good since.
    pub last_error: Option<ReloadFailure>,
}

/// Why a reload was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadFailure {
    /// One line: `file:line:col: message`.
    pub message: String,
    /// With the source line and a caret.
    pub detailed: String,
    /// The content file at fault, with line and column where known (for an
    /// author's error overlay); `None` when no one file is to blame.
    pub error: Option<Box<ContentError>>,
}

impl ReloadFailure {
    fn plain(message: String) -> ReloadFailure {
        ReloadFailure { detailed: message.clone(), message, error: None }
    }

    fn content(error: ContentError) -> ReloadFailure {
        ReloadFailure { message: error.to_string(), detailed: error.detailed(), error: Some(Box::new(error)) }
    }
}

/// What a reload did.
#[derive(Debug, Clone)]
pub enum ReloadOutcome {
    /// The content has not changed.
    Unchanged,
    /// A new library is live.
    Swapped {
        /// Its revision.
        revision: String,
        /// How long reading, checking and compiling took.
        took: Duration,
    },
    /// The content is broken; the last good library stays live.
    Refused(ReloadFailure),
    /// Files are still being written; try again shortly (nothing changed).
    Unsettled,
}

impl LiveContent {
    /// Loads the content once; an error here means there is nothing to render from.
    pub fn load(source: ContentSource) -> Result<LiveContent, RepoError> {
        let set = source.load()?;
        let library = Library::build(set)?;
        let status = ReloadStatus { revision: library.revision().to_string(), ..Default::default() };
        Ok(LiveContent {
            source,
            current: RwLock::new(Arc::new(library)),
            status: Mutex::new(status),
            swapped: Condvar::new(),
            canary: Mutex::new(None),
            reloading: Mutex::new(()),
        })
    }

    /// The library live now.
    pub fn current(&self) -> Arc<Library> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The content source.
    pub fn source(&self) -> &ContentSource {
        &self.source
    }

    /// Counters and the last error.
    pub fn status(&self) -> ReloadStatus {
        self.status.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sets the canary record unless one is set.
    pub fn offer_canary(&self, canary: impl FnOnce() -> Canary) {
        let mut slot = self.canary.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(canary());
        }
    }

    /// Waits until a library newer than `generation` is live.
    pub fn wait_for_generation(&self, generation: u64, timeout: Duration) -> bool {
        let status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        let (status, _) = self
            .swapped
            .wait_timeout_while(status, timeout, |s| s.generation <= generation)
            .unwrap_or_else(|e| e.into_inner());
        status.generation > generation
    }

    /// Whether a canary record is known (a document rendered since start).
    pub fn has_canary(&self) -> bool {
        self.canary.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// Builds a library from `snapshot` (another revision of this source,
    /// e.g. a studio draft) and checks it exactly as a reload would —
    /// every file resolved and compiled, the canary rendered with every
    /// view — without making it live.
    pub fn check(&self, snapshot: tessera_content::Snapshot) -> Result<Library, ReloadFailure> {
        let library = self.source.build(snapshot).and_then(Library::build).map_err(ReloadFailure::content)?;
        self.sing(&library)?;
        Ok(library)
    }

    /// Reads the content now and swaps it in if it changed and is good.
    pub fn reload(&self, settle: Duration) -> ReloadOutcome {
        let _one = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
        let started = Instant::now();
        if let Some(commit) = self.source.published_commit()
            && **self.current().revision() == *commit
        {
            return ReloadOutcome::Unchanged;
        }
        let snapshot = match self.settled_snapshot(settle) {
            Ok(Some(s)) => s,
            Ok(None) => return ReloadOutcome::Unsettled,
            Err(RepoError::Content(e)) => return self.refuse(ReloadFailure::content(e)),
            Err(e) => return self.refuse(ReloadFailure::plain(e.to_string())),
        };
        if snapshot.revision().to_string() == **self.current().revision() {
            return ReloadOutcome::Unchanged;
        }
        let library = match self.check(snapshot) {
            Ok(l) => l,
            Err(failure) => return self.refuse(failure),
        };
        let revision = library.revision().to_string();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(library);
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        status.generation += 1;
        status.reloads += 1;
        status.revision = revision.clone();
        status.last_error = None;
        drop(status);
        self.swapped.notify_all();
        ReloadOutcome::Swapped { revision, took: started.elapsed() }
    }

    /// A snapshot in which no file was written less than `settle` ago: an
    /// editor that writes a file in several steps is given time to finish.
    /// `None` while files keep changing: a file caught mid-write must never
    /// go live, even if it happens to parse.
    fn settled_snapshot(&self, settle: Duration) -> Result<Option<tessera_content::Snapshot>, RepoError> {
        let give_up = Instant::now() + (settle * 10).max(Duration::from_millis(200));
        loop {
            let snapshot = self.source.snapshot()?;
            let age =
                snapshot.newest_write().and_then(|t| SystemTime::now().duration_since(t).ok()).unwrap_or(Duration::MAX);
            if age >= settle {
                return Ok(Some(snapshot));
            }
            if Instant::now() >= give_up {
                return Ok(None);
            }
            std::thread::sleep(settle - age);
        }
    }

    /// Renders the canary with every view of `library`.
    fn sing(&self, library: &Library) -> Result<(), ReloadFailure> {
        let Some(canary) = self.canary.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
            return Ok(());
        };
        for view in library.set().views() {
            let result = library.compose(
                &canary.record,
                &canary.template,
                &view.label_id,
                &view.locale,
                &canary.call,
                &canary.fragments,
                Renditions::ALL,
            );
            match result {
                // A plugin's own failure (fuel, a fault) says nothing about the content.
                Ok(_) | Err(ComposeError::Fragment(_)) => {}
                Err(ComposeError::Template(e)) => {
                    return Err(ReloadFailure {
                        message: format!("{e} (rendering document {} as {})", canary.record.document_id, view.key()),
                        detailed: format!(
                            "{}\n  (rendering document {} as {})",
                            e.detailed(),
                            canary.record.document_id,
                            view.key()
                        ),
                        error: Some(Box::new(e)),
                    });
                }
                Err(ComposeError::Missing(m)) => {
                    return Err(ReloadFailure::plain(m));
                }
            }
        }
        Ok(())
    }

    fn refuse(&self, failure: ReloadFailure) -> ReloadOutcome {
        tracing::debug!("content reload refused, the last good content stays live:\n{}", failure.detailed);
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        status.reloads += 1;
        status.failures += 1;
        status.last_error = Some(failure.clone());
        ReloadOutcome::Refused(failure)
    }

    /// Reloads whenever the content changes, until the handle is dropped;
    /// `on_reload` hears every swap and every refusal.
    pub fn watch(
        self: &Arc<Self>,
        config: WatchConfig,
        on_reload: impl Fn(&ReloadOutcome) + Send + 'static,
    ) -> Result<WatchHandle, WatchError> {
        let stop = Arc::new(AtomicBool::new(false));
        let live = Arc::clone(self);
        let published = matches!(self.source.mode(), SourceMode::Published(_) | SourceMode::Revision(_));
        let watcher =
            if published { None } else { Some(ChangeWatcher::new(&self.source.watch_dirs(), config.clone())?) };
        let backend = watcher.as_ref().map_or(Backend::Polling, ChangeWatcher::backend);
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("tessera-content-reload".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    let changed = match &watcher {
                        Some(w) => w.next_change(Duration::from_millis(100)).is_some(),
                        None => {
                            std::thread::sleep(config.poll_interval);
                            true
                        }
                    };
                    while changed && !flag.load(Ordering::Relaxed) {
                        match live.reload(config.quiet) {
                            // Still being written: look again once it may have settled.
                            ReloadOutcome::Unsettled => std::thread::sleep(config.quiet),
                            ReloadOutcome::Unchanged => break,
                            outcome => {
                                on_reload(&outcome);
                                break;
                            }
                        }
                    }
                }
            })
            .map_err(|e| WatchError { path: self.source.repo().root().to_path_buf(), message: e.to_string() })?;
        Ok(WatchHandle { stop, thread: Some(thread), backend })
    }
}

/// Stops watching when dropped.
pub struct WatchHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    backend: Backend,
}

impl WatchHandle {
    /// Native events or polling.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
