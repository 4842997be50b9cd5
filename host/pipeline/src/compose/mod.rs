//! Composition: a CDM record + a brand label + the tenant's templates →
//! the document's HTML and text renditions.
//!
//! Templates call fragment plugins with `{{ fragment(name="payment-qr", …) }}`.
//! Tera functions are registered once per template set and cannot carry
//! per-document state, so the document being rendered (its plugins, as-of
//! date, record JSON, and the usage and faults of its fragment calls) lives
//! in a thread-local scope for the duration of one render. In an HTML
//! template the function returns the fragment's HTML, in a text template
//! its text.

pub mod embed;
pub mod filters;
pub mod layout;
pub mod library;
pub mod live;
mod record_value;
pub mod typst;

use crate::channels::config::Markup;
use embed::{AssetEmbed, SvgElement};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tera::{Context, Kwargs, State, Tera};
use tessera_cdm::CdmRecord;
use tessera_content::{ContentError, ContentView, Resolution};
use tessera_runtime::{CallContext, CallUsage, Plugin, PluginFault};

/// Fragment plugins by id.
pub type FragmentPlugins = HashMap<String, Arc<Plugin>>;

/// A composed document.
#[derive(Debug, Clone)]
pub struct Composed {
    /// The HTML rendition.
    pub html: String,
    /// The text rendition (empty when the template has none).
    pub text: String,
    /// The subject line, when the template has one.
    pub subject: Option<String>,
    /// The SMS text, when asked for.
    pub sms: Option<String>,
    /// The Typst markup, when asked for.
    pub typst: Option<String>,
    /// The print layout (JSON for print-compose), when asked for.
    pub layout: Option<String>,
    /// The templates used.
    pub templates: Vec<String>,
    /// Each fragment call: plugin id and its usage.
    pub fragment_calls: Vec<(String, CallUsage)>,
    /// The content revision it was composed from.
    pub revision: Arc<str>,
    /// The content view (label and locale) it was composed from.
    pub view: Arc<ContentView>,
    /// Path → blob id of the content files of that view, and of the
    /// assets the templates used.
    pub files: Arc<BTreeMap<String, String>>,
    /// How each asset the templates used resolved.
    pub assets: Vec<Resolution>,
    /// What the document asks of its reader (records with totals): the
    /// figures every rendition showed, for the self-check.
    pub settlement: Option<crate::truth::Settlement>,
}

impl Composed {
    /// The print markup in `language`, when it was rendered.
    pub fn markup(&self, language: Markup) -> Option<&String> {
        match language {
            Markup::Typst => self.typst.as_ref(),
            Markup::Layout => self.layout.as_ref(),
        }
    }
}

/// Which renditions of a document to render. Each comes from its own
/// template beside the HTML one: `templates/<name>.txt`, `.subject`, `.sms`
/// `.typ` (Typst markup for print) and `.layout.json` (a print layout).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Renditions {
    /// The HTML rendition (always rendered: it is the document's anchor).
    pub html: bool,
    /// The plain-text rendition, when the template has one.
    pub text: bool,
    /// The subject line, when the template has one.
    pub subject: bool,
    /// The SMS text (the template must have it).
    pub sms: bool,
    /// The Typst markup (the template must have it).
    pub typst: bool,
    /// The print layout (the template must have it).
    pub layout: bool,
}

impl Renditions {
    /// HTML, text and subject (what formatters and e-mail need).
    pub const ALL: Renditions =
        Renditions { html: true, text: true, subject: true, sms: false, typst: false, layout: false };
    /// HTML alone (a run whose only output is HTML).
    pub const HTML_ONLY: Renditions =
        Renditions { html: true, text: false, subject: false, sms: false, typst: false, layout: false };

    /// These renditions and the print markup in `language`.
    pub fn with_markup(self, language: Markup) -> Renditions {
        match language {
            Markup::Typst => Renditions { typst: true, ..self },
            Markup::Layout => Renditions { layout: true, ..self },
        }
    }

    /// Both sets of renditions.
    pub fn union(self, other: Renditions) -> Renditions {
        Renditions {
            html: self.html || other.html,
            text: self.text || other.text,
            subject: self.subject || other.subject,
            sms: self.sms || other.sms,
            typst: self.typst || other.typst,
            layout: self.layout || other.layout,
        }
    }
}

