//! The rules a CRD version's `openAPIV3Schema` must follow to be a structural schema
//! (apiextensions validation: ValidateCustomResourceDefinitionOpenAPISchema and
//! schema.ValidateStructural), with kube's field paths (`…properties[spec].type`) and wording.

use serde_json::{Map, Value};

use super::{Schema, validate::validate_value};
use crate::error::FieldError;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Item,
    Field,
}

fn key(path: &str, k: &str) -> String {
    format!("{path}[{k}]")
}

fn child(path: &str, k: &str) -> String {
    format!("{path}.{k}")
}

/// Every structural-schema violation of `schema` (the raw `openAPIV3Schema`), reported under
/// `path` (e.g. `spec.versions[0].schema.openAPIV3Schema`).
pub fn check_schema(schema: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(obj) = schema.as_object() else {
        errs.push(FieldError::required(path, "schemas are required"));
        return errs;
    };
    props(obj, path, &mut errs);
    structural(obj, Level::Root, path, &mut errs);
    defaults(&Schema::from_json(schema), schema, path, &mut errs);
    errs
}

fn sub<'a>(obj: &'a Map<String, Value>, k: &str) -> Option<&'a Map<String, Value>> {
    obj.get(k).and_then(Value::as_object)
}

fn str_of<'a>(obj: &'a Map<String, Value>, k: &str) -> &'a str {
    obj.get(k).and_then(Value::as_str).unwrap_or("")
}

fn bool_of(obj: &Map<String, Value>, k: &str) -> bool {
    obj.get(k).and_then(Value::as_bool).unwrap_or(false)
}

/// Generic JSONSchemaProps rules, recursively (ValidateCustomResourceDefinitionOpenAPISchema).
fn props(obj: &Map<String, Value>, path: &str, errs: &mut Vec<FieldError>) {
    if obj.contains_key("$ref") {
        errs.push(FieldError::forbidden(
            child(path, "$ref"),
            "$ref is not supported",
        ));
    }
    if bool_of(obj, "uniqueItems") {
        errs.push(FieldError::forbidden(
            child(path, "uniqueItems"),
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ));
    }
    if obj.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(false)) {
        errs.push(FieldError::invalid(
            child(path, "x-kubernetes-preserve-unknown-fields"),
            Value::Bool(false),
            "must be true or undefined",
        ));
    }
    let has_props = sub(obj, "properties").is_some_and(|p| !p.is_empty());
    match obj.get("additionalProperties") {
        Some(Value::Object(ap)) => {
            if has_props {
                errs.push(FieldError::forbidden(
                    child(path, "additionalProperties"),
                    "additionalProperties and properties are mutual exclusive",
                ));
            }
            props(ap, &child(path, "additionalProperties"), errs);
        }
        Some(Value::Bool(false)) => errs.push(FieldError::forbidden(
            child(path, "additionalProperties"),
            "additionalProperties cannot be set to false",
        )),
        _ => {}
    }
    if let Some(p) = sub(obj, "properties") {
        for (k, v) in p {
            if let Some(o) = v.as_object() {
                props(o, &key(&child(path, "properties"), k), errs);
            }
        }
    }
    match obj.get("items") {
        Some(Value::Object(items)) => props(items, &child(path, "items"), errs),
        Some(Value::Array(_)) => errs.push(FieldError::forbidden(
            child(path, "items"),
            "items must be a schema object and not an array",
        )),
        _ => {}
    }
    for combinator in ["allOf", "oneOf", "anyOf"] {
        if let Some(list) = obj.get(combinator).and_then(Value::as_array) {
            for (i, v) in list.iter().enumerate() {
                if let Some(o) = v.as_object() {
                    props(o, &format!("{}[{i}]", child(path, combinator)), errs);
                }
            }
        }
    }
    if let Some(not) = sub(obj, "not") {
        props(not, &child(path, "not"), errs);
    }
    list_type(obj, path, errs);
}

