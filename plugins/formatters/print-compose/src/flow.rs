//! Lays a letter out: paragraphs broken into lines, tables into rows,
//! everything stacked down the page and onto new pages where it does not
//! fit, then each page's footer with its page number.
//!
//! Each block is laid out into units that cannot be split (a line of a
//! paragraph, a row of a table, a whole panel or row of columns); pages
//! break between units, and a table's header row repeats on every page it
//! continues on. Text is set glyph by glyph from the fonts' advances (no
//! kerning or ligatures: business letters, not book typography), words
//! wrap at spaces.

use crate::fonts::{self, FaceId};
use crate::layout::{Align, Block, Field, Gap, Inline, Letter, PageSize, Row, Span, Stroke, Style, Table, Width};
use crate::page::{Glyph, Item, PT_PER_MM, Page, Rgb};
use crate::svg::Images;
use std::collections::HashMap;

/// Why a letter cannot be laid out.
#[derive(Debug)]
pub struct LayoutError(pub String);

type Result<T> = std::result::Result<T, LayoutError>;

fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(LayoutError(message.into()))
}

/// A resolved text style.
#[derive(Clone, Copy)]
struct TextStyle {
    /// Regular, italic, bold, bold italic.
    faces: [FaceId; 4],
    bold: bool,
    italic: bool,
    size: f32,
    color: Rgb,
    leading: f32,
}

impl TextStyle {
    fn face(&self) -> FaceId {
        self.faces[usize::from(self.bold) * 2 + usize::from(self.italic)]
    }
}

/// What cannot be split across pages, `items` relative to its top.
#[derive(Default, Clone)]
struct Unit {
    height: f32,
    items: Vec<Item>,
}

/// A block laid out.
struct Laid {
    units: Vec<Unit>,
    /// Repeated at the top of every page after the first (a table's header).
    header: Option<Unit>,
    above: f32,
    below: f32,
}

impl Laid {
    /// A block that is one unit.
    fn one(height: f32, items: Vec<Item>, above: f32, below: f32) -> Laid {
        Laid { units: vec![Unit { height, items }], header: None, above, below }
    }
}

/// Lays out one letter into pages.
pub struct LetterLayout<'a> {
    letter: &'a Letter,
    colors: HashMap<&'a str, Rgb>,
    base: TextStyle,
    spacing: f32,
    images: &'a mut Images,
    /// Values of `page`/`pages` fields while a footer is laid out.
    fields: (u32, u32),
}

impl<'a> LetterLayout<'a> {
    pub fn new(letter: &'a Letter, images: &'a mut Images) -> Result<Self> {
        let font = &letter.font;
        let face = |bold, italic| {
            fonts::pick(&font.family, bold, italic).ok_or_else(|| {
                LayoutError(format!(
                    "font family `{}` is not shipped; use one of {}",
                    font.family,
                    fonts::families().join(", ")
                ))
            })
        };
        let faces = [face(false, false)?, face(false, true)?, face(true, false)?, face(true, true)?];
        let mut colors = HashMap::new();
        for (name, value) in &letter.colors {
            let rgb =
                Rgb::parse(value).ok_or_else(|| LayoutError(format!("colour `{name}` = `{value}` is not #rrggbb")))?;
            colors.insert(name.as_str(), rgb);
        }
        let mut layout = LetterLayout {
            letter,
            colors,
            base: TextStyle {
                faces,
                bold: false,
                italic: false,
                size: font.size,
                color: Rgb::BLACK,
                leading: font.leading,
            },
            spacing: font.spacing * font.size,
            images,
            fields: (0, 0),
        };
        if let Some(color) = &font.color {
            layout.base.color = layout.color(color)?;
        }
        Ok(layout)
    }

    /// The letter's pages, footers included.
    pub fn pages(&mut self) -> Result<Vec<Page>> {
        let (width, height) = page_size(&self.letter.page.size)?;
        let m = &self.letter.page.margin;
        let (left, top) = (m.left * PT_PER_MM, m.top * PT_PER_MM);
        let content_width = width - left - m.right * PT_PER_MM;
        let bottom = height - m.bottom * PT_PER_MM;
        if content_width <= 0.0 || bottom <= top {
            return fail("the page margins leave no room for content");
        }
        let bodies = self.flow(&self.letter.body, left, content_width, top, bottom)?;
        let total = bodies.len() as u32;
        let mut pages = Vec::with_capacity(bodies.len());
        for (index, mut items) in bodies.into_iter().enumerate() {
            if !self.letter.footer.is_empty() {
                self.fields = (index as u32 + 1, total);
                let (_, footer) = self.stack(&self.letter.footer, left, content_width)?;
                let footer_top = bottom + FOOTER_GAP_MM * PT_PER_MM;
                items.extend(footer.into_iter().map(|i| i.shifted(0.0, footer_top)));
            }
            pages.push(Page { width, height, items, bookmark: None });
        }
        Ok(pages)
    }