/// Why a document could not be composed.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// A fragment plugin failed.
    #[error("fragment: {0}")]
    Fragment(PluginFault),
    /// The template failed (a missing value, a bad filter argument...).
    #[error("template {0}")]
    Template(ContentError),
    /// The record asks for content the tenant does not have.
    #[error("{0}")]
    Missing(String),
}

/// The compiled templates of one content view (one label, one locale),
/// ready to render from any thread.
pub struct Composer {
    tera: Tera,
    /// The Typst templates (`*.typ`), escaped for Typst markup instead of HTML.
    typst: Tera,
    /// The layout templates (`*.layout.json`), escaped for JSON strings.
    layout: Tera,
    view: Arc<ContentView>,
    revision: Arc<str>,
    /// The label, its logo and the strings as template values, built once
    /// (Tera values share their maps, so a document clones pointers).
    label: tera::Value,
    logo: tera::Value,
    strings: tera::Value,
    /// Path → blob id of every file of the view, for the manifest.
    files: Arc<BTreeMap<String, String>>,
}

struct RenderScope {
    fragments: Arc<FragmentPlugins>,
    call: CallContext,
    record_json: Arc<str>,
    /// The document's locale (`nl-BE`): the filters' default.
    locale: String,
    calls: Vec<(String, CallUsage)>,
    fault: Option<PluginFault>,
    /// Assets the templates asked for with `asset(path=…)`.
    assets: Vec<Resolution>,
    /// Fragments already rendered for this document, by name and
    /// parameters: the HTML and the Typst rendition both draw the payment
    /// QR code, and the plugin need not run twice for it.
    rendered: Vec<(FragmentCall, tessera_runtime::Rendered)>,
}

/// A fragment call: its name and sorted parameters.
type FragmentCall = (String, Vec<(String, String)>);

thread_local! {
    static SCOPE: RefCell<Option<RenderScope>> = const { RefCell::new(None) };
}

/// The `fragment(name=…, …)` template function.
struct FragmentFunction;

impl tera::Function<tera::TeraResult<String>> for FragmentFunction {
    fn call(&self, kwargs: Kwargs, state: &State) -> tera::TeraResult<String> {
        let name: String = kwargs.must_get::<&str>("name")?.to_owned();
        let mut params = Vec::new();
        for (key, value) in kwargs.iter() {
            let key = key.to_string();
            // An unset optional value (`bic=figures.payee.bic` without a BIC)
            // is no parameter, not the text "null".
            if key != "name" && !value.is_none() && !value.is_undefined() {
                let text = value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string());
                params.push((key, text));
            }
        }
        params.sort();
        let html = state.autoescaping_enabled();
        SCOPE.with(|scope| {
            let mut scope = scope.borrow_mut();
            let scope = scope
                .as_mut()
                .ok_or_else(|| tera::Error::message("fragment() can only be used while composing a document"))?;
            let plugin = scope.fragments.get(&name).cloned().ok_or_else(|| {
                tera::Error::message(format!("no fragment plugin `{name}` is granted to this tenant"))
            })?;
            let key = (name, params);
            if let Some((_, done)) = scope.rendered.iter().find(|(k, _)| *k == key) {
                return Ok(if html { done.html.clone() } else { done.text.clone() });
            }
            let (name, params) = &key;
            match plugin.render(&scope.call, name, params, &scope.record_json) {
                Ok((rendered, usage)) => {
                    scope.calls.push((plugin.id().to_owned(), usage));
                    let out = if html { rendered.html.clone() } else { rendered.text.clone() };
                    scope.rendered.push((key, rendered));
                    Ok(out)
                }
                Err(fault) => {
                    let message = fault.to_string();
                    scope.fault = Some(fault);
                    Err(tera::Error::message(message))
                }
            }
        })
    }

    fn is_safe(&self) -> bool {
        true
    }
}

/// The `asset(path="images/seal.png")` template function: the asset, found
/// through the layers like any content file, as a `data:` URI — documents
/// stay self-contained. Each use is recorded for the manifest.
struct AssetFunction {
    view: Arc<ContentView>,
    cache: Mutex<HashMap<String, (String, Resolution)>>,
}

