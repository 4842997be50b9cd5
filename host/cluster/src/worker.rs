//! A worker: pulls shards of the tenants it serves, renders each with the
//! local pipeline's stages ([`tessera_pipeline::render_shard`]) and
//! publishes the result.
//!
//! - It asks for exactly as many shards as it has free slots: a pull that
//!   buffers more would let shards wait in this process while their ack
//!   wait runs out, and be delivered to a second worker for nothing.
//! - While a shard renders, it tells the server every third of the ack wait
//!   that the shard is in progress.
//! - It acks a shard only after the result frame is in the results bucket
//!   and its notice in the results stream (the server's publish ack): a
//!   worker killed before that leaves the shard to be delivered again.
//! - A shard it must not render (another content revision, another plugin
//!   build) is refused with a note to the run's operator and handed back
//!   with a delay, for a worker that can; the worker then leaves that
//!   tenant's shards alone for an ack wait, so that its refusals do not use
//!   up the deliveries a shard has.
//! - Asked to stop, it takes no new shard and finishes those it holds.

use crate::layout::{self, Layout, Settings};
use crate::metrics::{ShardOutcome, WorkerMetrics};
use crate::{ClusterError, Note, ResultNotice};
use async_nats::jetstream::{self, AckKind};
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tessera_pipeline::LoadedTenant;
use tessera_pipeline::remote::{ShardResult, ShardTask, encode_result_into};
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;

/// How long a refused or failed shard waits before it is delivered again.
const REDELIVERY_DELAY: Duration = Duration::from_secs(1);

/// A worker's settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The NATS server.
    pub url: String,
    /// This worker's name in results and notes (host and process id).
    pub name: String,
    /// Shards rendered at once (default: one per core).
    pub slots: usize,
    /// The consumer's ack wait and bounds.
    pub settings: Settings,
}

/// What a worker did, when it stops.
#[derive(Debug, Default)]
pub struct WorkerSummary {
    /// Shards rendered and published.
    pub rendered: u64,
    /// Shards refused.
    pub refused: u64,
}

/// Serves `tenants` until `stop` is set; returns what it did. With
/// `metrics`, a listener bound by the caller, it serves its counters at
/// `GET /metrics` there ([`crate::metrics`]).
pub fn run_worker(
    config: &WorkerConfig,
    tenants: Vec<Arc<LoadedTenant>>,
    stop: Arc<AtomicBool>,
    metrics: Option<std::net::TcpListener>,
) -> Result<WorkerSummary, ClusterError> {
    let runtime = crate::client_runtime()?;
    let counters = Arc::new(WorkerMetrics::default());
    runtime.block_on(async {
        if let Some(listener) = metrics {
            crate::metrics::serve(listener, Arc::clone(&counters))
                .await
                .map_err(ClusterError::io("serving the worker's metrics"))?;
        }
        serve(config, tenants, stop, counters).await
    })
}

/// Tenants a worker does not ask shards of, until when.
type Paused = Arc<std::sync::Mutex<BTreeMap<String, tokio::time::Instant>>>;

/// The big buffers of one shard: its files' bytes, its result's header
/// and its result frame,
/// kept for the next shard (tens of megabytes the allocator would
/// otherwise return to the kernel and fault back in, zeroed, every time).
#[derive(Default)]
struct Buffers {
    files: Vec<u8>,
    header: Vec<u8>,
    frame: Vec<u8>,
}

/// Buffers not in use.
type BufferPool = Arc<std::sync::Mutex<Vec<Buffers>>>;

/// Counters the shard tasks update.
#[derive(Default)]
struct Counts {
    rendered: AtomicU64,
    refused: AtomicU64,
}

