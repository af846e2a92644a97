//! The endpointslice controller and the endpointslice mirroring controller.
//!
//! endpointslice: for every Service with a selector, discovery.k8s.io/v1 EndpointSlices named
//! `<service>-<random>` (labelled `kubernetes.io/service-name` and
//! `endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`, owned by the
//! Service, so the garbage collector removes them with it) list the selected pods with
//! ready/serving/terminating conditions, at most 100 endpoints a slice, one group of slices per
//! port set and address family; a service with no endpoints gets one empty placeholder slice.
//! Existing slices are updated in place where possible (kept endpoints stay where they are, new
//! ones fill free room first), and slices that would be deleted are recycled for new ones.
//!
//! endpointslicemirroring: the Endpoints users write for a Service without a selector are
//! mirrored into slices managed by `endpointslicemirroring-controller.k8s.io` (unless labelled
//! `endpointslice.kubernetes.io/skip-mirror: "true"`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, PostParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, ResourceExt};

use crate::cached_pod::{self, CachedPod};
use crate::endpoints::{
    HEADLESS_LABEL, PodRouter, TRIGGER_TIME_ANNOTATION, TriggerTimes, find_port, has_cluster_ip,
    pod_reference, rfc3339_nano, service_selector, should_pod_be_in_endpoints, should_set_hostname,
};
use crate::queue::{self, Queue};
use crate::replicaset::is_ready;
use crate::{Context, is_status};

pub const CONTROLLER: &str = "endpointslice-controller.k8s.io";
pub const MIRROR_CONTROLLER: &str = "endpointslicemirroring-controller.k8s.io";
/// discovery.LabelServiceName.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// discovery.LabelManagedBy.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// discovery.LabelSkipMirror.
pub const SKIP_MIRROR_LABEL: &str = "endpointslice.kubernetes.io/skip-mirror";
/// kube-controller-manager's default --max-endpoints-per-slice.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;
/// The mirroring controller's default --mirroring-max-endpoints-per-subset.
pub const MAX_MIRRORED_PER_SLICE: usize = 1000;
const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// IPv4 or IPv6.
fn address_type_of(ip: &str) -> &'static str {
    if ip.contains(':') { "IPv6" } else { "IPv4" }
}

/// The address types a service is served on (its ipFamilies, else its ClusterIP's family).
pub fn service_address_types(svc: &Service) -> Vec<String> {
    let spec = svc.spec.as_ref();
    let families: Vec<String> = spec.and_then(|s| s.ip_families.clone()).unwrap_or_default();
    if !families.is_empty() {
        return families;
    }
    match spec.and_then(|s| s.cluster_ip.as_deref()) {
        Some(ip) if has_cluster_ip(svc) => vec![address_type_of(ip).to_string()],
        _ => vec!["IPv4".to_string()],
    }
}

/// A port set and the endpoints that serve it.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub address_type: String,
    pub ports: Vec<EndpointPort>,
    pub endpoints: Vec<Endpoint>,
}

fn port_sort_key(p: &EndpointPort) -> (String, i32, String) {
    (
        p.name.clone().unwrap_or_default(),
        p.port.unwrap_or_default(),
        p.protocol.clone().unwrap_or_default(),
    )
}

fn same_ports(a: &[EndpointPort], b: &[EndpointPort]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by_key(port_sort_key);
    b.sort_by_key(port_sort_key);
    a == b
}

/// podToEndpoint.
pub fn pod_endpoint(pod: &Pod, svc: &Service, ip: String, zone: Option<String>) -> Endpoint {
    let serving = is_ready(pod);
    let terminating = pod.metadata.deletion_timestamp.is_some();
    let publish = svc
        .spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false);
    let spec = pod.spec.as_ref();
    Endpoint {
        addresses: vec![ip],
        conditions: Some(EndpointConditions {
            ready: Some(publish || (serving && !terminating)),
            serving: Some(serving),
            terminating: Some(terminating),
        }),
        hostname: should_set_hostname(pod, svc)
            .then(|| spec.and_then(|s| s.hostname.clone()))
            .flatten(),
        node_name: spec
            .and_then(|s| s.node_name.clone())
            .filter(|n| !n.is_empty()),
        target_ref: Some(pod_reference(pod)),
        zone,
        ..Endpoint::default()
    }
}