    /// Flows `blocks` onto as many pages as they need.
    fn flow(&mut self, blocks: &[Block], x: f32, width: f32, top: f32, bottom: f32) -> Result<Vec<Vec<Item>>> {
        let mut pages: Vec<Vec<Item>> = vec![Vec::new()];
        let mut y = top;
        let mut rest = blocks;
        while let Some((block, after)) = rest.split_first() {
            rest = after;
            if let Block::Space(Gap::Fill) = block {
                // What follows sits at the foot of the page.
                let (height, items) = self.stack(rest, x, width)?;
                if y + height > bottom && y > top {
                    pages.push(Vec::new());
                }
                let at = (bottom - height).max(top);
                pages.last_mut().expect("a page").extend(items.into_iter().map(|i| i.shifted(0.0, at)));
                break;
            }
            if let Block::PageBreak = block {
                if y > top {
                    pages.push(Vec::new());
                    y = top;
                }
                continue;
            }
            let laid = self.block(block, x, width)?;
            if y > top {
                y += laid.above;
            }
            for (i, unit) in laid.units.iter().enumerate() {
                let next =
                    if i == 0 && laid.header.is_some() { laid.units.get(1).map_or(0.0, |u| u.height) } else { 0.0 };
                if y + unit.height + next > bottom && y > top {
                    pages.push(Vec::new());
                    y = top;
                    if let (Some(header), true) = (&laid.header, i > 0) {
                        place(pages.last_mut().expect("a page"), header, y);
                        y += header.height;
                    }
                }
                place(pages.last_mut().expect("a page"), unit, y);
                y += unit.height;
            }
            y += laid.below;
        }
        Ok(pages)
    }

    /// `blocks` one under the other without page breaks: their height and
    /// items (relative to the top).
    fn stack(&mut self, blocks: &[Block], x: f32, width: f32) -> Result<(f32, Vec<Item>)> {
        let mut items = Vec::new();
        let mut y = 0.0;
        for (index, block) in blocks.iter().enumerate() {
            if let Block::Space(Gap::Fill) = block {
                continue;
            }
            let laid = self.block(block, x, width)?;
            if index > 0 {
                y += laid.above;
            }
            for unit in &laid.units {
                items.extend(unit.items.iter().cloned().map(|i| i.shifted(0.0, y)));
                y += unit.height;
            }
            if index + 1 < blocks.len() {
                y += laid.below;
            }
        }
        Ok((y, items))
    }

