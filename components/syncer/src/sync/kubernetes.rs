//! `default/kubernetes`: the virtual API server as pods see it is the syncer's own host Service
//! (named after the virtual cluster). The virtual Service gets that Service's cluster IP, and
//! the virtual Endpoints its host Endpoints when it has any (a syncer running outside the host
//! has none: the virtual API server's own address stays).

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{EndpointPort, EndpointSubset, Endpoints};
use kube::api::{Api, PatchParams};
use serde_json::json;

use super::{Context, Ctx, SyncError, cached, merge_patch};

/// How often both are checked (they rarely change; a watch would be overkill).
const INTERVAL: Duration = Duration::from_secs(5);

/// Virtual subsets from the host Endpoints of the syncer's Service: its addresses, with the
/// port named `https` as the API server's is. When the host Service has a port named `https`
/// (`warren create vcluster`'s also serves DNS on 53), only that one is the API server's.
pub fn virtual_subsets(host: &Endpoints) -> Option<Vec<EndpointSubset>> {
    let subsets: Vec<EndpointSubset> = host
        .subsets
        .iter()
        .flatten()
        .filter(|s| s.addresses.as_ref().is_some_and(|a| !a.is_empty()))
        .map(|s| EndpointSubset {
            addresses: s.addresses.as_ref().map(|list| {
                list.iter()
                    .map(|a| k8s_openapi::api::core::v1::EndpointAddress {
                        ip: a.ip.clone(),
                        ..Default::default()
                    })
                    .collect()
            }),
            not_ready_addresses: None,
            ports: s.ports.as_ref().map(|ports| {
                let named_https = ports.iter().any(|p| p.name.as_deref() == Some("https"));
                ports
                    .iter()
                    .filter(|p| !named_https || p.name.as_deref() == Some("https"))
                    .map(|p| EndpointPort {
                        name: Some("https".into()),
                        port: p.port,
                        protocol: p.protocol.clone(),
                        app_protocol: None,
                    })
                    .collect()
            }),
        })
        .collect();
    (!subsets.is_empty()).then_some(subsets)
}

async fn sync_once(ctx: &Ctx) -> Result<(), SyncError> {
    let kube_ip = &ctx.host.kube_ip;
    if !kube_ip.is_empty()
        && let Some(service) = cached(&ctx.v.services, Some("default"), "kubernetes")
    {
        let ip = service.spec.as_ref().and_then(|s| s.cluster_ip.clone());
        if ip.as_deref() != Some(kube_ip.as_str()) {
            super::services::recreate_virtual(ctx, &service).await?;
        }
    }
    let own = ctx.names().kubernetes_host_service();
    let host_api: Api<Endpoints> = Api::namespaced(ctx.host.client.clone(), &own.namespace);
    let Some(host) = host_api
        .get_opt(&own.name)
        .await
        .ctx(|| format!("reading host endpoints {}", own.name))?
    else {
        return Ok(());
    };
    let Some(subsets) = virtual_subsets(&host) else {
        return Ok(());
    };
    let current = cached(&ctx.v.endpoints, Some("default"), "kubernetes");
    if current.as_ref().and_then(|c| c.subsets.clone()) != Some(subsets.clone()) {
        let api: Api<Endpoints> = ctx.virtual_api("default");
        api.patch(
            "kubernetes",
            &PatchParams::default(),
            &merge_patch(&json!({"subsets": subsets})),
        )
        .await
        .ctx(|| "updating virtual endpoints default/kubernetes".into())?;
    }
    Ok(())
}

/// Keeps `default/kubernetes` pointing at the syncer's host Service.
pub(crate) async fn run(ctx: Arc<Ctx>) {
    loop {
        if let Err(e) = sync_once(&ctx).await {
            tracing::debug!(error = %e, "default/kubernetes");
        }
        tokio::time::sleep(INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::EndpointAddress;

    use super::*;

    #[test]
    fn host_endpoints_become_the_api_servers() {
        let host = Endpoints {
            subsets: Some(vec![EndpointSubset {
                addresses: Some(vec![EndpointAddress {
                    ip: "10.244.0.9".into(),
                    ..Default::default()
                }]),
                ports: Some(vec![EndpointPort {
                    name: Some("kubernetes".into()),
                    port: 8443,
                    protocol: Some("TCP".into()),
                    app_protocol: None,
                }]),
                not_ready_addresses: None,
            }]),
            ..Endpoints::default()
        };
        let subsets = virtual_subsets(&host).unwrap();
        assert_eq!(
            subsets[0].ports.as_ref().unwrap()[0].name.as_deref(),
            Some("https")
        );
        assert_eq!(subsets[0].addresses.as_ref().unwrap()[0].ip, "10.244.0.9");
        assert_eq!(virtual_subsets(&Endpoints::default()), None);

        // `warren create vcluster`'s Service: the API port and the DNS ports
        let port = |name: &str, port: i32, protocol: &str| EndpointPort {
            name: Some(name.into()),
            port,
            protocol: Some(protocol.into()),
            app_protocol: None,
        };
        let mut host = host;
        host.subsets.as_mut().unwrap()[0].ports = Some(vec![
            port("dns", 1053, "UDP"),
            port("https", 8443, "TCP"),
            port("dns-tcp", 1053, "TCP"),
        ]);
        let subsets = virtual_subsets(&host).unwrap();
        assert_eq!(subsets[0].ports, Some(vec![port("https", 8443, "TCP")]));
    }
}
