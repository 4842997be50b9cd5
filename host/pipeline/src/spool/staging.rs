//! The letters of a run's spooled channels, kept on disk in input order
//! until the run ends and its spools are made (a spool is sorted across
//! the whole run, so none can be made before the last letter is composed).
//!
//! Only the committer writes here, in input order, so the staging files
//! are the same for every thread count and shard size; the checkpoint
//! records their lengths, and a resume cuts them back like the manifest.
//! Per channel there are two files in [`STAGING_DIR`]: `<channel>.letters.jsonl`,
//! one line per letter (its markup, its facts, its manifest line's fields),
//! and `<channel>.maps.jsonl`, each content-files map once (a view's map
//! is a kilobyte or more, the same for thousands of letters), which a
//! letter names by digest.

use crate::report::PluginUse;
use crate::run::checkpoint;
use crate::truth::Warning;
use crate::verify::Facts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The staging folder in the output folder.
pub const STAGING_DIR: &str = ".spool-staging";

/// A letter waiting for the end of the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StagedLetter {
    /// Its record's place in the input.
    pub seq: u64,
    /// The spooled channel.
    pub channel: String,
    /// The values of the channel's sort keys.
    pub sort_key: Vec<String>,
    /// The record has no other output: leaving the letter out rejects it.
    pub only_output: bool,
    /// Its Typst markup.
    pub markup: String,
    /// What its pages must show.
    pub facts: Facts,
    /// `reference.customer_ref`.
    pub record: String,
    /// `reference.document_id`.
    pub document_id: String,
    /// Templates used.
    pub templates: Vec<String>,
    /// Brand label.
    pub label: String,
    /// Locale.
    pub locale: String,
    /// A/B variant.
    #[serde(default)]
    pub variant: Option<String>,
    /// Content revision.
    pub content_revision: String,
    /// Content view.
    pub content_view: String,
    /// The content-files map's digest (in the maps file).
    #[serde(default)]
    pub files_digest: String,
    /// The map itself, before staging and after reading back.
    #[serde(skip)]
    pub content_files: Arc<BTreeMap<String, String>>,
    /// Plugins that contributed before the formatter (translator, fragments).
    pub plugins: Vec<PluginUse>,
    /// Warnings of its settlement.
    #[serde(default)]
    pub warnings: Vec<Warning>,
}

/// A staged letter's place in its file and what it sorts by.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its record's place in the input.
    pub seq: u64,
    /// The values of the sort keys.
    pub sort_key: Vec<String>,
    /// Where its line is.
    pub offset: u64,
    /// Its line's length, newline excluded.
    pub len: u64,
}

/// One channel's two files, open for appending.
struct ChannelFiles {
    letters: BufWriter<File>,
    letters_len: u64,
    maps: BufWriter<File>,
    maps_len: u64,
    known: HashSet<String>,
}

/// Appends staged letters (the committer's side).
pub struct Stager {
    dir: PathBuf,
    channels: BTreeMap<String, ChannelFiles>,
    scratch: Vec<u8>,
}

fn letters_file(channel: &str) -> String {
    format!("{channel}.letters.jsonl")
}

fn maps_file(channel: &str) -> String {
    format!("{channel}.maps.jsonl")
}

#[derive(Serialize, Deserialize)]
struct MapLine {
    digest: String,
    files: BTreeMap<String, String>,
}

impl Stager {
    /// Opens the staging of a run in `out_dir`: empty for a new run, cut
    /// back to the checkpoint's `lengths` (file name → bytes) for a resumed one.
    pub fn open(out_dir: &Path, lengths: &BTreeMap<String, u64>, resumed: bool) -> std::io::Result<Stager> {
        let dir = out_dir.join(STAGING_DIR);
        if !resumed && dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        let mut stager = Stager { dir, channels: BTreeMap::new(), scratch: Vec::new() };
        if resumed && stager.dir.is_dir() {
            for entry in std::fs::read_dir(&stager.dir)? {
                let name = entry?.file_name().to_string_lossy().into_owned();
                match lengths.get(&name) {
                    Some(len) => checkpoint::truncate(&stager.dir.join(&name), *len)?,
                    // Staged after the last checkpoint: nothing of it counts.
                    None => std::fs::remove_file(stager.dir.join(&name))?,
                }
            }
            let channels: Vec<String> =
                lengths.keys().filter_map(|n| n.strip_suffix(".letters.jsonl")).map(str::to_owned).collect();
            for channel in channels {
                stager.channel(&channel)?;
            }
        }
        Ok(stager)
    }

    fn channel(&mut self, channel: &str) -> std::io::Result<&mut ChannelFiles> {
        if !self.channels.contains_key(channel) {
            std::fs::create_dir_all(&self.dir)?;
            let open = |name: String| -> std::io::Result<(BufWriter<File>, u64)> {
                let file =
                    std::fs::OpenOptions::new().create(true).append(true).read(true).open(self.dir.join(name))?;
                let len = file.metadata()?.len();
                Ok((BufWriter::with_capacity(256 << 10, file), len))
            };
            let (letters, letters_len) = open(letters_file(channel))?;
            let (maps, maps_len) = open(maps_file(channel))?;
            let known = read_maps(&self.dir.join(maps_file(channel)), maps_len)?.into_keys().collect();
            self.channels.insert(channel.to_owned(), ChannelFiles { letters, letters_len, maps, maps_len, known });
        }
        Ok(self.channels.get_mut(channel).expect("opened above"))
    }

