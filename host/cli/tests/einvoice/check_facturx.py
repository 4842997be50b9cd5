"""Checks Factur-X PDFs with the PyPI factur-x package: the embedded
factur-x.xml is found and valid against the Factur-X XSD of its level, and
the PDF's XMP declares PDF/A-3 B and the Factur-X properties that match it.
Prints one JSON object per PDF: {file, xml_ok, level, xmp: {...}, errors}."""
import json
import logging
import re
import sys

import facturx
from lxml import etree
from pypdf import PdfReader

logging.disable(logging.CRITICAL)


def xmp_values(reader):
    meta = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
    pick = lambda tag: (re.search(rf"<{tag}>([^<]*)</{tag}>", meta) or [None, None])[1]
    return {
        "pdfaid_part": pick("pdfaid:part"),
        "pdfaid_conformance": pick("pdfaid:conformance"),
        "fx_DocumentType": pick("fx:DocumentType"),
        "fx_DocumentFileName": pick("fx:DocumentFileName"),
        "fx_Version": pick("fx:Version"),
        "fx_ConformanceLevel": pick("fx:ConformanceLevel"),
        "fx_schema_declared": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#</pdfaSchema:namespaceURI>" in meta,
    }


for path in sys.argv[1:]:
    result = {"file": path, "errors": []}
    data = open(path, "rb").read()
    name, xml = facturx.get_facturx_xml_from_pdf(data, check_xsd=False)
    result["attachment"] = name
    if not xml:
        result["errors"].append("no factur-x.xml attachment")
    else:
        root = etree.fromstring(xml)
        result["level"] = facturx.get_level(root, "factur-x")
        try:
            facturx.xml_check_xsd(xml, flavor="factur-x", level=result["level"])
            result["xml_ok"] = True
        except Exception as e:  # the package raises plain Exceptions
            result["xml_ok"] = False
            result["errors"].append(f"XSD: {e}")
        result["xml"] = xml.decode("utf-8")
    reader = PdfReader(path)
    names = [a for a in reader.attachments]
    result["attachments"] = names
    af = reader.trailer["/Root"].get("/AF")
    result["af_relationship"] = str(af[0].get_object().get("/AFRelationship")) if af else None
    result["xmp"] = xmp_values(reader)
    print(json.dumps(result))
