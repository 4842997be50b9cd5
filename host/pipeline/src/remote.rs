//! What travels when a run's shards are rendered elsewhere (another
//! process, another machine): the task a shard carries out, and the result
//! that comes back.
//!
//! A worker translates, validates, composes, formats and self-checks the
//! records of one shard; it numbers nothing and writes nothing, because
//! record numbers, the duplicate check, blocks and the order of every file
//! depend on the shards before it. The run that cut the source takes the
//! results in shard order and numbers, checks and commits them exactly as a
//! local run would ([`crate::run_batch`] with a [`ShardExchange`]), so its
//! folder is the local run's, byte for byte.
//!
//! A result is one frame: a JSON header ([`ShardResult`]) and the output
//! files' bytes after it, which the header points into ([`FileRef`]).

pub use crate::frame_buffer::FrameBuffer;
use crate::report::{Rejection, Stage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use tessera_content::Resolution;
use tessera_runtime::{Cut, SourceLocation};

/// One shard of a run, as a worker is asked to render it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShardTask {
    /// The run it belongs to.
    pub run: String,
    /// Its place among the run's shards: 0, 1, 2, ...
    pub index: u64,
    /// The tenant.
    pub tenant: String,
    /// The content revision every document must be composed from.
    pub revision: String,
    /// Plugin id → sha256 of every plugin the run may call: a worker with
    /// any other component refuses the shard.
    pub plugins: BTreeMap<String, String>,
    /// The translator's plugin id.
    pub translator: String,
    /// The source's name (for locations and the call context's seed).
    pub source_name: String,
    /// The name the call context's seed derives from when it is not
    /// `source_name`: a file of a delivery is translated under its own name
    /// with the delivery's seed, as a local run does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_name: Option<String>,
    /// The run's as-of date.
    pub as_of: String,
    /// The operator's `--channels`, when given.
    pub channels: Option<Vec<String>>,
    /// Where the shard starts (`None`: at the start of the source).
    pub start: Option<ShardStart>,
    /// Its bytes in the source: `from..to`.
    pub from: u64,
    /// End of its bytes.
    pub to: u64,
    /// sha256 of those bytes, so a result can be matched to exactly them.
    pub sha256: String,
}

/// A [`Cut`] as it travels.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShardStart {
    /// Byte offset in the source.
    pub offset: u64,
    /// The 1-based line that starts there.
    pub line: u32,
    /// The translator's state for a session starting there, hex.
    pub state: String,
}

impl From<&Cut> for ShardStart {
    fn from(cut: &Cut) -> ShardStart {
        ShardStart { offset: cut.offset, line: cut.line, state: hex::encode(&cut.state) }
    }
}

impl ShardStart {
    /// The cut again; `None` when the state is not hex.
    pub fn cut(&self) -> Option<Cut> {
        Some(Cut { offset: self.offset, line: self.line, state: hex::decode(&self.state).ok()? })
    }
}

/// What a worker made of one shard.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ShardResult {
    /// The run.
    pub run: String,
    /// The shard's index.
    pub index: u64,
    /// sha256 of the bytes the worker rendered (the task's).
    pub sha256: String,
    /// Who rendered it (host and process), for progress and messages.
    pub worker: String,
    /// Each outcome of the shard, in source order.
    pub outcomes: Vec<RemoteOutcome>,
    /// The translator died in this shard: what it did not return is lost.
    pub fault: Option<RemoteFault>,
    /// Fuel the translator used for the shard.
    pub fuel: u64,
    /// The distinct `content_files` maps of the manifest lines, which
    /// [`RemoteLine::content_files`] points into (a view's documents share one).
    pub content_files: Vec<BTreeMap<String, String>>,
}

/// One outcome of a shard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RemoteOutcome {
    /// The translator rejected a source record.
    Rejected {
        /// Its error code.
        code: String,
        /// Its message.
        message: String,
        /// Where.
        location: Option<SourceLocation>,
        /// Its share of the translator's time, µs.
        translate_us: u64,
    },
    /// A record, and what became of it.
    Record(Box<RemoteRecord>),
}

