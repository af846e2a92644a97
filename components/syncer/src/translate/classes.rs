//! Cluster-scoped classes: PriorityClasses and StorageClasses sent to the host under
//! `vcluster-<name>-x-<hostNamespace>-x-<vcluster>` (`sync.toHost.*`), and IngressClasses,
//! PriorityClasses and StorageClasses of the host shown in the virtual cluster under their own
//! names (`sync.fromHost.*`).
//!
//! Each kind says what its copy holds ([`ClassKind`]): which fields are compared, and which
//! cannot change in place (the copy is then deleted and created again).

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::metadata::host_metadata;
use super::pod::MAX_PRIORITY;
use crate::names::Names;

/// Virtual annotations that would make the host copy the host's default StorageClass.
/// vCluster drops only the first; the beta key still works on hosts, so it goes too.
pub const DEFAULT_STORAGE_CLASS_ANNOTATIONS: &[&str] = &[
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
];

/// Built-in PriorityClasses every cluster has (the virtual API server knows them): never
/// mirrored from the host, never deleted as unmirrored.
pub const SYSTEM_PRIORITY_CLASSES: &[&str] = &["system-node-critical", "system-cluster-critical"];

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

impl ClassKind for PriorityClass {
    const API_VERSION: &'static str = "scheduling.k8s.io/v1";
    const KIND: &'static str = "PriorityClass";

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn with_metadata(&self, metadata: ObjectMeta) -> Self {
        PriorityClass {
            metadata,
            ..self.clone()
        }
    }
    /// Capped to the highest user priority, never the host's global default (as vCluster).
    fn for_host(&self) -> Self {
        PriorityClass {
            value: self.value.min(MAX_PRIORITY),
            global_default: None,
            ..self.clone()
        }
    }
    fn same_content(&self, other: &Self) -> bool {
        self.value == other.value
            && self.global_default.unwrap_or(false) == other.global_default.unwrap_or(false)
            && self.description == other.description
            && preemption_policy(self) == preemption_policy(other)
    }
    fn needs_recreate(&self, wanted: &Self) -> bool {
        self.value != wanted.value || preemption_policy(self) != preemption_policy(wanted)
    }
}

fn preemption_policy(class: &PriorityClass) -> &str {
    class
        .preemption_policy
        .as_deref()
        .unwrap_or("PreemptLowerPriority")
}

impl ClassKind for StorageClass {
    const API_VERSION: &'static str = "storage.k8s.io/v1";
    const KIND: &'static str = "StorageClass";
    const EXCLUDED_ANNOTATIONS: &'static [&'static str] = DEFAULT_STORAGE_CLASS_ANNOTATIONS;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn with_metadata(&self, metadata: ObjectMeta) -> Self {
        StorageClass {
            metadata,
            ..self.clone()
        }
    }
    fn same_content(&self, other: &Self) -> bool {
        !self.needs_recreate(other)
            && self.mount_options.clone().unwrap_or_default()
                == other.mount_options.clone().unwrap_or_default()
            && self.allow_volume_expansion.unwrap_or(false)
                == other.allow_volume_expansion.unwrap_or(false)
            && self.allowed_topologies.clone().unwrap_or_default()
                == other.allowed_topologies.clone().unwrap_or_default()
    }
    fn needs_recreate(&self, wanted: &Self) -> bool {
        let reclaim = |c: &StorageClass| c.reclaim_policy.clone().unwrap_or("Delete".into());
        let binding =
            |c: &StorageClass| c.volume_binding_mode.clone().unwrap_or("Immediate".into());
        self.provisioner != wanted.provisioner
            || self.parameters.clone().unwrap_or_default()
                != wanted.parameters.clone().unwrap_or_default()
            || reclaim(self) != reclaim(wanted)
            || binding(self) != binding(wanted)
    }
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
    use crate::names::NamespaceMode;

    fn names() -> Names {
        Names::new("vc", "host", NamespaceMode::Single)
    }

    fn from<T: serde::de::DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn priority_classes_go_to_the_host_capped_and_renamed() {
        let virtual_class: PriorityClass = from(json!({
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": "high", "uid": "u4", "labels": {"tier": "1"}},
            "value": 2_000_000_000,
            "globalDefault": true,
            "description": "important"
        }));
        let host = host_class(&names(), &virtual_class);
        assert_eq!(
            serde_json::to_value(&host).unwrap(),
            json!({
                "apiVersion": "scheduling.k8s.io/v1",
                "kind": "PriorityClass",
                "metadata": {
                    "name": "vcluster-high-x-host-x-vc",
                    "labels": {"tier": "1", "vcluster.loft.sh/managed-by": "host-x-vc"},
                    "annotations": {
                        "vcluster.loft.sh/object-name": "high",
                        "vcluster.loft.sh/object-uid": "u4",
                        "vcluster.loft.sh/object-kind": "scheduling.k8s.io/v1, Kind=PriorityClass",
                        "vcluster.loft.sh/object-host-name": "vcluster-high-x-host-x-vc"
                    }
                },
                "value": 1_000_000_000,
                "description": "important"
            })
        );
        let mut lower = host.clone();
        lower.value = 5;
        assert!(host.needs_recreate(&lower));
        let mut never = host.clone();
        never.preemption_policy = Some("Never".into());
        assert!(host.needs_recreate(&never));
        let mut defaulted = host.clone();
        defaulted.preemption_policy = Some("PreemptLowerPriority".into());
        assert!(host.same_content(&defaulted));
    }

    #[test]
    fn storage_classes_never_become_the_hosts_default() {
        let virtual_class: StorageClass = from(json!({
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "fast", "uid": "u5", "annotations": {
                "storageclass.kubernetes.io/is-default-class": "true",
                "storageclass.beta.kubernetes.io/is-default-class": "true",
                "note": "ssd"
            }},
            "provisioner": "example.com/ssd",
            "parameters": {"type": "io2"},
            "allowVolumeExpansion": true
        }));
        let host = host_class(&names(), &virtual_class);
        assert_eq!(
            serde_json::to_value(&host).unwrap(),
            json!({
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {
                    "name": "vcluster-fast-x-host-x-vc",
                    "labels": {"vcluster.loft.sh/managed-by": "host-x-vc"},
                    "annotations": {
                        "note": "ssd",
                        "vcluster.loft.sh/managed-annotations": "note",
                        "vcluster.loft.sh/object-name": "fast",
                        "vcluster.loft.sh/object-uid": "u5",
                        "vcluster.loft.sh/object-kind": "storage.k8s.io/v1, Kind=StorageClass",
                        "vcluster.loft.sh/object-host-name": "vcluster-fast-x-host-x-vc"
                    }
                },
                "provisioner": "example.com/ssd",
                "parameters": {"type": "io2"},
                "allowVolumeExpansion": true
            })
        );
        // the host fills in the defaults: still the same class
        let mut defaulted = host.clone();
        defaulted.reclaim_policy = Some("Delete".into());
        defaulted.volume_binding_mode = Some("Immediate".into());
        assert!(host.same_content(&defaulted));
        let mut other = host.clone();
        other.parameters = Some(BTreeMap::from([("type".into(), "gp3".into())]));
        assert!(host.needs_recreate(&other));
        let mut grown = host.clone();
        grown.allow_volume_expansion = Some(false);
        assert!(!host.needs_recreate(&grown));
        assert!(!host.same_content(&grown));
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
