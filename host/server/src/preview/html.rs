//! The preview's HTML: the page (pickers, panel, the small script that
//! keeps it live) and the panel (the document frame, the error overlay,
//! the content revision and each file's resolution chain). Every value
//! from content, records or plugins is escaped.

use super::{Choices, Shown, chosen, mark_text};
use std::fmt::Write as _;
use tessera_content::Resolution;
use tessera_pipeline::RenderError;

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { font-family: system-ui, sans-serif; color: #1d2330; background: #f4f5f7; }
body { margin: 0; }
header { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; padding: .6rem 1rem; background: #fff; border-bottom: 1px solid #d9dce3; }
header h1 { font-size: 1rem; margin: 0 1rem 0 0; align-self: center; }
header form { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; }
header label { display: flex; flex-direction: column; font-size: .75rem; color: #555d6e; }
header select { font-size: .9rem; padding: .15rem; min-width: 7rem; }
#live { margin-left: auto; font-size: .75rem; color: #2f7d32; align-self: center; }
#live.lost { color: #b3261e; }
#panel { display: grid; grid-template-columns: minmax(0, 3fr) minmax(18rem, 2fr); gap: 1rem; padding: 1rem; }
.document { position: relative; background: #fff; border: 1px solid #d9dce3; min-height: 80vh; }
.document iframe { width: 100%; height: 80vh; border: 0; display: block; }
.document .none { padding: 2rem; color: #555d6e; }
.overlay { position: absolute; inset: 0; background: rgba(40, 10, 10, .88); color: #fff; padding: 1.5rem; overflow: auto; }
.overlay h2 { margin-top: 0; font-size: 1.1rem; }
.overlay .where { font-family: ui-monospace, monospace; font-size: 1rem; background: #b3261e; display: inline-block; padding: .15rem .4rem; }
.overlay pre { background: rgba(0,0,0,.35); padding: .75rem; white-space: pre-wrap; }
aside { font-size: .85rem; overflow-wrap: anywhere; }
aside h2 { font-size: .9rem; margin: 1rem 0 .3rem; }
aside dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem .75rem; margin: 0; }
aside dt { color: #555d6e; }
aside dd { margin: 0; font-family: ui-monospace, monospace; }
details { background: #fff; border: 1px solid #e3e5ea; margin: .25rem 0; padding: .25rem .5rem; }
summary { cursor: pointer; font-family: ui-monospace, monospace; }
ol.chain { margin: .3rem 0; padding-left: 1.3rem; font-family: ui-monospace, monospace; font-size: .78rem; }
ol.chain .found { color: #2f7d32; font-weight: 600; }
ol.chain .missing { color: #8a90a0; }
ol.chain .shadowed { color: #6a5d00; }
"#;

/// The page's script: pickers submit the form; content changes (server-sent
/// events) fetch a fresh panel and swap it in, never reloading the page.
const SCRIPT: &str = r#"
(() => {
  const form = document.getElementById('pick');
  form.addEventListener('change', (e) => {
    if (e.target.name === 'tenant') {
      for (const s of form.querySelectorAll('select')) if (s.name !== 'tenant') s.value = '';
    }
    form.submit();
  });
  const panel = document.getElementById('panel');
  const live = document.getElementById('live');
  const query = new URLSearchParams(location.search);
  query.set('tenant', form.elements.tenant.value);
  let asked = 0, shown = 0;
  window.tesseraPreview = { updates: 0 };
  const refresh = async () => {
    const mine = ++asked;
    const r = await fetch('/preview/panel?' + query, { cache: 'no-store' });
    const text = await r.text();
    if (mine < shown) return;
    shown = mine;
    panel.innerHTML = r.ok ? text : '<div class="document"><div class="overlay" id="overlay"><h2>The preview could not render</h2><pre></pre></div></div>';
    if (!r.ok) panel.querySelector('pre').textContent = text;
    window.tesseraPreview.updates += 1;
    document.body.dataset.updates = String(window.tesseraPreview.updates);
  };
  const events = new EventSource('/preview/events?tenant=' + encodeURIComponent(query.get('tenant')) + '&since=' + encodeURIComponent(panel.dataset.since));
  events.addEventListener('content', () => { refresh(); });
  events.onopen = () => { live.textContent = 'live'; live.className = ''; };
  events.onerror = () => { live.textContent = 'reconnecting…'; live.className = 'lost'; };
})();
"#;

fn select(out: &mut String, name: &str, title: &str, own: Option<&str>, options: &[(String, String)], current: &str) {
    let _ = write!(out, "<label>{title}<select name=\"{name}\">");
    if let Some(own) = own {
        let selected = if current.is_empty() { " selected" } else { "" };
        let _ = write!(out, "<option value=\"\"{selected}>{}</option>", escape(own));
    }
    for (value, text) in options {
        let selected = if value == current { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{}\"{selected}>{}</option>", escape(value), escape(text));
    }
    out.push_str("</select></label>");
}

fn pairs(values: &[String]) -> Vec<(String, String)> {
    values.iter().map(|v| (v.clone(), v.clone())).collect()
}

/// The whole page.
pub(crate) fn page(choices: &Choices, shown: &Shown) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Preview · {}</title><style>{STYLE}</style></head><body data-updates=\"0\">\
         <header><h1>tessera preview</h1><form id=\"pick\" method=\"get\" action=\"/preview\">",
        escape(&choices.tenant)
    );
    let p = &choices.picked;
    let mut form = String::new();
    // Template, label and locale may be left to the record.
    let own = |form: &mut String, name: &str, title: &str, values: &[String], picked: &Option<String>| {
        select(form, name, title, Some("as the record says"), &pairs(values), chosen(picked).unwrap_or(""))
    };
    select(&mut form, "tenant", "Tenant", None, &pairs(&choices.tenants), &choices.tenant);
    own(&mut form, "template", "Template", &choices.templates, &p.template);
    let records: Vec<(String, String)> =
        choices.samples.records.iter().enumerate().map(|(i, s)| (i.to_string(), s.title.clone())).collect();
    select(&mut form, "record", "Sample record", None, &records, &choices.record.to_string());
    own(&mut form, "label", "Brand label", &choices.labels, &p.label);
    own(&mut form, "locale", "Locale", &choices.locales, &p.locale);
    select(&mut form, "channel", "Channel", None, &pairs(&choices.channels), &choices.channel);
    form.push_str("<noscript><button>Show</button></noscript>");
    out.push_str(&form);
    out.push_str("</form><span id=\"live\">connecting…</span></header>");
    let _ = write!(out, "<main id=\"panel\" data-since=\"{}\">", mark_text(&shown.status));
    out.push_str(&panel(choices, shown));
    let _ = write!(out, "</main><script>{SCRIPT}</script></body></html>");
    out
}

/// The panel: the document, the overlay when something is wrong, and the
/// facts about the content it was made from.
pub(crate) fn panel(choices: &Choices, shown: &Shown) -> String {
    let mut out = String::with_capacity(8 * 1024);
    out.push_str("<section class=\"document\">");
    match &shown.result {
        Ok((rendered, id)) if *id > 0 => {
            let is_pdf = rendered.outputs.first().is_some_and(|o| o.line.media_type.starts_with("application/pdf"));
            // A PDF needs the browser's viewer, which a sandboxed frame
            // refuses; HTML gets a sandbox (and a CSP) so its markup runs nothing.
            let sandbox = if is_pdf { "" } else { " sandbox" };
            let _ = write!(
                out,
                "<iframe id=\"document\" title=\"The rendered document\" src=\"/preview/output/{id}\"{sandbox}></iframe>"
            );
        }
        Ok(_) => out.push_str("<p class=\"none\">The record was routed to no output.</p>"),
        Err(_) => out.push_str("<p class=\"none\">No document.</p>"),
    }
    overlay(&mut out, shown);
    out.push_str("</section><aside>");
    facts(&mut out, choices, shown);
    out.push_str("</aside>");
    out
}

fn overlay(out: &mut String, shown: &Shown) {
    let broken = shown.status.last_error.as_ref();
    let refused = shown.result.as_ref().err();
    if broken.is_none() && refused.is_none() {
        return;
    }
    out.push_str("<div class=\"overlay\" id=\"overlay\" role=\"alert\">");
    if let Some(failure) = broken {
        let _ = write!(
            out,
            "<h2>The content on disk does not work: the last good revision is still live</h2><p>Live: <code>{}</code></p>",
            escape(&shown.status.revision)
        );
        match &failure.error {
            Some(e) => {
                let mut place = e.file.display().to_string();
                if let Some(line) = e.line {
                    let _ = write!(place, ":{line}");
                    if let Some(col) = e.column {
                        let _ = write!(place, ":{col}");
                    }
                }
                let _ = write!(
                    out,
                    "<p class=\"where\" data-file=\"{}\" data-line=\"{}\" data-column=\"{}\">{}</p><p>{}</p>",
                    escape(&e.file.display().to_string()),
                    e.line.map(|l| l.to_string()).unwrap_or_default(),
                    e.column.map(|c| c.to_string()).unwrap_or_default(),
                    escape(&place),
                    escape(&e.message)
                );
            }
            None => {
                let _ = write!(out, "<p>{}</p>", escape(&failure.message));
            }
        }
        let _ = write!(out, "<pre>{}</pre>", escape(&failure.detailed));
    }
    if let Some(error) = refused {
        out.push_str("<h2>This record cannot be rendered</h2>");
        match error {
            RenderError::Rejected(r) => {
                let _ = write!(
                    out,
                    "<p class=\"where\">stage {}</p><p>{}</p><dl>",
                    escape(&format!("{:?}", r.stage).to_lowercase()),
                    escape(&r.reason)
                );
                for (name, value) in
                    [("field", &r.field), ("rule", &r.rule), ("plugin", &r.plugin), ("limit", &r.limit)]
                {
                    if let Some(v) = value {
                        let _ = write!(out, "<dt>{name}</dt><dd>{}</dd>", escape(v));
                    }
                }
                out.push_str("</dl>");
            }
            other => {
                let _ = write!(out, "<p>{}</p>", escape(&other.to_string()));
            }
        }
    }
    out.push_str("</div>");
}

fn facts(out: &mut String, choices: &Choices, shown: &Shown) {
    out.push_str("<h2>Document</h2><dl>");
    let mut fact = |name: &str, value: &str| {
        let _ = write!(out, "<dt>{name}</dt><dd>{}</dd>", escape(value));
    };
    fact("tenant", &choices.tenant);
    fact("content live", &shown.status.revision);
    fact("reloads", &format!("{} swapped, {} refused", shown.status.generation, shown.status.failures));
    if let Ok((rendered, _)) = &shown.result {
        fact("rendered from", &rendered.content_revision);
        if let Some(first) = rendered.outputs.first() {
            let line = &first.line;
            fact("view", &line.content_view);
            fact("templates", &line.templates.join(", "));
            fact("output", &format!("{} · {} · {} bytes", line.file, line.media_type, line.bytes));
            if let Some(pages) = line.pages {
                fact("pages", &pages.to_string());
            }
            if let Some(v) = &line.variant {
                fact("variant", v);
            }
            let plugins: Vec<String> = line
                .plugins
                .iter()
                .map(|p| match p.fuel {
                    Some(fuel) => {
                        format!("{}@{} ({fuel} fuel, {:.1} ms)", p.id, p.version, p.elapsed.as_secs_f64() * 1e3)
                    }
                    None => format!("{}@{} ({:.1} ms)", p.id, p.version, p.elapsed.as_secs_f64() * 1e3),
                })
                .collect();
            if !plugins.is_empty() {
                fact("plugins", &plugins.join(", "));
            }
        }
    }
    if !choices.samples.refused.is_empty() {
        fact("sample records refused", &choices.samples.refused.len().to_string());
    }
    out.push_str("</dl>");
    if let Ok((rendered, _)) = &shown.result {
        out.push_str("<h2>Files and how they resolved</h2>");
        let mut seen = std::collections::BTreeSet::new();
        for resolution in rendered.view.files().iter().chain(rendered.assets.iter()) {
            if seen.insert((&resolution.logical, &resolution.path)) {
                chain(out, resolution);
            }
        }
    }
}

/// One file: the winner and every candidate tried, most specific first.
/// UI strings (`locales/<locale>.toml`) merge rather than override, so each
/// layer's file is listed as its own entry.
fn chain(out: &mut String, r: &Resolution) {
    let merges = r.logical.starts_with("locales/") && r.logical.ends_with(".toml");
    let _ = write!(
        out,
        "<details data-logical=\"{}\"><summary>{} → {} <small>{}</small></summary><ol class=\"chain\">",
        escape(&r.logical),
        escape(&r.logical),
        escape(&r.path),
        escape(r.blob.get(..10).unwrap_or(&r.blob))
    );
    for c in &r.chain {
        let (class, note) = match (c.found, c.path == r.path) {
            (true, true) => ("found", "used"),
            (true, false) if merges => ("shadowed", "merged too: its own entry"),
            (true, false) => ("shadowed", "exists, overridden"),
            (false, _) => ("missing", "not there"),
        };
        let _ = write!(out, "<li class=\"{class}\">{} <small>({note})</small></li>", escape(&c.path));
    }
    out.push_str("</ol></details>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
