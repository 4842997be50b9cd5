//! The `tessera:plugin` contract, one module per frozen version.
//!
//! Each version's module holds all there is of that version: its bindings
//! (generated from `wit/vX.Y/`), the conversions between its values and the
//! host's own ([`crate::types`]), and its host calls, which delegate to the
//! one host implementation in [`crate::sandbox`]. Nothing outside this
//! module names a version: [`for_version`] picks the version a plugin was
//! built for from [`CONTRACTS`], and the plugin is then called through the
//! world traits below. A new contract version is one new file here and one
//! line in [`CONTRACTS`]; the older ones are never edited again.
//!
//! The per-call cost of the indirection is one virtual call and one small
//! box per instance, against an instantiation of several microseconds.

use crate::error::FaultKind;
use crate::sandbox::Sandbox;
use crate::types::{Cut, DocumentInput, Formatted, Rendered, TranslateOutcome};
use semver::Version;
use wasmtime::Store;
use wasmtime::component::{InstancePre, Linker, ResourceAny};

/// Generates a version's bindings: the three worlds, with the shared
/// `types` and `host` interfaces generated once (with the fragment world)
/// and reused by the other two, so one host implementation per version
/// serves every world.
macro_rules! bindings {
    ($path:tt) => {
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
    };
}

/// The conversions whose shape every version so far shares (a version
/// whose values differ writes its own instead of invoking this).
macro_rules! shared_conversions {
    () => {
        use crate::types::{ContractError, ErrorCode as HostCode, SourceLocation};
        use bindings::types::{Entry, ErrorCode, Location, PluginError};

        fn location(l: Location) -> SourceLocation {
            SourceLocation { source: l.source, line: l.line, column: l.column, field: l.field }
        }

        fn wit_location(l: SourceLocation) -> Location {
            Location { source: l.source, line: l.line, column: l.column, field: l.field }
        }

        fn code(code: ErrorCode) -> HostCode {
            match code {
                ErrorCode::InvalidInput => HostCode::InvalidInput,
                ErrorCode::MissingData => HostCode::MissingData,
                ErrorCode::Unsupported => HostCode::Unsupported,
                ErrorCode::Denied => HostCode::Denied,
                ErrorCode::Internal => HostCode::Internal,
            }
        }

        fn wit_code(code: HostCode) -> ErrorCode {
            match code {
                HostCode::InvalidInput => ErrorCode::InvalidInput,
                HostCode::MissingData => ErrorCode::MissingData,
                HostCode::Unsupported => ErrorCode::Unsupported,
                HostCode::Denied => ErrorCode::Denied,
                HostCode::Internal => ErrorCode::Internal,
            }
        }

        /// A `plugin-error` the plugin returned.
        fn reported(e: PluginError) -> FaultKind {
            ContractError { code: code(e.code), message: e.message, location: e.location.map(location) }.into()
        }

        /// A host call's error, for the plugin.
        fn wit_error(e: ContractError) -> PluginError {
            PluginError { code: wit_code(e.code), message: e.message, location: e.location.map(wit_location) }
        }

        fn level(level: bindings::types::LogLevel) -> crate::types::LogLevel {
            use crate::types::LogLevel as Host;
            use bindings::types::LogLevel as Wit;
            match level {
                Wit::Debug => Host::Debug,
                Wit::Info => Host::Info,
                Wit::Warn => Host::Warn,
                Wit::Error => Host::Error,
            }
        }

        fn outcome(o: Outcome) -> TranslateOutcome {
            match o {
                Outcome::Translated(e) => TranslateOutcome::Record { cdm: e.cdm, location: e.location.map(location) },
                Outcome::Rejected(e) => TranslateOutcome::Rejected {
                    code: code(e.code).as_str().into(),
                    message: e.message,
                    location: e.location.map(location),
                },
            }
        }

        fn entries(pairs: &[(String, String)]) -> Vec<Entry> {
            pairs.iter().map(|(name, value)| Entry { name: name.clone(), value: value.clone() }).collect()
        }

        fn rendered(r: WitRendered) -> Rendered {
            Rendered { html: r.html, text: r.text }
        }

        fn document(doc: DocumentInput) -> Document {
            Document {
                channel: doc.channel,
                document_id: doc.document_id,
                html: doc.html,
                text: doc.text,
                subject: doc.subject,
                metadata: doc.metadata.into_iter().map(|(name, value)| Entry { name, value }).collect(),
            }
        }

        /// The version's host calls: the host's one implementation, in this version's types.
        impl bindings::host::Host for Sandbox {
            fn log(&mut self, level_: bindings::types::LogLevel, message: String) {
                self.plugin_log(level(level_), message);
            }

            fn read_asset(&mut self, path: String) -> Result<Vec<u8>, PluginError> {
                self.read_granted_asset(&path).map_err(wit_error)
            }

            fn as_of(&mut self) -> String {
                self.as_of_date().to_owned()
            }
        }

        impl bindings::types::Host for Sandbox {}
    };
}

