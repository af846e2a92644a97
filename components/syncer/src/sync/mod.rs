//! The sync loops: the virtual cluster's workloads placed on a real host cluster, and what the
//! host makes of them brought back.
//!
//! Each kind has a loop in the style of the built-in controllers: watch-fed caches of the
//! virtual objects (all namespaces) and of the host objects this virtual cluster owns (its host
//! namespace, label `vcluster.loft.sh/managed-by=<name>`) push virtual `namespace/name` keys onto
//! a work queue; workers compare both sides and create, update or delete. Host objects are found
//! by name and annotations alone, so a restarted syncer resumes without duplicates, and host
//! objects whose virtual object is gone (orphans) are deleted when the first list shows them.
//!
//! - [`pods`]: virtual pod -> host pod, status back, deletes both ways, binding to virtual
//!   nodes ([`nodes`]);
//! - [`services`]: host Service first (also from the API server's create hook), virtual cluster
//!   IPs from it; [`kubernetes`]: `default/kubernetes` on the syncer's own host Service;
//! - [`endpoints`]: Endpoints of selector-less Services;
//! - [`configs`]: ConfigMaps and Secrets pods reference (or all); [`pvcs`]: claims;
//! - [`events`]: host events about synced objects -> virtual events;
//! - [`replicate`]: `networking.replicateServices`, Services copied across on purpose;
//!   [`kube_dns`]: how the host copy of `kube-system/kube-dns` reaches the cluster DNS;
//! - [`kinds`]: the optional kinds, when vcluster.yaml turns them on and the host serves them:
//!   [`ingresses`], [`network_policies`], [`pdbs`] to the host; [`classes`]: PriorityClasses
//!   and StorageClasses to the host, IngressClasses, PriorityClasses and StorageClasses from it;
//! - [`metrics`]: queue depth, sync latency, errors (Prometheus text).

pub mod classes;
pub mod configs;
pub mod endpoints;
pub mod events;
pub mod ingresses;
pub mod kinds;
pub mod kube_dns;
pub mod kubernetes;
pub mod meta;
pub mod metrics;
pub mod network_policies;
pub mod nodes;
pub mod pdbs;
pub mod pods;
pub mod pvcs;
pub mod replicate;
pub mod services;
mod worker;

use std::collections::{BTreeMap, HashSet};
use std::fmt::Debug;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{
    ConfigMap, Endpoints, Event, Namespace, Node, PersistentVolumeClaim, Pod, Secret, Service,
    ServiceAccount, ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, PostParams};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use warren_controllers::informer;
use warren_controllers::queue::{self, Queue};

use crate::config::SyncerConfig;
use crate::names::{Names, NamespaceMode, labels};
use crate::translate::TranslateError;
use crate::translate::pod::PodOptions;

pub use worker::Next;

/// What the syncer needs to know about the virtual cluster it serves.
#[derive(Clone, Debug)]
pub struct SyncerOptions {
    /// The virtual cluster's name (vCluster's suffix of host names).
    pub vcluster: String,
    /// The host namespace the virtual cluster's objects go to.
    pub host_namespace: String,
    pub config: SyncerConfig,
    /// Port of the virtual API server (target port of the host Service the syncer creates for
    /// it when there is none).
    pub api_port: u16,
    /// Where `/metrics` is served (off when `None`).
    pub metrics_listen: Option<SocketAddr>,
}

impl SyncerOptions {
    pub fn names(&self) -> Names {
        let mode = if self.config.multi_namespace_mode {
            NamespaceMode::Multi
        } else {
            NamespaceMode::Single
        };
        Names::new(&self.vcluster, &self.host_namespace, mode)
    }
}

