//! The settlement as templates see it: `figures` in every template's
//! context. Amounts are canonical decimal strings (money with at least two
//! decimals, rates without trailing zeros), so templates format them with
//! the same `money` and `number` filters as everything else; figures that
//! are zero for this document (no allowances, no prepayment) are `null`,
//! so `{% if figures.prepaid %}` shows a row only when it says something.

use super::settlement::{Direction, Payee, Settlement};
use serde::Serialize;
use tessera_cdm::Dec;

/// `figures` in the template context.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// Document currency (ISO 4217).
    pub currency: String,
    /// Σ line nets.
    pub lines: String,
    /// Σ document-level allowances, when any.
    pub allowances: Option<String>,
    /// Σ document-level charges, when any.
    pub charges: Option<String>,
    /// Total without VAT.
    pub net: String,
    /// VAT per rate.
    pub vat: Vec<VatRow>,
    /// Total VAT.
    pub vat_total: String,
    /// Total with VAT.
    pub gross: String,
    /// Paid in advance, when any.
    pub prepaid: Option<String>,
    /// Rounding, when any.
    pub rounding: Option<String>,
    /// The amount due with its sign (negative: owed to the reader).
    pub payable: String,
    /// `pay`, `refund`, `settled` or `none`.
    pub direction: Direction,
    /// The amount to pay or to be refunded, never negative: the one value
    /// the totals, the payment block, the QR code and the SMS all show.
    pub to_pay: String,
    /// Due date, `YYYY-MM-DD`.
    pub due_date: Option<String>,
    /// Payment reference.
    pub reference: Option<String>,
    /// The account to pay into (only when something is to be paid).
    pub payee: Option<Payee>,
    /// Whether a SEPA QR code can be drawn: euro, to pay, into an IBAN.
    pub qr: bool,
}

/// One VAT rate.
#[derive(Debug, Clone, Serialize)]
pub struct VatRow {
    /// Category code, when known.
    pub category: Option<String>,
    /// Percent, canonical (`25`, `12.5`).
    pub rate: String,
    /// Taxable amount.
    pub base: String,
    /// Tax.
    pub amount: String,
}

fn nonzero(d: Dec) -> Option<String> {
    (!d.is_zero()).then(|| d.money())
}

impl Figures {
    /// The view of a settlement.
    pub fn of(s: &Settlement) -> Figures {
        let c = &s.chain;
        let qr =
            s.direction == Direction::Pay && c.currency == "EUR" && s.payee.as_ref().is_some_and(|p| p.iban.is_some());
        Figures {
            currency: c.currency.clone(),
            lines: c.lines.money(),
            allowances: nonzero(c.allowances),
            charges: nonzero(c.charges),
            net: c.net.money(),
            vat: c
                .vat
                .iter()
                .map(|v| VatRow {
                    category: v.category.clone(),
                    rate: v.rate.canonical(0),
                    base: v.base.money(),
                    amount: v.amount.money(),
                })
                .collect(),
            vat_total: c.vat_total.money(),
            gross: c.gross.money(),
            prepaid: nonzero(c.prepaid),
            rounding: nonzero(c.rounding),
            payable: c.payable.money(),
            direction: s.direction,
            to_pay: s.amount.money(),
            due_date: s.due_date.clone(),
            reference: s.reference.clone(),
            payee: s.payee.clone(),
            qr,
        }
    }
}
