//! Validation of built-in objects as kube-apiserver 1.33 does it: decode-time schema checks
//! ([`unknown_fields`], [`type_errors`]) and the field validation of create and update
//! ([`validate_create`], [`validate_update`]) with apimachinery's message wording, so kubectl
//! shows what it shows against a real cluster.
//!
//! Objects are expected to be defaulted first (see [`crate::defaults`]); fields that defaulting
//! always fills are accepted when absent rather than reported as required.

pub mod cron;
pub mod fields;
pub mod names;
pub mod quantity;

mod core;
mod meta;
mod others;
mod util;
mod workloads;

#[cfg(test)]
mod tests;

use serde_json::Value;

pub use fields::{decode_error, prune_unknown, type_errors, unknown_fields};
pub use names::NameRule;

use crate::error::FieldError;
use util::Errs;

/// The volume source members of a pod volume, in kube's order (validateVolumeSource), so
/// `may not specify more than 1 volume type` names the later source.
#[rustfmt::skip]
pub const VOLUME_SOURCES: &[&str] = &[
    "hostPath", "emptyDir", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore", "secret",
    "nfs", "iscsi", "glusterfs", "flocker", "persistentVolumeClaim", "rbd", "quobyte", "cinder",
    "cephfs", "downwardAPI", "fc", "azureFile", "vsphereVolume", "photonPersistentDisk",
    "portworxVolume", "azureDisk", "storageos", "configMap", "scaleIO", "projected", "csi",
    "ephemeral", "image",
];

type CreateFn = fn(&mut Errs, &Value);
type UpdateFn = fn(&mut Errs, &Value, &Value);

/// What an update checks besides ObjectMeta.
#[derive(Clone, Copy)]
enum Update {
    /// The create rules on the new object.
    Same,
    /// The create rules plus these.
    Extra(UpdateFn),
    /// Only these (kind validates updates differently).
    Replace(UpdateFn),
}

/// One kind's rules.
struct Rules {
    group: &'static str,
    kind: &'static str,
    name: NameRule,
    create: Option<CreateFn>,
    update: Update,
}

use NameRule::{Dns1035, Label, PathSegment, Subdomain};
use Update::{Extra, Replace, Same};

macro_rules! rules {
    ($($g:literal $k:literal $name:ident $create:expr, $update:expr;)*) => {
        &[$(Rules { group: $g, kind: $k, name: $name, create: $create, update: $update }),*]
    };
}

const RBAC: &str = "rbac.authorization.k8s.io";