/// The endpoints a service should have, grouped by address type and port set (ports in the
/// service's order; a pod offers the service ports it can resolve).
pub fn desired_groups(
    svc: &Service,
    pods: &[&Pod],
    zone_of: &dyn Fn(&str) -> Option<String>,
) -> Vec<Group> {
    let service_ports = svc
        .spec
        .as_ref()
        .and_then(|s| s.ports.clone())
        .unwrap_or_default();
    let mut groups: Vec<Group> = Vec::new();
    for address_type in service_address_types(svc) {
        for pod in pods {
            if !should_pod_be_in_endpoints(pod, true) {
                continue;
            }
            let ips = pod
                .status
                .as_ref()
                .and_then(|s| s.pod_ips.clone())
                .map(|ips| ips.into_iter().map(|p| p.ip).collect::<Vec<_>>())
                .filter(|ips| !ips.is_empty())
                .or_else(|| {
                    pod.status
                        .as_ref()
                        .and_then(|s| s.pod_ip.clone())
                        .map(|ip| vec![ip])
                })
                .unwrap_or_default();
            let Some(ip) = ips
                .into_iter()
                .find(|ip| !ip.is_empty() && address_type_of(ip) == address_type)
            else {
                continue;
            };
            let ports: Vec<EndpointPort> = service_ports
                .iter()
                .filter_map(|sp| {
                    let number = find_port(pod, sp)?;
                    Some(EndpointPort {
                        name: Some(sp.name.clone().unwrap_or_default()),
                        port: Some(number),
                        protocol: Some(sp.protocol.clone().unwrap_or_else(|| "TCP".into())),
                        app_protocol: sp.app_protocol.clone(),
                    })
                })
                .collect();
            let node = pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.clone())
                .unwrap_or_default();
            let endpoint = pod_endpoint(pod, svc, ip, zone_of(&node));
            match groups
                .iter_mut()
                .find(|g| g.address_type == address_type && same_ports(&g.ports, &ports))
            {
                Some(g) => g.endpoints.push(endpoint),
                None => groups.push(Group {
                    address_type: address_type.clone(),
                    ports,
                    endpoints: vec![endpoint],
                }),
            }
        }
    }
    for g in &mut groups {
        g.endpoints.sort_by_key(endpoint_key);
    }
    groups
}

/// What identifies an endpoint across syncs: its address and the object behind it.
fn endpoint_key(e: &Endpoint) -> (String, String, String) {
    let r = e.target_ref.as_ref();
    (
        e.addresses.first().cloned().unwrap_or_default(),
        r.and_then(|r| r.uid.clone()).unwrap_or_default(),
        r.and_then(|r| r.name.clone()).unwrap_or_default(),
    )
}

fn same_endpoint(a: &Endpoint, b: &Endpoint) -> bool {
    let strip = |e: &Endpoint| {
        let mut e = e.clone();
        if let Some(r) = e.target_ref.as_mut() {
            r.resource_version = None;
        }
        e
    };
    strip(a) == strip(b)
}

// ---------------------------------------------------------------------------------------------
// reconciling slices

/// The writes that bring a service's slices to the desired groups.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// New slices (metadata to be filled in by the caller).
    pub create: Vec<EndpointSlice>,
    /// Changed existing slices (their metadata kept, including resourceVersion).
    pub update: Vec<EndpointSlice>,
    /// Names of slices to delete.
    pub delete: Vec<String>,
}

fn endpoints_of(s: &EndpointSlice) -> &[Endpoint] {
    &s.endpoints
}

