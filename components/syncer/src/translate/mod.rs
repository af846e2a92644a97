//! Pure translations between virtual and host objects, called by the sync loops with what
//! they read from both clusters. Inputs and outputs are k8s-openapi types.

pub mod metadata;
pub mod pod;
pub mod replicate;
pub mod selectors;
pub mod service;

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
