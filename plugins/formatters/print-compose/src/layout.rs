//! The layout language: what a print template renders (JSON, from a Tera
//! template `templates/<name>.layout.json.tera`) and what the composer reads.
//!
//! A letter is a page setting, a default text style, named colours, a
//! footer and a body of blocks that flow down the page:
//!
//! ```json
//! { "page": { "size": "a4", "margin": { "top": 20, "bottom": 28, "left": 22, "right": 20 } },
//!   "font": { "family": "Libertinus Serif", "size": 10 },
//!   "colors": { "primary": "#0b4f8a" },
//!   "footer": [ { "text": ["Page ", { "field": "page" }, " / ", { "field": "pages" }] } ],
//!   "body": [ { "text": "Dear customer,", "below": 3 },
//!             { "table": { "columns": ["1fr", "auto"], "rows": [["Energy", "12.00"]] } } ] }
//! ```
//!
//! Lengths are millimetres unless a key says `_pt`; colours are `#rrggbb`
//! or a name from `colors`. Blocks: `text` (a paragraph of spans), `space`
//! (a gap, or `"fill"`: what follows goes to the page's foot), `rule`,
//! `columns` (blocks side by side), `table`, `panel` (a box kept on one
//! page), `image` (SVG), `break` (`{"break": "page"}`). Spans: a string, `{ "b": … }` bold, `{ "i": … }`
//! italic, `{ "text": …, "bold": …, "size": …, "color": … }`, `{ "field":
//! "page" | "pages" }` and `{ "hfill": true }` (what follows on the line is
//! pushed to its right end). `\n` in a string breaks the line.
//!
//! Templates render JSON with loops, so a comma before `]` or `}` is
//! allowed ([`parse`] drops it).
//!
//! A print spool is `{ "spool": { … }, "letters": [ letter, … ] }`
//! ([`Spool`]).

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer};
use serde_json::Value;
use std::collections::HashMap;

/// One letter.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Letter {
    #[serde(default)]
    pub page: PageSetup,
    #[serde(default)]
    pub font: FontSetup,
    #[serde(default)]
    pub colors: HashMap<String, String>,
    /// The document's title (the PDF's metadata).
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub author: Option<String>,
    /// Drawn in the bottom margin of every page of the letter.
    #[serde(default)]
    pub footer: Vec<Block>,
    pub body: Vec<Block>,
}

/// A print spool: letters one after the other, each from a new page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spool {
    pub spool: SpoolSetup,
    pub letters: Vec<Letter>,
}

/// How a spool's letters are put together.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpoolSetup {
    /// Printed on both sides: each letter starts on an odd page (a blank
    /// back page is inserted after a letter that ends on a front).
    #[serde(default)]
    pub duplex: bool,
    /// Inserter control marks on every sheet's front.
    #[serde(default)]
    pub marks: Option<MarkZone>,
    /// The spool's number (in the control marks).
    #[serde(default)]
    pub number: u32,
    /// The place in the spool of the first letter (in the control marks).
    #[serde(default)]
    pub first_place: u32,
    #[serde(default)]
    pub title: Option<String>,
}

/// Where the dash column of the control marks goes.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkZone {
    pub x_mm: f32,
    pub y_mm: f32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageSetup {
    #[serde(default = "a4")]
    pub size: PageSize,
    #[serde(default)]
    pub margin: Margins,
}

impl Default for PageSetup {
    fn default() -> Self {
        PageSetup { size: a4(), margin: Margins::default() }
    }
}