impl tera::Function<tera::TeraResult<String>> for AssetFunction {
    fn call(&self, kwargs: Kwargs, _: &State) -> tera::TeraResult<String> {
        let path: &str = kwargs.must_get::<&str>("path")?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if !cache.contains_key(path) {
            let (bytes, resolution) =
                self.view.asset(path).map_err(|e| tera::Error::message(format!("asset(path=\"{path}\"): {e}")))?;
            let uri = tessera_content::data_uri(&resolution.path, &bytes)
                .map_err(|e| tera::Error::message(format!("asset(path=\"{path}\"): {e}")))?;
            cache.insert(path.to_owned(), (uri, resolution));
        }
        let (uri, resolution) = cache.get(path).expect("inserted above");
        note_asset(resolution);
        Ok(uri.clone())
    }

    fn is_safe(&self) -> bool {
        // A data: URI has no characters that HTML would need escaped.
        true
    }
}

/// Runs `f` with the locale of the document being composed (`None` outside
/// a composition, as when a filter is tried on its own). The scope is only
/// held mutably inside a fragment call, where no filter runs; were that to
/// change, the borrow fails loudly (the document is rejected) rather than
/// quietly printing its figures the English way.
pub(crate) fn with_document_locale<T>(f: impl FnOnce(Option<&str>) -> T) -> T {
    SCOPE.with(|scope| f(scope.borrow().as_ref().map(|s| s.locale.as_str())))
}

/// Records that the document being composed used an asset (for the manifest).
pub(crate) fn note_asset(resolution: &Resolution) {
    SCOPE.with(|scope| {
        if let Some(scope) = scope.borrow_mut().as_mut()
            && !scope.assets.iter().any(|r| r.path == resolution.path)
        {
            scope.assets.push(resolution.clone());
        }
    });
}

impl Composer {
    /// Compiles every template of `view`; the first error is reported as
    /// `file:line:col: message` naming the layer's file that has it.
    pub fn new(view: Arc<ContentView>, revision: Arc<str>) -> Result<Composer, ContentError> {
        let is_print = |name: &str| name.ends_with(".typ") || name.ends_with(".layout.json");
        let mut tera = Tera::new();
        tera.register_function("fragment", FragmentFunction);
        tera.register_function("asset", AssetFunction { view: Arc::clone(&view), cache: Mutex::new(HashMap::new()) });
        register_filters(&mut tera);
        tera.add_raw_templates(
            view.templates().filter(|(n, _)| !is_print(n)).map(|(n, s)| (n.to_owned(), s.to_owned())),
        )
        .map_err(|e| template_error(&e, &view))?;
        let mut typst = Tera::new();
        typst.autoescape_on([".typ"]);
        typst.set_escape_fn(crate::compose::typst::escape_markup);
        typst.register_function("fragment", FragmentFunction);
        typst.register_function("asset", AssetEmbed::new(Arc::clone(&view), typst::bytes_expression));
        register_filters(&mut typst);
        typst.register_filter("typst_str", crate::compose::typst::StringFilter);
        typst.register_filter("svg_bytes", SvgElement(typst::bytes_expression));
        // Typst templates may include the plain ones (a title, say), never the HTML.
        typst
            .add_raw_templates(
                view.templates()
                    .filter(|(n, _)| !n.ends_with(".html") && !n.ends_with(".layout.json"))
                    .map(|(n, s)| (n.to_owned(), s.to_owned())),
            )
            .map_err(|e| template_error(&e, &view))?;
        let mut layout = Tera::new();
        layout.autoescape_on([".json"]);
        layout.set_escape_fn(layout::escape_json);
        layout.register_function("fragment", FragmentFunction);
        layout.register_function("asset", AssetEmbed::new(Arc::clone(&view), layout::json_string));
        register_filters(&mut layout);
        layout.register_filter("svg", SvgElement(layout::json_string));
        layout
            .add_raw_templates(
                view.templates()
                    .filter(|(n, _)| !n.ends_with(".html") && !n.ends_with(".typ"))
                    .map(|(n, s)| (n.to_owned(), s.to_owned())),
            )
            .map_err(|e| template_error(&e, &view))?;
        let mut files: BTreeMap<String, String> =
            view.files().iter().map(|r| (r.path.clone(), r.blob.clone())).collect();
        // Assets named literally in the templates are listed up front, so a
        // document that uses just those shares this map instead of copying it.
        for (_, source) in view.templates() {
            for path in literal_asset_paths(source) {
                if let Ok((_, resolution)) = view.asset(path) {
                    files.insert(resolution.path, resolution.blob);
                }
            }
        }
        Ok(Composer {
            tera,
            typst,
            layout,
            label: tera::Value::from_serializable(&view.label),
            logo: tera::Value::from(view.logo_data_uri()),
            strings: tera::Value::from_serializable(view.strings()),
            files: Arc::new(files),
            view,
            revision,
        })
    }

