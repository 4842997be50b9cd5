//! Layered resolution: which file a logical content path (`fragments/footer.html.tera`)
//! means for one brand label and one locale.
//!
//! Layer roots are folders of the content repository, most general first:
//! the provider's base content, then the tenant's. Inside every root, a
//! brand label may override files under `labels/<label>/`, and a locale under
//! `locales/<locale>/` (also inside a label folder). For label `acme-green`
//! and locale `nl-NL` the candidates are, most specific first:
//!
//! ```text
//! <tenant>/labels/acme-green/locales/nl-NL/P
//! <tenant>/labels/acme-green/locales/nl/P
//! <tenant>/labels/acme-green/P
//! <tenant>/locales/nl-NL/P
//! <tenant>/locales/nl/P
//! <tenant>/P
//! <provider>/…   (the same six)
//! ```
//!
//! The first one that exists wins; the whole list is kept as the file's
//! resolution chain, so "why did this letter get that footer?" has an answer.

use crate::snapshot::Snapshot;
use serde::Serialize;

/// The layer roots of one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layers {
    roots: Vec<String>,
}

/// How one logical path resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Resolution {
    /// The logical path (`fragments/footer.html.tera`).
    pub logical: String,
    /// The file that won, relative to the content repository.
    pub path: String,
    /// Its git blob id.
    pub blob: String,
    /// Every candidate, most specific first, with whether it exists.
    pub chain: Vec<Candidate>,
}

/// One candidate of a resolution chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Candidate {
    /// The path tried.
    pub path: String,
    /// Whether it exists in the snapshot.
    pub found: bool,
}

impl Layers {
    /// Layer roots relative to the content repository, most general first
    /// (`["printhub/content", "acme-energy/content"]`).
    pub fn new(roots: Vec<String>) -> Layers {
        Layers { roots: roots.into_iter().map(|r| r.trim_matches('/').to_owned()).collect() }
    }

    /// The roots, most general first.
    pub fn roots(&self) -> &[String] {
        &self.roots
    }

    /// Overlay folders for a label and locale, most specific first.
    pub fn overlays(&self, label: Option<&str>, locale: Option<&str>) -> Vec<String> {
        let locales: Vec<String> = locale.map(locale_chain).unwrap_or_default();
        let mut out = Vec::new();
        for root in self.roots.iter().rev() {
            let mut bases = Vec::new();
            if let Some(label) = label {
                bases.push(join(root, &format!("labels/{label}")));
            }
            bases.push(root.clone());
            for base in bases {
                for l in &locales {
                    out.push(join(&base, &format!("locales/{l}")));
                }
                out.push(base);
            }
        }
        out
    }

    /// Resolves `logical` in `snapshot` through `overlays`; `None` when no
    /// candidate exists.
    pub fn resolve(snapshot: &Snapshot, overlays: &[String], logical: &str) -> Option<Resolution> {
        let chain: Vec<Candidate> = overlays
            .iter()
            .map(|dir| {
                let path = join(dir, logical);
                let found = snapshot.get(&path).is_some();
                Candidate { path, found }
            })
            .collect();
        let winner = chain.iter().find(|c| c.found)?;
        let blob = snapshot.get(&winner.path).map(|f| f.blob.clone()).unwrap_or_default();
        Some(Resolution { logical: logical.to_owned(), path: winner.path.clone(), blob, chain })
    }

    /// Every logical path visible through `overlays` (a file inside another
    /// label's or locale's override folder is not visible).
    pub fn logical_paths(snapshot: &Snapshot, overlays: &[String]) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        for dir in overlays {
            for (path, _) in snapshot.files_under(dir) {
                let rest = if dir.is_empty() { path } else { &path[dir.len() + 1..] };
                if !is_override(rest) {
                    out.insert(rest.to_owned());
                }
            }
        }
        out
    }
}

/// `labels/x/…` and `locales/x/…` are override folders, not content of the
/// layer they sit in (`labels/x.toml` and `locales/x.toml` are).
fn is_override(rest: &str) -> bool {
    let mut parts = rest.split('/');
    matches!(parts.next(), Some("labels" | "locales")) && parts.nth(1).is_some()
}

/// `nl-NL` → `["nl-NL", "nl"]`; `nl` → `["nl"]`.
pub fn locale_chain(locale: &str) -> Vec<String> {
    let mut out = vec![locale.to_owned()];
    if let Some((language, _)) = locale.split_once(['-', '_']) {
        out.push(language.to_owned());
    }
    out
}

