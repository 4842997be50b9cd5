//! UBL 2.1 (EN 16931) Invoice and CreditNote → CDM 1.0, over a parsed XML
//! tree. Elements are matched by namespace and local name, never by prefix,
//! so any prefixes (or none) work. Amounts stay the decimal text the
//! document has; a malformed one rejects the document with its XPath.

use roxmltree::{Document, Node};
use serde_json::{Value, json};

const CAC: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2";
const CBC: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2";
const INVOICE: &str = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2";
const CREDIT_NOTE: &str = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2";

pub use document_buffer::xml::Problem;
use document_buffer::xml::{decimal_of, document_id};

fn missing(path: impl Into<String>, what: &str) -> Problem {
    Problem::missing(path, what)
}

/// A child in the `cac` or `cbc` namespace.
fn child<'a, 'i>(node: Node<'a, 'i>, ns: &str, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| c.is_element() && c.tag_name().name() == name && c.tag_name().namespace() == Some(ns))
}

fn children<'a, 'i>(node: Node<'a, 'i>, ns: &'a str, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name && c.tag_name().namespace() == Some(ns))
}

/// Follows `cac:A/cac:B/cbc:C`-style steps (`"A/B/C"`): aggregates first,
/// a basic component last — with the other namespace as a fallback, as the
/// last step is sometimes an aggregate (`AccountingCustomerParty/Party`).
fn at<'a, 'i>(node: Node<'a, 'i>, path: &str) -> Option<Node<'a, 'i>> {
    let steps: Vec<&str> = path.split('/').collect();
    let mut cur = node;
    for (i, step) in steps.iter().enumerate() {
        let ns = if i + 1 == steps.len() { CBC } else { CAC };
        cur = child(cur, ns, step).or_else(|| child(cur, if ns == CBC { CAC } else { CBC }, step))?;
    }
    Some(cur)
}

fn text<'a>(node: Node<'a, '_>, path: &str) -> Option<&'a str> {
    at(node, path).and_then(|n| n.text()).map(str::trim).filter(|s| !s.is_empty())
}

/// The prefix messages give each UBL namespace.
fn prefix(namespace: Option<&str>) -> &'static str {
    match namespace {
        Some(CAC) => "cac:",
        Some(CBC) => "cbc:",
        _ => "",
    }
}

/// An XPath for messages: `/Invoice/cac:InvoiceLine[3]/cbc:LineExtensionAmount`.
fn xpath(node: Node<'_, '_>) -> String {
    document_buffer::xml::xpath(node, prefix)
}

/// A decimal element's text, checked; `None` when absent.
fn amount(node: Node<'_, '_>, path: &str) -> Result<Option<String>, Problem> {
    decimal_of(at(node, path), prefix)
}

fn required_amount(node: Node<'_, '_>, path: &str) -> Result<String, Problem> {
    amount(node, path)?.ok_or_else(|| missing(format!("{}/{path}", xpath(node)), path))
}

fn date(node: Node<'_, '_>, path: &str) -> Result<Option<String>, Problem> {
    let Some(n) = at(node, path) else { return Ok(None) };
    let value = n.text().map(str::trim).unwrap_or("");
    let b = value.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if ok {
        Ok(Some(value.to_owned()))
    } else {
        Err(Problem { path: xpath(n), message: format!("`{value}` is not a date YYYY-MM-DD"), missing: false })
    }
}

