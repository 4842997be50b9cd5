//! `payment-qr`: a tessera fragment that renders an EPC069-12 SEPA credit
//! transfer QR code ("scan to pay") as inline SVG.
//!
//! Call it from a template as
//! `{{ fragment(name="payment-qr", creditor=label.payment.creditor, iban=label.payment.iban) }}`.
//! The amount, currency and reference come from the record's
//! `content.payment`; parameters `amount`, `currency`, `reference`, `bic`,
//! `caption` and `size_mm` override or add to them. A record with nothing to
//! pay (a credit note) renders an empty fragment.
//!
//! A caller that passes `amount`, `currency` and `reference` has settled
//! the payment itself (tessera's templates pass the host's settlement): the
//! record is then not read at all, which spares parsing kilobytes of JSON
//! per letter — about a third of this fragment's time in a batch.

mod epc;
mod qr;
mod svg;

use serde_json::Value;

wit_bindgen::generate!({
    world: "fragment",
    path: "../../../wit/v0.1",
});

use exports::tessera::plugin::render::{Guest, Rendered};
use tessera::plugin::types::{Entry, ErrorCode, Location, PluginError};

struct PaymentQr;

impl Guest for PaymentQr {
    fn render(name: String, params: Vec<Entry>, context: String) -> Result<Rendered, PluginError> {
        if name != "payment-qr" {
            return Err(error(ErrorCode::Unsupported, format!("this plugin renders `payment-qr`, not `{name}`"), None));
        }
        let param = |key: &str| params.iter().find(|e| e.name == key).map(|e| e.value.as_str());
        let settled = ["amount", "currency", "reference"].iter().all(|k| param(k).is_some());
        let payment = if settled {
            Value::Null
        } else {
            // Only `content.payment` is read: the rest of the record is
            // skipped by the parser, not built.
            let record: RecordPayment = serde_json::from_str(&context)
                .map_err(|e| error(ErrorCode::InvalidInput, format!("context is not a JSON object: {e}"), None))?;
            record.content.map(|c| c.payment).unwrap_or(Value::Null)
        };
        let payment = &payment;
        let from_record = |key: &str| payment[key].as_str();

        if payment["credit"].as_bool() == Some(true) {
            return Ok(Rendered { html: String::new(), text: String::new() });
        }
        let currency = param("currency").or(from_record("currency")).unwrap_or("EUR");
        if currency != "EUR" {
            return Err(error(
                ErrorCode::Unsupported,
                format!("SEPA QR codes are for euro payments; this record is in {currency}"),
                Some(if param("currency").is_some() { "currency" } else { "content.payment.currency" }),
            ));
        }
        let iban = param("iban").ok_or_else(|| missing("iban", "params.iban"))?;
        let creditor = param("creditor").ok_or_else(|| missing("creditor", "params.creditor"))?;
        let amount =
            param("amount").or(from_record("amount")).ok_or_else(|| missing("amount", "content.payment.amount"))?;
        let reference = param("reference").or(from_record("reference")).unwrap_or("");
        let transfer = epc::Transfer { name: creditor, iban, bic: param("bic"), amount, reference };
        let payload = epc::payload(&transfer)
            .map_err(|e| error(ErrorCode::InvalidInput, format!("{}: {}", e.field, e.message), Some(e.field)))?;
        let size_mm: u32 = match param("size_mm") {
            None => 30,
            Some(s) => s.parse().ok().filter(|v| (15..=80).contains(v)).ok_or_else(|| {
                error(
                    ErrorCode::InvalidInput,
                    format!("size_mm `{s}` is not a whole number from 15 to 80"),
                    Some("size_mm"),
                )
            })?,
        };
        let caption = param("caption").unwrap_or("Scan with your banking app to pay");
        let iban_display = epc::normalise_iban(iban).unwrap_or_default();
        let caption_html = escape(caption);
        let mut html = Vec::with_capacity(4096);
        html.extend_from_slice(br#"<figure class="payment-qr">"#);
        svg::write_svg(&mut html, &payload, size_mm, "SEPA payment QR code")
            .map_err(|e| error(ErrorCode::Internal, format!("QR encoding failed: {e}"), None))?;
        html.extend_from_slice(b"<figcaption>");
        html.extend_from_slice(caption_html.as_bytes());
        html.extend_from_slice(b"</figcaption></figure>");
        // ASCII markup around `str`s: the check cannot fail.
        let html = String::from_utf8(html)
            .map_err(|e| error(ErrorCode::Internal, format!("the figure is not UTF-8: {e}"), None))?;
        let text = format!("{caption}: EUR {amount} to {iban_display}, reference {reference}");
        Ok(Rendered { html, text })
    }
}

/// The part of the record this fragment reads.
#[derive(serde::Deserialize)]
struct RecordPayment {
    #[serde(default)]
    content: Option<ContentPayment>,
}

#[derive(serde::Deserialize)]
struct ContentPayment {
    #[serde(default)]
    payment: Value,
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn missing(key: &str, path: &str) -> PluginError {
    error(ErrorCode::MissingData, format!("no `{key}`: pass it as a parameter or set {path}"), Some(path))
}

fn error(code: ErrorCode, message: String, field: Option<&str>) -> PluginError {
    PluginError {
        code,
        message,
        location: field.map(|f| Location { source: None, line: None, column: None, field: Some(f.to_owned()) }),
    }
}

export!(PaymentQr);

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<Entry> {
        pairs.iter().map(|(name, value)| Entry { name: (*name).into(), value: (*value).into() }).collect()
    }

