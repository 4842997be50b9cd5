//! Loading a plugin for a tenant, and calling it.
//!
//! Loading checks, in order: the manifest; that the host runs the manifest's
//! contract version; the component's digest against the package's manifest
//! and the tenant's pin; each declared capability against the tenant's
//! grant; the requested limits against the tenant's and host's ceilings;
//! then compiles (or loads from the cache), checks the contract version the
//! component really exports, and links it once into an `InstancePre`.
//!
//! Every call then gets a fresh `Store` and instance (no state survives from
//! one recipient to the next), armed with the plugin's fuel budget, epoch
//! deadline and memory cap; the result is checked against the output cap.
//! The one exception is a formatter or fragment that declares
//! `reuse = "run"` *and* is granted it by the tenant: its instances go back
//! to a pool owned by this tenant's [`Plugin`] after a call that did not
//! trap and serve the next document of the same run (each call still gets
//! the full budgets, and randomness seeded for its document). An instance
//! whose call trapped (a panic, or fuel, time or memory ran out) is never
//! reused.

use crate::cache::CompileSource;
use crate::contract::{
    self, FormatterInstance, FormatterPre, FragmentInstance, FragmentPre, TranslatorInstance, TranslatorPre,
    supported_list,
};
use crate::engine::{EPOCH_TICK, Runtime};
use crate::error::{CallUsage, FaultKind, LoadError, PluginFault};
use crate::grant::PluginGrant;
use crate::limits::Limits;
use crate::manifest::{PluginManifest, Reuse};
use crate::sandbox::{AssetGrants, CallContext, Identity, Sandbox};
use crate::types::{Cut, DocumentInput, Formatted, MAX_CUT_STATE, Rendered, TranslateOutcome};
use crate::version::{Kind, WorldVersion, exported_version};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use wasmtime::component::{Component, ResourceAny};
use wasmtime::{Engine, Store, Trap};

/// What to load, for whom.
pub struct LoadRequest<'a> {
    /// Tenant id, for messages.
    pub tenant: &'a str,
    /// The package folder (`plugin.toml` + component).
    pub package_dir: &'a Path,
    /// The tenant's grant for this plugin.
    pub grant: &'a PluginGrant,
    /// The tenant's asset folder; granted asset folders are inside it.
    pub assets_root: Option<&'a Path>,
}

/// A linked component, by world; the contract version is behind the trait.
enum Pre {
    /// A translator, and whether its contract lets it cut sources.
    Translator(Box<dyn TranslatorPre>, bool),
    Fragment(Box<dyn FragmentPre>),
    Formatter(Box<dyn FormatterPre>),
}

/// A plugin loaded for one tenant, ready to be called from any thread.
pub struct Plugin {
    manifest: PluginManifest,
    identity: Arc<Identity>,
    limits: Limits,
    engine: Engine,
    pre: Pre,
    compile_source: CompileSource,
    /// Idle instances kept for the next document, when the plugin declares
    /// and the tenant grants `reuse = "run"`; `None` otherwise.
    warm: Option<Mutex<Vec<Warm>>>,
}

/// An instance that finished a call without trapping, with its store.
type Warm = (Store<Sandbox>, WarmInstance);

/// The instances that may serve several documents.
enum WarmInstance {
    Fragment(Box<dyn FragmentInstance>),
    Formatter(Box<dyn FormatterInstance>),
}