    /// Appends one letter (and its content-files map, the first time).
    pub fn stage(&mut self, letter: &mut StagedLetter) -> std::io::Result<()> {
        let map_json = serde_json::to_vec(&*letter.content_files).expect("a map serialises");
        letter.files_digest = hex::encode(&Sha256::digest(&map_json)[..16]);
        let mut scratch = std::mem::take(&mut self.scratch);
        let files = self.channel(&letter.channel)?;
        if files.known.insert(letter.files_digest.clone()) {
            scratch.clear();
            serde_json::to_writer(
                &mut scratch,
                &MapLine { digest: letter.files_digest.clone(), files: (*letter.content_files).clone() },
            )
            .expect("serialises");
            scratch.push(b'\n');
            files.maps.write_all(&scratch)?;
            files.maps_len += scratch.len() as u64;
        }
        scratch.clear();
        serde_json::to_writer(&mut scratch, &*letter).expect("a staged letter serialises");
        scratch.push(b'\n');
        files.letters.write_all(&scratch)?;
        files.letters_len += scratch.len() as u64;
        self.scratch = scratch;
        Ok(())
    }

    /// Writes what is buffered (before a checkpoint names the lengths).
    pub fn flush(&mut self) -> std::io::Result<()> {
        for files in self.channels.values_mut() {
            files.letters.flush()?;
            files.maps.flush()?;
        }
        Ok(())
    }

    /// File name → bytes staged, for the checkpoint.
    pub fn lengths(&self) -> BTreeMap<String, u64> {
        let mut lengths = BTreeMap::new();
        for (channel, files) in &self.channels {
            lengths.insert(letters_file(channel), files.letters_len);
            lengths.insert(maps_file(channel), files.maps_len);
        }
        lengths
    }

    /// The channels with staged letters.
    pub fn channels(&self) -> Vec<String> {
        self.channels.keys().cloned().collect()
    }
}

/// Reads the maps file up to `len` bytes: digest → map.
fn read_maps(path: &Path, len: u64) -> std::io::Result<HashMap<String, Arc<BTreeMap<String, String>>>> {
    let mut maps = HashMap::new();
    let Ok(file) = File::open(path) else { return Ok(maps) };
    for line in BufReader::new(file.take(len)).lines() {
        let line: MapLine = serde_json::from_str(&line?).map_err(std::io::Error::other)?;
        maps.insert(line.digest, Arc::new(line.files));
    }
    Ok(maps)
}

/// A channel's staged letters, read back at the end of the run.
pub struct Staged {
    letters: File,
    maps: HashMap<String, Arc<BTreeMap<String, String>>>,
    /// Every letter's place and sort key, in input order.
    pub entries: Vec<Entry>,
}

impl Staged {
    /// Opens channel `channel`'s staging in `out_dir`.
    pub fn open(out_dir: &Path, channel: &str) -> std::io::Result<Staged> {
        let dir = out_dir.join(STAGING_DIR);
        let maps_path = dir.join(maps_file(channel));
        let maps_len = std::fs::metadata(&maps_path)?.len();
        let maps = read_maps(&maps_path, maps_len)?;
        let letters = File::open(dir.join(letters_file(channel)))?;
        #[derive(Deserialize)]
        struct Head {
            seq: u64,
            sort_key: Vec<String>,
        }
        let mut entries = Vec::new();
        let mut offset = 0;
        let mut reader = BufReader::with_capacity(1 << 20, &letters);
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = reader.read_until(b'\n', &mut line)? as u64;
            if read == 0 {
                break;
            }
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            let head: Head = serde_json::from_slice(text).map_err(std::io::Error::other)?;
            entries.push(Entry { seq: head.seq, sort_key: head.sort_key, offset, len: text.len() as u64 });
            offset += read;
        }
        drop(reader);
        Ok(Staged { letters, maps, entries })
    }

    /// The letter at `entry`, its content-files map attached.
    pub fn letter(&self, entry: &Entry) -> std::io::Result<StagedLetter> {
        use std::os::unix::fs::FileExt;
        // A positioned read: spools are made on several threads at once.
        let mut bytes = vec![0; entry.len as usize];
        self.letters.read_exact_at(&mut bytes, entry.offset)?;
        let mut letter: StagedLetter = serde_json::from_slice(&bytes).map_err(std::io::Error::other)?;
        letter.content_files =
            self.maps.get(&letter.files_digest).cloned().ok_or_else(|| {
                std::io::Error::other(format!("content-files map {} is not staged", letter.files_digest))
            })?;
        Ok(letter)
    }
}
