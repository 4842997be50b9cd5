//! The self-check of composed documents: before a document's files are
//! written, the figures it is about — document number, amount to pay (or
//! to be refunded) with its currency, due date, payee account — are looked
//! for in what each output actually says: the visible text of the HTML, the
//! text and SMS renditions, and the text extracted from a PDF. A figure
//! that is missing, or the brand label's account on a letter whose record
//! names another, rejects the document: a template bug then costs a
//! rejection, never a wrong letter.
//!
//! Matching ignores white space (a PDF's text comes with the line breaks
//! and spacing of its layout) and uses the locale's own formatting of each
//! figure — the same functions the templates format with.

pub mod einvoice;
pub mod pdf;

use crate::compose::Composed;
use crate::compose::filters::{format_long_date, format_money};
use crate::truth::settlement::{AccountSource, Direction, Settlement};
use tessera_content::Label;

/// A figure a document must show (`[verify] facts` in `tenant.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fact {
    /// `reference.document_id`.
    DocumentNumber,
    /// Currency and the amount to pay or to be refunded.
    Amount,
    /// The due date, written out.
    DueDate,
    /// The payee's IBAN or account number.
    PayeeAccount,
}

/// Every fact: what a letter is held to unless the tenant says otherwise.
pub const ALL_FACTS: [Fact; 4] = [Fact::DocumentNumber, Fact::Amount, Fact::DueDate, Fact::PayeeAccount];

impl Fact {
    /// The CDM field the fact comes from (for the rejection's `field`).
    pub fn field(self) -> &'static str {
        match self {
            Fact::DocumentNumber => "$.reference.document_id",
            Fact::Amount => "$.content.totals.payable",
            Fact::DueDate => "$.content.invoice.due_date",
            Fact::PayeeAccount => "$.content.payment.iban",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Fact::DocumentNumber => "the document number",
            Fact::Amount => "the amount to pay (with its currency)",
            Fact::DueDate => "the due date",
            Fact::PayeeAccount => "the payee account",
        }
    }
}

/// What one document's outputs must say, prepared once per document.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Facts {
    expected: Vec<(Fact, String)>,
    /// An account that must not appear: the label's, when the record names
    /// another one to pay into.
    forbidden: Option<String>,
}

/// How much of the facts an output is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A letter (HTML, text, e-mail, PDF): every figure.
    Letter,
    /// An SMS: the document number and the amount.
    Sms,
}

/// A contradiction between a document and its record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("self-check: the {output} {problem}; it was not delivered")]
pub struct Contradiction {
    /// Which output (`html`, `print PDF`).
    pub output: String,
    /// What it lacks or shows wrongly (never the value itself).
    pub problem: String,
    /// The fact concerned.
    pub fact: Option<Fact>,
}

