#!/usr/bin/env python3
"""Writes the UBL 2.1 fixtures of the truth tests (issue 16): each file is one
EN 16931 invoice or credit note shaped to exercise one rule of the totals
chain, the payee account or the self-check. The expected outcome of each is in
README.md and in host/pipeline/tests/truth.rs. Run it again after editing:
the files are committed, the script only documents how they were made."""
from decimal import Decimal as D, ROUND_HALF_UP
import pathlib

HERE = pathlib.Path(__file__).parent / "ubl"

def money(x):
    return str(D(x).quantize(D("0.01")))

def doc(name, *, root="Invoice", currency="EUR", lines, allowances=(), prepaid="0", rounding="0",
        iban="NL91 ABNA 0417 1643 00", bic=None, payee=None, break_=None, due="2026-11-30", means="58"):
    """lines: (description, qty, price, category, rate); allowances: (charge?, reason, amount, category, rate)."""
    line_name, qty_name = ("InvoiceLine", "InvoicedQuantity") if root == "Invoice" else ("CreditNoteLine", "CreditedQuantity")
    ns = "urn:oasis:names:specification:ubl:schema:xsd:%s-2" % root
    by_cat = {}
    line_xml = []
    line_total = D(0)
    for i, (desc, qty, price, cat, rate) in enumerate(lines, 1):
        net = (D(qty) * D(price)).quantize(D("0.01"), ROUND_HALF_UP)
        line_total += net
        by_cat.setdefault((cat, rate), D(0))
        by_cat[(cat, rate)] += net
        percent = f"<cbc:Percent>{rate}</cbc:Percent>" if cat not in ("O",) else ""
        line_xml.append(f"""  <cac:{line_name}><cbc:ID>{i}</cbc:ID><cbc:{qty_name} unitCode="C62">{qty}</cbc:{qty_name}><cbc:LineExtensionAmount currencyID="{currency}">{money(net)}</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>{desc}</cbc:Name><cac:ClassifiedTaxCategory><cbc:ID>{cat}</cbc:ID>{percent}<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="{currency}">{price}</cbc:PriceAmount></cac:Price></cac:{line_name}>""")
    ac_xml = []
    allow_total = charge_total = D(0)
    for charge, reason, amount, cat, rate in allowances:
        a = D(amount)
        if charge:
            charge_total += a; by_cat[(cat, rate)] = by_cat.get((cat, rate), D(0)) + a
        else:
            allow_total += a; by_cat[(cat, rate)] = by_cat.get((cat, rate), D(0)) - a
        ac_xml.append(f"""  <cac:AllowanceCharge><cbc:ChargeIndicator>{'true' if charge else 'false'}</cbc:ChargeIndicator><cbc:AllowanceChargeReason>{reason}</cbc:AllowanceChargeReason><cbc:Amount currencyID="{currency}">{money(a)}</cbc:Amount>
    <cac:TaxCategory><cbc:ID>{cat}</cbc:ID><cbc:Percent>{rate}</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory></cac:AllowanceCharge>""")
    subtotals = []
    tax_total = D(0)
    for (cat, rate), base in by_cat.items():
        tax = (base * D(rate) / 100).quantize(D("0.01"), ROUND_HALF_UP)
        tax_total += tax
        percent = f"<cbc:Percent>{rate}</cbc:Percent>" if cat != "O" else ""
        exemption = {"AE": "<cbc:TaxExemptionReason>Reverse charge</cbc:TaxExemptionReason>",
                     "Z": "", "E": "<cbc:TaxExemptionReason>Exempt</cbc:TaxExemptionReason>"}.get(cat, "")
        subtotals.append(f"""    <cac:TaxSubtotal><cbc:TaxableAmount currencyID="{currency}">{money(base)}</cbc:TaxableAmount><cbc:TaxAmount currencyID="{currency}">{money(tax)}</cbc:TaxAmount>
      <cac:TaxCategory><cbc:ID>{cat}</cbc:ID>{percent}{exemption}<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal>""")
    net = line_total - allow_total + charge_total
    gross = net + tax_total
    payable = gross - D(prepaid) + D(rounding)
    totals = {"LineExtensionAmount": line_total, "TaxExclusiveAmount": net, "TaxInclusiveAmount": gross,
              "AllowanceTotalAmount": allow_total if allowances else None,
              "ChargeTotalAmount": charge_total if allowances else None,
              "PrepaidAmount": D(prepaid) if D(prepaid) else None,
              "PayableRoundingAmount": D(rounding) if D(rounding) else None,
              "PayableAmount": payable}
    if break_:
        totals.update({k: D(v) for k, v in break_.items()})
    tot_xml = "".join(f'<cbc:{k} currencyID="{currency}">{money(v)}</cbc:{k}>' for k, v in totals.items() if v is not None)
    bic_xml = f"<cac:FinancialInstitutionBranch><cbc:ID>{bic}</cbc:ID></cac:FinancialInstitutionBranch>" if bic else ""
    payee_xml = f"<cac:PayeeParty><cac:PartyName><cbc:Name>{payee}</cbc:Name></cac:PartyName></cac:PayeeParty>" if payee else ""
    account_xml = f"<cac:PayeeFinancialAccount><cbc:ID>{iban}</cbc:ID>{bic_xml}</cac:PayeeFinancialAccount>" if iban else ""
    type_code = "<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>" if root == "Invoice" else "<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>"
    due_xml = f"<cbc:DueDate>{due}</cbc:DueDate>" if root == "Invoice" and due else ""
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- tessera truth fixture `{name}`, written by samples/truth/make_fixtures.py -->
<{root} xmlns="{ns}"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>
  <cbc:ID>TRUTH-{name.upper()}</cbc:ID><cbc:IssueDate>2026-11-01</cbc:IssueDate>{due_xml}{type_code}
  <cbc:DocumentCurrencyCode>{currency}</cbc:DocumentCurrencyCode><cbc:BuyerReference>BR-{name}</cbc:BuyerReference>
  <cac:AccountingSupplierParty><cac:Party><cac:PartyName><cbc:Name>Fjord Kraft AS</cbc:Name></cac:PartyName>
    <cac:PostalAddress><cbc:CityName>Bergen</cbc:CityName><cac:Country><cbc:IdentificationCode>NO</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
    <cac:PartyLegalEntity><cbc:RegistrationName>Fjord Kraft AS</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party><cac:PartyIdentification><cbc:ID>C-{name}</cbc:ID></cac:PartyIdentification>
    <cac:PostalAddress><cbc:StreetName>Dorpsstraat 4</cbc:StreetName><cbc:CityName>Vleuten</cbc:CityName><cbc:PostalZone>3451 BC</cbc:PostalZone><cac:Country><cbc:IdentificationCode>NL</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
    <cac:PartyLegalEntity><cbc:RegistrationName>Bakkerij Jansen B.V.</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party></cac:AccountingCustomerParty>
  {payee_xml}
  <cac:PaymentMeans><cbc:PaymentMeansCode>{means}</cbc:PaymentMeansCode><cbc:PaymentID>RF18{name.upper()[:8]}</cbc:PaymentID>{account_xml}</cac:PaymentMeans>
{chr(10).join(ac_xml)}
  <cac:TaxTotal><cbc:TaxAmount currencyID="{currency}">{money(totals.get('TaxAmount', tax_total))}</cbc:TaxAmount>
{chr(10).join(subtotals)}
  </cac:TaxTotal>
  <cac:LegalMonetaryTotal>{tot_xml}</cac:LegalMonetaryTotal>
{chr(10).join(line_xml)}
</{root}>
"""
    HERE.mkdir(exist_ok=True)
    (HERE / f"{name}.xml").write_text(xml)

S25 = [("Electricity", "1000", "1.80178", "S", "25")]
doc("prepaid", currency="NOK", lines=[("Electricity", "1", "1441.42", "S", "25")], prepaid="1000.00",
    iban="NO93 8601 1117 947", payee="Fjord Kraft AS")
doc("credit-note", root="CreditNote", lines=[("Refund of overbilled usage", "10", "12.50", "S", "21")])
doc("negative-invoice", lines=[("Correction of invoice TRUTH-7", "-1", "200.00", "S", "21")])
doc("placeholder-bic", lines=[("Gas", "100", "1.4523", "S", "21")], bic="BIC CODE")
doc("rounding", lines=[("Water", "3", "3.33", "S", "9")], rounding="0.02")
doc("allowance-charge", lines=[("Electricity", "212.4", "0.2745", "S", "21"), ("Standing charge", "1", "6.95", "S", "21")],
    allowances=[(False, "Loyalty discount", "5.00", "S", "21"), (True, "Paper invoice", "1.50", "S", "21")])
doc("several-rates", lines=[("Electricity", "100", "0.30", "S", "21"), ("Energy saving guide", "1", "12.50", "S", "9"),
                            ("Export delivery", "1", "40.00", "Z", "0"), ("Installation (reverse charge)", "2", "75.00", "AE", "0")])
doc("foreign-payee", currency="EUR", lines=[("Consulting", "8", "95.00", "S", "25")],
    iban="DK50 0040 0440 1162 43", bic="DABADKKK", payee="Sundt Energi ApS")
doc("invalid-iban", lines=[("Gas", "10", "1.50", "S", "21")], iban="NL91 ABNA 0417 1643 01")
doc("not-adding-up", lines=[("Electricity", "10", "10.00", "S", "21")], break_={"TaxInclusiveAmount": "122.00", "PayableAmount": "122.00"})
doc("domestic-account", currency="GBP", lines=[("Broadband", "1", "30.00", "S", "20")], iban="12345678", payee="Northwind Telecom Ltd")
