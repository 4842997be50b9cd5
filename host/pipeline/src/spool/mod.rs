//! Print spools: the letters of a print channel typeset together, up to a
//! set number to one PDF, in the order a print shop posts them (sorted by
//! keys of the record, such as country and postcode), each letter starting
//! on a new sheet — on an odd page, with a blank back inserted, when the
//! spool is printed on both sides.
//!
//! A spool is one Typst document made of the letters' own markup, so fonts
//! and images are embedded once per spool and the formatter's fixed cost
//! (its caches, the PDF's structure) is paid once for many letters. Each
//! letter is wrapped in its own scope ([`markup`]): its set and show rules
//! end with it, its page counter starts at one, and a hidden bookmark marks
//! its first page, from which [`pages`] reads back the page range of every
//! letter.
//!
//! A letter the formatter cannot typeset, or whose pages do not show what
//! its record says (the self-check of [`crate::verify`], on the text of its
//! own pages), is left out of the spool and rejected alone ([`make`]); the
//! spool is typeset again without it.

pub mod make;
pub mod marks;
pub mod markup;
pub mod order;
pub mod pages;
pub(crate) mod stage;
pub mod staging;

pub use make::{
    PlacedLetter, Spool, SpoolLetter, SpoolOutcome, SpoolPlan, Typeset, TypesetFailure, Unspooled, make_spool,
    make_spool_with, plugin_typesetter,
};
pub use order::{order_letters, sort_key};

/// `spool = { … }` of a print channel in `tenant.toml`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpoolSettings {
    /// The most letters in one spool file.
    #[serde(default = "default_letters")]
    pub letters: usize,
    /// CDM paths the letters are sorted by, in order (`address.country`,
    /// `address.postcode`); ties keep the input order.
    #[serde(default)]
    pub sort: Vec<String>,
    /// Printed on both sides: every letter starts on an odd page.
    #[serde(default)]
    pub duplex: bool,
    /// Inserter control marks on every sheet ([`marks`]), when set.
    #[serde(default)]
    pub marks: Option<marks::ControlMarks>,
}

fn default_letters() -> usize {
    500
}
