//! QR encoding tuned for one job: byte-mode data at error-correction level M
//! (what EPC069-12 prescribes), fast enough to run once per letter.
//!
//! Reed–Solomon coding and module placement come from the `qrcode` crate.
//! Its high-level constructor, though, searches for an "optimal" segment
//! mix and clones and re-scores the whole symbol per mask, which costs
//! ~1.3 ms per code natively. Here the version is the smallest one whose
//! byte-mode capacity fits, and the eight masks are scored with the
//! ISO/IEC 18004 penalty rules (N1 runs, N2 blocks, N3 finder-like
//! patterns, N4 dark balance) on row bitsets: each masked candidate is the
//! functional modules, the data XOR the mask's row pattern, and the mask's
//! format information, a few hundred word operations per mask.

use qrcode::bits::Bits;
use qrcode::canvas::{Canvas, MaskPattern, Module};
use qrcode::types::{Color, EcLevel, Version};

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
    let mut canvas = Canvas::new(version, EcLevel::M);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&codewords, &ec);

    let width = version.width() as usize;
    if width > 128 {
        return Err(format!("{} bytes need a QR version too large for a payment code", data.len()));
    }
    let layers = Layers::read(&canvas, width);
    let mut best: Option<(u32, usize)> = None;
    for mask in 0..MASKS.len() {
        let (rows, cols) = layers.masked(mask);
        let score = penalty(&rows, &cols, width);
        if best.is_none_or(|(s, _)| score < s) {
            best = Some((score, mask));
        }
    }
    let (_, mask) = best.expect("eight masks were scored");
    // The library applies the chosen mask and its format information.
    canvas.apply_mask(MASKS[mask]);
    let mut dark = vec![false; width * width];
    for y in 0..width {
        for x in 0..width {
            dark[y * width + x] = canvas.get(x as i16, y as i16).is_dark();
        }
    }
    Ok(Symbol { width, dark })
}

/// One orientation of the unmasked symbol as bitsets: rows (bit x of line
/// y is module (x, y)) or columns (bit y of line x).
#[derive(Clone)]
struct Plane {
    /// Modules that masks leave alone (finders, timing, alignment, version and format areas).
    functional: Vec<u128>,
    /// Dark functional modules.
    functional_dark: Vec<u128>,
    /// Dark data and error-correction modules, before masking.
    data_dark: Vec<u128>,
}

/// The unmasked symbol, by rows and by columns, ready to be masked eight ways.
pub struct Layers {
    width: usize,
    rows: Plane,
    cols: Plane,
}

/// Level-M format information per mask (ISO/IEC 18004 Table C.1).
const FORMAT_M: [u16; 8] = [0x5412, 0x5125, 0x5e7c, 0x5b4b, 0x45f9, 0x40ce, 0x4f97, 0x4aa0];

impl Layers {
    /// Reads a canvas that has its data drawn but no mask applied.
    pub fn read(canvas: &Canvas, width: usize) -> Layers {
        let empty = Plane { functional: vec![0; width], functional_dark: vec![0; width], data_dark: vec![0; width] };
        let mut layers = Layers { width, rows: empty.clone(), cols: empty };
        for y in 0..width {
            for x in 0..width {
                let (along_row, along_col) = (1u128 << x, 1u128 << y);
                let (rows, cols) = (&mut layers.rows, &mut layers.cols);
                match canvas.get(x as i16, y as i16) {
                    // Remainder bits stay empty: masked like light data.
                    Module::Empty => {}
                    Module::Unmasked(c) => {
                        if c == Color::Dark {
                            rows.data_dark[y] |= along_row;
                            cols.data_dark[x] |= along_col;
                        }
                    }
                    other => {
                        rows.functional[y] |= along_row;
                        cols.functional[x] |= along_col;
                        if other.is_dark() {
                            rows.functional_dark[y] |= along_row;
                            cols.functional_dark[x] |= along_col;
                        }
                    }
                }
            }
        }
        layers
    }

