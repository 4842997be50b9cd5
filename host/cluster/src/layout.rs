//! Where a run lives in JetStream: the streams, the workers' consumers and
//! the object stores, their names, and setting them up (idempotently: the
//! coordinator and every worker call [`Layout::ensure`] with the same
//! settings).
//!
//! ```text
//! tessera.shard.<tenant>      stream TESSERA_SHARDS (work queue, file)   one message per shard: its task (JSON),
//!                                                                         message id <run>.<index>
//! bucket tessera-shards       object <run>.<index>                        the shard's source bytes
//! tessera.result.<run>        stream TESSERA_RESULTS (limits, file)      one notice per rendered shard
//! bucket tessera-results      object <run>.<index>.<worker>              the result frame (header + files)
//! tessera.note.<run>          core NATS                                   refusals and failures, for the operator
//! ```
//!
//! Shard bytes and results go to object stores, not into messages: a shard
//! is megabytes and its result tens of megabytes, above a server's default
//! 1 MB message limit, and the object store chunks them for us.

use crate::ClusterError;
use async_nats::jetstream::{self, consumer, object_store, stream};
use std::time::Duration;

/// Stream of shard tasks.
pub const SHARDS_STREAM: &str = "TESSERA_SHARDS";
/// Stream of result notices.
pub const RESULTS_STREAM: &str = "TESSERA_RESULTS";
/// Object store of shard bytes.
pub const SHARDS_BUCKET: &str = "tessera-shards";
/// Object store of result frames.
pub const RESULTS_BUCKET: &str = "tessera-results";

/// Timing and bounds of the workers' consumer.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long a delivered shard may go without an ack or an in-progress
    /// ack before the server delivers it again.
    pub ack_wait: Duration,
    /// Deliveries of one shard before it is given up (a worker that dies
    /// on it every time).
    pub max_deliver: i64,
    /// How long a re-published shard (same run and index) is recognised
    /// as a duplicate and dropped: longer than a coordinator's restart.
    pub duplicate_window: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { ack_wait: Duration::from_secs(30), max_deliver: 5, duplicate_window: Duration::from_secs(30 * 60) }
    }
}

/// The subject a tenant's shards are published on.
pub fn shard_subject(tenant: &str) -> String {
    format!("tessera.shard.{tenant}")
}

/// The durable consumer that hands a tenant's shards to workers.
pub fn consumer_name(tenant: &str) -> String {
    format!("workers-{tenant}")
}

/// The subject a run's result notices are published on.
pub fn result_subject(run: &str) -> String {
    format!("tessera.result.{run}")
}

/// The subject of a run's notes for the operator.
pub fn note_subject(run: &str) -> String {
    format!("tessera.note.{run}")
}

/// The advisory the server sends when a shard of `tenant` reached its
/// maximum deliveries.
pub fn max_deliveries_advisory(tenant: &str) -> String {
    format!("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{SHARDS_STREAM}.{}", consumer_name(tenant))
}

/// The object holding shard `index`'s bytes.
pub fn shard_object(run: &str, index: u64) -> String {
    format!("{run}.{index}")
}

/// A tenant, a run or a worker as a subject token: what NATS does not allow
/// in a token (`.`, `*`, `>`, white space) becomes `_`.
pub fn token(name: &str) -> String {
    name.chars().map(|c| if c == '.' || c == '*' || c == '>' || c.is_whitespace() { '_' } else { c }).collect()
}

/// The streams, consumer and buckets, made when missing.
#[derive(Clone)]
pub struct Layout {
    /// Shard tasks.
    pub shards: stream::Stream,
    /// Result notices.
    pub results: stream::Stream,
    /// Shard bytes.
    pub shard_bytes: object_store::ObjectStore,
    /// Result frames.
    pub result_frames: object_store::ObjectStore,
    /// Bytes per object chunk: as large as the server's message limit
    /// allows, because the client waits for the server's ack of each chunk
    /// before it sends the next (the default 128 KiB made a 4 MiB shard
    /// 32 round trips).
    pub chunk_size: usize,
}

