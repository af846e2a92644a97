//! The replicaset and replicationcontroller controllers (one implementation, like kube's
//! `ReplicaSetController` which the RC controller wraps): pods are created and deleted to match
//! `spec.replicas`, adopted and released by selector, and the status counted.
//!
//! Expectations ([`Expectations`]) make a slow watch or a restart harmless: after creating or
//! deleting pods the controller waits until its cache has seen them before it counts pods
//! again. A restart starts with a fresh cache listed from the API, so it needs none.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::join_all;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::cached_pod::{self, CachedPod};
use crate::events::{self, Involved};
use crate::queue::{self, Queue};
use crate::selector::Selector;
use crate::{Context, is_status};

/// kube's `BurstReplicas`: at most this many creations or deletions per sync.
pub const BURST_REPLICAS: usize = 500;
/// kube's `ExpectationsTimeout`.
pub const EXPECTATIONS_TIMEOUT: Duration = Duration::from_secs(5 * 60);

pub type RsKind = ReplicaSet;
pub type RcKind = ReplicationController;

/// What the controller reads of a ReplicaSet or ReplicationController.
#[derive(Clone, Debug)]
pub struct SetView {
    pub replicas: i32,
    pub min_ready_seconds: i32,
    pub selector: Result<Selector, String>,
    pub template: Option<PodTemplateSpec>,
    pub generation: i64,
    pub status: SetStatus,
}

/// The status both kinds share.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SetStatus {
    pub replicas: i32,
    pub fully_labeled_replicas: i32,
    pub ready_replicas: i32,
    pub available_replicas: i32,
    pub observed_generation: i64,
    /// (type, status, reason, message, lastTransitionTime)
    pub conditions: Vec<Condition>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
    pub last_transition_time: Option<String>,
}

/// ReplicaSet or ReplicationController.
pub trait SetKind:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + Serialize
    + Debug
    + Send
    + Sync
    + 'static
{
    /// The controller's name (logs, event source).
    const CONTROLLER: &'static str;
    fn view(&self) -> SetView;
}

