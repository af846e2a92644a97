//! Decode-time checks against the OpenAPI schema, as kube-apiserver's JSON decoder makes them:
//! unknown fields (strict field validation, `unknown field "spec.replicass"`) and type
//! mismatches (`json: cannot unmarshal string into Go struct field … of type int32`).

use base64::Engine as _;
use serde_json::Value;

use super::quantity;
use super::util::{index, key};
use crate::error::{FieldError, FieldErrorKind};
use crate::schema;

/// kube keeps at most this many strict errors.
const MAX_STRICT_ERRORS: usize = 100;

/// Every field of `obj` that the schema of `definition` does not declare, in kube's wording:
/// `unknown field "spec.template.spec.containers[0].imagee"`. Maps accept any key; objects
/// without declared properties (RawExtension, FieldsV1) and
/// `x-kubernetes-preserve-unknown-fields` accept anything. Unknown definitions report nothing.
pub fn unknown_fields(definition: &str, obj: &Value) -> Vec<String> {
    run(definition, obj).unknown
}

/// Values whose JSON type the schema of `definition` rejects, each with the path in kube's
/// notation (`spec.containers[0].ports[0].containerPort`) and, as `detail`, the message kube's
/// decoder returns (the first one is what a 400 shows; see [`decode_error`]).
pub fn type_errors(definition: &str, obj: &Value) -> Vec<FieldError> {
    run(definition, obj).types
}

/// The 400 kube-apiserver answers for an undecodable body:
/// `Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal …`.
pub fn decode_error(
    kind: &str,
    version: &str,
    errors: &[FieldError],
) -> Option<crate::error::ApiError> {
    errors.first().map(|e| {
        crate::error::ApiError::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {kind}: {}",
            e.detail
        ))
    })
}

/// Where the walk is: the strict path (`a.b[0].c`), Go's error context (struct name and the
/// dotted JSON field stack, which skips indexes and map keys) and kube's field path.
#[derive(Clone)]
struct At {
    strict: String,
    go_struct: String,
    go_fields: String,
    path: String,
}

impl At {
    fn root(definition: &str) -> At {
        At {
            strict: String::new(),
            go_struct: short_name(definition).to_string(),
            go_fields: String::new(),
            path: String::new(),
        }
    }

    fn field(&self, owner: &str, name: &str) -> At {
        let dotted = |p: &str| {
            if p.is_empty() {
                name.to_string()
            } else {
                format!("{p}.{name}")
            }
        };
        At {
            strict: dotted(&self.strict),
            go_struct: owner.to_string(),
            go_fields: dotted(&self.go_fields),
            path: dotted(&self.path),
        }
    }

    fn map_key(&self, k: &str) -> At {
        At {
            strict: if self.strict.is_empty() {
                k.to_string()
            } else {
                format!("{}.{k}", self.strict)
            },
            path: key(&self.path, k),
            ..self.clone()
        }
    }

    fn item(&self, i: usize) -> At {
        At {
            strict: index(&self.strict, i),
            path: index(&self.path, i),
            ..self.clone()
        }
    }
}

/// `io.k8s.api.core.v1.PodSpec` → `PodSpec`.
fn short_name(definition: &str) -> &str {
    definition.rsplit('.').next().unwrap_or(definition)
}

/// The Go type kube's decoder names: `v1.PodSpec`, `[]v1.Container`, `map[string]string`.
fn go_type(s: &Value) -> String {
    if let Some(name) = schema::ref_name(s) {
        let mut parts = name.rsplit('.');
        let (t, pkg) = (parts.next().unwrap_or(name), parts.next().unwrap_or(""));
        return format!("{pkg}.{t}");
    }
    let elem = |k: &str| s.get(k).filter(|e| e.is_object()).map(go_type);
    match (
        s.get("type").and_then(Value::as_str),
        s.get("format").and_then(Value::as_str),
    ) {
        (Some("array"), _) => format!("[]{}", elem("items").unwrap_or_default()),
        (Some("object"), _) => match elem("additionalProperties") {
            Some(e) => format!("map[string]{e}"),
            None => "map[string]interface {}".into(),
        },
        (Some("string"), Some("byte")) => "[]uint8".into(),
        (Some("integer"), Some("int32")) => "int32".into(),
        (Some("integer"), _) => "int64".into(),
        (Some("number"), _) => "float64".into(),
        (Some("boolean"), _) => "bool".into(),
        _ => "string".into(),
    }
}