impl Runtime {
    /// Loads a plugin package for a tenant; see the module docs for the checks.
    pub fn load(&self, req: LoadRequest<'_>) -> Result<Plugin, LoadError> {
        let manifest = PluginManifest::read(req.package_dir)?;
        let name = format!("{}@{}", manifest.id, manifest.version);
        let component_err =
            |what: &'static str, reason: String| LoadError::Component { plugin: name.clone(), what, reason };
        if manifest.id != req.grant.id || manifest.version != req.grant.version {
            return Err(component_err(
                "wrong package",
                format!("tenant `{}` grants {}@{}", req.tenant, req.grant.id, req.grant.version),
            ));
        }
        let Some(contract) = contract::for_version(&manifest.world.version) else {
            return Err(LoadError::UnsupportedWorld {
                plugin: name,
                wanted: manifest.world.version.to_string(),
                world: manifest.world.clone(),
                host: supported_list(),
            });
        };
        let bytes = std::fs::read(&manifest.component).map_err(|e| {
            component_err("cannot read the component", format!("{}: {e}", manifest.component.display()))
        })?;
        let actual = hex::encode(Sha256::digest(&bytes));
        if actual != manifest.sha256 {
            return Err(LoadError::PackageDigest {
                plugin: name,
                recorded: manifest.sha256.clone(),
                actual,
                file: manifest.component.clone(),
            });
        }
        if actual != req.grant.sha256.to_ascii_lowercase() {
            return Err(LoadError::PinMismatch {
                plugin: name,
                tenant: req.tenant.to_owned(),
                pinned: req.grant.sha256.clone(),
                actual,
                file: manifest.component.clone(),
            });
        }
        let mut assets = AssetGrants::default();
        for asset in &manifest.assets {
            if !req.grant.assets.contains(asset) {
                return Err(LoadError::CapabilityNotGranted {
                    plugin: name,
                    tenant: req.tenant.to_owned(),
                    asset: asset.clone(),
                });
            }
            let path = req.assets_root.map(|r| r.join(asset)).unwrap_or_else(|| asset.into());
            let dir = cap_std::fs::Dir::open_ambient_dir(&path, cap_std::ambient_authority()).map_err(|e| {
                LoadError::AssetFolder {
                    plugin: name.clone(),
                    asset: asset.clone(),
                    path: path.clone(),
                    reason: e.to_string(),
                }
            })?;
            assets.insert(asset.clone(), dir);
        }
        let limits = Limits::resolve(&manifest.limits, &req.grant.limits).map_err(|r| LoadError::LimitRefused {
            plugin: name.clone(),
            limit: r.limit,
            requested: r.requested,
            allowed: r.allowed,
            by: r.by,
        })?;
        let (component, compile_source) = self
            .cache
            .load(&self.engine, &actual, &bytes)
            .map_err(|e| component_err("not a valid WebAssembly component", format!("{e:#}")))?;
        check_exports(&self.engine, &component, &manifest.world, &name)?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| component_err("imports something this host does not provide", format!("{e:#}")))?;
        let typed = |e: wasmtime::Error| component_err("does not match its world", format!("{e:#}"));
        // check_exports made sure the component exports the declared version.
        let pre = match manifest.kind {
            Kind::Translator => {
                Pre::Translator(contract.translator(instance_pre).map_err(typed)?, contract.splits_sources())
            }
            Kind::Fragment => Pre::Fragment(contract.fragment(instance_pre).map_err(typed)?),
            Kind::Formatter => Pre::Formatter(contract.formatter(instance_pre).map_err(typed)?),
        };
        let identity = Arc::new(Identity {
            name,
            log_cap: limits.log_bytes,
            assets: Arc::new(assets),
            memory_limit: limits.memory_bytes,
        });
        // A translator's instance already lives for a whole source (a shard).
        let reuse = manifest.reuse == Reuse::Run && req.grant.reuse == Reuse::Run && manifest.kind != Kind::Translator;
        let warm = reuse.then(|| Mutex::new(Vec::new()));
        Ok(Plugin { manifest, identity, limits, engine: self.engine.clone(), pre, compile_source, warm })
    }
}

/// The component must export the world's interface at the manifest's version.
fn check_exports(engine: &Engine, component: &Component, declared: &WorldVersion, name: &str) -> Result<(), LoadError> {
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_owned()).collect();
    let mut found = None;
    for export in &exports {
        if let Some(version) = exported_version(export, declared.kind) {
            match version {
                Ok(v) if v == declared.version => return Ok(()),
                _ => found = Some(export.clone()),
            }
        }
    }
    let found = match found {
        Some(export) => format!("exports {export}"),
        None => format!(
            "exports no tessera:plugin/{} interface (it exports: {})",
            declared.kind.export_interface(),
            if exports.is_empty() { "nothing".into() } else { exports.join(", ") }
        ),
    };
    Err(LoadError::WorldMismatch { plugin: name.to_owned(), declared: declared.clone(), found })
}

impl Plugin {
    /// Plugin id.
    pub fn id(&self) -> &str {
        &self.manifest.id
    }
    /// Plugin version.
    pub fn version(&self) -> &str {
        &self.manifest.version
    }
    /// `id@version`.
    pub fn name(&self) -> &str {
        &self.identity.name
    }
    /// World kind.
    pub fn kind(&self) -> Kind {
        self.manifest.kind
    }
    /// World and contract version.
    pub fn world(&self) -> &WorldVersion {
        &self.manifest.world
    }
    /// sha256 of the component.
    pub fn sha256(&self) -> &str {
        &self.manifest.sha256
    }
    /// The limits it runs with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
    /// Whether instances serve several documents (declared and granted `reuse = "run"`).
    pub fn reuses_instances(&self) -> bool {
        self.warm.is_some()
    }
    /// Whether loading compiled the component or took it from the cache.
    pub fn compile_source(&self) -> CompileSource {
        self.compile_source
    }

