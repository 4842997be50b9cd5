//! Writes laid-out pages as one PDF: every face subset once for the whole
//! file (a spool's letters share their fonts), every image once as a form
//! XObject, content streams compressed, and an outline entry for every
//! page that carries a bookmark. Nothing depends on the clock, so the same
//! pages give the same bytes.

use crate::fonts::{FaceId, faces};
use crate::page::{Item, Page, Rgb};
use crate::svg::Images;
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use std::collections::{BTreeMap, BTreeSet};
use subsetter::GlyphRemapper;

/// The document's metadata.
#[derive(Default)]
pub struct Info<'a> {
    pub title: Option<&'a str>,
    pub author: Option<&'a str>,
}

/// Deflate level of content streams and fonts: the fastest level gives
/// files within a few per cent of the default's.
const COMPRESSION: u8 = 1;

/// One face as used in this file.
struct UsedFace {
    remapper: GlyphRemapper,
    /// New glyph id → the character it draws.
    text: BTreeMap<u16, char>,
}

/// The PDF of `pages`.
pub fn write(pages: &[Page], images: &Images, info: Info<'_>) -> Result<Vec<u8>, String> {
    let mut used: BTreeMap<FaceId, UsedFace> = BTreeMap::new();
    for page in pages {
        for item in &page.items {
            if let Item::Glyphs { face, glyphs, .. } = item {
                let entry = used
                    .entry(*face)
                    .or_insert_with(|| UsedFace { remapper: GlyphRemapper::new(), text: BTreeMap::new() });
                for glyph in glyphs {
                    let new = entry.remapper.remap(glyph.id);
                    entry.text.entry(new).or_insert(glyph.text);
                }
            }
        }
    }

    let mut pdf = Pdf::new();
    let mut next = Ref::new(1);
    let mut alloc = || next.bump();
    let catalog = alloc();
    let tree = alloc();
    let info_ref = alloc();
    let outline = alloc();

    // Fonts.
    // Ordered maps throughout: the same pages must give the same bytes.
    let mut font_names: BTreeMap<FaceId, (String, Ref)> = BTreeMap::new();
    for (index, (&face_id, face_use)) in used.iter().enumerate() {
        let shipped = &faces()[face_id];
        let (type0, cid, descriptor, file, cmap) = (alloc(), alloc(), alloc(), alloc(), alloc());
        let subset = subsetter::subset(shipped.data, 0, &face_use.remapper)
            .map_err(|e| format!("font {} could not be subset: {e:?}", shipped.postscript))?;
        let tag = subset_tag(&face_use.text);
        let base = format!("{tag}+{}", shipped.postscript);
        let scale = 1000.0 / shipped.units_per_em;
        pdf.type0_font(type0)
            .base_font(Name(base.as_bytes()))
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid)
            .to_unicode(cmap);
        let system = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };
        let mut cid_font = pdf.cid_font(cid);
        cid_font
            .subtype(if shipped.cff { CidFontType::Type0 } else { CidFontType::Type2 })
            .base_font(Name(base.as_bytes()))
            .system_info(system)
            .font_descriptor(descriptor)
            .default_width(0.0);
        if !shipped.cff {
            cid_font.cid_to_gid_map_predefined(Name(b"Identity"));
        }
        let widths: Vec<f32> =
            face_use.remapper.remapped_gids().map(|old| shipped.advance(old, 1.0) * 1000.0).collect();
        cid_font.widths().consecutive(0, widths);
        cid_font.finish();
        let bbox = shipped.face.global_bounding_box();
        let mut flags = FontFlags::SYMBOLIC;
        if shipped.italic {
            flags |= FontFlags::ITALIC;
        }
        let mut fd = pdf.font_descriptor(descriptor);
        fd.name(Name(base.as_bytes()))
            .flags(flags)
            .bbox(Rect::new(
                f32::from(bbox.x_min) * scale,
                f32::from(bbox.y_min) * scale,
                f32::from(bbox.x_max) * scale,
                f32::from(bbox.y_max) * scale,
            ))
            .italic_angle(shipped.face.italic_angle())
            .ascent(shipped.ascender * scale)
            .descent(shipped.descender * scale)
            .cap_height(shipped.cap_height * scale)
            .stem_v(if shipped.bold { 120.0 } else { 80.0 });
        if shipped.cff {
            fd.font_file3(file);
        } else {
            fd.font_file2(file);
        }
        fd.finish();
        let compressed = deflate(&subset);
        let mut stream = pdf.stream(file, &compressed);
        stream.filter(Filter::FlateDecode);
        if shipped.cff {
            stream.pair(Name(b"Subtype"), Name(b"OpenType"));
        }
        stream.finish();
        let mut unicode = UnicodeCmap::new(Name(b"Custom"), system);
        for (&gid, &c) in &face_use.text {
            unicode.pair(gid, c);
        }
        let unicode = unicode.finish();
        pdf.cmap(cmap, &unicode);
        font_names.insert(face_id, (format!("F{index}"), type0));
    }

    // Images, as forms drawing in SVG pixels with y turned upright.
    let mut image_refs = Vec::with_capacity(images.list.len());
    for image in &images.list {
        let form = alloc();
        let mut content = format!("1 0 0 -1 0 {} cm\n", image.height).into_bytes();
        content.extend_from_slice(&image.content);
        let compressed = deflate(&content);
        pdf.form_xobject(form, &compressed)
            .bbox(Rect::new(0.0, 0.0, image.width, image.height))
            .filter(Filter::FlateDecode);
        image_refs.push(form);
    }

    // Pages.
    let mut page_refs = Vec::with_capacity(pages.len());
    let mut bookmarks = Vec::new();
    for page in pages {
        let (page_ref, content_ref) = (alloc(), alloc());
        page_refs.push(page_ref);
        if let Some(title) = &page.bookmark {
            bookmarks.push((alloc(), page_ref, page.height, title.as_str()));
        }
        let content = page_content(page, &font_names, &used, images);
        let compressed = deflate(&content);
        pdf.stream(content_ref, &compressed).filter(Filter::FlateDecode);
        let mut p = pdf.page(page_ref);
        p.parent(tree).media_box(Rect::new(0.0, 0.0, page.width, page.height)).contents(content_ref);
        // Only what this page draws: a spool's hundred QR codes are a
        // hundred images, and listing all of them on every page cost more
        // bytes than the page's own drawing.
        let (faces_used, images_used) = page_resources(page);
        let mut resources = p.resources();
        let mut fonts = resources.fonts();
        for face in faces_used {
            if let Some((name, font)) = font_names.get(&face) {
                fonts.pair(Name(name.as_bytes()), *font);
            }
        }
        fonts.finish();
        let mut xobjects = resources.x_objects();
        for index in images_used {
            if let Some(form) = image_refs.get(index) {
                xobjects.pair(Name(format!("Im{index}").as_bytes()), *form);
            }
        }
        xobjects.finish();
        resources.finish();
        p.finish();
    }
    pdf.pages(tree).kids(page_refs.iter().copied()).count(page_refs.len() as i32);

    let mut catalog_writer = pdf.catalog(catalog);
    catalog_writer.pages(tree);
    if !bookmarks.is_empty() {
        catalog_writer.outlines(outline);
    }
    catalog_writer.finish();
    if let (Some(first), Some(last)) = (bookmarks.first(), bookmarks.last()) {
        pdf.outline(outline).first(first.0).last(last.0).count(bookmarks.len() as i32);
        for (i, &(item, page, height, title)) in bookmarks.iter().enumerate() {
            let mut entry = pdf.outline_item(item);
            entry.title(TextStr(title)).parent(outline);
            if i > 0 {
                entry.prev(bookmarks[i - 1].0);
            }
            if let Some(next) = bookmarks.get(i + 1) {
                entry.next(next.0);
            }
            entry.dest().page(page).xyz(0.0, height, None);
        }
    }
    let mut doc_info = pdf.document_info(info_ref);
    if let Some(title) = info.title {
        doc_info.title(TextStr(title));
    }
    if let Some(author) = info.author {
        doc_info.author(TextStr(author));
    }
    doc_info.producer(TextStr("tessera print-compose"));
    doc_info.finish();
    Ok(pdf.finish())
}

