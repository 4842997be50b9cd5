//! Groups invoice-line rows into documents and turns each into a CDM record.
//!
//! A billing export has one row per invoice line; the rows of one document
//! are consecutive and share `document_id`. A document is complete when a row
//! with another id arrives, or when the source ends.

use crate::csvstream::Row;
use crate::decimal::Decimal;
use crate::json::{self, Obj};
use std::collections::BTreeMap;

/// Columns every export must have (their [`Col`] numbers are their places here).
pub(crate) const REQUIRED: [&str; 13] = [
    "customer_ref",
    "document_id",
    "last_name",
    "street",
    "postcode",
    "city",
    "country",
    "invoice_date",
    "due_date",
    "line_description",
    "line_quantity",
    "line_unit_price",
    "line_vat_rate",
];

/// Columns that may be present (numbered after the required ones).
const OPTIONAL: [&str; 15] = [
    "document_type",
    "first_name",
    "salutation",
    "company",
    "language",
    "email",
    "phone",
    "channels",
    "label",
    "template",
    "currency",
    "payment_reference",
    "line_unit",
    "period_start",
    "period_end",
];

const KNOWN: usize = REQUIRED.len() + OPTIONAL.len();

/// A known column, by number: every row looks its fields up by number, not
/// by name (a name look-up per field was a fifth of the translator's time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Col(usize);

impl Col {
    /// The column's name in a header.
    pub fn name(self) -> &'static str {
        match self.0.checked_sub(REQUIRED.len()) {
            None => REQUIRED[self.0],
            Some(i) => OPTIONAL[i],
        }
    }

    fn of(name: &str) -> Option<Col> {
        (0..KNOWN).map(Col).find(|c| c.name() == name)
    }
}

/// The known columns by name.
pub mod col {
    use super::Col;
    pub const CUSTOMER_REF: Col = Col(0);
    pub const DOCUMENT_ID: Col = Col(1);
    pub const LAST_NAME: Col = Col(2);
    pub const STREET: Col = Col(3);
    pub const POSTCODE: Col = Col(4);
    pub const CITY: Col = Col(5);
    pub const COUNTRY: Col = Col(6);
    pub const INVOICE_DATE: Col = Col(7);
    pub const DUE_DATE: Col = Col(8);
    pub const LINE_DESCRIPTION: Col = Col(9);
    pub const LINE_QUANTITY: Col = Col(10);
    pub const LINE_UNIT_PRICE: Col = Col(11);
    pub const LINE_VAT_RATE: Col = Col(12);
    pub const DOCUMENT_TYPE: Col = Col(13);
    pub const FIRST_NAME: Col = Col(14);
    pub const SALUTATION: Col = Col(15);
    pub const COMPANY: Col = Col(16);
    pub const LANGUAGE: Col = Col(17);
    pub const EMAIL: Col = Col(18);
    pub const PHONE: Col = Col(19);
    pub const CHANNELS: Col = Col(20);
    pub const LABEL: Col = Col(21);
    pub const TEMPLATE: Col = Col(22);
    pub const CURRENCY: Col = Col(23);
    pub const PAYMENT_REFERENCE: Col = Col(24);
    pub const LINE_UNIT: Col = Col(25);
    pub const PERIOD_START: Col = Col(26);
    pub const PERIOD_END: Col = Col(27);
}

/// A problem with a document or row, with the column it concerns.
pub struct Problem {
    /// 1-based line of the row at fault.
    pub line: u32,
    /// Column name, when one is at fault.
    pub column: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Which field sits at which index, from the header row.
pub struct Columns {
    /// Field index of each known column, by [`Col`] number.
    index: [Option<usize>; KNOWN],
    width: usize,
    /// Every column's name as the header has it (trimmed), known or not.
    names: Vec<String>,
}

impl Columns {
    /// Reads the header row; refuses a header that lacks required columns.
    pub fn from_header(row: &Row<'_>) -> Result<Columns, Problem> {
        let line = row.line;
        let mut index = [None; KNOWN];
        for (i, name) in row.fields().enumerate() {
            let name = name.trim().to_ascii_lowercase();
            if let Some(col) = Col::of(&name)
                && index[col.0].replace(i).is_some()
            {
                return Err(Problem { line, column: Some(name), message: "column appears twice in the header".into() });
            }
        }
        let missing: Vec<&str> = (0..REQUIRED.len()).filter(|&c| index[c].is_none()).map(|c| Col(c).name()).collect();
        if !missing.is_empty() {
            return Err(Problem {
                line,
                column: None,
                message: format!("header lacks required column(s): {}", missing.join(", ")),
            });
        }
        let names = row.fields().map(|n| n.trim().to_owned()).collect();
        Ok(Columns { index, width: row.len(), names })
    }

