//! TMF678 documents → CDM 1.0 records, as pure functions over parsed JSON.
//!
//! Accepted shapes: one `CustomerBill`; a list of them; an event wrapping one
//! (`event.customerBill`); and `AppliedCustomerBillingRate` lists (rated
//! charges), grouped per bill — or per billing account while unbilled — into
//! one `statement` each. A bill with a date and amounts becomes an `invoice`;
//! one without (list and retrieve responses often carry only ids) becomes a
//! `notice` that the bill is available: dates and amounts are never invented.

use crate::amount::Amount;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// What one source element became.
#[derive(Debug)]
pub enum Item {
    /// A CDM record, with the JSON pointer of the element it came from.
    Record { cdm: Value, pointer: String },
    /// An element that could not be translated.
    Problem { pointer: String, message: String, missing: bool },
}

fn problem(pointer: &str, message: impl Into<String>) -> Item {
    Item::Problem { pointer: pointer.to_owned(), message: message.into(), missing: false }
}

fn missing(pointer: &str, message: impl Into<String>) -> Item {
    Item::Problem { pointer: pointer.to_owned(), message: message.into(), missing: true }
}

/// Translates a whole TMF678 document.
pub fn translate(doc: &Value, source: &str) -> Vec<Item> {
    if let Some(bill) = doc.get("event").and_then(|e| e.get("customerBill")) {
        return vec![bill_record(bill, "/event/customerBill", source)];
    }
    match doc {
        Value::Array(items) => {
            let mut out = Vec::new();
            let mut rates: BTreeMap<String, Vec<(usize, &Value)>> = BTreeMap::new();
            for (i, item) in items.iter().enumerate() {
                let pointer = format!("/{i}");
                match kind(item) {
                    Kind::Bill => out.push(bill_record(item, &pointer, source)),
                    Kind::Rate => match rate_group(item) {
                        Some(key) => rates.entry(key).or_default().push((i, item)),
                        None => out.push(missing(&pointer, "applied billing rate without billingAccount.id")),
                    },
                    Kind::Other(t) => out.push(problem(
                        &pointer,
                        format!("`{t}` is not a CustomerBill or an AppliedCustomerBillingRate"),
                    )),
                }
            }
            for (key, group) in rates {
                out.push(statement_record(&key, &group, source));
            }
            out
        }
        Value::Object(_) => match kind(doc) {
            Kind::Bill => vec![bill_record(doc, "", source)],
            Kind::Rate => {
                let key = rate_group(doc);
                match key {
                    Some(key) => vec![statement_record(&key, &[(0, doc)], source)],
                    None => vec![missing("", "applied billing rate without billingAccount.id")],
                }
            }
            Kind::Other(t) => vec![problem("", format!("`{t}` is not a TMF678 CustomerBill, event or list"))],
        },
        _ => vec![problem("", "a TMF678 document is a JSON object or array")],
    }
}

enum Kind<'a> {
    Bill,
    Rate,
    Other(&'a str),
}

fn kind(v: &Value) -> Kind<'_> {
    match v.get("@type").and_then(Value::as_str) {
        Some("CustomerBill") => Kind::Bill,
        Some("AppliedCustomerBillingRate") => Kind::Rate,
        Some(other) => Kind::Other(other),
        None if v.get("billNo").is_some()
            || v.get("billingAccount").is_some() && v.get("taxExcludedAmount").is_none() =>
        {
            Kind::Bill
        }
        None => Kind::Other("an element without @type"),
    }
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().map(str::trim).filter(|s| !s.is_empty())
}

/// `2020-01-05T12:00:56.982Z` → `2020-01-05`.
fn date(v: &Value, field: &str) -> Result<Option<String>, String> {
    let Some(s) = text(v, &[field]) else { return Ok(None) };
    let day = s.get(..10).unwrap_or(s);
    let b = day.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if ok { Ok(Some(day.to_owned())) } else { Err(format!("{field}: `{s}` is not an ISO 8601 date")) }
}

