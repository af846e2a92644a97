//! PATCH engines over `serde_json::Value`: JSON patch (RFC 6902), JSON merge patch (RFC 7386)
//! and Kubernetes strategic merge patch. Server-side apply is recognised here
//! ([`PatchType::Apply`]) but implemented elsewhere.

mod meta;
mod strategic;
#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::error::{ApiError, Reason};

pub use meta::{FieldPatchMeta, PatchStrategy, field_patch_meta};
pub use strategic::strategic_merge_patch;

/// kube-apiserver's limit on the operations of one JSON patch.
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// The patch format, from the request's Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    StrategicMerge,
    Apply,
}

impl PatchType {
    /// Recognises the media type, ignoring parameters (`; charset=utf-8`) and case.
    pub fn from_content_type(ct: &str) -> Option<PatchType> {
        let media = ct.split(';').next().unwrap_or_default().trim();
        [
            PatchType::Json,
            PatchType::Merge,
            PatchType::StrategicMerge,
            PatchType::Apply,
        ]
        .into_iter()
        .find(|t| t.content_type().eq_ignore_ascii_case(media))
    }

    pub fn content_type(self) -> &'static str {
        match self {
            PatchType::Json => "application/json-patch+json",
            PatchType::Merge => "application/merge-patch+json",
            PatchType::StrategicMerge => "application/strategic-merge-patch+json",
            PatchType::Apply => "application/apply-patch+yaml",
        }
    }
}

/// A patch that cannot be applied. Messages follow kube-apiserver's (Go `%v` renderings
/// included); [`PatchError::reason`] gives the Status reason.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum PatchError {
    /// The body is not a JSON patch document.
    #[error("{0}")]
    InvalidJsonPatch(String),
    #[error(
        "The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {0}"
    )]
    TooManyOperations(usize),
    /// An operation failed (bad path, failed `test`).
    #[error("{0}")]
    JsonPatchFailed(String),
    /// A strategic merge patch that is not a JSON object (the JSON kind it is instead).
    #[error("json: cannot unmarshal {0} into Go value of type map[string]interface {{}}")]
    NotAnObject(&'static str),
    #[error("invalid JSON document")]
    BadJsonDoc,
    #[error("map: {map} does not contain declared merge key: {key}")]
    NoMergeKey { map: String, key: String },
    #[error("unknown patch type: {directive} in map: {map}")]
    BadPatchType { directive: String, map: String },
    #[error("merging lists cannot yet be specified in the patch")]
    MergeListDirective,
    #[error("cannot merge lists without merge key for {0}")]
    NoMergeKeyDeclared(String),
    #[error("lists of lists are not supported")]
    ListOfLists,
    #[error("list element types are not identical: {0}")]
    MixedListTypes(String),
    #[error("expected a {expected}, but received a {actual}")]
    BadArgType { expected: String, actual: String },
    #[error("invalid patch format of primitive list")]
    BadPrimitiveListFormat,
    #[error("invalid patch format of retainKeys")]
    BadRetainKeysFormat,
    #[error("invalid patch format of setElementOrder list")]
    BadSetElementOrderFormat,
    #[error("The order in patch list:\n{patch}\n doesn't match $setElementOrder list:\n{order}\n")]
    SetElementOrderMismatch { patch: String, order: String },
}

impl PatchError {
    /// BadRequest (400) for malformed patches, RequestEntityTooLarge (413) for too many JSON
    /// patch operations, Invalid (422) for patches that do not apply to the object.
    pub fn reason(&self) -> Reason {
        match self {
            PatchError::InvalidJsonPatch(_)
            | PatchError::NotAnObject(_)
            | PatchError::BadJsonDoc
            | PatchError::BadPrimitiveListFormat
            | PatchError::BadRetainKeysFormat
            | PatchError::BadSetElementOrderFormat => Reason::BadRequest,
            PatchError::TooManyOperations(_) => Reason::RequestEntityTooLarge,
            _ => Reason::Invalid,
        }
    }

    pub fn code(&self) -> u16 {
        self.reason().code()
    }
}

