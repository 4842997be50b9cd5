//! EN 16931 e-invoices end to end with the real binary and plugins: every
//! UBL and CII conformance file and every ACME sample invoice, translated in
//! and written out by `cii-invoice-out` and `ubl-invoice-out`, passes the
//! official validators with no fatal assert, and states the same number,
//! dates, parties, line amounts, VAT breakdown and totals as its source; the
//! `facturx` channel's PDFs are Factur-X (the PyPI `factur-x` package finds and checks
//! the XML, the XMP says PDF/A-3B and Factur-X EN 16931, qpdf and poppler
//! read them, and their text holds the XML's totals); a record lacking a
//! term is rejected naming it.

#[path = "einvoice/facts.rs"]
mod facts;
#[path = "einvoice/validators.rs"]
mod validators;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use validators::{Syntax, conformance_files, setup, validate};

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// `tessera batch` of ACME over `input` to `channels`; the JSON report.
fn batch(input: &Path, out: &Path, channels: &str) -> serde_json::Value {
    let run = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["batch", "--tenant", "samples/acme-energy", "--input"])
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(["--json", "--channels", channels])
        .current_dir(repo())
        .env("TESSERA_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("tessera-compile-cache"))
        .output()
        .expect("tessera runs");
    assert!(run.status.success(), "batch failed: {}", String::from_utf8_lossy(&run.stderr));
    serde_json::from_slice(&run.stdout).expect("a JSON report")
}

/// Every file of a run's output folder with this suffix, by document id.
fn outputs(out: &Path, suffix: &str) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    for shard in std::fs::read_dir(out).unwrap().flatten().filter(|e| e.path().is_dir()) {
        for file in std::fs::read_dir(shard.path()).unwrap().flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(suffix) {
                found.insert(id.to_owned(), file.path());
            }
        }
    }
    found
}

fn assert_no_fatal(syntax: Syntax, files: &BTreeMap<String, PathBuf>) {
    let verdicts = validate(syntax, files);
    for (name, verdict) in &verdicts {
        // The closing note quotes these lines.
        println!(
            "{syntax:?} {name}: {} fatal, {} warnings, {} rules fired",
            verdict.fatal.len(),
            verdict.warnings,
            verdict.fired
        );
        assert!(verdict.fired > 10, "{name}: the validator checked nothing");
        assert!(verdict.fatal.is_empty(), "{syntax:?} {name} breaks EN 16931: {:#?}", verdict.fatal);
    }
    assert_eq!(verdicts.len(), files.len());
}

#[test]
fn the_validators_pass_the_conformance_files_and_catch_a_broken_invoice() {
    setup();
    assert_no_fatal(Syntax::Ubl, &conformance_files("ubl"));
    assert_no_fatal(Syntax::Cii, &conformance_files("cii"));
    // The harness can fail: a payable amount that is not the total.
    let work = tempfile::tempdir().unwrap();
    let source = &conformance_files("ubl")["ubl-tc434-example1"];
    let text = std::fs::read_to_string(source).unwrap();
    let start = text.find("<cbc:PayableAmount").unwrap();
    let end = start + text[start..].find("</cbc:PayableAmount>").unwrap();
    let open = start + text[start..end].find('>').unwrap() + 1;
    let broken = format!("{}0.01{}", &text[..open], &text[end..]);
    let path = work.path().join("broken.xml");
    std::fs::write(&path, broken).unwrap();
    let verdict = &validate(Syntax::Ubl, &BTreeMap::from([("broken".to_owned(), path)]))["broken"];
    assert!(verdict.fatal.iter().any(|f| f.id == "BR-CO-16"), "{verdict:#?}");
}

