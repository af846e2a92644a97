//! Kubernetes `Status` errors with the reasons, codes and message wording of kube-apiserver,
//! because kubectl prints `message` verbatim and branches on `reason`/`code`.

use serde_json::{Value, json};

/// The `reason` of a failure `Status` (metav1.StatusReason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    AlreadyExists,
    Conflict,
    Gone,
    Expired,
    Invalid,
    MethodNotAllowed,
    NotAcceptable,
    RequestEntityTooLarge,
    UnsupportedMediaType,
    TooManyRequests,
    InternalError,
    Timeout,
    ServiceUnavailable,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::BadRequest => "BadRequest",
            Reason::Unauthorized => "Unauthorized",
            Reason::Forbidden => "Forbidden",
            Reason::NotFound => "NotFound",
            Reason::AlreadyExists => "AlreadyExists",
            Reason::Conflict => "Conflict",
            Reason::Gone => "Gone",
            Reason::Expired => "Expired",
            Reason::Invalid => "Invalid",
            Reason::MethodNotAllowed => "MethodNotAllowed",
            Reason::NotAcceptable => "NotAcceptable",
            Reason::RequestEntityTooLarge => "RequestEntityTooLarge",
            Reason::UnsupportedMediaType => "UnsupportedMediaType",
            Reason::TooManyRequests => "TooManyRequests",
            Reason::InternalError => "InternalError",
            Reason::Timeout => "Timeout",
            Reason::ServiceUnavailable => "ServiceUnavailable",
        }
    }

    pub fn code(self) -> u16 {
        match self {
            Reason::BadRequest => 400,
            Reason::Unauthorized => 401,
            Reason::Forbidden => 403,
            Reason::NotFound => 404,
            Reason::MethodNotAllowed => 405,
            Reason::NotAcceptable => 406,
            Reason::AlreadyExists | Reason::Conflict => 409,
            Reason::Gone | Reason::Expired => 410,
            Reason::RequestEntityTooLarge => 413,
            Reason::UnsupportedMediaType => 415,
            Reason::Invalid => 422,
            Reason::TooManyRequests => 429,
            Reason::InternalError => 500,
            Reason::ServiceUnavailable => 503,
            Reason::Timeout => 504,
        }
    }
}

/// The kind of a field validation error (k8s.io/apimachinery/pkg/util/validation/field.ErrorType).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    NotFound,
    Required,
    Duplicate,
    Invalid,
    NotSupported,
    Forbidden,
    TooLong,
    TooMany,
    Internal,
    TypeInvalid,
}

impl FieldErrorKind {
    /// The cause `reason` string (metav1.CauseType).
    pub fn cause_type(self) -> &'static str {
        match self {
            FieldErrorKind::NotFound => "FieldValueNotFound",
            FieldErrorKind::Required => "FieldValueRequired",
            FieldErrorKind::Duplicate => "FieldValueDuplicate",
            FieldErrorKind::Invalid => "FieldValueInvalid",
            FieldErrorKind::NotSupported => "FieldValueNotSupported",
            FieldErrorKind::Forbidden => "FieldValueForbidden",
            FieldErrorKind::TooLong => "FieldValueTooLong",
            FieldErrorKind::TooMany => "FieldValueTooMany",
            FieldErrorKind::Internal => "InternalError",
            FieldErrorKind::TypeInvalid => "FieldValueTypeInvalid",
        }
    }

    fn phrase(self) -> &'static str {
        match self {
            FieldErrorKind::NotFound => "Not found",
            FieldErrorKind::Required => "Required value",
            FieldErrorKind::Duplicate => "Duplicate value",
            FieldErrorKind::Invalid => "Invalid value",
            FieldErrorKind::NotSupported => "Unsupported value",
            FieldErrorKind::Forbidden => "Forbidden",
            FieldErrorKind::TooLong => "Too long",
            FieldErrorKind::TooMany => "Too many",
            FieldErrorKind::Internal => "Internal error",
            FieldErrorKind::TypeInvalid => "Invalid value",
        }
    }
}

/// One field validation failure, rendered like field.Error.Error().
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub kind: FieldErrorKind,
    /// JSON path in kube's notation: `spec.containers[0].name`, `metadata.labels[app]`.
    pub field: String,
    /// The offending value; `None` where kube omits it (Required, Forbidden, …).
    pub value: Option<Value>,
    pub detail: String,
}