async fn serve(
    config: &WorkerConfig,
    tenants: Vec<Arc<LoadedTenant>>,
    stop: Arc<AtomicBool>,
    metrics: Arc<WorkerMetrics>,
) -> Result<WorkerSummary, ClusterError> {
    let client = crate::connect(&config.url, &format!("tessera-worker {}", config.name)).await?;
    let js = jetstream::new(client.clone());
    let layout = Arc::new(Layout::ensure(&js, &config.settings).await?);
    let mut consumers = Vec::new();
    let mut by_id = BTreeMap::new();
    for loaded in tenants {
        let id = loaded.tenant.config.id.clone();
        let consumer = layout.workers(&layout::token(&id), &config.settings, false).await?;
        // The consumer's ack wait is what counts (a coordinator may have
        // set another): in-progress acks go out at a third of it.
        let ack_wait = consumer.cached_info().config.ack_wait;
        consumers.push((id.clone(), consumer, ack_wait));
        by_id.insert(id, loaded);
    }
    let by_id = Arc::new(by_id);
    let slots = config.slots.max(1);
    let permits = Arc::new(Semaphore::new(slots));
    // Results being stored, at most one per slot: a slot renders the next
    // shard while the last one's result goes to the server.
    let storing = Arc::new(Semaphore::new(slots));
    let counts = Arc::new(Counts::default());
    let paused: Paused = Arc::default();
    let buffers: BufferPool = Arc::default();
    while !stop.load(Ordering::Relaxed) {
        let now = tokio::time::Instant::now();
        let open = |tenant: &str| {
            paused.lock().unwrap_or_else(|e| e.into_inner()).get(tenant).is_none_or(|until| *until <= now)
        };
        if !consumers.iter().any(|(tenant, ..)| open(tenant)) {
            tokio::time::sleep(REDELIVERY_DELAY).await;
            continue;
        }
        for (tenant, consumer, ack_wait) in &consumers {
            if !open(tenant) {
                continue;
            }
            let free = permits.available_permits();
            if free == 0 {
                // Wait for a slot, then ask again.
                drop(permits.acquire().await);
                break;
            }
            let batch = consumer.fetch().max_messages(free).expires(Duration::from_millis(500)).messages().await;
            let mut batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!("asking for shards: {e}");
                    tokio::time::sleep(REDELIVERY_DELAY).await;
                    continue;
                }
            };
            while let Some(message) = batch.next().await {
                let message = match message {
                    Ok(message) => message,
                    Err(e) => {
                        tracing::warn!("receiving a shard: {e}");
                        continue;
                    }
                };
                let permit = Arc::clone(&permits).acquire_owned().await.expect("the semaphore is never closed");
                let shard = Shard {
                    message: Arc::new(message),
                    client: client.clone(),
                    js: js.clone(),
                    layout: Arc::clone(&layout),
                    tenants: Arc::clone(&by_id),
                    worker: config.name.clone(),
                    ack_wait: *ack_wait,
                    counts: Arc::clone(&counts),
                    metrics: Arc::clone(&metrics),
                    buffers: Arc::clone(&buffers),
                    paused: Arc::clone(&paused),
                    slot: std::sync::Mutex::new(Some(permit)),
                    storing: Arc::clone(&storing),
                };
                tokio::spawn(shard.handle());
            }
        }
    }
    // Every shard taken is finished (and acked) before the worker goes.
    drop(permits.acquire_many(slots as u32).await);
    drop(storing.acquire_many(slots as u32).await);
    Ok(WorkerSummary {
        rendered: counts.rendered.load(Ordering::Relaxed),
        refused: counts.refused.load(Ordering::Relaxed),
    })
}

/// One delivered shard and what handling it needs.
struct Shard {
    message: Arc<jetstream::Message>,
    client: async_nats::Client,
    js: jetstream::Context,
    layout: Arc<Layout>,
    tenants: Arc<BTreeMap<String, Arc<LoadedTenant>>>,
    worker: String,
    /// The consumer's ack wait.
    ack_wait: Duration,
    counts: Arc<Counts>,
    metrics: Arc<WorkerMetrics>,
    buffers: BufferPool,
    /// Tenants this worker stepped back from after a refusal, until when.
    paused: Paused,
    /// Its rendering slot, given back once it is rendered.
    slot: std::sync::Mutex<Option<tokio::sync::OwnedSemaphorePermit>>,
    /// The slots for storing results.
    storing: Arc<Semaphore>,
}

impl Shard {
    async fn handle(self) {
        let task: ShardTask = match serde_json::from_slice(&self.message.payload) {
            Ok(task) => task,
            Err(e) => {
                tracing::error!("a shard message that is no shard task ({e}); it is dropped");
                let _ = self.message.ack_with(AckKind::Term).await;
                return;
            }
        };
        let delivered = self.message.info().map_or(1, |info| info.delivered);
        self.metrics.taken(&task.tenant, delivered);
        match self.render(&task).await {
            Ok(()) => {
                self.counts.rendered.fetch_add(1, Ordering::Relaxed);
                self.metrics.finished(&task.tenant, ShardOutcome::Rendered);
            }
            Err(Refusal(reason)) => {
                self.counts.refused.fetch_add(1, Ordering::Relaxed);
                self.metrics.finished(&task.tenant, ShardOutcome::Refused);
                tracing::warn!("did not render shard {} of run {}: {reason}", task.index, task.run);
                // This worker steps back from the tenant for an ack wait,
                // so that its refusals do not use up the deliveries of
                // shards a worker with the run's inputs could render.
                self.paused
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(task.tenant.clone(), tokio::time::Instant::now() + self.ack_wait);
                let note = Note { index: task.index, worker: self.worker.clone(), reason };
                let payload = serde_json::to_vec(&note).expect("a note serialises");
                let _ = self.client.publish(layout::note_subject(&task.run), payload.into()).await;
                let _ = self.message.ack_with(AckKind::Nak(Some(REDELIVERY_DELAY))).await;
            }
        }
    }

