//! Where a batch's outputs go (`[output]` in `tenant.toml`, `--sink` on
//! `batch`), and the names they get there.
//!
//! Both sinks group documents into **blocks** of `documents_per_block`
//! consecutive records in input order (record `n` is in block
//! `n / documents_per_block`). A block is a sub-folder of the output folder
//! for the `dir` sink, and one container per channel for the `zip` sink.
//! Blocks follow the input order, not the shards, so where a document lands
//! is the same whatever the shard size and thread count, and a resumed run
//! puts it where the uninterrupted one did.
//!
//! - `dir`: `00000/INV-1.html`, `00000/INV-1.eml`, … — a million-document run
//!   makes a thousand folders of a thousand documents, never a million files
//!   in one folder (ext4 slows down on huge folders; every worker would
//!   contend for one folder lock).
//! - `zip`: `00000.html.zip`, `00000.email.zip`, … — one stored (uncompressed)
//!   ZIP per block and channel, each ending with an `index.jsonl` member that
//!   gives every document's member name and byte offset. The committer
//!   writes them in input order (see [`containers`]); the workers write
//!   nothing, so a run creates a few files per thousand documents instead of
//!   one per output.

pub mod containers;
pub mod drop_behind;
pub mod zip;

use serde::{Deserialize, Serialize};

/// Which sink a run writes to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// Files in block sub-folders of the output folder.
    #[default]
    Dir,
    /// One ZIP per block and channel.
    Zip,
}

impl SinkKind {
    /// `dir` or `zip`.
    pub fn name(self) -> &'static str {
        match self {
            SinkKind::Dir => "dir",
            SinkKind::Zip => "zip",
        }
    }
}

/// Documents per block unless `[output]` says otherwise.
pub const DEFAULT_DOCUMENTS_PER_BLOCK: u64 = 1_000;

/// `[output]` in `tenant.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// `dir` (default) or `zip`.
    #[serde(default)]
    pub sink: SinkKind,
    /// Records per sub-folder (`dir`) or per container (`zip`).
    #[serde(default = "default_block")]
    pub documents_per_block: u64,
}

fn default_block() -> u64 {
    DEFAULT_DOCUMENTS_PER_BLOCK
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig { sink: SinkKind::Dir, documents_per_block: DEFAULT_DOCUMENTS_PER_BLOCK }
    }
}

/// A run's sink: its kind and block size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sink {
    /// Dir or zip.
    pub kind: SinkKind,
    /// Records per block (at least 1).
    pub documents_per_block: u64,
}

impl Sink {
    /// The sink of `[output]`, with the kind and block size the operator
    /// chose instead (`--sink`, `--documents-per-block`).
    pub fn new(config: OutputConfig, kind: Option<SinkKind>, per_block: Option<u64>) -> Sink {
        Sink {
            kind: kind.unwrap_or(config.sink),
            documents_per_block: per_block.unwrap_or(config.documents_per_block).max(1),
        }
    }

    /// The block of record `seq`.
    pub fn block(&self, seq: u64) -> u64 {
        seq / self.documents_per_block
    }

    /// How the run identity names this sink (a resume must use the same).
    pub fn describe(&self) -> String {
        format!("{} per {}", self.kind.name(), self.documents_per_block)
    }
}

/// The name of block `block`: five digits (more past 99,999 blocks), so
/// that names sort in input order.
pub fn block_name(block: u64) -> String {
    format!("{block:05}")
}

/// Where the `dir` sink puts output `name` of a record in `block`,
/// relative to the output folder.
pub fn dir_path(block: u64, name: &str) -> String {
    format!("{}/{name}", block_name(block))
}

/// Whether `name` is a block's name (a sub-folder the `dir` sink made).
pub fn is_block_name(name: &str) -> bool {
    name.len() >= 5 && name.bytes().all(|b| b.is_ascii_digit())
}

/// The container of `channel`'s outputs in `block`.
pub fn container_name(block: u64, channel: &str) -> String {
    format!("{}.{channel}.zip", block_name(block))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_follow_the_input_order() {
        let sink = Sink::new(OutputConfig { sink: SinkKind::Zip, documents_per_block: 1000 }, None, None);
        assert_eq!((sink.block(0), sink.block(999), sink.block(1000)), (0, 0, 1));
        assert_eq!(block_name(7), "00007");
        assert_eq!(block_name(123_456), "123456");
        assert_eq!(container_name(3, "html"), "00003.html.zip");
        assert_eq!(dir_path(1, "INV-1.html"), "00001/INV-1.html");
        assert!(is_block_name("00001") && !is_block_name("0001") && !is_block_name("0000a"));
        let dir = Sink::new(OutputConfig { sink: SinkKind::Zip, documents_per_block: 0 }, Some(SinkKind::Dir), None);
        assert_eq!((dir.kind, dir.documents_per_block), (SinkKind::Dir, 1));
    }

    #[test]
    fn output_config_reads_from_toml() {
        let c: OutputConfig = toml::from_str("sink = \"zip\"\ndocuments_per_block = 250").unwrap();
        assert_eq!(c, OutputConfig { sink: SinkKind::Zip, documents_per_block: 250 });
        assert!(toml::from_str::<OutputConfig>("sink = \"tar\"").is_err());
        assert_eq!(toml::from_str::<OutputConfig>("").unwrap(), OutputConfig::default());
    }
}