/// Settings vcluster.yaml turns on that these loops do not sync yet (the keys), so the user
/// hears about it instead of waiting for objects that never come.
pub fn not_synced_yet(config: &SyncerConfig) -> Vec<&'static str> {
    let to_host = &config.sync.to_host;
    let from_host = &config.sync.from_host;
    [
        (to_host.persistent_volumes, "sync.toHost.persistentVolumes"),
        (
            !to_host.custom_resources.is_empty(),
            "sync.toHost.customResources",
        ),
        (
            from_host.runtime_classes.enabled,
            "sync.fromHost.runtimeClasses",
        ),
        (from_host.csi_nodes, "sync.fromHost.csiNodes"),
        (from_host.csi_drivers, "sync.fromHost.csiDrivers"),
        (
            from_host.csi_storage_capacities,
            "sync.fromHost.csiStorageCapacities",
        ),
        (from_host.config_maps.enabled, "sync.fromHost.configMaps"),
        (from_host.secrets.enabled, "sync.fromHost.secrets"),
        (
            !from_host.custom_resources.is_empty(),
            "sync.fromHost.customResources",
        ),
    ]
    .into_iter()
    .filter_map(|(on, key)| on.then_some(key))
    .collect()
}

/// A sync that could not be done (retried with back-off).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{what}: {source}")]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error(transparent)]
    Translate(#[from] TranslateError),
    #[error("{0}")]
    Invalid(String),
}

impl SyncError {
    /// Whether this is an API error with this HTTP code.
    pub fn is_status(&self, code: u16) -> bool {
        matches!(self, SyncError::Api { source: kube::Error::Api(s), .. } if s.code == code)
    }
}

/// Adds what was being done to a kube error.
pub(crate) trait Context<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, SyncError>;
}

impl<T> Context<T> for Result<T, kube::Error> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, SyncError> {
        self.map_err(|source| SyncError::Api {
            what: what(),
            source,
        })
    }
}

pub(crate) fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

/// What the syncer found out about the host cluster.
#[derive(Clone, Debug, Default)]
pub struct HostInfo {
    /// `gitVersion` of the host API server.
    pub version: String,
    /// The host serves `discovery.k8s.io/v1` (1.21+).
    pub endpoint_slices_v1: bool,
    /// Which of the optional kinds the host serves.
    pub kinds: kinds::HostKinds,
}

/// The host side, ready: client, naming rules, the owner of host objects and the address of
/// the virtual API server's host Service.
pub struct HostSide {
    pub client: Client,
    pub names: Names,
    pub options: SyncerOptions,
    /// The syncer's own host Service: owner of every namespaced host object.
    pub owner: Option<OwnerReference>,
    /// ClusterIP of that Service (what pods reach the virtual API server at).
    pub kube_ip: String,
    /// That Service's selector, when it has one: the syncer runs in the pods it selects
    /// (see [`kube_dns`]).
    pub own_selector: Option<BTreeMap<String, String>>,
    pub info: HostInfo,
    /// Host Services the API server's create hook made for virtual Services not stored yet,
    /// by virtual UID: not orphans while their create is under way.
    pub pending_services: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

/// A host cluster the syncer has connected to (see [`prepare`]); cheap to clone.
#[derive(Clone)]
pub struct Prepared(Arc<HostSide>);

impl Prepared {
    pub fn host(&self) -> &HostSide {
        &self.0
    }

    /// The API server's Service create hook: creates (or adopts) the host Service and writes
    /// its cluster IPs and node ports into the virtual one. `Ok(false)`: nothing to do, the API
    /// server allocates as usual.
    pub async fn before_virtual_service_create(
        &self,
        service: &mut serde_json::Value,
    ) -> Result<bool, SyncError> {
        services::before_create(&self.0, service).await
    }