/// A seller or buyer party as CDM 1.1 `content.supplier` / `content.buyer`
/// (EN 16931 BG-4 / BG-7): names, identifiers, the address and contact.
fn party(p: Node<'_, '_>, seller: bool) -> Value {
    let tax_schemes: Vec<_> = children(p, CAC, "PartyTaxScheme").collect();
    let scheme_id = |t: &Node<'_, '_>| text(*t, "TaxScheme/ID").map(str::to_ascii_uppercase);
    let vat_id =
        tax_schemes.iter().find(|t| scheme_id(t).as_deref() == Some("VAT")).and_then(|t| text(*t, "CompanyID"));
    let local = tax_schemes.iter().find(|t| scheme_id(t).as_deref() != Some("VAT")).and_then(|t| text(*t, "CompanyID"));
    let legal = at(p, "PartyLegalEntity/CompanyID");
    let endpoint = child(p, CBC, "EndpointID");
    let id = children(p, CAC, "PartyIdentification")
        .filter_map(|i| child(i, CBC, "ID"))
        .find(|id| id.attribute("schemeID") != Some("SEPA"))
        .and_then(|id| id.text())
        .map(str::trim);
    let contact = at(p, "Contact");
    let name = text(p, "PartyLegalEntity/RegistrationName").or(text(p, "PartyName/Name"));
    let mut party = json!({
        "name": name,
        "id": id,
        "legal_id": legal.and_then(|l| l.text()).map(str::trim),
        "legal_id_scheme": legal.and_then(|l| l.attribute("schemeID")),
        "vat_id": vat_id,
        "electronic_address": endpoint.and_then(|e| e.text()).map(str::trim),
        "electronic_address_scheme": endpoint.and_then(|e| e.attribute("schemeID")),
        "address": at(p, "PostalAddress").map_or_else(|| json!({}), postal_address),
        "contact": {
            "name": contact.and_then(|c| text(c, "Name")),
            "phone": contact.and_then(|c| text(c, "Telephone")),
            "email": contact.and_then(|c| text(c, "ElectronicMail")),
        },
    });
    if seller {
        party["trading_name"] = json!(text(p, "PartyName/Name").filter(|t| Some(*t) != name));
        party["tax_registration"] = json!(local);
        party["legal_info"] = json!(text(p, "PartyLegalEntity/CompanyLegalForm"));
    }
    party
}

/// A line's allowances and charges (BG-27 / BG-28); the price's discount
/// (`Price/AllowanceCharge`) is not one of them.
fn line_allowances_charges(line: Node<'_, '_>) -> Result<Vec<Value>, Problem> {
    let mut out = Vec::new();
    for ac in children(line, CAC, "AllowanceCharge") {
        let Some(charge) = text(ac, "ChargeIndicator").map(|t| t.eq_ignore_ascii_case("true")) else {
            return Err(missing(format!("{}/cbc:ChargeIndicator", xpath(ac)), "cbc:ChargeIndicator"));
        };
        out.push(json!({
            "charge": charge,
            "amount": required_amount(ac, "Amount")?,
            "reason": text(ac, "AllowanceChargeReason"),
            "reason_code": text(ac, "AllowanceChargeReasonCode"),
        }));
    }
    Ok(out)
}

/// The delivery (BG-13): date, deliver-to party and address.
fn delivery(root: Node<'_, '_>) -> Result<Value, Problem> {
    let Some(d) = child(root, CAC, "Delivery") else { return Ok(Value::Null) };
    Ok(json!({
        "date": date(d, "ActualDeliveryDate")?,
        "name": text(d, "DeliveryParty/PartyName/Name"),
        "location_id": text(d, "DeliveryLocation/ID"),
        "address": at(d, "DeliveryLocation/Address").map(postal_address),
    }))
}

/// A `cac:PostalAddress` (or a delivery's `cac:Address`) as a CDM 1.1 party address.
fn postal_address(a: Node<'_, '_>) -> Value {
    let extra: Vec<&str> = text(a, "AdditionalStreetName")
        .into_iter()
        .chain(children(a, CAC, "AddressLine").filter_map(|l| text(l, "Line")))
        .take(2)
        .collect();
    json!({
        "street": text(a, "StreetName"),
        "lines": extra,
        "postcode": text(a, "PostalZone"),
        "city": text(a, "CityName"),
        "region": text(a, "CountrySubentity"),
        "country": text(a, "Country/IdentificationCode").filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())),
    })
}