#[rustfmt::skip]
const KINDS: &[Rules] = rules![
    "" "Pod" Subdomain Some(core::pod), Extra(core::pod_update);
    "" "Service" Dns1035 Some(core::service), Extra(core::service_update);
    "" "Namespace" Label Some(core::namespace), Same;
    "" "ConfigMap" Subdomain Some(core::config_map), Extra(core::config_map_update);
    "" "Secret" Subdomain Some(core::secret), Extra(core::secret_update);
    "" "Node" Subdomain Some(core::node), Same;
    "" "PersistentVolumeClaim" Subdomain Some(core::pvc), Replace(core::pvc_update);
    "" "PersistentVolume" Subdomain Some(core::pv), Same;
    "" "Endpoints" Subdomain Some(core::endpoints), Same;
    "" "Event" PathSegment Some(core::event), Same;
    "" "ResourceQuota" Subdomain Some(core::resource_quota), Same;
    "" "LimitRange" Subdomain Some(core::limit_range), Same;
    "" "PodTemplate" Subdomain Some(core::pod_template_kind), Same;
    "" "ReplicationController" Subdomain Some(workloads::replication_controller), Same;
    "" "ServiceAccount" Subdomain None, Same;
    "apps" "Deployment" Subdomain Some(workloads::deployment), Extra(workloads::selector_immutable);
    "apps" "ReplicaSet" Subdomain Some(workloads::replica_set), Extra(workloads::selector_immutable);
    "apps" "StatefulSet" Subdomain Some(workloads::stateful_set), Extra(workloads::stateful_set_update);
    "apps" "DaemonSet" Subdomain Some(workloads::daemon_set), Extra(workloads::selector_immutable);
    "apps" "ControllerRevision" Subdomain Some(others::controller_revision), Extra(others::controller_revision_update);
    "batch" "Job" Subdomain Some(workloads::job), Extra(workloads::job_update);
    "batch" "CronJob" Subdomain Some(workloads::cron_job), Replace(workloads::cron_job_update);
    "networking.k8s.io" "Ingress" Subdomain Some(others::ingress), Same;
    "networking.k8s.io" "IngressClass" Subdomain Some(others::ingress_class), Extra(others::ingress_class_update);
    "networking.k8s.io" "NetworkPolicy" Subdomain Some(others::network_policy), Same;
    "discovery.k8s.io" "EndpointSlice" Subdomain Some(others::endpoint_slice), Extra(others::endpoint_slice_update);
    "coordination.k8s.io" "Lease" Subdomain Some(others::lease), Same;
    "events.k8s.io" "Event" Subdomain Some(others::events_v1), Same;
    "policy" "PodDisruptionBudget" Subdomain Some(others::pod_disruption_budget), Same;
    "scheduling.k8s.io" "PriorityClass" Subdomain Some(others::priority_class), Extra(others::priority_class_update);
    "storage.k8s.io" "StorageClass" Subdomain Some(others::storage_class), Extra(others::storage_class_update);
    "rbac.authorization.k8s.io" "Role" PathSegment Some(others::role), Same;
    "rbac.authorization.k8s.io" "ClusterRole" PathSegment Some(others::cluster_role), Same;
    "rbac.authorization.k8s.io" "RoleBinding" PathSegment Some(others::role_binding), Extra(others::binding_update);
    "rbac.authorization.k8s.io" "ClusterRoleBinding" PathSegment Some(others::cluster_role_binding), Extra(others::binding_update);
];

fn rules_for(group: &str, kind: &str) -> Option<&'static Rules> {
    KINDS.iter().find(|r| r.group == group && r.kind == kind)
}

/// The rule kube applies to `metadata.name` of `group`/`kind`: DNS-1123 subdomain for most,
/// DNS-1123 label for Namespaces, DNS-1035 label for Services, path segments for RBAC and
/// events. Unknown kinds (custom resources) get subdomains.
pub fn name_rule(group: &str, kind: &str) -> NameRule {
    match rules_for(group, kind) {
        Some(r) => r.name,
        None if group == RBAC => PathSegment,
        None => Subdomain,
    }
}

/// Field errors of a new object, in kube's order: ObjectMeta, then the kind's rules.
pub fn validate_create(group: &str, kind: &str, obj: &Value, namespaced: bool) -> Vec<FieldError> {
    let mut e = Errs::default();
    meta::validate_create(&mut e, obj, namespaced, name_rule(group, kind));
    if let Some(create) = rules_for(group, kind).and_then(|r| r.create) {
        create(&mut e, obj);
    }
    e.list
}

/// Field errors of an update of `old` to `obj`: immutable ObjectMeta fields, the kind's rules
/// on the new object and its update rules (immutable selectors, cluster IPs, roleRefs, …).
pub fn validate_update(
    group: &str,
    kind: &str,
    obj: &Value,
    old: &Value,
    namespaced: bool,
) -> Vec<FieldError> {
    let _ = namespaced; // namespace changes are caught as immutable
    let mut e = Errs::default();
    meta::validate_update(&mut e, obj, old);
    let Some(rules) = rules_for(group, kind) else {
        return e.list;
    };
    match (rules.update, rules.create) {
        (Replace(update), _) => update(&mut e, obj, old),
        (Extra(update), create) => {
            if let Some(create) = create {
                create(&mut e, obj);
            }
            update(&mut e, obj, old);
        }
        (Same, Some(create)) => create(&mut e, obj),
        (Same, None) => {}
    }
    e.list
}
