//! The official EN 16931 validators (the CEN Schematron compiled to XSLT
//! 2.0, copied to `samples/sources/en16931-validation/`), run by Debian's
//! Saxon-B over a folder of files in one JVM start, with the SVRL reports
//! read back: a failed assert flagged `fatal` is a broken business rule.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A syntax and its validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// UN/CEFACT CII D16B.
    Cii,
    /// UBL 2.1.
    Ubl,
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    /// `BR-CO-16`.
    pub id: String,
    /// The XPath of the element it fired on.
    pub location: String,
    /// The rule's text.
    pub text: String,
}

/// What the validator said about one file.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// Rules that fired (so a report that checked nothing is noticed).
    pub fired: usize,
    /// Fatal failed asserts.
    pub fatal: Vec<Fatal>,
    /// Warnings (failed asserts flagged `warning`).
    pub warnings: usize,
}

/// The repository's copy of the conformance set (`samples/sources/`,
/// compared with the shared set by the pipeline's conformance test).
fn conformance() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/sources")
}

/// Installs Saxon-B (and the Factur-X checker) when missing.
pub fn setup() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/einvoice/setup.sh");
    let status = Command::new("bash").arg(&script).status().expect("bash runs");
    assert!(status.success(), "{} failed", script.display());
}

/// Validates every file of `files` (name → path) with `syntax`'s validator.
pub fn validate(syntax: Syntax, files: &BTreeMap<String, PathBuf>) -> BTreeMap<String, Verdict> {
    let work = tempfile::tempdir().unwrap();
    let (input, output) = (work.path().join("in"), work.path().join("svrl"));
    std::fs::create_dir_all(&input).unwrap();
    std::fs::create_dir_all(&output).unwrap();
    for (name, path) in files {
        std::fs::copy(path, input.join(format!("{name}.xml"))).unwrap();
    }
    let xslt = conformance().join("en16931-validation").join(match syntax {
        Syntax::Cii => "EN16931-CII-validation.xslt",
        Syntax::Ubl => "EN16931-UBL-validation.xslt",
    });
    let out = Command::new("saxonb-xslt")
        .arg(format!("-s:{}", input.display()))
        .arg(format!("-xsl:{}", xslt.display()))
        .arg(format!("-o:{}", output.display()))
        .output()
        .expect("saxonb-xslt runs (tests/einvoice/setup.sh installs it)");
    assert!(out.status.success(), "saxonb-xslt: {}", String::from_utf8_lossy(&out.stderr));
    files
        .keys()
        .map(|name| {
            let svrl = std::fs::read_to_string(output.join(format!("{name}.xml")))
                .unwrap_or_else(|e| panic!("no SVRL report for {name}: {e}"));
            (name.clone(), read_svrl(&svrl))
        })
        .collect()
}

fn read_svrl(svrl: &str) -> Verdict {
    let doc = roxmltree::Document::parse(svrl).expect("SVRL is XML");
    let mut verdict = Verdict::default();
    for node in doc.descendants().filter(|n| n.is_element()) {
        match node.tag_name().name() {
            "fired-rule" => verdict.fired += 1,
            "failed-assert" if node.attribute("flag") == Some("fatal") => verdict.fatal.push(Fatal {
                id: node.attribute("id").unwrap_or_default().to_owned(),
                location: node.attribute("location").unwrap_or_default().to_owned(),
                text: node
                    .descendants()
                    .find(|t| t.tag_name().name() == "text")
                    .and_then(|t| t.text())
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            }),
            "failed-assert" => verdict.warnings += 1,
            _ => {}
        }
    }
    verdict
}

/// The conformance files of one syntax, by name.
pub fn conformance_files(folder: &str) -> BTreeMap<String, PathBuf> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(conformance().join(folder)).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "xml") {
            files.insert(path.file_stem().unwrap().to_string_lossy().into_owned(), path);
        }
    }
    files
}
