//! Where built-in resources and custom resources part ways on the write and read paths:
//! decoding checks (unknown fields, type errors), defaulting and validation come from the
//! built-in definitions and rules for built-ins, from the CRD version's structural schema for
//! custom resources, and from the CRD rules for CustomResourceDefinitions themselves. Custom
//! resources are stored at their CRD's storage version and read back at the version asked for.

use serde_json::{Value, json};
use warren_apimachinery::crd as crdlib;
use warren_apimachinery::error::{ApiError, FieldError};
use warren_apimachinery::patch::PatchType;
use warren_apimachinery::registry::Resource;
use warren_apimachinery::{defaults, structural, validation};

use crate::request::FieldValidation;

fn is_crd(res: &Resource) -> bool {
    crate::crd::is_crd(res)
}

fn strict_error(res: &Resource, unknown: &[String]) -> ApiError {
    ApiError::bad_request(format!(
        "{kind} in version {version:?} cannot be handled as a {kind}: strict decoding error: {}",
        unknown.join(", "),
        kind = res.kind,
        version = res.version,
    ))
}

/// Strict/Warn/Ignore handling of fields the schema doesn't know, plus type mismatches (always
/// a 400 for built-ins, as kube's decoder fails on them). Unknown fields are never stored.
pub fn check_fields(
    res: &Resource,
    obj: &mut Value,
    mode: FieldValidation,
    warnings: &mut Vec<String>,
) -> Result<(), ApiError> {
    if let Some(info) = res.custom.as_deref() {
        // custom resources decode as unstructured: no type errors, unknown fields pruned
        let pruned = structural::prune(info.schema.as_deref(), obj);
        if let Some(schema) = info.schema.as_deref() {
            structural::prune_non_nullable_nulls(schema, obj);
        }
        let unknown: Vec<String> = pruned
            .iter()
            .map(|p| format!("unknown field {p:?}"))
            .collect();
        match mode {
            FieldValidation::Strict if !unknown.is_empty() => {
                return Err(strict_error(res, &unknown));
            }
            FieldValidation::Warn => warnings.extend(unknown),
            _ => {}
        }
        return Ok(());
    }
    let type_errors = validation::type_errors(&res.definition, obj);
    if let Some(e) = validation::decode_error(&res.kind, &res.version, &type_errors) {
        return Err(e);
    }
    let unknown = validation::unknown_fields(&res.definition, obj);
    if unknown.is_empty() {
        return Ok(());
    }
    match mode {
        FieldValidation::Strict => return Err(strict_error(res, &unknown)),
        FieldValidation::Warn => warnings.extend(unknown),
        FieldValidation::Ignore => {}
    }
    validation::prune_unknown(&res.definition, obj);
    Ok(())
}

/// Defaulting of a new or updated object.
pub fn apply_defaults(res: &Resource, obj: &mut Value) {
    if let Some(info) = res.custom.as_deref() {
        if let Some(schema) = info.schema.as_deref() {
            structural::apply_defaults(schema, obj);
        }
        return;
    }
    defaults::apply_defaults(&res.group, &res.kind, obj);
    if is_crd(res) {
        crdlib::validation::apply_defaults(obj);
        crdlib::validation::record_stored_version(obj);
        let status = &mut obj["status"];
        if status.get("acceptedNames").is_none() {
            status["acceptedNames"] = json!({"kind": "", "plural": ""});
        }
    }
}

/// Schema, scale and list-type errors of a custom resource.
fn custom_errors(res: &Resource, obj: &Value) -> Vec<FieldError> {
    let Some(info) = res.custom.as_deref() else {
        return Vec::new();
    };
    // kube's order: schema, scale paths, embedded ObjectMeta, list sets and maps
    let mut errs = Vec::new();
    if let Some(schema) = info.schema.as_deref() {
        errs.extend(structural::validate::validate_value(schema, obj, ""));
    }
    if let Some(scale) = &info.scale {
        errs.extend(crdlib::validate_scale(scale, obj));
    }
    if let Some(schema) = info.schema.as_deref() {
        errs.extend(structural::validate::validate_structure(schema, obj));
    }
    errs
}

/// Field errors of a new object.
pub fn validate_create(res: &Resource, obj: &Value) -> Vec<FieldError> {
    let mut errs = validation::validate_create(&res.group, &res.kind, obj, res.namespaced);
    if res.custom.is_some() {
        errs.extend(custom_errors(res, obj));
    } else if is_crd(res) {
        errs.extend(crdlib::validation::validate_create(obj));
    }
    errs
}

