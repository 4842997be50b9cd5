//! Page layout for line printers: wrapping to a fixed width and cutting the
//! text into pages, counting the physical lines each carriage control uses.
//!
//! ASA carriage control is the first byte of every line and says how to move
//! the paper *before* printing it: `1` new page, ` ` one line, `0` two lines
//! (one blank), `-` three lines (two blank). Runs of blank lines are folded
//! into the next printed line's control so that print streams stay compact.

/// One printable line and the blank lines before it.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Blank lines to leave before this one (0, 1 or 2).
    pub blanks_before: usize,
    /// The text, already fitted to the width.
    pub text: String,
}

/// What the input asks for: a line, or a forced page break (form feed).
pub enum Item {
    /// A text line.
    Line(Line),
    /// Start a new page.
    PageBreak,
}

/// Splits text into fitted lines and page breaks. Tabs expand to 8-column
/// stops; other control characters become spaces (they can stall printers).
pub fn fit(text: &str, width: usize) -> Vec<Item> {
    let mut items = Vec::new();
    let mut blanks = 0usize;
    for raw in text.split('\n') {
        let mut parts = raw.split('\x0C').peekable();
        while let Some(part) = parts.next() {
            let clean = clean_line(part);
            if clean.trim().is_empty() {
                blanks += 1;
            } else {
                for (i, piece) in wrap(&clean, width).into_iter().enumerate() {
                    // ASA can only skip two blank lines at once; more become
                    // empty printed lines.
                    let before = if i == 0 { blanks } else { 0 };
                    for _ in 0..before.saturating_sub(2) / 3 {
                        items.push(Item::Line(Line { blanks_before: 2, text: String::new() }));
                    }
                    let rest = if before > 2 { (before - 2) % 3 } else { before };
                    items.push(Item::Line(Line { blanks_before: rest.min(2), text: piece }));
                }
                blanks = 0;
            }
            if parts.peek().is_some() {
                items.push(Item::PageBreak);
                blanks = 0;
            }
        }
    }
    items
}

fn clean_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut column = 0;
    for c in line.trim_end_matches('\r').chars() {
        if c == '\t' {
            let next = (column / 8 + 1) * 8;
            out.extend(std::iter::repeat_n(' ', next - column));
            column = next;
        } else if c.is_control() {
            out.push(' ');
            column += 1;
        } else {
            out.push(c);
            column += 1;
        }
    }
    out.trim_end().to_owned()
}

/// Word-wraps to `width` characters, keeping the line's indent on
/// continuation lines; a word longer than the width is cut.
fn wrap(line: &str, width: usize) -> Vec<String> {
    if line.chars().count() <= width {
        return vec![line.to_owned()];
    }
    let indent: String = line.chars().take_while(|c| *c == ' ').collect();
    let indent = if indent.len() * 2 > width { String::new() } else { indent };
    let mut out = Vec::new();
    let mut current = String::new();
    let mut len = 0;
    for word in line.split(' ').filter(|w| !w.is_empty()) {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let lead = if current.is_empty() { indent.chars().count() } else { len + 1 };
            if lead + word.len() <= width {
                if current.is_empty() {
                    current.push_str(&indent);
                    len = indent.chars().count();
                } else {
                    current.push(' ');
                    len += 1;
                }
                current.extend(word.iter());
                len += word.len();
                break;
            }
            if current.is_empty() {
                // The word alone is wider than the line: cut it.
                let room = width - indent.chars().count();
                let head: String = word.drain(..room).collect();
                out.push(format!("{indent}{head}"));
                if word.is_empty() {
                    break;
                }
            } else {
                out.push(std::mem::take(&mut current));
                len = 0;
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Cuts fitted items into pages of `body_lines` physical lines.
pub fn paginate(items: Vec<Item>, body_lines: usize) -> Vec<Vec<Line>> {
    let mut pages: Vec<Vec<Line>> = vec![Vec::new()];
    let mut used = 0;
    for item in items {
        match item {
            Item::PageBreak => {
                pages.push(Vec::new());
                used = 0;
            }
            Item::Line(mut line) => {
                let first_on_page = pages.last().is_some_and(Vec::is_empty);
                if first_on_page {
                    // Blank lines at the top of a page are noise.
                    line.blanks_before = 0;
                }
                let cost = line.blanks_before + 1;
                if used + cost > body_lines && !first_on_page {
                    pages.push(Vec::new());
                    line.blanks_before = 0;
                    used = 0;
                }
                used += line.blanks_before + 1;
                pages.last_mut().expect("never empty").push(line);
            }
        }
    }
    if pages.len() > 1 && pages.last().is_some_and(Vec::is_empty) {
        pages.pop();
    }
    pages
}
