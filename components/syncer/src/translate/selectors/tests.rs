use super::*;
use crate::names::NamespaceMode;

fn names() -> Names {
    Names::new("suffix", "vcluster-ns", NamespaceMode::Single)
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

fn from<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).unwrap()
}

#[test]
fn label_selector_keys() {
    let selector: LabelSelector = from(serde_json::json!({
        "matchLabels": {"app": "web", "release": "r"},
        "matchExpressions": [{"key": "vcluster.loft.sh/namespace", "operator": "Exists"}]
    }));
    assert_eq!(
        json(&host_label_selector(&names(), Some(&selector))),
        serde_json::json!({
            "matchLabels": {"app": "web", "vcluster.loft.sh/label-suffix-x-a4d451ec23": "r"},
            "matchExpressions": [{"key": "vcluster.loft.sh/label-suffix-x-101dcd4e86", "operator": "Exists"}]
        })
    );
    assert_eq!(host_label_selector(&names(), None), None);
}

#[test]
fn pdb_selector_is_scoped_to_the_namespace() {
    let selector: LabelSelector = from(serde_json::json!({"matchLabels": {"app": "web"}}));
    assert_eq!(
        json(&host_pod_selector_in_namespace(
            &names(),
            Some(&selector),
            "shop"
        )),
        serde_json::json!({"matchLabels": {
            "app": "web",
            "vcluster.loft.sh/managed-by": "suffix",
            "vcluster.loft.sh/namespace": "shop"
        }})
    );
    // empty selects the namespace's pods; nil selects none
    assert_eq!(
        json(&host_pod_selector_in_namespace(
            &names(),
            Some(&LabelSelector::default()),
            "shop"
        )),
        serde_json::json!({"matchLabels": {
            "vcluster.loft.sh/managed-by": "suffix",
            "vcluster.loft.sh/namespace": "shop"
        }})
    );
    assert_eq!(host_pod_selector_in_namespace(&names(), None, "shop"), None);
}

#[test]
fn network_policy_namespace_selectors_fold_into_pod_selectors() {
    let spec: NetworkPolicySpec = from(serde_json::json!({
        "podSelector": {"matchLabels": {"app": "db"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{
            "from": [
                {"podSelector": {"matchLabels": {"app": "web"}}},
                {"namespaceSelector": {"matchLabels": {"team": "a"}}, "podSelector": {"matchLabels": {"role": "client"}}},
                {"namespaceSelector": {}},
                {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}
            ],
            "ports": [{"port": 5432, "protocol": "TCP"}]
        }],
        "egress": [{"to": [{"namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["kube-system"]}]}}]}]
    }));
    assert_eq!(
        json(&host_network_policy_spec(&names(), &spec, "shop")),
        serde_json::json!({
            "podSelector": {"matchLabels": {
                "app": "db",
                "vcluster.loft.sh/managed-by": "suffix",
                "vcluster.loft.sh/namespace": "shop"
            }},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{
                "from": [
                    {"podSelector": {"matchLabels": {
                        "app": "web",
                        "vcluster.loft.sh/managed-by": "suffix",
                        "vcluster.loft.sh/namespace": "shop"
                    }}},
                    {"podSelector": {"matchLabels": {
                        "role": "client",
                        "vcluster.loft.sh/ns-label-suffix-x-ca8b22d0db": "a",
                        "vcluster.loft.sh/managed-by": "suffix"
                    }}},
                    {"podSelector": {"matchLabels": {"vcluster.loft.sh/managed-by": "suffix"}}},
                    {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}
                ],
                "ports": [{"port": 5432, "protocol": "TCP"}]
            }],
            "egress": [{"to": [{"podSelector": {
                "matchLabels": {"vcluster.loft.sh/managed-by": "suffix"},
                "matchExpressions": [{"key": "vcluster.loft.sh/ns-label-suffix-x-cf1227b7b2", "operator": "In", "values": ["kube-system"]}]
            }}]}]
        })
    );
}

#[test]
fn affinity_namespaces_become_namespace_label_requirements() {
    let affinity: Affinity = from(serde_json::json!({
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}},
        "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "cache"}}, "namespaces": ["a", "b"], "topologyKey": "kubernetes.io/hostname"},
            {"labelSelector": {"matchLabels": {"app": "cache"}}, "namespaceSelector": {"matchLabels": {"team": "a"}}, "topologyKey": "zone"},
            {"labelSelector": {"matchLabels": {"app": "cache"}}, "namespaces": ["a"], "namespaceSelector": {}, "topologyKey": "zone"},
            {"topologyKey": "zone"}
        ]},
        "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 10, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "web"}}, "matchLabelKeys": ["release"], "topologyKey": "kubernetes.io/hostname"}}
        ]}
    }));
    assert_eq!(
        json(&host_affinity(&names(), &affinity, "shop")),
        serde_json::json!({
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}},
            "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {
                    "matchLabels": {"app": "cache", "vcluster.loft.sh/managed-by": "suffix"},
                    "matchExpressions": [{"key": "vcluster.loft.sh/namespace", "operator": "In", "values": ["a", "b"]}]
                }, "topologyKey": "kubernetes.io/hostname"},
                {"labelSelector": {"matchLabels": {
                    "app": "cache",
                    "vcluster.loft.sh/ns-label-suffix-x-ca8b22d0db": "a",
                    "vcluster.loft.sh/managed-by": "suffix"
                }}, "topologyKey": "zone"},
                {"labelSelector": {"matchLabels": {"app": "cache", "vcluster.loft.sh/managed-by": "suffix"}}, "topologyKey": "zone"},
                {"topologyKey": "zone"}
            ]},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "podAffinityTerm": {
                    "labelSelector": {"matchLabels": {
                        "app": "web",
                        "vcluster.loft.sh/managed-by": "suffix",
                        "vcluster.loft.sh/namespace": "shop"
                    }},
                    "matchLabelKeys": ["vcluster.loft.sh/label-suffix-x-a4d451ec23"],
                    "topologyKey": "kubernetes.io/hostname"
                }}
            ]}
        })
    );
}

#[test]
fn affinity_in_multi_namespace_mode_maps_namespaces() {
    let names = Names::new("suffix", "vcluster-ns", NamespaceMode::Multi);
    let term: PodAffinityTerm = from(serde_json::json!({
        "labelSelector": {"matchLabels": {"app": "cache"}},
        "namespaces": ["shop"],
        "topologyKey": "zone"
    }));
    assert_eq!(
        json(&host_pod_affinity_term(&names, &term, "shop")),
        serde_json::json!({
            "labelSelector": {"matchLabels": {"app": "cache"}},
            "namespaces": ["vcluster-8d9001d3-e7ca7eb7"],
            "topologyKey": "zone"
        })
    );
}

#[test]
fn topology_spread_counts_only_the_namespace() {
    let constraints: Vec<TopologySpreadConstraint> = from(serde_json::json!([{
        "maxSkew": 1,
        "topologyKey": "zone",
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "web"}},
        "matchLabelKeys": ["pod-template-hash"]
    }]));
    assert_eq!(
        json(&host_topology_spread_constraints(
            &names(),
            &constraints,
            "shop"
        )),
        serde_json::json!([{
            "maxSkew": 1,
            "topologyKey": "zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {
                "app": "web",
                "vcluster.loft.sh/managed-by": "suffix",
                "vcluster.loft.sh/namespace": "shop"
            }},
            "matchLabelKeys": ["pod-template-hash"]
        }])
    );
}
