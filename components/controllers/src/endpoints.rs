//! The endpoints controller: for every Service with a selector, an Endpoints object of the same
//! name lists the selected pods' IPs — ready ones under `addresses`, the others under
//! `notReadyAddresses` (all under `addresses` with `publishNotReadyAddresses`) — with the
//! service ports resolved against each pod (`targetPort` numbers and named container ports).
//! Services without a selector are left to their users; the Endpoints of a deleted Service are
//! removed. Also the pod helpers the endpointslice controller shares.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod, Service,
    ServicePort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, PostParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, ResourceExt};

use crate::cached_pod::{self, CachedPod};
use crate::events::{self, Involved};
use crate::queue::{self, Queue};
use crate::replicaset::is_ready;
use crate::selector::Selector;
use crate::{Context, is_status};

pub const CONTROLLER: &str = "endpoint-controller";
/// v1.EndpointsLastChangeTriggerTime.
pub const TRIGGER_TIME_ANNOTATION: &str = "endpoints.kubernetes.io/last-change-trigger-time";
/// v1.EndpointsOverCapacity.
pub const OVER_CAPACITY_ANNOTATION: &str = "endpoints.kubernetes.io/over-capacity";
/// v1.IsHeadlessService.
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";
/// The label the endpoints controller marks its Endpoints with (1.33).
pub const MANAGED_BY_LABEL: &str = "endpoints.kubernetes.io/managed-by";
/// resourcelock.LeaderElectionRecordAnnotationKey: such Endpoints have no Service on purpose.
const LEADER_ANNOTATION: &str = "control-plane.alpha.kubernetes.io/leader";
/// kube's maxCapacity of addresses in one Endpoints.
pub const MAX_CAPACITY: usize = 1000;

// ---------------------------------------------------------------------------------------------
// pod and service helpers (kube's endpointutil / podutil)

/// The service's selector when it has a usable one (none or empty: users manage endpoints).
pub fn service_selector(svc: &Service) -> Option<Selector> {
    let spec = svc.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    spec.selector
        .as_ref()
        .filter(|s| !s.is_empty())
        .map(Selector::from_map)
}

/// IsServiceIPSet: a ClusterIP that is neither empty nor `None`.
pub fn has_cluster_ip(svc: &Service) -> bool {
    svc.spec
        .as_ref()
        .and_then(|s| s.cluster_ip.as_deref())
        .is_some_and(|ip| !ip.is_empty() && ip != "None")
}

fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

fn pod_ips(pod: &Pod) -> Vec<String> {
    let Some(st) = pod.status.as_ref() else {
        return Vec::new();
    };
    let ips: Vec<String> = st
        .pod_ips
        .iter()
        .flatten()
        .map(|p| p.ip.clone())
        .filter(|ip| !ip.is_empty())
        .collect();
    if ips.is_empty() {
        st.pod_ip
            .iter()
            .filter(|ip| !ip.is_empty())
            .cloned()
            .collect()
    } else {
        ips
    }
}

/// ShouldPodBeInEndpoints: not finished, has an IP, and (unless terminating pods are wanted)
/// not being deleted.
pub fn should_pod_be_in_endpoints(pod: &Pod, include_terminating: bool) -> bool {
    !is_terminal(pod)
        && !pod_ips(pod).is_empty()
        && (include_terminating || pod.metadata.deletion_timestamp.is_none())
}

/// ShouldSetHostname: the pod's hostname is published when its subdomain is the service.
pub fn should_set_hostname(pod: &Pod, svc: &Service) -> bool {
    let spec = pod.spec.as_ref();
    spec.and_then(|s| s.hostname.as_deref())
        .is_some_and(|h| !h.is_empty())
        && spec.and_then(|s| s.subdomain.as_deref()) == Some(svc.name_any().as_str())
        && pod.metadata.namespace == svc.metadata.namespace
}

fn is_ipv6(ip: &str) -> bool {
    ip.contains(':')
}

/// Whether the service is served over IPv6 (its ClusterIP's family, else its first family).
pub fn service_is_ipv6(svc: &Service) -> Option<bool> {
    let spec = svc.spec.as_ref()?;
    if has_cluster_ip(svc) {
        return spec.cluster_ip.as_deref().map(is_ipv6);
    }
    spec.ip_families
        .as_ref()
        .and_then(|f| f.first())
        .map(|f| f == "IPv6")
}