/// A record the translator made, rendered (or rejected) by the worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoteRecord {
    /// `reference.document_id` as the duplicate check reads it from the
    /// translator's JSON (`CdmRecord::document_id_of`).
    pub document_id: Option<String>,
    /// `reference.customer_ref` and `reference.document_id` as a rejection
    /// names them (`CdmRecord::identifiers`).
    pub identifiers: (Option<String>, Option<String>),
    /// Where it starts in the source.
    pub location: Option<SourceLocation>,
    /// Time per stage, µs.
    pub times: RemoteTimes,
    /// Its outputs, or why it has none.
    pub end: RecordEnd,
}

/// What became of a record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RecordEnd {
    /// Every output made and checked.
    Delivered {
        /// One manifest line per output, not yet placed in a folder or container.
        lines: Vec<RemoteLine>,
        /// The outputs, in the lines' order.
        files: Vec<FileRef>,
        /// The content view (`label`, `locale`) it was composed from.
        view: (String, String),
        /// The assets its templates used.
        assets: Vec<Resolution>,
    },
    /// Rejected, with the reason.
    Rejected(Rejection),
}

/// An output file: its name, and where its bytes are in the frame.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileRef {
    /// File name (`INV-1.html`).
    pub name: String,
    /// Offset of its bytes after the header.
    pub offset: u64,
    /// Length.
    pub len: u64,
}

/// A manifest line as it travels: `content_files` is an index into
/// [`ShardResult::content_files`]; the rest is [`crate::ManifestLine`]'s.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoteLine {
    /// `reference.customer_ref`.
    pub record: String,
    /// `reference.document_id`.
    pub document_id: String,
    /// Channel.
    pub channel: String,
    /// File name.
    pub file: String,
    /// Media type.
    pub media_type: String,
    /// Templates used.
    pub templates: Vec<String>,
    /// Brand label.
    pub label: String,
    /// Locale.
    pub locale: String,
    /// A/B variant.
    pub variant: Option<String>,
    /// Content revision.
    pub content_revision: String,
    /// Content view key.
    pub content_view: String,
    /// Index into the result's `content_files`.
    pub content_files: usize,
    /// Plugins involved.
    pub plugins: Vec<RemotePluginUse>,
    /// Fuel.
    pub fuel: u64,
    /// Output size.
    pub bytes: u64,
    /// Pages.
    pub pages: Option<u64>,
    /// Output sha256.
    pub sha256: String,
    /// Warnings.
    pub warnings: Vec<crate::truth::Warning>,
}

/// A [`crate::PluginUse`] as it travels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemotePluginUse {
    /// Plugin id.
    pub id: String,
    /// Version.
    pub version: String,
    /// Component sha256.
    pub sha256: String,
    /// Fuel, when attributable.
    pub fuel: Option<u64>,
}

impl From<crate::report::PluginUse> for RemotePluginUse {
    fn from(p: crate::report::PluginUse) -> Self {
        RemotePluginUse { id: p.id, version: p.version, sha256: p.sha256, fuel: p.fuel }
    }
}

impl From<RemotePluginUse> for crate::report::PluginUse {
    /// The call's time stays with the worker that made it.
    fn from(p: RemotePluginUse) -> Self {
        crate::report::PluginUse {
            id: p.id,
            version: p.version,
            sha256: p.sha256,
            fuel: p.fuel,
            elapsed: Duration::ZERO,
        }
    }
}

/// A record's time per stage, µs (`None`: the stage was not reached).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RemoteTimes {
    /// Its share of the translator's time.
    pub translate: u64,
    /// Validation.
    pub validate: Option<u64>,
    /// Composition.
    pub compose: Option<u64>,
    /// Formatting.
    pub format: Option<u64>,
    /// The self-check.
    pub verify: Option<u64>,
}

