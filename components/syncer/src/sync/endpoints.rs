//! Endpoints of selector-less Services go to the host (Services with a selector get theirs
//! from the host's endpoints controller, which sees the host pods).

use std::net::IpAddr;
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointSubset, Endpoints, ObjectReference, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, PatchParams, PostParams};
use warren_controllers::queue;

use super::worker::Next;
use super::{Context, Ctx, SyncError, cached, is_status, merge_patch, meta};
use crate::names::Names;
use crate::translate::metadata::host_metadata;
use crate::translate::replicate::is_replicated;

/// Whether a Service's Endpoints are written by hand (no selector), so they are synced.
pub fn selector_less(service: &Service) -> bool {
    let Some(spec) = &service.spec else {
        return false;
    };
    spec.type_.as_deref() != Some("ExternalName")
        && spec.selector.as_ref().is_none_or(|s| s.is_empty())
}

/// Addresses the host would refuse in Endpoints (loopback, link-local, unspecified).
fn host_accepts(ip: &str) -> bool {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            !(v4.is_loopback() || v4.is_link_local() || v4.is_unspecified() || v4.is_multicast())
        }
        Ok(IpAddr::V6(v6)) => {
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xffc0) == 0xfe80)
        }
        Err(_) => false,
    }
}

fn host_address(
    names: &Names,
    namespace: &str,
    address: &EndpointAddress,
) -> Option<EndpointAddress> {
    if !host_accepts(&address.ip) {
        return None;
    }
    let target_ref = address.target_ref.as_ref().map(|r| {
        if r.kind.as_deref() == Some("Pod") {
            let pod_namespace = r.namespace.as_deref().unwrap_or(namespace);
            let host = names.host_object(r.name.as_deref().unwrap_or_default(), pod_namespace);
            ObjectReference {
                kind: Some("Pod".into()),
                api_version: r.api_version.clone(),
                name: Some(host.name),
                namespace: Some(host.namespace),
                ..ObjectReference::default()
            }
        } else {
            ObjectReference {
                uid: None,
                resource_version: None,
                ..r.clone()
            }
        }
    });
    Some(EndpointAddress {
        ip: address.ip.clone(),
        hostname: address.hostname.clone(),
        node_name: address.node_name.clone(),
        target_ref,
    })
}

/// The host Endpoints of virtual Endpoints: renamed, pod references renamed, addresses the host
/// would refuse (loopback, link-local) left out.
pub fn host_endpoints(
    names: &Names,
    endpoints: &Endpoints,
    owner: Option<&OwnerReference>,
) -> Endpoints {
    let namespace = endpoints.metadata.namespace.as_deref().unwrap_or_default();
    let mut metadata = host_metadata(names, &endpoints.metadata, "v1", "Endpoints", owner, &[]);
    meta::mark_managed_labels(&mut metadata, endpoints.metadata.labels.as_ref());
    let subsets: Vec<EndpointSubset> = endpoints
        .subsets
        .iter()
        .flatten()
        .filter_map(|subset| {
            let convert = |list: &Option<Vec<EndpointAddress>>| {
                let out: Vec<EndpointAddress> = list
                    .iter()
                    .flatten()
                    .filter_map(|a| host_address(names, namespace, a))
                    .collect();
                (!out.is_empty()).then_some(out)
            };
            let addresses = convert(&subset.addresses);
            let not_ready_addresses = convert(&subset.not_ready_addresses);
            (addresses.is_some() || not_ready_addresses.is_some()).then(|| EndpointSubset {
                addresses,
                not_ready_addresses,
                ports: subset.ports.clone(),
            })
        })
        .collect();
    Endpoints {
        metadata,
        subsets: (!subsets.is_empty()).then_some(subsets),
    }
}

