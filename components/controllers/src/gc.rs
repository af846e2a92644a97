//! The garbage collector: ownerReferences across every served resource type (found through
//! discovery, re-run periodically so custom resources join).
//!
//! A graph of every object's owners is kept from watches; [`plan`] (pure) turns it into
//! actions, which are executed against the API:
//!
//! - **background**: a dependent whose owners are all gone is deleted (propagation per its own
//!   finalizers, Background otherwise); one with some owners gone loses those references;
//! - **foreground**: an owner being deleted with the `foregroundDeletion` finalizer has its
//!   dependents deleted (Foreground); once no dependent with `blockOwnerDeletion: true` is
//!   left, the finalizer is removed;
//! - **orphan**: an owner being deleted with the `orphan` finalizer has its reference removed
//!   from every dependent, then the finalizer.
//!
//! An owner missing from the graph is looked up live before anything is deleted, so a watch
//! that lags behind (a dependent seen before its brand new owner) never deletes anything.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, PartialObjectMeta, Patch, PatchParams, Preconditions,
    PropagationPolicy,
};
use kube::discovery::{Discovery, Scope, verbs};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use serde_json::json;
use tokio::sync::Notify;

use crate::{Context, is_status};

pub const FOREGROUND: &str = "foregroundDeletion";
pub const ORPHAN: &str = "orphan";

/// An owner reference as the graph keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    pub block_owner_deletion: bool,
}

/// One object in the graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub uid: String,
    /// index into the collector's resource list
    pub resource: usize,
    pub namespace: Option<String>,
    pub name: String,
    pub resource_version: Option<String>,
    pub owners: Vec<OwnerRef>,
    pub deleting: bool,
    pub finalizers: Vec<String>,
}

/// What the collector does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Every owner of `dependent` is missing from the graph: after checking they are really
    /// gone, delete it with `policy`.
    DeleteIfOwnersGone {
        dependent: String,
        missing: Vec<String>,
        policy: &'static str,
    },
    /// Some owners are missing (others exist): after checking, drop the references to them.
    RemoveRefsIfGone {
        dependent: String,
        missing: Vec<String>,
    },
    /// An owner is deleted in the foreground: delete this dependent (Foreground).
    DeleteForeground { dependent: String },
    /// As [`Action::DeleteForeground`], for a dependent whose own dependents already wait in
    /// the foreground (a possible ownership cycle): its references stop blocking first, as
    /// kube's GC does, so the cycle can unwind.
    UnblockAndDeleteForeground { dependent: String },
    /// Drop the reference to `owner`: it is deleted orphaning its dependents, or deleted in
    /// the foreground while the dependent has another owner that stays.
    DropRef { dependent: String, owner: String },
    /// Nothing holds this owner any more: remove the finalizer.
    RemoveFinalizer {
        owner: String,
        finalizer: &'static str,
    },
}

impl Action {
    /// The uid of the object the action changes (the only object of the graph it reads).
    pub fn subject(&self) -> &str {
        match self {
            Action::DeleteIfOwnersGone { dependent, .. }
            | Action::RemoveRefsIfGone { dependent, .. }
            | Action::DeleteForeground { dependent }
            | Action::UnblockAndDeleteForeground { dependent }
            | Action::DropRef { dependent, .. } => dependent,
            Action::RemoveFinalizer { owner, .. } => owner,
        }
    }
}

