//! ObjectMeta validation (apimachinery's ValidateObjectMeta / ValidateObjectMetaUpdate).

use serde_json::Value;

use super::names::{self, NameRule};
use super::util::{Errs, child, get, items, str_of, string_or_empty};

/// kube's TotalAnnotationSizeLimitB.
pub const ANNOTATIONS_SIZE_LIMIT: usize = 256 * 1024;

/// ValidateAnnotations: case-insensitive qualified-name keys, 256 KiB in total.
pub fn annotations(e: &mut Errs, map: Option<&Value>, path: &str) {
    let Some(m) = map.and_then(Value::as_object) else {
        return;
    };
    let mut size = 0;
    for (k, v) in m {
        e.messages(path, k, names::qualified_name(&k.to_lowercase()));
        size += k.len() + v.as_str().map_or(0, str::len);
    }
    if size > ANNOTATIONS_SIZE_LIMIT {
        e.push(crate::error::FieldError::too_long(
            path,
            ANNOTATIONS_SIZE_LIMIT,
        ));
    }
}

/// Labels, annotations, owner references and finalizers of `meta` (shared by create and update).
fn common(e: &mut Errs, meta: &Value) {
    e.labels(meta.get("labels"), "metadata.labels");
    annotations(e, meta.get("annotations"), "metadata.annotations");
    let refs_path = "metadata.ownerReferences";
    let mut controller: Option<String> = None;
    for r in items(meta, "ownerReferences") {
        let api_version = string_or_empty(r, "apiVersion");
        let version = api_version.rsplit('/').next().unwrap_or("");
        let checks = [
            ("apiVersion", version, "version must not be empty"),
            ("kind", string_or_empty(r, "kind"), "kind must not be empty"),
            ("name", string_or_empty(r, "name"), "name must not be empty"),
            ("uid", string_or_empty(r, "uid"), "uid must not be empty"),
        ];
        for (field, value, msg) in checks {
            if value.is_empty() {
                let shown = if field == "apiVersion" {
                    api_version
                } else {
                    value
                };
                e.invalid(child(refs_path, field), shown.into(), msg);
            }
        }
        if r.get("controller").and_then(Value::as_bool) == Some(true) {
            let this = format!(
                "{}/{}",
                string_or_empty(r, "kind"),
                string_or_empty(r, "name")
            );
            match &controller {
                Some(first) => e.invalid(
                    refs_path,
                    meta.get("ownerReferences").cloned().unwrap_or(Value::Null),
                    format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {this}"
                    ),
                ),
                None => controller = Some(this),
            }
        }
    }
    for f in items(meta, "finalizers") {
        let f = f.as_str().unwrap_or("");
        e.messages("metadata.finalizers", f, names::qualified_name(f));
    }
    if let Some(g) = meta
        .get("generation")
        .and_then(Value::as_i64)
        .filter(|g| *g < 0)
    {
        e.invalid(
            "metadata.generation",
            g.into(),
            "must be greater than or equal to 0",
        );
    }
}

/// ValidateObjectMeta for a new object.
pub fn validate_create(e: &mut Errs, obj: &Value, namespaced: bool, rule: NameRule) {
    let null = Value::Null;
    let meta = obj.get("metadata").unwrap_or(&null);
    let generate = string_or_empty(meta, "generateName");
    if !generate.is_empty() {
        e.messages(
            "metadata.generateName",
            generate,
            rule.check(generate, true),
        );
    }
    match str_of(meta, "name").filter(|n| !n.is_empty()) {
        Some(name) => e.messages("metadata.name", name, rule.check(name, false)),
        None if generate.is_empty() => {
            e.required("metadata.name", "name or generateName is required")
        }
        None => {}
    }
    let ns = string_or_empty(meta, "namespace");
    match (namespaced, ns.is_empty()) {
        (true, true) => e.required("metadata.namespace", ""),
        (true, false) => e.messages("metadata.namespace", ns, names::dns1123_label(ns)),
        (false, false) => e.forbidden("metadata.namespace", "not allowed on this type"),
        (false, true) => {}
    }
    common(e, meta);
}

/// Go's `time.Time.String()` of an RFC 3339 timestamp, as kube prints metav1.Time values.
fn go_time(v: &Value) -> String {
    let s = v.as_str().unwrap_or("");
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S +0000 UTC")
                .to_string()
        })
        .unwrap_or_else(|_| s.to_string())
}

/// ValidateObjectMetaUpdate: identity fields are immutable; uid and creationTimestamp only when
/// the new object carries them (kube copies them from the stored object otherwise).
pub fn validate_update(e: &mut Errs, obj: &Value, old: &Value) {
    let null = Value::Null;
    let meta = obj.get("metadata").unwrap_or(&null);
    let old_meta = old.get("metadata").unwrap_or(&null);
    for field in ["name", "namespace", "uid", "creationTimestamp"] {
        let new_v = get(meta, field).filter(|v| v.as_str() != Some(""));
        let old_v = get(old_meta, field).filter(|v| v.as_str() != Some(""));
        let optional = matches!(field, "uid" | "creationTimestamp");
        if new_v == old_v || (optional && new_v.is_none()) {
            continue;
        }
        let path = child("metadata", field);
        match (field, new_v) {
            ("creationTimestamp", Some(t)) => e.invalid_go(path, &go_time(t), "field is immutable"),
            (_, v) => e.invalid(
                path,
                v.cloned().unwrap_or_else(|| Value::from("")),
                "field is immutable",
            ),
        }
    }
    common(e, meta);
}
