//! One [`Invoice`] as CII D16B XML, elements in the schema's order (the
//! Factur-X check validates against the XSD, not only the business rules).

use en16931::model::{Address, Adjustment, Delivery, Party, Payment};
use en16931::{Amount, Invoice, Refusal, xml::Xml};

/// The EN 16931 guideline (Factur-X profile "EN 16931", a.k.a. Comfort).
pub const GUIDELINE: &str = "urn:cen.eu:en16931:2017";

/// Reads the record from the `cdm` metadata entry and writes it.
pub fn write_from_metadata(meta: &dyn Fn(&str) -> Option<String>) -> Result<String, Refusal> {
    Ok(write(&Invoice::from_metadata(meta)?))
}

fn money(a: Amount) -> String {
    a.to_string_min(2)
}

fn number(a: Amount) -> String {
    a.to_string_min(0)
}

/// `YYYY-MM-DD` as format 102, `YYYYMMDD`.
fn date102(date: &str) -> String {
    date.replace('-', "")
}

fn date_time(x: &mut Xml, tag: &'static str, date: &str) {
    x.open(tag, &[]).leaf_with("udt:DateTimeString", &[("format", "102")], &date102(date)).close();
}

/// Writes the invoice.
pub fn write(inv: &Invoice) -> String {
    let mut x = Xml::new();
    x.open(
        "rsm:CrossIndustryInvoice",
        &[
            ("xmlns:rsm", "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"),
            ("xmlns:ram", "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"),
            ("xmlns:qdt", "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"),
            ("xmlns:udt", "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"),
        ],
    );
    x.open("rsm:ExchangedDocumentContext", &[]);
    x.open("ram:GuidelineSpecifiedDocumentContextParameter", &[]).leaf("ram:ID", GUIDELINE).close();
    x.close();

    x.open("rsm:ExchangedDocument", &[]);
    x.leaf("ram:ID", &inv.number).leaf("ram:TypeCode", &inv.type_code);
    date_time(&mut x, "ram:IssueDateTime", &inv.issue_date);
    if let Some(note) = &inv.note {
        x.open("ram:IncludedNote", &[]).leaf("ram:Content", note).close();
    }
    x.close();

    x.open("rsm:SupplyChainTradeTransaction", &[]);
    for line in &inv.lines {
        x.open("ram:IncludedSupplyChainTradeLineItem", &[]);
        x.open("ram:AssociatedDocumentLineDocument", &[]).leaf("ram:LineID", &line.id);
        if let Some(note) = &line.note {
            x.open("ram:IncludedNote", &[]).leaf("ram:Content", note).close();
        }
        x.close();
        x.open("ram:SpecifiedTradeProduct", &[]).maybe("ram:SellerAssignedID", line.item_id.as_deref());
        x.leaf("ram:Name", &line.name).maybe("ram:Description", line.description.as_deref()).close();
        x.open("ram:SpecifiedLineTradeAgreement", &[]);
        let basis = |x: &mut Xml| {
            if let Some(base) = line.base_quantity {
                x.leaf_with("ram:BasisQuantity", &[("unitCode", &line.unit_code)], &number(base));
            }
        };
        if let Some((gross, discount)) = line.gross_price {
            x.open("ram:GrossPriceProductTradePrice", &[]).leaf("ram:ChargeAmount", &money(gross));
            basis(&mut x);
            if let Some(discount) = discount {
                x.open("ram:AppliedTradeAllowanceCharge", &[]);
                x.open("ram:ChargeIndicator", &[]).leaf("udt:Indicator", "false").close();
                x.leaf("ram:ActualAmount", &money(discount)).close();
            }
            x.close();
        }
        x.open("ram:NetPriceProductTradePrice", &[]).leaf("ram:ChargeAmount", &money(line.price));
        basis(&mut x);
        x.close();
        x.close();
        x.open("ram:SpecifiedLineTradeDelivery", &[]);
        x.leaf_with("ram:BilledQuantity", &[("unitCode", &line.unit_code)], &number(line.quantity));
        x.close();
        x.open("ram:SpecifiedLineTradeSettlement", &[]);
        x.open("ram:ApplicableTradeTax", &[]).leaf("ram:TypeCode", "VAT").leaf("ram:CategoryCode", &line.category);
        if let Some(rate) = line.rate {
            x.leaf("ram:RateApplicablePercent", &number(rate));
        }
        x.close();
        period(&mut x, &line.period);
        for ac in &line.allowances_charges {
            adjustment(&mut x, ac).close();
        }
        x.open("ram:SpecifiedTradeSettlementLineMonetarySummation", &[]).leaf("ram:LineTotalAmount", &money(line.net));
        x.close();
        x.close();
        x.close();
    }

    x.open("ram:ApplicableHeaderTradeAgreement", &[]);
    x.maybe("ram:BuyerReference", inv.buyer_reference.as_deref());
    party(&mut x, "ram:SellerTradeParty", &inv.seller, true);
    party(&mut x, "ram:BuyerTradeParty", &inv.buyer, false);
    if let Some(order) = &inv.order_reference {
        x.open("ram:BuyerOrderReferencedDocument", &[]).leaf("ram:IssuerAssignedID", order).close();
    }
    if let Some(contract) = &inv.contract_reference {
        x.open("ram:ContractReferencedDocument", &[]).leaf("ram:IssuerAssignedID", contract).close();
    }
    x.close();

    x.open("ram:ApplicableHeaderTradeDelivery", &[]);
    if let Some(d) = &inv.delivery {
        delivery(&mut x, d);
    }
    x.close();

    x.open("ram:ApplicableHeaderTradeSettlement", &[]);
    if let Some(p) = &inv.payment {
        x.maybe("ram:CreditorReferenceID", p.creditor_id.as_deref());
        x.maybe("ram:PaymentReference", p.remittance.as_deref());
    }
    x.leaf("ram:InvoiceCurrencyCode", &inv.currency);
    if let Some(payee) = &inv.payee {
        x.open("ram:PayeeTradeParty", &[]).leaf("ram:Name", payee).close();
    }
    if let Some(p) = &inv.payment {
        payment_means(&mut x, p);
    }
    for v in &inv.vat {
        x.open("ram:ApplicableTradeTax", &[])
            .leaf("ram:CalculatedAmount", &money(v.amount))
            .leaf("ram:TypeCode", "VAT");
        x.maybe("ram:ExemptionReason", v.exemption_reason.as_deref());
        x.leaf("ram:BasisAmount", &money(v.base)).leaf("ram:CategoryCode", &v.category);
        x.maybe("ram:ExemptionReasonCode", v.exemption_code.as_deref());
        if let Some(date) = &inv.tax_point_date {
            x.open("ram:TaxPointDate", &[]).leaf_with("udt:DateString", &[("format", "102")], &date102(date)).close();
        }
        if v.category != "O" {
            x.leaf("ram:RateApplicablePercent", &number(v.rate));
        }
        x.close();
    }
    period(&mut x, &inv.period);
    for ac in &inv.allowances_charges {
        adjustment(&mut x, &ac.adjustment);
        x.open("ram:CategoryTradeTax", &[]).leaf("ram:TypeCode", "VAT").leaf("ram:CategoryCode", &ac.category);
        if let Some(rate) = ac.rate.filter(|_| ac.category != "O") {
            x.leaf("ram:RateApplicablePercent", &number(rate));
        }
        x.close();
        x.close();
    }
    let mandate = inv.payment.as_ref().and_then(|p| p.mandate.as_deref());
    if inv.payment_terms.is_some() || inv.due_date.is_some() || mandate.is_some() {
        x.open("ram:SpecifiedTradePaymentTerms", &[]);
        x.maybe("ram:Description", inv.payment_terms.as_deref());
        if let Some(due) = &inv.due_date {
            date_time(&mut x, "ram:DueDateDateTime", due);
        }
        x.maybe("ram:DirectDebitMandateID", mandate);
        x.close();
    }
    let t = &inv.totals;
    x.open("ram:SpecifiedTradeSettlementHeaderMonetarySummation", &[]);
    x.leaf("ram:LineTotalAmount", &money(t.lines));
    if let Some(c) = t.charges {
        x.leaf("ram:ChargeTotalAmount", &money(c));
    }
    if let Some(a) = t.allowances {
        x.leaf("ram:AllowanceTotalAmount", &money(a));
    }
    x.leaf("ram:TaxBasisTotalAmount", &money(t.net));
    x.leaf_with("ram:TaxTotalAmount", &[("currencyID", &inv.currency)], &money(t.vat));
    if let Some(r) = t.rounding {
        x.leaf("ram:RoundingAmount", &money(r));
    }
    x.leaf("ram:GrandTotalAmount", &money(t.gross));
    if let Some(p) = t.prepaid {
        x.leaf("ram:TotalPrepaidAmount", &money(p));
    }
    x.leaf("ram:DuePayableAmount", &money(t.payable));
    x.close();
    if let Some(preceding) = &inv.preceding_invoice {
        x.open("ram:InvoiceReferencedDocument", &[]).leaf("ram:IssuerAssignedID", preceding).close();
    }
    x.close();
    x.close();
    x.close();
    x.finish()
}

