//! One [`Invoice`] as UBL 2.1 XML, elements in the schema's order.

use en16931::model::{Address, Adjustment, Delivery, Party, Payment};
use en16931::{Amount, Invoice, Missing, Refusal, terms, xml::Xml};

/// Which specification the invoice claims (BT-24) and must then meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Customization {
    /// EN 16931 itself.
    En16931,
    /// XRechnung 3.0 (German public sector).
    XRechnung,
    /// PEPPOL BIS Billing 3.0.
    Peppol,
}

impl Customization {
    /// From the `ubl.customization` metadata entry.
    pub fn parse(value: Option<&str>) -> Option<Customization> {
        match value.unwrap_or("en16931") {
            "en16931" => Some(Customization::En16931),
            "xrechnung" => Some(Customization::XRechnung),
            "peppol" => Some(Customization::Peppol),
            _ => None,
        }
    }

    /// BT-24.
    pub fn id(self) -> &'static str {
        match self {
            Customization::En16931 => "urn:cen.eu:en16931:2017",
            Customization::XRechnung => "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
            Customization::Peppol => "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0",
        }
    }

    /// BT-23, where the specification fixes one.
    fn profile(self) -> Option<&'static str> {
        match self {
            Customization::En16931 => None,
            Customization::XRechnung | Customization::Peppol => Some("urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"),
        }
    }

    /// The terms the specification makes mandatory beyond EN 16931.
    fn check(self, inv: &Invoice) -> Result<(), Missing> {
        let need = |present: bool, bt: &str, path: &str, rule: &str| {
            if present {
                Ok(())
            } else {
                Err(Missing { term: terms::term(bt), path: path.into(), message: format!("{rule} requires it") })
            }
        };
        match self {
            Customization::En16931 => Ok(()),
            Customization::XRechnung => {
                need(
                    inv.buyer_reference.is_some(),
                    "BT-10",
                    "$.content.invoice.buyer_reference",
                    "XRechnung BR-DE-15",
                )?;
                need(
                    inv.seller.electronic_address.is_some(),
                    "BT-34",
                    "$.content.supplier.electronic_address",
                    "XRechnung BR-DE-SEL",
                )?;
                need(
                    inv.buyer.electronic_address.is_some(),
                    "BT-49",
                    "$.content.buyer.electronic_address",
                    "XRechnung BR-DE-BUY",
                )?;
                need(
                    inv.seller.address.city.is_some(),
                    "BT-37",
                    "$.content.supplier.address.city",
                    "XRechnung BR-DE-3",
                )?;
                need(
                    inv.seller.address.postcode.is_some(),
                    "BT-38",
                    "$.content.supplier.address.postcode",
                    "XRechnung BR-DE-4",
                )
            }
            Customization::Peppol => {
                need(
                    inv.seller.electronic_address.is_some(),
                    "BT-34",
                    "$.content.supplier.electronic_address",
                    "PEPPOL-EN16931-R020",
                )?;
                need(
                    inv.buyer.electronic_address.is_some(),
                    "BT-49",
                    "$.content.buyer.electronic_address",
                    "PEPPOL-EN16931-R010",
                )?;
                need(
                    inv.buyer_reference.is_some() || inv.order_reference.is_some(),
                    "BT-10",
                    "$.content.invoice.buyer_reference",
                    "PEPPOL-EN16931-R003 (a buyer reference or an order reference)",
                )
            }
        }
    }
}

/// Reads the record from the `cdm` metadata entry and writes it with the
/// customisation `ubl.customization` picks.
pub fn write_from_metadata(meta: &dyn Fn(&str) -> Option<String>) -> Result<String, Refusal> {
    let customization = Customization::parse(meta("ubl.customization").as_deref())
        .ok_or_else(|| Refusal::Setup("ubl.customization must be `en16931`, `xrechnung` or `peppol`".into()))?;
    let invoice = Invoice::from_metadata(meta)?;
    customization.check(&invoice).map_err(Refusal::Missing)?;
    Ok(write(&invoice, customization))
}

fn money(a: Amount) -> String {
    a.to_string_min(2)
}

fn number(a: Amount) -> String {
    a.to_string_min(0)
}