/// Syncs the Endpoints `namespace/name`.
pub(crate) async fn sync(ctx: &Ctx, key: &str) -> Result<Next, SyncError> {
    let (Some(namespace), name) = queue::split(key) else {
        return Ok(Next::Done);
    };
    if namespace == "default" && name == "kubernetes" {
        return Ok(Next::Done);
    }
    let names = ctx.names();
    let service = cached(&ctx.v.services, Some(namespace), name);
    // Replicas of host Services keep their Endpoints virtual; the host kube-dns of a syncer
    // in a pod gets its Endpoints from the host (see `kube_dns`).
    let from_host = super::kube_dns::is_kube_dns(namespace, name)
        && super::kube_dns::endpoints_from_host(ctx.host.own_selector.as_ref());
    let virtual_endpoints = cached(&ctx.v.endpoints, Some(namespace), name).filter(|_| {
        !from_host
            && service
                .as_deref()
                .is_some_and(|s| selector_less(s) && !is_replicated(&s.metadata))
    });
    let host_name = names.host_object(name, namespace);
    // Only Endpoints the syncer wrote: the host endpoints controller writes the others.
    let host_now = cached(
        &ctx.h.endpoints,
        Some(&host_name.namespace),
        &host_name.name,
    )
    .filter(|h| ctx.virtual_key(&h.metadata, "Endpoints").as_deref() == Some(key));
    let api: Api<Endpoints> = ctx.host_api();
    let Some(virtual_endpoints) = virtual_endpoints else {
        if let Some(host) = host_now {
            let params = super::delete_uid(host.metadata.uid.as_deref());
            match api.delete(&host_name.name, &params).await {
                Ok(_) => {}
                Err(e) if is_status(&e, 404) || is_status(&e, 409) => {}
                Err(e) => {
                    return Err(e).ctx(|| format!("deleting host endpoints {}", host_name.name));
                }
            }
        }
        return Ok(Next::Done);
    };
    let desired = host_endpoints(names, &virtual_endpoints, ctx.host.owner.as_ref());
    if super::kube_dns::is_kube_dns(namespace, name) {
        super::kube_dns::warn_if_unreachable(&virtual_endpoints, &desired);
    }
    let Some(host) = host_now else {
        return match api.create(&PostParams::default(), &desired).await {
            Ok(_) => Ok(Next::Done),
            Err(e) if is_status(&e, 409) => {
                // The host endpoints controller got there first (the host Service had no
                // selector yet when it looked): take it over.
                let mut updated = desired.clone();
                let current = api
                    .get(&host_name.name)
                    .await
                    .ctx(|| format!("reading host endpoints {}", host_name.name))?;
                updated.metadata.resource_version = current.metadata.resource_version;
                api.replace(&host_name.name, &PostParams::default(), &updated)
                    .await
                    .ctx(|| format!("updating host endpoints {}", host_name.name))?;
                Ok(Next::Done)
            }
            Err(e) => Err(e).ctx(|| format!("creating host endpoints for {key}")),
        };
    };
    let merged = meta::merge(
        names,
        &virtual_endpoints.metadata,
        &host.metadata,
        &desired.metadata,
    );
    if merged.virtual_changed() {
        let patch = meta::add_metadata_patch(&merged.virtual_labels, &merged.virtual_annotations);
        let virtual_api: Api<Endpoints> = ctx.virtual_api(namespace);
        virtual_api
            .patch(name, &PatchParams::default(), &merge_patch(&patch))
            .await
            .ctx(|| format!("updating metadata of virtual endpoints {key}"))?;
    }
    if host.subsets != desired.subsets || merged.host_changed(&host.metadata) {
        let mut updated = desired;
        updated.metadata.labels = Some(merged.host_labels);
        updated.metadata.annotations = Some(merged.host_annotations);
        updated.metadata.resource_version = host.metadata.resource_version.clone();
        match api
            .replace(&host_name.name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => {}
            Err(e) if is_status(&e, 409) => return Ok(Next::After(Duration::from_millis(200))),
            Err(e) => return Err(e).ctx(|| format!("updating host endpoints {}", host_name.name)),
        }
    }
    Ok(Next::Done)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{EndpointPort, ServiceSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;
    use crate::names::NamespaceMode;

    #[test]
    fn only_hand_written_endpoints_are_synced() {
        let mut service = Service {
            spec: Some(ServiceSpec::default()),
            ..Service::default()
        };
        assert!(selector_less(&service));
        service.spec.as_mut().unwrap().selector = Some([("app".to_owned(), "x".to_owned())].into());
        assert!(!selector_less(&service));
        service.spec.as_mut().unwrap().selector = None;
        service.spec.as_mut().unwrap().type_ = Some("ExternalName".into());
        assert!(!selector_less(&service));
    }

    #[test]
    fn host_endpoints_drop_what_the_host_refuses() {
        let names = Names::new("vc", "host", NamespaceMode::Single);
        let address = |ip: &str, pod: Option<&str>| EndpointAddress {
            ip: ip.into(),
            target_ref: pod.map(|p| ObjectReference {
                kind: Some("Pod".into()),
                name: Some(p.into()),
                namespace: Some("ns".into()),
                uid: Some("virtual-uid".into()),
                ..ObjectReference::default()
            }),
            ..EndpointAddress::default()
        };
        let endpoints = Endpoints {
            metadata: ObjectMeta {
                name: Some("ext".into()),
                namespace: Some("ns".into()),
                uid: Some("u".into()),
                ..ObjectMeta::default()
            },
            subsets: Some(vec![
                EndpointSubset {
                    addresses: Some(vec![
                        address("10.1.2.3", Some("p")),
                        address("127.0.0.1", None),
                    ]),
                    ports: Some(vec![EndpointPort {
                        port: 80,
                        ..EndpointPort::default()
                    }]),
                    not_ready_addresses: None,
                },
                EndpointSubset {
                    addresses: Some(vec![address("169.254.1.1", None)]),
                    ..EndpointSubset::default()
                },
            ]),
        };
        let host = host_endpoints(&names, &endpoints, None);
        assert_eq!(host.metadata.name.as_deref(), Some("ext-x-ns-x-vc"));
        let subsets = host.subsets.unwrap();
        assert_eq!(subsets.len(), 1);
        let addresses = subsets[0].addresses.clone().unwrap();
        assert_eq!(addresses.len(), 1);
        let target = addresses[0].target_ref.clone().unwrap();
        assert_eq!(target.name.as_deref(), Some("p-x-ns-x-vc"));
        assert_eq!(target.namespace.as_deref(), Some("host"));
        assert_eq!(target.uid, None);
    }
}
