//! The self-check of e-invoices (CII or UBL XML, from a channel or attached
//! to a Factur-X PDF): the terms a reader pays by are read back from the XML
//! a formatter plugin wrote and compared, exactly, with the host's own
//! settlement of the record — the invoice number (BT-1), the currency
//! (BT-5), the amount due (BT-115, positive on a credit note) and, when
//! something is to be paid and the invoice names a payee account, that
//! account (BT-84). An e-invoice that
//! says otherwise than its record is a rejection, like a letter that does.

use super::Contradiction;
use crate::truth::settlement::{Direction, Settlement};
use roxmltree::{Document, Node};
use tessera_cdm::{CdmRecord, Dec};

/// The terms read back from an e-invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    /// BT-1.
    pub number: String,
    /// BT-5.
    pub currency: String,
    /// BT-115, as written.
    pub payable: String,
    /// BT-84 of the first payment means, white space removed.
    pub account: Option<String>,
}

fn child<'a, 'i>(node: Node<'a, 'i>, path: &str) -> Option<Node<'a, 'i>> {
    path.split('/').try_fold(node, |cur, step| cur.children().find(|c| c.is_element() && c.tag_name().name() == step))
}

fn text(node: Node<'_, '_>, path: &str) -> Option<String> {
    child(node, path).and_then(|n| n.text()).map(|t| t.trim().to_owned())
}

/// The terms of a CII or UBL invoice; `None` when the XML is neither.
pub fn read(xml: &[u8]) -> Option<Result<Terms, String>> {
    let text_of = std::str::from_utf8(xml).ok()?;
    let doc = match Document::parse(text_of) {
        Ok(doc) => doc,
        Err(e) => return Some(Err(format!("is not well-formed XML ({e})"))),
    };
    let root = doc.root_element();
    let terms = match root.tag_name().name() {
        "CrossIndustryInvoice" => {
            let settlement = child(root, "SupplyChainTradeTransaction/ApplicableHeaderTradeSettlement");
            let means = settlement.and_then(|s| child(s, "SpecifiedTradeSettlementPaymentMeans"));
            Terms {
                number: text(root, "ExchangedDocument/ID").unwrap_or_default(),
                currency: settlement.and_then(|s| text(s, "InvoiceCurrencyCode")).unwrap_or_default(),
                payable: settlement
                    .and_then(|s| text(s, "SpecifiedTradeSettlementHeaderMonetarySummation/DuePayableAmount"))
                    .unwrap_or_default(),
                account: means.and_then(|m| {
                    text(m, "PayeePartyCreditorFinancialAccount/IBANID")
                        .or_else(|| text(m, "PayeePartyCreditorFinancialAccount/ProprietaryID"))
                }),
            }
        }
        "Invoice" | "CreditNote" => Terms {
            number: text(root, "ID").unwrap_or_default(),
            currency: text(root, "DocumentCurrencyCode").unwrap_or_default(),
            payable: text(root, "LegalMonetaryTotal/PayableAmount").unwrap_or_default(),
            account: text(root, "PaymentMeans/PayeeFinancialAccount/ID"),
        },
        _ => return None,
    };
    Some(Ok(Terms { account: terms.account.map(|a| a.split_whitespace().collect()), ..terms }))
}

