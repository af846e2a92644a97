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
        errs.extend(custom_errors(res, new));
    } else if is_crd(res) {
        errs.extend(crdlib::validation::validate_update(new, old));
    }
    errs
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