fn list_type(obj: &Map<String, Value>, path: &str, errs: &mut Vec<FieldError>) {
    let Some(lt) = obj.get("x-kubernetes-list-type").and_then(Value::as_str) else {
        if obj.contains_key("x-kubernetes-list-map-keys") {
            errs.push(FieldError::forbidden(
                child(path, "x-kubernetes-list-map-keys"),
                "must be empty if x-kubernetes-list-type is not map",
            ));
        }
        return;
    };
    if !matches!(lt, "atomic" | "set" | "map") {
        errs.push(FieldError::not_supported(
            child(path, "x-kubernetes-list-type"),
            lt.into(),
            &["atomic", "set", "map"],
        ));
        return;
    }
    if str_of(obj, "type") != "array" {
        errs.push(FieldError::invalid(
            child(path, "type"),
            str_of(obj, "type").into(),
            "must be array if x-kubernetes-list-type is specified",
        ));
        return;
    }
    let keys: Vec<&str> = obj
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if lt != "map" {
        if !keys.is_empty() {
            errs.push(FieldError::forbidden(
                child(path, "x-kubernetes-list-map-keys"),
                "must be empty if x-kubernetes-list-type is not map",
            ));
        }
        return;
    }
    if keys.is_empty() {
        errs.push(FieldError::required(
            child(path, "x-kubernetes-list-map-keys"),
            "must not be empty if x-kubernetes-list-type is map",
        ));
        return;
    }
    let Some(items) = sub(obj, "items") else {
        return;
    };
    if str_of(items, "type") != "object" {
        errs.push(FieldError::invalid(
            child(&child(path, "items"), "type"),
            str_of(items, "type").into(),
            "must be object if parent array's x-kubernetes-list-type is map",
        ));
        return;
    }
    let required: Vec<&str> = items
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let item_props = sub(items, "properties");
    for (i, k) in keys.iter().enumerate() {
        let at = format!("{}[{i}]", child(path, "x-kubernetes-list-map-keys"));
        let Some(p) = item_props
            .and_then(|p| p.get(*k))
            .and_then(Value::as_object)
        else {
            errs.push(FieldError::invalid(
                at,
                (*k).into(),
                "entries must all be names of item properties",
            ));
            continue;
        };
        if !matches!(
            str_of(p, "type"),
            "string" | "integer" | "number" | "boolean"
        ) {
            errs.push(FieldError::invalid(
                at.clone(),
                (*k).into(),
                "must be a scalar-typed property",
            ));
        }
        if !required.contains(k) && p.get("default").is_none() {
            errs.push(FieldError::invalid(
                at,
                (*k).into(),
                "entries must all be names of required properties or have non-nil default value",
            ));
        }
    }
}

