//! Validation of a custom resource against its structural schema, as kube-apiserver does it:
//! kube-openapi's schema validator (`in body` messages, field paths `spec.items[0].name`,
//! `spec.labels.key`) mapped to field errors by apiextensions-apiserver
//! (kubeOpenAPIResultToFieldErrors), then the `x-kubernetes-list-type` set/map invariants and
//! the ObjectMeta of embedded resources.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::{Schema, formats, go_float};
use crate::error::{FieldError, FieldErrorKind};
use crate::validation::names;

const IN: &str = "body";

/// The path kube puts in front of errors that are not tied to a field (`field.Path(nil)`).
const NIL_PATH: &str = "<nil>";

/// Every error of `obj` against `schema`, in kube's order: schema validation, embedded
/// resources' ObjectMeta, list sets and maps.
pub fn validate(schema: &Schema, obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_value(schema, obj, "");
    errs.extend(validate_structure(schema, obj));
    errs
}

/// The checks kube runs after schema validation (and after a custom resource's scale
/// checks): ObjectMeta of embedded resources, then list sets and maps.
pub fn validate_structure(schema: &Schema, obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    embedded(schema, obj, "", true, &mut errs);
    list_types(schema, obj, "", &mut errs);
    errs
}

/// Only the schema validation (no list types or embedded resources); used for defaults.
pub fn validate_value(schema: &Schema, value: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    node(schema, value, path, &mut errs);
    errs
}

