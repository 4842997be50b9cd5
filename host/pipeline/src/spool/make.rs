//! Making one spool: typeset its letters as one document, read back where
//! each landed, check each against its record on its own pages, and leave
//! out the letters that fail — each rejected alone with its reason — by
//! typesetting the spool again without them.
//!
//! A typesetting error is traced to the letters that cause it by halving:
//! a half that typesets is cleared, a half that fails is halved again, down
//! to single letters. When the whole spool fails but every part of it
//! typesets (it hit a limit of the formatter as a whole, say its memory:
//! Typst keeps every page of a document until it writes the PDF), the
//! spool is made in parts, halved until each part fits: `post-00001`,
//! `post-00001-2`, … — the same letters in the same order, the places in
//! their control marks counting on across the parts. A letter is rejected
//! for a limit only when it hits that limit alone.

use crate::channels::config::Markup;
use crate::report::Stage;
use crate::spool::SpoolSettings;
use crate::spool::markup::{SpoolPages, spool_markup};
use crate::spool::pages::{LetterPages, letter_pages};
use crate::verify::{Facts, Scope, pdf};
use std::cell::Cell;
use tessera_runtime::{CallContext, CallUsage, DocumentInput, Plugin};

/// A letter waiting for its spool.
#[derive(Debug, Clone)]
pub struct SpoolLetter {
    /// Its place in the input (ties of the sort keys keep this order).
    pub seq: u64,
    /// `reference.document_id`.
    pub document_id: String,
    /// `reference.customer_ref`.
    pub customer_ref: String,
    /// The values of the spool's sort keys ([`crate::spool::sort_key`]).
    pub sort_key: Vec<String>,
    /// The letter's Typst markup, as its print template composed it.
    pub markup: String,
    /// What its pages must show.
    pub facts: Facts,
}

/// A letter in a finished spool.
#[derive(Debug, Clone)]
pub struct PlacedLetter {
    /// Its place in the input.
    pub seq: u64,
    /// `reference.document_id`.
    pub document_id: String,
    /// `reference.customer_ref`.
    pub customer_ref: String,
    /// Where it is in the spool.
    pub pages: LetterPages,
}

/// A finished spool (or one part of a spool too big to make as a whole).
#[derive(Debug, Clone)]
pub struct Spool {
    /// Its name: the plan's id, and `<id>-<k>` for its k-th part from the
    /// second on.
    pub id: String,
    /// The PDF.
    pub pdf: Vec<u8>,
    /// Its letters, in spool order.
    pub letters: Vec<PlacedLetter>,
    /// Pages, blank ones included.
    pub pages: u32,
    /// Blank pages inserted so that letters start on a front.
    pub blank_pages: u32,
    /// Sheets of paper.
    pub sheets: u32,
    /// What the formatter call that made it used.
    pub usage: CallUsage,
    /// Formatter calls it took (more than one when letters were left out).
    pub typesets: u32,
}

/// A letter left out of its spool.
#[derive(Debug, Clone)]
pub struct Unspooled {
    /// The letter.
    pub letter: SpoolLetter,
    /// Typesetting (`format`) or the self-check (`verify`).
    pub stage: Stage,
    /// What a person can act on.
    pub reason: String,
    /// The fact's CDM field, when the self-check failed.
    pub field: Option<String>,
    /// The formatter (`id@version`), when it failed.
    pub plugin: Option<String>,
    /// The limit it hit, when it did.
    pub limit: Option<String>,
}

/// What became of a spool's letters.
#[derive(Debug, Default)]
pub struct SpoolOutcome {
    /// The spool, in parts when it could not be made as a whole; none when
    /// no letter made it.
    pub spools: Vec<Spool>,
    /// Letters left out, in spool order.
    pub unspooled: Vec<Unspooled>,
}

/// Why the formatter could not typeset a spool.
#[derive(Debug, Clone)]
pub struct TypesetFailure {
    /// What it said.
    pub reason: String,
    /// The formatter (`id@version`).
    pub plugin: Option<String>,
    /// The limit it hit, when it did.
    pub limit: Option<String>,
}

/// Which spool is made, and how.
#[derive(Debug, Clone, Copy)]
pub struct SpoolPlan<'a> {
    /// The spool's name (`post-00001`): its PDF's title and identifier.
    pub id: &'a str,
    /// Its number in the run (in its control marks).
    pub number: u32,
    /// The channel's spool settings.
    pub settings: &'a SpoolSettings,
    /// The letters' markup language.
    pub markup: Markup,
}

impl SpoolPlan<'_> {
    fn pages(&self, first_place: u32) -> SpoolPages<'_> {
        SpoolPages {
            duplex: self.settings.duplex,
            marks: self.settings.marks.as_ref(),
            number: self.number,
            first_place,
        }
    }
}