/// One output of a document, as the self-check reads it.
#[derive(Debug, Clone, Copy)]
pub enum Output<'a> {
    /// The HTML rendition (built-in HTML).
    Html,
    /// The text rendition (built-in text).
    Text,
    /// An e-mail: its HTML and its text part.
    Email,
    /// The SMS text.
    Sms,
    /// A PDF a formatter made: its text is extracted.
    Pdf(&'a [u8]),
    /// XML a formatter made: an e-invoice (CII or UBL) has its terms read
    /// back and compared ([`einvoice`]); other XML is opaque.
    Xml(&'a [u8]),
    /// A format the host cannot read (a plugin's line data): the
    /// renditions it was made from are checked through the other outputs.
    Opaque,
}

/// Checks every output of a composed document; `outputs` are (channel,
/// output) in the document's order.
pub fn outputs(
    facts: &Facts,
    record: &tessera_cdm::CdmRecord,
    composed: &Composed,
    outputs: &[(&str, Output<'_>)],
) -> Result<(), Contradiction> {
    for (channel, output) in outputs {
        if let Output::Xml(bytes) = output {
            einvoice::check(&format!("`{channel}` e-invoice"), bytes, record, composed.settlement.as_ref())?;
        }
    }
    if facts.is_empty() {
        return Ok(());
    }
    // Each rendition is read once, however many outputs carry it.
    let mut html: Option<String> = None;
    let mut text: Option<String> = None;
    for (channel, output) in outputs {
        let name = |what: &str| format!("`{channel}` {what}");
        match output {
            Output::Html => {
                let seen = html.get_or_insert_with(|| html_squeezed(&composed.html));
                facts.check_squeezed(name("HTML"), seen, Scope::Letter)?;
            }
            Output::Text => {
                let seen = text.get_or_insert_with(|| squeeze(&composed.text));
                facts.check_squeezed(name("text"), seen, Scope::Letter)?;
            }
            Output::Email => {
                let seen = html.get_or_insert_with(|| html_squeezed(&composed.html));
                facts.check_squeezed(name("e-mail's HTML part"), seen, Scope::Letter)?;
                let seen = text.get_or_insert_with(|| squeeze(&composed.text));
                facts.check_squeezed(name("e-mail's text part"), seen, Scope::Letter)?;
            }
            Output::Sms => facts.check(name("SMS"), composed.sms.as_deref().unwrap_or(""), Scope::Sms)?,
            Output::Pdf(bytes) => {
                let text = pdf::text(bytes).map_err(|e| Contradiction {
                    output: name("PDF"),
                    problem: format!("cannot be read back ({e})"),
                    fact: None,
                })?;
                facts.check(name("PDF"), &text, Scope::Letter)?;
            }
            Output::Opaque | Output::Xml(_) => {}
        }
    }
    Ok(())
}

/// Everything but white space, for matching across line breaks and the
/// different spaces the formats use.
fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

impl Facts {
    /// The facts of a settled document rendered in `locale`, of those the
    /// tenant holds its letters to (`required`).
    pub fn new(document_id: &str, settlement: &Settlement, locale: &str, label: &Label, required: &[Fact]) -> Facts {
        let mut facts = Self::all(document_id, settlement, locale, label);
        facts.expected.retain(|(fact, _)| required.contains(fact));
        if !required.contains(&Fact::PayeeAccount) {
            facts.forbidden = None;
        }
        facts
    }

    fn all(document_id: &str, settlement: &Settlement, locale: &str, label: &Label) -> Facts {
        let mut expected = vec![(Fact::DocumentNumber, squeeze(document_id))];
        let currency = &settlement.chain.currency;
        if matches!(settlement.direction, Direction::Pay | Direction::Refund)
            && let Some(amount) = format_money(&settlement.amount.money(), locale)
        {
            expected.push((Fact::Amount, squeeze(&format!("{currency} {amount}"))));
        }
        let mut forbidden = None;
        if settlement.direction == Direction::Pay {
            if let Some(date) = settlement.due_date.as_deref().and_then(|d| format_long_date(d, locale)) {
                expected.push((Fact::DueDate, squeeze(&date)));
            }
            if let Some(payee) = &settlement.payee {
                if let Some(account) = payee.iban.as_ref().or(payee.account.as_ref()) {
                    expected.push((Fact::PayeeAccount, squeeze(account)));
                }
                if payee.source == AccountSource::Record
                    && let Some(own) = label.payment.as_ref().map(|p| p.iban.clone())
                    && Some(&own) != payee.iban.as_ref()
                {
                    forbidden = Some(own);
                }
            }
        }
        Facts { expected, forbidden }
    }

    /// Facts of a document that states no amounts (a letter, a notice):
    /// its number only (when the tenant requires it).
    pub fn number_only(document_id: &str, required: &[Fact]) -> Facts {
        let expected = if required.contains(&Fact::DocumentNumber) {
            vec![(Fact::DocumentNumber, squeeze(document_id))]
        } else {
            Vec::new()
        };
        Facts { expected, forbidden: None }
    }

    /// Whether there is nothing to check.
    pub fn is_empty(&self) -> bool {
        self.expected.is_empty() && self.forbidden.is_none()
    }

    /// Checks one output's text.
    pub fn check(&self, output: impl Into<String>, text: &str, scope: Scope) -> Result<(), Contradiction> {
        self.check_squeezed(output, &squeeze(text), scope)
    }

    /// Checks a text already stripped of white space.
    fn check_squeezed(&self, output: impl Into<String>, seen: &str, scope: Scope) -> Result<(), Contradiction> {
        let output = output.into();
        for (fact, needle) in &self.expected {
            if scope == Scope::Sms && matches!(fact, Fact::DueDate | Fact::PayeeAccount) {
                continue;
            }
            if !seen.contains(needle.as_str()) {
                return Err(Contradiction {
                    output,
                    problem: format!("does not show {} its record says", fact.name()),
                    fact: Some(*fact),
                });
            }
        }
        if let Some(own) = &self.forbidden
            && seen.contains(own.as_str())
        {
            return Err(Contradiction {
                output,
                problem: "shows the brand label's account although the record names another payee account".into(),
                fact: Some(Fact::PayeeAccount),
            });
        }
        Ok(())
    }
}

/// The visible text of an HTML document without white space: what
/// [`Facts::check`] compares, made in one pass over the body. Most of a
/// letter's bytes are markup (attributes, the QR code's path) and most of
/// its text runs are a few bytes of indentation between two tags, so the
/// pass reads bytes itself and only hands a tag that is still open after a
/// few bytes to a vectorised search: a call per tag and per text run cost
/// more than the bytes between them.
pub fn html_squeezed(html: &str) -> String {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    static BODY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"<body"));
    let body = BODY.find(html.as_bytes()).map_or(html, |i| &html[i..]);
    let bytes = body.as_bytes();
    let mut out = String::with_capacity(bytes.len() / 8);
    let mut at = 0;
    while at < bytes.len() {
        let plain = at + bytes[at..].iter().take_while(|&&b| class(b) == Class::Plain).count();
        // Only whole ASCII runs are copied, so the slice is on char boundaries.
        out.push_str(&body[at..plain]);
        at = plain;
        let Some(&b) = bytes.get(at) else { break };
        match class(b) {
            Class::Plain => unreachable!("the run above took every plain byte"),
            Class::Space => at += 1,
            Class::Tag => match tag_end(bytes, at) {
                Some(end) => at = end + 1,
                None => break,
            },
            Class::Reference => at = reference(body, at, &mut out),
            Class::Other => {
                let c = body[at..].chars().next().expect("a char starts here");
                if !c.is_whitespace() {
                    out.push(c);
                }
                at += c.len_utf8();
            }
        }
    }
    out
}

/// What a byte of an HTML body's text starts.
#[derive(PartialEq)]
enum Class {
    /// An ASCII character that is kept.
    Plain,
    /// ASCII white space.
    Space,
    /// `<`.
    Tag,
    /// `&`.
    Reference,
    /// A non-ASCII character (kept unless it is Unicode white space).
    Other,
}

fn class(b: u8) -> Class {
    match b {
        b'<' => Class::Tag,
        b'&' => Class::Reference,
        b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ' => Class::Space,
        0x80.. => Class::Other,
        _ => Class::Plain,
    }
}

/// The `>` that closes the tag opening at `lt` (for `<style` and `<script`,
/// the one after their closing tag); `None` when the document ends first.
fn tag_end(bytes: &[u8], lt: usize) -> Option<usize> {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    static END_STYLE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"</style"));
    static END_SCRIPT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"</script"));
    let tag = &bytes[lt..];
    let from = if tag.starts_with(b"<style") {
        END_STYLE.find(tag).unwrap_or(0)
    } else if tag.starts_with(b"<script") {
        END_SCRIPT.find(tag).unwrap_or(0)
    } else {
        0
    };
    let rest = &tag[from..];
    // Most tags close within a few bytes (`<td class="num">`).
    let near = rest.len().min(24);
    let gt = match rest[..near].iter().position(|&b| b == b'>') {
        Some(gt) => gt,
        None => near + memchr::memchr(b'>', &rest[near..])?,
    };
    Some(lt + from + gt)
}