/// The reconciler: for each group, existing slices with its ports and address type keep the
/// endpoints still wanted (changed ones replaced in place), new endpoints fill slices already
/// being updated, then an untouched slice they fit into, then new slices of at most `max`;
/// slices left empty or with unwanted ports go away — recycled for new slices where possible.
/// With no endpoints at all, one empty placeholder slice per address type remains.
pub fn plan(
    existing: &[EndpointSlice],
    groups: &[Group],
    address_types: &[String],
    max: usize,
) -> Plan {
    let mut out = Plan::default();
    let mut used = vec![false; existing.len()];
    for g in groups {
        let mut wanted: BTreeMap<(String, String, String), Endpoint> = g
            .endpoints
            .iter()
            .map(|e| (endpoint_key(e), e.clone()))
            .collect();
        let mut updating: Vec<EndpointSlice> = Vec::new();
        let mut untouched: Vec<EndpointSlice> = Vec::new();
        for (i, s) in existing.iter().enumerate() {
            if used[i]
                || s.address_type != g.address_type
                || !same_ports(s.ports.as_deref().unwrap_or_default(), &g.ports)
                || endpoints_of(s).is_empty()
            {
                continue;
            }
            used[i] = true;
            let mut changed = false;
            let mut kept = Vec::new();
            for e in endpoints_of(s) {
                match wanted.remove(&endpoint_key(e)) {
                    Some(w) => {
                        if !same_endpoint(&w, e) {
                            changed = true;
                        }
                        kept.push(w);
                    }
                    None => changed = true,
                }
            }
            if kept.is_empty() {
                out.delete.push(s.name_any());
                continue;
            }
            let mut next = s.clone();
            next.endpoints = kept;
            if changed {
                updating.push(next);
            } else {
                untouched.push(next);
            }
        }
        let mut remaining: Vec<Endpoint> = wanted.into_values().collect();
        // fill the slices being written anyway
        updating.sort_by_key(|s| std::cmp::Reverse(s.endpoints.len()));
        for s in &mut updating {
            while s.endpoints.len() < max && !remaining.is_empty() {
                s.endpoints.push(remaining.remove(0));
            }
        }
        // then the fullest untouched slice the rest fits into
        if !remaining.is_empty() {
            untouched.sort_by_key(|s| std::cmp::Reverse(s.endpoints.len()));
            if let Some(s) = untouched
                .iter_mut()
                .find(|s| s.endpoints.len() + remaining.len() <= max)
            {
                s.endpoints.append(&mut remaining);
                updating.push(s.clone());
            }
        }
        for chunk in remaining.chunks(max) {
            out.create.push(EndpointSlice {
                address_type: g.address_type.clone(),
                endpoints: chunk.to_vec(),
                ports: Some(g.ports.clone()),
                metadata: ObjectMeta::default(),
            });
        }
        out.update.extend(updating);
    }
    // slices no group wanted: one placeholder per address type may stay, the rest go
    let mut placeholders_kept: Vec<String> = Vec::new();
    for (i, s) in existing.iter().enumerate() {
        if used[i] {
            continue;
        }
        let placeholder = s.endpoints.is_empty() && s.ports.as_ref().is_none_or(Vec::is_empty);
        let keep = placeholder
            && address_types.contains(&s.address_type)
            && !groups.iter().any(|g| g.address_type == s.address_type)
            && !out
                .update
                .iter()
                .chain(out.create.iter())
                .any(|k| k.address_type == s.address_type)
            && !placeholders_kept.contains(&s.address_type);
        if keep {
            used[i] = true;
            placeholders_kept.push(s.address_type.clone());
        } else {
            out.delete.push(s.name_any());
        }
    }
    for t in address_types {
        let has = |s: &EndpointSlice| s.address_type == *t;
        let kept_existing = existing
            .iter()
            .enumerate()
            .any(|(i, s)| used[i] && has(s) && !out.delete.contains(&s.name_any()));
        if !kept_existing && !out.create.iter().any(has) && !out.update.iter().any(has) {
            out.create.push(EndpointSlice {
                address_type: t.clone(),
                endpoints: Vec::new(),
                ports: None,
                metadata: ObjectMeta::default(),
            });
        }
    }
    // recycle slices that would be deleted for new ones of the same address type
    let mut still_delete = Vec::new();
    for name in std::mem::take(&mut out.delete) {
        let Some(old) = existing.iter().find(|s| s.name_any() == name) else {
            continue;
        };
        match out
            .create
            .iter()
            .position(|c| c.address_type == old.address_type)
        {
            Some(i) => {
                let mut recycled = out.create.remove(i);
                recycled.metadata = old.metadata.clone();
                out.update.push(recycled);
            }
            None => still_delete.push(name),
        }
    }
    out.delete = still_delete;
    out
}

/// The labels a service's slices carry: the service's own (minus the reserved ones), the
/// headless marker, the service name and the manager.
pub fn slice_labels(svc: &Service, managed_by: &str) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = svc
        .metadata
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != SERVICE_NAME_LABEL && k != MANAGED_BY_LABEL && k != HEADLESS_LABEL)
        .collect();
    if !has_cluster_ip(svc) {
        labels.insert(HEADLESS_LABEL.into(), String::new());
    }
    labels.insert(SERVICE_NAME_LABEL.into(), svc.name_any());
    labels.insert(MANAGED_BY_LABEL.into(), managed_by.into());
    labels
}

