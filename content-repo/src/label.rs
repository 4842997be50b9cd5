//! Brand labels (`labels/<label>.toml`): the name, colours, logo, sender
//! block, payment account and legal lines that make one tenant's documents
//! look like one brand. Checked on load; every error names the file, the key
//! and its line and column.

use crate::error::ContentError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A brand label, as templates see it (`label.name`, `label.colors.primary`, ...).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// The label's id (its file name); filled in on load.
    #[serde(default)]
    pub id: String,
    /// Brand name shown to customers.
    pub name: String,
    /// Colours as `#rrggbb`.
    pub colors: Colors,
    /// Logo asset path relative to `assets/` (PNG, JPEG or SVG).
    #[serde(default)]
    pub logo: Option<String>,
    /// The sender block.
    pub sender: Sender,
    /// Where customers pay.
    #[serde(default)]
    pub payment: Option<Payment>,
    /// Legal lines for the footer.
    #[serde(default)]
    pub legal: Vec<String>,
    /// Customer contact channels.
    #[serde(default)]
    pub contact: Contact,
}

/// Brand colours.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Colors {
    /// Main colour (headings, rules).
    pub primary: String,
    /// Accent colour (highlights).
    pub accent: String,
    /// Body text colour.
    #[serde(default = "default_text_color")]
    pub text: String,
}

fn default_text_color() -> String {
    "#1a1a1a".into()
}

/// The sender block.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Sender {
    /// Legal name.
    pub name: String,
    /// Postal address lines.
    pub address: Vec<String>,
    /// VAT number.
    #[serde(default)]
    pub vat_id: Option<String>,
    /// Chamber of commerce / company registration.
    #[serde(default)]
    pub registration: Option<String>,
    /// The seller's address as data, for e-invoices (EN 16931 BG-5), where
    /// `address` is lines for print: street and house number.
    #[serde(default)]
    pub street: Option<String>,
    /// Postcode (BT-38).
    #[serde(default)]
    pub postcode: Option<String>,
    /// City (BT-37).
    #[serde(default)]
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2 country code (BT-40), checked on load.
    #[serde(default)]
    pub country: Option<String>,
}

/// The account customers pay into; [`Label::parse`] checks it and keeps the
/// IBAN in its electronic form (no spaces, upper case).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    /// Creditor name as the bank knows it.
    pub creditor: String,
    /// IBAN.
    pub iban: String,
    /// BIC.
    #[serde(default)]
    pub bic: Option<String>,
}

/// Customer contact channels.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Service e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Service phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Website.
    #[serde(default)]
    pub web: Option<String>,
}

impl Label {
    /// Parses and checks a label file; `display_path` is what errors show.
    pub fn parse(id: &str, text: &str, display_path: &Path) -> Result<Label, ContentError> {
        let mut label: Label = toml::from_str(text).map_err(|e| ContentError::toml(display_path, text, &e))?;
        label.id = id.to_owned();
        let key_error = |key: &[&str], message: String| {
            let name = key.last().copied().unwrap_or_default();
            ContentError::at_key(display_path, text, key, format!("{name}: {message}"))
        };
        for (key, value) in [
            (["colors", "primary"], &label.colors.primary),
            (["colors", "accent"], &label.colors.accent),
            (["colors", "text"], &label.colors.text),
        ] {
            if !is_hex_color(value) {
                return Err(key_error(&key, format!("`{value}` is not a colour like #1f6f43")));
            }
        }
        if label.name.trim().is_empty() {
            return Err(key_error(&["name"], "must not be empty".into()));
        }
        if let Some(country) = &label.sender.country
            && (country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(key_error(&["sender", "country"], format!("`{country}` is not an ISO 3166 code like NL")));
        }
        if label.sender.address.is_empty() {
            return Err(key_error(&["sender", "address"], "the sender needs at least one address line".into()));
        }
        // The account every letter of this label may ask customers to pay
        // into: a typo here would go out on every letter, so the label is
        // refused (and a reload that brings it in) instead.
        if let Some(payment) = label.payment.as_mut() {
            match crate::account::iban(&payment.iban) {
                Ok(iban) => payment.iban = iban,
                Err(problem) => {
                    let masked = crate::account::masked(&payment.iban);
                    let what = match problem {
                        crate::account::IbanProblem::Shape => "is not shaped like an IBAN",
                        crate::account::IbanProblem::CheckDigits => "fails its check digits",
                    };
                    return Err(key_error(&["payment", "iban"], format!("{masked} {what} (ISO-13616)")));
                }
            }
            if let Some(bic) = &payment.bic
                && !crate::account::is_bic(bic)
            {
                return Err(key_error(
                    &["payment", "bic"],
                    format!("`{bic}` is not an ISO 9362 BIC (8 or 11 letters and digits)"),
                ));
            }
        }
        if let Some(logo) = &label.logo {
            let lower = logo.to_ascii_lowercase();
            if logo.starts_with('/') || logo.contains("..") {
                return Err(key_error(&["logo"], format!("`{logo}` must be a path inside assets/")));
            }
            if ![".png", ".jpg", ".jpeg", ".svg"].iter().any(|ext| lower.ends_with(ext)) {
                return Err(key_error(&["logo"], format!("`{logo}` must be a PNG, JPEG or SVG file")));
            }
        }
        Ok(label)
    }
}

