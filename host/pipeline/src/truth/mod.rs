//! # Truth: a letter says exactly what its data says
//!
//! ```text
//! CDM record ─► rules (amounts add up) ─► settlement (to pay, payee) ─► figures (template view)
//!                                                                    └► facts ─► self-check of every output
//! ```
//!
//! [`rules`] refuses records whose amounts do not add up; [`settlement`]
//! decides the one amount to pay and the account it goes to; [`view`] is
//! what templates read; [`verify`] compares each composed output with the
//! record before anything is written. [`decimal`] is the exact arithmetic
//! under them; the bank-account checks are `tessera_content::account`
//! (brand labels carry an account too, checked when they are parsed).

pub mod decimal;
pub mod pdf;
pub mod rules;
pub mod settlement;
pub mod verify;
pub mod view;

pub use decimal::Dec;
pub use rules::{Breach, Chain};
pub use settlement::{Direction, PaymentPolicy, Refusal, Settlement, Warning};
pub use verify::{Contradiction, Facts, Scope};
pub use view::Figures;
