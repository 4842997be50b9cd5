//! A push-style CSV row reader: bytes go in in chunks of any size, complete
//! rows come out with the line they started on.
//!
//! It strips a UTF-8 byte-order mark, detects the delimiter (`,` or `;`) from
//! the header line, and checks that every field is valid UTF-8, reporting the
//! 1-based line and field number when it is not.

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};

/// A row's fields in one buffer: field `i` ends at `ends[i]` and the next
/// starts `gap` bytes later — 0 for csv-core's unescaped fields written one
/// after the other, 1 for a quote-free row as the source has it (one
/// delimiter between fields), which is then not copied at all.
pub struct Fields<'a, B: ?Sized = [u8]> {
    /// The fields' bytes (and delimiters, with a gap).
    pub bytes: &'a B,
    /// Where each field ends in `bytes`.
    pub ends: &'a [usize],
    /// Bytes between a field's end and the next one's start.
    pub gap: usize,
}

// By hand: a derive would ask `B: Copy` of the unsized `[u8]` and `str`.
impl<B: ?Sized> Clone for Fields<'_, B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<B: ?Sized> Copy for Fields<'_, B> {}

impl<'a, B: ?Sized + std::ops::Index<std::ops::Range<usize>>> Fields<'a, B> {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Field `i` (0-based), if the row has it.
    pub fn get(&self, i: usize) -> Option<&'a B::Output> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] + self.gap };
        Some(&self.bytes[start..end])
    }
}

/// One CSV row, fields decoded. Borrowed, not copied: a row is used while
/// the reader hands it over and then forgotten, so reading one allocates
/// nothing.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    /// Line the row starts on (1-based).
    pub line: u32,
    text: Fields<'a, str>,
}

impl<'a> Row<'a> {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Field `i` (0-based), if the row has it.
    pub fn field(&self, i: usize) -> Option<&'a str> {
        self.text.get(i)
    }

    /// The fields, in order.
    pub fn fields(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.len()).filter_map(|i| self.field(i))
    }
}

/// A row that could not be decoded.
pub struct RowError {
    /// Line the row starts on (1-based).
    pub line: u32,
    /// 1-based field number the problem is in.
    pub field: usize,
    /// What is wrong.
    pub message: String,
    /// Every field, invalid bytes replaced; fields other than `field` are
    /// exact, so the row can still be attributed to its document.
    pub lossy: Vec<String>,
}

/// The longest header line we buffer while looking for the delimiter.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// The longest row we accept; a longer one is almost certainly a broken quote.
const MAX_ROW_BYTES: usize = 1024 * 1024;

enum State {
    /// Still looking at the first bytes (BOM, header line).
    Sniffing(Vec<u8>),
    /// Delimiter known; parsing. (Boxed: the reader's tables are large.)
    Parsing(Box<Reader>),
}

/// The streaming reader.
pub struct CsvStream {
    state: State,
    row: RowBuffer,
    /// 1-based line the current row starts on (csv-core's `line()` after
    /// the previous row, which counts from 1, plus `line_shift`).
    row_start_line: u64,
    /// Bytes of the source taken in so far (byte-order mark included).
    consumed: u64,
    /// Offset in the source where the row being read starts.
    row_start_offset: u64,
    /// Where the source's row after the header really starts, for a stream
    /// that reads a shard: the header, then the bytes from a cut.
    resume: Option<(u64, u64)>,
    /// What to add to csv-core's line count (non-zero in a shard).
    line_shift: u64,
    /// Rows completed so far, the header included.
    records: u64,
    /// The last row ended at a `\r`: csv-core takes the `\n` of a CRLF with
    /// the next row, so that row really starts one byte and one line later.
    after_cr: bool,
    /// csv-core is between rows (it completed one and has taken nothing
    /// since), so a row may be framed without it ([`quote_free_row`]).
    at_row_start: bool,
    /// The delimiter the header line chose.
    delimiter: u8,
    /// Quote-free rows are framed without csv-core (off only in the test
    /// that compares the two).
    frame_quote_free: bool,
}

/// A row as csv-core completed it, before it is decoded.
pub struct RawRow<'a> {
    /// Line the row starts on (1-based).
    pub line: u32,
    /// Offset of the row's first byte in the source.
    pub start: u64,
    /// Offset just after the row (where the next one starts).
    pub end: u64,
    /// The unescaped bytes of every field.
    pub fields: Fields<'a>,
    /// The row was too long; its bytes were dropped.
    pub oversized: bool,
}

