//! The amount rules every invoice-like record must keep before anything is
//! composed from it: the totals chain adds up, each VAT breakdown is its
//! base times its rate, and one currency throughout. A record that breaks a
//! rule is rejected naming the rule (EN 16931's BR-CO ids where the rule is
//! theirs) and the amounts involved — it is never rendered with numbers that
//! do not add up. `docs/cdm.md` lists the rules.
//!
//! Sums are exact. The two per-rate rules take the tolerance the official
//! EN 16931 validator takes (less than one currency unit), so that no
//! invoice the standard accepts is refused here.

use crate::decimal::Dec;
use serde_json::Value;
use std::collections::BTreeMap;

/// A broken rule: which, where, and the amounts that disagree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rule}: {message}")]
pub struct Breach {
    /// `BR-CO-13`, `TS-CUR`, ...
    pub rule: &'static str,
    /// The JSON path of the figure that disagrees.
    pub path: String,
    /// What should hold, with the amounts.
    pub message: String,
}

/// One VAT rate's part of the totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VatPart {
    /// The category code, when the record gives one (`S`, `Z`, `AE`, ...).
    pub category: Option<String>,
    /// Percent.
    pub rate: Dec,
    /// Taxable amount.
    pub base: Dec,
    /// Tax.
    pub amount: Dec,
}

/// The chain of amounts from the lines to the amount due, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The document currency.
    pub currency: String,
    /// Σ line net amounts.
    pub lines: Dec,
    /// Σ document-level allowances (a positive number).
    pub allowances: Dec,
    /// Σ document-level charges.
    pub charges: Dec,
    /// Total without VAT.
    pub net: Dec,
    /// The VAT breakdown, in the record's order.
    pub vat: Vec<VatPart>,
    /// Total VAT.
    pub vat_total: Dec,
    /// Total with VAT.
    pub gross: Dec,
    /// Paid in advance.
    pub prepaid: Dec,
    /// Rounding added to reach the amount due.
    pub rounding: Dec,
    /// Amount due: gross − prepaid + rounding. Negative on a negative
    /// invoice (a correction): the customer is owed it.
    pub payable: Dec,
}

// The JSON path of a figure is only written out when a rule breaks: a
// record that adds up (nearly all of them) costs no path strings.
fn amount(value: &Value, path: impl Fn() -> String) -> Result<Option<Dec>, Breach> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Dec::parse(s).map(Some).ok_or_else(|| Breach {
            rule: "TS-DEC",
            path: path(),
            message: "is not a decimal amount".into(),
        }),
        _ => Err(Breach { rule: "TS-DEC", path: path(), message: "is not a decimal string".into() }),
    }
}

fn must(value: &Value, path: impl Fn() -> String) -> Result<Dec, Breach> {
    amount(value, &path)?.ok_or_else(|| Breach { rule: "TS-DEC", path: path(), message: "is missing".into() })
}

