//! The job controller (kube-controller-manager's `job`): runs a Job's pods to completion.
//!
//! - Pods carry the Job's labels (the API server adds `batch.kubernetes.io/job-name`,
//!   `job-name`, `batch.kubernetes.io/controller-uid`, `controller-uid` to the template and
//!   selects on the uid), a controller ownerReference and the
//!   `batch.kubernetes.io/job-tracking` finalizer. A finished pod is first recorded in
//!   `status.uncountedTerminatedPods`, then its finalizer is removed, then it moves into the
//!   `succeeded`/`failed` counters, so every pod is counted exactly once even across restarts
//!   and with pods deleted meanwhile.
//! - At most `parallelism` pods run, never more than the completions still missing. Indexed
//!   Jobs give each pod a completion index (annotation and label
//!   `batch.kubernetes.io/job-completion-index`, hostname `<job>-<index>`,
//!   `JOB_COMPLETION_INDEX`), and record succeeded indexes in `status.completedIndexes`.
//! - After failures, new pods wait an exponential back-off (10s doubling up to 10 minutes,
//!   [`util::Backoff`]); more than `backoffLimit` failures, or `activeDeadlineSeconds` passed,
//!   fail the Job: `FailureTarget` first, active pods deleted, then `Failed` once no pod is
//!   terminating. Success sets `SuccessCriteriaMet`, then `Complete` with `completionTime`.
//! - `suspend` deletes the active pods and sets the `Suspended` condition; resuming restarts
//!   the `activeDeadlineSeconds` clock.
//!
//! Expectations (creations, deletions and finalizer removals the cache has not shown yet) and
//! the resourceVersion of the last status written keep a slow watch from causing duplicate pods
//! or double counts; a restart starts from a fresh list and needs neither.
//!
//! Not done: `podFailurePolicy`, `backoffLimitPerIndex`/`maxFailedIndexes`.

pub mod util;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobSpec, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

use crate::cached_pod::{self, CachedPod};
use crate::events::{self, Involved};
use crate::queue::{self, Queue};
use crate::replicaset::{
    Expectations, controller_ref, deletion_order, is_active, is_ready, slow_start_batches,
};
use crate::selector::Selector;
use crate::{Context, is_status};

use util::{
    Backoff, BackoffRecord, COMPLETION_INDEX, COMPLETION_INDEX_ENV, Intervals, JOB_CONTROLLER_NAME,
    MAX_UNCOUNTED_PODS, PodChange, TRACKING_FINALIZER,
};

const COMPONENT: &str = "job-controller";
/// Pod events wait this long before a sync, so a burst of them makes one status update.
const SYNC_BATCH_PERIOD: Duration = Duration::from_secs(1);
const REASON_BACKOFF: &str = "BackoffLimitExceeded";
const MESSAGE_BACKOFF: &str = "Job has reached the specified backoff limit";
const REASON_DEADLINE: &str = "DeadlineExceeded";
const MESSAGE_DEADLINE: &str = "Job was active longer than specified deadline";
const REASON_COMPLETIONS: &str = "CompletionsReached";
const MESSAGE_COMPLETIONS: &str = "Reached expected number of succeeded pods";

/// What can be tuned (tests); the defaults are kube's.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub backoff: Backoff,
}

type Res<T> = Result<T, kube::Error>;

/// Pod UIDs whose tracking finalizer this controller removed and the cache still shows.
#[derive(Clone, Default)]
struct FinalizerExpectations(Arc<Mutex<HashMap<String, HashSet<String>>>>);

impl FinalizerExpectations {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashSet<String>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn expect(&self, key: &str, uids: impl IntoIterator<Item = String>) {
        self.lock().entry(key.to_string()).or_default().extend(uids);
    }
    fn observed(&self, key: &str, uid: &str) {
        let mut m = self.lock();
        if let Some(s) = m.get_mut(key) {
            s.remove(uid);
            if s.is_empty() {
                m.remove(key);
            }
        }
    }
    fn get(&self, key: &str) -> HashSet<String> {
        self.lock().get(key).cloned().unwrap_or_default()
    }
    fn forget(&self, key: &str) {
        self.lock().remove(key);
    }
}

struct Ctl {
    ctx: Context,
    options: Options,
    jobs: Store<Job>,
    pods: Store<CachedPod>,
    queue: Queue,
    orphans: Queue,
    expectations: Expectations,
    finalizers: FinalizerExpectations,
    backoffs: Mutex<HashMap<String, BackoffRecord>>,
    /// The resourceVersion of the last status this controller wrote, per Job: an older cached
    /// Job is stale and waits for the watch.
    written: Mutex<HashMap<String, u64>>,
}

pub fn has_tracking_finalizer(pod: &impl Resource) -> bool {
    pod.meta()
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == TRACKING_FINALIZER)
}

fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref().and_then(|s| s.phase.as_deref())
}

/// Complete or Failed.
pub fn is_finished(job: &Job) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .is_some_and(|c| util::finished_condition(c).is_some())
}

fn is_indexed(spec: &JobSpec) -> bool {
    spec.completion_mode.as_deref() == Some("Indexed")
}

fn suspended(spec: &JobSpec) -> bool {
    spec.suspend == Some(true)
}

/// Pods are replaced only once they failed (not while terminating).
fn only_replace_failed(spec: &JobSpec) -> bool {
    spec.pod_replacement_policy.as_deref() == Some("Failed") || spec.pod_failure_policy.is_some()
}

/// isPodFailed: Failed, or (unless only failed pods are replaced) deleted before succeeding.
fn is_pod_failed(pod: &Pod, spec: &JobSpec) -> bool {
    if phase(pod) == Some("Failed") {
        return true;
    }
    if only_replace_failed(spec) {
        return false;
    }
    pod.metadata.deletion_timestamp.is_some() && phase(pod) != Some("Succeeded")
}

fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some() && !matches!(phase(pod), Some("Succeeded" | "Failed"))
}

fn selector_of(job: &Job) -> Result<Selector, String> {
    match job.spec.as_ref().and_then(|s| s.selector.as_ref()) {
        Some(s) => Selector::from_label_selector(s),
        None => Ok(Selector::nothing()),
    }
}

fn job_key(job: &Job) -> String {
    queue::key(job.metadata.namespace.as_deref(), &job.name_any())
}

fn rv_number(meta: &ObjectMeta) -> Option<u64> {
    meta.resource_version.as_deref()?.parse().ok()
}

pub async fn run(ctx: Context) {
    run_with(ctx, Options::default()).await
}

