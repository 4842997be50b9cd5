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

pub mod pdf;

use crate::compose::Composed;
use crate::compose::filters::{format_long_date, format_money};
use crate::truth::settlement::{AccountSource, Direction, Settlement};
use tessera_content::Label;

/// A figure a document must show (`[verify] facts` in `tenant.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
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
#[derive(Debug, Clone)]
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
    /// A format the host cannot read (a plugin's line data): the
    /// renditions it was made from are checked through the other outputs.
    Opaque,
}

/// Checks every output of a composed document; `outputs` are (channel,
/// output) in the document's order.
pub fn outputs(facts: &Facts, composed: &Composed, outputs: &[(&str, Output<'_>)]) -> Result<(), Contradiction> {
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
            Output::Opaque => {}
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
/// [`Facts::check`] compares, made in one pass. Tags are skipped with a
/// vectorised search for `>` (most of a letter's bytes are markup: styles,
/// attributes, the QR code's path), and only the text between them is
/// looked at byte by byte.
pub fn html_squeezed(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 8);
    visible_text(html, &mut |text| squeeze_into(&mut out, text));
    out
}

/// Calls `text` with each run of text between the tags of `html`'s body
/// (styles and scripts skipped).
fn visible_text(html: &str, text: &mut dyn FnMut(&str)) {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    static BODY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"<body"));
    static END_STYLE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"</style"));
    static END_SCRIPT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"</script"));
    let body = BODY.find(html.as_bytes()).map_or(html, |i| &html[i..]);
    let bytes = body.as_bytes();
    let mut at = 0;
    while let Some(lt) = memchr::memchr(b'<', &bytes[at..]).map(|i| at + i) {
        if lt > at {
            text(&body[at..lt]);
        }
        let tag = &bytes[lt..];
        let skip = if tag.starts_with(b"<style") {
            END_STYLE.find(tag).unwrap_or(0)
        } else if tag.starts_with(b"<script") {
            END_SCRIPT.find(tag).unwrap_or(0)
        } else {
            0
        };
        match memchr::memchr(b'>', &tag[skip..]) {
            Some(gt) => at = lt + skip + gt + 1,
            None => return,
        }
    }
    if at < bytes.len() {
        text(&body[at..]);
    }
}

/// Appends `text` without white space, character references decoded.
fn squeeze_into(out: &mut String, text: &str) {
    let mut rest = text;
    loop {
        let amp = memchr::memchr(b'&', rest.as_bytes());
        let plain = &rest[..amp.unwrap_or(rest.len())];
        // Runs of non-space text are copied whole; most of a letter's text
        // is words between single spaces and indentation.
        for word in plain.split_ascii_whitespace() {
            if word.is_ascii() {
                out.push_str(word);
            } else {
                out.extend(word.chars().filter(|c| !c.is_whitespace()));
            }
        }
        let Some(amp) = amp else { return };
        let after = &rest[amp..];
        let end = after.find(';').filter(|e| *e <= 10);
        match end.and_then(|e| entity(&after[1..e]).map(|c| (e, c))) {
            Some((e, c)) => {
                if !c.is_whitespace() {
                    out.push(c);
                }
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
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
