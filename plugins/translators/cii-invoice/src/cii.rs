//! CII D16B (EN 16931) `CrossIndustryInvoice` → CDM 1.1, over a parsed XML
//! tree. Elements are matched by namespace and local name, never by prefix.
//! Amounts stay the decimal text the document has; a malformed one rejects
//! the document with its XPath. Every EN 16931 term the CDM carries is
//! filled (parties, identifiers, tax categories and exemptions, payment
//! means), so the invoice can be written out again in either syntax.

use roxmltree::{Document, Node};
use serde_json::{Value, json};

const RSM: &str = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100";
const RAM: &str = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100";
const UDT: &str = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100";

pub use document_buffer::xml::Problem;
use document_buffer::xml::{decimal_of, document_id, is_country, is_decimal};

fn missing(path: impl Into<String>, what: &str) -> Problem {
    Problem::missing(path, what)
}

fn is(node: &Node<'_, '_>, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && matches!(node.tag_name().namespace(), Some(RSM | RAM | UDT))
}

/// Follows `A/B/C` by local name in the CII namespaces.
fn at<'a, 'i>(node: Node<'a, 'i>, path: &str) -> Option<Node<'a, 'i>> {
    path.split('/').try_fold(node, |cur, step| cur.children().find(|c| is(c, step)))
}

fn all<'a, 'i>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |c| is(c, name))
}

fn text<'a>(node: Node<'a, '_>, path: &str) -> Option<&'a str> {
    at(node, path).and_then(|n| n.text()).map(str::trim).filter(|s| !s.is_empty())
}

/// The prefix messages give each CII namespace.
fn prefix(namespace: Option<&str>) -> &'static str {
    match namespace {
        Some(RSM) => "rsm:",
        Some(RAM) => "ram:",
        Some(UDT) => "udt:",
        _ => "",
    }
}

/// An XPath for messages: `/rsm:CrossIndustryInvoice/.../ram:IncludedSupplyChainTradeLineItem[3]`.
fn xpath(node: Node<'_, '_>) -> String {
    document_buffer::xml::xpath(node, prefix)
}

/// A decimal element's text, checked; `None` when absent.
fn amount(node: Node<'_, '_>, path: &str) -> Result<Option<String>, Problem> {
    decimal_of(at(node, path), prefix)
}

fn required_amount(node: Node<'_, '_>, path: &str) -> Result<String, Problem> {
    amount(node, path)?.ok_or_else(|| missing(format!("{}/ram:{path}", xpath(node)), &format!("ram:{path}")))
}

/// A `udt:DateTimeString` (format 102, `YYYYMMDD`) or `udt:DateString` under
/// `path`, as `YYYY-MM-DD`.
fn date(node: Node<'_, '_>, path: &str) -> Result<Option<String>, Problem> {
    let Some(holder) = at(node, path) else { return Ok(None) };
    let Some(n) = holder.children().find(|c| is(c, "DateTimeString") || is(c, "DateString")) else {
        return Err(missing(xpath(holder), "udt:DateTimeString"));
    };
    let value = n.text().map(str::trim).unwrap_or("");
    let format = n.attribute("format").unwrap_or("102");
    let b = value.as_bytes();
    if format == "102" && b.len() == 8 && b.iter().all(u8::is_ascii_digit) {
        let (y, m, d) = (&value[..4], &value[4..6], &value[6..]);
        if ("01"..="12").contains(&m) && ("01"..="31").contains(&d) {
            return Ok(Some(format!("{y}-{m}-{d}")));
        }
    }
    Err(Problem {
        path: xpath(n),
        message: format!("`{value}` (format {format}) is not a date YYYYMMDD (format 102)"),
        missing: false,
    })
}

fn country(node: Option<Node<'_, '_>>) -> Result<Option<String>, Problem> {
    let Some(n) = node.and_then(|a| at(a, "CountryID")) else { return Ok(None) };
    let c = n.text().map(str::trim).unwrap_or("");
    if is_country(c) {
        Ok(Some(c.to_owned()))
    } else {
        Err(Problem { path: xpath(n), message: format!("`{c}` is not an ISO 3166 alpha-2 code"), missing: false })
    }
}

