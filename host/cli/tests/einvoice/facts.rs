//! The figures and parties an e-invoice states, read alike from UBL and CII,
//! so a source and what tessera wrote from it can be compared term by term.

use roxmltree::{Document, Node};

/// What must survive a translation in and a formatting out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// BT-1, BT-2 (YYYY-MM-DD), BT-5.
    pub number: String,
    pub issue_date: String,
    pub currency: String,
    /// BT-27 / BT-31 / BT-40 and BT-44 / BT-55.
    pub seller: (String, Option<String>, String),
    pub buyer: (String, String),
    /// BT-131 of every line, in order.
    pub line_nets: Vec<String>,
    /// BT-106, BT-109, BT-110, BT-112, BT-115.
    pub totals: [String; 5],
    /// (BT-118, BT-119, BT-116, BT-117) of every VAT breakdown, sorted.
    pub vat: Vec<(String, String, String, String)>,
    /// Every line's details beyond its net amount, in order.
    pub lines: Vec<LineFacts>,
    /// BT-72, BT-70, BT-80 (empty when the invoice names no delivery).
    pub delivery: (String, String, String),
}

/// A line's item description, price and allowances or charges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFacts {
    /// BT-154.
    pub description: String,
    /// BT-146, BT-147 (empty when none or zero), BT-149.
    pub price: (String, String, String),
    /// (charge?, BT-136/141, BT-139/144, BT-140/145) of each, in order.
    pub allowances_charges: Vec<(bool, String, String, String)>,
}

/// Which of the details beyond the totals a set of invoices stated at all.
#[derive(Debug, Default)]
pub struct Seen {
    descriptions: bool,
    discounts: bool,
    base_quantities: bool,
    line_allowances: bool,
    line_charges: bool,
    deliveries: bool,
}

impl Seen {
    pub fn note(&mut self, f: &Facts) {
        for l in &f.lines {
            self.descriptions |= !l.description.is_empty();
            self.discounts |= !l.price.1.is_empty();
            self.base_quantities |= !l.price.2.is_empty();
            self.line_allowances |= l.allowances_charges.iter().any(|a| !a.0);
            self.line_charges |= l.allowances_charges.iter().any(|a| a.0);
        }
        self.deliveries |= !f.delivery.0.is_empty() && !f.delivery.1.is_empty();
    }

    pub fn all(&self) -> bool {
        self.descriptions
            && self.discounts
            && self.base_quantities
            && self.line_allowances
            && self.line_charges
            && self.deliveries
    }
}

/// A price discount of zero is no discount.
fn discount(amount: &str) -> String {
    let a = canonical(amount);
    if a == "0" { String::new() } else { a }
}

