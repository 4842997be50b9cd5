//! What a plugin instance can see and touch: the per-store state.
//!
//! Every store gets a deny-by-default WASI context (no preopened
//! directories, no environment, no arguments, no sockets, stdin closed,
//! stdout discarded, stderr kept up to 4 KiB for panic messages), a wall clock frozen at the job's as-of date, a
//! monotonic clock that does not move, and randomness seeded per call so
//! reruns are byte-identical. The only way to files is `host.read-asset`,
//! which goes through cap-std directory handles opened on the granted
//! folders: cap-std refuses `..`, absolute paths and symlinks that lead out.

use crate::stderr::StderrTail;
use crate::types::{ContractError, ErrorCode, LogLevel, SourceLocation};
use std::collections::HashMap;
use std::path::{Component, Path};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// The asset folders one plugin may read, opened once at load time.
#[derive(Default)]
pub struct AssetGrants {
    dirs: HashMap<String, cap_std::fs::Dir>,
}

impl AssetGrants {
    /// Adds a granted folder under its grant name.
    pub(crate) fn insert(&mut self, name: String, dir: cap_std::fs::Dir) {
        self.dirs.insert(name, dir);
    }

    /// Reads `grant/rest/of/path`, or says why not.
    fn read(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, String> {
        let p = Path::new(path);
        if p.is_absolute() {
            return Err(format!("`{path}` is absolute; asset paths are relative to the asset folder"));
        }
        let mut parts = p.components();
        let grant = match parts.next() {
            Some(Component::Normal(g)) => g.to_string_lossy().into_owned(),
            _ => {
                return Err(format!("`{path}` does not start with a granted asset folder"));
            }
        };
        let rest = parts.as_path();
        if rest.as_os_str().is_empty() {
            return Err(format!("`{path}` names a folder, not a file"));
        }
        let dir =
            self.dirs.get(&grant).ok_or_else(|| format!("asset folder `{grant}` is not granted to this plugin"))?;
        let meta = dir.metadata(rest).map_err(|e| format!("`{path}`: {e}"))?;
        if meta.len() > max_bytes {
            return Err(format!("`{path}` is {} bytes, more than the plugin's memory allows", meta.len()));
        }
        dir.read(rest).map_err(|e| format!("`{path}`: {e}"))
    }
}

/// Tracks memory growth against the cap and remembers the peak and
/// whether the cap was hit (a denied growth usually surfaces as a trap in
/// the guest's allocator; this is how the host knows the real cause).
pub(crate) struct MemoryLimiter {
    pub(crate) limit: u64,
    pub(crate) peak: u64,
    pub(crate) denied: bool,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired as u64 > self.limit {
            self.denied = true;
            return Ok(false);
        }
        self.peak = self.peak.max(desired.max(current) as u64);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// Per-call settings from the caller.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The job's as-of date, `YYYY-MM-DD`.
    pub as_of: Arc<str>,
    /// Seconds since the Unix epoch at the as-of date, 00:00 UTC.
    pub as_of_unix: u64,
    /// Seed for the plugin's randomness (derive it from the record).
    pub seed: u64,
}

/// Who is running, for log lines.
pub(crate) struct Identity {
    pub(crate) name: String,
    pub(crate) log_cap: u64,
    pub(crate) assets: Arc<AssetGrants>,
    pub(crate) memory_limit: u64,
}

/// The data of one store: one plugin instance, one call (or one translate session).
pub(crate) struct Sandbox {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    identity: Arc<Identity>,
    as_of: Arc<str>,
    log_used: u64,
    pub(crate) log_dropped: u64,
    /// The plugin's stderr (the first few KiB), for panic messages.
    pub(crate) stderr: StderrTail,
    /// The states of the two random streams, shared with the WASI context
    /// so that an instance serving another document is reseeded for it.
    random: [Arc<AtomicU64>; 2],
}

impl Sandbox {
    pub(crate) fn new(identity: Arc<Identity>, ctx: &CallContext) -> Sandbox {
        let stderr = StderrTail::default();
        let random = seeds(ctx.seed).map(|seed| Arc::new(AtomicU64::new(seed)));
        let mut wasi = WasiCtxBuilder::new();
        wasi.stderr(stderr.clone())
            .wall_clock(FrozenWallClock(Duration::from_secs(ctx.as_of_unix)))
            .monotonic_clock(FrozenMonotonicClock)
            .secure_random(SplitMix64(Arc::clone(&random[0])))
            .insecure_random(SplitMix64(Arc::clone(&random[1])))
            .insecure_random_seed(u128::from(ctx.seed))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        Sandbox {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter { limit: identity.memory_limit, peak: 0, denied: false },
            identity,
            as_of: Arc::clone(&ctx.as_of),
            log_used: 0,
            log_dropped: 0,
            stderr,
            random,
        }
    }

