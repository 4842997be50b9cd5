//! Factur-X / ZUGFeRD: a PDF/A letter with its EN 16931 CII invoice inside.
//!
//! The channel's formatter typesets the letter as PDF/A-2b; this step appends
//! (as an incremental update, the letter's bytes untouched) the CII XML as
//! the embedded file `factur-x.xml` with relationship `Alternative`, lists it
//! in the catalog's `AF` array and `EmbeddedFiles` name tree, and rewrites
//! the XMP metadata: PDF/A part 3 (which allows the attachment) and the
//! Factur-X extension schema with `DocumentType`, `DocumentFileName`,
//! `Version` and `ConformanceLevel`. Only the host does this: it knows which
//! XML belongs to which letter, and neither plugin needs new capabilities.

use lopdf::{Dictionary, IncrementalDocument, Object, Stream, StringFormat};

/// The name Factur-X 1.0 gives the embedded invoice.
pub const FILE_NAME: &str = "factur-x.xml";

/// The Factur-X XMP namespace.
const FX_NS: &str = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#";

/// Why a PDF could not be made a Factur-X invoice.
#[derive(Debug, thiserror::Error)]
pub enum FacturXError {
    /// The PDF could not be read or written.
    #[error("the PDF cannot be read or extended: {0}")]
    Pdf(#[from] lopdf::Error),
    /// The formatter did not make a PDF/A (its XMP names no `pdfaid:part`).
    #[error(
        "the channel's PDF is not PDF/A; Factur-X needs PDF/A-3b: set `pdf.standard = \"pdf-a-2b\"` in the channel's metadata (the host declares part 3 when it attaches the invoice)"
    )]
    NotPdfA,
}

/// The conformance level the XML is written for (`EN 16931`, Factur-X's
/// "Comfort").
pub const CONFORMANCE_LEVEL: &str = "EN 16931";

/// Returns `pdf` with `xml` attached as `factur-x.xml` and the XMP made
/// Factur-X PDF/A-3b. `date` (`YYYY-MM-DD`) dates the embedded file — the
/// document's as-of date, so the same input makes the same bytes.
pub fn attach(pdf: &[u8], xml: &[u8], date: &str) -> Result<Vec<u8>, FacturXError> {
    let previous = lopdf::Document::load_mem(pdf)?;
    let catalog_id = previous.trailer.get(b"Root")?.as_reference()?;
    let metadata_id = previous.get_object(catalog_id)?.as_dict()?.get(b"Metadata")?.as_reference()?;
    let xmp = match previous.get_object(metadata_id)?.as_stream() {
        Ok(stream) => stream.decompressed_content().unwrap_or_else(|_| stream.content.clone()),
        Err(e) => return Err(e.into()),
    };
    let xmp = String::from_utf8_lossy(&xmp).into_owned();
    let xmp = factur_x_xmp(&xmp).ok_or(FacturXError::NotPdfA)?;

    let mut update = IncrementalDocument::create_from(pdf.to_vec(), previous);
    let doc = &mut update.new_document;
    let stamp = format!("D:{}000000Z", date.replace('-', ""));
    let params = Dictionary::from_iter([
        ("Size", Object::Integer(xml.len() as i64)),
        ("ModDate", Object::String(stamp.into_bytes(), StringFormat::Literal)),
    ]);
    let file = Stream::new(
        Dictionary::from_iter([
            ("Type", Object::Name(b"EmbeddedFile".to_vec())),
            ("Subtype", Object::Name(b"text/xml".to_vec())),
            ("Params", Object::Dictionary(params)),
        ]),
        xml.to_vec(),
    );
    let file_id = doc.add_object(file);
    let name = || Object::String(FILE_NAME.as_bytes().to_vec(), StringFormat::Literal);
    let spec = Dictionary::from_iter([
        ("Type", Object::Name(b"Filespec".to_vec())),
        ("F", name()),
        ("UF", name()),
        ("Desc", Object::String(b"Factur-X invoice (EN 16931)".to_vec(), StringFormat::Literal)),
        ("AFRelationship", Object::Name(b"Alternative".to_vec())),
        (
            "EF",
            Object::Dictionary(Dictionary::from_iter([
                ("F", Object::Reference(file_id)),
                ("UF", Object::Reference(file_id)),
            ])),
        ),
    ]);
    let spec_id = doc.add_object(spec);
    let metadata = Stream::new(
        Dictionary::from_iter([
            ("Type", Object::Name(b"Metadata".to_vec())),
            ("Subtype", Object::Name(b"XML".to_vec())),
        ]),
        xmp.into_bytes(),
    );
    doc.set_object(metadata_id, metadata);

    update.opt_clone_object_to_new_document(catalog_id)?;
    let catalog = update.new_document.get_object_mut(catalog_id)?.as_dict_mut()?;
    catalog.set("AF", Object::Array(vec![Object::Reference(spec_id)]));
    let embedded = Dictionary::from_iter([("Names", Object::Array(vec![name(), Object::Reference(spec_id)]))]);
    // A catalog's own /Names (a dictionary in place) keeps its other trees;
    // Typst writes none that this would drop, but other formatters might.
    let mut names = match catalog.get(b"Names") {
        Ok(Object::Dictionary(d)) => d.clone(),
        _ => Dictionary::new(),
    };
    names.set("EmbeddedFiles", Object::Dictionary(embedded));
    catalog.set("Names", Object::Dictionary(names));
    let mut out = Vec::with_capacity(pdf.len() + xml.len() + 4096);
    update.save_to(&mut out).map_err(|e| FacturXError::Pdf(e.into()))?;
    Ok(out)
}

