//! The same typesetting as the component, run natively: `tessera bench pdf`
//! builds and runs this to measure what the sandbox costs.
//!
//! Usage: `native <folder of .typ files> <YYYY-MM-DD>`. Typesets the first
//! file once (that also parses the fonts), then every other file twice over
//! — with Typst's caches emptied before each document (from scratch; the
//! fonts stay parsed), then with the caches kept across documents (as the
//! component does when the tenant grants reuse) — and prints one JSON
//! object with the timings. `TYPST_UNTAGGED=1` writes untagged PDFs.

use std::time::{Duration, Instant};
use typst_pdf_formatter::{Setup, Standard, typeset};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(date)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: native <folder of .typ files> <YYYY-MM-DD>");
        std::process::exit(2);
    };
    let as_of = parse_date(date).unwrap_or_else(|| {
        eprintln!("`{date}` is not YYYY-MM-DD");
        std::process::exit(2);
    });
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("read the folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "typ"))
        .collect();
    files.sort();
    let markups: Vec<(String, String)> = files
        .iter()
        .map(|p| {
            let id = p.file_stem().unwrap_or_default().to_string_lossy().into_owned();
            (id, std::fs::read_to_string(p).expect("read a markup file"))
        })
        .collect();
    let no_files = |_: &str| -> Result<Vec<u8>, String> { Err("no files natively".into()) };
    let tagged = std::env::var_os("TYPST_UNTAGGED").is_none();
    let typeset_one = |id: &str, markup: &str| {
        let setup = Setup { document_id: id, as_of, standard: Standard::Pdf17, tagged, read: &no_files };
        let started = Instant::now();
        typeset(markup, &setup).unwrap_or_else(|e| panic!("{id}: {}", e.message));
        started.elapsed()
    };
    // The first letter also parses the fonts; it is reported on its own and
    // the series below run over the other letters, each seen once.
    let Some(((first_id, first_markup), rest)) = markups.split_first() else {
        eprintln!("no .typ files in {dir}");
        std::process::exit(2);
    };
    let first = typeset_one(first_id, first_markup);
    let run = |scratch: bool| -> Vec<Duration> {
        rest.iter()
            .map(|(id, markup)| {
                if scratch {
                    typst::comemo::evict(0);
                }
                typeset_one(id, markup)
            })
            .collect()
    };
    // Scratch first: run after the cached series, it would find the letters
    // of that series still in the caches it empties only once per letter.
    let scratch = run(true);
    let cached = run(false);
    println!(
        "{{\"docs\":{},\"first_ms\":{:.3},\"cached\":{},\"scratch\":{}}}",
        rest.len(),
        ms(first),
        summary(cached),
        summary(scratch)
    );
}

fn summary(mut times: Vec<Duration>) -> String {
    times.sort();
    let mean = times.iter().map(|d| ms(*d)).sum::<f64>() / times.len().max(1) as f64;
    let at = |p: f64| ms(times[((p * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1]);
    format!("{{\"mean_ms\":{mean:.3},\"p50_ms\":{:.3},\"p99_ms\":{:.3}}}", at(0.5), at(0.99))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn parse_date(text: &str) -> Option<(i32, u8, u8)> {
    let mut parts = text.splitn(3, '-');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}
