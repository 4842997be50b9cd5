//! # tessera-content: a tenant's content
//!
//! A content folder holds what business authors edit:
//!
//! ```text
//! templates/   document templates (Tera), e.g. invoice.html.tera, invoice.txt.tera
//! fragments/   reusable blocks included by templates: header, footer, legal text
//! labels/      brand labels, one TOML file each (see [`Label`])
//! locales/     UI strings per language (`nl.toml`: `invoice = "Factuur"`)
//! assets/      images and fonts, by folder (assets/images/logo.svg)
//! ```
//!
//! [`ContentSet::load`] reads and checks all of it at once, so a document is
//! always rendered from one complete, consistent set. Versioning (git),
//! layering (provider → tenant → label → locale) and hot reload build on
//! this type.

mod error;
mod label;

pub use error::ContentError;
pub use label::{Colors, Contact, Label, Payment, Sender, line_col};

use base64::Engine as _;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Folders whose `*.tera` files are templates.
const TEMPLATE_DIRS: &[&str] = &["templates", "fragments"];

/// One tenant's content, read and checked.
#[derive(Debug, Clone)]
pub struct ContentSet {
    root: PathBuf,
    templates: BTreeMap<String, String>,
    labels: BTreeMap<String, Label>,
    locales: BTreeMap<String, BTreeMap<String, String>>,
}

impl ContentSet {
    /// Reads every template and label under `root`.
    pub fn load(root: &Path) -> Result<ContentSet, ContentError> {
        if !root.is_dir() {
            return Err(ContentError::file(root, "content folder not found"));
        }
        let mut templates = BTreeMap::new();
        for dir in TEMPLATE_DIRS {
            let mut files = Vec::new();
            collect_files(&root.join(dir), &mut files)
                .map_err(|e| ContentError::file(root.join(dir), e.to_string()))?;
            for file in files {
                let rel = relative(root, &file);
                let Some(name) = rel.strip_suffix(".tera") else {
                    continue;
                };
                let source = read_text(root, &file)?;
                templates.insert(name.to_owned(), source);
            }
        }
        let mut labels = BTreeMap::new();
        for (id, rel, text) in toml_files(root, "labels")? {
            let label = Label::parse(&id, &text, Path::new(&rel))?;
            labels.insert(id, label);
        }
        let mut locales = BTreeMap::new();
        for (id, rel, text) in toml_files(root, "locales")? {
            let strings: BTreeMap<String, String> = toml::from_str(&text).map_err(|e| {
                let (line, col) = e.span().map(|s| line_col(&text, s.start)).unwrap_or((1, 1));
                ContentError::at(&rel, line, col, format!("{} (locale files map keys to strings)", e.message()))
            })?;
            locales.insert(id, strings);
        }
        Ok(ContentSet { root: root.to_path_buf(), templates, labels, locales })
    }

    /// The content folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Template names (`templates/invoice.html`) and sources.
    pub fn templates(&self) -> impl Iterator<Item = (&str, &str)> {
        self.templates.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A brand label by id.
    pub fn label(&self, id: &str) -> Option<&Label> {
        self.labels.get(id)
    }

    /// All label ids.
    pub fn label_ids(&self) -> impl Iterator<Item = &str> {
        self.labels.keys().map(String::as_str)
    }

    /// Locales that have a strings file.
    pub fn locale_ids(&self) -> impl Iterator<Item = &str> {
        self.locales.keys().map(String::as_str)
    }

    /// UI strings for a locale: `nl-BE` falls back to `nl`, then to `en`;
    /// keys missing in the specific file come from the more general one.
    pub fn strings(&self, locale: &str) -> BTreeMap<String, String> {
        let mut chain = vec!["en".to_owned()];
        let language = locale.split(['-', '_']).next().unwrap_or(locale).to_owned();
        if language != "en" {
            chain.push(language.clone());
        }
        if locale != language {
            chain.push(locale.to_owned());
        }
        let mut strings = BTreeMap::new();
        for id in chain {
            if let Some(map) = self.locales.get(&id) {
                strings.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        strings
    }

    /// The asset folder.
    pub fn assets_dir(&self) -> PathBuf {
        self.root.join("assets")
    }

    /// An asset as a `data:` URI, for self-contained HTML.
    pub fn asset_data_uri(&self, path: &str) -> Result<String, ContentError> {
        let media_type = media_type(path).ok_or_else(|| ContentError::file(path, "unknown image type"))?;
        if path.starts_with('/') || path.split('/').any(|p| p == "..") {
            return Err(ContentError::file(path, "asset paths stay inside assets/"));
        }
        let file = self.assets_dir().join(path);
        let bytes = std::fs::read(&file).map_err(|e| ContentError::file(relative(&self.root, &file), e.to_string()))?;
        Ok(format!("data:{media_type};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes)))
    }
}

/// The `*.toml` files of a folder as (file stem, path relative to root, text).
fn toml_files(root: &Path, folder: &str) -> Result<Vec<(String, String, String)>, ContentError> {
    let mut files = Vec::new();
    collect_files(&root.join(folder), &mut files).map_err(|e| ContentError::file(root.join(folder), e.to_string()))?;
    let mut out = Vec::new();
    for file in files {
        let Some(id) = file.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".toml")) else {
            continue;
        };
        out.push((id.to_owned(), relative(root, &file), read_text(root, &file)?));
    }
    Ok(out)
}

fn media_type(path: &str) -> Option<&'static str> {
    let lower = path.to_ascii_lowercase();
    let ext = lower.rsplit('.').next()?;
    Some(match ext {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "svg" => "image/svg+xml",
        _ => return None,
    })
}

fn read_text(root: &Path, file: &Path) -> Result<String, ContentError> {
    let bytes = std::fs::read(file).map_err(|e| ContentError::file(relative(root, file), e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&e.into_bytes()[..offset]).into_owned();
        let (line, col) = line_col(&text, offset);
        ContentError::at(relative(root, file), line, col, "not valid UTF-8")
    })
}

fn relative(root: &Path, file: &Path) -> String {
    file.strip_prefix(root).unwrap_or(file).to_string_lossy().replace('\\', "/")
}

/// Files below `dir`, sorted, skipping hidden files and editors' temporary files.
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp") || name.ends_with(".tmp") {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_templates_and_labels_and_skips_editor_files() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("templates")).unwrap();
        std::fs::create_dir_all(root.join("fragments")).unwrap();
        std::fs::write(root.join("templates/invoice.html.tera"), "hi").unwrap();
        std::fs::write(root.join("templates/.invoice.html.tera.swp"), "x").unwrap();
        std::fs::write(root.join("fragments/footer.html.tera~"), "x").unwrap();
        let set = ContentSet::load(root).unwrap();
        let names: Vec<&str> = set.templates().map(|(n, _)| n).collect();
        assert_eq!(names, ["templates/invoice.html"]);
    }

    #[test]
    fn invalid_utf8_names_file_line_and_column() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("templates")).unwrap();
        std::fs::write(d.path().join("templates/a.html.tera"), b"ok\nab\xFFc").unwrap();
        let e = ContentSet::load(d.path()).unwrap_err();
        assert_eq!(e.to_string(), "templates/a.html.tera:2:3: not valid UTF-8");
    }
}
