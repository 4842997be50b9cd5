//! # tessera-cdm: the canonical data model
//!
//! Every source system's data becomes CDM records (a translator's job);
//! everything after that reads only CDM. This crate is the model on its
//! own, so that the plugin kit and other tools can check records without
//! the pipeline:
//!
//! * [`record`]: the CDM 1.1 JSON Schema (`schema/cdm-1.1.schema.json`, the
//!   one source for validation and for `docs/cdm.md`) and [`CdmRecord`], a
//!   record that passed it;
//! * [`rules`]: the amount rules an invoice-like record must keep (EN 16931's
//!   BR-CO rules and ours), run inside [`CdmRecord::parse`];
//! * [`decimal`]: the exact decimals those rules compute with;
//! * [`as_of`]: the `YYYY-MM-DD` dates a run is composed as of.

pub mod as_of;
pub mod decimal;
pub mod record;
pub mod rules;

pub use as_of::{AsOfError, parse_as_of};
pub use decimal::Dec;
pub use record::{CDM_SCHEMA, CdmError, CdmRecord, property_name};
pub use rules::{Breach, Chain, VatPart};
