//! `tessera plugin new`: a project that builds and passes its own fixtures
//! as it is, so a partner starts from something that works and changes it
//! a step at a time. The files are templates compiled into the binary; the
//! contract's WIT is copied in, so the project builds without this
//! repository.

use crate::error::KitError;
use crate::project::Lang;
use std::path::{Path, PathBuf};
use tessera_runtime::{Kind, host_contract, is_id};

/// The contract WIT the project is built against (the newest this host runs).
const CONTRACT_WIT: &str = include_str!("../../../wit/v0.3/plugin.wit");

/// One file to write: its path in the project and its template.
type File = (&'static str, &'static str);

fn sources(kind: Kind, lang: Lang) -> Vec<File> {
    match (lang, kind) {
        (Lang::Rust, Kind::Fragment) => vec![("src/lib.rs", include_str!("../templates/rust/fragment.rs"))],
        (Lang::Rust, Kind::Translator) => vec![("src/lib.rs", include_str!("../templates/rust/translator.rs"))],
        (Lang::Rust, Kind::Formatter) => vec![("src/lib.rs", include_str!("../templates/rust/formatter.rs"))],
        (Lang::Python, Kind::Fragment) => vec![("app.py", include_str!("../templates/python/fragment.py"))],
        (Lang::Python, Kind::Translator) => vec![
            ("app.py", include_str!("../templates/python/translator.py")),
            ("translate.py", include_str!("../templates/python/translate.py")),
        ],
        (Lang::Python, Kind::Formatter) => vec![("app.py", include_str!("../templates/python/formatter.py"))],
        (Lang::Js, Kind::Fragment) => vec![("plugin.js", include_str!("../templates/js/fragment.js"))],
        (Lang::Js, Kind::Translator) => vec![("plugin.js", include_str!("../templates/js/translator.js"))],
        (Lang::Js, Kind::Formatter) => vec![("plugin.js", include_str!("../templates/js/formatter.js"))],
    }
}

fn fixtures(kind: Kind) -> Vec<File> {
    match kind {
        Kind::Fragment => vec![
            (
                "fixtures/greets-a-person/input.json",
                include_str!("../templates/fixtures/fragment/greets-a-person/input.json"),
            ),
            (
                "fixtures/greets-a-person/expected.html",
                include_str!("../templates/fixtures/fragment/greets-a-person/expected.html"),
            ),
            (
                "fixtures/greets-a-person/expected.txt",
                include_str!("../templates/fixtures/fragment/greets-a-person/expected.txt"),
            ),
            (
                "fixtures/greets-a-company/input.json",
                include_str!("../templates/fixtures/fragment/greets-a-company/input.json"),
            ),
            (
                "fixtures/greets-a-company/expected.html",
                include_str!("../templates/fixtures/fragment/greets-a-company/expected.html"),
            ),
            (
                "fixtures/greets-a-company/expected.txt",
                include_str!("../templates/fixtures/fragment/greets-a-company/expected.txt"),
            ),
            (
                "fixtures/refuses-another-name/input.json",
                include_str!("../templates/fixtures/fragment/refuses-another-name/input.json"),
            ),
            (
                "fixtures/refuses-another-name/expected-error.json",
                include_str!("../templates/fixtures/fragment/refuses-another-name/expected-error.json"),
            ),
        ],
        Kind::Translator => vec![
            (
                "fixtures/two-letters-one-bad-row/source.csv",
                include_str!("../templates/fixtures/translator/two-letters-one-bad-row/source.csv"),
            ),
            (
                "fixtures/two-letters-one-bad-row/expected.json",
                include_str!("../templates/fixtures/translator/two-letters-one-bad-row/expected.json"),
            ),
        ],
        Kind::Formatter => vec![
            (
                "fixtures/plain-letter/input.json",
                include_str!("../templates/fixtures/formatter/plain-letter/input.json"),
            ),
            (
                "fixtures/plain-letter/expected.txt",
                include_str!("../templates/fixtures/formatter/plain-letter/expected.txt"),
            ),
        ],
    }
}

const FIXTURE_HELP: &[(Kind, &str)] = &[
    (
        Kind::Fragment,
        "`input.json` holds the fragment name the template calls, its `params` and the CDM `record`;\n`expected.html` and `expected.txt` are the two renditions, or `expected-error.json` the error\n(`code`, and optionally `message` and `location`).",
    ),
    (
        Kind::Translator,
        "`source.<ext>` is a source document; `expected.json` lists what each source record became,\nin order: `{\"record\": …}` (checked against CDM 1.0) or `{\"rejected\": {code, message, location}}`.\nThe source is fed whole and again in 7-byte chunks: both must give the same.",
    ),
    (
        Kind::Formatter,
        "`input.json` is the composed document (`channel`, `document_id`, `html`, `text`, `subject`,\n`metadata`); `expected.<extension>` is the output file, or `expected-error.json` the error.",
    ),
];

/// Limits a new project asks for: what its language's runtime needs, with room.
fn default_limits(lang: Lang) -> (u64, u64) {
    match lang {
        Lang::Rust => (20_000_000, 16),
        Lang::Python => (100_000_000, 64),
        Lang::Js => (50_000_000, 32),
    }
}

