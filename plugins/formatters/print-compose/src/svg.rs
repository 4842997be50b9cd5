//! SVG images (logos, the payment QR code) as PDF drawing operators, each
//! distinct image once per PDF: a spool's hundred letters with the same
//! logo carry it once, as one form XObject all their pages draw.
//!
//! usvg parses and resolves the SVG (styles, transforms, text as outlines
//! from the shipped fonts); paths with flat fills and strokes are drawn,
//! gradients and patterns are filled with their first colour, embedded
//! raster images are left out.

use pdf_writer::Content;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use usvg::{Node, Paint};

/// One image: its size in SVG pixels and its drawing operators (in SVG
/// pixels, y down, which the form's matrix turns upright).
pub struct SvgImage {
    pub width: f32,
    pub height: f32,
    pub content: Vec<u8>,
}

/// The distinct images of one PDF.
#[derive(Default)]
pub struct Images {
    pub list: Vec<SvgImage>,
    seen: HashMap<String, usize>,
}

/// Points per SVG pixel (1 px = 1/96 in).
const PT_PER_PX: f32 = 0.75;

impl Images {
    /// The image's index and natural size in points, converting it the first
    /// time it is seen.
    pub fn add(&mut self, svg: &str) -> Result<(usize, f32, f32), String> {
        let index = match self.seen.get(svg) {
            Some(&index) => index,
            None => {
                let image = convert(svg)?;
                self.list.push(image);
                self.seen.insert(svg.to_owned(), self.list.len() - 1);
                self.list.len() - 1
            }
        };
        let image = &self.list[index];
        Ok((index, image.width * PT_PER_PX, image.height * PT_PER_PX))
    }
}

fn options() -> &'static usvg::Options<'static> {
    static OPTIONS: OnceLock<usvg::Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        for data in typst_assets::fonts() {
            db.load_font_data(data.to_vec());
        }
        // Logos ask for Helvetica or Arial, which are not shipped.
        db.set_sans_serif_family("Libertinus Serif");
        db.set_serif_family("Libertinus Serif");
        db.set_monospace_family("DejaVu Sans Mono");
        usvg::Options { fontdb: Arc::new(db), font_family: "Libertinus Serif".into(), ..usvg::Options::default() }
    })
}

fn convert(svg: &str) -> Result<SvgImage, String> {
    let tree = usvg::Tree::from_str(svg, options()).map_err(|e| format!("an image is not a readable SVG: {e}"))?;
    let size = tree.size();
    let mut content = Content::new();
    draw_group(tree.root(), &mut content);
    Ok(SvgImage { width: size.width(), height: size.height(), content: content.finish().to_vec() })
}

fn draw_group(group: &usvg::Group, out: &mut Content) {
    for node in group.children() {
        match node {
            Node::Group(group) => draw_group(group, out),
            Node::Path(path) => draw_path(path, out),
            Node::Text(text) => draw_group(text.flattened(), out),
            Node::Image(_) => {}
        }
    }
}

fn draw_path(path: &usvg::Path, out: &mut Content) {
    if !path.is_visible() {
        return;
    }
    let fill = path.fill().and_then(|f| color(f.paint()).map(|c| (c, f.rule())));
    let stroke = path.stroke().and_then(|s| color(s.paint()).map(|c| (c, s.width().get())));
    if fill.is_none() && stroke.is_none() {
        return;
    }
    let t = path.abs_transform();
    out.save_state();
    out.transform([t.sx, t.ky, t.kx, t.sy, t.tx, t.ty]);
    if let Some(((r, g, b), _)) = fill {
        out.set_fill_rgb(r, g, b);
    }
    if let Some(((r, g, b), width)) = stroke {
        out.set_stroke_rgb(r, g, b);
        out.set_line_width(width);
    }
    draw_segments(path.data(), out);
    let even_odd = matches!(fill, Some((_, usvg::FillRule::EvenOdd)));
    match (fill.is_some(), stroke.is_some(), even_odd) {
        (true, true, false) => out.fill_nonzero_and_stroke(),
        (true, true, true) => out.fill_even_odd_and_stroke(),
        (true, false, false) => out.fill_nonzero(),
        (true, false, true) => out.fill_even_odd(),
        (false, _, _) => out.stroke(),
    };
    out.restore_state();
}

