//! A [`ContentSet`]: everything one tenant renders from, resolved and checked
//! from one [`Snapshot`] — a [`ContentView`] per (brand label, locale) with its
//! templates, label, strings and logo, each file with its resolution chain.
//!
//! Building a set reads and checks all of it, so a set either exists whole
//! or not at all: a document is always rendered from one consistent
//! snapshot, and a broken file never replaces a good set.

use crate::error::ContentError;
use crate::label::Label;
use crate::layers::{Layers, Resolution, locale_chain};
use crate::snapshot::{Revision, Snapshot};
use base64::Engine as _;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use tessera_diagnostic::line_col;

/// Folders whose `*.tera` files are templates.
const TEMPLATE_DIRS: &[&str] = &["templates/", "fragments/"];

/// One tenant's content from one snapshot, resolved for every label and locale.
#[derive(Debug, Clone)]
pub struct ContentSet {
    snapshot: Arc<Snapshot>,
    layers: Layers,
    default_locale: String,
    locales: BTreeSet<String>,
    views: BTreeMap<(String, String), Arc<ContentView>>,
}

/// The content of one (label, locale) pair: what a document of that label
/// in that locale is composed from.
#[derive(Debug, Clone)]
pub struct ContentView {
    /// The label id.
    pub label_id: String,
    /// The locale this view resolves (`nl`; a document asking for `nl-BE` uses it).
    pub locale: String,
    /// The brand label.
    pub label: Label,
    /// Template name (`templates/invoice.html`, no `.tera`) → source and resolution.
    templates: BTreeMap<String, (String, Resolution)>,
    /// Merged UI strings.
    strings: BTreeMap<String, String>,
    /// Every file this view was built from, by logical path (the strings
    /// files are listed under their own paths, as several merge).
    files: Vec<Resolution>,
    /// The label's logo as a `data:` URI (empty without a logo).
    logo_data_uri: String,
    overlays: Vec<String>,
    snapshot: Arc<Snapshot>,
    key: String,
}

impl ContentSet {
    /// Resolves and checks everything in `snapshot` for `layers`.
    /// `default_locale` is the locale whose strings every other locale falls back to.
    pub fn build(snapshot: Arc<Snapshot>, layers: Layers, default_locale: &str) -> Result<ContentSet, ContentError> {
        if layers.roots().iter().all(|root| snapshot.files_under(root).next().is_none()) {
            return Err(ContentError::file(
                layers.roots().join(", "),
                "no content files in any layer (is the content folder right?)",
            ));
        }
        let mut label_ids = BTreeSet::new();
        let mut locales = BTreeSet::from([default_locale.to_owned()]);
        for root in layers.roots() {
            for (path, _) in snapshot.files_under(root) {
                let rest: Vec<&str> = path[root.len()..].trim_start_matches('/').split('/').collect();
                match rest.as_slice() {
                    ["labels", file] => {
                        if let Some(id) = file.strip_suffix(".toml") {
                            label_ids.insert(id.to_owned());
                        }
                    }
                    ["locales", file] | ["labels", _, "locales", file] => {
                        if let Some(id) = file.strip_suffix(".toml") {
                            locales.insert(id.to_owned());
                        }
                    }
                    ["locales", id, _, ..] | ["labels", _, "locales", id, _, ..] => {
                        locales.insert((*id).to_owned());
                    }
                    _ => {}
                }
            }
        }
        if label_ids.is_empty() {
            return Err(ContentError::file(
                layers.roots().last().cloned().unwrap_or_default(),
                "no brand label: add labels/<label>.toml",
            ));
        }
        let mut set = ContentSet {
            snapshot: Arc::clone(&snapshot),
            layers,
            default_locale: default_locale.to_owned(),
            locales,
            views: BTreeMap::new(),
        };
        for label_id in &label_ids {
            let (label, label_file) = set.load_label(label_id)?;
            for locale in &set.locales {
                let view = set.build_view(&label, &label_file, locale)?;
                set.views.insert((label_id.clone(), locale.clone()), Arc::new(view));
            }
        }
        Ok(set)
    }

