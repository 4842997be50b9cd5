//! QR encoding tuned for one job: byte-mode data at error-correction level M
//! (what EPC069-12 prescribes), fast enough to run once per letter.
//!
//! Reed–Solomon coding and module placement come from the `qrcode` crate.
//! Its high-level constructor, though, searches for an "optimal" segment
//! mix and clones and re-scores the whole symbol per mask, which costs
//! ~1.3 ms per code natively. Here the version is the smallest one whose
//! byte-mode capacity fits, and the eight masks are scored with the
//! ISO/IEC 18004 penalty rules (N1 runs, N2 blocks, N3 finder-like
//! patterns, N4 dark balance) over one reused buffer.

use qrcode::bits::Bits;
use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::types::{EcLevel, Version};

const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// A finished symbol: `width × width` modules, row-major, `true` = dark.
pub struct Symbol {
    /// Modules per side.
    pub width: usize,
    /// The modules.
    pub dark: Vec<bool>,
}

/// Encodes `data` in byte mode at level M in the smallest version that fits.
pub fn encode(data: &[u8]) -> Result<Symbol, String> {
    let bits = (1..=40)
        .find_map(|v| {
            let mut bits = Bits::new(Version::Normal(v));
            (bits.push_byte_data(data).is_ok() && bits.push_terminator(EcLevel::M).is_ok()).then_some(bits)
        })
        .ok_or_else(|| format!("{} bytes do not fit in a QR code at level M", data.len()))?;
    let version = bits.version();
    let (codewords, ec) =
        qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M).map_err(|e| e.to_string())?;
    let mut base = Canvas::new(version, EcLevel::M);
    base.draw_all_functional_patterns();
    base.draw_data(&codewords, &ec);

    let width = version.width() as usize;
    let mut buffer = vec![false; width * width];
    let mut best: Option<(u32, MaskPattern)> = None;
    for mask in MASKS {
        let mut candidate = base.clone();
        candidate.apply_mask(mask);
        fill(&candidate, width, &mut buffer);
        let score = penalty(&buffer, width);
        if best.is_none_or(|(s, _)| score < s) {
            best = Some((score, mask));
        }
    }
    let (_, mask) = best.expect("eight masks were scored");
    base.apply_mask(mask);
    fill(&base, width, &mut buffer);
    Ok(Symbol { width, dark: buffer })
}

fn fill(canvas: &Canvas, width: usize, out: &mut [bool]) {
    for y in 0..width {
        for x in 0..width {
            out[y * width + x] = canvas.get(x as i16, y as i16).is_dark();
        }
    }
}

/// The ISO/IEC 18004 §7.8.3 penalty of a masked symbol (lower is better),
/// computed on rows and columns as bitsets (bit `x` of row `y` is module
/// (x, y); set = dark), so the eight masks cost little more than one.
pub fn penalty(m: &[bool], w: usize) -> u32 {
    debug_assert!(w <= 128, "EPC payloads need at most version 13 (69 modules)");
    let mut rows = [0u128; 128];
    let mut cols = [0u128; 128];
    for y in 0..w {
        for x in 0..w {
            if m[y * w + x] {
                rows[y] |= 1 << x;
                cols[x] |= 1 << y;
            }
        }
    }
    let (rows, cols) = (&rows[..w], &cols[..w]);
    let full: u128 = if w == 128 { u128::MAX } else { (1u128 << w) - 1 };
    let mut score = 0;
    for lines in [rows, cols] {
        score += runs_penalty(lines, w) + finder_penalty(lines, w);
    }
    // N2: 2×2 blocks of one colour.
    for pair in rows.windows(2) {
        let same_vertical = !(pair[0] ^ pair[1]) & full;
        let same_horizontal = !(pair[0] ^ (pair[0] >> 1));
        let blocks = same_vertical & (same_vertical >> 1) & same_horizontal & (full >> 1);
        score += 3 * blocks.count_ones();
    }
    // N4: distance of the dark share from 50 %, in steps of 5 %.
    let dark: u32 = rows.iter().map(|r| r.count_ones()).sum();
    let total = (w * w) as u32;
    let deviation = (dark * 100).abs_diff(total * 50) / total;
    score + (deviation / 5) * 10
}

/// N1: each run of five or more modules of one colour scores 3 + (length − 5).
/// Runs are the gaps between colour changes, found with `trailing_zeros`.
fn runs_penalty(lines: &[u128], w: usize) -> u32 {
    let mut score = 0;
    for &line in lines {
        // Bit x set: module x differs from module x + 1 (the last module ends a run).
        let mut changes = (line ^ (line >> 1)) | (1u128 << (w - 1));
        let mut start = 0;
        while changes != 0 {
            let end = changes.trailing_zeros();
            let run = end + 1 - start;
            if run >= 5 {
                score += run - 2;
            }
            start = end + 1;
            changes &= changes - 1;
        }
    }
    score
}

/// N3: 40 per dark-light-dark×3-light-dark (1:1:3:1:1) with four light
/// modules before or after it, on a line; every position is tested at once.
fn finder_penalty(lines: &[u128], w: usize) -> u32 {
    // Module b + i of the window, for the pattern followed by four light
    // modules, and for the pattern preceded by them.
    const AFTER: [bool; 11] = [true, false, true, true, true, false, true, false, false, false, false];
    const BEFORE: [bool; 11] = [false, false, false, false, true, false, true, true, true, false, true];
    if w < 11 {
        return 0;
    }
    let starts: u128 = (1u128 << (w - 10)) - 1;
    let mut score = 0;
    for &line in lines {
        let (mut after, mut before) = (starts, starts);
        for i in 0..11 {
            let shifted = line >> i;
            after &= if AFTER[i] { shifted } else { !shifted };
            before &= if BEFORE[i] { shifted } else { !shifted };
        }
        score += 40 * (after.count_ones() + before.count_ones());
    }
    score
}
