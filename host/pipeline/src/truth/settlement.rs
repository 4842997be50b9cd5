//! What a letter asks of its reader, decided once per document: pay this
//! amount into this account, or expect a refund, or nothing is due. Every
//! rendition (the totals table, the payment block, the QR code, the SMS)
//! reads the same [`Settlement`] — there is one "to pay" value per letter.
//!
//! The payee account is the record's own when it names one (a UBL invoice's
//! `PayeeFinancialAccount`), else the brand label's (checked when the label
//! is parsed). A record's IBAN that fails the ISO 13616 check is never put
//! in a QR code, and a tenant may list the accounts it allows
//! (`[payment] allowed_ibans`): changing the IBAN in a source system is a
//! known fraud route, so neither side is trusted silently. Optional values
//! the standard leaves unconstrained (a BIC) never reject a document: a
//! malformed one is left out and noted as a [`Warning`].

use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use tessera_cdm::Chain;
use tessera_cdm::Dec;
use tessera_content::{Label, account};

/// What the reader is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Pay `amount`.
    Pay,
    /// `amount` is credited or refunded to the reader (a credit note, a
    /// negative invoice): no payment block, no QR code.
    Refund,
    /// Nothing is due (fully prepaid).
    Settled,
    /// The document asks for no payment at all (a statement of charges).
    None,
}

/// Where the payee account came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountSource {
    /// `content.payment` of the record.
    Record,
    /// The brand label's `[payment]`.
    Label,
}

/// The account to pay into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payee {
    /// IBAN, electronic form.
    pub iban: Option<String>,
    /// IBAN in groups of four, as printed.
    pub iban_display: Option<String>,
    /// A domestic account number that is no IBAN (printed, never in a QR code).
    pub account: Option<String>,
    /// A well-formed BIC, when there is one.
    pub bic: Option<String>,
    /// Who is paid.
    pub creditor: String,
    /// Record or label.
    pub source: AccountSource,
}

/// Something worth knowing about a delivered document that did not stop
/// it: in the manifest line and counted in the report. Never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Warning {
    /// The field concerned (`$.content.payment.bic`).
    pub field: String,
    /// A short code (`bic-malformed`, `payee-unlisted`).
    pub code: String,
    /// What happened, for a person.
    pub message: String,
}

/// The tenant's rules for payee accounts (`[payment]` in `tenant.toml`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentPolicy {
    /// The IBANs (or account numbers) documents may name, electronic form;
    /// empty: any account that passes its check.
    pub allowed: Vec<String>,
    /// Reject a record whose IBAN fails its check digits, instead of
    /// printing it with a warning.
    pub require_valid_iban: bool,
}

/// Why a document must not be rendered with its account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rule}: {message}")]
pub struct Refusal {
    /// `ISO-13616`, `TS-PAYEE`.
    pub rule: &'static str,
    /// The field at fault.
    pub path: String,
    /// What is wrong; names the account only masked.
    pub message: String,
}

/// The settlement of one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// The checked amounts (the record's own, shared).
    pub chain: Arc<Chain>,
    /// Pay, refund, settled or none.
    pub direction: Direction,
    /// The amount to pay or to be refunded (never negative).
    pub amount: Dec,
    /// When it is due.
    pub due_date: Option<String>,
    /// The payment reference.
    pub reference: Option<String>,
    /// The account, when something is to be paid and one is known.
    pub payee: Option<Payee>,
    /// What was left out or is worth a second look.
    pub warnings: Vec<Warning>,
}