    /// How a rejection names the 1-based field `n`: by its header, or as
    /// `field n` when the header has no name for it.
    pub fn name_of(&self, n: usize) -> String {
        match self.names.get(n.wrapping_sub(1)) {
            Some(name) if !name.is_empty() => name.clone(),
            _ => format!("field {n}"),
        }
    }

    /// The index of a known column.
    pub fn position(&self, column: Col) -> Option<usize> {
        self.index[column.0]
    }
}

/// One row, checked against the header.
pub struct LineRow<'a> {
    columns: &'a Columns,
    row: Row<'a>,
    line: u32,
}

impl<'a> LineRow<'a> {
    /// Checks the field count.
    pub fn new(columns: &'a Columns, row: Row<'a>) -> Result<Self, Problem> {
        let line = row.line;
        if row.len() != columns.width {
            return Err(Problem {
                line,
                column: None,
                message: format!("row has {} fields, the header has {}", row.len(), columns.width),
            });
        }
        Ok(LineRow { columns, row, line })
    }

    /// The trimmed value of an optional column ("" when absent).
    pub fn get(&self, column: Col) -> &'a str {
        self.columns.index[column.0].and_then(|i| self.row.field(i)).map(trim).unwrap_or("")
    }

    /// A required, non-empty value.
    pub fn require(&self, column: Col) -> Result<&'a str, Problem> {
        let value = self.get(column);
        if value.is_empty() {
            return Err(self.problem(column, "is empty".into()));
        }
        Ok(value)
    }

    /// A required decimal.
    pub fn decimal(&self, column: Col) -> Result<Decimal, Problem> {
        Decimal::parse(self.require(column)?).map_err(|m| self.problem(column, m))
    }

    /// A required `YYYY-MM-DD` date.
    pub fn date(&self, column: Col) -> Result<&'a str, Problem> {
        let value = self.require(column)?;
        if !is_iso_date(value) {
            return Err(self.problem(column, format!("`{value}` is not a date (YYYY-MM-DD)")));
        }
        Ok(value)
    }

    /// A problem with one column of this row.
    pub fn problem(&self, column: Col, message: String) -> Problem {
        Problem { line: self.line, column: Some(column.name().into()), message }
    }

    /// The document this row belongs to.
    pub fn document_id(&self) -> &'a str {
        self.get(col::DOCUMENT_ID)
    }
}

/// `str::trim`, without decoding characters when the field starts and ends
/// with visible ASCII (almost every field of an export).
fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(b)) if a.is_ascii_graphic() && b.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4) && digits(5..7) && digits(8..10)) {
        return false;
    }
    let month: u32 = s[5..7].parse().unwrap_or(0);
    let day: u32 = s[8..10].parse().unwrap_or(0);
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// A document being assembled from its rows.
pub struct Pending {
    /// The document id shared by its rows.
    pub document_id: String,
    /// Line of the first row.
    pub line: u32,
    header: Option<Header>,
    customer_ref: String,
    /// The invoice lines so far, as JSON objects separated by commas.
    lines: String,
    /// Net amount per VAT rate.
    vat_bases: BTreeMap<Decimal, Decimal>,
    /// The first problem found in any row: the whole document is rejected.
    pub problem: Option<Problem>,
}

impl Pending {
    /// Starts a document from its first row.
    pub fn start(row: &LineRow<'_>) -> Pending {
        let mut pending = Pending {
            document_id: row.document_id().to_owned(),
            line: row.line,
            header: None,
            customer_ref: row.get(col::CUSTOMER_REF).to_owned(),
            lines: String::new(),
            vat_bases: BTreeMap::new(),
            problem: None,
        };
        match document_header(row) {
            Ok(header) => pending.header = Some(header),
            Err(p) => pending.problem = Some(p),
        }
        pending.add_line(row);
        pending
    }

    /// A document whose first row could not be used: it collects its other
    /// rows and is rejected as a whole.
    pub fn failed(document_id: String, problem: Problem) -> Pending {
        Pending {
            document_id,
            line: problem.line,
            header: None,
            customer_ref: String::new(),
            lines: String::new(),
            vat_bases: BTreeMap::new(),
            problem: Some(problem),
        }
    }

