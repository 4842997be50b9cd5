//! `csv-billing`: a tessera translator for billing-system CSV exports.
//!
//! The export has a header row and one row per invoice line; consecutive
//! rows with the same `document_id` form one document, which becomes one CDM
//! 1.0 record. Either `,` or `;` separates fields (detected from the header),
//! fields may be quoted, the file is UTF-8 with or without a byte-order mark,
//! and decimals may use `.` or `,`. A bad row rejects its document with the
//! row's line number and column name; the rest of the file goes on.
//!
//! The export can be cut into shards that translate independently (contract
//! 0.3.0): see [`split`] for where, and [`Session`] for how a shard starts.

mod csvstream;
mod decimal;
mod document;
mod json;
mod split;

use csvstream::{CsvStream, Row, RowError};
use document::{Columns, LineRow, Pending, Problem, col};
use std::cell::RefCell;
use std::rc::Rc;

wit_bindgen::generate!({
    world: "translator",
    path: "../../../wit/v0.3",
});

use exports::tessera::plugin::translate::{Cut, Emitted, Guest, GuestSession, GuestSplitter, Outcome};
use tessera::plugin::types::{ErrorCode, Location, PluginError};

struct CsvBilling;

impl Guest for CsvBilling {
    type Session = Session;
    type Splitter = Splitter;
}

/// Finds where one source may be cut.
pub struct Splitter {
    inner: RefCell<split::Splitter>,
}

impl GuestSplitter for Splitter {
    fn new(_source_name: String, min_gap: u64) -> Self {
        Splitter { inner: RefCell::new(split::Splitter::new(min_gap)) }
    }

    fn feed(&self, chunk: Vec<u8>) -> Vec<Cut> {
        self.push(&chunk, false)
    }

    fn finish(&self) -> Vec<Cut> {
        self.push(&[], true)
    }
}

impl Splitter {
    fn push(&self, chunk: &[u8], eof: bool) -> Vec<Cut> {
        let mut cuts = Vec::new();
        self.inner.borrow_mut().push(chunk, eof, &mut cuts);
        cuts.into_iter().map(|c| Cut { offset: c.offset, line: c.line, state: c.state }).collect()
    }
}

/// One CSV source being translated, from its start or from a cut: then
/// the cut's state (the header row) is read first, and the rows after it
/// are numbered as in the whole source.
pub struct Session {
    inner: RefCell<Inner>,
}

struct Inner {
    reader: CsvStream,
    documents: Documents,
}

/// Turns rows into documents: the columns, and the document being assembled.
struct Documents {
    source: String,
    columns: Option<Result<Rc<Columns>, String>>,
    pending: Option<Pending>,
}

impl GuestSession for Session {
    fn new(source_name: String, start: Option<Cut>) -> Self {
        let mut documents = Documents { source: source_name, columns: None, pending: None };
        // The header's own outcomes (an invalid header) were the first
        // shard's to report; a shard only needs its columns.
        let mut ignored = Vec::new();
        let reader = match &start {
            Some(cut) => CsvStream::resuming(cut.offset, u64::from(cut.line), &cut.state, |row| {
                if let Ok(row) = row {
                    documents.row(row, &mut ignored);
                }
            }),
            None => CsvStream::new(),
        };
        Session { inner: RefCell::new(Inner { reader, documents }) }
    }

    fn feed(&self, chunk: Vec<u8>) -> Vec<Outcome> {
        self.inner.borrow_mut().push(&chunk, false)
    }

    fn finish(&self) -> Vec<Outcome> {
        self.inner.borrow_mut().push(&[], true)
    }
}

impl Inner {
    fn push(&mut self, chunk: &[u8], eof: bool) -> Vec<Outcome> {
        let Inner { reader, documents } = self;
        let mut out = Vec::new();
        reader.push(chunk, eof, |row| match row {
            Ok(row) => documents.row(row, &mut out),
            Err(e) => documents.undecodable(e, &mut out),
        });
        if eof {
            if let Some(pending) = documents.pending.take() {
                out.push(documents.complete(pending));
            }
            if documents.columns.is_none() {
                out.push(Outcome::Rejected(error(
                    &documents.source,
                    1,
                    None,
                    "the source is empty: no header row".into(),
                )));
            }
        }
        out
    }
}

