//! The spool stage, at the end of a batch: every spooled channel's staged
//! letters sorted by the channel's keys (ties in input order), cut into
//! spools of the channel's size, each typeset on whichever worker thread
//! is free ([`crate::spool::make`]) and written to
//! `spools/<channel>-<n>.pdf`; then, spool after spool, one manifest line
//! per letter (the spool file, the letter's pages and sheets) and one
//! rejection per letter left out.
//!
//! Spools are made a few at a time (one per thread) and committed in
//! spool order, so the manifest is the same whatever the thread count,
//! and memory holds a few spools, not the run. The stage writes no
//! checkpoint: a run killed during it is resumed from the checkpoint taken
//! before it, which cuts the manifest back and makes the spools again,
//! byte for byte.

use crate::channels::config::Markup;
use crate::report::{ManifestLine, PluginUse, Rejection, SpoolPlace, Stage};
use crate::run::produce::{plugin_use, seed_for};
use crate::run::write::{sha256_hex, write_atomic};
use crate::spool::staging::{Staged, StagedLetter};
use crate::spool::{PlacedLetter, Spool, SpoolLetter, SpoolOutcome, SpoolPlan, SpoolSettings, Unspooled, make_spool};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use tessera_runtime::{CallContext, Plugin};

/// The folder of the spool files, in the output folder.
pub const SPOOLS_DIR: &str = "spools";

/// What the stage hands the committer, spool after spool.
pub(crate) enum SpoolEnd {
    /// A letter in a spool: its manifest line; `only_output` when its
    /// record has no other output.
    Line { line: Box<ManifestLine>, only_output: bool },
    /// A letter left out: its rejection.
    Rejected { rejection: Box<Rejection>, only_output: bool },
}

/// One spooled channel, as the stage needs it.
pub(crate) struct SpooledChannel<'a> {
    pub name: &'a str,
    pub plugin: &'a Plugin,
    pub metadata: &'a [(String, String)],
    pub settings: &'a SpoolSettings,
    pub markup: Markup,
}

/// Makes channel `channel`'s spools from its staging in `out_dir` on
/// `threads` threads, handing every letter's end to `commit` in spool
/// order; returns how many spool files it wrote.
pub(crate) fn make_channel_spools(
    out_dir: &Path,
    channel: &SpooledChannel<'_>,
    as_of: &CallContext,
    threads: usize,
    commit: &mut dyn FnMut(SpoolEnd) -> std::io::Result<()>,
) -> std::io::Result<u64> {
    let mut written = 0;
    let staged = Staged::open(out_dir, channel.name)?;
    let mut order: Vec<usize> = (0..staged.entries.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&staged.entries[a], &staged.entries[b]);
        a.sort_key.cmp(&b.sort_key).then(a.seq.cmp(&b.seq))
    });
    let per_spool = channel.settings.letters.max(1);
    let spools: Vec<&[usize]> = order.chunks(per_spool).collect();
    std::fs::create_dir_all(out_dir.join(SPOOLS_DIR))?;
    let threads = threads.max(1);
    for (wave, batch) in spools.chunks(threads).enumerate() {
        let next = AtomicUsize::new(0);
        let made: Mutex<Vec<Option<std::io::Result<Made>>>> = Mutex::new((0..batch.len()).map(|_| None).collect());
        std::thread::scope(|scope| {
            for n in 0..threads.min(batch.len()) {
                let (next, made, staged) = (&next, &made, &staged);
                let spawned =
                    std::thread::Builder::new().name(format!("tessera-spool-{n}")).spawn_scoped(scope, move || {
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(members) = batch.get(i) else { break };
                            let number = wave * threads + i + 1;
                            let result = make_one(out_dir, channel, as_of, staged, members, number);
                            made.lock().expect("results")[i] = Some(result);
                        }
                    });
                if let Err(e) = spawned {
                    made.lock().expect("results")[0] = Some(Err(e));
                }
            }
        });
        for result in made.into_inner().expect("results") {
            let made = result.expect("every spool of the wave was made")?;
            written += u64::from(made.written);
            for end in made.ends {
                commit(end)?;
            }
        }
    }
    Ok(written)
}

/// One spool's letters' ends, in spool order.
struct Made {
    ends: Vec<SpoolEnd>,
    /// Spool files written: none when every letter was left out, more than
    /// one when the spool was made in parts.
    written: u32,
}

fn make_one(
    out_dir: &Path,
    channel: &SpooledChannel<'_>,
    as_of: &CallContext,
    staged: &Staged,
    members: &[usize],
    number: usize,
) -> std::io::Result<Made> {
    let mut letters = Vec::with_capacity(members.len());
    let mut kept = Vec::with_capacity(members.len());
    for &m in members {
        let mut letter = staged.letter(&staged.entries[m])?;
        letters.push(SpoolLetter {
            seq: letter.seq,
            document_id: letter.document_id.clone(),
            customer_ref: letter.record.clone(),
            sort_key: letter.sort_key.clone(),
            markup: std::mem::take(&mut letter.markup),
            facts: letter.facts.clone(),
        });
        kept.push(letter);
    }
    let id = format!("{}-{number:05}", channel.name);
    let call = CallContext { seed: seed_for(&id), ..as_of.clone() };
    let number = u32::try_from(number).unwrap_or(u32::MAX);
    let plan = SpoolPlan { id: &id, number, settings: channel.settings, markup: channel.markup };
    let outcome = make_spool(channel.plugin, &call, channel.name, channel.metadata, plan, letters);
    for spool in &outcome.spools {
        write_atomic(&out_dir.join(spool_file(&spool.id)), &spool.pdf)?;
    }
    let written = u32::try_from(outcome.spools.len()).unwrap_or(u32::MAX);
    Ok(Made { ends: ends(channel, outcome, &kept), written })
}

