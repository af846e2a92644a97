//! Label and field selectors, parsed and evaluated the way kube-apiserver does.
//!
//! * [`LabelSelector`] — the `?labelSelector=` string form (`labels.Parse`) and the
//!   `metav1.LabelSelector` JSON form (`matchLabels` / `matchExpressions`).
//! * [`FieldSelector`] — the `?fieldSelector=` string form (`fields.ParseSelector`) with the
//!   per-kind field sets kube-apiserver supports.
//!
//! Every error message is the one Kubernetes produces, so callers can wrap it in a
//! `400 BadRequest` Status unchanged.

pub mod field;
pub mod label;

#[cfg(test)]
mod field_tests;
#[cfg(test)]
mod label_tests;

pub use field::{FieldOp, FieldRequirement, FieldSelector, field_value, supported_fields};
pub use label::{LabelSelector, Labels, Operator, Requirement, format_labels};

/// A selector that could not be parsed, built or applied. The message is Kubernetes' own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// A label selector (string or `metav1.LabelSelector`) is malformed or invalid,
    /// e.g. `unable to parse requirement: ...`.
    #[error("{0}")]
    InvalidLabelSelector(String),
    /// A field selector string is malformed, e.g. `invalid selector: 'x'; can't understand 'x'`.
    #[error("{0}")]
    InvalidFieldSelector(String),
    /// A field selector names a field the kind does not support,
    /// e.g. `field label not supported: spec.foo`.
    #[error("{0}")]
    UnsupportedField(String),
}

/// Go's `%q` for a string (`strconv.Quote`): double quotes, with `\"`, `\\`, the C escapes
/// and `\x..`/`\u....` for what is not printable.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
