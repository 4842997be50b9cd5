//! The EN 16931 semantic model of an invoice, read from a CDM record, for
//! the e-invoice formatters (`cii-invoice-out`, `ubl-invoice-out`): each
//! writes its syntax from one [`Invoice`], so the two cannot disagree about
//! a figure or a party.
//!
//! * [`decimal`]: exact amounts (no float between the CDM and the XML);
//! * [`model`]: CDM → [`Invoice`], or a [`Missing`] naming the business
//!   term (`BT-…`) and the CDM path a record lacks;
//! * [`terms`]: the business terms this model fills, with their CDM paths
//!   (the table `docs/einvoice.md` shows);
//! * [`xml`]: an escaping XML writer.

pub mod decimal;
pub mod model;
pub mod terms;
pub mod xml;

pub use decimal::Amount;
pub use model::{Invoice, Missing, Refusal};