    /// Rows and columns of the symbol with mask `mask` applied and its
    /// format information drawn.
    pub fn masked(&self, mask: usize) -> (Vec<u128>, Vec<u128>) {
        let w = self.width;
        let apply = |plane: &Plane, transposed: bool| -> Vec<u128> {
            // Patterns repeat every 12 lines too: 12 distinct lines per orientation.
            let patterns: [u128; 12] = std::array::from_fn(|line| mask_line(mask, line, w, transposed));
            (0..w)
                .map(|line| {
                    let pattern = patterns[line % 12];
                    plane.functional_dark[line] | ((plane.data_dark[line] ^ pattern) & !plane.functional[line])
                })
                .collect()
        };
        let mut rows = apply(&self.rows, false);
        let mut cols = apply(&self.cols, true);
        let format = FORMAT_M[mask];
        let mut set = |x: usize, y: usize, dark: bool| {
            if dark {
                rows[y] |= 1 << x;
                cols[x] |= 1 << y;
            } else {
                rows[y] &= !(1u128 << x);
                cols[x] &= !(1u128 << y);
            }
        };
        let bit = |i: usize| (format >> i) & 1 == 1;
        for i in 0..6 {
            set(8, i, bit(i));
        }
        set(8, 7, bit(6));
        set(8, 8, bit(7));
        set(7, 8, bit(8));
        for i in 9..15 {
            set(14 - i, 8, bit(i));
        }
        for i in 0..8 {
            set(w - 1 - i, 8, bit(i));
        }
        for i in 8..15 {
            set(8, w - 15 + i, bit(i));
        }
        set(8, w - 8, true); // the dark module
        (rows, cols)
    }
}

/// Mask pattern `mask` along one line (set = invert): along row `line`
/// (varying x), or, `transposed`, along column `line` (varying y). Every
/// pattern has period 12 in both coordinates, so 12 modules are evaluated
/// and tiled, and `line` only matters modulo 12.
fn mask_line(mask: usize, line: usize, w: usize, transposed: bool) -> u128 {
    let mut pattern = u128::from(TILES[mask][usize::from(transposed)][line % 12]);
    let mut len = 12;
    while len < w {
        pattern |= pattern << len;
        len *= 2;
    }
    let full = if w == 128 { u128::MAX } else { (1u128 << w) - 1 };
    pattern & full
}

/// The 12-module tile of every mask, orientation and line (mod 12),
/// computed at compile time: the divisions of the mask formulas are not
/// repeated for every code drawn.
const TILES: [[[u16; 12]; 2]; 8] = {
    let mut tiles = [[[0u16; 12]; 2]; 8];
    let mut mask = 0;
    while mask < 8 {
        let mut orientation = 0;
        while orientation < 2 {
            let mut line = 0;
            while line < 12 {
                tiles[mask][orientation][line] = tile(mask, line, orientation == 1);
                line += 1;
            }
            orientation += 1;
        }
        mask += 1;
    }
    tiles
};

/// Modules 0..12 of mask `mask` along `line` (set = invert).
const fn tile(mask: usize, line: usize, transposed: bool) -> u16 {
    let mut tile = 0u16;
    let mut k = 0;
    while k < 12 {
        let (i, j) = if transposed { (k, line) } else { (line, k) };
        let invert = match mask {
            0 => (i + j) % 2 == 0,
            1 => i % 2 == 0,
            2 => j % 3 == 0,
            3 => (i + j) % 3 == 0,
            4 => (i / 2 + j / 3) % 2 == 0,
            5 => (i * j) % 2 + (i * j) % 3 == 0,
            6 => ((i * j) % 2 + (i * j) % 3) % 2 == 0,
            _ => ((i + j) % 2 + (i * j) % 3) % 2 == 0,
        };
        if invert {
            tile |= 1 << k;
        }
        k += 1;
    }
    tile
}

