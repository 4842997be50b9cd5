//! Draws a QR code as one compact SVG path.
//!
//! Each row's runs of dark modules become one rectangle in the path, so a
//! version-10 code is a few kilobytes instead of one `<rect>` per module.

use crate::qr;

/// Modules of white border the QR specification asks for.
const QUIET_ZONE: usize = 4;

/// Encodes `data` at error-correction level M and returns the `<svg>` element.
#[cfg(test)]
pub fn qr_svg(data: &str, size_mm: u32, label: &str) -> Result<String, String> {
    let mut svg = Vec::new();
    write_svg(&mut svg, data, size_mm, label)?;
    // Only ASCII was written, and `label` is a `str`.
    String::from_utf8(svg).map_err(|e| e.to_string())
}

/// Appends the `<svg>` element of `data`'s code to `svg`, which may
/// already hold the markup around it (the fragment writes its HTML in one
/// buffer instead of copying a finished SVG into it).
pub fn write_svg(svg: &mut Vec<u8>, data: &str, size_mm: u32, label: &str) -> Result<(), String> {
    let symbol = qr::encode(data.as_bytes())?;
    let width = symbol.width;
    let side = width + 2 * QUIET_ZONE;
    svg.reserve(320 + label.len() + width * width / 2);
    svg.extend_from_slice(br#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 "#);
    push_number(svg, side);
    svg.push(b' ');
    push_number(svg, side);
    svg.extend_from_slice(br#"" width=""#);
    // The fragment takes 15–80 mm; any other size is written all the same.
    let size = size_mm.to_string();
    svg.extend_from_slice(size.as_bytes());
    svg.extend_from_slice(br#"mm" height=""#);
    svg.extend_from_slice(size.as_bytes());
    svg.extend_from_slice(br#"mm" shape-rendering="crispEdges" role="img" aria-label=""#);
    svg.extend_from_slice(label.as_bytes());
    svg.extend_from_slice(br#""><rect width=""#);
    push_number(svg, side);
    svg.extend_from_slice(br#"" height=""#);
    push_number(svg, side);
    svg.extend_from_slice(br##"" fill="#fff"/><path fill="#000" d=""##);
    // Each rectangle, `M{x} {y}h{run}v1h-{run}z`, is at most 20 bytes and a
    // row has at most (width + 1) / 2 of them: the path is written into
    // room made up front, eight bytes at a time (a few word stores per
    // rectangle instead of a growth check per byte), then cut to length.
    let path_start = svg.len();
    svg.resize(path_start + width * width.div_ceil(2) * 20 + 8, 0);
    let mut at = path_start;
    for (y, &row) in symbol.rows.iter().enumerate() {
        let (y_digits, y_len) = DIGITS[y + QUIET_ZONE];
        // ` {y}h`, the same for every rectangle of the row.
        let row_part = (u64::from(b' ') | u64::from(y_digits) << 8 | u64::from(b'h') << (8 * (1 + y_len)), 2 + y_len);
        let mut rectangle = |start: usize, run: usize| {
            let (x_digits, x_len) = DIGITS[start + QUIET_ZONE];
            let (run_digits, run_len) = (u64::from(DIGITS[run].0), DIGITS[run].1);
            at = put(svg, at, (u64::from(b'M') | u64::from(x_digits) << 8, 1 + x_len));
            at = put(svg, at, row_part);
            at = put(svg, at, (run_digits | u64::from(u32::from_le_bytes(*b"v1h-")) << (8 * run_len), run_len + 4));
            at = put(svg, at, (run_digits | u64::from(b'z') << (8 * run_len), run_len + 1));
        };
        // Rows of codes up to version 11 (61 modules) fit 64 bits with
        // room for the clear bit that ends a run: WebAssembly shifts those
        // in one instruction, a `u128` in a call.
        if width < 64 {
            runs(row as u64, &mut rectangle);
        } else {
            runs(row, &mut rectangle);
        }
    }
    svg.truncate(at);
    svg.extend_from_slice(br#""/></svg>"#);
    Ok(())
}

/// Writes the `len` low bytes of `word` at `at` (the eight bytes from `at`
/// are inside `out`), returning where the next write goes.
#[inline(always)]
fn put(out: &mut [u8], at: usize, (word, len): (u64, usize)) -> usize {
    out[at..at + 8].copy_from_slice(&word.to_le_bytes());
    at + len
}

/// The decimal digits of 0–255 as little-endian ASCII bytes, and how many.
const DIGITS: [(u32, usize); 256] = {
    let mut table = [(0u32, 0usize); 256];
    let mut n = 0;
    while n < 256 {
        let (h, t, o) =
            ((b'0' + (n / 100) as u8) as u32, (b'0' + (n / 10 % 10) as u8) as u32, (b'0' + (n % 10) as u8) as u32);
        table[n] = if n >= 100 {
            (h | t << 8 | o << 16, 3)
        } else if n >= 10 {
            (t | o << 8, 2)
        } else {
            (o, 1)
        };
        n += 1;
    }
    table
};

/// Calls `rectangle(start, length)` for each run of set bits of `row`,
/// lowest first. Bits above the width are clear and the width is below
/// `R`'s bits, so every run ends inside the row (and its mask is not a
/// shift by the whole width).
#[inline(always)]
fn runs<R>(row: R, rectangle: &mut impl FnMut(usize, usize))
where
    R: Copy
        + PartialEq
        + From<u8>
        + std::ops::Shr<usize, Output = R>
        + std::ops::Shl<usize, Output = R>
        + std::ops::Sub<Output = R>
        + std::ops::Not<Output = R>
        + std::ops::BitAndAssign
        + TrailingZeros,
{
    let zero = R::from(0);
    let mut rest = row;
    while rest != zero {
        let start = rest.trailing_zeros();
        let run = (!(rest >> start)).trailing_zeros();
        rest &= !(((R::from(1) << run) - R::from(1)) << start);
        rectangle(start, run);
    }
}

/// `trailing_zeros` of the integer types [`runs`] takes.
trait TrailingZeros {
    fn trailing_zeros(self) -> usize;
}

impl TrailingZeros for u64 {
    fn trailing_zeros(self) -> usize {
        u64::trailing_zeros(self) as usize
    }
}

impl TrailingZeros for u128 {
    fn trailing_zeros(self) -> usize {
        u128::trailing_zeros(self) as usize
    }
}

/// Appends a module coordinate or run length (below 1,000: a symbol is at
/// most 177 modules wide plus the quiet zone) in decimal. The path holds
/// hundreds of them, and `write!` per number was the largest single cost of
/// drawing a code.
#[inline(always)]
fn push_number(out: &mut Vec<u8>, n: usize) {
    debug_assert!(n < 1000);
    // Byte by byte: a copy of one to three bytes would be a `memmove` call.
    if n >= 100 {
        out.push(b'0' + (n / 100) as u8);
    }
    if n >= 10 {
        out.push(b'0' + (n / 10 % 10) as u8);
    }
    out.push(b'0' + (n % 10) as u8);
}

#[cfg(test)]
mod tests {
    use super::{QUIET_ZONE, push_number, qr_svg, runs};
    use crate::qr;
    use crate::qr::tests::xorshift;

    /// The SVG as it was first written, with `format!`, module by module.
    fn reference_svg(data: &str, size_mm: u32, label: &str) -> String {
        let symbol = qr::encode(data.as_bytes()).unwrap();
        let side = symbol.width + 2 * QUIET_ZONE;
        let mut path = String::new();
        for (y, row) in symbol.rows.iter().enumerate() {
            let mut x = 0;
            while x < symbol.width {
                if row >> x & 1 == 1 {
                    let run = (x..symbol.width).take_while(|&i| row >> i & 1 == 1).count();
                    path.push_str(&format!("M{} {}h{run}v1h-{run}z", x + QUIET_ZONE, y + QUIET_ZONE));
                    x += run;
                } else {
                    x += 1;
                }
            }
        }
        format!(
            concat!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" width="{size}mm" height="{size}mm" "#,
                r#"shape-rendering="crispEdges" role="img" aria-label="{label}">"#,
                r##"<rect width="{side}" height="{side}" fill="#fff"/><path fill="#000" d="{path}"/></svg>"##
            ),
            side = side,
            size = size_mm,
            label = label,
            path = path
        )
    }

    #[test]
    fn the_path_is_written_as_format_writes_it_for_every_version() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for len in (1..=1100).step_by(7) {
            let data: String = (0..len).map(|_| char::from(b'!' + (xorshift(&mut seed) % 90) as u8)).collect();
            assert_eq!(qr_svg(&data, 30, "QR").unwrap(), reference_svg(&data, 30, "QR"), "{len} bytes");
        }
    }

    #[test]
    fn rows_of_64_bits_have_the_runs_of_128() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            let row = xorshift(&mut seed) >> 3; // 61 modules: version 11, the widest on 64 bits
            let (mut narrow, mut wide) = (Vec::new(), Vec::new());
            runs(row, &mut |start, run| narrow.push((start, run)));
            runs(u128::from(row), &mut |start, run| wide.push((start, run)));
            assert_eq!(narrow, wide, "{row:#b}");
        }
        let mut all = Vec::new();
        runs((1u64 << 61) - 1, &mut |start, run| all.push((start, run)));
        assert_eq!(all, [(0, 61)]);
    }

    #[test]
    fn numbers_are_written_as_format_writes_them() {
        for n in [0, 7, 10, 99, 100, 185, 999] {
            let mut out = Vec::new();
            push_number(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }
}
