//! `/openapi/v3` (index + one document per group-version) and `/openapi/v2`, built from the
//! k8s-openapi schemas. kubectl reads the PATCH operation's `fieldValidation` parameter to decide
//! that the server validates fields, and the `x-kubernetes-group-version-kind` of the schemas
//! for `kubectl explain` and client-side apply.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use warren_apimachinery::registry::{Resource, Subresource};
use warren_apimachinery::schema::{self, REF_PREFIX};

use crate::state::Catalog;

/// A rendered document and its content hash.
#[derive(Clone)]
pub struct Document {
    pub body: Arc<Vec<u8>>,
    pub hash: String,
}

impl Document {
    fn new(value: &Value) -> Document {
        Document::from_bytes(serde_json::to_vec(value).unwrap_or_default())
    }

    fn from_bytes(body: Vec<u8>) -> Document {
        let hash = Sha256::digest(&body)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        Document {
            body: Arc::new(body),
            hash,
        }
    }
}

/// Rendered documents, built on first request (start-up stays fast), each tagged with the
/// catalog generation it was built from: a CRD change makes them stale.
#[derive(Default)]
pub struct OpenApiCache {
    v3: Mutex<BTreeMap<String, (u64, Document)>>,
    v2: Mutex<Option<(u64, Document)>>,
    v2_protobuf: Mutex<Option<(u64, Document)>>,
}

/// `api/v1` or `apis/<group>/<version>`.
pub fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

impl OpenApiCache {
    /// The document for one group-version path, or `None` if nothing is served there.
    pub fn v3_document(&self, catalog: &Catalog, path: &str) -> Option<Document> {
        let generation = catalog.generation();
        if let Ok(cache) = self.v3.lock()
            && let Some((g, d)) = cache.get(path)
            && *g == generation
        {
            return Some(d.clone());
        }
        let (group, version) = catalog
            .groups()
            .into_iter()
            .flat_map(|(g, vs)| vs.into_iter().map(move |v| (g.clone(), v)))
            .find(|(g, v)| gv_path(g, v) == path)?;
        let doc = Document::new(&v3_gv_document(catalog, &group, &version));
        if let Ok(mut cache) = self.v3.lock() {
            cache.retain(|_, (g, _)| *g == generation);
            cache.insert(path.to_string(), (generation, doc.clone()));
        }
        Some(doc)
    }

    pub fn v3_index(&self, catalog: &Catalog) -> Value {
        let mut paths = Map::new();
        for (g, versions) in catalog.groups() {
            for v in versions {
                let p = gv_path(&g, &v);
                if let Some(doc) = self.v3_document(catalog, &p) {
                    paths.insert(
                        p.clone(),
                        json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={}", doc.hash)}),
                    );
                }
            }
        }
        json!({ "paths": paths })
    }

    pub fn v2(&self, catalog: &Catalog) -> Document {
        let generation = catalog.generation();
        if let Ok(cache) = self.v2.lock()
            && let Some((g, d)) = cache.as_ref()
            && *g == generation
        {
            return d.clone();
        }
        let doc = Document::new(&v2_document(catalog));
        if let Ok(mut cache) = self.v2.lock() {
            *cache = Some((generation, doc.clone()));
        }
        doc
    }

    /// `/openapi/v2` as the gnostic `openapi_v2.Document` protobuf, which kubectl validates with.
    pub fn v2_protobuf(&self, catalog: &Catalog) -> Document {
        let generation = catalog.generation();
        if let Ok(cache) = self.v2_protobuf.lock()
            && let Some((g, d)) = cache.as_ref()
            && *g == generation
        {
            return d.clone();
        }
        let body = crate::openapi_v2_proto::encode(&v2_document(catalog));
        let doc = Document::from_bytes(body);
        if let Ok(mut cache) = self.v2_protobuf.lock() {
            *cache = Some((generation, doc.clone()));
        }
        doc
    }
}

/// Names of every definition reachable from `roots`.
fn reachable(roots: &[String]) -> BTreeSet<String> {
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(Value::as_str)
                    && let Some(name) = r.strip_prefix(REF_PREFIX)
                    && out.insert(name.to_string())
                    && let Some(d) = schema::definition(name)
                {
                    walk(d, out);
                }
                m.values().for_each(|x| walk(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for r in roots {
        if out.insert(r.clone())
            && let Some(d) = schema::definition(r)
        {
            walk(d, &mut out);
        }
    }
    out
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "version": version, "kind": kind})
}