fn period(x: &mut Xml, (start, end): &(Option<String>, Option<String>)) {
    if start.is_none() && end.is_none() {
        return;
    }
    x.open("ram:BillingSpecifiedPeriod", &[]);
    if let Some(start) = start {
        date_time(x, "ram:StartDateTime", start);
    }
    if let Some(end) = end {
        date_time(x, "ram:EndDateTime", end);
    }
    x.close();
}

fn party(x: &mut Xml, tag: &'static str, p: &Party, seller: bool) {
    x.open(tag, &[]);
    x.maybe("ram:ID", p.id.as_deref());
    x.leaf("ram:Name", &p.name);
    if seller {
        x.maybe("ram:Description", p.legal_info.as_deref());
    }
    if p.legal_id.is_some() || p.trading_name.is_some() {
        x.open("ram:SpecifiedLegalOrganization", &[]);
        if let Some(id) = &p.legal_id {
            match &p.legal_id_scheme {
                Some(scheme) => x.leaf_with("ram:ID", &[("schemeID", scheme)], id),
                None => x.leaf("ram:ID", id),
            };
        }
        x.maybe("ram:TradingBusinessName", p.trading_name.as_deref());
        x.close();
    }
    if let Some((name, phone, email)) = &p.contact {
        x.open("ram:DefinedTradeContact", &[]).maybe("ram:PersonName", name.as_deref());
        if let Some(phone) = phone {
            x.open("ram:TelephoneUniversalCommunication", &[]).leaf("ram:CompleteNumber", phone).close();
        }
        if let Some(email) = email {
            x.open("ram:EmailURIUniversalCommunication", &[]).leaf("ram:URIID", email).close();
        }
        x.close();
    }
    postal_address(x, &p.address);
    if let Some((address, scheme)) = &p.electronic_address {
        x.open("ram:URIUniversalCommunication", &[]).leaf_with("ram:URIID", &[("schemeID", scheme)], address).close();
    }
    if let Some(vat) = &p.vat_id {
        x.open("ram:SpecifiedTaxRegistration", &[]).leaf_with("ram:ID", &[("schemeID", "VA")], vat).close();
    }
    if let Some(local) = p.tax_registration.as_ref().filter(|_| seller) {
        x.open("ram:SpecifiedTaxRegistration", &[]).leaf_with("ram:ID", &[("schemeID", "FC")], local).close();
    }
    x.close();
}

