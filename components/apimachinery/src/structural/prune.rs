//! Pruning of fields a structural schema does not declare (structuralpruning.PruneWithOptions)
//! and the ObjectMeta coercion of the root and of embedded resources. The pruned paths are what
//! strict field validation reports (`unknown field "spec.foo"`).

use serde_json::{Map, Value};

use super::Schema;

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

fn is_meta_field(k: &str) -> bool {
    matches!(k, "apiVersion" | "kind" | "metadata")
}

fn append_key(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Removes every field of `obj` (a whole custom resource) that `schema` does not declare, and
/// unknown ObjectMeta fields of the root and of embedded resources. Returns the removed paths:
/// metadata first, then the rest sorted, as kube reports them.
pub fn prune(schema: Option<&Schema>, obj: &mut Value) -> Vec<String> {
    let mut meta_paths = Vec::new();
    if let Some(meta) = obj.get_mut("metadata") {
        coerce_meta(meta, "metadata", &mut meta_paths);
    }
    let mut pruned = Vec::new();
    let root = schema.cloned().unwrap_or_default();
    prune_node(Some(&root), obj, "", true, &mut pruned);
    pruned.sort();
    let mut embedded = Vec::new();
    if let Some(s) = schema {
        coerce_embedded(s, obj, "", true, &mut embedded);
    }
    meta_paths.extend(pruned);
    meta_paths.extend(embedded);
    meta_paths
}

/// Unknown ObjectMeta fields of `meta` removed and reported under `path`.
fn coerce_meta(meta: &mut Value, path: &str, out: &mut Vec<String>) {
    if !meta.is_object() {
        return;
    }
    for msg in crate::validation::unknown_fields(OBJECT_META, meta) {
        let field = msg
            .strip_prefix("unknown field \"")
            .and_then(|m| m.strip_suffix('"'))
            .unwrap_or(&msg);
        out.push(format!("{path}.{field}"));
    }
    crate::validation::prune_unknown(OBJECT_META, meta);
}

fn prune_node(
    s: Option<&Schema>,
    x: &mut Value,
    path: &str,
    embedded: bool,
    out: &mut Vec<String>,
) {
    if let Some(s) = s
        && s.preserves_unknown()
    {
        skip_prune(s, x, path, out);
        return;
    }
    match x {
        Value::Object(map) => {
            let Some(s) = s else {
                for k in map.keys() {
                    out.push(append_key(path, k));
                }
                map.clear();
                return;
            };
            let embedded = embedded || s.embedded_resource;
            prune_map(s, map, path, embedded, out);
        }
        Value::Array(list) => {
            let items = s.and_then(|s| s.items.as_deref());
            for (i, v) in list.iter_mut().enumerate() {
                prune_node(items, v, &format!("{path}[{i}]"), false, out);
            }
        }
        _ => {}
    }
}

fn prune_map(
    s: &Schema,
    map: &mut Map<String, Value>,
    path: &str,
    embedded: bool,
    out: &mut Vec<String>,
) {
    let keys: Vec<String> = map.keys().cloned().collect();
    for k in keys {
        if embedded && is_meta_field(&k) {
            continue;
        }
        if let Some(prop) = s.properties.get(&k) {
            if let Some(v) = map.get_mut(&k) {
                prune_node(Some(prop), v, &append_key(path, &k), false, out);
            }
        } else if s.additional_properties.is_some() || s.additional_properties_bool == Some(true) {
            if let Some(v) = map.get_mut(&k) {
                prune_node(
                    s.additional_properties.as_deref(),
                    v,
                    &append_key(path, &k),
                    false,
                    out,
                );
            }
        } else {
            if !is_meta_field(&k) || !path.is_empty() {
                out.push(append_key(path, &k));
            }
            map.remove(&k);
        }
    }
}

/// Under `x-kubernetes-preserve-unknown-fields`: unknown fields stay, declared ones are pruned
/// inside.
fn skip_prune(s: &Schema, x: &mut Value, path: &str, out: &mut Vec<String>) {
    match x {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if s.embedded_resource && is_meta_field(k) {
                    continue;
                }
                if let Some(prop) = s.properties.get(k) {
                    prune_node(Some(prop), v, &append_key(path, k), false, out);
                } else if let Some(extra) = s.additional_properties.as_deref() {
                    prune_node(Some(extra), v, &append_key(path, k), false, out);
                }
            }
        }
        Value::Array(list) => {
            if let Some(items) = s.items.as_deref() {
                for (i, v) in list.iter_mut().enumerate() {
                    skip_prune(items, v, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

/// ObjectMeta of embedded resources (`x-kubernetes-embedded-resource`) loses unknown fields.
fn coerce_embedded(s: &Schema, x: &mut Value, path: &str, root: bool, out: &mut Vec<String>) {
    match x {
        Value::Object(map) => {
            if s.embedded_resource
                && !root
                && let Some(meta) = map.get_mut("metadata")
            {
                coerce_meta(meta, &append_key(path, "metadata"), out);
            }
            for (k, v) in map.iter_mut() {
                if (root || s.embedded_resource) && is_meta_field(k) {
                    continue;
                }
                if let Some(p) = s.member(k) {
                    coerce_embedded(p, v, &append_key(path, k), false, out);
                }
            }
        }
        Value::Array(list) => {
            if let Some(items) = s.items.as_deref() {
                for (i, v) in list.iter_mut().enumerate() {
                    coerce_embedded(items, v, &format!("{path}[{i}]"), false, out);
                }
            }
        }
        _ => {}
    }
}