/// What `new` made.
#[derive(Debug)]
pub struct Scaffolded {
    /// The project folder.
    pub dir: PathBuf,
    /// Files written, relative to it.
    pub files: Vec<String>,
}

/// Creates `dir` (which must not exist or be empty) as a new project named
/// after its last path component.
pub fn new_project(dir: &Path, kind: Kind, lang: Lang) -> Result<Scaffolded, KitError> {
    let id = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
    if !is_id(&id) {
        return Err(KitError::Scaffold(format!(
            "`{id}` cannot be a plugin id: use lower-case letters, digits and inner `-` (e.g. `greeting-card`)"
        )));
    }
    if dir.exists() && std::fs::read_dir(dir).map_err(|e| KitError::io(dir, e))?.next().is_some() {
        return Err(KitError::Scaffold(format!("{} already exists and is not empty", dir.display())));
    }
    let (fuel, memory_mib) = default_limits(lang);
    let contract = host_contract().to_string();
    let (lang_name, tool) = match lang {
        Lang::Rust => ("Rust", "cargo, target wasm32-wasip2"),
        Lang::Python => ("Python", "componentize-py, installed pinned on first build"),
        Lang::Js => ("JavaScript", "componentize-qjs, installed pinned on first build"),
    };
    let description = match kind {
        Kind::Fragment => "Greets the recipient by salutation and name, or by company.",
        Kind::Translator => "Semicolon-separated letter lines into CDM letter records.",
        Kind::Formatter => "A plain-text letter, wrapped at text.width characters.",
    };
    let fixture_help = FIXTURE_HELP.iter().find(|(k, _)| *k == kind).map_or("", |(_, h)| h);
    let vars: Vec<(&str, String)> = vec![
        ("{{id}}", id.clone()),
        ("{{version}}", "0.1.0".into()),
        ("{{kind}}", kind.to_string()),
        ("{{contract}}", contract),
        ("{{lang}}", lang.to_string()),
        ("{{lang_name}}", lang_name.into()),
        ("{{tool}}", tool.into()),
        ("{{description}}", description.into()),
        ("{{fixture_help}}", fixture_help.into()),
        ("{{fuel}}", group_digits(fuel)),
        ("{{memory_mib}}", memory_mib.to_string()),
    ];
    let mut files: Vec<File> = vec![
        ("plugin.toml", include_str!("../templates/plugin.toml")),
        ("README.md", include_str!("../templates/README.md")),
        ("wit/plugin.wit", CONTRACT_WIT),
        (".gitignore", "/dist/\n/target/\n__pycache__/\n"),
    ];
    if lang == Lang::Rust {
        files.push(("Cargo.toml", include_str!("../templates/rust/Cargo.toml")));
    }
    files.extend(sources(kind, lang));
    files.extend(fixtures(kind));
    let mut written = Vec::new();
    for (path, template) in files {
        let mut text = template.to_owned();
        if path != "wit/plugin.wit" {
            for (key, value) in &vars {
                text = text.replace(key, value);
            }
        }
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| KitError::io(parent, e))?;
        }
        std::fs::write(&target, text).map_err(|e| KitError::io(&target, e))?;
        written.push(path.to_owned());
    }
    Ok(Scaffolded { dir: dir.to_path_buf(), files: written })
}

/// `1000000` as `1_000_000`, as TOML allows and people read.
fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('_');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_and_language_scaffolds_a_readable_project() {
        for lang in Lang::ALL {
            for kind in [Kind::Translator, Kind::Fragment, Kind::Formatter] {
                let root = tempfile::tempdir().unwrap();
                let dir = root.path().join("my-plugin");
                let made = new_project(&dir, kind, lang).unwrap();
                assert!(made.files.iter().any(|f| f.starts_with("fixtures/")), "{lang} {kind}");
                let project = crate::Project::open(&dir).unwrap();
                assert_eq!((project.lang, project.world.kind, project.id.as_str()), (lang, kind, "my-plugin"));
                assert!(dir.join(&project.source).is_file(), "{lang} {kind}: {}", project.source);
                for file in &made.files {
                    let text = std::fs::read_to_string(dir.join(file)).unwrap();
                    assert!(!text.contains("{{id}}") && !text.contains("{{kind}}"), "{file} keeps a placeholder");
                }
            }
        }
    }

    #[test]
    fn refuses_a_bad_id_and_a_full_folder() {
        let root = tempfile::tempdir().unwrap();
        let e = new_project(&root.path().join("My_Plugin"), Kind::Fragment, Lang::Rust).unwrap_err();
        assert!(e.to_string().contains("cannot be a plugin id"), "{e}");
        let dir = root.path().join("taken");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("keep.txt"), "mine").unwrap();
        let e = new_project(&dir, Kind::Fragment, Lang::Rust).unwrap_err();
        assert!(e.to_string().contains("not empty"), "{e}");
        assert_eq!(std::fs::read_to_string(dir.join("keep.txt")).unwrap(), "mine");
    }

    #[test]
    fn groups_digits() {
        assert_eq!(group_digits(1_000_000_000), "1_000_000_000");
        assert_eq!(group_digits(16), "16");
        assert_eq!(group_digits(200_000), "200_000");
    }
}
