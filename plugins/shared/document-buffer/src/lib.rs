//! Whole-document collection for translators whose formats are not record
//! streams (a JSON document, an XML invoice): the host feeds chunks of any
//! size; the document is parsed once it is complete. A document over the
//! cap is dropped at once rather than held, and reported at the end.
//!
//! [`whole_document_translator!`] writes such a translator's splitter and
//! session (the same for every whole-document format); with the `xml`
//! feature, [`xml`] has what XML translators share: parsing with the line
//! and column of a fault, XPaths for messages, amount and id checks, and
//! [`xml_translator!`], the session's `finish` for a one-document file.

#[cfg(feature = "xml")]
pub mod xml;

use std::cell::{Cell, RefCell};

/// The translator's `Guest` impl, a splitter that never cuts (a whole
/// document is one shard; a delivery of many files is sharded by file), and
/// a session that collects the document up to `$max` bytes and hands it to
/// `$finish(source_name, Result<bytes, TooLarge>) -> Vec<Outcome>`, then
/// `export!`s the plugin. Expanded in the plugin's crate root, after
/// `wit_bindgen::generate!` and with `Guest`, `GuestSplitter`,
/// `GuestSession`, `Cut` and `Outcome` in scope.
#[macro_export]
macro_rules! whole_document_translator {
    ($plugin:ident, max_bytes = $max:expr, finish = $finish:path) => {
        struct $plugin;

        impl Guest for $plugin {
            type Session = Session;
            type Splitter = Splitter;
        }

        /// The source is never cut: one document, one shard.
        pub struct Splitter;

        impl GuestSplitter for Splitter {
            fn new(_source_name: String, _min_gap: u64) -> Self {
                Splitter
            }

            fn feed(&self, _chunk: Vec<u8>) -> Vec<Cut> {
                Vec::new()
            }

            fn finish(&self) -> Vec<Cut> {
                Vec::new()
            }
        }

        /// One document being collected; translated at `finish`.
        pub struct Session {
            source: String,
            buffer: $crate::DocumentBuffer,
        }

        impl GuestSession for Session {
            /// Always from the source's start: the splitter makes no cuts.
            fn new(source_name: String, _start: Option<Cut>) -> Self {
                Session { source: source_name, buffer: $crate::DocumentBuffer::new($max) }
            }

            fn feed(&self, chunk: Vec<u8>) -> Vec<Outcome> {
                self.buffer.feed(&chunk);
                Vec::new()
            }

            fn finish(&self) -> Vec<Outcome> {
                $finish(&self.source, self.buffer.take())
            }
        }

        export!($plugin);
    };
}

/// The chunks fed so far, up to `max` bytes.
pub struct DocumentBuffer {
    bytes: RefCell<Vec<u8>>,
    overflow: Cell<bool>,
    max: usize,
}

/// The document was larger than the cap.
#[derive(Debug, PartialEq, Eq)]
pub struct TooLarge {
    /// The cap, in bytes.
    pub max: usize,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the document is larger than {} MiB; split it into several files", self.max / (1024 * 1024))
    }
}

impl DocumentBuffer {
    /// An empty buffer that accepts up to `max` bytes.
    pub fn new(max: usize) -> Self {
        DocumentBuffer { bytes: RefCell::new(Vec::new()), overflow: Cell::new(false), max }
    }

    /// Adds a chunk (ignored once the cap was passed).
    pub fn feed(&self, chunk: &[u8]) {
        let mut bytes = self.bytes.borrow_mut();
        if self.overflow.get() {
            return;
        }
        if bytes.len() + chunk.len() > self.max {
            self.overflow.set(true);
            *bytes = Vec::new();
        } else {
            bytes.extend_from_slice(chunk);
        }
    }

    /// The whole document, without a UTF-8 byte-order mark.
    pub fn take(&self) -> Result<Vec<u8>, TooLarge> {
        if self.overflow.get() {
            return Err(TooLarge { max: self.max });
        }
        let mut bytes = std::mem::take(&mut *self.bytes.borrow_mut());
        if bytes.starts_with(b"\xEF\xBB\xBF") {
            bytes.drain(..3);
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_strips_the_bom_and_caps() {
        let b = DocumentBuffer::new(8);
        b.feed(b"\xEF\xBB\xBF{");
        b.feed(b"}");
        assert_eq!(b.take().unwrap(), b"{}");
        let b = DocumentBuffer::new(4);
        b.feed(b"abc");
        b.feed(b"de");
        b.feed(b"f");
        assert_eq!(b.take(), Err(TooLarge { max: 4 }));
    }
}
