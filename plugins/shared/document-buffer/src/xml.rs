//! What the XML translators (`ubl-invoice`, `cii-invoice`) share: the
//! document parsed with the line and column of a fault, an XPath for
//! messages, the decimal and document-id checks, the [`Problem`] a
//! translation fails with, and [`xml_translator!`](crate::xml_translator),
//! their sessions' `finish`.

use roxmltree::{Document, Node};

/// Why the bytes are not an XML document, and where.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is wrong.
    pub message: String,
}

/// Parses a whole document: UTF-8, then well-formed XML.
pub fn parse(bytes: &[u8]) -> Result<Document<'_>, Malformed> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let before = &bytes[..e.valid_up_to()];
        let line = before.iter().filter(|b| **b == b'\n').count() as u32 + 1;
        let column = (before.len() - before.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1)) as u32 + 1;
        Malformed { line, column, message: "the document is not valid UTF-8".into() }
    })?;
    Document::parse(text).map_err(|e| {
        let pos = e.pos();
        Malformed { line: pos.row, column: pos.col, message: format!("not well-formed XML: {e}") }
    })
}

/// Why a document could not be translated: where (an XPath) and what.
#[derive(Debug, PartialEq, Eq)]
pub struct Problem {
    /// `/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount`.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// Something required is absent (rather than malformed).
    pub missing: bool,
}

impl Problem {
    /// `what` is absent at `path`.
    pub fn missing(path: impl Into<String>, what: &str) -> Problem {
        Problem { path: path.into(), message: format!("{what} is missing"), missing: true }
    }

    /// The value at `path` is malformed.
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem { path: path.into(), message: message.into(), missing: false }
    }
}

/// An XPath for messages, `prefix` naming each namespace:
/// `/Invoice/cac:InvoiceLine[3]/cbc:LineExtensionAmount`.
pub fn xpath(node: Node<'_, '_>, prefix: impl Fn(Option<&str>) -> &'static str) -> String {
    let mut parts = Vec::new();
    let mut cur = Some(node);
    while let Some(n) = cur {
        if n.is_element() {
            let name = n.tag_name().name();
            let prefix = prefix(n.tag_name().namespace());
            let same: Vec<_> = n
                .parent()
                .map(|p| p.children().filter(|c| c.is_element() && c.tag_name() == n.tag_name()).collect())
                .unwrap_or_default();
            match same.iter().position(|c| *c == n) {
                Some(i) if same.len() > 1 => parts.push(format!("{prefix}{name}[{}]", i + 1)),
                _ => parts.push(format!("{prefix}{name}")),
            }
        }
        cur = n.parent();
    }
    parts.reverse();
    format!("/{}", parts.join("/"))
}

/// A CDM amount: `-`, up to 15 digits, `.` and up to 6 decimals.
pub fn is_decimal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    !int.is_empty() && int.len() <= 15 && frac.len() <= 6 && int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
}

/// An element's text as a checked decimal; `None` when there is no element.
pub fn decimal_of(
    node: Option<Node<'_, '_>>,
    prefix: impl Fn(Option<&str>) -> &'static str,
) -> Result<Option<String>, Problem> {
    let Some(n) = node else { return Ok(None) };
    let value = n.text().map(str::trim).unwrap_or("");
    if is_decimal(value) {
        Ok(Some(value.to_owned()))
    } else {
        Err(Problem::invalid(xpath(n, prefix), format!("`{value}` is not a decimal amount")))
    }
}

/// A usable CDM document id from an invoice number: letters, digits, `-`,
/// `_`, `.` (others become `-`), at most 128, not starting with `.`.
pub fn document_id(raw: &str) -> String {
    let id: String =
        raw.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '-' }).take(128).collect();
    id.trim_start_matches('.').to_owned()
}

/// An ISO 3166-1 alpha-2 code.
pub fn is_country(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// The session's `finish` of a translator whose file is one XML invoice:
/// `$translate(&Document, source) -> Result<serde_json::Value, Problem>`
/// makes the record; a document over the cap, bytes that are not UTF-8 XML
/// (line and column) and a [`Problem`] (its XPath as the field) are one
/// rejection each. Expands to `fn finish_document`, for
/// [`whole_document_translator!`](crate::whole_document_translator), with
/// `Emitted`, `ErrorCode`, `Location` and `PluginError` in scope.
#[macro_export]
macro_rules! xml_translator {
    ($plugin:ident, max_bytes = $max:expr, translate = $translate:path) => {
        fn finish_document(source: &str, bytes: Result<Vec<u8>, $crate::TooLarge>) -> Vec<Outcome> {
            let reject = |line: Option<u32>, column: Option<u32>, field: Option<String>, code, message: String| {
                Outcome::Rejected(PluginError {
                    code,
                    message,
                    location: Some(Location { source: Some(source.to_owned()), line, column, field }),
                })
            };
            let bytes = match bytes {
                Ok(bytes) => bytes,
                Err(too_large) => return vec![reject(None, None, None, ErrorCode::Unsupported, too_large.to_string())],
            };
            let doc = match $crate::xml::parse(&bytes) {
                Ok(doc) => doc,
                Err(m) => return vec![reject(Some(m.line), Some(m.column), None, ErrorCode::InvalidInput, m.message)],
            };
            match $translate(&doc, source) {
                Ok(cdm) => vec![Outcome::Translated(Emitted {
                    cdm: cdm.to_string(),
                    location: Some(Location {
                        source: Some(source.to_owned()),
                        line: Some(1),
                        column: None,
                        field: None,
                    }),
                })],
                Err(p) => {
                    let code = if p.missing { ErrorCode::MissingData } else { ErrorCode::InvalidInput };
                    let message = format!("{}: {}", p.path, p.message);
                    vec![reject(None, None, Some(p.path), code, message)]
                }
            }
        }

        $crate::whole_document_translator!($plugin, max_bytes = $max, finish = finish_document);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_carry_line_and_column() {
        let e = parse(b"<a>\n  <b></a>").unwrap_err();
        assert_eq!((e.line, e.column), (2, 6), "{e:?}");
        let e = parse(b"<a>\n\xff</a>").unwrap_err();
        assert_eq!((e.line, e.column, e.message.as_str()), (2, 1, "the document is not valid UTF-8"));
    }

    #[test]
    fn xpaths_index_repeated_elements_and_ids_are_safe() {
        let doc = parse(b"<r xmlns:x=\"urn:x\"><x:l/><x:l><x:v>1,5</x:v></x:l></r>").unwrap();
        let v = doc.descendants().find(|n| n.tag_name().name() == "v").unwrap();
        let prefix = |ns: Option<&str>| if ns == Some("urn:x") { "x:" } else { "" };
        assert_eq!(xpath(v, prefix), "/r/x:l[2]/x:v");
        assert_eq!(decimal_of(Some(v), prefix).unwrap_err().path, "/r/x:l[2]/x:v");
        assert!(is_decimal("-12.345") && !is_decimal("1e5") && !is_decimal("1.1234567"));
        assert_eq!(document_id(".INV 7/a"), "INV-7-a");
    }
}
