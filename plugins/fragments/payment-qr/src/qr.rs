//! QR encoding for one job: byte-mode data at error-correction level M
//! (what EPC069-12 prescribes), fast enough to run once per letter.
//!
//! Everything is built on row and column bitsets (one `u64` or `u128` per
//! line, so versions up to 27, 125 modules a side): the bit stream and its
//! Reed–Solomon blocks, the function patterns, the zig-zag placement of the
//! codewords, and the eight masks, scored with the ISO/IEC 18004 penalty
//! rules (N1 runs, N2 blocks, N3 finder-like patterns, N4 dark balance) a
//! few hundred word operations each. The `qrcode` crate drew the same
//! symbols module by module through an enum canvas (about 40 µs a code
//! natively); the tests check that every version gives the identical
//! symbol, so the SVG bytes of a letter do not change.

use std::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign, BitXor, Not, Shl, Shr};

/// The largest version whose lines fit a `u128`.
const MAX_VERSION: usize = 27;

/// One line of modules as a bitset, bit `i` = module `i` along the line:
/// `u64` for symbols up to 61 modules wide (versions 1–11, which hold every
/// payload up to 180 bytes, so nearly every payment code), `u128` above.
/// WebAssembly has 64-bit registers: a `u128` is two of them, and its
/// shifts a dozen instructions.
pub trait Line:
    Copy
    + Eq
    + std::fmt::Debug
    + BitAnd<Output = Self>
    + BitOr<Output = Self>
    + BitXor<Output = Self>
    + Not<Output = Self>
    + Shl<usize, Output = Self>
    + Shr<usize, Output = Self>
    + BitAndAssign
    + BitOrAssign
{
    /// No module set.
    const ZERO: Self;
    /// Module 0 set.
    const ONE: Self;
    /// Modules a line can hold.
    const BITS: usize;
    /// Set modules.
    fn ones(self) -> u32;
    /// A 12-module tile.
    fn from_tile(tile: u16) -> Self;
    /// The same line as a `u128`.
    fn widen(self) -> u128;
    /// Runs `f` with the frame of `version` on lines of this type, drawn on
    /// first use and kept for the instance's later codes.
    fn with_frame<T>(version: usize, f: impl FnOnce(&Frame<Self>) -> T) -> T;
}

macro_rules! line {
    ($t:ty, $frames:ident) => {
        thread_local! {
            static $frames: std::cell::RefCell<Vec<Option<std::rc::Rc<Frame<$t>>>>> =
                std::cell::RefCell::new(vec![None; MAX_VERSION + 1]);
        }

        impl Line for $t {
            const ZERO: Self = 0;
            const ONE: Self = 1;
            const BITS: usize = <$t>::BITS as usize;
            fn ones(self) -> u32 {
                self.count_ones()
            }
            fn from_tile(tile: u16) -> Self {
                Self::from(tile)
            }
            fn widen(self) -> u128 {
                u128::from(self)
            }
            fn with_frame<T>(version: usize, f: impl FnOnce(&Frame<Self>) -> T) -> T {
                let frame = $frames.with(|frames| {
                    let mut frames = frames.borrow_mut();
                    std::rc::Rc::clone(frames[version].get_or_insert_with(|| std::rc::Rc::new(Frame::draw(version))))
                });
                f(&frame)
            }
        }
    };
}
line!(u64, FRAMES_U64);
line!(u128, FRAMES_U128);

/// Modules `0..n` set.
fn low<L: Line>(n: usize) -> L {
    if n >= L::BITS { !L::ZERO } else { !(!L::ZERO << n) }
}

/// Level-M block structure per version (ISO/IEC 18004 Table 9): error
/// correction codewords per block, blocks in group 1, data codewords per
/// group-1 block, blocks in group 2 (each holding one data codeword more).
const BLOCKS_M: [(u8, u8, u8, u8); MAX_VERSION] = [
    (10, 1, 16, 0),
    (16, 1, 28, 0),
    (26, 1, 44, 0),
    (18, 2, 32, 0),
    (24, 2, 43, 0),
    (16, 4, 27, 0),
    (18, 4, 31, 0),
    (22, 2, 38, 2),
    (22, 3, 36, 2),
    (26, 4, 43, 1),
    (30, 1, 50, 4),
    (22, 6, 36, 2),
    (22, 8, 37, 1),
    (24, 4, 40, 5),
    (24, 5, 41, 5),
    (28, 7, 45, 3),
    (28, 10, 46, 1),
    (26, 9, 43, 4),
    (26, 3, 44, 11),
    (26, 3, 41, 13),
    (26, 17, 42, 0),
    (28, 17, 46, 0),
    (28, 4, 47, 14),
    (28, 6, 45, 14),
    (28, 8, 47, 13),
    (28, 19, 46, 4),
    (28, 22, 45, 3),
];