    fn new_store(&self, ctx: &CallContext) -> Store<Sandbox> {
        let mut store = Store::new(&self.engine, Sandbox::new(Arc::clone(&self.identity), ctx));
        store.limiter(|s| &mut s.limiter);
        store
    }

    /// Fuel, deadline and log budget for the next call.
    fn arm(&self, store: &mut Store<Sandbox>, budget: &Limits) {
        store.set_fuel(budget.fuel).expect("fuel is enabled on the engine");
        let ticks = (budget.timeout.as_micros() / EPOCH_TICK.as_micros()) as u64 + 1;
        store.set_epoch_deadline(ticks);
        store.data_mut().start_call();
        store.data_mut().limiter.denied = false;
    }

    fn usage(&self, store: &Store<Sandbox>, started: Instant, budget: &Limits) -> CallUsage {
        CallUsage {
            fuel: budget.fuel.saturating_sub(store.get_fuel().unwrap_or(0)),
            peak_memory: store.data().limiter.peak,
            elapsed: started.elapsed(),
            log_dropped: store.data().log_dropped,
        }
    }

    fn fault(&self, kind: FaultKind, usage: CallUsage) -> PluginFault {
        PluginFault {
            plugin: self.identity.name.clone(),
            world: self.manifest.world.clone(),
            kind: Box::new(kind),
            usage,
        }
    }

