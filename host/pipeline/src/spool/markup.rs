//! The markup of one spool: the letters' own markup one after the other.
//!
//! For print-compose (layout JSON) that is `{"spool": {…}, "letters": [
//! <letter>, … ]}`: the formatter itself starts each letter on a new page
//! (an odd one on two sides), draws the control marks and bookmarks each
//! letter's first page [`MARKER`]`<n>`, as below.
//!
//! For Typst, it is one Typst document with each letter in a content block
//! of its own.
//!
//! The block ends the letter's `#let` bindings and set and show rules with
//! it, so one letter's page settings or fonts never leak into the next.
//! Before its markup each letter resets the page and heading counters (its
//! footer counts its own pages, its headings number from one) and sets the
//! page foreground to a hidden, bookmarked heading titled [`MARKER`] and
//! its place in the spool, drawn on the page where its page counter is 1:
//! the PDF's outline then names the first page of every letter, which is
//! how [`crate::spool::pages`] finds the page ranges. In the foreground the
//! marker is not flow content — placed before the letter's own `set page`
//! it would fill a page of its own — and a letter's `set page` leaves it in
//! place unless the letter sets a foreground itself (its start is then not
//! found, and the spool says so). The heading is placed (it takes no room),
//! hidden (it draws nothing) and left out of any outline a letter prints.
//!
//! With control marks ([`crate::spool::marks`]) the same foreground draws
//! the sheet's dash code: its number and the letter's sheets come from the
//! letter's page counter here and at the metadata that ends the letter.
//!
//! Letters are separated by a page break — to the next odd page when the
//! spool is printed on both sides, so every letter starts on the front of
//! a sheet (Typst inserts the blank back page).

use crate::channels::config::Markup;
use crate::spool::marks::{ControlMarks, typst_definition};

/// The title of the bookmark that marks a letter's first page, before the
/// letter's place in the spool (`tessera spool letter 0`, `… 1`, …).
pub const MARKER: &str = "tessera spool letter ";

/// How a spool's pages are laid out besides the letters' own markup.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpoolPages<'a> {
    /// Printed on both sides: every letter starts on an odd page.
    pub duplex: bool,
    /// Inserter control marks, when the spool prints them.
    pub marks: Option<&'a ControlMarks>,
    /// The spool's number (in its control marks).
    pub number: u32,
    /// The place in the spool of the first letter (in its control marks):
    /// 0, or the letters of the parts before when a spool is made in parts.
    pub first_place: u32,
}

/// The markup of a spool of `letters` (each letter's Typst markup, in spool
/// order), titled `title`.
///
/// Each letter sets the state `tessera-letter` to its place in the spool
/// and ends with `#metadata(<place>) <tessera-letter-end-<place>>`, so a
/// footer can show the letter's own page total (`counter(page).final()` is
/// the spool's): `counter(page).at(label("tessera-letter-end-" +
/// str(state("tessera-letter").get()))).first()`, which the sample print
/// template uses when the state is set.
pub fn spool_markup<'a>(
    language: Markup,
    letters: impl IntoIterator<Item = &'a str>,
    layout: SpoolPages<'_>,
    title: &str,
) -> String {
    match language {
        Markup::Typst => typst_spool(letters, layout, title),
        Markup::Layout => layout_spool(letters, layout, title),
    }
}

/// A print-compose spool: the settings, then the letters' JSON as they are.
fn layout_spool<'a>(letters: impl IntoIterator<Item = &'a str>, layout: SpoolPages<'_>, title: &str) -> String {
    let marks = layout.marks.map(|m| serde_json::json!({ "x_mm": m.x_mm, "y_mm": m.y_mm }));
    let setup = serde_json::json!({
        "duplex": layout.duplex,
        "marks": marks,
        "number": layout.number,
        "first_place": layout.first_place,
        "title": title,
    });
    let mut out = format!("{{\"spool\": {setup},\n\"letters\": [\n");
    for (index, letter) in letters.into_iter().enumerate() {
        if index > 0 {
            out.push_str(",\n");
        }
        out.push_str(letter.trim());
    }
    out.push_str("\n]}\n");
    out
}

