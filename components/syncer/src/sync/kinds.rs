//! The optional kinds (off by default in vcluster.yaml): which of them the host serves, their
//! caches and queues, and their loops.
//!
//! | key | loop | host permissions the syncer needs |
//! |---|---|---|
//! | `sync.toHost.ingresses` | [`super::ingresses`] | ingresses (networking.k8s.io): get list watch create update patch delete in the host namespace; ingresses/status: get |
//! | `sync.fromHost.ingressClasses` | [`super::classes`] | ingressclasses (networking.k8s.io): get list watch, cluster-wide |
//! | `sync.toHost.networkPolicies` | [`super::network_policies`] | networkpolicies (networking.k8s.io): get list watch create update patch delete in the host namespace |
//! | `sync.toHost.podDisruptionBudgets` | [`super::pdbs`] | poddisruptionbudgets (policy): get list watch create update patch delete in the host namespace |
//! | `sync.toHost.priorityClasses` | [`super::classes`] | priorityclasses (scheduling.k8s.io): get list watch create update patch delete, cluster-wide |
//! | `sync.fromHost.priorityClasses` | [`super::classes`] | priorityclasses (scheduling.k8s.io): get list watch, cluster-wide |
//! | `sync.toHost.storageClasses` | [`super::classes`] | storageclasses (storage.k8s.io): get list watch create update patch delete, cluster-wide |
//! | `sync.fromHost.storageClasses` | [`super::classes`] | storageclasses (storage.k8s.io): get list watch, cluster-wide |
//!
//! What the host serves is found out once, in [`super::prepare`] ([`HostKinds`]); a kind it
//! does not serve is skipped with one warning. PodDisruptionBudgets go to the host as policy/v1,
//! or policy/v1beta1 on hosts before 1.21.
//!
//! The caches here are filled in the background (a host that forbids listing a kind must not
//! hold up the other loops); a sync waits until both caches of its kind hold their first list,
//! so it never takes "not listed yet" for "gone".

use std::collections::{BTreeSet, HashMap};
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::Endpoints;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIGroupList, ObjectMeta};
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::reflector::{self, Lookup, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use warren_controllers::queue::{self, Queue};

use super::worker::{self, Next};
use super::{Context, Ctx, HostSide, SyncError, cached, merge_patch, meta, object_key};
use crate::names::{Names, kind_annotation_value, labels};
use crate::translate::ingress::referenced_secrets;

/// Which of the optional kinds the host serves (discovered in [`super::prepare`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostKinds {
    /// networking.k8s.io/v1 ingresses (1.19+).
    pub ingresses: bool,
    /// networking.k8s.io/v1 ingressclasses (1.19+).
    pub ingress_classes: bool,
    /// networking.k8s.io/v1 networkpolicies.
    pub network_policies: bool,
    /// The policy version serving poddisruptionbudgets: `v1` (1.21+), else `v1beta1`.
    pub pdb_version: Option<String>,
    /// scheduling.k8s.io/v1 priorityclasses.
    pub priority_classes: bool,
    /// storage.k8s.io/v1 storageclasses.
    pub storage_classes: bool,
}

/// The group versions whose resources say which optional kinds a host serves.
const GROUP_VERSIONS: [(&str, &str); 5] = [
    ("networking.k8s.io", "v1"),
    ("policy", "v1"),
    ("policy", "v1beta1"),
    ("scheduling.k8s.io", "v1"),
    ("storage.k8s.io", "v1"),
];

impl HostKinds {
    /// From the resources a host serves, as `group/version/resource`.
    pub fn from_served(served: &BTreeSet<String>) -> HostKinds {
        let has = |resource: &str| served.contains(resource);
        HostKinds {
            ingresses: has("networking.k8s.io/v1/ingresses"),
            ingress_classes: has("networking.k8s.io/v1/ingressclasses"),
            network_policies: has("networking.k8s.io/v1/networkpolicies"),
            pdb_version: if has("policy/v1/poddisruptionbudgets") {
                Some("v1".to_owned())
            } else if has("policy/v1beta1/poddisruptionbudgets") {
                Some("v1beta1".to_owned())
            } else {
                None
            },
            priority_classes: has("scheduling.k8s.io/v1/priorityclasses"),
            storage_classes: has("storage.k8s.io/v1/storageclasses"),
        }
    }
}

