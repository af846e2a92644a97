//! The objects DNS answers from, reduced to what names need, kept by key as watches report them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Endpoints, Namespace, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

/// The label that ties an EndpointSlice to its Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// `namespace/name` of an object.
pub type Key = (String, String);

/// What DNS needs of a Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceInfo {
    pub kind: ServiceKind,
    /// At least one entry: a Service without ports has one port of "no number" (SRV skips it,
    /// address records still count it), as CoreDNS models it.
    pub ports: Vec<PortInfo>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceKind {
    /// `spec.clusterIPs` (or `spec.clusterIP`); unparsable entries (not yet allocated) dropped.
    ClusterIp(Vec<IpAddr>),
    /// `clusterIP: None`: the names answer with endpoint addresses.
    Headless,
    /// `type: ExternalName`: a CNAME to `spec.externalName`.
    ExternalName(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortInfo {
    pub name: String,
    /// As the API spells it: TCP, UDP, SCTP (matched case-insensitively).
    pub protocol: String,
    /// None for a port without a number (a Service or slice with no ports).
    pub port: Option<u16>,
}

/// One EndpointSlice, or one subset of an Endpoints object: ready addresses and their ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointSet {
    /// The Service these endpoints belong to.
    pub service: String,
    pub ports: Vec<PortInfo>,
    pub addresses: Vec<EndpointAddress>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointAddress {
    pub ip: IpAddr,
    /// The DNS label of this endpoint: its hostname, or the dashed form of its IP.
    pub label: String,
}

/// What DNS needs of a Pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodInfo {
    pub ip: Option<IpAddr>,
    /// Not terminating and not finished: the pods CoreDNS keeps in its pod index.
    pub active: bool,
}

/// The cluster as the watches last reported it.
#[derive(Clone, Debug, Default)]
pub struct ClusterState {
    pub namespaces: BTreeSet<String>,
    // Shared with the snapshots built from this state, so a rebuild copies pointers.
    pub services: BTreeMap<Key, Arc<ServiceInfo>>,
    /// EndpointSlices by (namespace, slice name).
    pub slices: BTreeMap<Key, Arc<EndpointSet>>,
    /// Endpoints by (namespace, name); used for a Service only when no slice names it.
    pub endpoints: BTreeMap<Key, Vec<Arc<EndpointSet>>>,
    pub pods: BTreeMap<Key, PodInfo>,
    /// Unix seconds of the last change: the SOA serial, as CoreDNS reports it.
    pub modified: u32,
}

fn key_of(meta: &ObjectMeta) -> Key {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

impl ClusterState {
    pub fn apply_namespace(&mut self, ns: &Namespace) {
        if let Some(name) = &ns.metadata.name {
            self.namespaces.insert(name.clone());
        }
    }

    pub fn delete_namespace(&mut self, name: &str) {
        self.namespaces.remove(name);
    }

    pub fn apply_service(&mut self, svc: &Service) {
        self.services
            .insert(key_of(&svc.metadata), Arc::new(service_info(svc)));
    }

    pub fn delete_service(&mut self, namespace: &str, name: &str) {
        self.services
            .remove(&(namespace.to_string(), name.to_string()));
    }

    pub fn apply_slice(&mut self, slice: &EndpointSlice) {
        let key = key_of(&slice.metadata);
        match slice_set(slice) {
            Some(set) => self.slices.insert(key, Arc::new(set)),
            None => self.slices.remove(&key),
        };
    }

    pub fn delete_slice(&mut self, namespace: &str, name: &str) {
        self.slices
            .remove(&(namespace.to_string(), name.to_string()));
    }

    pub fn apply_endpoints(&mut self, ep: &Endpoints) {
        let key = key_of(&ep.metadata);
        let sets = endpoints_sets(&key.1, ep)
            .into_iter()
            .map(Arc::new)
            .collect();
        self.endpoints.insert(key, sets);
    }

    pub fn delete_endpoints(&mut self, namespace: &str, name: &str) {
        self.endpoints
            .remove(&(namespace.to_string(), name.to_string()));
    }

    /// Records the pod; false when what DNS knows of it did not change (most pod updates are
    /// status changes DNS does not answer from).
    pub fn apply_pod(&mut self, pod: &WatchedPod) -> bool {
        let info = pod.info();
        let key = key_of(&pod.metadata);
        if self.pods.get(&key) == Some(&info) {
            return false;
        }
        self.pods.insert(key, info);
        true
    }

    pub fn delete_pod(&mut self, namespace: &str, name: &str) -> bool {
        self.pods
            .remove(&(namespace.to_string(), name.to_string()))
            .is_some()
    }
}

pub fn service_info(svc: &Service) -> ServiceInfo {
    let spec = svc.spec.clone().unwrap_or_default();
    let kind = if spec.type_.as_deref() == Some("ExternalName") {
        ServiceKind::ExternalName(spec.external_name.clone().unwrap_or_default())
    } else {
        let ips = match &spec.cluster_ips {
            Some(ips) if !ips.is_empty() => ips.clone(),
            _ => vec![spec.cluster_ip.clone().unwrap_or_default()],
        };
        if ips.first().map(String::as_str) == Some("None") {
            ServiceKind::Headless
        } else {
            ServiceKind::ClusterIp(ips.iter().filter_map(|ip| ip.parse().ok()).collect())
        }
    };
    let mut ports: Vec<PortInfo> = spec
        .ports
        .unwrap_or_default()
        .iter()
        .map(|p| PortInfo {
            name: p.name.clone().unwrap_or_default(),
            protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
            port: u16::try_from(p.port).ok(),
        })
        .collect();
    if ports.is_empty() {
        ports.push(PortInfo::none());
    }
    ServiceInfo { kind, ports }
}

impl PortInfo {
    fn none() -> PortInfo {
        PortInfo {
            name: String::new(),
            protocol: String::new(),
            port: None,
        }
    }
}

/// The DNS label of an endpoint without a hostname: its IP with `.`/`:` replaced by `-` (an
/// IPv6 address ending in `::` gets a trailing `0`, so the label does not end in `-`).
pub fn dashed_ip(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string().replace('.', "-"),
        IpAddr::V6(v6) => {
            let dashed = v6.to_string().replace(':', "-");
            if dashed.ends_with('-') {
                dashed + "0"
            } else {
                dashed
            }
        }
    }
}

fn address(ip: &str, hostname: Option<&str>) -> Option<EndpointAddress> {
    let ip: IpAddr = ip.parse().ok()?;
    let label = match hostname {
        Some(h) if !h.is_empty() => h.to_ascii_lowercase(),
        _ => dashed_ip(&ip),
    };
    Some(EndpointAddress { ip, label })
}

/// A slice's ready addresses; None when the slice names no Service.
pub fn slice_set(slice: &EndpointSlice) -> Option<EndpointSet> {
    let service = slice
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(SERVICE_NAME_LABEL))
        .filter(|s| !s.is_empty())?
        .clone();
    let mut ports: Vec<PortInfo> = slice
        .ports
        .iter()
        .flatten()
        .map(|p| PortInfo {
            name: p.name.clone().unwrap_or_default(),
            protocol: p.protocol.clone().unwrap_or_default(),
            port: p.port.and_then(|n| u16::try_from(n).ok()),
        })
        .collect();
    if ports.is_empty() {
        ports.push(PortInfo::none());
    }
    let mut addresses = Vec::new();
    for endpoint in &slice.endpoints {
        // A missing condition means ready, as the API documents.
        let ready = endpoint
            .conditions
            .as_ref()
            .and_then(|c| c.ready)
            .unwrap_or(true);
        if !ready {
            continue;
        }
        for ip in &endpoint.addresses {
            addresses.extend(address(ip, endpoint.hostname.as_deref()));
        }
    }
    Some(EndpointSet {
        service,
        ports,
        addresses,
    })
}