/// A finished symbol: `width` rows of `width` modules, bit `x` of row `y`
/// set = module (x, y) dark.
pub struct Symbol {
    /// Modules per side.
    pub width: usize,
    /// The rows.
    pub rows: Vec<u128>,
}

/// Encodes `data` in byte mode at level M in the smallest version that fits.
pub fn encode(data: &[u8]) -> Result<Symbol, String> {
    let version = (1..=MAX_VERSION)
        .find(|&v| 4 + count_bits(v) + 8 * data.len() <= 8 * data_codewords(v))
        .ok_or_else(|| format!("{} bytes need a QR version too large for a payment code", data.len()))?;
    let codewords = interleaved_codewords(data, version);
    let rows = if 17 + 4 * version <= 64 {
        best_masked::<u64>(version, &codewords).into_iter().map(Line::widen).collect()
    } else {
        best_masked::<u128>(version, &codewords)
    };
    Ok(Symbol { width: 17 + 4 * version, rows })
}

/// The symbol's rows under the mask with the lowest penalty (the first of equals).
fn best_masked<L: Line>(version: usize, codewords: &[u8]) -> Vec<L> {
    L::with_frame(version, |frame| {
        let data = frame.place(codewords);
        let mut best: Option<(u32, usize)> = None;
        for mask in 0..8 {
            let score = frame.score(mask, &data);
            if best.is_none_or(|(s, _)| score < s) {
                best = Some((score, mask));
            }
        }
        let (_, mask) = best.expect("eight masks were scored");
        frame.masked(mask, &data.rows, false).collect()
    })
}

/// Bits of the byte-mode character count indicator.
fn count_bits(version: usize) -> usize {
    if version <= 9 { 8 } else { 16 }
}

/// Data codewords of `version` at level M.
fn data_codewords(version: usize) -> usize {
    let (_, g1, len, g2) = BLOCKS_M[version - 1];
    usize::from(g1) * usize::from(len) + usize::from(g2) * (usize::from(len) + 1)
}

/// The bit stream (mode, count, data, terminator, padding) cut into its
/// blocks, each block's Reed–Solomon codewords appended, and both
/// interleaved in the order the symbol holds them.
fn interleaved_codewords(data: &[u8], version: usize) -> Vec<u8> {
    let capacity = data_codewords(version);
    let mut stream = BitStream { bytes: Vec::with_capacity(capacity), used: 0 };
    stream.push(0b0100, 4);
    stream.push(data.len() as u32, count_bits(version));
    stream.push_bytes(data);
    let terminator = (capacity * 8 - stream.used).min(4);
    stream.push(0, terminator);
    stream.push(0, (8 - stream.used % 8) % 8);
    let mut bytes = stream.bytes;
    for pad in [0xEC, 0x11].into_iter().cycle() {
        if bytes.len() == capacity {
            break;
        }
        bytes.push(pad);
    }

    let (ec_len, g1, len, g2) = BLOCKS_M[version - 1];
    let (ec_len, len) = (usize::from(ec_len), usize::from(len));
    let mut blocks: Vec<(&[u8], Vec<u8>)> = Vec::with_capacity(usize::from(g1 + g2));
    let mut rest = &bytes[..];
    for block in 0..usize::from(g1 + g2) {
        let size = if block < usize::from(g1) { len } else { len + 1 };
        let (block_data, tail) = rest.split_at(size);
        rest = tail;
        blocks.push((block_data, remainder(block_data, ec_len)));
    }
    let mut out = Vec::with_capacity(capacity + blocks.len() * ec_len);
    for i in 0..=len {
        out.extend(blocks.iter().filter_map(|(d, _)| d.get(i)));
    }
    for i in 0..ec_len {
        out.extend(blocks.iter().map(|(_, ec)| ec[i]));
    }
    out
}

