//! Ingresses: virtual -> host with backend Services, TLS Secrets and the annotations that name
//! them rewritten to their host names.
//!
//! Rewritten annotations (as vCluster does):
//! - `nginx.ingress.kubernetes.io/{auth-secret,auth-tls-secret,proxy-ssl-secret}`: `secret` or
//!   `namespace/secret` become the host Secret (`hostNamespace/hostName` for the second form);
//!   those Secrets are synced like the TLS Secrets ([`referenced_secrets`]);
//! - `alb.ingress.kubernetes.io/actions.<name>` and `alb.ingress.kubernetes.io/conditions.<name>`:
//!   `<name>` is what a backend names as its Service (port `use-annotation`), so it is renamed
//!   like the backend; the actions' `forwardConfig.targetGroups[].serviceName` too. Names that
//!   already carry `x-<namespace>-x` are taken as host names and left alone.
//!
//! Everything else (cert-manager's `cert-manager.io/*`, nginx rewrite rules, …) is copied as it is,
//! and `ingressClassName` is kept: host ingress controllers pick the host Ingress up by it.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::{Ingress, IngressBackend, IngressSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::Value;

use super::metadata::host_metadata;
use crate::names::Names;

/// apiVersion of the Ingresses synced (virtual and host).
pub const API_VERSION: &str = "networking.k8s.io/v1";
/// Annotations never copied to host Ingresses (Rancher writes host-specific endpoints there).
pub const EXCLUDED_INGRESS_ANNOTATIONS: &[&str] = &["field.cattle.io/publicEndpoints"];
/// nginx annotations whose value names a Secret (`name` or `namespace/name`).
pub const SECRET_ANNOTATIONS: [&str; 3] = [
    "nginx.ingress.kubernetes.io/auth-secret",
    "nginx.ingress.kubernetes.io/auth-tls-secret",
    "nginx.ingress.kubernetes.io/proxy-ssl-secret",
];
const ALB_ACTIONS: &str = "alb.ingress.kubernetes.io/actions.";
const ALB_CONDITIONS: &str = "alb.ingress.kubernetes.io/conditions.";

/// A Secret an nginx annotation value names: `(namespace, name)`, the namespace defaulting to
/// the Ingress's; `None` for values of another form.
fn annotation_secret<'a>(value: &'a str, ingress_namespace: &'a str) -> Option<(&'a str, &'a str)> {
    let parts: Vec<&str> = value.split('/').collect();
    match parts.as_slice() {
        [name] => Some((ingress_namespace, name)),
        [namespace, name] => Some((namespace, name)),
        _ => None,
    }
}

/// `namespace/name` keys of the virtual Secrets an Ingress needs on the host: its TLS Secrets
/// and those its nginx annotations name.
pub fn referenced_secrets(ingress: &Ingress) -> BTreeSet<String> {
    let namespace = ingress.metadata.namespace.as_deref().unwrap_or_default();
    let mut out = BTreeSet::new();
    for tls in ingress.spec.iter().flat_map(|s| s.tls.iter().flatten()) {
        if let Some(secret) = tls.secret_name.as_deref().filter(|s| !s.is_empty()) {
            out.insert(format!("{namespace}/{secret}"));
        }
    }
    for (key, value) in ingress.metadata.annotations.iter().flatten() {
        if SECRET_ANNOTATIONS.contains(&key.as_str())
            && let Some((ns, name)) = annotation_secret(value, namespace)
            && !name.is_empty()
        {
            out.insert(format!("{ns}/{name}"));
        }
    }
    out
}

/// Whether `name` is already a host name of this namespace's objects.
fn looks_translated(name: &str, namespace: &str) -> bool {
    name.contains(&format!("x-{namespace}-x"))
}

/// The host form of one annotation (key and value).
fn host_annotation(names: &Names, namespace: &str, key: &str, value: &str) -> (String, String) {
    if SECRET_ANNOTATIONS.contains(&key) {
        let value = match annotation_secret(value, namespace) {
            Some((ns, name)) if value.contains('/') => {
                let host = names.host_object(name, ns);
                format!("{}/{}", host.namespace, host.name)
            }
            Some((_, name)) => names.host_name(name, namespace),
            None => value.to_owned(),
        };
        return (key.to_owned(), value);
    }
    for prefix in [ALB_ACTIONS, ALB_CONDITIONS] {
        if let Some(service) = key.strip_prefix(prefix) {
            let key = if service.is_empty() || looks_translated(service, namespace) {
                key.to_owned()
            } else {
                format!("{prefix}{}", names.host_name(service, namespace))
            };
            let value = if prefix == ALB_ACTIONS {
                host_alb_action(names, namespace, value)
            } else {
                value.to_owned()
            };
            return (key, value);
        }
    }
    (key.to_owned(), value.to_owned())
}