    /// Seeds the random streams for another document served by the same
    /// instance (`reuse = "run"`): its draws are those of a fresh instance
    /// made for that document. (`insecure-seed`, which a program reads once
    /// at start-up to key its hash maps, stays the first document's.)
    pub(crate) fn reseed(&mut self, seed: u64) {
        for (state, seed) in self.random.iter().zip(seeds(seed)) {
            state.store(seed, Ordering::Relaxed);
        }
    }

    /// The as-of date this store's clocks are fixed to.
    pub(crate) fn as_of_date(&self) -> &str {
        &self.as_of
    }

    /// Starts a new call's log budget and count (translate sessions make
    /// several calls on one store; each call's usage is reported on its own).
    pub(crate) fn start_call(&mut self) {
        self.log_used = 0;
        self.log_dropped = 0;
    }
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// The host calls, once for every contract version: each version's module
/// in [`crate::contract`] converts its values and calls these.
impl Sandbox {
    /// `host.log`: a line in the host's log under the plugin's name, within its log budget.
    pub(crate) fn plugin_log(&mut self, level: LogLevel, message: String) {
        let len = message.len() as u64;
        if self.log_used + len > self.identity.log_cap {
            self.log_dropped += len;
            return;
        }
        self.log_used += len;
        let plugin = &self.identity.name;
        match level {
            LogLevel::Debug => tracing::debug!(target: "tessera::plugin", %plugin, "{message}"),
            LogLevel::Info => tracing::info!(target: "tessera::plugin", %plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(target: "tessera::plugin", %plugin, "{message}"),
            LogLevel::Error => tracing::error!(target: "tessera::plugin", %plugin, "{message}"),
        }
    }

    /// `host.read-asset`: a file of a granted asset folder, or `denied` with the reason.
    pub(crate) fn read_granted_asset(&mut self, path: &str) -> Result<Vec<u8>, ContractError> {
        self.identity.assets.read(path, self.identity.memory_limit).map_err(|message| ContractError {
            code: ErrorCode::Denied,
            message,
            location: Some(SourceLocation { source: Some(path.to_owned()), ..SourceLocation::default() }),
        })
    }
}

/// The wall clock, stopped at the job's as-of date.
struct FrozenWallClock(Duration);

impl wasmtime_wasi::HostWallClock for FrozenWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        self.0
    }
}

/// A monotonic clock that never moves: plugins cannot time anything, so
/// they cannot behave differently on a busy machine.
struct FrozenMonotonicClock;

impl wasmtime_wasi::HostMonotonicClock for FrozenMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// The starting states of the secure and the insecure stream for a seed.
fn seeds(seed: u64) -> [u64; 2] {
    [seed, seed ^ 0x9E37_79B9_7F4A_7C15]
}

/// SplitMix64: small, fast, and good enough for a sandbox whose randomness
/// must above all be reproducible. Its state is shared with the [`Sandbox`]
/// (one store's calls are never concurrent), which reseeds it per document.
struct SplitMix64(Arc<AtomicU64>);

impl rand::TryRng for SplitMix64 {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok((self.try_next_u64()? >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut z = self.0.load(Ordering::Relaxed).wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.0.store(z, Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Ok(z ^ (z >> 31))
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}
