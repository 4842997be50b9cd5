//! The fonts shipped in the component (Typst's bundled set: Libertinus
//! Serif, New Computer Modern, DejaVu Sans Mono), parsed once per
//! instance, and how a character finds its glyph: in the face the style
//! asks for, else in the first face of the set that has it.

use std::sync::OnceLock;
use ttf_parser::{Face, GlyphId};

/// Index of a face in [`faces`].
pub type FaceId = usize;

/// One parsed face.
pub struct ShippedFace {
    pub data: &'static [u8],
    pub face: Face<'static>,
    pub family: String,
    /// The PostScript name, for the PDF.
    pub postscript: String,
    pub bold: bool,
    pub italic: bool,
    pub units_per_em: f32,
    pub ascender: f32,
    pub descender: f32,
    pub cap_height: f32,
    /// CFF outlines (else TrueType).
    pub cff: bool,
}

impl ShippedFace {
    /// The advance of `glyph` at `size` points.
    pub fn advance(&self, glyph: u16, size: f32) -> f32 {
        f32::from(self.face.glyph_hor_advance(GlyphId(glyph)).unwrap_or(0)) * size / self.units_per_em
    }
}

/// Every shipped face, parsed on first use.
pub fn faces() -> &'static [ShippedFace] {
    static FACES: OnceLock<Vec<ShippedFace>> = OnceLock::new();
    FACES.get_or_init(|| {
        typst_assets::fonts()
            .filter_map(|data| {
                let face = Face::parse(data, 0).ok()?;
                let name = |id| {
                    face.names().into_iter().find(|n| n.name_id == id && n.is_unicode()).and_then(|n| n.to_string())
                };
                let family =
                    name(ttf_parser::name_id::TYPOGRAPHIC_FAMILY).or_else(|| name(ttf_parser::name_id::FAMILY))?;
                let postscript = name(ttf_parser::name_id::POST_SCRIPT_NAME).unwrap_or_else(|| family.replace(' ', ""));
                let units_per_em = f32::from(face.units_per_em());
                Some(ShippedFace {
                    data,
                    family,
                    postscript,
                    bold: face.is_bold(),
                    italic: face.is_italic(),
                    units_per_em,
                    ascender: f32::from(face.ascender()),
                    descender: f32::from(face.descender()),
                    cap_height: f32::from(face.capital_height().unwrap_or(face.ascender())),
                    cff: face.tables().cff.is_some(),
                    face,
                })
            })
            .collect()
    })
}

/// The face of `family` closest to the style: exact match, else the same
/// family's regular, else the first face.
pub fn pick(family: &str, bold: bool, italic: bool) -> Option<FaceId> {
    let faces = faces();
    let of_family = |f: &ShippedFace| f.family.eq_ignore_ascii_case(family);
    faces
        .iter()
        .position(|f| of_family(f) && f.bold == bold && f.italic == italic)
        .or_else(|| faces.iter().position(|f| of_family(f) && f.bold == bold))
        .or_else(|| faces.iter().position(of_family))
}

/// Families offered, for an error message.
pub fn families() -> Vec<&'static str> {
    let mut names: Vec<&str> = faces().iter().map(|f| f.family.as_str()).collect();
    names.dedup();
    names
}

/// The face and glyph that draw `c`: `preferred` when it has the
/// character, else the first shipped face of the same weight and slant that
/// has it, else any face that has it, else `preferred`'s missing glyph.
pub fn glyph(preferred: FaceId, c: char) -> (FaceId, u16) {
    let faces = faces();
    if let Some(g) = faces[preferred].face.glyph_index(c) {
        return (preferred, g.0);
    }
    let want = &faces[preferred];
    let same_style = faces
        .iter()
        .enumerate()
        .filter(|(_, f)| f.bold == want.bold && f.italic == want.italic)
        .find_map(|(i, f)| f.face.glyph_index(c).map(|g| (i, g.0)));
    same_style
        .or_else(|| faces.iter().enumerate().find_map(|(i, f)| f.face.glyph_index(c).map(|g| (i, g.0))))
        .unwrap_or((preferred, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libertinus_has_its_styles_and_falls_back_for_odd_characters() {
        let regular = pick("Libertinus Serif", false, false).expect("shipped");
        let bold = pick("libertinus serif", true, false).expect("shipped");
        assert_ne!(regular, bold);
        assert!(faces()[bold].bold && faces()[regular].cff);
        let (face, glyph) = super::glyph(regular, 'A');
        assert_eq!(face, regular);
        assert!(glyph > 0 && faces()[face].advance(glyph, 10.0) > 3.0);
        assert!(pick("Comic Sans", false, false).is_none());
    }
}