/// The XMP packet as Factur-X wants it, or `None` when it is not a PDF/A
/// packet: `pdfaid:part` 3, the Factur-X extension schema declared and its
/// four properties set.
fn factur_x_xmp(xmp: &str) -> Option<String> {
    let part_start = xmp.find("<pdfaid:part>")? + "<pdfaid:part>".len();
    let part_end = part_start + xmp[part_start..].find("</pdfaid:part>")?;
    let mut out = String::with_capacity(xmp.len() + 2048);
    out.push_str(&xmp[..part_start]);
    out.push('3');
    out.push_str(&xmp[part_end..]);
    let schema = format!(
        "<rdf:li rdf:parseType=\"Resource\"><pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema><pdfaSchema:namespaceURI>{FX_NS}</pdfaSchema:namespaceURI><pdfaSchema:prefix>fx</pdfaSchema:prefix><pdfaSchema:property><rdf:Seq>{}{}{}{}</rdf:Seq></pdfaSchema:property></rdf:li>",
        property("DocumentFileName", "The name of the embedded XML document"),
        property("DocumentType", "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER"),
        property("Version", "The actual version of the standard applying to the embedded XML document"),
        property("ConformanceLevel", "The conformance level of the embedded XML document"),
    );
    const BAG: &str = "<pdfaExtension:schemas><rdf:Bag>";
    let values = format!(
        "<rdf:Description rdf:about=\"\" xmlns:fx=\"{FX_NS}\"><fx:DocumentType>INVOICE</fx:DocumentType><fx:DocumentFileName>{FILE_NAME}</fx:DocumentFileName><fx:Version>1.0</fx:Version><fx:ConformanceLevel>{CONFORMANCE_LEVEL}</fx:ConformanceLevel></rdf:Description>"
    );
    let out = match out.find(BAG) {
        Some(at) => {
            let at = at + BAG.len();
            format!("{}{schema}{}", &out[..at], &out[at..])
        }
        None => {
            // No extension schemas yet: declare them in a description of their own.
            let declared = format!(
                "<rdf:Description rdf:about=\"\" xmlns:pdfaExtension=\"http://www.aiim.org/pdfa/ns/extension/\" xmlns:pdfaSchema=\"http://www.aiim.org/pdfa/ns/schema#\" xmlns:pdfaProperty=\"http://www.aiim.org/pdfa/ns/property#\">{BAG}{schema}</rdf:Bag></pdfaExtension:schemas></rdf:Description>"
            );
            let end = out.find("</rdf:RDF>")?;
            format!("{}{declared}{}", &out[..end], &out[end..])
        }
    };
    let end = out.find("</rdf:RDF>")?;
    Some(format!("{}{values}{}", &out[..end], &out[end..]))
}

fn property(name: &str, description: &str) -> String {
    format!(
        "<rdf:li rdf:parseType=\"Resource\"><pdfaProperty:name>{name}</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>{description}</pdfaProperty:description></rdf:li>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_xmp_becomes_part_3_with_the_factur_x_schema_and_values() {
        let xmp = "<x:xmpmeta><rdf:RDF><rdf:Description rdf:about=\"\"><pdfaExtension:schemas><rdf:Bag><rdf:li>mm</rdf:li></rdf:Bag></pdfaExtension:schemas><pdfaid:part>2</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance></rdf:Description></rdf:RDF></x:xmpmeta>";
        let fx = factur_x_xmp(xmp).unwrap();
        assert!(fx.contains("<pdfaid:part>3</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance>"), "{fx}");
        assert!(
            fx.contains(
                "<rdf:Bag><rdf:li rdf:parseType=\"Resource\"><pdfaSchema:schema>Factur-X PDFA Extension Schema"
            )
        );
        assert!(fx.contains("<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>"));
        assert!(fx.ends_with("</rdf:Description></rdf:RDF></x:xmpmeta>"));
        assert_eq!(factur_x_xmp("<x:xmpmeta><rdf:RDF></rdf:RDF></x:xmpmeta>"), None, "not PDF/A");
    }
}