fn a4() -> PageSize {
    PageSize::Named("a4".into())
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PageSize {
    Named(String),
    /// Width and height in mm.
    Custom([f32; 2]),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Margins {
    #[serde(default = "twenty")]
    pub top: f32,
    #[serde(default = "twenty")]
    pub bottom: f32,
    #[serde(default = "twenty")]
    pub left: f32,
    #[serde(default = "twenty")]
    pub right: f32,
}

impl Default for Margins {
    fn default() -> Self {
        Margins { top: 20.0, bottom: 20.0, left: 20.0, right: 20.0 }
    }
}

fn twenty() -> f32 {
    20.0
}

/// The letter's default text style.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FontSetup {
    #[serde(default = "default_family")]
    pub family: String,
    /// Points.
    #[serde(default = "ten")]
    pub size: f32,
    /// Space between lines (from one's baseline to the next's cap height),
    /// as a multiple of the size, as Typst's `par(leading:)`.
    #[serde(default = "default_leading")]
    pub leading: f32,
    /// Space between paragraphs, as a multiple of the size.
    #[serde(default = "default_spacing")]
    pub spacing: f32,
    #[serde(default)]
    pub color: Option<String>,
}

impl Default for FontSetup {
    fn default() -> Self {
        FontSetup {
            family: default_family(),
            size: 10.0,
            leading: default_leading(),
            spacing: default_spacing(),
            color: None,
        }
    }
}

fn default_family() -> String {
    "Libertinus Serif".into()
}

fn ten() -> f32 {
    10.0
}

fn default_leading() -> f32 {
    0.65
}

fn default_spacing() -> f32 {
    1.2
}

/// One block of the flow, told by its key (`text`, `space`, `rule`,
/// `columns`, `table`, `panel`, `image`).
#[derive(Debug)]
pub enum Block {
    Text(TextBlock),
    Space(Gap),
    Rule(RuleBlock),
    Columns(ColumnsBlock),
    Table(TableBlock),
    Panel(PanelBlock),
    Image(ImageBlock),
    /// `{"break": "page"}`: what follows starts on a new page.
    PageBreak,
}

/// A paragraph.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextBlock {
    pub text: Inline,
    #[serde(default)]
    pub size: Option<f32>,
    #[serde(default)]
    pub bold: Option<bool>,
    #[serde(default)]
    pub italic: Option<bool>,
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub align: Align,
    /// Space above and below, mm (default: the font's paragraph spacing below).
    #[serde(default)]
    pub above: Option<f32>,
    #[serde(default)]
    pub below: Option<f32>,
}

/// Text style overrides.
#[derive(Debug, Default, Clone)]
pub struct Style {
    pub size: Option<f32>,
    pub bold: Option<bool>,
    pub italic: Option<bool>,
    pub color: Option<String>,
}

/// The style keys a block, span or row may carry.
macro_rules! styled {
    ($($t:ty),*) => {$(
        impl $t {
            pub fn style(&self) -> Style {
                Style { size: self.size, bold: self.bold, italic: self.italic, color: self.color.clone() }
            }
        }
    )*};
}
styled!(TextBlock, StyledSpan, Table, StyledRow);

#[derive(Debug)]
pub enum Inline {
    One(Span),
    Many(Vec<Span>),
}

impl Inline {
    pub fn spans(&self) -> &[Span] {
        match self {
            Inline::One(span) => std::slice::from_ref(span),
            Inline::Many(spans) => spans,
        }
    }
}

