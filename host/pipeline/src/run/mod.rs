//! Running the stages: a batch of one source file ([`batch`]) with its
//! parameters ([`job`]), the work that travels between the stages
//! ([`crate::flow`]), the worker stage that produces a document's outputs in
//! memory ([`produce`]) and the one that writes them whole ([`write`]), the
//! committer that keeps input order ([`commit`]) with its running account
//! ([`tally`]), checkpoints ([`checkpoint`]) and resume ([`resume`]); and
//! one record rendered on demand, in memory ([`on_demand`]); and one shard
//! rendered for a run elsewhere, by a cluster's worker ([`shard`]).
//!
//! ```text
//! source ─► produce (validate, compose, channels, verify) ─► write ─► commit (manifest, tally, checkpoint)
//! ```

pub mod batch;
pub mod checkpoint;
pub mod commit;
pub mod job;
pub mod on_demand;
pub mod produce;
pub mod resume;
pub mod shard;
pub mod tally;
pub mod write;