    fn block(&mut self, block: &Block, x: f32, width: f32) -> Result<Laid> {
        let mm = |v: Option<f32>, default: f32| v.map_or(default, |v| v * PT_PER_MM);
        let spacing = self.spacing;
        Ok(match block {
            Block::Text(text) => {
                let style = self.styled(&self.base, &text.style())?;
                let lines = self.paragraph(&text.text, style, text.align, x, width)?;
                Laid { units: lines, header: None, above: mm(text.above, 0.0), below: mm(text.below, spacing) }
            }
            Block::Space(Gap::Mm(gap)) => Laid::one(gap * PT_PER_MM, Vec::new(), 0.0, 0.0),
            // Page breaks only mean something in the page's flow.
            Block::Space(Gap::Fill) | Block::PageBreak => {
                Laid { units: Vec::new(), header: None, above: 0.0, below: 0.0 }
            }
            Block::Rule(rule) => {
                let (line_width, color) = self.stroke(&rule.rule)?;
                let line = Item::Line {
                    x1: x,
                    y1: line_width / 2.0,
                    x2: x + width,
                    y2: line_width / 2.0,
                    width: line_width,
                    color,
                };
                Laid::one(line_width, vec![line], mm(rule.above, 0.0), mm(rule.below, spacing / 2.0))
            }
            Block::Columns(columns) => {
                let gap = columns.gap * PT_PER_MM;
                // A column's own width: for `auto`, and to align its content.
                let mut naturals = Vec::with_capacity(columns.columns.len());
                for column in &columns.columns {
                    let auto = matches!(column.width, Width::Named(ref w) if w == "auto");
                    let needed = auto || column.align != Align::Left;
                    naturals.push(if needed { Some(self.natural_width(&column.blocks)?) } else { None });
                }
                let widths: Vec<&Width> = columns.columns.iter().map(|c| &c.width).collect();
                let (widths, _) = resolve_widths(&widths, &naturals, width, gap)?;
                let mut laid = Vec::with_capacity(widths.len());
                let mut cx = x;
                for ((column, w), natural) in columns.columns.iter().zip(&widths).zip(&naturals) {
                    let (height, items) = self.stack(&column.blocks, cx, *w)?;
                    let items = if column.align == Align::Left {
                        items
                    } else {
                        let natural = natural.unwrap_or(*w).min(*w);
                        let dx = if column.align == Align::Right { w - natural } else { (w - natural) / 2.0 };
                        items.into_iter().map(|i| i.shifted(dx, 0.0)).collect()
                    };
                    laid.push((height, items, column.valign.as_deref() == Some("middle")));
                    cx += w + gap;
                }
                let height = laid.iter().map(|(h, _, _)| *h).fold(0.0, f32::max);
                let items = laid
                    .into_iter()
                    .flat_map(|(h, items, middle)| {
                        let dy = if middle { (height - h) / 2.0 } else { 0.0 };
                        items.into_iter().map(move |i| i.shifted(0.0, dy))
                    })
                    .collect();
                Laid::one(height, items, mm(columns.above, 0.0), mm(columns.below, spacing))
            }
            Block::Table(table) => {
                let (header, rows) = self.table(&table.table, x, width)?;
                let mut units = Vec::with_capacity(rows.len() + 1);
                units.extend(header.clone());
                units.extend(rows);
                Laid { units, header, above: mm(table.above, 0.0), below: mm(table.below, spacing) }
            }
            Block::Panel(panel) => {
                let inset = panel.inset * PT_PER_MM;
                let bar = panel.bar.as_ref().map(|b| self.stroke(b)).transpose()?;
                let bar_width = bar.map_or(0.0, |(w, _)| w);
                let inner_x = x + bar_width + inset;
                let inner_width = (width - bar_width - 2.0 * inset).max(1.0);
                let (inner_height, inner) = self.stack(&panel.panel, inner_x, inner_width)?;
                let height = (inner_height + 2.0 * inset).max(panel.height.unwrap_or(0.0) * PT_PER_MM);
                let mut items = Vec::with_capacity(inner.len() + 2);
                if let Some(fill) = &panel.fill {
                    items.push(Item::Rect { x, y: 0.0, w: width, h: height, color: self.color(fill)? });
                }
                if let Some((w, color)) = bar {
                    items.push(Item::Rect { x, y: 0.0, w, h: height, color });
                }
                items.extend(inner.into_iter().map(|i| i.shifted(0.0, inset)));
                Laid::one(height, items, mm(panel.above, 0.0), mm(panel.below, spacing))
            }
            Block::Image(image) => {
                let (index, w, h) = self.image_size(image)?;
                let dx = match image.align {
                    Align::Left => 0.0,
                    Align::Center => (width - w) / 2.0,
                    Align::Right => width - w,
                };
                let item = Item::Image { x: x + dx, y: 0.0, w, h, image: index };
                Laid::one(h, vec![item], mm(image.above, 0.0), mm(image.below, spacing))
            }
        })
    }

    fn image_size(&mut self, image: &crate::layout::ImageBlock) -> Result<(usize, f32, f32)> {
        let (index, natural_w, natural_h) = self.images.add(&image.image).map_err(LayoutError)?;
        let ratio = if natural_w > 0.0 { natural_h / natural_w } else { 1.0 };
        Ok(match (image.width, image.height) {
            (Some(w), Some(h)) => (index, w * PT_PER_MM, h * PT_PER_MM),
            (Some(w), None) => (index, w * PT_PER_MM, w * PT_PER_MM * ratio),
            (None, Some(h)) => (index, h * PT_PER_MM / ratio.max(f32::EPSILON), h * PT_PER_MM),
            (None, None) => (index, natural_w, natural_h),
        })
    }

