//! NetworkPolicies: virtual -> host with selectors rewritten ([`host_network_policy_spec`]), so
//! the host policy isolates the same pods from the same peers, plus one egress rule vCluster
//! lacks (its issue #2452): a policy that restricts egress would otherwise cut its pods off
//! from the virtual cluster's DNS.
//!
//! warren's DNS listener runs inside the syncer, and `kube-system/kube-dns` forwards there:
//! either to the syncer's pod (labelled `app=vcluster, release=<vcluster>` in the host
//! namespace, the labels of the virtual cluster's own host Service), or, when the syncer runs
//! as a plain process, to the listener's address itself. Network policies see the packet after
//! the Service's address translation, so the rule allows the listener's own port (read from the
//! virtual kube-dns Endpoints) as well as 53, over UDP and TCP, to those pods and to the
//! listener's (non-loopback) addresses only. Tenants cannot put `release` on their pods (the key
//! is rewritten on host pods), so the rule opens nothing else.

use std::collections::BTreeMap;

use std::net::IpAddr;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::metadata::host_metadata;
use super::selectors::host_network_policy_spec;
use crate::names::{Names, labels};

/// apiVersion of the NetworkPolicies synced (virtual and host).
pub const API_VERSION: &str = "networking.k8s.io/v1";
/// The DNS port pods ask (the kube-dns Service's).
pub const DNS_PORT: i32 = 53;

/// Where the virtual cluster's DNS answers, for the egress rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsAccess {
    /// Labels of the pod the DNS listener runs in.
    pub pod_labels: BTreeMap<String, String>,
    /// Ports it listens on besides 53.
    pub ports: Vec<i32>,
    /// Addresses it listens on that host pods reach directly (a syncer outside the host's
    /// pods); loopback and unspecified addresses are left out.
    pub addresses: Vec<IpAddr>,
}

impl DnsAccess {
    /// The syncer pod of virtual cluster `vcluster` (`app=vcluster, release=<vcluster>`),
    /// listening on `listener_ports` at `listener_addresses`.
    pub fn syncer_pod(
        vcluster: &str,
        listener_ports: Vec<i32>,
        listener_addresses: Vec<IpAddr>,
    ) -> DnsAccess {
        DnsAccess {
            pod_labels: BTreeMap::from([
                ("app".to_owned(), "vcluster".to_owned()),
                (labels::RELEASE.to_owned(), vcluster.to_owned()),
            ]),
            ports: listener_ports,
            addresses: listener_addresses
                .into_iter()
                .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
                .collect(),
        }
    }

    /// The egress rule: UDP and TCP to 53 and the listener's ports, to the DNS pod.
    pub fn egress_rule(&self) -> NetworkPolicyEgressRule {
        let mut numbers = vec![DNS_PORT];
        for port in &self.ports {
            if !numbers.contains(port) {
                numbers.push(*port);
            }
        }
        let ports = numbers
            .iter()
            .flat_map(|port| {
                ["UDP", "TCP"].map(|protocol| NetworkPolicyPort {
                    port: Some(IntOrString::Int(*port)),
                    protocol: Some(protocol.to_owned()),
                    end_port: None,
                })
            })
            .collect();
        let mut to = vec![NetworkPolicyPeer {
            pod_selector: Some(LabelSelector {
                match_labels: Some(self.pod_labels.clone()),
                match_expressions: None,
            }),
            ..NetworkPolicyPeer::default()
        }];
        to.extend(self.addresses.iter().map(|ip| {
            let bits = if ip.is_ipv4() { 32 } else { 128 };
            NetworkPolicyPeer {
                ip_block: Some(IPBlock {
                    cidr: format!("{ip}/{bits}"),
                    except: None,
                }),
                ..NetworkPolicyPeer::default()
            }
        }));
        NetworkPolicyEgressRule {
            ports: Some(ports),
            to: Some(to),
        }
    }
}

/// policyTypes as the API server defaults them: `Ingress`, and `Egress` when there are
/// egress rules.
fn policy_types(spec: &NetworkPolicySpec) -> Vec<String> {
    match &spec.policy_types {
        Some(types) if !types.is_empty() => types.clone(),
        _ => {
            let mut types = vec!["Ingress".to_owned()];
            if spec.egress.as_ref().is_some_and(|rules| !rules.is_empty()) {
                types.push("Egress".to_owned());
            }
            types
        }
    }
}

/// Whether a policy restricts its pods' egress (`Egress` among its policyTypes, defaulted).
pub fn restricts_egress(policy: &NetworkPolicy) -> bool {
    policy
        .spec
        .as_ref()
        .is_some_and(|spec| policy_types(spec).iter().any(|t| t == "Egress"))
}