/// The pod IP of the service's family (podToEndpointAddressForService).
pub fn pod_ip_for_service(pod: &Pod, svc: &Service) -> Option<String> {
    let ips = pod_ips(pod);
    let v6 = service_is_ipv6(svc).unwrap_or_else(|| ips.first().is_some_and(|ip| is_ipv6(ip)));
    ips.into_iter().find(|ip| is_ipv6(ip) == v6)
}

/// FindPort: a numeric targetPort as it is, a named one looked up among the container ports
/// (of regular and sidecar containers) with the service port's protocol.
pub fn find_port(pod: &Pod, port: &ServicePort) -> Option<i32> {
    let protocol = port.protocol.as_deref().unwrap_or("TCP");
    match &port.target_port {
        Some(IntOrString::Int(n)) => Some(*n),
        None => Some(port.port),
        Some(IntOrString::String(name)) => {
            let spec = pod.spec.as_ref()?;
            let sidecars = spec
                .init_containers
                .iter()
                .flatten()
                .filter(|c| c.restart_policy.as_deref() == Some("Always"));
            spec.containers
                .iter()
                .chain(sidecars)
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| {
                    p.name.as_deref() == Some(name.as_str())
                        && p.protocol.as_deref().unwrap_or("TCP") == protocol
                })
                .map(|p| p.container_port)
        }
    }
}

/// The ObjectReference of a pod in endpoints and slices.
pub fn pod_reference(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        ..ObjectReference::default()
    }
}

/// The Ready condition's transition time (getPodTriggerTime).
fn pod_trigger_time(pod: &Pod) -> Option<Timestamp> {
    pod.status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
        .and_then(|c| c.last_transition_time.as_ref().map(|t| t.0))
}

/// kube's TriggerTimeTracker: the value of the last-change-trigger-time annotation is the
/// earliest change (a pod's Ready transition, the service's creation) not yet seen by an
/// earlier sync; a service seen for the first time gets its creation time.
#[derive(Default, Clone)]
pub struct TriggerTimes {
    states: Arc<Mutex<HashMap<String, TriggerState>>>,
}

#[derive(Default, Clone)]
struct TriggerState {
    pods: HashMap<String, Timestamp>,
    service: Option<Timestamp>,
}

impl TriggerTimes {
    pub fn compute(&self, key: &str, svc: &Service, pods: &[&Pod]) -> Option<Timestamp> {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        let known = states.get(key).cloned();
        let was_known = known.is_some();
        let last = known.unwrap_or_default();
        let mut min_changed: Option<Timestamp> = None;
        let mut note = |t: Timestamp| {
            min_changed = Some(min_changed.map_or(t, |m| m.min(t)));
        };
        let mut pod_times = HashMap::new();
        for p in pods {
            if let Some(t) = pod_trigger_time(p) {
                let name = p.name_any();
                if last.pods.get(&name).is_none_or(|seen| t > *seen) {
                    note(t);
                }
                pod_times.insert(name, t);
            }
        }
        let created = svc.metadata.creation_timestamp.as_ref().map(|t| t.0);
        if let Some(c) = created
            && last.service.is_none_or(|seen| c > seen)
        {
            note(c);
        }
        states.insert(
            key.to_string(),
            TriggerState {
                pods: pod_times,
                service: created,
            },
        );
        if !was_known {
            return created;
        }
        min_changed
    }