/// Writes the invoice.
pub fn write(inv: &Invoice, customization: Customization) -> String {
    let cur = inv.currency.as_str();
    let amount = |x: &mut Xml, tag: &'static str, a: Amount| {
        x.leaf_with(tag, &[("currencyID", cur)], &money(a));
    };
    let (root, namespace, type_tag, line_tag, quantity_tag) = if inv.is_credit_note() {
        (
            "CreditNote",
            "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
            "cbc:CreditNoteTypeCode",
            "cac:CreditNoteLine",
            "cbc:CreditedQuantity",
        )
    } else {
        (
            "Invoice",
            "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
            "cbc:InvoiceTypeCode",
            "cac:InvoiceLine",
            "cbc:InvoicedQuantity",
        )
    };
    let mut x = Xml::new();
    x.open(
        root,
        &[
            ("xmlns", namespace),
            ("xmlns:cac", "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"),
            ("xmlns:cbc", "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"),
        ],
    );
    x.leaf("cbc:CustomizationID", customization.id());
    x.maybe("cbc:ProfileID", customization.profile());
    x.leaf("cbc:ID", &inv.number).leaf("cbc:IssueDate", &inv.issue_date);
    // UBL 2.1 has no due date on a credit note's root: it goes with the payment means.
    if !inv.is_credit_note() {
        x.maybe("cbc:DueDate", inv.due_date.as_deref());
    }
    x.leaf(type_tag, &inv.type_code);
    x.maybe("cbc:Note", inv.note.as_deref());
    x.maybe("cbc:TaxPointDate", inv.tax_point_date.as_deref());
    x.leaf("cbc:DocumentCurrencyCode", cur);
    x.maybe("cbc:BuyerReference", inv.buyer_reference.as_deref());
    period(&mut x, &inv.period);
    if let Some(order) = &inv.order_reference {
        x.open("cac:OrderReference", &[]).leaf("cbc:ID", order).close();
    }
    if let Some(preceding) = &inv.preceding_invoice {
        x.open("cac:BillingReference", &[]).open("cac:InvoiceDocumentReference", &[]).leaf("cbc:ID", preceding);
        x.close().close();
    }
    if let Some(contract) = &inv.contract_reference {
        x.open("cac:ContractDocumentReference", &[]).leaf("cbc:ID", contract).close();
    }
    let creditor_id = inv.payment.as_ref().and_then(|p| p.creditor_id.as_deref());
    x.open("cac:AccountingSupplierParty", &[]);
    party(&mut x, &inv.seller, true, creditor_id);
    x.close();
    x.open("cac:AccountingCustomerParty", &[]);
    party(&mut x, &inv.buyer, false, None);
    x.close();
    if let Some(payee) = &inv.payee {
        x.open("cac:PayeeParty", &[]).open("cac:PartyName", &[]).leaf("cbc:Name", payee).close().close();
    }
    if let Some(d) = &inv.delivery {
        delivery(&mut x, d);
    }
    if let Some(p) = &inv.payment {
        payment_means(&mut x, p, inv.is_credit_note().then_some(inv.due_date.as_deref()).flatten());
    }
    if let Some(terms) = &inv.payment_terms {
        x.open("cac:PaymentTerms", &[]).leaf("cbc:Note", terms).close();
    }
    for ac in &inv.allowances_charges {
        adjustment(&mut x, &ac.adjustment, cur);
        tax_category(&mut x, "cac:TaxCategory", &ac.category, ac.rate, None);
        x.close();
    }
    let t = &inv.totals;
    x.open("cac:TaxTotal", &[]);
    amount(&mut x, "cbc:TaxAmount", t.vat);
    for v in &inv.vat {
        x.open("cac:TaxSubtotal", &[]);
        amount(&mut x, "cbc:TaxableAmount", v.base);
        amount(&mut x, "cbc:TaxAmount", v.amount);
        let exemption = (v.exemption_code.as_deref(), v.exemption_reason.as_deref());
        tax_category(&mut x, "cac:TaxCategory", &v.category, Some(v.rate), Some(exemption));
        x.close();
    }
    x.close();
    x.open("cac:LegalMonetaryTotal", &[]);
    amount(&mut x, "cbc:LineExtensionAmount", t.lines);
    amount(&mut x, "cbc:TaxExclusiveAmount", t.net);
    amount(&mut x, "cbc:TaxInclusiveAmount", t.gross);
    if let Some(a) = t.allowances {
        amount(&mut x, "cbc:AllowanceTotalAmount", a);
    }
    if let Some(c) = t.charges {
        amount(&mut x, "cbc:ChargeTotalAmount", c);
    }
    if let Some(p) = t.prepaid {
        amount(&mut x, "cbc:PrepaidAmount", p);
    }
    if let Some(r) = t.rounding {
        amount(&mut x, "cbc:PayableRoundingAmount", r);
    }
    amount(&mut x, "cbc:PayableAmount", t.payable);
    x.close();
    for line in &inv.lines {
        x.open(line_tag, &[]).leaf("cbc:ID", &line.id);
        x.maybe("cbc:Note", line.note.as_deref());
        x.leaf_with(quantity_tag, &[("unitCode", &line.unit_code)], &number(line.quantity));
        amount(&mut x, "cbc:LineExtensionAmount", line.net);
        period(&mut x, &line.period);
        for ac in &line.allowances_charges {
            adjustment(&mut x, ac, cur).close();
        }
        x.open("cac:Item", &[]).maybe("cbc:Description", line.description.as_deref()).leaf("cbc:Name", &line.name);
        if let Some(id) = &line.item_id {
            x.open("cac:SellersItemIdentification", &[]).leaf("cbc:ID", id).close();
        }
        tax_category(&mut x, "cac:ClassifiedTaxCategory", &line.category, line.rate, None);
        x.close();
        x.open("cac:Price", &[]);
        amount(&mut x, "cbc:PriceAmount", line.price);
        if let Some(base) = line.base_quantity {
            x.leaf_with("cbc:BaseQuantity", &[("unitCode", &line.unit_code)], &number(base));
        }
        if let Some((gross, discount)) = line.gross_price {
            x.open("cac:AllowanceCharge", &[]).leaf("cbc:ChargeIndicator", "false");
            amount(&mut x, "cbc:Amount", discount.unwrap_or(Amount::ZERO));
            amount(&mut x, "cbc:BaseAmount", gross);
            x.close();
        }
        x.close();
        x.close();
    }
    x.close();
    x.finish()
}