    /// Runs the sync loops against the virtual cluster until `shutdown` completes.
    /// `informers` are the process's shared caches of virtual objects (the built-in
    /// controllers' ones when they run beside it): one copy of every pod, not one per component.
    pub async fn start(
        self,
        virtual_client: Client,
        informers: informer::Informers,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), SyncError> {
        let ctx = Ctx::start(self.0.clone(), virtual_client, &informers).await;
        if let Some(addr) = self.0.options.metrics_listen {
            match metrics::bind(addr).await {
                Ok(listener) => {
                    if let Ok(local) = listener.local_addr() {
                        eprintln!("warren: syncer metrics on http://{local}/metrics");
                    }
                    tokio::spawn(metrics::serve(listener, ctx.metrics.clone()));
                }
                Err(e) => tracing::error!(%addr, error = %e, "syncer metrics not served"),
            }
        }
        spawn_loops(&ctx);
        tracing::info!(
            vcluster = %self.0.names.vcluster(),
            host_namespace = %self.0.names.own_host_namespace(),
            host_version = %self.0.info.version,
            host_endpoint_slices_v1 = self.0.info.endpoint_slices_v1,
            "syncer running"
        );
        shutdown.await;
        Ok(())
    }
}

/// Connects to the host: reads its version and API groups (what it serves decides what is
/// synced), makes sure the syncer's own host Service (owner of everything it creates) and the
/// workload ServiceAccount exist.
pub async fn prepare(options: SyncerOptions, host: Client) -> Result<Prepared, SyncError> {
    let names = options.names();
    let version = host
        .apiserver_version()
        .await
        .ctx(|| "reading the host cluster's version".into())?;
    let groups = host
        .list_api_groups()
        .await
        .ctx(|| "listing the host cluster's API groups".into())?;
    let endpoint_slices_v1 = groups
        .groups
        .iter()
        .any(|g| g.name == "discovery.k8s.io" && g.versions.iter().any(|v| v.version == "v1"));
    let info = HostInfo {
        version: version.git_version,
        endpoint_slices_v1,
        kinds: kinds::discover(&host, &groups).await?,
    };
    let own = ensure_own_service(&host, &names, options.api_port).await?;
    let owner = own.metadata.uid.clone().map(|uid| OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: own.metadata.name.clone().unwrap_or_default(),
        uid,
        controller: None,
        block_owner_deletion: None,
    });
    let kube_ip = own
        .spec
        .as_ref()
        .and_then(|s| s.cluster_ip.clone())
        .filter(|ip| ip != "None")
        .unwrap_or_default();
    let own_selector = own
        .spec
        .as_ref()
        .and_then(|s| s.selector.clone())
        .filter(|s| !s.is_empty());
    if options.config.workload_service_account.is_none() {
        ensure_workload_service_account(&host, &names, owner.as_ref()).await?;
    }
    Ok(Prepared(Arc::new(HostSide {
        client: host,
        names,
        options,
        owner,
        kube_ip,
        own_selector,
        info,
        pending_services: Default::default(),
    })))
}

