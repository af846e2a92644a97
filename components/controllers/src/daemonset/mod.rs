//! The daemonset controller (kube's `pkg/controller/daemon`): one pod per node that matches the
//! template's node selector and required node affinity and whose NoSchedule/NoExecute taints
//! it tolerates (with the daemon tolerations kube adds). Pods are pinned to their node with a
//! required node affinity on `metadata.name` and left to the scheduler; they carry the
//! `controller-revision-hash` and `pod-template-generation` labels. Nodes coming, going or
//! changing labels or taints gain or lose their pod; RollingUpdate replaces pods within
//! maxUnavailable / maxSurge, OnDelete only when they are deleted; ControllerRevisions keep the
//! template history `kubectl rollout history/undo` reads.
//!
//! The decisions are in [`plan`] (pure); this module reads the caches, makes the API calls and
//! writes the status. Expectations keep a slow watch or a restart from creating a second pod.

pub mod plan;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::join_all;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, DaemonSetSpec};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use crate::cached_pod::{self, CachedPod};
use crate::deployment::util::compute_hash;
use crate::events::{self, Involved};
use crate::history::{self, CONTROLLER_REVISION_HASH};
use crate::queue::{self, Queue};
use crate::replicaset::{Expectations, controller_ref, is_available, is_ready, slow_start_batches};
use crate::selector::Selector;
use crate::{Context, is_status};
use plan::{NodePods, PodInfo, TEMPLATE_GENERATION_ANNOTATION, TEMPLATE_GENERATION_LABEL};

const COMPONENT: &str = "daemonset-controller";
/// kube's BurstReplicas for daemon sets.
const BURST_REPLICAS: usize = 250;
/// Failed pods on a node are deleted with back-off from 1s up to 15 minutes.
const BACKOFF_INITIAL: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(15 * 60);

type Res<T> = Result<T, kube::Error>;

struct Ctl {
    ctx: Context,
    sets: Store<DaemonSet>,
    pods: Store<CachedPod>,
    nodes: Store<Node>,
    revisions: Store<ControllerRevision>,
    expectations: Expectations,
    /// per `<ds key>/<node>`: (last failed-pod deletion, current delay)
    backoff: Mutex<HashMap<String, (Instant, Duration)>>,
}

fn enqueue_all(q: &Queue, sets: &Store<DaemonSet>) {
    for ds in sets.state() {
        q.add(queue::key(ds.metadata.namespace.as_deref(), &ds.name_any()));
    }
}

/// What about a node decides where daemon pods go.
fn node_fingerprint(node: &Node) -> String {
    let spec = node.spec.as_ref();
    json!([
        node.metadata.labels,
        spec.and_then(|s| s.taints.as_ref()),
        spec.and_then(|s| s.unschedulable),
    ])
    .to_string()
}

pub async fn run(ctx: Context) {
    let queue = Queue::new();
    let expectations = Expectations::default();
    let q = queue.clone();
    let sets = ctx
        .informers
        .all::<DaemonSet, _>(move |d: &DaemonSet| {
            q.add(queue::key(d.metadata.namespace.as_deref(), &d.name_any()))
        })
        .await;
    let (q, e, ss) = (queue.clone(), expectations.clone(), sets.clone());
    let pods = ctx
        .informers
        .pods_with_deletes(move |pod: &Pod, deleted| {
            let ns = pod.namespace().unwrap_or_default();
            match controller_ref(&pod.metadata) {
                Some(r) if r.kind == "DaemonSet" => {
                    let key = queue::key(Some(&ns), &r.name);
                    e.observed(&key, pod, deleted);
                    q.add(key);
                }
                Some(_) => {}
                None if deleted => {}
                None => enqueue_matching(&q, &ss, &ns, pod.metadata.labels.as_ref()),
            }
        })
        .await;
    let (q, ss) = (queue.clone(), sets.clone());
    let seen: Mutex<HashMap<String, String>> = Mutex::new(HashMap::new());
    let nodes = ctx
        .informers
        .all_with_deletes::<Node, _>(move |node: &Node, deleted| {
            // heartbeats change nothing that matters here: only labels, taints, cordoning
            let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
            let name = node.name_any();
            let changed = if deleted {
                seen.remove(&name).is_some()
            } else {
                let fp = node_fingerprint(node);
                seen.insert(name, fp.clone()).as_ref() != Some(&fp)
            };
            drop(seen);
            if changed {
                enqueue_all(&q, &ss);
            }
        })
        .await;
    let (q, ss) = (queue.clone(), sets.clone());
    let revisions = ctx
        .informers
        .all_with_deletes::<ControllerRevision, _>(move |rev: &ControllerRevision, deleted| {
            let ns = rev.namespace().unwrap_or_default();
            match controller_ref(&rev.metadata) {
                Some(r) if r.kind == "DaemonSet" => q.add(queue::key(Some(&ns), &r.name)),
                Some(_) => {}
                None if deleted => {}
                None => enqueue_matching(&q, &ss, &ns, rev.metadata.labels.as_ref()),
            }
        })
        .await;
    tracing::info!(controller = COMPONENT, "started");
    let ctl = Ctl {
        ctx,
        sets,
        pods,
        nodes,
        revisions,
        expectations,
        backoff: Mutex::new(HashMap::new()),
    };
    loop {
        let key = queue.next().await;
        match ctl.sync(&key).await {
            Ok(Some(after)) => queue.add_after(key, after),
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(key, error = %e, "daemonset sync failed");
                queue.add_after(key, Duration::from_millis(500));
            }
        }
    }
}

