//! Watches of the virtual cluster's Namespaces, Services, EndpointSlices, Endpoints and Pods,
//! folded into a [`ClusterState`] and published as a new [`Snapshot`] after each burst of
//! changes (at most one rebuild per [`REBUILD_INTERVAL`], so a change shows within tens of
//! milliseconds and bulk changes cost one rebuild per interval, not one per object).

use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::handler::SnapshotCell;
use crate::records::{ClusterState, Snapshot, WatchedPod, ZoneConfig};

/// Shortest time between two snapshot rebuilds (twice the last build's time when that is
/// longer).
pub const REBUILD_INTERVAL: Duration = Duration::from_millis(20);

/// A kind DNS watches, and how its objects change the state.
trait Watched:
    Resource<DynamicType = ()> + Clone + Debug + serde::de::DeserializeOwned + Send + Sync + 'static
{
    fn apply(state: &mut ClusterState, obj: &Self);
    fn delete(state: &mut ClusterState, namespace: &str, name: &str);
    fn clear(state: &mut ClusterState);
    /// Applies `obj`; false when the answers cannot have changed (no rebuild needed).
    fn apply_changed(state: &mut ClusterState, obj: &Self) -> bool {
        Self::apply(state, obj);
        true
    }
    fn delete_changed(state: &mut ClusterState, namespace: &str, name: &str) -> bool {
        Self::delete(state, namespace, name);
        true
    }
}

impl Watched for Namespace {
    fn apply(state: &mut ClusterState, obj: &Self) {
        state.apply_namespace(obj);
    }
    fn delete(state: &mut ClusterState, _namespace: &str, name: &str) {
        state.delete_namespace(name);
    }
    fn clear(state: &mut ClusterState) {
        state.namespaces.clear();
    }
}

impl Watched for Service {
    fn apply(state: &mut ClusterState, obj: &Self) {
        state.apply_service(obj);
    }
    fn delete(state: &mut ClusterState, namespace: &str, name: &str) {
        state.delete_service(namespace, name);
    }
    fn clear(state: &mut ClusterState) {
        state.services.clear();
    }
}

impl Watched for EndpointSlice {
    fn apply(state: &mut ClusterState, obj: &Self) {
        state.apply_slice(obj);
    }
    fn delete(state: &mut ClusterState, namespace: &str, name: &str) {
        state.delete_slice(namespace, name);
    }
    fn clear(state: &mut ClusterState) {
        state.slices.clear();
    }
}

impl Watched for Endpoints {
    fn apply(state: &mut ClusterState, obj: &Self) {
        state.apply_endpoints(obj);
    }
    fn delete(state: &mut ClusterState, namespace: &str, name: &str) {
        state.delete_endpoints(namespace, name);
    }
    fn clear(state: &mut ClusterState) {
        state.endpoints.clear();
    }
}

impl Watched for WatchedPod {
    fn apply(state: &mut ClusterState, obj: &Self) {
        state.apply_pod(obj);
    }
    fn delete(state: &mut ClusterState, namespace: &str, name: &str) {
        state.delete_pod(namespace, name);
    }
    fn apply_changed(state: &mut ClusterState, obj: &Self) -> bool {
        state.apply_pod(obj)
    }
    fn delete_changed(state: &mut ClusterState, namespace: &str, name: &str) -> bool {
        state.delete_pod(namespace, name)
    }
    fn clear(state: &mut ClusterState) {
        state.pods.clear();
    }
}

/// A change from one watch, applied to the state by the one task that owns it; true when the
/// snapshot must be rebuilt.
type Change = Box<dyn FnOnce(&mut ClusterState, &mut Feeds) -> bool + Send>;

/// One listed object, to apply when its re-list completes.
type Listed = Box<dyn FnOnce(&mut ClusterState) + Send>;

/// Per kind: objects of a re-list in progress, and whether the first list completed.
#[derive(Default)]
struct Feeds {
    relisting: [Option<Vec<Listed>>; KINDS],
    synced: [bool; KINDS],
}

const KINDS: usize = 5;

fn spawn_watch<K: Watched>(api: Api<K>, index: usize, tx: mpsc::UnboundedSender<Change>) {
    tokio::spawn(async move {
        let stream = watcher(api, watcher::Config::default()).default_backoff();
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            let change: Change = match event {
                Ok(watcher::Event::Apply(obj)) => {
                    Box::new(move |state, _| K::apply_changed(state, &obj))
                }
                Ok(watcher::Event::Delete(obj)) => Box::new(move |state, _| {
                    K::delete_changed(state, &obj.namespace().unwrap_or_default(), &obj.name_any())
                }),
                Ok(watcher::Event::Init) => Box::new(move |_, feeds| {
                    feeds.relisting[index] = Some(Vec::new());
                    false
                }),
                Ok(watcher::Event::InitApply(obj)) => Box::new(move |_, feeds| {
                    if let Some(list) = &mut feeds.relisting[index] {
                        list.push(Box::new(move |state| K::apply(state, &obj)));
                    }
                    false
                }),
                // The re-list replaces what this kind had: objects deleted while the watch was
                // down disappear here.
                Ok(watcher::Event::InitDone) => Box::new(move |state, feeds| {
                    K::clear(state);
                    for apply in feeds.relisting[index].take().unwrap_or_default() {
                        apply(state);
                    }
                    feeds.synced[index] = true;
                    true
                }),
                Err(e) => {
                    tracing::debug!(error = %e, kind = %K::kind(&()), "dns watch");
                    continue;
                }
            };
            if tx.send(change).is_err() {
                return;
            }
        }
    });
}