impl Settlement {
    /// Settles a record whose amounts passed the rules, with the label it is
    /// rendered for. The tenant's [`PaymentPolicy`] is applied after, by
    /// [`PaymentPolicy::admit`].
    pub fn decide(record: &Value, chain: &Arc<Chain>, label: &Label) -> Settlement {
        let content = &record["content"];
        let payment = &content["payment"];
        let credit = payment["credit"].as_bool() == Some(true)
            || record["reference"]["document_type"].as_str() == Some("credit-note");
        let direction = if !payment.is_object() {
            Direction::None
        } else if credit || chain.payable.is_negative() {
            Direction::Refund
        } else if chain.payable.is_zero() {
            Direction::Settled
        } else {
            Direction::Pay
        };
        let mut warnings = Vec::new();
        let payee = if direction == Direction::Pay { payee(content, label, &mut warnings) } else { None };
        Settlement {
            chain: Arc::clone(chain),
            direction,
            amount: chain.payable.abs(),
            due_date: text(&payment["due_date"]).or_else(|| text(&content["invoice"]["due_date"])),
            reference: text(&payment["reference"]).or_else(|| text(&content["invoice"]["payment_reference"])),
            payee,
            warnings,
        }
    }
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn payee(content: &Value, label: &Label, warnings: &mut Vec<Warning>) -> Option<Payee> {
    let payment = &content["payment"];
    let record_iban = text(&payment["iban"]);
    let record_account = text(&payment["account"]);
    let label_payment = label.payment.as_ref();

    if record_iban.is_none() && record_account.is_none() {
        // `Label::parse` checked the label's IBAN and BIC and keeps the
        // IBAN in its electronic form.
        let lp = label_payment?;
        return Some(Payee {
            iban_display: Some(account::grouped(&lp.iban)),
            iban: Some(lp.iban.clone()),
            account: None,
            bic: lp.bic.clone(),
            creditor: lp.creditor.clone(),
            source: AccountSource::Label,
        });
    }
    // EN 16931 does not constrain the payment account identifier (BT-84),
    // and its own examples carry IBANs whose check digits fail. Such an
    // account is printed as the record writes it, as an account number —
    // never in a QR code — with a warning; a bank refuses a transfer to it,
    // so no money goes astray. `[payment] require_valid_iban` makes it a
    // rejection instead.
    let mut checked = |raw: &str, field: &str| match account::iban(raw) {
        Ok(iban) => (Some(iban), None),
        Err(problem) => {
            warnings.push(iban_warning(field, raw, problem));
            (None, Some(account::compact(raw)))
        }
    };
    let (iban, account) = match (record_iban, record_account) {
        (Some(raw), _) => checked(&raw, "$.content.payment.iban"),
        (None, Some(raw)) if account::looks_like_iban(&raw) => checked(&raw, "$.content.payment.account"),
        (None, raw) => (None, raw),
    };
    let bic = match text(&payment["bic"]) {
        Some(bic) if account::is_bic(&bic) => Some(bic),
        Some(_) => {
            warnings.push(Warning {
                field: "$.content.payment.bic".into(),
                code: "bic-malformed".into(),
                message:
                    "not a well-formed ISO 9362 BIC; left out of the letter (the IBAN alone identifies the account)"
                        .into(),
            });
            None
        }
        None => None,
    };
    let creditor = text(&payment["payee"])
        .or_else(|| text(&content["supplier"]["name"]))
        .or_else(|| label_payment.map(|p| p.creditor.clone()))
        .unwrap_or_else(|| label.name.clone());
    Some(Payee {
        iban_display: iban.as_deref().map(account::grouped),
        iban,
        account,
        bic,
        creditor,
        source: AccountSource::Record,
    })
}

/// An entry of `[payment] allowed_ibans` that is shaped like an IBAN but
/// fails its check digits (a typo there would refuse every document).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[payment] allowed_ibans: {masked} fails the ISO 13616 check")]
pub struct BadAllowedIban {
    /// The entry, masked as every account is outside the document.
    pub masked: String,
}

impl PaymentPolicy {
    /// The policy from `tenant.toml`'s list; each entry that looks like an
    /// IBAN must pass its check (a typo here would refuse every document).
    pub fn from_list(list: &[String], require_valid_iban: bool) -> Result<PaymentPolicy, BadAllowedIban> {
        let mut allowed = Vec::new();
        for entry in list {
            let compact = account::compact(entry);
            if account::looks_like_iban(&compact) && account::iban(&compact).is_err() {
                return Err(BadAllowedIban { masked: account::masked(&compact) });
            }
            allowed.push(compact);
        }
        Ok(PaymentPolicy { allowed, require_valid_iban })
    }

