//! ObjectMeta rules applied on create, update and delete: uid, timestamps, generation,
//! generateName, and which parts of an object a write may change.

use rand::Rng;
use serde_json::{Map, Value, json};
use warren_apimachinery::registry::Resource;

/// RFC 3339 with second precision, as metav1.Time marshals.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Kinds whose strategies maintain `metadata.generation`.
pub fn tracks_generation(res: &Resource) -> bool {
    if res.custom.is_some() || res.group == "apiextensions.k8s.io" {
        return true;
    }
    matches!(
        (res.group.as_str(), res.kind.as_str()),
        ("", "Pod" | "ReplicationController")
            | ("apps", _)
            | ("batch", _)
            | (
                "networking.k8s.io",
                "Ingress" | "IngressClass" | "NetworkPolicy"
            )
            | ("policy", "PodDisruptionBudget")
    ) && res.kind != "ControllerRevision"
}

/// The random suffix alphabet of apiserver's SimpleNameGenerator (no vowels, no look-alikes).
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `generateName` + 5 random characters, truncated so the whole stays within 63 characters.
pub fn generate_name(base: &str) -> String {
    let base = if base.len() > 58 { &base[..58] } else { base };
    let mut rng = rand::rng();
    let suffix: String = (0..5)
        .map(|_| SUFFIX_ALPHABET[rng.random_range(0..SUFFIX_ALPHABET.len())] as char)
        .collect();
    format!("{base}{suffix}")
}

pub fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    let Value::Object(root) = obj else {
        unreachable!("obj was just made an object")
    };
    let entry = root.entry("metadata").or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    match entry {
        Value::Object(m) => m,
        _ => unreachable!("metadata was just made an object"),
    }
}

pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

/// kube round-trips objects through Go types whose metadata collections are `omitempty`: an
/// empty or null list or map (say, the finalizers after the last one was patched away) is not
/// stored. Stored JSON follows suit.
fn drop_empty_collections(meta: &mut Map<String, Value>) {
    for field in [
        "labels",
        "annotations",
        "finalizers",
        "ownerReferences",
        "managedFields",
    ] {
        let empty = match meta.get(field) {
            Some(Value::Null) => true,
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::Object(o)) => o.is_empty(),
            _ => false,
        };
        if empty {
            meta.remove(field);
        }
    }
}