impl FieldError {
    pub fn new(
        kind: FieldErrorKind,
        field: impl Into<String>,
        value: Option<Value>,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            kind,
            field: field.into(),
            value,
            detail: detail.into(),
        }
    }
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorKind::Required, field, None, detail)
    }
    pub fn invalid(field: impl Into<String>, value: Value, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorKind::Invalid, field, Some(value), detail)
    }
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorKind::Forbidden, field, None, detail)
    }
    pub fn duplicate(field: impl Into<String>, value: Value) -> Self {
        Self::new(FieldErrorKind::Duplicate, field, Some(value), "")
    }
    pub fn not_supported(field: impl Into<String>, value: Value, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        let detail = if list.is_empty() {
            String::new()
        } else {
            format!("supported values: {}", list.join(", "))
        };
        Self::new(FieldErrorKind::NotSupported, field, Some(value), detail)
    }
    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self::new(
            FieldErrorKind::TooLong,
            field,
            None,
            format!("may not be more than {max} bytes"),
        )
    }

    /// The text after the field path, e.g. `Invalid value: -1: must be greater than or equal to 0`.
    pub fn message_without_field(&self) -> String {
        let mut s = self.kind.phrase().to_string();
        if let Some(v) = &self.value
            && matches!(
                self.kind,
                FieldErrorKind::Invalid
                    | FieldErrorKind::NotSupported
                    | FieldErrorKind::Duplicate
                    | FieldErrorKind::NotFound
                    | FieldErrorKind::TypeInvalid
                    | FieldErrorKind::TooMany
            )
        {
            s.push_str(": ");
            s.push_str(&render_value(v));
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}", self.message_without_field())
        } else {
            write!(f, "{}: {}", self.field, self.message_without_field())
        }
    }
}

/// Go's `%#v`-like rendering that field.Error uses: strings quoted, numbers bare.
fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "null".into(),
        // float64 values print with Go's %v (`1`, `1.5`, `1e+06`)
        Value::Number(n) if n.is_f64() => crate::structural::go_float(n.as_f64().unwrap_or(0.0)),
        other => other.to_string(),
    }
}

/// An API failure that becomes a `Status` response.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub reason: Reason,
    pub message: String,
    /// `details.name`, `details.group`, `details.kind`.
    pub name: Option<String>,
    pub group: Option<String>,
    pub kind: Option<String>,
    pub causes: Vec<Value>,
    /// Overrides `reason.code()` (e.g. 410 Expired vs Gone both are 410; 500 for custom).
    pub code: Option<u16>,
    pub retry_after_seconds: Option<u32>,
}

