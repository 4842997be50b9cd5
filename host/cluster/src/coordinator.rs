//! The run's side of a cluster run: [`NatsExchange`] publishes shards and
//! hands their results to the pipeline, which numbers and commits them in
//! shard order ([`tessera_pipeline::remote`]).
//!
//! - A shard is its bytes in the shards bucket and one message on the work
//!   queue, with message id `<run>.<index>`: published again (a resumed
//!   run), the server drops it as a duplicate.
//! - Shards are stored and published by a task of their own, in order, so
//!   the run cuts the next shard and numbers results meanwhile; a shard the
//!   server would not take ends the run at its next result.
//! - Results are read with an ordered consumer from the start of the run's
//!   subject, so a resumed coordinator also gets the results its first
//!   attempt never committed; the pipeline takes the first per shard. A
//!   result's frame is fetched and decoded as soon as its notice comes (up
//!   to [`PREFETCHED_RESULTS`] at once; beyond that, when the run gets to
//!   its shard), so the run rarely waits for the broker.
//! - A shard that reached its maximum deliveries (a worker dies on it every
//!   time) is announced by the server's advisory; it becomes a result with
//!   a fault, which the run writes as the rejection of that shard's records,
//!   naming the shard's bytes, the translator and the limit.
//! - Workers' refusals arrive as notes for the operator; the last one for a
//!   shard that is given up is in its rejection.

use crate::layout::{self, Layout, Settings};
use crate::{ClusterError, Note, ResultNotice};
use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tessera_pipeline::Stage;
use tessera_pipeline::remote::{
    Arrival, FrameBuffer, ReadResult, RemoteFault, ShardExchange, ShardResult, ShardTask, decode_result,
};
use tokio::io::AsyncReadExt;

/// What the background tasks hand to [`ShardExchange::receive`].
type Received = Result<Arrival, String>;

/// Result frames fetched ahead of the run: enough for every shard in
/// flight and a few duplicates; a resumed run's backlog beyond that is read
/// when the run gets to it, so memory stays bounded.
pub const PREFETCHED_RESULTS: usize = 32;

/// A shard waiting to be stored and published.
type Outgoing = (ShardTask, Vec<u8>);

/// Shards and results of one run over NATS JetStream.
pub struct NatsExchange {
    runtime: tokio::runtime::Runtime,
    layout: Layout,
    run: String,
    tenant: String,
    received: Mutex<mpsc::Receiver<Received>>,
    /// Shards for the publishing task.
    outgoing: tokio::sync::mpsc::UnboundedSender<Outgoing>,
    /// Each published shard by its stream sequence, for the advisories.
    sent: Arc<Mutex<BTreeMap<u64, ShardTask>>>,
    progress: Arc<Progress>,
}

/// What the operator's progress line shows.
#[derive(Default)]
pub struct Progress {
    /// Results received (duplicates included).
    pub results: AtomicU64,
    /// Workers that sent a result.
    pub workers: Mutex<BTreeSet<String>>,
    /// Shards published.
    pub published: AtomicU64,
}