fn unix_now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

/// Keeps `cell` current with the cluster behind `client`; runs until aborted.
pub async fn run(client: Client, config: ZoneConfig, cell: Arc<SnapshotCell>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Change>();
    spawn_watch(Api::<Namespace>::all(client.clone()), 0, tx.clone());
    spawn_watch(Api::<Service>::all(client.clone()), 1, tx.clone());
    spawn_watch(Api::<EndpointSlice>::all(client.clone()), 2, tx.clone());
    spawn_watch(Api::<Endpoints>::all(client.clone()), 3, tx.clone());
    spawn_watch(Api::<WatchedPod>::all(client), 4, tx);
    let mut state = ClusterState::default();
    let mut feeds = Feeds::default();
    let mut last_build: Option<Instant> = None;
    let mut interval = REBUILD_INTERVAL;
    while let Some(change) = rx.recv().await {
        if !change(&mut state, &mut feeds) {
            continue;
        }
        if let Some(at) = last_build {
            let wait = interval.saturating_sub(at.elapsed());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        while let Ok(change) = rx.try_recv() {
            change(&mut state, &mut feeds);
        }
        state.modified = unix_now();
        let synced = feeds.synced.iter().all(|s| *s);
        let started = Instant::now();
        cell.store(Snapshot::build(&state, &config, synced));
        let took = started.elapsed();
        tracing::trace!(?took, services = state.services.len(), "dns snapshot");
        // Under constant churn rebuilds take at most a third of a core.
        interval = REBUILD_INTERVAL.max(took * 2);
        last_build = Some(Instant::now());
    }
}

/// The Service and Endpoints that point the cluster's `kube-system/kube-dns` at this server,
/// as kube users expect: ClusterIP 10.96.0.10 when free, ports `dns` (UDP) and `dns-tcp`.
pub fn kube_dns_objects(
    ip: std::net::IpAddr,
    port: u16,
    cluster_ip: Option<&str>,
) -> (Value, Value) {
    let mut spec = serde_json::json!({
        "type": "ClusterIP",
        "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": port},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": port},
        ],
    });
    if let Some(ip) = cluster_ip {
        spec["clusterIP"] = Value::from(ip);
    }
    let service = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kube-dns",
            "namespace": "kube-system",
            "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "warren-dns"},
        },
        "spec": spec,
    });
    let endpoints = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {
            "name": "kube-dns",
            "namespace": "kube-system",
            "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "warren-dns"},
        },
        "subsets": [{
            "addresses": [{"ip": ip.to_string()}],
            "ports": [
                {"name": "dns", "port": port, "protocol": "UDP"},
                {"name": "dns-tcp", "port": port, "protocol": "TCP"},
            ],
        }],
    });
    (service, endpoints)
}

/// Creates `kube-system/kube-dns` (kept when it exists) and points its Endpoints at
/// `ip:port`; retries until the API accepts both.
pub async fn register_kube_dns(client: Client, ip: std::net::IpAddr, port: u16) {
    let services: Api<Service> = Api::namespaced(client.clone(), "kube-system");
    let endpoints: Api<Endpoints> = Api::namespaced(client, "kube-system");
    let post = kube::api::PostParams::default();
    let mut delay = Duration::from_millis(100);
    loop {
        let result: Result<(), kube::Error> = async {
            if services.get_opt("kube-dns").await?.is_none() {
                let (svc, _) = kube_dns_objects(ip, port, Some("10.96.0.10"));
                let svc: Service = serde_json::from_value(svc).map_err(kube::Error::SerdeError)?;
                match services.create(&post, &svc).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(e)) if e.code == 409 => {}
                    // 10.96.0.10 taken or outside the range: any address will do.
                    Err(kube::Error::Api(e)) if e.code == 422 => {
                        let (svc, _) = kube_dns_objects(ip, port, None);
                        let svc: Service =
                            serde_json::from_value(svc).map_err(kube::Error::SerdeError)?;
                        services.create(&post, &svc).await?;
                    }
                    Err(e) => return Err(e),
                }
            }
            let (_, ep) = kube_dns_objects(ip, port, None);
            match endpoints.get_opt("kube-dns").await? {
                None => {
                    let ep: Endpoints =
                        serde_json::from_value(ep).map_err(kube::Error::SerdeError)?;
                    endpoints.create(&post, &ep).await?;
                }
                Some(current) => {
                    let wanted: Endpoints =
                        serde_json::from_value(ep.clone()).map_err(kube::Error::SerdeError)?;
                    if current.subsets != wanted.subsets {
                        let patch = serde_json::json!({"subsets": ep["subsets"]});
                        endpoints
                            .patch(
                                "kube-dns",
                                &kube::api::PatchParams::default(),
                                &kube::api::Patch::Merge(&patch),
                            )
                            .await?;
                    }
                }
            }
            Ok(())
        }
        .await;
        match result {
            Ok(()) => return,
            Err(e) => {
                tracing::debug!(error = %e, "registering kube-system/kube-dns");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}