/// The faces and images a page draws, in order.
fn page_resources(page: &Page) -> (BTreeSet<FaceId>, BTreeSet<usize>) {
    let (mut faces, mut images) = (BTreeSet::new(), BTreeSet::new());
    for item in &page.items {
        match item {
            Item::Glyphs { face, .. } => {
                faces.insert(*face);
            }
            Item::Image { image, .. } => {
                images.insert(*image);
            }
            Item::Rect { .. } | Item::Line { .. } => {}
        }
    }
    (faces, images)
}

/// The drawing operators of one page.
fn page_content(
    page: &Page,
    fonts: &BTreeMap<FaceId, (String, Ref)>,
    used: &BTreeMap<FaceId, UsedFace>,
    images: &Images,
) -> Vec<u8> {
    let mut out = Content::new();
    let h = page.height;
    let mut fill: Option<Rgb> = None;
    let set_fill = |out: &mut Content, fill: &mut Option<Rgb>, color: Rgb| {
        if *fill != Some(color) {
            out.set_fill_rgb(color.0, color.1, color.2);
            *fill = Some(color);
        }
    };
    let mut cids = Vec::new();
    for item in &page.items {
        match item {
            Item::Glyphs { x, y, face, size, color, glyphs } => {
                let (Some((name, _)), Some(face_use)) = (fonts.get(face), used.get(face)) else { continue };
                set_fill(&mut out, &mut fill, *color);
                cids.clear();
                for glyph in glyphs {
                    // Faces were subset from these same glyphs: the new id is there.
                    let id = face_use.remapper.get(glyph.id).unwrap_or(0);
                    cids.extend_from_slice(&id.to_be_bytes());
                }
                out.begin_text();
                out.set_font(Name(name.as_bytes()), *size);
                out.set_text_matrix([1.0, 0.0, 0.0, 1.0, *x, h - *y]);
                out.show(Str(&cids));
                out.end_text();
            }
            Item::Rect { x, y, w, h: rh, color } => {
                set_fill(&mut out, &mut fill, *color);
                out.rect(*x, h - *y - *rh, *w, *rh);
                out.fill_nonzero();
            }
            Item::Line { x1, y1, x2, y2, width, color } => {
                out.set_stroke_rgb(color.0, color.1, color.2);
                out.set_line_width(*width);
                out.move_to(*x1, h - *y1);
                out.line_to(*x2, h - *y2);
                out.stroke();
            }
            Item::Image { x, y, w, h: ih, image } => {
                let Some(svg) = images.list.get(*image) else { continue };
                let (sx, sy) = (w / svg.width.max(f32::EPSILON), ih / svg.height.max(f32::EPSILON));
                out.save_state();
                out.transform([sx, 0.0, 0.0, sy, *x, h - *y - *ih]);
                out.x_object(Name(format!("Im{image}").as_bytes()));
                out.restore_state();
                // The form set its own colours.
                fill = None;
            }
        }
    }
    out.finish().to_vec()
}

fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, COMPRESSION)
}

/// Six capital letters naming a subset (PDF's `ABCDEF+Name`), from its
/// glyphs, so the same subset gets the same name.
fn subset_tag(text: &BTreeMap<u16, char>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (&gid, &c) in text {
        for byte in gid.to_le_bytes().into_iter().chain((c as u32).to_le_bytes()) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    (0..6).map(|i| char::from(b'A' + ((hash >> (i * 5)) % 26) as u8)).collect()
}