/// One set per subset, ready addresses only.
pub fn endpoints_sets(service: &str, ep: &Endpoints) -> Vec<EndpointSet> {
    ep.subsets
        .iter()
        .flatten()
        .map(|subset| {
            let mut ports: Vec<PortInfo> = subset
                .ports
                .iter()
                .flatten()
                .map(|p| PortInfo {
                    name: p.name.clone().unwrap_or_default(),
                    protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                    port: u16::try_from(p.port).ok(),
                })
                .collect();
            if ports.is_empty() {
                ports.push(PortInfo::none());
            }
            EndpointSet {
                service: service.to_string(),
                ports,
                addresses: subset
                    .addresses
                    .iter()
                    .flatten()
                    .filter_map(|a| address(&a.ip, a.hostname.as_deref()))
                    .collect(),
            }
        })
        .collect()
}

/// A pod as DNS reads it from a watch: name, namespace, deletion, phase and IP. DNS sees every
/// change of every pod; deserializing only these fields skips the rest of each event (spec,
/// managedFields, conditions) instead of building a whole typed `Pod`.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(from = "PodFields")]
pub struct WatchedPod {
    /// name, namespace, resourceVersion and deletionTimestamp only
    pub metadata: ObjectMeta,
    phase: Option<String>,
    ip: Option<String>,
}

#[derive(serde::Deserialize)]
struct PodFields {
    #[serde(default)]
    metadata: MetaFields,
    #[serde(default)]
    status: StatusFields,
}

#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetaFields {
    name: Option<String>,
    namespace: Option<String>,
    resource_version: Option<String>,
    deletion_timestamp: Option<Time>,
}

#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusFields {
    phase: Option<String>,
    #[serde(rename = "podIP")]
    pod_ip: Option<String>,
}

impl From<PodFields> for WatchedPod {
    fn from(f: PodFields) -> WatchedPod {
        WatchedPod {
            metadata: ObjectMeta {
                name: f.metadata.name,
                namespace: f.metadata.namespace,
                resource_version: f.metadata.resource_version,
                deletion_timestamp: f.metadata.deletion_timestamp,
                ..ObjectMeta::default()
            },
            phase: f.status.phase,
            ip: f.status.pod_ip,
        }
    }
}

impl WatchedPod {
    pub fn info(&self) -> PodInfo {
        let phase = self.phase.as_deref().unwrap_or("");
        PodInfo {
            ip: self.ip.as_deref().and_then(|ip| ip.parse().ok()),
            active: self.metadata.deletion_timestamp.is_none()
                && !matches!(phase, "Succeeded" | "Failed" | "Unknown"),
        }
    }
}

impl kube::Resource for WatchedPod {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;

    fn kind(dt: &()) -> std::borrow::Cow<'_, str> {
        Pod::kind(dt)
    }
    fn group(dt: &()) -> std::borrow::Cow<'_, str> {
        Pod::group(dt)
    }
    fn version(dt: &()) -> std::borrow::Cow<'_, str> {
        Pod::version(dt)
    }
    fn plural(dt: &()) -> std::borrow::Cow<'_, str> {
        Pod::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}