pub fn service_owner(svc: &Service) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: svc.name_any(),
        uid: svc.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// getEndpointSlicePrefix: `<name>-` unless that is too long for generateName.
fn name_prefix(name: &str) -> String {
    let prefix = format!("{name}-");
    if prefix.len() > 253 - 5 {
        name.to_string()
    } else {
        prefix
    }
}

fn set_trigger(meta: &mut ObjectMeta, trigger: Option<Timestamp>) {
    let mut annotations = meta.annotations.take().unwrap_or_default();
    match trigger {
        Some(t) => {
            annotations.insert(TRIGGER_TIME_ANNOTATION.into(), rfc3339_nano(t));
        }
        None => {
            annotations.remove(TRIGGER_TIME_ANNOTATION);
        }
    }
    meta.annotations = (!annotations.is_empty()).then_some(annotations);
}

/// The full set of writes for a service: the plan, with metadata on new and changed slices,
/// and slices whose labels or owner no longer match the service updated too.
pub fn service_writes(
    svc: &Service,
    existing: &[EndpointSlice],
    groups: &[Group],
    trigger: Option<Timestamp>,
) -> Plan {
    let types = service_address_types(svc);
    let mut p = plan(existing, groups, &types, MAX_ENDPOINTS_PER_SLICE);
    let labels = slice_labels(svc, CONTROLLER);
    let owner = service_owner(svc);
    let ns = svc.metadata.namespace.clone();
    for s in &mut p.create {
        s.metadata = ObjectMeta {
            generate_name: Some(name_prefix(&svc.name_any())),
            namespace: ns.clone(),
            labels: Some(labels.clone()),
            owner_references: Some(vec![owner.clone()]),
            ..ObjectMeta::default()
        };
        set_trigger(&mut s.metadata, trigger);
    }
    for s in &mut p.update {
        s.metadata.labels = Some(labels.clone());
        s.metadata.owner_references = Some(vec![owner.clone()]);
        set_trigger(&mut s.metadata, trigger);
    }
    for s in existing {
        let name = s.name_any();
        if p.delete.contains(&name) || p.update.iter().any(|u| u.name_any() == name) {
            continue;
        }
        let owned = s.metadata.owner_references.as_deref() == Some(std::slice::from_ref(&owner));
        if s.metadata.labels.as_ref() != Some(&labels) || !owned {
            let mut next = s.clone();
            next.metadata.labels = Some(labels.clone());
            next.metadata.owner_references = Some(vec![owner.clone()]);
            p.update.push(next);
        }
    }
    p
}

// ---------------------------------------------------------------------------------------------
// mirroring

/// Whether the mirroring controller copies these Endpoints (shouldMirror).
pub fn should_mirror(ep: &Endpoints) -> bool {
    let skip = ep
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(SKIP_MIRROR_LABEL))
        .is_some_and(|v| v == "true");
    let leader = ep
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("control-plane.alpha.kubernetes.io/leader"));
    !skip && !leader
}

/// The groups mirrored from an Endpoints' subsets (one group per subset and address type).
pub fn mirrored_groups(ep: &Endpoints) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for subset in ep.subsets.iter().flatten() {
        let ports: Vec<EndpointPort> = subset
            .ports
            .iter()
            .flatten()
            .map(|p| EndpointPort {
                name: Some(p.name.clone().unwrap_or_default()),
                port: Some(p.port),
                protocol: Some(p.protocol.clone().unwrap_or_else(|| "TCP".into())),
                app_protocol: p.app_protocol.clone(),
            })
            .collect();
        let addresses = subset.addresses.iter().flatten().map(|a| (a, true)).chain(
            subset
                .not_ready_addresses
                .iter()
                .flatten()
                .map(|a| (a, false)),
        );
        for (a, ready) in addresses {
            let t = address_type_of(&a.ip).to_string();
            let endpoint = Endpoint {
                addresses: vec![a.ip.clone()],
                conditions: Some(EndpointConditions {
                    ready: Some(ready),
                    ..EndpointConditions::default()
                }),
                hostname: a.hostname.clone().filter(|h| !h.is_empty()),
                node_name: a.node_name.clone(),
                target_ref: a.target_ref.clone(),
                ..Endpoint::default()
            };
            match groups
                .iter_mut()
                .find(|g| g.address_type == t && same_ports(&g.ports, &ports))
            {
                Some(g) => g.endpoints.push(endpoint),
                None => groups.push(Group {
                    address_type: t,
                    ports: ports.clone(),
                    endpoints: vec![endpoint],
                }),
            }
        }
    }
    groups
}

