// `usage-chart`: a tessera fragment, written in JavaScript, that draws the
// invoice lines measured in one unit (kWh by default) as a horizontal bar
// chart: inline SVG for HTML and PDF, a bar of `#` per line for text.
//
// Call it from a template as `{{ fragment(name="usage-chart", unit="kWh") }}`.
// Parameters: `unit` (which lines to chart), `width_mm` (40–180, default 90),
// `title` (default "Your usage in <unit>"). Quantities are CDM decimal
// strings; a record without lines in that unit renders nothing.

const BAR_HEIGHT = 6; // mm
const GAP = 2; // mm
const LABEL_WIDTH = 0.45; // share of the width for the line descriptions

function error(code, message, field) {
  return { code, message, location: field ? { source: null, line: null, column: null, field } : null };
}

function escape(text) {
  const entities = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  return String(text).replace(/[&<>"']/g, (c) => entities[c]);
}

/** A CDM amount ("212.4") as a number for drawing; the text keeps the original digits. */
function quantity(line, index) {
  const text = String(line.quantity);
  if (!/^-?[0-9]{1,15}(\.[0-9]{1,6})?$/.test(text)) {
    throw error("invalid-input", `quantity \`${text}\` is not a CDM amount`, `content.lines[${index}].quantity`);
  }
  return { value: Number(text), text };
}

function widthParam(params) {
  const given = params.find((p) => p.name === "width_mm");
  if (!given) return 90;
  const width = /^[0-9]+$/.test(given.value) ? Number(given.value) : NaN;
  if (!(width >= 40 && width <= 180)) {
    throw error("invalid-input", `width_mm \`${given.value}\` is not a whole number from 40 to 180`, "width_mm");
  }
  return width;
}

function svg(bars, unit, width, title) {
  const max = Math.max(...bars.map((b) => b.value), 0) || 1;
  const labelWidth = width * LABEL_WIDTH;
  const barSpace = width - labelWidth - 14;
  const height = bars.length * (BAR_HEIGHT + GAP) + 8;
  const rows = bars.map((b, i) => {
    const y = 8 + i * (BAR_HEIGHT + GAP);
    const w = Math.max((Math.max(b.value, 0) / max) * barSpace, 0.5).toFixed(2);
    const mid = (y + BAR_HEIGHT * 0.72).toFixed(2);
    return (
      `<text x="0" y="${mid}" font-size="3">${escape(b.label)}</text>` +
      `<rect x="${labelWidth.toFixed(2)}" y="${y}" width="${w}" height="${BAR_HEIGHT}" fill="currentColor" opacity="0.75"/>` +
      `<text x="${(labelWidth + Number(w) + 1).toFixed(2)}" y="${mid}" font-size="3">${escape(b.text)}</text>`
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${width}mm" height="${height}mm" ` +
    `viewBox="0 0 ${width} ${height}" aria-label="${escape(title)}">` +
    `<title>${escape(title)}</title>` +
    `<text x="0" y="4" font-size="3.5" font-weight="bold">${escape(title)}</text>` +
    rows.join("") +
    `</svg>`
  );
}

function textChart(bars, unit, title) {
  const max = Math.max(...bars.map((b) => b.value), 0) || 1;
  const labelWidth = Math.max(...bars.map((b) => [...b.label].length));
  const lines = bars.map((b) => {
    const hashes = "#".repeat(Math.max(Math.round((Math.max(b.value, 0) / max) * 30), 1));
    return `${b.label.padEnd(labelWidth)}  ${hashes} ${b.text} ${unit}`;
  });
  return [title, ...lines].join("\n");
}

export const render = {
  render(name, params, context) {
    if (name !== "usage-chart") {
      throw error("unsupported", `this plugin renders \`usage-chart\`, not \`${name}\``);
    }
    let record;
    try {
      record = JSON.parse(context);
    } catch (e) {
      throw error("invalid-input", `the record is not JSON: ${e.message}`);
    }
    const unit = (params.find((p) => p.name === "unit") || { value: "kWh" }).value;
    const title = (params.find((p) => p.name === "title") || { value: `Your usage in ${unit}` }).value;
    const width = widthParam(params);
    const lines = (record.content && record.content.lines) || [];
    const bars = [];
    lines.forEach((line, index) => {
      if (line.unit !== unit) return;
      const q = quantity(line, index);
      bars.push({ label: line.description, value: q.value, text: q.text });
    });
    if (bars.length === 0) return { html: "", text: "" };
    return {
      html: `<figure class="usage-chart">${svg(bars, unit, width, title)}</figure>`,
      text: textChart(bars, unit, title),
    };
  },
};
