//! Every letter says exactly what its data says (issue 16): the UBL fixtures
//! in `samples/truth/ubl/` (one per rule of the totals chain, the payee
//! account and the standard's optional values) through the sample tenant,
//! every output read back as a reader would — the HTML's text, `pdftotext`
//! on the print letter, the QR code decoded — and every public conformance
//! document rendered with the "to pay" amount, account and currency its
//! source says.

mod common;

use common::fs::copy_dir;
use common::runtime;
use serde_json::Value;
use std::path::{Path, PathBuf};
use tessera_pipeline::{BatchJob, LoadedTenant, Report, run_batch};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples")
}

fn store() -> Vec<PathBuf> {
    vec![PathBuf::from(tessera_plugin_artifacts::STORE)]
}

fn acme() -> LoadedTenant {
    LoadedTenant::load(runtime(), &samples().join("acme-energy"), &store()).unwrap()
}

/// What one run of one source made.
struct Run {
    report: Report,
    out: tempfile::TempDir,
}

impl Run {
    fn of(loaded: &LoadedTenant, input: &Path, channels: &[&str]) -> Run {
        let out = tempfile::tempdir().unwrap();
        let job = BatchJob {
            translator: Some("ubl-invoice"),
            channels: Some(channels.iter().map(|c| (*c).to_owned()).collect()),
            ..BatchJob::new(input, out.path())
        };
        let report = run_batch(loaded, &job).unwrap();
        assert!(report.balanced, "{report:#?}");
        Run { report, out }
    }

    fn fixture(loaded: &LoadedTenant, name: &str) -> Run {
        Run::of(loaded, &samples().join(format!("truth/ubl/{name}.xml")), &["html", "text", "print"])
    }

