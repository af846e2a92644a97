//! `kube-system/kube-dns` on the host: where synced pods send their DNS questions.
//!
//! The cluster DNS (warren-dns, beside the syncer) registers the virtual `kube-system/kube-dns`
//! itself: a selector-less Service (port 53, `targetPort` = the listener's port) and Endpoints
//! at the listener's address. Its host copy gets a host cluster IP like every Service, and
//! synced pods get that IP as their only nameserver (`dnsPolicy: None`, see
//! [`crate::translate::pod`]). What makes the host copy deliver to the listener:
//!
//! - the syncer runs in a pod behind the virtual cluster's own host Service, which selects it
//!   (`warren create vcluster`: labels `app=vcluster, release=<name>`): the host kube-dns
//!   selects the same pods, `targetPort` stays the listener's port, and the host's endpoints
//!   controller keeps its Endpoints on the pod (the DNS must listen on an address the pod IP
//!   reaches, e.g. `0.0.0.0:1053`);
//! - the syncer runs as a plain process (its own host Service has no selector): the host
//!   kube-dns stays selector-less and its Endpoints are synced from the virtual ones, i.e. the
//!   listener's address, which must be one the host's pods reach (`--dns-listen <ip>:<port>`;
//!   loopback addresses are refused by the host and leave it without endpoints, with a
//!   warning).
//!
//! A pod's DNS settings can't change once it exists, so a pod that would resolve through the
//! cluster DNS waits (a while, see [`wait_for_address`]) for kube-dns to have its address
//! before its host copy is created, as vCluster's pod sync does.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Endpoints, Pod, ServiceSpec};
use k8s_openapi::jiff::Timestamp;

use super::{Ctx, cached};

pub const NAMESPACE: &str = "kube-system";
pub const NAME: &str = "kube-dns";

pub fn is_kube_dns(namespace: &str, name: &str) -> bool {
    namespace == NAMESPACE && name == NAME
}

/// The host kube-dns spec: with the syncer's pods behind its own host Service
/// (`own_selector`), it selects them; otherwise it is left as translated (selector-less).
pub fn adjust_host_spec(own_selector: Option<&BTreeMap<String, String>>, spec: &mut ServiceSpec) {
    if let Some(selector) = own_selector.filter(|s| !s.is_empty()) {
        spec.selector = Some(selector.clone());
    }
}

/// Whether the host's endpoints controller writes the host kube-dns Endpoints (it selects the
/// syncer's pods), so the syncer must not.
pub fn endpoints_from_host(own_selector: Option<&BTreeMap<String, String>>) -> bool {
    own_selector.is_some_and(|s| !s.is_empty())
}

/// Warns once when the listener's addresses are all refused by the host (loopback): synced
/// pods then have a nameserver that answers nothing.
pub fn warn_if_unreachable(virtual_endpoints: &Endpoints, host_endpoints: &Endpoints) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let has_addresses = |e: &Endpoints| {
        e.subsets
            .iter()
            .flatten()
            .any(|s| s.addresses.as_ref().is_some_and(|a| !a.is_empty()))
    };
    if has_addresses(virtual_endpoints)
        && !has_addresses(host_endpoints)
        && !WARNED.swap(true, Ordering::Relaxed)
    {
        let listener: Vec<String> = virtual_endpoints
            .subsets
            .iter()
            .flatten()
            .flat_map(|s| s.addresses.iter().flatten())
            .map(|a| a.ip.clone())
            .collect();
        tracing::warn!(
            listener = %listener.join(","),
            "the cluster DNS listens where host pods can't reach it; synced pods won't resolve names (start with --dns-listen <address reachable from host pods>:<port>)"
        );
    }
}

/// How long a new pod's host copy waits for kube-dns (the DNS registers it within moments of
/// the API server starting; after this the pod goes without, rather than never).
pub const DNS_WAIT: Duration = Duration::from_secs(30);

/// Whether a pod resolves through the cluster DNS (as `translate::pod` decides: ClusterFirst
/// without host network, or ClusterFirstWithHostNet).
pub fn uses_cluster_dns(pod: &Pod) -> bool {
    let Some(spec) = &pod.spec else {
        return false;
    };
    match spec.dns_policy.as_deref().unwrap_or("ClusterFirst") {
        "ClusterFirstWithHostNet" => true,
        "ClusterFirst" => !spec.host_network.unwrap_or(false),
        _ => false,
    }
}

