//! The `zip` sink's containers: one ZIP per block and channel, filled by the
//! committer in input order and published whole.
//!
//! A container is written under a temporary name (`.00003.html.zip.<pid>.tmp`)
//! and renamed when its block is complete, so a container under its real
//! name is always whole. The committer checkpoints only at block
//! boundaries in this sink: a resume starts at the first record of the
//! unfinished block, whose temporary container the killed run left and
//! the resume removes, and writes that block again.
//!
//! A published container is then written to the disk and dropped from the
//! page cache behind the run ([`crate::sink::drop_behind`]); [`Containers::finish`]
//! waits for the last ones.
//!
//! Each container ends with `index.jsonl`: one line per document member
//! with its name, document id, record, sha256, size and the byte offset of
//! its data, so that a reader can fetch one document without reading the
//! central directory's neighbours.

use crate::sink::drop_behind::DropBehind;
use crate::sink::zip::ZipWriter;
use crate::sink::{Sink, container_name};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

/// The index member every container ends with.
pub const INDEX_MEMBER: &str = "index.jsonl";

/// One output going into a container.
pub struct Member<'a> {
    /// The channel (which container of the block).
    pub channel: &'a str,
    /// The member's name (`INV-1.html`).
    pub name: &'a str,
    /// Its bytes.
    pub bytes: &'a [u8],
    /// For the index: the document, its record, its digest.
    pub document_id: &'a str,
    /// `reference.customer_ref`.
    pub record: &'a str,
    /// Hex sha256 of `bytes`.
    pub sha256: &'a str,
}

/// An open container: its writer, where it goes, its index so far.
struct Open {
    zip: ZipWriter<BufWriter<File>>,
    temporary: PathBuf,
    path: PathBuf,
    index: Vec<u8>,
}

/// The containers of the block being committed.
pub struct Containers {
    out_dir: PathBuf,
    sink: Sink,
    block: Option<u64>,
    open: BTreeMap<String, Open>,
    /// Started with the first container: a run that writes none starts no thread.
    flush: Option<DropBehind>,
}

impl Containers {
    /// Containers of `sink` in `out_dir`.
    pub fn new(out_dir: &Path, sink: Sink) -> Containers {
        Containers { out_dir: out_dir.to_path_buf(), sink, block: None, open: BTreeMap::new(), flush: None }
    }

    /// Whether record `seq` starts another block than the one open (the
    /// caller closes it and checkpoints first).
    pub fn starts_block(&self, seq: u64) -> bool {
        self.block.is_some_and(|b| b != self.sink.block(seq))
    }

    /// Adds record `seq`'s outputs to their block's containers; returns each
    /// output's container name, in the order given.
    pub fn add(&mut self, seq: u64, members: &[Member<'_>]) -> io::Result<Vec<String>> {
        let block = self.sink.block(seq);
        debug_assert!(self.block.is_none_or(|b| b == block), "the previous block was closed");
        self.block = Some(block);
        let mut names = Vec::with_capacity(members.len());
        for m in members {
            let name = container_name(block, m.channel);
            if !self.open.contains_key(m.channel) {
                let path = self.out_dir.join(&name);
                let temporary = self.out_dir.join(format!(".{name}.{}.tmp", std::process::id()));
                let file = File::create(&temporary)?;
                let zip = ZipWriter::new(BufWriter::with_capacity(1 << 20, file));
                self.open.insert(m.channel.to_owned(), Open { zip, temporary, path, index: Vec::new() });
            }
            let open = self.open.get_mut(m.channel).expect("opened above");
            let offset = open.zip.add(m.name, m.bytes)?;
            let line = IndexLine {
                member: m.name,
                document_id: m.document_id,
                record: m.record,
                offset,
                bytes: m.bytes.len() as u64,
                sha256: m.sha256,
            };
            serde_json::to_writer(&mut open.index, &line).expect("an index line serialises");
            open.index.push(b'\n');
            names.push(name);
        }
        Ok(names)
    }

    /// Finishes the open block: writes each container's index and central
    /// directory and gives it its real name.
    pub fn close(&mut self) -> io::Result<()> {
        for (_, mut open) in std::mem::take(&mut self.open) {
            open.zip.add(INDEX_MEMBER, &open.index)?;
            let file = open.zip.finish()?.into_inner().map_err(|e| e.into_error())?;
            std::fs::rename(&open.temporary, &open.path)?;
            let flush = match &mut self.flush {
                Some(flush) => flush,
                None => self.flush.insert(DropBehind::start()?),
            };
            flush.submit(file, open.path)?;
        }
        self.block = None;
        Ok(())
    }

    /// Waits until every published container is on the disk (the open
    /// block, if any, is not published: see [`Self::close`]).
    pub fn finish(&mut self) -> io::Result<()> {
        self.flush.take().map_or(Ok(()), DropBehind::finish)
    }
}

#[derive(serde::Serialize)]
struct IndexLine<'a> {
    member: &'a str,
    document_id: &'a str,
    record: &'a str,
    offset: u64,
    bytes: u64,
    sha256: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::{OutputConfig, SinkKind};
    use std::io::Read;

    fn member<'a>(channel: &'a str, name: &'a str, bytes: &'a [u8]) -> Member<'a> {
        Member { channel, name, bytes, document_id: name, record: "C-1", sha256: "00" }
    }

    #[test]
    fn a_block_becomes_one_whole_container_per_channel_with_an_index() {
        let dir = tempfile::tempdir().unwrap();
        let sink = Sink::new(OutputConfig { sink: SinkKind::Zip, documents_per_block: 2 }, None, None);
        let mut c = Containers::new(dir.path(), sink);
        let names = c.add(0, &[member("html", "A.html", b"a"), member("text", "A.txt", b"at")]).unwrap();
        assert_eq!(names, ["00000.html.zip", "00000.text.zip"]);
        c.add(1, &[member("html", "B.html", b"b")]).unwrap();
        assert!(!dir.path().join("00000.html.zip").exists(), "not published before its block is complete");
        assert!(c.starts_block(2));
        c.close().unwrap();
        c.add(2, &[member("html", "C.html", b"c")]).unwrap();
        c.close().unwrap();
        let mut files: Vec<_> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        files.sort();
        assert_eq!(files, ["00000.html.zip", "00000.text.zip", "00001.html.zip"]);

        let bytes = std::fs::read(dir.path().join("00000.html.zip")).unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).unwrap();
        let names: Vec<_> = zip.file_names().map(str::to_owned).collect();
        assert_eq!(names, ["A.html", "B.html", INDEX_MEMBER]);
        let mut index = String::new();
        zip.by_name(INDEX_MEMBER).unwrap().read_to_string(&mut index).unwrap();
        let lines: Vec<serde_json::Value> = index.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        let at = lines[1]["offset"].as_u64().unwrap() as usize;
        assert_eq!(&bytes[at..at + 1], b"b", "the index points at the member's bytes");
    }
}