    /// The widest the blocks get when nothing wraps.
    fn natural_width(&mut self, blocks: &[Block]) -> Result<f32> {
        let mut widest: f32 = 0.0;
        for block in blocks {
            let width = match block {
                Block::Text(text) => {
                    let style = self.styled(&self.base, &text.style())?;
                    self.paragraph_width(&text.text, style)?
                }
                Block::Image(image) => self.image_size(image)?.1,
                Block::Columns(columns) => {
                    let mut sum = columns.gap * PT_PER_MM * columns.columns.len().saturating_sub(1) as f32;
                    for column in &columns.columns {
                        sum += match column.width {
                            Width::Mm(mm) => mm * PT_PER_MM,
                            _ => self.natural_width(&column.blocks)?,
                        };
                    }
                    sum
                }
                Block::Panel(panel) => {
                    let bar = panel.bar.as_ref().map_or(0.0, |b| b.width_pt);
                    self.natural_width(&panel.panel)? + 2.0 * panel.inset * PT_PER_MM + bar
                }
                Block::Table(table) => {
                    let (widths, _) = self.table_widths(&table.table, f32::INFINITY)?;
                    widths.iter().sum::<f32>()
                        + table.table.column_gap * PT_PER_MM * widths.len().saturating_sub(1) as f32
                }
                Block::Space(_) | Block::Rule(_) | Block::PageBreak => 0.0,
            };
            widest = widest.max(width);
        }
        Ok(widest)
    }

    /// Column widths of a table laid out in `width` (infinite: natural).
    fn table_widths(&mut self, table: &Table, width: f32) -> Result<(Vec<f32>, f32)> {
        let inset = table.inset_pt[0];
        let style = self.styled(&self.base, &table.style())?;
        let mut naturals: Vec<Option<f32>> = vec![None; table.columns.len()];
        for (column, natural) in naturals.iter_mut().enumerate() {
            let auto = matches!(&table.columns[column], Width::Named(w) if w == "auto") || width.is_infinite();
            if !auto {
                continue;
            }
            let mut widest: f32 = 0.0;
            for row in table.header.iter().chain(&table.rows) {
                if let Some(cell) = row.cells().get(column) {
                    let row_style = self.styled(&style, &row.style())?;
                    widest = widest.max(self.paragraph_width(cell, row_style)?);
                }
            }
            *natural = Some(widest + 2.0 * inset);
        }
        let widths: Vec<&Width> = table.columns.iter().collect();
        resolve_widths(&widths, &naturals, width, table.column_gap * PT_PER_MM)
    }

    /// A table's header row (when it has one) and body rows.
    fn table(&mut self, table: &Table, x: f32, width: f32) -> Result<(Option<Unit>, Vec<Unit>)> {
        if table.columns.is_empty() {
            return fail("a table needs `columns`");
        }
        let (widths, used) = self.table_widths(table, width)?;
        let gap = table.column_gap * PT_PER_MM;
        let x0 = x + match table.place {
            Align::Left => 0.0,
            Align::Center => (width - used) / 2.0,
            Align::Right => width - used,
        };
        let style = self.styled(&self.base, &table.style())?;
        let header_rule = table.header_rule.as_ref().map(|s| self.stroke(s)).transpose()?;
        let body_rule = table.rule.as_ref().map(|s| self.stroke(s)).transpose()?;
        let header = match &table.header {
            Some(row) => Some(self.row(table, row, &widths, gap, x0, used, style, header_rule)?),
            None => None,
        };
        let mut rows = Vec::with_capacity(table.rows.len());
        for row in &table.rows {
            if row.cells().len() > widths.len() {
                return fail(format!("a table row has {} cells for {} columns", row.cells().len(), widths.len()));
            }
            rows.push(self.row(table, row, &widths, gap, x0, used, style, body_rule)?);
        }
        Ok((header, rows))
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        table: &Table,
        row: &Row,
        widths: &[f32],
        gap: f32,
        x0: f32,
        used: f32,
        style: TextStyle,
        rule_below: Option<(f32, Rgb)>,
    ) -> Result<Unit> {
        let [inset_x, inset_y] = table.inset_pt;
        let style = self.styled(&style, &row.style())?;
        let mut items = Vec::new();
        let mut height: f32 = 0.0;
        let mut cx = x0;
        for (column, width) in widths.iter().enumerate() {
            if let Some(cell) = row.cells().get(column) {
                let align = table.align.get(column).copied().unwrap_or_default();
                let lines = self.paragraph(cell, style, align, cx + inset_x, (width - 2.0 * inset_x).max(1.0))?;
                let mut y = inset_y;
                for line in lines {
                    items.extend(line.items.into_iter().map(|i| i.shifted(0.0, y)));
                    y += line.height;
                }
                height = height.max(y + inset_y);
            }
            cx += width + gap;
        }
        if let Some(rule) = row.rule_above() {
            let (w, color) = self.stroke(rule)?;
            items.push(Item::Line { x1: x0, y1: 0.0, x2: x0 + used, y2: 0.0, width: w, color });
        }
        if let Some((w, color)) = rule_below {
            items.push(Item::Line { x1: x0, y1: height, x2: x0 + used, y2: height, width: w, color });
        }
        Ok(Unit { height: height + table.row_gap * PT_PER_MM, items })
    }

