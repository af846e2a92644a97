//! `networking.replicateServices` (legacy `mapServices`): Services copied across on purpose.
//!
//! - `fromHost` (`hostNs/svc` -> `virtualNs/svc`): a virtual Service that stands for a host
//!   Service, with the host's cluster IP and ports (headless: the host Endpoints' addresses;
//!   ExternalName: its name), so pods reach host services by a virtual name. It is born with
//!   that IP (the API server's create hook lets replicas through without a host copy), is
//!   recreated when the host Service's IP changes and deleted when the host Service goes.
//! - `toHost` (`virtualNs/svc` -> `[hostNs/]svc`, default the syncer's host namespace): a host
//!   Service selecting the host pods the virtual Service selects, with its ports, so host
//!   workloads reach virtual ones by a plain host name. Deleted with the virtual Service.
//!
//! Replicas carry `vcluster.loft.sh/controlled-by: vcluster` (see
//! [`crate::translate::replicate`]): the ordinary Service and Endpoints syncs skip them, and at
//! start-up the ones no mapping wants any more (the mapping was removed) are deleted on both
//! sides. Each mapping's host Service (and Endpoints) is watched by name; virtual changes come
//! from the virtual Service cache, whose callback queues the keys [`virtual_keys`] lists.

use std::collections::{BTreeSet, HashSet};
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use warren_controllers::queue::{self, Queue};

use super::worker::{self, Next};
use super::{Context, Ctx, SyncError, cached, is_status};
use crate::config::SyncerConfig;
use crate::names::Names;
use crate::translate::replicate::{
    host_replica, host_replica_differs, host_replica_needs_recreate, host_replica_selector,
    host_replica_update, is_own_host_replica, is_replicated, virtual_replica,
    virtual_replica_differs, virtual_replica_endpoints, virtual_replica_needs_recreate,
};

/// One replicated Service, both ends resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub host_namespace: String,
    pub host_name: String,
    pub virtual_namespace: String,
    pub virtual_name: String,
}

impl Mapping {
    pub fn virtual_key(&self) -> String {
        queue::key(Some(&self.virtual_namespace), &self.virtual_name)
    }

    fn host_key(&self) -> (String, String) {
        (self.host_namespace.clone(), self.host_name.clone())
    }
}

/// `fromHost` mappings; a host side without namespace is in `own_host_namespace`.
pub fn from_host_mappings(config: &SyncerConfig, own_host_namespace: &str) -> Vec<Mapping> {
    config
        .networking
        .replicate_services
        .from_host
        .iter()
        .map(|m| Mapping {
            host_namespace: m
                .from
                .namespace
                .clone()
                .unwrap_or_else(|| own_host_namespace.to_owned()),
            host_name: m.from.name.clone(),
            virtual_namespace: m.to.namespace.clone().unwrap_or_default(),
            virtual_name: m.to.name.clone(),
        })
        .collect()
}

/// `toHost` mappings; a host side without namespace is in `own_host_namespace`.
pub fn to_host_mappings(config: &SyncerConfig, own_host_namespace: &str) -> Vec<Mapping> {
    config
        .networking
        .replicate_services
        .to_host
        .iter()
        .map(|m| Mapping {
            host_namespace: m
                .to
                .namespace
                .clone()
                .unwrap_or_else(|| own_host_namespace.to_owned()),
            host_name: m.to.name.clone(),
            virtual_namespace: m.from.namespace.clone().unwrap_or_default(),
            virtual_name: m.from.name.clone(),
        })
        .collect()
}

/// Virtual Service keys (`namespace/name`) whose changes the replication loop handles.
pub fn virtual_keys(config: &SyncerConfig) -> HashSet<String> {
    let replicated = &config.networking.replicate_services;
    replicated
        .from_host
        .iter()
        .map(|m| &m.to)
        .chain(replicated.to_host.iter().map(|m| &m.from))
        .map(|r| queue::key(r.namespace.as_deref(), &r.name))
        .collect()
}

