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

/// Talc instead of wasi-libc's dlmalloc: Typst allocates and frees small
/// objects all through layout, and dlmalloc's paths were 7.6% of a
/// letter's time in the sandbox.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
mod world;

pub use world::{Setup, Standard, TypesetError, typeset};