/// Makes the spool `plan` of `letters` (already in spool order) with
/// formatter `plugin` for channel `channel`, passing the channel's
/// `metadata` (the spool's markup is added as `markup`).
pub fn make_spool(
    plugin: &Plugin,
    call: &CallContext,
    channel: &str,
    metadata: &[(String, String)],
    plan: SpoolPlan<'_>,
    letters: Vec<SpoolLetter>,
) -> SpoolOutcome {
    make_spool_with(&plugin_typesetter(plugin, call, channel, metadata, plan.markup), channel, plan, letters)
}

/// A typesetter: one formatter call per spool (or part of one), named by
/// its id, on its markup, with the limits of its number of letters.
pub type Typeset<'a> = dyn Fn(&str, String, usize) -> Result<(Vec<u8>, CallUsage), TypesetFailure> + 'a;

/// The typesetter [`make_spool`] uses: formatter `plugin` called for
/// channel `channel` with the channel's `metadata` and the spool's markup
/// in `language`.
pub fn plugin_typesetter<'a>(
    plugin: &'a Plugin,
    call: &'a CallContext,
    channel: &'a str,
    metadata: &'a [(String, String)],
    language: Markup,
) -> impl Fn(&str, String, usize) -> Result<(Vec<u8>, CallUsage), TypesetFailure> + 'a {
    move |id, markup, count| {
        let mut meta = metadata.to_vec();
        meta.retain(|(k, _)| k != "markup" && k != "markup.language");
        meta.push(("markup".into(), markup));
        meta.push(("markup.language".into(), language.name().into()));
        // The id is the PDF's identifier: each part of a spool has its own.
        let input = DocumentInput {
            channel: channel.to_owned(),
            document_id: id.to_owned(),
            metadata: meta,
            ..Default::default()
        };
        let documents = u32::try_from(count).unwrap_or(u32::MAX);
        plugin.format_many(call, input, documents).map(|(formatted, usage)| (formatted.bytes, usage)).map_err(|fault| {
            TypesetFailure {
                plugin: Some(fault.plugin.clone()),
                limit: fault.kind.limit().map(str::to_owned),
                reason: fault.to_string(),
            }
        })
    }
}

/// [`make_spool`] with any typesetter.
pub fn make_spool_with(
    typeset: &Typeset<'_>,
    channel: &str,
    plan: SpoolPlan<'_>,
    letters: Vec<SpoolLetter>,
) -> SpoolOutcome {
    let maker = Maker { typeset, channel, plan, typesets: Cell::new(0) };
    let mut outcome = SpoolOutcome::default();
    maker.part(letters, &mut outcome);
    outcome.unspooled.sort_by_key(|u| u.letter.seq);
    outcome
}

/// What makes a spool's parts.
struct Maker<'a> {
    typeset: &'a Typeset<'a>,
    channel: &'a str,
    plan: SpoolPlan<'a>,
    /// Formatter calls since the last part was finished.
    typesets: Cell<u32>,
}

impl Maker<'_> {
    /// Makes `letters` into the next part (or parts) of the spool, after
    /// the parts already in `outcome`.
    fn part(&self, mut letters: Vec<SpoolLetter>, outcome: &mut SpoolOutcome) {
        let (channel, duplex) = (self.channel, self.plan.settings.duplex);
        let k = outcome.spools.len() + 1;
        let id = if k == 1 { self.plan.id.to_owned() } else { format!("{}-{k}", self.plan.id) };
        // Places count on from the letters of the parts before.
        let first_place = outcome.spools.iter().map(|s| s.letters.len()).sum::<usize>();
        let pages = self.plan.pages(u32::try_from(first_place).unwrap_or(u32::MAX));
        // One formatter call on some of the letters, and where each landed.
        let attempt = |letters: &[SpoolLetter]| -> Result<Attempt, TypesetFailure> {
            self.typesets.set(self.typesets.get() + 1);
            let markup = spool_markup(self.plan.markup, letters.iter().map(|l| l.markup.as_str()), pages, &id);
            let (pdf, usage) = (self.typeset)(&id, markup, letters.len())?;
            let placed = read_back(&pdf, letters, duplex).map_err(|reason| TypesetFailure {
                reason,
                plugin: None,
                limit: None,
            })?;
            Ok(Attempt { pdf, usage, placed })
        };
        while !letters.is_empty() {
            let failure = match attempt(&letters) {
                Ok(Attempt { pdf, usage, placed }) => {
                    let failed: Vec<usize> = placed
                        .iter()
                        .enumerate()
                        .filter_map(|(i, (_, text))| {
                            let contradiction =
                                letters[i].facts.check(format!("`{channel}` spool PDF"), text, Scope::Letter).err()?;
                            outcome.unspooled.push(Unspooled {
                                letter: letters[i].clone(),
                                stage: Stage::Verify,
                                field: contradiction.fact.map(|f| f.field().to_owned()),
                                reason: contradiction.to_string(),
                                plugin: None,
                                limit: None,
                            });
                            Some(i)
                        })
                        .collect();
                    if failed.is_empty() {
                        let placed = placed.iter().map(|(p, _)| *p).collect::<Vec<_>>();
                        let typesets = self.typesets.replace(0);
                        outcome.spools.push(finished(id, pdf, letters, &placed, duplex, usage, typesets));
                        return;
                    }
                    remove(&mut letters, &failed);
                    continue;
                }
                Err(failure) => failure,
            };
            if letters.len() == 1 {
                outcome.unspooled.push(left_out(letters.remove(0), failure));
                return;
            }
            // Memory is the one limit that does not grow with the letters
            // of a call: a spool over it goes straight to parts (a letter
            // over it alone is found there), not through the halving
            // below, which would typeset every half twice.
            let over_memory = failure.limit.as_deref() == Some("memory");
            let culprits = if over_memory { Vec::new() } else { culprits(&attempt, &letters) };
            if culprits.is_empty() {
                // Too big as a whole, not in any part: made as two parts
                // (each halved again if need be), in spool order.
                tracing::info!(
                    spool = %id,
                    letters = letters.len(),
                    "the spool is made in parts: as a whole it failed ({})",
                    failure.reason
                );
                let second = letters.split_off(letters.len() / 2);
                self.part(letters, outcome);
                self.part(second, outcome);
                return;
            }
            let indices: Vec<usize> = culprits.iter().map(|(i, _)| *i).collect();
            for (i, failure) in culprits {
                outcome.unspooled.push(left_out(letters[i].clone(), failure));
            }
            remove(&mut letters, &indices);
        }
    }
}

