//! Template filters for letters: money and dates the way each locale writes
//! them. Amounts in the CDM are decimal strings (`"1234.50"`), never floats.
//!
//! Every decimal a letter shows — amounts, rates, quantities — goes through
//! [`format_decimal`]: one canonical form ([`tessera_cdm::Dec`]: no
//! trailing fractional zeros beyond the minimum, no leading zeros; at most
//! six decimals, as the CDM allows), then the locale's separators. So
//! `25`, `25.0` and `25.00` in a source all print as `25%`, and the
//! self-check can look for exactly what the templates print.
//!
//! Each filter writes for the document's own locale unless the template
//! names another (`money(locale="de")`): a letter cannot print its figures
//! the English way by leaving the argument out. Not passing it is also the
//! cheaper call — Tera builds a map of a filter's arguments on every call,
//! some sixty times a letter.

use tera::{Kwargs, State, TeraResult, Value};

/// `{{ total | money }}`: `1,234.50` (en) or `1.234,50` (nl, de, fr).
pub fn money(value: &Value, kwargs: Kwargs, _: &State) -> TeraResult<String> {
    with_locale(&kwargs, |locale| {
        let text = as_text(value);
        format_money(&text, locale)
            .ok_or_else(|| tera::Error::message(format!("money: `{text}` is not a decimal amount")))
    })
}

/// `{{ line.quantity | number }}`: `1,234.5` (en) or `1.234,5` (nl):
/// the decimals the value has, the separators of the locale.
pub fn number(value: &Value, kwargs: Kwargs, _: &State) -> TeraResult<String> {
    with_locale(&kwargs, |locale| {
        let text = as_text(value);
        format_decimal(&text, locale, 0)
            .ok_or_else(|| tera::Error::message(format!("number: `{text}` is not a decimal number")))
    })
}

/// Runs `write` with the `locale` argument when the template passed one,
/// else the locale of the document being composed, else English.
fn with_locale<T>(kwargs: &Kwargs, write: impl FnOnce(&str) -> TeraResult<T>) -> TeraResult<T> {
    match kwargs.get::<&str>("locale")? {
        Some(locale) => write(locale),
        None => super::with_document_locale(|locale| write(locale.unwrap_or("en"))),
    }
}

/// A CDM decimal (a string) or a plain number, as text.
fn as_text(value: &Value) -> std::borrow::Cow<'_, str> {
    match value.as_str() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(value.to_string()),
    }
}

/// Groups thousands and picks the separators of the locale, with two decimals.
pub fn format_money(text: &str, locale: &str) -> Option<String> {
    format_decimal(text, locale, 2)
}

/// Groups thousands and picks the separators of the locale, padding the
/// fraction to at least `min_decimals` digits.
pub fn format_decimal(text: &str, locale: &str, min_decimals: usize) -> Option<String> {
    // The canonical form is the settlement's own (`truth::Dec`): a figure
    // the self-check looks for is written exactly as the template wrote it.
    let parts = tessera_cdm::Dec::parse(text)?.parts(min_decimals);
    let (int, frac) = (parts.whole(), parts.fraction());
    let (group, decimal) = if comma_decimal(locale) { ('.', ',') } else { (',', '.') };
    let mut grouped = String::with_capacity(2 + int.len() + int.len() / 3 + frac.len());
    if parts.negative {
        grouped.push('-');
    }
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(group);
        }
        grouped.push(c);
    }
    if !frac.is_empty() {
        grouped.push(decimal);
        grouped.push_str(frac);
    }
    Some(grouped)
}

fn comma_decimal(locale: &str) -> bool {
    matches!(locale.split(['-', '_']).next().unwrap_or(""), "nl" | "de" | "fr" | "es" | "it" | "pt" | "da")
}

/// `{{ "2026-11-01" | long_date }}`: `1 November 2026` / `1 november 2026`.
pub fn long_date(value: &str, kwargs: Kwargs, _: &State) -> TeraResult<String> {
    with_locale(&kwargs, |locale| {
        format_long_date(value, locale)
            .ok_or_else(|| tera::Error::message(format!("long_date: `{value}` is not a date (YYYY-MM-DD)")))
    })
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_NL: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];

/// A `YYYY-MM-DD` date written out.
pub fn format_long_date(value: &str, locale: &str) -> Option<String> {
    let mut parts = value.trim().splitn(3, '-');
    let year: u32 = parts.next()?.parse().ok()?;
    let month: usize = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let months = if locale.starts_with("nl") { &MONTHS_NL } else { &MONTHS_EN };
    Some(format!("{day} {} {year}", months[month - 1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_per_locale() {
        assert_eq!(format_money("1234567.5", "en").as_deref(), Some("1,234,567.50"));
        assert_eq!(format_money("1234.50", "nl").as_deref(), Some("1.234,50"));
        assert_eq!(format_money("-12.00", "nl-BE").as_deref(), Some("-12,00"));
        assert_eq!(format_money("999", "en").as_deref(), Some("999.00"));
        assert_eq!(format_money("12a", "en"), None);
        assert_eq!(format_decimal("212.4", "nl", 0).as_deref(), Some("212,4"));
        assert_eq!(format_decimal("1500", "en", 0).as_deref(), Some("1,500"));
    }

    #[test]
    fn one_canonical_form_whatever_the_source_wrote() {
        for rate in ["25", "25.0", "25.00", "025"] {
            assert_eq!(format_decimal(rate, "en", 0).as_deref(), Some("25"), "{rate}");
        }
        assert_eq!(format_decimal("12.50", "nl", 0).as_deref(), Some("12,5"));
        assert_eq!(format_money("0.274500", "en").as_deref(), Some("0.2745"));
        assert_eq!(format_money("12.500", "en").as_deref(), Some("12.50"));
        assert_eq!(format_money("-0.00", "en").as_deref(), Some("0.00"));
        assert_eq!(format_decimal("1.000", "nl", 0).as_deref(), Some("1"));
    }

    #[test]
    fn an_argument_names_the_locale_and_without_one_outside_a_document_it_is_english() {
        let mut tera = tera::Tera::new();
        super::super::register_filters(&mut tera);
        tera.add_raw_template(
            "t",
            r#"{{ "1234.5" | money }} {{ "1234.5" | money(locale="nl") }} {{ d | long_date(locale="nl") }}"#,
        )
        .unwrap();
        let mut context = tera::Context::new();
        context.insert("d", "2026-03-31");
        assert_eq!(tera.render("t", &context).unwrap(), "1,234.50 1.234,50 31 maart 2026");
    }

    #[test]
    fn long_dates() {
        assert_eq!(format_long_date("2026-11-01", "en").as_deref(), Some("1 November 2026"));
        assert_eq!(format_long_date("2026-03-31", "nl").as_deref(), Some("31 maart 2026"));
        assert_eq!(format_long_date("2026-13-01", "en"), None);
    }
}
