//! The EN 16931 business terms the model reads, with where each comes from
//! in a CDM record. Rejections quote this table (term, name, path), and
//! `docs/einvoice.md` prints it — a test there keeps the two the same.

/// One business term: its id, its name in the standard, and the CDM path
/// (several joined by `, else`, in the order they are tried; `meta:` names the
/// channel metadata the host fills from the brand label or its settlement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    /// `BT-31`.
    pub id: &'static str,
    /// `Seller VAT identifier`.
    pub name: &'static str,
    /// `$.content.supplier.vat_id, else meta:seller.vat_id`.
    pub cdm: &'static str,
    /// Whether EN 16931 requires it in every invoice (cardinality 1..).
    pub required: bool,
}

const fn t(id: &'static str, name: &'static str, cdm: &'static str, required: bool) -> Term {
    Term { id, name, cdm, required }
}

/// Every term the formatters write.
pub const TERMS: &[Term] = &[
    t("BT-1", "Invoice number", "$.content.invoice.number, else $.reference.document_id", true),
    t("BT-2", "Invoice issue date", "$.content.invoice.date", true),
    t("BT-3", "Invoice type code", "$.content.invoice.type_code, else $.reference.document_type", true),
    t("BT-5", "Invoice currency code", "$.content.invoice.currency", true),
    t("BT-7", "Value added tax point date", "$.content.invoice.tax_point_date", false),
    t("BT-9", "Payment due date", "$.content.invoice.due_date, else $.content.payment.due_date", false),
    t("BT-10", "Buyer reference", "$.content.invoice.buyer_reference", false),
    t("BT-12", "Contract reference", "$.content.invoice.contract_reference", false),
    t("BT-13", "Purchase order reference", "$.content.invoice.order_reference", false),
    t("BT-20", "Payment terms", "$.content.invoice.payment_terms", false),
    t("BT-22", "Invoice note", "$.content.invoice.note", false),
    t("BT-25", "Preceding Invoice reference", "$.content.invoice.preceding_invoice", false),
    t("BT-27", "Seller name", "$.content.supplier.name, else meta:seller.name", true),
    t("BT-29", "Seller identifier", "$.content.supplier.id", false),
    t("BT-30", "Seller legal registration identifier", "$.content.supplier.legal_id", false),
    t("BT-31", "Seller VAT identifier", "$.content.supplier.vat_id, else meta:seller.vat_id", false),
    t("BT-32", "Seller tax registration identifier", "$.content.supplier.tax_registration", false),
    t("BT-34", "Seller electronic address", "$.content.supplier.electronic_address", false),
    t("BT-35", "Seller address line 1", "$.content.supplier.address.street, else meta:seller.street", false),
    t("BT-37", "Seller city", "$.content.supplier.address.city, else meta:seller.city", false),
    t("BT-38", "Seller post code", "$.content.supplier.address.postcode, else meta:seller.postcode", false),
    t("BT-40", "Seller country code", "$.content.supplier.address.country, else meta:seller.country", true),
    t("BT-44", "Buyer name", "$.content.buyer.name, else $.personal.company, else $.personal.last_name", true),
    t("BT-46", "Buyer identifier", "$.content.buyer.id, else $.reference.customer_ref", false),
    t("BT-47", "Buyer legal registration identifier", "$.content.buyer.legal_id", false),
    t("BT-48", "Buyer VAT identifier", "$.content.buyer.vat_id", false),
    t("BT-49", "Buyer electronic address", "$.content.buyer.electronic_address", false),
    t("BT-50", "Buyer address line 1", "$.content.buyer.address.street, else $.address.street", false),
    t("BT-52", "Buyer city", "$.content.buyer.address.city, else $.address.city", false),
    t("BT-53", "Buyer post code", "$.content.buyer.address.postcode, else $.address.postcode", false),
    t("BT-55", "Buyer country code", "$.content.buyer.address.country, else $.address.country", true),
    t("BT-59", "Payee name", "$.content.payment.payee, else meta:payee.creditor (when not the seller)", false),
    t("BT-70", "Deliver to party name", "$.content.delivery.name", false),
    t("BT-71", "Deliver to location identifier", "$.content.delivery.location_id", false),
    t("BT-72", "Actual delivery date", "$.content.delivery.date", false),
    t("BT-73", "Invoicing period start date", "$.content.invoice.period_start", false),
    t("BT-74", "Invoicing period end date", "$.content.invoice.period_end", false),
    t("BT-75", "Deliver to address line 1", "$.content.delivery.address.street", false),
    t("BT-77", "Deliver to city", "$.content.delivery.address.city", false),
    t("BT-78", "Deliver to post code", "$.content.delivery.address.postcode", false),
    t("BT-80", "Deliver to country code", "$.content.delivery.address.country", false),
    t("BT-81", "Payment means type code", "$.content.payment.means_code, else $.content.payment.means", false),
    t(
        "BT-83",
        "Remittance information",
        "$.content.payment.reference, else $.content.invoice.payment_reference",
        false,
    ),
    t("BT-84", "Payment account identifier", "meta:payee.iban, else meta:payee.account (the letter's account)", false),
    t("BT-86", "Payment service provider identifier", "meta:payee.bic", false),
    t("BT-89", "Mandate reference identifier", "$.content.payment.mandate", false),
    t("BT-90", "Bank assigned creditor identifier", "$.content.payment.creditor_id", false),
    t("BT-91", "Debited account identifier", "$.content.payment.debited_account", false),
    t("BT-92", "Document level allowance amount", "$.content.allowances_charges[charge=false].amount", false),
    t("BT-95", "Document level allowance VAT category code", "$.content.allowances_charges[].vat_category", false),
    t("BT-96", "Document level allowance VAT rate", "$.content.allowances_charges[].vat_rate", false),
    t("BT-97", "Document level allowance reason", "$.content.allowances_charges[].reason", false),
    t("BT-99", "Document level charge amount", "$.content.allowances_charges[charge=true].amount", false),
    t("BT-102", "Document level charge VAT category code", "$.content.allowances_charges[].vat_category", false),
    t("BT-103", "Document level charge VAT rate", "$.content.allowances_charges[].vat_rate", false),
    t("BT-104", "Document level charge reason", "$.content.allowances_charges[].reason", false),
    t("BT-106", "Sum of Invoice line net amount", "Σ $.content.lines[].net", true),
    t("BT-107", "Sum of allowances on document level", "$.content.totals.allowances", false),
    t("BT-108", "Sum of charges on document level", "$.content.totals.charges", false),
    t("BT-109", "Invoice total amount without VAT", "$.content.totals.net", true),
    t("BT-110", "Invoice total VAT amount", "$.content.totals.vat", false),
    t("BT-112", "Invoice total amount with VAT", "$.content.totals.gross", true),
    t("BT-113", "Paid amount", "$.content.totals.prepaid", false),
    t("BT-114", "Rounding amount", "$.content.totals.rounding", false),
    t("BT-115", "Amount due for payment", "$.content.totals.payable, else $.content.totals.gross", true),
    t("BT-116", "VAT category taxable amount", "$.content.vat[].base", true),
    t("BT-117", "VAT category tax amount", "$.content.vat[].amount", true),
    t("BT-118", "VAT category code", "$.content.vat[].category", true),
    t("BT-119", "VAT category rate", "$.content.vat[].rate", false),
    t("BT-120", "VAT exemption reason text", "$.content.vat[].exemption_reason", false),
    t("BT-121", "VAT exemption reason code", "$.content.vat[].exemption_code", false),
    t("BT-126", "Invoice line identifier", "$.content.lines[].id", true),
    t("BT-129", "Invoiced quantity", "$.content.lines[].quantity", true),
    t(
        "BT-130",
        "Invoiced quantity unit of measure code",
        "$.content.lines[].unit_code, else $.content.lines[].unit",
        true,
    ),
    t("BT-131", "Invoice line net amount", "$.content.lines[].net", true),
    t("BT-134", "Invoice line period start date", "$.content.lines[].period_start", false),
    t("BT-135", "Invoice line period end date", "$.content.lines[].period_end", false),
    t("BT-136", "Invoice line allowance amount", "$.content.lines[].allowances_charges[charge=false].amount", false),
    t("BT-139", "Invoice line allowance reason", "$.content.lines[].allowances_charges[].reason", false),
    t("BT-140", "Invoice line allowance reason code", "$.content.lines[].allowances_charges[].reason_code", false),
    t("BT-141", "Invoice line charge amount", "$.content.lines[].allowances_charges[charge=true].amount", false),
    t("BT-144", "Invoice line charge reason", "$.content.lines[].allowances_charges[].reason", false),
    t("BT-145", "Invoice line charge reason code", "$.content.lines[].allowances_charges[].reason_code", false),
    t("BT-146", "Item net price", "$.content.lines[].unit_price, else net ÷ quantity", true),
    t("BT-147", "Item price discount", "$.content.lines[].price_discount", false),
    t("BT-148", "Item gross price", "$.content.lines[].gross_price", false),
    t("BT-149", "Item price base quantity", "$.content.lines[].price_base_quantity", false),
    t("BT-151", "Invoiced item VAT category code", "$.content.lines[].vat_category", true),
    t("BT-152", "Invoiced item VAT rate", "$.content.lines[].vat_rate", false),
    t("BT-153", "Item name", "$.content.lines[].description", true),
    t("BT-154", "Item description", "$.content.lines[].item_description", false),
    t("BT-155", "Item Seller's identifier", "$.content.lines[].item_id", false),
];

