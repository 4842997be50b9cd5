//! # tessera-world-section
//!
//! The world a component was built for, embedded in the component itself as
//! a top-level custom section (as Zed and Spin record their API version), so
//! `plugin check` can tell what the partner meant to build even when the
//! exports say otherwise.
//!
//! A custom section may be appended after the last section of a component
//! without changing its meaning: runtimes skip custom sections they do not
//! know.

/// The custom section's name; its payload is e.g. `fragment@0.1.0`.
pub const WORLD_SECTION: &str = "tessera:world";

/// The component with the world appended as a custom section.
pub fn embed_world(component: &[u8], world: &str) -> Vec<u8> {
    let mut payload = Vec::new();
    leb128(&mut payload, WORLD_SECTION.len() as u64);
    payload.extend_from_slice(WORLD_SECTION.as_bytes());
    payload.extend_from_slice(world.as_bytes());
    let mut out = Vec::with_capacity(component.len() + payload.len() + 6);
    out.extend_from_slice(component);
    out.push(0); // custom section id
    leb128(&mut out, payload.len() as u64);
    out.extend_from_slice(&payload);
    out
}

/// The embedded world, when the component has the section. Only top-level
/// sections are read: nested modules are skipped whole.
pub fn embedded_world(component: &[u8]) -> Option<String> {
    let mut at = 8; // magic + version/layer
    while at < component.len() {
        let id = component[at];
        at += 1;
        let (size, n) = read_leb128(&component[at..])?;
        at += n;
        let end = at.checked_add(usize::try_from(size).ok()?)?;
        let body = component.get(at..end)?;
        if id == 0 {
            let (name_len, n) = read_leb128(body)?;
            let name_end = n.checked_add(usize::try_from(name_len).ok()?)?;
            if body.get(n..name_end) == Some(WORLD_SECTION.as_bytes()) {
                return String::from_utf8(body[name_end..].to_vec()).ok();
            }
        }
        at = end;
    }
    None
}

fn leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_leb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest component: the magic number and the component layer.
    const EMPTY: &[u8] = b"\0asm\x0d\x00\x01\x00";

    #[test]
    fn round_trips_and_skips_other_sections() {
        let mut with_other = EMPTY.to_vec();
        // An unrelated custom section first, with a body over 127 bytes.
        let mut body = vec![4u8];
        body.extend_from_slice(b"note");
        body.extend_from_slice(&[b'x'; 200]);
        with_other.push(0);
        leb128(&mut with_other, body.len() as u64);
        with_other.extend_from_slice(&body);
        let embedded = embed_world(&with_other, "fragment@0.1.0");
        assert_eq!(embedded_world(&embedded).as_deref(), Some("fragment@0.1.0"));
        assert_eq!(embedded_world(&with_other), None);
        assert_eq!(embedded_world(EMPTY), None);
    }

    #[test]
    fn truncated_input_is_not_a_panic() {
        let embedded = embed_world(EMPTY, "translator@0.2.0");
        for cut in 0..embedded.len() {
            let _ = embedded_world(&embedded[..cut]);
        }
    }
}