    /// Names the real cause of a failed call.
    fn classify(&self, err: &wasmtime::Error, store: &Store<Sandbox>, budget: &Limits) -> FaultKind {
        if store.data().limiter.denied {
            return FaultKind::MemoryCap { limit: budget.memory_bytes };
        }
        match err.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => FaultKind::FuelExhausted { budget: budget.fuel },
            Some(Trap::Interrupt) => FaultKind::Deadline { timeout: budget.timeout },
            Some(Trap::UnreachableCodeReached) => FaultKind::Trap {
                message: match store.data().stderr.panic_message() {
                    Some(panic) => format!("reached `unreachable`: the plugin {panic}"),
                    None => "reached `unreachable` (the plugin panicked or aborted)".into(),
                },
            },
            Some(Trap::StackOverflow) => FaultKind::Trap {
                message: "call stack exhausted (deep or endless recursion): the wasm stack is capped at 1 MiB".into(),
            },
            // Rust and C keep their stack in linear memory, below the data:
            // overflowing it runs off the start of memory.
            Some(Trap::MemoryOutOfBounds) => FaultKind::Trap {
                message: "out of bounds memory access (in Rust, C and other compiled plugins usually a stack \
                          overflow from deep recursion: their stack lives in linear memory)"
                    .into(),
            },
            Some(trap) => FaultKind::Trap { message: trap.to_string() },
            None => FaultKind::Trap { message: format!("{err:#}") },
        }
    }

    fn check_output(&self, size: usize, budget: &Limits) -> Result<(), FaultKind> {
        if size as u64 > budget.output_bytes {
            return Err(FaultKind::OutputCap { size: size as u64, limit: budget.output_bytes });
        }
        Ok(())
    }

    fn wrong_kind(&self, wanted: Kind) -> PluginFault {
        self.fault(
            FaultKind::Host { message: format!("called as a {wanted}, but it is a {}", self.manifest.kind) },
            CallUsage::default(),
        )
    }

    /// Creates a fresh store and instance and drops them without calling
    /// the plugin: the fixed cost every call pays before the plugin's own
    /// work. Benchmarks use it to tell the two apart.
    pub fn instantiate_only(&self, ctx: &CallContext) -> Result<std::time::Duration, PluginFault> {
        let started = Instant::now();
        let mut store = self.new_store(ctx);
        self.arm(&mut store, &self.limits);
        let result = match &self.pre {
            Pre::Translator(pre, _) => pre.instantiate(&mut store).map(drop),
            Pre::Fragment(pre) => pre.instantiate(&mut store).map(drop),
            Pre::Formatter(pre) => pre.instantiate(&mut store).map(drop),
        };
        let elapsed = started.elapsed();
        result.map_err(|e| {
            self.fault(self.classify(&e, &store, &self.limits), self.usage(&store, started, &self.limits))
        })?;
        Ok(elapsed)
    }

    /// Calls a fragment plugin: in a fresh instance, or in a warm one of
    /// this tenant's run when reuse is declared and granted.
    pub fn render(
        &self,
        ctx: &CallContext,
        name: &str,
        params: &[(String, String)],
        context_json: &str,
    ) -> Result<(Rendered, CallUsage), PluginFault> {
        let Pre::Fragment(pre) = &self.pre else {
            return Err(self.wrong_kind(Kind::Fragment));
        };
        self.call_instance(
            (ctx, 1),
            |store| pre.instantiate(store),
            |warm| match warm {
                WarmInstance::Fragment(instance) => Some(instance),
                WarmInstance::Formatter(_) => None,
            },
            WarmInstance::Fragment,
            |instance, store| instance.render(store, name, params, context_json),
            |r| r.html.len() + r.text.len(),
        )
    }

    /// Calls a formatter plugin: in a fresh instance, or in a warm one of
    /// this tenant's run when reuse is declared and granted.
    pub fn format(&self, ctx: &CallContext, doc: DocumentInput) -> Result<(Formatted, CallUsage), PluginFault> {
        self.format_many(ctx, doc, 1)
    }

    /// Calls a formatter plugin on a document made of `documents` documents
    /// (a print spool): the call's fuel, deadline and output cap are the
    /// plugin's per-document limits times `documents`; its memory cap is
    /// the plugin's own. A call of more than one document gets a fresh
    /// instance, kept for no other: a warm instance holds what earlier calls
    /// left in its memory (a typesetter's caches of other letters), which a
    /// spool of many letters would have to fit beside, and it never gives
    /// memory back. A call of one document is [`Plugin::format`], warm
    /// instance and all.
    pub fn format_many(
        &self,
        ctx: &CallContext,
        doc: DocumentInput,
        documents: u32,
    ) -> Result<(Formatted, CallUsage), PluginFault> {
        let Pre::Formatter(pre) = &self.pre else {
            return Err(self.wrong_kind(Kind::Formatter));
        };
        self.call_instance(
            (ctx, documents.max(1)),
            |store| pre.instantiate(store),
            |warm| match warm {
                WarmInstance::Formatter(instance) => Some(instance),
                WarmInstance::Fragment(_) => None,
            },
            WarmInstance::Formatter,
            |instance, store| instance.format(store, doc),
            |f| f.bytes.len(),
        )
    }

    /// One call of a fragment or formatter doing the work of `documents`
    /// documents: for one, a warm instance when there is one, else a fresh
    /// one, which afterwards goes back to the pool unless the call trapped;
    /// for more, a fresh instance with the limits of that many calls. The
    /// result is checked against the output cap (`size`).
    fn call_instance<I, O>(
        &self,
        (ctx, documents): (&CallContext, u32),
        instantiate: impl FnOnce(&mut Store<Sandbox>) -> wasmtime::Result<I>,
        from_warm: impl FnOnce(WarmInstance) -> Option<I>,
        to_warm: impl FnOnce(I) -> WarmInstance,
        call: impl FnOnce(&I, &mut Store<Sandbox>) -> wasmtime::Result<Result<O, FaultKind>>,
        size: impl FnOnce(&O) -> usize,
    ) -> Result<(O, CallUsage), PluginFault> {
        let started = Instant::now();
        let budget = self.limits.times(documents);
        let reuse = documents == 1;
        let warm = if reuse { self.take_warm(ctx, &budget) } else { None };
        let (mut store, instance) = match warm.and_then(|(store, warm)| Some((store, from_warm(warm)?))) {
            Some((store, instance)) => (store, Ok(instance)),
            None => {
                let mut store = self.new_store(ctx);
                self.arm(&mut store, &budget);
                let instance = instantiate(&mut store);
                (store, instance)
            }
        };
        let result = instance.and_then(|instance| {
            let output = call(&instance, &mut store)?;
            Ok((instance, output))
        });
        let usage = self.usage(&store, started, &budget);
        match result {
            Err(e) => Err(self.fault(self.classify(&e, &store, &budget), usage)),
            Ok((instance, output)) => {
                if reuse {
                    self.put_warm(store, to_warm(instance));
                }
                match output {
                    Err(kind) => Err(self.fault(kind, usage)),
                    Ok(out) => {
                        self.check_output(size(&out), &budget).map_err(|k| self.fault(k, usage))?;
                        Ok((out, usage))
                    }
                }
            }
        }
    }

    /// An idle instance of this run, armed and reseeded for `ctx`'s
    /// document, when the plugin reuses instances and one is free. The
    /// as-of date is fixed into an instance's clocks: an instance made for
    /// another date (a server rendering for several) is not reused.
    fn take_warm(&self, ctx: &CallContext, budget: &Limits) -> Option<Warm> {
        let pool = self.warm.as_ref()?;
        let (mut store, instance) = pool.lock().unwrap_or_else(|e| e.into_inner()).pop()?;
        if store.data().as_of_date() != &*ctx.as_of {
            return None;
        }
        self.arm(&mut store, budget);
        store.data_mut().reseed(ctx.seed);
        Some((store, instance))
    }

    /// Keeps an instance whose call did not trap for the next document, when
    /// the plugin reuses instances.
    fn put_warm(&self, store: Store<Sandbox>, instance: WarmInstance) {
        if let Some(pool) = &self.warm {
            pool.lock().unwrap_or_else(|e| e.into_inner()).push((store, instance));
        }
    }

    /// Starts translating one source in a fresh instance that lives for the
    /// whole source; each `feed`/`finish` call gets the full per-call budget.
    pub fn translate(&self, ctx: &CallContext, source_name: &str) -> Result<TranslateSession<'_>, PluginFault> {
        self.open_translator(ctx, |instance, store| instance.open(store, source_name)).map(TranslateSession)
    }

    /// Starts translating the part of a source that begins at `start`, a cut
    /// its splitter returned ([`Plugin::split`]); the session is fed the
    /// bytes from `start.offset` to the next cut.
    pub fn translate_from(
        &self,
        ctx: &CallContext,
        source_name: &str,
        start: &Cut,
    ) -> Result<TranslateSession<'_>, PluginFault> {
        self.require_splitting()?;
        self.open_translator(ctx, |instance, store| instance.open_at(store, source_name, start)).map(TranslateSession)
    }

    /// Can this translator cut sources into shards (contract 0.3.0 and later)?
    pub fn can_split(&self) -> bool {
        matches!(&self.pre, Pre::Translator(_, true))
    }

    /// Starts finding the cuts of one source, wanting them at least
    /// `min_gap` bytes apart. Only for translators that [`Plugin::can_split`].
    pub fn split(&self, ctx: &CallContext, source_name: &str, min_gap: u64) -> Result<SplitSession<'_>, PluginFault> {
        self.require_splitting()?;
        let open = self.open_translator(ctx, |instance, store| instance.open_splitter(store, source_name, min_gap))?;
        Ok(SplitSession { open, last_offset: 0, fed: 0 })
    }

    fn require_splitting(&self) -> Result<(), PluginFault> {
        if let Pre::Translator(..) = &self.pre {
            if self.can_split() {
                return Ok(());
            }
            return Err(self.fault(
                FaultKind::Host {
                    message: format!(
                        "it targets {}, which cannot cut a source; splitting needs tessera:plugin@0.3.0 or later",
                        self.world()
                    ),
                },
                CallUsage::default(),
            ));
        }
        Err(self.wrong_kind(Kind::Translator))
    }

    /// A fresh translator instance with one resource opened in it.
    fn open_translator(
        &self,
        ctx: &CallContext,
        open: impl FnOnce(&dyn TranslatorInstance, &mut Store<Sandbox>) -> wasmtime::Result<ResourceAny>,
    ) -> Result<OpenResource<'_>, PluginFault> {
        let Pre::Translator(pre, _) = &self.pre else {
            return Err(self.wrong_kind(Kind::Translator));
        };
        let started = Instant::now();
        let mut store = self.new_store(ctx);
        self.arm(&mut store, &self.limits);
        let result = pre.instantiate(&mut store).and_then(|instance| {
            let resource = open(instance.as_ref(), &mut store)?;
            Ok((instance, resource))
        });
        let usage = self.usage(&store, started, &self.limits);
        match result {
            Ok((instance, resource)) => {
                Ok(OpenResource { plugin: self, store, instance, resource, usage, dead: false })
            }
            Err(e) => Err(self.fault(self.classify(&e, &store, &self.limits), usage)),
        }
    }
}

