//! Field selectors: a port of apimachinery's `fields.ParseSelector` (with its `\,` `\=` `\\`
//! escapes) and of the per-kind field label conversions and `ToSelectableFields` sets of
//! kube-apiserver.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::{SelectorError, go_quote};

/// A term's operator. `==` parses to [`FieldOp::Equals`], as in Kubernetes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldOp {
    /// `field=value` or `field==value`
    Equals,
    /// `field!=value`
    NotEquals,
}

/// One `field op value` term; `value` is unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    /// The field path, e.g. `spec.nodeName`.
    pub field: String,
    /// The operator.
    pub op: FieldOp,
    /// The literal value (escapes removed).
    pub value: String,
}

impl FieldRequirement {
    fn matches(&self, actual: &str) -> bool {
        (actual == self.value) == (self.op == FieldOp::Equals)
    }
}

/// A field selector: terms that must all hold. The empty selector matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// The selector that matches every object.
    pub fn everything() -> Self {
        Self::default()
    }

    /// `fields.ParseSelector`: `k=v`, `k==v`, `k!=v` terms joined by `,`; in values `\,`,
    /// `\=` and `\\` stand for `,`, `=` and `\`. No whitespace is trimmed.
    pub fn parse(selector: &str) -> Result<Self, SelectorError> {
        let mut parts = split_terms(selector);
        parts.sort_unstable();
        let mut requirements = Vec::new();
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let Some((field, op, raw)) = split_term(part) else {
                let msg = format!("invalid selector: '{selector}'; can't understand '{part}'");
                return Err(SelectorError::InvalidFieldSelector(msg));
            };
            let value = unescape_value(raw).map_err(SelectorError::InvalidFieldSelector)?;
            requirements.push(FieldRequirement {
                field: field.to_owned(),
                op,
                value,
            });
        }
        Ok(Self { requirements })
    }

    /// Whether the selector has no terms (matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The terms, in the order kube evaluates them (sorted by their text).
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// `RequiresExactMatch`: the value `field` must equal for the selector to match, if any.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        let r = self
            .requirements
            .iter()
            .find(|r| r.field == field && r.op == FieldOp::Equals)?;
        Some(&r.value)
    }

    /// Checks every field is selectable on objects of `group`/`kind` (kube-apiserver's field
    /// label conversion). The error is the one kube returns with its 400.
    pub fn validate(&self, group: &str, kind: &str) -> Result<(), SelectorError> {
        let rules = rules_for(group, kind);
        match self.requirements.iter().find(|r| !rules.supports(&r.field)) {
            Some(r) => Err(SelectorError::UnsupportedField(rules.error(&r.field))),
            None => Ok(()),
        }
    }

    /// Whether `object` (of `group`/`kind`, in its served JSON form) satisfies the selector;
    /// an unsupported field is an error, a missing value compares as `""`.
    pub fn matches(&self, group: &str, kind: &str, object: &Value) -> Result<bool, SelectorError> {
        self.validate(group, kind)?;
        Ok(
            self.matches_fields(|field| {
                field_value(group, kind, object, field).unwrap_or_default()
            }),
        )
    }

    /// Evaluates the selector against any field source (`field` → value, `""` when absent).
    pub fn matches_fields(&self, mut value_of: impl FnMut(&str) -> String) -> bool {
        self.requirements
            .iter()
            .all(|r| r.matches(&value_of(&r.field)))
    }

    /// For custom resources: only `metadata.name`, `metadata.namespace` (namespaced kinds) and
    /// the CRD's `selectableFields` (given as paths without the leading dot, e.g. `spec.color`).
    pub fn validate_custom(
        &self,
        namespaced: bool,
        selectable: &[&str],
    ) -> Result<(), SelectorError> {
        let ok = |f: &str| {
            f == "metadata.name"
                || (namespaced && f == "metadata.namespace")
                || selectable.contains(&f)
        };
        match self.requirements.iter().find(|r| !ok(&r.field)) {
            Some(r) => Err(SelectorError::UnsupportedField(format!(
                "field label not supported: {}",
                r.field
            ))),
            None => Ok(()),
        }
    }

    /// Evaluates the selector on a custom resource: every field is read at its path
    /// (strings as-is, integers and booleans formatted, anything else `""`).
    pub fn matches_custom(&self, object: &Value) -> bool {
        self.matches_fields(|field| scalar(lookup(object, field)))
    }
}

