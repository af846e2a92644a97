//! Discovery documents: `/api`, `/apis`, per group and group-version, and aggregated
//! discovery (apidiscovery.k8s.io/v2), which kubectl prefers.

use serde_json::{Value, json};
use warren_apimachinery::registry::{Resource, Subresource};

use crate::state::Catalog;

/// The media type of an aggregated discovery answer; clients check it.
pub const DISCOVERY_V2_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_json(name: &str, versions: &[String]) -> Value {
    let list: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    let preferred = list.first().cloned().unwrap_or_else(|| json!({}));
    json!({"name": name, "versions": list, "preferredVersion": preferred})
}

pub fn group_list(catalog: &Catalog) -> Value {
    let groups: Vec<Value> = catalog
        .groups()
        .iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, v)| group_json(g, v))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn group(catalog: &Catalog, name: &str) -> Option<Value> {
    let (g, versions) = catalog
        .groups()
        .into_iter()
        .find(|(g, _)| g == name && !g.is_empty())?;
    let mut doc = group_json(&g, &versions);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

const SUBRESOURCE_VERBS: &[&str] = &["get", "patch", "update"];

/// `(name suffix, kind group, kind version, kind, verbs)` of each served subresource.
fn subresources(r: &Resource) -> Vec<(&'static str, String, String, String, Vec<&'static str>)> {
    let mut out = Vec::new();
    for s in &r.subresources {
        match s {
            Subresource::Status => out.push((
                "status",
                r.group.clone(),
                r.version.clone(),
                r.kind.clone(),
                SUBRESOURCE_VERBS.to_vec(),
            )),
            Subresource::Scale => out.push((
                "scale",
                "autoscaling".into(),
                "v1".into(),
                "Scale".into(),
                SUBRESOURCE_VERBS.to_vec(),
            )),
        }
    }
    if r.group.is_empty() && r.plural == "serviceaccounts" {
        out.push((
            "token",
            "authentication.k8s.io".into(),
            "v1".into(),
            "TokenRequest".into(),
            vec!["create"],
        ));
    }
    if r.group.is_empty() && r.plural == "pods" {
        out.push((
            "binding",
            String::new(),
            "v1".into(),
            "Binding".into(),
            vec!["create"],
        ));
        out.push((
            "eviction",
            "policy".into(),
            "v1".into(),
            "Eviction".into(),
            vec!["create"],
        ));
    }
    if r.group.is_empty() && r.plural == "namespaces" {
        out.push((
            "finalize",
            String::new(),
            "v1".into(),
            "Namespace".into(),
            vec!["update"],
        ));
    }
    out
}

/// APIResourceList of one group-version, subresources as `plural/sub` entries.
pub fn resource_list(catalog: &Catalog, group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for r in &catalog.in_group_version(group, version) {
        let mut entry = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": r.verbs,
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            entry["categories"] = json!(r.categories);
        }
        resources.push(entry);
        for (sub, g, v, kind, verbs) in subresources(r) {
            let mut e = json!({
                "name": format!("{}/{sub}", r.plural),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": kind,
                "verbs": verbs,
            });
            if g != r.group || v != r.version {
                e["group"] = json!(g);
                e["version"] = json!(v);
            }
            resources.push(e);
        }
    }
    if resources.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }))
}

fn aggregated_group(catalog: &Catalog, group: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            let resources: Vec<Value> = catalog
                .in_group_version(group, v)
                .iter()
                .map(|r| {
                    let subs: Vec<Value> = subresources(r)
                        .into_iter()
                        .map(|(sub, g, sv, kind, verbs)| {
                            json!({
                                "subresource": sub,
                                "responseKind": {"group": g, "version": sv, "kind": kind},
                                "verbs": verbs,
                            })
                        })
                        .collect();
                    let mut e = json!({
                        "resource": r.plural,
                        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
                        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": r.singular,
                        "verbs": r.verbs,
                    });
                    if !r.short_names.is_empty() {
                        e["shortNames"] = json!(r.short_names);
                    }
                    if !r.categories.is_empty() {
                        e["categories"] = json!(r.categories);
                    }
                    if !subs.is_empty() {
                        e["subresources"] = json!(subs);
                    }
                    e
                })
                .collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let mut metadata = json!({"creationTimestamp": null});
    if !group.is_empty() {
        metadata["name"] = json!(group);
    }
    json!({"metadata": metadata, "versions": versions})
}

/// Aggregated discovery for `/api` (core only) or `/apis` (every named group).
pub fn aggregated(catalog: &Catalog, core: bool) -> Value {
    let items: Vec<Value> = catalog
        .groups()
        .iter()
        .filter(|(g, _)| g.is_empty() == core)
        .map(|(g, v)| aggregated_group(catalog, g, v))
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_resource_list_has_subresources_and_short_names() {
        let c = Catalog::default();
        let doc = resource_list(&c, "", "v1").expect("v1");
        let names: Vec<&str> = doc["resources"]
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert!(names.contains(&"pods"));
        assert!(names.contains(&"pods/status"));
        assert!(names.contains(&"namespaces/finalize"));
        let rc_scale = doc["resources"]
            .as_array()
            .expect("array")
            .iter()
            .find(|r| r["name"] == "replicationcontrollers/scale")
            .expect("rc scale");
        assert_eq!(rc_scale["group"], "autoscaling");
        assert!(resource_list(&c, "nope", "v1").is_none());
    }

    #[test]
    fn aggregated_lists_short_names() {
        let c = Catalog::default();
        let apis = aggregated(&c, false);
        let apps = apis["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|g| g["metadata"]["name"] == "apps")
            .expect("apps");
        let deploy = apps["versions"][0]["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["resource"] == "deployments")
            .expect("deployments");
        assert_eq!(deploy["shortNames"][0], "deploy");
        assert_eq!(deploy["subresources"][1]["responseKind"]["kind"], "Scale");
        let api = aggregated(&c, true);
        assert_eq!(api["items"].as_array().map(Vec::len), Some(1));
    }
}
