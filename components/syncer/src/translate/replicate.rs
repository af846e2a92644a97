//! Replicated Services (`networking.replicateServices`): the virtual Service that stands for a
//! host Service (`fromHost`) and the host Service that stands for a virtual one (`toHost`).
//!
//! Both sides carry vCluster's marker label `vcluster.loft.sh/controlled-by: vcluster`, so the
//! ordinary Service sync leaves them alone and a restarted syncer finds the ones no mapping
//! wants any more. Unlike vCluster, a `fromHost` replica is not a headless Service with the host
//! address in its Endpoints (loft-sh/vcluster#1926: `kubectl get svc` shows `None`): it is born
//! with the host Service's own cluster IP, so the virtual cluster shows, and its DNS answers,
//! the address that routes.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Service, ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::metadata::host_selector_map;
use crate::names::{Names, annotations, labels};

/// Value of `vcluster.loft.sh/controlled-by` on replicated Services (vCluster's).
pub const CONTROLLED_BY_VALUE: &str = "vcluster";

/// Whether an object is a replica this syncer keeps (and the ordinary sync must skip).
pub fn is_replicated(meta: &ObjectMeta) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(labels::CONTROLLED_BY))
        .is_some_and(|v| v == CONTROLLED_BY_VALUE)
}

/// Whether a host replica was made by this virtual cluster: vCluster's marker plus our
/// `managed-by` value, which names the host namespace too (two virtual clusters of one name in
/// different host namespaces may replicate into the same namespace).
pub fn is_own_host_replica(names: &Names, meta: &ObjectMeta) -> bool {
    is_replicated(meta)
        && meta
            .labels
            .as_ref()
            .and_then(|l| l.get(labels::MANAGED_BY))
            .is_some_and(|v| *v == names.marker_label_cluster())
}

/// Label selector of this virtual cluster's host replicas.
pub fn host_replica_selector(names: &Names) -> String {
    format!(
        "{}={CONTROLLED_BY_VALUE},{}={}",
        labels::CONTROLLED_BY,
        labels::MANAGED_BY,
        names.marker_label_cluster()
    )
}

fn is_headless(spec: &ServiceSpec) -> bool {
    spec.cluster_ip.as_deref() == Some("None")
}

fn is_external_name(spec: &ServiceSpec) -> bool {
    spec.type_.as_deref() == Some("ExternalName")
}

/// A port as the API server stores it: protocol TCP and targetPort = port when unset, no node
/// port (replicas never get one).
fn normalized_port(port: &ServicePort) -> ServicePort {
    ServicePort {
        protocol: Some(port.protocol.clone().unwrap_or_else(|| "TCP".into())),
        target_port: Some(
            port.target_port
                .clone()
                .unwrap_or(IntOrString::Int(port.port)),
        ),
        node_port: None,
        ..port.clone()
    }
}

fn normalized_ports(spec: &ServiceSpec) -> Vec<ServicePort> {
    spec.ports.iter().flatten().map(normalized_port).collect()
}

/// fromHost: the virtual Service `namespace/name` standing for host Service `host`. It has the
/// host's cluster IP(s) and IP families (headless stays headless, ExternalName keeps its
/// name), the host's ports with `targetPort` = `port` (the address it points at is the host
/// Service's, which listens on `port`) and no node ports, type ClusterIP, no selector.
/// `None` while the host has not assigned a cluster IP.
pub fn virtual_replica(host: &Service, namespace: &str, name: &str) -> Option<Service> {
    let host_spec = host.spec.clone().unwrap_or_default();
    let host_meta = &host.metadata;
    let mut spec = ServiceSpec {
        ports: host_spec.ports.as_ref().map(|ports| {
            ports
                .iter()
                .map(|p| ServicePort {
                    name: p.name.clone(),
                    port: p.port,
                    protocol: Some(p.protocol.clone().unwrap_or_else(|| "TCP".into())),
                    app_protocol: p.app_protocol.clone(),
                    target_port: Some(IntOrString::Int(p.port)),
                    node_port: None,
                })
                .collect()
        }),
        ..ServiceSpec::default()
    };
    if is_external_name(&host_spec) {
        spec.type_ = Some("ExternalName".into());
        spec.external_name = host_spec.external_name.clone();
    } else if is_headless(&host_spec) {
        spec.type_ = Some("ClusterIP".into());
        spec.cluster_ip = Some("None".into());
        spec.cluster_ips = Some(vec!["None".into()]);
    } else {
        let (ip, ips) = super::service::virtual_cluster_ips(host)?;
        spec.type_ = Some("ClusterIP".into());
        spec.cluster_ip = Some(ip);
        spec.cluster_ips = Some(ips);
        spec.ip_families = host_spec.ip_families.clone();
        spec.ip_family_policy = host_spec.ip_family_policy.clone();
    }
    Some(Service {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            labels: Some(BTreeMap::from([(
                labels::CONTROLLED_BY.to_owned(),
                CONTROLLED_BY_VALUE.to_owned(),
            )])),
            annotations: Some(BTreeMap::from([
                (
                    annotations::OBJECT_HOST_NAME.to_owned(),
                    host_meta.name.clone().unwrap_or_default(),
                ),
                (
                    annotations::OBJECT_HOST_NAMESPACE.to_owned(),
                    host_meta.namespace.clone().unwrap_or_default(),
                ),
            ])),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    })
}

