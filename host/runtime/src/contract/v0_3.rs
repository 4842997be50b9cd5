//! Contract 0.3.0, frozen: a translator can cut a source into shards — a
//! `splitter` finds the cuts, and a `session` can start at one.

use crate::error::FaultKind;
use crate::sandbox::Sandbox;
use crate::types::{Cut, DocumentInput, Formatted, Rendered, TranslateOutcome};

mod bindings {
    bindings!("../../wit/v0.3");
}

shared_conversions!();
worlds_common!(semver::Version::new(0, 3, 0), splits: true);

use bindings::translator::exports::tessera::plugin::translate::Cut as WitCut;

/// A 0.3.0 formatter's output, with the page count it may state.
fn formatted(f: bindings::formatter::exports::tessera::plugin::format::Formatted) -> Formatted {
    Formatted { bytes: f.bytes, media_type: f.media_type, extension: f.extension, pages: f.pages }
}

fn cut(c: WitCut) -> Cut {
    Cut { offset: c.offset, line: c.line, state: c.state }
}

fn wit_cut(c: &Cut) -> WitCut {
    WitCut { offset: c.offset, line: c.line, state: c.state.clone() }
}

impl super::TranslatorInstance for bindings::translator::Translator {
    fn open(&self, store: &mut Store<Sandbox>, source: &str) -> wasmtime::Result<ResourceAny> {
        self.tessera_plugin_translate().session().call_constructor(store, source, None)
    }

    fn open_at(&self, store: &mut Store<Sandbox>, source: &str, start: &Cut) -> wasmtime::Result<ResourceAny> {
        self.tessera_plugin_translate().session().call_constructor(store, source, Some(&wit_cut(start)))
    }

    fn feed(
        &self,
        store: &mut Store<Sandbox>,
        session: ResourceAny,
        chunk: &[u8],
    ) -> wasmtime::Result<Vec<TranslateOutcome>> {
        let outcomes = self.tessera_plugin_translate().session().call_feed(store, session, chunk)?;
        Ok(outcomes.into_iter().map(outcome).collect())
    }

    fn finish(&self, store: &mut Store<Sandbox>, session: ResourceAny) -> wasmtime::Result<Vec<TranslateOutcome>> {
        let outcomes = self.tessera_plugin_translate().session().call_finish(store, session)?;
        Ok(outcomes.into_iter().map(outcome).collect())
    }

    fn open_splitter(&self, store: &mut Store<Sandbox>, source: &str, min_gap: u64) -> wasmtime::Result<ResourceAny> {
        self.tessera_plugin_translate().splitter().call_constructor(store, source, min_gap)
    }

    fn split_feed(
        &self,
        store: &mut Store<Sandbox>,
        splitter: ResourceAny,
        chunk: &[u8],
    ) -> wasmtime::Result<Vec<Cut>> {
        let cuts = self.tessera_plugin_translate().splitter().call_feed(store, splitter, chunk)?;
        Ok(cuts.into_iter().map(cut).collect())
    }

    fn split_finish(&self, store: &mut Store<Sandbox>, splitter: ResourceAny) -> wasmtime::Result<Vec<Cut>> {
        let cuts = self.tessera_plugin_translate().splitter().call_finish(store, splitter)?;
        Ok(cuts.into_iter().map(cut).collect())
    }
}