/// Implements the world traits for a version's generated types, all but
/// the translator instance's calls; the version module provides `outcome`,
/// `entries`, `rendered`, `document`, `formatted` and `reported`.
macro_rules! worlds_common {
    ($version:expr, splits: $splits:expr) => {
        use bindings::formatter::exports::tessera::plugin::format::Document;
        use bindings::fragment::exports::tessera::plugin::render::Rendered as WitRendered;
        use bindings::translator::exports::tessera::plugin::translate::Outcome;
        use wasmtime::Store;
        use wasmtime::component::{HasSelf, InstancePre, Linker, ResourceAny};

        /// This version, for [`super::CONTRACTS`].
        pub(crate) struct This;

        impl super::Contract for This {
            fn version(&self) -> semver::Version {
                $version
            }

            fn splits_sources(&self) -> bool {
                $splits
            }

            fn link(&self, linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
                bindings::types::add_to_linker::<Sandbox, HasSelf<Sandbox>>(linker, |s| s)?;
                bindings::host::add_to_linker::<Sandbox, HasSelf<Sandbox>>(linker, |s| s)
            }

            fn translator(&self, pre: InstancePre<Sandbox>) -> wasmtime::Result<Box<dyn super::TranslatorPre>> {
                Ok(Box::new(bindings::translator::TranslatorPre::new(pre)?))
            }

            fn fragment(&self, pre: InstancePre<Sandbox>) -> wasmtime::Result<Box<dyn super::FragmentPre>> {
                Ok(Box::new(bindings::fragment::FragmentPre::new(pre)?))
            }

            fn formatter(&self, pre: InstancePre<Sandbox>) -> wasmtime::Result<Box<dyn super::FormatterPre>> {
                Ok(Box::new(bindings::formatter::FormatterPre::new(pre)?))
            }
        }

        impl super::FragmentPre for bindings::fragment::FragmentPre<Sandbox> {
            fn instantiate(&self, store: &mut Store<Sandbox>) -> wasmtime::Result<Box<dyn super::FragmentInstance>> {
                Ok(Box::new(self.instantiate(store)?))
            }
        }

        impl super::FragmentInstance for bindings::fragment::Fragment {
            fn render(
                &self,
                store: &mut Store<Sandbox>,
                name: &str,
                params: &[(String, String)],
                context_json: &str,
            ) -> wasmtime::Result<Result<Rendered, FaultKind>> {
                let result = self.tessera_plugin_render().call_render(store, name, &entries(params), context_json)?;
                Ok(result.map(rendered).map_err(reported))
            }
        }

        impl super::FormatterPre for bindings::formatter::FormatterPre<Sandbox> {
            fn instantiate(&self, store: &mut Store<Sandbox>) -> wasmtime::Result<Box<dyn super::FormatterInstance>> {
                Ok(Box::new(self.instantiate(store)?))
            }
        }

        impl super::FormatterInstance for bindings::formatter::Formatter {
            fn format(
                &self,
                store: &mut Store<Sandbox>,
                doc: DocumentInput,
            ) -> wasmtime::Result<Result<Formatted, FaultKind>> {
                let result = self.tessera_plugin_format().call_format(store, &document(doc))?;
                Ok(result.map(formatted).map_err(reported))
            }
        }

        impl super::TranslatorPre for bindings::translator::TranslatorPre<Sandbox> {
            fn instantiate(&self, store: &mut Store<Sandbox>) -> wasmtime::Result<Box<dyn super::TranslatorInstance>> {
                Ok(Box::new(self.instantiate(store)?))
            }
        }
    };
}

