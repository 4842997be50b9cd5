//! Composes layout files natively, to look at the result or time it.
//!
//! Usage: `compose <in.json> <out.pdf> [repeat]` — composes the file
//! `repeat` times (default 1), writes the last PDF and prints the mean time.

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(input), Some(output)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: compose <in.json> <out.pdf> [repeat]");
        std::process::exit(2);
    };
    let repeat: u32 = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(1).max(1);
    let markup = std::fs::read_to_string(input).expect("read the layout");
    let start = Instant::now();
    let mut last = None;
    for _ in 0..repeat {
        match print_compose::compose(&markup) {
            Ok(composed) => last = Some(composed),
            Err(e) => {
                eprintln!("{} (at {:?})", e.message, e.at);
                std::process::exit(1);
            }
        }
    }
    let each = start.elapsed().as_secs_f64() * 1000.0 / f64::from(repeat);
    let composed = last.expect("composed at least once");
    std::fs::write(output, &composed.pdf).expect("write the PDF");
    println!("{{\"pages\": {}, \"bytes\": {}, \"ms_each\": {each:.3}}}", composed.pages, composed.pdf.len());
}