/// An ALB action with the Services of its target groups renamed; anything that is not JSON is
/// left as it is (the controller will complain about it on the host as it would here).
fn host_alb_action(names: &Names, namespace: &str, value: &str) -> String {
    let Ok(mut action) = serde_json::from_str::<Value>(value) else {
        return value.to_owned();
    };
    let mut changed = false;
    if let Some(groups) = action
        .pointer_mut("/forwardConfig/targetGroups")
        .and_then(Value::as_array_mut)
    {
        for group in groups {
            if let Some(Value::String(service)) = group.get_mut("serviceName")
                && !service.is_empty()
                && !looks_translated(service, namespace)
            {
                *service = names.host_name(service, namespace);
                changed = true;
            }
        }
    }
    if changed {
        action.to_string()
    } else {
        value.to_owned()
    }
}

/// The virtual Ingress's metadata with its annotations in host form (what [`host_metadata`]
/// then copies, so `managed-annotations` lists the keys as they are on the host).
fn with_host_annotations(names: &Names, virtual_meta: &ObjectMeta) -> ObjectMeta {
    let namespace = virtual_meta.namespace.as_deref().unwrap_or_default();
    let annotations = virtual_meta.annotations.as_ref().map(|annotations| {
        annotations
            .iter()
            .map(|(k, v)| host_annotation(names, namespace, k, v))
            .collect::<BTreeMap<_, _>>()
    });
    ObjectMeta {
        annotations,
        ..virtual_meta.clone()
    }
}

fn host_backend(names: &Names, namespace: &str, backend: &mut IngressBackend) {
    if let Some(service) = backend.service.as_mut().filter(|s| !s.name.is_empty()) {
        service.name = names.host_name(&service.name, namespace);
    }
    if let Some(resource) = backend.resource.as_mut().filter(|r| !r.name.is_empty()) {
        resource.name = names.host_name(&resource.name, namespace);
    }
}

/// The host spec: backends' Services (and resources) and TLS Secrets renamed, the rest kept.
pub fn host_ingress_spec(names: &Names, spec: &IngressSpec, namespace: &str) -> IngressSpec {
    let mut out = spec.clone();
    if let Some(backend) = out.default_backend.as_mut() {
        host_backend(names, namespace, backend);
    }
    for rule in out.rules.iter_mut().flatten() {
        for path in rule.http.iter_mut().flat_map(|h| h.paths.iter_mut()) {
            host_backend(names, namespace, &mut path.backend);
        }
    }
    for tls in out.tls.iter_mut().flatten() {
        if let Some(secret) = tls.secret_name.as_mut().filter(|s| !s.is_empty()) {
            *secret = names.host_name(secret, namespace);
        }
    }
    out
}