    fn stroke(&self, stroke: &Stroke) -> Result<(f32, Rgb)> {
        let color = match &stroke.color {
            Some(c) => self.color(c)?,
            None => Rgb::BLACK,
        };
        Ok((stroke.width_pt, color))
    }

    fn color(&self, name: &str) -> Result<Rgb> {
        if let Some(rgb) = self.colors.get(name) {
            return Ok(*rgb);
        }
        Rgb::parse(name)
            .ok_or_else(|| LayoutError(format!("colour `{name}` is neither #rrggbb nor a name in `colors`")))
    }

    fn styled(&self, base: &TextStyle, style: &Style) -> Result<TextStyle> {
        let mut out = *base;
        if let Some(size) = style.size {
            if !(size > 0.0 && size < 500.0) {
                return fail(format!("text size {size} pt is out of range"));
            }
            out.size = size;
        }
        if let Some(bold) = style.bold {
            out.bold = bold;
        }
        if let Some(italic) = style.italic {
            out.italic = italic;
        }
        if let Some(color) = &style.color {
            out.color = self.color(color)?;
        }
        Ok(out)
    }

    /// The spans as words, spaces, breaks and fills.
    fn tokens(&self, text: &Inline, style: TextStyle) -> Result<Vec<Token>> {
        let mut tokens = Vec::new();
        let mut word: Vec<Run> = Vec::new();
        let end_word = |word: &mut Vec<Run>, tokens: &mut Vec<Token>| {
            if !word.is_empty() {
                tokens.push(Token::Word(std::mem::take(word)));
            }
        };
        for span in text.spans() {
            let (text, style): (std::borrow::Cow<str>, TextStyle) = match span {
                Span::Plain(t) => (t.into(), style),
                Span::Bold(t) => (t.into(), TextStyle { bold: true, ..style }),
                Span::Italic(t) => (t.into(), TextStyle { italic: true, ..style }),
                Span::Styled(s) => (s.text.as_str().into(), self.styled(&style, &s.style())?),
                Span::Field(Field::Page) => (self.fields.0.to_string().into(), style),
                Span::Field(Field::Pages) => (self.fields.1.to_string().into(), style),
                Span::HFill => {
                    end_word(&mut word, &mut tokens);
                    tokens.push(Token::HFill);
                    continue;
                }
            };
            let face = style.face();
            for c in text.chars() {
                match c {
                    ' ' | '\t' => {
                        end_word(&mut word, &mut tokens);
                        let (face, id) = fonts::glyph(face, ' ');
                        tokens.push(Token::Space(Run::one(face, style, Glyph { id, text: ' ' })));
                    }
                    '\n' => {
                        end_word(&mut word, &mut tokens);
                        tokens.push(Token::Break);
                    }
                    '\r' => {}
                    c => {
                        let (face, id) = fonts::glyph(face, c);
                        let glyph = Glyph { id, text: c };
                        match word.last_mut() {
                            Some(run) if run.face == face && run.size == style.size && run.color == style.color => {
                                run.push(glyph)
                            }
                            _ => word.push(Run::one(face, style, glyph)),
                        }
                    }
                }
            }
        }
        end_word(&mut word, &mut tokens);
        Ok(tokens)
    }