/// Virtual replicas (`namespace/name`, from the cache) that no `fromHost` mapping wants.
pub fn stale_virtual_replicas<'a>(
    services: impl IntoIterator<Item = &'a ObjectMeta>,
    from_host: &[Mapping],
) -> Vec<(String, String)> {
    let wanted: BTreeSet<String> = from_host.iter().map(Mapping::virtual_key).collect();
    services
        .into_iter()
        .filter(|m| is_replicated(m))
        .map(|m| {
            (
                m.namespace.clone().unwrap_or_default(),
                m.name.clone().unwrap_or_default(),
            )
        })
        .filter(|(ns, name)| !wanted.contains(&queue::key(Some(ns), name)))
        .collect()
}

/// Host replicas of this virtual cluster that no `toHost` mapping wants.
pub fn stale_host_replicas<'a>(
    names: &Names,
    services: impl IntoIterator<Item = &'a ObjectMeta>,
    to_host: &[Mapping],
) -> Vec<(String, String, Option<String>)> {
    let wanted: BTreeSet<(String, String)> = to_host.iter().map(Mapping::host_key).collect();
    services
        .into_iter()
        .filter(|m| is_own_host_replica(names, m))
        .map(|m| {
            (
                m.namespace.clone().unwrap_or_default(),
                m.name.clone().unwrap_or_default(),
                m.uid.clone(),
            )
        })
        .filter(|(ns, name, _)| !wanted.contains(&(ns.clone(), name.clone())))
        .collect()
}

/// A mapping's host Service (and, for `fromHost`, Endpoints), watched by name.
struct FromHost {
    mapping: Mapping,
    service: Store<Service>,
    endpoints: Store<Endpoints>,
}

struct ToHost {
    mapping: Mapping,
    service: Store<Service>,
}

pub(crate) struct HostWatches {
    from_host: Vec<FromHost>,
    to_host: Vec<ToHost>,
}