    /// Applies the tenant's list to a settlement: an account not on it is
    /// refused (named masked); without a list, a record's account other
    /// than the label's is delivered with a warning.
    pub fn admit(&self, settlement: &mut Settlement, label: &Label) -> Result<(), Refusal> {
        if self.require_valid_iban
            && let Some(w) = settlement.warnings.iter().find(|w| w.code == IBAN_CHECK_FAILED)
        {
            return Err(Refusal {
                rule: "ISO-13616",
                path: w.field.clone(),
                message: format!("{} — the tenant requires valid IBANs ([payment] require_valid_iban)", w.message),
            });
        }
        let Some(payee) = &settlement.payee else { return Ok(()) };
        let named = account::compact(payee.iban.as_deref().or(payee.account.as_deref()).unwrap_or_default());
        if self.allowed.is_empty() {
            let label_iban = label.payment.as_ref().map(|p| p.iban.as_str());
            if payee.source == AccountSource::Record && label_iban != Some(named.as_str()) {
                settlement.warnings.push(Warning {
                    field: "$.content.payment.iban".into(),
                    code: "payee-unlisted".into(),
                    message: format!(
                        "the record names its own payee account, not label `{}`'s, and the tenant lists no \
                         [payment] allowed_ibans to check it against",
                        label.id
                    ),
                });
            }
            return Ok(());
        }
        if self.allowed.contains(&named) {
            return Ok(());
        }
        Err(Refusal {
            rule: "TS-PAYEE",
            path: match payee.source {
                AccountSource::Record => "$.content.payment.iban".into(),
                AccountSource::Label => "label.payment.iban".into(),
            },
            message: format!(
                "the payee account {} ({}) is not one of the tenant's [payment] allowed_ibans: no letter asks to \
                 pay into an account the tenant did not approve",
                account::masked(&named),
                match payee.source {
                    AccountSource::Record => "the record's",
                    AccountSource::Label => "the brand label's",
                }
            ),
        })
    }
}

/// The code of the warning a record gets when its IBAN is misshapen or fails its check digits.
pub const IBAN_CHECK_FAILED: &str = "iban-check-failed";

fn iban_warning(field: &str, raw: &str, problem: account::IbanProblem) -> Warning {
    Warning {
        field: field.to_owned(),
        code: IBAN_CHECK_FAILED.into(),
        message: match problem {
            account::IbanProblem::Shape => {
                "the record's IBAN is not shaped like an IBAN; printed as an account number, no QR code".into()
            }
            account::IbanProblem::CheckDigits => format!(
                "the record's IBAN {} fails the ISO 13616 check digits; printed as written, no QR code (a bank \
                 refuses transfers to it)",
                account::masked(raw)
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn label() -> Label {
        let toml = "name = \"ACME\"\n[colors]\nprimary = \"#000000\"\naccent = \"#ffffff\"\n[sender]\nname = \"ACME B.V.\"\n\
                    address = [\"Street 1\"]\n[payment]\ncreditor = \"ACME B.V.\"\niban = \"NL91ABNA0417164300\"\nbic = \"ABNANL2A\"\n";
        Label::parse("acme", toml, std::path::Path::new("labels/acme.toml")).unwrap()
    }

    fn record(payment: Value, payable: &str) -> (Value, Arc<Chain>) {
        let record = json!({
            "reference": { "document_type": "invoice" },
            "content": {
                "invoice": { "currency": "EUR", "due_date": "2026-11-30" },
                "lines": [{ "net": payable }],
                "totals": { "net": payable, "gross": payable },
                "payment": payment,
            },
        });
        let chain = Arc::new(tessera_cdm::rules::check(&record["content"]).unwrap().unwrap());
        (record, chain)
    }

    #[test]
    fn the_records_account_wins_and_the_labels_is_the_default() {
        let (r, chain) = record(json!({ "amount": "10.00", "currency": "EUR", "reference": "RF1" }), "10.00");
        let s = Settlement::decide(&r, &chain, &label());
        assert_eq!(s.direction, Direction::Pay);
        let payee = s.payee.unwrap();
        assert_eq!((payee.iban.as_deref(), payee.source), (Some("NL91ABNA0417164300"), AccountSource::Label));

        let (r, chain) = record(
            json!({ "amount": "10.00", "currency": "EUR", "iban": "NO93 8601 1117 947", "payee": "Fjord Kraft AS" }),
            "10.00",
        );
        let mut s = Settlement::decide(&r, &chain, &label());
        let payee = s.payee.clone().unwrap();
        assert_eq!((payee.iban.as_deref(), payee.creditor.as_str()), (Some("NO9386011117947"), "Fjord Kraft AS"));
        assert_eq!(payee.iban_display.as_deref(), Some("NO93 8601 1117 947"));
        PaymentPolicy::default().admit(&mut s, &label()).unwrap();
        assert_eq!(s.warnings[0].code, "payee-unlisted", "trusted, but not silently");
        let listed = PaymentPolicy::from_list(&["NO93 8601 1117 947".into()], false).unwrap();
        let mut s = Settlement::decide(&r, &chain, &label());
        listed.admit(&mut s, &label()).unwrap();
        assert!(s.warnings.is_empty());
        let other = PaymentPolicy::from_list(&["NL91ABNA0417164300".into()], false).unwrap();
        let e = other.admit(&mut Settlement::decide(&r, &chain, &label()), &label()).unwrap_err();
        assert_eq!(e.rule, "TS-PAYEE");
        assert!(!e.message.contains("86011117"), "masked: {e}");
    }

    #[test]
    fn credit_negative_and_settled_documents_ask_for_no_payment() {
        let (r, chain) = record(json!({ "amount": "-5.00", "currency": "EUR" }), "-5.00");
        let s = Settlement::decide(&r, &chain, &label());
        assert_eq!((s.direction, s.amount.money().as_str()), (Direction::Refund, "5.00"));
        assert!(s.payee.is_none());
        let (r, chain) = record(json!({ "amount": "5.00", "currency": "EUR", "credit": true }), "5.00");
        assert_eq!(Settlement::decide(&r, &chain, &label()).direction, Direction::Refund);
        let (r, chain) = record(json!({ "amount": "0.00", "currency": "EUR" }), "0.00");
        assert_eq!(Settlement::decide(&r, &chain, &label()).direction, Direction::Settled);
        let (mut r, chain) = record(json!(null), "5.00");
        r["content"].as_object_mut().unwrap().remove("payment");
        assert_eq!(Settlement::decide(&r, &chain, &label()).direction, Direction::None);
    }

    #[test]
    fn a_bad_bic_is_dropped_and_a_failing_iban_printed_as_written() {
        let (r, chain) = record(
            json!({ "amount": "10.00", "currency": "EUR", "iban": "DK1212341234123412", "bic": "BIC CODE" }),
            "10.00",
        );
        let s = Settlement::decide(&r, &chain, &label());
        let payee = s.payee.clone().unwrap();
        assert_eq!((payee.iban, payee.account.as_deref(), payee.bic), (None, Some("DK1212341234123412"), None));
        let codes: Vec<&str> = s.warnings.iter().map(|w| w.code.as_str()).collect();
        assert_eq!(codes, ["iban-check-failed", "bic-malformed"]);
        let strict = PaymentPolicy { require_valid_iban: true, ..Default::default() };
        assert_eq!(strict.admit(&mut s.clone(), &label()).unwrap_err().rule, "ISO-13616");
    }
}
