// `{{id}}`: a tessera fragment. Templates call it as
// `{{ fragment(name="{{id}}") }}` (optionally with `salutation="Hello"`);
// it greets the record's recipient by salutation and last name, or by
// company name.

function error(code, message, field) {
  const location = field ? { source: null, line: null, column: null, field } : null;
  return { code, message, location };
}

/** Text as HTML: the record's data is never markup. */
function escape(text) {
  const entities = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  return text.replace(/[&<>"']/g, (c) => entities[c]);
}

export const render = {
  render(name, params, context) {
    if (name !== "{{id}}") {
      throw error("unsupported", `this plugin renders \`{{id}}\`, not \`${name}\``);
    }
    let record;
    try {
      record = JSON.parse(context);
    } catch (e) {
      throw error("invalid-input", `the record is not JSON: ${e.message}`);
    }
    const person = record.personal || {};
    const field = (key) => (typeof person[key] === "string" && person[key].trim()) || null;
    const opening = (params.find((p) => p.name === "salutation") || { value: "Dear" }).value;
    const [last, company, salutation] = [field("last_name"), field("company"), field("salutation")];
    let greeting;
    if (last) {
      greeting = salutation ? `${opening} ${salutation} ${last},` : `${opening} ${last},`;
    } else if (company) {
      greeting = `${opening} ${company},`;
    } else {
      throw error("missing-data", "the record has neither a last name nor a company to greet", "personal.last_name");
    }
    return { html: `<p class="greeting">${escape(greeting)}</p>`, text: greeting };
  },
};
