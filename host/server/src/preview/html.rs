//! The preview's HTML: the page (pickers, panel, the small script that
//! keeps it live) and the panel (the document frame, the error overlay,
//! the content revision and each file's resolution chain), rendered by
//! Tera from `templates/` with HTML autoescaping, so every value from
//! content, records or plugins is escaped by the engine, not by hand.
//!
//! This module only gathers what the templates show into plain views.

use super::{Choices, Shown, chosen, mark_text};
use serde::Serialize;
use std::sync::LazyLock;
use tessera_content::Resolution;
use tessera_pipeline::RenderError;

/// The preview's templates, compiled once. `.html` autoescapes (Tera's
/// default suffixes), and the templates are part of the binary: a broken
/// one fails the tests below, never a request.
static TEMPLATES: LazyLock<tera::Tera> = LazyLock::new(|| {
    let mut tera = tera::Tera::new();
    tera.add_raw_templates([
        ("page.html", include_str!("templates/page.html")),
        ("panel.html", include_str!("templates/panel.html")),
    ])
    .expect("the preview's own templates compile");
    tera
});

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

#[derive(Serialize)]
struct Select {
    name: &'static str,
    title: &'static str,
    options: Vec<Choice>,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    text: String,
    selected: bool,
}

#[derive(Serialize)]
struct Page<'a> {
    tenant: &'a str,
    style: &'static str,
    script: &'static str,
    selects: Vec<Select>,
    since: String,
    panel: Panel,
}

/// The panel alone (what `/preview/panel` answers); the page includes it.
#[derive(Serialize)]
struct PanelOnly {
    panel: Panel,
}

#[derive(Serialize)]
struct Panel {
    frame: Option<Frame>,
    no_document: &'static str,
    broken: Option<Broken>,
    refused: Option<Refused>,
    facts: Vec<Fact>,
    files: Vec<File>,
}

#[derive(Serialize)]
struct Frame {
    id: u64,
    sandboxed: bool,
}

#[derive(Serialize)]
struct Broken {
    revision: String,
    at: Option<Place>,
    message: String,
    detailed: String,
}

#[derive(Serialize)]
struct Place {
    file: String,
    line: String,
    column: String,
    place: String,
}

#[derive(Serialize)]
struct Refused {
    stage: Option<String>,
    reason: String,
    details: Vec<Fact>,
}

#[derive(Serialize)]
struct Fact {
    name: &'static str,
    value: String,
}

#[derive(Serialize)]
struct File {
    logical: String,
    path: String,
    blob: String,
    chain: Vec<Candidate>,
}

#[derive(Serialize)]
struct Candidate {
    class: &'static str,
    path: String,
    note: &'static str,
}

fn render(template: &str, view: &impl Serialize) -> String {
    let context = tera::Context::from_serialize(view).expect("the preview's views are maps");
    // The views carry only strings, numbers and lists the templates expect.
    TEMPLATES.render(template, &context).expect("the preview's templates render their views")
}

fn select(
    name: &'static str,
    title: &'static str,
    own: Option<&str>,
    options: Vec<(String, String)>,
    current: &str,
) -> Select {
    let mut choices = Vec::with_capacity(options.len() + 1);
    if let Some(own) = own {
        choices.push(Choice { value: String::new(), text: own.to_owned(), selected: current.is_empty() });
    }
    choices.extend(options.into_iter().map(|(value, text)| {
        let selected = value == current;
        Choice { value, text, selected }
    }));
    Select { name, title, options: choices }
}

fn pairs(values: &[String]) -> Vec<(String, String)> {
    values.iter().map(|v| (v.clone(), v.clone())).collect()
}

/// The whole page.
pub(crate) fn page(choices: &Choices, shown: &Shown) -> String {
    let p = &choices.picked;
    // Template, label and locale may be left to the record.
    let own = |name, title, values: &[String], picked: &Option<String>| {
        select(name, title, Some("as the record says"), pairs(values), chosen(picked).unwrap_or(""))
    };
    let records: Vec<(String, String)> =
        choices.samples.records.iter().enumerate().map(|(i, s)| (i.to_string(), s.title.clone())).collect();
    let selects = vec![
        select("tenant", "Tenant", None, pairs(&choices.tenants), &choices.tenant),
        own("template", "Template", &choices.templates, &p.template),
        select("record", "Sample record", None, records, &choices.record.to_string()),
        own("label", "Brand label", &choices.labels, &p.label),
        own("locale", "Locale", &choices.locales, &p.locale),
        select("channel", "Channel", None, pairs(&choices.channels), &choices.channel),
    ];
    let page = Page {
        tenant: &choices.tenant,
        style: STYLE,
        script: SCRIPT,
        selects,
        since: mark_text(&shown.status),
        panel: panel_view(choices, shown),
    };
    render("page.html", &page)
}

/// The panel: the document, the overlay when something is wrong, and the
/// facts about the content it was made from.
pub(crate) fn panel(choices: &Choices, shown: &Shown) -> String {
    render("panel.html", &PanelOnly { panel: panel_view(choices, shown) })
}