impl From<PatchError> for ApiError {
    fn from(e: PatchError) -> ApiError {
        match e {
            // kube answers a failed JSON patch with a generic 422 and the detail as a cause
            PatchError::JsonPatchFailed(detail) => {
                let mut err = ApiError::new(
                    Reason::Invalid,
                    "the server rejected our request due to an error in our request",
                );
                err.causes = vec![serde_json::json!({
                    "reason": "UnexpectedServerResponse",
                    "message": detail,
                })];
                err
            }
            e @ PatchError::TooManyOperations(_) => {
                ApiError::new(e.reason(), format!("Request entity too large: {e}"))
            }
            e => ApiError::new(e.reason(), e.to_string()),
        }
    }
}

/// Applies an RFC 6902 JSON patch. The document is untouched on failure.
pub fn json_patch(doc: &Value, patch: &Value) -> Result<Value, PatchError> {
    let ops: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| PatchError::InvalidJsonPatch(e.to_string()))?;
    if ops.0.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(PatchError::TooManyOperations(ops.0.len()));
    }
    let mut out = doc.clone();
    for op in &ops.0 {
        // evanphx/json-patch (kube's engine) lets `test` with a null value pass on a missing
        // path; clients rely on it (kube-rs's finalizer helper tests /metadata/finalizers).
        if let json_patch::PatchOperation::Test(t) = op
            && t.value.is_null()
            && out.pointer(t.path.as_str()).is_none_or(Value::is_null)
        {
            continue;
        }
        let one = std::slice::from_ref(op);
        json_patch::patch_unsafe(&mut out, one)
            .map_err(|e| PatchError::JsonPatchFailed(describe_json_patch_error(one, &e)))?;
    }
    Ok(out)
}

/// Words a failed operation as evanphx/json-patch (kube's engine) does.
fn describe_json_patch_error(
    ops: &[json_patch::PatchOperation],
    e: &json_patch::PatchError,
) -> String {
    use json_patch::{PatchErrorKind as K, PatchOperation as Op};
    let path = e.path.as_str();
    match (&e.kind, ops.get(e.operation)) {
        (K::TestFailed, _) => format!("testing value {path} failed: test failed"),
        (K::InvalidFromPointer, Some(Op::Move(m))) => format!(
            "move operation does not apply: doc is missing from path: {}: missing value",
            m.from
        ),
        (K::InvalidFromPointer, Some(Op::Copy(c))) => format!(
            "copy operation does not apply: doc is missing from path: {}: missing value",
            c.from
        ),
        (K::CannotMoveInsideItself, _) => {
            format!("move operation does not apply: cannot move {path} inside itself")
        }
        (K::InvalidPointer, Some(op)) => match op {
            Op::Add(_) => {
                format!(
                    "add operation does not apply: doc is missing path: {path:?}: missing value"
                )
            }
            Op::Remove(_) => format!(
                "remove operation does not apply: doc is missing path: {path:?}: missing value"
            ),
            Op::Replace(_) => {
                format!(
                    "replace operation does not apply: doc is missing path: {path}: missing value"
                )
            }
            Op::Test(_) => format!("testing value {path} failed: missing value"),
            Op::Move(_) | Op::Copy(_) => format!(
                "{} operation does not apply: doc is missing destination path: {path}: missing value",
                if matches!(op, Op::Move(_)) {
                    "move"
                } else {
                    "copy"
                }
            ),
        },
        _ => e.to_string(),
    }
}

/// Applies an RFC 7386 JSON merge patch: objects merge, `null` deletes, anything else replaces.
pub fn merge_patch(doc: &Value, patch: &Value) -> Result<Value, PatchError> {
    let mut out = doc.clone();
    json_patch::merge(&mut out, patch);
    Ok(out)
}

/// Go's `%v` rendering of decoded JSON (`map[k:v ...]` with sorted keys, `[a b]`, `<nil>`),
/// which kube's patch errors embed.
pub(crate) fn go_fmt(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), go_float),
        Value::String(s) => s.clone(),
        Value::Array(a) => go_fmt_list(a),
        Value::Object(m) => {
            let fields: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_fmt(v)))
                .collect();
            format!("map[{}]", fields.join(" "))
        }
    }
}

pub(crate) fn go_fmt_list(a: &[Value]) -> String {
    let items: Vec<String> = a.iter().map(go_fmt).collect();
    format!("[{}]", items.join(" "))
}

/// A float64 as Go's `%v` prints it: shortest digits, exponent form outside [1e-4, 1e6).
fn go_float(f: f64) -> String {
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or_default();
    if f != 0.0 && !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    } else {
        format!("{f}")
    }
}

/// The Go type name of decoded JSON, as kube's `expected a X, but received a Y` errors print it.
pub(crate) fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}
