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
    let mut path = String::with_capacity(width * width / 2);
    for (y, &row) in symbol.rows.iter().enumerate() {
        // Runs of set bits, lowest first: bits above the width are clear,
        // so every run ends inside the row.
        let mut rest = row;
        while rest != 0 {
            let start = rest.trailing_zeros() as usize;
            let run = (!(rest >> start)).trailing_zeros() as usize;
            rest &= !(((1u128 << run) - 1) << start);
            path.push('M');
            push_number(&mut path, start + QUIET_ZONE);
            path.push(' ');
            push_number(&mut path, y + QUIET_ZONE);
            path.push('h');
            push_number(&mut path, run);
            path.push_str("v1h-");
            push_number(&mut path, run);
            path.push('z');
        }
    }
    Ok(format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" width="{size}mm" height="{size}mm" "#,
            r#"shape-rendering="crispEdges" role="img" aria-label="{label}">"#,
            r##"<rect width="{side}" height="{side}" fill="#fff"/><path fill="#000" d="{path}"/></svg>"##
        ),
        side = side,
        size = size_mm,
        label = label,
        path = path
    ))
}

/// Appends a module coordinate or run length (below 1,000: a symbol is at
/// most 177 modules wide plus the quiet zone) in decimal. The path holds
/// hundreds of them, and `write!` per number was the largest single cost of
/// drawing a code.
fn push_number(out: &mut String, n: usize) {
    debug_assert!(n < 1000);
    if n >= 100 {
        out.push(char::from(b'0' + (n / 100) as u8));
    }
    if n >= 10 {
        out.push(char::from(b'0' + (n / 10 % 10) as u8));
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

#[cfg(test)]
mod tests {
    use super::push_number;

    #[test]
    fn numbers_are_written_as_format_writes_them() {
        for n in [0, 7, 10, 99, 100, 185, 999] {
            let mut out = String::new();
            push_number(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }
}