/// fromHost: whether the virtual replica must be deleted and created again to become
/// `desired` (cluster IPs, type and headlessness can't change in place).
pub fn virtual_replica_needs_recreate(current: &Service, desired: &Service) -> bool {
    let current = current.spec.clone().unwrap_or_default();
    let desired = desired.spec.clone().unwrap_or_default();
    current.type_.as_deref().unwrap_or("ClusterIP")
        != desired.type_.as_deref().unwrap_or("ClusterIP")
        || current.cluster_ip != desired.cluster_ip
}

/// fromHost: whether the virtual replica's updatable parts (ports, selector, external name,
/// marker label) differ from `desired`.
pub fn virtual_replica_differs(current: &Service, desired: &Service) -> bool {
    let current_spec = current.spec.clone().unwrap_or_default();
    let desired_spec = desired.spec.clone().unwrap_or_default();
    normalized_ports(&current_spec) != normalized_ports(&desired_spec)
        || current_spec
            .selector
            .as_ref()
            .is_some_and(|s| !s.is_empty())
        || current_spec.external_name != desired_spec.external_name
        || !is_replicated(&current.metadata)
}

/// Host endpoint addresses as the virtual cluster may show them: no references to host pods
/// or nodes (they don't exist there), hostnames kept (the DNS names endpoints after them).
fn virtual_addresses(list: &Option<Vec<EndpointAddress>>) -> Option<Vec<EndpointAddress>> {
    let out: Vec<EndpointAddress> = list
        .iter()
        .flatten()
        .map(|a| EndpointAddress {
            ip: a.ip.clone(),
            hostname: a.hostname.clone(),
            node_name: None,
            target_ref: None,
        })
        .collect();
    (!out.is_empty()).then_some(out)
}

