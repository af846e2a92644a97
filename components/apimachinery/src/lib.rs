//! Kubernetes object model with no I/O: resource registry, schemas, selectors, patch engines,
//! protobuf decoding, validation, Status errors and Tables.
#![forbid(unsafe_code)]

pub mod apply;
pub mod crd;
pub mod defaults;
pub mod error;
pub mod limitrange;
pub mod patch;
pub mod protobuf;
pub mod quantity;
pub mod quota;
pub mod rbac;
pub mod registry;
pub mod schema;
pub mod selector;
pub mod structural;
pub mod table;
pub mod validation;
