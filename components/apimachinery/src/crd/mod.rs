//! CustomResourceDefinitions (apiextensions.k8s.io/v1) with no I/O: what a CRD makes the server
//! serve ([`resources_from_crd`]: one [`Resource`] per served version, carrying a
//! [`CustomInfo`] with the version's structural schema, printer columns, scale paths and
//! selectable fields), the Tables of custom resources ([`table`]), their OpenAPI definitions
//! ([`openapi`]), and the validation and defaulting of CRDs themselves ([`validation`]).

pub mod jsonpath;
pub mod openapi;
pub mod validation;

use std::cmp::Ordering;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::registry::{Resource, STANDARD_VERBS, Subresource};
use crate::structural::Schema;
use crate::table::{IncludeObject, partial_object_metadata, since};
use jsonpath::JsonPath;

/// The finalizer a CRD carries while its objects are being deleted.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// The group, version and plural CRDs are served at.
pub const GROUP: &str = "apiextensions.k8s.io";

/// One `additionalPrinterColumns` entry.
#[derive(Debug, Clone)]
pub struct PrinterColumn {
    pub name: String,
    pub ty: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    pub json_path: String,
    pub path: Option<JsonPath>,
}

/// The scale subresource's paths (`.spec.replicas`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalePaths {
    pub spec_replicas: String,
    pub status_replicas: String,
    pub label_selector: Option<String>,
}

/// What serving one version of a custom resource needs beyond the [`Resource`] fields.
#[derive(Debug, Clone)]
pub struct CustomInfo {
    /// `metadata.name` of the CRD (`widgets.example.com`).
    pub crd_name: String,
    /// uid and generation of the CRD this was built from (identity for equality: status
    /// writes leave them alone, spec changes move the generation).
    pub crd_uid: String,
    pub crd_generation: i64,
    pub storage_version: String,
    /// Every served version, highest priority first.
    pub served_versions: Vec<String>,
    /// The version's structural schema (`None` only for malformed CRDs).
    pub schema: Option<Arc<Schema>>,
    /// The storage version's schema (objects are pruned to it when stored).
    pub storage_schema: Option<Arc<Schema>>,
    /// The raw `openAPIV3Schema`, for OpenAPI publishing.
    pub raw_schema: Value,
    pub columns: Vec<PrinterColumn>,
    pub scale: Option<ScalePaths>,
    /// `selectableFields` paths without the leading dot (`spec.color`).
    pub selectable_fields: Vec<String>,
    pub status_subresource: bool,
    pub deprecation_warning: Option<String>,
    /// The CRD is being deleted: no new objects.
    pub terminating: bool,
}

impl PartialEq for CustomInfo {
    fn eq(&self, other: &Self) -> bool {
        self.crd_uid == other.crd_uid
            && self.crd_generation == other.crd_generation
            && self.served_versions == other.served_versions
            && self.terminating == other.terminating
    }
}

/// `apiextensions.IsCRDConditionTrue`-style lookup of a condition's status.
pub fn condition_status<'a>(crd: &'a Value, ty: &str) -> Option<&'a str> {
    crd["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == ty)?
        .get("status")?
        .as_str()
}