/// `resource.group` as kube prints it in messages (`deployments.apps`, `pods`).
pub fn qualified_resource(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

impl ApiError {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        ApiError {
            reason,
            message: message.into(),
            name: None,
            group: None,
            kind: None,
            causes: Vec::new(),
            code: None,
            retry_after_seconds: None,
        }
    }

    fn with_details(mut self, group: &str, kind: &str, name: &str) -> Self {
        self.group = Some(group.to_string());
        self.kind = Some(kind.to_string());
        self.name = Some(name.to_string());
        self
    }

    pub fn code(&self) -> u16 {
        self.code.unwrap_or_else(|| self.reason.code())
    }

    /// `deployments.apps "web" not found` — details.kind is the plural resource, as kube sends.
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        ApiError::new(
            Reason::NotFound,
            format!("{} {name:?} not found", qualified_resource(group, resource)),
        )
        .with_details(group, resource, name)
    }

    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        ApiError::new(
            Reason::AlreadyExists,
            format!(
                "{} {name:?} already exists",
                qualified_resource(group, resource)
            ),
        )
        .with_details(group, resource, name)
    }

    /// The optimistic-concurrency failure kubectl shows for a stale resourceVersion.
    pub fn conflict_modified(group: &str, resource: &str, name: &str) -> Self {
        Self::conflict(
            group,
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    pub fn conflict(group: &str, resource: &str, name: &str, why: &str) -> Self {
        ApiError::new(
            Reason::Conflict,
            format!(
                "Operation cannot be fulfilled on {} {name:?}: {why}",
                qualified_resource(group, resource)
            ),
        )
        .with_details(group, resource, name)
    }

    /// 422 with causes; `kind` is the Kind (`Deployment`), as in `Deployment.apps "web" is invalid`.
    pub fn invalid(group: &str, kind: &str, name: &str, errors: &[FieldError]) -> Self {
        let qualified_kind = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let list = match errors {
            [one] => one.to_string(),
            many => format!(
                "[{}]",
                many.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut e = ApiError::new(
            Reason::Invalid,
            format!("{qualified_kind} {name:?} is invalid: {list}"),
        )
        .with_details(group, kind, name);
        e.causes = errors
            .iter()
            .map(|fe| {
                json!({
                    "reason": fe.kind.cause_type(),
                    "message": fe.message_without_field(),
                    "field": fe.field,
                })
            })
            .collect();
        e
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(Reason::BadRequest, message)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        ApiError::new(Reason::MethodNotAllowed, message)
    }

    /// A list/watch at a compacted revision: `too old resource version: 5 (900)`.
    pub fn expired(requested: i64, compacted: i64) -> Self {
        ApiError::new(
            Reason::Expired,
            format!("too old resource version: {requested} ({compacted})"),
        )
    }

    pub fn gone(message: impl Into<String>) -> Self {
        ApiError::new(Reason::Gone, message)
    }

    pub fn too_large(limit_bytes: usize) -> Self {
        ApiError::new(
            Reason::RequestEntityTooLarge,
            format!("Request entity too large: limit is {limit_bytes}"),
        )
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        ApiError::new(
            Reason::UnsupportedMediaType,
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf; got {content_type:?}"
            ),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(
            Reason::InternalError,
            format!("Internal error occurred: {}", message.into()),
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(Reason::Forbidden, message)
    }

    pub fn unauthorized() -> Self {
        ApiError::new(Reason::Unauthorized, "Unauthorized")
    }

    /// The `Status` object for the response body.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason.as_str(),
            "code": self.code(),
        });
        let mut details = serde_json::Map::new();
        if let Some(n) = &self.name {
            details.insert("name".into(), Value::String(n.clone()));
        }
        if let Some(g) = &self.group
            && !g.is_empty()
        {
            details.insert("group".into(), Value::String(g.clone()));
        }
        if let Some(k) = &self.kind {
            details.insert("kind".into(), Value::String(k.clone()));
        }
        if !self.causes.is_empty() {
            details.insert("causes".into(), Value::Array(self.causes.clone()));
        }
        if let Some(r) = self.retry_after_seconds {
            details.insert("retryAfterSeconds".into(), json!(r));
        }
        if !details.is_empty() {
            status["details"] = Value::Object(details);
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_message_matches_kube() {
        let e = ApiError::not_found("apps", "deployments", "web");
        assert_eq!(e.message, r#"deployments.apps "web" not found"#);
        let s = e.to_status();
        assert_eq!(s["code"], 404);
        assert_eq!(s["reason"], "NotFound");
        assert_eq!(s["details"]["kind"], "deployments");
        assert_eq!(s["details"]["group"], "apps");
        let core = ApiError::not_found("", "pods", "p");
        assert_eq!(core.message, r#"pods "p" not found"#);
        assert!(core.to_status()["details"].get("group").is_none());
    }

    #[test]
    fn invalid_single_and_many() {
        let one = [FieldError::invalid(
            "spec.replicas",
            json!(-1),
            "must be greater than or equal to 0",
        )];
        let e = ApiError::invalid("apps", "Deployment", "web", &one);
        assert_eq!(
            e.message,
            r#"Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"#
        );
        assert_eq!(e.code(), 422);
        let two = [
            FieldError::required("metadata.name", "name or generateName is required"),
            FieldError::not_supported("spec.type", json!("Foo"), &["ClusterIP", "NodePort"]),
        ];
        let e = ApiError::invalid("", "Service", "", &two);
        assert_eq!(
            e.message,
            r#"Service "" is invalid: [metadata.name: Required value: name or generateName is required, spec.type: Unsupported value: "Foo": supported values: "ClusterIP", "NodePort"]"#
        );
        let causes = e.to_status()["details"]["causes"].clone();
        assert_eq!(causes[1]["reason"], "FieldValueNotSupported");
        assert_eq!(causes[1]["field"], "spec.type");
    }

    #[test]
    fn conflict_and_expired() {
        let e = ApiError::conflict_modified("", "configmaps", "c");
        assert_eq!(
            e.message,
            r#"Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your changes to the latest version and try again"#
        );
        assert_eq!(ApiError::expired(5, 900).code(), 410);
        assert_eq!(
            ApiError::already_exists("", "namespaces", "x").message,
            r#"namespaces "x" already exists"#
        );
    }
}