impl NatsExchange {
    /// Connects to `url` and sets up run `run` of `tenant`.
    pub fn connect(url: &str, tenant: &str, run: &str, settings: Settings) -> Result<NatsExchange, ClusterError> {
        let runtime = crate::client_runtime()?;
        let (tx, rx) = mpsc::channel::<Received>();
        let sent: Arc<Mutex<BTreeMap<u64, ShardTask>>> = Arc::default();
        let progress: Arc<Progress> = Arc::default();
        let (js, layout) = runtime.block_on(async {
            let client = crate::connect(url, "tessera-coordinator").await?;
            let js = jetstream::new(client.clone());
            let layout = Layout::ensure(&js, &settings).await?;
            // The consumer exists before the first shard does.
            layout.workers(&layout::token(tenant), &settings, true).await?;
            let results = layout
                .results
                .create_consumer(consumer::pull::OrderedConfig {
                    filter_subject: layout::result_subject(run),
                    deliver_policy: consumer::DeliverPolicy::All,
                    ..Default::default()
                })
                .await
                .map_err(ClusterError::setup("the run's result consumer"))?;
            let mut messages = results.messages().await.map_err(ClusterError::setup("the run's results"))?;
            let frames = layout.result_frames.clone();
            let (results_tx, results_progress) = (tx.clone(), Arc::clone(&progress));
            let handle = tokio::runtime::Handle::current();
            let prefetch = Arc::new(tokio::sync::Semaphore::new(PREFETCHED_RESULTS));
            tokio::spawn(async move {
                while let Some(message) = messages.next().await {
                    let notice = match message.map(|m| serde_json::from_slice::<ResultNotice>(&m.payload)) {
                        Ok(Ok(notice)) => notice,
                        Ok(Err(e)) => {
                            tracing::warn!("a result notice that does not parse: {e}");
                            continue;
                        }
                        Err(e) => {
                            tracing::warn!("reading result notices: {e}");
                            continue;
                        }
                    };
                    results_progress.results.fetch_add(1, Ordering::Relaxed);
                    results_progress.workers.lock().unwrap_or_else(|e| e.into_inner()).insert(notice.worker.clone());
                    let read: ReadResult = match Arc::clone(&prefetch).try_acquire_owned() {
                        Ok(permit) => {
                            let (frame_tx, frame_rx) = mpsc::sync_channel(1);
                            let (frames, notice) = (frames.clone(), notice.clone());
                            tokio::spawn(async move {
                                let read = read_result(&frames, &notice).await;
                                // The permit goes when the run has taken the result.
                                let _ = frame_tx.send((read, permit));
                            });
                            Box::new(move || match frame_rx.recv() {
                                Ok((read, _permit)) => read,
                                Err(_) => Err("the result's reader stopped".into()),
                            })
                        }
                        Err(_) => {
                            let (frames, handle, notice) = (frames.clone(), handle.clone(), notice.clone());
                            Box::new(move || handle.block_on(read_result(&frames, &notice)))
                        }
                    };
                    let arrival = Arrival {
                        run: notice.run,
                        index: notice.index,
                        sha256: notice.sha256,
                        worker: notice.worker,
                        read,
                    };
                    if results_tx.send(Ok(arrival)).is_err() {
                        break;
                    }
                }
            });
            let mut notes =
                client.subscribe(layout::note_subject(run)).await.map_err(ClusterError::setup("the run's notes"))?;
            let last_refusals = Arc::new(Mutex::new(BTreeMap::<u64, String>::new()));
            let refusals = Arc::clone(&last_refusals);
            tokio::spawn(async move {
                while let Some(note) = notes.next().await {
                    let Ok(note) = serde_json::from_slice::<Note>(&note.payload) else { continue };
                    eprintln!(
                        "tessera cluster: worker {} did not render shard {}: {}",
                        note.worker, note.index, note.reason
                    );
                    let why = format!("worker {} did not render it: {}", note.worker, note.reason);
                    refusals.lock().unwrap_or_else(|e| e.into_inner()).insert(note.index, why);
                }
            });
            let mut advisories = client
                .subscribe(layout::max_deliveries_advisory(&layout::token(tenant)))
                .await
                .map_err(ClusterError::setup("the max-deliveries advisories"))?;
            let (advisory_tx, advisory_sent, shards) = (tx.clone(), Arc::clone(&sent), layout.shards.clone());
            let max_deliver = settings.max_deliver;
            tokio::spawn(async move {
                while let Some(advisory) = advisories.next().await {
                    let Some(seq) = advisory_sequence(&advisory.payload) else { continue };
                    let task = advisory_sent.lock().unwrap_or_else(|e| e.into_inner()).get(&seq).cloned();
                    let Some(task) = task else { continue };
                    // Nobody will ever ack it: out of the work queue.
                    let _ = shards.delete_message(seq).await;
                    let last = last_refusals.lock().unwrap_or_else(|e| e.into_inner()).get(&task.index).cloned();
                    let result = given_up(&task, max_deliver, last.as_deref());
                    if advisory_tx.send(Ok(Arrival::ready(result, FrameBuffer::default()))).is_err() {
                        break;
                    }
                }
            });
            Ok::<_, ClusterError>((js, layout))
        })?;
        let (outgoing, mut queue) = tokio::sync::mpsc::unbounded_channel::<Outgoing>();
        let publisher = Publisher {
            js: js.clone(),
            layout: layout.clone(),
            run: run.to_owned(),
            tenant: layout::token(tenant),
            sent: Arc::clone(&sent),
        };
        let (failed, published) = (tx, Arc::clone(&progress));
        runtime.spawn(async move {
            while let Some((task, bytes)) = queue.recv().await {
                // A server restarting is waited for: the client reconnects,
                // and the shard is stored and published again (the message
                // id makes a second copy a duplicate the server drops).
                let what = format!("publishing shard {}", task.index);
                let packed = layout::pack_shard(&bytes);
                drop(bytes);
                if let Err(e) = crate::retrying(&what, || publisher.publish(&task, &packed)).await {
                    let _ = failed.send(Err(e));
                    break;
                }
                published.published.fetch_add(1, Ordering::Relaxed);
            }
        });
        Ok(NatsExchange {
            runtime,
            layout,
            run: run.to_owned(),
            tenant: layout::token(tenant),
            received: Mutex::new(rx),
            outgoing,
            sent,
            progress,
        })
    }

    /// Deliveries the tenant's consumer has made so far, redeliveries
    /// included (its consumer sequence): what a benchmark counts.
    pub fn deliveries(&self) -> Result<u64, ClusterError> {
        self.runtime.block_on(async {
            let info = self
                .layout
                .shards
                .consumer_info(layout::consumer_name(&self.tenant))
                .await
                .map_err(ClusterError::io("reading the workers' consumer"))?;
            Ok(info.delivered.consumer_sequence)
        })
    }