fn join(dir: &str, rest: &str) -> String {
    if dir.is_empty() { rest.to_owned() } else { format!("{dir}/{rest}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{SnapshotFile, blob_id};
    use std::collections::BTreeMap;

    fn snapshot(paths: &[&str]) -> Snapshot {
        let files: BTreeMap<String, SnapshotFile> = paths
            .iter()
            .map(|p| (p.to_string(), SnapshotFile { bytes: p.as_bytes().into(), blob: blob_id(p.as_bytes()) }))
            .collect();
        Snapshot::from_worktree(files, None)
    }

    fn layers() -> Layers {
        Layers::new(vec!["printhub/content".into(), "acme/content".into()])
    }

    #[test]
    fn overlay_order_is_label_then_locale_within_each_layer() {
        let overlays = layers().overlays(Some("green"), Some("nl-NL"));
        assert_eq!(
            overlays,
            [
                "acme/content/labels/green/locales/nl-NL",
                "acme/content/labels/green/locales/nl",
                "acme/content/labels/green",
                "acme/content/locales/nl-NL",
                "acme/content/locales/nl",
                "acme/content",
                "printhub/content/labels/green/locales/nl-NL",
                "printhub/content/labels/green/locales/nl",
                "printhub/content/labels/green",
                "printhub/content/locales/nl-NL",
                "printhub/content/locales/nl",
                "printhub/content",
            ]
        );
        assert_eq!(layers().overlays(None, None), ["acme/content", "printhub/content"]);
    }

    /// Files present, label, locale, and the folder whose file must win.
    type Case<'a> = (&'a [&'a str], Option<&'a str>, Option<&'a str>, &'a str);

    #[test]
    fn the_most_specific_file_wins() {
        let f = "fragments/footer.html.tera";
        let cases: &[Case] = &[
            (&["printhub/content/fragments/footer.html.tera"], Some("green"), Some("nl"), "printhub/content/"),
            (
                &["printhub/content/fragments/footer.html.tera", "acme/content/fragments/footer.html.tera"],
                Some("green"),
                Some("nl"),
                "acme/content/",
            ),
            (
                &["acme/content/fragments/footer.html.tera", "printhub/content/locales/nl/fragments/footer.html.tera"],
                Some("green"),
                Some("nl"),
                "acme/content/",
            ),
            (
                &["acme/content/fragments/footer.html.tera", "acme/content/locales/nl/fragments/footer.html.tera"],
                Some("green"),
                Some("nl-NL"),
                "acme/content/locales/nl/",
            ),
            (
                &[
                    "acme/content/locales/nl/fragments/footer.html.tera",
                    "acme/content/labels/green/fragments/footer.html.tera",
                ],
                Some("green"),
                Some("nl"),
                "acme/content/labels/green/",
            ),
            (
                &[
                    "acme/content/labels/green/fragments/footer.html.tera",
                    "acme/content/labels/green/locales/nl/fragments/footer.html.tera",
                ],
                Some("green"),
                Some("nl-BE"),
                "acme/content/labels/green/locales/nl/",
            ),
            (
                &["acme/content/labels/green/fragments/footer.html.tera", "acme/content/fragments/footer.html.tera"],
                Some("classic"),
                Some("nl"),
                "acme/content/",
            ),
        ];
        for (files, label, locale, winner) in cases {
            let snap = snapshot(files);
            let overlays = layers().overlays(*label, *locale);
            let r = Layers::resolve(&snap, &overlays, f).unwrap();
            assert_eq!(r.path, format!("{winner}{f}"), "files {files:?}, label {label:?}, locale {locale:?}");
            assert_eq!(r.chain.len(), overlays.len());
            for c in &r.chain {
                assert_eq!(c.found, files.contains(&c.path.as_str()), "{c:?}");
            }
            assert_eq!(r.blob, blob_id(r.path.as_bytes()));
        }
    }

    #[test]
    fn other_labels_and_locales_are_not_visible() {
        let snap = snapshot(&[
            "acme/content/templates/invoice.html.tera",
            "acme/content/labels/green.toml",
            "acme/content/labels/green/fragments/extra.html.tera",
            "acme/content/labels/classic/fragments/other.html.tera",
            "acme/content/locales/nl.toml",
            "acme/content/locales/de/fragments/de-only.html.tera",
        ]);
        let paths = Layers::logical_paths(&snap, &layers().overlays(Some("green"), Some("nl")));
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        assert_eq!(
            paths,
            ["fragments/extra.html.tera", "labels/green.toml", "locales/nl.toml", "templates/invoice.html.tera"]
        );
    }

    #[test]
    fn nothing_found_is_none() {
        let snap = snapshot(&["acme/content/a"]);
        assert!(Layers::resolve(&snap, &layers().overlays(None, None), "b").is_none());
    }
}