/// Sets server-owned metadata on create. Returns the final name.
pub fn prepare_create(res: &Resource, obj: &mut Value, namespace: Option<&str>) {
    let tracks = tracks_generation(res);
    let meta = meta_mut(obj);
    drop_empty_collections(meta);
    if meta
        .get("name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
        && let Some(base) = meta.get("generateName").and_then(Value::as_str)
        && !base.is_empty()
    {
        let name = generate_name(base);
        meta.insert("name".into(), Value::String(name));
    }
    match namespace {
        Some(ns) if res.namespaced => {
            meta.insert("namespace".into(), Value::String(ns.to_string()));
        }
        _ => {
            meta.remove("namespace");
        }
    }
    meta.insert(
        "uid".into(),
        Value::String(uuid::Uuid::new_v4().to_string()),
    );
    meta.insert("creationTimestamp".into(), Value::String(now_rfc3339()));
    meta.remove("deletionTimestamp");
    meta.remove("deletionGracePeriodSeconds");
    meta.remove("resourceVersion");
    meta.remove("selfLink");
    if tracks {
        meta.insert("generation".into(), json!(1));
    } else {
        meta.remove("generation");
    }
}

/// Everything of an object that isn't metadata or status: a change here bumps generation.
fn spec_part(obj: &Value) -> Map<String, Value> {
    obj.as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    !matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind")
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteScope {
    /// The main resource: status is kept from the old object when a status subresource exists.
    Main,
    /// The status subresource: only status changes; metadata and spec are kept.
    Status,
}

/// Carries over what an update may not change and bumps generation on spec changes.
pub fn prepare_update(res: &Resource, new: &mut Value, old: &Value, scope: WriteScope) {
    let has_status = res.has_subresource(warren_apimachinery::registry::Subresource::Status);
    match scope {
        WriteScope::Main if has_status => match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        },
        WriteScope::Main => {}
        WriteScope::Status => {
            let status = new.get("status").cloned();
            let mut rebuilt = old.clone();
            match status {
                Some(s) => rebuilt["status"] = s,
                None => {
                    if let Some(m) = rebuilt.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
            // keep the caller's resourceVersion for the precondition check
            if let Some(rv) = meta_str(new, "resourceVersion").map(str::to_string) {
                meta_mut(&mut rebuilt).insert("resourceVersion".into(), Value::String(rv));
            }
            *new = rebuilt;
        }
    }
    let old_meta = old.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let meta = meta_mut(new);
    for field in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "namespace",
        "name",
    ] {
        match old_meta.get(field) {
            Some(v) => {
                meta.insert(field.into(), v.clone());
            }
            None => {
                meta.remove(field);
            }
        }
    }
    meta.remove("selfLink");
    drop_empty_collections(meta);
    if tracks_generation(res) && scope == WriteScope::Main && spec_part(new) != spec_part(old) {
        let g = old_meta
            .get("generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        meta_mut(new).insert("generation".into(), json!(g + 1));
    }
}

/// True when two versions of an object differ in anything a client could observe, ignoring
/// resourceVersion (an unchanged write is not stored, as in kube).
pub fn semantically_equal(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut c = v.clone();
        if let Some(m) = c.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
        }
        c
    };
    strip(a) == strip(b)
}

/// The `finalizers` of an object.
pub fn finalizers(obj: &Value) -> Vec<String> {
    obj.get("metadata")
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use warren_apimachinery::registry::find_builtin;

    #[test]
    fn generate_name_has_suffix_and_limit() {
        let n = generate_name("web-");
        assert_eq!(n.len(), 9);
        assert!(n.starts_with("web-"));
        let long = generate_name(&"a".repeat(80));
        assert_eq!(long.len(), 63);
    }

    #[test]
    fn create_sets_server_fields() {
        let res = find_builtin("apps", "v1", "deployments").expect("deploy");
        let mut obj =
            json!({"metadata": {"generateName": "web-", "resourceVersion": "5"}, "spec": {}});
        prepare_create(res, &mut obj, Some("default"));
        assert_eq!(obj["metadata"]["namespace"], "default");
        assert_eq!(obj["metadata"]["generation"], 1);
        assert!(obj["metadata"]["uid"].as_str().is_some());
        assert!(obj["metadata"].get("resourceVersion").is_none());
        let cm = find_builtin("", "v1", "configmaps").expect("cm");
        let mut c = json!({"metadata": {"name": "c", "generation": 7}});
        prepare_create(cm, &mut c, Some("x"));
        assert!(c["metadata"].get("generation").is_none());
    }

    #[test]
    fn empty_metadata_collections_are_not_stored() {
        let cm = find_builtin("", "v1", "configmaps").expect("cm");
        let mut c = json!({"metadata": {"name": "c", "labels": {}, "annotations": null, "finalizers": [], "ownerReferences": [{"uid": "u"}]}});
        prepare_create(cm, &mut c, Some("x"));
        let m = c["metadata"].as_object().expect("meta");
        assert!(!m.contains_key("labels") && !m.contains_key("annotations"));
        assert!(!m.contains_key("finalizers"));
        assert!(m.contains_key("ownerReferences"));
        let old = c.clone();
        let mut new = c.clone();
        new["metadata"]["ownerReferences"] = json!([]);
        prepare_update(cm, &mut new, &old, WriteScope::Main);
        assert!(new["metadata"].get("ownerReferences").is_none());
    }

    #[test]
    fn update_keeps_status_and_bumps_generation_on_spec_change() {
        let res = find_builtin("apps", "v1", "deployments").expect("deploy");
        let old = json!({"metadata": {"name": "w", "uid": "u1", "generation": 3, "creationTimestamp": "t"}, "spec": {"replicas": 1}, "status": {"replicas": 1}});
        let mut new = json!({"metadata": {"name": "w", "uid": "evil"}, "spec": {"replicas": 2}, "status": {"replicas": 9}});
        prepare_update(res, &mut new, &old, WriteScope::Main);
        assert_eq!(new["metadata"]["uid"], "u1");
        assert_eq!(new["metadata"]["generation"], 4);
        assert_eq!(new["status"]["replicas"], 1);
        let mut st = json!({"metadata": {"name": "w", "labels": {"a": "b"}}, "spec": {"replicas": 5}, "status": {"replicas": 2}});
        prepare_update(res, &mut st, &old, WriteScope::Status);
        assert_eq!(st["spec"]["replicas"], 1);
        assert_eq!(st["status"]["replicas"], 2);
        assert_eq!(st["metadata"]["generation"], 3);
        assert!(st["metadata"].get("labels").is_none());
    }
}
