//! The pure foundations of warren's syncer role: a virtual cluster's workloads placed on a real
//! host cluster, compatible with vCluster.
//!
//! - [`config`]: `vcluster.yaml` (both key generations) parsed into typed, defaulted settings.
//! - [`names`]: host names, namespaces, label keys and annotations exactly as vCluster derives them.
//! - [`translate`]: virtual object -> host object (and back) as pure functions.
//!
//! - [`sync`]: the sync loops that call them, against both clusters (kube-rs).
//!
//! `config`, `names` and `translate` do no I/O: the sync loops call them with what they read.

pub mod config;
pub mod names;
pub mod sync;
pub mod translate;