/// The actions the graph calls for, in a stable order.
pub fn plan(graph: &BTreeMap<String, Node>) -> Vec<Action> {
    let mut dependents: HashMap<&str, Vec<&Node>> = HashMap::new();
    for n in graph.values() {
        for o in &n.owners {
            dependents.entry(o.uid.as_str()).or_default().push(n);
        }
    }
    let mut out = Vec::new();
    for owner in graph.values().filter(|n| n.deleting) {
        let deps = dependents
            .get(owner.uid.as_str())
            .cloned()
            .unwrap_or_default();
        if owner.finalizers.iter().any(|f| f == ORPHAN) {
            if deps.is_empty() {
                out.push(Action::RemoveFinalizer {
                    owner: owner.uid.clone(),
                    finalizer: ORPHAN,
                });
            }
            for d in deps {
                out.push(Action::DropRef {
                    dependent: d.uid.clone(),
                    owner: owner.uid.clone(),
                });
            }
        } else if owner.finalizers.iter().any(|f| f == FOREGROUND) {
            let blocking = deps.iter().any(|d| {
                d.owners
                    .iter()
                    .any(|o| o.uid == owner.uid && o.block_owner_deletion)
            });
            if !blocking {
                out.push(Action::RemoveFinalizer {
                    owner: owner.uid.clone(),
                    finalizer: FOREGROUND,
                });
            }
            for d in deps.into_iter().filter(|d| !d.deleting) {
                // kube keeps a dependent that has a "solid" owner (present, not itself waiting
                // for its dependents) and only drops the reference to the deleted one.
                let solid = d.owners.iter().any(|o| {
                    o.uid != owner.uid
                        && graph.get(&o.uid).is_some_and(|g| {
                            !(g.deleting && g.finalizers.iter().any(|f| f == FOREGROUND))
                        })
                });
                let cycle = dependents.get(d.uid.as_str()).is_some_and(|ds| {
                    ds.iter()
                        .any(|x| x.deleting && x.finalizers.iter().any(|f| f == FOREGROUND))
                });
                out.push(if solid {
                    Action::DropRef {
                        dependent: d.uid.clone(),
                        owner: owner.uid.clone(),
                    }
                } else if cycle {
                    Action::UnblockAndDeleteForeground {
                        dependent: d.uid.clone(),
                    }
                } else {
                    Action::DeleteForeground {
                        dependent: d.uid.clone(),
                    }
                });
            }
        }
    }
    for n in graph.values().filter(|n| !n.owners.is_empty()) {
        let missing: Vec<String> = n
            .owners
            .iter()
            .filter(|o| !graph.contains_key(&o.uid))
            .map(|o| o.uid.clone())
            .collect();
        if missing.is_empty() {
            continue;
        }
        if missing.len() == n.owners.len() {
            if n.deleting {
                continue;
            }
            let policy = if n.finalizers.iter().any(|f| f == ORPHAN) {
                "Orphan"
            } else if n.finalizers.iter().any(|f| f == FOREGROUND) {
                "Foreground"
            } else {
                "Background"
            };
            out.push(Action::DeleteIfOwnersGone {
                dependent: n.uid.clone(),
                missing,
                policy,
            });
        } else {
            out.push(Action::RemoveRefsIfGone {
                dependent: n.uid.clone(),
                missing,
            });
        }
    }
    // a dependent of two owners being deleted is acted on once
    let mut seen = HashSet::new();
    out.retain(|a| seen.insert(format!("{a:?}")));
    out
}

struct Collector {
    client: Client,
    resources: Mutex<Vec<ApiResource>>,
    /// (group, kind) -> resource index, for owner look-ups
    by_kind: Mutex<HashMap<(String, String), usize>>,
    namespaced: Mutex<Vec<bool>>,
    graph: Mutex<BTreeMap<String, Node>>,
    dirty: Notify,
}