/// A TMF `Money` (`{unit, value}`): its currency and amount.
fn money(v: &Value, field: &str) -> Result<Option<(Option<String>, Amount)>, String> {
    let Some(m) = v.get(field) else { return Ok(None) };
    let value = m.get("value").ok_or_else(|| format!("{field}.value is missing"))?;
    let amount = Amount::from_json(value)
        .ok_or_else(|| format!("{field}.value is not a decimal amount with at most six decimals"))?;
    let unit = text(m, &["unit"]).map(str::to_owned);
    if let Some(u) = &unit
        && (u.len() != 3 || !u.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(format!("{field}.unit `{u}` is not an ISO 4217 currency code"));
    }
    Ok(Some((unit, amount)))
}

/// Letters, digits, `-`, `_`, `.`: the characters a document id may have.
fn document_id(raw: &str) -> String {
    let id: String =
        raw.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '-' }).take(128).collect();
    id.trim_start_matches('.').to_owned()
}

fn header(customer_ref: &str, id: &str, document_type: &str, name: &str, source: &str, pointer: &str) -> Value {
    json!({
        "cdm": "1.0",
        "reference": {
            "customer_ref": customer_ref,
            "document_id": document_id(id),
            "document_type": document_type,
            "source_system": "tmf678",
            "source": { "name": source, "path": if pointer.is_empty() { "/" } else { pointer } },
        },
        "personal": { "last_name": name },
        "address": {},
        "production": { "template": "invoice" },
        "distribution": { "channels": [] },
        "content": {},
    })
}

fn bill_record(bill: &Value, pointer: &str, source: &str) -> Item {
    match bill_cdm(bill, pointer, source) {
        Ok(cdm) => Item::Record { cdm, pointer: pointer.to_owned() },
        Err(Item::Problem { message, missing, .. }) => Item::Problem {
            pointer: pointer.to_owned(),
            message: format!("bill {}: {message}", text(bill, &["billNo"]).or(text(bill, &["id"])).unwrap_or("?")),
            missing,
        },
        Err(other) => other,
    }
}