/// How Go's decoder describes a JSON value in UnmarshalTypeError (also the kind names the
/// strategic-merge errors print).
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

struct Walker {
    unknown: Vec<String>,
    types: Vec<FieldError>,
    /// The Go type of the whole object (`v1.Pod`).
    root_go: String,
}

/// Walks `obj` against `definition`; nothing for unknown definitions.
fn run(definition: &str, obj: &Value) -> Walker {
    let mut parts = definition.rsplit('.');
    let (t, pkg) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut w = Walker {
        unknown: Vec::new(),
        types: Vec::new(),
        root_go: format!("{pkg}.{t}"),
    };
    if let Some(def) = schema::definition(definition) {
        w.walk(def, obj, &At::root(definition));
    }
    w
}

impl Walker {
    fn type_error(&mut self, at: &At, value: &Value, what: &str, go_type: &str) {
        let msg = if at.go_fields.is_empty() {
            format!("json: cannot unmarshal {what} into Go value of type {go_type}")
        } else {
            format!(
                "json: cannot unmarshal {what} into Go struct field {}.{} of type {go_type}",
                at.go_struct, at.go_fields
            )
        };
        self.error(at, value, msg);
    }

    fn error(&mut self, at: &At, value: &Value, msg: String) {
        self.types.push(FieldError::new(
            FieldErrorKind::TypeInvalid,
            at.path.clone(),
            Some(value.clone()),
            msg,
        ));
    }

    /// An integer member: Go rejects fractions and overflow as `number 1.5`.
    fn integer(&mut self, at: &At, value: &Value, format: Option<&str>) {
        let go = if format == Some("int32") {
            "int32"
        } else {
            "int64"
        };
        let Value::Number(n) = value else {
            return self.type_error(at, value, json_kind(value), go);
        };
        let fits = match n.as_i64() {
            Some(i) if go == "int32" => i32::try_from(i).is_ok(),
            Some(_) => true,
            None => false,
        };
        if !fits {
            self.type_error(at, value, &format!("number {n}"), go);
        }
    }