/// The mirrored slices' labels and annotations: the Endpoints' own (without the trigger time
/// and kubectl's last-applied configuration), the service name and the mirroring manager.
fn mirror_meta(ep: &Endpoints) -> (BTreeMap<String, String>, Option<BTreeMap<String, String>>) {
    let mut labels = ep.metadata.labels.clone().unwrap_or_default();
    labels.remove(MANAGED_BY_LABEL);
    labels.remove(SERVICE_NAME_LABEL);
    labels.insert(SERVICE_NAME_LABEL.into(), ep.name_any());
    labels.insert(MANAGED_BY_LABEL.into(), MIRROR_CONTROLLER.into());
    let mut annotations = ep.metadata.annotations.clone().unwrap_or_default();
    annotations.remove(TRIGGER_TIME_ANNOTATION);
    annotations.remove(LAST_APPLIED);
    (labels, (!annotations.is_empty()).then_some(annotations))
}

/// The writes that mirror an Endpoints into slices (no placeholder slices: empty Endpoints
/// have none).
pub fn mirror_writes(svc: &Service, ep: &Endpoints, existing: &[EndpointSlice]) -> Plan {
    let groups = mirrored_groups(ep);
    let types: Vec<String> = Vec::new();
    let mut p = plan(existing, &groups, &types, MAX_MIRRORED_PER_SLICE);
    // an empty Endpoints mirrors to nothing: no placeholders
    p.create.retain(|s| !s.endpoints.is_empty());
    let (labels, annotations) = mirror_meta(ep);
    let owner = service_owner(svc);
    for s in &mut p.create {
        s.metadata = ObjectMeta {
            generate_name: Some(name_prefix(&ep.name_any())),
            namespace: ep.metadata.namespace.clone(),
            labels: Some(labels.clone()),
            annotations: annotations.clone(),
            owner_references: Some(vec![owner.clone()]),
            ..ObjectMeta::default()
        };
    }
    for s in &mut p.update {
        s.metadata.labels = Some(labels.clone());
        s.metadata.annotations = annotations.clone();
        s.metadata.owner_references = Some(vec![owner.clone()]);
    }
    for s in existing {
        let name = s.name_any();
        if p.delete.contains(&name) || p.update.iter().any(|u| u.name_any() == name) {
            continue;
        }
        if s.metadata.labels.as_ref() != Some(&labels) || s.metadata.annotations != annotations {
            let mut next = s.clone();
            next.metadata.labels = Some(labels.clone());
            next.metadata.annotations = annotations.clone();
            p.update.push(next);
        }
    }
    p
}

// ---------------------------------------------------------------------------------------------
// the controllers

/// Slices this controller wrote that its cache has not shown yet (kube's
/// endpointSliceTracker): until it has, a sync would work from stale slices and could write
/// duplicates, so it waits.
/// A slice written at a revision, or deleted (None).
type Written = (String, Option<i64>);
/// Since when a service waits, and for which writes.
type Awaited = (Instant, Vec<Written>);

#[derive(Default, Clone)]
struct Pending {
    inner: Arc<Mutex<HashMap<String, Awaited>>>,
}

const PENDING_TIMEOUT: Duration = Duration::from_secs(10);

