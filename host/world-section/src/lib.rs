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
    use wasm_encoder::ComponentSection;
    let section = wasm_encoder::CustomSection {
        name: std::borrow::Cow::Borrowed(WORLD_SECTION),
        data: std::borrow::Cow::Borrowed(world.as_bytes()),
    };
    let mut out = component.to_vec();
    section.append_to_component(&mut out);
    out
}

/// The embedded world, when the component has the section. Only top-level
/// sections count: a custom section of a nested module or component is not
/// the component's own. Input that is not a component is `None`.
pub fn embedded_world(component: &[u8]) -> Option<String> {
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        match payload.ok()? {
            wasmparser::Payload::ModuleSection { .. } | wasmparser::Payload::ComponentSection { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth = depth.checked_sub(1)?,
            wasmparser::Payload::CustomSection(section) if depth == 0 && section.name() == WORLD_SECTION => {
                return String::from_utf8(section.data().to_vec()).ok();
            }
            _ => {}
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
        with_other.push(0x80 | (body.len() & 0x7f) as u8);
        with_other.push((body.len() >> 7) as u8);
        with_other.extend_from_slice(&body);
        let embedded = embed_world(&with_other, "fragment@0.1.0");
        assert_eq!(embedded_world(&embedded).as_deref(), Some("fragment@0.1.0"));
        assert_eq!(embedded_world(&with_other), None);
        assert_eq!(embedded_world(EMPTY), None);
    }

    #[test]
    fn the_section_is_what_the_hand_written_encoder_wrote() {
        // name length, name, payload; id 0 and the payload's size before it.
        let embedded = embed_world(EMPTY, "fragment@0.1.0");
        let mut expected = EMPTY.to_vec();
        expected.extend_from_slice(&[0, 28, 13]);
        expected.extend_from_slice(b"tessera:worldfragment@0.1.0");
        assert_eq!(embedded, expected, "plugin digests pinned by tenants depend on these bytes");
    }

    #[test]
    fn truncated_input_is_not_a_panic() {
        let embedded = embed_world(EMPTY, "translator@0.2.0");
        for cut in 0..embedded.len() {
            let _ = embedded_world(&embedded[..cut]);
        }
    }
}
