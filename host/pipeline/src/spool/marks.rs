//! Inserter control marks: the OMR dash code printed on the front of every
//! sheet of a spool, which tells the inserting machine which letter a sheet
//! belongs to and when a letter's last sheet has gone by (so it folds and
//! inserts the collation into one envelope).
//!
//! The code itself — which position says what — is the `omr-code` crate
//! (`plugins/formatters/print-compose/omr-code`), shared with the print composer plugin that
//! draws it; this module re-exports it and places it.
//!
//! On a one-sided spool every page is a sheet; on a two-sided one the marks
//! are on the fronts (a letter's odd pages) and the blank backs stay blank.
//! Typst draws the marks in each letter's page foreground (the function
//! `tessera-omr` a Typst spool's markup defines, `typst_definition`);
//! the print composer draws them itself from [`omr_marks`].

use serde::Deserialize;

pub use omr_code::{DASH_HEIGHT_MM, DASH_WIDTH_MM, PITCH_MM, POSITIONS, SheetMarks, omr_marks, read_omr};

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
    fn a_zone_off_any_page_is_refused() {
        let marks = ControlMarks { kind: MarkKind::Omr, x_mm: -1.0, y_mm: 60.0 };
        assert!(marks.problem().is_some());
        assert!(ControlMarks { x_mm: 5.0, ..marks }.problem().is_none());
        assert!(ControlMarks::height_mm() > 139.0 && ControlMarks::height_mm() < 141.0);
    }
}
