//! PodDisruptionBudgets: virtual (policy/v1) -> host, written as policy/v1 or, on hosts older
//! than 1.21, policy/v1beta1 (same fields; an empty selector there selects nothing, but the
//! host selector is never empty). The selector counts this virtual namespace's host pods only
//! ([`host_pod_selector_in_namespace`]).

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde_json::Value;

use super::metadata::host_metadata;
use super::selectors::host_pod_selector_in_namespace;
use crate::names::Names;

/// apiVersion of the virtual PodDisruptionBudgets.
pub const API_VERSION: &str = "policy/v1";

/// The host PodDisruptionBudget of a virtual one, as a policy/v1 object (see [`as_version`]).
pub fn host_pdb(
    names: &Names,
    virtual_pdb: &PodDisruptionBudget,
    owner: Option<&OwnerReference>,
) -> PodDisruptionBudget {
    let namespace = virtual_pdb
        .metadata
        .namespace
        .as_deref()
        .unwrap_or_default();
    let spec = virtual_pdb.spec.clone().unwrap_or_default();
    PodDisruptionBudget {
        metadata: host_metadata(
            names,
            &virtual_pdb.metadata,
            API_VERSION,
            "PodDisruptionBudget",
            owner,
            &[],
        ),
        spec: Some(PodDisruptionBudgetSpec {
            selector: host_pod_selector_in_namespace(names, spec.selector.as_ref(), namespace),
            ..spec
        }),
        status: None,
    }
}

/// A policy/v1 PodDisruptionBudget as JSON of `policy/<version>`; v1beta1 has no
/// `unhealthyPodEvictionPolicy` (a 1.20 host would drop it anyway).
pub fn as_version(pdb: &PodDisruptionBudget, version: &str) -> Value {
    let mut value = serde_json::to_value(pdb).unwrap_or(Value::Null);
    value["apiVersion"] = Value::String(format!("policy/{version}"));
    if version != "v1"
        && let Some(spec) = value.get_mut("spec").and_then(Value::as_object_mut)
    {
        spec.remove("unhealthyPodEvictionPolicy");
    }
    value
}

/// A host PodDisruptionBudget of any served version read as policy/v1.
pub fn from_any_version(mut value: Value) -> Result<PodDisruptionBudget, serde_json::Error> {
    value["apiVersion"] = Value::String(API_VERSION.to_owned());
    value["kind"] = Value::String("PodDisruptionBudget".to_owned());
    serde_json::from_value(value)
}

/// Whether the host spec says what the translation wants (fields a host may not know, like
/// `unhealthyPodEvictionPolicy` on old hosts, count only when the host kept them).
pub fn same_spec(host: &PodDisruptionBudgetSpec, desired: &PodDisruptionBudgetSpec) -> bool {
    host.min_available == desired.min_available
        && host.max_unavailable == desired.max_unavailable
        && host.selector == desired.selector
        && (host.unhealthy_pod_eviction_policy.is_none()
            || host.unhealthy_pod_eviction_policy == desired.unhealthy_pod_eviction_policy)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::names::NamespaceMode;

    fn virtual_pdb() -> PodDisruptionBudget {
        serde_json::from_value(json!({
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "web", "namespace": "shop", "uid": "u3", "generation": 2},
            "spec": {
                "minAvailable": 1,
                "selector": {"matchLabels": {"app": "web", "release": "stable"}},
                "unhealthyPodEvictionPolicy": "AlwaysAllow"
            },
            "status": {"currentHealthy": 1, "desiredHealthy": 1, "disruptionsAllowed": 0, "expectedPods": 1}
        }))
        .unwrap()
    }

    #[test]
    fn host_pdbs_select_this_namespaces_pods() {
        let names = Names::new("vc", "host", NamespaceMode::Single);
        let host = host_pdb(&names, &virtual_pdb(), None);
        let v1beta1 = as_version(&host, "v1beta1");
        assert_eq!(v1beta1["apiVersion"], "policy/v1beta1");
        assert_eq!(v1beta1["kind"], "PodDisruptionBudget");
        assert_eq!(v1beta1["metadata"]["name"], "web-x-shop-x-vc");
        assert_eq!(v1beta1["metadata"]["namespace"], "host");
        assert_eq!(
            v1beta1["metadata"]["annotations"]["vcluster.loft.sh/object-kind"],
            "policy/v1, Kind=PodDisruptionBudget"
        );
        assert_eq!(
            v1beta1["spec"],
            json!({
                "minAvailable": 1,
                "selector": {"matchLabels": {
                    "app": "web",
                    "vcluster.loft.sh/label-vc-x-a4d451ec23": "stable",
                    "vcluster.loft.sh/managed-by": "vc",
                    "vcluster.loft.sh/namespace": "shop"
                }}
            })
        );
        assert_eq!(v1beta1.get("status"), None);
        let v1 = as_version(&host, "v1");
        assert_eq!(v1["apiVersion"], "policy/v1");
        assert_eq!(v1["spec"]["unhealthyPodEvictionPolicy"], "AlwaysAllow");

        // read back from the host and compared
        let back = from_any_version(v1beta1).unwrap();
        assert!(same_spec(
            back.spec.as_ref().unwrap(),
            host.spec.as_ref().unwrap()
        ));
        let mut changed = host.spec.clone().unwrap();
        changed.min_available = None;
        assert!(!same_spec(back.spec.as_ref().unwrap(), &changed));
    }
}
