//! # Truth: a letter says exactly what its data says
//!
//! ```text
//! CDM record ─► rules (amounts add up) ─► settlement (to pay, payee) ─► figures (template view)
//!                                                                    └► facts ─► self-check of every output
//! ```
//!
//! The amount rules are the CDM's own (`tessera_cdm::rules`, run when a
//! record is parsed). Here, [`settlement`] decides the one amount to pay and
//! the account it goes to, and [`view`] is what templates read of it; the
//! self-check of every output is its own stage ([`crate::verify`]). The
//! bank-account checks are `tessera_content::account` (brand labels carry an
//! account too, checked when they are parsed).

pub mod settlement;
pub mod view;

pub use settlement::{BadAllowedIban, Direction, PaymentPolicy, Refusal, Settlement, Warning};
pub use view::Figures;
