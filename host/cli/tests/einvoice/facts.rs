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
    }
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
    }
}
