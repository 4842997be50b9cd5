//! Reads the QR codes tessera draws, with an independent decoder (rqrr):
//! the SVG path is rasterised module by module and decoded like a photo.

/// Decodes every QR code in `html` (our `<svg viewBox="0 0 N N">…<path d="M x yh…"/>`).
pub fn decode_all(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").map(|e| start + e + 6).expect("closed svg");
        if let Some(text) = decode_svg(&rest[start..end]) {
            found.push(text);
        }
        rest = &rest[end..];
    }
    found
}

fn attr<'a>(svg: &'a str, name: &str) -> Option<&'a str> {
    let at = svg.find(&format!("{name}=\""))? + name.len() + 2;
    Some(&svg[at..at + svg[at..].find('"')?])
}

/// Decodes one QR `<svg>`, or `None` when it is not one of ours.
pub fn decode_svg(svg: &str) -> Option<String> {
    let side: usize = attr(svg, "viewBox")?.split(' ').nth(2)?.parse().ok()?;
    let path = svg.find("<path").map(|p| &svg[p..])?;
    let d = attr(path, "d")?;
    let mut dark = vec![false; side * side];
    for cmd in d.split('z').filter(|c| !c.is_empty()) {
        // "M{x} {y}h{run}v1h-{run}"
        let cmd = cmd.strip_prefix('M')?;
        let (xy, rest) = cmd.split_once('h')?;
        let (x, y) = xy.split_once(' ')?;
        let (x, y): (usize, usize) = (x.parse().ok()?, y.parse().ok()?);
        let run: usize = rest.split('v').next()?.parse().ok()?;
        for i in 0..run {
            dark[y * side + x + i] = true;
        }
    }
    let scale = 4;
    let px = side * scale;
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(
            px,
            px,
            |x, y| {
                if dark[(y / scale) * side + x / scale] { 0 } else { 255 }
            },
        );
    let grids = img.detect_grids();
    let (_, text) = grids.first()?.decode().ok()?;
    Some(text)
}
