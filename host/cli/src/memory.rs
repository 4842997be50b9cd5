//! Giving memory the process no longer uses back to the system.
//!
//! mimalloc keeps a thread's freed pages for that thread's next
//! allocations and purges them only when the thread allocates again.
//! wasmtime compiles a component on rayon's worker threads, which then sit
//! idle for the rest of the run: what Cranelift freed on them stayed
//! resident. `bench batch` (ACME, 30,000 records) with an empty compile
//! cache peaked at 285 MiB against 101 MiB with a warm one.

/// Runs a compile, then collects every thread's free pages: rayon's
/// workers (where the compiler ran) and the calling thread (where the
/// serialised copy was made). Measured (`bench batch`, ACME, 30,000
/// records, empty cache): peak RSS of the runs 285 → 201–212 MiB; a warm
/// cache gives ~105. What is left is freed memory mimalloc holds until its
/// purge delay has passed (with `MIMALLOC_PURGE_DELAY=0`: 157 MiB).
pub fn compile_returning_memory(compile: &mut dyn FnMut()) {
    compile();
    rayon::broadcast(|_| collect());
    collect();
}

#[allow(unsafe_code)]
fn collect() {
    // SAFETY: `mi_collect` takes no pointers and may be called on any
    // thread at any time; mimalloc is the process's allocator (main.rs).
    unsafe { libmimalloc_sys::mi_collect(true) }
}