fn query_param(name: &str, ty: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": ty, "uniqueItems": true}})
}

fn write_params() -> Vec<Value> {
    vec![
        query_param(
            "dryRun",
            "string",
            "When present, indicates that modifications should not be persisted.",
        ),
        query_param(
            "fieldManager",
            "string",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
        ),
        query_param(
            "fieldValidation",
            "string",
            "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.",
        ),
    ]
}

fn ref_response(def: &str) -> Value {
    json!({"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("{REF_PREFIX}{def}")}}}}})
}

fn operation(
    action: &str,
    id: String,
    g: &Value,
    response_def: &str,
    params: Vec<Value>,
    body_types: &[&str],
) -> Value {
    let mut op = json!({
        "operationId": id,
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": g,
        "parameters": params,
        "responses": ref_response(response_def),
    });
    if !body_types.is_empty() {
        let content: Map<String, Value> = body_types
            .iter()
            .map(|t| {
                (
                    t.to_string(),
                    json!({"schema": {"$ref": format!("{REF_PREFIX}{response_def}")}}),
                )
            })
            .collect();
        op["requestBody"] = json!({"content": content, "required": true});
    }
    op
}

/// Custom resources take no strategic merge patches (kubectl reads this to pick its patch type).
fn patch_types(r: &Resource) -> &'static [&'static str] {
    if r.custom.is_some() {
        CUSTOM_PATCH_TYPES
    } else {
        PATCH_TYPES
    }
}

const CUSTOM_PATCH_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
];

const PATCH_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];

fn resource_paths(r: &Resource, paths: &mut Map<String, Value>) {
    let base = format!("/{}", gv_path(&r.group, &r.version));
    let collection = if r.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}", r.plural)
    } else {
        format!("{base}/{}", r.plural)
    };
    let g = gvk(&r.group, &r.version, &r.kind);
    let id = |verb: &str| format!("{verb}{}", r.kind);
    let def = r.definition.as_str();
    paths.insert(
        collection.clone(),
        json!({
            "get": operation("list", id("list"), &g, def, vec![], &[]),
            "post": operation("post", id("create"), &g, def, write_params(), &["application/json", "application/yaml"]),
            "delete": operation("deletecollection", id("deletecollection"), &g, "io.k8s.apimachinery.pkg.apis.meta.v1.Status", vec![], &[]),
        }),
    );
    if r.namespaced {
        paths.insert(
            format!("{base}/{}", r.plural),
            json!({"get": operation("list", format!("list{}ForAllNamespaces", r.kind), &g, def, vec![], &[])}),
        );
    }
    let item = format!("{collection}/{{name}}");
    paths.insert(
        item.clone(),
        json!({
            "get": operation("get", id("read"), &g, def, vec![], &[]),
            "put": operation("put", id("replace"), &g, def, write_params(), &["application/json", "application/yaml"]),
            "patch": operation("patch", id("patch"), &g, def, write_params(), patch_types(r)),
            "delete": operation("delete", id("delete"), &g, "io.k8s.apimachinery.pkg.apis.meta.v1.Status", vec![], &[]),
        }),
    );
    for s in &r.subresources {
        let (sub_def, sub_g) = match s {
            Subresource::Status => (def.to_string(), g.clone()),
            Subresource::Scale => (
                "io.k8s.api.autoscaling.v1.Scale".to_string(),
                gvk("autoscaling", "v1", "Scale"),
            ),
        };
        let suffix = s.name();
        let cap = format!("{}{}", &suffix[..1].to_uppercase(), &suffix[1..]);
        paths.insert(
            format!("{item}/{suffix}"),
            json!({
                "get": operation("get", format!("read{}{cap}", r.kind), &sub_g, &sub_def, vec![], &[]),
                "put": operation("put", format!("replace{}{cap}", r.kind), &sub_g, &sub_def, write_params(), &["application/json"]),
                "patch": operation("patch", format!("patch{}{cap}", r.kind), &sub_g, &sub_def, write_params(), patch_types(r)),
            }),
        );
    }
}