/// Checks the rules on a record's `content`; `Ok(None)` for a record that
/// carries no totals (a letter, a notice): there is nothing to add up.
pub fn check(content: &Value) -> Result<Option<Chain>, Breach> {
    let totals = &content["totals"];
    if !totals.is_object() {
        return Ok(None);
    }
    let currency = content["invoice"]["currency"].as_str().unwrap_or_default().to_owned();
    if let Some(paid_in) = content["payment"]["currency"].as_str()
        && paid_in != currency
    {
        return Err(Breach {
            rule: "TS-CUR",
            path: "$.content.payment.currency".into(),
            message: format!("the payment is in {paid_in}, the invoice in {currency}: one document, one currency"),
        });
    }

    let mut lines = Dec::ZERO;
    // Per rate: Σ line nets + charges − allowances at that rate.
    let mut base_by_rate: BTreeMap<Dec, Dec> = BTreeMap::new();
    let mut every_line_rated = true;
    for (i, line) in content["lines"].as_array().into_iter().flatten().enumerate() {
        let net = must(&line["net"], || format!("$.content.lines[{i}].net"))?;
        lines += net;
        match amount(&line["vat_rate"], || format!("$.content.lines[{i}].vat_rate"))? {
            Some(rate) => *base_by_rate.entry(rate).or_default() += net,
            None => every_line_rated = false,
        }
    }
    let (mut allowances, mut charges) = (Dec::ZERO, Dec::ZERO);
    for (i, ac) in content["allowances_charges"].as_array().into_iter().flatten().enumerate() {
        let value = must(&ac["amount"], || format!("$.content.allowances_charges[{i}].amount"))?;
        let charge = ac["charge"].as_bool().unwrap_or(false);
        if charge {
            charges += value;
        } else {
            allowances += value;
        }
        match amount(&ac["vat_rate"], || format!("$.content.allowances_charges[{i}].vat_rate"))? {
            Some(rate) => {
                let entry = base_by_rate.entry(rate).or_default();
                if charge {
                    *entry += value;
                } else {
                    *entry -= value;
                }
            }
            None => every_line_rated = false,
        }
    }

    for (key, rule, sum, what) in [
        ("allowances", "BR-CO-11", allowances, "document-level allowances"),
        ("charges", "BR-CO-12", charges, "document-level charges"),
    ] {
        if let Some(stated) = amount(&totals[key], || format!("$.content.totals.{key}"))?
            && stated != sum
        {
            return Err(Breach {
                rule,
                path: format!("$.content.totals.{key}"),
                message: format!("the total of {what} is {stated}, but they add up to {sum}"),
            });
        }
    }

    let net = must(&totals["net"], || "$.content.totals.net".into())?;
    let has_lines = content["lines"].as_array().is_some_and(|l| !l.is_empty());
    if has_lines && net != lines - allowances + charges {
        return Err(Breach {
            rule: "BR-CO-13",
            path: "$.content.totals.net".into(),
            message: format!(
                "total without VAT {net} ≠ lines {lines} − allowances {allowances} + charges {charges} = {}",
                lines - allowances + charges
            ),
        });
    }

    let mut vat = Vec::new();
    for (i, part) in content["vat"].as_array().into_iter().flatten().enumerate() {
        let path = |f: &str| format!("$.content.vat[{i}].{f}");
        let rate = must(&part["rate"], || path("rate"))?;
        let base = must(&part["base"], || path("base"))?;
        let tax = must(&part["amount"], || path("amount"))?;
        let expected = base.percent_rounded(rate);
        if (tax - expected).abs() >= Dec::ONE {
            return Err(Breach {
                rule: "BR-CO-17",
                path: path("amount"),
                message: format!("VAT at {}% on {base} is {expected}, not {tax}", rate.canonical(0)),
            });
        }
        vat.push(VatPart { category: part["category"].as_str().map(str::to_owned), rate, base, amount: tax });
    }
    // Each rate's base is what the lines (and allowances and charges) at
    // that rate add up to — checked when every one of them names its rate.
    if every_line_rated && !vat.is_empty() && has_lines {
        let mut stated: BTreeMap<Dec, Dec> = BTreeMap::new();
        for part in &vat {
            *stated.entry(part.rate).or_default() += part.base;
        }
        for (rate, sum) in &base_by_rate {
            let base = stated.get(rate).copied();
            let off = match base {
                Some(base) => (base - *sum).abs() >= Dec::ONE,
                None => !sum.is_zero(),
            };
            if off {
                return Err(Breach {
                    rule: "BR-S-08",
                    path: "$.content.vat".into(),
                    message: match base {
                        Some(base) => format!(
                            "the VAT base at {}% is {base}, but the lines, allowances and charges at that rate add up to {sum}",
                            rate.canonical(0)
                        ),
                        None => format!("lines at {}% (together {sum}) have no VAT breakdown", rate.canonical(0)),
                    },
                });
            }
        }
    }

    let vat_sum: Dec = vat.iter().map(|p| p.amount).sum();
    let vat_total = match amount(&totals["vat"], || "$.content.totals.vat".into())? {
        Some(total) => {
            if !vat.is_empty() && total != vat_sum {
                return Err(Breach {
                    rule: "BR-CO-14",
                    path: "$.content.totals.vat".into(),
                    message: format!("total VAT {total} ≠ the VAT breakdown's sum {vat_sum}"),
                });
            }
            total
        }
        None => vat_sum,
    };
    let gross = must(&totals["gross"], || "$.content.totals.gross".into())?;
    if gross != net + vat_total {
        return Err(Breach {
            rule: "BR-CO-15",
            path: "$.content.totals.gross".into(),
            message: format!(
                "total with VAT {gross} ≠ total without VAT {net} + VAT {vat_total} = {}",
                net + vat_total
            ),
        });
    }
    let prepaid = amount(&totals["prepaid"], || "$.content.totals.prepaid".into())?.unwrap_or_default();
    let rounding = amount(&totals["rounding"], || "$.content.totals.rounding".into())?.unwrap_or_default();
    let due = gross - prepaid + rounding;
    let payable = match amount(&totals["payable"], || "$.content.totals.payable".into())? {
        Some(payable) if payable != due => {
            return Err(Breach {
                rule: "BR-CO-16",
                path: "$.content.totals.payable".into(),
                message: format!(
                    "amount due {payable} ≠ total with VAT {gross} − prepaid {prepaid} + rounding {rounding} = {due}"
                ),
            });
        }
        _ => due,
    };
    if let Some(asked) = amount(&content["payment"]["amount"], || "$.content.payment.amount".into())?
        && asked != payable
    {
        return Err(Breach {
            rule: "TS-PAY",
            path: "$.content.payment.amount".into(),
            message: format!("the payment asks for {asked}, but the amount due is {payable}"),
        });
    }
    Ok(Some(Chain { currency, lines, allowances, charges, net, vat, vat_total, gross, prepaid, rounding, payable }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn invoice() -> Value {
        json!({
            "invoice": { "date": "2026-11-01", "currency": "EUR" },
            "lines": [
                { "description": "Power", "quantity": "1", "net": "100.00", "vat_rate": "21" },
                { "description": "Book", "quantity": "1", "net": "50.00", "vat_rate": "9" },
                { "description": "Export", "quantity": "1", "net": "20.00", "vat_rate": "0" },
            ],
            "allowances_charges": [
                { "charge": false, "reason": "Loyalty", "amount": "10.00", "vat_rate": "21" },
                { "charge": true, "reason": "Delivery", "amount": "5.00", "vat_rate": "21" },
            ],
            "vat": [
                { "rate": "21", "base": "95.00", "amount": "19.95" },
                { "rate": "9.00", "base": "50.00", "amount": "4.50" },
                { "category": "AE", "rate": "0", "base": "20.00", "amount": "0.00" },
            ],
            "totals": { "net": "165.00", "vat": "24.45", "gross": "189.45", "allowances": "10.00", "charges": "5.00",
                        "prepaid": "100.00", "rounding": "0.05", "payable": "89.50" },
            "payment": { "amount": "89.50", "currency": "EUR" },
        })
    }

    fn breach(edit: impl FnOnce(&mut Value)) -> Breach {
        let mut c = invoice();
        edit(&mut c);
        check(&c).unwrap_err()
    }

    #[test]
    fn a_chain_that_adds_up_passes_with_every_figure() {
        let chain = check(&invoice()).unwrap().unwrap();
        assert_eq!(chain.lines, Dec::parse("170").unwrap());
        assert_eq!(chain.payable, Dec::parse("89.50").unwrap());
        assert_eq!(chain.vat.len(), 3);
        assert_eq!(check(&json!({ "bill": {} })).unwrap(), None, "no totals, nothing to add up");
    }

    #[test]
    fn each_rule_names_itself_and_the_amounts() {
        let e = breach(|c| c["totals"]["net"] = json!("166.00"));
        assert_eq!(e.rule, "BR-CO-13");
        assert!(e.message.contains("166.00") && e.message.contains("165.00"), "{e}");
        assert_eq!(breach(|c| c["totals"]["gross"] = json!("189.46")).rule, "BR-CO-15");
        assert_eq!(breach(|c| c["totals"]["vat"] = json!("24.46")).rule, "BR-CO-14");
        assert_eq!(breach(|c| c["totals"]["payable"] = json!("189.45")).rule, "BR-CO-16");
        assert_eq!(breach(|c| c["totals"]["allowances"] = json!("9.00")).rule, "BR-CO-11");
        assert_eq!(breach(|c| c["totals"]["charges"] = json!("0.00")).rule, "BR-CO-12");
        assert_eq!(breach(|c| c["payment"]["amount"] = json!("189.45")).rule, "TS-PAY");
        assert_eq!(breach(|c| c["payment"]["currency"] = json!("NOK")).rule, "TS-CUR");
        let e = breach(|c| c["vat"][0]["amount"] = json!("29.95"));
        assert_eq!((e.rule, e.path.as_str()), ("BR-CO-17", "$.content.vat[0].amount"));
    }

    #[test]
    fn vat_takes_the_validators_tolerance_and_bases_follow_the_lines() {
        let mut c = invoice();
        c["vat"][0]["amount"] = json!("19.96");
        c["totals"]["vat"] = json!("24.46");
        c["totals"]["gross"] = json!("189.46");
        c["totals"]["payable"] = json!("89.51");
        c["payment"]["amount"] = json!("89.51");
        check(&c).unwrap();
        let e = breach(|c| c["vat"][1]["base"] = json!("52.00"));
        assert_eq!(e.rule, "BR-S-08", "{e}");
        let e = breach(|c| {
            c["vat"].as_array_mut().unwrap().remove(1);
        });
        assert!(e.message.contains("no VAT breakdown") || e.rule == "BR-CO-14", "{e}");
    }

    #[test]
    fn a_negative_invoice_is_owed_to_the_customer() {
        let c = json!({
            "invoice": { "date": "2026-11-01", "currency": "EUR" },
            "lines": [{ "description": "Correction", "quantity": "-1", "net": "-100.00", "vat_rate": "25" }],
            "vat": [{ "rate": "25", "base": "-100.00", "amount": "-25.00" }],
            "totals": { "net": "-100.00", "vat": "-25.00", "gross": "-125.00", "payable": "-125.00" },
        });
        assert!(check(&c).unwrap().unwrap().payable.is_negative());
    }
}