    /// Adds an invoice line from a row of this document.
    pub fn add_line(&mut self, row: &LineRow<'_>) {
        if self.problem.is_some() {
            return;
        }
        if row.get(col::CUSTOMER_REF) != self.customer_ref {
            self.problem = Some(
                row.problem(col::CUSTOMER_REF, format!("differs from the document's first row (line {})", self.line)),
            );
            return;
        }
        let mark = self.lines.len();
        if !self.lines.is_empty() {
            self.lines.push(',');
        }
        match invoice_line(row, &mut self.lines) {
            Ok((rate, net)) => {
                let base = self.vat_bases.entry(rate).or_default();
                *base = base.add(net);
            }
            Err(p) => {
                self.lines.truncate(mark);
                self.problem = Some(p);
            }
        }
    }

    /// The finished CDM record (JSON text), or the first problem found.
    pub fn finish(self, source_name: &str) -> Result<String, Problem> {
        if let Some(p) = self.problem {
            return Err(p);
        }
        let h = self.header.expect("a document without a problem has its header");
        let mut net_total = Decimal::default();
        let mut vat_total = Decimal::default();
        let mut vat = String::new();
        for (rate, base) in &self.vat_bases {
            let amount = base.percent(*rate).round_cents();
            net_total = net_total.add(*base);
            vat_total = vat_total.add(amount);
            if !vat.is_empty() {
                vat.push(',');
            }
            let mut v = Obj::open(&mut vat);
            v.money("amount", amount);
            v.money("base", *base);
            v.plain("rate", *rate);
            v.close();
        }
        let gross = net_total.add(vat_total);

        // Keys in sorted order, as a serde_json map writes them.
        let mut out = String::with_capacity(1024 + self.lines.len());
        let mut r = Obj::open(&mut out);
        r.obj("address", |a| {
            a.str("city", &h.city);
            a.str("country", &h.country);
            a.str("postcode", &h.postcode);
            a.str("street", &h.street);
        });
        r.str("cdm", "1.0");
        r.obj("content", |c| {
            c.obj("invoice", |i| {
                i.str("currency", &h.currency);
                i.str("date", &h.invoice_date);
                i.str("due_date", &h.due_date);
                i.str("payment_reference", &h.payment_reference);
                i.opt("period_end", &h.period_end);
                i.opt("period_start", &h.period_start);
            });
            let lines = c.key("lines");
            lines.push('[');
            lines.push_str(&self.lines);
            lines.push(']');
            c.obj("payment", |p| {
                p.money("amount", gross);
                p.raw("credit", if gross.is_negative() { "true" } else { "false" });
                p.str("currency", &h.currency);
                p.str("due_date", &h.due_date);
                p.str("reference", &h.payment_reference);
            });
            c.obj("totals", |t| {
                t.money("gross", gross);
                t.money("net", net_total);
                t.money("vat", vat_total);
            });
            let list = c.key("vat");
            list.push('[');
            list.push_str(&vat);
            list.push(']');
        });
        r.obj("distribution", |d| {
            let channels = d.key("channels");
            channels.push('[');
            for (i, channel) in h.channels.iter().enumerate() {
                if i > 0 {
                    channels.push(',');
                }
                json::string(channels, channel);
            }
            channels.push(']');
            d.opt("email", &h.email);
            d.opt("phone", &h.phone);
        });
        r.obj("personal", |p| {
            p.opt("company", &h.company);
            p.opt("first_name", &h.first_name);
            p.str("language", &h.language);
            p.str("last_name", &h.last_name);
            p.opt("salutation", &h.salutation);
        });
        r.obj("production", |p| {
            if !h.label.is_empty() {
                p.str("label", &h.label);
            }
            p.str("template", &h.template);
        });
        r.obj("reference", |f| {
            f.str("customer_ref", &h.customer_ref);
            f.str("document_id", &h.document_id);
            f.str("document_type", &h.document_type);
            f.obj("source", |s| {
                s.number("line", self.line.into());
                s.str("name", source_name);
            });
            f.str("source_system", "csv-billing");
        });
        r.close();
        Ok(out)
    }
}

/// A document's fields from its first row, checked.
struct Header {
    document_type: String,
    customer_ref: String,
    document_id: String,
    salutation: String,
    first_name: String,
    last_name: String,
    company: String,
    language: String,
    street: String,
    postcode: String,
    city: String,
    country: String,
    label: String,
    template: String,
    channels: Vec<String>,
    email: String,
    phone: String,
    invoice_date: String,
    due_date: String,
    currency: String,
    payment_reference: String,
    period_start: String,
    period_end: String,
}