    /// The snapshot's revision.
    pub fn revision(&self) -> &Revision {
        self.snapshot.revision()
    }

    /// The snapshot.
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snapshot
    }

    /// Label ids.
    pub fn label_ids(&self) -> impl Iterator<Item = &str> {
        self.views.keys().map(|(l, _)| l.as_str()).collect::<BTreeSet<_>>().into_iter()
    }

    /// The default locale.
    pub fn default_locale(&self) -> &str {
        &self.default_locale
    }

    /// A brand label.
    pub fn label(&self, id: &str) -> Option<&Label> {
        self.views.get(&(id.to_owned(), self.default_locale.clone())).map(|v| &v.label)
    }

    /// Every view.
    pub fn views(&self) -> impl Iterator<Item = &Arc<ContentView>> {
        self.views.values()
    }

    /// The view for a label and a requested locale: `nl-BE` uses `nl-BE`
    /// when the content has it, else `nl`, else the default locale.
    pub fn view(&self, label: &str, locale: &str) -> Option<&Arc<ContentView>> {
        locale_chain(locale)
            .into_iter()
            .find(|l| self.locales.contains(l))
            .and_then(|l| self.views.get(&(label.to_owned(), l)))
            .or_else(|| self.views.get(&(label.to_owned(), self.default_locale.clone())))
    }

    fn load_label(&self, id: &str) -> Result<(Label, Resolution), ContentError> {
        let logical = format!("labels/{id}.toml");
        let overlays = self.layers.overlays(None, None);
        let resolution = Layers::resolve(&self.snapshot, &overlays, &logical)
            .ok_or_else(|| ContentError::file(&logical, "label file vanished while loading"))?;
        let text = self.text(&resolution.path)?;
        let label = Label::parse(id, &text, Path::new(&resolution.path)).map_err(|e| e.with_source(&text))?;
        Ok((label, resolution))
    }

    fn build_view(&self, label: &Label, label_file: &Resolution, locale: &str) -> Result<ContentView, ContentError> {
        let overlays = self.layers.overlays(Some(&label.id), Some(locale));
        let mut files = vec![label_file.clone()];
        let mut templates = BTreeMap::new();
        for logical in Layers::logical_paths(&self.snapshot, &overlays) {
            let Some(name) = logical.strip_suffix(".tera") else { continue };
            if !TEMPLATE_DIRS.iter().any(|d| logical.starts_with(d)) {
                continue;
            }
            let resolution = Layers::resolve(&self.snapshot, &overlays, &logical).expect("listed paths resolve");
            let source = self.text(&resolution.path)?;
            files.push(resolution.clone());
            templates.insert(name.to_owned(), (source, resolution));
        }

        // Strings merge key by key: the default locale, then the language,
        // then the full locale; within each, the most general layer first.
        let mut strings = BTreeMap::new();
        let mut chain = vec![self.default_locale.clone()];
        for l in locale_chain(locale).into_iter().rev() {
            if !chain.contains(&l) {
                chain.push(l);
            }
        }
        for id in chain {
            let logical = format!("locales/{id}.toml");
            let Some(resolution) = Layers::resolve(&self.snapshot, &overlays, &logical) else { continue };
            for candidate in resolution.chain.iter().rev().filter(|c| c.found) {
                let text = self.text(&candidate.path)?;
                let map: BTreeMap<String, String> = toml::from_str(&text).map_err(|e| {
                    let mut diagnostic = ContentError::toml(&candidate.path, &text, &e);
                    diagnostic.message.push_str(" (locale files map keys to strings)");
                    diagnostic
                })?;
                strings.extend(map);
                let blob = self.snapshot.get(&candidate.path).map(|f| f.blob.clone()).unwrap_or_default();
                files.push(Resolution {
                    logical: logical.clone(),
                    path: candidate.path.clone(),
                    blob,
                    chain: resolution.chain.clone(),
                });
            }
        }

        let mut logo_data_uri = String::new();
        if let Some(logo) = &label.logo {
            let logical = format!("assets/{logo}");
            let resolution = Layers::resolve(&self.snapshot, &overlays, &logical).ok_or_else(|| {
                let text = self.text(&label_file.path).unwrap_or_default();
                let message = format!("logo: `{logo}` is not in assets/ of any layer (for locale {locale})");
                ContentError::at_key(&label_file.path, &text, &["logo"], message)
            })?;
            logo_data_uri = data_uri(&logical, &self.snapshot.get(&resolution.path).expect("resolved").bytes)?;
            files.push(resolution);
        }
        Ok(ContentView {
            key: format!("{}/{locale}", label.id),
            label_id: label.id.clone(),
            locale: locale.to_owned(),
            label: label.clone(),
            templates,
            strings,
            files,
            logo_data_uri,
            overlays,
            snapshot: Arc::clone(&self.snapshot),
        })
    }

    fn text(&self, path: &str) -> Result<String, ContentError> {
        let file = self.snapshot.get(path).ok_or_else(|| ContentError::file(path, "not in the snapshot"))?;
        utf8(path, &file.bytes)
    }
}

