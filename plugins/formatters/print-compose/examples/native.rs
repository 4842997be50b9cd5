//! The same composing as the component, run natively: `tessera bench pdf`
//! builds and runs this to measure what the sandbox costs.
//!
//! Usage: `native <folder of .json layout files>`. Composes the first file
//! once (that also parses the fonts), then every file one after the other,
//! and prints one JSON object with the mean time per letter:
//! `{"cached": {"mean_ms": …}}` (the component keeps nothing else between
//! letters, so there is no from-scratch series).

use std::time::Instant;

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: native <folder of .json files>");
        std::process::exit(2);
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read the folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let layouts: Vec<String> = files.iter().map(|p| std::fs::read_to_string(p).expect("read a layout")).collect();
    let Some(first) = layouts.first() else {
        eprintln!("no .json files in {dir}");
        std::process::exit(2);
    };
    let compose = |layout: &str| {
        print_compose::compose(layout).unwrap_or_else(|e| {
            eprintln!("{} (at {:?})", e.message, e.at);
            std::process::exit(1);
        })
    };
    compose(first);
    let started = Instant::now();
    for layout in &layouts {
        compose(layout);
    }
    let mean_ms = started.elapsed().as_secs_f64() * 1e3 / layouts.len() as f64;
    println!("{{\"cached\": {{\"mean_ms\": {mean_ms:.4}}}}}");
}