/// Reads which of the optional kinds the host serves: the resources of the group versions
/// its group list names (an error when one of those cannot be read; the caller retries).
pub async fn discover(host: &Client, groups: &APIGroupList) -> Result<HostKinds, SyncError> {
    let mut served = BTreeSet::new();
    for (group, version) in GROUP_VERSIONS {
        let listed = groups
            .groups
            .iter()
            .any(|g| g.name == group && g.versions.iter().any(|v| v.version == version));
        if !listed {
            continue;
        }
        let group_version = format!("{group}/{version}");
        let resources = host
            .list_api_group_resources(&group_version)
            .await
            .map_err(|source| SyncError::Api {
                what: format!("listing the host's {group_version} resources"),
                source,
            })?;
        served.extend(
            resources
                .resources
                .into_iter()
                .map(|r| format!("{group_version}/{}", r.name)),
        );
    }
    Ok(HostKinds::from_served(&served))
}

/// The virtual and host caches of one kind and its queue of virtual keys.
pub(crate) struct Pair<K: Resource + 'static>
where
    K::DynamicType: Eq + Hash + Clone,
{
    pub v: Store<K>,
    pub h: Store<K>,
    pub q: Queue,
}

/// Host PodDisruptionBudgets are read in whichever policy version the host serves.
pub(crate) struct PdbStores {
    pub v: Store<PodDisruptionBudget>,
    pub h: Store<DynamicObject>,
    pub resource: ApiResource,
    pub q: Queue,
}

/// Caches and queues of the optional kinds that are on and served by the host.
#[derive(Default)]
pub(crate) struct Kinds {
    pub ingresses: Option<Pair<Ingress>>,
    pub ingress_classes: Option<Pair<IngressClass>>,
    pub network_policies: Option<Pair<NetworkPolicy>>,
    /// The virtual `kube-system/kube-dns` Endpoints (where the DNS listens), for the DNS egress
    /// rule of network policies.
    pub kube_dns: Option<Store<Endpoints>>,
    pub pdbs: Option<PdbStores>,
    /// toHost or fromHost (never both: vcluster.yaml rejects it).
    pub priority_classes: Option<Pair<PriorityClass>>,
    pub storage_classes: Option<Pair<StorageClass>>,
}

/// Whether a cache holds its first list.
pub(crate) fn ready<K>(store: &Store<K>) -> bool
where
    K: Lookup + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    store
        .wait_until_ready()
        .now_or_never()
        .is_some_and(|r| r.is_ok())
}

/// How long a sync waits for a cache still listing.
pub(crate) const NOT_READY: Next = Next::After(Duration::from_millis(500));