/// A spool typeset and read back.
struct Attempt {
    pdf: Vec<u8>,
    usage: CallUsage,
    /// Each letter's pages and the text on them.
    placed: Vec<(LetterPages, String)>,
}

/// Each letter's pages and the text on them.
fn read_back(pdf_bytes: &[u8], letters: &[SpoolLetter], duplex: bool) -> Result<Vec<(LetterPages, String)>, String> {
    let doc = lopdf::Document::load_mem(pdf_bytes).map_err(|e| format!("the spool is not a readable PDF: {e}"))?;
    let texts = pdf::page_texts(&doc)?;
    let pages = letter_pages(&doc, letters.len(), duplex, &texts)?;
    Ok(pages
        .into_iter()
        .map(|p| {
            let text = texts[p.first as usize - 1..p.last as usize].join("\n");
            (p, text)
        })
        .collect())
}

/// The letters of `letters` that fail to typeset (or to be read back),
/// found by halving: a half that typesets is cleared, a failing one halved
/// again down to single letters.
fn culprits(
    attempt: &dyn Fn(&[SpoolLetter]) -> Result<Attempt, TypesetFailure>,
    letters: &[SpoolLetter],
) -> Vec<(usize, TypesetFailure)> {
    fn halve(
        attempt: &dyn Fn(&[SpoolLetter]) -> Result<Attempt, TypesetFailure>,
        letters: &[SpoolLetter],
        offset: usize,
        found: &mut Vec<(usize, TypesetFailure)>,
    ) {
        let mid = letters.len() / 2;
        for (part, at) in [(&letters[..mid], offset), (&letters[mid..], offset + mid)] {
            if part.is_empty() {
                continue;
            }
            match attempt(part) {
                Ok(_) => {}
                Err(failure) if part.len() == 1 => found.push((at, failure)),
                Err(_) => halve(attempt, part, at, found),
            }
        }
    }
    let mut found = Vec::new();
    halve(attempt, letters, 0, &mut found);
    found
}

fn left_out(letter: SpoolLetter, failure: TypesetFailure) -> Unspooled {
    Unspooled {
        letter,
        stage: Stage::Format,
        reason: failure.reason,
        field: None,
        plugin: failure.plugin,
        limit: failure.limit,
    }
}

/// Removes the letters at `indices` (ascending or not).
fn remove(letters: &mut Vec<SpoolLetter>, indices: &[usize]) {
    let mut index = 0;
    letters.retain(|_| {
        let keep = !indices.contains(&index);
        index += 1;
        keep
    });
}

fn finished(
    id: String,
    pdf: Vec<u8>,
    letters: Vec<SpoolLetter>,
    pages: &[LetterPages],
    duplex: bool,
    usage: CallUsage,
    typesets: u32,
) -> Spool {
    let total = pages.last().map_or(0, |p| p.last + p.blank_after);
    let blank_pages = pages.iter().map(|p| p.blank_after).sum();
    let sheets = pages.iter().map(|p| p.sheets(duplex)).sum();
    let letters = letters
        .into_iter()
        .zip(pages)
        .map(|(l, p)| PlacedLetter { seq: l.seq, document_id: l.document_id, customer_ref: l.customer_ref, pages: *p })
        .collect();
    Spool { id, pdf, letters, pages: total, blank_pages, sheets, usage, typesets }
}
