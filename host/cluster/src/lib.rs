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
//! - [`worker`]: the workers' loop; [`metrics`]: its counters at `/metrics`.
//! - [`server`]: a NATS server of our own, for tests and benchmarks.
//!
//! Exactly once comes from the coordinator, not from acks: a worker acks a
//! shard only once its result is stored, the server may still deliver a
//! shard twice (a slow worker, a worker killed after storing), and the
//! coordinator takes the first result per shard and ignores the rest.

pub mod coordinator;
pub mod layout;
pub mod metrics;
pub mod server;
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

/// Connects to `url` (a `nats://` URL or `host:port`). Credentials come
/// from the environment, never from the command line (where `ps` shows
/// them): `TESSERA_NATS_TOKEN`, or `TESSERA_NATS_USER` and
/// `TESSERA_NATS_PASSWORD`, or a credentials file `TESSERA_NATS_CREDS`.
pub async fn connect(url: &str, name: &str) -> Result<async_nats::Client, ClusterError> {
    let env = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
    let shown = redacted(url);
    let mut options = async_nats::ConnectOptions::new();
    if let Some(token) = env("TESSERA_NATS_TOKEN") {
        options = options.token(token);
    } else if let (Some(user), Some(password)) = (env("TESSERA_NATS_USER"), env("TESSERA_NATS_PASSWORD")) {
        options = options.user_and_password(user, password);
    } else if let Some(creds) = env("TESSERA_NATS_CREDS") {
        options = options.credentials_file(&creds).await.map_err(|e| ClusterError::Connect {
            url: shown.clone(),
            message: format!("credentials file {creds}: {e}"),
        })?;
    }
    options
        .name(name)
        .connect(url)
        .await
        .map_err(|e| ClusterError::Connect { url: shown, message: redacted(&e.to_string()) })
}

/// `url` without the user and password a `nats://user:pass@host` URL may
/// carry, for messages and logs.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…@{}", &url[..scheme], &url[at + 1..]),
        (None, Some(at)) => format!("…@{}", &url[at + 1..]),
        _ => url.to_owned(),
    }
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

/// The runtime the NATS client and its tasks run on (coordinator and
/// worker alike): two threads, which keep up with a broker on loopback.
pub(crate) fn client_runtime() -> Result<tokio::runtime::Runtime, ClusterError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tessera-nats")
        .enable_all()
        .build()
        .map_err(ClusterError::io("starting the NATS client's runtime"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_in_a_url_are_never_shown() {
        assert_eq!(super::redacted("nats://alice:s3cret@nats.internal:4222"), "nats://…@nats.internal:4222");
        assert_eq!(super::redacted("bob:pw@10.0.0.1:4222"), "…@10.0.0.1:4222");
        assert_eq!(super::redacted("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
    }
}
