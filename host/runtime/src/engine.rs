//! The runtime: one wasmtime `Engine` for all plugins of a process, with fuel
//! metering and epoch interruption switched on, the pooling instance
//! allocator (so a fresh instance per document costs microseconds), one
//! `Linker` holding deny-by-default WASI and the `tessera:plugin/host`
//! interface, an epoch ticker thread, and the compile cache.

use crate::cache::CompileCache;
use crate::limits::HOST_MAX_MEMORY_MIB;
use crate::sandbox::Sandbox;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch ticks; deadlines are counted in ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Runtime settings.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// Folder for compiled components; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Skip the pooling allocator (for hosts that cannot reserve its address space).
    pub on_demand_allocation: bool,
    /// Called after every compile (a component not found in the cache, never
    /// a cached load), so the process can have its allocator give the
    /// compiler's freed memory back: one that keeps freed pages per thread
    /// (mimalloc) otherwise holds them for good in the compiler's idle
    /// worker threads.
    pub after_compile: Option<fn()>,
}

/// How instances get their memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allocation {
    /// Preallocated slots, reused across instances.
    Pooling,
    /// Memory mapped per instance; with the reason pooling was not used.
    OnDemand(String),
}

/// The plugin runtime shared by every tenant and thread of a process.
pub struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<Sandbox>,
    pub(crate) cache: CompileCache,
    allocation: Allocation,
    ticker: Option<Ticker>,
}

/// Errors creating the runtime.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// wasmtime refused the engine's configuration.
    #[error("cannot start the plugin runtime: wasmtime refused the engine configuration")]
    Engine(#[source] wasmtime::Error),
    /// The host's interfaces could not be linked.
    #[error("cannot start the plugin runtime: linking {what} failed")]
    Link {
        /// Which interfaces (WASI, a contract version).
        what: &'static str,
        /// What the linker said.
        #[source]
        source: wasmtime::Error,
    },
}

fn base_config() -> Config {
    let mut config = Config::new();
    config.consume_fuel(true);
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    config.max_wasm_stack(1 << 20);
    // `TESSERA_WASM_PROFILE=perfmap` lets `perf` name the functions of
    // plugins (a partner profiling a slow plugin, or us the sandbox).
    if std::env::var_os("TESSERA_WASM_PROFILE").is_some_and(|v| v == "perfmap") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    config
}

fn pooling() -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(256)
        // Python components (componentize-py) link CPython, its libc and
        // their native modules as ~40 core instances sharing one memory;
        // Rust and QuickJS components need a handful.
        .total_core_instances(2048)
        .total_memories(256)
        .total_tables(1024)
        .max_memories_per_component(4)
        .max_tables_per_component(64)
        .max_core_instances_per_component(64)
        .max_memory_size((HOST_MAX_MEMORY_MIB << 20) as usize)
        // A fresh instance per document must not pay for its memory with
        // system calls: resetting a slot by madvise, then faulting the
        // pages in and mprotect-ing them again on the next instance's
        // growth, was ~20% of `bench serve`'s CPU. Keeping the first MiB
        // resident, with PAGEMAP_SCAN (Linux ≥ 6.7) to reset only the pages
        // the instance dirtied, halves payment-qr's call: p50 105–135 µs →
        // 68–72 µs in `bench plugin-call`. Without PAGEMAP_SCAN, wasmtime
        // memsets the whole MiB instead, measured ~10% slower than 0; 2 MiB
        // measured slower than 1 (p50 108–127 µs).
        .linear_memory_keep_resident(1 << 20)
        .pagemap_scan(wasmtime::Enabled::Auto)
        .table_keep_resident(64 << 10);
    pool
}

impl Runtime {
    /// Starts the runtime: engine (pooling, falling back to on-demand with
    /// a logged reason), linker and epoch ticker.
    pub fn new(config: RuntimeConfig) -> Result<Runtime, RuntimeError> {
        let (engine, allocation) = if config.on_demand_allocation {
            let engine = Engine::new(&base_config()).map_err(RuntimeError::Engine)?;
            (engine, Allocation::OnDemand("on-demand allocation was asked for".into()))
        } else {
            let mut pooled = base_config();
            pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling()));
            match Engine::new(&pooled) {
                Ok(engine) => (engine, Allocation::Pooling),
                Err(e) => {
                    let reason = format!("the pooling allocator could not reserve its memory ({e})");
                    tracing::warn!("{reason}; falling back to on-demand instance allocation");
                    let engine = Engine::new(&base_config()).map_err(RuntimeError::Engine)?;
                    (engine, Allocation::OnDemand(reason))
                }
            }
        };
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|source| RuntimeError::Link { what: "WASI", source })?;
        crate::contract::link_all(&mut linker)
            .map_err(|source| RuntimeError::Link { what: "the contract's host interfaces", source })?;
        let cache = CompileCache::new(&engine, config.cache_dir, config.after_compile);
        let ticker = Some(Ticker::start(engine.clone()));
        Ok(Runtime { engine, linker, cache, allocation, ticker })
    }

    /// Pooling or on-demand (and why).
    pub fn allocation(&self) -> &Allocation {
        &self.allocation
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(t) = self.ticker.take() {
            t.stop();
        }
    }
}

/// The thread that advances the engine's epoch, the wall-clock backstop
/// that stops a plugin stuck in a host call-free loop even with fuel left.
struct Ticker {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl Ticker {
    fn start(engine: Engine) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("tessera-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawn the epoch thread");
        Ticker { stop, handle }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.handle.join();
    }
}
