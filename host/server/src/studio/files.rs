//! What a studio user may touch and what an upload must be: logical
//! content paths (no `..`, no absolute paths, only the content folders),
//! mapped into the user's own tenant layer and nowhere else; the file tree
//! across layers with the file that wins each path; and the checks an
//! uploaded image passes (type from its bytes, size, pixel dimensions).

use std::collections::BTreeMap;

/// The folders a content layer has (see the `tessera-content` crate docs).
const TOP_FOLDERS: [&str; 5] = ["templates", "fragments", "labels", "locales", "assets"];

/// Largest upload.
pub(crate) const MAX_UPLOAD_BYTES: usize = 2 << 20;
/// Largest image side, in pixels.
pub(crate) const MAX_PIXELS_SIDE: usize = 4000;

/// Why a path or a file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FileRefusal {
    /// Not a path inside a content layer.
    #[error("`{path}` is not a content path: {why}")]
    Path { path: String, why: &'static str },
    /// The upload is not an image the content may hold.
    #[error("`{path}`: {why}")]
    Image { path: String, why: String },
}

/// Checks a logical content path (`fragments/footer.html.tera`).
pub(crate) fn logical_path(path: &str) -> Result<&str, FileRefusal> {
    let refuse = |why| Err(FileRefusal::Path { path: path.to_owned(), why });
    if path.is_empty() || path.len() > 256 {
        return refuse("it is empty or too long");
    }
    if path.starts_with('/') || path.contains('\\') || path.contains(':') {
        return refuse("it must be relative, with `/` between folders");
    }
    let parts: Vec<&str> = path.split('/').collect();
    if parts.iter().any(|p| p.is_empty() || *p == "." || *p == "..") {
        return refuse("it must not contain empty, `.` or `..` parts");
    }
    if parts.iter().any(|p| p.starts_with('.') || p.chars().any(char::is_control)) {
        return refuse("hidden files and control characters are not content");
    }
    if parts.len() < 2 || !TOP_FOLDERS.contains(&parts[0]) {
        return refuse("it must be inside templates/, fragments/, labels/, locales/ or assets/");
    }
    Ok(path)
}

/// One path of the file tree.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct TreeEntry {
    pub path: String,
    /// Every layer that has the path, most general first.
    pub layers: Vec<String>,
    /// The layer whose file is used (the most specific one).
    pub winner: String,
    /// Whether the user's own layer holds it (else saving creates an override).
    pub own: bool,
}

/// The logical files of `layers` (their roots in the snapshot, most
/// general first; the last is the user's own).
pub(crate) fn tree(snapshot: &tessera_content::Snapshot, layers: &[String]) -> Vec<TreeEntry> {
    let mut by_path: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for layer in layers {
        for (full, _) in snapshot.files_under(layer) {
            let logical = full.strip_prefix(layer.as_str()).unwrap_or(full).trim_start_matches('/');
            if logical_path(logical).is_ok() {
                by_path.entry(logical.to_owned()).or_default().push(layer.clone());
            }
        }
    }
    let own = layers.last().cloned().unwrap_or_default();
    by_path
        .into_iter()
        .map(|(path, layers)| {
            let winner = layers.last().cloned().unwrap_or_default();
            TreeEntry { own: winner == own, path, layers, winner }
        })
        .collect()
}

/// Whether a logical path holds text the editor opens.
pub(crate) fn is_text(path: &str) -> bool {
    [".tera", ".toml", ".html", ".txt", ".css", ".json", ".typ", ".svg"].iter().any(|ext| path.ends_with(ext))
}