impl ContentView {
    /// Template names (`templates/invoice.html`) and sources.
    pub fn templates(&self) -> impl Iterator<Item = (&str, &str)> {
        self.templates.iter().map(|(k, (s, _))| (k.as_str(), s.as_str()))
    }

    /// How a template name resolved.
    pub fn template_resolution(&self, name: &str) -> Option<&Resolution> {
        self.templates.get(name).map(|(_, r)| r)
    }

    /// The source of a template.
    pub fn template_source(&self, name: &str) -> Option<&str> {
        self.templates.get(name).map(|(s, _)| s.as_str())
    }

    /// UI strings, merged.
    pub fn strings(&self) -> &BTreeMap<String, String> {
        &self.strings
    }

    /// The logo as a `data:` URI, or empty.
    pub fn logo_data_uri(&self) -> &str {
        &self.logo_data_uri
    }

    /// Every file this view was built from, with its resolution chain.
    pub fn files(&self) -> &[Resolution] {
        &self.files
    }

    /// `label/locale`, e.g. `acme-green/nl`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// An asset (`images/logo.png`, `fonts/x.ttf`) resolved through the
    /// layers: its bytes (for PDF and e-mail formatters) and resolution.
    pub fn asset(&self, path: &str) -> Result<(Arc<[u8]>, Resolution), ContentError> {
        if path.starts_with('/') || path.split('/').any(|p| p == ".." || p.is_empty()) {
            return Err(ContentError::file(path, "asset paths are relative and stay inside assets/"));
        }
        let logical = format!("assets/{path}");
        let resolution = Layers::resolve(&self.snapshot, &self.overlays, &logical)
            .ok_or_else(|| ContentError::file(&logical, "not in assets/ of any layer"))?;
        let bytes = Arc::clone(&self.snapshot.get(&resolution.path).expect("resolved").bytes);
        Ok((bytes, resolution))
    }
}

/// The media type of an asset by its extension.
pub fn media_type(path: &str) -> Option<&'static str> {
    let lower = path.to_ascii_lowercase();
    let ext = lower.rsplit('.').next()?;
    Some(match ext {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "svg" => "image/svg+xml",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        _ => return None,
    })
}

