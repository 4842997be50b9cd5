//! `typst-pdf`: a tessera formatter that typesets the document's Typst
//! markup (produced by the tenant's Tera print template) into a PDF, with
//! the fonts shipped inside the component.
//!
//! The typesetting core ([`typeset`]) is plain Rust so that benchmarks can
//! run exactly the same work natively; the WIT glue exists only when built
//! for WebAssembly.
//!
//! Speed comes from state kept across the documents of one run — parsed
//! fonts, the standard library and Typst's memoisation caches — which is
//! why the plugin declares `reuse = "run"`: the host keeps one instance per
//! worker for a tenant's run only when the tenant grants that, and a fresh
//! instance otherwise (then each document pays for parsing the fonts).

#[cfg(target_arch = "wasm32")]
mod component;
mod world;

pub use world::{Setup, Standard, TypesetError, typeset};
