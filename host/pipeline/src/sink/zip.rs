//! A ZIP writer for containers: stored (uncompressed) members written front
//! to back, with no seeking, and the same bytes for the same members —
//! every member is dated 1980-01-01 00:00 (the format's first day) and
//! carries no extra fields unless ZIP64 needs them.
//!
//! Members are stored, not deflated: HTML would shrink, but deflate costs
//! more CPU per document than all the rest of writing it, and archives and
//! print shops compress their transfers themselves. ZIP64 records are
//! written when the container passes 4 GiB or 65,535 members, so any size
//! of block opens in `unzip`, Python's `zipfile` and Java's `ZipFile`.

use std::io::{self, Write};

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL: u32 = 0x0605_4b50;
const ZIP64_END: u32 = 0x0606_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
/// Names are UTF-8 (general purpose bit 11).
const UTF8_NAMES: u16 = 1 << 11;
/// 1980-01-01, the earliest MS-DOS date a ZIP can hold.
const DOS_DATE: u16 = (1 << 5) | 1;
/// Made by "Unix, spec 4.5", so that members unpack as `rw-r--r--`.
const MADE_BY: u16 = (3 << 8) | 45;
const REGULAR_FILE_0644: u32 = 0o100_644 << 16;

/// One member as the central directory lists it.
struct Entry {
    name: String,
    crc: u32,
    size: u64,
    offset: u64,
}

/// Writes a ZIP to `out`, one member after the other.
pub struct ZipWriter<W: Write> {
    out: W,
    written: u64,
    entries: Vec<Entry>,
}

impl<W: Write> ZipWriter<W> {
    /// A ZIP written to `out`.
    pub fn new(out: W) -> ZipWriter<W> {
        ZipWriter { out, written: 0, entries: Vec::new() }
    }

    /// Appends member `name` holding `bytes`; returns the offset of its
    /// bytes in the container (after its local header), for an index.
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> io::Result<u64> {
        let size = u32::try_from(bytes.len())
            .ok()
            .filter(|s| *s != u32::MAX)
            .ok_or_else(|| io::Error::other(format!("{name}: a member of 4 GiB or more is not supported")))?;
        let name_len = u16::try_from(name.len()).map_err(|_| io::Error::other(format!("{name}: name too long")))?;
        let crc = crc32fast::hash(bytes);
        let offset = self.written;
        let mut header = Vec::with_capacity(30 + name.len());
        put32(&mut header, LOCAL_HEADER);
        put16(&mut header, 20); // version needed: 2.0
        put16(&mut header, UTF8_NAMES);
        put16(&mut header, 0); // stored
        put16(&mut header, 0); // 00:00
        put16(&mut header, DOS_DATE);
        put32(&mut header, crc);
        put32(&mut header, size);
        put32(&mut header, size);
        put16(&mut header, name_len);
        put16(&mut header, 0); // no extra field
        header.extend_from_slice(name.as_bytes());
        self.out.write_all(&header)?;
        self.out.write_all(bytes)?;
        let data_at = offset + header.len() as u64;
        self.written = data_at + bytes.len() as u64;
        self.entries.push(Entry { name: name.to_owned(), crc, size: u64::from(size), offset });
        Ok(data_at)
    }