fn field_of(path: &str) -> String {
    path.trim_start_matches('.').to_string()
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `field.TypeInvalid`: kube-openapi's InvalidTypeCode errors.
fn type_invalid(errs: &mut Vec<FieldError>, path: &str, value: Value, msg: String) {
    errs.push(FieldError::new(
        FieldErrorKind::TypeInvalid,
        field_of(path),
        Some(value),
        msg,
    ));
}

/// `field.Invalid` with the kube-openapi message (the default mapping).
fn invalid(errs: &mut Vec<FieldError>, path: &str, value: Value, msg: String) {
    errs.push(FieldError::invalid(field_of(path), value, msg));
}

/// The JSON type name kube-openapi infers for a decoded value, and its format.
fn schema_type(v: &Value) -> (&'static str, &'static str) {
    match v {
        Value::Null => ("null", ""),
        Value::Bool(_) => ("boolean", ""),
        Value::String(_) => ("string", ""),
        Value::Number(n) if n.is_i64() || n.is_u64() => ("integer", "int64"),
        Value::Number(_) => ("number", "float64"),
        Value::Array(_) => ("array", ""),
        Value::Object(_) => ("object", ""),
    }
}

/// `InvalidType(path, in, typeName, value)`: `%q` data only for strings.
fn type_message(path: &str, type_name: &str, data: &str) -> String {
    format!("{path} in {IN} must be of type {type_name}: {data:?}")
}

fn node(s: &Schema, v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let types = s.types();
    let format = s.effective_format();
    if v.is_null() {
        if !types.is_empty() && !types.contains(&"null") && !s.nullable {
            let t = types.join(",");
            type_invalid(errs, path, "null".into(), type_message(path, &t, "null"));
        }
        enumeration(s, v, path, errs);
        return;
    }
    type_check(s, &types, format, v, path, errs);
    schema_props(s, v, path, errs);
    if let Value::String(text) = v {
        string(s, text, path, errs);
        if !format.is_empty() && !formats::validates(format, text) {
            type_invalid(errs, path, v.clone(), type_message(path, &s.format, text));
        }
    }
    if v.is_number() {
        number(s, v, path, errs);
    }
    if let Value::Array(list) = v {
        array(s, list, path, errs);
    }
    enumeration(s, v, path, errs);
    if let Value::Object(map) = v {
        object(s, map, path, errs);
    }
}

/// The typeValidator.
fn type_check(
    s: &Schema,
    types: &[&str],
    format: &str,
    v: &Value,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    if types.is_empty() && format.is_empty() {
        return;
    }
    let (sch_type, data_format) = schema_type(v);
    let contains = |t: &str| types.contains(&t);
    let float_int = sch_type == "number"
        && v.as_f64()
            .is_some_and(|f| f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15)
        && contains("integer");
    let int_float = sch_type == "integer" && contains("number");
    let lower_int = format == "int64" && data_format == "int32";
    let lower_float = format == "float64" && data_format == "float32";
    let scalar_like = !matches!(v, Value::String(_) | Value::Array(_));
    if scalar_like
        && !format.is_empty()
        && !(contains(sch_type)
            || data_format == format
            || float_int
            || int_float
            || lower_int
            || lower_float)
    {
        let msg = type_message(path, format, data_format);
        type_invalid(errs, path, data_format.into(), msg);
        return;
    }
    let numeric = contains("number") || contains("integer");
    if !(numeric || format.is_empty() || scalar_like) {
        return;
    }
    if !(contains(sch_type) || float_int || int_float) {
        let _ = s;
        let msg = type_message(path, &types.join(","), sch_type);
        type_invalid(errs, path, sch_type.into(), msg);
    }
}

/// allOf / anyOf / oneOf / not.
fn schema_props(s: &Schema, v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let composite = |errs: &mut Vec<FieldError>, msg: String| {
        errs.push(FieldError::invalid(NIL_PATH, Value::from(""), msg));
    };
    if !s.any_of.is_empty() {
        let results: Vec<Vec<FieldError>> = s
            .any_of
            .iter()
            .map(|alt| validate_value(alt, v, path))
            .collect();
        if !results.iter().any(Vec::is_empty) {
            composite(
                errs,
                format!("{:?} must validate at least one schema (anyOf)", path),
            );
            if let Some(best) = results.into_iter().min_by_key(Vec::len) {
                errs.extend(best);
            }
        }
    }
    if !s.one_of.is_empty() {
        let results: Vec<Vec<FieldError>> = s
            .one_of
            .iter()
            .map(|alt| validate_value(alt, v, path))
            .collect();
        let valid = results.iter().filter(|r| r.is_empty()).count();
        if valid != 1 {
            let extra = if valid == 0 {
                "Found none valid".to_string()
            } else {
                format!("Found {valid} valid alternatives")
            };
            composite(
                errs,
                format!(
                    "{:?} must validate one and only one schema (oneOf). {extra}",
                    path
                ),
            );
            if valid == 0
                && let Some(best) = results.into_iter().min_by_key(Vec::len)
            {
                errs.extend(best);
            }
        }
    }
    if !s.all_of.is_empty() {
        let mut validated = 0;
        for alt in &s.all_of {
            let r = validate_value(alt, v, path);
            if r.is_empty() {
                validated += 1;
            }
            errs.extend(r);
        }
        if validated != s.all_of.len() {
            let extra = if validated == 0 {
                ". None validated"
            } else {
                ""
            };
            composite(
                errs,
                format!("{:?} must validate all the schemas (allOf){extra}", path),
            );
        }
    }
    if let Some(not) = &s.not
        && validate_value(not, v, path).is_empty()
    {
        composite(
            errs,
            format!("{:?} must not validate the schema (not)", path),
        );
    }
}

fn string(s: &Schema, text: &str, path: &str, errs: &mut Vec<FieldError>) {
    let len = text.chars().count() as i64;
    if let Some(max) = s.max_length
        && len > max
    {
        // field.TooLong: the value is omitted
        let unit = if max == 1 { "byte" } else { "bytes" };
        errs.push(FieldError::new(
            FieldErrorKind::TooLong,
            field_of(path),
            None,
            format!("may not be more than {max} {unit}"),
        ));
        return;
    }
    if let Some(min) = s.min_length
        && len < min
    {
        invalid(
            errs,
            path,
            text.into(),
            format!("{path} in {IN} should be at least {min} chars long"),
        );
        return;
    }
    if let Some(p) = &s.pattern {
        match &s.pattern_re {
            Some(Ok(re)) if re.is_match(text) => {}
            Some(Ok(_)) | None => invalid(
                errs,
                path,
                text.into(),
                format!("{path} in {IN} should match '{p}'"),
            ),
            Some(Err(e)) => invalid(
                errs,
                path,
                text.into(),
                format!("{path} in {IN} should match '{p}, but pattern is invalid: {e}'"),
            ),
        }
    }
}

/// The numberValidator: range of the format, multipleOf, minimum, maximum.
fn number(s: &Schema, v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let as_int = v.as_i64();
    let data = v.as_f64().unwrap_or(0.0);
    let single_type = if s.int_or_string { "" } else { s.ty.as_str() };
    let format = s.effective_format();
    if single_type == "integer" && format == "int32" {
        let fits = match as_int {
            Some(i) => i32::try_from(i).is_ok(),
            None => data.fract() == 0.0 && data >= i32::MIN as f64 && data <= i32::MAX as f64,
        };
        if !fits {
            errs.push(FieldError::invalid(
                NIL_PATH,
                Value::from(""),
                format!("Checked value must be of type integer with format int32 in {path}"),
            ));
        }
    }
    let render_bound = |b: f64| match as_int {
        Some(_) => format!("{}", b as i64),
        None => go_float(b),
    };
    if let Some(m) = s.multiple_of {
        let bad = if m <= 0.0 {
            Some(format!(
                "factor MultipleOf declared for {path} must be positive: {}",
                go_float(m)
            ))
        } else {
            let ok = match as_int {
                Some(i) if m.fract() == 0.0 => i % (m as i64).max(1) == 0,
                _ => {
                    let mult = data / m;
                    (mult - mult.round()).abs() < 1e-9
                }
            };
            (!ok).then(|| format!("{path} in {IN} should be a multiple of {}", render_bound(m)))
        };
        if let Some(msg) = bad {
            invalid(errs, path, v.clone(), msg);
        }
    }
    if let Some(min) = s.minimum {
        let fails = match as_int {
            Some(i) => {
                let m = min as i64;
                if s.exclusive_minimum { i <= m } else { i < m }
            }
            None => {
                if s.exclusive_minimum {
                    data <= min
                } else {
                    data < min
                }
            }
        };
        if fails {
            let op = if s.exclusive_minimum {
                "greater than"
            } else {
                "greater than or equal to"
            };
            invalid(
                errs,
                path,
                v.clone(),
                format!("{path} in {IN} should be {op} {}", render_bound(min)),
            );
        }
    }
    if let Some(max) = s.maximum {
        let fails = match as_int {
            Some(i) => {
                let m = max as i64;
                if s.exclusive_maximum { i >= m } else { i > m }
            }
            None => {
                if s.exclusive_maximum {
                    data >= max
                } else {
                    data > max
                }
            }
        };
        if fails {
            let op = if s.exclusive_maximum {
                "less than"
            } else {
                "less than or equal to"
            };
            invalid(
                errs,
                path,
                v.clone(),
                format!("{path} in {IN} should be {op} {}", render_bound(max)),
            );
        }
    }
}

fn array(s: &Schema, list: &[Value], path: &str, errs: &mut Vec<FieldError>) {
    if let Some(items) = &s.items {
        for (i, item) in list.iter().enumerate() {
            node(items, item, &format!("{path}[{i}]"), errs);
        }
    }
    let size = list.len() as i64;
    if let Some(min) = s.min_items
        && size < min
    {
        invalid(
            errs,
            path,
            size.into(),
            format!("{path} in {IN} should have at least {min} items"),
        );
    }
    if let Some(max) = s.max_items
        && size > max
    {
        // field.TooMany(path, actual, max)
        let unit = if max == 1 { "item" } else { "items" };
        errs.push(FieldError::new(
            FieldErrorKind::TooMany,
            field_of(path),
            Some(size.into()),
            format!("must have at most {max} {unit}"),
        ));
    }
    if s.unique_items {
        let mut seen: Vec<&Value> = Vec::new();
        for v in list {
            if seen.contains(&v) {
                invalid(
                    errs,
                    path,
                    "".into(),
                    format!("{path} in {IN} shouldn't contain duplicates"),
                );
                break;
            }
            seen.push(v);
        }
    }
}

/// Whether `data` equals an enum member the way kube-openapi compares (numbers across int and
/// float representations).
fn enum_matches(data: &Value, member: &Value) -> bool {
    match (data, member) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => data == member,
    }
}

