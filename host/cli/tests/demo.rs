//! The README's first command, end to end: `tessera demo` renders every
//! sample tenant's sample input, and the outputs hold up to inspection by
//! parsers rather than by eye.

#[path = "../../pipeline/tests/common/qr.rs"]
mod qr;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn tessera(args: &[&str], cache: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .env("TESSERA_CACHE_DIR", cache)
        .output()
        .expect("tessera runs")
}

/// Document ids in a csv-billing export (second column).
fn document_ids(csv: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(csv).unwrap();
    text.lines().skip(1).filter_map(|l| l.split(';').nth(1)).map(str::to_owned).collect()
}

/// A poppler tool's output (poppler-utils: `.ci/run` installs it).
fn poppler(tool: &str, args: &[&str], file: &Path) -> String {
    // pdftotext writes to a file unless told `-` (stdout) after the input.
    let stdout: &[&str] = if tool == "pdftotext" { &["-"] } else { &[] };
    let out = Command::new(tool).args(args).arg(file).args(stdout).output().unwrap_or_else(|e| {
        panic!("{tool} (poppler-utils) is needed to check PDFs: {e}; `.ci/run` installs it, or `apt-get install poppler-utils`")
    });
    assert!(out.status.success(), "{tool} {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Checks a letter PDF with poppler: one A4 page whose text has `needles`.
fn check_letter_pdf(file: &Path, needles: &[&str]) -> String {
    let info = poppler("pdfinfo", &[], file);
    assert!(info.contains("Pages:           1"), "{}: one page\n{info}", file.display());
    assert!(info.contains("595.276 x 841.89 pts (A4)"), "{}: A4\n{info}", file.display());
    let text = poppler("pdftotext", &["-layout"], file).replace('\u{2019}', "'");
    for needle in needles {
        assert!(text.contains(needle), "{} does not show `{needle}`:\n{text}", file.display());
    }
    info
}

/// Checks an `.eml` file with an independent MIME parser: headers, the
/// text/HTML alternatives, and every `cid:` image of the HTML present as an
/// inline part. Returns the decoded HTML.
fn check_email(file: &Path, to: &str, subject_has: &str) -> String {
    let raw = std::fs::read(file).unwrap();
    let mail = mailparse::parse_mail(&raw).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let header =
        |name: &str| mail.headers.iter().find(|h| h.get_key().eq_ignore_ascii_case(name)).map(|h| h.get_value());
    assert_eq!(header("MIME-Version").as_deref(), Some("1.0"));
    assert!(header("To").unwrap().contains(to), "To: {:?}", header("To"));
    assert!(header("From").unwrap().contains('@'), "From: {:?}", header("From"));
    assert!(header("Subject").unwrap().contains(subject_has), "Subject decodes: {:?}", header("Subject"));
    assert_eq!(header("Date").as_deref(), Some("Sun, 1 Nov 2026 00:00:00 +0000"), "the job's as-of date");
    assert!(header("Message-ID").is_some_and(|id| id.starts_with('<') && id.ends_with('>')));
    assert_eq!(mail.ctype.mimetype, "multipart/alternative");
    assert_eq!(mail.subparts.len(), 2, "text and HTML alternatives");
    assert_eq!(mail.subparts[0].ctype.mimetype, "text/plain");
    let text = mail.subparts[0].get_body().unwrap();
    assert!(text.contains(subject_has.split(' ').next().unwrap()), "the text part is the letter: {text}");
    let related = &mail.subparts[1];
    assert_eq!(related.ctype.mimetype, "multipart/related");
    assert_eq!(related.subparts[0].ctype.mimetype, "text/html");
    let html = related.subparts[0].get_body().unwrap();
    let cids: Vec<String> = related.subparts[1..]
        .iter()
        .map(|p| {
            assert!(p.ctype.mimetype.starts_with("image/"), "inline parts are images");
            let id = p.headers.iter().find(|h| h.get_key().eq_ignore_ascii_case("Content-ID")).unwrap().get_value();
            assert!(!p.get_body_raw().unwrap().is_empty());
            id.trim_matches(['<', '>']).to_owned()
        })
        .collect();
    let used: Vec<&str> = html.split("cid:").skip(1).map(|r| r.split(['"', '\'']).next().unwrap()).collect();
    assert!(!used.is_empty(), "the HTML shows its images by Content-ID");
    for cid in used {
        assert!(cids.iter().any(|c| c == cid), "cid:{cid} resolves to an inline part ({cids:?})");
    }
    assert!(!html.contains("src=\"data:"), "no data: URIs left for mail clients to block");
    html
}

fn json(file: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

#[test]
fn demo_renders_every_sample_record_to_every_channel() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("demo");
    let run = tessera(&["demo", "--out", out.to_str().unwrap()], &shared_cache());
    assert!(run.status.success(), "demo failed:\n{}", String::from_utf8_lossy(&run.stderr));

    // ACME: e-mail where the customer prefers it, print otherwise; every
    // document also gets HTML, a PDF/A archive copy and print-shop line data.
    let acme = out.join("acme-energy");
    let ids =
        document_ids(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/acme-energy/data/billing.csv")));
    assert_eq!(ids.len(), 4);
    for id in &ids {
        let html = std::fs::read_to_string(acme.join(format!("00000/{id}.html"))).unwrap();
        assert!(html.trim_start().starts_with("<!DOCTYPE html>"));
        assert!(html.contains(&format!("{id}</dd>")), "the document shows its number");
        let asa = std::fs::read_to_string(acme.join(format!("00000/{id}.lines.asa"))).unwrap();
        assert!(asa.starts_with('1'), "print line data starts on a new page");
        let info = check_letter_pdf(&acme.join(format!("00000/{id}.archive.pdf")), &[id.as_str()]);
        assert!(info.contains("Title:"), "{info}");
        let meta = poppler("pdfinfo", &["-meta"], &acme.join(format!("00000/{id}.archive.pdf")));
        assert!(meta.contains("pdfaid:part") && meta.contains('2'), "the archive copy declares PDF/A-2:\n{meta}");
    }
    let html = check_email(&acme.join("00000/INV-2026-1001.eml"), "anna.devries@example.nl", "INV-2026-1001");
    assert!(html.contains("<svg"), "the payment QR code travels with the e-mail");
    check_email(&acme.join("00000/INV-2026-1003.eml"), "administratie@bakkerij-jansen.example", "INV-2026-1003");
    check_email(&acme.join("00000/CN-2026-0042.eml"), "sofia.rossi@example.it", "CN-2026-0042");
    assert!(!acme.join("00000/INV-2026-1002.eml").exists(), "James prefers paper");
    check_letter_pdf(
        &acme.join("00000/INV-2026-1002.print.pdf"),
        &["James O'Connor", "12 Harbour Road", "EUR 113.16", "INV-2026-1002"],
    );

    let report = json(&acme.join("report.json"));
    assert_eq!((report["records_in"].as_u64(), report["delivered"].as_u64()), (Some(4), Some(4)));
    assert_eq!(report["balanced"], true);
    assert_eq!(
        report["outputs_by_channel"],
        serde_json::json!({"archive": 4, "email": 3, "html": 4, "lines": 4, "print": 1})
    );
    let variants = report["documents_by_variant"].as_object().unwrap();
    assert_eq!(variants.values().map(|v| v.as_u64().unwrap()).sum::<u64>(), 4, "{variants:?}");
    let usage = json(&acme.join("usage.json"));
    assert!(usage["by_variant"].as_object().is_some_and(|v| !v.is_empty()), "usage meters per variant: {usage}");
    let print_pages: u64 = usage["by_label_channel"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["channel"] == "print")
        .map(|r| r["pages"].as_u64().unwrap())
        .sum();
    assert_eq!(print_pages, 1, "PDF pages are metered");

    let manifest = std::fs::read_to_string(acme.join("manifest.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = manifest.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 16, "one line per output");
    let listed: BTreeSet<&str> = lines.iter().map(|l| l["file"].as_str().unwrap()).collect();
    // The outputs are in the sink's first block folder, the run's own files beside it.
    let written: BTreeSet<String> = std::fs::read_dir(acme.join("00000"))
        .unwrap()
        .flatten()
        .map(|e| format!("00000/{}", e.file_name().to_string_lossy()))
        .collect();
    assert_eq!(written.iter().map(String::as_str).collect::<BTreeSet<_>>(), listed, "every output is in the manifest");
    for line in &lines {
        for key in
            ["record", "document_id", "channel", "file", "templates", "plugins", "fuel", "sha256", "bytes", "variant"]
        {
            assert!(line.get(key).is_some(), "manifest line lacks {key}: {line}");
        }
        let bytes = std::fs::read(acme.join(line["file"].as_str().unwrap())).unwrap();
        assert_eq!(line["bytes"], bytes.len());
        let plugins = line["plugins"].as_array().unwrap();
        assert!(plugins.iter().all(|p| p["sha256"].as_str().is_some_and(|s| s.len() == 64)));
    }
    for personal in ["Anna", "de Vries", "Keizersgracht", "anna.devries@example.nl", "O'Connor"] {
        assert!(!manifest.contains(personal), "the manifest must not carry personal data ({personal})");
    }

    // The payment QR code in the first invoice pays the right account the right amount.
    let html = std::fs::read_to_string(acme.join("00000/INV-2026-1001.html")).unwrap();
    assert_eq!(
        qr::decode_all(&html),
        ["BCD\n002\n1\nSCT\nABNANL2A\nACME Energy B.V.\nNL91ABNA0417164300\nEUR228.97\n\nRF18539007547034"]
    );

    // Northwind: SMS where there is a phone number, else e-mail.
    let northwind = out.join("northwind-telecom");
    let sms = json(&northwind.join("00000/NW-2026-11-0001.sms.json"));
    assert_eq!(sms["to"], "+447700900123");
    assert_eq!((sms["encoding"].as_str(), sms["segments"].as_u64()), (Some("gsm7"), Some(1)));
    assert!(sms["text"].as_str().unwrap().contains("NW-2026-11-0001"));
    assert!(!northwind.join("00000/NW-2026-11-0002.sms.json").exists(), "no phone number: no SMS");
    check_email(&northwind.join("00000/NW-2026-11-0002.eml"), "accounts@harbourlights.example", "NW-2026-11-0002");
    for id in ["NW-2026-11-0001", "NW-2026-11-0002"] {
        let text = std::fs::read_to_string(northwind.join(format!("00000/{id}.txt"))).unwrap();
        assert!(text.contains(id), "the text rendition names the document");
    }
}

/// The compile cache the tests share (compiling the Typst component takes
/// tens of seconds; the cache test below uses a fresh one on purpose).
fn shared_cache() -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("tessera-compile-cache")
}

#[test]
fn batch_reports_rejections_and_second_run_uses_the_compile_cache() {
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let out = work.path().join("errors");
    let args = [
        "batch",
        "--tenant",
        "samples/acme-energy",
        "--input",
        "samples/acme-energy/data/billing-errors.csv",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ];
    let first = tessera(&args, &cache);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let report: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(
        (report["records_in"].as_u64(), report["delivered"].as_u64(), report["rejected"].as_u64()),
        (Some(4), Some(1), Some(3))
    );
    let cached: Vec<_> = std::fs::read_dir(cache.join("components")).unwrap().flatten().collect();
    let granted =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/acme-energy/tenant.toml"))
            .unwrap()
            .matches("[[plugins]]")
            .count();
    assert_eq!(cached.len(), granted, "one compiled component per plugin of the tenant");
    let stamps: Vec<_> = cached.iter().map(|e| e.metadata().unwrap().modified().unwrap()).collect();
    let second = tessera(&args, &cache);
    assert!(second.status.success());
    let again: Vec<_> = std::fs::read_dir(cache.join("components"))
        .unwrap()
        .flatten()
        .map(|e| e.metadata().unwrap().modified().unwrap())
        .collect();
    assert_eq!(stamps, again, "the second run loads compiled components, it does not recompile");
}
