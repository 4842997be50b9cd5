//! Draws a QR code as one compact SVG path.
//!
//! Each row's runs of dark modules become one rectangle in the path, so a
//! version-10 code is a few kilobytes instead of one `<rect>` per module.

use crate::qr;

/// Modules of white border the QR specification asks for.
const QUIET_ZONE: usize = 4;

/// Encodes `data` at error-correction level M and returns the `<svg>` element.
pub fn qr_svg(data: &str, size_mm: u32, label: &str) -> Result<String, String> {
    let symbol = qr::encode(data.as_bytes())?;
    let width = symbol.width;
    let side = width + 2 * QUIET_ZONE;
    let mut svg = Vec::with_capacity(320 + label.len() + width * width / 2);
    svg.extend_from_slice(br#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 "#);
    push_number(&mut svg, side);
    svg.push(b' ');
    push_number(&mut svg, side);
    svg.extend_from_slice(br#"" width=""#);
    svg.extend_from_slice(size_mm.to_string().as_bytes());
    svg.extend_from_slice(br#"mm" height=""#);
    svg.extend_from_slice(size_mm.to_string().as_bytes());
    svg.extend_from_slice(br#"mm" shape-rendering="crispEdges" role="img" aria-label=""#);
    svg.extend_from_slice(label.as_bytes());
    svg.extend_from_slice(br#""><rect width=""#);
    push_number(&mut svg, side);
    svg.extend_from_slice(br#"" height=""#);
    push_number(&mut svg, side);
    svg.extend_from_slice(br##"" fill="#fff"/><path fill="#000" d=""##);
    for (y, &row) in symbol.rows.iter().enumerate() {
        let mut rectangle = |start: usize, run: usize| {
            svg.push(b'M');
            push_number(&mut svg, start + QUIET_ZONE);
            svg.push(b' ');
            push_number(&mut svg, y + QUIET_ZONE);
            svg.push(b'h');
            push_number(&mut svg, run);
            svg.extend_from_slice(b"v1h-");
            push_number(&mut svg, run);
            svg.push(b'z');
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
    svg.extend_from_slice(br#""/></svg>"#);
    // Only ASCII was written, and `label` is a `str`.
    String::from_utf8(svg).map_err(|e| e.to_string())
}

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
    use super::{push_number, runs};

    #[test]
    fn rows_of_64_bits_have_the_runs_of_128() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let row = seed >> 3; // 61 modules: version 11, the widest on 64 bits
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