fn document_header(row: &LineRow<'_>) -> Result<Header, Problem> {
    let document_type = match row.get(col::DOCUMENT_TYPE) {
        "" => "invoice",
        t @ ("invoice" | "credit-note" | "reminder") => t,
        other => {
            return Err(
                row.problem(col::DOCUMENT_TYPE, format!("`{other}` is not one of invoice, credit-note, reminder"))
            );
        }
    };
    let language = match row.get(col::LANGUAGE) {
        "" => "en",
        l => l,
    };
    let country = row.require(col::COUNTRY)?;
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(row.problem(col::COUNTRY, format!("`{country}` is not an ISO 3166 alpha-2 code")));
    }
    let email = row.get(col::EMAIL);
    if !email.is_empty() && !looks_like_email(email) {
        return Err(row.problem(col::EMAIL, "is not an e-mail address".into()));
    }
    let channels: Vec<&str> = match row.get(col::CHANNELS) {
        "" => vec!["print"],
        list => list.split(['|', ' ']).filter(|c| !c.is_empty()).collect(),
    };
    for channel in &channels {
        if !matches!(*channel, "email" | "print" | "sms" | "archive") {
            return Err(row.problem(col::CHANNELS, format!("unknown channel `{channel}`")));
        }
    }
    let currency = match row.get(col::CURRENCY) {
        "" => "EUR",
        c if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) => c,
        c => return Err(row.problem(col::CURRENCY, format!("`{c}` is not an ISO 4217 code"))),
    };
    // Checked in the order the fields were always checked, so the first
    // problem reported stays the same.
    let customer_ref = row.require(col::CUSTOMER_REF)?;
    let document_id = row.require(col::DOCUMENT_ID)?;
    let last_name = row.require(col::LAST_NAME)?;
    let street = row.require(col::STREET)?;
    let postcode = row.require(col::POSTCODE)?;
    let city = row.require(col::CITY)?;
    let invoice_date = row.date(col::INVOICE_DATE)?;
    let due_date = row.date(col::DUE_DATE)?;
    let payment_reference = match row.get(col::PAYMENT_REFERENCE) {
        "" => document_id,
        r => r,
    };
    let own = str::to_owned;
    Ok(Header {
        document_type: own(document_type),
        customer_ref: own(customer_ref),
        document_id: own(document_id),
        salutation: own(row.get(col::SALUTATION)),
        first_name: own(row.get(col::FIRST_NAME)),
        last_name: own(last_name),
        company: own(row.get(col::COMPANY)),
        language: own(language),
        street: own(street),
        postcode: own(postcode),
        city: own(city),
        country: own(country),
        label: own(row.get(col::LABEL)),
        template: own(match row.get(col::TEMPLATE) {
            "" => "invoice",
            t => t,
        }),
        channels: channels.into_iter().map(own).collect(),
        email: own(email),
        phone: own(row.get(col::PHONE)),
        invoice_date: own(invoice_date),
        due_date: own(due_date),
        currency: own(currency),
        payment_reference: own(payment_reference),
        period_start: own(row.get(col::PERIOD_START)),
        period_end: own(row.get(col::PERIOD_END)),
    })
}

/// Appends one invoice line as JSON to `out`; returns its VAT rate and net amount.
fn invoice_line(row: &LineRow<'_>, out: &mut String) -> Result<(Decimal, Decimal), Problem> {
    let quantity = row.decimal(col::LINE_QUANTITY)?;
    let unit_price = row.decimal(col::LINE_UNIT_PRICE)?;
    let rate = row.decimal(col::LINE_VAT_RATE)?;
    if rate.is_negative() {
        return Err(row.problem(col::LINE_VAT_RATE, "is negative".into()));
    }
    let net = quantity.mul(unit_price).round_cents();
    let description = row.require(col::LINE_DESCRIPTION)?;
    let mut line = Obj::open(out);
    line.str("description", description);
    line.money("net", net);
    line.plain("quantity", quantity);
    line.str(
        "unit",
        match row.get(col::LINE_UNIT) {
            "" => "pcs",
            u => u,
        },
    );
    line.plain("unit_price", unit_price);
    line.plain("vat_rate", rate);
    line.close();
    Ok((rate, net))
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !s.contains(' ')
        }
        None => false,
    }
}
