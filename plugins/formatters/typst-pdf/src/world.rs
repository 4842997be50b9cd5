//! The Typst world of one document: its markup as the main file, the
//! shipped fonts, and files fetched through a caller-supplied reader (the
//! host's granted asset folders).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use typst::diag::{FileError, FileResult, Severity, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World, WorldExt};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};

/// The PDF flavour a tenant asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standard {
    /// Plain PDF 1.7.
    Pdf17,
    /// PDF/A-2b for long-term archiving.
    PdfA2b,
}

/// What one document needs besides its markup.
pub struct Setup<'a> {
    /// Identifies the document stably (the PDF's /ID is derived from it).
    pub document_id: &'a str,
    /// The job's as-of date (year, month, day): Typst's "today" and the
    /// PDF's creation date, so reruns are byte-identical.
    pub as_of: (i32, u8, u8),
    /// The PDF standard.
    pub standard: Standard,
    /// Whether to write a tagged (accessible) PDF: worth it for documents
    /// people read on screen, not for paper.
    pub tagged: bool,
    /// Reads a file the markup refers to (`image("images/logo.svg")`).
    pub read: &'a (dyn Fn(&str) -> Result<Vec<u8>, String> + Sync),
}

/// Why a document could not be typeset.
#[derive(Debug)]
pub struct TypesetError {
    /// What went wrong.
    pub message: String,
    /// 1-based line and column in the markup, when the error points there.
    pub at: Option<(u32, u32)>,
}

/// Fonts parsed once per instance.
struct Fonts {
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| {
        let fonts: Vec<Font> = typst_assets::fonts().flat_map(|data| Font::iter(Bytes::new(data))).collect();
        Fonts { book: LazyHash::new(FontBook::from_fonts(&fonts)), fonts }
    })
}

fn library() -> &'static LazyHash<Library> {
    static LIBRARY: OnceLock<LazyHash<Library>> = OnceLock::new();
    LIBRARY.get_or_init(|| LazyHash::new(Library::default()))
}

struct DocumentWorld<'a> {
    main: Source,
    today: Option<Datetime>,
    read: &'a (dyn Fn(&str) -> Result<Vec<u8>, String> + Sync),
    /// Files read for this document (Typst may ask for one several times).
    files: Mutex<HashMap<FileId, FileResult<Bytes>>>,
}

impl World for DocumentWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        library()
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &fonts().book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            return Ok(self.main.clone());
        }
        let bytes = self.file(id)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| FileError::InvalidUtf8)?;
        Ok(Source::new(id, text.to_owned()))
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.main.id() {
            return Ok(Bytes::from_string(self.main.text().to_owned()));
        }
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files
            .entry(id)
            .or_insert_with(|| {
                let rooted = id.get();
                if !matches!(rooted.root(), VirtualRoot::Project) {
                    return Err(FileError::Other(Some("packages are not available to tenant templates".into())));
                }
                let path = rooted.vpath().get_with_slash().trim_start_matches('/').to_owned();
                (self.read)(&path).map(Bytes::new).map_err(|reason| FileError::Other(Some(reason.into())))
            })
            .clone()
    }

    fn font(&self, index: usize) -> Option<Font> {
        fonts().fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        self.today
    }
}

/// Typesets `markup` into a PDF.
pub fn typeset(markup: &str, setup: &Setup<'_>) -> Result<Vec<u8>, TypesetError> {
    let main_id = FileId::new(RootedPath::new(VirtualRoot::Project, VirtualPath::new("/main.typ").expect("valid")));
    let (year, month, day) = setup.as_of;
    let today = Datetime::from_ymd(year, month, day);
    let world = DocumentWorld {
        main: Source::new(main_id, markup.to_owned()),
        today,
        read: setup.read,
        files: Mutex::new(HashMap::new()),
    };
    let compiled = typst::compile::<PagedDocument>(&world).output;
    // Keep the memoisation caches bounded across a long run: entries not
    // used by the last few documents go.
    let document = compiled.map_err(|errors| first_error(&world, &errors))?;
    let options = PdfOptions {
        ident: Smart::Custom(setup.document_id.to_owned()),
        creator: Smart::Custom(Some("tessera typst-pdf".into())),
        timestamp: today.map(Timestamp::new_utc),
        standards: match setup.standard {
            Standard::Pdf17 => PdfStandards::default(),
            Standard::PdfA2b => PdfStandards::new(&[PdfStandard::A_2b]).map_err(|e| TypesetError {
                message: format!("PDF/A-2b cannot be configured: {}", e.message()),
                at: None,
            })?,
        },
        tagged: setup.tagged,
        ..PdfOptions::default()
    };
    let pdf = typst_pdf::pdf(&document, &options).map_err(|errors| first_error(&world, &errors));
    typst::comemo::evict(10);
    pdf
}

/// The first error, with its position in the markup when it has one.
fn first_error(world: &DocumentWorld<'_>, errors: &[SourceDiagnostic]) -> TypesetError {
    let Some(error) = errors.iter().find(|d| d.severity == Severity::Error).or(errors.first()) else {
        return TypesetError { message: "Typst failed without saying why".into(), at: None };
    };
    let mut message = error.message.to_string();
    for hint in &error.hints {
        message.push_str(&format!(" (hint: {})", hint.v));
    }
    let at = (error.span.id() == Some(world.main.id()))
        .then(|| world.range(error.span))
        .flatten()
        .and_then(|range| world.main.lines().byte_to_line_column(range.start))
        .map(|(line, column)| (line as u32 + 1, column as u32 + 1));
    TypesetError { message, at }
}
