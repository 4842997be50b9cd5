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