fn enumeration(s: &Schema, v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let Some(values) = &s.enumeration else {
        return;
    };
    if values.is_empty() || values.iter().any(|m| enum_matches(v, m)) {
        return;
    }
    let supported: Vec<String> = values
        .iter()
        .map(|m| match m {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    let refs: Vec<&str> = supported.iter().map(String::as_str).collect();
    errs.push(FieldError::not_supported(field_of(path), v.clone(), &refs));
}

fn object(s: &Schema, map: &Map<String, Value>, path: &str, errs: &mut Vec<FieldError>) {
    let n = map.len() as i64;
    if let Some(min) = s.min_properties
        && n < min
    {
        invalid(
            errs,
            path,
            min.into(),
            format!("{path} in {IN} should have at least {min} properties"),
        );
    }
    if let Some(max) = s.max_properties
        && n > max
    {
        let unit = if max == 1 { "item" } else { "items" };
        errs.push(FieldError::new(
            FieldErrorKind::TooMany,
            field_of(path),
            Some(max.into()),
            format!("must have at most {max} {unit}"),
        ));
    }
    if s.additional_properties_bool == Some(false) {
        for k in map.keys() {
            if !s.properties.contains_key(k) {
                invalid(
                    errs,
                    path,
                    k.as_str().into(),
                    format!("{path}.{k} in {IN} is a forbidden property"),
                );
            }
        }
    } else if let Some(extra) = &s.additional_properties {
        for (k, v) in map {
            if !s.properties.contains_key(k) {
                node(extra, v, &format!("{path}.{k}"), errs);
            }
        }
    }
    for (name, prop) in &s.properties {
        if let Some(v) = map.get(name) {
            node(prop, v, &child(path, name), errs);
        }
    }
    for r in &s.required {
        if !map.contains_key(r) {
            errs.push(FieldError::new(
                FieldErrorKind::Required,
                field_of(&format!("{path}.{r}")),
                None,
                "",
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// embedded resources (schemaobjectmeta.Validate)

fn embedded(s: &Schema, v: &Value, path: &str, root: bool, errs: &mut Vec<FieldError>) {
    match v {
        Value::Object(map) => {
            if s.embedded_resource && !root {
                embedded_meta(map, path, errs);
            }
            for (k, val) in map {
                if let Some(p) = s.member(k) {
                    embedded(p, val, &child(path, k), false, errs);
                }
            }
        }
        Value::Array(list) => {
            if let Some(items) = &s.items {
                for (i, item) in list.iter().enumerate() {
                    embedded(items, item, &format!("{path}[{i}]"), false, errs);
                }
            }
        }
        _ => {}
    }
}

fn embedded_meta(map: &Map<String, Value>, path: &str, errs: &mut Vec<FieldError>) {
    let at = |f: &str| child(path, f);
    let api_version = map.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
    if api_version.is_empty() {
        errs.push(FieldError::required(at("apiVersion"), "must not be empty"));
    } else if let Some((group, version)) = api_version.split_once('/')
        && (version.contains('/')
            || group.is_empty()
            || version.is_empty()
            || !names::dns1123_subdomain(group).is_empty())
    {
        errs.push(FieldError::invalid(
            at("apiVersion"),
            api_version.into(),
            "must be of the format <group>/<version> or <version>",
        ));
    }
    if kind.is_empty() {
        errs.push(FieldError::required(at("kind"), "must not be empty"));
    }
    let Some(meta) = map.get("metadata").and_then(Value::as_object) else {
        return;
    };
    let mpath = at("metadata");
    let name = meta.get("name").and_then(Value::as_str).unwrap_or("");
    if !name.is_empty() {
        for msg in names::dns1123_subdomain(name) {
            errs.push(FieldError::invalid(child(&mpath, "name"), name.into(), msg));
        }
    }
    let generate = meta
        .get("generateName")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !generate.is_empty() {
        for msg in crate::validation::NameRule::Subdomain.check(generate, true) {
            errs.push(FieldError::invalid(
                child(&mpath, "generateName"),
                generate.into(),
                msg,
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// x-kubernetes-list-type: set / map (structurallisttype.ValidateListSetsAndMaps)

fn list_types(s: &Schema, v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                if let Some(p) = s.member(k) {
                    list_types(p, val, &child(path, k), errs);
                }
            }
        }
        Value::Array(list) => {
            match s.list_type.as_deref() {
                Some("set") => set_duplicates(list, path, errs),
                Some("map") => map_duplicates(s, list, path, errs),
                _ => {}
            }
            if let Some(items) = &s.items {
                for (i, item) in list.iter().enumerate() {
                    list_types(items, item, &format!("{path}[{i}]"), errs);
                }
            }
        }
        _ => {}
    }
}

/// A JSON value as Go's `%#v` prints the decoded `interface{}` (what kube's Duplicate errors
/// show for non-scalar set members and map keys).
fn go_value(v: &Value) -> String {
    match v {
        Value::Null => "interface {}(nil)".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_i64() || n.is_u64() => format!("{n}"),
        Value::Number(n) => go_float(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => format!("{s:?}"),
        Value::Array(a) => format!(
            "[]interface {{}}{{{}}}",
            a.iter().map(go_value).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "map[string]interface {{}}{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{k:?}:{}", go_value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn duplicate(errs: &mut Vec<FieldError>, path: &str, v: &Value) {
    let field = field_of(path);
    match v {
        Value::Object(_) | Value::Array(_) => errs.push(FieldError::new(
            FieldErrorKind::Duplicate,
            field,
            None,
            go_value(v),
        )),
        other => errs.push(FieldError::duplicate(field, other.clone())),
    }
}

fn set_duplicates(list: &[Value], path: &str, errs: &mut Vec<FieldError>) {
    let mut seen: HashSet<String> = HashSet::new();
    for (i, v) in list.iter().enumerate() {
        let key = v.to_string();
        if !seen.insert(key) {
            duplicate(errs, &format!("{path}[{i}]"), v);
        }
    }
}

fn map_duplicates(s: &Schema, list: &[Value], path: &str, errs: &mut Vec<FieldError>) {
    let mut seen: HashSet<String> = HashSet::new();
    for (i, v) in list.iter().enumerate() {
        let Some(obj) = v.as_object() else {
            continue;
        };
        let mut key = Map::new();
        for k in &s.list_map_keys {
            // keys with a default count as present (defaulting ran before)
            let val = obj
                .get(k)
                .cloned()
                .or_else(|| s.items.as_ref()?.properties.get(k)?.default.clone())
                .unwrap_or(Value::Null);
            key.insert(k.clone(), val);
        }
        let key = Value::Object(key);
        if !seen.insert(key.to_string()) {
            duplicate(errs, &format!("{path}[{i}]"), &key);
        }
    }
}