    pub fn forget(&self, key: &str) {
        self.states
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// Go's time.RFC3339Nano in UTC (trailing zeros of the fraction dropped).
pub fn rfc3339_nano(t: Timestamp) -> String {
    t.to_string()
}

// ---------------------------------------------------------------------------------------------
// subsets

/// One address with its port (None for a headless service without ports) and readiness.
struct Entry {
    address: EndpointAddress,
    port: Option<EndpointPort>,
    ready: bool,
}

fn address_key(a: &EndpointAddress) -> AddressKey {
    (
        a.ip.clone(),
        a.target_ref
            .as_ref()
            .and_then(|r| r.uid.clone())
            .unwrap_or_default(),
    )
}

fn port_key(p: &EndpointPort) -> (String, i32, String, String) {
    (
        p.name.clone().unwrap_or_default(),
        p.port,
        p.protocol.clone().unwrap_or_default(),
        p.app_protocol.clone().unwrap_or_default(),
    )
}

/// The subsets of a service's Endpoints from the selected pods (kube's syncService loop and
/// RepackSubsets): addresses with identical port sets share a subset; an address is not
/// ready on a port when any pod behind it is not; addresses sort by IP then pod UID.
/// Subsets sort by their ports (kube orders them by a hash; any order is equivalent).
pub fn compute_subsets(svc: &Service, pods: &[&Pod]) -> Vec<EndpointSubset> {
    let spec = svc.spec.clone().unwrap_or_default();
    let publish_not_ready = spec.publish_not_ready_addresses.unwrap_or(false);
    let ports = spec.ports.clone().unwrap_or_default();
    let headless = !has_cluster_ip(svc);
    let mut entries = Vec::new();
    for pod in pods {
        if !should_pod_be_in_endpoints(pod, publish_not_ready) {
            continue;
        }
        let Some(ip) = pod_ip_for_service(pod, svc) else {
            continue;
        };
        let address = EndpointAddress {
            ip,
            node_name: Some(
                pod.spec
                    .as_ref()
                    .and_then(|s| s.node_name.clone())
                    .unwrap_or_default(),
            ),
            target_ref: Some(pod_reference(pod)),
            hostname: should_set_hostname(pod, svc)
                .then(|| pod.spec.as_ref().and_then(|s| s.hostname.clone()))
                .flatten(),
        };
        let ready = publish_not_ready || is_ready(pod);
        if ports.is_empty() {
            if headless {
                entries.push(Entry {
                    address,
                    port: None,
                    ready,
                });
            }
            continue;
        }
        for sp in &ports {
            let Some(number) = find_port(pod, sp) else {
                continue;
            };
            entries.push(Entry {
                address: address.clone(),
                port: Some(EndpointPort {
                    name: sp.name.clone().filter(|n| !n.is_empty()),
                    port: number,
                    protocol: Some(sp.protocol.clone().unwrap_or_else(|| "TCP".into())),
                    app_protocol: sp.app_protocol.clone(),
                }),
                ready,
            });
        }
    }
    repack(entries)
}

fn sort_addresses(list: &mut [EndpointAddress]) {
    list.sort_by_key(address_key);
}

/// An address (IP and pod UID) and whether it is ready.
type AddressKey = (String, String);
/// The addresses behind one port, by key; not ready wins over ready.
type PortAddresses = BTreeMap<AddressKey, (EndpointAddress, bool)>;
/// Ports grouped by the (address, ready) set that serves them.
type PortGroups =
    BTreeMap<Vec<(AddressKey, bool)>, (Vec<EndpointPort>, Vec<(EndpointAddress, bool)>)>;

fn repack(entries: Vec<Entry>) -> Vec<EndpointSubset> {
    // portless (headless) entries stay one subset each, as kube does not repack them
    let mut out: Vec<EndpointSubset> = Vec::new();
    let mut portless: Vec<Entry> = Vec::new();
    let mut by_port: BTreeMap<(String, i32, String, String), (EndpointPort, PortAddresses)> =
        BTreeMap::new();
    for e in entries {
        let Some(port) = e.port else {
            portless.push(e);
            continue;
        };
        let slot = by_port
            .entry(port_key(&port))
            .or_insert_with(|| (port.clone(), BTreeMap::new()));
        let key = address_key(&e.address);
        match slot.1.get_mut(&key) {
            Some((_, ready)) => *ready = *ready && e.ready,
            None => {
                slot.1.insert(key, (e.address, e.ready));
            }
        }
    }
    portless.sort_by_key(|e| address_key(&e.address));
    for e in portless {
        let (addresses, not_ready) = if e.ready {
            (Some(vec![e.address]), None)
        } else {
            (None, Some(vec![e.address]))
        };
        out.push(EndpointSubset {
            addresses,
            not_ready_addresses: not_ready,
            ports: None,
        });
    }
    // group ports by their address sets
    let mut groups = PortGroups::new();
    for (_, (port, addrs)) in by_port {
        let set: Vec<(AddressKey, bool)> =
            addrs.iter().map(|(k, (_, r))| (k.clone(), *r)).collect();
        let g = groups
            .entry(set)
            .or_insert_with(|| (Vec::new(), addrs.into_values().collect()));
        g.0.push(port);
    }
    let mut packed: Vec<EndpointSubset> = groups
        .into_values()
        .map(|(ports, addrs)| {
            let mut ready: Vec<EndpointAddress> = Vec::new();
            let mut not_ready: Vec<EndpointAddress> = Vec::new();
            for (a, r) in addrs {
                if r {
                    ready.push(a);
                } else {
                    not_ready.push(a);
                }
            }
            sort_addresses(&mut ready);
            sort_addresses(&mut not_ready);
            EndpointSubset {
                addresses: (!ready.is_empty()).then_some(ready),
                not_ready_addresses: (!not_ready.is_empty()).then_some(not_ready),
                ports: Some(ports),
            }
        })
        .collect();
    packed.sort_by(|a, b| {
        let k = |s: &EndpointSubset| s.ports.iter().flatten().map(port_key).collect::<Vec<_>>();
        k(a).cmp(&k(b))
    });
    out.extend(packed);
    out
}

fn count_addresses(subsets: &[EndpointSubset]) -> (usize, usize) {
    subsets.iter().fold((0, 0), |(r, n), s| {
        (
            r + s.addresses.as_ref().map_or(0, Vec::len),
            n + s.not_ready_addresses.as_ref().map_or(0, Vec::len),
        )
    })
}

/// truncateEndpoints: over [`MAX_CAPACITY`] addresses, each subset keeps its proportional
/// share (rounded up), ready addresses first. Returns whether anything was cut.
pub fn truncate(subsets: &mut [EndpointSubset]) -> bool {
    let (ready, not_ready) = count_addresses(subsets);
    if ready + not_ready <= MAX_CAPACITY {
        return false;
    }
    let truncate_ready = ready > MAX_CAPACITY;
    let (max, total) = if truncate_ready {
        (MAX_CAPACITY, ready)
    } else {
        (MAX_CAPACITY - ready, not_ready)
    };
    let mut can_add = max;
    for s in subsets.iter_mut() {
        let in_subset = if truncate_ready {
            s.addresses.as_ref().map_or(0, Vec::len)
        } else {
            s.not_ready_addresses.as_ref().map_or(0, Vec::len)
        };
        let share = (in_subset * max).div_ceil(total).min(can_add);
        if truncate_ready {
            if let Some(a) = s.addresses.as_mut() {
                a.truncate(share);
                can_add -= a.len();
            }
            s.not_ready_addresses = None;
        } else if let Some(a) = s.not_ready_addresses.as_mut() {
            a.truncate(share);
            can_add -= a.len();
        }
    }
    true
}

/// Subsets equal apart from targetRef resourceVersions.
fn subsets_equal(a: &[EndpointSubset], b: &[EndpointSubset]) -> bool {
    let strip = |s: &[EndpointSubset]| -> Vec<EndpointSubset> {
        let mut s = s.to_vec();
        for sub in &mut s {
            for list in [&mut sub.addresses, &mut sub.not_ready_addresses] {
                for a in list.iter_mut().flatten() {
                    if let Some(r) = a.target_ref.as_mut() {
                        r.resource_version = None;
                    }
                }
                if list.as_ref().is_some_and(Vec::is_empty) {
                    *list = None;
                }
            }
            if sub.ports.as_ref().is_some_and(Vec::is_empty) {
                sub.ports = None;
            }
        }
        s
    };
    strip(a) == strip(b)
}

/// The Endpoints a service should have, or None when `current` already says it (kube's
/// comparison of subsets, labels without the controller's own, and the capacity annotation).
pub fn desired_endpoints(
    svc: &Service,
    pods: &[&Pod],
    current: Option<&Endpoints>,
    trigger: Option<Timestamp>,
) -> Option<Endpoints> {
    let subsets = compute_subsets(svc, pods);
    let svc_labels = svc.metadata.labels.clone().unwrap_or_default();
    if let Some(cur) = current {
        let mut labels = cur.metadata.labels.clone().unwrap_or_default();
        labels.remove(HEADLESS_LABEL);
        labels.remove(MANAGED_BY_LABEL);
        let cur_subsets = cur.subsets.clone().unwrap_or_default();
        let (r, n) = count_addresses(&cur_subsets);
        let capacity_ok = r + n <= MAX_CAPACITY
            && !cur
                .metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(OVER_CAPACITY_ANNOTATION));
        if subsets_equal(&cur_subsets, &subsets) && labels == svc_labels && capacity_ok {
            return None;
        }
    }
    let mut meta = match current {
        Some(c) => c.metadata.clone(),
        None => ObjectMeta {
            name: Some(svc.name_any()),
            namespace: svc.metadata.namespace.clone(),
            ..ObjectMeta::default()
        },
    };
    let mut annotations = meta.annotations.take().unwrap_or_default();
    match trigger {
        Some(t) => {
            annotations.insert(TRIGGER_TIME_ANNOTATION.into(), rfc3339_nano(t));
        }
        None => {
            annotations.remove(TRIGGER_TIME_ANNOTATION);
        }
    }
    let mut subsets = subsets;
    if truncate(&mut subsets) {
        annotations.insert(OVER_CAPACITY_ANNOTATION.into(), "truncated".into());
    } else {
        annotations.remove(OVER_CAPACITY_ANNOTATION);
    }
    let mut labels = svc_labels;
    labels.insert(MANAGED_BY_LABEL.into(), CONTROLLER.into());
    if has_cluster_ip(svc) {
        labels.remove(HEADLESS_LABEL);
    } else {
        labels.insert(HEADLESS_LABEL.into(), String::new());
    }
    meta.labels = Some(labels);
    meta.annotations = (!annotations.is_empty()).then_some(annotations);
    Some(Endpoints {
        metadata: meta,
        subsets: (!subsets.is_empty()).then_some(subsets),
    })
}

// ---------------------------------------------------------------------------------------------
// the controller

/// Which services select a pod, from the service cache.
pub(crate) fn services_selecting(services: &Store<Service>, pod: &Pod) -> Vec<String> {
    let ns = pod.namespace().unwrap_or_default();
    services
        .state()
        .iter()
        .filter(|s| s.metadata.namespace.as_deref() == Some(ns.as_str()))
        .filter(|s| {
            service_selector(s).is_some_and(|sel| sel.matches(pod.metadata.labels.as_ref()))
        })
        .map(|s| queue::key(Some(&ns), &s.name_any()))
        .collect()
}

/// Routes pod changes to the services that select the pod now or selected it before.
#[derive(Clone, Default)]
pub(crate) struct PodRouter {
    last: Arc<Mutex<HashMap<String, HashSet<String>>>>,
}

impl PodRouter {
    pub(crate) fn route(&self, services: &Store<Service>, pod: &Pod, deleted: bool) -> Vec<String> {
        let key = queue::key(pod.metadata.namespace.as_deref(), &pod.name_any());
        let now: HashSet<String> = if deleted {
            HashSet::new()
        } else {
            services_selecting(services, pod).into_iter().collect()
        };
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        // Pods no Service selects (most, in a big cluster) take no entry.
        let before = if now.is_empty() {
            last.remove(&key).unwrap_or_default()
        } else {
            last.insert(key, now.clone()).unwrap_or_default()
        };
        now.union(&before).cloned().collect()
    }
}

struct Ctl {
    ctx: Context,
    services: Store<Service>,
    pods: Store<CachedPod>,
    endpoints: Store<Endpoints>,
    triggers: TriggerTimes,
}

pub async fn run(ctx: Context) {
    let queue = Queue::new();
    let q = queue.clone();
    let services = ctx
        .informers
        .all::<Service, _>(move |s: &Service| {
            q.add(queue::key(s.metadata.namespace.as_deref(), &s.name_any()))
        })
        .await;
    let (q, svcs, router) = (queue.clone(), services.clone(), PodRouter::default());
    let pods = ctx
        .informers
        .pods_with_deletes(move |p: &Pod, deleted| {
            for key in router.route(&svcs, p, deleted) {
                q.add(key);
            }
        })
        .await;
    let q = queue.clone();
    let endpoints = ctx
        .informers
        .all_with_deletes::<Endpoints, _>(move |e: &Endpoints, deleted| {
            // Deletions only (as upstream): a new Endpoints whose Service this cache has not
            // seen yet — a user's selector-less pair, a syncer's replica — must not be deleted.
            if deleted {
                q.add(queue::key(e.metadata.namespace.as_deref(), &e.name_any()))
            }
        })
        .await;
    // leftovers: Endpoints whose Service went away while the controller was not running
    for e in endpoints.state() {
        if !e
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(LEADER_ANNOTATION))
        {
            queue.add(queue::key(e.metadata.namespace.as_deref(), &e.name_any()));
        }
    }
    tracing::info!(controller = CONTROLLER, "started");
    let ctl = Ctl {
        ctx,
        services,
        pods,
        endpoints,
        triggers: TriggerTimes::default(),
    };
    loop {
        let key = queue.next().await;
        if let Err(e) = ctl.sync(&key).await {
            tracing::debug!(controller = CONTROLLER, key, error = %e, "sync failed");
            queue.add_after(key, Duration::from_millis(500));
        }
    }
}