/// A `ram:PostalTradeAddress` as a CDM 1.1 party address.
fn postal_address(a: Node<'_, '_>) -> Result<Value, Problem> {
    let lines: Vec<&str> = [text(a, "LineTwo"), text(a, "LineThree")].into_iter().flatten().collect();
    Ok(json!({
        "street": text(a, "LineOne"),
        "lines": lines,
        "postcode": text(a, "PostcodeCode"),
        "city": text(a, "CityName"),
        "region": text(a, "CountrySubDivisionName"),
        "country": country(Some(a))?,
    }))
}

/// The delivery (BG-13): the ship-to party and the actual delivery date.
fn delivery(d: Option<Node<'_, '_>>) -> Result<Value, Problem> {
    let Some(d) = d else { return Ok(Value::Null) };
    let ship_to = at(d, "ShipToTradeParty");
    let date = date(d, "ActualDeliverySupplyChainEvent/OccurrenceDateTime")?;
    if ship_to.is_none() && date.is_none() {
        return Ok(Value::Null);
    }
    Ok(json!({
        "date": date,
        "name": ship_to.and_then(|p| text(p, "Name")),
        "location_id": ship_to.and_then(|p| text(p, "ID").or_else(|| text(p, "GlobalID"))),
        "address": match ship_to.and_then(|p| at(p, "PostalTradeAddress")) { Some(a) => postal_address(a)?, None => Value::Null },
    }))
}

/// A line's allowances and charges (BG-27 / BG-28).
fn line_allowances_charges(item: Node<'_, '_>) -> Result<Vec<Value>, Problem> {
    let mut out = Vec::new();
    let Some(settlement) = at(item, "SpecifiedLineTradeSettlement") else { return Ok(out) };
    for ac in all(settlement, "SpecifiedTradeAllowanceCharge") {
        let Some(charge) = text(ac, "ChargeIndicator/Indicator").map(|t| t.eq_ignore_ascii_case("true")) else {
            return Err(missing(format!("{}/ram:ChargeIndicator", xpath(ac)), "ram:ChargeIndicator/udt:Indicator"));
        };
        out.push(json!({
            "charge": charge,
            "amount": required_amount(ac, "ActualAmount")?,
            "reason": text(ac, "Reason"),
            "reason_code": text(ac, "ReasonCode"),
        }));
    }
    Ok(out)
}

/// A trade party as CDM 1.1 `content.supplier` / `content.buyer`.
fn party(p: Node<'_, '_>, seller: bool) -> Result<Value, Problem> {
    let registration = |scheme: &str| {
        all(p, "SpecifiedTaxRegistration")
            .filter_map(|r| at(r, "ID"))
            .find(|id| id.attribute("schemeID") == Some(scheme))
            .and_then(|id| id.text())
            .map(str::trim)
    };
    let legal = at(p, "SpecifiedLegalOrganization/ID");
    let uri = at(p, "URIUniversalCommunication/URIID");
    let contact = at(p, "DefinedTradeContact");
    let id = text(p, "ID").or_else(|| text(p, "GlobalID"));
    let mut party = json!({
        "name": text(p, "Name"),
        "id": id,
        "legal_id": legal.and_then(|l| l.text()).map(str::trim),
        "legal_id_scheme": legal.and_then(|l| l.attribute("schemeID")),
        "vat_id": registration("VA"),
        "electronic_address": uri.and_then(|u| u.text()).map(str::trim),
        "electronic_address_scheme": uri.and_then(|u| u.attribute("schemeID")),
        "address": match at(p, "PostalTradeAddress") { Some(a) => postal_address(a)?, None => json!({}) },
        "contact": {
            "name": contact.and_then(|c| text(c, "PersonName")),
            "phone": contact.and_then(|c| text(c, "TelephoneUniversalCommunication/CompleteNumber")),
            "email": contact.and_then(|c| text(c, "EmailURIUniversalCommunication/URIID")),
        },
    });
    if seller {
        party["trading_name"] = json!(text(p, "SpecifiedLegalOrganization/TradingBusinessName"));
        party["tax_registration"] = json!(registration("FC"));
        party["legal_info"] = json!(text(p, "Description"));
    }
    Ok(party)
}