impl fmt::Display for FieldSelector {
    /// The canonical string form, values escaped again.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            let op = if r.op == FieldOp::Equals { "=" } else { "!=" };
            let value = r
                .value
                .replace('\\', "\\\\")
                .replace(',', "\\,")
                .replace('=', "\\=");
            write!(f, "{}{}{op}{value}", if i > 0 { "," } else { "" }, r.field)?;
        }
        Ok(())
    }
}

impl FromStr for FieldSelector {
    type Err = SelectorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The terms of a selector: split on `,` not preceded by a backslash (escapes are kept).
fn split_terms(selector: &str) -> Vec<&str> {
    if selector.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let (mut start, mut in_slash) = (0, false);
    for (i, c) in selector.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&selector[start..i]);
            start = i + 1;
        }
    }
    terms.push(&selector[start..]);
    terms
}

/// Splits a term at the first `!=`, `==` or `=`.
fn split_term(term: &str) -> Option<(&str, FieldOp, &str)> {
    term.char_indices().find_map(|(i, _)| {
        let rest = &term[i..];
        [
            ("!=", FieldOp::NotEquals),
            ("==", FieldOp::Equals),
            ("=", FieldOp::Equals),
        ]
        .into_iter()
        .find(|(op, _)| rest.starts_with(op))
        .map(|(op, kind)| (&term[..i], kind, &rest[op.len()..]))
    })
}

/// `fields.UnescapeValue`.
fn unescape_value(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(format!(
                    "invalid field selector: invalid escape sequence: \\{c}"
                ));
            }
            out.push(c);
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' || c == '=' {
            return Err(format!(
                "invalid field selector: unescaped character in value: {c}"
            ));
        } else {
            out.push(c);
        }
    }
    if in_slash {
        return Err("invalid field selector: invalid escape sequence: \\".to_owned());
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Per-kind field sets.

/// How a kind's field label conversion words its error.
#[derive(Clone, Copy)]
enum Conv {
    /// `runtime.DefaultMetaV1FieldSelectorConversion`.
    Default,
    /// A kind-specific conversion: `field label not supported: X`.
    Custom,
    /// apps/v1 StatefulSet's own wording.
    StatefulSet,
    /// resource.k8s.io ResourceSlice's own wording.
    ResourceSlice,
}

struct Rules {
    fields: &'static [&'static str],
    conv: Conv,
    /// Legacy names accepted as aliases (Pod `spec.host`).
    aliases: &'static [&'static str],
}

impl Rules {
    fn supports(&self, field: &str) -> bool {
        self.fields.contains(&field) || self.aliases.contains(&field)
    }

    fn error(&self, field: &str) -> String {
        match self.conv {
            Conv::Default => {
                format!(
                    r#"{} is not a known field selector: only "metadata.name", "metadata.namespace""#,
                    go_quote(field)
                )
            }
            Conv::Custom => format!("field label not supported: {field}"),
            Conv::StatefulSet => {
                format!("field label not supported for appsv1.StatefulSet: {field}")
            }
            Conv::ResourceSlice => format!(
                r#"{} is not a known field selector: only "metadata.name", "spec.nodeName", "spec.driver""#,
                go_quote(field)
            ),
        }
    }
}

const META: &[&str] = &["metadata.name", "metadata.namespace"];