/// The translator died in a shard.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RemoteFault {
    /// The stage (always translate).
    pub stage: Stage,
    /// Plugin at fault (`id@version`); `None`: the run's translator.
    pub plugin: Option<String>,
    /// Limit hit, when one was.
    pub limit: Option<String>,
    /// What happened.
    pub reason: String,
    /// Offset of the chunk it died on.
    pub offset: u64,
}

/// How a coordinator hands shards out and gets their results back: over a
/// message broker in a cluster, or in process in tests.
pub trait ShardExchange: Sync {
    /// Hands `task` and its bytes to the workers.
    fn dispatch(&self, task: ShardTask, bytes: Vec<u8>) -> Result<(), String>;
    /// The next result that arrived, of any shard (a shard's result may
    /// come more than once: the first that is for its bytes counts).
    /// `None` when the exchange is closed and no more will come.
    fn receive(&self) -> Result<Option<Arrival>, String>;
    /// A line for the operator (a result ignored, a worker's refusal).
    fn note(&self, _message: &str) {}
}

/// A result that arrived: which shard it is for, and how to read it. It is
/// read only when the run gets to its shard, so results that arrive early
/// (a resumed run reads its first attempt's) cost their notice, not their
/// files.
pub struct Arrival {
    /// The run.
    pub run: String,
    /// The shard's index.
    pub index: u64,
    /// sha256 of the bytes it was rendered from.
    pub sha256: String,
    /// Who rendered it.
    pub worker: String,
    /// Reads the result: its header and its files' bytes.
    pub read: ReadResult,
}

/// How an [`Arrival`] is read.
pub type ReadResult = Box<dyn FnOnce() -> Result<(ShardResult, FrameBuffer), String> + Send>;

impl Arrival {
    /// An arrival already in hand.
    pub fn ready(result: ShardResult, files: FrameBuffer) -> Arrival {
        Arrival {
            run: result.run.clone(),
            index: result.index,
            sha256: result.sha256.clone(),
            worker: result.worker.clone(),
            read: Box::new(move || Ok((result, files))),
        }
    }
}

/// A result as one frame: `"TSR3"`, the length of the header block (u32,
/// big endian), the header block — the JSON header, LZ4-compressed with its
/// size first — and the files block — the files' bytes, the same way.
/// Letters of one shard share their markup, so a frame is a few times
/// smaller compressed, and it crosses the network and the broker's storage
/// twice: compressing costs the worker less than the bytes cost the broker
/// and the run. Two blocks rather than one, so that neither side copies the
/// files next to the header first. (`"TSR2"` frames, one block of both,
/// are still read.)
pub fn encode_result(result: &ShardResult, files: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    let len = encode_result_into(result, files, &mut Vec::new(), &mut frame);
    frame.truncate(len);
    frame
}

/// [`encode_result`] into `frame`, with the header's JSON written in
/// `header` first; a worker reuses both buffers' memory from shard to
/// shard. Returns the frame's length. `frame` keeps the room past it (at
/// least what the blocks could take): the next shard's frame is written
/// over it, and only memory the buffers never had is zeroed — not tens of
/// megabytes per shard. (A header of a few megabytes serialised into a
/// fresh, doubling `Vec` and compressed into another was most of the
/// kernel's page zeroing in a worker: `perf`, DWARF stacks, 48 of 63
/// `clear_page_erms` samples.)
pub fn encode_result_into(result: &ShardResult, files: &[u8], header: &mut Vec<u8>, frame: &mut Vec<u8>) -> usize {
    header.clear();
    serde_json::to_writer(&mut *header, result).expect("a shard result serialises");
    let header_room = 4 + lz4_flex::block::get_maximum_output_size(header.len());
    let files_room = 4 + lz4_flex::block::get_maximum_output_size(files.len());
    let room = FRAME_MAGIC.len() + 4 + header_room + files_room;
    if frame.len() < room {
        frame.resize(room, 0);
    }
    // The magic, the header block's length, then the two blocks.
    let header_at = FRAME_MAGIC.len() + 4;
    frame[..FRAME_MAGIC.len()].copy_from_slice(FRAME_MAGIC);
    let header_block = write_block(header, &mut frame[header_at..header_at + header_room]);
    frame[FRAME_MAGIC.len()..header_at].copy_from_slice(&u32::try_from(header_block).unwrap_or(u32::MAX).to_be_bytes());
    let at = header_at + header_block;
    at + write_block(files, &mut frame[at..at + files_room])
}