#[test]
fn every_conformance_file_and_sample_invoice_comes_out_as_valid_cii_and_ubl_with_the_same_figures() {
    setup();
    let work = tempfile::tempdir().unwrap();
    let (mut cii, mut ubl) = (BTreeMap::new(), BTreeMap::new());
    let mut sources = conformance_files("ubl");
    sources.extend(conformance_files("cii"));
    // One run per file: the conformance examples share invoice numbers.
    let mut seen = facts::Seen::default();
    for (name, source) in &sources {
        let out = work.path().join(name);
        let report = batch(source, &out, "cii,ubl");
        assert_eq!(
            (report["delivered"].as_u64(), report["rejected"].as_u64()),
            (Some(1), Some(0)),
            "{name}: {report:#}"
        );
        let (c, u) = (outputs(&out, ".cii.xml"), outputs(&out, ".ubl.xml"));
        let (c, u) = (c.into_values().next().unwrap(), u.into_values().next().unwrap());
        let want = facts::read(&std::fs::read_to_string(source).unwrap());
        seen.note(&want);
        for written in [&c, &u] {
            let got = facts::read(&std::fs::read_to_string(written).unwrap());
            assert_eq!(got, want, "{name}: {} states other terms than its source", written.display());
        }
        cii.insert(format!("{name}.cii"), c);
        ubl.insert(format!("{name}.ubl"), u);
    }
    // The set holds the terms compared beyond the totals, so their equality above says something.
    assert!(seen.all(), "the conformance files no longer exercise every compared term: {seen:?}");
    // ACME's own invoices and credit note, from its CSV export (the seller is
    // the brand label's sender, the account the letter's).
    let out = work.path().join("acme");
    let report = batch(&repo().join("samples/acme-energy/data/billing.csv"), &out, "cii,ubl");
    assert_eq!(report["rejected"], 0, "{report:#}");
    let (c, u) = (outputs(&out, ".cii.xml"), outputs(&out, ".ubl.xml"));
    assert_eq!(c.len(), report["delivered"].as_u64().unwrap() as usize);
    for (id, path) in &c {
        let (from_cii, from_ubl) = (
            facts::read(&std::fs::read_to_string(path).unwrap()),
            facts::read(&std::fs::read_to_string(&u[id]).unwrap()),
        );
        assert_eq!(from_cii, from_ubl, "{id}: the two syntaxes disagree");
        // The seller is the brand label's sender (each label names its own).
        assert!(
            ["ACME Energy B.V.", "ACME Green"].contains(&from_cii.seller.0.as_str()),
            "{id}: {:?}",
            from_cii.seller
        );
        assert_eq!(from_cii.seller.1.as_deref(), Some("NL001234567B01"));
        assert_eq!(from_cii.seller.2, "NL");
    }
    cii.extend(c.into_iter().map(|(id, p)| (format!("acme-{id}.cii"), p)));
    ubl.extend(u.into_iter().map(|(id, p)| (format!("acme-{id}.ubl"), p)));
    assert_no_fatal(Syntax::Cii, &cii);
    assert_no_fatal(Syntax::Ubl, &ubl);
}

