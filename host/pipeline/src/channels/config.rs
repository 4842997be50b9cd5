//! What `tenant.toml` says about channels: the outputs every document gets
//! (`[outputs]`) and the channels a scenario can route to (`[channels]`).
//! Read here, as plain data; [`crate::channels::routing`] resolves it
//! against the tenant's plugins.

use serde::Deserialize;
use std::collections::BTreeMap;

/// Outputs every document gets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    /// Self-contained HTML.
    #[serde(default = "yes")]
    pub html: bool,
    /// Formatter plugins; each makes one more output per document.
    #[serde(default)]
    pub formatters: Vec<FormatterOutput>,
    /// Metadata passed to formatters (e.g. `print.width`).
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// One formatter output: which channel, made by which plugin.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatterOutput {
    /// Channel name passed to the formatter and written in the manifest.
    pub channel: String,
    /// Formatter plugin id.
    pub plugin: String,
}

/// `[channels.<name>]`: how documents sent to this channel are made.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// A built-in format: `html`, `text`, `email` or `sms`.
    #[serde(default)]
    pub format: Option<BuiltIn>,
    /// Or a formatter plugin id.
    #[serde(default)]
    pub plugin: Option<String>,
    /// For plugins: the markup the template renders for them (`typst`:
    /// `templates/<name>.typ.tera`), passed as the `markup` metadata entry.
    #[serde(default)]
    pub markup: Option<Markup>,
    /// For `sms`: the most segments one message may take (default 3).
    #[serde(default)]
    pub max_segments: Option<u32>,
    /// Extra metadata for this channel's formatter (over `[outputs.metadata]`).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// For plugins: also pass the CDM record itself, as JSON text in the
    /// `cdm` metadata entry — what formatters that write structured data
    /// (e-invoices) read instead of the renditions.
    #[serde(default)]
    pub cdm: bool,
    /// For PDF/A channels: make each PDF a Factur-X / ZUGFeRD invoice. The
    /// formatter plugin named here (`cii-invoice-out`) writes the CII XML
    /// from the record; the host attaches it as `factur-x.xml` and declares
    /// the PDF/A-3b and Factur-X metadata (`docs/einvoice.md`).
    #[serde(default)]
    pub factur_x: Option<String>,
    /// Print spools instead of one file per letter (Typst markup channels):
    /// `spool = { letters = 500, sort = ["address.country", "address.postcode"], duplex = true }`.
    #[serde(default)]
    pub spool: Option<crate::spool::SpoolSettings>,
}

/// Formats the host makes itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuiltIn {
    /// Self-contained HTML.
    Html,
    /// Plain text.
    Text,
    /// An `.eml` MIME message.
    Email,
    /// An SMS message (JSON with the text and its segments).
    Sms,
}

/// Markup languages a template can render for a formatter plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Markup {
    /// Typst markup (`templates/<name>.typ.tera`), for typst-pdf.
    Typst,
    /// A print layout (`templates/<name>.layout.json.tera`), for print-compose.
    Layout,
}

impl Markup {
    /// The name formatters are told (`markup.language`).
    pub fn name(self) -> &'static str {
        match self {
            Markup::Typst => "typst",
            Markup::Layout => "layout",
        }
    }
}

impl Default for Outputs {
    fn default() -> Self {
        Outputs { html: true, formatters: Vec::new(), metadata: Default::default() }
    }
}

fn yes() -> bool {
    true
}