/// Translates one UBL document (the whole file).
pub fn translate(doc: &Document<'_>, source: &str) -> Result<Value, Problem> {
    let root = doc.root_element();
    let (credit, line_name, quantity_name) = match (root.tag_name().namespace(), root.tag_name().name()) {
        (Some(INVOICE), "Invoice") => (false, "InvoiceLine", "InvoicedQuantity"),
        (Some(CREDIT_NOTE), "CreditNote") => (true, "CreditNoteLine", "CreditedQuantity"),
        (ns, name) => {
            return Err(Problem {
                path: format!("/{name}"),
                message: format!(
                    "the root element is {{{}}}{name}, not a UBL 2.1 Invoice or CreditNote",
                    ns.unwrap_or("")
                ),
                missing: false,
            });
        }
    };
    let root_path = xpath(root);
    let number = text(root, "ID").ok_or_else(|| missing(format!("{root_path}/cbc:ID"), "cbc:ID"))?;
    let issue_date =
        date(root, "IssueDate")?.ok_or_else(|| missing(format!("{root_path}/cbc:IssueDate"), "cbc:IssueDate"))?;
    let due_date = match date(root, "DueDate")? {
        Some(d) => Some(d),
        None => date(root, "PaymentMeans/PaymentDueDate")?,
    };
    let currency = text(root, "DocumentCurrencyCode")
        .ok_or_else(|| missing(format!("{root_path}/cbc:DocumentCurrencyCode"), "cbc:DocumentCurrencyCode"))?;

    let customer = at(root, "AccountingCustomerParty/Party").ok_or_else(|| {
        missing(format!("{root_path}/cac:AccountingCustomerParty"), "cac:AccountingCustomerParty/cac:Party")
    })?;
    let company = text(customer, "PartyLegalEntity/RegistrationName").or(text(customer, "PartyName/Name"));
    let contact = text(customer, "Contact/Name");
    let customer_ref = text(customer, "PartyIdentification/ID")
        .or(text(customer, "EndpointID"))
        .or(text(root, "BuyerReference"))
        .or(company)
        .ok_or_else(|| {
            missing(
                xpath(customer),
                "an identification of the customer (PartyIdentification, EndpointID or BuyerReference)",
            )
        })?;
    if company.is_none() && contact.is_none() {
        return Err(missing(xpath(customer), "a customer name (RegistrationName, PartyName or Contact/Name)"));
    }
    let address = at(customer, "PostalAddress");
    let addr = |path: &str| address.and_then(|a| text(a, path));
    let street = match (addr("StreetName"), addr("AdditionalStreetName")) {
        (Some(s), Some(extra)) => Some(format!("{s}, {extra}")),
        (Some(s), None) => Some(s.to_owned()),
        (None, extra) => extra.map(str::to_owned),
    };
    let country = addr("Country/IdentificationCode");
    if let Some(c) = country
        && (c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(Problem {
            path: format!("{}/cac:PostalAddress/cac:Country", xpath(customer)),
            message: format!("`{c}` is not an ISO 3166 alpha-2 code"),
            missing: false,
        });
    }
    let email = text(customer, "Contact/ElectronicMail").filter(|e| e.contains('@') && !e.contains(' '));
    let phone = text(customer, "Contact/Telephone")
        .filter(|p| p.len() >= 5 && p.bytes().all(|b| b.is_ascii_digit() || b" +()-".contains(&b)));

    let mut lines = Vec::new();
    for line in children(root, CAC, line_name) {
        let id = text(line, "ID").unwrap_or_default();
        let name = text(line, "Item/Name");
        let description = name
            .or(text(line, "Item/Description"))
            .ok_or_else(|| missing(format!("{}/cac:Item/cbc:Name", xpath(line)), "cac:Item/cbc:Name"))?;
        let quantity_node = child(line, CBC, quantity_name);
        let quantity = required_amount(line, quantity_name)?;
        let unit = quantity_node.and_then(|q| q.attribute("unitCode")).unwrap_or("");
        lines.push(json!({
            "id": id,
            "description": description,
            "quantity": quantity,
            "unit": unit,
            "unit_code": Some(unit).filter(|u| !u.is_empty()),
            "vat_category": text(line, "Item/ClassifiedTaxCategory/ID"),
            "item_id": text(line, "Item/SellersItemIdentification/ID"),
            "note": text(line, "Note"),
            "unit_price": amount(line, "Price/PriceAmount")?,
            "price_base_quantity": amount(line, "Price/BaseQuantity")?,
            "gross_price": amount(line, "Price/AllowanceCharge/BaseAmount")?,
            "price_discount": amount(line, "Price/AllowanceCharge/Amount")?,
            "item_description": name.and(text(line, "Item/Description")),
            "allowances_charges": line_allowances_charges(line)?,
            "vat_rate": amount(line, "Item/ClassifiedTaxCategory/Percent")?.unwrap_or_else(|| "0".into()),
            "net": required_amount(line, "LineExtensionAmount")?,
            "period_start": date(line, "InvoicePeriod/StartDate")?,
            "period_end": date(line, "InvoicePeriod/EndDate")?,
        }));
    }
    if lines.is_empty() {
        return Err(missing(root_path.clone(), &format!("cac:{line_name} (a document needs at least one line)")));
    }

    let mut allowances_charges = Vec::new();
    for ac in children(root, CAC, "AllowanceCharge") {
        let charge = text(ac, "ChargeIndicator").map(|t| t.eq_ignore_ascii_case("true"));
        let Some(charge) = charge else {
            return Err(missing(format!("{}/cbc:ChargeIndicator", xpath(ac)), "cbc:ChargeIndicator"));
        };
        allowances_charges.push(json!({
            "charge": charge,
            "reason": text(ac, "AllowanceChargeReason").unwrap_or(if charge { "Charge" } else { "Allowance" }),
            "amount": required_amount(ac, "Amount")?,
            "vat_rate": amount(ac, "TaxCategory/Percent")?,
            "vat_category": text(ac, "TaxCategory/ID"),
            "reason_code": text(ac, "AllowanceChargeReasonCode"),
        }));
    }

    // The tax total in the document currency (a second one may be in the
    // accounting currency).
    let tax_total = children(root, CAC, "TaxTotal")
        .find(|t| child(*t, CBC, "TaxAmount").and_then(|a| a.attribute("currencyID")).is_none_or(|c| c == currency));
    let mut vat = Vec::new();
    if let Some(total) = tax_total {
        for sub in children(total, CAC, "TaxSubtotal") {
            vat.push(json!({
                "category": text(sub, "TaxCategory/ID").unwrap_or("S"),
                "rate": amount(sub, "TaxCategory/Percent")?.unwrap_or_else(|| "0".into()),
                "base": required_amount(sub, "TaxableAmount")?,
                "amount": required_amount(sub, "TaxAmount")?,
                "exemption_reason": text(sub, "TaxCategory/TaxExemptionReason"),
                "exemption_code": text(sub, "TaxCategory/TaxExemptionReasonCode"),
            }));
        }
    }
    let monetary = at(root, "LegalMonetaryTotal")
        .ok_or_else(|| missing(format!("{root_path}/cac:LegalMonetaryTotal"), "cac:LegalMonetaryTotal"))?;
    let net = required_amount(monetary, "TaxExclusiveAmount")?;
    let gross = required_amount(monetary, "TaxInclusiveAmount")?;
    let payable = required_amount(monetary, "PayableAmount")?;
    let mut totals = json!({
        "net": net,
        "gross": gross,
        "payable": payable,
    });
    if let Some(t) = tax_total {
        totals["vat"] = json!(required_amount(t, "TaxAmount")?);
    }
    for (key, path) in [
        ("allowances", "AllowanceTotalAmount"),
        ("charges", "ChargeTotalAmount"),
        ("prepaid", "PrepaidAmount"),
        ("rounding", "PayableRoundingAmount"),
    ] {
        if let Some(v) = amount(monetary, path)? {
            totals[key] = json!(v);
        }
    }

    let means = at(root, "PaymentMeans");
    let means_code = means.and_then(|m| text(m, "PaymentMeansCode"));
    // The account is passed on as the document names it — an IBAN when it
    // has an IBAN's shape (the host checks its digits), else a domestic
    // account number — never dropped, or the letter would name another one.
    let account_id = means
        .and_then(|m| text(m, "PayeeFinancialAccount/ID"))
        .map(|i| i.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase());
    let iban_shaped = |a: &str| {
        let b = a.as_bytes();
        b.len() >= 15 && b[..2].iter().all(u8::is_ascii_uppercase) && b[2..4].iter().all(u8::is_ascii_digit)
    };
    let (iban, account) = match account_id {
        Some(a) if iban_shaped(&a) => (Some(a), None),
        Some(a) => (None, Some(a)),
        None => (None, None),
    };
    let supplier = at(root, "AccountingSupplierParty/Party");
    let supplier_name =
        supplier.and_then(|s| text(s, "PartyLegalEntity/RegistrationName").or(text(s, "PartyName/Name")));
    let payee = at(root, "PayeeParty")
        .and_then(|p| text(p, "PartyName/Name").or(text(p, "PartyLegalEntity/RegistrationName")))
        .or(means.and_then(|m| text(m, "PayeeFinancialAccount/Name")))
        .or(supplier_name);
    let payment = json!({
        "amount": payable,
        "currency": currency,
        "due_date": due_date,
        "reference": means.and_then(|m| text(m, "PaymentID")).unwrap_or(number),
        "credit": credit,
        "means": match means_code {
            Some("30" | "31" | "42" | "58") => "credit-transfer",
            Some("49" | "59") => "direct-debit",
            Some("48" | "54" | "55") => "card",
            Some("10") => "cash",
            Some(_) | None => "other",
        },
        "iban": iban,
        "account": account,
        "payee": payee,
        // Optional and unconstrained by EN 16931: passed on as written; the
        // host leaves a malformed one out of the letter.
        "bic": means.and_then(|m| text(m, "PayeeFinancialAccount/FinancialInstitutionBranch/ID")),
        "mandate": means.and_then(|m| text(m, "PaymentMandate/ID")),
        "means_code": means_code,
        "debited_account": means.and_then(|m| text(m, "PaymentMandate/PayerFinancialAccount/ID")),
        "creditor_id": supplier.and_then(|s| {
            children(s, CAC, "PartyIdentification")
                .filter_map(|p| child(p, CBC, "ID"))
                .find(|id| id.attribute("schemeID") == Some("SEPA"))
                .and_then(|id| id.text())
                .map(str::trim)
        }),
    });

    Ok(json!({
        "cdm": "1.1",
        "reference": {
            "customer_ref": customer_ref,
            "document_id": document_id(number),
            "document_type": if credit { "credit-note" } else { "invoice" },
            "source_system": "ubl",
            "source": { "name": source, "path": root_path },
        },
        "personal": {
            "company": company,
            "last_name": contact,
        },
        "address": {
            "street": street,
            "lines": address.map(|a| children(a, CAC, "AddressLine").filter_map(|l| text(l, "Line")).collect::<Vec<_>>()).unwrap_or_default(),
            "postcode": addr("PostalZone"),
            "city": addr("CityName"),
            "region": addr("CountrySubentity"),
            "country": country,
        },
        "production": { "template": "invoice" },
        "distribution": {
            "channels": if email.is_some() { json!(["email"]) } else { json!(["print"]) },
            "email": email,
            "phone": phone,
        },
        "content": {
            "invoice": {
                "number": number,
                "date": issue_date,
                "due_date": due_date,
                "currency": currency,
                "payment_reference": means.and_then(|m| text(m, "PaymentID")).unwrap_or(number),
                "period_start": date(root, "InvoicePeriod/StartDate")?,
                "period_end": date(root, "InvoicePeriod/EndDate")?,
                "buyer_reference": text(root, "BuyerReference"),
                "order_reference": text(root, "OrderReference/ID"),
                "note": text(root, "Note"),
                "type_code": text(root, if credit { "CreditNoteTypeCode" } else { "InvoiceTypeCode" }),
                "tax_point_date": date(root, "TaxPointDate")?,
                "preceding_invoice": text(root, "BillingReference/InvoiceDocumentReference/ID"),
                "contract_reference": text(root, "ContractDocumentReference/ID"),
                "payment_terms": text(root, "PaymentTerms/Note"),
            },
            "supplier": supplier.map(|s| party(s, true)),
            "buyer": party(customer, false),
            "delivery": delivery(root)?,
            "lines": lines,
            "allowances_charges": allowances_charges,
            "vat": vat,
            "totals": totals,
            "payment": payment,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID>INV 7</cbc:ID><cbc:IssueDate>2026-11-01</cbc:IssueDate><cbc:DueDate>2026-11-30</cbc:DueDate>
 <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
 <cac:AccountingCustomerParty><cac:Party><cac:PartyIdentification><cbc:ID>C-9</cbc:ID></cac:PartyIdentification>
  <cac:PostalAddress><cbc:StreetName>Dorpsstraat 4</cbc:StreetName><cbc:CityName>Vleuten</cbc:CityName><cbc:PostalZone>3451 BC</cbc:PostalZone><cac:Country><cbc:IdentificationCode>NL</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
  <cac:PartyLegalEntity><cbc:RegistrationName>Bakkerij B.V.</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party></cac:AccountingCustomerParty>
 <cac:PaymentMeans><cbc:PaymentMeansCode>30</cbc:PaymentMeansCode><cbc:PaymentID>RF18539007547034</cbc:PaymentID><cac:PayeeFinancialAccount><cbc:ID>NL91 ABNA 0417 1643 00</cbc:ID></cac:PayeeFinancialAccount></cac:PaymentMeans>
 <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">21.00</cbc:TaxAmount><cac:TaxSubtotal><cbc:TaxableAmount currencyID="EUR">100.00</cbc:TaxableAmount><cbc:TaxAmount currencyID="EUR">21.00</cbc:TaxAmount><cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>21</cbc:Percent></cac:TaxCategory></cac:TaxSubtotal></cac:TaxTotal>
 <cac:LegalMonetaryTotal><cbc:LineExtensionAmount currencyID="EUR">100.00</cbc:LineExtensionAmount><cbc:TaxExclusiveAmount currencyID="EUR">100.00</cbc:TaxExclusiveAmount><cbc:TaxInclusiveAmount currencyID="EUR">121.00</cbc:TaxInclusiveAmount><cbc:PayableAmount currencyID="EUR">121.00</cbc:PayableAmount></cac:LegalMonetaryTotal>
 <cac:InvoiceLine><cbc:ID>1</cbc:ID><cbc:InvoicedQuantity unitCode="C62">2</cbc:InvoicedQuantity><cbc:LineExtensionAmount currencyID="EUR">100.00</cbc:LineExtensionAmount>
  <cac:Item><cbc:Name>Flour</cbc:Name><cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>21</cbc:Percent></cac:ClassifiedTaxCategory></cac:Item><cac:Price><cbc:PriceAmount currencyID="EUR">50.00</cbc:PriceAmount></cac:Price></cac:InvoiceLine>
</Invoice>"#;

    fn run(xml: &str) -> Result<Value, Problem> {
        translate(&Document::parse(xml).unwrap(), "x.xml")
    }

    #[test]
    fn maps_parties_lines_taxes_totals_and_payment() {
        let r = run(MINIMAL).unwrap();
        assert_eq!(r["reference"]["document_id"], "INV-7");
        assert_eq!(r["reference"]["customer_ref"], "C-9");
        assert_eq!(r["personal"]["company"], "Bakkerij B.V.");
        assert_eq!(r["address"]["city"], "Vleuten");
        assert_eq!(r["content"]["lines"][0]["unit"], "C62");
        assert_eq!(r["content"]["lines"][0]["vat_rate"], "21");
        assert_eq!(r["content"]["vat"][0]["base"], "100.00");
        assert_eq!(r["content"]["totals"]["vat"], "21.00");
        assert_eq!(r["content"]["payment"]["iban"], "NL91ABNA0417164300");
        assert_eq!(r["content"]["payment"]["means"], "credit-transfer");
        assert_eq!(r["content"]["payment"]["reference"], "RF18539007547034");
    }

    #[test]
    fn problems_carry_an_xpath() {
        let bad = MINIMAL.replace(
            ">100.00</cbc:LineExtensionAmount>\n  <cac:Item>",
            ">1,00</cbc:LineExtensionAmount>\n  <cac:Item>",
        );
        let e = run(&bad).unwrap_err();
        assert_eq!(e.path, "/Invoice/cac:InvoiceLine/cbc:LineExtensionAmount");
        let e = run(&MINIMAL.replace("<cbc:IssueDate>2026-11-01</cbc:IssueDate>", "")).unwrap_err();
        assert!(e.missing && e.path == "/Invoice/cbc:IssueDate", "{e:?}");
        let e = run(r#"<Order xmlns="urn:x"/>"#).unwrap_err();
        assert!(e.message.contains("not a UBL 2.1 Invoice"), "{e:?}");
    }
}