/// Checks an e-invoice against the record and the host's settlement of it;
/// XML that is no CII or UBL invoice is not this check's business.
pub fn check(
    output: &str,
    xml: &[u8],
    record: &CdmRecord,
    settlement: Option<&Settlement>,
) -> Result<(), Contradiction> {
    let Some(terms) = read(xml) else { return Ok(()) };
    let wrong = |problem: String| Contradiction { output: output.to_owned(), problem, fact: None };
    let terms = terms.map_err(wrong)?;
    let number = record.value["content"]["invoice"]["number"].as_str().unwrap_or(&record.document_id);
    if terms.number != number.trim() {
        return Err(wrong("states another invoice number (BT-1) than its record".into()));
    }
    let Some(settlement) = settlement else { return Ok(()) };
    let chain = &settlement.chain;
    if terms.currency != chain.currency {
        return Err(wrong("states another currency (BT-5) than its record".into()));
    }
    let due = Dec::parse(&terms.payable).map(Dec::abs);
    if due != Some(chain.payable.abs()) {
        return Err(wrong(format!(
            "states an amount due (BT-115) of {} where its record says {}",
            terms.payable,
            chain.payable.abs().money()
        )));
    }
    if settlement.direction == Direction::Pay
        && let Some(payee) = &settlement.payee
        && let Some(account) = payee.iban.as_ref().or(payee.account.as_ref())
    {
        // A direct debit names the buyer's account, not a payee's: only an
        // account the invoice does name must be the letter's.
        let own: String = account.split_whitespace().collect();
        if terms.account.as_deref().is_some_and(|named| named != own) {
            return Err(wrong("names another payment account (BT-84) than the letter".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_syntaxes() {
        let cii = br#"<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" xmlns:ram="urn:ram">
<rsm:ExchangedDocument><ram:ID>INV-1</ram:ID></rsm:ExchangedDocument><rsm:SupplyChainTradeTransaction><ram:ApplicableHeaderTradeSettlement>
<ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode><ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>58</ram:TypeCode>
<ram:PayeePartyCreditorFinancialAccount><ram:IBANID>NL91 ABNA 0417 1643 00</ram:IBANID></ram:PayeePartyCreditorFinancialAccount></ram:SpecifiedTradeSettlementPaymentMeans>
<ram:SpecifiedTradeSettlementHeaderMonetarySummation><ram:DuePayableAmount>12.10</ram:DuePayableAmount></ram:SpecifiedTradeSettlementHeaderMonetarySummation>
</ram:ApplicableHeaderTradeSettlement></rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>"#;
        let t = read(cii).unwrap().unwrap();
        assert_eq!((t.number.as_str(), t.currency.as_str(), t.payable.as_str()), ("INV-1", "EUR", "12.10"));
        assert_eq!(t.account.as_deref(), Some("NL91ABNA0417164300"));
        let ubl = br#"<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"><ID>CN-1</ID><DocumentCurrencyCode>EUR</DocumentCurrencyCode><LegalMonetaryTotal><PayableAmount>5.00</PayableAmount></LegalMonetaryTotal></CreditNote>"#;
        let t = read(ubl).unwrap().unwrap();
        assert_eq!((t.number.as_str(), t.payable.as_str(), t.account), ("CN-1", "5.00", None));
        assert!(read(b"<lines/>").is_none());
        assert!(read(b"<Invoice><ID>").unwrap().is_err());
    }

    /// A formatter that writes another amount or account than the record
    /// and its letter say is caught, not delivered.
    #[test]
    fn an_e_invoice_that_contradicts_its_record_is_refused() {
        let record = CdmRecord::parse(
            r#"{"cdm":"1.1","reference":{"customer_ref":"C-1","document_id":"INV-1","document_type":"invoice"},
            "personal":{"last_name":"Jansen"},"address":{},"production":{},"distribution":{},
            "content":{"invoice":{"number":"INV-1","date":"2026-11-01","due_date":"2026-11-30","currency":"EUR"},
              "lines":[{"description":"Power","quantity":"1","net":"10.00","vat_rate":"21"}],
              "vat":[{"category":"S","rate":"21","base":"10.00","amount":"2.10"}],
              "totals":{"net":"10.00","vat":"2.10","gross":"12.10"},
              "payment":{"amount":"12.10","currency":"EUR"}}}"#,
        )
        .unwrap();
        let toml = "name = \"ACME\"\n[colors]\nprimary = \"#000000\"\naccent = \"#ffffff\"\n[sender]\nname = \"ACME B.V.\"\n\
                    address = [\"Street 1\"]\n[payment]\ncreditor = \"ACME B.V.\"\niban = \"NL91ABNA0417164300\"\n";
        let label = tessera_content::Label::parse("acme", toml, std::path::Path::new("labels/acme.toml")).unwrap();
        let settlement = Settlement::decide(&record.value, record.chain.as_ref().unwrap(), &label);
        let ubl = |payable: &str, iban: &str| {
            format!(
                r#"<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>INV-1</ID><DocumentCurrencyCode>EUR</DocumentCurrencyCode>
                <PaymentMeans><PayeeFinancialAccount><ID>{iban}</ID></PayeeFinancialAccount></PaymentMeans>
                <LegalMonetaryTotal><PayableAmount>{payable}</PayableAmount></LegalMonetaryTotal></Invoice>"#
            )
        };
        let run = |xml: String| check("`ubl` e-invoice", xml.as_bytes(), &record, Some(&settlement));
        run(ubl("12.10", "NL91ABNA0417164300")).unwrap();
        run(ubl("12.1", "NL91 ABNA 0417 1643 00")).unwrap();
        let e = run(ubl("12.01", "NL91ABNA0417164300")).unwrap_err();
        assert!(e.problem.contains("BT-115") && e.problem.contains("12.10"), "{e}");
        let e = run(ubl("12.10", "DE89370400440532013000")).unwrap_err();
        assert!(e.problem.contains("BT-84"), "{e}");
        let e = run(ubl("12.10", "NL91ABNA0417164300").replace("<ID>INV-1</ID>", "<ID>INV-2</ID>")).unwrap_err();
        assert!(e.problem.contains("BT-1"), "{e}");
    }
}