/// Opens a `ram:SpecifiedTradeAllowanceCharge` with what every allowance or
/// charge states; a document-level one adds its tax category before closing.
fn adjustment<'x>(x: &'x mut Xml, a: &Adjustment) -> &'x mut Xml {
    x.open("ram:SpecifiedTradeAllowanceCharge", &[]);
    x.open("ram:ChargeIndicator", &[]).leaf("udt:Indicator", if a.charge { "true" } else { "false" }).close();
    x.leaf("ram:ActualAmount", &money(a.amount));
    x.maybe("ram:ReasonCode", a.reason_code.as_deref()).maybe("ram:Reason", a.reason.as_deref())
}

fn postal_address(x: &mut Xml, a: &Address) {
    x.open("ram:PostalTradeAddress", &[]);
    x.maybe("ram:PostcodeCode", a.postcode.as_deref()).maybe("ram:LineOne", a.street.as_deref());
    x.maybe("ram:LineTwo", a.lines.first().map(String::as_str))
        .maybe("ram:LineThree", a.lines.get(1).map(String::as_str));
    x.maybe("ram:CityName", a.city.as_deref()).leaf("ram:CountryID", &a.country);
    x.maybe("ram:CountrySubDivisionName", a.region.as_deref());
    x.close();
}

/// The deliver-to party and the delivery date (BG-13), in CII's order.
fn delivery(x: &mut Xml, d: &Delivery) {
    if d.name.is_some() || d.location_id.is_some() || d.address.is_some() {
        x.open("ram:ShipToTradeParty", &[]).maybe("ram:ID", d.location_id.as_deref());
        x.maybe("ram:Name", d.name.as_deref());
        if let Some(address) = &d.address {
            postal_address(x, address);
        }
        x.close();
    }
    if let Some(date) = &d.date {
        x.open("ram:ActualDeliverySupplyChainEvent", &[]);
        date_time(x, "ram:OccurrenceDateTime", date);
        x.close();
    }
}

fn payment_means(x: &mut Xml, p: &Payment) {
    x.open("ram:SpecifiedTradeSettlementPaymentMeans", &[]).leaf("ram:TypeCode", &p.means_code);
    if let Some(debited) = &p.debited_account {
        x.open("ram:PayerPartyDebtorFinancialAccount", &[]).leaf("ram:IBANID", debited).close();
    }
    // A direct debit names the buyer's account (above); the payee account
    // is for transfers.
    if let Some((account, iban)) = p.account.as_ref().filter(|_| !matches!(p.means_code.as_str(), "49" | "59")) {
        x.open("ram:PayeePartyCreditorFinancialAccount", &[]);
        if *iban {
            x.leaf("ram:IBANID", account);
        }
        x.maybe("ram:AccountName", p.account_name.as_deref());
        if !*iban {
            x.leaf("ram:ProprietaryID", account);
        }
        x.close();
        if let Some(bic) = &p.bic {
            x.open("ram:PayeeSpecifiedCreditorFinancialInstitution", &[]).leaf("ram:BICID", bic).close();
        }
    }
    x.close();
}