/// Translates one CII document (the whole file).
pub fn translate(doc: &Document<'_>, source: &str) -> Result<Value, Problem> {
    let root = doc.root_element();
    if !(root.tag_name().name() == "CrossIndustryInvoice" && root.tag_name().namespace() == Some(RSM)) {
        return Err(Problem {
            path: format!("/{}", root.tag_name().name()),
            message: format!(
                "the root element is {{{}}}{}, not a CII D16B CrossIndustryInvoice",
                root.tag_name().namespace().unwrap_or(""),
                root.tag_name().name()
            ),
            missing: false,
        });
    }
    let root_path = xpath(root);
    let document = at(root, "ExchangedDocument")
        .ok_or_else(|| missing(format!("{root_path}/rsm:ExchangedDocument"), "rsm:ExchangedDocument"))?;
    let number = text(document, "ID").ok_or_else(|| missing(format!("{}/ram:ID", xpath(document)), "ram:ID"))?;
    let type_code = text(document, "TypeCode");
    let credit = matches!(type_code, Some("381" | "261" | "262" | "296" | "308" | "532"));
    let issue_date = date(document, "IssueDateTime")?
        .ok_or_else(|| missing(format!("{}/ram:IssueDateTime", xpath(document)), "ram:IssueDateTime"))?;
    let notes: Vec<&str> = all(document, "IncludedNote").filter_map(|n| text(n, "Content")).collect();

    let transaction = at(root, "SupplyChainTradeTransaction").ok_or_else(|| {
        missing(format!("{root_path}/rsm:SupplyChainTradeTransaction"), "rsm:SupplyChainTradeTransaction")
    })?;
    let t_path = xpath(transaction);
    let agreement = at(transaction, "ApplicableHeaderTradeAgreement").ok_or_else(|| {
        missing(format!("{t_path}/ram:ApplicableHeaderTradeAgreement"), "ram:ApplicableHeaderTradeAgreement")
    })?;
    let settlement = at(transaction, "ApplicableHeaderTradeSettlement").ok_or_else(|| {
        missing(format!("{t_path}/ram:ApplicableHeaderTradeSettlement"), "ram:ApplicableHeaderTradeSettlement")
    })?;
    let currency = text(settlement, "InvoiceCurrencyCode")
        .ok_or_else(|| missing(format!("{}/ram:InvoiceCurrencyCode", xpath(settlement)), "ram:InvoiceCurrencyCode"))?;

    let buyer = at(agreement, "BuyerTradeParty")
        .ok_or_else(|| missing(format!("{}/ram:BuyerTradeParty", xpath(agreement)), "ram:BuyerTradeParty"))?;
    let seller = at(agreement, "SellerTradeParty")
        .ok_or_else(|| missing(format!("{}/ram:SellerTradeParty", xpath(agreement)), "ram:SellerTradeParty"))?;
    let buyer_name = text(buyer, "Name");
    let contact = text(buyer, "DefinedTradeContact/PersonName");
    if buyer_name.is_none() && contact.is_none() {
        return Err(missing(xpath(buyer), "the buyer's ram:Name"));
    }
    let customer_ref =
        text(buyer, "ID").or(text(buyer, "GlobalID")).or(text(agreement, "BuyerReference")).or(buyer_name).ok_or_else(
            || missing(xpath(buyer), "an identification of the buyer (ram:ID, ram:GlobalID or BuyerReference)"),
        )?;
    let address = at(buyer, "PostalTradeAddress");
    let addr = |path: &str| address.and_then(|a| text(a, path));
    let email = text(buyer, "DefinedTradeContact/EmailURIUniversalCommunication/URIID")
        .or_else(|| {
            at(buyer, "URIUniversalCommunication/URIID")
                .filter(|u| u.attribute("schemeID") == Some("EM"))
                .and_then(|u| u.text())
        })
        .map(str::trim)
        .filter(|e| e.contains('@') && !e.contains(' '));
    let phone = text(buyer, "DefinedTradeContact/TelephoneUniversalCommunication/CompleteNumber")
        .filter(|p| p.len() >= 5 && p.bytes().all(|b| b.is_ascii_digit() || b" +()-".contains(&b)));

    let mut lines = Vec::new();
    for item in all(transaction, "IncludedSupplyChainTradeLineItem") {
        let product = at(item, "SpecifiedTradeProduct");
        let name = product.and_then(|p| text(p, "Name"));
        let description = name
            .or(product.and_then(|p| text(p, "Description")))
            .ok_or_else(|| missing(format!("{}/ram:SpecifiedTradeProduct/ram:Name", xpath(item)), "ram:Name"))?;
        let quantity_node = at(item, "SpecifiedLineTradeDelivery/BilledQuantity");
        let quantity = required_amount(item, "SpecifiedLineTradeDelivery/BilledQuantity")?;
        let unit = quantity_node.and_then(|q| q.attribute("unitCode"));
        let tax = at(item, "SpecifiedLineTradeSettlement/ApplicableTradeTax");
        lines.push(json!({
            "id": text(item, "AssociatedDocumentLineDocument/LineID"),
            "note": text(item, "AssociatedDocumentLineDocument/IncludedNote/Content"),
            "description": description,
            "item_id": product.and_then(|p| text(p, "SellerAssignedID")),
            "quantity": quantity,
            "unit": unit.unwrap_or(""),
            "unit_code": unit,
            "unit_price": amount(item, "SpecifiedLineTradeAgreement/NetPriceProductTradePrice/ChargeAmount")?,
            "price_base_quantity": match amount(item, "SpecifiedLineTradeAgreement/NetPriceProductTradePrice/BasisQuantity")? {
                Some(base) => Some(base),
                None => amount(item, "SpecifiedLineTradeAgreement/GrossPriceProductTradePrice/BasisQuantity")?,
            },
            "gross_price": amount(item, "SpecifiedLineTradeAgreement/GrossPriceProductTradePrice/ChargeAmount")?,
            "price_discount": amount(item, "SpecifiedLineTradeAgreement/GrossPriceProductTradePrice/AppliedTradeAllowanceCharge/ActualAmount")?,
            "item_description": name.and(product.and_then(|p| text(p, "Description"))),
            "allowances_charges": line_allowances_charges(item)?,
            "vat_category": tax.and_then(|t| text(t, "CategoryCode")),
            "vat_rate": match tax { Some(t) => amount(t, "RateApplicablePercent")?, None => None }.unwrap_or_else(|| "0".into()),
            "net": required_amount(item, "SpecifiedLineTradeSettlement/SpecifiedTradeSettlementLineMonetarySummation/LineTotalAmount")?,
            "period_start": date(item, "SpecifiedLineTradeSettlement/BillingSpecifiedPeriod/StartDateTime")?,
            "period_end": date(item, "SpecifiedLineTradeSettlement/BillingSpecifiedPeriod/EndDateTime")?,
        }));
    }
    if lines.is_empty() {
        return Err(missing(t_path, "ram:IncludedSupplyChainTradeLineItem (an invoice needs at least one line)"));
    }

    let mut allowances_charges = Vec::new();
    for ac in all(settlement, "SpecifiedTradeAllowanceCharge") {
        let Some(charge) = text(ac, "ChargeIndicator/Indicator").map(|t| t.eq_ignore_ascii_case("true")) else {
            return Err(missing(format!("{}/ram:ChargeIndicator", xpath(ac)), "ram:ChargeIndicator/udt:Indicator"));
        };
        allowances_charges.push(json!({
            "charge": charge,
            "reason": text(ac, "Reason").unwrap_or(if charge { "Charge" } else { "Allowance" }),
            "reason_code": text(ac, "ReasonCode"),
            "amount": required_amount(ac, "ActualAmount")?,
            "vat_rate": amount(ac, "CategoryTradeTax/RateApplicablePercent")?,
            "vat_category": text(ac, "CategoryTradeTax/CategoryCode"),
        }));
    }

    let mut vat = Vec::new();
    for tax in all(settlement, "ApplicableTradeTax") {
        vat.push(json!({
            "category": text(tax, "CategoryCode").unwrap_or("S"),
            "rate": amount(tax, "RateApplicablePercent")?.unwrap_or_else(|| "0".into()),
            "base": required_amount(tax, "BasisAmount")?,
            "amount": required_amount(tax, "CalculatedAmount")?,
            "exemption_reason": text(tax, "ExemptionReason"),
            "exemption_code": text(tax, "ExemptionReasonCode"),
        }));
    }

    let sums = at(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation").ok_or_else(|| {
        missing(
            format!("{}/ram:SpecifiedTradeSettlementHeaderMonetarySummation", xpath(settlement)),
            "ram:SpecifiedTradeSettlementHeaderMonetarySummation",
        )
    })?;
    let net = required_amount(sums, "TaxBasisTotalAmount")?;
    let gross = required_amount(sums, "GrandTotalAmount")?;
    let payable = required_amount(sums, "DuePayableAmount")?;
    let mut totals = json!({ "net": net, "gross": gross, "payable": payable });
    // The tax total in the invoice currency (a second may be in the accounting currency).
    let tax_total = all(sums, "TaxTotalAmount").find(|t| t.attribute("currencyID").is_none_or(|c| c == currency));
    if let Some(t) = tax_total {
        let value = t.text().map(str::trim).unwrap_or("");
        if !is_decimal(value) {
            return Err(Problem {
                path: xpath(t),
                message: format!("`{value}` is not a decimal amount"),
                missing: false,
            });
        }
        totals["vat"] = json!(value);
    }
    for (key, path) in [
        ("allowances", "AllowanceTotalAmount"),
        ("charges", "ChargeTotalAmount"),
        ("prepaid", "TotalPrepaidAmount"),
        ("rounding", "RoundingAmount"),
    ] {
        if let Some(v) = amount(sums, path)? {
            totals[key] = json!(v);
        }
    }

    let means = at(settlement, "SpecifiedTradeSettlementPaymentMeans");
    let means_code = means.and_then(|m| text(m, "TypeCode"));
    let account = means
        .and_then(|m| {
            text(m, "PayeePartyCreditorFinancialAccount/IBANID")
                .map(|i| (i, true))
                .or_else(|| text(m, "PayeePartyCreditorFinancialAccount/ProprietaryID").map(|a| (a, false)))
        })
        .map(|(a, iban)| (a.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase(), iban));
    let (iban, account) = match account {
        Some((a, true)) => (Some(a), None),
        Some((a, false)) => (None, Some(a)),
        None => (None, None),
    };
    let terms = at(settlement, "SpecifiedTradePaymentTerms");
    let due_date = match terms {
        Some(t) => date(t, "DueDateDateTime")?,
        None => None,
    };
    let seller_name = text(seller, "Name");
    let payee = text(settlement, "PayeeTradeParty/Name").or(seller_name);
    let reference = text(settlement, "PaymentReference");
    let payment = json!({
        "amount": payable,
        "currency": currency,
        "due_date": due_date,
        "reference": reference.unwrap_or(number),
        "credit": credit,
        "means": match means_code {
            Some("30" | "31" | "42" | "58") => "credit-transfer",
            Some("49" | "59") => "direct-debit",
            Some("48" | "54" | "55") => "card",
            Some("10") => "cash",
            Some(_) | None => "other",
        },
        "means_code": means_code,
        "iban": iban,
        "account": account,
        "payee": payee,
        "bic": means.and_then(|m| text(m, "PayeeSpecifiedCreditorFinancialInstitution/BICID")),
        "mandate": terms.and_then(|t| text(t, "DirectDebitMandateID")),
        "creditor_id": text(settlement, "CreditorReferenceID"),
        "debited_account": means.and_then(|m| text(m, "PayerPartyDebtorFinancialAccount/IBANID")),
    });
    let period = at(settlement, "BillingSpecifiedPeriod");
    let buyer_lines: Vec<&str> = [addr("LineTwo"), addr("LineThree")].into_iter().flatten().collect();

    Ok(json!({
        "cdm": "1.1",
        "reference": {
            "customer_ref": customer_ref,
            "document_id": document_id(number),
            "document_type": if credit { "credit-note" } else { "invoice" },
            "source_system": "cii",
            "source": { "name": source, "path": root_path },
        },
        "personal": { "company": buyer_name, "last_name": contact },
        "address": {
            "street": addr("LineOne"),
            "lines": buyer_lines,
            "postcode": addr("PostcodeCode"),
            "city": addr("CityName"),
            "region": addr("CountrySubDivisionName"),
            "country": country(address)?,
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
                "type_code": type_code,
                "date": issue_date,
                "due_date": due_date,
                "currency": currency,
                "payment_reference": reference.unwrap_or(number),
                "period_start": match period { Some(p) => date(p, "StartDateTime")?, None => None },
                "period_end": match period { Some(p) => date(p, "EndDateTime")?, None => None },
                "buyer_reference": text(agreement, "BuyerReference"),
                "order_reference": text(agreement, "BuyerOrderReferencedDocument/IssuerAssignedID"),
                "contract_reference": text(agreement, "ContractReferencedDocument/IssuerAssignedID"),
                "preceding_invoice": text(settlement, "InvoiceReferencedDocument/IssuerAssignedID"),
                "payment_terms": terms.and_then(|t| text(t, "Description")),
                "note": if notes.is_empty() { Value::Null } else { json!(notes.join("\n")) },
            },
            "supplier": party(seller, true)?,
            "buyer": party(buyer, false)?,
            "delivery": delivery(at(transaction, "ApplicableHeaderTradeDelivery"))?,
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

    const MINIMAL: &str = r#"<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
 <rsm:ExchangedDocument><ram:ID>F 7</ram:ID><ram:TypeCode>380</ram:TypeCode>
  <ram:IssueDateTime><udt:DateTimeString format="102">20261101</udt:DateTimeString></ram:IssueDateTime></rsm:ExchangedDocument>
 <rsm:SupplyChainTradeTransaction>
  <ram:IncludedSupplyChainTradeLineItem><ram:AssociatedDocumentLineDocument><ram:LineID>1</ram:LineID></ram:AssociatedDocumentLineDocument>
   <ram:SpecifiedTradeProduct><ram:Name>Flour</ram:Name></ram:SpecifiedTradeProduct>
   <ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice><ram:ChargeAmount>50.00</ram:ChargeAmount></ram:NetPriceProductTradePrice></ram:SpecifiedLineTradeAgreement>
   <ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode="KGM">2</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery>
   <ram:SpecifiedLineTradeSettlement><ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>S</ram:CategoryCode><ram:RateApplicablePercent>21</ram:RateApplicablePercent></ram:ApplicableTradeTax>
    <ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>100.00</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLineMonetarySummation></ram:SpecifiedLineTradeSettlement>
  </ram:IncludedSupplyChainTradeLineItem>
  <ram:ApplicableHeaderTradeAgreement>
   <ram:SellerTradeParty><ram:Name>Molen B.V.</ram:Name><ram:PostalTradeAddress><ram:CountryID>NL</ram:CountryID></ram:PostalTradeAddress>
    <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">NL001234567B01</ram:ID></ram:SpecifiedTaxRegistration></ram:SellerTradeParty>
   <ram:BuyerTradeParty><ram:ID>C-9</ram:ID><ram:Name>Bakkerij</ram:Name><ram:PostalTradeAddress><ram:PostcodeCode>3451 BC</ram:PostcodeCode><ram:LineOne>Dorpsstraat 4</ram:LineOne><ram:CityName>Vleuten</ram:CityName><ram:CountryID>NL</ram:CountryID></ram:PostalTradeAddress></ram:BuyerTradeParty>
  </ram:ApplicableHeaderTradeAgreement>
  <ram:ApplicableHeaderTradeDelivery/>
  <ram:ApplicableHeaderTradeSettlement><ram:PaymentReference>RF18539007547034</ram:PaymentReference><ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
   <ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>58</ram:TypeCode><ram:PayeePartyCreditorFinancialAccount><ram:IBANID>NL91 ABNA 0417 1643 00</ram:IBANID></ram:PayeePartyCreditorFinancialAccount></ram:SpecifiedTradeSettlementPaymentMeans>
   <ram:ApplicableTradeTax><ram:CalculatedAmount>21.00</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode><ram:BasisAmount>100.00</ram:BasisAmount><ram:CategoryCode>S</ram:CategoryCode><ram:RateApplicablePercent>21</ram:RateApplicablePercent></ram:ApplicableTradeTax>
   <ram:SpecifiedTradePaymentTerms><ram:DueDateDateTime><udt:DateTimeString format="102">20261130</udt:DateTimeString></ram:DueDateDateTime></ram:SpecifiedTradePaymentTerms>
   <ram:SpecifiedTradeSettlementHeaderMonetarySummation><ram:LineTotalAmount>100.00</ram:LineTotalAmount><ram:TaxBasisTotalAmount>100.00</ram:TaxBasisTotalAmount><ram:TaxTotalAmount currencyID="EUR">21.00</ram:TaxTotalAmount><ram:GrandTotalAmount>121.00</ram:GrandTotalAmount><ram:DuePayableAmount>121.00</ram:DuePayableAmount></ram:SpecifiedTradeSettlementHeaderMonetarySummation>
  </ram:ApplicableHeaderTradeSettlement>
 </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>"#;

    fn run(xml: &str) -> Result<Value, Problem> {
        translate(&Document::parse(xml).unwrap(), "x.xml")
    }

    #[test]
    fn maps_parties_lines_taxes_totals_and_payment() {
        let r = run(MINIMAL).unwrap();
        assert_eq!(r["reference"]["document_id"], "F-7");
        assert_eq!(r["reference"]["customer_ref"], "C-9");
        assert_eq!(r["content"]["invoice"]["date"], "2026-11-01");
        assert_eq!(r["content"]["invoice"]["due_date"], "2026-11-30");
        assert_eq!(r["content"]["supplier"]["vat_id"], "NL001234567B01");
        assert_eq!(r["content"]["supplier"]["address"]["country"], "NL");
        assert_eq!(r["address"]["city"], "Vleuten");
        assert_eq!(r["content"]["lines"][0]["unit_code"], "KGM");
        assert_eq!(r["content"]["lines"][0]["vat_category"], "S");
        assert_eq!(r["content"]["vat"][0]["amount"], "21.00");
        assert_eq!(r["content"]["totals"]["vat"], "21.00");
        assert_eq!(r["content"]["payment"]["iban"], "NL91ABNA0417164300");
        assert_eq!(r["content"]["payment"]["means_code"], "58");
    }

    #[test]
    fn problems_carry_an_xpath() {
        let bad = MINIMAL.replace(
            "<ram:LineTotalAmount>100.00</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLine",
            "<ram:LineTotalAmount>1,00</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLine",
        );
        let e = run(&bad).unwrap_err();
        assert!(e.path.ends_with("ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"), "{e:?}");
        let e = run(&MINIMAL.replace(">20261101<", ">2026-11-01<")).unwrap_err();
        assert!(e.message.contains("format 102"), "{e:?}");
        let e = run(r#"<Invoice xmlns="urn:x"/>"#).unwrap_err();
        assert!(e.message.contains("not a CII"), "{e:?}");
    }
}