impl Documents {
    fn row(&mut self, row: Row<'_>, out: &mut Vec<Outcome>) {
        let columns = match &self.columns {
            None => {
                self.columns = Some(Columns::from_header(&row).map(Rc::new).map_err(|p| p.message));
                if let Some(Err(message)) = &self.columns {
                    out.push(Outcome::Rejected(error(
                        &self.source,
                        row.line,
                        None,
                        format!("invalid header: {message}"),
                    )));
                }
                return;
            }
            Some(Err(message)) => {
                let message = format!("row not read: the header (line 1) is invalid: {message}");
                out.push(Outcome::Rejected(error(&self.source, row.line, None, message)));
                return;
            }
            Some(Ok(columns)) => Rc::clone(columns),
        };
        let line = match LineRow::new(&columns, row) {
            Ok(line) => line,
            Err(problem) => {
                // A row we cannot trust: it rejects the document it names, if
                // it names one, so that no invoice is sent with a line missing.
                let id = columns.position(col::DOCUMENT_ID).and_then(|i| row.field(i)).map(|s| s.trim().to_owned());
                self.fail_row(id, problem, out);
                return;
            }
        };
        let id = line.document_id().to_owned();
        if id.is_empty() {
            out.push(Outcome::Rejected(problem_error(&self.source, line.problem(col::DOCUMENT_ID, "is empty".into()))));
            return;
        }
        match &mut self.pending {
            Some(p) if p.document_id == id => p.add_line(&line),
            _ => {
                if let Some(done) = self.pending.take() {
                    out.push(self.complete(done));
                }
                // A document id seen before (rows not consecutive) is the
                // host's to refuse: it checks every source's ids once, in
                // input order, without this translator keeping them all.
                self.pending = Some(Pending::start(&line));
            }
        }
    }

    /// A row that cannot be used rejects the document it names: the one
    /// being assembled, or a new one that later rows of the same id join, so
    /// that no invoice is ever sent with a line missing.
    fn fail_row(&mut self, id: Option<String>, problem: Problem, out: &mut Vec<Outcome>) {
        let Some(id) = id.filter(|id| !id.is_empty()) else {
            out.push(Outcome::Rejected(problem_error(&self.source, problem)));
            return;
        };
        match &mut self.pending {
            Some(p) if p.document_id == id => {
                p.problem.get_or_insert(problem);
            }
            _ => {
                if let Some(done) = self.pending.take() {
                    out.push(self.complete(done));
                }
                self.pending = Some(Pending::failed(id, problem));
            }
        }
    }

    fn undecodable(&mut self, e: RowError, out: &mut Vec<Outcome>) {
        // The document id is trustworthy when its own field decoded.
        let id = match &self.columns {
            Some(Ok(columns)) => columns
                .position(col::DOCUMENT_ID)
                .filter(|&i| i + 1 != e.field)
                .and_then(|i| e.lossy.get(i))
                .map(|s| s.trim().to_owned()),
            _ => None,
        };
        // Named by its header (`last_name`), as every other row problem is.
        let column = match &self.columns {
            Some(Ok(columns)) => columns.name_of(e.field),
            _ => format!("field {}", e.field),
        };
        let problem = Problem { line: e.line, column: Some(column), message: e.message };
        self.fail_row(id, problem, out);
    }

    fn complete(&mut self, pending: Pending) -> Outcome {
        let id = pending.document_id.clone();
        let line = pending.line;
        match pending.finish(&self.source) {
            Ok(record) => Outcome::Translated(Emitted {
                cdm: record,
                location: Some(Location {
                    source: Some(self.source.clone()),
                    line: Some(line),
                    column: None,
                    field: None,
                }),
            }),
            Err(problem) => {
                let mut e = problem_error(&self.source, problem);
                e.message = format!("document {id}: {}", e.message);
                Outcome::Rejected(e)
            }
        }
    }
}

fn problem_error(source: &str, p: Problem) -> PluginError {
    let message = match &p.column {
        Some(c) => format!("line {}, column {c}: {}", p.line, p.message),
        None => format!("line {}: {}", p.line, p.message),
    };
    error(source, p.line, p.column, message)
}

fn error(source: &str, line: u32, field: Option<String>, message: String) -> PluginError {
    PluginError {
        code: ErrorCode::InvalidInput,
        message,
        location: Some(Location { source: Some(source.to_owned()), line: Some(line), column: None, field }),
    }
}

export!(CsvBilling);

#[cfg(test)]
mod shards {
    use super::*;