/// The unescaped bytes and field ends of the row being read.
struct RowBuffer {
    out: Vec<u8>,
    out_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
    /// Set when the current row grew past `MAX_ROW_BYTES`; the rest of it is skipped.
    oversized: bool,
}

impl CsvStream {
    /// A reader that has seen no bytes yet.
    pub fn new() -> Self {
        CsvStream {
            state: State::Sniffing(Vec::new()),
            row: RowBuffer { out: vec![0; 4096], out_len: 0, ends: vec![0; 64], ends_len: 0, oversized: false },
            row_start_line: 1,
            consumed: 0,
            row_start_offset: 0,
            resume: None,
            line_shift: 0,
            records: 0,
            after_cr: false,
            at_row_start: false,
            delimiter: b',',
            frame_quote_free: true,
        }
    }

    /// A reader for the shard of a source that starts at byte `offset`, on
    /// `line`, after reading the source's `header` row (the bytes a
    /// splitter kept, see [`crate::split`]), whose row it hands to
    /// `on_row`. It is then fed the shard's bytes, and reports lines and
    /// offsets as they are in the whole source.
    pub fn resuming(offset: u64, line: u64, header: &[u8], mut on_row: impl FnMut(Result<Row<'_>, RowError>)) -> Self {
        let mut stream = CsvStream { resume: Some((offset, line)), ..CsvStream::new() };
        // The header is whole: read it without waiting for a line end (a
        // CRLF header's `\n` belongs to the row after it).
        stream.state = State::Sniffing(header.to_vec());
        stream.push(&[], false, &mut on_row);
        if let State::Sniffing(_) = stream.state {
            let mut on_row = |raw: RawRow<'_>| {
                if let Some(row) = decode(raw) {
                    on_row(row);
                }
            };
            let header = match std::mem::replace(&mut stream.state, State::Sniffing(Vec::new())) {
                State::Sniffing(header) => header,
                State::Parsing(_) => unreachable!(),
            };
            stream.start_parsing(&header, &mut on_row);
        }
        stream
    }

