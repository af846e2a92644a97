//! Cluster-scoped classes: IngressClasses of the host shown in the virtual cluster under their
//! own names (`sync.fromHost.*`), and the host copy of a virtual class ([`host_class`], named
//! `vcluster-<name>-x-<hostNamespace>-x-<vcluster>`) for the kinds that go to the host.
//!
//! Each kind says what its copy holds ([`ClassKind`]): which fields are compared, and which
//! cannot change in place (the copy is then deleted and created again).

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::metadata::host_metadata;
use crate::names::Names;

/// What the sync of one class kind needs to know about it.
pub trait ClassKind: Clone {
    /// apiVersion and kind (for `vcluster.loft.sh/object-kind`).
    const API_VERSION: &'static str;
    const KIND: &'static str;
    /// Annotations not copied to the host.
    const EXCLUDED_ANNOTATIONS: &'static [&'static str] = &[];

    fn metadata(&self) -> &ObjectMeta;
    /// This object's content (everything but metadata) under `metadata`.
    fn with_metadata(&self, metadata: ObjectMeta) -> Self;
    /// The host copy's content: the same, unless the kind adjusts it (see PriorityClass).
    fn for_host(&self) -> Self {
        self.clone()
    }
    /// Whether the content (not metadata) of both is the same, server defaults considered.
    fn same_content(&self, other: &Self) -> bool;
    /// Whether turning `self` into `wanted` changes a field the API server won't update.
    fn needs_recreate(&self, wanted: &Self) -> bool;
}

impl ClassKind for IngressClass {
    const API_VERSION: &'static str = "networking.k8s.io/v1";
    const KIND: &'static str = "IngressClass";

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn with_metadata(&self, metadata: ObjectMeta) -> Self {
        IngressClass {
            metadata,
            ..self.clone()
        }
    }
    fn same_content(&self, other: &Self) -> bool {
        self.spec.clone().unwrap_or_default() == other.spec.clone().unwrap_or_default()
    }
    fn needs_recreate(&self, _wanted: &Self) -> bool {
        false
    }
}

/// The host copy of a virtual class: renamed `vcluster-<name>-x-<hostNs>-x-<vc>`, marked with
/// the cluster-scoped `managed-by` and the `object-*` annotations (no owner: a namespaced
/// owner cannot own a cluster-scoped object).
pub fn host_class<K: ClassKind>(names: &Names, virtual_class: &K) -> K {
    let metadata = host_metadata(
        names,
        virtual_class.metadata(),
        K::API_VERSION,
        K::KIND,
        None,
        K::EXCLUDED_ANNOTATIONS,
    );
    virtual_class.for_host().with_metadata(metadata)
}

/// The virtual copy of a host class: same name, labels and annotations, same content.
pub fn mirrored_class<K: ClassKind>(host_class: &K) -> K {
    let host = host_class.metadata();
    host_class.with_metadata(ObjectMeta {
        name: host.name.clone(),
        labels: host.labels.clone().filter(|l| !l.is_empty()),
        annotations: host.annotations.clone().filter(|a| !a.is_empty()),
        ..ObjectMeta::default()
    })
}

/// Whether a virtual class already is the mirror of `wanted` (metadata and content).
pub fn same_mirror<K: ClassKind>(current: &K, wanted: &K) -> bool {
    let map = |m: &Option<BTreeMap<String, String>>| m.clone().unwrap_or_default();
    map(&current.metadata().labels) == map(&wanted.metadata().labels)
        && map(&current.metadata().annotations) == map(&wanted.metadata().annotations)
        && current.same_content(wanted)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn from<T: serde::de::DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn host_classes_are_mirrored_as_they_are() {
        let host: IngressClass = from(json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {
                "name": "nginx",
                "uid": "host-uid",
                "resourceVersion": "12",
                "labels": {"app": "ingress-nginx"},
                "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}
            },
            "spec": {"controller": "k8s.io/ingress-nginx"}
        }));
        let mirror = mirrored_class(&host);
        assert_eq!(
            serde_json::to_value(&mirror).unwrap(),
            json!({
                "apiVersion": "networking.k8s.io/v1",
                "kind": "IngressClass",
                "metadata": {
                    "name": "nginx",
                    "labels": {"app": "ingress-nginx"},
                    "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}
                },
                "spec": {"controller": "k8s.io/ingress-nginx"}
            })
        );
        assert!(same_mirror(&host, &mirror));
        let mut relabelled = mirror.clone();
        relabelled.metadata.labels = None;
        assert!(!same_mirror(&relabelled, &mirror));
    }
}
