//! Host-side bindings for the three worlds of `tessera:plugin@0.1.0`,
//! generated from `wit/v0.1`. The shared `types` and `host` interfaces are
//! generated once (with the fragment world) and reused by the other two, so
//! one `Host` implementation serves every plugin.

pub(crate) mod fragment {
    wasmtime::component::bindgen!({
        world: "fragment",
        path: "../../wit/v0.1",
    });
}

pub(crate) mod translator {
    wasmtime::component::bindgen!({
        world: "translator",
        path: "../../wit/v0.1",
        with: {
            "tessera:plugin/types": super::fragment::tessera::plugin::types,
            "tessera:plugin/host": super::fragment::tessera::plugin::host,
        },
    });
}

pub(crate) mod formatter {
    wasmtime::component::bindgen!({
        world: "formatter",
        path: "../../wit/v0.1",
        with: {
            "tessera:plugin/types": super::fragment::tessera::plugin::types,
            "tessera:plugin/host": super::fragment::tessera::plugin::host,
        },
    });
}

pub(crate) use fragment::tessera::plugin::{host, types};
