//! One run's parameters and what it reports while it runs: the source, the
//! output folder, the as-of date, the threads, resume, channels; which
//! translator reads a source when the job does not say.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

/// One run's parameters.
pub struct BatchJob<'a> {
    /// The source file.
    pub input: &'a Path,
    /// Output folder.
    pub out_dir: &'a Path,
    /// Translator id (default: by the file's type, else the tenant's `job.translator`).
    pub translator: Option<&'a str>,
    /// As-of date (default: the tenant's `job.as_of`, else today, UTC).
    pub as_of: Option<&'a str>,
    /// Worker threads composing and formatting (default: one per core);
    /// as many translate a source that can be cut into shards.
    pub threads: Option<usize>,
    /// Bytes per shard for translators that can cut a source (default
    /// [`crate::source::shards::DEFAULT_SHARD_BYTES`]); `Some(0)` reads
    /// the source whole, in one session.
    pub shard_bytes: Option<u64>,
    /// Finish the interrupted run in `out_dir` instead of starting over.
    pub resume: bool,
    /// Called on the committing thread about every 100 ms, and once at the end.
    pub progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
    /// Send every record to exactly these channels instead of the
    /// scenario's (or the fixed outputs') choice.
    pub channels: Option<Vec<String>>,
    /// Where the outputs go, instead of `[output]`'s sink.
    pub sink: Option<crate::sink::SinkKind>,
    /// Records per block (sub-folder or container), instead of `[output]`'s.
    pub documents_per_block: Option<u64>,
    /// The source's encoding, instead of `[job] encoding`.
    pub encoding: Option<crate::source::encoding::SourceEncoding>,
    /// Render the shards elsewhere (a cluster's workers) instead of on
    /// this machine's threads; this process cuts, numbers and commits.
    pub remote: Option<Remote<'a>>,
}

/// Where a run's shards are rendered when not here.
#[derive(Clone, Copy)]
pub struct Remote<'a> {
    /// The exchange that takes shards and gives results back.
    pub exchange: &'a dyn crate::remote::ShardExchange,
    /// The run's id, the same when the run is resumed (results of an
    /// earlier attempt then still count).
    pub run: &'a str,
    /// Shards out at a time.
    pub in_flight: usize,
}

impl<'a> BatchJob<'a> {
    /// A run of `input` into `out_dir` with the tenant's defaults.
    pub fn new(input: &'a Path, out_dir: &'a Path) -> BatchJob<'a> {
        BatchJob {
            input,
            out_dir,
            translator: None,
            as_of: None,
            threads: None,
            shard_bytes: None,
            resume: false,
            progress: None,
            channels: None,
            sink: None,
            documents_per_block: None,
            encoding: None,
            remote: None,
        }
    }
}

/// Where a run is, for a progress display.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Records committed (delivered + rejected), including those an
    /// interrupted run committed before.
    pub records: u64,
    /// Delivered so far.
    pub delivered: u64,
    /// Rejected so far.
    pub rejected: u64,
    /// Source bytes read by the translator.
    pub bytes_read: u64,
    /// Source size.
    pub bytes_total: u64,
    /// Records committed by an interrupted run before this one resumed.
    pub resumed_at: u64,
    /// Since this run started.
    pub elapsed: Duration,
}

/// The translator for a source file: by extension, then by the first
/// non-blank byte, through `[job.translators]`; else `job.translator`. An
/// XML file whose head names a `CrossIndustryInvoice` takes the `cii` entry
/// first, when there is one: CII and UBL invoices both come as `.xml`.
pub(crate) fn pick_translator(job: &crate::tenant::JobDefaults, input: &Path) -> Option<String> {
    let mut head = [0u8; 2048];
    let n = std::fs::File::open(input).and_then(|mut f| f.read(&mut head)).unwrap_or(0);
    pick_translator_for(job, input, &head[..n])
}

/// [`pick_translator`] for a file named `name` that starts with `head`
/// (a file of a folder or a ZIP).
pub(crate) fn pick_translator_for(job: &crate::tenant::JobDefaults, name: &Path, head: &[u8]) -> Option<String> {
    let by_extension = name.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let sniffed = || -> Option<String> {
        let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        let first = text.iter().find(|b| !b.is_ascii_whitespace())?;
        Some(
            match first {
                b'{' | b'[' => "json",
                b'<' => "xml",
                _ => "csv",
            }
            .to_owned(),
        )
    };
    let cii = || {
        let is_cii = head.windows(b"CrossIndustryInvoice".len()).any(|w| w == b"CrossIndustryInvoice");
        is_cii.then(|| job.translators.get("cii").cloned()).flatten()
    };
    cii()
        .or_else(|| by_extension.and_then(|ext| job.translators.get(&ext).cloned()))
        .or_else(|| sniffed().and_then(|kind| job.translators.get(&kind).cloned()))
        .or_else(|| job.translator.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_translator_follows_the_extension_then_the_content_then_the_default() {
        let d = tempfile::tempdir().unwrap();
        let job = crate::tenant::JobDefaults {
            translator: Some("fallback".into()),
            translators: [("csv", "c"), ("json", "j"), ("xml", "x")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            ..Default::default()
        };
        let file = |name: &str, text: &[u8]| {
            let p = d.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        assert_eq!(pick_translator(&job, &file("a.XML", b"anything")).as_deref(), Some("x"));
        assert_eq!(pick_translator(&job, &file("export.dat", b"\xEF\xBB\xBF  \n[{}]")).as_deref(), Some("j"));
        assert_eq!(pick_translator(&job, &file("invoice.txt", b"<?xml version=\"1.0\"?>")).as_deref(), Some("x"));
        assert_eq!(pick_translator(&job, &file("rows.dat", b"id;name")).as_deref(), Some("c"));
        let with_cii = crate::tenant::JobDefaults {
            translators: [("xml", "ubl"), ("cii", "cii")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            ..Default::default()
        };
        let cii = b"<?xml version=\"1.0\"?>\n<!-- a comment -->\n<rsm:CrossIndustryInvoice xmlns:rsm=\"urn:x\"/>";
        assert_eq!(pick_translator(&with_cii, &file("in.xml", cii)).as_deref(), Some("cii"));
        assert_eq!(pick_translator(&with_cii, &file("u.xml", b"<Invoice/>")).as_deref(), Some("ubl"));
        let no_map = crate::tenant::JobDefaults { translator: Some("fallback".into()), ..Default::default() };
        assert_eq!(pick_translator(&no_map, &file("b.json", b"{}")).as_deref(), Some("fallback"));
    }
}
