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

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use k8s_openapi::api::core::v1::{Endpoints, ServiceSpec};

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

#[cfg(test)]
mod tests {
    use super::*;

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
