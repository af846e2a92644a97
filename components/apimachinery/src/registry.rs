//! The resource registry: which group/version/resources the API serves, their kinds, scope,
//! short names, categories and subresources. Built-in entries are static; CRDs add dynamic ones.

use std::sync::{Arc, OnceLock};

/// A subresource served beside the main resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subresource {
    Status,
    Scale,
}

impl Subresource {
    pub fn name(self) -> &'static str {
        match self {
            Subresource::Status => "status",
            Subresource::Scale => "scale",
        }
    }
}

/// One served resource (group/version/plural).
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub subresources: Vec<Subresource>,
    pub verbs: Vec<String>,
    /// OpenAPI definition name, e.g. `io.k8s.api.core.v1.Pod`.
    pub definition: String,
    /// For custom resources: the CRD version's schema, printer columns, scale paths.
    pub custom: Option<Arc<crate::crd::CustomInfo>>,
}

impl Resource {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn has_subresource(&self, s: Subresource) -> bool {
        self.subresources.contains(&s)
    }

    /// The storage prefix for this resource: `/registry/<group or core>/<plural>/`.
    /// One storage location per group/resource, whatever the served version.
    pub fn storage_prefix(&self) -> String {
        let group = if self.group.is_empty() {
            "core"
        } else {
            &self.group
        };
        format!("/registry/{group}/{}/", self.plural)
    }

    /// Storage key of one object.
    pub fn storage_key(&self, namespace: Option<&str>, name: &str) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{}{ns}/{name}", self.storage_prefix()),
            _ => format!("{}{name}", self.storage_prefix()),
        }
    }

    /// Storage prefix of one namespace's objects (or all objects when `None`).
    pub fn storage_list_prefix(&self, namespace: Option<&str>) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{}{ns}/", self.storage_prefix()),
            _ => self.storage_prefix(),
        }
    }
}

/// The verbs of an ordinary read-write resource.
pub const STANDARD_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

struct Builtin {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    subresources: &'static [Subresource],
    definition_package: &'static str,
}

use Subresource::{Scale, Status};
const NS: bool = true;
const CLUSTER: bool = false;
const ALL: &[&str] = &["all"];

macro_rules! builtin {
    ($g:expr, $v:expr, $k:expr, $p:expr, $ns:expr, $short:expr, $cat:expr, $sub:expr, $pkg:expr) => {
        Builtin {
            group: $g,
            version: $v,
            kind: $k,
            plural: $p,
            namespaced: $ns,
            short_names: $short,
            categories: $cat,
            subresources: $sub,
            definition_package: $pkg,
        }
    };
}

const CORE: &str = "io.k8s.api.core.v1";
const APPS: &str = "io.k8s.api.apps.v1";
const BATCH: &str = "io.k8s.api.batch.v1";
const NET: &str = "io.k8s.api.networking.v1";
const RBAC: &str = "io.k8s.api.rbac.v1";
const AUTHN: &str = "io.k8s.api.authentication.v1";
const AUTHZ: &str = "io.k8s.api.authorization.v1";

#[rustfmt::skip]
const BUILTINS: &[Builtin] = &[
    builtin!("", "v1", "Namespace", "namespaces", CLUSTER, &["ns"], &[], &[Status], CORE),
    builtin!("", "v1", "Pod", "pods", NS, &["po"], ALL, &[Status], CORE),
    builtin!("", "v1", "Service", "services", NS, &["svc"], ALL, &[Status], CORE),
    builtin!("", "v1", "Endpoints", "endpoints", NS, &["ep"], &[], &[], CORE),
    builtin!("", "v1", "ConfigMap", "configmaps", NS, &["cm"], &[], &[], CORE),
    builtin!("", "v1", "Secret", "secrets", NS, &[], &[], &[], CORE),
    builtin!("", "v1", "ServiceAccount", "serviceaccounts", NS, &["sa"], &[], &[], CORE),
    builtin!("", "v1", "Event", "events", NS, &["ev"], &[], &[], CORE),
    builtin!("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", NS, &["pvc"], &[], &[Status], CORE),
    builtin!("", "v1", "PersistentVolume", "persistentvolumes", CLUSTER, &["pv"], &[], &[Status], CORE),
    builtin!("", "v1", "Node", "nodes", CLUSTER, &["no"], &[], &[Status], CORE),
    builtin!("", "v1", "ResourceQuota", "resourcequotas", NS, &["quota"], &[], &[Status], CORE),
    builtin!("", "v1", "LimitRange", "limitranges", NS, &["limits"], &[], &[], CORE),
    builtin!("", "v1", "ReplicationController", "replicationcontrollers", NS, &["rc"], ALL, &[Status, Scale], CORE),
    builtin!("", "v1", "PodTemplate", "podtemplates", NS, &[], &[], &[], CORE),
    builtin!("apps", "v1", "Deployment", "deployments", NS, &["deploy"], ALL, &[Status, Scale], APPS),
    builtin!("apps", "v1", "ReplicaSet", "replicasets", NS, &["rs"], ALL, &[Status, Scale], APPS),
    builtin!("apps", "v1", "StatefulSet", "statefulsets", NS, &["sts"], ALL, &[Status, Scale], APPS),
    builtin!("apps", "v1", "DaemonSet", "daemonsets", NS, &["ds"], ALL, &[Status], APPS),
    builtin!("apps", "v1", "ControllerRevision", "controllerrevisions", NS, &[], &[], &[], APPS),
    builtin!("batch", "v1", "Job", "jobs", NS, &[], ALL, &[Status], BATCH),
    builtin!("batch", "v1", "CronJob", "cronjobs", NS, &["cj"], ALL, &[Status], BATCH),
    builtin!("networking.k8s.io", "v1", "Ingress", "ingresses", NS, &["ing"], &[], &[Status], NET),
    builtin!("networking.k8s.io", "v1", "IngressClass", "ingressclasses", CLUSTER, &[], &[], &[], NET),
    builtin!("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", NS, &["netpol"], &[], &[], NET),
    builtin!("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", NS, &[], &[], &[], "io.k8s.api.discovery.v1"),
    builtin!("coordination.k8s.io", "v1", "Lease", "leases", NS, &[], &[], &[], "io.k8s.api.coordination.v1"),
    builtin!("events.k8s.io", "v1", "Event", "events", NS, &["ev"], &[], &[], "io.k8s.api.events.v1"),
    builtin!("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", NS, &["pdb"], &[], &[Status], "io.k8s.api.policy.v1"),
    builtin!("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", CLUSTER, &["pc"], &[], &[], "io.k8s.api.scheduling.v1"),
    builtin!("storage.k8s.io", "v1", "StorageClass", "storageclasses", CLUSTER, &["sc"], &[], &[], "io.k8s.api.storage.v1"),
    builtin!("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", CLUSTER, &["crd", "crds"], &["api-extensions"], &[Status], "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1"),
    builtin!("rbac.authorization.k8s.io", "v1", "Role", "roles", NS, &[], &[], &[], RBAC),
    builtin!("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", NS, &[], &[], &[], RBAC),
    builtin!("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", CLUSTER, &[], &[], &[], RBAC),
    builtin!("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", CLUSTER, &[], &[], &[], RBAC),
    builtin!("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", CLUSTER, &[], &[], &[], AUTHN),
    builtin!("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", CLUSTER, &[], &[], &[], AUTHN),
    builtin!("authorization.k8s.io", "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews", NS, &[], &[], &[], AUTHZ),
    builtin!("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", CLUSTER, &[], &[], &[], AUTHZ),
    builtin!("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", CLUSTER, &[], &[], &[], AUTHZ),
    builtin!("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", CLUSTER, &[], &[], &[], AUTHZ),
];