    /// Members so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no member was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Writes the central directory and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        let central_at = self.written;
        let mut dir = Vec::with_capacity(self.entries.len() * 80);
        for e in &self.entries {
            let far = e.offset >= u64::from(u32::MAX);
            put32(&mut dir, CENTRAL_HEADER);
            put16(&mut dir, MADE_BY);
            put16(&mut dir, if far { 45 } else { 20 });
            put16(&mut dir, UTF8_NAMES);
            put16(&mut dir, 0);
            put16(&mut dir, 0);
            put16(&mut dir, DOS_DATE);
            put32(&mut dir, e.crc);
            put32(&mut dir, e.size as u32);
            put32(&mut dir, e.size as u32);
            put16(&mut dir, e.name.len() as u16);
            put16(&mut dir, if far { 12 } else { 0 });
            put16(&mut dir, 0); // no comment
            put16(&mut dir, 0); // disk 0
            put16(&mut dir, 0); // internal attributes
            put32(&mut dir, REGULAR_FILE_0644);
            put32(&mut dir, if far { u32::MAX } else { e.offset as u32 });
            dir.extend_from_slice(e.name.as_bytes());
            if far {
                // ZIP64 extended information: only the offset overflows.
                put16(&mut dir, 0x0001);
                put16(&mut dir, 8);
                put64(&mut dir, e.offset);
            }
        }
        let central_size = dir.len() as u64;
        let count = self.entries.len() as u64;
        let zip64 = count >= 0xFFFF || central_at >= u64::from(u32::MAX) || central_size >= u64::from(u32::MAX);
        if zip64 {
            let end_at = central_at + central_size;
            put32(&mut dir, ZIP64_END);
            put64(&mut dir, 44); // size of the rest of this record
            put16(&mut dir, MADE_BY);
            put16(&mut dir, 45);
            put32(&mut dir, 0);
            put32(&mut dir, 0);
            put64(&mut dir, count);
            put64(&mut dir, count);
            put64(&mut dir, central_size);
            put64(&mut dir, central_at);
            put32(&mut dir, ZIP64_LOCATOR);
            put32(&mut dir, 0);
            put64(&mut dir, end_at);
            put32(&mut dir, 1);
        }
        put32(&mut dir, END_OF_CENTRAL);
        put16(&mut dir, 0);
        put16(&mut dir, 0);
        let short_count = if zip64 { 0xFFFF } else { count as u16 };
        put16(&mut dir, short_count);
        put16(&mut dir, short_count);
        put32(&mut dir, if zip64 { u32::MAX } else { central_size as u32 });
        put32(&mut dir, if zip64 { u32::MAX } else { central_at as u32 });
        put16(&mut dir, 0); // no comment
        self.out.write_all(&dir)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn read_back(bytes: Vec<u8>) -> Vec<(String, Vec<u8>)> {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut member = archive.by_index(i).unwrap();
                let mut data = Vec::new();
                member.read_to_end(&mut data).unwrap();
                (member.name().to_owned(), data)
            })
            .collect()
    }

    #[test]
    fn members_read_back_with_an_independent_reader_and_offsets_point_at_their_bytes() {
        let mut zip = ZipWriter::new(Vec::new());
        let a = zip.add("INV-1.html", b"<p>one</p>").unwrap();
        let b = zip.add("réf-2.html", b"").unwrap();
        let c = zip.add("INV-3.html", "€ three".as_bytes()).unwrap();
        let bytes = zip.finish().unwrap();
        assert_eq!(&bytes[a as usize..a as usize + 10], b"<p>one</p>");
        assert_eq!(&bytes[c as usize..c as usize + 9], "€ three".as_bytes());
        assert!(b < c);
        let members = read_back(bytes);
        assert_eq!(
            members,
            vec![
                ("INV-1.html".to_owned(), b"<p>one</p>".to_vec()),
                ("réf-2.html".to_owned(), Vec::new()),
                ("INV-3.html".to_owned(), "€ three".as_bytes().to_vec()),
            ]
        );
    }

    #[test]
    fn the_same_members_make_the_same_bytes() {
        let make = || {
            let mut zip = ZipWriter::new(Vec::new());
            zip.add("a.txt", b"alpha").unwrap();
            zip.add("b.txt", b"beta").unwrap();
            zip.finish().unwrap()
        };
        assert_eq!(make(), make());
    }

    #[test]
    fn an_empty_container_is_a_valid_zip() {
        let bytes = ZipWriter::new(Vec::new()).finish().unwrap();
        assert_eq!(bytes.len(), 22);
        assert!(read_back(bytes).is_empty());
    }

    #[test]
    fn more_than_65535_members_switch_to_zip64() {
        let mut zip = ZipWriter::new(Vec::new());
        for i in 0..70_000 {
            zip.add(&format!("{i}.txt"), b"x").unwrap();
        }
        let bytes = zip.finish().unwrap();
        let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(archive.len(), 70_000);
    }
}
