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

use crate::cdm::CdmRecord;
use crate::filters;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use tera::{Context, Kwargs, State, Tera};
use tessera_content::{ContentError, ContentSet, Label};
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
    /// The templates used.
    pub templates: Vec<String>,
    /// Each fragment call: plugin id and its usage.
    pub fragment_calls: Vec<(String, CallUsage)>,
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

/// A checked template set for one tenant's content, ready to render from
/// any thread.
pub struct Composer {
    tera: Tera,
    content: ContentSet,
    /// Per label: the label and its logo as template values, built once at
    /// load (Tera values share their maps, so a document clones pointers).
    labels: HashMap<String, (tera::Value, tera::Value)>,
    /// Resolved strings per locale that has a file, as template values.
    strings: HashMap<String, tera::Value>,
}

struct RenderScope {
    fragments: Arc<FragmentPlugins>,
    call: CallContext,
    record_json: Arc<str>,
    calls: Vec<(String, CallUsage)>,
    fault: Option<PluginFault>,
}

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
            if key != "name" {
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
            match plugin.render(&scope.call, &name, &params, &scope.record_json) {
                Ok((rendered, usage)) => {
                    scope.calls.push((plugin.id().to_owned(), usage));
                    Ok(if html { rendered.html } else { rendered.text })
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

impl Composer {
    /// Checks and compiles every template of `content`; the first error is
    /// reported as `file:line:col: message`.
    pub fn new(content: ContentSet) -> Result<Composer, ContentError> {
        let mut tera = Tera::new();
        tera.register_function("fragment", FragmentFunction);
        tera.register_filter("money", filters::money);
        tera.register_filter("long_date", filters::long_date);
        tera.register_filter("number", filters::number);
        tera.add_raw_templates(content.templates().map(|(n, s)| (n.to_owned(), s.to_owned())))
            .map_err(|e| template_error(&e))?;
        let mut labels = HashMap::new();
        for id in content.label_ids() {
            let label = content.label(id).expect("listed label exists");
            let logo = match &label.logo {
                Some(path) => content.asset_data_uri(path)?,
                None => String::new(),
            };
            labels.insert(id.to_owned(), (tera::Value::from_serializable(label), tera::Value::from(logo)));
        }
        let strings = content
            .locale_ids()
            .map(|id| (id.to_owned(), tera::Value::from_serializable(&content.strings(id))))
            .collect();
        Ok(Composer { tera, content, labels, strings })
    }

    /// The content this composer renders from.
    pub fn content(&self) -> &ContentSet {
        &self.content
    }

    /// A label by id.
    pub fn label(&self, id: &str) -> Option<&Label> {
        self.content.label(id)
    }

    /// Renders `templates/<template>.html` (and `.txt`, `.subject` when present).
    pub fn compose(
        &self,
        record: &CdmRecord,
        template: &str,
        label_id: &str,
        locale: &str,
        call: &CallContext,
        fragments: &Arc<FragmentPlugins>,
    ) -> Result<Composed, ComposeError> {
        let (label, logo) = self.labels.get(label_id).ok_or_else(|| {
            let known: Vec<&str> = self.content.label_ids().collect();
            ComposeError::Missing(format!("label `{label_id}` is not in labels/ (known: {})", known.join(", ")))
        })?;
        let html_name = format!("templates/{template}.html");
        if !self.tera.contains_template(&html_name) {
            return Err(ComposeError::Missing(format!("template `{html_name}.tera` does not exist")));
        }
        let mut context = Context::new();
        context.insert("record", &record.value);
        context.insert_value("label", label.clone());
        context.insert_value("logo", logo.clone());
        context.insert("locale", locale);
        match self.strings.get(locale) {
            Some(strings) => context.insert_value("t", strings.clone()),
            // A locale without its own file (nl-BE): resolved on the spot.
            None => context.insert("t", &self.content.strings(locale)),
        }
        context.insert("as_of", &*call.as_of);

        SCOPE.with(|s| {
            *s.borrow_mut() = Some(RenderScope {
                fragments: Arc::clone(fragments),
                call: call.clone(),
                // The translator's own JSON text: no need to serialise again.
                record_json: Arc::clone(&record.json),
                calls: Vec::new(),
                fault: None,
            })
        });
        let result = self.render_all(&html_name, template, &context);
        let scope = SCOPE.with(|s| s.borrow_mut().take()).expect("scope set above");
        match result {
            Ok((html, text, subject, templates)) => {
                Ok(Composed { html, text, subject, templates, fragment_calls: scope.calls })
            }
            Err(e) => Err(match scope.fault {
                Some(fault) => ComposeError::Fragment(fault),
                None => ComposeError::Template(template_error(&e)),
            }),
        }
    }

    #[allow(clippy::type_complexity)]
    fn render_all(
        &self,
        html_name: &str,
        template: &str,
        context: &Context,
    ) -> tera::TeraResult<(String, String, Option<String>, Vec<String>)> {
        let mut used = vec![html_name.to_owned()];
        let html = self.tera.render(html_name, context)?;
        let text_name = format!("templates/{template}.txt");
        let text = if self.tera.contains_template(&text_name) {
            used.push(text_name.clone());
            self.tera.render(&text_name, context)?
        } else {
            String::new()
        };
        let subject_name = format!("templates/{template}.subject");
        let subject = if self.tera.contains_template(&subject_name) {
            used.push(subject_name.clone());
            Some(self.tera.render(&subject_name, context)?.trim().to_owned())
        } else {
            None
        };
        Ok((html, text, subject, used))
    }
}

/// A Tera error as a content error with file, line and column.
fn template_error(e: &tera::Error) -> ContentError {
    use tera::ErrorKind;
    let report = match e.kind() {
        ErrorKind::SyntaxError(r) | ErrorKind::RenderingError(r) => Some(r),
        _ => None,
    };
    match report {
        Some(r) => {
            let span = r.span();
            ContentError::at(
                format!("{}.tera", r.filename()),
                span.start_line,
                span.start_col + 1,
                r.message().to_owned(),
            )
        }
        None => {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                message.push_str(&format!(": {s}"));
                source = s.source();
            }
            ContentError::file("templates", message)
        }
    }
}