/// A Typst spool: see the module's documentation.
fn typst_spool<'a>(letters: impl IntoIterator<Item = &'a str>, layout: SpoolPages<'_>, title: &str) -> String {
    let mut out = String::new();
    if let Some(marks) = layout.marks {
        out.push_str(&typst_definition(marks));
    }
    for (index, letter) in letters.into_iter().enumerate() {
        if index > 0 {
            out.push_str(if layout.duplex {
                "#pagebreak(weak: true, to: \"odd\")\n"
            } else {
                "#pagebreak(weak: true)\n"
            });
        }
        let end = format!("<tessera-letter-end-{index}>");
        let place = u64::from(layout.first_place) + index as u64;
        out.push_str("#[\n#counter(page).update(1)\n#counter(heading).update(0)\n");
        out.push_str(&format!("#state(\"tessera-letter\").update({index})\n"));
        out.push_str("#set page(foreground: context {\n  let this = counter(page).get().first()\n");
        out.push_str(
            "  if this == 1 { place(hide(heading(level: 1, numbering: none, outlined: false, bookmarked: true)[",
        );
        out.push_str(MARKER);
        out.push_str(&index.to_string());
        out.push_str("])) }\n");
        if layout.marks.is_some() {
            out.push_str(&format!("  let pages = counter(page).at({end}).first()\n"));
            out.push_str(&if layout.duplex {
                format!(
                    "  if calc.odd(this) {{ tessera-omr(calc.quo(this + 1, 2), calc.quo(pages + 1, 2), {place}, {}) }}\n",
                    layout.number
                )
            } else {
                format!("  tessera-omr(this, pages, {place}, {})\n", layout.number)
            });
        }
        out.push_str("})\n");
        out.push_str(letter);
        // A letter's last line may be a comment: what follows starts on a line of its own.
        out.push_str(&format!("\n#metadata({index}) {end}\n]\n"));
    }
    out.push_str("#set document(title: ");
    push_typst_string(&mut out, title);
    out.push_str(")\n");
    out
}

/// Appends `text` as a Typst string literal.
fn push_typst_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layout_spool_is_its_settings_and_its_letters() {
        let marks = ControlMarks { kind: Default::default(), x_mm: 5.0, y_mm: 90.0 };
        let pages = SpoolPages { duplex: true, marks: Some(&marks), number: 7, first_place: 100 };
        let markup = spool_markup(Markup::Layout, [r#"{"body": [1,]}"#, " {\"body\": []}\n"], pages, "post \"7\"");
        assert!(markup.starts_with("{\"spool\": {"), "the formatter tells a spool by its first key");
        let letters = markup.split_once("\"letters\": [").unwrap().1;
        assert_eq!(letters, "\n{\"body\": [1,]},\n{\"body\": []}\n]}\n");
        let setup: serde_json::Value = serde_json::from_str(
            markup.lines().next().unwrap().strip_prefix("{\"spool\": ").unwrap().trim_end_matches(','),
        )
        .unwrap();
        assert_eq!(setup["number"], 7);
        assert_eq!(setup["first_place"], 100);
        assert_eq!(setup["marks"]["y_mm"], 90.0);
        assert_eq!(setup["title"], "post \"7\"");
    }

    #[test]
    fn letters_are_scoped_marked_and_separated() {
        let two_sided = SpoolPages { duplex: true, ..SpoolPages::default() };
        let markup = spool_markup(Markup::Typst, ["= One", "Two // a comment"], two_sided, "print \"1\"");
        assert_eq!(markup.matches("#[\n").count(), 2);
        assert!(markup.contains("[tessera spool letter 0]"));
        assert!(markup.contains("[tessera spool letter 1]"));
        assert_eq!(markup.matches("#pagebreak(weak: true, to: \"odd\")").count(), 1);
        assert!(markup.contains("Two // a comment\n#metadata(1) <tessera-letter-end-1>\n]\n"));
        assert!(markup.contains("#state(\"tessera-letter\").update(1)"));
        assert!(!markup.contains("tessera-omr"));
        assert!(markup.ends_with("#set document(title: \"print \\\"1\\\"\")\n"));
        let simplex = spool_markup(Markup::Typst, ["A", "B", "C"], SpoolPages::default(), "s");
        assert_eq!(simplex.matches("#pagebreak(weak: true)\n").count(), 2);
    }
}