fn enqueue_matching(
    q: &Queue,
    sets: &Store<DaemonSet>,
    ns: &str,
    labels: Option<&BTreeMap<String, String>>,
) {
    for ds in sets.state() {
        if ds.metadata.namespace.as_deref() == Some(ns)
            && selector_of(&ds).is_ok_and(|s| !s.is_empty() && s.matches(labels))
        {
            q.add(queue::key(Some(ns), &ds.name_any()));
        }
    }
}

fn selector_of(ds: &DaemonSet) -> Result<Selector, String> {
    match &ds.spec {
        Some(s) => Selector::from_label_selector(&s.selector),
        None => Ok(Selector::nothing()),
    }
}

fn owner_ref(ds: &DaemonSet) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".into(),
        kind: "DaemonSet".into(),
        name: ds.name_any(),
        uid: ds.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The template generation: the API server's annotation, else the object's generation.
fn template_generation(ds: &DaemonSet) -> Option<i64> {
    ds.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(TEMPLATE_GENERATION_ANNOTATION))
        .and_then(|v| v.parse().ok())
        .or(ds.metadata.generation)
}

fn label<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(key))
        .map(String::as_str)
}

fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        e => e.to_string(),
    }
}

/// A DaemonSet's pod for a node (CreatePodTemplate + ReplaceDaemonSetPodNodeNameNodeAffinity).
pub fn new_pod(ds: &DaemonSet, spec: &DaemonSetSpec, node: &str, hash: &str) -> Pod {
    let tm = spec.template.metadata.clone().unwrap_or_default();
    let mut labels = tm.labels.clone().unwrap_or_default();
    if let Some(g) = template_generation(ds) {
        labels.insert(TEMPLATE_GENERATION_LABEL.into(), g.to_string());
    }
    if !hash.is_empty() {
        labels.insert(CONTROLLER_REVISION_HASH.into(), hash.to_string());
    }
    let mut pod_spec = spec.template.spec.clone().unwrap_or_default();
    plan::add_daemon_tolerations(&mut pod_spec);
    pod_spec.affinity = Some(plan::pin_to_node(pod_spec.affinity.take(), node));
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", ds.name_any())),
            namespace: ds.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: tm.annotations,
            finalizers: tm.finalizers,
            owner_references: Some(vec![owner_ref(ds)]),
            ..ObjectMeta::default()
        },
        spec: Some(pod_spec),
        status: None,
    }
}