/// Decodes the character reference at `amp` into `out` (white space
/// dropped; an unknown one is kept as written) and returns where the text
/// goes on.
fn reference(body: &str, amp: usize, out: &mut String) -> usize {
    let after = &body.as_bytes()[amp..];
    // A reference ends at `;` within ten bytes, and never past a tag.
    let end = after.iter().take(11).take_while(|&&b| b != b'<').position(|&b| b == b';');
    match end.and_then(|e| entity(&body[amp + 1..amp + e]).map(|c| (e, c))) {
        Some((e, c)) => {
            if !c.is_whitespace() {
                out.push(c);
            }
            amp + e + 1
        }
        None => {
            out.push('&');
            amp + 1
        }
    }
}

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some('\u{a0}'),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_text_is_what_a_reader_sees() {
        let html = "<html><head><title>INV-1</title><style>p { color: red }</style></head>\
                    <body><p>Pay <strong>EUR&nbsp;1,801.78</strong> &amp; more</p><svg><path d=\"M0 0\"/></svg></body></html>";
        let text = html_squeezed(html);
        assert!(text.contains("EUR1,801.78") && text.contains("&more"), "{text}");
        assert!(!text.contains("INV-1") && !text.contains("color") && !text.contains("M0"), "{text}");
        assert_eq!(text, "PayEUR1,801.78&more", "white space (a no-break space too) is squeezed out");
        assert_eq!(html_squeezed("<p>a &amp;&nbsp;b &bogus; <3</p>"), "a&b&bogus;");
    }

    /// The squeeze as it was first written (text runs cut at the tags, then
    /// each run squeezed), kept to hold the one-pass version to it.
    fn reference_squeeze(html: &str) -> String {
        let body = html.find("<body").map_or(html, |i| &html[i..]);
        let mut out = String::new();
        let mut rest = body;
        loop {
            let lt = rest.find('<').unwrap_or(rest.len());
            let mut run = &rest[..lt];
            while let Some(amp) = run.find('&') {
                out.extend(run[..amp].chars().filter(|c| !c.is_whitespace()));
                let after = &run[amp..];
                match after.find(';').filter(|e| *e <= 10).and_then(|e| entity(&after[1..e]).map(|c| (e, c))) {
                    Some((e, c)) => {
                        out.extend(Some(c).filter(|c| !c.is_whitespace()));
                        run = &after[e + 1..];
                    }
                    None => {
                        out.push('&');
                        run = &after[1..];
                    }
                }
            }
            out.extend(run.chars().filter(|c| !c.is_whitespace()));
            if lt == rest.len() {
                return out;
            }
            let tag = &rest[lt..];
            let skip = ["style", "script"]
                .iter()
                .find(|name| tag[1..].starts_with(*name))
                .and_then(|name| tag.find(&format!("</{name}")))
                .unwrap_or(0);
            match tag[skip..].find('>') {
                Some(gt) => rest = &tag[skip + gt + 1..],
                None => return out,
            }
        }
    }

    #[test]
    fn the_one_pass_squeeze_reads_html_as_the_plain_definition_does() {
        let pieces = [
            "<p>",
            "</p>",
            "<td class=\"num\">",
            "<body>",
            "<style>p>b{}</style>",
            "<script>if(a>b)</script>",
            "<path d=\"M0 0h1v1h-1zM2 0h1v1h-1zM4 0h1v1h-1zM6 0h1v1h-1z\"/>",
            "EUR",
            " ",
            "\n    ",
            "\t",
            "\u{b}",
            "1.801,78",
            "&amp;",
            "&nbsp;",
            "&#8239;",
            "&#x20AC;",
            "&bogus;",
            "&",
            ";",
            "&amp",
            "é",
            "\u{a0}",
            "\u{2009}",
            "€",
            "<",
            ">",
            "NL91 ABNA",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut html = String::new();
            for _ in 0..(state % 24) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                html.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            assert_eq!(html_squeezed(&html), reference_squeeze(&html), "{html:?}");
        }
    }

    fn facts() -> Facts {
        Facts {
            expected: vec![
                (Fact::DocumentNumber, "INV-1".into()),
                (Fact::Amount, "EUR801.78".into()),
                (Fact::PayeeAccount, "NO9386011117947".into()),
            ],
            forbidden: Some("NL91ABNA0417164300".into()),
        }
    }

    #[test]
    fn every_figure_must_be_there_and_the_wrong_account_must_not() {
        let f = facts();
        f.check("html", "Invoice INV-1 … Please pay EUR 801.78 into NO93 8601 1117 947", Scope::Letter).unwrap();
        let e = f.check("html", "Invoice INV-1 Total to pay EUR 1,801.78 into NO93 8601 1117 947", Scope::Letter);
        assert_eq!(e.unwrap_err().fact, Some(Fact::Amount));
        let e = f
            .check("print PDF", "INV-1 EUR 801.78 NO93 8601 1117 947 or NL91 ABNA 0417 1643 00", Scope::Letter)
            .unwrap_err();
        assert!(e.to_string().contains("brand label's account"), "{e}");
        f.check("sms", "ACME: Invoice INV-1, EUR 801.78.", Scope::Sms).unwrap();
    }
}
#[cfg(test)]
mod squeeze_timing {
    #[test]
    #[ignore]
    fn time_html_squeezed() {
        let html = std::fs::read_to_string("/tmp/sample.html").unwrap();
        let n = 200000;
        let t = std::time::Instant::now();
        let mut total = 0;
        for _ in 0..n {
            total += super::html_squeezed(std::hint::black_box(&html)).len();
        }
        eprintln!("html_squeezed: {:.2} µs ({total})", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    }
}