    /// The widest line of the paragraph when nothing wraps.
    fn paragraph_width(&self, text: &Inline, style: TextStyle) -> Result<f32> {
        let mut widest: f32 = 0.0;
        let mut line: f32 = 0.0;
        for token in self.tokens(text, style)? {
            match token {
                Token::Word(runs) => line += runs.iter().map(|r| r.width).sum::<f32>(),
                Token::Space(run) => line += run.width,
                Token::Break => {
                    widest = widest.max(line);
                    line = 0.0;
                }
                Token::HFill => line += style.size,
            }
        }
        Ok(widest.max(line))
    }

    /// The paragraph broken into lines of at most `width`.
    fn paragraph(&self, text: &Inline, style: TextStyle, align: Align, x: f32, width: f32) -> Result<Vec<Unit>> {
        let mut lines = Vec::new();
        let mut line = LineBuf::default();
        let mut spaces: Vec<Run> = Vec::new();
        for token in self.tokens(text, style)? {
            match token {
                Token::Word(runs) => {
                    let word_width: f32 = runs.iter().map(|r| r.width).sum();
                    let space_width: f32 = spaces.iter().map(|r| r.width).sum();
                    if !line.runs.is_empty() && line.width + space_width + word_width > width + 0.01 {
                        lines.push(std::mem::take(&mut line).finish(style, align, x, width, false));
                        spaces.clear();
                    }
                    if !line.runs.is_empty() {
                        for space in spaces.drain(..) {
                            line.add(space);
                        }
                    }
                    spaces.clear();
                    for run in runs {
                        line.add(run);
                    }
                }
                Token::Space(run) => spaces.push(run),
                Token::Break => {
                    lines.push(std::mem::take(&mut line).finish(style, align, x, width, false));
                    spaces.clear();
                }
                Token::HFill => {
                    spaces.clear();
                    line.hfill = Some(line.runs.len());
                }
            }
        }
        if !line.runs.is_empty() || lines.is_empty() || line.hfill.is_some() {
            lines.push(line.finish(style, align, x, width, true));
        } else if let Some(last) = lines.last_mut() {
            // A paragraph ending in a line break: no leading after it.
            last.height -= style.leading * style.size;
        }
        Ok(lines)
    }
}

/// The gap between the body's bottom margin line and the footer's top.
const FOOTER_GAP_MM: f32 = 4.0;

fn place(page: &mut Vec<Item>, unit: &Unit, y: f32) {
    page.extend(unit.items.iter().cloned().map(|i| i.shifted(0.0, y)));
}

fn page_size(size: &PageSize) -> Result<(f32, f32)> {
    let (w, h) = match size {
        PageSize::Named(name) => match name.to_ascii_lowercase().as_str() {
            "a4" => (210.0, 297.0),
            "a5" => (148.0, 210.0),
            "a3" => (297.0, 420.0),
            "letter" | "us-letter" => (215.9, 279.4),
            "legal" | "us-legal" => (215.9, 355.6),
            other => return fail(format!("page size `{other}` is not one of a3, a4, a5, letter, legal")),
        },
        PageSize::Custom([w, h]) => (*w, *h),
    };
    if !(w > 10.0 && h > 10.0 && w < 5000.0 && h < 5000.0) {
        return fail(format!("page size {w} × {h} mm is out of range"));
    }
    Ok((w * PT_PER_MM, h * PT_PER_MM))
}

/// Widths of columns given as mm, `auto` (their `naturals`) or fractions of
/// what is left of `width`; and the total with the gaps.
fn resolve_widths(widths: &[&Width], naturals: &[Option<f32>], width: f32, gap: f32) -> Result<(Vec<f32>, f32)> {
    let mut fixed = gap * widths.len().saturating_sub(1) as f32;
    let mut fractions = 0.0;
    let mut parsed = Vec::with_capacity(widths.len());
    for (w, natural) in widths.iter().zip(naturals) {
        let kind = match w {
            Width::Mm(mm) => ColumnWidth::Fixed(mm * PT_PER_MM),
            Width::Named(name) if name == "auto" => ColumnWidth::Fixed(natural.unwrap_or(0.0)),
            Width::Named(name) => match name.strip_suffix("fr").and_then(|n| n.trim().parse::<f32>().ok()) {
                Some(fr) if fr > 0.0 => match natural {
                    // Natural widths asked for: a fraction is its content's.
                    Some(n) if width.is_infinite() => ColumnWidth::Fixed(*n),
                    _ => ColumnWidth::Fraction(fr),
                },
                _ => return fail(format!("column width `{name}` is not mm, `auto` or `<n>fr`")),
            },
        };
        match kind {
            ColumnWidth::Fixed(w) => fixed += w,
            ColumnWidth::Fraction(fr) => fractions += fr,
        }
        parsed.push(kind);
    }
    let left = if width.is_finite() { (width - fixed).max(0.0) } else { 0.0 };
    let resolved: Vec<f32> = parsed
        .iter()
        .map(|k| match k {
            ColumnWidth::Fixed(w) => *w,
            ColumnWidth::Fraction(fr) => left * fr / fractions,
        })
        .collect();
    let total = resolved.iter().sum::<f32>() + gap * widths.len().saturating_sub(1) as f32;
    Ok((resolved, total))
}