/// Caches the host objects named `name` in `namespace`; every change queues `key`. Does not
/// wait for the first list (the host may not let us list there; [`ready`] says when it did).
fn watch_named<K>(
    client: &Client,
    namespace: &str,
    name: &str,
    queue: Queue,
    key: String,
) -> Store<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let stream = watcher(Api::<K>::namespaced(client.clone(), namespace), config)
        .default_backoff()
        .reflect(writer);
    let (namespace, name) = (namespace.to_owned(), name.to_owned());
    tokio::spawn(async move {
        futures::pin_mut!(stream);
        let mut warned = false;
        while let Some(item) = stream.next().await {
            match item {
                Ok(
                    watcher::Event::Apply(_)
                    | watcher::Event::InitApply(_)
                    | watcher::Event::Delete(_)
                    | watcher::Event::InitDone,
                ) => queue.add(key.clone()),
                Ok(watcher::Event::Init) => {}
                Err(e) => {
                    // Said once (RBAC may keep us out of that namespace); retried quietly.
                    if !std::mem::replace(&mut warned, true) {
                        tracing::warn!(error = %e, kind = %K::kind(&()), %namespace, %name, "cannot watch the host side of a replicated service; retrying");
                    } else {
                        tracing::debug!(error = %e, kind = %K::kind(&()), %namespace, %name, "replicated service watch");
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    reader
}

/// Whether a cache holds its first list.
fn ready<K>(store: &Store<K>) -> bool
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    matches!(store.wait_until_ready().now_or_never(), Some(Ok(())))
}

impl HostWatches {
    fn start(ctx: &Ctx, from_host: Vec<Mapping>, to_host: Vec<Mapping>) -> HostWatches {
        let client = &ctx.host.client;
        let queue = &ctx.q.replicated;
        HostWatches {
            from_host: from_host
                .into_iter()
                .map(|m| FromHost {
                    service: watch_named(
                        client,
                        &m.host_namespace,
                        &m.host_name,
                        queue.clone(),
                        m.virtual_key(),
                    ),
                    endpoints: watch_named(
                        client,
                        &m.host_namespace,
                        &m.host_name,
                        queue.clone(),
                        m.virtual_key(),
                    ),
                    mapping: m,
                })
                .collect(),
            to_host: to_host
                .into_iter()
                .map(|m| ToHost {
                    service: watch_named(
                        client,
                        &m.host_namespace,
                        &m.host_name,
                        queue.clone(),
                        m.virtual_key(),
                    ),
                    mapping: m,
                })
                .collect(),
        }
    }
}

/// Removes stale replicas (also when vcluster.yaml asks for none: its mappings were removed),
/// then starts the replication loop if it asks for any: host watches, then the workers.
pub(crate) fn spawn(ctx: &Arc<Ctx>) {
    let own = ctx.host_namespace().to_owned();
    let from_host = from_host_mappings(ctx.config(), &own);
    let to_host = to_host_mappings(ctx.config(), &own);
    let ctx = ctx.clone();
    tokio::spawn(async move {
        let any = !(from_host.is_empty() && to_host.is_empty());
        let watches = Arc::new(HostWatches::start(&ctx, from_host, to_host));
        let mut delay = Duration::from_millis(500);
        for attempt in 1..=5 {
            match remove_stale(&ctx, &watches).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "removing stale replicated services");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
            }
        }
        if !any {
            return;
        }
        let c = ctx.clone();
        worker::spawn(
            "replicated-services",
            ctx.q.replicated.clone(),
            super::OTHER_WORKERS,
            ctx.metrics.clone(),
            move |key| {
                let (c, w) = (c.clone(), watches.clone());
                async move { sync(&c, &w, &key).await }
            },
        );
        for key in virtual_keys(ctx.config()) {
            ctx.q.replicated.add(key);
        }
    });
}

/// Deletes the replicas of mappings that are gone (vcluster.yaml changed between runs).
async fn remove_stale(ctx: &Ctx, watches: &HostWatches) -> Result<(), SyncError> {
    let from_host: Vec<Mapping> = watches
        .from_host
        .iter()
        .map(|w| w.mapping.clone())
        .collect();
    let to_host: Vec<Mapping> = watches.to_host.iter().map(|w| w.mapping.clone()).collect();

    let virtual_services = ctx.v.services.state();
    for (namespace, name) in
        stale_virtual_replicas(virtual_services.iter().map(|s| &s.metadata), &from_host)
    {
        if let Some(service) = cached(&ctx.v.services, Some(&namespace), &name) {
            tracing::info!(service = %format!("{namespace}/{name}"), "deleting a virtual replicated service no mapping wants");
            delete_virtual_replica(ctx, &service).await?;
        }
    }

    // Everywhere when the host lets us list there, else where replicas may be.
    let selector = ListParams::default().labels(&host_replica_selector(ctx.names()));
    let host_services = match Api::<Service>::all(ctx.host.client.clone())
        .list(&selector)
        .await
    {
        Ok(list) => list.items,
        Err(e) if is_status(&e, 403) => {
            let mut namespaces: BTreeSet<String> =
                to_host.iter().map(|m| m.host_namespace.clone()).collect();
            namespaces.insert(ctx.host_namespace().to_owned());
            let mut items = Vec::new();
            for namespace in namespaces {
                let api: Api<Service> = Api::namespaced(ctx.host.client.clone(), &namespace);
                match api.list(&selector).await {
                    Ok(list) => items.extend(list.items),
                    Err(e) if is_status(&e, 403) => {
                        tracing::debug!(%namespace, "not allowed to list host services")
                    }
                    Err(e) => {
                        return Err(e).ctx(|| format!("listing host services in {namespace}"));
                    }
                }
            }
            items
        }
        Err(e) => return Err(e).ctx(|| "listing replicated host services".into()),
    };
    for (namespace, name, uid) in stale_host_replicas(
        ctx.names(),
        host_services.iter().map(|s| &s.metadata),
        &to_host,
    ) {
        tracing::info!(service = %format!("{namespace}/{name}"), "deleting a host replicated service no mapping wants");
        let api: Api<Service> = Api::namespaced(ctx.host.client.clone(), &namespace);
        match api.delete(&name, &super::delete_uid(uid.as_deref())).await {
            Ok(_) => {}
            Err(e) if is_status(&e, 404) || is_status(&e, 409) => {}
            Err(e) => return Err(e).ctx(|| format!("deleting host service {namespace}/{name}")),
        }
    }
    Ok(())
}

fn sooner(a: Next, b: Next) -> Next {
    match (a, b) {
        (Next::After(x), Next::After(y)) => Next::After(x.min(y)),
        (Next::After(x), Next::Done) | (Next::Done, Next::After(x)) => Next::After(x),
        (Next::Done, Next::Done) => Next::Done,
    }
}

/// Syncs every mapping that has the virtual Service `key` at one end.
pub(crate) async fn sync(ctx: &Ctx, watches: &HostWatches, key: &str) -> Result<Next, SyncError> {
    let mut next = Next::Done;
    for watch in watches
        .from_host
        .iter()
        .filter(|w| w.mapping.virtual_key() == key)
    {
        next = sooner(next, sync_from_host(ctx, watch).await?);
    }
    for watch in watches
        .to_host
        .iter()
        .filter(|w| w.mapping.virtual_key() == key)
    {
        next = sooner(next, sync_to_host(ctx, watch).await?);
    }
    Ok(next)
}

/// How long to wait for a cache that has not listed yet (or a write the caches lag behind).
const CACHE_LAG: Duration = Duration::from_millis(300);

async fn delete_virtual_replica(ctx: &Ctx, service: &Service) -> Result<(), SyncError> {
    let namespace = service.metadata.namespace.as_deref().unwrap_or_default();
    let name = service.metadata.name.as_deref().unwrap_or_default();
    let api: Api<Service> = ctx.virtual_api(namespace);
    match api
        .delete(name, &super::delete_uid(service.metadata.uid.as_deref()))
        .await
    {
        Ok(_) => {}
        Err(e) if is_status(&e, 404) || is_status(&e, 409) => {}
        Err(e) => return Err(e).ctx(|| format!("deleting virtual service {namespace}/{name}")),
    }
    if let Some(endpoints) =
        cached(&ctx.v.endpoints, Some(namespace), name).filter(|e| is_replicated(&e.metadata))
    {
        let api: Api<Endpoints> = ctx.virtual_api(namespace);
        match api
            .delete(name, &super::delete_uid(endpoints.metadata.uid.as_deref()))
            .await
        {
            Ok(_) => {}
            Err(e) if is_status(&e, 404) || is_status(&e, 409) => {}
            Err(e) => {
                return Err(e).ctx(|| format!("deleting virtual endpoints {namespace}/{name}"));
            }
        }
    }
    Ok(())
}

async fn ensure_virtual_namespace(ctx: &Ctx, namespace: &str) -> Result<(), SyncError> {
    if cached(&ctx.v.namespaces, None, namespace).is_some() {
        return Ok(());
    }
    let api: Api<Namespace> = Api::all(ctx.virt.clone());
    let wanted = Namespace {
        metadata: ObjectMeta {
            name: Some(namespace.to_owned()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    match api.create(&PostParams::default(), &wanted).await {
        Ok(_) => Ok(()),
        Err(e) if is_status(&e, 409) => Ok(()),
        Err(e) => Err(e).ctx(|| format!("creating virtual namespace {namespace}")),
    }
}

/// `fromHost`: the virtual replica follows its host Service.
async fn sync_from_host(ctx: &Ctx, watch: &FromHost) -> Result<Next, SyncError> {
    if !ready(&watch.service) || !ready(&watch.endpoints) {
        return Ok(Next::After(CACHE_LAG));
    }
    let m = &watch.mapping;
    let (namespace, name) = (m.virtual_namespace.as_str(), m.virtual_name.as_str());
    let key = m.virtual_key();
    let host = cached(&watch.service, Some(&m.host_namespace), &m.host_name);
    let current = cached(&ctx.v.services, Some(namespace), name);
    let api: Api<Service> = ctx.virtual_api(namespace);
    let Some(host) = host else {
        if let Some(current) = current.filter(|c| is_replicated(&c.metadata)) {
            tracing::info!(service = %key, host = %format!("{}/{}", m.host_namespace, m.host_name), "host service gone: deleting its virtual replica");
            delete_virtual_replica(ctx, &current).await?;
        }
        return Ok(Next::Done);
    };
    let Some(desired) = virtual_replica(&host, namespace, name) else {
        // The host has not assigned a cluster IP yet.
        return Ok(Next::After(CACHE_LAG));
    };
    match current {
        Some(current) if !is_replicated(&current.metadata) => {
            tracing::warn!(service = %key, "a virtual service of this name exists and is not a replica; not replacing it");
            return Ok(Next::Done);
        }
        Some(current) if virtual_replica_needs_recreate(&current, &desired) => {
            tracing::info!(service = %key, "host service address changed: recreating its virtual replica");
            delete_virtual_replica(ctx, &current).await?;
            return match api.create(&PostParams::default(), &desired).await {
                Ok(_) => Ok(Next::After(CACHE_LAG)),
                Err(e) if is_status(&e, 409) => Ok(Next::After(CACHE_LAG)),
                Err(e) => Err(e).ctx(|| format!("creating virtual service {key}")),
            };
        }
        Some(current) if virtual_replica_differs(&current, &desired) => {
            let mut updated = desired.clone();
            updated.metadata.resource_version = current.metadata.resource_version.clone();
            match api.replace(name, &PostParams::default(), &updated).await {
                Ok(_) => {}
                Err(e) if is_status(&e, 409) => return Ok(Next::After(CACHE_LAG)),
                Err(e) => return Err(e).ctx(|| format!("updating virtual service {key}")),
            }
        }
        Some(_) => {}
        None => {
            ensure_virtual_namespace(ctx, namespace).await?;
            match api.create(&PostParams::default(), &desired).await {
                Ok(_) => {}
                Err(e) if is_status(&e, 409) => return Ok(Next::After(CACHE_LAG)),
                Err(e) => return Err(e).ctx(|| format!("creating virtual service {key}")),
            }
        }
    }

    let host_endpoints = cached(&watch.endpoints, Some(&m.host_namespace), &m.host_name);
    let desired = virtual_replica_endpoints(&host, host_endpoints.as_deref(), namespace, name);
    let current = cached(&ctx.v.endpoints, Some(namespace), name);
    let api: Api<Endpoints> = ctx.virtual_api(namespace);
    match (desired, current) {
        (None, Some(current)) if is_replicated(&current.metadata) => {
            match api
                .delete(name, &super::delete_uid(current.metadata.uid.as_deref()))
                .await
            {
                Ok(_) => {}
                Err(e) if is_status(&e, 404) || is_status(&e, 409) => {}
                Err(e) => return Err(e).ctx(|| format!("deleting virtual endpoints {key}")),
            }
        }
        (Some(desired), None) => match api.create(&PostParams::default(), &desired).await {
            Ok(_) => {}
            Err(e) if is_status(&e, 409) => return Ok(Next::After(CACHE_LAG)),
            Err(e) => return Err(e).ctx(|| format!("creating virtual endpoints {key}")),
        },
        (Some(desired), Some(current))
            if current.subsets != desired.subsets || !is_replicated(&current.metadata) =>
        {
            let mut updated = desired;
            updated.metadata.resource_version = current.metadata.resource_version.clone();
            match api.replace(name, &PostParams::default(), &updated).await {
                Ok(_) => {}
                Err(e) if is_status(&e, 409) || is_status(&e, 404) => {
                    return Ok(Next::After(CACHE_LAG));
                }
                Err(e) => return Err(e).ctx(|| format!("updating virtual endpoints {key}")),
            }
        }
        _ => {}
    }
    Ok(Next::Done)
}

/// `toHost`: the host replica follows its virtual Service.
async fn sync_to_host(ctx: &Ctx, watch: &ToHost) -> Result<Next, SyncError> {
    if !ready(&watch.service) {
        return Ok(Next::After(CACHE_LAG));
    }
    let m = &watch.mapping;
    let names = ctx.names();
    let host_key = format!("{}/{}", m.host_namespace, m.host_name);
    let virtual_service = cached(&ctx.v.services, Some(&m.virtual_namespace), &m.virtual_name);
    let current = cached(&watch.service, Some(&m.host_namespace), &m.host_name);
    let api: Api<Service> = Api::namespaced(ctx.host.client.clone(), &m.host_namespace);
    let Some(virtual_service) = virtual_service else {
        if let Some(current) = current.filter(|c| is_own_host_replica(names, &c.metadata)) {
            tracing::info!(service = %host_key, "virtual service gone: deleting its host replica");
            match api
                .delete(
                    &m.host_name,
                    &super::delete_uid(current.metadata.uid.as_deref()),
                )
                .await
            {
                Ok(_) => {}
                Err(e) if is_status(&e, 404) || is_status(&e, 409) => {}
                Err(e) => return Err(e).ctx(|| format!("deleting host service {host_key}")),
            }
        }
        return Ok(Next::Done);
    };
    let desired = host_replica(
        names,
        &virtual_service,
        &m.host_namespace,
        &m.host_name,
        ctx.host.owner.as_ref(),
    );
    let create = || async {
        match api.create(&PostParams::default(), &desired).await {
            Ok(_) => Ok(Next::Done),
            Err(e) if is_status(&e, 409) => Ok(Next::After(CACHE_LAG)),
            Err(e) => Err(e).ctx(|| format!("creating host service {host_key}")),
        }
    };
    match current {
        None => create().await,
        Some(current) if !is_own_host_replica(names, &current.metadata) => {
            tracing::warn!(service = %host_key, "a host service of this name exists and is not this virtual cluster's replica; not replacing it");
            Ok(Next::Done)
        }
        Some(current) if host_replica_needs_recreate(&current, &desired) => {
            match api
                .delete(
                    &m.host_name,
                    &super::delete_uid(current.metadata.uid.as_deref()),
                )
                .await
            {
                Ok(_) => {}
                Err(e) if is_status(&e, 404) || is_status(&e, 409) => {}
                Err(e) => return Err(e).ctx(|| format!("deleting host service {host_key}")),
            }
            create().await
        }
        Some(current) if host_replica_differs(&current, &desired) => {
            let updated = host_replica_update(&current, &desired);
            match api
                .replace(&m.host_name, &PostParams::default(), &updated)
                .await
            {
                Ok(_) => Ok(Next::Done),
                Err(e) if is_status(&e, 409) => Ok(Next::After(CACHE_LAG)),
                Err(e) => Err(e).ctx(|| format!("updating host service {host_key}")),
            }
        }
        Some(_) => Ok(Next::Done),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::names::NamespaceMode;

    fn config(yaml: &str) -> SyncerConfig {
        crate::config::parse(yaml).unwrap().config
    }

    const BOTH_WAYS: &str = "networking:\n  replicateServices:\n    fromHost:\n    - from: infra/db\n      to: apps/database\n    - from: cache\n      to: apps/cache\n    toHost:\n    - from: apps/api\n      to: api-export\n    - from: apps/web\n      to: shared/web\n";

    #[test]
    fn mappings_resolve_the_host_namespace() {
        let config = config(BOTH_WAYS);
        let mapping = |hns: &str, hn: &str, vns: &str, vn: &str| Mapping {
            host_namespace: hns.into(),
            host_name: hn.into(),
            virtual_namespace: vns.into(),
            virtual_name: vn.into(),
        };
        assert_eq!(
            from_host_mappings(&config, "vc-host"),
            [
                mapping("infra", "db", "apps", "database"),
                mapping("vc-host", "cache", "apps", "cache"),
            ]
        );
        assert_eq!(
            to_host_mappings(&config, "vc-host"),
            [
                mapping("vc-host", "api-export", "apps", "api"),
                mapping("shared", "web", "apps", "web"),
            ]
        );
        let keys: BTreeSet<String> = virtual_keys(&config).into_iter().collect();
        assert_eq!(
            keys,
            BTreeSet::from([
                "apps/database".to_owned(),
                "apps/cache".to_owned(),
                "apps/api".to_owned(),
                "apps/web".to_owned(),
            ])
        );
        // Legacy keys mean the same.
        let legacy = crate::config::parse(
            "mapServices:\n  fromHost:\n  - from: infra/db\n    to: apps/database\n  fromVirtual:\n  - from: apps/api\n    to: api-export\n",
        )
        .unwrap()
        .config;
        assert_eq!(from_host_mappings(&legacy, "h")[0].virtual_name, "database");
        assert_eq!(to_host_mappings(&legacy, "h")[0].host_name, "api-export");
        // Both are synced now: no "not synced yet" warning.
        assert!(super::super::not_synced_yet(&config).is_empty());
    }

    fn meta(namespace: &str, name: &str, labels: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            namespace: Some(namespace.into()),
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn stale_replicas_are_the_unmapped_marked_ones() {
        let config = config(BOTH_WAYS);
        let from_host = from_host_mappings(&config, "vc-host");
        let marked = [("vcluster.loft.sh/controlled-by", "vcluster")];
        let virtual_services = [
            meta("apps", "database", &marked),
            meta("apps", "old", &marked),
            meta("apps", "plain", &[]),
            meta("default", "database", &marked),
        ];
        assert_eq!(
            stale_virtual_replicas(&virtual_services, &from_host),
            [
                ("apps".to_owned(), "old".to_owned()),
                ("default".to_owned(), "database".to_owned()),
            ]
        );

        let names = Names::new("vc", "vc-host", NamespaceMode::Single);
        let to_host = to_host_mappings(&config, "vc-host");
        let ours = [
            ("vcluster.loft.sh/controlled-by", "vcluster"),
            ("vcluster.loft.sh/managed-by", "vc-host-x-vc"),
        ];
        let another_vclusters = [
            ("vcluster.loft.sh/controlled-by", "vcluster"),
            ("vcluster.loft.sh/managed-by", "other-x-vc"),
        ];
        let host_services = [
            meta("vc-host", "api-export", &ours),
            meta("shared", "web", &ours),
            meta("vc-host", "old-export", &ours),
            meta("shared", "theirs", &another_vclusters),
            meta(
                "vc-host",
                "web-x-apps-x-vc",
                &[("vcluster.loft.sh/managed-by", "vc")],
            ),
        ];
        assert_eq!(
            stale_host_replicas(&names, &host_services, &to_host),
            [(
                "vc-host".to_owned(),
                "old-export".to_owned(),
                Some("uid-old-export".to_owned())
            )]
        );
    }

    #[test]
    fn earliest_retry_wins() {
        let ms = Duration::from_millis;
        assert_eq!(sooner(Next::Done, Next::Done), Next::Done);
        assert_eq!(sooner(Next::After(ms(5)), Next::Done), Next::After(ms(5)));
        assert_eq!(
            sooner(Next::After(ms(5)), Next::After(ms(3))),
            Next::After(ms(3))
        );
    }
}