/// A watch feeding a cache; `on_change` runs for every added, changed or deleted object (told
/// whether it was deleted). Does not wait for the first list (see [`ready`]).
fn watch<K, F>(
    api: Api<K>,
    config: watcher::Config,
    dyntype: K::DynamicType,
    on_change: F,
) -> Store<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
    F: Fn(&K, bool) + Send + 'static,
{
    let writer = reflector::store::Writer::new(dyntype);
    let reader = writer.as_reader();
    let stream = watcher(api, config)
        .default_backoff()
        .modify(|o: &mut K| o.meta_mut().managed_fields = None)
        .reflect(writer);
    tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            match item {
                Ok(watcher::Event::Apply(obj) | watcher::Event::InitApply(obj)) => {
                    on_change(&obj, false)
                }
                Ok(watcher::Event::Delete(obj)) => on_change(&obj, true),
                Ok(_) => {}
                Err(error) => {
                    tracing::debug!(%error, "optional kind watch");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    reader
}

/// Every virtual `K`, its key queued on each change.
fn watch_virtual<K>(virt: &Client, q: &Queue) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let q = q.clone();
    watch(
        Api::<K>::all(virt.clone()),
        watcher::Config::default(),
        (),
        move |o: &K, _| q.add(object_key(o.meta())),
    )
}

/// The virtual key (`namespace/name`, or the name of a cluster-scoped object) of a host object
/// this virtual cluster synced from a `api_version`/`kind` object, if it is one.
pub(crate) fn virtual_key_of(
    names: &Names,
    host: &ObjectMeta,
    api_version: &str,
    kind: &str,
) -> Option<String> {
    let object = names.virtual_object(host, &kind_annotation_value(api_version, kind))?;
    Some(queue::key(object.namespace.as_deref(), &object.name))
}

/// The host objects of one kind this virtual cluster made, the virtual key each names queued.
fn watch_owned<K>(
    api: Api<K>,
    marker: String,
    dyntype: K::DynamicType,
    names: Names,
    kind: (&'static str, &'static str),
    q: &Queue,
) -> Store<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    let q = q.clone();
    let selector = format!("{}={marker}", labels::MANAGED_BY);
    watch(
        api,
        watcher::Config::default().labels(&selector),
        dyntype,
        move |o: &K, _| {
            if let Some(key) = virtual_key_of(&names, o.meta(), kind.0, kind.1) {
                q.add(key);
            }
        },
    )
}

/// Every host object of a cluster-scoped kind (mirrored by name).
fn watch_all<K>(host: &Client, q: &Queue) -> Store<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::ClusterResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    let q = q.clone();
    watch(
        Api::<K>::all(host.clone()),
        watcher::Config::default(),
        (),
        move |o: &K, _| q.add(o.meta().name.clone().unwrap_or_default()),
    )
}

fn unserved(key: &str, what: &str) {
    tracing::warn!(
        key,
        "the host cluster does not serve {what}; {key} is not synced"
    );
}

