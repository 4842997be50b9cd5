//! Where a billing export may be cut into shards (contract 0.3.0).
//!
//! A shard must start where a new document starts, so a cut is the first
//! row whose `document_id` differs from the last row that had one: exactly
//! where the translator itself completes a document. The rows are framed by
//! the same CSV reader the translator uses ([`CsvStream`]), so a quoted
//! field with line breaks inside is never cut, and a cut is always at the
//! start of a row (never inside a UTF-8 character). Rows are not decoded
//! beyond the one field: splitting costs a fraction of translating.
//!
//! The state a cut carries is the header row as it appears in the source
//! (without its byte-order mark): a session starting at the cut reads it
//! first, to learn the delimiter and the columns, then goes on at the
//! cut's offset and line.

use crate::csvstream::{CsvStream, RawRow, decode, first_bad_field};
use crate::document::Columns;
use std::borrow::Cow;

/// Headers longer than this make a source that is not cut (a cut carries
/// the header, and the contract caps a cut's state at 64 KiB).
const MAX_STATE: usize = 64 * 1024;

/// A cut: offset, line and the header bytes.
pub struct Cut {
    pub offset: u64,
    pub line: u32,
    pub state: Vec<u8>,
}

enum Header {
    /// Not read yet: the bytes so far (a header may span chunks).
    Reading(Vec<u8>),
    /// Read: its bytes and the index of `document_id`.
    Known { state: Vec<u8>, id_column: usize },
    /// Unusable (invalid, too long, or no `document_id`): the translator
    /// rejects every row of such a source, and it is not cut.
    Unusable,
}

/// Scans one source for cuts.
pub struct Splitter {
    min_gap: u64,
    stream: CsvStream,
    header: Header,
    /// The last document id seen (trimmed), the one a row must differ from.
    last_id: Option<String>,
    /// Offset of the last cut (0: the source's start).
    last_cut: u64,
}

impl Splitter {
    pub fn new(min_gap: u64) -> Self {
        Splitter {
            min_gap: min_gap.max(1),
            stream: CsvStream::new(),
            header: Header::Reading(Vec::new()),
            last_id: None,
            last_cut: 0,
        }
    }

    /// Scans a chunk (or, with `eof`, the end); pushes the cuts found.
    pub fn push(&mut self, chunk: &[u8], eof: bool, cuts: &mut Vec<Cut>) {
        if let Header::Reading(head) = &mut self.header {
            head.extend_from_slice(chunk);
            if head.len() > MAX_STATE + 3 {
                self.header = Header::Unusable;
            }
        }
        if matches!(self.header, Header::Unusable) {
            return;
        }
        let Splitter { min_gap, stream, header, last_id, last_cut } = self;
        stream.push_raw(chunk, eof, |row| match header {
            Header::Reading(head) => *header = read_header(head, row),
            Header::Unusable => {}
            Header::Known { state, id_column } => {
                let Some(id) = document_key(&row, *id_column) else { return };
                if last_id.as_deref() == Some(&*id) {
                    return;
                }
                // The id's buffer is reused: a row allocates nothing.
                let last = last_id.get_or_insert_with(String::new);
                last.clear();
                last.push_str(&id);
                if row.start >= *last_cut + *min_gap {
                    *last_cut = row.start;
                    cuts.push(Cut { offset: row.start, line: row.line, state: state.clone() });
                }
            }
        });
    }
}

/// The header row: its bytes (as the source has them, from just after a
/// byte-order mark to the row's end) and where `document_id` is.
fn read_header(head: &[u8], row: RawRow<'_>) -> Header {
    let bom = if head.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    let Some(state) = head.get(bom..row.end as usize) else { return Header::Unusable };
    if row.start != bom as u64 || state.len() > MAX_STATE {
        return Header::Unusable;
    }
    let state = state.to_vec();
    match decode(row) {
        Some(Ok(row)) => {
            match Columns::from_header(&row).ok().and_then(|c| c.position(crate::document::col::DOCUMENT_ID)) {
                Some(id_column) => Header::Known { state, id_column },
                None => Header::Unusable,
            }
        }
        _ => Header::Unusable,
    }
}

