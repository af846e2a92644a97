//! Label selectors of virtual objects rewritten for host pods.
//!
//! Host pods carry the virtual labels (reserved keys rewritten), `vcluster.loft.sh/managed-by`,
//! `vcluster.loft.sh/namespace` and a copy of every virtual namespace label under
//! `vcluster.loft.sh/ns-label-<vc>-x-<hash>`; selectors are rewritten to match those.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, PodAffinity, PodAffinityTerm, PodAntiAffinity, TopologySpreadConstraint,
    WeightedPodAffinityTerm,
};
use k8s_openapi::api::networking::v1::{NetworkPolicyPeer, NetworkPolicySpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use crate::names::{Names, NamespaceMode, labels};

fn map_keys(selector: &LabelSelector, key: impl Fn(&str) -> String) -> LabelSelector {
    LabelSelector {
        match_labels: selector.match_labels.as_ref().map(|m| {
            m.iter()
                .map(|(k, v)| (key(k), v.clone()))
                .collect::<BTreeMap<_, _>>()
        }),
        match_expressions: selector.match_expressions.as_ref().map(|exprs| {
            exprs
                .iter()
                .map(|e| LabelSelectorRequirement {
                    key: key(&e.key),
                    operator: e.operator.clone(),
                    values: e.values.clone(),
                })
                .collect()
        }),
    }
}

/// Keys rewritten with [`Names::host_label_key`]; `None` stays `None` (selects nothing).
pub fn host_label_selector(
    names: &Names,
    selector: Option<&LabelSelector>,
) -> Option<LabelSelector> {
    selector.map(|s| map_keys(s, |k| names.host_label_key(k)))
}

/// A namespace selector turned into a pod selector on the namespace-label copies.
pub fn host_namespace_label_selector(
    names: &Names,
    selector: Option<&LabelSelector>,
) -> Option<LabelSelector> {
    selector.map(|s| map_keys(s, |k| names.namespace_label_key(k)))
}

/// Both selectors at once (their requirements ANDed).
pub fn merge_label_selectors(a: Option<LabelSelector>, b: Option<LabelSelector>) -> LabelSelector {
    let mut out = LabelSelector::default();
    for selector in [a, b].into_iter().flatten() {
        if let Some(match_labels) = selector.match_labels.filter(|m| !m.is_empty()) {
            out.match_labels
                .get_or_insert_with(BTreeMap::new)
                .extend(match_labels);
        }
        if let Some(exprs) = selector.match_expressions {
            out.match_expressions
                .get_or_insert_with(Vec::new)
                .extend(exprs);
        }
    }
    out
}

fn insert_label(selector: &mut LabelSelector, key: &str, value: &str) {
    selector
        .match_labels
        .get_or_insert_with(BTreeMap::new)
        .insert(key.to_owned(), value.to_owned());
}

/// A pod selector that means "these pods of this virtual namespace" on the host: keys
/// rewritten plus managed-by and namespace. `None` stays `None`.
///
/// vCluster only rewrites the keys of PodDisruptionBudget selectors, so a host PDB also
/// counts look-alike pods of other virtual namespaces; warren scopes it to the namespace.
pub fn host_pod_selector_in_namespace(
    names: &Names,
    selector: Option<&LabelSelector>,
    virtual_namespace: &str,
) -> Option<LabelSelector> {
    let mut out = host_label_selector(names, selector)?;
    insert_label(&mut out, labels::NAMESPACE, virtual_namespace);
    insert_label(&mut out, labels::MANAGED_BY, names.vcluster());
    Some(out)
}

/// NetworkPolicy spec for the host (single-namespace mode): podSelector scoped to the virtual
/// namespace and virtual cluster; peers' namespaceSelectors folded into their podSelector via
/// the namespace-label keys (all pods share one host namespace); ipBlocks copied.
pub fn host_network_policy_spec(
    names: &Names,
    spec: &NetworkPolicySpec,
    virtual_namespace: &str,
) -> NetworkPolicySpec {
    let peers = |peers: &Option<Vec<NetworkPolicyPeer>>| {
        peers.as_ref().map(|peers| {
            peers
                .iter()
                .map(|peer| host_network_policy_peer(names, peer, virtual_namespace))
                .collect()
        })
    };
    // An absent podSelector selects every pod of the namespace, like an empty one.
    let mut pod_selector =
        host_label_selector(names, Some(&spec.pod_selector.clone().unwrap_or_default()))
            .unwrap_or_default();
    insert_label(&mut pod_selector, labels::NAMESPACE, virtual_namespace);
    insert_label(&mut pod_selector, labels::MANAGED_BY, names.vcluster());
    NetworkPolicySpec {
        pod_selector: Some(pod_selector),
        policy_types: spec.policy_types.clone(),
        ingress: spec.ingress.as_ref().map(|rules| {
            rules
                .iter()
                .map(
                    |rule| k8s_openapi::api::networking::v1::NetworkPolicyIngressRule {
                        from: peers(&rule.from),
                        ports: rule.ports.clone(),
                    },
                )
                .collect()
        }),
        egress: spec.egress.as_ref().map(|rules| {
            rules
                .iter()
                .map(
                    |rule| k8s_openapi::api::networking::v1::NetworkPolicyEgressRule {
                        to: peers(&rule.to),
                        ports: rule.ports.clone(),
                    },
                )
                .collect()
        }),
    }
}

fn host_network_policy_peer(
    names: &Names,
    peer: &NetworkPolicyPeer,
    virtual_namespace: &str,
) -> NetworkPolicyPeer {
    if let Some(ip_block) = &peer.ip_block {
        return NetworkPolicyPeer {
            ip_block: Some(ip_block.clone()),
            ..Default::default()
        };
    }
    let mut pod_selector = merge_label_selectors(
        host_label_selector(names, peer.pod_selector.as_ref()),
        host_namespace_label_selector(names, peer.namespace_selector.as_ref()),
    );
    // No namespaceSelector means the policy's own namespace.
    if peer.namespace_selector.is_none() {
        insert_label(&mut pod_selector, labels::NAMESPACE, virtual_namespace);
    }
    insert_label(&mut pod_selector, labels::MANAGED_BY, names.vcluster());
    NetworkPolicyPeer {
        pod_selector: Some(pod_selector),
        // all of the virtual cluster's pods live in the policy's host namespace
        namespace_selector: None,
        ip_block: None,
    }
}

/// Label key lists (matchLabelKeys, mismatchLabelKeys) name pod labels: rewrite them too.
fn host_label_keys(names: &Names, keys: &Option<Vec<String>>) -> Option<Vec<String>> {
    keys.as_ref()
        .map(|keys| keys.iter().map(|k| names.host_label_key(k)).collect())
}

fn selector_is_empty(selector: &LabelSelector) -> bool {
    selector
        .match_labels
        .as_ref()
        .is_none_or(BTreeMap::is_empty)
        && selector
            .match_expressions
            .as_ref()
            .is_none_or(Vec::is_empty)
}

/// A pod (anti-)affinity term for the host.
///
/// Single-namespace mode: `namespaces: [a, b]` becomes `vcluster.loft.sh/namespace In [a, b]`,
/// a namespaceSelector folds into the namespace-label keys, neither means the pod's own
/// namespace; managed-by is always added. A term with both `namespaces` and a non-empty
/// namespaceSelector (a union) keeps only `namespaces`, as in vCluster.
/// Multi-namespace mode: keys rewritten and `namespaces` mapped to host namespaces; a
/// namespaceSelector is kept as it is.
pub fn host_pod_affinity_term(
    names: &Names,
    term: &PodAffinityTerm,
    virtual_namespace: &str,
) -> PodAffinityTerm {
    if names.mode() == NamespaceMode::Multi {
        return PodAffinityTerm {
            label_selector: host_label_selector(names, term.label_selector.as_ref()),
            match_label_keys: host_label_keys(names, &term.match_label_keys),
            mismatch_label_keys: host_label_keys(names, &term.mismatch_label_keys),
            namespaces: term.namespaces.as_ref().map(|namespaces| {
                namespaces
                    .iter()
                    .map(|ns| names.host_namespace(ns))
                    .collect()
            }),
            ..term.clone()
        };
    }
    // namespaces/namespaceSelector are folded into the label selector below.
    let mut out = PodAffinityTerm {
        label_selector: host_label_selector(names, term.label_selector.as_ref()),
        topology_key: term.topology_key.clone(),
        match_label_keys: host_label_keys(names, &term.match_label_keys),
        mismatch_label_keys: host_label_keys(names, &term.mismatch_label_keys),
        namespaces: None,
        namespace_selector: None,
    };
    // A nil labelSelector matches nothing; leave it so.
    let Some(selector) = out.label_selector.as_mut() else {
        return out;
    };
    let namespaces = term.namespaces.clone().unwrap_or_default();
    let namespace_selector = term.namespace_selector.as_ref();
    if !namespaces.is_empty() {
        // An empty namespaceSelector selects every namespace; then `namespaces` adds nothing.
        if namespace_selector.is_none_or(|s| !selector_is_empty(s)) {
            selector
                .match_expressions
                .get_or_insert_with(Vec::new)
                .push(LabelSelectorRequirement {
                    key: labels::NAMESPACE.to_owned(),
                    operator: "In".to_owned(),
                    values: Some(namespaces),
                });
        }
    } else if let Some(namespace_selector) = namespace_selector {
        *selector = merge_label_selectors(
            Some(selector.clone()),
            host_namespace_label_selector(names, Some(namespace_selector)),
        );
    } else {
        insert_label(selector, labels::NAMESPACE, virtual_namespace);
    }
    insert_label(selector, labels::MANAGED_BY, names.vcluster());
    out
}

/// Pod affinity and anti-affinity rewritten term by term; node affinity unchanged.
pub fn host_affinity(names: &Names, affinity: &Affinity, virtual_namespace: &str) -> Affinity {
    let term = |t: &PodAffinityTerm| host_pod_affinity_term(names, t, virtual_namespace);
    let weighted = |w: &WeightedPodAffinityTerm| WeightedPodAffinityTerm {
        pod_affinity_term: term(&w.pod_affinity_term),
        weight: w.weight,
    };
    Affinity {
        node_affinity: affinity.node_affinity.clone(),
        pod_affinity: affinity.pod_affinity.as_ref().map(|a| PodAffinity {
            preferred_during_scheduling_ignored_during_execution: a
                .preferred_during_scheduling_ignored_during_execution
                .as_ref()
                .map(|terms| terms.iter().map(weighted).collect()),
            required_during_scheduling_ignored_during_execution: a
                .required_during_scheduling_ignored_during_execution
                .as_ref()
                .map(|terms| terms.iter().map(term).collect()),
        }),
        pod_anti_affinity: affinity
            .pod_anti_affinity
            .as_ref()
            .map(|a| PodAntiAffinity {
                preferred_during_scheduling_ignored_during_execution: a
                    .preferred_during_scheduling_ignored_during_execution
                    .as_ref()
                    .map(|terms| terms.iter().map(weighted).collect()),
                required_during_scheduling_ignored_during_execution: a
                    .required_during_scheduling_ignored_during_execution
                    .as_ref()
                    .map(|terms| terms.iter().map(term).collect()),
            }),
    }
}

/// Topology spread constraints counting only this virtual namespace's pods (single-namespace
/// mode adds namespace and managed-by; multi-namespace mode only rewrites keys).
pub fn host_topology_spread_constraints(
    names: &Names,
    constraints: &[TopologySpreadConstraint],
    virtual_namespace: &str,
) -> Vec<TopologySpreadConstraint> {
    constraints
        .iter()
        .map(|c| {
            let label_selector = match names.mode() {
                NamespaceMode::Single => host_pod_selector_in_namespace(
                    names,
                    c.label_selector.as_ref(),
                    virtual_namespace,
                ),
                NamespaceMode::Multi => host_label_selector(names, c.label_selector.as_ref()),
            };
            TopologySpreadConstraint {
                label_selector,
                match_label_keys: host_label_keys(names, &c.match_label_keys),
                ..c.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
