//! `csv-billing`: a tessera translator for billing-system CSV exports.
//!
//! The export has a header row and one row per invoice line; consecutive
//! rows with the same `document_id` form one document, which becomes one CDM
//! 1.0 record. Either `,` or `;` separates fields (detected from the header),
//! fields may be quoted, the file is UTF-8 with or without a byte-order mark,
//! and decimals may use `.` or `,`. A bad row rejects its document with the
//! row's line number and column name; the rest of the file goes on.

mod csvstream;
mod decimal;
mod document;
mod json;

use csvstream::{CsvStream, Row, RowError};
use document::{Columns, LineRow, Pending, Problem};
use std::cell::RefCell;
use std::rc::Rc;

wit_bindgen::generate!({
    world: "translator",
    path: "../../../wit/v0.1",
});

use exports::tessera::plugin::translate::{Emitted, Guest, GuestSession, Outcome};
use tessera::plugin::types::{ErrorCode, Location, PluginError};

struct CsvBilling;

impl Guest for CsvBilling {
    type Session = Session;
}

/// One CSV source being translated.
pub struct Session {
    inner: RefCell<Inner>,
}

struct Inner {
    source: String,
    reader: CsvStream,
    columns: Option<Result<Rc<Columns>, String>>,
    pending: Option<Pending>,
}

impl GuestSession for Session {
    fn new(source_name: String) -> Self {
        Session {
            inner: RefCell::new(Inner { source: source_name, reader: CsvStream::new(), columns: None, pending: None }),
        }
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
        let mut rows = Vec::new();
        self.reader.push(chunk, eof, &mut rows);
        let mut out = Vec::new();
        for row in rows {
            match row {
                Ok(row) => self.row(row, &mut out),
                Err(e) => self.undecodable(e, &mut out),
            }
        }
        if eof {
            if let Some(pending) = self.pending.take() {
                out.push(self.complete(pending));
            }
            if self.columns.is_none() {
                out.push(Outcome::Rejected(error(&self.source, 1, None, "the source is empty: no header row".into())));
            }
        }
        out
    }

    fn row(&mut self, row: Row, out: &mut Vec<Outcome>) {
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
        let line = match LineRow::new(&columns, &row) {
            Ok(line) => line,
            Err(problem) => {
                // A row we cannot trust: it rejects the document it names, if
                // it names one, so that no invoice is sent with a line missing.
                let id = columns.position("document_id").and_then(|i| row.field(i)).map(|s| s.trim().to_owned());
                self.fail_row(id, problem, out);
                return;
            }
        };
        let id = line.document_id().to_owned();
        if id.is_empty() {
            out.push(Outcome::Rejected(problem_error(&self.source, line.problem("document_id", "is empty".into()))));
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
                .position("document_id")
                .filter(|&i| i + 1 != e.field)
                .and_then(|i| e.lossy.get(i))
                .map(|s| s.trim().to_owned()),
            _ => None,
        };
        let problem = Problem { line: e.line, column: Some(format!("field {}", e.field)), message: e.message };
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
        let session = <Session as GuestSession>::new("bench.csv".into());
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
                let session = <Session as GuestSession>::new("dump.csv".into());
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