    /// Renders, stores the result and acks; a refusal says why not.
    async fn render(&self, task: &ShardTask) -> Result<(), Refusal> {
        let loaded = self
            .tenants
            .get(&task.tenant)
            .cloned()
            .ok_or_else(|| Refusal(format!("this worker does not serve tenant {}", task.tenant)))?;
        let started = std::time::Instant::now();
        // The server hears that the shard is in progress until it is
        // stored or handed back, whatever ends this function.
        let (message, every) = (Arc::clone(&self.message), self.ack_wait / 3);
        let _progress = AbortOnDrop(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let _ = message.ack_with(AckKind::Progress).await;
            }
        }));
        let object = layout::shard_object(&task.run, task.index);
        let mut stored =
            self.layout.shard_bytes.get(&object).await.map_err(|e| Refusal(format!("shard bytes {object}: {e}")))?;
        let mut packed = Vec::with_capacity(stored.info.size);
        stored.read_to_end(&mut packed).await.map_err(|e| Refusal(format!("reading shard bytes {object}: {e}")))?;
        let bytes = layout::unpack_shard(&packed, task.to.saturating_sub(task.from))
            .map_err(|e| Refusal(format!("shard bytes {object}: {e}")))?;
        drop(packed);
        let (owned, worker) = (task.clone(), self.worker.clone());
        let mut buffers = self.buffers.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or_default();
        let rendered = tokio::task::spawn_blocking(move || {
            let files = std::mem::take(&mut buffers.files);
            tessera_pipeline::render_shard_into(&loaded, &owned, &bytes, &worker, files).map(|(result, files)| {
                buffers.files = files;
                (result, buffers)
            })
        })
        .await;
        let stored = match rendered {
            Ok(Ok((result, buffers))) => {
                // The rendering slot goes to the next shard now: this
                // result is encoded (LZ4, most of it) and stored beside
                // that rendering, the shard unacked until it is stored.
                let storing = Arc::clone(&self.storing).acquire_owned().await.expect("the semaphore is never closed");
                drop(self.slot.lock().unwrap_or_else(|e| e.into_inner()).take());
                let stored = self.encode_and_store(task, result, buffers, started).await;
                drop(storing);
                stored
            }
            Ok(Err(refusal)) => Err(refusal),
            Err(panic) => Err(format!("the worker failed while rendering it: {panic}")),
        };
        stored.map_err(Refusal)?;
        if let Err(e) = self.message.double_ack().await {
            // The result is stored: a second delivery is rendered again
            // and its result ignored by the run.
            tracing::warn!("shard {} of run {}: the server did not confirm the ack ({e})", task.index, task.run);
        }
        Ok(())
    }

    /// Encodes a rendered shard's result into its buffers and stores it;
    /// the buffers go back to the worker's pool either way.
    async fn encode_and_store(
        &self,
        task: &ShardTask,
        result: ShardResult,
        mut buffers: Buffers,
        started: std::time::Instant,
    ) -> Result<(), String> {
        let documents = result.outcomes.len() as u64;
        let (len, buffers) = tokio::task::spawn_blocking(move || {
            let len = encode_result_into(&result, &buffers.files, &mut buffers.header, &mut buffers.frame);
            (len, buffers)
        })
        .await
        .map_err(|panic| format!("the worker failed while encoding its result: {panic}"))?;
        let frame = &buffers.frame[..len];
        self.metrics.rendered(&task.tenant, documents, frame.len() as u64, started.elapsed());
        let storing_since = std::time::Instant::now();
        let stored = crate::retrying("storing the result", || self.store(task, frame)).await;
        self.metrics.stored(&task.tenant, storing_since.elapsed());
        self.buffers.lock().unwrap_or_else(|e| e.into_inner()).push(buffers);
        stored
    }

    /// Puts the frame in the results bucket and its notice in the stream.
    async fn store(&self, task: &ShardTask, frame: &[u8]) -> Result<(), String> {
        let object = format!("{}.{}.{}", task.run, task.index, layout::token(&self.worker));
        self.layout
            .put(&self.layout.result_frames, &object, frame)
            .await
            .map_err(|e| format!("storing the result in bucket {}: {e}", layout::RESULTS_BUCKET))?;
        let notice = ResultNotice {
            run: task.run.clone(),
            index: task.index,
            sha256: task.sha256.clone(),
            object,
            worker: self.worker.clone(),
        };
        let payload = serde_json::to_vec(&notice).expect("a notice serialises");
        self.js
            .publish(layout::result_subject(&task.run), payload.into())
            .await
            .map_err(|e| format!("publishing the result notice: {e}"))?
            .await
            .map_err(|e| format!("publishing the result notice (no ack from the server): {e}"))?;
        Ok(())
    }
}

/// Why a worker did not finish a shard (it is delivered again).
struct Refusal(String);

/// Stops a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl From<String> for Refusal {
    fn from(reason: String) -> Refusal {
        Refusal(reason)
    }
}

/// This worker's name: the host's and the process id.
pub fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}", std::process::id())
}