    fn describe(outcomes: Vec<Outcome>) -> Vec<String> {
        outcomes
            .into_iter()
            .map(|o| match o {
                Outcome::Translated(e) => format!("{} {:?}", e.cdm, e.location.map(|l| (l.line, l.source))),
                Outcome::Rejected(e) => format!("REJ {} {:?}", e.message, e.location.map(|l| (l.line, l.field))),
            })
            .collect()
    }

    fn translate(session: Session, bytes: &[u8], chunk: usize) -> Vec<String> {
        let mut out = Vec::new();
        for c in bytes.chunks(chunk) {
            out.extend(session.feed(c.to_vec()));
        }
        out.extend(session.finish());
        describe(out)
    }

    fn sharded(source: &[u8], min_gap: u64, chunk: usize) -> (Vec<String>, usize) {
        let splitter = <Splitter as GuestSplitter>::new("s.csv".into(), min_gap);
        let mut cuts = Vec::new();
        for c in source.chunks(chunk) {
            cuts.extend(splitter.feed(c.to_vec()));
        }
        cuts.extend(splitter.finish());
        let shards = cuts.len() + 1;
        let ends: Vec<u64> = cuts.iter().map(|c| c.offset).chain([source.len() as u64]).collect();
        let mut out = translate(Session::new("s.csv".into(), None), &source[..ends[0] as usize], chunk);
        for (cut, end) in cuts.into_iter().zip(&ends[1..]) {
            let bytes = &source[cut.offset as usize..*end as usize];
            out.extend(translate(Session::new("s.csv".into(), Some(cut)), bytes, chunk));
        }
        (out, shards)
    }

    /// Every sample export, as LF and as CRLF, with a quoted field that
    /// holds a line break and non-ASCII text: cut anywhere the splitter
    /// allows and fed in chunks of any size, the shards translate to
    /// exactly the outcomes of the whole source.
    #[test]
    fn shards_translate_to_the_outcomes_of_the_whole_source() {
        let mut sources: Vec<Vec<u8>> = vec![
            include_bytes!("../../../../samples/acme-energy/data/billing.csv").to_vec(),
            include_bytes!("../../../../samples/acme-energy/data/billing-errors.csv").to_vec(),
            include_bytes!("../../../../samples/northwind-telecom/data/usage.csv").to_vec(),
        ];
        sources.push(generated_export());
        let crlf: Vec<Vec<u8>> =
            sources.iter().map(|s| String::from_utf8_lossy(s).replace('\n', "\r\n").into_bytes()).collect();
        sources.extend(crlf);
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = |below: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % below
        };
        for (n, source) in sources.iter().enumerate() {
            let whole = translate(Session::new("s.csv".into(), None), source, 64 * 1024);
            assert!(whole.len() >= 2, "source {n} translates to something");
            if n == 3 {
                let all = whole.join("\n");
                for rejection in ["not valid UTF-8", "row has 4 fields", "column document_id: is empty"] {
                    assert!(all.contains(rejection), "the generated export has a row with {rejection}");
                }
                assert!(whole.iter().filter(|o| o.starts_with("REJ")).count() > 10);
            }
            let mut most_shards = 0;
            for _ in 0..40 {
                let min_gap = 1 + next(source.len() as u64 / 2);
                let chunk = 1 + next(300) as usize;
                let (out, shards) = sharded(source, min_gap, chunk);
                most_shards = most_shards.max(shards);
                assert_eq!(out, whole, "source {n}, min gap {min_gap}, chunks of {chunk}");
            }
            assert!(most_shards >= 2, "source {n} was cut");
        }
    }

    trait ReplaceBytes {
        fn replacen(&self, from: &u8, to: &[u8], n: usize) -> Vec<u8>;
    }

    impl ReplaceBytes for Vec<u8> {
        fn replacen(&self, from: &u8, to: &[u8], n: usize) -> Vec<u8> {
            let mut out = Vec::with_capacity(self.len() + to.len());
            let mut left = n;
            for b in self {
                if b == from && left > 0 {
                    out.extend_from_slice(to);
                    left -= 1;
                } else {
                    out.push(*b);
                }
            }
            out
        }
    }

    /// 300 invoices of 1–6 lines with what real exports hold: quoted
    /// descriptions with line breaks, delimiters and non-ASCII text, rows
    /// with a wrong field count, an empty id, an invalid UTF-8 byte (in the
    /// id and elsewhere), blank lines, and an id that comes back later.
    fn generated_export() -> Vec<u8> {
        let mut csv = b"customer_ref,document_id,first_name,last_name,language,street,postcode,city,country,label,invoice_date,due_date,payment_reference,line_description,line_quantity,line_unit,line_unit_price,line_vat_rate\n".to_vec();
        for d in 0..300u32 {
            let id = if d % 97 == 50 { "INV-00000003".to_owned() } else { format!("INV-{d:08}") };
            for l in 0..(1 + d % 6) {
                let description = match (d + l) % 5 {
                    0 => "\"Stroom, dag\ntarief\"".to_owned(),
                    1 => "Énergie « verte »".to_owned(),
                    2 => "\"quoted \"\"word\"\"\"".to_owned(),
                    _ => format!("Item {l}"),
                };
                let row = format!(
                    "C-{d:05},{id},Zoë,Müller {d},nl,Teststraat {l},1000 AA,Amsterdam,NL,acme,2026-11-01,2026-11-15,RF18539007547034,{description},{}.5,kWh,0.{:04},21\n",
                    1 + (d + l) % 9,
                    1000 + (d * 31 + l * 17) % 8000
                );
                let mut row = row.into_bytes();
                match (d * 7 + l) % 41 {
                    3 => row = format!("C-{d:05},{id},too,few\n").into_bytes(),
                    5 => row = row.replacen(&b',', &b"\xff,"[..], 1),
                    9 => row = format!("C-{d:05},INV-\u{0}{d},x\n").into_bytes().replacen(&0u8, &b"\xfe"[..], 1),
                    13 => row = String::from_utf8(row).unwrap().replacen(&id, " ", 1).into_bytes(),
                    17 => row.splice(0..0, b"\n".iter().copied()).for_each(drop),
                    _ => {}
                }
                csv.extend_from_slice(&row);
            }
        }
        csv
    }
}