fn bill_cdm(bill: &Value, pointer: &str, source: &str) -> Result<Value, Item> {
    let bad = |m: String| problem(pointer, m);
    let number =
        text(bill, &["billNo"]).or(text(bill, &["id"])).ok_or_else(|| missing(pointer, "neither billNo nor id"))?;
    let account =
        text(bill, &["billingAccount", "id"]).ok_or_else(|| missing(pointer, "billingAccount.id is missing"))?;
    let name = text(bill, &["billingAccount", "name"]).unwrap_or(account);
    let bill_date = date(bill, "billDate").map_err(bad)?;
    let due = date(bill, "paymentDueDate").map_err(bad)?;
    let gross = money(bill, "taxIncludedAmount").map_err(bad)?;
    let net = money(bill, "taxExcludedAmount").map_err(bad)?;
    let due_amount = money(bill, "amountDue").map_err(bad)?;

    let (Some(bill_date), Some((gross_unit, gross))) = (bill_date, gross.clone()) else {
        // Only ids: tell the customer the bill is there, invent nothing.
        let mut cdm = header(account, number, "notice", name, source, pointer);
        let mut notice = Map::new();
        notice.insert("number".into(), json!(number));
        if let Some(status) = text(bill, &["status"]) {
            notice.insert("status".into(), json!(status));
        }
        if let Some((unit, amount)) = gross {
            notice.insert("amount".into(), json!(amount.money()));
            notice.insert("currency".into(), json!(unit));
        }
        cdm["content"] = json!({ "bill": notice });
        return Ok(cdm);
    };
    let currency = gross_unit
        .or_else(|| net.as_ref().and_then(|(u, _)| u.clone()))
        .ok_or_else(|| missing(pointer, "taxIncludedAmount.unit is missing"))?;

    let mut vat = Vec::new();
    let mut vat_total = Amount::default();
    for (i, item) in bill.get("taxItem").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let (_, tax) = money(item, "taxAmount")
            .map_err(|m| bad(format!("taxItem[{i}].{m}")))?
            .ok_or_else(|| missing(pointer, format!("taxItem[{i}].taxAmount is missing")))?;
        let rate = item
            .get("taxRate")
            .and_then(Amount::from_json)
            .ok_or_else(|| missing(pointer, format!("taxItem[{i}].taxRate is missing or not a number")))?;
        let base = match (tax.divide_by_fraction(rate), &net) {
            (Some(base), _) => base,
            (None, Some((_, net))) => *net,
            (None, None) => Amount::default(),
        };
        vat_total = vat_total + tax;
        vat.push(json!({
            "category": text(item, &["taxCategory"]).unwrap_or("VAT"),
            "rate": rate.percent().plain(),
            "base": base.money(),
            "amount": tax.money(),
        }));
    }
    let net = net.map(|(_, n)| n).unwrap_or_else(|| gross - vat_total);
    let payable = due_amount.map(|(_, a)| a).unwrap_or(gross);
    // A bill whose amount due is less than its total has been paid in part
    // (or whole) already: that difference is what makes the totals chain
    // end at the amount due (EN 16931 BR-CO-16: due = gross − paid).
    let paid = gross - payable;

    let mut cdm = header(account, number, "invoice", name, source, pointer);
    cdm["content"] = json!({
        "invoice": {
            "number": number,
            "date": bill_date,
            "due_date": due,
            "currency": currency,
            "payment_reference": number,
        },
        "lines": [],
        "vat": vat,
        "totals": {
            "net": net.money(),
            "vat": vat_total.money(),
            "gross": gross.money(),
            "prepaid": paid.money(),
            "payable": payable.money(),
        },
        "payment": {
            "amount": payable.money(),
            "currency": currency,
            "due_date": due,
            "reference": number,
            "credit": gross.is_negative(),
        },
    });
    Ok(cdm)
}

/// Rates are grouped per bill, or per account while not yet billed.
fn rate_group(rate: &Value) -> Option<String> {
    let account = text(rate, &["billingAccount", "id"])?;
    Some(match text(rate, &["customerBill", "id"]) {
        Some(bill) => format!("{account}\u{0}{bill}"),
        None => format!("{account}\u{0}"),
    })
}

fn statement_record(key: &str, rates: &[(usize, &Value)], source: &str) -> Item {
    let pointer = format!("/{}", rates[0].0);
    match statement_cdm(key, rates, source, &pointer) {
        Ok(cdm) => Item::Record { cdm, pointer },
        Err(e) => e,
    }
}