/// The host Ingress of a virtual Ingress (no status: the host's controller writes it).
pub fn host_ingress(
    names: &Names,
    virtual_ingress: &Ingress,
    owner: Option<&OwnerReference>,
) -> Ingress {
    let namespace = virtual_ingress
        .metadata
        .namespace
        .as_deref()
        .unwrap_or_default();
    let metadata = host_metadata(
        names,
        &with_host_annotations(names, &virtual_ingress.metadata),
        API_VERSION,
        "Ingress",
        owner,
        EXCLUDED_INGRESS_ANNOTATIONS,
    );
    Ingress {
        metadata,
        spec: virtual_ingress
            .spec
            .as_ref()
            .map(|spec| host_ingress_spec(names, spec, namespace)),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::names::NamespaceMode;

    fn names() -> Names {
        Names::new("vc", "host", NamespaceMode::Single)
    }

    fn ingress(value: Value) -> Ingress {
        serde_json::from_value(value).unwrap()
    }

    fn web_ingress() -> Ingress {
        ingress(json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": "web",
                "namespace": "shop",
                "uid": "u1",
                "labels": {"app": "web"},
                "annotations": {
                    "cert-manager.io/cluster-issuer": "letsencrypt",
                    "nginx.ingress.kubernetes.io/auth-secret": "basic-auth",
                    "nginx.ingress.kubernetes.io/auth-tls-secret": "certs/ca",
                    "alb.ingress.kubernetes.io/actions.blue-green": "{\"type\":\"forward\",\"forwardConfig\":{\"targetGroups\":[{\"serviceName\":\"blue\",\"servicePort\":\"80\",\"weight\":90},{\"serviceName\":\"green-x-shop-x-vc\",\"servicePort\":\"80\"}]}}",
                    "alb.ingress.kubernetes.io/conditions.blue-green": "[]",
                    "field.cattle.io/publicEndpoints": "[]"
                }
            },
            "spec": {
                "ingressClassName": "nginx",
                "defaultBackend": {"service": {"name": "fallback", "port": {"number": 80}}},
                "tls": [{"hosts": ["shop.example"], "secretName": "shop-tls"}, {"hosts": ["x.example"]}],
                "rules": [{
                    "host": "shop.example",
                    "http": {"paths": [
                        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"name": "http"}}}},
                        {"path": "/bg", "pathType": "Exact", "backend": {"service": {"name": "blue-green", "port": {"name": "use-annotation"}}}},
                        {"path": "/static", "pathType": "Prefix", "backend": {"resource": {"apiGroup": "k8s.example", "kind": "Bucket", "name": "assets"}}}
                    ]}
                }]
            }
        }))
    }

    #[test]
    fn backends_tls_and_annotations_are_renamed() {
        let host = host_ingress(&names(), &web_ingress(), None);
        assert_eq!(
            serde_json::to_value(&host).unwrap(),
            json!({
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {
                    "name": "web-x-shop-x-vc",
                    "namespace": "host",
                    "labels": {
                        "app": "web",
                        "vcluster.loft.sh/managed-by": "vc",
                        "vcluster.loft.sh/namespace": "shop"
                    },
                    "annotations": {
                        "cert-manager.io/cluster-issuer": "letsencrypt",
                        "nginx.ingress.kubernetes.io/auth-secret": "basic-auth-x-shop-x-vc",
                        "nginx.ingress.kubernetes.io/auth-tls-secret": "host/ca-x-certs-x-vc",
                        "alb.ingress.kubernetes.io/actions.blue-green-x-shop-x-vc": "{\"forwardConfig\":{\"targetGroups\":[{\"serviceName\":\"blue-x-shop-x-vc\",\"servicePort\":\"80\",\"weight\":90},{\"serviceName\":\"green-x-shop-x-vc\",\"servicePort\":\"80\"}]},\"type\":\"forward\"}",
                        "alb.ingress.kubernetes.io/conditions.blue-green-x-shop-x-vc": "[]",
                        "vcluster.loft.sh/managed-annotations": "alb.ingress.kubernetes.io/actions.blue-green-x-shop-x-vc\nalb.ingress.kubernetes.io/conditions.blue-green-x-shop-x-vc\ncert-manager.io/cluster-issuer\nnginx.ingress.kubernetes.io/auth-secret\nnginx.ingress.kubernetes.io/auth-tls-secret",
                        "vcluster.loft.sh/object-name": "web",
                        "vcluster.loft.sh/object-namespace": "shop",
                        "vcluster.loft.sh/object-uid": "u1",
                        "vcluster.loft.sh/object-kind": "networking.k8s.io/v1, Kind=Ingress",
                        "vcluster.loft.sh/object-host-name": "web-x-shop-x-vc",
                        "vcluster.loft.sh/object-host-namespace": "host"
                    }
                },
                "spec": {
                    "ingressClassName": "nginx",
                    "defaultBackend": {"service": {"name": "fallback-x-shop-x-vc", "port": {"number": 80}}},
                    "tls": [{"hosts": ["shop.example"], "secretName": "shop-tls-x-shop-x-vc"}, {"hosts": ["x.example"]}],
                    "rules": [{
                        "host": "shop.example",
                        "http": {"paths": [
                            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web-x-shop-x-vc", "port": {"name": "http"}}}},
                            {"path": "/bg", "pathType": "Exact", "backend": {"service": {"name": "blue-green-x-shop-x-vc", "port": {"name": "use-annotation"}}}},
                            {"path": "/static", "pathType": "Prefix", "backend": {"resource": {"apiGroup": "k8s.example", "kind": "Bucket", "name": "assets-x-shop-x-vc"}}}
                        ]}
                    }]
                }
            })
        );
    }

    #[test]
    fn secrets_an_ingress_needs() {
        let secrets: Vec<String> = referenced_secrets(&web_ingress()).into_iter().collect();
        assert_eq!(secrets, ["certs/ca", "shop/basic-auth", "shop/shop-tls"]);
    }

    #[test]
    fn odd_annotation_values_are_kept() {
        let names = names();
        assert_eq!(
            host_annotation(
                &names,
                "shop",
                "nginx.ingress.kubernetes.io/auth-secret",
                "a/b/c"
            ),
            (
                "nginx.ingress.kubernetes.io/auth-secret".to_owned(),
                "a/b/c".to_owned()
            )
        );
        assert_eq!(
            host_annotation(
                &names,
                "shop",
                "alb.ingress.kubernetes.io/actions.x",
                "not json"
            ),
            (
                "alb.ingress.kubernetes.io/actions.x-x-shop-x-vc".to_owned(),
                "not json".to_owned()
            )
        );
        assert_eq!(
            host_annotation(
                &names,
                "shop",
                "nginx.ingress.kubernetes.io/rewrite-target",
                "/$2"
            ),
            (
                "nginx.ingress.kubernetes.io/rewrite-target".to_owned(),
                "/$2".to_owned()
            )
        );
    }
}