    /// Shards published, results received and workers seen so far.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Removes the run's shard bytes and result frames from the buckets
    /// and its notices from the results stream (after the run committed).
    pub fn finish(&self) -> Result<(), ClusterError> {
        self.runtime.block_on(async {
            let tasks: Vec<u64> =
                self.sent.lock().unwrap_or_else(|e| e.into_inner()).values().map(|t| t.index).collect();
            for index in tasks {
                let _ = self.layout.shard_bytes.delete(layout::shard_object(&self.run, index)).await;
            }
            let mut frames =
                self.layout.result_frames.list().await.map_err(ClusterError::io("listing result frames"))?;
            let prefix = format!("{}.", self.run);
            let mut names = Vec::new();
            while let Some(info) = frames.next().await {
                if let Ok(info) = info
                    && info.name.starts_with(&prefix)
                {
                    names.push(info.name);
                }
            }
            for name in names {
                let _ = self.layout.result_frames.delete(&name).await;
            }
            self.layout
                .results
                .purge()
                .filter(layout::result_subject(&self.run))
                .await
                .map_err(ClusterError::io("purging the run's result notices"))?;
            Ok(())
        })
    }
}

impl ShardExchange for NatsExchange {
    fn dispatch(&self, task: ShardTask, bytes: Vec<u8>) -> Result<(), String> {
        // The publishing task stores and publishes it; if the server never
        // takes it, the task says so through `receive`.
        self.outgoing.send((task, bytes)).map_err(|_| "the shard publisher stopped".to_owned())
    }

    fn receive(&self) -> Result<Option<Arrival>, String> {
        let received = self.received.lock().unwrap_or_else(|e| e.into_inner()).recv();
        match received {
            Ok(arrival) => arrival.map(Some),
            Err(_) => Ok(None),
        }
    }

    fn note(&self, message: &str) {
        eprintln!("tessera cluster: {message}");
    }
}

/// Stores and publishes shards, one after the other, for a run.
struct Publisher {
    js: jetstream::Context,
    layout: Layout,
    run: String,
    tenant: String,
    sent: Arc<Mutex<BTreeMap<u64, ShardTask>>>,
}

impl Publisher {
    /// Stores shard `task`'s bytes ([`layout::pack_shard`]) and publishes its task, once.
    async fn publish(&self, task: &ShardTask, packed: &[u8]) -> Result<(), String> {
        let object = layout::shard_object(&self.run, task.index);
        self.layout
            .put(&self.layout.shard_bytes, &object, packed)
            .await
            .map_err(|e| format!("storing its bytes in bucket {}: {e}", layout::SHARDS_BUCKET))?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, format!("{}.{}", self.run, task.index).as_str());
        let payload = serde_json::to_vec(task).expect("a shard task serialises");
        let ack = self
            .js
            .publish_with_headers(layout::shard_subject(&self.tenant), headers, payload.into())
            .await
            .map_err(|e| e.to_string())?
            .await
            .map_err(|e| format!("no ack from the server: {e}"))?;
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).insert(ack.sequence, task.clone());
        Ok(())
    }
}

/// Reads the frame a result notice points to (waiting out a server restart).
async fn read_result(
    frames: &jetstream::object_store::ObjectStore,
    notice: &ResultNotice,
) -> Result<(ShardResult, FrameBuffer), String> {
    let what = format!("reading result {} of worker {}", notice.object, notice.worker);
    let frame = crate::retrying(&what, || async {
        let mut object = frames.get(&notice.object).await.map_err(|e| e.to_string())?;
        // Sized up front: grown by doubling, a frame of megabytes is copied
        // and its fresh pages zeroed several times over.
        let mut frame = FrameBuffer::with_capacity(object.info.size);
        object.read_to_end(frame.as_mut_vec()).await.map_err(|e| e.to_string())?;
        Ok(frame)
    })
    .await?;
    let (result, files) = decode_result(&frame).map_err(|e| format!("result of worker {}: {e}", notice.worker))?;
    Ok((result, files))
}

/// The stream sequence a max-deliveries advisory is about.
fn advisory_sequence(payload: &[u8]) -> Option<u64> {
    serde_json::from_slice::<serde_json::Value>(payload).ok()?.get("stream_seq")?.as_u64()
}

/// The result of a shard no worker finished: one fault for all its bytes.
/// `last_refusal`: why the last worker that said so did not render it.
fn given_up(task: &ShardTask, max_deliver: i64, last_refusal: Option<&str>) -> ShardResult {
    ShardResult {
        run: task.run.clone(),
        index: task.index,
        sha256: task.sha256.clone(),
        worker: "the NATS server".into(),
        fault: Some(RemoteFault {
            stage: Stage::Translate,
            // The run names its translator (`id@version`).
            plugin: None,
            limit: Some(format!("max deliveries ({max_deliver})")),
            reason: match last_refusal {
                None => format!(
                    "shard {} was delivered to workers {max_deliver} times and none finished it \
                     (each died or hung on it); it is not delivered again",
                    task.index
                ),
                Some(why) => format!(
                    "shard {} was delivered to workers {max_deliver} times and none rendered it (the last: {why}); \
                     it is not delivered again",
                    task.index
                ),
            },
            offset: task.from,
        }),
        ..Default::default()
    }
}