impl Kinds {
    /// Starts the caches of the kinds that are on; `secrets` gets the Secrets ingresses use.
    pub(crate) fn start(host: &HostSide, virt: &Client, secrets: &Queue) -> Kinds {
        let config = &host.options.config;
        let served = &host.info.kinds;
        let names = host.names.clone();
        let hc = &host.client;
        let host_ns = names.own_host_namespace().to_owned();
        let vc = names.vcluster().to_owned();
        let cluster_marker = names.marker_label_cluster();
        let to_host = &config.sync.to_host;
        let from_host = &config.sync.from_host;
        let mut kinds = Kinds::default();

        if to_host.ingresses {
            if served.ingresses {
                let q = Queue::default();
                // Secrets an Ingress stops using are queued too, so their host copies can go.
                let used: Mutex<HashMap<String, BTreeSet<String>>> = Mutex::default();
                let (iq, sq) = (q.clone(), secrets.clone());
                let v = watch(
                    Api::<Ingress>::all(virt.clone()),
                    watcher::Config::default(),
                    (),
                    move |ingress: &Ingress, deleted: bool| {
                        let key = object_key(&ingress.metadata);
                        let now = referenced_secrets(ingress);
                        let before = {
                            let mut used = used.lock().unwrap_or_else(|e| e.into_inner());
                            if deleted {
                                used.remove(&key)
                            } else {
                                used.insert(key.clone(), now.clone())
                            }
                        }
                        .unwrap_or_default();
                        for secret in now.union(&before) {
                            sq.add(secret.clone());
                        }
                        iq.add(key);
                    },
                );
                let h = watch_owned(
                    Api::<Ingress>::namespaced(hc.clone(), &host_ns),
                    vc.clone(),
                    (),
                    names.clone(),
                    ("networking.k8s.io/v1", "Ingress"),
                    &q,
                );
                kinds.ingresses = Some(Pair { v, h, q });
            } else {
                unserved("sync.toHost.ingresses", "networking.k8s.io/v1 Ingresses");
            }
        }
        if from_host.ingress_classes.enabled {
            if served.ingress_classes {
                let q = Queue::default();
                kinds.ingress_classes = Some(Pair {
                    v: watch_virtual::<IngressClass>(virt, &q),
                    h: watch_all::<IngressClass>(hc, &q),
                    q,
                });
            } else {
                unserved(
                    "sync.fromHost.ingressClasses",
                    "networking.k8s.io/v1 IngressClasses",
                );
            }
        }
        if to_host.network_policies {
            if served.network_policies {
                let q = Queue::default();
                let v = watch_virtual::<NetworkPolicy>(virt, &q);
                let h = watch_owned(
                    Api::<NetworkPolicy>::namespaced(hc.clone(), &host_ns),
                    vc.clone(),
                    (),
                    names.clone(),
                    ("networking.k8s.io/v1", "NetworkPolicy"),
                    &q,
                );
                if config.dns_enabled {
                    // A new DNS listener port changes every policy's DNS rule.
                    let (policies, pq) = (v.clone(), q.clone());
                    kinds.kube_dns = Some(watch(
                        Api::<Endpoints>::namespaced(virt.clone(), "kube-system"),
                        watcher::Config::default().fields("metadata.name=kube-dns"),
                        (),
                        move |_: &Endpoints, _| {
                            for policy in policies.state() {
                                pq.add(object_key(&policy.metadata));
                            }
                        },
                    ));
                }
                kinds.network_policies = Some(Pair { v, h, q });
            } else {
                unserved(
                    "sync.toHost.networkPolicies",
                    "networking.k8s.io/v1 NetworkPolicies",
                );
            }
        }
        if to_host.pod_disruption_budgets {
            if let Some(version) = served.pdb_version.clone() {
                let q = Queue::default();
                let resource = ApiResource {
                    group: "policy".into(),
                    api_version: format!("policy/{version}"),
                    version,
                    kind: "PodDisruptionBudget".into(),
                    plural: "poddisruptionbudgets".into(),
                };
                let v = watch_virtual::<PodDisruptionBudget>(virt, &q);
                let h = watch_owned(
                    Api::<DynamicObject>::namespaced_with(hc.clone(), &host_ns, &resource),
                    vc.clone(),
                    resource.clone(),
                    names.clone(),
                    ("policy/v1", "PodDisruptionBudget"),
                    &q,
                );
                kinds.pdbs = Some(PdbStores { v, h, resource, q });
            } else {
                unserved(
                    "sync.toHost.podDisruptionBudgets",
                    "policy/v1 or policy/v1beta1 PodDisruptionBudgets",
                );
            }
        }
        let priority_to_host = to_host.priority_classes;
        if priority_to_host || from_host.priority_classes.enabled {
            let key = if priority_to_host {
                "sync.toHost.priorityClasses"
            } else {
                "sync.fromHost.priorityClasses"
            };
            if served.priority_classes {
                let q = Queue::default();
                let v = watch_virtual::<PriorityClass>(virt, &q);
                let h = if priority_to_host {
                    watch_owned(
                        Api::<PriorityClass>::all(hc.clone()),
                        cluster_marker.clone(),
                        (),
                        names.clone(),
                        ("scheduling.k8s.io/v1", "PriorityClass"),
                        &q,
                    )
                } else {
                    watch_all::<PriorityClass>(hc, &q)
                };
                kinds.priority_classes = Some(Pair { v, h, q });
            } else {
                unserved(key, "scheduling.k8s.io/v1 PriorityClasses");
            }
        }
        let storage_to_host = to_host.storage_classes;
        if storage_to_host || from_host.storage_classes.enabled {
            let key = if storage_to_host {
                "sync.toHost.storageClasses"
            } else {
                "sync.fromHost.storageClasses"
            };
            if served.storage_classes {
                let q = Queue::default();
                let v = watch_virtual::<StorageClass>(virt, &q);
                let h = if storage_to_host {
                    watch_owned(
                        Api::<StorageClass>::all(hc.clone()),
                        cluster_marker,
                        (),
                        names.clone(),
                        ("storage.k8s.io/v1", "StorageClass"),
                        &q,
                    )
                } else {
                    watch_all::<StorageClass>(hc, &q)
                };
                kinds.storage_classes = Some(Pair { v, h, q });
            } else {
                unserved(key, "storage.k8s.io/v1 StorageClasses");
            }
        }
        kinds
    }
}