impl Ctl {
    async fn sync(&self, key: &str) -> Result<(), kube::Error> {
        let (ns, name) = queue::split(key);
        let ns = ns.unwrap_or_default();
        let api: Api<Endpoints> = Api::namespaced(self.ctx.client.clone(), ns);
        let Some(svc) = self.services.get(&ObjectRef::new(name).within(ns)) else {
            // the service is gone: so are its endpoints. The cache may just not have a new
            // Service yet (written beside its Endpoints while this controller started), so
            // the API has the last word, and only the Endpoints seen here are deleted.
            if let Some(current) = self.endpoints.get(&ObjectRef::new(name).within(ns)) {
                let services: Api<Service> = Api::namespaced(self.ctx.client.clone(), ns);
                if services.get_metadata_opt(name).await?.is_some() {
                    return Ok(());
                }
                let params = DeleteParams {
                    preconditions: current.metadata.uid.clone().map(|uid| {
                        kube::api::Preconditions {
                            uid: Some(uid),
                            resource_version: None,
                        }
                    }),
                    ..DeleteParams::default()
                };
                match api.delete(name, &params).await {
                    Ok(_) => {}
                    Err(e) if is_status(&e, 404) || is_status(&e, 409) => {}
                    Err(e) => return Err(e),
                }
            }
            self.triggers.forget(key);
            return Ok(());
        };
        let Some(selector) = service_selector(&svc) else {
            return Ok(());
        };
        let pods = cached_pod::selected(&self.pods, ns, &selector);
        let pod_refs: Vec<&Pod> = pods.iter().map(|p| p.as_ref()).collect();
        let trigger = self.triggers.compute(key, &svc, &pod_refs);
        let current = self.endpoints.get(&ObjectRef::new(name).within(ns));
        let Some(wanted) = desired_endpoints(&svc, &pod_refs, current.as_deref(), trigger) else {
            return Ok(());
        };
        let result = if current.is_some() {
            api.replace(name, &PostParams::default(), &wanted).await
        } else {
            api.create(&PostParams::default(), &wanted).await
        };
        match result {
            Ok(_) => Ok(()),
            Err(e) if current.is_none() && is_status(&e, 409) => Err(e),
            Err(e) if current.is_none() && is_status(&e, 403) && terminating_namespace(&e) => {
                Ok(())
            }
            Err(e) => {
                let (reason, message) = if current.is_none() {
                    (
                        "FailedToCreateEndpoint",
                        format!(
                            "Failed to create endpoint for service {ns}/{name}: {}",
                            api_message(&e)
                        ),
                    )
                } else {
                    (
                        "FailedToUpdateEndpoint",
                        format!("Failed to update endpoint {ns}/{name}: {}", api_message(&e)),
                    )
                };
                events::record(
                    &self.ctx.client,
                    self.ctx.clock.as_ref(),
                    CONTROLLER,
                    &Involved {
                        api_version: "v1",
                        kind: "Endpoints",
                        namespace: ns,
                        name,
                        uid: current
                            .as_ref()
                            .and_then(|c| c.metadata.uid.as_deref())
                            .unwrap_or_default(),
                        resource_version: None,
                    },
                    "Warning",
                    reason,
                    message,
                )
                .await;
                Err(e)
            }
        }
    }
}

fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        e => e.to_string(),
    }
}

fn terminating_namespace(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.message.contains("because it is being terminated"))
}

#[cfg(test)]
pub(crate) mod tests;