/// A translator instance with its session or splitter: every call is armed
/// with the full per-call budget, and the first fault ends it.
struct OpenResource<'p> {
    plugin: &'p Plugin,
    store: Store<Sandbox>,
    instance: Box<dyn TranslatorInstance>,
    resource: ResourceAny,
    usage: CallUsage,
    dead: bool,
}

impl OpenResource<'_> {
    /// One call; `checked` measures what the plugin returned against the
    /// output cap (and any rule of the contract), or says what it broke.
    fn call<T>(
        &mut self,
        f: impl FnOnce(&dyn TranslatorInstance, ResourceAny, &mut Store<Sandbox>) -> wasmtime::Result<T>,
        checked: impl FnOnce(&T) -> Result<usize, FaultKind>,
    ) -> Result<T, PluginFault> {
        let plugin = self.plugin;
        if self.dead {
            return Err(plugin.fault(FaultKind::Host { message: "the session already failed".into() }, self.usage));
        }
        let started = Instant::now();
        plugin.arm(&mut self.store, &plugin.limits);
        let result = f(self.instance.as_ref(), self.resource, &mut self.store);
        let store = &self.store;
        let usage = plugin.usage(store, started, &plugin.limits);
        self.usage.absorb(usage);
        let outcome = match result {
            Err(e) => Err(plugin.classify(&e, store, &plugin.limits)),
            Ok(value) => checked(&value).and_then(|size| plugin.check_output(size, &plugin.limits)).map(|()| value),
        };
        outcome.map_err(|kind| {
            self.dead = true;
            plugin.fault(kind, usage)
        })
    }

    fn close(mut self) -> CallUsage {
        let _ = self.resource.resource_drop(&mut self.store);
        self.usage
    }
}