    /// The view this composer renders.
    pub fn view(&self) -> &Arc<ContentView> {
        &self.view
    }

    /// Renders `templates/<template>.html`, and with [`Renditions::ALL`]
    /// `.txt` and `.subject` when present. `locale` is the record's own
    /// (`nl-BE`), used for dates and numbers.
    pub fn compose(
        &self,
        record: &CdmRecord,
        template: &str,
        locale: &str,
        call: &CallContext,
        fragments: &Arc<FragmentPlugins>,
        renditions: Renditions,
    ) -> Result<Composed, ComposeError> {
        let html_name = format!("templates/{template}.html");
        if !self.tera.contains_template(&html_name) {
            return Err(ComposeError::Missing(format!(
                "template `{html_name}.tera` does not exist in any layer for {}",
                self.view.key()
            )));
        }
        let settlement =
            record.chain.as_ref().map(|chain| crate::truth::Settlement::decide(&record.value, chain, &self.view.label));
        let mut context = Context::new();
        context.insert("record", &record_value::RecordValue(&record.value));
        // Always set (null without totals), so templates can test `{% if figures %}`.
        context.insert("figures", &settlement.as_ref().map(crate::truth::Figures::of));
        context.insert_value("label", self.label.clone());
        context.insert_value("logo", self.logo.clone());
        context.insert("locale", locale);
        context.insert_value("t", self.strings.clone());
        context.insert("as_of", &*call.as_of);

        SCOPE.with(|s| {
            *s.borrow_mut() = Some(RenderScope {
                fragments: Arc::clone(fragments),
                call: call.clone(),
                // The translator's own JSON text: no need to serialise again.
                record_json: Arc::clone(&record.json),
                locale: locale.to_owned(),
                calls: Vec::new(),
                fault: None,
                assets: Vec::new(),
                rendered: Vec::new(),
            })
        });
        let result = self.render_all(&html_name, template, &context, renditions);
        let scope = SCOPE.with(|s| s.borrow_mut().take()).expect("scope set above");
        match result {
            Ok(Rendered { html, text, subject, sms, typst, layout, templates }) => {
                let known = scope.assets.iter().all(|r| self.files.get(&r.path) == Some(&r.blob));
                let files = if known {
                    Arc::clone(&self.files)
                } else {
                    let mut files = (*self.files).clone();
                    files.extend(scope.assets.iter().map(|r| (r.path.clone(), r.blob.clone())));
                    Arc::new(files)
                };
                Ok(Composed {
                    html,
                    text,
                    subject,
                    sms,
                    typst,
                    layout,
                    templates,
                    fragment_calls: scope.calls,
                    revision: Arc::clone(&self.revision),
                    view: Arc::clone(&self.view),
                    files,
                    assets: scope.assets,
                    settlement,
                })
            }
            Err(e) => Err(match scope.fault {
                Some(fault) => ComposeError::Fragment(fault),
                None => ComposeError::Template(template_error(&e, &self.view)),
            }),
        }
    }

    fn render_all(
        &self,
        html_name: &str,
        template: &str,
        context: &Context,
        renditions: Renditions,
    ) -> tera::TeraResult<Rendered> {
        let mut used = vec![html_name.to_owned()];
        let html = self.tera.render(html_name, context)?;
        let optional = |suffix: &str, used: &mut Vec<String>| -> tera::TeraResult<Option<String>> {
            let name = format!("templates/{template}.{suffix}");
            if !self.tera.contains_template(&name) {
                return Ok(None);
            }
            used.push(name.clone());
            self.tera.render(&name, context).map(Some)
        };
        let text = if renditions.text { optional("txt", &mut used)?.unwrap_or_default() } else { String::new() };
        let subject =
            if renditions.subject { optional("subject", &mut used)?.map(|s| s.trim().to_owned()) } else { None };
        let sms = if renditions.sms {
            let sms = optional("sms", &mut used)?.ok_or_else(|| {
                tera::Error::message(format!("template `templates/{template}.sms.tera` (the SMS text) does not exist"))
            })?;
            Some(sms.trim().to_owned())
        } else {
            None
        };
        let typst = if renditions.typst {
            let name = format!("templates/{template}.typ");
            if !self.typst.contains_template(&name) {
                return Err(tera::Error::message(format!(
                    "template `{name}.tera` (the Typst print template) does not exist"
                )));
            }
            used.push(name.clone());
            Some(self.typst.render(&name, context)?)
        } else {
            None
        };
        let layout = if renditions.layout {
            let name = format!("templates/{template}.layout.json");
            if !self.layout.contains_template(&name) {
                return Err(tera::Error::message(format!("template `{name}.tera` (the print layout) does not exist")));
            }
            used.push(name.clone());
            Some(self.layout.render(&name, context)?)
        } else {
            None
        };
        Ok(Rendered { html, text, subject, sms, typst, layout, templates: used })
    }
}