pub async fn run_with(ctx: Context, options: Options) {
    let queue = Queue::new();
    let orphans = Queue::new();
    let expectations = Expectations::default();
    let finalizers = FinalizerExpectations::default();

    // a deleted or finished Job's pods still holding the finalizer come through their own
    // events (the garbage collector deletes or orphans them)
    let q = queue.clone();
    let generations: Mutex<HashMap<String, i64>> = Mutex::new(HashMap::new());
    let jobs = ctx
        .informers
        .all_with_deletes::<Job, _>(move |job: &Job, deleted| {
            let key = job_key(job);
            let generation = job.metadata.generation.unwrap_or(0);
            let mut seen = generations.lock().unwrap_or_else(|e| e.into_inner());
            let previous = if deleted {
                seen.remove(&key)
            } else {
                seen.insert(key.clone(), generation)
            };
            // a status-only change (ours, mostly) waits like a pod event; new specs go at once
            if previous == Some(generation) && !deleted {
                q.add_after(key, SYNC_BATCH_PERIOD);
            } else {
                q.add(key);
            }
        })
        .await;

    let (q, o, e, f, js) = (
        queue.clone(),
        orphans.clone(),
        expectations.clone(),
        finalizers.clone(),
        jobs.clone(),
    );
    let pods = ctx
        .informers
        .pods_with_deletes(move |pod: &Pod, deleted| {
            let ns = pod.namespace().unwrap_or_default();
            let pod_key = queue::key(Some(&ns), &pod.name_any());
            let uid = pod.uid().unwrap_or_default();
            let tracked = has_tracking_finalizer(pod);
            match controller_ref(&pod.metadata) {
                Some(r) if r.kind == "Job" => {
                    let key = queue::key(Some(&ns), &r.name);
                    let owner = js
                        .get(&ObjectRef::new(&r.name).within(&ns))
                        .filter(|j| j.metadata.uid.as_deref() == Some(r.uid.as_str()));
                    e.observed(&key, pod, deleted);
                    if deleted || !tracked {
                        f.observed(&key, &uid);
                    }
                    match owner {
                        Some(job) if !is_finished(&job) => q.add_after(key, SYNC_BATCH_PERIOD),
                        // nobody else removes the finalizer of a finished or deleted Job's pod
                        _ if tracked && !deleted => o.add(pod_key),
                        _ => {}
                    }
                }
                Some(_) => {}
                None if deleted => {}
                None => {
                    if tracked {
                        o.add(pod_key);
                    }
                    for job in js.state() {
                        if job.metadata.namespace.as_deref() == Some(&ns)
                            && selector_of(&job)
                                .is_ok_and(|s| s.matches(pod.metadata.labels.as_ref()))
                        {
                            q.add_after(job_key(&job), SYNC_BATCH_PERIOD);
                        }
                    }
                }
            }
        })
        .await;
    tracing::info!(controller = COMPONENT, "started");
    let ctl = Ctl {
        ctx,
        options,
        jobs,
        pods,
        queue,
        orphans,
        expectations,
        finalizers,
        backoffs: Mutex::new(HashMap::new()),
        written: Mutex::new(HashMap::new()),
    };
    // pods left with a finalizer by a Job deleted or finished while the controller was down
    for p in ctl.pods.state() {
        if has_tracking_finalizer(p.as_ref()) {
            ctl.orphans
                .add(queue::key(p.metadata.namespace.as_deref(), &p.name_any()));
        }
    }
    loop {
        tokio::select! {
            key = ctl.queue.next() => match ctl.sync(&key).await {
                Ok(Some(after)) => ctl.queue.add_after(key, after),
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(key, error = %e, "job sync failed");
                    ctl.queue.add_after(key, Duration::from_secs(1));
                }
            },
            key = ctl.orphans.next() => {
                if let Err(e) = ctl.sync_orphan(&key).await {
                    tracing::debug!(key, error = %e, "orphan pod finalizer");
                    ctl.orphans.add_after(key, Duration::from_secs(1));
                }
            }
        }
    }
}

/// What one sync works out (kube's syncJobCtx).
struct SyncCtx {
    job: Job,
    spec: JobSpec,
    key: String,
    /// The Job's pods (adopted ones as if they carried the finalizer already).
    pods: Vec<Arc<Pod>>,
    adopted: HashSet<String>,
    active_pods: Vec<Arc<Pod>>,
    finished: Option<JobCondition>,
    succeeded: i32,
    prev_succeeded_indexes: Intervals,
    succeeded_indexes: Intervals,
    new_backoff: BackoffRecord,
    expected_removals: HashSet<String>,
    uncounted_succeeded: HashSet<String>,
    uncounted_failed: HashSet<String>,
    terminating: i32,
    ready: i32,
}

impl SyncCtx {
    fn tracked(&self, pod: &Pod) -> bool {
        has_tracking_finalizer(pod)
            || pod
                .metadata
                .uid
                .as_ref()
                .is_some_and(|u| self.adopted.contains(u))
    }

    fn status(&mut self) -> &mut JobStatus {
        self.job.status.get_or_insert_with(Default::default)
    }

    fn completions(&self) -> i32 {
        self.spec.completions.unwrap_or(0)
    }

    /// A counted index: known and below completions.
    fn valid_index(&self, pod: &Pod) -> bool {
        util::completion_index(pod).is_some_and(|i| i < self.completions())
    }
}

fn uid_of(p: &Pod) -> String {
    p.metadata.uid.clone().unwrap_or_default()
}

/// Moves UIDs whose pods no longer carry the finalizer from the uncounted lists into the
/// counters; true when anything moved.
fn clean_uncounted(status: &mut JobStatus, with_finalizer: &HashSet<String>) -> bool {
    let uncounted = status
        .uncounted_terminated_pods
        .get_or_insert_with(Default::default);
    let mut moved_succeeded = 0;
    let mut moved_failed = 0;
    if let Some(list) = uncounted.succeeded.as_mut() {
        let before = list.len();
        list.retain(|u| with_finalizer.contains(u));
        moved_succeeded = (before - list.len()) as i32;
    }
    if let Some(list) = uncounted.failed.as_mut() {
        let before = list.len();
        list.retain(|u| with_finalizer.contains(u));
        moved_failed = (before - list.len()) as i32;
    }
    if uncounted.succeeded.as_ref().is_some_and(Vec::is_empty) {
        uncounted.succeeded = None;
    }
    if uncounted.failed.as_ref().is_some_and(Vec::is_empty) {
        uncounted.failed = None;
    }
    if moved_succeeded > 0 {
        status.succeeded = Some(status.succeeded.unwrap_or(0) + moved_succeeded);
    }
    if moved_failed > 0 {
        status.failed = Some(status.failed.unwrap_or(0) + moved_failed);
    }
    moved_succeeded > 0 || moved_failed > 0
}

