//! Built-in channel formats: how a composed document becomes an e-mail
//! file or an SMS message. (HTML and text are the renditions themselves;
//! print PDF and custom formats come from formatter plugins.)

pub mod email;
pub mod routing;
pub mod sms;