/// The translator of a version whose session has no cuts (before 0.3.0):
/// the source is always translated whole.
macro_rules! whole_source_translator {
    () => {
        impl super::TranslatorInstance for bindings::translator::Translator {
            fn open(&self, store: &mut Store<Sandbox>, source: &str) -> wasmtime::Result<ResourceAny> {
                self.tessera_plugin_translate().session().call_constructor(store, source)
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

            fn finish(
                &self,
                store: &mut Store<Sandbox>,
                session: ResourceAny,
            ) -> wasmtime::Result<Vec<TranslateOutcome>> {
                let outcomes = self.tessera_plugin_translate().session().call_finish(store, session)?;
                Ok(outcomes.into_iter().map(outcome).collect())
            }
        }
    };
}

/// Both: every world of a version before 0.3.0.
macro_rules! worlds {
    ($version:expr) => {
        worlds_common!($version, splits: false);
        whole_source_translator!();
    };
}

mod v0_1;
mod v0_2;
mod v0_3;

/// Every contract release this host runs, oldest first. A release is frozen
/// once listed: plugins built for it keep running on every later host of
/// the same major version.
pub(crate) const CONTRACTS: &[&dyn Contract] = &[&v0_1::This, &v0_2::This, &v0_3::This];

/// The newest `tessera:plugin` version this host implements.
pub fn host_contract() -> Version {
    CONTRACTS.last().expect("the host runs at least one contract").version()
}

/// Every contract release this host runs, oldest first.
pub fn supported_contracts() -> Vec<Version> {
    CONTRACTS.iter().map(|c| c.version()).collect()
}

/// Does this host run plugins built for `v`? It does for every release it
/// lists, and for an older patch of one; never for a newer one.
pub fn host_supports(v: &Version) -> bool {
    for_version(v).is_some()
}

/// The supported releases, as `0.1.0, 0.2.0, 0.3.0`.
pub fn supported_list() -> String {
    supported_contracts().iter().map(Version::to_string).collect::<Vec<_>>().join(", ")
}

/// One contract version: how to link its host interfaces and how to wrap a
/// linked component of each world.
pub(crate) trait Contract: Sync {
    /// The release, e.g. 0.2.0.
    fn version(&self) -> Version;
    /// Can its translators cut a source into shards (0.3.0 and later)?
    fn splits_sources(&self) -> bool;
    /// Adds this version's `types` and `host` interfaces to the linker.
    fn link(&self, linker: &mut Linker<Sandbox>) -> wasmtime::Result<()>;
    /// A linked translator of this version.
    fn translator(&self, pre: InstancePre<Sandbox>) -> wasmtime::Result<Box<dyn TranslatorPre>>;
    /// A linked fragment of this version.
    fn fragment(&self, pre: InstancePre<Sandbox>) -> wasmtime::Result<Box<dyn FragmentPre>>;
    /// A linked formatter of this version.
    fn formatter(&self, pre: InstancePre<Sandbox>) -> wasmtime::Result<Box<dyn FormatterPre>>;
}

/// The release that runs plugins built for `v`: the same major and minor,
/// and a patch no newer than the host's (never a pre-release).
pub(crate) fn for_version(v: &Version) -> Option<&'static dyn Contract> {
    if !v.pre.is_empty() || !v.build.is_empty() {
        return None;
    }
    CONTRACTS.iter().copied().find(|c| {
        let s = c.version();
        s.major == v.major && s.minor == v.minor && v.patch <= s.patch
    })
}

/// Adds every version's host interfaces to the linker: a 0.1.0 plugin
/// finds `tessera:plugin/host@0.1.0`, a 0.2.0 plugin `@0.2.0`.
pub(crate) fn link_all(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    CONTRACTS.iter().try_for_each(|c| c.link(linker))
}

/// A linked fragment, of whichever version.
pub(crate) trait FragmentPre: Send + Sync {
    /// A fresh instance in `store`.
    fn instantiate(&self, store: &mut Store<Sandbox>) -> wasmtime::Result<Box<dyn FragmentInstance>>;
}

/// A fragment instance.
pub(crate) trait FragmentInstance: Send {
    /// `render(name, params, context)`; the outer error is a trap, the inner one the plugin's.
    fn render(
        &self,
        store: &mut Store<Sandbox>,
        name: &str,
        params: &[(String, String)],
        context_json: &str,
    ) -> wasmtime::Result<Result<Rendered, FaultKind>>;
}

