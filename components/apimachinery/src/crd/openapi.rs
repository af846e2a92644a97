//! The OpenAPI definitions kube-apiserver publishes for a custom resource version: the CRD's
//! schema with `apiVersion`, `kind` and `metadata` (a reference to ObjectMeta) filled in and the
//! group-version-kind extension, plus the `<Kind>List` type. The v2 form drops what swagger 2.0
//! cannot express (`nullable`, `anyOf`, `oneOf`, `not`, and the type of int-or-string fields).

use serde_json::{Map, Value, json};

use crate::registry::Resource;
use crate::schema::REF_PREFIX;

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";

const API_VERSION_DESC: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DESC: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const METADATA_DESC: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const LIST_METADATA_DESC: &str = "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

/// The built-in definitions the custom ones refer to.
pub fn referenced_definitions() -> [&'static str; 2] {
    [OBJECT_META, LIST_META]
}

fn meta_ref(def: &str, description: &str) -> Value {
    json!({"allOf": [{"$ref": format!("{REF_PREFIX}{def}")}], "description": description, "default": {}})
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!([{"group": group, "kind": kind, "version": version}])
}

/// Removes what swagger 2.0 (and kubectl's v2 reader) cannot take, as kube-apiserver's v2
/// conversion does: junctors go; nullable and preserve-unknown-fields nodes lose their
/// properties and items (kubectl would reject unknown fields), nullable ones their type too;
/// arrays left without items lose their type; nullable properties are not required.
fn to_v2(v: &mut Value) {
    let Some(m) = v.as_object_mut() else {
        return;
    };
    for k in ["anyOf", "oneOf", "not", "x-kubernetes-validations"] {
        m.remove(k);
    }
    if m.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        m.remove("type");
        m.remove("allOf");
    }
    if m.remove("nullable") == Some(Value::Bool(true)) {
        m.remove("type");
        m.remove("items");
        m.remove("properties");
    }
    if m.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        m.remove("items");
        m.remove("properties");
    }
    if m.get("type") == Some(&json!("array")) && !m.contains_key("items") {
        m.remove("type");
    }
    let nullable_props: Vec<String> = m
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .filter(|(_, s)| s.get("nullable") == Some(&Value::Bool(true)))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    if !nullable_props.is_empty()
        && let Some(req) = m.get_mut("required").and_then(Value::as_array_mut)
    {
        req.retain(|r| {
            !r.as_str()
                .is_some_and(|r| nullable_props.iter().any(|n| n == r))
        });
        if req.is_empty() {
            m.remove("required");
        }
    }
    if let Some(props) = m.get_mut("properties").and_then(Value::as_object_mut) {
        props.values_mut().for_each(to_v2);
    }
    for k in ["items", "additionalProperties"] {
        if let Some(x) = m.get_mut(k) {
            to_v2(x);
        }
    }
    if let Some(all) = m.get_mut("allOf").and_then(Value::as_array_mut) {
        all.iter_mut().for_each(to_v2);
    }
}

/// The definitions of `res` (a custom resource version) and its list, keyed by name, with refs
/// as `#/components/schemas/…`.
pub fn definitions(res: &Resource, v2: bool) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(info) = res.custom.as_deref() else {
        return out;
    };
    let mut schema = match &info.raw_schema {
        Value::Object(_) => info.raw_schema.clone(),
        _ => json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
    };
    // A type that keeps unknown fields at its root is a bare object in v2, without even
    // apiVersion, kind and metadata: kubectl's v2 validation rejects any field it is not told.
    let root_preserves = schema.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true));
    if v2 {
        to_v2(&mut schema);
    }
    if v2 && root_preserves {
        schema = json!({
            "type": "object",
            "x-kubernetes-group-version-kind": gvk(&res.group, &res.version, &res.kind),
        });
    } else if let Some(m) = schema.as_object_mut() {
        m.entry("type").or_insert_with(|| json!("object"));
        let props = m
            .entry("properties")
            .or_insert_with(|| json!({}))
            .as_object_mut();
        if let Some(props) = props {
            props.insert(
                "apiVersion".into(),
                json!({"type": "string", "description": API_VERSION_DESC}),
            );
            props.insert(
                "kind".into(),
                json!({"type": "string", "description": KIND_DESC}),
            );
            props.insert("metadata".into(), meta_ref(OBJECT_META, METADATA_DESC));
        }
        m.insert(
            "x-kubernetes-group-version-kind".into(),
            gvk(&res.group, &res.version, &res.kind),
        );
    }
    let list_name = format!("{}List", res.definition);
    let list = json!({
        "description": format!("{}List is a list of {}", res.kind, res.kind),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string", "description": API_VERSION_DESC},
            "items": {
                "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md", res.plural),
                "type": "array",
                "items": {"$ref": format!("{REF_PREFIX}{}", res.definition)},
            },
            "kind": {"type": "string", "description": KIND_DESC},
            "metadata": meta_ref(LIST_META, LIST_METADATA_DESC),
        },
        "x-kubernetes-group-version-kind": gvk(&res.group, &res.version, &res.list_kind()),
    });
    out.insert(res.definition.clone(), schema);
    out.insert(list_name, list);
    out
}
