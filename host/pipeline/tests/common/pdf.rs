//! Reading PDFs back with an independent reader: poppler's `pdftotext`
//! (poppler-utils; `.ci/run` installs it).

use tessera_pipeline::spool::marks::{DASH_HEIGHT_MM, DASH_WIDTH_MM, PITCH_MM, POSITIONS};

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

/// The inserter control marks of every page of `pdf`, read from pixels
/// (`pdftoppm` at 150 dpi, grey): for each page the column of
/// [`POSITIONS`] dash positions whose first dash's top is `y_mm` from the
/// page's top and whose dashes start `x_mm` from its left edge; a position
/// holds a dash when the middle of where it would be is dark.
pub fn omr_columns(pdf: &[u8], x_mm: f64, y_mm: f64) -> Vec<[bool; POSITIONS]> {
    const DPI: f64 = 150.0;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("spool.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftoppm")
        .args(["-r", "150", "-gray"])
        .arg(&file)
        .arg(dir.path().join("page"))
        .output()
        .unwrap_or_else(|e| panic!("pdftoppm (poppler-utils) is needed: {e}; `.ci/run` installs it"));
    assert!(out.status.success(), "pdftoppm: {}", String::from_utf8_lossy(&out.stderr));
    let mut pages: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pgm"))
        .collect();
    // pdftoppm numbers pages with as many digits as the last one needs.
    pages.sort();
    let px = |mm: f64| (mm / 25.4 * DPI).round() as usize;
    pages
        .iter()
        .map(|path| {
            let image = std::fs::read(path).unwrap();
            let (width, grey) = read_pgm(&image);
            let dark = |x: usize, y: usize| grey.get(y * width + x).is_some_and(|&v| v < 100);
            let mut column = [false; POSITIONS];
            for (k, slot) in column.iter_mut().enumerate() {
                let y = px(y_mm + k as f64 * PITCH_MM + DASH_HEIGHT_MM / 2.0);
                let xs = [x_mm + 1.0, x_mm + DASH_WIDTH_MM / 2.0, x_mm + DASH_WIDTH_MM - 1.0].map(px);
                *slot = xs.iter().all(|&x| dark(x, y));
            }
            column
        })
        .collect()
}

/// Checks that every letter of `spool` (whose markup titles it "Letter
/// <id>") is on its own pages only and that its blank back, when it has
/// one, is blank; returns each letter's text, in spool order.
pub fn assert_letters_on_their_own_pages(spool: &tessera_pipeline::spool::Spool) -> Vec<String> {
    let mut texts = Vec::with_capacity(spool.letters.len());
    for placed in &spool.letters {
        let text = pdftotext_pages(&spool.pdf, placed.pages.first, placed.pages.last);
        assert!(text.contains(&format!("Letter {}", placed.document_id)), "{text}");
        for other in spool.letters.iter().filter(|o| o.seq != placed.seq) {
            assert!(!text.contains(&format!("Letter {}\n", other.document_id)), "{text}");
        }
        if placed.pages.blank_after == 1 {
            let blank = pdftotext_pages(&spool.pdf, placed.pages.last + 1, placed.pages.last + 1);
            assert!(blank.trim().is_empty(), "the back of page {} is blank: {blank:?}", placed.pages.last);
        }
        texts.push(text);
    }
    texts
}

/// Reads the control marks of every page of `spool` (made with marks at
/// `marks`) and checks each against what its letter and sheet must say:
/// the fronts of a two-sided spool and every page of a one-sided one carry
/// marks, backs and blanks none. Returns how many pages carry marks.
pub fn assert_marks_read_back(
    spool: &tessera_pipeline::spool::Spool,
    marks: &tessera_pipeline::spool::marks::ControlMarks,
    duplex: bool,
    number: u32,
) -> usize {
    use tessera_pipeline::spool::marks::{SheetMarks, read_omr};
    let columns = omr_columns(&spool.pdf, marks.x_mm, marks.y_mm);
    assert_eq!(columns.len() as u32, spool.pages);
    let mut expected = vec![None; columns.len()];
    for (place, letter) in spool.letters.iter().enumerate() {
        let sheets = if duplex { letter.pages.pages().div_ceil(2) } else { letter.pages.pages() };
        for page in letter.pages.first..=letter.pages.last {
            let nth = page - letter.pages.first;
            if duplex && nth % 2 == 1 {
                continue;
            }
            let sheet = if duplex { nth / 2 + 1 } else { nth + 1 };
            expected[page as usize - 1] = Some(SheetMarks { sheet, sheets, place: place as u32, spool: number });
        }
    }
    for (page, (column, expected)) in columns.iter().zip(&expected).enumerate() {
        match expected {
            Some(expected) => {
                let read = read_omr(column).unwrap_or_else(|e| panic!("page {}: {e}: {column:?}", page + 1));
                assert_eq!(&read, expected, "duplex {duplex}, page {}", page + 1);
            }
            None => assert!(column.iter().all(|m| !m), "page {} carries no marks: {column:?}", page + 1),
        }
    }
    expected.iter().flatten().count()
}

/// A binary greyscale PGM (`P5`, 8 bits): its width and its pixels.
fn read_pgm(bytes: &[u8]) -> (usize, &[u8]) {
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(std::str::from_utf8(&bytes[start..at]).unwrap().to_owned());
    }
    assert_eq!((fields[0].as_str(), fields[3].as_str()), ("P5", "255"), "an 8-bit binary PGM");
    let width: usize = fields[1].parse().unwrap();
    let height: usize = fields[2].parse().unwrap();
    let pixels = &bytes[at + 1..];
    assert_eq!(pixels.len(), width * height, "the PGM holds its pixels");
    (width, pixels)
}