/// Checks an upload for an image path: the bytes must be the image type
/// the name says (PNG, JPEG, GIF, WebP or SVG), within the size and pixel caps.
pub(crate) fn check_image(path: &str, bytes: &[u8]) -> Result<(), FileRefusal> {
    let refuse = |why: String| Err(FileRefusal::Image { path: path.to_owned(), why });
    if bytes.len() > MAX_UPLOAD_BYTES {
        return refuse(format!("{} bytes is over the {} byte limit", bytes.len(), MAX_UPLOAD_BYTES));
    }
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    if ext == "svg" {
        return check_svg(bytes).or_else(refuse);
    }
    let wanted = match ext.as_str() {
        "png" => imagesize::ImageType::Png,
        "jpg" | "jpeg" => imagesize::ImageType::Jpeg,
        "gif" => imagesize::ImageType::Gif,
        "webp" => imagesize::ImageType::Webp,
        _ => return refuse("images must be .png, .jpg, .gif, .webp or .svg".into()),
    };
    match imagesize::image_type(bytes) {
        Ok(found) if found == wanted => {}
        Ok(found) => return refuse(format!("the bytes are {found:?}, not the .{ext} the name says")),
        Err(_) => return refuse("the bytes are not an image".into()),
    }
    let size = imagesize::blob_size(bytes).map_err(|e| FileRefusal::Image { path: path.into(), why: e.to_string() })?;
    if size.width == 0 || size.height == 0 || size.width > MAX_PIXELS_SIDE || size.height > MAX_PIXELS_SIDE {
        return refuse(format!("{}×{} pixels is outside 1–{MAX_PIXELS_SIDE} pixels a side", size.width, size.height));
    }
    Ok(())
}

/// An SVG is text whose root element is `<svg>`, with nothing active in
/// it: no scripts, event handlers or external references.
fn check_svg(bytes: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "an SVG must be UTF-8 text".to_owned())?;
    let lower = text.to_ascii_lowercase();
    let root = lower
        .split('<')
        .skip(1)
        .find(|t| !t.starts_with('?') && !t.starts_with('!'))
        .ok_or("the bytes are not an SVG image")?;
    if !root.starts_with("svg") {
        return Err("the bytes are not an SVG image (the root element is not <svg>)".into());
    }
    for active in ["<script", "javascript:", "<foreignobject", "xlink:href=\"http", "href=\"http"] {
        if lower.contains(active) {
            return Err(format!("the SVG contains `{active}`: images in content must be inert"));
        }
    }
    let handler = lower.split_whitespace().any(|w| {
        w.starts_with("on")
            && w.contains('=')
            && w[2..].split('=').next().is_some_and(|n| n.chars().all(|c| c.is_ascii_alphabetic()))
    });
    if handler {
        return Err("the SVG has an event handler attribute (on…=): images in content must be inert".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_paths_stay_inside_a_layer() {
        assert!(logical_path("fragments/footer.html.tera").is_ok());
        assert!(logical_path("labels/acme-green/fragments/footer.html.tera").is_ok());
        for bad in [
            "../northwind-telecom/content/fragments/footer.html.tera",
            "fragments/../../x",
            "/etc/passwd",
            "fragments//x",
            "fragments/./x",
            "tenant.toml",
            "scripts/x.sh",
            "fragments\\x",
            "fragments/.hidden",
            "c:/x",
            "",
        ] {
            assert!(logical_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn images_are_what_their_names_say() {
        // A 1×1 PNG.
        let png = base64_png();
        assert!(check_image("assets/images/a.png", &png).is_ok());
        assert!(check_image("assets/images/a.jpg", &png).unwrap_err().to_string().contains("not the .jpg"));
        assert!(check_image("assets/images/a.png", b"hello").unwrap_err().to_string().contains("not an image"));
        assert!(check_image("assets/images/a.exe", &png).is_err());
        let big = vec![0u8; MAX_UPLOAD_BYTES + 1];
        assert!(check_image("assets/images/a.png", &big).unwrap_err().to_string().contains("limit"));
    }

    #[test]
    fn images_over_the_pixel_cap_are_refused() {
        // A PNG header claiming 5000×10 pixels: the size is read, not decoded.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&5000u32.to_be_bytes());
        png.extend_from_slice(&10u32.to_be_bytes());
        png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        let err = check_image("assets/images/wide.png", &png).unwrap_err().to_string();
        assert!(err.contains("5000×10"), "{err}");
    }

    #[test]
    fn svgs_must_be_inert() {
        let ok = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#;
        assert!(check_image("assets/images/a.svg", ok).is_ok());
        assert!(check_image("assets/images/a.svg", b"<html><script>x</script></html>").is_err());
        assert!(check_image("assets/images/a.svg", br#"<svg><script>alert(1)</script></svg>"#).is_err());
        assert!(check_image("assets/images/a.svg", br#"<svg onload="x()"></svg>"#).is_err());
        assert!(check_image("assets/images/a.svg", b"not xml").is_err());
    }

    fn base64_png() -> Vec<u8> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
            .unwrap()
    }
}