/// `data` as an LZ4 block with its size first (what
/// `lz4_flex::compress_prepend_size` makes) written into `out`, which has
/// room for the worst case; returns the block's length.
fn write_block(data: &[u8], out: &mut [u8]) -> usize {
    out[..4].copy_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_le_bytes());
    4 + lz4_flex::block::compress_into(data, &mut out[4..]).expect("the buffer has the maximum size")
}

const FRAME_MAGIC: &[u8; 4] = b"TSR3";

/// The frame of earlier workers: one LZ4 block of header length, header and files.
const FRAME_MAGIC_ONE_BLOCK: &[u8; 4] = b"TSR2";

/// The largest block accepted decompressed (a shard's result is tens of megabytes).
const MAX_FRAME_BYTES: usize = 1 << 30;

/// An LZ4 block with its size first, refused unread if it claims more
/// than [`MAX_FRAME_BYTES`]; decoded into a reused buffer.
fn decompress_block(block: &[u8], what: &str) -> Result<FrameBuffer, String> {
    let (claimed, packed) =
        block.split_at_checked(4).ok_or_else(|| format!("a shard result frame cut short in its {what}"))?;
    let size = u32::from_le_bytes(claimed.try_into().expect("four bytes")) as usize;
    if size > MAX_FRAME_BYTES {
        return Err(format!("a shard result frame whose {what} is more than {MAX_FRAME_BYTES} bytes"));
    }
    let mut out = FrameBuffer::overwritten(size);
    let written = lz4_flex::block::decompress_into(packed, out.as_mut_slice())
        .map_err(|e| format!("a shard result frame whose {what} does not decompress: {e}"))?;
    if written != size {
        return Err(format!(
            "a shard result frame whose {what} decompresses to {written} bytes, not the {size} it says"
        ));
    }
    Ok(out)
}

/// The header and the files' bytes of a frame made by [`encode_result`];
/// an error says what is wrong with it (it came over the network).
pub fn decode_result(frame: &[u8]) -> Result<(ShardResult, FrameBuffer), String> {
    let (header, files) = if let Some(rest) = frame.strip_prefix(FRAME_MAGIC.as_slice()) {
        let len = rest.get(..4).ok_or("a shard result frame cut short")?;
        let len = u32::from_be_bytes(len.try_into().expect("four bytes")) as usize;
        let header = rest.get(4..4 + len).ok_or("a shard result frame cut short in its header")?;
        (decompress_block(header, "header")?, decompress_block(&rest[4 + len..], "files")?)
    } else if let Some(packed) = frame.strip_prefix(FRAME_MAGIC_ONE_BLOCK.as_slice()) {
        let body = decompress_block(packed, "body")?;
        let len = body.get(..4).ok_or("a shard result frame cut short")?;
        let len = u32::from_be_bytes(len.try_into().expect("four bytes")) as usize;
        let header = body.get(4..4 + len).ok_or("a shard result frame cut short")?;
        (FrameBuffer::new(header.to_vec()), FrameBuffer::new(body[4 + len..].to_vec()))
    } else {
        return Err("not a shard result (no TSR3 frame)".into());
    };
    let result: ShardResult =
        serde_json::from_slice(&header).map_err(|e| format!("a shard result header that does not parse: {e}"))?;
    drop(header);
    for outcome in &result.outcomes {
        if let RemoteOutcome::Record(r) = outcome
            && let RecordEnd::Delivered { files: refs, lines, .. } = &r.end
        {
            if refs.len() != lines.len() {
                return Err(format!(
                    "shard {}: a record with {} files and {} lines",
                    result.index,
                    refs.len(),
                    lines.len()
                ));
            }
            for f in refs {
                let end = f.offset.checked_add(f.len).filter(|end| *end <= files.len() as u64);
                if end.is_none() {
                    return Err(format!("shard {}: file {} points past the frame", result.index, f.name));
                }
            }
            if lines.iter().any(|l| l.content_files >= result.content_files.len()) {
                return Err(format!(
                    "shard {}: a line names a content_files map the result does not have",
                    result.index
                ));
            }
        }
    }
    Ok((result, files))
}