/// A term by id; the table has every id the model names.
pub fn term(id: &str) -> &'static Term {
    TERMS.iter().find(|t| t.id == id).unwrap_or_else(|| panic!("{id} is not in the terms table"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/einvoice.md` prints this table; a term added or changed here
    /// must be there too, as the rejections users read quote it.
    #[test]
    fn the_docs_show_this_table() {
        let docs = include_str!("../../../../docs/einvoice.md");
        for term in TERMS {
            let row = format!(
                "| {} | {} | `{}` | {} |",
                term.id,
                term.name,
                term.cdm,
                if term.required { "yes" } else { "" }
            );
            assert!(docs.contains(&row), "docs/einvoice.md lacks the row\n{row}");
        }
    }

    /// Every term the model or a formatter names is in the table: `term()`
    /// of one that is not would trap the plugin instead of refusing the
    /// record (BT-96/102/103/104 were missing once).
    #[test]
    fn every_term_the_code_names_is_in_the_table() {
        let sources = [
            include_str!("model.rs"),
            include_str!("../../../formatters/ubl-invoice-out/src/ubl.rs"),
            include_str!("../../../formatters/cii-invoice-out/src/cii.rs"),
        ];
        for source in sources {
            for (at, _) in source.match_indices("\"BT-") {
                let digits: String = source[at + 4..].chars().take_while(char::is_ascii_digit).collect();
                let id = format!("BT-{digits}");
                assert!(TERMS.iter().any(|t| t.id == id), "{id} is named in code but not in TERMS");
            }
        }
    }

    #[test]
    fn ids_are_unique_and_well_formed() {
        for (i, a) in TERMS.iter().enumerate() {
            assert!(a.id.starts_with("BT-") && a.id[3..].parse::<u32>().is_ok(), "{}", a.id);
            assert!(TERMS[i + 1..].iter().all(|b| b.id != a.id), "{} twice", a.id);
        }
    }
}