/// Opens a `cac:AllowanceCharge` with what every allowance or charge states;
/// a document-level one adds its tax category before closing.
fn adjustment<'x>(x: &'x mut Xml, a: &Adjustment, currency: &str) -> &'x mut Xml {
    x.open("cac:AllowanceCharge", &[]).leaf("cbc:ChargeIndicator", if a.charge { "true" } else { "false" });
    x.maybe("cbc:AllowanceChargeReasonCode", a.reason_code.as_deref());
    x.maybe("cbc:AllowanceChargeReason", a.reason.as_deref());
    x.leaf_with("cbc:Amount", &[("currencyID", currency)], &money(a.amount))
}

fn period(x: &mut Xml, (start, end): &(Option<String>, Option<String>)) {
    if start.is_none() && end.is_none() {
        return;
    }
    x.open("cac:InvoicePeriod", &[]).maybe("cbc:StartDate", start.as_deref()).maybe("cbc:EndDate", end.as_deref());
    x.close();
}

fn tax_category(
    x: &mut Xml,
    tag: &'static str,
    category: &str,
    rate: Option<Amount>,
    exemption: Option<(Option<&str>, Option<&str>)>,
) {
    x.open(tag, &[]).leaf("cbc:ID", category);
    if let Some(rate) = rate.filter(|_| category != "O") {
        x.leaf("cbc:Percent", &number(rate));
    }
    if let Some((code, reason)) = exemption {
        x.maybe("cbc:TaxExemptionReasonCode", code).maybe("cbc:TaxExemptionReason", reason);
    }
    x.open("cac:TaxScheme", &[]).leaf("cbc:ID", "VAT").close();
    x.close();
}