fn revision(s: &EndpointSlice) -> i64 {
    s.metadata
        .resource_version
        .as_deref()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

impl Pending {
    /// `Some(rev)`: written at rev; `None`: deleted.
    fn expect(&self, key: &str, writes: Vec<(String, Option<i64>)>) {
        if writes.is_empty() {
            return;
        }
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        m.insert(key.to_string(), (Instant::now(), writes));
    }

    fn satisfied(&self, key: &str, cached: &[EndpointSlice]) -> bool {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Some((since, writes)) = m.get(key) else {
            return true;
        };
        let seen = writes.iter().all(|(name, rev)| {
            let found = cached.iter().find(|s| s.name_any() == *name);
            match (rev, found) {
                (Some(r), Some(s)) => revision(s) >= *r,
                (Some(_), None) => false,
                (None, found) => found.is_none(),
            }
        });
        if seen || since.elapsed() > PENDING_TIMEOUT {
            m.remove(key);
            return true;
        }
        false
    }
}

/// Slices in the cache managed by `manager` for the service `ns/name`.
fn slices_for(
    slices: &Store<EndpointSlice>,
    ns: &str,
    name: &str,
    manager: &str,
) -> Vec<EndpointSlice> {
    let mut out: Vec<EndpointSlice> = slices
        .state()
        .iter()
        .filter(|s| {
            let l = s.metadata.labels.as_ref();
            s.metadata.namespace.as_deref() == Some(ns)
                && l.and_then(|l| l.get(SERVICE_NAME_LABEL))
                    .map(String::as_str)
                    == Some(name)
                && l.and_then(|l| l.get(MANAGED_BY_LABEL)).map(String::as_str) == Some(manager)
        })
        .map(|s| (**s).clone())
        .collect();
    out.sort_by_key(|s| s.name_any());
    out
}

/// Runs a plan; returns what the cache should show afterwards.
async fn execute(
    client: &kube::Client,
    ns: &str,
    p: Plan,
) -> Result<Vec<(String, Option<i64>)>, kube::Error> {
    let api: Api<EndpointSlice> = Api::namespaced(client.clone(), ns);
    let mut writes = Vec::new();
    for s in p.create {
        match api.create(&PostParams::default(), &s).await {
            Ok(c) => writes.push((c.name_any(), Some(revision(&c)))),
            Err(e) if is_status(&e, 403) => {
                // a terminating namespace takes no new slices
                tracing::debug!(namespace = ns, error = %e, "creating EndpointSlice");
                return Ok(writes);
            }
            Err(e) => return Err(e),
        }
    }
    for s in p.update {
        let name = s.name_any();
        let u = api.replace(&name, &PostParams::default(), &s).await?;
        writes.push((name, Some(revision(&u))));
    }
    for name in p.delete {
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => writes.push((name, None)),
            Err(e) if is_status(&e, 404) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(writes)
}

fn slice_service_key(s: &EndpointSlice, manager: &str) -> Option<String> {
    let l = s.metadata.labels.as_ref()?;
    (l.get(MANAGED_BY_LABEL).map(String::as_str) == Some(manager))
        .then(|| l.get(SERVICE_NAME_LABEL))
        .flatten()
        .map(|svc| queue::key(s.metadata.namespace.as_deref(), svc))
}

struct Ctl {
    ctx: Context,
    services: Store<Service>,
    pods: Store<CachedPod>,
    nodes: Store<Node>,
    slices: Store<EndpointSlice>,
    triggers: TriggerTimes,
    pending: Pending,
}

/// The endpointslice controller.
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
    let nodes = ctx.informers.all::<Node, _>(|_: &Node| {}).await;
    let q = queue.clone();
    let slices = ctx
        .informers
        .all_with_deletes::<EndpointSlice, _>(move |s: &EndpointSlice, _| {
            if let Some(key) = slice_service_key(s, CONTROLLER) {
                q.add(key);
            }
        })
        .await;
    tracing::info!(controller = CONTROLLER, "started");
    let ctl = Ctl {
        ctx,
        services,
        pods,
        nodes,
        slices,
        triggers: TriggerTimes::default(),
        pending: Pending::default(),
    };
    loop {
        let key = queue.next().await;
        match ctl.sync(&key).await {
            Ok(None) => {}
            Ok(Some(after)) => queue.add_after(key, after),
            Err(e) => {
                tracing::debug!(controller = CONTROLLER, key, error = %e, "sync failed");
                queue.add_after(key, Duration::from_millis(500));
            }
        }
    }
}

impl Ctl {
    async fn sync(&self, key: &str) -> Result<Option<Duration>, kube::Error> {
        let (ns, name) = queue::split(key);
        let ns = ns.unwrap_or_default();
        let Some(svc) = self.services.get(&ObjectRef::new(name).within(ns)) else {
            // the garbage collector removes the slices with their owner
            self.triggers.forget(key);
            return Ok(None);
        };
        if svc.metadata.deletion_timestamp.is_some() {
            return Ok(None);
        }
        let Some(selector) = service_selector(&svc) else {
            return Ok(None);
        };
        let existing = slices_for(&self.slices, ns, name, CONTROLLER);
        if !self.pending.satisfied(key, &existing) {
            return Ok(Some(Duration::from_millis(100)));
        }
        let pods = cached_pod::selected(&self.pods, ns, &selector);
        let pod_refs: Vec<&Pod> = pods.iter().map(|p| p.as_ref()).collect();
        let trigger = self.triggers.compute(key, &svc, &pod_refs);
        let zone_of = |node: &str| -> Option<String> {
            self.nodes
                .get(&ObjectRef::new(node))
                .and_then(|n| n.metadata.labels.as_ref()?.get(ZONE_LABEL).cloned())
        };
        let groups = desired_groups(&svc, &pod_refs, &zone_of);
        let p = service_writes(&svc, &existing, &groups, trigger);
        if p == Plan::default() {
            return Ok(None);
        }
        let writes = execute(&self.ctx.client, ns, p).await?;
        self.pending.expect(key, writes);
        Ok(None)
    }
}

/// The endpointslicemirroring controller.
pub async fn run_mirroring(ctx: Context) {
    let queue = Queue::new();
    let q = queue.clone();
    let services = ctx
        .informers
        .all::<Service, _>(move |s: &Service| {
            q.add(queue::key(s.metadata.namespace.as_deref(), &s.name_any()))
        })
        .await;
    let q = queue.clone();
    let endpoints = ctx
        .informers
        .all_with_deletes::<Endpoints, _>(move |e: &Endpoints, _| {
            q.add(queue::key(e.metadata.namespace.as_deref(), &e.name_any()))
        })
        .await;
    let q = queue.clone();
    let slices = ctx
        .informers
        .all_with_deletes::<EndpointSlice, _>(move |s: &EndpointSlice, _| {
            if let Some(key) = slice_service_key(s, MIRROR_CONTROLLER) {
                q.add(key);
            }
        })
        .await;
    tracing::info!(controller = MIRROR_CONTROLLER, "started");
    let pending = Pending::default();
    loop {
        let key = queue.next().await;
        let result = mirror_sync(&ctx, &services, &endpoints, &slices, &pending, &key).await;
        match result {
            Ok(None) => {}
            Ok(Some(after)) => queue.add_after(key, after),
            Err(e) => {
                tracing::debug!(controller = MIRROR_CONTROLLER, key, error = %e, "sync failed");
                queue.add_after(key, Duration::from_millis(500));
            }
        }
    }
}

async fn mirror_sync(
    ctx: &Context,
    services: &Store<Service>,
    endpoints: &Store<Endpoints>,
    slices: &Store<EndpointSlice>,
    pending: &Pending,
    key: &str,
) -> Result<Option<Duration>, kube::Error> {
    let (ns, name) = queue::split(key);
    let ns = ns.unwrap_or_default();
    let existing = slices_for(slices, ns, name, MIRROR_CONTROLLER);
    if !pending.satisfied(key, &existing) {
        return Ok(Some(Duration::from_millis(100)));
    }
    let svc = services.get(&ObjectRef::new(name).within(ns));
    let ep = endpoints.get(&ObjectRef::new(name).within(ns));
    let mirrored = match (&svc, &ep) {
        (Some(svc), Some(ep))
            if svc
                .spec
                .as_ref()
                .and_then(|s| s.selector.as_ref())
                .is_none_or(|s| s.is_empty())
                && svc.metadata.deletion_timestamp.is_none()
                && should_mirror(ep) =>
        {
            Some((svc.clone(), ep.clone()))
        }
        _ => None,
    };
    let p = match mirrored {
        Some((svc, ep)) => mirror_writes(&svc, &ep, &existing),
        // nothing to mirror (any more): the mirrored slices go
        None => Plan {
            delete: existing.iter().map(|s| s.name_any()).collect(),
            ..Plan::default()
        },
    };
    if p == Plan::default() {
        return Ok(None);
    }
    let writes = execute(&ctx.client, ns, p).await?;
    pending.expect(key, writes);
    Ok(None)
}

#[cfg(test)]
mod tests;