/// How long to wait before creating a pod's host copy: while the cluster DNS runs
/// (`dns_expected`), the pod uses it, kube-dns has no address yet and the pod is younger than
/// [`DNS_WAIT`].
pub fn wait_before_create(
    dns_expected: bool,
    dns_ip_known: bool,
    pod: &Pod,
    now: Timestamp,
) -> Option<Duration> {
    if !dns_expected || dns_ip_known || !uses_cluster_dns(pod) {
        return None;
    }
    let created = pod.metadata.creation_timestamp.as_ref()?.0;
    let age = Duration::try_from(now.duration_since(created)).unwrap_or(Duration::ZERO);
    (age < DNS_WAIT).then_some(Duration::from_millis(200))
}

/// [`wait_before_create`] for a virtual pod, from the caches.
pub(crate) fn wait_for_address(ctx: &Ctx, pod: &Pod) -> Option<Duration> {
    let known = cached(&ctx.v.services, Some(NAMESPACE), NAME)
        .and_then(|s| s.spec.as_ref()?.cluster_ip.clone())
        .is_some_and(|ip| !ip.is_empty() && ip != "None");
    let wait = wait_before_create(ctx.config().dns_enabled, known, pod, Timestamp::now());
    if wait.is_some() {
        tracing::debug!(pod = %super::object_key(&pod.metadata), "waiting for kube-system/kube-dns before creating the host pod");
    }
    wait
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::PodSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    use super::*;

    fn pod(policy: Option<&str>, host_network: bool, created: &str) -> Pod {
        Pod {
            metadata: ObjectMeta {
                creation_timestamp: Some(Time(created.parse().unwrap())),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                dns_policy: policy.map(str::to_owned),
                host_network: Some(host_network),
                ..PodSpec::default()
            }),
            status: None,
        }
    }

    #[test]
    fn new_cluster_dns_pods_wait_for_the_kube_dns_address() {
        let now: Timestamp = "2026-01-01T00:00:10Z".parse().unwrap();
        let fresh = pod(None, false, "2026-01-01T00:00:00Z");
        let wait = Some(Duration::from_millis(200));
        assert_eq!(wait_before_create(true, false, &fresh, now), wait);
        // Known address, no DNS running, or a pod that doesn't use it: no wait.
        assert_eq!(wait_before_create(true, true, &fresh, now), None);
        assert_eq!(wait_before_create(false, false, &fresh, now), None);
        let host_dns = pod(Some("Default"), false, "2026-01-01T00:00:00Z");
        assert_eq!(wait_before_create(true, false, &host_dns, now), None);
        let host_network = pod(None, true, "2026-01-01T00:00:00Z");
        assert_eq!(wait_before_create(true, false, &host_network, now), None);
        let with_host_net = pod(
            Some("ClusterFirstWithHostNet"),
            true,
            "2026-01-01T00:00:00Z",
        );
        assert_eq!(wait_before_create(true, false, &with_host_net, now), wait);
        // Not for ever.
        let old = pod(None, false, "2025-12-31T23:59:00Z");
        assert_eq!(wait_before_create(true, false, &old, now), None);
    }

    #[test]
    fn kube_dns_selects_the_syncer_pods_behind_the_own_service() {
        let own = BTreeMap::from([
            ("app".to_owned(), "vcluster".to_owned()),
            ("release".to_owned(), "vc".to_owned()),
        ]);
        let mut spec = ServiceSpec::default();
        adjust_host_spec(Some(&own), &mut spec);
        assert_eq!(spec.selector, Some(own.clone()));
        assert!(endpoints_from_host(Some(&own)));

        let mut plain = ServiceSpec::default();
        adjust_host_spec(None, &mut plain);
        adjust_host_spec(Some(&BTreeMap::new()), &mut plain);
        assert_eq!(plain.selector, None);
        assert!(!endpoints_from_host(None));
        assert!(!endpoints_from_host(Some(&BTreeMap::new())));
        assert!(is_kube_dns("kube-system", "kube-dns"));
        assert!(!is_kube_dns("default", "kube-dns"));
    }
}