fn tool(name: &str, args: &[&str]) -> String {
    let out = Command::new(name).args(args).output().unwrap_or_else(|e| panic!("{name} is needed: {e}"));
    assert!(out.status.success(), "{name} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_facturx_channel_makes_factur_x_pdfs() {
    setup();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let report = batch(&repo().join("samples/acme-energy/data/billing.csv"), &out, "facturx");
    assert_eq!(report["rejected"], 0, "{report:#}");
    let pdfs = outputs(&out, ".facturx.pdf");
    assert!(pdfs.len() >= 4, "{pdfs:?}");
    let checker = repo().join("host/cli/tests/einvoice/check_facturx.py");
    let python = repo().join("host/cli/tests/einvoice/.venv/bin/python");
    let mut args = vec![checker.to_string_lossy().into_owned()];
    args.extend(pdfs.values().map(|p| p.to_string_lossy().into_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let lines = tool(&python.to_string_lossy(), &args);
    let mut xmls = BTreeMap::new();
    for line in lines.lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        let file = r["file"].as_str().unwrap();
        assert_eq!(r["errors"], serde_json::json!([]), "{file}: {r:#}");
        assert_eq!(r["attachment"], "factur-x.xml");
        assert_eq!(r["xml_ok"], true);
        assert_eq!(r["level"], "en16931");
        assert_eq!(r["af_relationship"], "/Alternative");
        let xmp = &r["xmp"];
        assert_eq!((xmp["pdfaid_part"].as_str(), xmp["pdfaid_conformance"].as_str()), (Some("3"), Some("B")), "{file}");
        assert_eq!(xmp["fx_DocumentType"], "INVOICE");
        assert_eq!(xmp["fx_DocumentFileName"], "factur-x.xml");
        assert_eq!(xmp["fx_Version"], "1.0");
        assert_eq!(xmp["fx_ConformanceLevel"], "EN 16931");
        assert_eq!(xmp["fx_schema_declared"], true);
        // qpdf and poppler read the file; its text shows the XML's amount due.
        tool("qpdf", &["--check", file]);
        assert!(tool("pdfinfo", &[file]).contains("Pages:"));
        let facts = facts::read(r["xml"].as_str().unwrap());
        // Digits only: the letter writes 2.561,73 or 2,561.73 by its locale.
        let text: String = tool("pdftotext", &[file, "-"]).chars().filter(|c| !c.is_whitespace()).collect();
        let digits: String = text.chars().filter(|c| c.is_ascii_digit() || c.is_alphabetic() || *c == '-').collect();
        // The totals: without VAT (BT-109), VAT (BT-110), with VAT (BT-112), due (BT-115).
        for (term, amount) in ["BT-109", "BT-110", "BT-112", "BT-115"].iter().zip(&facts.totals[1..]) {
            let (int, frac) = amount.split_once('.').unwrap_or((amount, ""));
            assert!(digits.contains(&format!("{int}{frac:0<2}")), "{file}: the letter does not show {term} {amount}");
        }
        assert!(text.contains(&facts.number), "{file}: the letter does not show {}", facts.number);
        let path = PathBuf::from(file);
        let xml = work.path().join(format!("{}.xml", path.file_stem().unwrap().to_string_lossy()));
        std::fs::write(&xml, r["xml"].as_str().unwrap()).unwrap();
        xmls.insert(path.file_stem().unwrap().to_string_lossy().into_owned(), xml);
    }
    assert_eq!(xmls.len(), pdfs.len());
    assert_no_fatal(Syntax::Cii, &xmls);
}

#[test]
fn a_record_lacking_a_business_term_is_rejected_naming_it() {
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("in.csv");
    std::fs::write(
        &input,
        "customer_ref,document_id,first_name,last_name,language,street,postcode,city,country,label,invoice_date,due_date,payment_reference,line_description,line_quantity,line_unit,line_unit_price,line_vat_rate\n\
         C-1,INV-U-1,Test,One,en,Street 1,1000 AA,Amsterdam,NL,acme,2026-11-01,2026-11-15,RF18539007547034,Rods,2,furlong,10.00,21\n\
         C-2,INV-U-2,Test,Two,en,Street 2,1000 AA,Amsterdam,NL,acme,2026-11-01,2026-11-15,RF18539007547034,Export,2,kWh,10.00,0\n",
    )
    .unwrap();
    let report = batch(&input, &work.path().join("out"), "html,ubl");
    let rejections = report["rejections"].as_array().unwrap();
    let find =
        |id: &str| rejections.iter().find(|r| r["document_id"] == id).unwrap_or_else(|| panic!("{id}: {report:#}"));
    let unit = find("INV-U-1");
    assert_eq!(unit["stage"], "format");
    assert!(unit["reason"].as_str().unwrap().contains("BT-130 (Invoiced quantity unit of measure code)"), "{unit:#}");
    assert_eq!(unit["field"], "$.content.lines[0].unit_code");
    // A zero rate could be zero-rated, exempt, reverse charge, export...: the record must say.
    let category = find("INV-U-2");
    assert!(category["reason"].as_str().unwrap().contains("BT-151 (Invoiced item VAT category code)"), "{category:#}");
    assert_eq!(category["field"], "$.content.lines[0].vat_category");
    assert_eq!(
        report["delivered"], 0,
        "the HTML letters were made, but a document with a rejected output is not delivered"
    );
}