fn panel_view(choices: &Choices, shown: &Shown) -> Panel {
    let (frame, no_document) = match &shown.result {
        Ok((rendered, id)) if *id > 0 => {
            let is_pdf = rendered.outputs.first().is_some_and(|o| o.line.media_type.starts_with("application/pdf"));
            // A PDF needs the browser's viewer, which a sandboxed frame
            // refuses; HTML gets a sandbox (and a CSP) so its markup runs nothing.
            (Some(Frame { id: *id, sandboxed: !is_pdf }), "")
        }
        Ok(_) => (None, "The record was routed to no output."),
        Err(_) => (None, "No document."),
    };
    Panel {
        frame,
        no_document,
        broken: broken(shown),
        refused: shown.result.as_ref().err().map(refused),
        facts: facts(choices, shown),
        files: files(shown),
    }
}

fn broken(shown: &Shown) -> Option<Broken> {
    let failure = shown.status.last_error.as_ref()?;
    let (at, message) = match &failure.error {
        Some(e) => {
            let mut place = e.file.display().to_string();
            if let Some(line) = e.line {
                place.push_str(&format!(":{line}"));
                if let Some(col) = e.column {
                    place.push_str(&format!(":{col}"));
                }
            }
            let at = Place {
                file: e.file.display().to_string(),
                line: e.line.map(|l| l.to_string()).unwrap_or_default(),
                column: e.column.map(|c| c.to_string()).unwrap_or_default(),
                place,
            };
            (Some(at), e.message.clone())
        }
        None => (None, failure.message.clone()),
    };
    Some(Broken { revision: shown.status.revision.clone(), at, message, detailed: failure.detailed.clone() })
}

fn refused(error: &RenderError) -> Refused {
    match error {
        RenderError::Rejected(r) => {
            let details = [("field", &r.field), ("rule", &r.rule), ("plugin", &r.plugin), ("limit", &r.limit)]
                .into_iter()
                .filter_map(|(name, value)| value.clone().map(|value| Fact { name, value }))
                .collect();
            Refused { stage: Some(format!("{:?}", r.stage).to_lowercase()), reason: r.reason.clone(), details }
        }
        other => Refused { stage: None, reason: other.to_string(), details: Vec::new() },
    }
}

fn facts(choices: &Choices, shown: &Shown) -> Vec<Fact> {
    let mut facts = Vec::new();
    let mut fact = |name: &'static str, value: String| facts.push(Fact { name, value });
    fact("tenant", choices.tenant.clone());
    fact("content live", shown.status.revision.clone());
    fact("reloads", format!("{} swapped, {} refused", shown.status.generation, shown.status.failures));
    if let Ok((rendered, _)) = &shown.result {
        fact("rendered from", rendered.content_revision.to_string());
        if let Some(first) = rendered.outputs.first() {
            let line = &first.line;
            fact("view", line.content_view.clone());
            fact("templates", line.templates.join(", "));
            fact("output", format!("{} · {} · {} bytes", line.file, line.media_type, line.bytes));
            if let Some(pages) = line.pages {
                fact("pages", pages.to_string());
            }
            if let Some(v) = &line.variant {
                fact("variant", v.clone());
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
                fact("plugins", plugins.join(", "));
            }
        }
    }
    if !choices.samples.refused.is_empty() {
        fact("sample records refused", choices.samples.refused.len().to_string());
    }
    facts
}

fn files(shown: &Shown) -> Vec<File> {
    let Ok((rendered, _)) = &shown.result else { return Vec::new() };
    let mut seen = std::collections::BTreeSet::new();
    rendered
        .view
        .files()
        .iter()
        .chain(rendered.assets.iter())
        .filter(|r| seen.insert((&r.logical, &r.path)))
        .map(file)
        .collect()
}

/// One file: the winner and every candidate tried, most specific first.
/// UI strings (`locales/<locale>.toml`) merge rather than override, so each
/// layer's file is listed as its own entry.
fn file(r: &Resolution) -> File {
    let merges = r.logical.starts_with("locales/") && r.logical.ends_with(".toml");
    let chain = r
        .chain
        .iter()
        .map(|c| {
            let (class, note) = match (c.found, c.path == r.path) {
                (true, true) => ("found", "used"),
                (true, false) if merges => ("shadowed", "merged too: its own entry"),
                (true, false) => ("shadowed", "exists, overridden"),
                (false, _) => ("missing", "not there"),
            };
            Candidate { class, path: c.path.clone(), note }
        })
        .collect();
    File {
        logical: r.logical.clone(),
        path: r.path.clone(),
        blob: r.blob.get(..10).unwrap_or(&r.blob).to_owned(),
        chain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_compile_and_escape_what_they_show() {
        let view = PanelOnly {
            panel: Panel {
                frame: None,
                no_document: "No document.",
                broken: Some(Broken {
                    revision: "worktree:<b>".into(),
                    at: Some(Place {
                        file: "a\"b.tera".into(),
                        line: "2".into(),
                        column: "9".into(),
                        place: "a\"b.tera:2:9".into(),
                    }),
                    message: "expected `}}` <script>".into(),
                    detailed: "x & y".into(),
                }),
                refused: None,
                facts: vec![Fact { name: "tenant", value: "<acme>".into() }],
                files: Vec::new(),
            },
        };
        let html = render("panel.html", &view);
        assert!(html.contains("data-file=\"a&quot;b.tera\" data-line=\"2\" data-column=\"9\""), "{html}");
        assert!(html.contains("expected `}}` &lt;script&gt;"), "{html}");
        assert!(html.contains("<code>worktree:&lt;b&gt;</code>"), "{html}");
        assert!(html.contains("<dd>&lt;acme&gt;</dd>"), "{html}");
        assert!(html.contains("<pre>x &amp; y</pre>"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
    }
}