/// schema.validateStructuralInvariants.
fn structural(obj: &Map<String, Value>, lvl: Level, path: &str, errs: &mut Vec<FieldError>) {
    let ty = str_of(obj, "type");
    let int_or_string = bool_of(obj, "x-kubernetes-int-or-string");
    let embedded = bool_of(obj, "x-kubernetes-embedded-resource");
    let preserve = bool_of(obj, "x-kubernetes-preserve-unknown-fields");
    if ty == "array" && !obj.contains_key("items") {
        errs.push(FieldError::required(
            child(path, "items"),
            "must be specified",
        ));
    }
    if let Some(items) = sub(obj, "items") {
        structural(items, Level::Item, &child(path, "items"), errs);
    }
    if let Some(p) = sub(obj, "properties") {
        for (k, v) in p {
            if let Some(o) = v.as_object() {
                structural(o, Level::Field, &key(&child(path, "properties"), k), errs);
            }
        }
    }
    if let Some(ap) = sub(obj, "additionalProperties") {
        structural(ap, Level::Field, &child(path, "additionalProperties"), errs);
    }
    if ty == "null" {
        errs.push(FieldError::invalid(
            child(path, "type"),
            ty.into(),
            "must not be null",
        ));
    }
    if int_or_string && preserve {
        errs.push(FieldError::invalid(
            child(path, "x-kubernetes-preserve-unknown-fields"),
            Value::Bool(true),
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if int_or_string && embedded {
        errs.push(FieldError::invalid(
            child(path, "x-kubernetes-embedded-resource"),
            Value::Bool(true),
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if embedded && ty != "object" {
        if ty.is_empty() {
            errs.push(FieldError::required(
                child(path, "type"),
                "must be object if x-kubernetes-embedded-resource is true",
            ));
        } else {
            errs.push(FieldError::invalid(
                child(path, "type"),
                ty.into(),
                "must be object if x-kubernetes-embedded-resource is true",
            ));
        }
    } else if ty.is_empty() && !embedded && !int_or_string {
        let detail = match lvl {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        errs.push(FieldError::required(child(path, "type"), detail));
    }
    if embedded && obj.contains_key("additionalProperties") {
        errs.push(FieldError::forbidden(
            child(path, "additionalProperties"),
            "must not be used if x-kubernetes-embedded-resource is set",
        ));
    }
    if lvl == Level::Root && !ty.is_empty() && ty != "object" {
        errs.push(FieldError::invalid(
            child(path, "type"),
            ty.into(),
            "must be object at the root",
        ));
    }
    let properties = sub(obj, "properties");
    if lvl == Level::Root || embedded {
        for meta_field in ["kind", "apiVersion"] {
            if let Some(p) = properties.and_then(|p| sub(p, meta_field)) {
                let t = str_of(p, "type");
                if t != "string" {
                    errs.push(FieldError::invalid(
                        child(&key(&child(path, "properties"), meta_field), "type"),
                        t.into(),
                        "must be string",
                    ));
                }
            }
        }
    }
    if let Some(meta) = properties.and_then(|p| sub(p, "metadata")) {
        let mpath = key(&child(path, "properties"), "metadata");
        let t = str_of(meta, "type");
        if (lvl == Level::Root || embedded) && t != "object" {
            errs.push(FieldError::invalid(
                child(&mpath, "type"),
                t.into(),
                "must be object",
            ));
        }
        if lvl == Level::Root {
            let mut rest = meta.clone();
            rest.remove("type");
            rest.remove("default");
            rest.remove("description");
            if let Some(p) = rest.get("properties").and_then(Value::as_object) {
                let only_names = p.keys().all(|k| k == "name" || k == "generateName");
                if only_names {
                    rest.remove("properties");
                }
            }
            if !rest.is_empty() {
                errs.push(FieldError::forbidden(
                    mpath,
                    "must not specify anything other than name and generateName, but metadata is implicitly specified",
                ));
            }
        }
    }
    if embedded && !preserve && properties.is_none_or(Map::is_empty) {
        errs.push(FieldError::required(
            child(path, "properties"),
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
}

/// Defaults must validate against their schema and survive pruning.
fn defaults(s: &Schema, raw: &Value, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(d) = &s.default {
        let dpath = child(path, "default");
        for mut e in validate_value(s, d, "") {
            // kube validates the default with the default's path as the root
            e.field = if e.field.is_empty() || e.field == "<nil>" {
                dpath.clone()
            } else {
                child(&dpath, &e.field)
            };
            errs.push(e);
        }
        let mut unknown = Vec::new();
        if d.is_object() {
            let wrapper = Schema {
                properties: std::iter::once(("v".to_string(), s.clone())).collect(),
                ty: "object".into(),
                ..Schema::default()
            };
            let mut w = serde_json::json!({ "v": d.clone() });
            unknown = super::prune::prune(Some(&wrapper), &mut w);
        }
        if !unknown.is_empty() {
            errs.push(FieldError::invalid(
                dpath,
                d.clone(),
                format!(
                    "must not have unknown fields, got: {}",
                    unknown
                        .iter()
                        .map(|u| u.trim_start_matches("v.").to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    let Some(obj) = raw.as_object() else {
        return;
    };
    for (k, p) in &s.properties {
        if let Some(rawp) = obj.get("properties").and_then(|ps| ps.get(k)) {
            defaults(p, rawp, &key(&child(path, "properties"), k), errs);
        }
    }
    if let (Some(items), Some(rawi)) = (s.items.as_deref(), obj.get("items")) {
        defaults(items, rawi, &child(path, "items"), errs);
    }
    if let (Some(ap), Some(rawa)) = (
        s.additional_properties.as_deref(),
        obj.get("additionalProperties"),
    ) {
        defaults(ap, rawa, &child(path, "additionalProperties"), errs);
    }
}