impl Ctl {
    fn involved(ds: &DaemonSet) -> Involved<'_> {
        Involved {
            api_version: "apps/v1",
            kind: "DaemonSet",
            namespace: ds.metadata.namespace.as_deref().unwrap_or_default(),
            name: ds.metadata.name.as_deref().unwrap_or_default(),
            uid: ds.metadata.uid.as_deref().unwrap_or_default(),
            resource_version: ds.metadata.resource_version.as_deref(),
        }
    }

    async fn event(&self, ds: &DaemonSet, type_: &str, reason: &str, message: String) {
        events::record(
            &self.ctx.client,
            self.ctx.clock.as_ref(),
            COMPONENT,
            &Self::involved(ds),
            type_,
            reason,
            message,
        )
        .await;
    }

    fn pod_api(&self, ns: &str) -> Api<Pod> {
        Api::namespaced(self.ctx.client.clone(), ns)
    }

    fn ds_api(&self, ns: &str) -> Api<DaemonSet> {
        Api::namespaced(self.ctx.client.clone(), ns)
    }

    async fn sync(&self, key: &str) -> Res<Option<Duration>> {
        let (ns, name) = queue::split(key);
        let ns = ns.unwrap_or_default();
        let Some(ds) = self.sets.get(&ObjectRef::new(name).within(ns)) else {
            self.expectations.forget(key);
            return Ok(None);
        };
        let Some(spec) = ds.spec.clone() else {
            return Ok(None);
        };
        let selector = match Selector::from_label_selector(&spec.selector) {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(key, error = %e, "invalid selector");
                return Ok(None);
            }
        };
        if selector.is_empty() {
            let msg = "This daemon set is selecting all pods. A non-empty selector is required.";
            self.event(&ds, "Warning", "SelectingAll", msg.to_string())
                .await;
            return Ok(None);
        }
        // the garbage collector may be deleting its history: leave a set being deleted alone
        if ds.metadata.deletion_timestamp.is_some() {
            return Ok(None);
        }
        let (current, old) = self.construct_history(&ds, &spec, &selector).await?;
        let hash = label(&current.metadata, CONTROLLER_REVISION_HASH)
            .unwrap_or_default()
            .to_string();

        let mut nodes: Vec<Arc<Node>> = self.nodes.state();
        nodes.sort_by_key(|n| n.name_any());
        let ns_pods = cached_pod::claimable(
            &self.pods,
            ns,
            ds.metadata.uid.as_deref().unwrap_or_default(),
            &selector,
        );
        if !self.expectations.satisfied(key, &ns_pods) {
            // only the status; observedGeneration waits for a sync that acts on this generation
            let pods = self.claim_pods(&ds, &selector, &ns_pods, false).await?;
            self.update_status(&ds, &spec, &nodes, &pods, &hash, false)
                .await?;
            return Ok(Some(Duration::from_secs(5)));
        }
        let pods = self.claim_pods(&ds, &selector, &ns_pods, true).await?;

        let mut requeue: Option<Duration> = None;
        // manage: every node gets what it should have
        let by_node = self.by_node(&spec, &pods, &hash, &ds);
        let template_spec = spec.template.spec.clone().unwrap_or_default();
        let surge = plan::surge_and_unavailable(
            spec.update_strategy
                .as_ref()
                .filter(|s| s.type_.as_deref() != Some("OnDelete"))
                .and_then(|s| s.rolling_update.as_ref())
                .and_then(|r| r.max_surge.as_ref()),
            None,
            1,
        )
        .is_ok_and(|(s, _)| s > 0);
        let mut creates: Vec<String> = Vec::new();
        let mut deletes: Vec<String> = Vec::new();
        for node in &nodes {
            let node_name = node.name_any();
            let (should_run, should_continue) = plan::node_should_run(node, &template_spec);
            let on_node = by_node.get(&node_name).cloned().unwrap_or_default();
            let work = plan::pods_should_be_on_node(should_run, should_continue, &on_node, surge);
            if work.create {
                creates.push(node_name.clone());
            }
            deletes.extend(work.delete);
            for failed in work.failed {
                match self.backoff_wait(key, &node_name) {
                    Some(wait) => {
                        requeue = Some(requeue.map_or(wait, |r| r.min(wait)));
                    }
                    None => {
                        let msg = format!(
                            "Found failed daemon pod {ns}/{failed} on node {node_name}, will try to kill it"
                        );
                        self.event(&ds, "Warning", "FailedDaemonPod", msg).await;
                        deletes.push(failed);
                    }
                }
            }
        }
        let node_names: Vec<String> = nodes.iter().map(|n| n.name_any()).collect();
        deletes.extend(
            plan::unscheduled_without_node(&node_names, &by_node)
                .into_iter()
                .map(str::to_string),
        );
        let mut failure = self
            .sync_nodes(key, &ds, &spec, &pods, &deletes, &creates, &hash)
            .await
            .err();

        // the rolling update, once the core loop has nothing in flight
        let rolling = spec
            .update_strategy
            .as_ref()
            .and_then(|s| s.type_.as_deref())
            .is_none_or(|t| t == "RollingUpdate");
        if failure.is_none() && rolling && self.expectations.satisfied(key, &ns_pods) {
            let node_pods: Vec<NodePods> = self.rollout_view(&nodes, &template_spec, &by_node);
            let desired = node_pods.iter().filter(|n| n.should_run).count() as i32;
            let ru = spec
                .update_strategy
                .as_ref()
                .and_then(|s| s.rolling_update.as_ref());
            match plan::surge_and_unavailable(
                ru.and_then(|r| r.max_surge.as_ref()),
                ru.and_then(|r| r.max_unavailable.as_ref()),
                desired,
            ) {
                Ok((max_surge, max_unavailable)) => {
                    let r = plan::rolling_update(&node_pods, max_surge, max_unavailable, desired);
                    failure = self
                        .sync_nodes(key, &ds, &spec, &pods, &r.delete, &r.create_on, &hash)
                        .await
                        .err();
                }
                Err(e) => tracing::debug!(key, error = %e, "invalid rolling update parameters"),
            }
        }

        self.cleanup_history(&ds, &spec, &pods, old).await?;
        self.update_status(&ds, &spec, &nodes, &pods, &hash, true)
            .await?;
        if let Some(e) = failure {
            return Err(e);
        }
        let min_ready = spec.min_ready_seconds.unwrap_or(0);
        if min_ready > 0 {
            let wait = Duration::from_secs(min_ready as u64);
            requeue = Some(requeue.map_or(wait, |r| r.min(wait)));
        }
        Ok(requeue)
    }

    /// The set's pods by the node they are on or pinned to (pods both deleted and finished
    /// left out).
    fn by_node(
        &self,
        spec: &DaemonSetSpec,
        pods: &[Arc<Pod>],
        hash: &str,
        ds: &DaemonSet,
    ) -> BTreeMap<String, Vec<PodInfo>> {
        let now = self.ctx.clock.now();
        let min_ready = spec.min_ready_seconds.unwrap_or(0);
        let generation = template_generation(ds).map(|g| g.to_string());
        let mut out: BTreeMap<String, Vec<PodInfo>> = BTreeMap::new();
        for p in pods {
            let phase = p
                .status
                .as_ref()
                .and_then(|s| s.phase.clone())
                .unwrap_or_default();
            let deleting = p.metadata.deletion_timestamp.is_some();
            if deleting && (phase == "Succeeded" || phase == "Failed") {
                continue;
            }
            let Some(node) = p.spec.as_ref().and_then(plan::target_node) else {
                continue;
            };
            let info = PodInfo {
                name: p.name_any(),
                scheduled: p
                    .spec
                    .as_ref()
                    .and_then(|s| s.node_name.as_deref())
                    .is_some_and(|n| !n.is_empty()),
                created: p
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .map_or(0, |t| t.0.as_second()),
                phase,
                deleting,
                ready: is_ready(p),
                available: is_available(p, min_ready, now),
                hash_matches: !hash.is_empty()
                    && label(&p.metadata, CONTROLLER_REVISION_HASH) == Some(hash),
                generation_matches: generation.is_some()
                    && label(&p.metadata, TEMPLATE_GENERATION_LABEL) == generation.as_deref(),
            };
            out.entry(node).or_default().push(info);
        }
        out
    }

    /// Every node that should run a pod or has one, for the rolling update.
    fn rollout_view(
        &self,
        nodes: &[Arc<Node>],
        template: &k8s_openapi::api::core::v1::PodSpec,
        by_node: &BTreeMap<String, Vec<PodInfo>>,
    ) -> Vec<NodePods> {
        let mut out: BTreeMap<String, NodePods> = BTreeMap::new();
        for (node, pods) in by_node {
            out.insert(
                node.clone(),
                NodePods {
                    node: node.clone(),
                    should_run: false,
                    pods: pods.clone(),
                },
            );
        }
        for n in nodes {
            let (should_run, _) = plan::node_should_run(n, template);
            if !should_run {
                continue;
            }
            out.entry(n.name_any())
                .or_insert_with(|| NodePods {
                    node: n.name_any(),
                    should_run: false,
                    pods: Vec::new(),
                })
                .should_run = true;
        }
        out.into_values().collect()
    }

    /// The failed-pod back-off of a node: Some(time left) while in it; otherwise the next
    /// deletion is allowed and the back-off grows.
    fn backoff_wait(&self, key: &str, node: &str) -> Option<Duration> {
        let mut b = self.backoff.lock().unwrap_or_else(|e| e.into_inner());
        let id = format!("{key}/{node}");
        let now = Instant::now();
        if let Some((last, delay)) = b.get(&id)
            && now.duration_since(*last) < *delay
        {
            return Some(*delay - now.duration_since(*last));
        }
        let delay = match b.get(&id) {
            Some((last, delay)) if now.duration_since(*last) <= 2 * BACKOFF_MAX => {
                (*delay * 2).min(BACKOFF_MAX)
            }
            _ => BACKOFF_INITIAL,
        };
        b.insert(id, (now, delay));
        None
    }

    /// syncNodes: deletes the named pods and creates one on each named node, in slow-start
    /// batches, with expectations.
    #[allow(clippy::too_many_arguments)]
    async fn sync_nodes(
        &self,
        key: &str,
        ds: &DaemonSet,
        spec: &DaemonSetSpec,
        pods: &[Arc<Pod>],
        deletes: &[String],
        creates: &[String],
        hash: &str,
    ) -> Res<()> {
        let ns = ds.metadata.namespace.clone().unwrap_or_default();
        let api = self.pod_api(&ns);
        let mut failure: Option<kube::Error> = None;

        let creates = &creates[..creates.len().min(BURST_REPLICAS)];
        let mut rest = creates;
        for size in slow_start_batches(creates.len(), 1) {
            let (batch, tail) = rest.split_at(size);
            rest = tail;
            let results = join_all(batch.iter().map(|node| {
                let pod = new_pod(ds, spec, node, hash);
                let api = api.clone();
                async move { api.create(&PostParams::default(), &pod).await }
            }))
            .await;
            for r in results {
                match r {
                    Ok(p) => {
                        let name = p.name_any();
                        self.expectations.expect_create(key, &name);
                        self.event(
                            ds,
                            "Normal",
                            "SuccessfulCreate",
                            format!("Created pod: {name}"),
                        )
                        .await;
                    }
                    Err(e) => {
                        let msg = api_message(&e);
                        self.event(
                            ds,
                            "Warning",
                            "FailedCreate",
                            format!("Error creating: {msg}"),
                        )
                        .await;
                        failure = Some(e);
                    }
                }
            }
            if failure.is_some() {
                break;
            }
        }

        let victims: Vec<Arc<Pod>> = deletes
            .iter()
            .take(BURST_REPLICAS)
            .filter_map(|n| pods.iter().find(|p| p.name_any() == *n).cloned())
            .collect();
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
            async move { api.delete(&p.name_any(), &dp).await }
        }))
        .await;
        for (r, p) in results.into_iter().zip(&victims) {
            let name = p.name_any();
            match r {
                Ok(_) => {
                    self.event(
                        ds,
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
                    let msg = api_message(&e);
                    self.event(
                        ds,
                        "Warning",
                        "FailedDelete",
                        format!("Error deleting: {msg}"),
                    )
                    .await;
                    failure = Some(e);
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Claims the set's pods (adopting matching orphans, releasing ones no longer matching).
    async fn claim_pods(
        &self,
        ds: &DaemonSet,
        selector: &Selector,
        ns_pods: &[Arc<Pod>],
        adopt_and_release: bool,
    ) -> Res<Vec<Arc<Pod>>> {
        let uid = ds.metadata.uid.clone().unwrap_or_default();
        let mut owned = Vec::new();
        let mut adopt = Vec::new();
        for p in ns_pods {
            let matches = selector.matches(p.metadata.labels.as_ref());
            match controller_ref(&p.metadata) {
                Some(r) if r.uid == uid => {
                    if matches {
                        owned.push(p.clone());
                    } else if adopt_and_release {
                        let refs: Vec<&OwnerReference> = p
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
                        self.set_pod_owner_refs(p, refs).await?;
                    }
                }
                Some(_) => {}
                None if matches && p.metadata.deletion_timestamp.is_none() => adopt.push(p.clone()),
                None => {}
            }
        }
        if adopt_and_release && !adopt.is_empty() && self.can_adopt(ds).await? {
            for p in adopt {
                let mut refs = p.metadata.owner_references.clone().unwrap_or_default();
                refs.push(owner_ref(ds));
                if let Some(adopted) = self.set_pod_owner_refs(&p, json!(refs)).await? {
                    owned.push(Arc::new(adopted));
                }
            }
        }
        Ok(owned)
    }

    async fn set_pod_owner_refs(&self, pod: &Pod, refs: Value) -> Res<Option<Pod>> {
        let patch = json!({"metadata": {"ownerReferences": refs, "uid": pod.metadata.uid}});
        match self
            .pod_api(pod.metadata.namespace.as_deref().unwrap_or_default())
            .patch(
                &pod.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(p) => Ok(Some(p)),
            Err(e) if is_status(&e, 404) || is_status(&e, 409) || is_status(&e, 422) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn can_adopt(&self, ds: &DaemonSet) -> Res<bool> {
        let api = self.ds_api(ds.metadata.namespace.as_deref().unwrap_or_default());
        Ok(api.get_opt(&ds.name_any()).await?.is_some_and(|fresh| {
            fresh.metadata.uid == ds.metadata.uid && fresh.metadata.deletion_timestamp.is_none()
        }))
    }

    /// constructHistory: the revision of the current template (made if missing, duplicates
    /// merged, renumbered to be the newest) and the older ones.
    async fn construct_history(
        &self,
        ds: &DaemonSet,
        spec: &DaemonSetSpec,
        selector: &Selector,
    ) -> Res<(ControllerRevision, Vec<ControllerRevision>)> {
        let ns = ds.metadata.namespace.clone().unwrap_or_default();
        let uid = ds.metadata.uid.clone().unwrap_or_default();
        let (mut revisions, orphans) =
            history::owned_or_orphaned(&self.revisions, &ns, selector, &uid);
        if !orphans.is_empty() && self.can_adopt(ds).await? {
            for o in orphans {
                if let Some(r) = history::adopt(&self.ctx.client, &o, &owner_ref(ds)).await? {
                    revisions.push(r);
                }
            }
        }
        for r in history::owned_unmatched(&self.revisions, &ns, selector, &uid) {
            history::release(&self.ctx.client, &r, &uid).await?;
        }
        let data = history::template_patch(&spec.template);
        let mut current: Vec<ControllerRevision> = Vec::new();
        let mut old: Vec<ControllerRevision> = Vec::new();
        for mut r in revisions {
            if label(&r.metadata, CONTROLLER_REVISION_HASH).is_none() {
                // older revisions lack the hash label: their name stands in for it
                let patch =
                    json!({"metadata": {"labels": {CONTROLLER_REVISION_HASH: r.name_any()}}});
                r = Api::<ControllerRevision>::namespaced(self.ctx.client.clone(), &ns)
                    .patch(
                        &r.name_any(),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await?;
            }
            if history::same_data(&r, &data) {
                current.push(r);
            } else {
                old.push(r);
            }
        }
        let next = old.iter().map(|r| r.revision).max().unwrap_or(0) + 1;
        let cur = if current.is_empty() {
            self.snapshot(ds, spec, data, next).await?
        } else {
            let cur = self.dedup(ds, current).await?;
            if cur.revision < next {
                history::renumber(&self.ctx.client, &cur, next).await?
            } else {
                cur
            }
        };
        Ok((cur, old))
    }

    /// dedupCurHistories: of several revisions of the current template the newest stays; pods
    /// labelled with the others' hashes are relabelled, and the others deleted.
    async fn dedup(
        &self,
        ds: &DaemonSet,
        mut current: Vec<ControllerRevision>,
    ) -> Res<ControllerRevision> {
        history::sort_revisions(&mut current);
        let Some(keep) = current.pop() else {
            return Err(kube::Error::Api(
                kube::core::Status::failure("no current revision", "InternalError")
                    .with_code(500)
                    .boxed(),
            ));
        };
        let keep_hash = label(&keep.metadata, CONTROLLER_REVISION_HASH)
            .unwrap_or_default()
            .to_string();
        let ns = ds.metadata.namespace.clone().unwrap_or_default();
        for dup in current {
            let dup_hash = label(&dup.metadata, CONTROLLER_REVISION_HASH).unwrap_or_default();
            for p in self.pods.state() {
                if p.metadata.namespace.as_deref() == Some(&ns)
                    && controller_ref(&p.metadata)
                        .is_some_and(|r| Some(&r.uid) == ds.metadata.uid.as_ref())
                    && p.labels().get(CONTROLLER_REVISION_HASH) == Some(dup_hash)
                {
                    let patch =
                        json!({"metadata": {"labels": {CONTROLLER_REVISION_HASH: keep_hash}}});
                    match self
                        .pod_api(&ns)
                        .patch(
                            &p.name_any(),
                            &PatchParams::default(),
                            &Patch::Merge(&patch),
                        )
                        .await
                    {
                        Ok(_) => {}
                        Err(e) if is_status(&e, 404) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            history::delete(&self.ctx.client, &dup).await?;
        }
        Ok(keep)
    }

    /// snapshot: a new revision `<ds>-<hash of the template and collision count>`; a name
    /// taken by a different template bumps status.collisionCount and fails the sync, so the
    /// next one tries another name.
    async fn snapshot(
        &self,
        ds: &DaemonSet,
        spec: &DaemonSetSpec,
        data: Value,
        revision: i64,
    ) -> Res<ControllerRevision> {
        let ns = ds.metadata.namespace.clone().unwrap_or_default();
        let collision_count = ds.status.as_ref().and_then(|s| s.collision_count);
        let hash = compute_hash(&spec.template, collision_count);
        let name = format!("{}-{hash}", ds.name_any());
        let mut labels = spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.clone())
            .unwrap_or_default();
        labels.insert(CONTROLLER_REVISION_HASH.into(), hash);
        let mut rev = history::new_revision(
            owner_ref(ds),
            labels,
            ds.metadata.annotations.clone(),
            data.clone(),
            revision,
        );
        rev.metadata.name = Some(name.clone());
        rev.metadata.namespace = Some(ns.clone());
        let api: Api<ControllerRevision> = Api::namespaced(self.ctx.client.clone(), &ns);
        match api.create(&PostParams::default(), &rev).await {
            Ok(r) => Ok(r),
            Err(e) if is_status(&e, 409) => {
                let existing = api.get(&name).await?;
                if history::same_data(&existing, &data) {
                    return Ok(existing);
                }
                let fresh = self.ds_api(&ns).get(&ds.name_any()).await?;
                let fresh_count = fresh.status.as_ref().and_then(|s| s.collision_count);
                if fresh_count != collision_count {
                    return Err(e);
                }
                let patch = json!({"status": {"collisionCount": fresh_count.unwrap_or(0) + 1}});
                self.ds_api(&ns)
                    .patch_status(
                        &ds.name_any(),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await?;
                tracing::info!(daemonset = %ds.name_any(), "revision name collision; bumped collisionCount");
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// cleanupHistory: old revisions beyond revisionHistoryLimit, oldest first, except those
    /// a pod still carries the hash of.
    async fn cleanup_history(
        &self,
        _ds: &DaemonSet,
        spec: &DaemonSetSpec,
        pods: &[Arc<Pod>],
        mut old: Vec<ControllerRevision>,
    ) -> Res<()> {
        let limit = spec.revision_history_limit.unwrap_or(10).max(0) as usize;
        let mut to_kill = old.len().saturating_sub(limit);
        if to_kill == 0 {
            return Ok(());
        }
        let live: std::collections::HashSet<&str> = pods
            .iter()
            .filter_map(|p| label(&p.metadata, CONTROLLER_REVISION_HASH))
            .collect();
        old.sort_by_key(|r| r.revision);
        for r in &old {
            if to_kill == 0 {
                break;
            }
            if label(&r.metadata, CONTROLLER_REVISION_HASH).is_some_and(|h| live.contains(h)) {
                continue;
            }
            history::delete(&self.ctx.client, r).await?;
            to_kill -= 1;
        }
        Ok(())
    }

    /// updateDaemonSetStatus (written only when a count or the observed generation changes).
    async fn update_status(
        &self,
        ds: &DaemonSet,
        spec: &DaemonSetSpec,
        nodes: &[Arc<Node>],
        pods: &[Arc<Pod>],
        hash: &str,
        observe_generation: bool,
    ) -> Res<()> {
        let by_node = self.by_node(spec, pods, hash, ds);
        let template = spec.template.spec.clone().unwrap_or_default();
        let view: Vec<(bool, Vec<PodInfo>)> = nodes
            .iter()
            .map(|n| {
                let (should_run, _) = plan::node_should_run(n, &template);
                (
                    should_run,
                    by_node.get(&n.name_any()).cloned().unwrap_or_default(),
                )
            })
            .collect();
        let c = plan::counts(&view);
        let st = ds.status.clone().unwrap_or_default();
        let generation = ds.metadata.generation.unwrap_or(0);
        let unchanged = st.desired_number_scheduled == c.desired
            && st.current_number_scheduled == c.current
            && st.number_misscheduled == c.misscheduled
            && st.number_ready == c.ready
            && st.updated_number_scheduled.unwrap_or(0) == c.updated
            && st.number_available.unwrap_or(0) == c.available
            && st.number_unavailable.unwrap_or(0) == c.unavailable
            && st.observed_generation.unwrap_or(0) >= generation;
        if unchanged {
            return Ok(());
        }
        let nz = |n: i32| if n == 0 { Value::Null } else { json!(n) };
        let mut status = json!({
            "desiredNumberScheduled": c.desired,
            "currentNumberScheduled": c.current,
            "numberMisscheduled": c.misscheduled,
            "numberReady": c.ready,
            "updatedNumberScheduled": nz(c.updated),
            "numberAvailable": nz(c.available),
            "numberUnavailable": nz(c.unavailable),
        });
        if observe_generation {
            status["observedGeneration"] = json!(generation);
        }
        let ns = ds.metadata.namespace.clone().unwrap_or_default();
        match self
            .ds_api(&ns)
            .patch_status(
                &ds.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": status})),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, 404) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, Toleration};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

    #[test]
    fn daemon_pods_carry_labels_tolerations_and_node_pin() {
        let labels: BTreeMap<String, String> = [("app".to_string(), "agent".to_string())].into();
        let ds = DaemonSet {
            metadata: ObjectMeta {
                name: Some("agent".into()),
                namespace: Some("kube-system".into()),
                uid: Some("u1".into()),
                generation: Some(3),
                annotations: Some(
                    [(TEMPLATE_GENERATION_ANNOTATION.to_string(), "2".to_string())].into(),
                ),
                ..Default::default()
            },
            spec: Some(DaemonSetSpec {
                selector: LabelSelector {
                    match_labels: Some(labels.clone()),
                    ..Default::default()
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        containers: vec![Container {
                            name: "c".into(),
                            image: Some("agent:1".into()),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            status: None,
        };
        let spec = ds.spec.clone().expect("spec");
        let pod = new_pod(&ds, &spec, "node-1", "5d6f7");
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("agent-"));
        let l = pod.metadata.labels.clone().expect("labels");
        assert_eq!(l["app"], "agent");
        assert_eq!(l[CONTROLLER_REVISION_HASH], "5d6f7");
        assert_eq!(l[TEMPLATE_GENERATION_LABEL], "2");
        let ps = pod.spec.clone().expect("spec");
        assert_eq!(plan::target_node(&ps), Some("node-1".to_string()));
        let keys: Vec<Option<String>> = ps
            .tolerations
            .iter()
            .flatten()
            .map(|t: &Toleration| t.key.clone())
            .collect();
        assert_eq!(keys.len(), 6);
        assert_eq!(keys[0].as_deref(), Some(plan::NOT_READY));
        // without the annotation the object's generation stands in
        let mut bare = ds.clone();
        bare.metadata.annotations = None;
        assert_eq!(template_generation(&bare), Some(3));
    }
}