fn conditions_from(v: Option<Value>) -> Vec<Condition> {
    let mut out = Vec::new();
    for c in v.as_ref().and_then(Value::as_array).into_iter().flatten() {
        let s = |k: &str| {
            c.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        out.push(Condition {
            type_: s("type"),
            status: s("status"),
            reason: s("reason"),
            message: s("message"),
            last_transition_time: c
                .get("lastTransitionTime")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
    out
}

impl SetKind for ReplicaSet {
    const CONTROLLER: &'static str = "replicaset-controller";
    fn view(&self) -> SetView {
        let spec = self.spec.clone().unwrap_or_default();
        let st = self.status.clone().unwrap_or_default();
        SetView {
            replicas: spec.replicas.unwrap_or(1),
            min_ready_seconds: spec.min_ready_seconds.unwrap_or(0),
            selector: Selector::from_label_selector(&spec.selector),
            template: spec.template,
            generation: self.metadata.generation.unwrap_or(0),
            status: SetStatus {
                replicas: st.replicas,
                fully_labeled_replicas: st.fully_labeled_replicas.unwrap_or(0),
                ready_replicas: st.ready_replicas.unwrap_or(0),
                available_replicas: st.available_replicas.unwrap_or(0),
                observed_generation: st.observed_generation.unwrap_or(0),
                conditions: conditions_from(serde_json::to_value(st.conditions).ok()),
            },
        }
    }
}

impl SetKind for ReplicationController {
    const CONTROLLER: &'static str = "replication-controller";
    fn view(&self) -> SetView {
        let spec = self.spec.clone().unwrap_or_default();
        let st = self.status.clone().unwrap_or_default();
        let selector = match &spec.selector {
            Some(m) => Selector::from_map(m),
            // defaulted from the template labels by the API; without either nothing matches
            None => match spec.template.as_ref().and_then(|t| t.metadata.as_ref()) {
                Some(m) => Selector::from_map(&m.labels.clone().unwrap_or_default()),
                None => Selector::nothing(),
            },
        };
        SetView {
            replicas: spec.replicas.unwrap_or(1),
            min_ready_seconds: spec.min_ready_seconds.unwrap_or(0),
            selector: if selector.is_empty() {
                Ok(Selector::nothing())
            } else {
                Ok(selector)
            },
            template: spec.template,
            generation: self.metadata.generation.unwrap_or(0),
            status: SetStatus {
                replicas: st.replicas,
                fully_labeled_replicas: st.fully_labeled_replicas.unwrap_or(0),
                ready_replicas: st.ready_replicas.unwrap_or(0),
                available_replicas: st.available_replicas.unwrap_or(0),
                observed_generation: st.observed_generation.unwrap_or(0),
                conditions: conditions_from(serde_json::to_value(st.conditions).ok()),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// pod helpers (kube's podutil)

/// The owner reference with `controller: true`.
pub fn controller_ref(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
}

/// Not terminating and not finished (FilterActivePods).
pub fn is_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    pod.metadata.deletion_timestamp.is_none() && !matches!(phase, Some("Succeeded" | "Failed"))
}

/// The Ready condition's transition time, when Ready is True.
pub fn ready_since(pod: &Pod) -> Option<Option<Timestamp>> {
    pod.status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready" && c.status == "True")
        .map(|c| c.last_transition_time.as_ref().map(|t| t.0))
}

pub fn is_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

/// IsPodAvailable: ready for at least minReadySeconds.
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    match ready_since(pod) {
        None => false,
        Some(_) if min_ready_seconds <= 0 => true,
        Some(None) => false,
        Some(Some(t)) => t.as_second() + i64::from(min_ready_seconds) <= now.as_second(),
    }
}

/// Seconds until a ready pod becomes available (None when not ready or already available).
fn seconds_to_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> Option<i64> {
    let t = ready_since(pod)??;
    let left = t.as_second() + i64::from(min_ready_seconds) - now.as_second();
    (left > 0).then_some(left)
}

/// kube's ActivePodsWithRanks order, cheapest to delete first: unassigned before assigned,
/// pending before unknown before running, not ready before ready, ready more recently first,
/// more restarts first, newer first.
pub fn deletion_order(a: &Pod, b: &Pod) -> std::cmp::Ordering {
    let assigned = |p: &Pod| {
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty())
    };
    let phase_rank = |p: &Pod| match p.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Pending") => 0,
        Some("Running") => 2,
        _ => 1,
    };
    let restarts = |p: &Pod| -> i32 {
        p.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .map(|cs| cs.iter().map(|c| c.restart_count).sum())
            .unwrap_or(0)
    };
    let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
    assigned(a)
        .cmp(&assigned(b))
        .then(phase_rank(a).cmp(&phase_rank(b)))
        .then(is_ready(a).cmp(&is_ready(b)))
        .then_with(|| {
            // ready more recently first
            let ra = ready_since(a).flatten();
            let rb = ready_since(b).flatten();
            rb.cmp(&ra)
        })
        .then(restarts(b).cmp(&restarts(a)))
        .then_with(|| created(b).cmp(&created(a)))
}

/// slowStartBatch: batches of 1, 2, 4, … (never more than what remains), stopping at the first
/// batch with a failure. Returns the batch sizes to run for `count` items.
pub fn slow_start_batches(count: usize, initial: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut remaining = count;
    let mut size = initial.max(1).min(remaining);
    while remaining > 0 {
        out.push(size);
        remaining -= size;
        size = (2 * size).min(remaining);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// expectations

/// Creations and deletions a controller has made but its cache has not shown yet, per owner key.
#[derive(Default, Clone)]
pub struct Expectations {
    inner: Arc<Mutex<HashMap<String, Expect>>>,
}

#[derive(Default)]
struct Expect {
    creates: HashSet<String>,
    deletes: HashSet<String>,
    since: Option<Instant>,
}

impl Expectations {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Expect>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn expect_create(&self, key: &str, pod_name: &str) {
        let mut m = self.lock();
        let e = m.entry(key.to_string()).or_default();
        e.creates.insert(pod_name.to_string());
        e.since.get_or_insert_with(Instant::now);
    }

    pub fn expect_delete(&self, key: &str, pod_uid: &str) {
        let mut m = self.lock();
        let e = m.entry(key.to_string()).or_default();
        e.deletes.insert(pod_uid.to_string());
        e.since.get_or_insert_with(Instant::now);
    }

    /// The cache showed this pod (created, changed, terminating or deleted).
    pub fn observed(&self, key: &str, pod: &Pod, deleted: bool) {
        let mut m = self.lock();
        if let Some(e) = m.get_mut(key) {
            e.creates.remove(&pod.name_any());
            if deleted || pod.metadata.deletion_timestamp.is_some() {
                e.deletes.remove(pod.uid().as_deref().unwrap_or_default());
            }
            if e.creates.is_empty() && e.deletes.is_empty() {
                m.remove(key);
            }
        }
    }

    /// Whether the owner may count its pods again: nothing outstanding (checked against the
    /// cache too), or the expectations have expired.
    pub fn satisfied(&self, key: &str, pods: &[Arc<Pod>]) -> bool {
        let mut m = self.lock();
        let Some(e) = m.get_mut(key) else {
            return true;
        };
        e.creates.retain(|name| {
            !pods
                .iter()
                .any(|p| p.metadata.name.as_deref() == Some(name))
        });
        e.deletes.retain(|uid| {
            pods.iter().any(|p| {
                p.metadata.uid.as_deref() == Some(uid) && p.metadata.deletion_timestamp.is_none()
            })
        });
        let done = e.creates.is_empty() && e.deletes.is_empty();
        let expired = e.since.is_some_and(|t| t.elapsed() > EXPECTATIONS_TIMEOUT);
        if done || expired {
            m.remove(key);
            return true;
        }
        false
    }

    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    pub fn lower_create(&self, key: &str, pod_name: &str) {
        if let Some(e) = self.lock().get_mut(key) {
            e.creates.remove(pod_name);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// the controller

struct Ctl<K: SetKind> {
    ctx: Context,
    sets: Store<K>,
    pods: Store<CachedPod>,
    queue: Queue,
    expectations: Expectations,
}

pub async fn run<K: SetKind>(ctx: Context) {
    let queue = Queue::new();
    let expectations = Expectations::default();
    let q = queue.clone();
    let sets = ctx
        .informers
        .all::<K, _>(move |s: &K| q.add(queue::key(s.meta().namespace.as_deref(), &s.name_any())))
        .await;
    let (q, e, s) = (queue.clone(), expectations.clone(), sets.clone());
    let kind = K::kind(&()).to_string();
    let pods = ctx
        .informers
        .pods_with_deletes(move |pod: &Pod, deleted| {
            let ns = pod.namespace().unwrap_or_default();
            match controller_ref(&pod.metadata) {
                Some(r) if r.kind == kind => {
                    let key = queue::key(Some(&ns), &r.name);
                    e.observed(&key, pod, deleted);
                    q.add(key);
                }
                Some(_) => {}
                None if deleted => {}
                None => {
                    // an orphan: every set whose selector matches may adopt it
                    for set in s.state() {
                        if set.meta().namespace.as_deref() == Some(&ns)
                            && set
                                .view()
                                .selector
                                .is_ok_and(|sel| sel.matches(pod.metadata.labels.as_ref()))
                        {
                            q.add(queue::key(Some(&ns), &set.name_any()));
                        }
                    }
                }
            }
        })
        .await;
    tracing::info!(controller = K::CONTROLLER, "started");
    let ctl = Ctl {
        ctx,
        sets,
        pods,
        queue,
        expectations,
    };
    loop {
        let key = ctl.queue.next().await;
        match ctl.sync(&key).await {
            Ok(Some(after)) => ctl.queue.add_after(key, after),
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(controller = K::CONTROLLER, key, error = %e, "sync failed");
                ctl.queue.add_after(key, Duration::from_millis(500));
            }
        }
    }
}

impl<K: SetKind> Ctl<K> {
    fn involved<'a>(&self, set: &'a K) -> Involved<'a> {
        Involved {
            api_version: if K::group(&()).is_empty() {
                "v1"
            } else {
                "apps/v1"
            },
            kind: kind_str::<K>(),
            namespace: set.meta().namespace.as_deref().unwrap_or_default(),
            name: set.meta().name.as_deref().unwrap_or_default(),
            uid: set.meta().uid.as_deref().unwrap_or_default(),
            resource_version: set.meta().resource_version.as_deref(),
        }
    }

    async fn event(&self, set: &K, type_: &str, reason: &str, message: String) {
        events::record(
            &self.ctx.client,
            self.ctx.clock.as_ref(),
            K::CONTROLLER,
            &self.involved(set),
            type_,
            reason,
            message,
        )
        .await;
    }

    /// One sync; returns when to look again.
    async fn sync(&self, key: &str) -> Result<Option<Duration>, kube::Error> {
        let (ns, name) = queue::split(key);
        let ns = ns.unwrap_or_default();
        let Some(set) = self.sets.get(&ObjectRef::new(name).within(ns)) else {
            self.expectations.forget(key);
            return Ok(None);
        };
        let view = set.view();
        let selector = match &view.selector {
            Ok(s) => s.clone(),
            Err(e) => {
                tracing::debug!(key, error = %e, "invalid selector");
                return Ok(None);
            }
        };
        let uid = set.meta().uid.clone().unwrap_or_default();
        let all_pods = cached_pod::claimable(&self.pods, ns, &uid, &selector);
        let satisfied = self.expectations.satisfied(key, &all_pods);
        let deleting = set.meta().deletion_timestamp.is_some();

        // claim: keep ours that match, release ours that don't, adopt matching orphans
        let mut owned: Vec<Arc<Pod>> = Vec::new();
        let mut adopt: Vec<Arc<Pod>> = Vec::new();
        let mut release: Vec<Arc<Pod>> = Vec::new();
        for p in &all_pods {
            let matches = selector.matches(p.metadata.labels.as_ref());
            match controller_ref(&p.metadata) {
                Some(r) if r.uid == uid => {
                    if matches || deleting {
                        owned.push(p.clone());
                    } else {
                        release.push(p.clone());
                    }
                }
                Some(_) => {}
                None => {
                    if matches && !deleting && p.metadata.deletion_timestamp.is_none() {
                        adopt.push(p.clone());
                    }
                }
            }
        }
        for p in release {
            self.release(&set, &p).await?;
        }
        if !adopt.is_empty() && self.can_adopt(&set).await? {
            for p in adopt {
                if self.adopt(&set, &p).await? {
                    owned.push(p);
                }
            }
        }
        let active: Vec<Arc<Pod>> = owned.iter().filter(|p| is_active(p)).cloned().collect();

        let mut manage_err: Option<(String, String)> = None;
        if satisfied && !deleting {
            manage_err = self.manage(&set, &view, key, &active).await;
        }

        // status
        let now = self.ctx.clock.now();
        let mut st = SetStatus {
            replicas: active.len() as i32,
            observed_generation: view.generation,
            conditions: view.status.conditions.clone(),
            ..SetStatus::default()
        };
        let template_labels = view
            .template
            .as_ref()
            .and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.labels.clone())
            .unwrap_or_default();
        let mut next_check: Option<i64> = None;
        for p in &active {
            let labels = p.metadata.labels.clone().unwrap_or_default();
            if template_labels
                .iter()
                .all(|(k, v)| labels.get(k) == Some(v))
            {
                st.fully_labeled_replicas += 1;
            }
            if is_ready(p) {
                st.ready_replicas += 1;
                if is_available(p, view.min_ready_seconds, now) {
                    st.available_replicas += 1;
                } else if let Some(left) = seconds_to_available(p, view.min_ready_seconds, now) {
                    next_check = Some(next_check.map_or(left, |n| n.min(left)));
                }
            }
        }
        let failure = st
            .conditions
            .iter()
            .position(|c| c.type_ == "ReplicaFailure");
        match (manage_err, failure) {
            (Some((reason, message)), idx) => {
                let c = Condition {
                    type_: "ReplicaFailure".into(),
                    status: "True".into(),
                    reason,
                    message,
                    last_transition_time: Some(now.to_string()),
                };
                match idx {
                    Some(i) if st.conditions[i].status == "True" => {
                        let t = st.conditions[i].last_transition_time.clone();
                        st.conditions[i] = Condition {
                            last_transition_time: t,
                            ..c
                        };
                    }
                    Some(i) => st.conditions[i] = c,
                    None => st.conditions.push(c),
                }
            }
            (None, Some(i)) if satisfied => {
                st.conditions.remove(i);
            }
            (None, _) => {}
        }
        if st != view.status {
            self.patch_status(&set, &st).await?;
        }
        if !satisfied {
            return Ok(Some(EXPECTATIONS_TIMEOUT));
        }
        Ok(next_check.map(|s| Duration::from_secs(s.max(1) as u64)))
    }

    async fn patch_status(&self, set: &K, st: &SetStatus) -> Result<(), kube::Error> {
        let nz = |n: i32| if n == 0 { Value::Null } else { json!(n) };
        let conditions: Vec<Value> = st
            .conditions
            .iter()
            .map(|c| {
                json!({"type": c.type_, "status": c.status, "reason": c.reason,
                    "message": c.message, "lastTransitionTime": c.last_transition_time})
            })
            .collect();
        let patch = json!({"status": {
            "replicas": st.replicas,
            "fullyLabeledReplicas": nz(st.fully_labeled_replicas),
            "readyReplicas": nz(st.ready_replicas),
            "availableReplicas": nz(st.available_replicas),
            "observedGeneration": st.observed_generation,
            "conditions": if conditions.is_empty() { Value::Null } else { Value::Array(conditions) },
        }});
        let api: Api<K> = Api::namespaced(
            self.ctx.client.clone(),
            set.meta().namespace.as_deref().unwrap_or_default(),
        );
        match api
            .patch_status(
                &set.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, 404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Live re-check before adopting (kube's RecheckDeletionTimestamp): the set must still be
    /// the same object and not being deleted.
    async fn can_adopt(&self, set: &K) -> Result<bool, kube::Error> {
        let api: Api<K> = Api::namespaced(
            self.ctx.client.clone(),
            set.meta().namespace.as_deref().unwrap_or_default(),
        );
        match api.get_opt(&set.name_any()).await? {
            Some(fresh) => {
                Ok(fresh.meta().uid == set.meta().uid && fresh.meta().deletion_timestamp.is_none())
            }
            None => Ok(false),
        }
    }

    fn owner_ref(&self, set: &K) -> OwnerReference {
        OwnerReference {
            api_version: K::api_version(&()).to_string(),
            kind: K::kind(&()).to_string(),
            name: set.name_any(),
            uid: set.meta().uid.clone().unwrap_or_default(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    async fn adopt(&self, set: &K, pod: &Pod) -> Result<bool, kube::Error> {
        let mut refs = pod.metadata.owner_references.clone().unwrap_or_default();
        refs.push(self.owner_ref(set));
        self.set_owner_refs(pod, json!(refs)).await
    }

    async fn release(&self, set: &K, pod: &Pod) -> Result<(), kube::Error> {
        let uid = set.meta().uid.clone().unwrap_or_default();
        let refs: Vec<&OwnerReference> = pod
            .metadata
            .owner_references
            .iter()
            .flatten()
            .filter(|r| r.uid != uid)
            .collect();
        let refs = if refs.is_empty() {
            Value::Null
        } else {
            json!(refs)
        };
        self.set_owner_refs(pod, refs).await.map(|_| ())
    }

    /// Replaces a pod's ownerReferences, guarded by its uid. False when the pod is gone or
    /// changed underneath (404/409/422): the next sync decides again.
    async fn set_owner_refs(&self, pod: &Pod, refs: Value) -> Result<bool, kube::Error> {
        let patch = json!({"metadata": {
            "ownerReferences": refs,
            "uid": pod.metadata.uid,
        }});
        let api: Api<Pod> = Api::namespaced(
            self.ctx.client.clone(),
            pod.metadata.namespace.as_deref().unwrap_or_default(),
        );
        match api
            .patch(
                &pod.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_status(&e, 404) || is_status(&e, 409) || is_status(&e, 422) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// manageReplicas: returns the ReplicaFailure reason and message on failure.
    async fn manage(
        &self,
        set: &K,
        view: &SetView,
        key: &str,
        active: &[Arc<Pod>],
    ) -> Option<(String, String)> {
        let diff = active.len() as i64 - i64::from(view.replicas.max(0));
        let ns = set.meta().namespace.clone().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &ns);
        if diff < 0 {
            let want = ((-diff) as usize).min(BURST_REPLICAS);
            let template = view.template.clone()?;
            let pod = self.pod_from_template(set, &template);
            let pp = PostParams::default();
            for batch in slow_start_batches(want, 1) {
                let results = join_all((0..batch).map(|_| api.create(&pp, &pod))).await;
                let mut failed = None;
                for r in results {
                    match r {
                        Ok(p) => {
                            let name = p.name_any();
                            self.expectations.expect_create(key, &name);
                            self.event(
                                set,
                                "Normal",
                                "SuccessfulCreate",
                                format!("Created pod: {name}"),
                            )
                            .await;
                        }
                        Err(e) => {
                            let msg = match &e {
                                kube::Error::Api(s) => s.message.clone(),
                                e => e.to_string(),
                            };
                            self.event(
                                set,
                                "Warning",
                                "FailedCreate",
                                format!("Error creating: {msg}"),
                            )
                            .await;
                            failed = Some(("FailedCreate".to_string(), msg));
                        }
                    }
                }
                if failed.is_some() {
                    return failed;
                }
            }
        } else if diff > 0 {
            let n = (diff as usize).min(BURST_REPLICAS);
            let mut victims: Vec<Arc<Pod>> = active.to_vec();
            victims.sort_by(|a, b| deletion_order(a, b));
            victims.truncate(n);
            for p in &victims {
                self.expectations
                    .expect_delete(key, p.metadata.uid.as_deref().unwrap_or_default());
            }
            let results = join_all(victims.iter().map(|p| {
                let dp = DeleteParams {
                    preconditions: Some(Preconditions {
                        uid: p.metadata.uid.clone(),
                        resource_version: None,
                    }),
                    ..DeleteParams::default()
                };
                let api = api.clone();
                let name = p.name_any();
                async move { (name, api.delete(&p.name_any(), &dp).await) }
            }))
            .await;
            let mut failed = None;
            for ((name, r), p) in results.into_iter().zip(&victims) {
                match r {
                    Ok(_) => {
                        self.event(
                            set,
                            "Normal",
                            "SuccessfulDelete",
                            format!("Deleted pod: {name}"),
                        )
                        .await
                    }
                    Err(e) if is_status(&e, 404) || is_status(&e, 409) => {
                        self.expectations.observed(key, p, true);
                    }
                    Err(e) => {
                        self.expectations.observed(key, p, true);
                        let msg = match &e {
                            kube::Error::Api(s) => s.message.clone(),
                            e => e.to_string(),
                        };
                        self.event(
                            set,
                            "Warning",
                            "FailedDelete",
                            format!("Error deleting: {msg}"),
                        )
                        .await;
                        failed = Some(("FailedDelete".to_string(), msg));
                    }
                }
            }
            return failed;
        }
        None
    }

    fn pod_from_template(&self, set: &K, template: &PodTemplateSpec) -> Pod {
        let tm = template.metadata.clone().unwrap_or_default();
        Pod {
            metadata: ObjectMeta {
                generate_name: Some(format!("{}-", set.name_any())),
                labels: tm.labels.clone(),
                annotations: tm.annotations.clone(),
                finalizers: tm.finalizers.clone(),
                owner_references: Some(vec![self.owner_ref(set)]),
                ..ObjectMeta::default()
            },
            spec: template.spec.clone(),
            status: None,
        }
    }
}

fn kind_str<K: SetKind>() -> &'static str {
    if K::group(&()).is_empty() {
        "ReplicationController"
    } else {
        "ReplicaSet"
    }
}

/// Labels of a template, for callers outside this module.
pub fn template_labels(t: &PodTemplateSpec) -> BTreeMap<String, String> {
    t.metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    #[test]
    fn slow_start() {
        assert_eq!(slow_start_batches(0, 1), Vec::<usize>::new());
        assert_eq!(slow_start_batches(1, 1), vec![1]);
        assert_eq!(slow_start_batches(10, 1), vec![1, 2, 4, 3]);
        assert_eq!(slow_start_batches(15, 1), vec![1, 2, 4, 8]);
    }

    fn pod(name: &str, uid: &str, ready_at: Option<i64>, phase: &str) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                uid: Some(uid.into()),
                ..ObjectMeta::default()
            },
            spec: None,
            status: Some(PodStatus {
                phase: Some(phase.into()),
                conditions: ready_at.map(|t| {
                    vec![PodCondition {
                        type_: "Ready".into(),
                        status: "True".into(),
                        last_transition_time: Some(Time(Timestamp::from_second(t).expect("time"))),
                        ..PodCondition::default()
                    }]
                }),
                ..PodStatus::default()
            }),
        }
    }

    #[test]
    fn availability_honours_min_ready_seconds() {
        let now = Timestamp::from_second(100).expect("time");
        let p = pod("a", "1", Some(95), "Running");
        assert!(is_available(&p, 0, now));
        assert!(is_available(&p, 5, now));
        assert!(!is_available(&p, 6, now));
        assert_eq!(seconds_to_available(&p, 10, now), Some(5));
        assert!(!is_available(&pod("b", "2", None, "Running"), 0, now));
    }

    #[test]
    fn deletes_pending_and_unready_first() {
        let mut pods = [
            pod("ready-old", "1", Some(10), "Running"),
            pod("pending", "2", None, "Pending"),
            pod("ready-new", "3", Some(50), "Running"),
            pod("running-unready", "4", None, "Running"),
        ];
        pods.sort_by(deletion_order);
        let names: Vec<String> = pods.iter().map(|p| p.name_any()).collect();
        assert_eq!(
            names,
            ["pending", "running-unready", "ready-new", "ready-old"]
        );
    }

    #[test]
    fn expectations_wait_for_the_cache() {
        let e = Expectations::default();
        e.expect_create("ns/rs", "rs-abc");
        assert!(!e.satisfied("ns/rs", &[]));
        let p = Arc::new(pod("rs-abc", "u1", None, "Pending"));
        assert!(e.satisfied("ns/rs", std::slice::from_ref(&p)));
        e.expect_delete("ns/rs", "u1");
        assert!(!e.satisfied("ns/rs", std::slice::from_ref(&p)));
        e.observed("ns/rs", &p, true);
        assert!(e.satisfied("ns/rs", &[p]));
    }
}
