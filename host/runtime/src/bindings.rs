//! Host-side bindings for every `tessera:plugin` version this host runs,
//! generated from `wit/v0.1` (frozen) and `wit/v0.2`. Within a version the
//! shared `types` and `host` interfaces are generated once (with the
//! fragment world) and reused by the other two worlds, so one `Host`
//! implementation per version serves every plugin. [`crate::adapter`]
//! turns each version's values into the host's own.

macro_rules! contract {
    ($version:ident, $path:tt) => {
        pub(crate) mod $version {
            pub(crate) mod fragment {
                wasmtime::component::bindgen!({ world: "fragment", path: $path });
            }

            pub(crate) mod translator {
                wasmtime::component::bindgen!({
                    world: "translator",
                    path: $path,
                    with: {
                        "tessera:plugin/types": super::fragment::tessera::plugin::types,
                        "tessera:plugin/host": super::fragment::tessera::plugin::host,
                    },
                });
            }

            pub(crate) mod formatter {
                wasmtime::component::bindgen!({
                    world: "formatter",
                    path: $path,
                    with: {
                        "tessera:plugin/types": super::fragment::tessera::plugin::types,
                        "tessera:plugin/host": super::fragment::tessera::plugin::host,
                    },
                });
            }

            pub(crate) use fragment::tessera::plugin::{host, types};
        }
    };
}

contract!(v0_1, "../../wit/v0.1");
contract!(v0_2, "../../wit/v0.2");
