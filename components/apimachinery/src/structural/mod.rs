//! Structural schemas of CustomResourceDefinitions (apiextensions.k8s.io/v1), with no I/O: the
//! schema model parsed from a version's `openAPIV3Schema`, and what kube-apiserver does with it
//! for custom resources:
//!
//! - [`validate`]: kube-openapi's schema validation (types, formats, enum, ranges, lengths,
//!   items, required, patterns, `allOf`/`anyOf`/`oneOf`/`not`) plus the list-type
//!   (`x-kubernetes-list-type: set|map`) and embedded-resource checks, turned into field errors
//!   with the paths and wording kube-apiserver reports (`spec.replicas: Invalid value: "string":
//!   spec.replicas in body must be of type integer: "string"`);
//! - [`prune`]: removal of fields the schema does not declare (unless
//!   `x-kubernetes-preserve-unknown-fields`), returning the pruned paths for strict field
//!   validation, plus the ObjectMeta coercion of the root and embedded resources;
//! - [`default`]: schema defaults, and dropping `null`s of non-nullable fields;
//! - [`check`]: the structural-schema rules a CRD's schema must satisfy.

pub mod check;
pub mod default;
pub mod formats;
pub mod prune;
pub mod validate;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde_json::Value;

pub use check::check_schema;
pub use default::{apply_defaults, prune_non_nullable_nulls};
pub use prune::prune;
pub use validate::validate;

/// One node of a structural schema (a parsed `JSONSchemaProps`).
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// `type`, empty when unset.
    pub ty: String,
    /// `format` as written (see [`Schema::effective_format`] for what is validated).
    pub format: String,
    pub description: String,
    pub nullable: bool,
    pub default: Option<Value>,
    pub properties: BTreeMap<String, Schema>,
    /// `additionalProperties` given as a schema.
    pub additional_properties: Option<Box<Schema>>,
    /// `additionalProperties` given as a boolean.
    pub additional_properties_bool: Option<bool>,
    pub items: Option<Box<Schema>>,
    pub required: Vec<String>,
    pub enumeration: Option<Vec<Value>>,
    pub maximum: Option<f64>,
    pub exclusive_maximum: bool,
    pub minimum: Option<f64>,
    pub exclusive_minimum: bool,
    pub multiple_of: Option<f64>,
    pub max_length: Option<i64>,
    pub min_length: Option<i64>,
    pub max_items: Option<i64>,
    pub min_items: Option<i64>,
    pub max_properties: Option<i64>,
    pub min_properties: Option<i64>,
    pub pattern: Option<String>,
    /// The compiled `pattern` (or the compile error, reported as kube does).
    pub pattern_re: Option<Result<regex::Regex, String>>,
    pub unique_items: bool,
    /// `x-kubernetes-preserve-unknown-fields` (`Some(false)` is invalid but kept to report it).
    pub preserve_unknown_fields: Option<bool>,
    pub int_or_string: bool,
    pub embedded_resource: bool,
    pub list_type: Option<String>,
    pub list_map_keys: Vec<String>,
    pub map_type: Option<String>,
    pub all_of: Vec<Schema>,
    pub any_of: Vec<Schema>,
    pub one_of: Vec<Schema>,
    pub not: Option<Box<Schema>>,
}

fn f64_of(v: &Value, k: &str) -> Option<f64> {
    v.get(k).and_then(Value::as_f64)
}

fn i64_of(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(|n| {
        n.as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
    })
}

fn str_of(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

fn bool_of(v: &Value, k: &str) -> bool {
    v.get(k).and_then(Value::as_bool).unwrap_or(false)
}

fn schemas(v: &Value, k: &str) -> Vec<Schema> {
    v.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(Schema::from_json).collect())
        .unwrap_or_default()
}

/// Translates an ECMA-262 pattern into the `regex` crate's syntax where they differ in ways
/// CRDs use (`\d`, `\w`, `\s` are ASCII in ECMA and in Go's RE2).
fn compile_pattern(p: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(p)
        .unicode(false)
        .size_limit(1 << 20)
        .build()
        .or_else(|_| regex::RegexBuilder::new(p).size_limit(1 << 20).build())
        .map_err(|e| {
            // the first line of the regex crate's error, like Go's `error parsing regexp: …`
            e.to_string()
                .lines()
                .rev()
                .find(|l| l.starts_with("error:"))
                .map(|l| l.trim_start_matches("error:").trim().to_string())
                .unwrap_or_else(|| e.to_string())
        })
}