/// A linked formatter, of whichever version.
pub(crate) trait FormatterPre: Send + Sync {
    /// A fresh instance in `store`.
    fn instantiate(&self, store: &mut Store<Sandbox>) -> wasmtime::Result<Box<dyn FormatterInstance>>;
}

/// A formatter instance.
pub(crate) trait FormatterInstance: Send {
    /// `format(document)`; the outer error is a trap, the inner one the plugin's.
    fn format(&self, store: &mut Store<Sandbox>, doc: DocumentInput) -> wasmtime::Result<Result<Formatted, FaultKind>>;
}

/// A linked translator, of whichever version.
pub(crate) trait TranslatorPre: Send + Sync {
    /// A fresh instance in `store`.
    fn instantiate(&self, store: &mut Store<Sandbox>) -> wasmtime::Result<Box<dyn TranslatorInstance>>;
}

/// A translator instance: a session resource per source (or per part of
/// one, from 0.3.0), and from 0.3.0 a splitter resource that finds the cuts.
pub(crate) trait TranslatorInstance: Send {
    /// Opens a session that starts at `start` (only where the contract splits sources).
    fn open_at(&self, store: &mut Store<Sandbox>, source: &str, start: &Cut) -> wasmtime::Result<ResourceAny> {
        let _ = (store, source, start);
        Err(wasmtime::format_err!("this contract version has no sessions that start at a cut"))
    }
    /// Opens a splitter (only where the contract splits sources).
    fn open_splitter(&self, store: &mut Store<Sandbox>, source: &str, min_gap: u64) -> wasmtime::Result<ResourceAny> {
        let _ = (store, source, min_gap);
        Err(wasmtime::format_err!("this contract version has no splitter"))
    }
    /// Feeds a chunk to a splitter; the cuts found.
    fn split_feed(
        &self,
        store: &mut Store<Sandbox>,
        splitter: ResourceAny,
        chunk: &[u8],
    ) -> wasmtime::Result<Vec<Cut>> {
        let _ = (store, splitter, chunk);
        Err(wasmtime::format_err!("this contract version has no splitter"))
    }
    /// Ends a splitter's source; the cuts still pending.
    fn split_finish(&self, store: &mut Store<Sandbox>, splitter: ResourceAny) -> wasmtime::Result<Vec<Cut>> {
        let _ = (store, splitter);
        Err(wasmtime::format_err!("this contract version has no splitter"))
    }
    /// Opens a session for the source named `source`.
    fn open(&self, store: &mut Store<Sandbox>, source: &str) -> wasmtime::Result<ResourceAny>;
    /// Feeds a chunk; the records it completed.
    fn feed(
        &self,
        store: &mut Store<Sandbox>,
        session: ResourceAny,
        chunk: &[u8],
    ) -> wasmtime::Result<Vec<TranslateOutcome>>;
    /// Ends the source; the remaining records.
    fn finish(&self, store: &mut Store<Sandbox>, session: ResourceAny) -> wasmtime::Result<Vec<TranslateOutcome>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    #[test]
    fn every_listed_release_runs_and_nothing_newer() {
        assert_eq!(for_version(&v("0.1.0")).map(|c| c.version()), Some(v("0.1.0")));
        assert_eq!(for_version(&v("0.2.0")).map(|c| c.version()), Some(v("0.2.0")));
        assert_eq!(for_version(&v("0.3.0")).map(|c| c.version()), Some(v("0.3.0")));
        assert!(for_version(&v("0.4.0")).is_none());
        assert!(for_version(&v("9.0.0")).is_none());
        assert!(for_version(&v("0.1.1")).is_none(), "a newer patch of the contract is newer than the host");
        assert!(for_version(&v("0.2.0-rc.1")).is_none(), "a pre-release is not the release");
        assert!(host_supports(&v("0.3.0")) && !host_supports(&v("0.4.0")));
        assert_eq!(supported_list(), "0.1.0, 0.2.0, 0.3.0");
        assert_eq!(host_contract(), v("0.3.0"));
    }

    #[test]
    fn releases_are_listed_oldest_first_and_once() {
        let versions: Vec<Version> = CONTRACTS.iter().map(|c| c.version()).collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    }
}
