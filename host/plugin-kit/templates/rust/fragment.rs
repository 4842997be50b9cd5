//! `{{id}}`: a tessera fragment. Templates call it as
//! `{{ fragment(name="{{id}}") }}` (optionally with `salutation="Hello"`);
//! it greets the record's recipient by salutation and last name, or by
//! company name.

wit_bindgen::generate!({ world: "fragment", path: "wit" });

use exports::tessera::plugin::render::{Guest, Rendered};
use tessera::plugin::types::{Entry, ErrorCode, Location, PluginError};

struct Plugin;

impl Guest for Plugin {
    fn render(name: String, params: Vec<Entry>, context: String) -> Result<Rendered, PluginError> {
        if name != "{{id}}" {
            return Err(error(ErrorCode::Unsupported, format!("this plugin renders `{{id}}`, not `{name}`"), None));
        }
        let record: serde_json::Value = serde_json::from_str(&context)
            .map_err(|e| error(ErrorCode::InvalidInput, format!("the record is not JSON: {e}"), None))?;
        let person = &record["personal"];
        let field = |key: &str| person[key].as_str().map(str::trim).filter(|s| !s.is_empty());
        let opening = params.iter().find(|p| p.name == "salutation").map_or("Dear", |p| p.value.as_str());
        let greeting = match (field("last_name"), field("company")) {
            (Some(last), _) => match field("salutation") {
                Some(salutation) => format!("{opening} {salutation} {last},"),
                None => format!("{opening} {last},"),
            },
            (None, Some(company)) => format!("{opening} {company},"),
            (None, None) => {
                return Err(error(
                    ErrorCode::MissingData,
                    "the record has neither a last name nor a company to greet".into(),
                    Some("personal.last_name"),
                ));
            }
        };
        Ok(Rendered { html: format!("<p class=\"greeting\">{}</p>", escape(&greeting)), text: greeting })
    }
}

fn error(code: ErrorCode, message: String, field: Option<&str>) -> PluginError {
    let location = field.map(|f| Location { source: None, line: None, column: None, field: Some(f.into()) });
    PluginError { code, message, location }
}

/// Text as HTML: the record's data is never markup.
fn escape(text: &str) -> String {
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

export!(Plugin);
