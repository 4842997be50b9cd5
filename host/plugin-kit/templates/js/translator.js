// `{{id}}`: a tessera translator. It reads semicolon-separated lines
// `customer_ref;document_id;last_name;email` (the first line is the header)
// and makes one CDM letter record per line. A line it cannot use is
// rejected with its line, column and field; the rest of the source goes on.
// Every line is a document, so the host may cut the source at any line
// start after the header and translate the parts on every core.

const FIELDS = ["customer_ref", "document_id", "last_name", "email"];

/** Strict UTF-8 decoding (QuickJS has no TextDecoder): throws on bad bytes. */
function decodeUtf8(bytes) {
  let escaped = "";
  for (const b of bytes) escaped += "%" + (b < 16 ? "0" : "") + b.toString(16);
  return decodeURIComponent(escaped);
}

// WIT's u64 is a BigInt in JavaScript: offsets are converted at the edge.
class Splitter {
  constructor(sourceName, minGap) {
    this.minGap = Math.max(Number(minGap), 1);
    this.offset = 0;
    this.line = 1;
    this.lineStart = false;
    this.lastCut = 0;
  }

  feed(chunk) {
    const cuts = [];
    for (let i = 0; i < chunk.length; i++) {
      const at = this.offset + i;
      // A cut is made at a line's first byte, never after the last byte
      // of the source.
      if (this.lineStart && this.line > 1 && at >= this.lastCut + this.minGap) {
        this.lastCut = at;
        cuts.push({ offset: BigInt(at), line: this.line, state: new Uint8Array(0) });
      }
      this.lineStart = chunk[i] === 10;
      if (chunk[i] === 10) this.line += 1;
    }
    this.offset += chunk.length;
    return cuts;
  }

  finish() {
    return [];
  }
}

class Session {
  constructor(sourceName, start) {
    this.source = sourceName;
    this.pending = new Uint8Array(0);
    // From a cut, the first line fed is the cut's line.
    this.number = start ? start.line - 1 : 0;
  }

  feed(chunk) {
    const joined = new Uint8Array(this.pending.length + chunk.length);
    joined.set(this.pending);
    joined.set(chunk, this.pending.length);
    const out = [];
    // A chunk may end anywhere, even inside a character: only whole
    // lines are decoded.
    let start = 0;
    for (let i = 0; i < joined.length; i++) {
      if (joined[i] === 10) {
        this.number += 1;
        this.line(joined.subarray(start, i), this.number, out);
        start = i + 1;
      }
    }
    this.pending = joined.slice(start);
    return out;
  }

  finish() {
    const out = [];
    if (this.pending.length > 0) {
      this.number += 1;
      this.line(this.pending, this.number, out);
      this.pending = new Uint8Array(0);
    }
    return out;
  }

  line(bytes, number, out) {
    let text;
    try {
      text = decodeUtf8(bytes);
    } catch {
      out.push(this.reject("invalid-input", "the line is not UTF-8", number, 1, null));
      return;
    }
    if (text.endsWith("\r")) text = text.slice(0, -1);
    if (number === 1 || text.trim() === "") return; // the header, or a blank line
    const values = text.split(";");
    if (values.length !== FIELDS.length) {
      const message = `expected 4 fields (${FIELDS.join(";")}), found ${values.length}`;
      out.push(this.reject("invalid-input", message, number, 1, null));
      return;
    }
    let column = 1;
    for (let i = 0; i < 3; i++) {
      if (values[i].trim() === "") {
        out.push(this.reject("missing-data", `${FIELDS[i]} is empty`, number, column, FIELDS[i]));
        return;
      }
      column += [...values[i]].length + 1;
    }
    const email = values[3].trim();
    const record = {
      cdm: "1.0",
      reference: {
        customer_ref: values[0].trim(),
        document_id: values[1].trim(),
        document_type: "letter",
        source: { name: this.source, line: number },
      },
      personal: { last_name: values[2].trim() },
      address: {},
      production: {},
      distribution: { email: email || null },
      content: {},
    };
    const location = { source: this.source, line: number, column: 1, field: null };
    out.push({ tag: "translated", val: { cdm: JSON.stringify(record), location } });
  }

  reject(code, message, line, column, field) {
    const location = { source: this.source, line, column, field };
    return { tag: "rejected", val: { code, message, location } };
  }
}

export const translate = { Session, Splitter };