/// `bytes` as a `data:` URI with the media type of `path`.
pub fn data_uri(path: &str, bytes: &[u8]) -> Result<String, ContentError> {
    let media_type = media_type(path)
        .ok_or_else(|| ContentError::file(path, "unknown asset type (PNG, JPEG, SVG, TTF, OTF, WOFF, WOFF2)"))?;
    Ok(format!("data:{media_type};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes)))
}

fn utf8(path: &str, bytes: &[u8]) -> Result<String, ContentError> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&bytes[..offset]).into_owned();
        let (line, col) = line_col(&text, offset);
        ContentError::at(path, line, col, "not valid UTF-8")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{SnapshotFile, blob_id};

    const LABEL: &str = "name = \"Brand\"\nlogo = \"images/logo.svg\"\n[colors]\nprimary = \"#112233\"\naccent = \"#445566\"\n[sender]\nname = \"Brand B.V.\"\naddress = [\"Street 1\"]\n";

    fn set(files: &[(&str, &str)]) -> Result<ContentSet, ContentError> {
        let files = files
            .iter()
            .map(|(p, t)| (p.to_string(), SnapshotFile { bytes: t.as_bytes().into(), blob: blob_id(t.as_bytes()) }))
            .collect();
        let layers = Layers::new(vec!["base".into(), "tenant".into()]);
        ContentSet::build(Arc::new(Snapshot::from_worktree(files, None)), layers, "en")
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("base/templates/invoice.html.tera", "{{ t.hello }} {% include \"fragments/footer.html\" %}"),
            ("base/fragments/footer.html.tera", "base footer"),
            ("base/locales/en.toml", "hello = \"Hello\"\nbye = \"Bye\"\n"),
            ("base/locales/nl.toml", "hello = \"Hallo\"\n"),
            ("base/assets/images/logo.svg", "<svg/>"),
            ("tenant/labels/brand.toml", LABEL),
        ]
    }

    #[test]
    fn strings_merge_key_by_key_across_locales_and_layers() {
        let mut files = base();
        files.push(("tenant/locales/nl.toml", "bye = \"Doei\"\n"));
        let set = set(&files).unwrap();
        let nl = set.view("brand", "nl-BE").unwrap();
        assert_eq!(nl.locale, "nl", "nl-BE falls back to nl");
        assert_eq!(nl.strings()["hello"], "Hallo");
        assert_eq!(nl.strings()["bye"], "Doei");
        let de = set.view("brand", "de").unwrap();
        assert_eq!((de.locale.as_str(), de.strings()["hello"].as_str()), ("en", "Hello"));
        let strings: Vec<&str> =
            nl.files().iter().filter(|f| f.logical.starts_with("locales/")).map(|f| f.path.as_str()).collect();
        assert_eq!(strings, ["base/locales/en.toml", "base/locales/nl.toml", "tenant/locales/nl.toml"]);
        assert!(nl.logo_data_uri().starts_with("data:image/svg+xml;base64,"));
    }

    #[test]
    fn a_label_override_wins_only_for_its_label() {
        let mut files = base();
        files.push(("tenant/labels/other.toml", LABEL));
        files.push(("tenant/labels/other/fragments/footer.html.tera", "other footer"));
        let set = set(&files).unwrap();
        assert_eq!(set.view("other", "en").unwrap().template_source("fragments/footer.html"), Some("other footer"));
        assert_eq!(set.view("brand", "en").unwrap().template_source("fragments/footer.html"), Some("base footer"));
        assert_eq!(set.label_ids().collect::<Vec<_>>(), ["brand", "other"]);
    }

    #[test]
    fn label_errors_name_the_layer_file_the_key_and_the_position() {
        let mut files = base();
        files[5] = (
            "tenant/labels/brand.toml",
            "name = \"Brand\"\n[colors]\nprimary = \"red\"\naccent = \"#445566\"\n[sender]\nname = \"B\"\naddress = [\"S\"]\n",
        );
        let e = set(&files).unwrap_err();
        assert_eq!(e.to_string(), "tenant/labels/brand.toml:3:1: primary: `red` is not a colour like #1f6f43");
        assert_eq!(e.source_line.as_deref(), Some("primary = \"red\""));

        let mut files = base();
        files.remove(4); // the logo
        let e = set(&files).unwrap_err();
        assert!(
            e.to_string().starts_with("tenant/labels/brand.toml:2:1: logo: `images/logo.svg` is not in assets/"),
            "{e}"
        );

        let mut files = base();
        files[3] = ("base/locales/nl.toml", "hello = \"Hallo\"\nbye = 3\n");
        let e = set(&files).unwrap_err();
        assert_eq!((e.file.to_str(), e.line, e.column), (Some("base/locales/nl.toml"), Some(2), Some(7)), "{e}");
    }

    #[test]
    fn content_without_a_label_is_refused() {
        let mut files = base();
        files.remove(5);
        assert!(set(&files).unwrap_err().message.contains("no brand label"));
    }
}