pub async fn run(ctx: Context) {
    let gc = Arc::new(Collector {
        client: ctx.client.clone(),
        resources: Mutex::new(Vec::new()),
        by_kind: Mutex::new(HashMap::new()),
        namespaced: Mutex::new(Vec::new()),
        graph: Mutex::new(BTreeMap::new()),
        dirty: Notify::new(),
    });
    // Discovery again every 30 s like kube's GC, and at once when a CRD changes, so custom
    // resources are collected from the moment they are served.
    let rediscover = Arc::new(Notify::new());
    let g = gc.clone();
    let r = rediscover.clone();
    tokio::spawn(async move {
        loop {
            g.discover().await;
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
                _ = r.notified() => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    let crds: Api<PartialObjectMeta<CustomResourceDefinition>> = Api::all(ctx.client.clone());
    tokio::spawn(async move {
        let stream = watcher(crds, watcher::Config::default()).default_backoff();
        futures::pin_mut!(stream);
        while let Some(e) = stream.next().await {
            if matches!(e, Ok(watcher::Event::Apply(_))) {
                rediscover.notify_one();
            }
        }
    });
    tracing::info!(controller = "garbagecollector", "started");
    loop {
        tokio::select! {
            _ = gc.dirty.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Plan under the lock and copy out only the objects acted on: the graph holds every
        // object of the cluster, and this runs after each change.
        let (actions, snapshot) = {
            let graph = gc.lock_graph();
            let actions = plan(&graph);
            let acted_on: BTreeMap<String, Node> = actions
                .iter()
                .filter_map(|a| graph.get_key_value(a.subject()))
                .map(|(uid, node)| (uid.clone(), node.clone()))
                .collect();
            (actions, acted_on)
        };
        for action in actions {
            if let Err(e) = gc.execute(&snapshot, &action).await {
                tracing::debug!(?action, error = %e, "garbage collection");
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

impl Collector {
    fn lock_graph(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Node>> {
        lock(&self.graph)
    }

    async fn discover(self: &Arc<Self>) {
        let discovery = match Discovery::new(self.client.clone()).run().await {
            Ok(d) => d,
            Err(e) => {
                tracing::debug!(error = %e, "gc discovery");
                return;
            }
        };
        for group in discovery.groups() {
            for (ar, caps) in group.recommended_resources() {
                if ar.plural.contains('/')
                    || ar.plural == "events"
                    || !caps.supports_operation(verbs::WATCH)
                    || !caps.supports_operation(verbs::LIST)
                    || !caps.supports_operation(verbs::DELETE)
                {
                    continue;
                }
                let key = (ar.group.clone(), ar.kind.clone());
                if lock(&self.by_kind).contains_key(&key) {
                    continue;
                }
                let idx = {
                    let mut r = lock(&self.resources);
                    r.push(ar.clone());
                    lock(&self.namespaced).push(matches!(caps.scope, Scope::Namespaced));
                    r.len() - 1
                };
                lock(&self.by_kind).insert(key, idx);
                let me = self.clone();
                tokio::spawn(async move { me.watch(idx, ar).await });
            }
        }
    }

    async fn watch(self: Arc<Self>, idx: usize, ar: ApiResource) {
        // Metadata is all the graph needs (kube's GC uses metadata informers too): the API
        // server sends a fraction of each object and nothing here parses pod specs.
        let api: Api<PartialObjectMeta<DynamicObject>> = Api::all_with(self.client.clone(), &ar);
        let mut stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        let mut listing: Option<HashSet<String>> = None;
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(watcher::Event::Init) => listing = Some(HashSet::new()),
                Ok(watcher::Event::InitApply(o)) => {
                    if let (Some(l), Some(uid)) = (listing.as_mut(), o.metadata.uid.clone()) {
                        l.insert(uid);
                    }
                    self.upsert(idx, &o.metadata);
                }
                Ok(watcher::Event::InitDone) => {
                    if let Some(seen) = listing.take() {
                        self.lock_graph()
                            .retain(|uid, n| n.resource != idx || seen.contains(uid));
                    }
                    self.dirty.notify_one();
                }
                Ok(watcher::Event::Apply(o)) => {
                    // Most updates (pod status) change nothing the collector decides on.
                    if self.upsert(idx, &o.metadata) {
                        self.dirty.notify_one();
                    }
                }
                Ok(watcher::Event::Delete(o)) => {
                    if let Some(uid) = &o.metadata.uid {
                        self.lock_graph().remove(uid);
                    }
                    self.dirty.notify_one();
                }
                Err(e) => {
                    tracing::debug!(resource = %ar.plural, error = %e, "gc watch");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Records the object; true when its owners, deletion or finalizers changed (or it is new).
    fn upsert(&self, idx: usize, metadata: &ObjectMeta) -> bool {
        let Some(uid) = metadata.uid.clone() else {
            return false;
        };
        let node = Node {
            uid: uid.clone(),
            resource: idx,
            namespace: metadata.namespace.clone(),
            name: metadata.name.clone().unwrap_or_default(),
            resource_version: metadata.resource_version.clone(),
            owners: metadata
                .owner_references
                .iter()
                .flatten()
                .map(|r| OwnerRef {
                    api_version: r.api_version.clone(),
                    kind: r.kind.clone(),
                    name: r.name.clone(),
                    uid: r.uid.clone(),
                    block_owner_deletion: r.block_owner_deletion == Some(true),
                })
                .collect(),
            deleting: metadata.deletion_timestamp.is_some(),
            finalizers: metadata.finalizers.clone().unwrap_or_default(),
        };
        let previous = self.lock_graph().insert(uid, node.clone());
        previous.is_none_or(|p| {
            (&p.owners, p.deleting, &p.finalizers, p.resource)
                != (&node.owners, node.deleting, &node.finalizers, node.resource)
        })
    }

    fn api_for(&self, resource: usize, namespace: Option<&str>) -> Option<Api<DynamicObject>> {
        let ar = lock(&self.resources).get(resource)?.clone();
        Some(match namespace {
            Some(ns) if lock(&self.namespaced).get(resource) == Some(&true) => {
                Api::namespaced_with(self.client.clone(), ns, &ar)
            }
            _ => Api::all_with(self.client.clone(), &ar),
        })
    }

    /// Whether the owner `uid` referenced by `dependent` is really gone (a live GET).
    async fn owner_gone(&self, dependent: &Node, uid: &str) -> Result<bool, kube::Error> {
        let Some(r) = dependent.owners.iter().find(|o| o.uid == uid) else {
            return Ok(false);
        };
        let key = (group_of(&r.api_version).to_string(), r.kind.clone());
        let Some(idx) = lock(&self.by_kind).get(&key).copied() else {
            // a kind this server does not serve (yet): leave it alone
            return Ok(false);
        };
        let Some(api) = self.api_for(idx, dependent.namespace.as_deref()) else {
            return Ok(false);
        };
        match api.get_opt(&r.name).await? {
            None => Ok(true),
            Some(o) => Ok(o.metadata.uid.as_deref() != Some(uid)),
        }
    }

    async fn execute(
        &self,
        graph: &BTreeMap<String, Node>,
        action: &Action,
    ) -> Result<(), kube::Error> {
        match action {
            Action::DeleteIfOwnersGone {
                dependent,
                missing,
                policy,
            } => {
                let Some(n) = graph.get(dependent) else {
                    return Ok(());
                };
                for uid in missing {
                    if !self.owner_gone(n, uid).await? {
                        return Ok(());
                    }
                }
                let p = match *policy {
                    "Orphan" => PropagationPolicy::Orphan,
                    "Foreground" => PropagationPolicy::Foreground,
                    _ => PropagationPolicy::Background,
                };
                tracing::debug!(name = %n.name, "deleting dependent whose owners are gone");
                self.delete(n, p).await
            }
            Action::RemoveRefsIfGone { dependent, missing } => {
                let Some(n) = graph.get(dependent) else {
                    return Ok(());
                };
                let mut gone = Vec::new();
                for uid in missing {
                    if self.owner_gone(n, uid).await? {
                        gone.push(uid.clone());
                    }
                }
                if gone.is_empty() {
                    return Ok(());
                }
                self.remove_refs(n, &gone).await
            }
            Action::DeleteForeground { dependent } => {
                let Some(n) = graph.get(dependent) else {
                    return Ok(());
                };
                self.delete(n, PropagationPolicy::Foreground).await
            }
            Action::UnblockAndDeleteForeground { dependent } => {
                let Some(n) = graph.get(dependent) else {
                    return Ok(());
                };
                self.unblock_refs(n).await?;
                self.delete(n, PropagationPolicy::Foreground).await
            }
            Action::DropRef { dependent, owner } => {
                let Some(n) = graph.get(dependent) else {
                    return Ok(());
                };
                self.remove_refs(n, std::slice::from_ref(owner)).await
            }
            Action::RemoveFinalizer { owner, finalizer } => {
                let Some(n) = graph.get(owner) else {
                    return Ok(());
                };
                let Some(api) = self.api_for(n.resource, n.namespace.as_deref()) else {
                    return Ok(());
                };
                let rest: Vec<&String> = n.finalizers.iter().filter(|f| f != finalizer).collect();
                let patch = json!({"metadata": {
                    "finalizers": if rest.is_empty() { serde_json::Value::Null } else { json!(rest) },
                    "resourceVersion": n.resource_version,
                }});
                ignore_gone(
                    api.patch(&n.name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await,
                )
            }
        }
    }

    async fn delete(&self, n: &Node, policy: PropagationPolicy) -> Result<(), kube::Error> {
        let Some(api) = self.api_for(n.resource, n.namespace.as_deref()) else {
            return Ok(());
        };
        let dp = DeleteParams {
            propagation_policy: Some(policy),
            preconditions: Some(Preconditions {
                uid: Some(n.uid.clone()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        ignore_gone(api.delete(&n.name, &dp).await.map(|_| ()))
    }

    /// Sets `blockOwnerDeletion: false` on every owner reference of `n`.
    async fn unblock_refs(&self, n: &Node) -> Result<(), kube::Error> {
        let Some(api) = self.api_for(n.resource, n.namespace.as_deref()) else {
            return Ok(());
        };
        let Some(cur) = api.get_opt(&n.name).await? else {
            return Ok(());
        };
        if cur.metadata.uid.as_deref() != Some(n.uid.as_str()) {
            return Ok(());
        }
        let refs: Vec<_> = cur
            .metadata
            .owner_references
            .iter()
            .flatten()
            .cloned()
            .map(|mut r| {
                if r.block_owner_deletion == Some(true) {
                    r.block_owner_deletion = Some(false);
                }
                r
            })
            .collect();
        let patch = json!({"metadata": {
            "ownerReferences": refs,
            "resourceVersion": cur.metadata.resource_version,
        }});
        ignore_gone(
            api.patch(&n.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await,
        )
    }

    async fn remove_refs(&self, n: &Node, uids: &[String]) -> Result<(), kube::Error> {
        let Some(api) = self.api_for(n.resource, n.namespace.as_deref()) else {
            return Ok(());
        };
        // the current object, so no reference added meanwhile is lost
        let Some(cur) = api.get_opt(&n.name).await? else {
            return Ok(());
        };
        if cur.metadata.uid.as_deref() != Some(n.uid.as_str()) {
            return Ok(());
        }
        let kept: Vec<_> = cur
            .metadata
            .owner_references
            .iter()
            .flatten()
            .filter(|r| !uids.contains(&r.uid))
            .collect();
        let patch = json!({"metadata": {
            "ownerReferences": if kept.is_empty() { serde_json::Value::Null } else { json!(kept) },
            "resourceVersion": cur.metadata.resource_version,
        }});
        ignore_gone(
            api.patch(&n.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await,
        )
    }
}

fn ignore_gone<T>(r: Result<T, kube::Error>) -> Result<(), kube::Error> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if is_status(&e, 404) || is_status(&e, 409) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(uid: &str, owners: &[(&str, bool)], deleting: bool, finalizers: &[&str]) -> Node {
        Node {
            uid: uid.into(),
            resource: 0,
            namespace: Some("ns".into()),
            name: format!("n-{uid}"),
            resource_version: Some("1".into()),
            owners: owners
                .iter()
                .map(|(u, block)| OwnerRef {
                    api_version: "apps/v1".into(),
                    kind: "ReplicaSet".into(),
                    name: format!("n-{u}"),
                    uid: u.to_string(),
                    block_owner_deletion: *block,
                })
                .collect(),
            deleting,
            finalizers: finalizers.iter().map(|f| f.to_string()).collect(),
        }
    }

    fn graph(nodes: Vec<Node>) -> BTreeMap<String, Node> {
        nodes.into_iter().map(|n| (n.uid.clone(), n)).collect()
    }

    #[test]
    fn owned_by_live_owner_is_left_alone() {
        let g = graph(vec![
            node("d", &[], false, &[]),
            node("rs", &[("d", true)], false, &[]),
        ]);
        assert!(plan(&g).is_empty());
    }

    #[test]
    fn background_deletes_dependents_of_gone_owners() {
        let g = graph(vec![
            node("rs", &[("d", true)], false, &[]),
            node("pod", &[("rs", true)], false, &[]),
        ]);
        assert_eq!(
            plan(&g),
            vec![Action::DeleteIfOwnersGone {
                dependent: "rs".into(),
                missing: vec!["d".into()],
                policy: "Background",
            }]
        );
        // a dependent already being deleted is not deleted again
        let g = graph(vec![node("rs", &[("d", true)], true, &[])]);
        assert!(plan(&g).is_empty());
        // its own orphan finalizer decides the propagation
        let g = graph(vec![node("rs", &[("d", true)], false, &[ORPHAN])]);
        assert!(matches!(
            &plan(&g)[0],
            Action::DeleteIfOwnersGone {
                policy: "Orphan",
                ..
            }
        ));
    }

    #[test]
    fn some_owners_gone_drops_references() {
        let g = graph(vec![
            node("a", &[], false, &[]),
            node("x", &[("a", false), ("b", false)], false, &[]),
        ]);
        assert_eq!(
            plan(&g),
            vec![Action::RemoveRefsIfGone {
                dependent: "x".into(),
                missing: vec!["b".into()],
            }]
        );
    }

    #[test]
    fn foreground_deletes_dependents_then_the_finalizer() {
        let g = graph(vec![
            node("d", &[], true, &[FOREGROUND]),
            node("rs", &[("d", true)], false, &[]),
        ]);
        assert_eq!(
            plan(&g),
            vec![Action::DeleteForeground {
                dependent: "rs".into()
            }]
        );
        // a blocking dependent being deleted still holds the owner
        let g = graph(vec![
            node("d", &[], true, &[FOREGROUND]),
            node("rs", &[("d", true)], true, &[FOREGROUND]),
        ]);
        // (the dependent, with no dependents of its own, loses its finalizer; d waits)
        assert_eq!(
            plan(&g),
            vec![Action::RemoveFinalizer {
                owner: "rs".into(),
                finalizer: FOREGROUND
            }]
        );
        // non-blocking dependents do not hold it
        let g = graph(vec![
            node("d", &[], true, &[FOREGROUND]),
            node("cm", &[("d", false)], true, &[]),
        ]);
        assert_eq!(
            plan(&g),
            vec![Action::RemoveFinalizer {
                owner: "d".into(),
                finalizer: FOREGROUND
            }]
        );
    }

    /// e2e.test's "should not delete dependents that have both valid owner and owner that's
    /// waiting for dependents to be deleted".
    #[test]
    fn foreground_keeps_dependents_with_another_solid_owner() {
        let g = graph(vec![
            node("rc1", &[], true, &[FOREGROUND]),
            node("rc2", &[], false, &[]),
            node("both", &[("rc1", true), ("rc2", false)], false, &[]),
            node("only", &[("rc1", true)], false, &[]),
        ]);
        assert_eq!(
            plan(&g),
            vec![
                Action::DropRef {
                    dependent: "both".into(),
                    owner: "rc1".into()
                },
                Action::DeleteForeground {
                    dependent: "only".into()
                },
            ]
        );
        // an owner that is itself waiting for its dependents is not solid
        let g = graph(vec![
            node("rc1", &[], true, &[FOREGROUND]),
            node("rc2", &[], true, &[FOREGROUND]),
            node("both", &[("rc1", true), ("rc2", true)], false, &[]),
        ]);
        assert_eq!(
            plan(&g),
            vec![Action::DeleteForeground {
                dependent: "both".into()
            }]
        );
    }

    /// e2e.test's "should not be blocked by dependency circle": pod1 → pod2 → pod3 → pod1.
    #[test]
    fn foreground_unwinds_an_ownership_cycle() {
        // pod1 deleted in the foreground, pod2 already too: pod3's dependent (pod1) waits, so
        // pod3 is unblocked before its foreground deletion.
        let g = graph(vec![
            node("pod1", &[("pod3", true)], true, &[FOREGROUND]),
            node("pod2", &[("pod1", true)], true, &[FOREGROUND]),
            node("pod3", &[("pod2", true)], false, &[]),
        ]);
        assert_eq!(
            plan(&g),
            vec![Action::UnblockAndDeleteForeground {
                dependent: "pod3".into()
            }]
        );
        // once pod3's reference to pod2 no longer blocks, pod2 can go
        let g = graph(vec![
            node("pod1", &[("pod3", true)], true, &[FOREGROUND]),
            node("pod2", &[("pod1", true)], true, &[FOREGROUND]),
            node("pod3", &[("pod2", false)], true, &[FOREGROUND]),
        ]);
        assert_eq!(
            plan(&g),
            vec![Action::RemoveFinalizer {
                owner: "pod2".into(),
                finalizer: FOREGROUND
            }]
        );
    }

    #[test]
    fn orphan_removes_references_then_the_finalizer() {
        let g = graph(vec![
            node("rs", &[], true, &[ORPHAN]),
            node("pod", &[("rs", true)], false, &[]),
        ]);
        assert_eq!(
            plan(&g),
            vec![Action::DropRef {
                dependent: "pod".into(),
                owner: "rs".into()
            }]
        );
        let g = graph(vec![node("rs", &[], true, &[ORPHAN])]);
        assert_eq!(
            plan(&g),
            vec![Action::RemoveFinalizer {
                owner: "rs".into(),
                finalizer: ORPHAN
            }]
        );
    }
}