fn statement_cdm(key: &str, rates: &[(usize, &Value)], source: &str, first: &str) -> Result<Value, Item> {
    let (account, bill) = key.split_once('\u{0}').unwrap_or((key, ""));
    let name = text(rates[0].1, &["billingAccount", "name"]).unwrap_or(account);
    let id = if bill.is_empty() { format!("{account}-unbilled") } else { format!("{account}-{bill}-charges") };
    let mut lines = Vec::new();
    let mut vat: BTreeMap<String, (Amount, Amount)> = BTreeMap::new();
    let (mut net_total, mut gross_total, mut tax_total) = (Amount::default(), Amount::default(), Amount::default());
    let mut currency: Option<String> = None;
    let mut last_date: Option<String> = None;
    for (i, rate) in rates {
        let pointer = format!("/{i}");
        let bad =
            |m: String| problem(&pointer, format!("applied billing rate {}: {m}", text(rate, &["id"]).unwrap_or("?")));
        let (unit, net) = money(rate, "taxExcludedAmount")
            .map_err(&bad)?
            .ok_or_else(|| missing(&pointer, "taxExcludedAmount is missing"))?;
        let gross = money(rate, "taxIncludedAmount").map_err(&bad)?.map(|(_, a)| a).unwrap_or(net);
        match (&currency, unit) {
            (None, Some(u)) => currency = Some(u),
            (Some(c), Some(u)) if *c != u => {
                return Err(bad(format!("currency {u} differs from {c} in the same statement")));
            }
            _ => {}
        }
        let day = date(rate, "date").map_err(&bad)?;
        if day > last_date {
            last_date = day.clone();
        }
        let applied = rate.get("appliedTax").and_then(Value::as_array).and_then(|a| a.first());
        let rate_pct = applied.and_then(|t| t.get("taxRate")).and_then(Amount::from_json).map(Amount::percent);
        let tax = match applied.map(|t| money(t, "taxAmount")) {
            Some(Ok(Some((_, tax)))) => tax,
            Some(Err(m)) => return Err(bad(format!("appliedTax[0].{m}"))),
            _ => gross - net,
        };
        let rate_text = rate_pct.map(Amount::plain).unwrap_or_else(|| "0".into());
        let entry = vat.entry(rate_text.clone()).or_default();
        entry.0 = entry.0 + net;
        entry.1 = entry.1 + tax;
        net_total = net_total + net;
        gross_total = gross_total + gross;
        tax_total = tax_total + tax;
        let description = match (text(rate, &["name"]), text(rate, &["product", "name"])) {
            (Some(n), Some(p)) => format!("{p}: {n}"),
            (Some(n), None) | (None, Some(n)) => n.to_owned(),
            (None, None) => "Charge".to_owned(),
        };
        lines.push(json!({
            "id": text(rate, &["id"]).unwrap_or_default(),
            "description": description,
            "quantity": "1",
            "unit": "",
            "unit_price": net.money(),
            "vat_rate": rate_text,
            "net": net.money(),
            "period_start": day,
            "period_end": day,
        }));
    }
    let currency = currency.ok_or_else(|| missing(first, "no rate states its currency (taxExcludedAmount.unit)"))?;
    let date = last_date.ok_or_else(|| missing(first, "no rate has a date"))?;
    let mut cdm = header(account, &id, "statement", name, source, first);
    let vat: Vec<Value> = vat
        .into_iter()
        .map(|(rate, (base, amount))| json!({ "rate": rate, "base": base.money(), "amount": amount.money() }))
        .collect();
    cdm["content"] = json!({
        "invoice": { "number": id, "date": date, "due_date": null, "currency": currency, "payment_reference": id },
        "lines": lines,
        "vat": vat,
        "totals": { "net": net_total.money(), "vat": tax_total.money(), "gross": gross_total.money() },
        // Rated charges are not a demand for payment: the bill that carries
        // them is (named here when they are billed already).
        "statement": { "bill": if bill.is_empty() { Value::Null } else { json!(bill) } },
    });
    Ok(cdm)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(doc: &str) -> Vec<Value> {
        translate(&serde_json::from_str(doc).unwrap(), "t.json")
            .into_iter()
            .map(|i| match i {
                Item::Record { cdm, .. } => cdm,
                Item::Problem { pointer, message, .. } => panic!("{pointer}: {message}"),
            })
            .collect()
    }

    const BILL: &str = r#"{"@type":"CustomerBill","id":"CB-1","billNo":"78/01","billDate":"2020-01-05T12:00:56Z","paymentDueDate":"2020-01-15T00:00:00Z",
        "billingAccount":{"id":"A1","name":"BA Peter"},"taxExcludedAmount":{"unit":"EUR","value":40},"taxIncludedAmount":{"unit":"EUR","value":50},
        "amountDue":{"unit":"EUR","value":50},"taxItem":[{"taxAmount":{"unit":"EUR","value":10},"taxCategory":"VAT","taxRate":0.25}]}"#;

    #[test]
    fn a_full_bill_is_an_invoice_with_exact_totals() {
        let r = &records(BILL)[0];
        assert_eq!(r["reference"]["document_id"], "78-01");
        assert_eq!(r["reference"]["customer_ref"], "A1");
        assert_eq!(r["reference"]["document_type"], "invoice");
        assert_eq!(r["content"]["invoice"]["date"], "2020-01-05");
        assert_eq!(
            r["content"]["totals"],
            json!({"net":"40.00","vat":"10.00","gross":"50.00","prepaid":"0.00","payable":"50.00"})
        );
        assert_eq!(r["content"]["vat"][0], json!({"category":"VAT","rate":"25","base":"40.00","amount":"10.00"}));
    }

    #[test]
    fn events_and_lists_are_unwrapped() {
        let event = format!(r#"{{"eventType":"CustomerBillCreateEvent","event":{{"customerBill":{BILL}}}}}"#);
        assert_eq!(records(&event)[0]["reference"]["source"]["path"], "/event/customerBill");
        let list = format!("[{BILL},{BILL}]");
        let rs = records(&list);
        assert_eq!(rs[1]["reference"]["source"]["path"], "/1");
    }

    #[test]
    fn a_bill_with_only_ids_is_a_notice_and_nothing_is_invented() {
        let r = &records(r#"{"@type":"CustomerBill","id":"CB-9","billingAccount":{"id":"A9"}}"#)[0];
        assert_eq!(r["reference"]["document_type"], "notice");
        assert_eq!(r["content"], json!({"bill":{"number":"CB-9"}}));
    }

    #[test]
    fn rates_group_into_statements_per_bill_or_account() {
        let rate = |id: &str, bill: Option<&str>, net: &str, gross: &str| {
            let bill = bill.map(|b| format!(r#","customerBill":{{"id":"{b}"}}"#)).unwrap_or_default();
            format!(
                r#"{{"@type":"AppliedCustomerBillingRate","id":"{id}","name":"voice usage","date":"2019-12-07T13:02:34Z","billingAccount":{{"id":"A1","name":"BA"}}{bill},
                "taxExcludedAmount":{{"unit":"EUR","value":{net}}},"taxIncludedAmount":{{"unit":"EUR","value":{gross}}},"appliedTax":[{{"taxRate":0.2,"taxAmount":{{"unit":"EUR","value":0.01}}}}]}}"#
            )
        };
        let doc = format!(
            "[{},{},{}]",
            rate("R1", None, "0.04", "0.05"),
            rate("R2", Some("CB-1"), "0.04", "0.05"),
            rate("R3", None, "0.1", "0.11")
        );
        let rs = records(&doc);
        assert_eq!(rs.len(), 2);
        let unbilled = rs.iter().find(|r| r["reference"]["document_id"] == "A1-unbilled").unwrap();
        assert_eq!(unbilled["content"]["lines"].as_array().unwrap().len(), 2);
        assert_eq!(unbilled["content"]["totals"]["net"], "0.14", "exact sums");
        assert_eq!(unbilled["content"]["vat"][0]["rate"], "20");
        assert!(unbilled["content"].get("payment").is_none(), "a statement asks for no payment");
        assert_eq!(unbilled["content"]["statement"]["bill"], Value::Null);
        let billed = rs.iter().find(|r| r["reference"]["document_id"] == "A1-CB-1-charges").unwrap();
        assert_eq!(billed["content"]["statement"]["bill"], "CB-1");
    }

    #[test]
    fn problems_name_the_element() {
        let doc = r#"[{"@type":"CustomerBill","id":"CB-2"},{"@type":"Invoice"}]"#;
        let items = translate(&serde_json::from_str(doc).unwrap(), "t.json");
        match &items[0] {
            Item::Problem { pointer, message, missing } => {
                assert_eq!(pointer, "/0");
                assert!(message.contains("billingAccount.id") && *missing, "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&items[1], Item::Problem { pointer, .. } if pointer == "/1"));
        let bad = BILL.replace(r#""value":40"#, r#""value":0.1234567"#);
        let items = translate(&serde_json::from_str(&bad).unwrap(), "t.json");
        assert!(
            matches!(&items[0], Item::Problem { message, .. } if message.contains("taxExcludedAmount.value")),
            "{items:?}"
        );
    }
}