/// Bits appended most significant first.
struct BitStream {
    bytes: Vec<u8>,
    used: usize,
}

impl BitStream {
    fn push(&mut self, value: u32, bits: usize) {
        for i in (0..bits).rev() {
            if self.used.is_multiple_of(8) {
                self.bytes.push(0);
            }
            if (value >> i) & 1 == 1 {
                *self.bytes.last_mut().expect("pushed above") |= 0x80 >> (self.used % 8);
            }
            self.used += 1;
        }
    }

    /// Appends whole bytes: each is split across the partly used last byte
    /// and a new one (in byte mode the stream is always four bits in).
    fn push_bytes(&mut self, data: &[u8]) {
        let shift = self.used % 8;
        if shift == 0 {
            self.bytes.extend_from_slice(data);
        } else {
            self.bytes.reserve(data.len());
            for &b in data {
                *self.bytes.last_mut().expect("a partly used byte") |= b >> shift;
                self.bytes.push(b << (8 - shift));
            }
        }
        self.used += 8 * data.len();
    }
}

/// GF(256) with the QR polynomial x⁸ + x⁴ + x³ + x² + 1: powers of α.
const EXP: [u8; 255] = {
    let mut exp = [0u8; 255];
    let mut x: u16 = 1;
    let mut i = 0;
    while i < 255 {
        exp[i] = x as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= 0x11D;
        }
        i += 1;
    }
    exp
};

/// Discrete logarithms (LOG[0] is unused).
const LOG: [u8; 256] = {
    let mut log = [0u8; 256];
    let mut i = 0;
    while i < 255 {
        log[EXP[i] as usize] = i as u8;
        i += 1;
    }
    log
};

const fn multiply(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 { 0 } else { EXP[(LOG[a as usize] as usize + LOG[b as usize] as usize) % 255] }
}

/// Error-correction codewords per block at level M go up to this.
const MAX_EC: usize = 30;

/// The generator polynomial ∏ (x − αⁱ), i < degree, for every degree up to
/// [`MAX_EC`]: row `degree` holds its coefficients without the leading 1,
/// highest power first, as logarithms (no coefficient is zero). Computed at
/// compile time, so a letter's code does not rebuild its polynomial.
const GENERATORS: [[u8; MAX_EC]; MAX_EC + 1] = {
    let mut table = [[0u8; MAX_EC]; MAX_EC + 1];
    let mut degree = 1;
    while degree <= MAX_EC {
        let mut coefficients = [0u8; MAX_EC];
        coefficients[degree - 1] = 1;
        let mut root = 1u8;
        let mut n = 0;
        while n < degree {
            let mut j = 0;
            while j < degree {
                coefficients[j] = multiply(coefficients[j], root);
                if j + 1 < degree {
                    coefficients[j] ^= coefficients[j + 1];
                }
                j += 1;
            }
            root = multiply(root, 0x02);
            n += 1;
        }
        let mut j = 0;
        while j < degree {
            table[degree][j] = LOG[coefficients[j] as usize];
            j += 1;
        }
        degree += 1;
    }
    table
};

/// Powers of α twice over, so a sum of two logarithms indexes it without `% 255`.
const EXP2: [u8; 510] = {
    let mut exp2 = [0u8; 510];
    let mut i = 0;
    while i < 510 {
        exp2[i] = EXP[i % 255];
        i += 1;
    }
    exp2
};

/// The Reed–Solomon codewords of one block: its data times x^degree modulo
/// the generator. The remainder is kept as 32 bytes in four big-endian
/// words: per data byte it shifts by one byte and adds the generator's
/// multiple for that byte's factor, looked up whole ([`with_multiples`]).
fn remainder(data: &[u8], degree: usize) -> Vec<u8> {
    with_multiples(degree, |multiples| {
        let mut rest = [0u64; 4];
        for &byte in data {
            let factor = (rest[0] >> 56) as u8 ^ byte;
            let add = &multiples[usize::from(factor)];
            rest = [
                ((rest[0] << 8) | (rest[1] >> 56)) ^ add[0],
                ((rest[1] << 8) | (rest[2] >> 56)) ^ add[1],
                ((rest[2] << 8) | (rest[3] >> 56)) ^ add[2],
                (rest[3] << 8) ^ add[3],
            ];
        }
        rest.iter().flat_map(|w| w.to_be_bytes()).take(degree).collect()
    })
}