/// fromHost: the virtual replica's Endpoints: for a host Service with a cluster IP, that IP
/// with the Service's ports (what vCluster writes); for a headless one, the host Endpoints'
/// addresses (so the DNS answers the host pods); none for ExternalName.
pub fn virtual_replica_endpoints(
    host: &Service,
    host_endpoints: Option<&Endpoints>,
    namespace: &str,
    name: &str,
) -> Option<Endpoints> {
    let spec = host.spec.clone().unwrap_or_default();
    if is_external_name(&spec) {
        return None;
    }
    let subsets: Vec<EndpointSubset> = if is_headless(&spec) {
        host_endpoints
            .and_then(|e| e.subsets.clone())
            .into_iter()
            .flatten()
            .filter_map(|s| {
                let addresses = virtual_addresses(&s.addresses);
                let not_ready_addresses = virtual_addresses(&s.not_ready_addresses);
                (addresses.is_some() || not_ready_addresses.is_some()).then(|| EndpointSubset {
                    addresses,
                    not_ready_addresses,
                    ports: s.ports.clone(),
                })
            })
            .collect()
    } else {
        let (ip, _) = super::service::virtual_cluster_ips(host)?;
        let ports: Vec<EndpointPort> = spec
            .ports
            .iter()
            .flatten()
            .map(|p| EndpointPort {
                name: p.name.clone(),
                port: p.port,
                protocol: Some(p.protocol.clone().unwrap_or_else(|| "TCP".into())),
                app_protocol: p.app_protocol.clone(),
            })
            .collect();
        vec![EndpointSubset {
            addresses: Some(vec![EndpointAddress {
                ip,
                ..EndpointAddress::default()
            }]),
            not_ready_addresses: None,
            ports: (!ports.is_empty()).then_some(ports),
        }]
    };
    Some(Endpoints {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            labels: Some(BTreeMap::from([(
                labels::CONTROLLED_BY.to_owned(),
                CONTROLLED_BY_VALUE.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        subsets: (!subsets.is_empty()).then_some(subsets),
    })
}

/// toHost: the host Service `host_namespace/host_name` standing for a virtual Service: its
/// ports (no node ports), its selector rewritten to the host pods of its namespace (as the
/// ordinary host copy's), headless when it is, type ClusterIP. Owned by the virtual cluster's
/// host Service when they share a namespace (an owner in another namespace would get it
/// garbage-collected at once).
pub fn host_replica(
    names: &Names,
    virtual_service: &Service,
    host_namespace: &str,
    host_name: &str,
    owner: Option<&OwnerReference>,
) -> Service {
    let virtual_namespace = virtual_service
        .metadata
        .namespace
        .as_deref()
        .unwrap_or_default();
    let spec = virtual_service.spec.clone().unwrap_or_default();
    let owner = owner.filter(|_| host_namespace == names.own_host_namespace());
    Service {
        metadata: ObjectMeta {
            name: Some(host_name.to_owned()),
            namespace: Some(host_namespace.to_owned()),
            labels: Some(BTreeMap::from([
                (
                    labels::CONTROLLED_BY.to_owned(),
                    CONTROLLED_BY_VALUE.to_owned(),
                ),
                (labels::MANAGED_BY.to_owned(), names.marker_label_cluster()),
            ])),
            annotations: Some(BTreeMap::from([
                (
                    annotations::OBJECT_NAME.to_owned(),
                    virtual_service.metadata.name.clone().unwrap_or_default(),
                ),
                (
                    annotations::OBJECT_NAMESPACE.to_owned(),
                    virtual_namespace.to_owned(),
                ),
            ])),
            owner_references: owner.map(|o| vec![o.clone()]),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            cluster_ip: is_headless(&spec).then(|| "None".to_owned()),
            selector: host_selector_map(names, spec.selector.as_ref(), virtual_namespace),
            ports: spec.ports.as_ref().map(|ports| {
                ports
                    .iter()
                    .map(|p| ServicePort {
                        node_port: None,
                        ..p.clone()
                    })
                    .collect()
            }),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// toHost: whether the host replica must be deleted and created again (headlessness can't
/// change in place).
pub fn host_replica_needs_recreate(current: &Service, desired: &Service) -> bool {
    let headless = |s: &Service| s.spec.as_ref().is_some_and(is_headless);
    headless(current) != headless(desired)
}

/// toHost: whether the host replica's ports or selector differ from `desired`.
pub fn host_replica_differs(current: &Service, desired: &Service) -> bool {
    let current = current.spec.clone().unwrap_or_default();
    let desired = desired.spec.clone().unwrap_or_default();
    let selector = |s: &ServiceSpec| s.selector.clone().filter(|m| !m.is_empty());
    normalized_ports(&current) != normalized_ports(&desired)
        || selector(&current) != selector(&desired)
}

/// toHost: `desired` as an update of `current`: what the host assigned (cluster IPs, IP
/// families) and the object's identity kept.
pub fn host_replica_update(current: &Service, desired: &Service) -> Service {
    let mut next = desired.clone();
    next.metadata.resource_version = current.metadata.resource_version.clone();
    let current_spec = current.spec.clone().unwrap_or_default();
    if let Some(spec) = next.spec.as_mut() {
        spec.cluster_ip = current_spec.cluster_ip;
        spec.cluster_ips = current_spec.cluster_ips;
        spec.ip_families = current_spec.ip_families;
        spec.ip_family_policy = current_spec.ip_family_policy;
        spec.session_affinity = current_spec.session_affinity;
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::NamespaceMode;

    fn port(name: &str, port: i32, target: i32, node_port: Option<i32>) -> ServicePort {
        ServicePort {
            name: Some(name.into()),
            port,
            protocol: Some("TCP".into()),
            target_port: Some(IntOrString::Int(target)),
            node_port,
            app_protocol: None,
        }
    }

    fn host_service(spec: ServiceSpec) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some("db".into()),
                namespace: Some("infra".into()),
                uid: Some("host-uid".into()),
                ..ObjectMeta::default()
            },
            spec: Some(spec),
            status: None,
        }
    }

    fn marker() -> BTreeMap<String, String> {
        BTreeMap::from([(
            "vcluster.loft.sh/controlled-by".to_owned(),
            "vcluster".to_owned(),
        )])
    }

    #[test]
    fn from_host_replicas_carry_the_host_cluster_ip() {
        let host = host_service(ServiceSpec {
            type_: Some("NodePort".into()),
            cluster_ip: Some("10.96.5.5".into()),
            cluster_ips: Some(vec!["10.96.5.5".into()]),
            ip_families: Some(vec!["IPv4".into()]),
            ip_family_policy: Some("SingleStack".into()),
            selector: Some(BTreeMap::from([("app".into(), "db".into())])),
            ports: Some(vec![port("pg", 5432, 15432, Some(30432))]),
            ..ServiceSpec::default()
        });
        let replica = virtual_replica(&host, "apps", "database").unwrap();
        assert_eq!(
            replica,
            Service {
                metadata: ObjectMeta {
                    name: Some("database".into()),
                    namespace: Some("apps".into()),
                    labels: Some(marker()),
                    annotations: Some(BTreeMap::from([
                        ("vcluster.loft.sh/object-host-name".into(), "db".into()),
                        (
                            "vcluster.loft.sh/object-host-namespace".into(),
                            "infra".into()
                        ),
                    ])),
                    ..ObjectMeta::default()
                },
                spec: Some(ServiceSpec {
                    type_: Some("ClusterIP".into()),
                    cluster_ip: Some("10.96.5.5".into()),
                    cluster_ips: Some(vec!["10.96.5.5".into()]),
                    ip_families: Some(vec!["IPv4".into()]),
                    ip_family_policy: Some("SingleStack".into()),
                    ports: Some(vec![port("pg", 5432, 5432, None)]),
                    ..ServiceSpec::default()
                }),
                status: None,
            }
        );
        let endpoints = virtual_replica_endpoints(&host, None, "apps", "database").unwrap();
        assert_eq!(
            endpoints,
            Endpoints {
                metadata: ObjectMeta {
                    name: Some("database".into()),
                    namespace: Some("apps".into()),
                    labels: Some(marker()),
                    ..ObjectMeta::default()
                },
                subsets: Some(vec![EndpointSubset {
                    addresses: Some(vec![EndpointAddress {
                        ip: "10.96.5.5".into(),
                        ..EndpointAddress::default()
                    }]),
                    not_ready_addresses: None,
                    ports: Some(vec![EndpointPort {
                        name: Some("pg".into()),
                        port: 5432,
                        protocol: Some("TCP".into()),
                        app_protocol: None,
                    }]),
                }]),
            }
        );
        // Not yet assigned: nothing to show.
        let pending = host_service(ServiceSpec::default());
        assert_eq!(virtual_replica(&pending, "apps", "database"), None);
        assert_eq!(
            virtual_replica_endpoints(&pending, None, "apps", "database"),
            None
        );
    }

    #[test]
    fn headless_and_external_name_host_services() {
        let headless = host_service(ServiceSpec {
            cluster_ip: Some("None".into()),
            ports: Some(vec![port("http", 80, 8080, None)]),
            ..ServiceSpec::default()
        });
        let replica = virtual_replica(&headless, "apps", "web").unwrap();
        let spec = replica.spec.unwrap();
        assert_eq!(spec.cluster_ip.as_deref(), Some("None"));
        assert_eq!(spec.cluster_ips, Some(vec!["None".to_owned()]));
        let host_endpoints = Endpoints {
            subsets: Some(vec![
                EndpointSubset {
                    addresses: Some(vec![EndpointAddress {
                        ip: "10.244.0.7".into(),
                        hostname: Some("web-0".into()),
                        node_name: Some("host-node".into()),
                        target_ref: Some(Default::default()),
                    }]),
                    not_ready_addresses: Some(vec![EndpointAddress {
                        ip: "10.244.1.8".into(),
                        ..EndpointAddress::default()
                    }]),
                    ports: Some(vec![EndpointPort {
                        name: Some("http".into()),
                        port: 8080,
                        protocol: Some("TCP".into()),
                        app_protocol: None,
                    }]),
                },
                EndpointSubset::default(),
            ]),
            ..Endpoints::default()
        };
        let endpoints =
            virtual_replica_endpoints(&headless, Some(&host_endpoints), "apps", "web").unwrap();
        assert_eq!(
            endpoints.subsets,
            Some(vec![EndpointSubset {
                addresses: Some(vec![EndpointAddress {
                    ip: "10.244.0.7".into(),
                    hostname: Some("web-0".into()),
                    node_name: None,
                    target_ref: None,
                }]),
                not_ready_addresses: Some(vec![EndpointAddress {
                    ip: "10.244.1.8".into(),
                    ..EndpointAddress::default()
                }]),
                ports: Some(vec![EndpointPort {
                    name: Some("http".into()),
                    port: 8080,
                    protocol: Some("TCP".into()),
                    app_protocol: None,
                }]),
            }])
        );
        let empty = virtual_replica_endpoints(&headless, None, "apps", "web").unwrap();
        assert_eq!(empty.subsets, None);

        let external = host_service(ServiceSpec {
            type_: Some("ExternalName".into()),
            external_name: Some("db.example.internal".into()),
            ..ServiceSpec::default()
        });
        let spec = virtual_replica(&external, "apps", "ext")
            .unwrap()
            .spec
            .unwrap();
        assert_eq!(spec.type_.as_deref(), Some("ExternalName"));
        assert_eq!(spec.external_name.as_deref(), Some("db.example.internal"));
        assert_eq!(spec.cluster_ip, None);
        assert_eq!(
            virtual_replica_endpoints(&external, None, "apps", "ext"),
            None
        );
    }

    #[test]
    fn from_host_changes_update_or_recreate() {
        let host = |ip: &str, ports| {
            host_service(ServiceSpec {
                cluster_ip: Some(ip.into()),
                ports: Some(ports),
                ..ServiceSpec::default()
            })
        };
        let current =
            virtual_replica(&host("10.96.5.5", vec![port("a", 80, 80, None)]), "n", "s").unwrap();
        // As the API server stores it: defaults filled in.
        let mut stored = current.clone();
        stored.spec.as_mut().unwrap().session_affinity = Some("None".into());
        assert!(!virtual_replica_differs(&stored, &current));
        assert!(!virtual_replica_needs_recreate(&stored, &current));

        let more_ports = virtual_replica(
            &host(
                "10.96.5.5",
                vec![port("a", 80, 80, None), port("b", 81, 9000, None)],
            ),
            "n",
            "s",
        )
        .unwrap();
        assert!(virtual_replica_differs(&stored, &more_ports));
        assert!(!virtual_replica_needs_recreate(&stored, &more_ports));

        let moved =
            virtual_replica(&host("10.96.6.6", vec![port("a", 80, 80, None)]), "n", "s").unwrap();
        assert!(virtual_replica_needs_recreate(&stored, &moved));

        // A user's Service of that name (no marker) is not ours to update.
        let mut foreign = stored.clone();
        foreign.metadata.labels = None;
        assert!(!is_replicated(&foreign.metadata));
        assert!(virtual_replica_differs(&foreign, &current));
    }

    #[test]
    fn to_host_replicas_select_the_host_pods() {
        let names = Names::new("vc", "vc-host", NamespaceMode::Single);
        let virtual_service = Service {
            metadata: ObjectMeta {
                name: Some("api".into()),
                namespace: Some("team".into()),
                labels: Some(BTreeMap::from([("tier".into(), "x".into())])),
                ..ObjectMeta::default()
            },
            spec: Some(ServiceSpec {
                type_: Some("NodePort".into()),
                cluster_ip: Some("10.96.1.1".into()),
                selector: Some(BTreeMap::from([
                    ("app".into(), "api".into()),
                    ("release".into(), "r1".into()),
                ])),
                ports: Some(vec![port("http", 80, 8080, Some(30080))]),
                ..ServiceSpec::default()
            }),
            status: None,
        };
        let owner = OwnerReference {
            api_version: "v1".into(),
            kind: "Service".into(),
            name: "vc".into(),
            uid: "own-uid".into(),
            ..OwnerReference::default()
        };
        let replica = host_replica(
            &names,
            &virtual_service,
            "vc-host",
            "api-export",
            Some(&owner),
        );
        let release_key = names.host_label_key("release");
        assert_ne!(release_key, "release");
        assert_eq!(
            replica,
            Service {
                metadata: ObjectMeta {
                    name: Some("api-export".into()),
                    namespace: Some("vc-host".into()),
                    labels: Some(BTreeMap::from([
                        ("vcluster.loft.sh/controlled-by".into(), "vcluster".into()),
                        ("vcluster.loft.sh/managed-by".into(), "vc-host-x-vc".into()),
                    ])),
                    annotations: Some(BTreeMap::from([
                        ("vcluster.loft.sh/object-name".into(), "api".into()),
                        ("vcluster.loft.sh/object-namespace".into(), "team".into()),
                    ])),
                    owner_references: Some(vec![owner.clone()]),
                    ..ObjectMeta::default()
                },
                spec: Some(ServiceSpec {
                    type_: Some("ClusterIP".into()),
                    selector: Some(BTreeMap::from([
                        ("app".into(), "api".into()),
                        (release_key, "r1".into()),
                        ("vcluster.loft.sh/managed-by".into(), "vc".into()),
                        ("vcluster.loft.sh/namespace".into(), "team".into()),
                    ])),
                    ports: Some(vec![port("http", 80, 8080, None)]),
                    ..ServiceSpec::default()
                }),
                status: None,
            }
        );
        assert!(is_own_host_replica(&names, &replica.metadata));
        let other = Names::new("vc", "elsewhere", NamespaceMode::Single);
        assert!(!is_own_host_replica(&other, &replica.metadata));
        assert_eq!(
            host_replica_selector(&names),
            "vcluster.loft.sh/controlled-by=vcluster,vcluster.loft.sh/managed-by=vc-host-x-vc"
        );

        // In another namespace: no owner there.
        let away = host_replica(&names, &virtual_service, "shared", "api", Some(&owner));
        assert_eq!(away.metadata.owner_references, None);

        // Headless stays headless; a change of it needs a new Service.
        let mut headless = virtual_service.clone();
        headless.spec.as_mut().unwrap().cluster_ip = Some("None".into());
        let headless_replica = host_replica(&names, &headless, "vc-host", "api-export", None);
        assert_eq!(
            headless_replica
                .spec
                .as_ref()
                .unwrap()
                .cluster_ip
                .as_deref(),
            Some("None")
        );
        assert!(host_replica_needs_recreate(&replica, &headless_replica));
    }

    #[test]
    fn to_host_updates_keep_what_the_host_assigned() {
        let names = Names::new("vc", "vc-host", NamespaceMode::Single);
        let virtual_service = |target: i32, app: &str| Service {
            metadata: ObjectMeta {
                name: Some("api".into()),
                namespace: Some("team".into()),
                ..ObjectMeta::default()
            },
            spec: Some(ServiceSpec {
                selector: Some(BTreeMap::from([("app".into(), app.into())])),
                ports: Some(vec![ServicePort {
                    port: 80,
                    target_port: Some(IntOrString::Int(target)),
                    ..ServicePort::default()
                }]),
                ..ServiceSpec::default()
            }),
            status: None,
        };
        let desired = host_replica(&names, &virtual_service(8080, "api"), "vc-host", "x", None);
        let mut stored = desired.clone();
        stored.metadata.resource_version = Some("7".into());
        let spec = stored.spec.as_mut().unwrap();
        spec.cluster_ip = Some("10.96.3.3".into());
        spec.cluster_ips = Some(vec!["10.96.3.3".into()]);
        spec.session_affinity = Some("None".into());
        spec.ports.as_mut().unwrap()[0].protocol = Some("TCP".into());
        assert!(!host_replica_differs(&stored, &desired));

        let retargeted = host_replica(&names, &virtual_service(9090, "api"), "vc-host", "x", None);
        assert!(host_replica_differs(&stored, &retargeted));
        let reselected = host_replica(&names, &virtual_service(8080, "api2"), "vc-host", "x", None);
        assert!(host_replica_differs(&stored, &reselected));
        let update = host_replica_update(&stored, &reselected);
        let spec = update.spec.unwrap();
        assert_eq!(update.metadata.resource_version.as_deref(), Some("7"));
        assert_eq!(spec.cluster_ip.as_deref(), Some("10.96.3.3"));
        assert_eq!(spec.selector.unwrap()["app"], "api2");
    }
}