fn rules_for(group: &str, kind: &str) -> Rules {
    let (fields, conv): (&'static [&'static str], Conv) = match (group, kind) {
        ("", "Pod") => (
            &[
                "metadata.name",
                "metadata.namespace",
                "spec.nodeName",
                "spec.restartPolicy",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "spec.hostNetwork",
                "status.phase",
                "status.podIP",
                "status.podIPs",
                "status.nominatedNodeName",
            ],
            Conv::Custom,
        ),
        ("", "Node") => (&["metadata.name", "spec.unschedulable"], Conv::Custom),
        ("", "ReplicationController") | ("apps", "ReplicaSet") => (
            &["metadata.name", "metadata.namespace", "status.replicas"],
            Conv::Custom,
        ),
        ("", "Event") => (
            &[
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.name",
                "involvedObject.uid",
                "involvedObject.apiVersion",
                "involvedObject.resourceVersion",
                "involvedObject.fieldPath",
                "reason",
                "reportingComponent",
                "source",
                "type",
                "metadata.namespace",
                "metadata.name",
            ],
            Conv::Custom,
        ),
        ("events.k8s.io", "Event") => (
            &[
                "reason",
                "regarding.kind",
                "regarding.namespace",
                "regarding.name",
                "regarding.uid",
                "regarding.apiVersion",
                "regarding.resourceVersion",
                "regarding.fieldPath",
                "reportingController",
                "type",
                "metadata.namespace",
                "metadata.name",
            ],
            Conv::Custom,
        ),
        ("", "Namespace") => (&["status.phase", "metadata.name"], Conv::Custom),
        ("", "Secret") => (
            &["type", "metadata.namespace", "metadata.name"],
            Conv::Custom,
        ),
        ("", "Service") => (
            &[
                "metadata.namespace",
                "metadata.name",
                "spec.clusterIP",
                "spec.type",
            ],
            Conv::Custom,
        ),
        ("apps", "StatefulSet") => (
            &["metadata.name", "metadata.namespace", "status.successful"],
            Conv::StatefulSet,
        ),
        ("batch", "Job") => (
            &["metadata.name", "metadata.namespace", "status.successful"],
            Conv::Custom,
        ),
        ("certificates.k8s.io", "CertificateSigningRequest") => {
            (&["metadata.name", "spec.signerName"], Conv::Custom)
        }
        ("resource.k8s.io", "ResourceSlice") => (
            &["metadata.name", "spec.nodeName", "spec.driver"],
            Conv::ResourceSlice,
        ),
        _ => (META, Conv::Default),
    };
    let aliases: &'static [&'static str] = if (group, kind) == ("", "Pod") {
        &["spec.host"]
    } else {
        &[]
    };
    Rules {
        fields,
        conv,
        aliases,
    }
}

/// The fields a field selector may name for objects of `group`/`kind` (what kube-apiserver's
/// field label conversion accepts; legacy aliases such as Pod `spec.host` are left out).
pub fn supported_fields(group: &str, kind: &str) -> &'static [&'static str] {
    rules_for(group, kind).fields
}

/// The value kube-apiserver's `ToSelectableFields` gives `field` on `object` (of
/// `group`/`kind`, in its served JSON form), or `None` if the kind cannot select on it.
/// Missing values are `""`; booleans are `"true"`/`"false"`, counts decimal.
pub fn field_value(group: &str, kind: &str, object: &Value, field: &str) -> Option<String> {
    if !rules_for(group, kind).supports(field) {
        return None;
    }
    let at = |path: &str| lookup(object, path);
    let flag = |path: &str| {
        at(path)
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .to_string()
    };
    let count = |path: &str| at(path).and_then(Value::as_i64).unwrap_or(0).to_string();
    let text = |path: &str| scalar(at(path));
    Some(match (group, kind, field) {
        ("", "Pod", "spec.host") => text("spec.nodeName"),
        ("", "Pod", "spec.hostNetwork") => flag("spec.hostNetwork"),
        ("", "Pod", "status.podIP") => match text("status.podIP") {
            ip if ip.is_empty() => text("status.podIPs.0.ip"),
            ip => ip,
        },
        ("", "Pod", "status.podIPs") | ("apps", "StatefulSet", "status.successful") => {
            String::new()
        }
        ("", "Node", "spec.unschedulable") => flag(field),
        (_, _, "status.replicas") => count(field),
        ("batch", "Job", "status.successful") => count("status.succeeded"),
        ("", "Event", "source") => match text("source.component") {
            s if s.is_empty() => text("reportingComponent"),
            s => s,
        },
        _ => text(field),
    })
}

/// The value at a dotted path; numeric segments index arrays.
fn lookup<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(object, |v, seg| match v {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// A scalar as a field value: strings as-is, numbers and booleans formatted, else `""`.
fn scalar(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}
