//! Reading PDFs back with an independent reader: poppler's `pdftotext`
//! (poppler-utils; `.ci/run` installs it).

/// How pdftotext lays the text out.
#[derive(Clone, Copy)]
pub enum Mode {
    /// Reading order (pdftotext's default).
    Reading,
    /// Each table row kept on its line: "Total to pay   NOK 801.78".
    Layout,
    /// Content-stream order, as the host's self-check reads it.
    Raw,
}

/// The text of a PDF.
pub fn pdftotext(pdf: &[u8], mode: Mode) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("letter.pdf");
    std::fs::write(&file, pdf).unwrap();
    let mut cmd = std::process::Command::new("pdftotext");
    match mode {
        Mode::Reading => {}
        Mode::Layout => {
            cmd.arg("-layout");
        }
        Mode::Raw => {
            cmd.arg("-raw");
        }
    }
    let out = cmd.arg(&file).arg("-").output().unwrap_or_else(|e| {
        panic!("pdftotext (poppler-utils) is needed: {e}; `.ci/run` installs it, or `apt-get install poppler-utils`")
    });
    assert!(out.status.success(), "pdftotext: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Writes `pdf` to a temporary file and runs `tool` with `args`, the
/// file's path before a `-` argument (standard output) or else last;
/// returns what the tool printed.
fn run_on(tool: &str, args: &[&str], pdf: &[u8], needed: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("spool.pdf");
    std::fs::write(&file, pdf).unwrap();
    let (before, after) = match args.iter().position(|a| *a == "-") {
        Some(i) => (&args[..i], &args[i..]),
        None => (args, &[][..]),
    };
    let out = std::process::Command::new(tool)
        .args(before)
        .arg(&file)
        .args(after)
        .output()
        .unwrap_or_else(|e| panic!("{tool} ({needed}) is needed: {e}; `.ci/run` installs it"));
    assert!(
        out.status.success(),
        "{tool}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `qpdf --check` passes (panics with what qpdf said otherwise).
pub fn qpdf_check(pdf: &[u8]) {
    let said = run_on("qpdf", &["--check"], pdf, "Debian qpdf");
    assert!(said.contains("No syntax or stream encoding errors"), "qpdf --check: {said}");
}

/// Pages, as `pdfinfo` counts them.
pub fn pdfinfo_pages(pdf: &[u8]) -> u32 {
    let info = run_on("pdfinfo", &[], pdf, "poppler-utils");
    let line = info.lines().find(|l| l.starts_with("Pages:")).expect("pdfinfo prints the page count");
    line["Pages:".len()..].trim().parse().expect("a page count")
}

/// The text of pages `first..=last` (`pdftotext -f first -l last`).
pub fn pdftotext_pages(pdf: &[u8], first: u32, last: u32) -> String {
    // pdftotext ends each page with a form feed.
    run_on("pdftotext", &["-f", &first.to_string(), "-l", &last.to_string(), "-"], pdf, "poppler-utils")
        .replace('\u{c}', "")
}
