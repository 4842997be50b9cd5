//! Draws a QR code as one compact SVG path.
//!
//! Each row's runs of dark modules become one rectangle in the path, so a
//! version-10 code is a few kilobytes instead of one `<rect>` per module.

use crate::qr;

/// Modules of white border the QR specification asks for.
const QUIET_ZONE: usize = 4;

/// Encodes `data` at error-correction level M and returns the `<svg>` element.
pub fn qr_svg(data: &str, size_mm: u32, label: &str) -> Result<String, String> {
    use std::fmt::Write as _;
    let symbol = qr::encode(data.as_bytes())?;
    let width = symbol.width;
    let side = width + 2 * QUIET_ZONE;
    let mut path = String::with_capacity(width * width / 2);
    for (y, row) in symbol.dark.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] {
                let start = x;
                while x < width && row[x] {
                    x += 1;
                }
                let run = x - start;
                let _ = write!(path, "M{} {}h{run}v1h-{run}z", start + QUIET_ZONE, y + QUIET_ZONE);
            } else {
                x += 1;
            }
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