/// The path's outline: a closed subpath that is an axis-aligned rectangle
/// as one `re` (a QR code is hundreds of them: a third of the bytes of
/// four lines each), anything else segment by segment.
fn draw_segments(data: &usvg::tiny_skia_path::Path, out: &mut Content) {
    use usvg::tiny_skia_path::PathSegment;
    // The current subpath while it may still be a rectangle: its corners.
    let mut corners: Vec<(f32, f32)> = Vec::with_capacity(5);
    let mut plain = false;
    let mut last = (0.0, 0.0);
    let flush_as_lines = |corners: &mut Vec<(f32, f32)>, out: &mut Content| {
        if let Some((&(x, y), rest)) = corners.split_first() {
            out.move_to(x, y);
            for &(x, y) in rest {
                out.line_to(x, y);
            }
        }
        corners.clear();
    };
    for segment in data.segments() {
        match segment {
            PathSegment::MoveTo(p) => {
                flush_as_lines(&mut corners, out);
                plain = false;
                corners.push((p.x, p.y));
                last = (p.x, p.y);
            }
            PathSegment::LineTo(p) if !plain && corners.len() < 5 => {
                corners.push((p.x, p.y));
                last = (p.x, p.y);
            }
            PathSegment::Close if !plain => match rectangle(&corners) {
                Some((x, y, w, h)) => {
                    out.rect(x, y, w, h);
                    corners.clear();
                }
                None => {
                    flush_as_lines(&mut corners, out);
                    out.close_path();
                }
            },
            other => {
                if !plain {
                    flush_as_lines(&mut corners, out);
                    plain = true;
                }
                match other {
                    PathSegment::MoveTo(p) | PathSegment::LineTo(p) => {
                        out.line_to(p.x, p.y);
                        last = (p.x, p.y);
                    }
                    PathSegment::QuadTo(c, p) => {
                        // A quadratic Bézier as the cubic PDF draws.
                        let c1 = (last.0 + 2.0 / 3.0 * (c.x - last.0), last.1 + 2.0 / 3.0 * (c.y - last.1));
                        let c2 = (p.x + 2.0 / 3.0 * (c.x - p.x), p.y + 2.0 / 3.0 * (c.y - p.y));
                        out.cubic_to(c1.0, c1.1, c2.0, c2.1, p.x, p.y);
                        last = (p.x, p.y);
                    }
                    PathSegment::CubicTo(c1, c2, p) => {
                        out.cubic_to(c1.x, c1.y, c2.x, c2.y, p.x, p.y);
                        last = (p.x, p.y);
                    }
                    PathSegment::Close => {
                        out.close_path();
                    }
                }
            }
        }
    }
    flush_as_lines(&mut corners, out);
}

/// `(x, y, width, height)` when the corners (the last may repeat the first)
/// go round an axis-aligned rectangle.
fn rectangle(corners: &[(f32, f32)]) -> Option<(f32, f32, f32, f32)> {
    let corners = match corners {
        [first, rest @ .., last] if rest.len() == 3 && first == last => &corners[..4],
        c if c.len() == 4 => c,
        _ => return None,
    };
    let edges_straight = (0..4).all(|i| {
        let (a, b) = (corners[i], corners[(i + 1) % 4]);
        a.0 == b.0 || a.1 == b.1
    });
    let xs = corners.iter().map(|c| c.0);
    let ys = corners.iter().map(|c| c.1);
    let (x0, x1) = (xs.clone().fold(f32::INFINITY, f32::min), xs.fold(f32::NEG_INFINITY, f32::max));
    let (y0, y1) = (ys.clone().fold(f32::INFINITY, f32::min), ys.fold(f32::NEG_INFINITY, f32::max));
    let on_corners = corners.iter().all(|&(x, y)| (x == x0 || x == x1) && (y == y0 || y == y1));
    (edges_straight && on_corners).then_some((x0, y0, x1 - x0, y1 - y0))
}

fn color(paint: &Paint) -> Option<(f32, f32, f32)> {
    let c = match paint {
        Paint::Color(c) => *c,
        Paint::LinearGradient(g) => g.stops().first()?.color(),
        Paint::RadialGradient(g) => g.stops().first()?.color(),
        Paint::Pattern(_) => return None,
    };
    Some((f32::from(c.red) / 255.0, f32::from(c.green) / 255.0, f32::from(c.blue) / 255.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_image_is_kept_once() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><rect width="20" height="10" fill="#0b4f8a"/></svg>"##;
        let mut images = Images::default();
        let (a, w, h) = images.add(svg).unwrap();
        let (b, _, _) = images.add(svg).unwrap();
        assert_eq!((a, b, images.list.len()), (0, 0, 1));
        assert_eq!((w, h), (15.0, 7.5));
        assert!(String::from_utf8_lossy(&images.list[0].content).contains("\nf\n"));
        assert!(images.add("<svg").is_err());
    }

    #[test]
    fn rectangles_are_drawn_as_rectangles_and_other_shapes_as_they_are() {
        assert_eq!(rectangle(&[(1.0, 2.0), (4.0, 2.0), (4.0, 3.0), (1.0, 3.0)]), Some((1.0, 2.0, 3.0, 1.0)));
        assert_eq!(
            rectangle(&[(1.0, 2.0), (4.0, 2.0), (4.0, 3.0), (1.0, 3.0), (1.0, 2.0)]),
            Some((1.0, 2.0, 3.0, 1.0))
        );
        assert_eq!(rectangle(&[(0.0, 0.0), (4.0, 1.0), (4.0, 3.0), (1.0, 3.0)]), None);
        let qr = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><path d="M1 1h3v1h-3zM2 4h1v2h-1zM5 5l3 0l-1 2z"/></svg>"#;
        let mut images = Images::default();
        images.add(qr).unwrap();
        let ops = String::from_utf8_lossy(&images.list[0].content).into_owned();
        assert_eq!(ops.matches(" re").count(), 2, "{ops}");
        assert_eq!(ops.matches(" l").count(), 2, "the triangle stays a path: {ops}");
    }
}
