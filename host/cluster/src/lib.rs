//! # tessera-cluster: one run across many machines, on NATS JetStream
//!
//! The coordinator (`tessera batch … --cluster URL`) cuts the source into
//! shards as a local run does and publishes each one; workers (`tessera
//! worker --nats URL`) pull shards, render them with the local pipeline's
//! stages and publish the results; the coordinator numbers and commits the
//! results in shard order, so the run's folder is a local run's, byte for
//! byte ([`tessera_pipeline::remote`]).
//!
//! - [`layout`]: the streams, consumer and object stores, and their names.
//! - [`coordinator`]: [`coordinator::NatsExchange`], the run's side.
//! - [`worker`]: the workers' loop.
//!
//! Exactly once comes from the coordinator, not from acks: a worker acks a
//! shard only once its result is stored, the server may still deliver a
//! shard twice (a slow worker, a worker killed after storing), and the
//! coordinator takes the first result per shard and ignores the rest.

pub mod coordinator;
pub mod layout;
pub mod worker;

use serde::{Deserialize, Serialize};

/// What went wrong talking to NATS, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Connecting to the server.
    #[error("cannot connect to NATS at {url}: {message}")]
    Connect {
        /// The server's URL.
        url: String,
        /// The client's error.
        message: String,
    },
    /// Setting up a stream, consumer or bucket.
    #[error("cannot set up {what} on the NATS server (is JetStream enabled, `nats-server -js`?): {message}")]
    Setup {
        /// What.
        what: String,
        /// The server's answer.
        message: String,
    },
    /// A message or object could not be sent or read.
    #[error("{what}: {message}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        message: String,
    },
}

impl ClusterError {
    /// A setup error about `what`.
    pub(crate) fn setup<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> ClusterError + '_ {
        move |e| ClusterError::Setup { what: what.to_owned(), message: e.to_string() }
    }

    /// An I/O error while doing `what`.
    pub(crate) fn io<E: std::fmt::Display>(what: impl Into<String>) -> impl FnOnce(E) -> ClusterError {
        let what = what.into();
        move |e| ClusterError::Io { what, message: e.to_string() }
    }
}

/// A worker's notice that shard `index` of a run is rendered: where its
/// result frame is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResultNotice {
    /// The run.
    pub run: String,
    /// The shard.
    pub index: u64,
    /// sha256 of the shard's bytes it was rendered from.
    pub sha256: String,
    /// The object in the results bucket holding the frame.
    pub object: String,
    /// Who rendered it.
    pub worker: String,
}

/// A worker's note to a run's operator: it did not render a shard, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Note {
    /// The shard.
    pub index: u64,
    /// The worker.
    pub worker: String,
    /// Why.
    pub reason: String,
}

/// Connects to `url` (a `nats://` URL or `host:port`).
pub async fn connect(url: &str, name: &str) -> Result<async_nats::Client, ClusterError> {
    async_nats::ConnectOptions::new()
        .name(name)
        .connect(url)
        .await
        .map_err(|e| ClusterError::Connect { url: url.to_owned(), message: e.to_string() })
}

/// How long an operation is retried while the server is unreachable.
const RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs `attempt` until it succeeds, waiting longer between tries (up to
/// two seconds), for at most a minute: a server that restarts comes back
/// within that, and the client reconnects by itself.
pub(crate) async fn retrying<T, F, Fut>(what: &str, mut attempt: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let started = tokio::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(100);
    loop {
        match attempt().await {
            Ok(done) => return Ok(done),
            Err(e) if started.elapsed() >= RETRY_FOR => return Err(format!("{what}: {e}")),
            Err(e) => {
                tracing::warn!("{what}: {e}; trying again in {} ms", pause.as_millis());
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_secs(2));
            }
        }
    }
}
