//! Channels: what the tenant configured ([`config`]), which channels each
//! record goes to ([`scenario`], [`routing`]), and the built-in formats —
//! how a composed document becomes an e-mail file ([`email`]) or an SMS
//! message ([`sms`]), and a PDF/A letter a Factur-X invoice ([`factur_x`]). HTML and text are the renditions themselves; print
//! PDF and custom formats come from formatter plugins.

pub mod config;
pub mod email;
pub mod factur_x;
pub mod routing;
pub mod scenario;
pub mod sms;
