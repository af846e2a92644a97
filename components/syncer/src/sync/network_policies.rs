//! NetworkPolicies (`sync.toHost.networkPolicies`): the virtual policy on the host with its
//! selectors rewritten for the host pods, plus the rule that keeps the virtual cluster's DNS
//! reachable from pods whose egress it restricts ([`crate::translate::network_policy`]).

use std::net::IpAddr;

use k8s_openapi::api::networking::v1::NetworkPolicy;

use super::kinds::{Synced, sync_namespaced};
use super::worker::Next;
use super::{Ctx, SyncError, cached};
use crate::translate::network_policy::{DnsAccess, host_network_policy, same_spec};

/// Where the virtual cluster's DNS listens (the virtual `kube-system/kube-dns` Endpoints);
/// `None` when DNS is off. Until the DNS has registered, the rule allows port 53 only.
pub(crate) fn dns_access(ctx: &Ctx) -> Option<DnsAccess> {
    let store = ctx.kinds.kube_dns.as_ref()?;
    let endpoints = cached(store, Some("kube-system"), "kube-dns");
    let subsets = endpoints.iter().flat_map(|e| e.subsets.iter().flatten());
    let mut ports = Vec::new();
    let mut addresses = Vec::new();
    for subset in subsets {
        for port in subset.ports.iter().flatten() {
            if !ports.contains(&port.port) {
                ports.push(port.port);
            }
        }
        for address in subset.addresses.iter().flatten() {
            if let Ok(ip) = address.ip.parse::<IpAddr>()
                && !addresses.contains(&ip)
            {
                addresses.push(ip);
            }
        }
    }
    Some(DnsAccess::syncer_pod(
        ctx.names().vcluster(),
        ports,
        addresses,
    ))
}

pub(crate) async fn sync(ctx: &Ctx, key: &str) -> Result<Next, SyncError> {
    let Some(pair) = &ctx.kinds.network_policies else {
        return Ok(Next::Done);
    };
    let names = ctx.names();
    let owner = ctx.host.owner.as_ref();
    let dns = dns_access(ctx);
    let desired = |virtual_policy: &NetworkPolicy, _: Option<&NetworkPolicy>| {
        host_network_policy(names, virtual_policy, owner, dns.as_ref())
    };
    let same = |host: &NetworkPolicy, wanted: &NetworkPolicy| {
        same_spec(
            &host.spec.clone().unwrap_or_default(),
            &wanted.spec.clone().unwrap_or_default(),
        )
    };
    Ok(
        match sync_namespaced(ctx, pair, key, desired, same).await? {
            Synced::Done(next) => next,
            Synced::Both { .. } => Next::Done,
        },
    )
}
