//! The Typst document of one spool: the letters' own markup one after the
//! other, each in a content block of its own.
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
//! Letters are separated by a page break — to the next odd page when the
//! spool is printed on both sides, so every letter starts on the front of
//! a sheet (Typst inserts the blank back page).

/// The title of the bookmark that marks a letter's first page, before the
/// letter's place in the spool (`tessera spool letter 0`, `… 1`, …).
pub const MARKER: &str = "tessera spool letter ";

/// The markup of a spool of `letters` (each letter's Typst markup, in spool
/// order), titled `title`.
pub fn spool_markup<'a>(letters: impl IntoIterator<Item = &'a str>, duplex: bool, title: &str) -> String {
    let mut out = String::new();
    for (index, letter) in letters.into_iter().enumerate() {
        if index > 0 {
            out.push_str(if duplex { "#pagebreak(weak: true, to: \"odd\")\n" } else { "#pagebreak(weak: true)\n" });
        }
        out.push_str("#[\n#counter(page).update(1)\n#counter(heading).update(0)\n");
        out.push_str("#set page(foreground: context if counter(page).get().first() == 1 { place(hide(heading(level: 1, numbering: none, outlined: false, bookmarked: true)[");
        out.push_str(MARKER);
        out.push_str(&index.to_string());
        out.push_str("])) })\n");
        out.push_str(letter);
        // A letter's last line may be a comment: the block closes on a line of its own.
        out.push_str("\n]\n");
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
    fn letters_are_scoped_marked_and_separated() {
        let markup = spool_markup(["= One", "Two // a comment"], true, "print \"1\"");
        assert_eq!(markup.matches("#[\n").count(), 2);
        assert!(markup.contains("[tessera spool letter 0]"));
        assert!(markup.contains("[tessera spool letter 1]"));
        assert_eq!(markup.matches("#pagebreak(weak: true, to: \"odd\")").count(), 1);
        assert!(markup.contains("Two // a comment\n]\n"));
        assert!(markup.ends_with("#set document(title: \"print \\\"1\\\"\")\n"));
        let simplex = spool_markup(["A", "B", "C"], false, "s");
        assert_eq!(simplex.matches("#pagebreak(weak: true)\n").count(), 2);
    }
}
