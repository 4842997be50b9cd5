//! `print-compose`: a tessera formatter that composes print PDFs from a
//! layout description ([`layout`]: JSON a Tera template renders) instead of
//! typesetting markup — the way high-volume print engines work: positioned
//! blocks, tables and images on pages, fonts subset and images embedded once
//! per file.
//!
//! It exists for speed at print volume. Typst lays out any document and
//! pays for that generality on every letter (~20 ms in the sandbox); a
//! letter here is a few hundred glyph runs and rules placed by a simple
//! flow ([`flow`]), so a print spool of a hundred letters costs about what
//! Typst spends on one or two. A spool ([`layout::Spool`]) is its letters
//! one after the other, each from a new page (an odd one when printed on
//! both sides), with the inserter's control marks and a bookmark on every
//! letter's first page — what the host reads the page ranges from.
//!
//! The core ([`compose`]) is plain Rust so tests and benchmarks run it
//! natively; the WIT glue exists only when built for WebAssembly.

#[cfg(target_arch = "wasm32")]
mod component;

pub mod flow;
pub mod fonts;
pub mod layout;
pub mod page;
pub mod pdf;
pub mod svg;

use flow::LetterLayout;
use layout::{Letter, Markup, Spool};
use omr_code::{DASH_HEIGHT_MM, DASH_WIDTH_MM, PITCH_MM, SheetMarks, omr_marks};
use page::{Item, PT_PER_MM, Page, Rgb};
use svg::Images;

/// The title of the bookmark on a spool letter's first page, before the
/// letter's place in the spool (what the host's spool reader looks for).
pub const SPOOL_MARKER: &str = "tessera spool letter ";

/// A composed PDF.
pub struct Composed {
    pub pdf: Vec<u8>,
    pub pages: u32,
}

/// Why markup could not be composed.
#[derive(Debug)]
pub struct ComposeError {
    pub message: String,
    /// 1-based line and column in the markup, when the error points there.
    pub at: Option<(u32, u32)>,
}

impl ComposeError {
    fn of_letter(index: Option<usize>, e: flow::LayoutError) -> ComposeError {
        let message = match index {
            Some(i) => format!("letter {i} of the spool: {}", e.0),
            None => e.0,
        };
        ComposeError { message, at: None }
    }
}

/// Composes a letter or a spool.
pub fn compose(markup: &str) -> Result<Composed, ComposeError> {
    let parsed =
        layout::parse(markup).map_err(|e| ComposeError { message: e.message, at: Some((e.line, e.column)) })?;
    match parsed {
        Markup::Letter(letter) => compose_letter(&letter),
        Markup::Spool(spool) => compose_spool(&spool),
    }
}

fn compose_letter(letter: &Letter) -> Result<Composed, ComposeError> {
    let mut images = Images::default();
    let pages = LetterLayout::new(letter, &mut images)
        .and_then(|mut l| l.pages())
        .map_err(|e| ComposeError::of_letter(None, e))?;
    let info = pdf::Info { title: letter.title.as_deref(), author: letter.author.as_deref() };
    finish(&pages, &images, info)
}

fn compose_spool(spool: &Spool) -> Result<Composed, ComposeError> {
    let setup = &spool.spool;
    let mut images = Images::default();
    let mut pages: Vec<Page> = Vec::new();
    for (index, letter) in spool.letters.iter().enumerate() {
        let mut own = LetterLayout::new(letter, &mut images)
            .and_then(|mut l| l.pages())
            .map_err(|e| ComposeError::of_letter(Some(index), e))?;
        let count = own.len() as u32;
        let place = setup.first_place + index as u32;
        if let Some(first) = own.first_mut() {
            first.bookmark = Some(format!("{SPOOL_MARKER}{index}"));
        }
        if let Some(zone) = setup.marks {
            let sheets = if setup.duplex { count.div_ceil(2) } else { count };
            for (n, page) in own.iter_mut().enumerate() {
                let n = n as u32;
                if setup.duplex && n % 2 == 1 {
                    continue;
                }
                let sheet = if setup.duplex { n / 2 + 1 } else { n + 1 };
                let marks = omr_marks(SheetMarks { sheet, sheets, place, spool: setup.number });
                draw_marks(page, zone, &marks);
            }
        }
        let blank = setup.duplex && count % 2 == 1 && index + 1 < spool.letters.len();
        let size = own.last().map(|p| (p.width, p.height));
        pages.extend(own);
        if let (true, Some((width, height))) = (blank, size) {
            pages.push(Page { width, height, items: Vec::new(), bookmark: None });
        }
    }
    let info = pdf::Info { title: setup.title.as_deref(), author: None };
    finish(&pages, &images, info)
}

fn draw_marks(page: &mut Page, zone: layout::MarkZone, marks: &[bool]) {
    for (k, _) in marks.iter().enumerate().filter(|(_, dash)| **dash) {
        let top = zone.y_mm as f64 + k as f64 * PITCH_MM;
        page.items.push(Item::Rect {
            x: zone.x_mm * PT_PER_MM,
            y: top as f32 * PT_PER_MM,
            w: DASH_WIDTH_MM as f32 * PT_PER_MM,
            h: DASH_HEIGHT_MM as f32 * PT_PER_MM,
            color: Rgb::BLACK,
        });
    }
}

fn finish(pages: &[Page], images: &Images, info: pdf::Info<'_>) -> Result<Composed, ComposeError> {
    if pages.is_empty() {
        return Err(ComposeError { message: "nothing to print: no letters".into(), at: None });
    }
    let pdf = pdf::write(pages, images, info).map_err(|message| ComposeError { message, at: None })?;
    Ok(Composed { pdf, pages: pages.len() as u32 })
}