impl Layout {
    /// Makes (or finds) everything a run of `tenant` needs.
    pub async fn ensure(js: &jetstream::Context, settings: &Settings) -> Result<Layout, ClusterError> {
        let shards = js
            .get_or_create_stream(stream::Config {
                name: SHARDS_STREAM.into(),
                subjects: vec!["tessera.shard.>".into()],
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::File,
                duplicate_window: settings.duplicate_window,
                ..Default::default()
            })
            .await
            .map_err(ClusterError::setup(SHARDS_STREAM))?;
        let results = js
            .get_or_create_stream(stream::Config {
                name: RESULTS_STREAM.into(),
                subjects: vec!["tessera.result.>".into()],
                retention: stream::RetentionPolicy::Limits,
                storage: stream::StorageType::File,
                max_age: Duration::from_secs(7 * 24 * 3600),
                ..Default::default()
            })
            .await
            .map_err(ClusterError::setup(RESULTS_STREAM))?;
        let shard_bytes = bucket(js, SHARDS_BUCKET).await?;
        let result_frames = bucket(js, RESULTS_BUCKET).await?;
        let max_payload = js.client().server_info().max_payload;
        let chunk_size = max_payload.saturating_sub(CHUNK_HEADROOM).clamp(CHUNK_HEADROOM, MAX_CHUNK);
        Ok(Layout { shards, results, shard_bytes, result_frames, chunk_size })
    }

    /// Stores `bytes` as object `name` of `store`, in chunks of [`Self::chunk_size`].
    pub async fn put(&self, store: &object_store::ObjectStore, name: &str, bytes: &[u8]) -> Result<(), String> {
        let meta = object_store::ObjectMetadata {
            name: name.to_owned(),
            chunk_size: Some(self.chunk_size),
            ..Default::default()
        };
        store.put(meta, &mut &bytes[..]).await.map(|_| ()).map_err(|e| e.to_string())
    }

    /// The durable consumer of `tenant`'s shards. With `authoritative`
    /// (the coordinator) its ack wait and maximum deliveries are made
    /// `settings`' if it exists with others; a worker takes it as it is.
    pub async fn workers(
        &self,
        tenant: &str,
        settings: &Settings,
        authoritative: bool,
    ) -> Result<consumer::PullConsumer, ClusterError> {
        let name = consumer_name(tenant);
        let config = consumer::pull::Config {
            durable_name: Some(name.clone()),
            filter_subject: shard_subject(tenant),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: settings.ack_wait,
            max_deliver: settings.max_deliver,
            ..Default::default()
        };
        let consumer: consumer::PullConsumer =
            self.shards.get_or_create_consumer(&name, config.clone()).await.map_err(ClusterError::setup(&name))?;
        let effective = &consumer.cached_info().config;
        if authoritative && (effective.ack_wait != settings.ack_wait || effective.max_deliver != settings.max_deliver) {
            return self.shards.update_consumer(config).await.map_err(ClusterError::setup(&name));
        }
        Ok(consumer)
    }
}

/// Room left in a message for the chunk's headers.
const CHUNK_HEADROOM: usize = 16 * 1024;

/// The largest chunk, whatever the server allows.
const MAX_CHUNK: usize = 8 << 20;

/// A shard's bytes as stored: LZ4 with the length first. Source exports
/// compress several times over (repeated columns and values), and every
/// byte is written to the broker's disk and read back.
pub fn pack_shard(bytes: &[u8]) -> Vec<u8> {
    lz4_flex::compress_prepend_size(bytes)
}

/// The bytes of a stored shard of `expected` bytes (its task's span): a
/// stored object that says another length is refused before it is
/// decompressed.
pub fn unpack_shard(packed: &[u8], expected: u64) -> Result<Vec<u8>, String> {
    let declared = packed.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    if declared.map(u64::from) != Some(expected) {
        return Err(format!("the stored shard says {declared:?} bytes, its task {expected}"));
    }
    lz4_flex::decompress_size_prepended(packed).map_err(|e| format!("the stored shard does not decompress: {e}"))
}

async fn bucket(js: &jetstream::Context, name: &str) -> Result<object_store::ObjectStore, ClusterError> {
    match js.get_object_store(name).await {
        Ok(store) => Ok(store),
        Err(_) => js
            .create_object_store(object_store::Config {
                bucket: name.into(),
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(ClusterError::setup(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_is_packed_and_unpacked_and_a_wrong_length_is_refused() {
        let bytes = b"customer_ref,document_id\nC1,INV-1\n".repeat(100);
        let packed = pack_shard(&bytes);
        assert!(packed.len() < bytes.len() / 4, "{} of {}", packed.len(), bytes.len());
        assert_eq!(unpack_shard(&packed, bytes.len() as u64).unwrap(), bytes);
        assert!(unpack_shard(&packed, 10).unwrap_err().contains("its task 10"));
        assert!(unpack_shard(b"", 0).is_err());
    }
}
