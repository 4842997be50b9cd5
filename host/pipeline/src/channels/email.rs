//! The e-mail channel: a composed document as an `.eml` file.
//!
//! Structure: `multipart/alternative` with the text rendition first and the
//! HTML last (clients show the last part they understand); when the HTML has
//! images, the HTML part is a `multipart/related` whose inline image parts
//! the HTML references by `cid:` — many mail clients block `data:` URIs, so
//! the images that composition inlined as `data:` URIs are moved into parts.
//!
//! MIME encoding (quoted-printable or base64 bodies, RFC 2047 encoded words
//! for non-ASCII headers, folding) is mail-builder's. What is ours is that
//! the file is deterministic: Date is the job's as-of date, Message-ID and
//! the multipart boundaries derive from the document, so a rerun or a resumed
//! run writes the same bytes.

use base64::Engine;
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::mime::{BodyPart, MimePart};
use sha2::{Digest, Sha256};

/// What an e-mail needs beyond the composed renditions.
pub struct Envelope<'a> {
    /// Sender display name (the brand label's).
    pub from_name: &'a str,
    /// Sender address (the brand label's contact e-mail).
    pub from_address: &'a str,
    /// Recipient display name, when the record has one.
    pub to_name: Option<&'a str>,
    /// Recipient address from the record's `distribution.email`.
    pub to_address: &'a str,
    /// Subject line from the template.
    pub subject: &'a str,
    /// The job's as-of date, seconds since the Unix epoch.
    pub date_unix: u64,
    /// The document id, for Message-ID and boundaries.
    pub document_id: &'a str,
}

/// Why an e-mail could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmailError {
    /// The HTML has a `data:` URI that is not base64 or not closed.
    #[error("the HTML rendition has an image data URI that cannot be decoded ({0})")]
    BadDataUri(String),
}

/// An image moved out of the HTML into an inline part.
struct InlineImage {
    media_type: String,
    bytes: Vec<u8>,
    cid: String,
}

/// Builds the `.eml` bytes.
pub fn build(envelope: &Envelope<'_>, html: &str, text: &str) -> Result<Vec<u8>, EmailError> {
    let digest = hex::encode(&Sha256::digest(envelope.document_id.as_bytes())[..8]);
    let domain = envelope.from_address.rsplit_once('@').map(|(_, d)| d).unwrap_or("tessera.invalid");
    let (html, images) = extract_images(html, &digest)?;

    let text_part = MimePart::new("text/plain", text);
    let html_part = MimePart::new("text/html", html.as_str());
    let html_part = if images.is_empty() {
        html_part
    } else {
        let mut related = vec![html_part];
        for image in &images {
            related.push(
                MimePart::new(
                    ContentType::new(image.media_type.as_str()),
                    BodyPart::Binary(image.bytes.as_slice().into()),
                )
                .inline()
                .cid(image.cid.as_str()),
            );
        }
        let boundary = format!("rel_{digest}");
        MimePart::new(ContentType::new("multipart/related").attribute("boundary", boundary), related)
    };
    let boundary = format!("alt_{digest}");
    let body = MimePart::new(
        ContentType::new("multipart/alternative").attribute("boundary", boundary),
        vec![text_part, html_part],
    );
    let to: Address<'_> = match envelope.to_name {
        Some(name) => (name, envelope.to_address).into(),
        None => envelope.to_address.into(),
    };
    let message = MessageBuilder::new()
        .from((envelope.from_name, envelope.from_address))
        .to(to)
        .subject(envelope.subject)
        .date(envelope.date_unix as i64)
        .message_id(format!("{}.{digest}@{domain}", envelope.document_id))
        .body(body);
    Ok(message.write_to_vec().expect("writing to memory does not fail"))
}

/// Replaces every `data:<type>;base64,<data>` URI in a quoted attribute
/// value with a `cid:` reference, returning the images (the same image
/// once, however often it appears).
fn extract_images(html: &str, digest: &str) -> Result<(String, Vec<InlineImage>), EmailError> {
    let mut out = String::with_capacity(html.len());
    let mut images: Vec<InlineImage> = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("data:") {
        let quote = rest[..at].chars().next_back();
        if !matches!(quote, Some('"') | Some('\'')) {
            out.push_str(&rest[..at + 5]);
            rest = &rest[at + 5..];
            continue;
        }
        let quote = quote.expect("checked above");
        out.push_str(&rest[..at]);
        let uri_and_more = &rest[at + 5..];
        let end = uri_and_more.find(quote).ok_or_else(|| EmailError::BadDataUri("no closing quote".into()))?;
        let uri = &uri_and_more[..end];
        let (media_type, data) = uri
            .split_once(";base64,")
            .ok_or_else(|| EmailError::BadDataUri(format!("`{}…` is not base64", &uri[..uri.len().min(24)])))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| EmailError::BadDataUri(format!("{media_type}: {e}")))?;
        let cid = match images.iter().find(|i| i.bytes == bytes && i.media_type == media_type) {
            Some(existing) => existing.cid.clone(),
            None => {
                let cid = format!("img{}.{digest}@tessera", images.len() + 1);
                images.push(InlineImage { media_type: media_type.to_owned(), bytes, cid: cid.clone() });
                cid
            }
        };
        out.push_str("cid:");
        out.push_str(&cid);
        rest = &uri_and_more[end..];
    }
    out.push_str(rest);
    Ok((out, images))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope<'static> {
        Envelope {
            from_name: "ACME Energy",
            from_address: "service@acme-energy.example",
            to_name: Some("Zoë Ångström"),
            to_address: "zoe@example.nl",
            subject: "Factuur INV-1 · ACME Energy",
            date_unix: 1_793_491_200,
            document_id: "INV-1",
        }
    }

    #[test]
    fn images_move_to_inline_parts_once() {
        let svg = base64::engine::general_purpose::STANDARD.encode("<svg/>");
        let html = format!(
            r#"<img src="data:image/svg+xml;base64,{svg}"><img src='data:image/svg+xml;base64,{svg}'> data: text"#
        );
        let (out, images) = extract_images(&html, "abc").unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].bytes, b"<svg/>");
        assert_eq!(out, r#"<img src="cid:img1.abc@tessera"><img src='cid:img1.abc@tessera'> data: text"#);
    }

    #[test]
    fn a_broken_data_uri_is_an_error() {
        assert!(extract_images(r#"<img src="data:image/png;base64,@@@">"#, "x").is_err());
        assert!(extract_images(r#"<img src="data:image/png,raw">"#, "x").is_err());
    }

    #[test]
    fn the_same_document_gives_the_same_bytes() {
        let a = build(&envelope(), "<p>Hallo</p>", "Hallo").unwrap();
        let b = build(&envelope(), "<p>Hallo</p>", "Hallo").unwrap();
        assert_eq!(a, b);
        let text = String::from_utf8(a).unwrap();
        assert!(text.contains("Message-ID: <INV-1."), "{text}");
        assert!(text.contains("=?utf-8?"), "non-ASCII headers are encoded words: {text}");
    }
}
