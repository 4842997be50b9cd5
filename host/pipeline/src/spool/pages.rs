//! Where each letter of a spool landed: its first page from the bookmark
//! [`crate::spool::markup`] put there, its last page from where the next
//! letter starts, and the blank back page a two-sided spool inserted after
//! it when it ended on a front.

use crate::spool::markup::MARKER;
use lopdf::Document;

/// One letter's pages in the spool (1-based, inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LetterPages {
    /// Its first page.
    pub first: u32,
    /// Its last page of its own.
    pub last: u32,
    /// Blank pages inserted after it (0 or 1) so that the next letter starts
    /// on a front.
    pub blank_after: u32,
}

impl LetterPages {
    /// Pages of the letter itself.
    pub fn pages(&self) -> u32 {
        self.last + 1 - self.first
    }

    /// Sheets of paper it takes: one per page on one side, one per two
    /// pages (its blank back included) on both.
    pub fn sheets(&self, duplex: bool) -> u32 {
        if duplex { (self.pages() + self.blank_after).div_ceil(2) } else { self.pages() }
    }
}

/// The pages of each of a spool's `letters` letters, in spool order, read
/// from the typeset spool `doc` whose pages hold `texts`.
pub fn letter_pages(
    doc: &Document,
    letters: usize,
    duplex: bool,
    texts: &[String],
) -> Result<Vec<LetterPages>, String> {
    let total = u32::try_from(texts.len()).map_err(|_| "the spool has too many pages".to_owned())?;
    let toc = doc.get_toc().map_err(|e| format!("the spool has no readable outline ({e})"))?;
    let mut starts: Vec<Option<u32>> = vec![None; letters];
    for entry in &toc.toc {
        let Some(index) = entry.title.strip_prefix(MARKER).and_then(|i| i.parse::<usize>().ok()) else {
            continue;
        };
        let slot = starts.get_mut(index).ok_or_else(|| format!("the spool marks a letter {index} it does not hold"))?;
        if slot.replace(entry.page as u32).is_some() {
            return Err(format!("the spool marks letter {index} twice"));
        }
    }
    let starts: Vec<u32> = starts
        .iter()
        .enumerate()
        .map(|(i, s)| s.ok_or_else(|| format!("the start of letter {i} is not marked in the spool")))
        .collect::<Result<_, _>>()?;
    let mut placed = Vec::with_capacity(letters);
    for (i, &first) in starts.iter().enumerate() {
        let next = starts.get(i + 1).copied().unwrap_or(total + 1);
        if first < 1 || next <= first || next > total + 1 {
            return Err(format!("letter {i} of the spool starts on page {first}, the next one on page {next}"));
        }
        let mut last = next - 1;
        let mut blank_after = 0;
        let is_blank = |page: u32| texts[page as usize - 1].trim().is_empty();
        if duplex && i + 1 < letters && last > first && (next - first) % 2 == 0 && is_blank(last) {
            last -= 1;
            blank_after = 1;
        }
        placed.push(LetterPages { first, last, blank_after });
    }
    Ok(placed)
}

#[cfg(test)]
mod tests {
    use super::LetterPages;

    #[test]
    fn sheets_count_blank_backs() {
        let one = LetterPages { first: 1, last: 1, blank_after: 1 };
        assert_eq!((one.pages(), one.sheets(true), one.sheets(false)), (1, 1, 1));
        let three = LetterPages { first: 3, last: 5, blank_after: 1 };
        assert_eq!((three.pages(), three.sheets(true), three.sheets(false)), (3, 2, 3));
        let last = LetterPages { first: 7, last: 7, blank_after: 0 };
        assert_eq!(last.sheets(true), 1);
    }
}
