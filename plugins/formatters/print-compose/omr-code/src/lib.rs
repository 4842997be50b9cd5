//! The OMR dash code of tessera's print spools: a column of [`POSITIONS`]
//! positions at the pitch inserters read (one sixth of an inch), each a
//! dash or none, read from the top:
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
//! One crate for the two sides that must agree: the print composer that
//! draws the code and the host that reads spools back (its tests decode
//! every page with [`read_omr`]).

/// Positions in the column, start and stop marks included.
pub const POSITIONS: usize = 34;
/// Distance between the tops of two positions: 1/6 inch.
pub const PITCH_MM: f64 = 25.4 / 6.0;
/// A dash's length (across the page) and thickness.
pub const DASH_WIDTH_MM: f64 = 8.0;
/// A dash's thickness.
pub const DASH_HEIGHT_MM: f64 = 0.6;

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
}