    /// Feeds a chunk (or, with `eof`, the end of the source) and hands every
    /// row the chunk completed to `on_row`.
    pub fn push(&mut self, chunk: &[u8], eof: bool, mut on_row: impl FnMut(Result<Row<'_>, RowError>)) {
        self.push_raw(chunk, eof, |raw| {
            if let Some(row) = decode(raw) {
                on_row(row);
            }
        });
    }

    /// Like [`Self::push`], handing each row over undecoded.
    pub fn push_raw(&mut self, chunk: &[u8], eof: bool, mut on_row: impl FnMut(RawRow<'_>)) {
        if let State::Sniffing(buf) = &mut self.state {
            buf.extend_from_slice(chunk);
            let has_header_line = buf.contains(&b'\n');
            if !has_header_line && !eof && buf.len() < MAX_HEADER_BYTES {
                return;
            }
            let buffered = std::mem::take(buf);
            self.start_parsing(&buffered, &mut on_row);
        } else {
            self.parse(chunk, &mut on_row);
        }
        if eof {
            // An empty input tells csv-core the data has ended.
            self.parse(&[], &mut on_row);
        }
    }

    /// Leaves sniffing: strips a byte-order mark, picks the delimiter from
    /// the header line, and parses the bytes buffered so far.
    fn start_parsing(&mut self, buffered: &[u8], on_row: &mut impl FnMut(RawRow<'_>)) {
        let body = match buffered.strip_prefix(b"\xEF\xBB\xBF") {
            Some(body) => {
                self.consumed += 3;
                body
            }
            None => buffered,
        };
        self.delimiter = sniff_delimiter(body);
        let reader = ReaderBuilder::new().delimiter(self.delimiter).build();
        self.state = State::Parsing(Box::new(reader));
        self.at_row_start = true;
        self.row_start_offset = self.consumed;
        self.parse(body, on_row);
    }

    fn parse(&mut self, mut input: &[u8], on_row: &mut impl FnMut(RawRow<'_>)) {
        let State::Parsing(reader) = &mut self.state else { return };
        let at_end = input.is_empty();
        let buf = &mut self.row;
        // What every completed row does, framed by csv-core or not.
        macro_rules! completed {
            ($fields:expr, $oversized:expr, $ended_at_cr:expr) => {{
                let (start, end) = (self.row_start_offset, self.consumed);
                on_row(RawRow { line: self.row_start_line as u32, start, end, fields: $fields, oversized: $oversized });
                self.records += 1;
                if let (1, Some((offset, line))) = (self.records, self.resume) {
                    // The header is read: what follows is the shard, which
                    // starts at `offset` on `line` of the whole source.
                    self.consumed = offset;
                    self.line_shift = line - reader.line();
                }
                self.row_start_offset = self.consumed;
                self.row_start_line = reader.line() + self.line_shift;
                self.after_cr = $ended_at_cr;
                self.at_row_start = true;
            }};
        }
        loop {
            if self.after_cr && !input.is_empty() {
                if input[0] == b'\n' {
                    self.row_start_line += 1;
                    self.row_start_offset += 1;
                }
                self.after_cr = false;
            }
            if self.at_row_start
                && self.frame_quote_free
                && let Some(row) = quote_free_row(input)
            {
                // csv-core would read this row exactly so (see
                // `quote_free_row`), and stays between rows meanwhile.
                let bytes = &input[row.fields.clone()];
                let ends = buf.delimiters(bytes, self.delimiter);
                reader.set_line(reader.line() + row.newlines);
                let ended_at_cr = input[row.consumed - 1] == b'\r';
                self.consumed += row.consumed as u64;
                completed!(Fields { bytes, ends, gap: 1 }, false, ended_at_cr);
                input = &input[row.consumed..];
                continue;
            }
            let (result, nin, nout, nend) =
                reader.read_record(input, &mut buf.out[buf.out_len..], &mut buf.ends[buf.ends_len..]);
            let ended_at_cr = nin > 0 && input[nin - 1] == b'\r';
            input = &input[nin..];
            self.consumed += nin as u64;
            buf.out_len += nout;
            buf.ends_len += nend;
            self.at_row_start = false;
            match result {
                ReadRecordResult::InputEmpty => {
                    if !at_end {
                        return;
                    }
                }
                ReadRecordResult::OutputFull => {
                    if buf.out.len() >= MAX_ROW_BYTES {
                        // Keep parsing (to find the row's end) but drop its bytes.
                        buf.oversized = true;
                        buf.out_len = 0;
                    } else {
                        let len = buf.out.len() * 2;
                        buf.out.resize(len, 0);
                    }
                }
                ReadRecordResult::OutputEndsFull => {
                    let len = buf.ends.len() * 2;
                    buf.ends.resize(len, 0);
                }
                ReadRecordResult::Record => {
                    let out_len = std::mem::take(&mut buf.out_len);
                    let ends_len = std::mem::take(&mut buf.ends_len);
                    let oversized = std::mem::take(&mut buf.oversized);
                    let fields = Fields { bytes: &buf.out[..out_len], ends: &buf.ends[..ends_len], gap: 0 };
                    completed!(fields, oversized, ended_at_cr);
                }
                ReadRecordResult::End => return,
            }
        }
    }
}

impl RowBuffer {
    /// Where each field of a quote-free row ends: at each delimiter, and
    /// at the row's end. Found eight bytes at a time.
    fn delimiters(&mut self, row: &[u8], delimiter: u8) -> &[usize] {
        let mut n = 0;
        let mut push = |end: usize, ends: &mut Vec<usize>| {
            if n == ends.len() {
                ends.resize(ends.len() * 2, 0);
            }
            ends[n] = end;
            n += 1;
        };
        let mut at = 0;
        while let Some(word) = row.get(at..at + 8) {
            let mut found = equal_bytes(u64::from_le_bytes(word.try_into().expect("eight bytes")), delimiter);
            while found != 0 {
                push(at + found.trailing_zeros() as usize / 8, &mut self.ends);
                found &= found - 1;
            }
            at += 8;
        }
        for (i, &b) in row[at..].iter().enumerate() {
            if b == delimiter {
                push(at + i, &mut self.ends);
            }
        }
        push(row.len(), &mut self.ends);
        &self.ends[..n]
    }
}

/// Where a row that csv-core would read without quoting rules lies in
/// `input`, which starts between two rows.
struct QuoteFreeRow {
    /// The row's bytes, without the blank lines before it and its line end.
    fields: std::ops::Range<usize>,
    /// Bytes csv-core takes for it: blank lines, the row, its `\r` or `\n`.
    consumed: usize,
    /// `\n`s among them (csv-core's line count).
    newlines: u64,
}

/// The next row when it is whole in `input` and has no `"`: then csv-core
/// (default settings: `"` quotes, a line ends at `\r`, `\n` or both) skips
/// blank lines, ends each field at the delimiter and the row at its first
/// `\r` or `\n` — which this finds eight bytes at a time instead of
/// stepping through csv-core's automaton byte by byte. A row with a quote,
/// or not ended in `input`, is csv-core's to read.
fn quote_free_row(input: &[u8]) -> Option<QuoteFreeRow> {
    let start = input.iter().position(|&b| b != b'\r' && b != b'\n')?;
    let newlines_before = input[..start].iter().filter(|&&b| b == b'\n').count() as u64;
    let end = start + position_of_any(&input[start..], [b'"', b'\r', b'\n'])?;
    if input[end] == b'"' {
        return None;
    }
    Some(QuoteFreeRow {
        fields: start..end,
        consumed: end + 1,
        newlines: newlines_before + u64::from(input[end] == b'\n'),
    })
}

/// Index of the first of the three bytes `any` in `bytes`, looked for eight
/// bytes at a time.
fn position_of_any(bytes: &[u8], any: [u8; 3]) -> Option<usize> {
    let mut at = 0;
    while let Some(word) = bytes.get(at..at + 8) {
        let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let found = equal_bytes(w, any[0]) | equal_bytes(w, any[1]) | equal_bytes(w, any[2]);
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    bytes[at..].iter().position(|byte| any.contains(byte)).map(|i| at + i)
}

/// The high bit of every byte of `word` (little-endian) that equals
/// `byte`, and no other bit: exact per byte (no borrow runs from one byte
/// into the next, as it does in the shorter zero-byte test).
fn equal_bytes(word: u64, byte: u8) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let x = word ^ (0x0101_0101_0101_0101 * u64::from(byte));
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// Decodes a completed row: `None` for a blank line (not a record).
pub fn decode(raw: RawRow<'_>) -> Option<Result<Row<'_>, RowError>> {
    let line = raw.line;
    if raw.oversized {
        return Some(Err(RowError {
            line,
            field: 1,
            message: format!("row is longer than {MAX_ROW_BYTES} bytes (an unclosed quote?)"),
            lossy: Vec::new(),
        }));
    }
    let fields = raw.fields;
    match whole_text(fields) {
        Some(text) => {
            let row = Row { line, text };
            // A line of blanks (whatever its delimiters) is not a record.
            if row.fields().all(|f| f.trim().is_empty()) {
                return None;
            }
            Some(Ok(row))
        }
        None => {
            // Which field holds the invalid byte, with every field decoded
            // lossily so the row can still be attributed to its document.
            let mut lossy = Vec::with_capacity(fields.len());
            let mut first_bad = None;
            for i in 0..fields.len() {
                let raw = fields.get(i).expect("a field of the row");
                if let Err(e) = std::str::from_utf8(raw) {
                    first_bad.get_or_insert((i + 1, e.valid_up_to()));
                }
                lossy.push(String::from_utf8_lossy(raw).into_owned());
            }
            let (field, offset) = first_bad.unwrap_or((1, 0));
            Some(Err(RowError {
                line,
                field,
                message: format!("field is not valid UTF-8 (invalid byte at offset {offset})"),
                lossy,
            }))
        }
    }
}

/// The row's text when it is valid UTF-8 and every field end falls on a
/// character boundary (csv-core stores fields without their delimiters, so
/// two invalid halves could otherwise join into one valid character; with
/// the delimiters kept, an ASCII byte, they cannot).
pub fn whole_text(fields: Fields<'_>) -> Option<Fields<'_, str>> {
    let text = std::str::from_utf8(fields.bytes).ok()?;
    if fields.gap == 0 && !fields.ends.iter().all(|&e| text.is_char_boundary(e)) {
        return None;
    }
    Some(Fields { bytes: text, ends: fields.ends, gap: fields.gap })
}

/// The 1-based number of the first field that is not valid UTF-8 on its
/// own (1 when none is: the row is broken across two fields).
pub fn first_bad_field(fields: Fields<'_>) -> usize {
    (0..fields.len())
        .find(|&i| std::str::from_utf8(fields.get(i).expect("a field of the row")).is_err())
        .map_or(1, |i| i + 1)
}

/// `;` when the header line has more semicolons than commas outside quotes.
fn sniff_delimiter(body: &[u8]) -> u8 {
    let header = body.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let (mut commas, mut semicolons, mut quoted) = (0, 0, false);
    for &b in header {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas { b';' } else { b',' }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each row as (line, fields), or as its error.
    fn rows(input: &[u8]) -> Vec<Result<(u32, Vec<String>), RowError>> {
        let mut stream = CsvStream::new();
        let mut rows = Vec::new();
        stream.push(input, true, |row| rows.push(row.map(|r| (r.line, r.fields().map(str::to_owned).collect()))));
        rows
    }

    #[test]
    fn fields_come_out_of_one_buffer() {
        let mut stream = CsvStream::new();
        let mut seen = 0;
        stream.push(b"a,b,c\n1,\"x, y\",\n", true, |row| {
            let row = row.ok().unwrap();
            if row.line == 2 {
                assert_eq!(row.fields().collect::<Vec<_>>(), ["1", "x, y", ""]);
                assert_eq!((row.len(), row.field(3)), (3, None));
            }
            seen += 1;
        });
        assert_eq!(seen, 2);
    }

    /// Every row as csv-core alone frames it and as the quote-free path
    /// does: the same lines, offsets, fields and field ends, for inputs of
    /// delimiters, quotes, line ends of every kind, blank lines and
    /// multi-byte text, fed in chunks of every size.
    #[test]
    fn rows_framed_without_csv_core_are_the_rows_csv_core_frames() {
        /// (line, start, end, fields, oversized, decoded) of a row.
        type Framed = (u32, u64, u64, Vec<Vec<u8>>, bool, String);
        fn framed(input: &[u8], chunk: usize, fast: bool) -> Vec<Framed> {
            let mut stream = CsvStream::new();
            stream.frame_quote_free = fast;
            let mut rows = Vec::new();
            let mut on_row = |r: RawRow<'_>| {
                let fields = (0..r.fields.len()).map(|i| r.fields.get(i).unwrap().to_vec()).collect();
                // And what decoding makes of it: blank, fields, or the field at fault.
                let decoded = match decode(RawRow { ..r }) {
                    None => "blank".to_owned(),
                    Some(Ok(row)) => row.fields().collect::<Vec<_>>().join("|"),
                    Some(Err(e)) => format!("field {} {:?}", e.field, e.lossy),
                };
                rows.push((r.line, r.start, r.end, fields, r.oversized, decoded))
            };
            for c in input.chunks(chunk) {
                stream.push_raw(c, false, &mut on_row);
            }
            stream.push_raw(&[], true, &mut on_row);
            rows
        }
        let pieces: [&[u8]; 14] = [
            b"a",
            b"bc",
            b",",
            b";",
            b"\"",
            b"\"\"",
            b"\r",
            b"\n",
            b"\r\n",
            b" ",
            "é".as_bytes(),
            b"12.5",
            b"\xC3",
            b"\xA9",
        ];
        let mut seed = 0x1234_5678_9ABC_DEF1u64;
        let mut next = |below: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % below
        };
        for case in 0..400 {
            let mut input = b"h1,h2;h3\n".to_vec();
            // Mostly plain rows (the fast path), some with quotes.
            for _ in 0..next(200) {
                let piece = if next(10) < 8 {
                    pieces[[0, 1, 2, 3, 7, 9, 10, 11][next(8) as usize]]
                } else {
                    pieces[next(14) as usize]
                };
                input.extend_from_slice(piece);
            }
            for chunk in [1, 2, 3, 7, 64, 4096] {
                assert_eq!(
                    framed(&input, chunk, true),
                    framed(&input, chunk, false),
                    "case {case}, chunks of {chunk}: {:?}",
                    String::from_utf8_lossy(&input)
                );
            }
        }
    }

    #[test]
    fn equal_bytes_marks_exactly_the_equal_bytes() {
        let mut seed = 0x0F1E_2D3C_4B5A_6978u64;
        for _ in 0..100_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            // Words rich in the byte looked for and its neighbours.
            let word = seed & 0x0303_0303_0303_0303 ^ 0x2C2C_2C2C_2C2C_2C2C;
            let wanted = word
                .to_le_bytes()
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b',')
                .fold(0, |m, (i, _)| m | 0x80 << (8 * i));
            assert_eq!(equal_bytes(word, b','), wanted, "{word:#018x}");
            assert_eq!(
                equal_bytes(seed, seed as u8).count_ones(),
                seed.to_le_bytes().iter().filter(|b| **b == seed as u8).count() as u32
            );
        }
    }

    #[test]
    fn rows_after_crlf_line_ends_have_their_own_line_numbers() {
        let rows = rows(b"a,b\r\n1,2\r\n3,4\r\n");
        let lines: Vec<u32> = rows.iter().map(|r| r.as_ref().ok().unwrap().0).collect();
        assert_eq!(lines, [1, 2, 3]);
    }

    #[test]
    fn halves_of_a_character_in_two_fields_are_invalid() {
        // 0xC3 0xA9 is "é", but split over two fields each half is invalid.
        let rows = rows(b"a,b\n\xC3,\xA9\n");
        let Err(e) = &rows[1] else { panic!("a row with invalid fields was accepted") };
        assert_eq!((e.line, e.field), (2, 1));
    }
}