/// µs of a duration, for the wire.
pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_round_trips_and_a_broken_one_is_an_error() {
        let result = ShardResult {
            run: "r".into(),
            index: 3,
            sha256: "ab".into(),
            outcomes: vec![RemoteOutcome::Rejected {
                code: "bad-row".into(),
                message: "m".into(),
                location: None,
                translate_us: 5,
            }],
            ..Default::default()
        };
        let frame = encode_result(&result, b"xyz");
        let (back, files) = decode_result(&frame).unwrap();
        assert_eq!((back.index, back.outcomes.len(), &files[..]), (3, 1, &b"xyz"[..]));
        // A reused buffer gives the same frame, whatever it held before,
        // and keeps its room.
        let mut reused = b"left over from the last shard".repeat(1000);
        let mut header = b"an earlier shard's header".repeat(100);
        let len = encode_result_into(&result, b"xyz", &mut header, &mut reused);
        assert_eq!(&reused[..len], frame.as_slice());
        assert_eq!(reused.len(), 29_000, "the buffer keeps its room for the next shard");
        let big = vec![7u8; 100_000];
        let len = encode_result_into(&result, &big, &mut header, &mut reused);
        assert_eq!(&decode_result(&reused[..len]).unwrap().1[..], &big[..]);
        let len = encode_result_into(&result, b"xyz", &mut header, &mut reused);
        assert_eq!(&reused[..len], frame.as_slice());
        // The blocks are what `compress_prepend_size` makes.
        let header_block = lz4_flex::compress_prepend_size(&serde_json::to_vec(&result).unwrap());
        let mut expected = b"TSR3".to_vec();
        expected.extend_from_slice(&(header_block.len() as u32).to_be_bytes());
        expected.extend_from_slice(&header_block);
        expected.extend_from_slice(&lz4_flex::compress_prepend_size(b"xyz"));
        assert_eq!(frame, expected);
        // A frame that claims to unpack to more than a gigabyte is refused unread.
        let mut bomb = b"TSR2".to_vec();
        bomb.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_result(&bomb).unwrap_err().contains("more than"));
        let header_len = u32::from_be_bytes(frame[4..8].try_into().unwrap()) as usize;
        let mut files_bomb = frame[..8 + header_len].to_vec();
        files_bomb.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_result(&files_bomb).unwrap_err().contains("files is more than"));
        // A frame of earlier workers (one block) is still read.
        let header = serde_json::to_vec(&result).unwrap();
        let mut body = (header.len() as u32).to_be_bytes().to_vec();
        body.extend_from_slice(&header);
        body.extend_from_slice(b"xyz");
        let mut old = b"TSR2".to_vec();
        old.extend_from_slice(&lz4_flex::compress_prepend_size(&body));
        let (back, files) = decode_result(&old).unwrap();
        assert_eq!((back.index, &files[..]), (3, &b"xyz"[..]));
        for cut in [6, 10, frame.len() - 1] {
            assert!(decode_result(&frame[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode_result(b"nope").is_err());
        let start = ShardStart::from(&Cut { offset: 9, line: 2, state: vec![0, 255] });
        assert_eq!(start.state, "00ff");
        assert_eq!(start.cut().unwrap().state, vec![0, 255]);
    }
}
