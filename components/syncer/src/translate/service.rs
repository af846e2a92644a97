//! Services: virtual -> host, and the host's cluster IPs back to the virtual Service.

use k8s_openapi::api::core::v1::{Service, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::metadata::{host_metadata, host_selector_map};
use crate::names::Names;

/// Annotations never copied to host Services (Rancher writes host-specific endpoints there).
pub const EXCLUDED_SERVICE_ANNOTATIONS: &[&str] = &["field.cattle.io/publicEndpoints"];

/// The host Service of a virtual Service: selector rewritten to the host pods of the same
/// virtual namespace, ports and type kept, node ports and cluster IPs left for the host to
/// assign (`None` stays headless), IP families left to the host.
pub fn host_service(
    names: &Names,
    virtual_service: &Service,
    owner: Option<&OwnerReference>,
) -> Service {
    let namespace = virtual_service
        .metadata
        .namespace
        .as_deref()
        .unwrap_or_default();
    let spec = virtual_service.spec.clone().unwrap_or_default();
    let headless = spec.cluster_ip.as_deref() == Some("None");
    Service {
        metadata: host_metadata(
            names,
            &virtual_service.metadata,
            "v1",
            "Service",
            owner,
            EXCLUDED_SERVICE_ANNOTATIONS,
        ),
        spec: Some(ServiceSpec {
            selector: host_selector_map(names, spec.selector.as_ref(), namespace),
            cluster_ip: headless.then(|| "None".to_owned()),
            cluster_ips: None,
            ip_families: None,
            ip_family_policy: None,
            health_check_node_port: None,
            ports: spec.ports.map(|ports| {
                ports
                    .into_iter()
                    .map(|mut port| {
                        port.node_port = None;
                        port
                    })
                    .collect()
            }),
            ..spec
        }),
        status: None,
    }
}

/// The cluster IPs the virtual Service must show: the host Service's (`clusterIP`,
/// `clusterIPs`), so virtual DNS and env vars point at addresses that route. `None` when the
/// host has not assigned one yet.
pub fn virtual_cluster_ips(host_service: &Service) -> Option<(String, Vec<String>)> {
    let spec = host_service.spec.as_ref()?;
    let cluster_ip = spec.cluster_ip.clone().filter(|ip| !ip.is_empty())?;
    let cluster_ips = spec
        .cluster_ips
        .clone()
        .filter(|ips| !ips.is_empty())
        .unwrap_or_else(|| vec![cluster_ip.clone()]);
    Some((cluster_ip, cluster_ips))
}

#[cfg(test)]
mod tests;