/// [`prepare`], retried until the host answers (it may start after us, or RBAC may not be in
/// place yet).
pub async fn prepare_with_retry(options: SyncerOptions, host: Client) -> Prepared {
    let mut delay = Duration::from_millis(200);
    loop {
        match prepare(options.clone(), host.clone()).await {
            Ok(prepared) => return prepared,
            Err(e) => {
                tracing::warn!(error = %e, "host cluster not ready; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Connects and runs the loops with caches of its own: [`prepare`] then [`Prepared::start`].
pub async fn run(
    options: SyncerOptions,
    virtual_client: Client,
    host_client: Client,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SyncError> {
    let informers = informer::Informers::new(virtual_client.clone());
    prepare(options, host_client)
        .await?
        .start(virtual_client, informers, shutdown)
        .await
}

/// The host Service fronting the virtual API server (`<vcluster>` in the host namespace): kept
/// when it exists (a deployment made it), else created without a selector.
async fn ensure_own_service(
    host: &Client,
    names: &Names,
    api_port: u16,
) -> Result<Service, SyncError> {
    let own = names.kubernetes_host_service();
    let api: Api<Service> = Api::namespaced(host.clone(), &own.namespace);
    if let Some(existing) = api
        .get_opt(&own.name)
        .await
        .ctx(|| format!("reading host service {}/{}", own.namespace, own.name))?
    {
        return Ok(existing);
    }
    let service = Service {
        metadata: ObjectMeta {
            name: Some(own.name.clone()),
            namespace: Some(own.namespace.clone()),
            labels: Some(BTreeMap::from([
                ("app".to_owned(), "vcluster".to_owned()),
                (labels::RELEASE.to_owned(), names.vcluster().to_owned()),
            ])),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            ports: Some(vec![ServicePort {
                name: Some("https".into()),
                port: 443,
                protocol: Some("TCP".into()),
                target_port: Some(IntOrString::Int(i32::from(api_port))),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        status: None,
    };
    match api.create(&PostParams::default(), &service).await {
        Ok(created) => {
            tracing::info!(service = %own.name, namespace = %own.namespace, "created the virtual cluster's host service");
            Ok(created)
        }
        Err(e) if is_status(&e, 409) => api
            .get(&own.name)
            .await
            .ctx(|| format!("reading host service {}/{}", own.namespace, own.name)),
        Err(e) => Err(e).ctx(|| format!("creating host service {}/{}", own.namespace, own.name)),
    }
}

/// `vc-workload-<vcluster>`: the host ServiceAccount synced pods run as.
async fn ensure_workload_service_account(
    host: &Client,
    names: &Names,
    owner: Option<&OwnerReference>,
) -> Result<(), SyncError> {
    let name = format!("vc-workload-{}", names.vcluster());
    let api: Api<ServiceAccount> = Api::namespaced(host.clone(), names.own_host_namespace());
    if api
        .get_opt(&name)
        .await
        .ctx(|| format!("reading host service account {name}"))?
        .is_some()
    {
        return Ok(());
    }
    let account = ServiceAccount {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            owner_references: owner.map(|o| vec![o.clone()]),
            ..ObjectMeta::default()
        },
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    };
    match api.create(&PostParams::default(), &account).await {
        Ok(_) => Ok(()),
        Err(e) if is_status(&e, 409) => Ok(()),
        Err(e) => Err(e).ctx(|| format!("creating host service account {name}")),
    }
}

/// Caches of virtual objects.
pub(crate) struct VirtualStores {
    pub pods: Store<informer::CachedPod>,
    pub services: Store<Service>,
    pub endpoints: Store<Endpoints>,
    pub config_maps: Store<ConfigMap>,
    pub secrets: Store<Secret>,
    pub service_accounts: Store<ServiceAccount>,
    pub pvcs: Store<PersistentVolumeClaim>,
    pub namespaces: Store<Namespace>,
    pub nodes: Store<Node>,
}

/// Caches of the host objects this virtual cluster owns (and host nodes and events).
pub(crate) struct HostStores {
    pub pods: Store<informer::CachedPod>,
    pub services: Store<Service>,
    pub endpoints: Store<Endpoints>,
    pub config_maps: Store<ConfigMap>,
    pub secrets: Store<Secret>,
    pub service_accounts: Store<ServiceAccount>,
    pub pvcs: Store<PersistentVolumeClaim>,
    pub events: Store<Event>,
    /// Filled once the host lets us list nodes (cluster-scoped; may be forbidden).
    pub nodes: Store<Node>,
}

/// Work queues of virtual keys (`namespace/name`; node names; host event keys).
#[derive(Clone, Default)]
pub(crate) struct Queues {
    pub pods: Queue,
    pub services: Queue,
    pub endpoints: Queue,
    pub config_maps: Queue,
    pub secrets: Queue,
    pub service_accounts: Queue,
    pub pvcs: Queue,
    pub nodes: Queue,
    pub events: Queue,
    /// Virtual keys of replicated Services (see [`replicate`]).
    pub replicated: Queue,
}

/// Everything a sync needs.
pub(crate) struct Ctx {
    pub host: Arc<HostSide>,
    pub virt: Client,
    pub pod_options: PodOptions,
    pub v: VirtualStores,
    pub h: HostStores,
    pub q: Queues,
    pub metrics: metrics::Metrics,
    /// When each pod's service account tokens are due for renewal (seconds since the epoch),
    /// so a renewal is scheduled once, not at every sync.
    pub token_renewals: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    /// Caches and queues of the optional kinds.
    pub kinds: kinds::Kinds,
}

impl Ctx {
    pub fn names(&self) -> &Names {
        &self.host.names
    }

    pub fn config(&self) -> &SyncerConfig {
        &self.host.options.config
    }

    pub fn host_namespace(&self) -> &str {
        self.host.names.own_host_namespace()
    }

    /// Api of a host kind in the host namespace.
    pub fn host_api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.host.client.clone(), self.host_namespace())
    }

    pub fn virtual_api<K>(&self, namespace: &str) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.virt.clone(), namespace)
    }

    /// The virtual key of a host object (its `vcluster.loft.sh/object-*` annotations), if it is
    /// one of ours.
    pub fn virtual_key(&self, host: &ObjectMeta, kind: &str) -> Option<String> {
        let kind = crate::names::kind_annotation_value("v1", kind);
        let object = self.names().virtual_object(host, &kind)?;
        Some(queue::key(object.namespace.as_deref(), &object.name))
    }

    async fn start(host: Arc<HostSide>, virt: Client, informers: &informer::Informers) -> Arc<Ctx> {
        let q = Queues::default();
        let names = host.names.clone();
        let (hc, hns) = (host.client.clone(), names.own_host_namespace().to_owned());

        // Virtual caches; their callbacks queue the virtual keys they affect.
        let pods = {
            let q = q.clone();
            informers
                .pods_with_deletes(move |pod: &Pod, _| {
                    q.pods.add(object_key(&pod.metadata));
                    for key in configs::referenced(pod, configs::Kind::ConfigMap) {
                        q.config_maps.add(key);
                    }
                    for key in configs::referenced(pod, configs::Kind::Secret) {
                        q.secrets.add(key);
                    }
                    if let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) {
                        q.nodes.add(node);
                    }
                })
                .await
        };
        // A change to a replicated Service, or to its Endpoints (someone else changed or
        // removed them), also re-syncs the replica.
        let replicated = Arc::new(replicate::virtual_keys(&host.options.config));
        let services = {
            let (q, replicated) = (q.clone(), replicated.clone());
            informers
                .all(move |svc: &Service| {
                    let key = replicated_key(&q, &replicated, &svc.metadata);
                    q.services.add(key.clone());
                    q.endpoints.add(key);
                })
                .await
        };
        let endpoints = {
            let q = q.clone();
            informers
                .all(move |e: &Endpoints| {
                    q.endpoints
                        .add(replicated_key(&q, &replicated, &e.metadata));
                })
                .await
        };
        let config_maps = watch_virtual::<ConfigMap>(informers, q.config_maps.clone()).await;
        let secrets = watch_virtual::<Secret>(informers, q.secrets.clone()).await;
        let service_accounts =
            watch_virtual::<ServiceAccount>(informers, q.service_accounts.clone()).await;
        let pvcs = watch_virtual::<PersistentVolumeClaim>(informers, q.pvcs.clone()).await;
        let namespaces = {
            // Namespace labels are copied onto host pods: a change revisits its pods.
            let (q, pod_store) = (q.clone(), pods.clone());
            informers
                .all(move |ns: &Namespace| {
                    let name = ns.metadata.name.as_deref().unwrap_or_default();
                    for pod in pod_store.state() {
                        if pod.metadata.namespace.as_deref() == Some(name) {
                            q.pods.add(object_key(&pod.metadata));
                        }
                    }
                })
                .await
        };
        let nodes = {
            let q = q.clone();
            informers
                .all(move |n: &Node| q.nodes.add(n.metadata.name.clone().unwrap_or_default()))
                .await
        };

        // Host caches of what this virtual cluster owns.
        let host_pods = watch_owned_pods(&host, q.pods.clone()).await;
        let host_services = watch_owned::<Service>(&host, q.services.clone()).await;
        let host_endpoints = watch_owned::<Endpoints>(&host, q.endpoints.clone()).await;
        let host_config_maps = watch_owned::<ConfigMap>(&host, q.config_maps.clone()).await;
        let host_secrets = watch_owned::<Secret>(&host, q.secrets.clone()).await;
        let host_service_accounts =
            watch_owned::<ServiceAccount>(&host, q.service_accounts.clone()).await;
        let host_pvcs = watch_owned::<PersistentVolumeClaim>(&host, q.pvcs.clone()).await;
        let host_events = {
            let q = q.clone();
            informer::start(Api::<Event>::namespaced(hc.clone(), &hns), move |e| {
                if events::worth_a_look(e) {
                    q.events.add(object_key(&e.metadata));
                }
            })
            .await
        };
        let host_nodes = {
            let q = q.clone();
            start_without_waiting(Api::<Node>::all(hc.clone()), move |n| {
                q.nodes.add(n.metadata.name.clone().unwrap_or_default())
            })
        };

        let pod_options = PodOptions::new(&host.options.config, names.vcluster());
        let kinds = kinds::Kinds::start(&host, &virt, &q.secrets);
        Arc::new(Ctx {
            host,
            virt,
            pod_options,
            v: VirtualStores {
                pods,
                services,
                endpoints,
                config_maps,
                secrets,
                service_accounts,
                pvcs,
                namespaces,
                nodes,
            },
            h: HostStores {
                pods: host_pods,
                services: host_services,
                endpoints: host_endpoints,
                config_maps: host_config_maps,
                secrets: host_secrets,
                service_accounts: host_service_accounts,
                pvcs: host_pvcs,
                events: host_events,
                nodes: host_nodes,
            },
            q,
            metrics: metrics::Metrics::default(),
            token_renewals: Default::default(),
            kinds,
        })
    }
}

/// Worker counts: pods are the bulk of the work (and each waits on two API servers).
const POD_WORKERS: usize = 16;
const OTHER_WORKERS: usize = 2;

fn spawn_loops(ctx: &Arc<Ctx>) {
    macro_rules! sync_loop {
        ($name:literal, $queue:ident, $workers:expr, $sync:path) => {{
            let c = ctx.clone();
            worker::spawn(
                $name,
                ctx.q.$queue.clone(),
                $workers,
                ctx.metrics.clone(),
                move |key| {
                    let c = c.clone();
                    async move { $sync(&c, &key).await }
                },
            );
        }};
    }
    let to_host = &ctx.config().sync.to_host;
    if to_host.pods.enabled {
        sync_loop!("pods", pods, POD_WORKERS, pods::sync);
        sync_loop!("nodes", nodes, OTHER_WORKERS, nodes::sync);
    }
    if to_host.services {
        sync_loop!("services", services, OTHER_WORKERS, services::sync);
    }
    if to_host.endpoints {
        sync_loop!("endpoints", endpoints, OTHER_WORKERS, endpoints::sync);
    }
    if to_host.config_maps.enabled {
        sync_loop!(
            "configmaps",
            config_maps,
            OTHER_WORKERS,
            configs::sync_config_map
        );
    }
    if to_host.secrets.enabled {
        sync_loop!("secrets", secrets, OTHER_WORKERS, configs::sync_secret);
    }
    if to_host.service_accounts {
        sync_loop!(
            "serviceaccounts",
            service_accounts,
            OTHER_WORKERS,
            configs::sync_service_account
        );
    }
    if to_host.persistent_volume_claims {
        sync_loop!("persistentvolumeclaims", pvcs, OTHER_WORKERS, pvcs::sync);
    }
    if ctx.config().sync.from_host.events {
        sync_loop!("events", events, OTHER_WORKERS, events::sync);
    }
    replicate::spawn(ctx);
    kinds::spawn_loops(ctx);
    tokio::spawn(kubernetes::run(ctx.clone()));
}

/// `namespace/name` of an object.
pub(crate) fn object_key(meta: &ObjectMeta) -> String {
    queue::key(
        meta.namespace.as_deref(),
        meta.name.as_deref().unwrap_or_default(),
    )
}

/// A cached object by key.
pub(crate) fn cached<K>(store: &Store<K>, namespace: Option<&str>, name: &str) -> Option<Arc<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    let reference = match namespace {
        Some(ns) => ObjectRef::new(name).within(ns),
        None => ObjectRef::new(name),
    };
    store.get(&reference)
}

/// Like the controllers' informers, without waiting for the first list (for kinds the host may
/// not let us list; the cache stays empty until it does).
fn start_without_waiting<K, F>(api: Api<K>, on_change: F) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    F: Fn(&K) + Send + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer);
    tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            match item {
                Ok(
                    watcher::Event::Apply(obj)
                    | watcher::Event::InitApply(obj)
                    | watcher::Event::Delete(obj),
                ) => on_change(&obj),
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, kind = %K::kind(&()), "host watch");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    reader
}

/// Delete parameters that only delete the object with this UID (not a successor of the same
/// name).
pub(crate) fn delete_uid(uid: Option<&str>) -> kube::api::DeleteParams {
    kube::api::DeleteParams {
        preconditions: uid.map(|uid| kube::api::Preconditions {
            uid: Some(uid.to_owned()),
            resource_version: None,
        }),
        ..kube::api::DeleteParams::default()
    }
}

/// A JSON merge patch body.
pub(crate) fn merge_patch(value: &serde_json::Value) -> kube::api::Patch<&serde_json::Value> {
    kube::api::Patch::Merge(value)
}

/// The shared cache of every virtual `K`, queueing its key on each change.
/// The virtual key of a Service or Endpoints, queued for replication first when it is one of
/// vcluster.yaml's replicated services.
fn replicated_key(q: &Queues, replicated: &HashSet<String>, meta: &ObjectMeta) -> String {
    let key = object_key(meta);
    if replicated.contains(&key) {
        q.replicated.add(key.clone());
    }
    key
}

async fn watch_virtual<K>(informers: &informer::Informers, queue: Queue) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    informers
        .all(move |o: &K| queue.add(object_key(o.meta())))
        .await
}