impl Schema {
    /// Parses a `JSONSchemaProps` object. Unknown members are ignored; malformed ones read as
    /// unset (the CRD validation reports them).
    pub fn from_json(v: &Value) -> Schema {
        let properties = v
            .get("properties")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, s)| (k.clone(), Schema::from_json(s)))
                    .collect()
            })
            .unwrap_or_default();
        let (additional_properties, additional_properties_bool) =
            match v.get("additionalProperties") {
                Some(s @ Value::Object(_)) => (Some(Box::new(Schema::from_json(s))), None),
                Some(Value::Bool(b)) => (None, Some(*b)),
                _ => (None, None),
            };
        let items = match v.get("items") {
            Some(s @ Value::Object(_)) => Some(Box::new(Schema::from_json(s))),
            _ => None,
        };
        let pattern = v.get("pattern").and_then(Value::as_str).map(str::to_string);
        let pattern_re = pattern.as_deref().map(compile_pattern);
        Schema {
            ty: str_of(v, "type"),
            format: str_of(v, "format"),
            description: str_of(v, "description"),
            nullable: bool_of(v, "nullable"),
            default: v.get("default").cloned(),
            properties,
            additional_properties,
            additional_properties_bool,
            items,
            required: v
                .get("required")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            enumeration: v.get("enum").and_then(Value::as_array).cloned(),
            maximum: f64_of(v, "maximum"),
            exclusive_maximum: bool_of(v, "exclusiveMaximum"),
            minimum: f64_of(v, "minimum"),
            exclusive_minimum: bool_of(v, "exclusiveMinimum"),
            multiple_of: f64_of(v, "multipleOf"),
            max_length: i64_of(v, "maxLength"),
            min_length: i64_of(v, "minLength"),
            max_items: i64_of(v, "maxItems"),
            min_items: i64_of(v, "minItems"),
            max_properties: i64_of(v, "maxProperties"),
            min_properties: i64_of(v, "minProperties"),
            pattern,
            pattern_re,
            unique_items: bool_of(v, "uniqueItems"),
            preserve_unknown_fields: v
                .get("x-kubernetes-preserve-unknown-fields")
                .and_then(Value::as_bool),
            int_or_string: bool_of(v, "x-kubernetes-int-or-string"),
            embedded_resource: bool_of(v, "x-kubernetes-embedded-resource"),
            list_type: v
                .get("x-kubernetes-list-type")
                .and_then(Value::as_str)
                .map(str::to_string),
            list_map_keys: v
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            map_type: v
                .get("x-kubernetes-map-type")
                .and_then(Value::as_str)
                .map(str::to_string),
            all_of: schemas(v, "allOf"),
            any_of: schemas(v, "anyOf"),
            one_of: schemas(v, "oneOf"),
            not: v
                .get("not")
                .filter(|n| n.is_object())
                .map(|n| Box::new(Schema::from_json(n))),
        }
    }

    /// Whether unknown fields under this node are kept.
    pub fn preserves_unknown(&self) -> bool {
        self.preserve_unknown_fields == Some(true)
    }

    /// The types a value may have: `integer,string` for int-or-string, else `type`.
    pub fn types(&self) -> Vec<&str> {
        if self.int_or_string {
            vec!["integer", "string"]
        } else if self.ty.is_empty() {
            Vec::new()
        } else {
            vec![self.ty.as_str()]
        }
    }

    /// The format kube validates: unsupported formats are dropped
    /// (StripUnsupportedFormatsPostProcess): strings keep the formats of kube's registry,
    /// integers `int32`/`int64`, numbers `float`/`double`.
    pub fn effective_format(&self) -> &str {
        if self.format.is_empty() {
            return "";
        }
        let ty = if self.int_or_string {
            ""
        } else {
            self.ty.as_str()
        };
        let ok = match ty {
            "" | "string" => formats::supported(&self.format),
            "integer" => matches!(self.format.as_str(), "int32" | "int64"),
            "number" => matches!(self.format.as_str(), "float" | "double"),
            _ => false,
        };
        if ok { &self.format } else { "" }
    }

    /// The schema of the value under member `key` of an object: its property, else the
    /// `additionalProperties` schema.
    pub fn member(&self, key: &str) -> Option<&Schema> {
        self.properties
            .get(key)
            .or(self.additional_properties.as_deref())
    }
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`: the shortest digits, in
/// exponent form from 1e+06 on and below 1e-04): `10`, `1.5`, `1e+06`.
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return "0".into();
    }
    let exp = f.abs().log10().floor() as i32;
    if (-4..6).contains(&exp) {
        let s = format!("{f}");
        return s;
    }
    // shortest representation in exponent form, Go style: 1e+21, 1.5e-05
    let s = format!("{f:e}");
    let (mantissa, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let sign = if e < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", e.abs())
}