/// Field errors of an update of `old` to `new`.
pub fn validate_update(res: &Resource, new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validation::validate_update(&res.group, &res.kind, new, old, res.namespaced);
    if res.custom.is_some() {
        // validation ratcheting: what an update leaves unchanged is not held against it
        errs.extend(
            custom_errors(res, new)
                .into_iter()
                .filter(|e| !unchanged(&e.field, e.kind, new, old)),
        );
    } else if is_crd(res) {
        errs.extend(crdlib::validation::validate_update(new, old));
    }
    errs
}

/// The value at a field path of kube's notation (`spec.items[0].name`, `spec.labels.key`).
fn at_path<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = obj;
    for part in path.split('.') {
        let (name, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            cur = cur.get(name)?;
        }
        for idx in indexes.split('[').filter(|s| !s.is_empty()) {
            let i: usize = idx.trim_end_matches(']').parse().ok()?;
            cur = cur.get(i)?;
        }
    }
    Some(cur)
}

/// Whether the value an error is about is the same in the old object (CRD validation
/// ratcheting); for missing required fields, whether their parent object is unchanged.
fn unchanged(
    field: &str,
    kind: warren_apimachinery::error::FieldErrorKind,
    new: &Value,
    old: &Value,
) -> bool {
    let field = field.trim_start_matches('.');
    if field.is_empty() || field.starts_with('<') || field.starts_with("metadata") {
        return false;
    }
    let path = match kind {
        warren_apimachinery::error::FieldErrorKind::Required => match field.rsplit_once('.') {
            Some((parent, _)) => parent,
            None => return false,
        },
        _ => field,
    };
    match (at_path(new, path), at_path(old, path)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Custom resources take JSON, merge and apply patches; strategic merge needs Go types.
pub fn check_patch_type(res: &Resource, patch_type: PatchType) -> Result<(), ApiError> {
    if res.custom.is_some() && patch_type == PatchType::StrategicMerge {
        return Err(ApiError::new(
            warren_apimachinery::error::Reason::UnsupportedMediaType,
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
        ));
    }
    Ok(())
}

/// Creating objects of a CRD that is being deleted is refused, as kube does.
pub fn check_create(res: &Resource) -> Result<(), ApiError> {
    if res.custom.as_deref().is_some_and(|c| c.terminating) {
        let mut e = ApiError::method_not_allowed(
            "create not allowed while custom resource definition is terminating",
        );
        e.group = Some(res.group.clone());
        e.kind = Some(res.plural.clone());
        return Err(e);
    }
    Ok(())
}

/// Warnings every answer about `res` carries (a deprecated custom resource version).
pub fn add_warnings(res: &Resource, warnings: &mut Vec<String>) {
    if let Some(w) = res
        .custom
        .as_deref()
        .and_then(|c| c.deprecation_warning.clone())
    {
        warnings.push(w);
    }
}

/// Whether objects of `res` are rewritten on the way out (so stored bytes can't pass through).
pub fn transforms_reads(res: &Resource) -> bool {
    res.custom.is_some()
}

/// A stored object as the client asked for it: custom resources at the requested version
/// (conversion `None` only rewrites apiVersion), with the schema's defaults applied.
pub fn read_form(res: &Resource, obj: &mut Value) {
    let Some(info) = res.custom.as_deref() else {
        return;
    };
    let served = res.api_version();
    let converted = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .is_some_and(|v| v != served);
    if let Some(m) = obj.as_object_mut()
        && m.contains_key("apiVersion")
    {
        m.insert("apiVersion".into(), Value::String(served));
    }
    if converted {
        // converting to another version prunes to that version's schema
        structural::prune(info.schema.as_deref(), obj);
    }
    if let Some(schema) = info.schema.as_deref() {
        structural::prune_non_nullable_nulls(schema, obj);
        structural::apply_defaults(schema, obj);
    }
}

/// Converts an object of a custom resource served at another version than its storage
/// version to the storage version (apiVersion rewritten, pruned to the storage schema).
/// Returns the served apiVersion to put back on the reply.
pub fn to_storage(res: &Resource, obj: &mut Value) -> Option<Value> {
    let info = res.custom.as_deref()?;
    if info.storage_version == res.version || info.storage_version.is_empty() {
        return None;
    }
    let storage = format!("{}/{}", res.group, info.storage_version);
    let served = obj
        .as_object_mut()?
        .insert("apiVersion".into(), Value::String(storage));
    structural::prune(info.storage_schema.as_deref(), obj);
    served
}

/// The Scale view of a custom resource with a scale subresource.
pub fn scale_of(res: &Resource, obj: &Value) -> Option<Value> {
    let paths = res.custom.as_deref()?.scale.as_ref()?;
    Some(crdlib::scale_of(paths, obj))
}

/// Writes replicas from a Scale to the object (at the CRD's spec replicas path).
pub fn set_replicas(res: &Resource, obj: &mut Value, replicas: i64) {
    match res.custom.as_deref().and_then(|c| c.scale.as_ref()) {
        Some(paths) => crdlib::set_spec_replicas(paths, obj, replicas),
        None => obj["spec"]["replicas"] = json!(replicas),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `widgets` at v1 (storage) and v2, where v2 has a stricter schema.
    fn widgets() -> Vec<Resource> {
        let schema = |max: i64| {
            json!({"openAPIV3Schema": {"type": "object", "properties": {"spec": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": max},
                    "size": {"type": "string", "default": "m"},
                    "keep": {"type": "string"},
                },
            }}}})
        };
        crdlib::resources_from_crd(&json!({
            "metadata": {"name": "widgets.example.com", "uid": "u", "generation": 1},
            "spec": {
                "group": "example.com", "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                "versions": [
                    {"name": "v1", "served": true, "storage": true, "schema": schema(10)},
                    {"name": "v2", "served": true, "storage": false, "schema": {"openAPIV3Schema": {
                        "type": "object", "properties": {"spec": {"type": "object", "properties": {
                            "name": {"type": "string", "maxLength": 3},
                            "size": {"type": "string", "default": "m"},
                        }}}}}},
                ],
            },
        }))
    }

    fn messages(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn custom_resources_decode_default_and_validate_by_schema() {
        let res = widgets();
        let (v2, v1) = (&res[0], &res[1]);
        assert_eq!((v1.version.as_str(), v2.version.as_str()), ("v1", "v2"));
        let obj = || {
            json!({"apiVersion": "example.com/v2", "kind": "Widget",
                   "metadata": {"name": "w", "namespace": "d", "junk": 1},
                   "spec": {"name": "abcdef", "extra": true}})
        };
        let mut o = obj();
        let err =
            check_fields(v2, &mut o, FieldValidation::Strict, &mut Vec::new()).expect_err("strict");
        assert_eq!(
            err.message,
            r#"Widget in version "v2" cannot be handled as a Widget: strict decoding error: unknown field "metadata.junk", unknown field "spec.extra""#
        );
        let mut warnings = Vec::new();
        let mut o = obj();
        check_fields(v2, &mut o, FieldValidation::Warn, &mut warnings).expect("warn");
        assert_eq!(
            warnings,
            [
                r#"unknown field "metadata.junk""#,
                r#"unknown field "spec.extra""#
            ]
        );
        assert_eq!(o["spec"], json!({"name": "abcdef"}));
        apply_defaults(v2, &mut o);
        assert_eq!(o["spec"]["size"], "m");
        assert_eq!(
            messages(&validate_create(v2, &o)),
            ["spec.name: Too long: may not be more than 3 bytes"]
        );
        // ratcheting: an unchanged invalid value passes, a changed one does not
        let mut changed = o.clone();
        changed["spec"]["size"] = json!("l");
        assert!(validate_update(v2, &changed, &o).is_empty());
        changed["spec"]["name"] = json!("abcdefg");
        assert_eq!(
            messages(&validate_update(v2, &changed, &o)),
            ["spec.name: Too long: may not be more than 3 bytes"]
        );

        // stored at v1 (pruned to its schema), read back at v2 (pruned to v2's)
        let mut stored = json!({"apiVersion": "example.com/v2", "kind": "Widget",
                                "metadata": {"name": "w"}, "spec": {"name": "ab", "keep": "x"}});
        let served = to_storage(v2, &mut stored);
        assert_eq!(served, Some(json!("example.com/v2")));
        assert_eq!(stored["apiVersion"], "example.com/v1");
        assert_eq!(stored["spec"]["keep"], "x");
        let mut read = stored.clone();
        read_form(v2, &mut read);
        assert_eq!(read["apiVersion"], "example.com/v2");
        assert_eq!(read["spec"], json!({"name": "ab", "size": "m"}));
        let mut read = stored.clone();
        read_form(v1, &mut read);
        assert_eq!(
            read["spec"],
            json!({"name": "ab", "keep": "x", "size": "m"})
        );
        assert!(to_storage(v1, &mut read).is_none());

        assert!(check_patch_type(v2, PatchType::StrategicMerge).is_err());
        assert!(check_patch_type(v2, PatchType::Merge).is_ok());
        assert!(transforms_reads(v2));
        let pods = warren_apimachinery::registry::find_builtin("", "v1", "pods").expect("pods");
        assert!(check_patch_type(pods, PatchType::StrategicMerge).is_ok());
        assert!(!transforms_reads(pods));
    }
}
