//! Pure translations between virtual and host objects, called by the sync loops with what
//! they read from both clusters. Inputs and outputs are k8s-openapi types.

pub mod classes;
pub mod ingress;
pub mod metadata;
pub mod network_policy;
pub mod pdb;
pub mod pod;
pub mod replicate;
pub mod selectors;
pub mod service;

/// `value` without fields that are null, empty lists or empty objects (at any depth; list
/// items are kept, `[{}]` is not `[]`): how the API server stores what a client sent
/// (`omitempty`), for comparing what was sent with what is stored.
pub fn without_empty(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    fn empty(value: &Value) -> bool {
        match value {
            Value::Null => true,
            Value::Array(items) => items.is_empty(),
            Value::Object(map) => map.is_empty(),
            _ => false,
        }
    }
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(without_empty).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, without_empty(v)))
                .filter(|(_, v)| !empty(v))
                .collect(),
        ),
        other => other,
    }
}

/// A virtual object that can't be put on the host as it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    /// The sync loop did not supply the token a projected service account token needs
    /// (see [`pod::service_account_tokens`]).
    #[error(
        "pod {pod}: no service account token supplied for volume {volume} (annotation {annotation})"
    )]
    MissingServiceAccountToken {
        pod: String,
        volume: String,
        annotation: String,
    },
    /// The virtual pod has no spec.
    #[error("pod {pod}: no spec")]
    MissingSpec { pod: String },
}