enum ColumnWidth {
    Fixed(f32),
    Fraction(f32),
}

enum Token {
    Word(Vec<Run>),
    Space(Run),
    Break,
    HFill,
}

/// Glyphs of one face, size and colour.
struct Run {
    face: FaceId,
    size: f32,
    color: Rgb,
    leading: f32,
    glyphs: Vec<Glyph>,
    width: f32,
}

impl Run {
    fn one(face: FaceId, style: TextStyle, glyph: Glyph) -> Run {
        let mut run =
            Run { face, size: style.size, color: style.color, leading: style.leading, glyphs: Vec::new(), width: 0.0 };
        run.push(glyph);
        run
    }

    fn push(&mut self, glyph: Glyph) {
        self.width += fonts::faces()[self.face].advance(glyph.id, self.size);
        self.glyphs.push(glyph);
    }
}

#[derive(Default)]
struct LineBuf {
    runs: Vec<Run>,
    width: f32,
    /// Runs from this index on are pushed to the line's right end.
    hfill: Option<usize>,
}

impl LineBuf {
    fn add(&mut self, run: Run) {
        self.width += run.width;
        // Never merged across the fill point.
        let at_fill = self.hfill == Some(self.runs.len());
        match self.runs.last_mut() {
            Some(last) if !at_fill && last.face == run.face && last.size == run.size && last.color == run.color => {
                last.width += run.width;
                last.glyphs.extend(run.glyphs);
            }
            _ => self.runs.push(run),
        }
    }

    /// The line as a unit, measured as Typst measures lines: from the cap
    /// height of its tallest run down to the baseline, and the leading below
    /// it unless it is the paragraph's last line.
    fn finish(self, style: TextStyle, align: Align, x: f32, width: f32, last: bool) -> Unit {
        let faces = fonts::faces();
        let metrics = |face: FaceId, size: f32, leading: f32| {
            let f = &faces[face];
            (f.cap_height / f.units_per_em * size, leading * size)
        };
        let (mut baseline, mut gap) = metrics(style.face(), style.size, style.leading);
        if !self.runs.is_empty() {
            (baseline, gap) = (0.0, 0.0);
            for run in &self.runs {
                let (cap, lead) = metrics(run.face, run.size, run.leading);
                baseline = baseline.max(cap);
                gap = gap.max(lead);
            }
        }
        let height = if last { baseline } else { baseline + gap };
        let start = match (align, self.hfill) {
            (_, Some(_)) | (Align::Left, _) => 0.0,
            (Align::Right, None) => width - self.width,
            (Align::Center, None) => (width - self.width) / 2.0,
        };
        let mut items = Vec::with_capacity(self.runs.len());
        let mut cx = x + start;
        for (index, run) in self.runs.into_iter().enumerate() {
            if Some(index) == self.hfill {
                cx += width - self.width;
            }
            let advance = run.width;
            items.push(Item::Glyphs {
                x: cx,
                y: baseline,
                face: run.face,
                size: run.size,
                color: run.color,
                glyphs: run.glyphs,
            });
            cx += advance;
        }
        Unit { height, items }
    }
}

#[cfg(test)]
mod tests {
    use crate::layout::{Markup, parse};
    use crate::page::{Item, Page};
    use crate::svg::Images;

    fn pages(markup: &str) -> Vec<Page> {
        let Ok(Markup::Letter(letter)) = parse(markup) else { panic!("a letter") };
        let mut images = Images::default();
        super::LetterLayout::new(&letter, &mut images).and_then(|mut l| l.pages()).unwrap_or_else(|e| panic!("{}", e.0))
    }

