//! Groups invoice-line rows into documents and turns each into a CDM record.
//!
//! A billing export has one row per invoice line; the rows of one document
//! are consecutive and share `document_id`. A document is complete when a row
//! with another id arrives, or when the source ends.

use crate::decimal::Decimal;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashSet};

/// Columns every export must have.
const REQUIRED: &[&str] = &[
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

/// Columns that may be present.
const OPTIONAL: &[&str] = &[
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
    index: BTreeMap<&'static str, usize>,
    width: usize,
}

impl Columns {
    /// Reads the header row; refuses a header that lacks required columns.
    pub fn from_header(fields: &[String], line: u32) -> Result<Columns, Problem> {
        let mut index = BTreeMap::new();
        for (i, name) in fields.iter().enumerate() {
            let name = name.trim().to_ascii_lowercase();
            let known = REQUIRED.iter().chain(OPTIONAL).find(|k| **k == name);
            if let Some(key) = known
                && index.insert(*key, i).is_some()
            {
                return Err(Problem { line, column: Some(name), message: "column appears twice in the header".into() });
            }
        }
        let missing: Vec<&str> = REQUIRED.iter().copied().filter(|k| !index.contains_key(k)).collect();
        if !missing.is_empty() {
            return Err(Problem {
                line,
                column: None,
                message: format!("header lacks required column(s): {}", missing.join(", ")),
            });
        }
        Ok(Columns { index, width: fields.len() })
    }

    /// The index of a known column.
    pub fn position(&self, column: &str) -> Option<usize> {
        self.index.get(column).copied()
    }
}

/// One row, checked against the header.
pub struct LineRow<'a> {
    columns: &'a Columns,
    fields: &'a [String],
    line: u32,
}

impl<'a> LineRow<'a> {
    /// Checks the field count.
    pub fn new(columns: &'a Columns, fields: &'a [String], line: u32) -> Result<Self, Problem> {
        if fields.len() != columns.width {
            return Err(Problem {
                line,
                column: None,
                message: format!("row has {} fields, the header has {}", fields.len(), columns.width),
            });
        }
        Ok(LineRow { columns, fields, line })
    }

    /// The trimmed value of an optional column ("" when absent).
    pub fn get(&self, column: &str) -> &'a str {
        self.columns.index.get(column).map(|&i| self.fields[i].trim()).unwrap_or("")
    }

    /// A required, non-empty value.
    pub fn require(&self, column: &str) -> Result<&'a str, Problem> {
        let value = self.get(column);
        if value.is_empty() {
            return Err(self.problem(column, "is empty".into()));
        }
        Ok(value)
    }

    /// A required decimal.
    pub fn decimal(&self, column: &str) -> Result<Decimal, Problem> {
        Decimal::parse(self.require(column)?).map_err(|m| self.problem(column, m))
    }

    /// A required `YYYY-MM-DD` date.
    pub fn date(&self, column: &str) -> Result<&'a str, Problem> {
        let value = self.require(column)?;
        if !is_iso_date(value) {
            return Err(self.problem(column, format!("`{value}` is not a date (YYYY-MM-DD)")));
        }
        Ok(value)
    }

    /// A problem with one column of this row.
    pub fn problem(&self, column: &str, message: String) -> Problem {
        Problem { line: self.line, column: Some(column.into()), message }
    }

    /// The document this row belongs to.
    pub fn document_id(&self) -> &'a str {
        self.get("document_id")
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
    header: Map<String, Value>,
    customer_ref: String,
    lines: Vec<Value>,
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
            header: Map::new(),
            customer_ref: row.get("customer_ref").to_owned(),
            lines: Vec::new(),
            vat_bases: BTreeMap::new(),
            problem: None,
        };
        match document_header(row) {
            Ok(header) => pending.header = header,
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
            header: Map::new(),
            customer_ref: String::new(),
            lines: Vec::new(),
            vat_bases: BTreeMap::new(),
            problem: Some(problem),
        }
    }

    /// Adds an invoice line from a row of this document.
    pub fn add_line(&mut self, row: &LineRow<'_>) {
        if self.problem.is_some() {
            return;
        }
        if row.get("customer_ref") != self.customer_ref {
            self.problem = Some(
                row.problem("customer_ref", format!("differs from the document's first row (line {})", self.line)),
            );
            return;
        }
        match invoice_line(row) {
            Ok((line, rate, net)) => {
                let base = self.vat_bases.entry(rate).or_default();
                *base = base.add(net);
                self.lines.push(line);
            }
            Err(p) => self.problem = Some(p),
        }
    }

    /// The finished CDM record, or the first problem found.
    pub fn finish(self, source_name: &str) -> Result<Value, Problem> {
        if let Some(p) = self.problem {
            return Err(p);
        }
        let mut net_total = Decimal::default();
        let mut vat_total = Decimal::default();
        let mut vat = Vec::new();
        for (rate, base) in &self.vat_bases {
            let amount = base.percent(*rate).round_cents();
            net_total = net_total.add(*base);
            vat_total = vat_total.add(amount);
            vat.push(json!({ "rate": rate.plain(), "base": base.money(), "amount": amount.money() }));
        }
        let gross = net_total.add(vat_total);
        let mut record = self.header;
        let content =
            record.get_mut("content").and_then(Value::as_object_mut).expect("document_header always creates content");
        content.insert("lines".into(), Value::Array(self.lines));
        content.insert("vat".into(), Value::Array(vat));
        content.insert(
            "totals".into(),
            json!({ "net": net_total.money(), "vat": vat_total.money(), "gross": gross.money() }),
        );
        let currency = content["invoice"]["currency"].clone();
        let due = content["invoice"]["due_date"].clone();
        let reference = content["invoice"]["payment_reference"].clone();
        content.insert(
            "payment".into(),
            json!({
                "amount": gross.money(),
                "currency": currency,
                "due_date": due,
                "reference": reference,
                "credit": gross.is_negative(),
            }),
        );
        record["reference"]["source"] = json!({ "name": source_name, "line": self.line });
        Ok(Value::Object(record))
    }
}