/// Worker count of each optional kind's loop.
const WORKERS: usize = 2;

/// Starts the loops of the kinds [`Kinds::start`] set up.
pub(crate) fn spawn_loops(ctx: &Arc<Ctx>) {
    macro_rules! sync_loop {
        ($name:literal, $queue:expr, $sync:path) => {{
            let c = ctx.clone();
            worker::spawn(
                $name,
                $queue.clone(),
                WORKERS,
                ctx.metrics.clone(),
                move |key| {
                    let c = c.clone();
                    async move { $sync(&c, &key).await }
                },
            );
        }};
    }
    let kinds = &ctx.kinds;
    if let Some(pair) = &kinds.ingresses {
        sync_loop!("ingresses", pair.q, super::ingresses::sync);
    }
    if let Some(pair) = &kinds.ingress_classes {
        sync_loop!("ingressclasses", pair.q, super::classes::sync_ingress_class);
    }
    if let Some(pair) = &kinds.network_policies {
        sync_loop!("networkpolicies", pair.q, super::network_policies::sync);
    }
    if let Some(pdbs) = &kinds.pdbs {
        sync_loop!("poddisruptionbudgets", pdbs.q, super::pdbs::sync);
    }
    if let Some(pair) = &kinds.priority_classes {
        sync_loop!(
            "priorityclasses",
            pair.q,
            super::classes::sync_priority_class
        );
    }
    if let Some(pair) = &kinds.storage_classes {
        sync_loop!("storageclasses", pair.q, super::classes::sync_storage_class);
    }
}

/// Deletes a host object by name if it still has `uid`; gone already is fine.
pub(crate) async fn delete_host<K>(
    api: &Api<K>,
    name: &str,
    uid: Option<&str>,
    what: &str,
) -> Result<(), SyncError>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    match api.delete(name, &super::delete_uid(uid)).await {
        Ok(_) => Ok(()),
        Err(e) if super::is_status(&e, 404) || super::is_status(&e, 409) => Ok(()),
        Err(source) => Err(SyncError::Api {
            what: format!("deleting host {what} {name}"),
            source,
        }),
    }
}

/// What [`sync_namespaced`] left for the kind's own loop.
pub(crate) enum Synced<K> {
    /// Nothing more to do now.
    Done(Next),
    /// Both objects exist and the host one says what the virtual one does (as the caches had
    /// them before this sync's writes).
    Both {
        virtual_object: Arc<K>,
        host: Arc<K>,
    },
}