#[derive(Debug)]
pub enum Span {
    Plain(String),
    Bold(String),
    Italic(String),
    Field(Field),
    HFill,
    Styled(StyledSpan),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StyledSpan {
    pub text: String,
    #[serde(default)]
    pub size: Option<f32>,
    #[serde(default)]
    pub bold: Option<bool>,
    #[serde(default)]
    pub italic: Option<bool>,
    #[serde(default)]
    pub color: Option<String>,
}

/// A number only known once the letter is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    /// The page's number within its letter.
    Page,
    /// The letter's pages.
    Pages,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

#[derive(Debug, Clone, Copy)]
pub enum Gap {
    Mm(f32),
    /// `"fill"`: what follows goes to the foot of the page.
    Fill,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleBlock {
    pub rule: Stroke,
    #[serde(default)]
    pub above: Option<f32>,
    #[serde(default)]
    pub below: Option<f32>,
}

/// A line's width and colour.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stroke {
    #[serde(default = "half_point")]
    pub width_pt: f32,
    #[serde(default)]
    pub color: Option<String>,
}

fn half_point() -> f32 {
    0.5
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnsBlock {
    pub columns: Vec<Column>,
    /// Between columns, mm.
    #[serde(default)]
    pub gap: f32,
    #[serde(default)]
    pub above: Option<f32>,
    #[serde(default)]
    pub below: Option<f32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    #[serde(default)]
    pub width: Width,
    #[serde(default)]
    pub align: Align,
    /// `"middle"` centres the column's content on the row's height.
    #[serde(default)]
    pub valign: Option<String>,
    pub blocks: Vec<Block>,
}

/// A column's width: mm, `"auto"` (its content's) or `"<n>fr"` (a share of
/// what is left).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Width {
    Mm(f32),
    Named(String),
}

impl Default for Width {
    fn default() -> Self {
        Width::Named("1fr".into())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableBlock {
    pub table: Table,
    #[serde(default)]
    pub above: Option<f32>,
    #[serde(default)]
    pub below: Option<f32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub columns: Vec<Width>,
    /// Per column.
    #[serde(default)]
    pub align: Vec<Align>,
    /// Header row: repeated on every page the table spans.
    #[serde(default)]
    pub header: Option<Row>,
    pub rows: Vec<Row>,
    /// Under the header.
    #[serde(default)]
    pub header_rule: Option<Stroke>,
    /// Under every body row.
    #[serde(default)]
    pub rule: Option<Stroke>,
    /// Cell padding, points: across and down.
    #[serde(default)]
    pub inset_pt: [f32; 2],
    /// Between columns and between rows, mm.
    #[serde(default)]
    pub column_gap: f32,
    #[serde(default)]
    pub row_gap: f32,
    /// Where a table narrower than the line sits.
    #[serde(default)]
    pub place: Align,
    #[serde(default)]
    pub size: Option<f32>,
    #[serde(default)]
    pub bold: Option<bool>,
    #[serde(default)]
    pub italic: Option<bool>,
    #[serde(default)]
    pub color: Option<String>,
}

#[derive(Debug)]
pub enum Row {
    Cells(Vec<Inline>),
    Styled(StyledRow),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StyledRow {
    pub cells: Vec<Inline>,
    #[serde(default)]
    pub rule_above: Option<Stroke>,
    #[serde(default)]
    pub size: Option<f32>,
    #[serde(default)]
    pub bold: Option<bool>,
    #[serde(default)]
    pub italic: Option<bool>,
    #[serde(default)]
    pub color: Option<String>,
}

impl Row {
    pub fn cells(&self) -> &[Inline] {
        match self {
            Row::Cells(cells) => cells,
            Row::Styled(row) => &row.cells,
        }
    }

    pub fn style(&self) -> Style {
        match self {
            Row::Cells(_) => Style::default(),
            Row::Styled(row) => row.style(),
        }
    }

    pub fn rule_above(&self) -> Option<&Stroke> {
        match self {
            Row::Cells(_) => None,
            Row::Styled(row) => row.rule_above.as_ref(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanelBlock {
    pub panel: Vec<Block>,
    #[serde(default)]
    pub fill: Option<String>,
    /// A bar down the panel's left edge.
    #[serde(default)]
    pub bar: Option<Stroke>,
    /// Padding on every side, mm.
    #[serde(default)]
    pub inset: f32,
    /// The least height, mm (an address block sized for the envelope's
    /// window keeps what follows in place).
    #[serde(default)]
    pub height: Option<f32>,
    #[serde(default)]
    pub above: Option<f32>,
    #[serde(default)]
    pub below: Option<f32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageBlock {
    /// The SVG document's text.
    pub image: String,
    /// mm; with neither, the SVG's own size (1 px = 1/96 in).
    #[serde(default)]
    pub width: Option<f32>,
    #[serde(default)]
    pub height: Option<f32>,
    #[serde(default)]
    pub align: Align,
    #[serde(default)]
    pub above: Option<f32>,
    #[serde(default)]
    pub below: Option<f32>,
}

/// What the markup holds: one letter or a spool.
pub enum Markup {
    Letter(Box<Letter>),
    Spool(Spool),
}

/// Why markup could not be read: serde's message and where.
#[derive(Debug)]
pub struct ParseError {
    pub message: String,
    pub line: u32,
    pub column: u32,
}

/// Reads a letter or a spool. Commas before a closing `]` or `}` are
/// dropped first (outside strings), so templates can loop freely; the line
/// and column of an error are the template output's (dropping a comma
/// keeps every other byte where it was).
pub fn parse(markup: &str) -> Result<Markup, ParseError> {
    let cleaned = drop_trailing_commas(markup);
    let at =
        |e: serde_json::Error| ParseError { message: e.to_string(), line: e.line() as u32, column: e.column() as u32 };
    if is_spool(&cleaned) {
        serde_json::from_str(&cleaned).map(Markup::Spool).map_err(at)
    } else {
        serde_json::from_str(&cleaned).map(|l| Markup::Letter(Box::new(l))).map_err(at)
    }
}

/// A spool's markup (which the host writes) starts with its `"spool"` key.
fn is_spool(markup: &str) -> bool {
    markup.trim_start().strip_prefix('{').is_some_and(|rest| rest.trim_start().starts_with("\"spool\""))
}

/// The markup with every comma that only a closing bracket follows
/// (white space between) replaced by a space.
fn drop_trailing_commas(markup: &str) -> String {
    let bytes = markup.as_bytes();
    let mut out = bytes.to_vec();
    let mut in_string = false;
    let mut escaped = false;
    let mut pending: Option<usize> = None;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                pending = None;
            }
            b',' => pending = Some(i),
            b']' | b'}' => {
                if let Some(comma) = pending.take() {
                    out[comma] = b' ';
                }
            }
            b' ' | b'\n' | b'\r' | b'\t' => {}
            _ => pending = None,
        }
    }
    // Only ASCII commas were replaced by ASCII spaces.
    String::from_utf8(out).unwrap_or_default()
}

fn from_value<T: DeserializeOwned, E: de::Error>(value: Value, what: &str) -> Result<T, E> {
    T::deserialize(value).map_err(|e| E::custom(format!("{what}: {e}")))
}

impl<'de> Deserialize<'de> for Block {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let Some(object) = value.as_object() else {
            return Err(de::Error::custom(format!(
                "a block is an object with one of the keys {BLOCK_KEYS}, not {value}"
            )));
        };
        let key = ["text", "space", "rule", "columns", "table", "panel", "image", "break"]
            .into_iter()
            .find(|k| object.contains_key(*k));
        match key {
            Some("text") => from_value(value, "a `text` block").map(Block::Text),
            Some("space") => {
                let gap = match &object["space"] {
                    Value::Number(n) => Gap::Mm(n.as_f64().unwrap_or_default() as f32),
                    Value::String(s) if s == "fill" => Gap::Fill,
                    other => return Err(de::Error::custom(format!("`space` is mm or \"fill\", not {other}"))),
                };
                if object.len() > 1 {
                    return Err(de::Error::custom("a `space` block has no other keys"));
                }
                Ok(Block::Space(gap))
            }
            Some("rule") => from_value(value, "a `rule` block").map(Block::Rule),
            Some("columns") => from_value(value, "a `columns` block").map(Block::Columns),
            Some("table") => from_value(value, "a `table` block").map(Block::Table),
            Some("panel") => from_value(value, "a `panel` block").map(Block::Panel),
            Some("image") => from_value(value, "an `image` block").map(Block::Image),
            Some("break") if object.len() == 1 && object["break"] == "page" => Ok(Block::PageBreak),
            Some("break") => Err(de::Error::custom("a break block is {\"break\": \"page\"}")),
            _ => Err(de::Error::custom(format!("a block has one of the keys {BLOCK_KEYS}: {value}"))),
        }
    }
}

const BLOCK_KEYS: &str = "`text`, `space`, `rule`, `columns`, `table`, `panel`, `image`, `break`";

impl<'de> Deserialize<'de> for Inline {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Array(items) => items.into_iter().map(span).collect::<Result<_, _>>().map(Inline::Many),
            other => span(other).map(Inline::One),
        }
    }
}

fn span<E: de::Error>(value: Value) -> Result<Span, E> {
    match value {
        Value::String(text) => Ok(Span::Plain(text)),
        Value::Number(n) => Ok(Span::Plain(n.to_string())),
        Value::Object(mut object) if object.len() == 1 => {
            let (key, inner) = object.iter_mut().next().map(|(k, v)| (k.clone(), v.take())).unwrap_or_default();
            match (key.as_str(), inner) {
                ("b", Value::String(text)) => Ok(Span::Bold(text)),
                ("i", Value::String(text)) => Ok(Span::Italic(text)),
                ("field", field) => from_value(field, "a `field` span").map(Span::Field),
                ("hfill", _) => Ok(Span::HFill),
                ("text", Value::String(text)) => {
                    Ok(Span::Styled(StyledSpan { text, size: None, bold: None, italic: None, color: None }))
                }
                (key, _) => Err(E::custom(format!(
                    "a span is a string or one of `b`, `i`, `field`, `hfill`, `text`, not `{key}`"
                ))),
            }
        }
        value @ Value::Object(_) => from_value(value, "a styled span").map(Span::Styled),
        other => Err(E::custom(format!("a span is a string or an object, not {other}"))),
    }
}

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            value @ Value::Array(_) => from_value(value, "a row").map(Row::Cells),
            value => from_value(value, "a row").map(Row::Styled),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_commas_are_dropped_outside_strings_only() {
        assert_eq!(drop_trailing_commas("[1, 2,\n ]"), "[1, 2 \n ]");
        assert_eq!(drop_trailing_commas(r#"{"a": ",]",}"#), r#"{"a": ",]" }"#);
        assert_eq!(drop_trailing_commas(r#"["x\",]", 1]"#), r#"["x\",]", 1]"#);
    }

    #[test]
    fn a_letter_and_a_spool_are_told_apart() {
        let letter = r#"{"body": [{"text": ["Hi ", {"b": "there"}], "size": 12}, {"space": "fill"},]}"#;
        let Ok(Markup::Letter(letter)) = parse(letter) else { panic!("a letter") };
        assert!(matches!(letter.body[0], Block::Text(_)));
        assert!(matches!(letter.body[1], Block::Space(Gap::Fill)));
        let spool = r#"{"spool": {"duplex": true}, "letters": [{"body": []}]}"#;
        assert!(matches!(parse(spool), Ok(Markup::Spool(s)) if s.letters.len() == 1 && s.spool.duplex));
    }

    #[test]
    fn errors_say_where() {
        let Err(e) = parse("{\"body\": [\n {\"text\": true}]}") else { panic!("an error") };
        assert_eq!(e.line, 2, "{}", e.message);
    }
}