/// The document id a row joins, as the translator reads it: trimmed, from
/// a row that decodes, or from a row that does not when the id's own field
/// is not the one at fault. `None` for rows that join no document (blank,
/// too long, no such field, empty id): they never start one either.
///
/// Only the id's field is decoded: when it is valid UTF-8 on its own, it
/// reads the same whether the rest of the row decodes or not (the first
/// field at fault is then another one), so the row is not checked whole.
fn document_key<'r>(row: &RawRow<'r>, id_column: usize) -> Option<Cow<'r, str>> {
    if row.oversized {
        return None;
    }
    let field = row.fields.get(id_column)?;
    let id = match std::str::from_utf8(field) {
        Ok(text) => Cow::Borrowed(text.trim()),
        Err(_) if first_bad_field(row.fields) == id_column + 1 => return None,
        Err(_) => Cow::Owned(String::from_utf8_lossy(field).trim().to_owned()),
    };
    (!id.is_empty()).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cuts(input: &[u8], min_gap: u64, chunk: usize) -> Vec<(u64, u32)> {
        let mut s = Splitter::new(min_gap);
        let mut cuts = Vec::new();
        for c in input.chunks(chunk.max(1)) {
            s.push(c, false, &mut cuts);
        }
        s.push(&[], true, &mut cuts);
        cuts.into_iter().map(|c| (c.offset, c.line)).collect()
    }

    /// A header with every required column, `document_id` first and
    /// `line_description` last, for rows `id,...,description`.
    fn export(rows: &[(&str, &str)], delimiter: &str) -> String {
        let others = crate::document::REQUIRED.iter().filter(|c| !["document_id", "line_description"].contains(c));
        let mut header = vec!["document_id"];
        header.extend(others);
        header.push("line_description");
        let filler = delimiter.repeat(header.len() - 2);
        let mut csv = header.join(delimiter) + "\n";
        for (id, description) in rows {
            csv += &format!("{id}{delimiter}{filler}{description}\n");
        }
        csv
    }

    #[test]
    fn cuts_where_a_document_starts_and_never_inside_a_quoted_line_break() {
        let rows = [("A", "x"), ("A", "\"two\r\nB,lines\""), ("B", "y"), ("B", "z"), ("C", "w")];
        let csv = export(&rows, ",");
        let start = |needle: &str| csv.find(needle).unwrap() as u64 + 1;
        // B starts on line 5: the quoted field spans lines 3 and 4.
        let expected = [(start("\nA,"), 2), (start("\nB,,"), 5), (start("\nC,"), 7)];
        for chunk in [1, 2, 7, 100] {
            assert_eq!(cuts(csv.as_bytes(), 1, chunk), expected, "chunk {chunk}");
            let past_b = expected[1].0 + 1;
            assert_eq!(cuts(csv.as_bytes(), past_b, chunk), [expected[2]], "no cut closer than the gap");
        }
    }

    #[test]
    fn a_cut_after_a_crlf_row_is_at_the_next_row_on_its_line() {
        let csv = export(&[("A", "1"), ("B", "2")], ",").replace('\n', "\r\n");
        let at_b = csv.find("\nB,").unwrap() as u64 + 1;
        assert_eq!(cuts(csv.as_bytes(), 1, 5).last(), Some(&(at_b, 3)));
    }

    #[test]
    fn a_header_without_document_id_is_never_cut() {
        assert_eq!(cuts(b"a,b\n1,2\n3,4\n", 1, 3), []);
    }

    #[test]
    fn the_state_is_the_header_without_its_byte_order_mark() {
        let mut s = Splitter::new(1);
        let mut cuts = Vec::new();
        let csv = export(&[("A", "1"), ("B", "2")], ";").replace('\n', "\r\n");
        s.push(format!("\u{feff}{csv}").as_bytes(), true, &mut cuts);
        assert_eq!(cuts.len(), 2, "at A and at B");
        // csv-core ends a row at the `\r` of its CRLF.
        let header_end = csv.find('\r').unwrap() + 1;
        assert_eq!(cuts[0].state, &csv.as_bytes()[..header_end]);
    }
}
