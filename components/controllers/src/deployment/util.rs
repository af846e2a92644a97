//! Pure rollout arithmetic.