#[cfg(test)]
mod throughput {
    use super::*;

    /// Native timing of the translator's own work (run with `--ignored`
    /// under a profiler): 20,000 invoices of 5–30 lines.
    #[test]
    #[ignore]
    fn translate_twenty_thousand_invoices() {
        let mut csv = String::from(
            "customer_ref,document_id,first_name,last_name,language,street,postcode,city,country,label,invoice_date,due_date,payment_reference,line_description,line_quantity,line_unit,line_unit_price,line_vat_rate\n",
        );
        for d in 0..20_000 {
            for l in 0..(5 + (d * 7) % 26) {
                csv.push_str(&format!("C-{d:07},INV-{d:08},Test,Customer {d},nl,Teststraat {l},1000 AA,Amsterdam,NL,acme,2026-11-01,2026-11-15,RF18539007547034,Usage item {l},{}.5,kWh,0.{:04},21\n", (d + l) % 400 + 1, 1000 + (d * 31 + l * 17) % 8000));
            }
        }
        let session = <Session as GuestSession>::new("bench.csv".into(), None);
        let started = std::time::Instant::now();
        let mut records = 0;
        for chunk in csv.as_bytes().chunks(64 * 1024) {
            records += session.feed(chunk.to_vec()).len();
        }
        records += session.finish().len();
        let took = started.elapsed();
        assert_eq!(records, 20_000);
        if let Ok(path) = std::env::var("CSV_BILLING_DUMP") {
            let mut dump = String::new();
            for input in [
                csv.as_bytes(),
                include_bytes!("../../../../samples/acme-energy/data/billing.csv"),
                include_bytes!("../../../../samples/acme-energy/data/billing-errors.csv"),
                include_bytes!("../../../../samples/northwind-telecom/data/usage.csv"),
            ] {
                let session = <Session as GuestSession>::new("dump.csv".into(), None);
                let mut outcomes = Vec::new();
                for chunk in input.chunks(1000) {
                    outcomes.extend(session.feed(chunk.to_vec()));
                }
                outcomes.extend(session.finish());
                for o in outcomes {
                    match o {
                        Outcome::Translated(e) => {
                            dump.push_str(&format!("{} {:?}\n", e.cdm, e.location.and_then(|l| l.line)))
                        }
                        Outcome::Rejected(e) => {
                            dump.push_str(&format!("REJ {} {:?}\n", e.message, e.location.map(|l| (l.line, l.field))))
                        }
                    }
                }
            }
            std::fs::write(path, dump).unwrap();
        }
        eprintln!("{:.1} µs per invoice", took.as_secs_f64() * 1e6 / 20_000.0);
    }
}
