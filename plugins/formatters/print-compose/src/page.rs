//! What a laid-out page holds: glyph runs, rectangles, lines and placed
//! images, in points from the page's top left — the composer's display
//! list, which [`crate::pdf`] writes.

use crate::fonts::FaceId;

pub const PT_PER_MM: f32 = 72.0 / 25.4;

/// A colour, components 0–1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgb(pub f32, pub f32, pub f32);

impl Rgb {
    pub const BLACK: Rgb = Rgb(0.0, 0.0, 0.0);

    /// `#rrggbb` or `#rgb`.
    pub fn parse(text: &str) -> Option<Rgb> {
        let hex = text.strip_prefix('#')?;
        let channel = |s: &str| u8::from_str_radix(s, 16).ok().map(|v| f32::from(v) / 255.0);
        match hex.len() {
            6 => Some(Rgb(channel(&hex[0..2])?, channel(&hex[2..4])?, channel(&hex[4..6])?)),
            3 => {
                let one = |i: usize| channel(&hex[i..i + 1].repeat(2));
                Some(Rgb(one(0)?, one(1)?, one(2)?))
            }
            _ => None,
        }
    }
}

/// One glyph of a run and the character it draws (for the PDF's text).
#[derive(Debug, Clone, Copy)]
pub struct Glyph {
    pub id: u16,
    pub text: char,
}

#[derive(Debug, Clone)]
pub enum Item {
    /// Glyphs of one face, size and colour from `(x, y)`, the baseline's start.
    Glyphs { x: f32, y: f32, face: FaceId, size: f32, color: Rgb, glyphs: Vec<Glyph> },
    /// A filled rectangle, `(x, y)` its top left.
    Rect { x: f32, y: f32, w: f32, h: f32, color: Rgb },
    /// A straight line.
    Line { x1: f32, y1: f32, x2: f32, y2: f32, width: f32, color: Rgb },
    /// Image `image` of the document's images, `(x, y)` its top left.
    Image { x: f32, y: f32, w: f32, h: f32, image: usize },
}

impl Item {
    /// The same item moved by `(dx, dy)`.
    pub fn shifted(mut self, dx: f32, dy: f32) -> Item {
        match &mut self {
            Item::Glyphs { x, y, .. } | Item::Rect { x, y, .. } | Item::Image { x, y, .. } => {
                *x += dx;
                *y += dy;
            }
            Item::Line { x1, y1, x2, y2, .. } => {
                *x1 += dx;
                *x2 += dx;
                *y1 += dy;
                *y2 += dy;
            }
        }
        self
    }
}

/// A finished page.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub width: f32,
    pub height: f32,
    pub items: Vec<Item>,
    /// The outline entry that points here (a spool letter's first page).
    pub bookmark: Option<String>,
}