/// Groups whose resources are create-only reviews, never stored.
pub const CREATE_ONLY_GROUPS: &[&str] = &["authentication.k8s.io", "authorization.k8s.io"];

fn singular_of(kind: &str) -> String {
    kind.to_ascii_lowercase()
}

/// All built-in resources, in a stable order (core first, as kube lists them).
pub fn builtin_resources() -> &'static [Resource] {
    static ALL_BUILTINS: OnceLock<Vec<Resource>> = OnceLock::new();
    ALL_BUILTINS.get_or_init(|| {
        BUILTINS
            .iter()
            .map(|b| Resource {
                group: b.group.into(),
                version: b.version.into(),
                kind: b.kind.into(),
                plural: b.plural.into(),
                singular: singular_of(b.kind),
                namespaced: b.namespaced,
                short_names: b.short_names.iter().map(|s| s.to_string()).collect(),
                categories: b.categories.iter().map(|s| s.to_string()).collect(),
                subresources: b.subresources.to_vec(),
                verbs: if CREATE_ONLY_GROUPS.contains(&b.group) {
                    vec!["create".to_string()]
                } else {
                    STANDARD_VERBS.iter().map(|s| s.to_string()).collect()
                },
                definition: format!("{}.{}", b.definition_package, b.kind),
                custom: None,
            })
            .collect()
    })
}

/// Groups in the order discovery lists them, each with its versions (preferred first).
pub fn builtin_groups() -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for r in builtin_resources() {
        match groups.iter_mut().find(|(g, _)| *g == r.group) {
            Some((_, versions)) => {
                if !versions.contains(&r.version) {
                    versions.push(r.version.clone());
                }
            }
            None => groups.push((r.group.clone(), vec![r.version.clone()])),
        }
    }
    groups
}

/// Looks up a built-in resource by group, version and plural.
pub fn find_builtin(group: &str, version: &str, plural: &str) -> Option<&'static Resource> {
    builtin_resources()
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Looks up a built-in resource by apiVersion and kind.
pub fn find_builtin_kind(api_version: &str, kind: &str) -> Option<&'static Resource> {
    builtin_resources()
        .iter()
        .find(|r| r.kind == kind && r.api_version() == api_version)
}

/// Splits `apps/v1` into (`apps`, `v1`) and `v1` into (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_unique_and_keyed() {
        let all = builtin_resources();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert!(
                    !(a.group == b.group && a.version == b.version && a.plural == b.plural),
                    "duplicate {}",
                    a.plural
                );
            }
        }
        let d = find_builtin("apps", "v1", "deployments").expect("deployments");
        assert_eq!(d.kind, "Deployment");
        assert_eq!(d.definition, "io.k8s.api.apps.v1.Deployment");
        assert_eq!(
            d.storage_key(Some("default"), "web"),
            "/registry/apps/deployments/default/web"
        );
        let ns = find_builtin_kind("v1", "Namespace").expect("ns");
        assert_eq!(
            ns.storage_key(None, "kube-system"),
            "/registry/core/namespaces/kube-system"
        );
        assert_eq!(split_api_version("apps/v1"), ("apps", "v1"));
        assert_eq!(split_api_version("v1"), ("", "v1"));
    }

    #[test]
    fn groups_core_first() {
        let g = builtin_groups();
        assert_eq!(g[0].0, "");
        assert!(g.iter().any(|(n, _)| n == "apps"));
    }
}