fn outcomes_size(outcomes: &[TranslateOutcome]) -> Result<usize, FaultKind> {
    Ok(outcomes.iter().map(TranslateOutcome::size).sum())
}

/// One source (or one shard of it) being translated by one instance.
pub struct TranslateSession<'p>(OpenResource<'p>);

impl TranslateSession<'_> {
    /// Feeds a chunk; returns the records it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<TranslateOutcome>, PluginFault> {
        self.0.call(|instance, session, store| instance.feed(store, session, chunk), |o| outcomes_size(o))
    }

    /// Ends the source; returns the remaining records.
    pub fn finish(mut self) -> Result<(Vec<TranslateOutcome>, CallUsage), PluginFault> {
        let out = self.0.call(|instance, session, store| instance.finish(store, session), |o| outcomes_size(o))?;
        Ok((out, self.0.close()))
    }

    /// Fuel, memory and time used so far.
    pub fn usage(&self) -> CallUsage {
        self.0.usage
    }
}

/// One source being scanned for cuts by a translator's splitter. The cuts
/// it returns are checked against the contract: each after the one before
/// and never at 0, within the bytes fed so far, with at most
/// [`MAX_CUT_STATE`] bytes of state.
pub struct SplitSession<'p> {
    open: OpenResource<'p>,
    last_offset: u64,
    fed: u64,
}

impl SplitSession<'_> {
    /// Feeds a chunk; returns the cuts found so far.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Cut>, PluginFault> {
        self.fed += chunk.len() as u64;
        let (fed, last) = (self.fed, self.last_offset);
        let cuts = self.open.call(|i, s, store| i.split_feed(store, s, chunk), |cuts| check_cuts(cuts, last, fed))?;
        self.last_offset = cuts.last().map_or(last, |c| c.offset);
        Ok(cuts)
    }

    /// Ends the source; returns the cuts still pending.
    pub fn finish(mut self) -> Result<(Vec<Cut>, CallUsage), PluginFault> {
        let (fed, last) = (self.fed, self.last_offset);
        let cuts = self.open.call(|i, s, store| i.split_finish(store, s), |cuts| check_cuts(cuts, last, fed))?;
        Ok((cuts, self.open.close()))
    }
}

/// The contract's rules for cuts; the bytes they count against the output cap.
fn check_cuts(cuts: &[Cut], mut last: u64, fed: u64) -> Result<usize, FaultKind> {
    let broke = |message: String| Err(FaultKind::Host { message: format!("splitter broke the contract: {message}") });
    let mut size = 0;
    for c in cuts {
        if c.offset <= last {
            return broke(format!("cut at byte {} does not come after the previous one (byte {last})", c.offset));
        }
        if c.offset >= fed {
            return broke(format!("cut at byte {} is beyond the {fed} bytes fed so far", c.offset));
        }
        if c.state.len() > MAX_CUT_STATE {
            return broke(format!(
                "cut at byte {} carries {} bytes of state; at most {MAX_CUT_STATE}",
                c.offset,
                c.state.len()
            ));
        }
        last = c.offset;
        size += c.state.len() + 16;
    }
    Ok(size)
}