impl Ctl {
    fn involved(job: &Job) -> Involved<'_> {
        Involved {
            api_version: "batch/v1",
            kind: "Job",
            namespace: job.metadata.namespace.as_deref().unwrap_or_default(),
            name: job.metadata.name.as_deref().unwrap_or_default(),
            uid: job.metadata.uid.as_deref().unwrap_or_default(),
            resource_version: job.metadata.resource_version.as_deref(),
        }
    }

    async fn event(&self, job: &Job, type_: &str, reason: &str, message: String) {
        events::record(
            &self.ctx.client,
            self.ctx.clock.as_ref(),
            COMPONENT,
            &Self::involved(job),
            type_,
            reason,
            message,
        )
        .await;
    }

    fn pod_api(&self, ns: &str) -> Api<Pod> {
        Api::namespaced(self.ctx.client.clone(), ns)
    }

    fn now(&self) -> k8s_openapi::jiff::Timestamp {
        self.ctx.clock.now()
    }

    /// syncOrphanPod: removes the tracking finalizer from a pod no running Job owns.
    async fn sync_orphan(&self, key: &str) -> Res<()> {
        let (ns, name) = queue::split(key);
        let ns = ns.unwrap_or_default();
        let Some(pod) = self.pods.get(&ObjectRef::new(name).within(ns)) else {
            return Ok(());
        };
        if !has_tracking_finalizer(pod.as_ref()) {
            return Ok(());
        }
        if let Some(r) = controller_ref(&pod.metadata) {
            if r.kind != "Job" || r.api_version != "batch/v1" {
                return Ok(());
            }
            if let Some(job) = self
                .jobs
                .get(&ObjectRef::new(&r.name).within(ns))
                .filter(|j| j.metadata.uid.as_deref() == Some(r.uid.as_str()))
            {
                let external = job
                    .spec
                    .as_ref()
                    .and_then(|s| s.managed_by.as_deref())
                    .is_some_and(|m| m != JOB_CONTROLLER_NAME);
                if external || !is_finished(&job) {
                    return Ok(());
                }
            }
        }
        match self.remove_finalizer(&pod.decode()).await {
            Err(e) if !is_status(&e, 404) => Err(e),
            _ => Ok(()),
        }
    }

    async fn remove_finalizer(&self, pod: &Pod) -> Res<()> {
        let api = self.pod_api(pod.metadata.namespace.as_deref().unwrap_or_default());
        let pp = PatchParams::default();
        let name = pod.name_any();
        let mut current = pod.clone();
        let mut attempt = 0;
        loop {
            attempt += 1;
            if !has_tracking_finalizer(&current) {
                return Ok(());
            }
            let only_ours =
                current.metadata.finalizers.as_deref() == Some(&[TRACKING_FINALIZER.to_string()]);
            let result = if only_ours {
                // the last finalizer: drop the field (kube omits an emptied list), guarded by
                // the resourceVersion so a finalizer added meanwhile is kept
                let patch = json!({"metadata": {
                    "finalizers": null,
                    "resourceVersion": current.metadata.resource_version,
                    "uid": current.metadata.uid,
                }});
                api.patch(&name, &pp, &Patch::Merge(&patch)).await
            } else {
                let patch = json!({"metadata": {
                    "$deleteFromPrimitiveList/finalizers": [TRACKING_FINALIZER],
                }});
                api.patch(&name, &pp, &Patch::Strategic(&patch)).await
            };
            match result {
                Ok(_) => return Ok(()),
                Err(e) if is_status(&e, 409) && attempt < 3 => current = api.get(&name).await?,
                Err(e) => return Err(e),
            }
        }
    }

    /// One sync of a Job; returns when to look again.
    async fn sync(&self, key: &str) -> Res<Option<Duration>> {
        let (ns, name) = queue::split(key);
        let ns = ns.unwrap_or_default();
        let Some(cached) = self.jobs.get(&ObjectRef::new(name).within(ns)) else {
            self.expectations.forget(key);
            self.finalizers.forget(key);
            self.backoff_forget(key);
            self.written_forget(key);
            return Ok(None);
        };
        if is_finished(&cached) {
            self.backoff_forget(key);
            return Ok(None);
        }
        let spec = cached.spec.clone().unwrap_or_default();
        if spec
            .managed_by
            .as_deref()
            .is_some_and(|m| m != JOB_CONTROLLER_NAME)
        {
            return Ok(None);
        }
        if let Some(mode) = spec.completion_mode.as_deref()
            && mode != "NonIndexed"
            && mode != "Indexed"
        {
            self.event(
                &cached,
                "Warning",
                "UnknownCompletionMode",
                "Skipped Job sync because completion mode is unknown".into(),
            )
            .await;
            return Ok(None);
        }
        // a cached Job older than our last status write: wait for the watch
        if let (Some(seen), Some(wrote)) = (
            rv_number(&cached.metadata),
            self.written
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(key)
                .copied(),
        ) && seen < wrote
        {
            return Ok(Some(Duration::from_millis(100)));
        }
        let mut requeue: Option<Duration> = None;
        let mut sooner = |d: Duration| {
            requeue = Some(requeue.map_or(d, |r: Duration| r.min(d)));
        };

        let ns_pods = cached_pod::claimable(
            &self.pods,
            ns,
            cached.metadata.uid.as_deref().unwrap_or_default(),
            &selector_of(&cached).unwrap_or_else(|_| Selector::nothing()),
        );
        let satisfied = self.expectations.satisfied(key, &ns_pods);
        let (pods, adopted) = self.claim_pods(&cached, &ns_pods).await?;

        let mut job = (*cached).clone();
        let status = job.status.get_or_insert_with(Default::default);
        let uncounted = status
            .uncounted_terminated_pods
            .get_or_insert_with(Default::default)
            .clone();
        let active_pods: Vec<Arc<Pod>> = pods.iter().filter(|p| is_active(p)).cloned().collect();
        let mut cx = SyncCtx {
            key: key.to_string(),
            spec: spec.clone(),
            ready: active_pods.iter().filter(|p| is_ready(p)).count() as i32,
            terminating: pods.iter().filter(|p| is_terminating(p)).count() as i32,
            active_pods,
            pods,
            adopted,
            finished: None,
            succeeded: 0,
            prev_succeeded_indexes: Intervals::default(),
            succeeded_indexes: Intervals::default(),
            new_backoff: BackoffRecord::default(),
            expected_removals: self.finalizers.get(key),
            uncounted_succeeded: uncounted
                .succeeded
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            uncounted_failed: uncounted
                .failed
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            job,
        };
        let mut active = cx.active_pods.len() as i32;

        // newly finished pods: still tracked, not yet in the uncounted lists
        let fresh = |cx: &SyncCtx, p: &Pod, uncounted: &HashSet<String>| {
            let uid = uid_of(p);
            cx.tracked(p)
                && !uncounted.contains(&uid)
                && !cx.expected_removals.contains(&uid)
                && (!is_indexed(&cx.spec) || cx.valid_index(p))
        };
        let new_succeeded: Vec<Arc<Pod>> = cx
            .pods
            .iter()
            .filter(|p| fresh(&cx, p, &cx.uncounted_succeeded) && phase(p) == Some("Succeeded"))
            .cloned()
            .collect();
        let new_failed: Vec<Arc<Pod>> = cx
            .pods
            .iter()
            .filter(|p| fresh(&cx, p, &cx.uncounted_failed) && is_pod_failed(p, &spec))
            .cloned()
            .collect();
        let status = cx.job.status.clone().unwrap_or_default();
        cx.succeeded = status.succeeded.unwrap_or(0)
            + new_succeeded.len() as i32
            + cx.uncounted_succeeded.len() as i32;
        let failed =
            status.failed.unwrap_or(0) + new_failed.len() as i32 + cx.uncounted_failed.len() as i32;

        let now = self.now();
        if status.start_time.is_none() && !suspended(&spec) {
            cx.status().start_time = Some(Time(now));
        }
        let finish_times =
            |v: &[Arc<Pod>]| v.iter().map(|p| util::finish_time(p)).collect::<Vec<_>>();
        cx.new_backoff = self
            .backoff_get(key)
            .updated(&finish_times(&new_succeeded), &finish_times(&new_failed));

        let conditions = status.conditions.clone().unwrap_or_default();
        let backoff_limit = spec.backoff_limit.unwrap_or(6);
        cx.finished = util::find_condition(&conditions, "SuccessCriteriaMet")
            .filter(|c| c.status == "True")
            .cloned();
        if cx.finished.is_none()
            && let Some(target) =
                util::find_condition(&conditions, "FailureTarget").filter(|c| c.status == "True")
        {
            cx.finished = Some(util::condition(
                "Failed",
                "True",
                target.reason.as_deref().unwrap_or_default(),
                target.message.as_deref().unwrap_or_default(),
                now,
            ));
        }
        if cx.finished.is_none() {
            let pod_refs: Vec<&Pod> = cx.pods.iter().map(|p| p.as_ref()).collect();
            let restart_policy = spec
                .template
                .spec
                .as_ref()
                .and_then(|s| s.restart_policy.as_deref());
            if failed > backoff_limit
                || util::past_backoff_limit_on_failure(restart_policy, backoff_limit, &pod_refs)
            {
                cx.finished = Some(util::condition(
                    "FailureTarget",
                    "True",
                    REASON_BACKOFF,
                    MESSAGE_BACKOFF,
                    now,
                ));
            } else if let (Some(ads), Some(start), false) = (
                spec.active_deadline_seconds,
                cx.job.status.as_ref().and_then(|s| s.start_time.clone()),
                suspended(&spec),
            ) {
                let deadline = start.0 + k8s_openapi::jiff::SignedDuration::from_secs(ads);
                if now >= deadline {
                    cx.finished = Some(util::condition(
                        "FailureTarget",
                        "True",
                        REASON_DEADLINE,
                        MESSAGE_DEADLINE,
                        now,
                    ));
                } else {
                    sooner(Duration::try_from(deadline.duration_since(now)).unwrap_or_default());
                }
            }
        }
        if is_indexed(&spec) {
            let completions = cx.completions();
            cx.prev_succeeded_indexes = Intervals::parse(
                status.completed_indexes.as_deref().unwrap_or_default(),
                completions,
            );
            let newly: Vec<i32> = cx
                .pods
                .iter()
                .filter(|p| phase(p) == Some("Succeeded") && cx.tracked(p))
                .filter_map(|p| util::completion_index(p))
                .filter(|i| *i < completions)
                .collect();
            cx.succeeded_indexes = cx.prev_succeeded_indexes.with_indexes(newly);
            cx.succeeded = cx.succeeded_indexes.total();
            if cx.finished.is_none()
                && let Some(message) = util::match_success_policy(
                    spec.success_policy.as_ref(),
                    completions,
                    &cx.succeeded_indexes,
                )
            {
                cx.finished = Some(util::condition(
                    "SuccessCriteriaMet",
                    "True",
                    "SuccessPolicy",
                    &message,
                    now,
                ));
            }
        }

        let mut suspend_changed = false;
        if cx.finished.is_some() {
            let (deleted_ready, deleted) = self.delete_active_pods(&cached, &cx.active_pods).await;
            if deleted != active || !satisfied {
                // not finished until the cache shows every pod gone or counted
                cx.finished = None;
            }
            active -= deleted;
            cx.terminating += deleted;
            cx.ready -= deleted_ready;
        } else {
            let mut managed = false;
            if satisfied && cx.job.metadata.deletion_timestamp.is_none() {
                let (a, after) = self.manage(&cached, &mut cx).await;
                active = a;
                if let Some(d) = after {
                    sooner(d);
                }
                managed = true;
            }
            let complete = match spec.completions {
                None => cx.succeeded > 0 && active == 0,
                Some(c) => cx.succeeded >= c && active == 0,
            };
            if complete {
                cx.finished = Some(util::condition(
                    "SuccessCriteriaMet",
                    "True",
                    REASON_COMPLETIONS,
                    MESSAGE_COMPLETIONS,
                    now,
                ));
            } else if managed {
                let conditions = cx.status().conditions.get_or_insert_with(Vec::new);
                if suspended(&spec) {
                    if util::ensure_condition(
                        conditions,
                        "Suspended",
                        "True",
                        "JobSuspended",
                        "Job suspended",
                        now,
                    ) {
                        suspend_changed = true;
                        self.event(&cached, "Normal", "Suspended", "Job suspended".into())
                            .await;
                    }
                } else if util::ensure_condition(
                    conditions,
                    "Suspended",
                    "False",
                    "JobResumed",
                    "Job resumed",
                    now,
                ) {
                    suspend_changed = true;
                    self.event(&cached, "Normal", "Resumed", "Job resumed".into())
                        .await;
                    // activeDeadlineSeconds counts from the resume
                    cx.status().start_time = Some(Time(now));
                }
                if cx.status().conditions.as_ref().is_some_and(Vec::is_empty) {
                    cx.status().conditions = None;
                }
            }
        }

        let st = cx.job.status.clone().unwrap_or_default();
        let needs_update = suspend_changed
            || active != st.active.unwrap_or(0)
            || Some(cx.ready) != st.ready
            || Some(cx.terminating) != st.terminating;
        let (ready, terminating) = (cx.ready, cx.terminating);
        let s = cx.status();
        s.active = (active != 0).then_some(active);
        s.ready = Some(ready);
        s.terminating = Some(terminating);
        self.track_and_remove_finalizers(&mut cx, needs_update)
            .await?;
        Ok(requeue)
    }

    /// getPodsForJob: the Job's pods, releasing those that stopped matching and adopting
    /// matching orphans (with the tracking finalizer). Returns the pods and the UIDs adopted.
    async fn claim_pods(
        &self,
        job: &Job,
        ns_pods: &[Arc<Pod>],
    ) -> Res<(Vec<Arc<Pod>>, HashSet<String>)> {
        let uid = job.metadata.uid.clone().unwrap_or_default();
        let selector = selector_of(job).unwrap_or_else(|_| Selector::nothing());
        let deleting = job.metadata.deletion_timestamp.is_some();
        let mut owned = Vec::new();
        let mut orphans = Vec::new();
        let mut release = Vec::new();
        for p in ns_pods {
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
                None if matches && !deleting && p.metadata.deletion_timestamp.is_none() => {
                    orphans.push(p.clone())
                }
                None => {}
            }
        }
        for p in release {
            let patch = json!({"metadata": {
                "ownerReferences": [{"$patch": "delete", "uid": uid}],
                "uid": p.metadata.uid,
            }});
            match self
                .pod_api(p.metadata.namespace.as_deref().unwrap_or_default())
                .patch(
                    &p.name_any(),
                    &PatchParams::default(),
                    &Patch::Strategic(&patch),
                )
                .await
            {
                Ok(_) => {}
                Err(e) if is_status(&e, 404) || is_status(&e, 409) || is_status(&e, 422) => {}
                Err(e) => return Err(e),
            }
        }
        let mut adopted = HashSet::new();
        if !orphans.is_empty() && self.can_adopt(job).await? {
            for p in orphans {
                let patch = json!({"metadata": {
                    "ownerReferences": [owner_ref(job)],
                    "uid": p.metadata.uid,
                    "finalizers": [TRACKING_FINALIZER],
                }});
                match self
                    .pod_api(p.metadata.namespace.as_deref().unwrap_or_default())
                    .patch(
                        &p.name_any(),
                        &PatchParams::default(),
                        &Patch::Strategic(&patch),
                    )
                    .await
                {
                    Ok(_) => {
                        adopted.insert(uid_of(&p));
                        owned.push(p);
                    }
                    Err(e) if is_status(&e, 404) || is_status(&e, 409) || is_status(&e, 422) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok((owned, adopted))
    }

    /// RecheckDeletionTimestamp: the live Job is the same one and not being deleted.
    async fn can_adopt(&self, job: &Job) -> Res<bool> {
        let api: Api<Job> = Api::namespaced(
            self.ctx.client.clone(),
            job.metadata.namespace.as_deref().unwrap_or_default(),
        );
        Ok(api.get_opt(&job.name_any()).await?.is_some_and(|f| {
            f.metadata.uid == job.metadata.uid && f.metadata.deletion_timestamp.is_none()
        }))
    }

    /// deleteActivePods: DELETE keeping the finalizers (the pods are counted as they go).
    /// Returns (ready pods deleted, pods deleted).
    async fn delete_active_pods(&self, job: &Job, pods: &[Arc<Pod>]) -> (i32, i32) {
        let results = join_all(pods.iter().map(|p| self.delete_pod(job, p, false))).await;
        let mut ready = 0;
        let mut deleted = 0;
        for (p, ok) in pods.iter().zip(results) {
            if ok {
                deleted += 1;
                if is_ready(p) {
                    ready += 1;
                }
            }
        }
        (ready, deleted)
    }

    /// Deletes one pod (first removing its finalizer when `untrack`), with the events
    /// kube's pod control records. True when the pod is gone or going.
    async fn delete_pod(&self, job: &Job, pod: &Pod, untrack: bool) -> bool {
        if untrack
            && has_tracking_finalizer(pod)
            && let Err(e) = self.remove_finalizer(pod).await
            && !is_status(&e, 404)
        {
            tracing::debug!(pod = %pod.name_any(), error = %e, "removing tracking finalizer");
            return false;
        }
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: pod.metadata.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        let name = pod.name_any();
        match self
            .pod_api(pod.metadata.namespace.as_deref().unwrap_or_default())
            .delete(&name, &dp)
            .await
        {
            Ok(_) => {
                self.event(
                    job,
                    "Normal",
                    "SuccessfulDelete",
                    format!("Deleted pod: {name}"),
                )
                .await;
                true
            }
            Err(e) if is_status(&e, 404) => true,
            Err(e) => {
                let msg = match &e {
                    kube::Error::Api(s) => s.message.clone(),
                    e => e.to_string(),
                };
                self.event(
                    job,
                    "Warning",
                    "FailedDelete",
                    format!("Error deleting: {msg}"),
                )
                .await;
                false
            }
        }
    }

    /// activePodsForRemoval: for Indexed Jobs the pods with a bad or repeated index first,
    /// then the cheapest to lose.
    fn pods_for_removal(&self, cx: &SyncCtx, at_least: usize) -> Vec<Arc<Pod>> {
        let refs: Vec<&Pod> = cx.active_pods.iter().map(|p| p.as_ref()).collect();
        let (mut rm, mut left): (Vec<&Pod>, Vec<&Pod>) = if is_indexed(&cx.spec) {
            util::duplicate_index_removals(&refs, cx.completions(), deletion_order)
        } else {
            (Vec::new(), refs)
        };
        if rm.len() < at_least {
            left.sort_by(|a, b| deletion_order(a, b));
            let more = at_least - rm.len();
            rm.extend(left.into_iter().take(more));
        }
        rm.into_iter()
            .filter_map(|p| {
                cx.active_pods
                    .iter()
                    .find(|a| std::ptr::eq(a.as_ref(), p))
                    .cloned()
            })
            .collect()
    }

    /// manageJob: creates or deletes pods toward the wanted number of active pods. Returns the
    /// active count after it, and when to look again (pod creation held back by the back-off).
    async fn manage(&self, job: &Job, cx: &mut SyncCtx) -> (i32, Option<Duration>) {
        let key = cx.key.clone();
        let mut active = cx.active_pods.len() as i32;
        let spec = cx.spec.clone();
        let delete = |victims: Vec<Arc<Pod>>| async move {
            for p in &victims {
                self.expectations.expect_delete(&key, &uid_of(p));
            }
            let results = join_all(victims.iter().map(|p| self.delete_pod(job, p, true))).await;
            let mut removed = 0;
            let mut removed_ready = 0;
            for (p, ok) in victims.iter().zip(results) {
                if ok {
                    removed += 1;
                    removed_ready += i32::from(is_ready(p));
                } else {
                    self.expectations.observed(&key, p, true);
                }
            }
            (removed, removed_ready)
        };
        if suspended(&spec) {
            let victims = self.pods_for_removal(cx, cx.active_pods.len());
            let (removed, removed_ready) = delete(victims).await;
            cx.terminating += removed;
            cx.ready -= removed_ready;
            return (active - removed, None);
        }
        let change = util::pod_change(
            spec.completions,
            spec.parallelism.unwrap_or(1),
            cx.succeeded,
            active,
            cx.terminating,
            only_replace_failed(&spec),
        );
        let at_least = match change {
            PodChange::DeleteAtLeast(n) => n,
            PodChange::Create(_) => 0,
        };
        let mut victims = self.pods_for_removal(cx, at_least);
        victims.truncate(util::MAX_POD_CREATE_DELETE_PER_SYNC);
        if !victims.is_empty() {
            let (removed, removed_ready) = delete(victims).await;
            cx.terminating += removed;
            cx.ready -= removed_ready;
            return (active - removed, None);
        }
        let PodChange::Create(mut want) = change else {
            return (active, None);
        };
        if want == 0 {
            return (active, None);
        }
        let wait = self.options.backoff.remaining(&cx.new_backoff, self.now());
        if !wait.is_zero() {
            return (active, Some(wait.max(SYNC_BATCH_PERIOD)));
        }
        let mut indexes: Vec<i32> = Vec::new();
        if is_indexed(&spec) {
            let busy: BTreeSet<i32> = cx
                .active_pods
                .iter()
                .filter_map(|p| util::completion_index(p))
                .chain(
                    only_replace_failed(&spec)
                        .then(|| {
                            cx.pods
                                .iter()
                                .filter(|p| is_terminating(p))
                                .filter_map(|p| util::completion_index(p))
                        })
                        .into_iter()
                        .flatten(),
                )
                .collect();
            indexes =
                util::first_pending_indexes(&cx.succeeded_indexes, &busy, want, cx.completions());
            want = indexes.len();
        }
        let template = spec.template.clone();
        let ns = job.metadata.namespace.clone().unwrap_or_default();
        let api = self.pod_api(&ns);
        let pp = PostParams::default();
        let mut next_index = indexes.into_iter();
        for batch in slow_start_batches(want, 1) {
            let pods: Vec<Pod> = (0..batch)
                .map(|_| pod_from_template(job, &template, next_index.next()))
                .collect();
            let results = join_all(pods.iter().map(|p| api.create(&pp, p))).await;
            let mut failed = false;
            for r in results {
                match r {
                    Ok(p) => {
                        active += 1;
                        let name = p.name_any();
                        self.expectations.expect_create(&cx.key, &name);
                        self.event(
                            job,
                            "Normal",
                            "SuccessfulCreate",
                            format!("Created pod: {name}"),
                        )
                        .await;
                    }
                    Err(e) => {
                        failed = true;
                        let msg = match &e {
                            kube::Error::Api(s) => s.message.clone(),
                            e => e.to_string(),
                        };
                        self.event(
                            job,
                            "Warning",
                            "FailedCreate",
                            format!("Error creating: {msg}"),
                        )
                        .await;
                    }
                }
            }
            if failed {
                return (active, Some(Duration::from_secs(1)));
            }
        }
        (active, None)
    }

    /// trackJobStatusAndRemoveFinalizers: records finished pods as uncounted, removes their
    /// finalizers, counts them, and finishes the Job when due.
    async fn track_and_remove_finalizers(
        &self,
        cx: &mut SyncCtx,
        mut needs_flush: bool,
    ) -> Res<()> {
        let indexed = is_indexed(&cx.spec);
        if indexed {
            cx.pods
                .sort_by_key(|p| util::completion_index(p).unwrap_or(-1));
        }
        let mut with_finalizer: HashSet<String> = cx
            .pods
            .iter()
            .filter(|p| cx.tracked(p) && !cx.expected_removals.contains(&uid_of(p)))
            .map(|p| uid_of(p))
            .collect();
        if clean_uncounted(cx.status(), &with_finalizer) {
            needs_flush = true;
        }
        let mut to_untrack: Vec<Arc<Pod>> = Vec::new();
        let mut new_indexes: Vec<i32> = Vec::new();
        let mut reached_max = false;
        let finishing_failed = cx
            .finished
            .as_ref()
            .is_some_and(|c| c.type_ != "SuccessCriteriaMet");
        let pods = cx.pods.clone();
        for pod in &pods {
            let uid = uid_of(pod);
            if !cx.tracked(pod) || cx.expected_removals.contains(&uid) {
                continue;
            }
            let failed = is_pod_failed(pod, &cx.spec);
            let removable = cx.job.metadata.deletion_timestamp.is_some()
                || cx.finished.is_some()
                || phase(pod) == Some("Succeeded")
                || failed;
            if !removable {
                continue;
            }
            to_untrack.push(pod.clone());
            let index = util::completion_index(pod);
            if phase(pod) == Some("Succeeded") && !cx.uncounted_failed.contains(&uid) {
                if indexed {
                    if let Some(i) = index
                        .filter(|i| *i < cx.completions() && !cx.prev_succeeded_indexes.has(*i))
                    {
                        new_indexes.push(i);
                        needs_flush = true;
                    }
                } else if !cx.uncounted_succeeded.contains(&uid) {
                    needs_flush = true;
                    push_uncounted(cx.status(), &uid, true);
                }
            } else if (failed || finishing_failed)
                && !cx.uncounted_failed.contains(&uid)
                && (!indexed || cx.valid_index(pod))
            {
                needs_flush = true;
                push_uncounted(cx.status(), &uid, false);
            }
            let st = cx.job.status.as_ref();
            let uncounted = st.and_then(|s| s.uncounted_terminated_pods.as_ref());
            let n = new_indexes.len()
                + uncounted
                    .and_then(|u| u.succeeded.as_ref())
                    .map_or(0, Vec::len)
                + uncounted
                    .and_then(|u| u.failed.as_ref())
                    .map_or(0, Vec::len);
            if n >= MAX_UNCOUNTED_PODS {
                reached_max = true;
                break;
            }
        }
        if indexed {
            cx.succeeded_indexes = cx.succeeded_indexes.with_indexes(new_indexes);
            let text = cx.succeeded_indexes.to_string();
            let total = cx.succeeded_indexes.total();
            let s = cx.status();
            if s.completed_indexes.as_deref().unwrap_or_default() != text {
                needs_flush = true;
            }
            s.succeeded = (total != 0).then_some(total);
            s.completed_indexes = (!text.is_empty()).then_some(text);
        }
        let now = self.now();
        if let Some(target) = cx.finished.clone().filter(|c| c.type_ == "FailureTarget") {
            cx.status()
                .conditions
                .get_or_insert_with(Vec::new)
                .push(target.clone());
            needs_flush = true;
            cx.finished = Some(util::condition(
                "Failed",
                "True",
                target.reason.as_deref().unwrap_or_default(),
                target.message.as_deref().unwrap_or_default(),
                now,
            ));
        }
        if let Some(met) = cx
            .finished
            .clone()
            .filter(|c| c.type_ == "SuccessCriteriaMet")
        {
            let conditions = cx.status().conditions.get_or_insert_with(Vec::new);
            if util::find_condition(conditions, "SuccessCriteriaMet")
                .is_none_or(|c| c.status != "True")
            {
                conditions.push(met.clone());
                needs_flush = true;
            }
            cx.finished = Some(util::condition(
                "Complete",
                "True",
                met.reason.as_deref().unwrap_or_default(),
                met.message.as_deref().unwrap_or_default(),
                now,
            ));
        }

        // flush the uncounted pods, then remove finalizers, then count them
        if needs_flush {
            self.update_status(cx).await?;
            self.backoff_set(&cx.key, cx.new_backoff);
            needs_flush = false;
        }
        let mut remove_err = None;
        if !to_untrack.is_empty() {
            self.finalizers
                .expect(&cx.key, to_untrack.iter().map(|p| uid_of(p)));
            let results = join_all(to_untrack.iter().map(|p| self.remove_finalizer(p))).await;
            for (p, r) in to_untrack.iter().zip(results) {
                match r {
                    Ok(_) => {
                        with_finalizer.remove(&uid_of(p));
                    }
                    Err(e) if is_status(&e, 404) => {
                        self.finalizers.observed(&cx.key, &uid_of(p));
                        with_finalizer.remove(&uid_of(p));
                    }
                    Err(e) => {
                        self.finalizers.observed(&cx.key, &uid_of(p));
                        remove_err = Some(e);
                    }
                }
            }
        }
        if clean_uncounted(cx.status(), &with_finalizer) {
            needs_flush = true;
        }
        if let Some(e) = remove_err {
            if needs_flush {
                self.update_status(cx).await?;
            }
            return Err(e);
        }
        let finished = !reached_max && self.enact_finished(cx);
        if finished {
            needs_flush = true;
        }
        if needs_flush {
            self.update_status(cx).await?;
            if finished {
                self.record_finished(cx).await;
            }
        }
        Ok(())
    }

    /// enactJobFinished: Complete or Failed once nothing is uncounted or terminating.
    fn enact_finished(&self, cx: &mut SyncCtx) -> bool {
        let Some(cond) = cx.finished.clone() else {
            return false;
        };
        let uncounted = cx
            .job
            .status
            .as_ref()
            .and_then(|s| s.uncounted_terminated_pods.as_ref());
        let pending = uncounted
            .and_then(|u| u.succeeded.as_ref())
            .map_or(0, Vec::len)
            + uncounted
                .and_then(|u| u.failed.as_ref())
                .map_or(0, Vec::len);
        if pending > 0 || cx.terminating > 0 {
            return false;
        }
        let now = self.now();
        let conditions = cx.status().conditions.get_or_insert_with(Vec::new);
        util::ensure_condition(
            conditions,
            &cond.type_,
            &cond.status,
            cond.reason.as_deref().unwrap_or_default(),
            cond.message.as_deref().unwrap_or_default(),
            now,
        );
        if cond.type_ == "Complete" {
            let at = util::find_condition(conditions, "Complete")
                .and_then(|c| c.last_transition_time.clone());
            cx.status().completion_time = at;
        }
        true
    }

    async fn record_finished(&self, cx: &SyncCtx) {
        let Some(cond) = &cx.finished else { return };
        let job = &cx.job;
        if cond.type_ == "Complete" {
            let succeeded = job.status.as_ref().and_then(|s| s.succeeded).unwrap_or(0);
            if cx.spec.completions.is_some_and(|c| succeeded > c) {
                self.event(
                    job,
                    "Warning",
                    "TooManySucceededPods",
                    "Too many succeeded pods running after completion count reached".into(),
                )
                .await;
            }
            self.event(job, "Normal", "Completed", "Job completed".into())
                .await;
        } else {
            self.event(
                job,
                "Warning",
                cond.reason.as_deref().unwrap_or_default(),
                cond.message.clone().unwrap_or_default(),
            )
            .await;
        }
    }

    /// PUT status with the Job's resourceVersion (a stale Job conflicts and is synced again).
    async fn update_status(&self, cx: &mut SyncCtx) -> Res<()> {
        let mut body = cx.job.clone();
        body.metadata.managed_fields = None;
        if let Some(s) = body.status.as_mut() {
            let u = s
                .uncounted_terminated_pods
                .get_or_insert_with(UncountedTerminatedPods::default);
            if u.succeeded.as_ref().is_some_and(Vec::is_empty) {
                u.succeeded = None;
            }
            if u.failed.as_ref().is_some_and(Vec::is_empty) {
                u.failed = None;
            }
        }
        let api: Api<Job> = Api::namespaced(
            self.ctx.client.clone(),
            cx.job.metadata.namespace.as_deref().unwrap_or_default(),
        );
        let updated = api
            .replace_status(&cx.job.name_any(), &PostParams::default(), &body)
            .await?;
        if let Some(rv) = rv_number(&updated.metadata) {
            self.written
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(cx.key.clone(), rv);
        }
        cx.job = updated;
        Ok(())
    }

    fn backoff_get(&self, key: &str) -> BackoffRecord {
        self.backoffs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied()
            .unwrap_or_default()
    }

    fn backoff_set(&self, key: &str, r: BackoffRecord) {
        self.backoffs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), r);
    }

    fn backoff_forget(&self, key: &str) {
        self.backoffs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    fn written_forget(&self, key: &str) {
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

fn push_uncounted(status: &mut JobStatus, uid: &str, succeeded: bool) {
    let u = status
        .uncounted_terminated_pods
        .get_or_insert_with(Default::default);
    let list = if succeeded {
        &mut u.succeeded
    } else {
        &mut u.failed
    };
    list.get_or_insert_with(Vec::new).push(uid.to_string());
}

fn owner_ref(job: &Job) -> OwnerReference {
    OwnerReference {
        api_version: "batch/v1".into(),
        kind: "Job".into(),
        name: job.name_any(),
        uid: job.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// A pod for the Job (GetPodFromTemplate plus the tracking finalizer and, for an index, its
/// annotation, label, hostname and environment variable).
pub fn pod_from_template(job: &Job, template: &PodTemplateSpec, index: Option<i32>) -> Pod {
    let tm = template.metadata.clone().unwrap_or_default();
    let mut labels = tm.labels.clone().unwrap_or_default();
    let mut annotations = tm.annotations.clone().unwrap_or_default();
    let mut finalizers = tm.finalizers.clone().unwrap_or_default();
    if !finalizers.iter().any(|f| f == TRACKING_FINALIZER) {
        finalizers.push(TRACKING_FINALIZER.to_string());
    }
    let mut spec = template.spec.clone().unwrap_or_default();
    let name = job.name_any();
    let generate_name = match index {
        Some(i) => {
            annotations.insert(COMPLETION_INDEX.to_string(), i.to_string());
            labels.insert(COMPLETION_INDEX.to_string(), i.to_string());
            spec.hostname = Some(format!("{name}-{i}"));
            let env = EnvVar {
                name: COMPLETION_INDEX_ENV.to_string(),
                value: None,
                value_from: Some(EnvVarSource {
                    field_ref: Some(ObjectFieldSelector {
                        api_version: None,
                        field_path: format!("metadata.labels['{COMPLETION_INDEX}']"),
                    }),
                    ..EnvVarSource::default()
                }),
            };
            for c in spec
                .init_containers
                .iter_mut()
                .flatten()
                .chain(spec.containers.iter_mut())
            {
                let vars = c.env.get_or_insert_with(Vec::new);
                if !vars.iter().any(|v| v.name == COMPLETION_INDEX_ENV) {
                    vars.push(env.clone());
                }
            }
            util::generate_name_with_index(&name, i)
        }
        None => format!("{name}-"),
    };
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(generate_name),
            namespace: job.metadata.namespace.clone(),
            labels: (!labels.is_empty()).then_some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            finalizers: Some(finalizers),
            owner_references: Some(vec![owner_ref(job)]),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};

    fn job(name: &str) -> Job {
        Job {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                uid: Some("u-1".into()),
                ..ObjectMeta::default()
            },
            ..Job::default()
        }
    }

    fn template() -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(
                    [("batch.kubernetes.io/job-name".to_string(), "pi".to_string())].into(),
                ),
                ..ObjectMeta::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".into(),
                    ..Container::default()
                }],
                restart_policy: Some("Never".into()),
                ..PodSpec::default()
            }),
        }
    }

    #[test]
    fn pods_from_the_template() {
        let p = pod_from_template(&job("pi"), &template(), None);
        assert_eq!(p.metadata.generate_name.as_deref(), Some("pi-"));
        assert_eq!(
            p.metadata.finalizers,
            Some(vec![TRACKING_FINALIZER.to_string()])
        );
        let owner = &p.metadata.owner_references.as_ref().expect("owner")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
            ("Job", "u-1", Some(true))
        );
        assert!(p.metadata.annotations.is_none());

        let p = pod_from_template(&job("pi"), &template(), Some(2));
        assert_eq!(p.metadata.generate_name.as_deref(), Some("pi-2-"));
        let labels = p.metadata.labels.clone().expect("labels");
        assert_eq!(labels.get(COMPLETION_INDEX).map(String::as_str), Some("2"));
        assert_eq!(
            labels
                .get("batch.kubernetes.io/job-name")
                .map(String::as_str),
            Some("pi")
        );
        let annotations = p.metadata.annotations.clone().expect("annotations");
        assert_eq!(
            annotations.get(COMPLETION_INDEX).map(String::as_str),
            Some("2")
        );
        let spec = p.spec.expect("spec");
        assert_eq!(spec.hostname.as_deref(), Some("pi-2"));
        let env = spec.containers[0].env.clone().expect("env");
        assert_eq!(env[0].name, COMPLETION_INDEX_ENV);
        assert_eq!(
            env[0]
                .value_from
                .as_ref()
                .and_then(|v| v.field_ref.as_ref())
                .map(|f| f.field_path.as_str()),
            Some("metadata.labels['batch.kubernetes.io/job-completion-index']")
        );
    }

    #[test]
    fn uncounted_pods_move_into_the_counters() {
        let mut st = JobStatus {
            succeeded: Some(1),
            uncounted_terminated_pods: Some(UncountedTerminatedPods {
                succeeded: Some(vec!["a".into(), "b".into()]),
                failed: Some(vec!["c".into()]),
            }),
            ..JobStatus::default()
        };
        // "b" still carries its finalizer
        let with: HashSet<String> = ["b".to_string()].into();
        assert!(clean_uncounted(&mut st, &with));
        assert_eq!((st.succeeded, st.failed), (Some(2), Some(1)));
        let u = st.uncounted_terminated_pods.clone().expect("uncounted");
        assert_eq!(u.succeeded, Some(vec!["b".to_string()]));
        assert_eq!(u.failed, None);
        assert!(!clean_uncounted(&mut st, &with));
        assert!(clean_uncounted(&mut st, &HashSet::new()));
        assert_eq!(st.succeeded, Some(3));
    }
}