fn is_hex_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r##"
name = "ACME Energy"
logo = "images/acme-logo.svg"
legal = ["ACME Energy B.V."]

[colors]
primary = "#1f6f43"
accent = "#f2a900"

[sender]
name = "ACME Energy B.V."
address = ["Stationsplein 1", "1012 AB Amsterdam"]
"##;

    #[test]
    fn parses_a_label() {
        let l = Label::parse("acme", GOOD, Path::new("labels/acme.toml")).unwrap();
        assert_eq!(l.id, "acme");
        assert_eq!(l.colors.text, "#1a1a1a");
    }

    #[test]
    fn bad_colour_names_file_key_line_and_column() {
        let text = GOOD.replace("#f2a900", "orange");
        let e = Label::parse("acme", &text, Path::new("labels/acme.toml")).unwrap_err();
        assert_eq!(e.to_string(), "labels/acme.toml:8:1: accent: `orange` is not a colour like #1f6f43");
    }

    #[test]
    fn unknown_key_is_refused_with_its_position() {
        let text = GOOD.replace("[sender]", "[sender]\ncolour = 1");
        let e = Label::parse("acme", &text, Path::new("labels/acme.toml")).unwrap_err();
        assert_eq!((e.line, e.column), (Some(11), Some(1)), "{e}");
        assert!(e.message.contains("colour"), "{e}");
    }

    #[test]
    fn the_payment_account_is_checked_and_kept_in_electronic_form() {
        let with = |iban: &str, bic: &str| {
            format!("{GOOD}\n[payment]\ncreditor = \"ACME Energy B.V.\"\niban = \"{iban}\"\nbic = \"{bic}\"\n")
        };
        let l =
            Label::parse("acme", &with("nl91 abna 0417 1643 00", "ABNANL2A"), Path::new("labels/acme.toml")).unwrap();
        assert_eq!(l.payment.unwrap().iban, "NL91ABNA0417164300");
        let e =
            Label::parse("acme", &with("NL91ABNA0417164301", "ABNANL2A"), Path::new("labels/acme.toml")).unwrap_err();
        assert_eq!((e.line, e.column), (Some(16), Some(1)), "{e}");
        assert!(e.message.starts_with("iban: NL91…301") && e.message.contains("ISO-13616"), "{e}");
        let e =
            Label::parse("acme", &with("NL91ABNA0417164300", "BIC CODE"), Path::new("labels/acme.toml")).unwrap_err();
        assert!(e.message.starts_with("bic:"), "{e}");
    }

    #[test]
    fn logo_must_stay_inside_assets() {
        let text = GOOD.replace("images/acme-logo.svg", "../secret.svg");
        let e = Label::parse("acme", &text, Path::new("labels/acme.toml")).unwrap_err();
        assert!(e.message.starts_with("logo:"), "{e}");
    }
}