    fn manifest(&self) -> Vec<Value> {
        std::fs::read_to_string(self.out.path().join("manifest.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn file(&self, channel: &str) -> Vec<u8> {
        let line = self.manifest().into_iter().find(|l| l["channel"] == channel).expect("a line for the channel");
        std::fs::read(self.out.path().join(line["file"].as_str().unwrap())).unwrap()
    }

    /// The HTML's visible text, the text rendition and the print PDF's text
    /// (by poppler), each with white space collapsed.
    fn readings(&self) -> [(&'static str, String); 3] {
        let html = String::from_utf8(self.file("html")).unwrap();
        [
            ("html", collapse(&visible_text(&html))),
            ("text", collapse(&String::from_utf8(self.file("text")).unwrap())),
            ("print", collapse(&pdftotext(&self.file("print")))),
        ]
    }

    fn rejection(&self) -> &tessera_pipeline::Rejection {
        assert_eq!((self.report.delivered, self.report.rejected), (0, 1), "{:#?}", self.report);
        &self.report.rejections[0]
    }
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of an HTML document as a reader sees it: tags, styles and the
/// head dropped, the few entities the templates produce decoded.
fn visible_text(html: &str) -> String {
    let body = &html[html.find("<body").unwrap()..];
    let mut out = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&").replace("&#39;", "'").replace("&quot;", "\"")
}

fn pdftotext(pdf: &[u8]) -> String {
    common::pdf::pdftotext(pdf, common::pdf::Mode::Layout)
}

fn assert_says(run: &Run, wanted: &[&str], not: &[&str]) {
    for (output, text) in run.readings() {
        for w in wanted {
            assert!(text.contains(w), "{output} should say `{w}`:\n{text}");
        }
        for n in not {
            assert!(!text.contains(n), "{output} must not say `{n}`:\n{text}");
        }
    }
}

#[test]
fn a_prepaid_invoice_asks_for_the_amount_due_once_into_the_account_its_data_names() {
    let loaded = acme();
    let run = Run::fixture(&loaded, "prepaid");
    assert_eq!(run.report.delivered, 1, "{:#?}", run.report);
    assert_says(
        &run,
        &["Total incl. VAT", "NOK 1,801.78", "Paid in advance", "1,000.00", "NOK 801.78", "NO93 8601 1117 947"],
        &["NL91"],
    );
    // One amount to pay, wherever the letter names it.
    for (output, text) in run.readings() {
        let text = text.replace(": ", " ");
        assert!(text.contains("Total to pay NOK 801.78") && text.contains("Fjord Kraft AS"), "{output}: {text}");
        assert!(!text.contains("to pay NOK 1,801.78"), "{output}: one amount to pay: {text}");
    }
    // No SEPA QR code for kroner; the account came from the record, and the
    // tenant lists no accounts: a warning, not silence.
    assert!(!String::from_utf8(run.file("html")).unwrap().contains("payment-qr"));
    let line = &run.manifest()[0];
    assert_eq!(line["warnings"][0]["code"], "payee-unlisted", "{line}");
    assert_eq!(run.report.warnings.get("payee-unlisted"), Some(&1));
}

#[test]
fn a_foreign_payee_account_is_the_one_in_the_letter_and_in_its_qr_code() {
    let loaded = acme();
    let run = Run::fixture(&loaded, "foreign-payee");
    assert_eq!(run.report.delivered, 1, "{:#?}", run.report);
    // 8 × 95.00 + 25% = 950.00.
    assert_says(&run, &["950.00", "DK50 0040 0440 1162 43", "Sundt Energi ApS", "DABADKKK"], &["NL91"]);
    let html = String::from_utf8(run.file("html")).unwrap();
    let codes = common::qr::decode_all(&html);
    assert_eq!(codes.len(), 1, "one payment QR code");
    let epc: Vec<&str> = codes[0].lines().collect();
    assert_eq!((epc[4], epc[5], epc[6], epc[7]), ("DABADKKK", "Sundt Energi ApS", "DK5000400440116243", "EUR950.00"));
}

#[test]
fn credit_notes_and_negative_invoices_show_what_is_owed_to_the_reader_and_ask_for_nothing() {
    let loaded = acme();
    // 10 × 12.50 = 125.00 + 21% = 151.25.
    let credit = Run::fixture(&loaded, "credit-note");
    assert_eq!(credit.report.delivered, 1, "{:#?}", credit.report);
    assert_says(&credit, &["Credited to you", "EUR 151.25"], &["Total to pay", "Please pay"]);
    // −200.00 + 21% = −242.00: 242.00 to be refunded.
    let negative = Run::fixture(&loaded, "negative-invoice");
    assert_eq!(negative.report.delivered, 1, "{:#?}", negative.report);
    assert_says(&negative, &["To be refunded to you", "EUR 242.00"], &["Total to pay", "Please pay"]);
    for run in [&credit, &negative] {
        let html = String::from_utf8(run.file("html")).unwrap();
        assert!(common::qr::decode_all(&html).is_empty(), "no payment QR code");
    }
}

#[test]
fn a_placeholder_bic_is_left_out_with_a_warning_never_a_rejection() {
    let loaded = acme();
    let run = Run::fixture(&loaded, "placeholder-bic");
    assert_eq!(run.report.delivered, 1, "{:#?}", run.report);
    assert_says(&run, &["NL91 ABNA 0417 1643 00"], &["BIC CODE"]);
    let manifest = run.manifest();
    let warnings: Vec<&str> =
        manifest[0]["warnings"].as_array().unwrap().iter().map(|w| w["code"].as_str().unwrap()).collect();
    assert!(warnings.contains(&"bic-malformed"), "{warnings:?}");
}

#[test]
fn the_totals_block_shows_the_whole_chain_to_the_amount_due() {
    let loaded = acme();
    // 58.30 + 6.95 = 65.25 − 5.00 + 1.50 = 61.75; VAT 21% 12.97; 74.72.
    let ac = Run::fixture(&loaded, "allowance-charge");
    assert_eq!(ac.report.delivered, 1, "{:#?}", ac.report);
    assert_says(
        &ac,
        &["Sum of lines", "65.25", "Allowances", "5.00", "Charges", "1.50", "61.75", "12.97", "EUR 74.72"],
        &[],
    );
    // 9.99 + 9% 0.90 = 10.89, rounding +0.02 → 10.91.
    let rounding = Run::fixture(&loaded, "rounding");
    assert_eq!(rounding.report.delivered, 1, "{:#?}", rounding.report);
    assert_says(&rounding, &["Rounding", "0.02", "EUR 10.89", "EUR 10.91"], &[]);
    // Standard, reduced, zero-rated and reverse-charge lines, each rate once
    // and written the same way however the source wrote it.
    let rates = Run::fixture(&loaded, "several-rates");
    assert_eq!(rates.report.delivered, 1, "{:#?}", rates.report);
    let [(_, html), ..] = rates.readings();
    for row in ["VAT 21% (30.00) 6.30", "VAT 9% (12.50) 1.13", "VAT 0% (40.00) 0.00", "VAT 0% (150.00) 0.00"] {
        assert!(html.contains(row), "{row}: {html}");
    }
    assert!(!html.contains("21.00%") && !html.contains("9.00%"), "{html}");
}

#[test]
fn a_domestic_account_is_printed_as_it_is_and_never_put_in_a_qr_code() {
    let loaded = acme();
    let run = Run::fixture(&loaded, "domestic-account");
    assert_eq!(run.report.delivered, 1, "{:#?}", run.report);
    assert_says(&run, &["Account 12345678", "GBP 36.00", "Northwind Telecom Ltd"], &["NL91"]);
}

#[test]
fn amounts_that_do_not_add_up_are_rejected_naming_the_rule_and_the_amounts() {
    let loaded = acme();
    let run = Run::fixture(&loaded, "not-adding-up");
    let r = run.rejection();
    assert_eq!((r.rule.as_deref(), r.field.as_deref()), (Some("BR-CO-15"), Some("$.content.totals.gross")), "{r:?}");
    assert!(r.reason.contains("122.00") && r.reason.contains("121.00"), "the amounts involved: {}", r.reason);
    assert!(!run.out.path().join("00000/TRUTH-NOT-ADDING-UP.html").exists());
}

/// EN 16931 does not constrain the account (its own examples carry IBANs
/// whose check digits fail): printed as written, never in a QR code, with a
/// warning — or refused, when the tenant requires valid IBANs.
#[test]
fn an_iban_that_fails_its_check_is_printed_as_written_without_a_qr_code_or_refused_on_request() {
    let loaded = acme();
    let run = Run::fixture(&loaded, "invalid-iban");
    assert_eq!(run.report.delivered, 1, "{:#?}", run.report);
    assert_says(&run, &["Account NL91ABNA0417164301"], &["NL91 ABNA 0417 1643 00"]);
    assert!(common::qr::decode_all(&String::from_utf8(run.file("html")).unwrap()).is_empty());
    assert_eq!(run.report.warnings.get("iban-check-failed"), Some(&1), "{:#?}", run.report);

    let (_dir, strict) = acme_with("[payment]\nrequire_valid_iban = true\n");
    let run = Run::fixture(&strict, "invalid-iban");
    let r = run.rejection();
    assert_eq!(r.rule.as_deref(), Some("ISO-13616"), "{r:?}");
    assert!(r.reason.contains("NL91") && !r.reason.contains("ABNA0417164301"), "masked: {}", r.reason);
}

/// A private copy of the provider and acme-energy samples with `extra`
/// appended to its tenant.toml.
fn acme_with(extra: &str) -> (tempfile::TempDir, LoadedTenant) {
    let dir = tempfile::tempdir().unwrap();
    for name in ["printhub", "acme-energy"] {
        copy_dir(&samples().join(name), &dir.path().join(name));
    }
    let toml = dir.path().join("acme-energy/tenant.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, format!("{text}\n{extra}")).unwrap();
    let loaded = LoadedTenant::load(runtime(), &dir.path().join("acme-energy"), &store()).unwrap();
    (dir, loaded)
}

#[test]
fn a_tenant_that_lists_its_accounts_refuses_any_other_without_printing_it() {
    let (dir, loaded) = acme_with("[payment]\nallowed_ibans = [\"NL91 ABNA 0417 1643 00\"]\n");
    let toml = dir.path().join("acme-energy/tenant.toml");
    let text = std::fs::read_to_string(&toml).unwrap().replace("NL91 ABNA 0417 1643 00", "NL91ABNA0417164301");

    let run = Run::fixture(&loaded, "foreign-payee");
    let r = run.rejection();
    assert_eq!((r.rule.as_deref(), r.document_id.as_deref()), (Some("TS-PAYEE"), Some("TRUTH-FOREIGN-PAYEE")), "{r:?}");
    assert!(r.reason.contains("DK50") && !r.reason.contains("0440116243"), "named, masked: {}", r.reason);
    // The label's own account is on the list: its letters go out, without a warning.
    let run = Run::fixture(&loaded, "placeholder-bic");
    assert_eq!(run.report.delivered, 1, "{:#?}", run.report);
    assert!(!run.report.warnings.contains_key("payee-unlisted"));

    // A list entry that is no valid IBAN is refused at load.
    std::fs::write(&toml, text).unwrap();
    let e = LoadedTenant::load(runtime(), &dir.path().join("acme-energy"), &store()).err().unwrap();
    assert!(e.to_string().contains("allowed_ibans"), "{e}");
}

/// The self-check: a template that shows the wrong amount costs a rejection,
/// not a wrong letter.
#[test]
fn a_template_that_contradicts_its_record_is_caught_by_the_self_check() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["printhub", "acme-energy"] {
        copy_dir(&samples().join(name), &dir.path().join(name));
    }
    // The bug of the issue: "to pay" shows the gross total, ignoring the prepayment.
    let html = dir.path().join("printhub/content/templates/invoice.html.tera");
    let text = std::fs::read_to_string(&html).unwrap();
    std::fs::write(&html, text.replace("{{ f.to_pay | money }}", "{{ f.gross | money }}")).unwrap();
    let loaded = LoadedTenant::load(runtime(), &dir.path().join("acme-energy"), &store()).unwrap();
    let run = Run::of(&loaded, &samples().join("truth/ubl/prepaid.xml"), &["html"]);
    let r = run.rejection();
    assert_eq!(
        (format!("{:?}", r.stage).as_str(), r.rule.as_deref(), r.field.as_deref()),
        ("Verify", Some("self-check"), Some("$.content.totals.payable")),
        "{r:?}"
    );
    assert!(r.reason.contains("`html` HTML") && r.reason.contains("amount to pay"), "{}", r.reason);
    assert!(!r.reason.contains("801"), "the reason names the figure, not its value: {}", r.reason);

    // The label's account on a letter whose record names another: caught
    // too, in the print layout (print-compose) and in the Typst archive copy.
    for print_template in ["invoice.layout.json.tera", "invoice.typ.tera"] {
        let path = dir.path().join("printhub/content/templates").join(print_template);
        let text = std::fs::read_to_string(&path).unwrap();
        let wrong = text
            .replace("IBAN {{ f.payee.iban_display }}", "IBAN {{ f.payee.iban_display }} / {{ label.payment.iban }}");
        assert_ne!(wrong, text, "{print_template} shows the payee's IBAN");
        std::fs::write(&path, wrong).unwrap();
    }
    std::fs::write(
        &html,
        std::fs::read_to_string(samples().join("printhub/content/templates/invoice.html.tera")).unwrap(),
    )
    .unwrap();
    let loaded = LoadedTenant::load(runtime(), &dir.path().join("acme-energy"), &store()).unwrap();
    for channel in ["print", "archive"] {
        let run = Run::of(&loaded, &samples().join("truth/ubl/foreign-payee.xml"), &["html", channel]);
        let r = run.rejection();
        assert!(
            r.reason.contains(&format!("`{channel}` PDF")) && r.reason.contains("brand label's account"),
            "{}",
            r.reason
        );
    }
}

/// Every public conformance document (UBL and TMF678): the print letter's
/// "to pay" amount, account and currency, read back with pdftotext, equal
/// the source's.
#[test]
fn every_conformance_letter_says_what_its_source_says() {
    let loaded = acme();
    let conformance = samples().join("sources");
    let mut checked = 0;
    for (folder, translator) in [("ubl", "ubl-invoice"), ("tmf678", "tmf678-bill")] {
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(conformance.join(folder)).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for path in files {
            let out = tempfile::tempdir().unwrap();
            let job = BatchJob {
                translator: Some(translator),
                channels: Some(vec!["html".into(), "print".into()]),
                ..BatchJob::new(&path, out.path())
            };
            let report = run_batch(&loaded, &job).unwrap();
            assert!(report.balanced && report.rejected == 0, "{}: {report:#?}", path.display());
            for source in expected_figures(&path, translator) {
                let pdf = std::fs::read(out.path().join(format!("00000/{}.print.pdf", source.document_id))).unwrap();
                let text = collapse(&pdftotext(&pdf)).replace(' ', "");
                // The self-check's own PDF reader sees exactly what poppler sees.
                let squeeze = |t: &str| t.split_whitespace().collect::<String>();
                assert_eq!(
                    squeeze(&tessera_pipeline::verify::pdf::text(&pdf).unwrap()),
                    squeeze(&common::pdf::pdftotext(&pdf, common::pdf::Mode::Raw)),
                    "{}: the self-check's text of the letter",
                    path.display()
                );
                if let Some((currency, amount)) = &source.to_pay {
                    let shown = format!("{currency}{}", en_money(amount));
                    assert!(
                        text.contains(&shown),
                        "{}: {} must show {shown}:\n{text}",
                        path.display(),
                        source.document_id
                    );
                }
                if let Some(account) = &source.account {
                    assert!(text.contains(account), "{}: must show account {account}:\n{text}", path.display());
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "{checked} letters checked");
}

/// What a source document says a letter must show.
struct SourceFigures {
    document_id: String,
    /// (currency, amount as written) of the amount due, when one is due.
    to_pay: Option<(String, String)>,
    /// The payee account, white space removed.
    account: Option<String>,
}

/// The source's own figures, read with a plain XML / JSON reader — not the
/// translator under test.
fn expected_figures(path: &Path, translator: &str) -> Vec<SourceFigures> {
    let text = std::fs::read_to_string(path).unwrap();
    if translator == "ubl-invoice" {
        let element = |name: &str| -> Option<String> {
            let open = text.find(&format!("<cbc:{name}"))?;
            let start = open + text[open..].find('>')? + 1;
            Some(text[start..start + text[start..].find('<')?].trim().to_owned())
        };
        let id = element("ID").unwrap();
        let payable = element("PayableAmount").unwrap();
        let currency = element("DocumentCurrencyCode").unwrap();
        let credit = text.contains("<CreditNote") || payable.starts_with('-');
        let account = text
            .find("<cac:PayeeFinancialAccount>")
            .and_then(|at| {
                let rest = &text[at..];
                let start = rest.find("<cbc:ID>")? + 8;
                Some(rest[start..start + rest[start..].find('<')?].split_whitespace().collect::<String>())
            })
            .filter(|_| !credit && payable != "0.00");
        let document_id = document_id(&id);
        let amount = payable.trim_start_matches('-').to_owned();
        let due = amount.parse::<f64>().unwrap() != 0.0;
        vec![SourceFigures { document_id, to_pay: due.then_some((currency, amount)), account }]
    } else {
        let json: Value = serde_json::from_str(&text).unwrap();
        let bills: Vec<Value> = match json {
            Value::Array(items) => items,
            Value::Object(ref o) if o.contains_key("event") => vec![json["event"]["customerBill"].clone()],
            other => vec![other],
        };
        bills
            .into_iter()
            .filter(|b| b["@type"] == "CustomerBill" || b.get("billNo").is_some())
            .filter(|b| b.get("taxIncludedAmount").is_some() && b.get("billDate").is_some())
            .map(|b| {
                let id = b["billNo"].as_str().or(b["id"].as_str()).unwrap().to_owned();
                let owed = b.get("amountDue").unwrap_or(&b["taxIncludedAmount"]);
                let amount = match &owed["value"] {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                let due = amount.parse::<f64>().unwrap() != 0.0;
                SourceFigures {
                    document_id: document_id(&id),
                    to_pay: due.then(|| (b["taxIncludedAmount"]["unit"].as_str().unwrap_or("EUR").to_owned(), amount)),
                    account: None,
                }
            })
            .collect()
    }
}

/// A source's document number as the translators make it a file-safe id.
fn document_id(number: &str) -> String {
    number.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '-' }).collect()
}

/// An amount as the English letter writes it: grouped thousands, two decimals.
fn en_money(amount: &str) -> String {
    tessera_pipeline::format_money(amount, "en").unwrap()
}

/// Both sample tenants, routed by their scenarios, every output read back as
/// its reader gets it — the HTML's text, both parts of each e-mail (by an
/// independent MIME parser), the SMS JSON, the text and printer line data,
/// `pdftotext` of every PDF, the QR code decoded — shows the document
/// number, the amount to pay (or to be refunded) with its currency, and,
/// when something is to be paid, the due date and the payee account its
/// record names (or its label's).
#[test]
fn every_channel_of_both_sample_tenants_says_what_its_record_says() {
    let mut seen_channels = std::collections::BTreeSet::new();
    for tenant in ["acme-energy", "northwind-telecom"] {
        let loaded = LoadedTenant::load(runtime(), &samples().join(tenant), &store()).unwrap();
        let input = samples().join(tenant).join(loaded.tenant.config.job.input.as_deref().unwrap());
        let out = tempfile::tempdir().unwrap();
        let report = run_batch(&loaded, &BatchJob::new(&input, out.path())).unwrap();
        assert!(report.balanced && report.rejected == 0, "{tenant}: {report:#?}");
        let records = records_of(&loaded, &input);
        let library = loaded.content.current();
        let manifest = std::fs::read_to_string(out.path().join("manifest.jsonl")).unwrap();
        for line in manifest.lines() {
            let line: Value = serde_json::from_str(line).unwrap();
            let id = line["document_id"].as_str().unwrap();
            let record = records.iter().find(|r| r.document_id == id).expect("its record");
            let label = library.label(line["label"].as_str().unwrap()).unwrap();
            let wanted = Wanted::of(&record.value, line["locale"].as_str().unwrap(), label);
            let channel = line["channel"].as_str().unwrap();
            seen_channels.insert(format!("{tenant}/{channel}"));
            let bytes = std::fs::read(out.path().join(line["file"].as_str().unwrap())).unwrap();
            let media = line["media_type"].as_str().unwrap();
            let readings: Vec<(String, String)> = match media {
                m if m.starts_with("text/html") => {
                    let html = String::from_utf8(bytes).unwrap();
                    wanted.check_qr(&common::qr::decode_all(&html), id);
                    vec![("HTML".into(), visible_text(&html))]
                }
                "message/rfc822" => {
                    let mail = mailparse::parse_mail(&bytes).unwrap();
                    let text = mail.subparts[0].get_body().unwrap();
                    let html = mail.subparts[1].subparts[0].get_body().unwrap();
                    vec![("e-mail text part".into(), text), ("e-mail HTML part".into(), visible_text(&html))]
                }
                "application/json" => {
                    let sms: Value = serde_json::from_slice(&bytes).unwrap();
                    vec![("SMS".into(), sms["text"].as_str().unwrap().to_owned())]
                }
                "application/pdf" => vec![("PDF".into(), pdftotext(&bytes))],
                m if m.starts_with("text/plain") => vec![("text".into(), String::from_utf8(bytes).unwrap())],
                other => panic!("{id}: a {other} output this test cannot read"),
            };
            for (what, text) in readings {
                wanted.check(&format!("{tenant} {id} {channel} {what}"), &text, media == "application/json");
            }
        }
    }
    for channel in [
        "acme-energy/html",
        "acme-energy/email",
        "acme-energy/print",
        "acme-energy/archive",
        "acme-energy/lines",
        "northwind-telecom/sms",
        "northwind-telecom/text",
        "northwind-telecom/email",
    ] {
        assert!(seen_channels.contains(channel), "{channel} was read back ({seen_channels:?})");
    }
}

/// The records of a source, translated by the tenant's translator.
fn records_of(loaded: &LoadedTenant, input: &Path) -> Vec<tessera_pipeline::CdmRecord> {
    let call = tessera_runtime::CallContext { as_of: "2026-11-01".into(), as_of_unix: 1_793_491_200, seed: 1 };
    let translator = &loaded.plugins[loaded.tenant.config.job.translator.as_deref().unwrap()];
    let mut session = translator.translate(&call, "source").unwrap();
    let mut outcomes = session.feed(&std::fs::read(input).unwrap()).unwrap();
    outcomes.extend(session.finish().unwrap().0);
    outcomes
        .into_iter()
        .filter_map(|o| match o {
            tessera_runtime::TranslateOutcome::Record { cdm, .. } => {
                Some(tessera_pipeline::CdmRecord::parse(&cdm).unwrap())
            }
            _ => None,
        })
        .collect()
}

/// What a record's outputs must show, formatted as a reader of its locale reads it.
struct Wanted {
    document_id: String,
    /// "EUR 228,97"
    amount: Option<String>,
    due_date: Option<String>,
    /// Compact IBAN, when something is to be paid.
    iban: Option<String>,
    /// EPC payload amount ("EUR228.97") when a QR code must be drawn.
    qr_amount: Option<String>,
}

impl Wanted {
    fn of(record: &Value, locale: &str, label: &tessera_content::Label) -> Wanted {
        let c = &record["content"];
        let payable = c["totals"]["payable"].as_str().or(c["payment"]["amount"].as_str()).unwrap();
        let owed = payable.trim_start_matches('-');
        let credit = c["payment"]["credit"] == true || payable.starts_with('-');
        let currency = c["invoice"]["currency"].as_str().unwrap();
        let amount = tessera_pipeline::format_money(owed, locale).unwrap();
        let to_pay = !credit && owed.parse::<f64>().unwrap() > 0.0;
        let iban = to_pay.then(|| {
            c["payment"]["iban"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| label.payment.as_ref().unwrap().iban.clone())
        });
        Wanted {
            document_id: record["reference"]["document_id"].as_str().unwrap().to_owned(),
            amount: Some(format!("{currency} {amount}")),
            due_date: to_pay
                .then(|| c["invoice"]["due_date"].as_str().and_then(|d| tessera_pipeline::format_long_date(d, locale)))
                .flatten(),
            qr_amount: (to_pay && currency == "EUR")
                .then(|| format!("EUR{}", tessera_pipeline::format_money(owed, "en").unwrap().replace(',', ""))),
            iban,
        }
    }

    fn check(&self, what: &str, text: &str, sms: bool) {
        let seen: String = text.split_whitespace().collect();
        let squeezed = |s: &str| s.split_whitespace().collect::<String>();
        let mut needles = vec![("document number", Some(self.document_id.clone())), ("amount", self.amount.clone())];
        if !sms {
            needles.push(("due date", self.due_date.clone()));
            needles.push(("payee account", self.iban.clone()));
        }
        for (name, needle) in needles {
            if let Some(needle) = needle {
                assert!(seen.contains(&squeezed(&needle)), "{what}: no {name} `{needle}`:\n{text}");
            }
        }
    }

    fn check_qr(&self, codes: &[String], id: &str) {
        match &self.qr_amount {
            Some(amount) => {
                assert_eq!(codes.len(), 1, "{id}: one payment QR code");
                let epc: Vec<&str> = codes[0].lines().collect();
                assert_eq!((epc[6], epc[7]), (self.iban.as_deref().unwrap(), amount.as_str()), "{id}: {epc:?}");
            }
            None => assert!(codes.is_empty(), "{id}: no QR code when nothing is to be paid in euros"),
        }
    }
}