/// A spool's file, in the output folder.
fn spool_file(id: &str) -> String {
    format!("{SPOOLS_DIR}/{id}.pdf")
}

/// The manifest lines and rejections of one spool's letters, in spool order
/// (letters left out where they would have been), whichever part of the
/// spool each is in.
fn ends(channel: &SpooledChannel<'_>, outcome: SpoolOutcome, staged: &[StagedLetter]) -> Vec<SpoolEnd> {
    let of = |seq: u64| staged.iter().find(|l| l.seq == seq).expect("a spooled letter was staged");
    let mut ends: Vec<(u64, SpoolEnd)> = Vec::new();
    let order = |seq: u64| staged.iter().position(|l| l.seq == seq).unwrap_or(usize::MAX) as u64;
    for spool in &outcome.spools {
        let (file, sha256) = (spool_file(&spool.id), sha256_hex(&spool.pdf));
        let shares = fuel_shares(channel.plugin, spool);
        for (placed, fuel) in spool.letters.iter().zip(shares) {
            let letter = of(placed.seq);
            let line = line_of(letter, channel, &file, spool, placed, &sha256, fuel);
            ends.push((order(placed.seq), SpoolEnd::Line { line: Box::new(line), only_output: letter.only_output }));
        }
    }
    for unspooled in outcome.unspooled {
        let letter = of(unspooled.letter.seq);
        let rejection = rejection_of(channel.name, letter, unspooled);
        ends.push((
            order(letter.seq),
            SpoolEnd::Rejected { rejection: Box::new(rejection), only_output: letter.only_output },
        ));
    }
    ends.sort_by_key(|(at, _)| *at);
    ends.into_iter().map(|(_, end)| end).collect()
}

/// The formatter's use for each letter of a spool: its fuel shared out
/// (the remainder to the first letters) when the plugin reports fuel per
/// call, as a fresh instance does.
fn fuel_shares(plugin: &Plugin, spool: &Spool) -> Vec<PluginUse> {
    let n = spool.letters.len() as u64;
    let whole = plugin_use(plugin, &spool.usage);
    (0..n)
        .map(|i| PluginUse {
            fuel: whole.fuel.map(|f| f / n + u64::from(i < f % n)),
            elapsed: spool.usage.elapsed / n as u32,
            ..whole.clone()
        })
        .collect()
}

/// A spooled letter's manifest line: the spool file, its size and digest,
/// the letter's own pages and where they are.
pub(crate) fn line_of(
    letter: &StagedLetter,
    channel: &SpooledChannel<'_>,
    file: &str,
    spool: &Spool,
    placed: &PlacedLetter,
    sha256: &str,
    formatter: PluginUse,
) -> ManifestLine {
    let mut plugins = letter.plugins.clone();
    plugins.push(formatter);
    ManifestLine {
        record: letter.record.clone(),
        document_id: letter.document_id.clone(),
        channel: channel.name.to_owned(),
        file: file.to_owned(),
        container: None,
        media_type: "application/pdf".into(),
        templates: letter.templates.clone(),
        label: letter.label.clone(),
        locale: letter.locale.clone(),
        variant: letter.variant.clone(),
        content_revision: letter.content_revision.as_str().into(),
        content_view: letter.content_view.clone(),
        content_files: std::sync::Arc::clone(&letter.content_files),
        fuel: plugins.iter().filter_map(|p| p.fuel).sum(),
        plugins,
        bytes: spool.pdf.len() as u64,
        pages: Some(u64::from(placed.pages.pages())),
        spool: Some(SpoolPlace {
            first_page: placed.pages.first,
            last_page: placed.pages.last,
            blank_after: placed.pages.blank_after,
            sheets: placed.pages.sheets(channel.settings.duplex),
        }),
        sha256: sha256.to_owned(),
        warnings: letter.warnings.clone(),
    }
}

fn rejection_of(channel: &str, letter: &StagedLetter, unspooled: Unspooled) -> Rejection {
    Rejection {
        record: Some(letter.record.clone()),
        document_id: Some(letter.document_id.clone()),
        source: None,
        stage: unspooled.stage,
        field: unspooled.field,
        rule: (unspooled.stage == Stage::Verify).then(|| "self-check".to_owned()),
        plugin: unspooled.plugin,
        limit: unspooled.limit,
        reason: format!("channel `{channel}` (print spool): {}", unspooled.reason),
    }
}