/// The generator of `degree` times every factor 0–255, as remainders
/// ([`remainder`]'s layout, bytes past the degree zero).
type Multiples = Vec<[u64; 4]>;

thread_local! {
    /// [`Multiples`] by degree, made on first use: an instance drawing many
    /// codes meets two or three degrees.
    static MULTIPLES: std::cell::RefCell<Vec<Option<std::rc::Rc<Multiples>>>> =
        std::cell::RefCell::new(vec![None; MAX_EC + 1]);
}

fn with_multiples<T>(degree: usize, f: impl FnOnce(&Multiples) -> T) -> T {
    let multiples = MULTIPLES.with(|cache| {
        let mut cache = cache.borrow_mut();
        std::rc::Rc::clone(cache[degree].get_or_insert_with(|| {
            let generator = &GENERATORS[degree][..degree];
            let multiple = |factor: usize| -> [u64; 4] {
                let mut bytes = [0u8; 32];
                if factor != 0 {
                    let log = usize::from(LOG[factor]);
                    for (b, &g) in bytes.iter_mut().zip(generator) {
                        *b = EXP2[log + usize::from(g)];
                    }
                }
                std::array::from_fn(|i| u64::from_be_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes")))
            };
            std::rc::Rc::new((0..256).map(multiple).collect())
        }))
    });
    f(&multiples)
}

/// One orientation of the function patterns as bitsets: rows (bit x of
/// line y is module (x, y)) or columns (bit y of line x).
#[derive(Clone)]
struct Plane<L> {
    /// Modules that masks leave alone (finders, timing, alignment, version and format areas).
    functional: Vec<L>,
    /// Dark functional modules.
    functional_dark: Vec<L>,
}

/// Level-M format information per mask (ISO/IEC 18004 Table C.1).
const FORMAT_M: [u16; 8] = [0x5412, 0x5125, 0x5e7c, 0x5b4b, 0x45f9, 0x40ce, 0x4f97, 0x4aa0];

/// What a version's symbol is before any data: the modules data may take,
/// the function patterns with each mask's format information, each mask's
/// pattern, and the module each data bit goes to. The same for every code
/// of that version, so an instance drawing many codes draws it once.
pub struct Frame<L> {
    width: usize,
    /// Modules data goes to (not functional), by rows and by columns.
    free: [Vec<L>; 2],
    /// Per mask, the dark function modules with that mask's format
    /// information drawn, by rows and by columns.
    dark: [[Vec<L>; 2]; 8],
    /// Per mask and orientation, the pattern along each line modulo 12
    /// (every pattern repeats every 12 lines).
    patterns: [[[L; 12]; 2]; 8],
    /// The module (x, y) of each data bit, in placement order.
    order: Vec<(u8, u8)>,
}

/// One code's data and error-correction modules before masking, by rows
/// and by columns.
struct Data<L> {
    rows: Vec<L>,
    cols: Vec<L>,
}

impl<L: Line> Frame<L> {
    /// Draws the function patterns of `version` and walks the remaining
    /// modules, bottom-right first, two columns at a time in a zig-zag
    /// (ISO/IEC 18004 §7.7.3), noting where each data bit goes.
    fn draw(version: usize) -> Frame<L> {
        let width = 17 + 4 * version;
        let empty = Plane { functional: vec![L::ZERO; width], functional_dark: vec![L::ZERO; width] };
        let mut planes = Planes { rows: empty.clone(), cols: empty };
        planes.draw_function_patterns(width, version);
        let mut order = Vec::with_capacity(width * width);
        let mut right = width - 1;
        loop {
            if right == 6 {
                // The vertical timing pattern's column is skipped whole.
                right = 5;
            }
            let upward = (right + 1) & 2 == 0;
            for step in 0..width {
                let y = if upward { width - 1 - step } else { step };
                for x in [right, right - 1] {
                    if planes.rows.functional[y] & (L::ONE << x) == L::ZERO {
                        order.push((x as u8, y as u8));
                    }
                }
            }
            if right < 2 {
                break;
            }
            right -= 2;
        }
        let full = low::<L>(width);
        let free = |plane: &Plane<L>| plane.functional.iter().map(|&f| !f & full).collect();
        let dark = std::array::from_fn(|mask| {
            let mut masked = planes.clone();
            masked.draw_format(width, mask);
            [masked.rows.functional_dark, masked.cols.functional_dark]
        });
        let patterns = std::array::from_fn(|mask| {
            std::array::from_fn(|orientation| {
                std::array::from_fn(|line| mask_line(mask, line, width, orientation == 1))
            })
        });
        Frame { width, free: [free(&planes.rows), free(&planes.cols)], dark, patterns, order }
    }

    /// `codewords` placed in this frame's data modules. Modules left over
    /// (remainder bits) stay light data, masked like the rest.
    fn place(&self, codewords: &[u8]) -> Data<L> {
        let mut data = Data { rows: vec![L::ZERO; self.width], cols: vec![L::ZERO; self.width] };
        // Without a branch per bit: the bits are as good as random, and
        // a mispredicted branch costs more than setting a bit to 0.
        for (&byte, modules) in codewords.iter().zip(self.order.chunks(8)) {
            let mut bits = byte;
            for &(x, y) in modules {
                let dark = L::from_tile(u16::from(bits >> 7));
                let (x, y) = (usize::from(x), usize::from(y));
                data.rows[y] |= dark << x;
                data.cols[x] |= dark << y;
                bits <<= 1;
            }
        }
        data
    }

    /// The lines of the symbol with mask `mask` applied to `data` (its rows,
    /// or with `transposed` its columns), format information drawn.
    fn masked<'a>(&'a self, mask: usize, data: &'a [L], transposed: bool) -> impl Iterator<Item = L> + 'a {
        let orientation = usize::from(transposed);
        let (dark, free) = (&self.dark[mask][orientation], &self.free[orientation]);
        let patterns = &self.patterns[mask][orientation];
        // `patterns.iter().cycle()` walks the lines modulo 12 without a division.
        data.iter()
            .zip(dark)
            .zip(free)
            .zip(patterns.iter().cycle())
            .map(|(((&data, &dark), &free), &pattern)| dark | ((data ^ pattern) & free))
    }

    /// The penalty of mask `mask` on `data` ([`penalty`]), each line masked
    /// as it is scored instead of the symbol being written out first.
    fn score(&self, mask: usize, data: &Data<L>) -> u32 {
        let w = self.width;
        let (full, pairs, starts) = (low::<L>(w), low::<L>(w - 1), low::<L>(w - 10));
        let mut score = 0;
        let mut dark = 0;
        let mut above: Option<L> = None;
        for row in self.masked(mask, &data.rows, false) {
            score += line_penalty(row, pairs, starts);
            if let Some(above) = above {
                score += blocks_penalty(above, row, full);
            }
            dark += row.ones();
            above = Some(row);
        }
        for col in self.masked(mask, &data.cols, true) {
            score += line_penalty(col, pairs, starts);
        }
        score + balance_penalty(dark, w)
    }
}

/// The function patterns by rows and by columns while a frame is drawn.
#[derive(Clone)]
struct Planes<L> {
    rows: Plane<L>,
    cols: Plane<L>,
}

impl<L: Line> Planes<L> {
    /// Marks a function module, dark or light.
    fn function(&mut self, x: usize, y: usize, dark: bool) {
        self.rows.functional[y] |= L::ONE << x;
        self.cols.functional[x] |= L::ONE << y;
        self.set(x, y, dark);
    }

    /// Makes a module dark or light.
    fn set(&mut self, x: usize, y: usize, dark: bool) {
        if dark {
            self.rows.functional_dark[y] |= L::ONE << x;
            self.cols.functional_dark[x] |= L::ONE << y;
        } else {
            self.rows.functional_dark[y] &= !(L::ONE << x);
            self.cols.functional_dark[x] &= !(L::ONE << y);
        }
    }

    fn draw_function_patterns(&mut self, w: usize, version: usize) {
        for i in 0..w {
            self.function(6, i, i % 2 == 0);
            self.function(i, 6, i % 2 == 0);
        }
        // Finders with their light separators.
        for (cx, cy) in [(3, 3), (w - 4, 3), (3, w - 4)] {
            for dy in -4isize..=4 {
                for dx in -4isize..=4 {
                    let (x, y) = (cx as isize + dx, cy as isize + dy);
                    if (0..w as isize).contains(&x) && (0..w as isize).contains(&y) {
                        let ring = dx.abs().max(dy.abs());
                        self.function(x as usize, y as usize, ring != 2 && ring != 4);
                    }
                }
            }
        }
        let centres = alignment_centres(version);
        let last = centres.len().saturating_sub(1);
        for (i, &cy) in centres.iter().enumerate() {
            for (j, &cx) in centres.iter().enumerate() {
                if (i, j) == (0, 0) || (i, j) == (0, last) || (i, j) == (last, 0) {
                    continue;
                }
                for dy in -2isize..=2 {
                    for dx in -2isize..=2 {
                        let ring = dx.abs().max(dy.abs());
                        self.function((cx as isize + dx) as usize, (cy as isize + dy) as usize, ring != 1);
                    }
                }
            }
        }
        // Format information areas (drawn per mask by `draw_format`) and the dark module.
        for i in 0..9 {
            if i != 6 {
                self.function(8, i, false);
                self.function(i, 8, false);
            }
        }
        for i in 0..8 {
            self.function(w - 1 - i, 8, false);
            self.function(8, w - 1 - i, false);
        }
        self.function(8, w - 8, true);
        if version >= 7 {
            let info = version_information(version);
            for i in 0..18 {
                let dark = (info >> i) & 1 == 1;
                let (a, b) = (w - 11 + i % 3, i / 3);
                self.function(a, b, dark);
                self.function(b, a, dark);
            }
        }
    }

    /// Draws the format information of mask `mask` (both copies).
    fn draw_format(&mut self, w: usize, mask: usize) {
        let format = FORMAT_M[mask];
        let bit = |i: usize| (format >> i) & 1 == 1;
        for i in 0..6 {
            self.set(8, i, bit(i));
        }
        self.set(8, 7, bit(6));
        self.set(8, 8, bit(7));
        self.set(7, 8, bit(8));
        for i in 9..15 {
            self.set(14 - i, 8, bit(i));
        }
        for i in 0..8 {
            self.set(w - 1 - i, 8, bit(i));
        }
        for i in 8..15 {
            self.set(8, w - 15 + i, bit(i));
        }
        self.set(8, w - 8, true); // the dark module
    }
}

/// Centre coordinates of the alignment patterns along each axis.
fn alignment_centres(version: usize) -> Vec<usize> {
    if version == 1 {
        return Vec::new();
    }
    let count = version / 7 + 2;
    let width = 17 + 4 * version;
    let step = if version == 32 { 26 } else { (version * 4 + count * 2 + 1) / (count * 2 - 2) * 2 };
    let mut centres: Vec<usize> = (0..count - 1).map(|i| width - 7 - i * step).collect();
    centres.push(6);
    centres.reverse();
    centres
}

/// The 18-bit version information: the version and its BCH(18, 6) check bits.
fn version_information(version: usize) -> u32 {
    let mut rest = version as u32;
    for _ in 0..12 {
        rest = (rest << 1) ^ ((rest >> 11) * 0x1F25);
    }
    (version as u32) << 12 | rest
}

/// Mask pattern `mask` along one line (set = invert): along row `line`
/// (varying x), or, `transposed`, along column `line` (varying y). Every
/// pattern has period 12 in both coordinates, so 12 modules are evaluated
/// and tiled, and `line` only matters modulo 12.
fn mask_line<L: Line>(mask: usize, line: usize, w: usize, transposed: bool) -> L {
    let mut pattern = L::from_tile(TILES[mask][usize::from(transposed)][line % 12]);
    let mut len = 12;
    while len < w {
        pattern |= pattern << len;
        len *= 2;
    }
    pattern & low(w)
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
#[cfg(test)]
fn penalty<L: Line>(rows: &[L], cols: &[L], w: usize) -> u32 {
    let (full, pairs) = (low::<L>(w), low::<L>(w - 1));
    let mut score = 0;
    for lines in [rows, cols] {
        for &line in lines {
            score += runs_penalty(line, pairs);
            if w >= 11 {
                score += finder_penalty(line, low(w - 10));
            }
        }
    }
    for pair in rows.windows(2) {
        score += blocks_penalty(pair[0], pair[1], full);
    }
    let dark: u32 = rows.iter().map(|r| r.ones()).sum();
    score + balance_penalty(dark, w)
}

/// N1 and N3 of one line of a symbol at least 11 modules wide.
#[inline(always)]
fn line_penalty<L: Line>(line: L, pairs: L, starts: L) -> u32 {
    runs_penalty(line, pairs) + finder_penalty(line, starts)
}

/// N1: each run of five or more modules of one colour scores 3 + (length − 5).
///
/// With `same` marking modules equal to their right neighbour (`pairs`:
/// the modules that have one), a run of length L is L − 1 consecutive set
/// bits, and `t` (four in a row of `same`) has L − 4 of them; so a run
/// scores popcount over its stretch of `t` plus 2 for the stretch's first bit.
#[inline(always)]
fn runs_penalty<L: Line>(line: L, pairs: L) -> u32 {
    let same = !(line ^ (line >> 1)) & pairs;
    let t = same & (same >> 1) & (same >> 2) & (same >> 3);
    t.ones() + 2 * (t & !(t << 1)).ones()
}

/// N3: 40 per dark-light-dark×3-light-dark (1:1:3:1:1) with four light
/// modules before or after it, on a line; every position is tested at once
/// (`starts`: the windows of 11 modules that fit the line, by their first module).
#[inline(always)]
fn finder_penalty<L: Line>(line: L, starts: L) -> u32 {
    // The 1:1:3:1:1 core starting at each module, and four light modules.
    let core = line & !(line >> 1) & (line >> 2) & (line >> 3) & (line >> 4) & !(line >> 5) & (line >> 6);
    let light = !(line | (line >> 1) | (line >> 2) | (line >> 3));
    let after = core & (light >> 7) & starts;
    let before = light & (core >> 4) & starts;
    40 * (after.ones() + before.ones())
}

/// N2: 3 per 2×2 block of one colour, for two neighbouring rows.
#[inline(always)]
fn blocks_penalty<L: Line>(upper: L, lower: L, full: L) -> u32 {
    let same_vertical = !(upper ^ lower) & full;
    let same_horizontal = !(upper ^ (upper >> 1));
    let blocks = same_vertical & (same_vertical >> 1) & same_horizontal & (full >> 1);
    3 * blocks.ones()
}

/// N4: distance of the dark share from 50 %, in steps of 5 %.
fn balance_penalty(dark: u32, w: usize) -> u32 {
    let total = (w * w) as u32;
    let deviation = (dark * 100).abs_diff(total * 50) / total;
    (deviation / 5) * 10
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The next number of a xorshift sequence: the tests' random data.
    pub(crate) fn xorshift(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

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
        for w in [21usize, 41, 61, 69, 125] {
            for _ in 0..50 {
                let m: Vec<bool> = (0..w * w).map(|_| xorshift(&mut seed) & 3 != 0).collect();
                let expected = reference_penalty(&m, w);
                let (rows, cols) = (rows_of(&m, w), cols_of(&m, w));
                assert_eq!(penalty(&rows, &cols, w), expected);
                if w <= 64 {
                    let narrow = |lines: &[u128]| lines.iter().map(|&l| l as u64).collect::<Vec<u64>>();
                    assert_eq!(penalty(&narrow(&rows), &narrow(&cols), w), expected);
                }
            }
        }
    }

    /// The symbol as the `qrcode` crate draws it, its mask chosen by the
    /// module-by-module penalty: the implementation this module replaced.
    fn reference_symbol(data: &[u8]) -> (usize, Vec<bool>) {
        use qrcode::bits::Bits;
        use qrcode::canvas::{Canvas, MaskPattern};
        use qrcode::types::{EcLevel, Version};
        let bits = (1..=40)
            .find_map(|v| {
                let mut bits = Bits::new(Version::Normal(v));
                (bits.push_byte_data(data).is_ok() && bits.push_terminator(EcLevel::M).is_ok()).then_some(bits)
            })
            .expect("fits");
        let version = bits.version();
        let (codewords, ec) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M).unwrap();
        let mut canvas = Canvas::new(version, EcLevel::M);
        canvas.draw_all_functional_patterns();
        canvas.draw_data(&codewords, &ec);
        let w = version.width() as usize;
        let masks = [
            MaskPattern::Checkerboard,
            MaskPattern::HorizontalLines,
            MaskPattern::VerticalLines,
            MaskPattern::DiagonalLines,
            MaskPattern::LargeCheckerboard,
            MaskPattern::Fields,
            MaskPattern::Diamonds,
            MaskPattern::Meadow,
        ];
        let mut best: Option<(u32, Vec<bool>)> = None;
        for mask in masks {
            let mut c = canvas.clone();
            c.apply_mask(mask);
            let dark: Vec<bool> = (0..w * w).map(|i| c.get((i % w) as i16, (i / w) as i16).is_dark()).collect();
            let score = reference_penalty(&dark, w);
            if best.as_ref().is_none_or(|(s, _)| score < *s) {
                best = Some((score, dark));
            }
        }
        (w, best.unwrap().1)
    }

    /// Scoring lines as they are masked gives the penalty of the symbol
    /// written out, for every version, mask and line type.
    fn score_matches_penalty<L: Line>(versions: std::ops::RangeInclusive<usize>) {
        let mut seed = 0x0DDB_1A5E_5BAD_5EEDu64;
        for version in versions {
            let frame = Frame::<L>::draw(version);
            let codewords: Vec<u8> = (0..frame.order.len().div_ceil(8)).map(|_| xorshift(&mut seed) as u8).collect();
            let data = frame.place(&codewords);
            for mask in 0..8 {
                let rows: Vec<L> = frame.masked(mask, &data.rows, false).collect();
                let cols: Vec<L> = frame.masked(mask, &data.cols, true).collect();
                let w = frame.width;
                let transposed: Vec<L> = (0..w)
                    .map(|x| {
                        (0..w)
                            .fold(L::ZERO, |c, y| if rows[y] & (L::ONE << x) != L::ZERO { c | L::ONE << y } else { c })
                    })
                    .collect();
                assert_eq!(cols, transposed, "version {version}, mask {mask}: columns are the rows transposed");
                assert_eq!(frame.score(mask, &data), penalty(&rows, &cols, w), "version {version}, mask {mask}");
            }
        }
    }

    #[test]
    fn scoring_while_masking_equals_the_penalty_of_the_written_symbol() {
        score_matches_penalty::<u64>(1..=11);
        score_matches_penalty::<u128>(1..=MAX_VERSION);
    }

    #[test]
    fn every_version_gives_the_symbol_the_qrcode_crate_draws() {
        let mut seed = 987654321u64;
        let mut widths = std::collections::BTreeSet::new();
        // Lengths up to version 27's capacity (1,125 bytes at level M) in
        // steps that hit each version, and the lengths at each boundary.
        let boundaries = (1..=MAX_VERSION).flat_map(|v| {
            let fits = data_codewords(v) - (4 + count_bits(v)).div_ceil(8);
            [fits, fits + 1]
        });
        let most = data_codewords(MAX_VERSION) - 3;
        let lengths: Vec<usize> = (1..=most).step_by(13).chain(boundaries).filter(|&n| n <= most).collect();
        for n in lengths {
            let data: Vec<u8> = (0..n).map(|_| xorshift(&mut seed) as u8).collect();
            let (w, expected) = reference_symbol(&data);
            let symbol = encode(&data).unwrap_or_else(|e| panic!("{n} bytes: {e}"));
            assert_eq!(symbol.width, w, "{n} bytes");
            assert_eq!(symbol.rows, rows_of(&expected, w), "{n} bytes, width {w}");
            widths.insert(w);
        }
        assert_eq!(widths.len(), MAX_VERSION, "every version was drawn: {widths:?}");
    }

    #[test]
    fn a_payload_past_version_27_is_an_error_not_a_panic() {
        assert!(encode(&[b'x'; 1200]).is_err());
    }

    #[test]
    fn the_tables_add_up_to_each_version_s_codewords() {
        for v in 1..=MAX_VERSION {
            let (ec, g1, _, g2) = BLOCKS_M[v - 1];
            assert!(usize::from(ec) <= MAX_EC, "version {v} needs a generator of degree {ec}");
            // Data modules: all less the function patterns (ISO/IEC 18004 Table 1).
            let mut modules = (16 * v + 128) * v + 64;
            if v >= 2 {
                let align = v / 7 + 2;
                modules -= (25 * align - 10) * align - 55;
            }
            if v >= 7 {
                modules -= 36;
            }
            assert_eq!(data_codewords(v) + usize::from(g1 + g2) * usize::from(ec), modules / 8, "version {v}");
        }
    }
}