    fn walk(&mut self, schema_node: &Value, value: &Value, at: &At) {
        if value.is_null() {
            return; // null decodes to the zero value anywhere
        }
        let s = schema::resolve(schema_node);
        let owner = schema::ref_name(schema_node)
            .map(short_name)
            .unwrap_or(&at.go_struct)
            .to_string();
        if s.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
            return;
        }
        let format = s.get("format").and_then(Value::as_str);
        if s.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
            || format == Some("int-or-string")
        {
            return self.int_or_string(schema_node, value, at);
        }
        match s.get("type").and_then(Value::as_str) {
            Some("object") => self.object(schema_node, value, at, &owner),
            Some("array") => match value.as_array() {
                Some(list) => {
                    if let Some(items) = s.get("items") {
                        for (i, v) in list.iter().enumerate() {
                            self.walk(items, v, &at.item(i));
                        }
                    }
                }
                None => self.type_error(at, value, json_kind(value), &go_type(schema_node)),
            },
            Some("string") => match value.as_str() {
                Some(text) if format == Some("byte") => {
                    if let Err(e) = base64::engine::general_purpose::STANDARD.decode(text) {
                        let at_byte = match e {
                            base64::DecodeError::InvalidByte(i, _)
                            | base64::DecodeError::InvalidLastSymbol(i, _) => i,
                            _ => text.len() - text.len() % 4,
                        };
                        self.error(
                            at,
                            value,
                            format!("illegal base64 data at input byte {at_byte}"),
                        );
                    }
                }
                Some(text) if format == Some("date-time") => {
                    if chrono::DateTime::parse_from_rfc3339(text).is_err() {
                        self.error(
                            at,
                            value,
                            format!(
                                "parsing time {} as \"2006-01-02T15:04:05Z07:00\": cannot parse {} as \"2006\"",
                                super::util::go_quote(text),
                                super::util::go_quote(text)
                            ),
                        );
                    }
                }
                Some(_) => {}
                None if format == Some("date-time") => {
                    self.type_error(at, value, json_kind(value), "string")
                }
                None => self.type_error(at, value, json_kind(value), &go_type(schema_node)),
            },
            Some("integer") => self.integer(at, value, format),
            Some("number") if !value.is_number() => {
                self.type_error(at, value, json_kind(value), "float64")
            }
            Some("boolean") if !value.is_boolean() => {
                self.type_error(at, value, json_kind(value), "bool")
            }
            _ => {}
        }
    }

    fn object(&mut self, schema_node: &Value, value: &Value, at: &At, owner: &str) {
        let s = schema::resolve(schema_node);
        let Some(members) = value.as_object() else {
            let go = if at.go_fields.is_empty() {
                self.root_go.clone()
            } else {
                go_type(schema_node)
            };
            return self.type_error(at, value, json_kind(value), &go);
        };
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            for (k, v) in members {
                match props.get(k) {
                    Some(p) => self.walk(p, v, &at.field(owner, k)),
                    // type and object metadata are always accepted at the top level
                    None if at.strict.is_empty()
                        && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") => {}
                    None if self.unknown.len() < MAX_STRICT_ERRORS => {
                        let path = at.field(owner, k).strict;
                        self.unknown.push(format!("unknown field {path:?}"));
                    }
                    None => {}
                }
            }
        } else if let Some(elem) = s.get("additionalProperties").filter(|e| e.is_object()) {
            for (k, v) in members {
                self.walk(elem, v, &at.map_key(k));
            }
        }
    }

    fn int_or_string(&mut self, schema_node: &Value, value: &Value, at: &At) {
        let is_quantity =
            schema::ref_name(schema_node).is_some_and(|n| n.ends_with("resource.Quantity"));
        if is_quantity {
            if let Err(msg) = quantity::from_json(value) {
                self.error(at, value, msg.to_string());
            }
            return;
        }
        match value {
            Value::String(_) => {}
            v => self.integer(at, v, Some("int32")),
        }
    }
}

/// Drops every field the schema of `definition` does not declare, as kube's decoder does for
/// built-in types when field validation is `Warn` or `Ignore` (unknown fields are never stored).
pub fn prune_unknown(definition: &str, obj: &mut Value) {
    if let Some(def) = schema::definition(definition) {
        prune(def, obj, true);
    }
}

fn prune(schema_node: &Value, value: &mut Value, top: bool) {
    let s = schema::resolve(schema_node);
    if s.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return;
    }
    match value {
        Value::Object(map) => {
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                map.retain(|k, _| {
                    props.contains_key(k)
                        || (top && matches!(k.as_str(), "apiVersion" | "kind" | "metadata"))
                });
                for (k, v) in map.iter_mut() {
                    if let Some(p) = props.get(k) {
                        prune(p, v, false);
                    }
                }
            } else if let Some(values) = s.get("additionalProperties").filter(|v| v.is_object()) {
                for v in map.values_mut() {
                    prune(values, v, false);
                }
            }
        }
        Value::Array(list) => {
            if let Some(items) = s.get("items") {
                for v in list.iter_mut() {
                    prune(items, v, false);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod prune_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prunes_nested_unknown_fields_and_keeps_maps() {
        let mut d = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "lables": {"a": "b"}, "labels": {"any.key/x": "y"}},
            "spec": {"replicass": 2, "replicas": 1, "template": {"spec": {"containers": [{"name": "c", "imagee": "x", "image": "y"}]}}}
        });
        prune_unknown("io.k8s.api.apps.v1.Deployment", &mut d);
        assert_eq!(d["metadata"].get("lables"), None);
        assert_eq!(d["metadata"]["labels"]["any.key/x"], "y");
        assert_eq!(d["spec"].get("replicass"), None);
        assert_eq!(d["spec"]["replicas"], 1);
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c.get("imagee"), None);
        assert_eq!(c["image"], "y");
    }
}