/// The ISO/IEC 18004 §7.8.3 penalty of a masked symbol (lower is better),
/// computed on rows and columns as bitsets (bit `x` of row `y` is module
/// (x, y), bit `y` of column `x` the same module; set = dark).
pub fn penalty(rows: &[u128], cols: &[u128], w: usize) -> u32 {
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
///
/// With `same` marking modules equal to their right neighbour, a run of
/// length L is L − 1 consecutive set bits, and `t` (four in a row of `same`)
/// has L − 4 of them; so a run scores popcount over its stretch of `t` plus
/// 2 for the stretch's first bit.
fn runs_penalty(lines: &[u128], w: usize) -> u32 {
    let pairs: u128 = if w >= 129 { u128::MAX } else { (1u128 << (w - 1)) - 1 };
    let mut score = 0;
    for &line in lines {
        let same = !(line ^ (line >> 1)) & pairs;
        let t = same & (same >> 1) & (same >> 2) & (same >> 3);
        score += t.count_ones() + 2 * (t & !(t << 1)).count_ones();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Module-by-module scoring, straight from the rules, to check the bitset version.
    fn reference_penalty(m: &[bool], w: usize) -> u32 {
        let at = |x: usize, y: usize| m[y * w + x];
        let mut s = 0;
        for horizontal in [true, false] {
            for a in 0..w {
                let mut run = 1;
                for b in 1..w {
                    let (p, c) = if horizontal { (at(b - 1, a), at(b, a)) } else { (at(a, b - 1), at(a, b)) };
                    if c == p {
                        run += 1
                    } else {
                        if run >= 5 {
                            s += run - 2
                        }
                        run = 1
                    }
                }
                if run >= 5 {
                    s += run - 2
                }
            }
        }
        for y in 0..w - 1 {
            for x in 0..w - 1 {
                let c = at(x, y);
                if at(x + 1, y) == c && at(x, y + 1) == c && at(x + 1, y + 1) == c {
                    s += 3
                }
            }
        }
        let pa = [true, false, true, true, true, false, true, false, false, false, false];
        let pb = [false, false, false, false, true, false, true, true, true, false, true];
        for a in 0..w {
            for b in 0..w.saturating_sub(10) {
                for h in [true, false] {
                    let hit =
                        |p: &[bool; 11]| (0..11).all(|i| if h { at(b + i, a) == p[i] } else { at(a, b + i) == p[i] });
                    s += 40 * (u32::from(hit(&pa)) + u32::from(hit(&pb)));
                }
            }
        }
        let dark = m.iter().filter(|d| **d).count() as u32;
        let t = (w * w) as u32;
        s + ((dark * 100).abs_diff(t * 50) / t / 5) * 10
    }

    fn rows_of(m: &[bool], w: usize) -> Vec<u128> {
        (0..w).map(|y| (0..w).fold(0u128, |r, x| if m[y * w + x] { r | 1 << x } else { r })).collect()
    }

    fn cols_of(m: &[bool], w: usize) -> Vec<u128> {
        (0..w).map(|x| (0..w).fold(0u128, |c, y| if m[y * w + x] { c | 1 << y } else { c })).collect()
    }

    #[test]
    fn bitset_penalty_equals_the_rules_applied_module_by_module() {
        let mut seed = 12345u64;
        for w in [21usize, 41, 69] {
            for _ in 0..50 {
                let m: Vec<bool> = (0..w * w)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        seed & 3 != 0
                    })
                    .collect();
                assert_eq!(penalty(&rows_of(&m, w), &cols_of(&m, w), w), reference_penalty(&m, w));
            }
        }
    }

    #[test]
    fn bitset_masking_equals_the_library_for_every_mask_and_version() {
        for v in 1..=20i16 {
            let mut bits = Bits::new(Version::Normal(v));
            bits.push_byte_data(b"BCD\n002\n1\nSCT\n").unwrap();
            bits.push_terminator(EcLevel::M).unwrap();
            let (cw, ec) = qrcode::ec::construct_codewords(&bits.into_bytes(), Version::Normal(v), EcLevel::M).unwrap();
            let mut base = Canvas::new(Version::Normal(v), EcLevel::M);
            base.draw_all_functional_patterns();
            base.draw_data(&cw, &ec);
            let w = Version::Normal(v).width() as usize;
            let layers = Layers::read(&base, w);
            for (k, mask) in MASKS.iter().enumerate() {
                let mut c = base.clone();
                c.apply_mask(*mask);
                let dark: Vec<bool> = (0..w * w).map(|i| c.get((i % w) as i16, (i / w) as i16).is_dark()).collect();
                assert_eq!(layers.masked(k), (rows_of(&dark, w), cols_of(&dark, w)), "version {v} mask {k}");
            }
        }
    }
}