/// The renditions of one document, before they become a [`Composed`].
struct Rendered {
    html: String,
    text: String,
    subject: Option<String>,
    sms: Option<String>,
    typst: Option<String>,
    layout: Option<String>,
    templates: Vec<String>,
}

fn register_filters(tera: &mut Tera) {
    tera.register_filter("money", filters::money);
    tera.register_filter("long_date", filters::long_date);
    tera.register_filter("number", filters::number);
}

/// The `path` of every `asset(path="…")` call with a literal path.
fn literal_asset_paths(source: &str) -> impl Iterator<Item = &str> {
    source.split("asset(path=").skip(1).filter_map(|rest| {
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        rest[1..].split(quote).next()
    })
}

/// A Tera error as a content error naming the layer's file, its line and
/// column, with the source line.
fn template_error(e: &tera::Error, view: &ContentView) -> ContentError {
    use tera::ErrorKind;
    let report = match e.kind() {
        ErrorKind::SyntaxError(r) | ErrorKind::RenderingError(r) => Some(r),
        _ => None,
    };
    match report {
        Some(r) => {
            let span = r.span();
            let name = r.filename();
            let file =
                view.template_resolution(name).map(|res| res.path.clone()).unwrap_or_else(|| format!("{name}.tera"));
            let error = ContentError::at(file, span.start_line, span.start_col + 1, r.message().to_owned());
            match view.template_source(name) {
                Some(source) => error.with_source(source),
                None => error,
            }
        }
        None => {
            // A report deeper in the chain (a template failing while the
            // set compiles) still names its file, line and column.
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                if let Some(inner) = s.downcast_ref::<tera::Error>()
                    && matches!(inner.kind(), ErrorKind::SyntaxError(_) | ErrorKind::RenderingError(_))
                {
                    return template_error(inner, view);
                }
                source = s.source();
            }
            let mut message = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                message.push_str(&format!(": {s}"));
                source = s.source();
            }
            match pointed_location(&message) {
                Some((name, line, column)) => {
                    let file = view
                        .template_resolution(name)
                        .map(|res| res.path.clone())
                        .unwrap_or_else(|| format!("{name}.tera"));
                    let first = message.lines().next().unwrap_or_default().trim_start_matches("error: ").to_owned();
                    let error = ContentError::at(file, line, column, first);
                    match view.template_source(name) {
                        Some(source) => error.with_source(source),
                        None => error,
                    }
                }
                None => ContentError::file("templates", message),
            }
        }
    }
}

/// The `--> name:line:col` a Tera message points at (its columns are 1-based).
fn pointed_location(message: &str) -> Option<(&str, usize, usize)> {
    let at = message.lines().find_map(|l| l.trim_start().strip_prefix("--> "))?;
    let mut parts = at.trim().rsplitn(3, ':');
    let column = parts.next()?.parse().ok()?;
    let line = parts.next()?.parse().ok()?;
    Some((parts.next()?, line, column))
}

#[cfg(test)]
mod tests {
    use super::{literal_asset_paths, pointed_location};

    #[test]
    fn reads_the_location_a_tera_message_points_at() {
        let message = "error: Unknown filter `x`\n  --> fragments/footer.html:11:20\n   |\n";
        assert_eq!(pointed_location(message), Some(("fragments/footer.html", 11, 20)));
        assert_eq!(pointed_location("no location"), None);
    }

    #[test]
    fn finds_literal_asset_paths_only() {
        let source = r#"<img src="{{ asset(path="images/a.svg") }}"> {{ asset(path='fonts/b.ttf') }} {{ asset(path=label.logo) }}"#;
        assert_eq!(literal_asset_paths(source).collect::<Vec<_>>(), ["images/a.svg", "fonts/b.ttf"]);
    }
}