/// The host copy of a namespaced virtual object kept in step: created, its spec and metadata
/// updated (labels and annotations both ways, see [`meta`]), deleted with the virtual object
/// (also an orphan left from before a restart). `desired` translates the virtual object (the
/// current host object at hand); `same_spec` says whether the host object needs no update.
pub(crate) async fn sync_namespaced<K>(
    ctx: &Ctx,
    pair: &Pair<K>,
    key: &str,
    desired: impl Fn(&K, Option<&K>) -> K,
    same_spec: impl Fn(&K, &K) -> bool,
) -> Result<Synced<K>, SyncError>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + k8s_openapi::Resource
        + Clone
        + serde::Serialize
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    use kube::api::{PatchParams, PostParams};
    let kind = <K as k8s_openapi::Resource>::KIND;
    let api_version = <K as k8s_openapi::Resource>::API_VERSION;
    if !ready(&pair.v) || !ready(&pair.h) {
        return Ok(Synced::Done(NOT_READY));
    }
    let (Some(namespace), name) = queue::split(key) else {
        return Ok(Synced::Done(Next::Done));
    };
    let names = ctx.names();
    let virtual_object = cached(&pair.v, Some(namespace), name);
    let host_name = names.host_object(name, namespace);
    let host = cached(&pair.h, Some(&host_name.namespace), &host_name.name)
        .filter(|h| virtual_key_of(names, h.meta(), api_version, kind).as_deref() == Some(key));
    let api: Api<K> = Api::namespaced(ctx.host.client.clone(), &host_name.namespace);
    let Some(virtual_object) = virtual_object else {
        if let Some(host) = host {
            delete_host(&api, &host_name.name, host.meta().uid.as_deref(), kind).await?;
        }
        return Ok(Synced::Done(Next::Done));
    };
    let mut wanted = desired(&virtual_object, host.as_deref());
    meta::mark_managed_labels(wanted.meta_mut(), virtual_object.meta().labels.as_ref());
    let Some(host) = host else {
        return match api.create(&PostParams::default(), &wanted).await {
            Ok(_) => Ok(Synced::Done(Next::Done)),
            // Created meanwhile; the host cache brings it.
            Err(e) if super::is_status(&e, 409) => {
                Ok(Synced::Done(Next::After(Duration::from_millis(500))))
            }
            Err(e) => Err(e).ctx(|| format!("creating host {kind} for {key}")),
        };
    };
    let merged = meta::merge(names, virtual_object.meta(), host.meta(), wanted.meta());
    if merged.virtual_changed() {
        let patch = meta::add_metadata_patch(&merged.virtual_labels, &merged.virtual_annotations);
        let virtual_api: Api<K> = ctx.virtual_api(namespace);
        virtual_api
            .patch(name, &PatchParams::default(), &merge_patch(&patch))
            .await
            .ctx(|| format!("updating metadata of virtual {kind} {key}"))?;
    }
    if !same_spec(&host, &wanted) || merged.host_changed(host.meta()) {
        {
            let m = wanted.meta_mut();
            m.labels = Some(merged.host_labels);
            m.annotations = Some(merged.host_annotations);
            m.resource_version = host.meta().resource_version.clone();
        }
        match api
            .replace(&host_name.name, &PostParams::default(), &wanted)
            .await
        {
            Ok(_) => {}
            Err(e) if super::is_status(&e, 409) => {
                return Ok(Synced::Done(Next::After(Duration::from_millis(200))));
            }
            Err(e) => return Err(e).ctx(|| format!("updating host {kind} {}", host_name.name)),
        }
    }
    Ok(Synced::Both {
        virtual_object,
        host,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_1_20_host_has_pdbs_in_v1beta1_only() {
        let served: BTreeSet<String> = [
            "networking.k8s.io/v1/ingresses",
            "networking.k8s.io/v1/ingressclasses",
            "networking.k8s.io/v1/networkpolicies",
            "policy/v1beta1/poddisruptionbudgets",
            "policy/v1beta1/podsecuritypolicies",
            "scheduling.k8s.io/v1/priorityclasses",
            "storage.k8s.io/v1/storageclasses",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        assert_eq!(
            HostKinds::from_served(&served),
            HostKinds {
                ingresses: true,
                ingress_classes: true,
                network_policies: true,
                pdb_version: Some("v1beta1".into()),
                priority_classes: true,
                storage_classes: true,
            }
        );
        let mut newer = served.clone();
        newer.insert("policy/v1/poddisruptionbudgets".into());
        assert_eq!(
            HostKinds::from_served(&newer).pdb_version.as_deref(),
            Some("v1")
        );
        // a 1.18 host: networking.k8s.io/v1 without ingresses
        let old: BTreeSet<String> = ["networking.k8s.io/v1/networkpolicies".to_owned()].into();
        let kinds = HostKinds::from_served(&old);
        assert!(kinds.network_policies && !kinds.ingresses && !kinds.ingress_classes);
        assert_eq!(kinds.pdb_version, None);
    }
}