fn party(x: &mut Xml, p: &Party, seller: bool, creditor_id: Option<&str>) {
    x.open("cac:Party", &[]);
    if let Some((address, scheme)) = &p.electronic_address {
        x.leaf_with("cbc:EndpointID", &[("schemeID", scheme)], address);
    }
    if let Some(id) = &p.id {
        x.open("cac:PartyIdentification", &[]).leaf("cbc:ID", id).close();
    }
    if let Some(creditor) = creditor_id {
        x.open("cac:PartyIdentification", &[]).leaf_with("cbc:ID", &[("schemeID", "SEPA")], creditor).close();
    }
    if let Some(trading) = &p.trading_name {
        x.open("cac:PartyName", &[]).leaf("cbc:Name", trading).close();
    }
    postal_address(x, "cac:PostalAddress", &p.address);
    if let Some(vat) = &p.vat_id {
        x.open("cac:PartyTaxScheme", &[]).leaf("cbc:CompanyID", vat);
        x.open("cac:TaxScheme", &[]).leaf("cbc:ID", "VAT").close().close();
    }
    if let Some(local) = p.tax_registration.as_ref().filter(|_| seller) {
        x.open("cac:PartyTaxScheme", &[]).leaf("cbc:CompanyID", local);
        x.open("cac:TaxScheme", &[]).leaf("cbc:ID", "LOC").close().close();
    }
    x.open("cac:PartyLegalEntity", &[]).leaf("cbc:RegistrationName", &p.name);
    if let Some(legal) = &p.legal_id {
        match &p.legal_id_scheme {
            Some(scheme) => x.leaf_with("cbc:CompanyID", &[("schemeID", scheme)], legal),
            None => x.leaf("cbc:CompanyID", legal),
        };
    }
    if seller {
        x.maybe("cbc:CompanyLegalForm", p.legal_info.as_deref());
    }
    x.close();
    if let Some((name, phone, email)) = &p.contact {
        x.open("cac:Contact", &[]).maybe("cbc:Name", name.as_deref()).maybe("cbc:Telephone", phone.as_deref());
        x.maybe("cbc:ElectronicMail", email.as_deref()).close();
    }
    x.close();
}

fn postal_address(x: &mut Xml, tag: &'static str, a: &Address) {
    x.open(tag, &[]);
    x.maybe("cbc:StreetName", a.street.as_deref())
        .maybe("cbc:AdditionalStreetName", a.lines.first().map(String::as_str));
    x.maybe("cbc:CityName", a.city.as_deref()).maybe("cbc:PostalZone", a.postcode.as_deref());
    x.maybe("cbc:CountrySubentity", a.region.as_deref());
    if let Some(third) = a.lines.get(1) {
        x.open("cac:AddressLine", &[]).leaf("cbc:Line", third).close();
    }
    x.open("cac:Country", &[]).leaf("cbc:IdentificationCode", &a.country).close();
    x.close();
}

fn delivery(x: &mut Xml, d: &Delivery) {
    x.open("cac:Delivery", &[]).maybe("cbc:ActualDeliveryDate", d.date.as_deref());
    if d.location_id.is_some() || d.address.is_some() {
        x.open("cac:DeliveryLocation", &[]).maybe("cbc:ID", d.location_id.as_deref());
        if let Some(address) = &d.address {
            postal_address(x, "cac:Address", address);
        }
        x.close();
    }
    if let Some(name) = &d.name {
        x.open("cac:DeliveryParty", &[]).open("cac:PartyName", &[]).leaf("cbc:Name", name).close().close();
    }
    x.close();
}

fn payment_means(x: &mut Xml, p: &Payment, due_date: Option<&str>) {
    x.open("cac:PaymentMeans", &[]).leaf("cbc:PaymentMeansCode", &p.means_code);
    x.maybe("cbc:PaymentDueDate", due_date);
    x.maybe("cbc:PaymentID", p.remittance.as_deref());
    if let Some((account, _)) = p.account.as_ref().filter(|_| !matches!(p.means_code.as_str(), "49" | "59")) {
        x.open("cac:PayeeFinancialAccount", &[]).leaf("cbc:ID", account);
        x.maybe("cbc:Name", p.account_name.as_deref());
        if let Some(bic) = &p.bic {
            x.open("cac:FinancialInstitutionBranch", &[]).leaf("cbc:ID", bic).close();
        }
        x.close();
    }
    if p.mandate.is_some() || p.debited_account.is_some() {
        x.open("cac:PaymentMandate", &[]).maybe("cbc:ID", p.mandate.as_deref());
        if let Some(debited) = &p.debited_account {
            x.open("cac:PayerFinancialAccount", &[]).leaf("cbc:ID", debited).close();
        }
        x.close();
    }
    x.close();
}
