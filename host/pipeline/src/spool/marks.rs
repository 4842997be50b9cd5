//! Inserter control marks: the OMR dash code printed on the front of every
//! sheet of a spool, which tells the inserting machine which letter a sheet
//! belongs to and when a letter's last sheet has gone by (so it folds and
//! inserts the collation into one envelope).
//!
//! The code is a column of [`POSITIONS`] positions at the pitch inserters
//! read (one sixth of an inch), each either a dash or none, read from the
//! top:
//!
//! | position | meaning |
//! |---|---|
//! | 0 | start mark, always |
//! | 1 | end of letter: this is the letter's last sheet |
//! | 2–7 | the sheet's number within its letter, from 1 (6 bits, least significant first, modulo 64) |
//! | 8–13 | the letter's number of sheets (6 bits, modulo 64) |
//! | 14–23 | the letter's place in its spool, from 0 (10 bits, modulo 1024) |
//! | 24–31 | the spool's number (8 bits, modulo 256) |
//! | 32 | parity: set when needed to make the number of dashes odd |
//! | 33 | stop mark, always |
//!
//! On a one-sided spool every page is a sheet; on a two-sided one the marks
//! are on the fronts (a letter's odd pages) and the blank backs stay blank.
//! The marks are drawn by Typst in each letter's page foreground (the
//! function `tessera-omr` the spool's markup defines); [`omr_marks`] is the
//! same code in Rust, for whoever reads a spool back (the tests decode
//! every page with it).

use serde::Deserialize;

/// Positions in the column, start and stop marks included.
pub const POSITIONS: usize = 34;
/// Distance between the tops of two positions: 1/6 inch.
pub const PITCH_MM: f64 = 25.4 / 6.0;
/// A dash's length (across the page) and thickness.
pub const DASH_WIDTH_MM: f64 = 8.0;
/// A dash's thickness.
pub const DASH_HEIGHT_MM: f64 = 0.6;

/// `marks = { … }` of a spool: where the column of dashes goes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlMarks {
    /// The code: `omr` (the only one offered).
    #[serde(default)]
    pub kind: MarkKind,
    /// The dashes' left end, in mm from the page's left edge.
    #[serde(default = "default_x")]
    pub x_mm: f64,
    /// The start mark's top, in mm from the page's top edge.
    #[serde(default = "default_y")]
    pub y_mm: f64,
}

/// Which control code is printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MarkKind {
    /// The dash code of this module.
    #[default]
    Omr,
}

fn default_x() -> f64 {
    5.0
}

fn default_y() -> f64 {
    60.0
}

impl ControlMarks {
    /// Why the zone cannot be used, if it cannot.
    pub fn problem(&self) -> Option<String> {
        let fine = |v: f64| v.is_finite() && (0.0..=500.0).contains(&v);
        (!fine(self.x_mm) || !fine(self.y_mm)).then(|| {
            format!(
                "spool marks at x_mm = {}, y_mm = {}: both must be between 0 and 500 (mm from the page's top left)",
                self.x_mm, self.y_mm
            )
        })
    }

    /// The mark zone's height: from the start mark's top to the stop mark's
    /// bottom.
    pub fn height_mm() -> f64 {
        (POSITIONS - 1) as f64 * PITCH_MM + DASH_HEIGHT_MM
    }
}

/// What one sheet's marks say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SheetMarks {
    /// The sheet's number within its letter, from 1.
    pub sheet: u32,
    /// The letter's sheets.
    pub sheets: u32,
    /// The letter's place in the spool, from 0.
    pub place: u32,
    /// The spool's number.
    pub spool: u32,
}

/// The dashes (true) and gaps of a sheet's column, top to bottom.
pub fn omr_marks(sheet: SheetMarks) -> [bool; POSITIONS] {
    let mut marks = [false; POSITIONS];
    marks[0] = true;
    marks[1] = sheet.sheet == sheet.sheets;
    let fields = [(2, 6, sheet.sheet), (8, 6, sheet.sheets), (14, 10, sheet.place), (24, 8, sheet.spool)];
    for (start, bits, value) in fields {
        for bit in 0..bits {
            marks[start + bit] = value >> bit & 1 == 1;
        }
    }
    // With the stop mark still to come, an odd count so far needs the parity dash.
    marks[32] = marks[..32].iter().filter(|&&m| m).count() % 2 == 1;
    marks[33] = true;
    marks
}

