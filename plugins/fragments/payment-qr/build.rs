//! Links the component with enough initial linear memory for one render
//! (measured peak: 1,152 KiB), so a fresh instance never grows its memory:
//! each growth costs the host an mprotect and a TLB flush per document.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo::rustc-link-arg-cdylib=--initial-memory=1310720");
    }
}