/// The definitions a document needs, with the group-version-kind extension on top-level kinds.
fn components(catalog: &Catalog, roots: Vec<String>) -> Map<String, Value> {
    let mut kinds: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in catalog.all() {
        kinds
            .entry(r.definition.clone())
            .or_default()
            .push(gvk(&r.group, &r.version, &r.kind));
    }
    kinds
        .entry("io.k8s.api.autoscaling.v1.Scale".into())
        .or_default()
        .push(gvk("autoscaling", "v1", "Scale"));
    let mut out = Map::new();
    for name in reachable(&roots) {
        let Some(def) = schema::definition(&name) else {
            continue;
        };
        let mut def = def.clone();
        if let (Some(list), Some(obj)) = (kinds.get(&name), def.as_object_mut()) {
            obj.insert("x-kubernetes-group-version-kind".into(), json!(list));
        }
        add_patch_extensions(&name, &mut def);
        out.insert(name, def);
    }
    out
}

/// The strategic-merge extensions kubectl's client-side apply reads to compute its patch.
fn add_patch_extensions(definition: &str, def: &mut Value) {
    use warren_apimachinery::patch::{PatchStrategy, field_patch_meta};
    let Some(props) = def.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (field, prop) in props.iter_mut() {
        let Some(meta) = field_patch_meta(definition, field) else {
            continue;
        };
        let mut strategies: Vec<&str> = Vec::new();
        match meta.strategy {
            PatchStrategy::Merge => strategies.push("merge"),
            PatchStrategy::Replace => strategies.push("replace"),
            PatchStrategy::Default => {}
        }
        if meta.retain_keys {
            strategies.push("retainKeys");
        }
        let Some(obj) = prop.as_object_mut() else {
            continue;
        };
        if !strategies.is_empty() {
            obj.insert(
                "x-kubernetes-patch-strategy".into(),
                json!(strategies.join(",")),
            );
        }
        if let Some(key) = meta.merge_key {
            obj.insert("x-kubernetes-patch-merge-key".into(), json!(key));
        }
    }
}

fn v3_gv_document(catalog: &Catalog, group: &str, version: &str) -> Value {
    let mut paths = Map::new();
    let mut roots = vec![
        "io.k8s.apimachinery.pkg.apis.meta.v1.Status".to_string(),
        "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions".to_string(),
    ];
    let mut custom = Map::new();
    for r in &catalog.in_group_version(group, version) {
        resource_paths(r, &mut paths);
        roots.push(r.definition.clone());
        if r.has_subresource(Subresource::Scale) {
            roots.push("io.k8s.api.autoscaling.v1.Scale".into());
        }
        crate::crd::openapi_definitions(r, false, &mut roots, &mut custom);
    }
    let mut schemas = components(catalog, roots);
    schemas.extend(custom);
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": crate::version::GIT_VERSION},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

fn v2_document(catalog: &Catalog) -> Value {
    let mut paths = Map::new();
    let mut roots = vec!["io.k8s.apimachinery.pkg.apis.meta.v1.Status".to_string()];
    let mut custom = Map::new();
    for r in &catalog.all() {
        resource_paths(r, &mut paths);
        roots.push(r.definition.clone());
        crate::crd::openapi_definitions(r, true, &mut roots, &mut custom);
    }
    let mut definitions = components(catalog, roots);
    definitions.extend(custom);
    let doc = json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": crate::version::GIT_VERSION},
        "paths": paths,
        "definitions": definitions,
    });
    // swagger 2 refs live under #/definitions
    let text = doc.to_string().replace(REF_PREFIX, "#/definitions/");
    serde_json::from_str(&text).unwrap_or(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_document_has_patch_with_field_validation_and_gvk() {
        let c = Catalog::default();
        let cache = OpenApiCache::default();
        let doc = cache.v3_document(&c, "apis/apps/v1").expect("apps");
        let v: Value = serde_json::from_slice(&doc.body).expect("json");
        let item = &v["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"];
        assert_eq!(
            item["patch"]["x-kubernetes-group-version-kind"]["kind"],
            "Deployment"
        );
        assert!(
            item["patch"]["parameters"]
                .as_array()
                .expect("params")
                .iter()
                .any(|p| p["name"] == "fieldValidation")
        );
        let schemas = &v["components"]["schemas"];
        assert_eq!(
            schemas["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"][0]["kind"],
            "Deployment"
        );
        let containers = &schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
        assert!(cache.v3_document(&c, "apis/nope/v1").is_none());
        let index = cache.v3_index(&c);
        assert!(
            index["paths"]["api/v1"]["serverRelativeURL"]
                .as_str()
                .expect("url")
                .starts_with("/openapi/v3/api/v1?hash=")
        );
    }
}