/// Reads a column back: what it says, or why it is not a valid code.
pub fn read_omr(marks: &[bool; POSITIONS]) -> Result<SheetMarks, String> {
    if !marks[0] || !marks[33] {
        return Err("no start or stop mark".into());
    }
    if marks.iter().filter(|&&m| m).count() % 2 == 0 {
        return Err("parity error: an even number of dashes".into());
    }
    let field = |start: usize, bits: usize| (0..bits).filter(|&b| marks[start + b]).map(|b| 1u32 << b).sum::<u32>();
    let read = SheetMarks { sheet: field(2, 6), sheets: field(8, 6), place: field(14, 10), spool: field(24, 8) };
    if marks[1] != (read.sheet == read.sheets) {
        return Err(format!("end-of-letter mark {} on sheet {} of {}", marks[1], read.sheet, read.sheets));
    }
    Ok(read)
}

/// The Typst function `tessera-omr(sheet, sheets, place, spool)` that
/// draws the column of [`omr_marks`] at `marks`' zone, placed on the page
/// (meant for the page foreground).
pub(crate) fn typst_definition(marks: &ControlMarks) -> String {
    format!(
        "#let tessera-omr(sheet, sheets, seq, spool) = {{\n\
         \x20 let bits(v, n) = range(n).map(b => calc.rem(calc.quo(v, calc.pow(2, b)), 2) == 1)\n\
         \x20 let marks = (true, sheet == sheets) + bits(calc.rem(sheet, 64), 6) + bits(calc.rem(sheets, 64), 6) + bits(calc.rem(seq, 1024), 10) + bits(calc.rem(spool, 256), 8)\n\
         \x20 marks.push(calc.rem(marks.filter(m => m).len(), 2) == 1)\n\
         \x20 marks.push(true)\n\
         \x20 for (k, m) in marks.enumerate() {{\n\
         \x20   if m {{ place(top + left, dx: {x}mm, dy: {y}mm + k * {PITCH_MM}mm, rect(width: {DASH_WIDTH_MM}mm, height: {DASH_HEIGHT_MM}mm, fill: black, stroke: none)) }}\n\
         \x20 }}\n\
         }}\n",
        x = marks.x_mm,
        y = marks.y_mm,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_reads_back_to_what_it_says() {
        for sheet in [
            SheetMarks { sheet: 1, sheets: 1, place: 0, spool: 1 },
            SheetMarks { sheet: 2, sheets: 3, place: 1023, spool: 255 },
            SheetMarks { sheet: 63, sheets: 63, place: 517, spool: 42 },
        ] {
            let marks = omr_marks(sheet);
            assert_eq!(marks.iter().filter(|&&m| m).count() % 2, 1);
            assert_eq!(read_omr(&marks), Ok(sheet));
        }
    }

    #[test]
    fn a_misread_dash_is_caught() {
        let mut marks = omr_marks(SheetMarks { sheet: 1, sheets: 2, place: 5, spool: 3 });
        marks[20] = !marks[20];
        assert!(read_omr(&marks).unwrap_err().contains("parity"));
        let mut end = omr_marks(SheetMarks { sheet: 1, sheets: 2, place: 5, spool: 3 });
        end[1] = true;
        end[32] = !end[32];
        assert!(read_omr(&end).unwrap_err().contains("end-of-letter"));
    }

    #[test]
    fn a_zone_off_any_page_is_refused() {
        let marks = ControlMarks { kind: MarkKind::Omr, x_mm: -1.0, y_mm: 60.0 };
        assert!(marks.problem().is_some());
        assert!(ControlMarks { x_mm: 5.0, ..marks }.problem().is_none());
        assert!(ControlMarks::height_mm() > 139.0 && ControlMarks::height_mm() < 141.0);
    }
}