/// A decimal without trailing zeros: `19.90` and `19.9` are the same amount.
fn canonical(amount: &str) -> String {
    let a = amount.trim();
    if !a.contains('.') {
        return a.to_owned();
    }
    a.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn local<'a, 'i>(node: Node<'a, 'i>, path: &str) -> Option<Node<'a, 'i>> {
    path.split('/').try_fold(node, |cur, step| cur.children().find(|c| c.is_element() && c.tag_name().name() == step))
}

fn text(node: Node<'_, '_>, path: &str) -> String {
    local(node, path).and_then(|n| n.text()).map(|t| t.trim().to_owned()).unwrap_or_default()
}

fn all<'a, 'i>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// Reads either syntax.
pub fn read(xml: &str) -> Facts {
    let doc = Document::parse(xml).expect("an e-invoice is XML");
    let root = doc.root_element();
    if root.tag_name().name() == "CrossIndustryInvoice" { cii(root) } else { ubl(root) }
}

fn ubl(root: Node<'_, '_>) -> Facts {
    let seller = local(root, "AccountingSupplierParty/Party").unwrap();
    let buyer = local(root, "AccountingCustomerParty/Party").unwrap();
    let party_name = |p: Node<'_, '_>| {
        let legal = text(p, "PartyLegalEntity/RegistrationName");
        if legal.is_empty() { text(p, "PartyName/Name") } else { legal }
    };
    let vat_id =
        all(seller, "PartyTaxScheme").find(|t| text(*t, "TaxScheme/ID") == "VAT").map(|t| text(t, "CompanyID"));
    let line = if root.tag_name().name() == "CreditNote" { "CreditNoteLine" } else { "InvoiceLine" };
    let money = local(root, "LegalMonetaryTotal").unwrap();
    let currency = text(root, "DocumentCurrencyCode");
    let tax_total = all(root, "TaxTotal")
        .find(|t| local(*t, "TaxAmount").and_then(|a| a.attribute("currencyID")) == Some(currency.as_str()))
        .unwrap();
    let mut vat: Vec<_> = all(tax_total, "TaxSubtotal")
        .map(|s| {
            (
                text(s, "TaxCategory/ID"),
                canonical(&text(s, "TaxCategory/Percent")),
                canonical(&text(s, "TaxableAmount")),
                canonical(&text(s, "TaxAmount")),
            )
        })
        .collect();
    vat.sort();
    Facts {
        number: text(root, "ID"),
        issue_date: text(root, "IssueDate"),
        currency,
        seller: (party_name(seller), vat_id, text(seller, "PostalAddress/Country/IdentificationCode")),
        buyer: (party_name(buyer), text(buyer, "PostalAddress/Country/IdentificationCode")),
        line_nets: all(root, line).map(|l| canonical(&text(l, "LineExtensionAmount"))).collect(),
        totals: [
            canonical(&text(money, "LineExtensionAmount")),
            canonical(&text(money, "TaxExclusiveAmount")),
            canonical(&text(tax_total, "TaxAmount")),
            canonical(&text(money, "TaxInclusiveAmount")),
            canonical(&text(money, "PayableAmount")),
        ],
        vat,
        lines: all(root, line)
            .map(|l| LineFacts {
                description: text(l, "Item/Description"),
                price: (
                    canonical(&text(l, "Price/PriceAmount")),
                    discount(&text(l, "Price/AllowanceCharge/Amount")),
                    canonical(&text(l, "Price/BaseQuantity")),
                ),
                allowances_charges: all(l, "AllowanceCharge")
                    .map(|a| {
                        (
                            text(a, "ChargeIndicator") == "true",
                            canonical(&text(a, "Amount")),
                            text(a, "AllowanceChargeReason"),
                            text(a, "AllowanceChargeReasonCode"),
                        )
                    })
                    .collect(),
            })
            .collect(),
        delivery: local(root, "Delivery").map_or_else(Default::default, |d| {
            (
                text(d, "ActualDeliveryDate"),
                text(d, "DeliveryParty/PartyName/Name"),
                text(d, "DeliveryLocation/Address/Country/IdentificationCode"),
            )
        }),
    }
}

/// A CII date (format 102) as YYYY-MM-DD; empty stays empty.
fn date102(date: &str) -> String {
    if date.len() == 8 { format!("{}-{}-{}", &date[..4], &date[4..6], &date[6..8]) } else { date.to_owned() }
}

fn cii(root: Node<'_, '_>) -> Facts {
    let t = local(root, "SupplyChainTradeTransaction").unwrap();
    let seller = local(t, "ApplicableHeaderTradeAgreement/SellerTradeParty").unwrap();
    let buyer = local(t, "ApplicableHeaderTradeAgreement/BuyerTradeParty").unwrap();
    let settlement = local(t, "ApplicableHeaderTradeSettlement").unwrap();
    let sums = local(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation").unwrap();
    let currency = text(settlement, "InvoiceCurrencyCode");
    let vat_id = all(seller, "SpecifiedTaxRegistration")
        .filter_map(|r| local(r, "ID"))
        .find(|id| id.attribute("schemeID") == Some("VA"))
        .and_then(|id| id.text())
        .map(|s| s.trim().to_owned());
    let date = text(root, "ExchangedDocument/IssueDateTime/DateTimeString");
    let tax_total = all(sums, "TaxTotalAmount")
        .find(|a| a.attribute("currencyID").is_none_or(|c| c == currency))
        .and_then(|a| a.text())
        .map(canonical)
        .unwrap_or_default();
    let mut vat: Vec<_> = all(settlement, "ApplicableTradeTax")
        .map(|s| {
            (
                text(s, "CategoryCode"),
                canonical(&text(s, "RateApplicablePercent")),
                canonical(&text(s, "BasisAmount")),
                canonical(&text(s, "CalculatedAmount")),
            )
        })
        .collect();
    vat.sort();
    Facts {
        number: text(root, "ExchangedDocument/ID"),
        issue_date: format!("{}-{}-{}", &date[..4], &date[4..6], &date[6..8]),
        currency,
        seller: (text(seller, "Name"), vat_id, text(seller, "PostalTradeAddress/CountryID")),
        buyer: (text(buyer, "Name"), text(buyer, "PostalTradeAddress/CountryID")),
        line_nets: all(t, "IncludedSupplyChainTradeLineItem")
            .map(|l| {
                canonical(&text(
                    l,
                    "SpecifiedLineTradeSettlement/SpecifiedTradeSettlementLineMonetarySummation/LineTotalAmount",
                ))
            })
            .collect(),
        totals: [
            canonical(&text(sums, "LineTotalAmount")),
            canonical(&text(sums, "TaxBasisTotalAmount")),
            tax_total,
            canonical(&text(sums, "GrandTotalAmount")),
            canonical(&text(sums, "DuePayableAmount")),
        ],
        vat,
        lines: all(t, "IncludedSupplyChainTradeLineItem")
            .map(|l| {
                let agreement = local(l, "SpecifiedLineTradeAgreement").unwrap();
                let mut base = text(agreement, "NetPriceProductTradePrice/BasisQuantity");
                if base.is_empty() {
                    base = text(agreement, "GrossPriceProductTradePrice/BasisQuantity");
                }
                LineFacts {
                    description: text(l, "SpecifiedTradeProduct/Description"),
                    price: (
                        canonical(&text(agreement, "NetPriceProductTradePrice/ChargeAmount")),
                        discount(&text(
                            agreement,
                            "GrossPriceProductTradePrice/AppliedTradeAllowanceCharge/ActualAmount",
                        )),
                        canonical(&base),
                    ),
                    allowances_charges: local(l, "SpecifiedLineTradeSettlement")
                        .into_iter()
                        .flat_map(|s| all(s, "SpecifiedTradeAllowanceCharge"))
                        .map(|a| {
                            (
                                text(a, "ChargeIndicator/Indicator") == "true",
                                canonical(&text(a, "ActualAmount")),
                                text(a, "Reason"),
                                text(a, "ReasonCode"),
                            )
                        })
                        .collect(),
                }
            })
            .collect(),
        delivery: local(t, "ApplicableHeaderTradeDelivery").map_or_else(Default::default, |d| {
            (
                date102(&text(d, "ActualDeliverySupplyChainEvent/OccurrenceDateTime/DateTimeString")),
                text(d, "ShipToTradeParty/Name"),
                text(d, "ShipToTradeParty/PostalTradeAddress/CountryID"),
            )
        }),
    }
}