    /// The text of each glyph run on a page, top to bottom, with its x.
    fn runs(page: &Page) -> Vec<(String, f32, f32)> {
        let mut runs: Vec<(String, f32, f32)> = page
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Glyphs { x, y, glyphs, .. } => Some((glyphs.iter().map(|g| g.text).collect(), *x, *y)),
                _ => None,
            })
            .collect();
        runs.sort_by(|a, b| a.2.total_cmp(&b.2));
        runs
    }

    #[test]
    fn words_wrap_within_the_column_and_lines_break_where_asked() {
        let long = "word ".repeat(60);
        let page = &pages(&format!(r#"{{"body": [{{"text": "{long}\nlast line"}}]}}"#))[0];
        let runs = runs(page);
        assert!(runs.len() > 3, "{runs:?}");
        let right_edge = (210.0 - 20.0) * crate::page::PT_PER_MM;
        for (text, x, _) in &runs {
            let face = &crate::fonts::faces()[crate::fonts::pick("Libertinus Serif", false, false).unwrap()];
            let width: f32 = text.chars().map(|c| face.advance(face.face.glyph_index(c).unwrap().0, 10.0)).sum();
            assert!(x + width <= right_edge + 0.1, "{text} ends at {}", x + width);
            assert!(!text.ends_with(' '), "no trailing space: {text:?}");
        }
        assert_eq!(runs.last().unwrap().0, "last line");
    }

    #[test]
    fn a_long_table_continues_on_the_next_page_under_its_header_and_footers_count_pages() {
        let rows: Vec<String> = (0..120).map(|i| format!(r#"["row {i}", "{i}.00"]"#)).collect();
        let markup = format!(
            r#"{{"footer": [{{"text": ["p ", {{"field": "page"}}, " of ", {{"field": "pages"}}]}}],
                "body": [{{"table": {{"columns": ["1fr", "auto"], "header": ["Item", "Amount"], "rows": [{}]}}}}]}}"#,
            rows.join(",")
        );
        let pages = pages(&markup);
        assert!(pages.len() >= 2, "{} pages", pages.len());
        for (n, page) in pages.iter().enumerate() {
            let texts: Vec<String> = runs(page).into_iter().map(|r| r.0).collect();
            assert_eq!(texts[0], "Item", "the header leads page {}", n + 1);
            assert!(texts.contains(&format!("p {} of {}", n + 1, pages.len())), "{texts:?}");
        }
        let all: Vec<String> = pages.iter().flat_map(|p| runs(p).into_iter().map(|r| r.0)).collect();
        assert!((0..120).all(|i| all.contains(&format!("row {i}"))), "no row lost");
    }

    #[test]
    fn hfill_pushes_the_rest_of_the_line_right_and_fill_pushes_blocks_down() {
        let markup = r#"{"page": {"margin": {"top": 20, "bottom": 20, "left": 20, "right": 20}},
            "body": [{"text": ["left", {"hfill": true}, "right"]}, {"space": "fill"}, {"text": "at the foot", "below": 0}]}"#;
        let page = &pages(markup)[0];
        let runs = runs(page);
        let (left, right, foot) = (&runs[0], &runs[1], &runs[2]);
        assert_eq!((left.0.as_str(), right.0.as_str(), foot.0.as_str()), ("left", "right", "at the foot"));
        assert!(right.1 > 150.0 * crate::page::PT_PER_MM, "right at {}", right.1);
        let bottom = (297.0 - 20.0) * crate::page::PT_PER_MM;
        assert!(bottom - foot.2 < 1.0, "the last line's baseline sits on the bottom margin: {}", foot.2);
    }

    #[test]
    fn a_page_break_starts_a_new_page_and_an_unknown_colour_is_named() {
        assert_eq!(pages(r#"{"body": [{"text": "a"}, {"break": "page"}, {"text": "b"}]}"#).len(), 2);
        let Ok(Markup::Letter(letter)) = parse(r#"{"body": [{"text": "a", "color": "brand"}]}"#) else { panic!() };
        let mut images = Images::default();
        let error = super::LetterLayout::new(&letter, &mut images).and_then(|mut l| l.pages()).err().unwrap();
        assert!(error.0.contains("`brand`"), "{}", error.0);
    }
}