/// kube-aware version ordering (`version.CompareKubeAwareVersionStrings`): GA before beta before
/// alpha, higher numbers first, then anything else alphabetically.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    fn parse(v: &str) -> Option<(u8, u64, u64)> {
        let rest = v.strip_prefix('v')?;
        let major_len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if major_len == 0 || rest.starts_with('0') {
            return None;
        }
        let major: u64 = rest[..major_len].parse().ok()?;
        let tail = &rest[major_len..];
        if tail.is_empty() {
            return Some((3, major, 0));
        }
        let (rank, num) = if let Some(n) = tail.strip_prefix("beta") {
            (2, n)
        } else if let Some(n) = tail.strip_prefix("alpha") {
            (1, n)
        } else {
            return None;
        };
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) || num.starts_with('0') {
            return None;
        }
        Some((rank, major, num.parse().ok()?))
    }
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => y.cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// `com.example.v1.Widget` for group `example.com`: the REST-friendly OpenAPI name kube gives
/// custom resource definitions.
pub fn definition_name(group: &str, version: &str, kind: &str) -> String {
    let reversed: Vec<&str> = group.split('.').rev().collect();
    format!("{}.{version}.{kind}", reversed.join("."))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn columns_of(version: &Value) -> Vec<PrinterColumn> {
    version["additionalPrinterColumns"]
        .as_array()
        .map(|cols| {
            cols.iter()
                .map(|c| {
                    let json_path = c["jsonPath"].as_str().unwrap_or("").to_string();
                    PrinterColumn {
                        name: c["name"].as_str().unwrap_or("").to_string(),
                        ty: c["type"].as_str().unwrap_or("string").to_string(),
                        format: c["format"].as_str().unwrap_or("").to_string(),
                        description: c["description"].as_str().unwrap_or("").to_string(),
                        priority: c["priority"].as_i64().unwrap_or(0),
                        path: JsonPath::parse(&json_path).ok(),
                        json_path,
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The served versions of a CRD, highest priority first.
pub fn served_versions(crd: &Value) -> Vec<String> {
    let mut served: Vec<String> = crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["served"].as_bool().unwrap_or(false))
        .filter_map(|v| v["name"].as_str().map(str::to_string))
        .collect();
    served.sort_by(|a, b| compare_versions(a, b));
    served
}

/// The storage version of a CRD.
pub fn storage_version(crd: &Value) -> Option<String> {
    crd["spec"]["versions"]
        .as_array()?
        .iter()
        .find(|v| v["storage"].as_bool().unwrap_or(false))?
        .get("name")?
        .as_str()
        .map(str::to_string)
}

/// kube's default warning for a deprecated version: `example.com/v1beta1 Widget is
/// deprecated; use example.com/v1 Widget` (the newest served, non-deprecated version that is
/// newer than it).
fn default_deprecation_warning(group: &str, version: &str, kind: &str, all: &[Value]) -> String {
    let mut msg = format!("{group}/{version} {kind} is deprecated");
    let newest = all
        .iter()
        .filter(|v| v["served"].as_bool().unwrap_or(false))
        .filter(|v| !v["deprecated"].as_bool().unwrap_or(false))
        .filter_map(|v| v["name"].as_str())
        .filter(|n| compare_versions(n, version) == Ordering::Less)
        .min_by(|a, b| compare_versions(a, b));
    if let Some(newest) = newest {
        msg.push_str(&format!("; use {group}/{newest} {kind}"));
    }
    msg
}

/// The resources a CRD serves: one per served version, highest priority first, named by
/// `spec.names` (the accepted names).
pub fn resources_from_crd(crd: &Value) -> Vec<Resource> {
    let spec = &crd["spec"];
    let names = &spec["names"];
    let group = spec["group"].as_str().unwrap_or("").to_string();
    let kind = names["kind"].as_str().unwrap_or("").to_string();
    let plural = names["plural"].as_str().unwrap_or("").to_string();
    let singular = names["singular"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_ascii_lowercase());
    let namespaced = spec["scope"].as_str() != Some("Cluster");
    let served = served_versions(crd);
    let storage = storage_version(crd).unwrap_or_default();
    let meta = &crd["metadata"];
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    let storage_schema = versions
        .iter()
        .find(|v| v["name"] == storage.as_str())
        .map(|v| &v["schema"]["openAPIV3Schema"])
        .filter(|s| s.is_object())
        .map(|s| Arc::new(Schema::from_json(s)));
    served
        .iter()
        .filter_map(|name| {
            let v = versions.iter().find(|v| v["name"] == name.as_str())?;
            let raw_schema = v["schema"]["openAPIV3Schema"].clone();
            let schema = raw_schema
                .is_object()
                .then(|| Arc::new(Schema::from_json(&raw_schema)));
            let subs = &v["subresources"];
            let status_subresource = subs.get("status").is_some_and(Value::is_object);
            let scale = subs
                .get("scale")
                .filter(|s| s.is_object())
                .map(|s| ScalePaths {
                    spec_replicas: s["specReplicasPath"].as_str().unwrap_or("").to_string(),
                    status_replicas: s["statusReplicasPath"].as_str().unwrap_or("").to_string(),
                    label_selector: s["labelSelectorPath"].as_str().map(str::to_string),
                });
            let mut subresources = Vec::new();
            if status_subresource {
                subresources.push(Subresource::Status);
            }
            if scale.is_some() {
                subresources.push(Subresource::Scale);
            }
            let deprecation_warning = v["deprecated"].as_bool().unwrap_or(false).then(|| {
                v["deprecationWarning"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| default_deprecation_warning(&group, name, &kind, &versions))
            });
            let info = CustomInfo {
                crd_name: meta["name"].as_str().unwrap_or("").to_string(),
                crd_uid: meta["uid"].as_str().unwrap_or("").to_string(),
                crd_generation: meta["generation"].as_i64().unwrap_or(0),
                storage_version: storage.clone(),
                served_versions: served.clone(),
                schema,
                storage_schema: storage_schema.clone(),
                raw_schema,
                columns: columns_of(v),
                scale,
                selectable_fields: v["selectableFields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f["jsonPath"].as_str())
                    .map(|p| p.trim_start_matches('.').to_string())
                    .collect(),
                status_subresource,
                deprecation_warning,
                terminating: meta.get("deletionTimestamp").is_some_and(|t| !t.is_null()),
            };
            Some(Resource {
                group: group.clone(),
                version: name.clone(),
                kind: kind.clone(),
                plural: plural.clone(),
                singular: singular.clone(),
                namespaced,
                short_names: strings(&names["shortNames"]),
                categories: strings(&names["categories"]),
                subresources,
                verbs: STANDARD_VERBS.iter().map(|s| s.to_string()).collect(),
                definition: definition_name(&group, name, &kind),
                custom: Some(Arc::new(info)),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tables

const NAME_DESC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

/// kube's cellForJSONValue: the cell of a typed column from the first value found.
fn cell(ty: &str, value: &Value, now: DateTime<Utc>) -> Value {
    match (ty, value) {
        (_, Value::Null) => Value::Null,
        ("integer", Value::Number(n)) => match n.as_i64() {
            Some(i) => json!(i),
            None => n.as_f64().map_or(Value::Null, |f| json!(f as i64)),
        },
        ("number", Value::Number(n)) => n.as_f64().map_or(Value::Null, |f| json!(f)),
        ("boolean", Value::Bool(b)) => json!(b),
        ("string", Value::String(s)) => json!(s),
        ("date", Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) => json!(since(Some(t.with_timezone(&Utc)), now)),
            Err(_) => json!("<invalid>"),
        },
        _ => Value::Null,
    }
}

/// The `Table` of custom resources: `Name` plus the version's `additionalPrinterColumns` (the
/// default `Name`, `Age` table when it declares none).
pub fn table(
    info: &CustomInfo,
    objects: &[Value],
    include_object: IncludeObject,
    now: DateTime<Utc>,
) -> Value {
    if info.columns.is_empty() {
        return crate::table::custom_resource_table(objects, include_object, now);
    }
    let mut columns = vec![json!({
        "name": "Name", "type": "string", "format": "name", "description": NAME_DESC, "priority": 0,
    })];
    for c in &info.columns {
        let description = if c.description.is_empty() {
            format!(
                "Custom resource definition column (in JSONPath format): {}",
                c.json_path
            )
        } else {
            c.description.clone()
        };
        columns.push(json!({
            "name": c.name, "type": c.ty, "format": c.format,
            "description": description, "priority": c.priority,
        }));
    }
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let name = obj["metadata"]["name"].as_str().unwrap_or("");
            let mut cells = vec![json!(name)];
            for c in &info.columns {
                let found = c.path.as_ref().map(|p| p.find(obj)).unwrap_or_default();
                let v = match found.first() {
                    None => Value::Null,
                    Some(v) if c.ty == "string" && !v.is_null() => json!(jsonpath::go_text(v)),
                    Some(v) => cell(&c.ty, v, now),
                };
                cells.push(v);
            }
            let mut row = Map::new();
            row.insert("cells".into(), Value::Array(cells));
            match include_object {
                IncludeObject::None => {}
                IncludeObject::Metadata => {
                    row.insert("object".into(), partial_object_metadata(obj));
                }
                IncludeObject::Object => {
                    row.insert("object".into(), obj.clone());
                }
            }
            Value::Object(row)
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "columnDefinitions": columns,
        "rows": rows,
    })
}

// ---------------------------------------------------------------------------------------------
// scale

fn at<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = obj;
    for part in path.trim_start_matches('.').split('.') {
        cur = cur.get(part)?;
    }
    Some(cur)
}

/// The autoscaling/v1 `Scale` of a custom resource, read at its scale paths.
pub fn scale_of(paths: &ScalePaths, obj: &Value) -> Value {
    let m = &obj["metadata"];
    let replicas = |p: &str| at(obj, p).and_then(Value::as_i64).unwrap_or(0);
    let selector = paths
        .label_selector
        .as_deref()
        .and_then(|p| at(obj, p))
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut status = json!({"replicas": replicas(&paths.status_replicas)});
    if !selector.is_empty() {
        status["selector"] = json!(selector);
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m.get("name"),
            "namespace": m.get("namespace"),
            "uid": m.get("uid"),
            "resourceVersion": m.get("resourceVersion"),
            "creationTimestamp": m.get("creationTimestamp"),
        },
        "spec": {"replicas": replicas(&paths.spec_replicas)},
        "status": status,
    })
}

/// Writes `replicas` at the spec replicas path, creating the objects on the way.
pub fn set_spec_replicas(paths: &ScalePaths, obj: &mut Value, replicas: i64) {
    let parts: Vec<&str> = paths
        .spec_replicas
        .trim_start_matches('.')
        .split('.')
        .collect();
    let mut cur = obj;
    for (i, part) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let Some(m) = cur.as_object_mut() else {
            return;
        };
        if i + 1 == parts.len() {
            m.insert((*part).to_string(), json!(replicas));
            return;
        }
        cur = m.entry((*part).to_string()).or_insert_with(|| json!({}));
    }
}

/// Go's `%T` of a decoded JSON value.
fn go_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "int64",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// ValidateScaleSpec / ValidateScaleStatus: the replicas fields must be non-negative integers.
pub fn validate_scale(paths: &ScalePaths, obj: &Value) -> Vec<crate::error::FieldError> {
    use crate::error::FieldError;
    let mut errs = Vec::new();
    for p in [&paths.spec_replicas, &paths.status_replicas] {
        match at(obj, p) {
            None | Some(Value::Null) => {}
            Some(v) => match v.as_i64() {
                Some(n) if n < 0 => errs.push(FieldError::invalid(
                    p.as_str(),
                    json!(n),
                    "should be a non-negative integer",
                )),
                Some(n) if n > i64::from(i32::MAX) => errs.push(FieldError::invalid(
                    p.as_str(),
                    json!(n),
                    format!("should be less than or equal to {}", i32::MAX),
                )),
                Some(_) => {}
                None => errs.push(FieldError::invalid(
                    p.as_str(),
                    json!(0),
                    format!(
                        ".{} accessor error: {} is of the type {}, expected int64",
                        p.trim_start_matches('.'),
                        jsonpath::go_text(v),
                        go_type_name(v)
                    ),
                )),
            },
        }
    }
    errs
}

#[cfg(test)]
mod tests;