/// The spec with the API server's defaults (policyTypes, port protocol TCP) and without empty
/// lists and selectors, which it drops: what a stored copy of it reads back as.
fn normalized(spec: &NetworkPolicySpec) -> serde_json::Value {
    let mut spec = spec.clone();
    spec.policy_types = Some(policy_types(&spec));
    let ports = spec
        .ingress
        .iter_mut()
        .flatten()
        .flat_map(|r| r.ports.iter_mut().flatten())
        .chain(
            spec.egress
                .iter_mut()
                .flatten()
                .flat_map(|r| r.ports.iter_mut().flatten()),
        );
    for port in ports {
        port.protocol.get_or_insert_with(|| "TCP".to_owned());
    }
    super::without_empty(serde_json::to_value(spec).unwrap_or_default())
}

/// Whether two specs mean the same once stored (see [`normalized`]).
pub fn same_spec(a: &NetworkPolicySpec, b: &NetworkPolicySpec) -> bool {
    normalized(a) == normalized(b)
}

/// The host NetworkPolicy of a virtual one; with `dns`, policies that restrict egress get the
/// DNS rule appended.
pub fn host_network_policy(
    names: &Names,
    virtual_policy: &NetworkPolicy,
    owner: Option<&OwnerReference>,
    dns: Option<&DnsAccess>,
) -> NetworkPolicy {
    let namespace = virtual_policy
        .metadata
        .namespace
        .as_deref()
        .unwrap_or_default();
    let metadata = host_metadata(
        names,
        &virtual_policy.metadata,
        API_VERSION,
        "NetworkPolicy",
        owner,
        &[],
    );
    let mut spec = host_network_policy_spec(
        names,
        &virtual_policy.spec.clone().unwrap_or_default(),
        namespace,
    );
    if let Some(dns) = dns
        && restricts_egress(virtual_policy)
    {
        spec.egress
            .get_or_insert_with(Vec::new)
            .push(dns.egress_rule());
    }
    NetworkPolicy {
        metadata,
        spec: Some(spec),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::names::NamespaceMode;

    fn names() -> Names {
        Names::new("vc", "host", NamespaceMode::Single)
    }

    fn policy(spec: Value) -> NetworkPolicy {
        serde_json::from_value(json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "deny", "namespace": "shop", "uid": "u2"},
            "spec": spec,
        }))
        .unwrap()
    }

    fn dns() -> DnsAccess {
        DnsAccess::syncer_pod("vc", vec![40123], vec!["127.0.0.1".parse().unwrap()])
    }

    const DNS_RULE: &str = r#"{
        "ports": [
            {"port": 53, "protocol": "UDP"},
            {"port": 53, "protocol": "TCP"},
            {"port": 40123, "protocol": "UDP"},
            {"port": 40123, "protocol": "TCP"}
        ],
        "to": [{"podSelector": {"matchLabels": {"app": "vcluster", "release": "vc"}}}]
    }"#;

    #[test]
    fn egress_restricting_policies_still_reach_dns() {
        let virtual_policy = policy(json!({
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [
                {"podSelector": {"matchLabels": {"role": "front"}}},
                {"namespaceSelector": {"matchLabels": {"team": "a"}}},
                {"ipBlock": {"cidr": "10.0.0.0/8"}}
            ]}],
            "egress": [{"to": [{"podSelector": {}}], "ports": [{"port": 5432, "protocol": "TCP"}]}]
        }));
        let host = host_network_policy(&names(), &virtual_policy, None, Some(&dns()));
        assert_eq!(host.metadata.name.as_deref(), Some("deny-x-shop-x-vc"));
        assert_eq!(host.metadata.namespace.as_deref(), Some("host"));
        assert_eq!(
            host.metadata.annotations.as_ref().unwrap()["vcluster.loft.sh/object-kind"],
            "networking.k8s.io/v1, Kind=NetworkPolicy"
        );
        let dns_rule: Value = serde_json::from_str(DNS_RULE).unwrap();
        assert_eq!(
            serde_json::to_value(host.spec.unwrap()).unwrap(),
            json!({
                "podSelector": {"matchLabels": {
                    "app": "web",
                    "vcluster.loft.sh/managed-by": "vc",
                    "vcluster.loft.sh/namespace": "shop"
                }},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [
                    {"podSelector": {"matchLabels": {
                        "role": "front",
                        "vcluster.loft.sh/managed-by": "vc",
                        "vcluster.loft.sh/namespace": "shop"
                    }}},
                    {"podSelector": {"matchLabels": {
                        "vcluster.loft.sh/managed-by": "vc",
                        "vcluster.loft.sh/ns-label-vc-x-ca8b22d0db": "a"
                    }}},
                    {"ipBlock": {"cidr": "10.0.0.0/8"}}
                ]}],
                "egress": [
                    {"to": [{"podSelector": {"matchLabels": {
                        "vcluster.loft.sh/managed-by": "vc",
                        "vcluster.loft.sh/namespace": "shop"
                    }}}], "ports": [{"port": 5432, "protocol": "TCP"}]},
                    dns_rule
                ]
            })
        );
    }

    #[test]
    fn deny_all_egress_still_reaches_dns() {
        let virtual_policy = policy(json!({"podSelector": {}, "policyTypes": ["Egress"]}));
        let host = host_network_policy(&names(), &virtual_policy, None, Some(&dns()));
        let dns_rule: Value = serde_json::from_str(DNS_RULE).unwrap();
        assert_eq!(
            serde_json::to_value(host.spec.unwrap()).unwrap(),
            json!({
                "podSelector": {"matchLabels": {
                    "vcluster.loft.sh/managed-by": "vc",
                    "vcluster.loft.sh/namespace": "shop"
                }},
                "policyTypes": ["Egress"],
                "egress": [dns_rule]
            })
        );
    }

    #[test]
    fn ingress_only_policies_get_no_egress_rule() {
        let virtual_policy = policy(json!({"podSelector": {}, "policyTypes": ["Ingress"]}));
        let host = host_network_policy(&names(), &virtual_policy, None, Some(&dns()));
        assert_eq!(host.spec.unwrap().egress, None);
        // types unset: egress rules make it an egress policy, as the API server defaults it
        let implicit = policy(json!({"podSelector": {}, "egress": [{}]}));
        assert!(restricts_egress(&implicit));
        assert!(!restricts_egress(&policy(
            json!({"podSelector": {}, "egress": []})
        )));
        assert!(!restricts_egress(&policy(json!({"podSelector": {}}))));
        // without a DNS listener (DNS off) nothing is added
        let host = host_network_policy(&names(), &implicit, None, None);
        assert_eq!(host.spec.unwrap().egress.unwrap().len(), 1);
    }

    #[test]
    fn stored_specs_compare_equal_to_what_was_sent() {
        let sent: NetworkPolicySpec = serde_json::from_value(json!({
            "podSelector": {"matchLabels": {"a": "b"}},
            "ingress": [{"ports": [{"port": 80}], "from": []}],
            "egress": []
        }))
        .unwrap();
        let stored: NetworkPolicySpec = serde_json::from_value(json!({
            "podSelector": {"matchLabels": {"a": "b"}},
            "ingress": [{"ports": [{"port": 80, "protocol": "TCP"}]}],
            "policyTypes": ["Ingress"]
        }))
        .unwrap();
        assert!(same_spec(&sent, &stored));
        let mut other = stored.clone();
        other.policy_types = Some(vec!["Ingress".into(), "Egress".into()]);
        assert!(!same_spec(&sent, &other));
        // allow-all and deny-all egress differ
        let allow: NetworkPolicySpec =
            serde_json::from_value(json!({"policyTypes": ["Egress"], "egress": [{}]})).unwrap();
        let deny: NetworkPolicySpec =
            serde_json::from_value(json!({"policyTypes": ["Egress"], "egress": []})).unwrap();
        assert!(!same_spec(&allow, &deny));
    }

    #[test]
    fn the_listener_port_is_not_repeated() {
        let rule = DnsAccess::syncer_pod("vc", vec![53], vec![]).egress_rule();
        assert_eq!(rule.ports.unwrap().len(), 2);
    }

    #[test]
    fn a_listener_outside_the_pods_is_reached_by_address() {
        let access = DnsAccess::syncer_pod(
            "vc",
            vec![1053],
            vec![
                "10.1.2.3".parse().unwrap(),
                "0.0.0.0".parse().unwrap(),
                "fd00::5".parse().unwrap(),
            ],
        );
        assert_eq!(
            serde_json::to_value(access.egress_rule().to).unwrap(),
            json!([
                {"podSelector": {"matchLabels": {"app": "vcluster", "release": "vc"}}},
                {"ipBlock": {"cidr": "10.1.2.3/32"}},
                {"ipBlock": {"cidr": "fd00::5/128"}}
            ])
        );
    }
}