fn document_header(row: &LineRow<'_>) -> Result<Map<String, Value>, Problem> {
    let document_type = match row.get("document_type") {
        "" => "invoice",
        t @ ("invoice" | "credit-note" | "reminder") => t,
        other => {
            return Err(row.problem("document_type", format!("`{other}` is not one of invoice, credit-note, reminder")));
        }
    };
    let language = match row.get("language") {
        "" => "en",
        l => l,
    };
    let country = row.require("country")?;
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(row.problem("country", format!("`{country}` is not an ISO 3166 alpha-2 code")));
    }
    let email = row.get("email");
    if !email.is_empty() && !looks_like_email(email) {
        return Err(row.problem("email", "is not an e-mail address".into()));
    }
    let channels: Vec<&str> = match row.get("channels") {
        "" => vec!["print"],
        list => list.split(['|', ' ']).filter(|c| !c.is_empty()).collect(),
    };
    for channel in &channels {
        if !matches!(*channel, "email" | "print" | "sms" | "archive") {
            return Err(row.problem("channels", format!("unknown channel `{channel}`")));
        }
    }
    let currency = match row.get("currency") {
        "" => "EUR",
        c if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) => c,
        c => return Err(row.problem("currency", format!("`{c}` is not an ISO 4217 code"))),
    };
    let opt = |column: &str| match row.get(column) {
        "" => Value::Null,
        v => Value::String(v.to_owned()),
    };
    let mut production = json!({ "template": match row.get("template") { "" => "invoice", t => t } });
    if !row.get("label").is_empty() {
        production["label"] = opt("label");
    }
    let record = json!({
        "cdm": "1.0",
        "reference": {
            "customer_ref": row.require("customer_ref")?,
            "document_id": row.require("document_id")?,
            "document_type": document_type,
            "source_system": "csv-billing",
        },
        "personal": {
            "salutation": opt("salutation"),
            "first_name": opt("first_name"),
            "last_name": row.require("last_name")?,
            "company": opt("company"),
            "language": language,
        },
        "address": {
            "street": row.require("street")?,
            "postcode": row.require("postcode")?,
            "city": row.require("city")?,
            "country": country,
        },
        "production": production,
        "distribution": {
            "channels": channels,
            "email": opt("email"),
            "phone": opt("phone"),
        },
        "content": {
            "invoice": {
                "date": row.date("invoice_date")?,
                "due_date": row.date("due_date")?,
                "currency": currency,
                "payment_reference": match row.get("payment_reference") {
                    "" => Value::String(row.require("document_id")?.to_owned()),
                    r => Value::String(r.to_owned()),
                },
                "period_start": opt("period_start"),
                "period_end": opt("period_end"),
            },
        },
    });
    match record {
        Value::Object(map) => Ok(map),
        _ => unreachable!("json! of an object literal"),
    }
}

fn invoice_line(row: &LineRow<'_>) -> Result<(Value, Decimal, Decimal), Problem> {
    let quantity = row.decimal("line_quantity")?;
    let unit_price = row.decimal("line_unit_price")?;
    let rate = row.decimal("line_vat_rate")?;
    if rate.is_negative() {
        return Err(row.problem("line_vat_rate", "is negative".into()));
    }
    let net = quantity.mul(unit_price).round_cents();
    let line = json!({
        "description": row.require("line_description")?,
        "quantity": quantity.plain(),
        "unit": match row.get("line_unit") { "" => "pcs", u => u },
        "unit_price": unit_price.plain(),
        "vat_rate": rate.plain(),
        "net": net.money(),
    });
    Ok((line, rate, net))
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !s.contains(' ')
        }
        None => false,
    }
}

/// Documents already completed, to catch rows of one document that are not
/// consecutive (which would otherwise silently split an invoice in two).
///
/// Ids are kept as 64-bit SipHash digests (fixed keys, so runs are
/// reproducible): 8 bytes per document instead of the id string keeps a
/// million-document source well inside the translator's memory limit. Two
/// different ids sharing a digest (odds about 1 in 10^7 for a million
/// documents) would reject the second one with a visible reason, never
/// lose it silently.
#[derive(Default)]
pub struct Seen(HashSet<u64>);

impl Seen {
    /// Records a completed document id; false when it was seen before.
    pub fn insert(&mut self, id: &str) -> bool {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        id.hash(&mut hasher);
        self.0.insert(hasher.finish())
    }
}