/// Caches the host `K`s this virtual cluster owns (selected by `owned`) and queues the virtual
/// key each one names in its `vcluster.loft.sh/object-*` annotations.
async fn watch_owned<K>(host: &HostSide, queue: Queue) -> Store<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
{
    let (config, on_change) = owned_watch::<K>(host, queue);
    let api = Api::<K>::namespaced(host.client.clone(), host.names.own_host_namespace());
    informer::start_selected(api, config, on_change).await
}

/// [`watch_owned`] for pods: cached as [`informer::CachedPod`]s, trimmed first to what the
/// syncer reads of a host pod.
async fn watch_owned_pods(host: &HostSide, queue: Queue) -> Store<informer::CachedPod> {
    let (config, on_change) = owned_watch::<Pod>(host, queue);
    let api = Api::<Pod>::namespaced(host.client.clone(), host.names.own_host_namespace());
    let trim = crate::translate::pod::trim_cached_host_pod;
    informer::start_selected_pods(api, config, trim, on_change).await
}

/// The selector of the host `K`s this virtual cluster owns, and a callback queueing the virtual
/// key a host object names.
fn owned_watch<K: Resource<DynamicType = ()>>(
    host: &HostSide,
    queue: Queue,
) -> (watcher::Config, impl Fn(&K, bool) + Send + 'static) {
    let names = host.names.clone();
    let kind = crate::names::kind_annotation_value(&K::api_version(&()), &K::kind(&()));
    let owned =
        watcher::Config::default().labels(&format!("{}={}", labels::MANAGED_BY, names.vcluster()));
    let on_change = move |o: &K, _| {
        if let Some(v) = names.virtual_object(o.meta(), &kind) {
            queue.add(queue::key(v.namespace.as_deref(), &v.name));
        }
    };
    (owned, on_change)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_nothing_unsynced() {
        assert!(not_synced_yet(&SyncerConfig::default()).is_empty());
        let loaded = crate::config::parse(
            "sync:\n  toHost:\n    ingresses:\n      enabled: true\n    networkPolicies:\n      enabled: true\n    podDisruptionBudgets:\n      enabled: true\n    priorityClasses:\n      enabled: true\n    storageClasses:\n      enabled: true\n    persistentVolumes:\n      enabled: true\n",
        )
        .unwrap();
        assert_eq!(
            not_synced_yet(&loaded.config),
            ["sync.toHost.persistentVolumes"]
        );
        let from_host = crate::config::parse(
            "sync:\n  fromHost:\n    ingressClasses:\n      enabled: true\n    priorityClasses:\n      enabled: true\n    storageClasses:\n      enabled: true\n    runtimeClasses:\n      enabled: true\n",
        )
        .unwrap();
        assert_eq!(
            not_synced_yet(&from_host.config),
            ["sync.fromHost.runtimeClasses"]
        );
    }
}
