// `{{id}}`: a tessera formatter. It makes a plain-text letter: the
// document id, the subject when there is one, then the text rendition
// wrapped at `text.width` characters (metadata; 72 when not given).

const LINES_PER_PAGE = 64; // lines of text on one printed page

/** Greedy word wrap; a word longer than the width stays whole. */
function wrap(line, width) {
  const length = (s) => [...s].length;
  if (length(line) <= width) return [line];
  const lines = [];
  let current = "";
  for (const word of line.split(" ")) {
    if (current === "") {
      current = word;
    } else if (length(current) + 1 + length(word) <= width) {
      current += " " + word;
    } else {
      lines.push(current);
      current = word;
    }
  }
  lines.push(current);
  return lines;
}

/** UTF-8 bytes of a string (QuickJS has no TextEncoder). */
function encodeUtf8(text) {
  const escaped = unescape(encodeURIComponent(text));
  const bytes = new Uint8Array(escaped.length);
  for (let i = 0; i < escaped.length; i++) bytes[i] = escaped.charCodeAt(i);
  return bytes;
}

export const format = {
  format(doc) {
    let width = 72;
    const given = doc.metadata.find((e) => e.name === "text.width");
    if (given) {
      width = /^[0-9]+$/.test(given.value) ? Number(given.value) : NaN;
      if (!(width >= 20 && width <= 200)) {
        const location = { source: null, line: null, column: null, field: "text.width" };
        throw { code: "invalid-input", message: `text.width \`${given.value}\` is not a whole number from 20 to 200`, location };
      }
    }
    let out = `${doc.documentId}\n`;
    if (doc.subject !== null && doc.subject !== undefined) out += `Subject: ${doc.subject}\n`;
    out += "\n";
    const lines = doc.text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
    if (lines[lines.length - 1] === "") lines.pop();
    for (const line of lines) {
      for (const wrapped of wrap(line, width)) out += wrapped + "\n";
    }
    // Since contract 0.2.0 a formatter may state its page count, which the
    // host meters usage and postage by: here, 64 lines to a page.
    const pages = Math.ceil((out.split("\n").length - 1) / LINES_PER_PAGE);
    return { bytes: encodeUtf8(out), mediaType: "text/plain; charset=utf-8", extension: "txt", pages };
  },
};