    const PAYEE: [(&str, &str); 2] = [("creditor", "ACME Energy B.V."), ("iban", "NL91ABNA0417164300")];

    #[test]
    fn a_settled_payment_does_not_read_the_record() {
        let settled = params(&[PAYEE[0], PAYEE[1], ("amount", "12.10"), ("currency", "EUR"), ("reference", "RF18")]);
        let rendered = PaymentQr::render("payment-qr".into(), settled, "not even JSON".into()).ok().unwrap();
        assert!(rendered.html.contains("<svg") && rendered.text.contains("EUR 12.10"), "{}", rendered.text);
    }

    #[test]
    fn the_record_fills_in_what_the_parameters_leave_out() {
        let context = r#"{"content":{"payment":{"currency":"EUR","amount":"9.50","reference":"RF18"}}}"#;
        let rendered = PaymentQr::render("payment-qr".into(), params(&PAYEE), context.into()).ok().unwrap();
        assert!(rendered.text.contains("EUR 9.50") && rendered.text.contains("RF18"), "{}", rendered.text);
        let credit = r#"{"content":{"payment":{"currency":"EUR","amount":"9.50","credit":true}}}"#;
        let rendered = PaymentQr::render("payment-qr".into(), params(&PAYEE), credit.into()).ok().unwrap();
        assert!(rendered.html.is_empty(), "a credit note has nothing to pay");
    }

    #[test]
    fn a_currency_other_than_the_euro_is_refused_naming_where_it_came_from() {
        let pounds = params(&[PAYEE[0], PAYEE[1], ("amount", "1"), ("currency", "GBP"), ("reference", "R")]);
        let e = PaymentQr::render("payment-qr".into(), pounds, String::new()).err().unwrap();
        assert_eq!(e.location.and_then(|l| l.field).as_deref(), Some("currency"));
        let context = r#"{"content":{"payment":{"currency":"GBP","amount":"1"}}}"#;
        let e = PaymentQr::render("payment-qr".into(), params(&PAYEE), context.into()).err().unwrap();
        assert_eq!(e.location.and_then(|l| l.field).as_deref(), Some("content.payment.currency"));
    }
}

#[cfg(test)]
mod throughput {
    use super::*;

    /// Native timing of one render as tessera's templates call it (the
    /// payment settled by the host, the record not read); run with
    /// `--ignored` under a profiler.
    #[test]
    #[ignore]
    fn render_ten_thousand_codes() {
        let params = |amount: &str| {
            [
                ("creditor", "ACME Energy B.V."),
                ("iban", "NL91ABNA0417164300"),
                ("amount", amount),
                ("currency", "EUR"),
                ("reference", "RF18539007547034"),
            ]
            .map(|(name, value)| Entry { name: name.into(), value: value.into() })
            .to_vec()
        };
        let context = "{}";
        let started = std::time::Instant::now();
        for i in 0..10_000 {
            let amount = format!("{}.{:02}", 10 + i % 900, i % 100);
            PaymentQr::render("payment-qr".into(), params(&amount), context.into()).ok().unwrap();
        }
        eprintln!("{:.1} µs per code", started.elapsed().as_secs_f64() * 1e6 / 10_000.0);
    }
}
