//! The disruption controller: each PodDisruptionBudget's status says how many of its pods are
//! healthy (ready and not being deleted), how many must be (`minAvailable`, or the expected
//! count less `maxUnavailable`; percentages of the pods' controllers' scale, rounded up), and so
//! how many may be disrupted now, with the `DisruptionAllowed` condition (SufficientPods /
//! InsufficientPods, SyncFailed when the expected count cannot be worked out).
//!
//! The expected count is the number of selected pods for an integer `minAvailable`; otherwise
//! the summed scale of the pods' controllers (ReplicationController, Deployment through its
//! ReplicaSet, ReplicaSet, StatefulSet, or any kind with a scale subresource).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, OwnerReference, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DynamicObject, GroupVersionKind, PostParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, ResourceExt};

use crate::cached_pod::{self, CachedPod};
use crate::events::{self, Involved};
use crate::queue::{self, Queue};
use crate::replicaset::{controller_ref, is_ready};
use crate::selector::Selector;
use crate::{Context, is_status};

pub const CONTROLLER: &str = "controllermanager";
/// policy.DisruptionAllowedCondition and its reasons.
pub const CONDITION: &str = "DisruptionAllowed";
pub const SUFFICIENT_PODS: &str = "SufficientPods";
pub const INSUFFICIENT_PODS: &str = "InsufficientPods";
pub const SYNC_FAILED: &str = "SyncFailed";
/// kube's DeletionTimeout: a pod the eviction API let go counts as disrupted this long.
pub const DELETION_TIMEOUT: Duration = Duration::from_secs(2 * 60);

/// intstr.GetScaledValueFromIntOrPercent.
pub fn scaled_value(v: &IntOrString, total: i32, round_up: bool) -> Result<i32, String> {
    match v {
        IntOrString::Int(n) => Ok(*n),
        IntOrString::String(s) => {
            let Some(p) = s.strip_suffix('%') else {
                return Err(
                    "invalid value for IntOrString: invalid type: string is not a percentage"
                        .to_string(),
                );
            };
            let p: i64 = p.parse().map_err(|e| format!("invalid value {s:?}: {e}"))?;
            let product = p * i64::from(total);
            let v = if round_up {
                (product + 99).div_euclid(100)
            } else {
                product.div_euclid(100)
            };
            Ok(v as i32)
        }
    }
}

/// Whether the budget needs the controllers' scale (percentages or maxUnavailable).
pub fn needs_scale(pdb: &PodDisruptionBudget) -> bool {
    let spec = pdb.spec.as_ref();
    spec.and_then(|s| s.max_unavailable.as_ref()).is_some()
        || matches!(
            spec.and_then(|s| s.min_available.as_ref()),
            Some(IntOrString::String(_))
        )
}

/// getExpectedPodCount: (expectedCount, desiredHealthy) from the number of selected pods and,
/// where needed, the controllers' summed scale.
pub fn expected_and_desired(
    pdb: &PodDisruptionBudget,
    pod_count: i32,
    scale: Option<i32>,
) -> Result<(i32, i32), String> {
    let spec = pdb.spec.clone().unwrap_or_default();
    if let Some(max) = &spec.max_unavailable {
        let expected = scale.unwrap_or(0);
        let unavailable = scaled_value(max, expected, true)?;
        return Ok((expected, (expected - unavailable).max(0)));
    }
    match &spec.min_available {
        Some(IntOrString::Int(n)) => Ok((pod_count, *n)),
        Some(min @ IntOrString::String(_)) => {
            let expected = scale.unwrap_or(0);
            Ok((expected, scaled_value(min, expected, true)?))
        }
        None => Ok((0, 0)),
    }
}

/// countHealthyPods: ready, not being deleted, and not recently evicted.
pub fn count_healthy(pods: &[&Pod], disrupted: &BTreeMap<String, Time>, now: Timestamp) -> i32 {
    pods.iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| {
            disrupted
                .get(&p.name_any())
                .is_none_or(|t| !recently(t.0, now))
        })
        .filter(|p| is_ready(p))
        .count() as i32
}

fn recently(at: Timestamp, now: Timestamp) -> bool {
    at.as_second() + DELETION_TIMEOUT.as_secs() as i64 > now.as_second()
}

/// buildDisruptedPodMap: evicted pods still present, not being deleted, within the timeout;
/// and when to look again.
pub fn live_disrupted(
    pdb: &PodDisruptionBudget,
    pods: &[&Pod],
    now: Timestamp,
) -> (BTreeMap<String, Time>, Option<Timestamp>) {
    let mut out = BTreeMap::new();
    let mut recheck: Option<Timestamp> = None;
    let Some(listed) = pdb.status.as_ref().and_then(|s| s.disrupted_pods.as_ref()) else {
        return (out, None);
    };
    for p in pods {
        if p.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let Some(t) = listed.get(&p.name_any()) else {
            continue;
        };
        if recently(t.0, now) {
            let due = Timestamp::from_second(t.0.as_second() + DELETION_TIMEOUT.as_secs() as i64)
                .unwrap_or(now);
            recheck = Some(recheck.map_or(due, |r| r.min(due)));
            out.insert(p.name_any(), t.clone());
        }
    }
    (out, recheck)
}

/// meta.SetStatusCondition: the condition replaced, its transition time kept unless the
/// status changed.
fn set_condition(conditions: &mut Vec<Condition>, mut c: Condition) {
    match conditions.iter_mut().find(|x| x.type_ == c.type_) {
        Some(existing) => {
            if existing.status == c.status {
                c.last_transition_time = existing.last_transition_time.clone();
            }
            *existing = c;
        }
        None => conditions.push(c),
    }
}

/// The status the budget should have (updatePdbStatus), or None when it already has it.
pub fn desired_status(
    pdb: &PodDisruptionBudget,
    current_healthy: i32,
    desired_healthy: i32,
    expected: i32,
    disrupted: BTreeMap<String, Time>,
    now: Timestamp,
) -> Option<PodDisruptionBudgetStatus> {
    let mut allowed = current_healthy - desired_healthy;
    if expected <= 0 || allowed <= 0 {
        allowed = 0;
    }
    let generation = pdb.metadata.generation;
    let old = pdb.status.clone().unwrap_or_default();
    let (status, reason) = if allowed > 0 {
        ("True", SUFFICIENT_PODS)
    } else {
        ("False", INSUFFICIENT_PODS)
    };
    let up_to_date = old
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == CONDITION)
        .is_some_and(|c| c.status == status && c.reason == reason)
        && old.observed_generation == generation;
    let old_disrupted = old.disrupted_pods.clone().unwrap_or_default();
    if old.current_healthy == current_healthy
        && old.desired_healthy == desired_healthy
        && old.expected_pods == expected
        && old.disruptions_allowed == allowed
        && old_disrupted == disrupted
        && up_to_date
    {
        return None;
    }
    let mut conditions = old.conditions.clone().unwrap_or_default();
    set_condition(
        &mut conditions,
        Condition {
            type_: CONDITION.into(),
            status: status.into(),
            reason: reason.into(),
            message: String::new(),
            observed_generation: generation,
            last_transition_time: Time(now),
        },
    );
    Some(PodDisruptionBudgetStatus {
        conditions: Some(conditions),
        current_healthy,
        desired_healthy,
        disrupted_pods: (!disrupted.is_empty()).then_some(disrupted),
        disruptions_allowed: allowed,
        expected_pods: expected,
        observed_generation: generation,
    })
}

/// failSafe: nothing may be disrupted, and the condition says why.
pub fn fail_safe_status(
    pdb: &PodDisruptionBudget,
    message: &str,
    now: Timestamp,
) -> PodDisruptionBudgetStatus {
    let mut st = pdb.status.clone().unwrap_or_default();
    st.disruptions_allowed = 0;
    let mut conditions = st.conditions.take().unwrap_or_default();
    set_condition(
        &mut conditions,
        Condition {
            type_: CONDITION.into(),
            status: "False".into(),
            reason: SYNC_FAILED.into(),
            message: message.into(),
            observed_generation: st.observed_generation,
            last_transition_time: Time(now),
        },
    );
    st.conditions = Some(conditions);
    st
}

/// The pod selector of a budget: in policy/v1 a missing one selects nothing, an empty one
/// every pod of the namespace.
pub fn budget_selector(pdb: &PodDisruptionBudget) -> Result<Selector, String> {
    match pdb.spec.as_ref().and_then(|s| s.selector.as_ref()) {
        Some(s) => Selector::from_label_selector(s),
        None => Ok(Selector::nothing()),
    }
}

// ---------------------------------------------------------------------------------------------
// the controller

struct Ctl {
    ctx: Context,
    pdbs: Store<PodDisruptionBudget>,
    pods: Store<CachedPod>,
    rcs: Store<ReplicationController>,
    rss: Store<ReplicaSet>,
    deployments: Store<Deployment>,
    statefulsets: Store<StatefulSet>,
}

/// Enqueues every budget of a namespace.
fn enqueue_namespace(q: &Queue, pdbs: &Store<PodDisruptionBudget>, ns: Option<&str>) {
    for p in pdbs.state() {
        if p.metadata.namespace.as_deref() == ns {
            q.add(queue::key(ns, &p.name_any()));
        }
    }
}

pub async fn run(ctx: Context) {
    let queue = Queue::new();
    let q = queue.clone();
    let pdbs = ctx
        .informers
        .all::<PodDisruptionBudget, _>(move |p: &PodDisruptionBudget| {
            q.add(queue::key(p.metadata.namespace.as_deref(), &p.name_any()))
        })
        .await;
    macro_rules! namespace_trigger {
        ($kind:ty) => {{
            let (q, all) = (queue.clone(), pdbs.clone());
            ctx.informers
                .all_with_deletes::<$kind, _>(move |o: &$kind, _| {
                    enqueue_namespace(&q, &all, o.metadata.namespace.as_deref())
                })
                .await
        }};
    }
    let pods = {
        let (q, all) = (queue.clone(), pdbs.clone());
        ctx.informers
            .pods_with_deletes(move |p: &Pod, _| {
                enqueue_namespace(&q, &all, p.metadata.namespace.as_deref())
            })
            .await
    };
    let rcs = namespace_trigger!(ReplicationController);
    let rss = namespace_trigger!(ReplicaSet);
    let deployments = namespace_trigger!(Deployment);
    let statefulsets = namespace_trigger!(StatefulSet);
    tracing::info!(controller = "disruption", "started");
    let ctl = Ctl {
        ctx,
        pdbs,
        pods,
        rcs,
        rss,
        deployments,
        statefulsets,
    };
    loop {
        let key = queue.next().await;
        match ctl.sync(&key).await {
            Ok(None) => {}
            Ok(Some(after)) => queue.add_after(key, after),
            Err(e) => {
                tracing::debug!(controller = "disruption", key, error = %e, "sync failed");
                queue.add_after(key, Duration::from_millis(500));
            }
        }
    }
}

impl Ctl {
    fn involved<'a>(&self, pdb: &'a PodDisruptionBudget) -> Involved<'a> {
        Involved {
            api_version: "policy/v1",
            kind: "PodDisruptionBudget",
            namespace: pdb.metadata.namespace.as_deref().unwrap_or_default(),
            name: pdb.metadata.name.as_deref().unwrap_or_default(),
            uid: pdb.metadata.uid.as_deref().unwrap_or_default(),
            resource_version: pdb.metadata.resource_version.as_deref(),
        }
    }

    async fn event(&self, pdb: &PodDisruptionBudget, type_: &str, reason: &str, message: String) {
        events::record(
            &self.ctx.client,
            self.ctx.clock.as_ref(),
            CONTROLLER,
            &self.involved(pdb),
            type_,
            reason,
            message,
        )
        .await;
    }

    async fn sync(&self, key: &str) -> Result<Option<Duration>, kube::Error> {
        let (ns, name) = queue::split(key);
        let ns = ns.unwrap_or_default();
        let Some(pdb) = self.pdbs.get(&ObjectRef::new(name).within(ns)) else {
            return Ok(None);
        };
        let now = self.ctx.clock.now();
        let selector = match budget_selector(&pdb) {
            Ok(s) => s,
            Err(e) => {
                self.event(
                    &pdb,
                    "Warning",
                    "NoPods",
                    format!("Failed to get pods: {e}"),
                )
                .await;
                return self
                    .write(&pdb, fail_safe_status(&pdb, &e, now))
                    .await
                    .map(|_| None);
            }
        };
        let pods = cached_pod::selected(&self.pods, ns, &selector);
        let pod_refs: Vec<&Pod> = pods.iter().map(|p| p.as_ref()).collect();
        let scale = if needs_scale(&pdb) {
            match self.expected_scale(ns, &pod_refs).await {
                Ok(s) => Some(s),
                Err(e) => return self.failed(&pdb, e, now).await,
            }
        } else {
            None
        };
        let (expected, desired) = match expected_and_desired(&pdb, pod_refs.len() as i32, scale) {
            Ok(v) => v,
            Err(e) => return self.failed(&pdb, e, now).await,
        };
        let (disrupted, recheck) = live_disrupted(&pdb, &pod_refs, now);
        let healthy = count_healthy(&pod_refs, &disrupted, now);
        if let Some(st) = desired_status(&pdb, healthy, desired, expected, disrupted, now) {
            if pod_refs.is_empty() {
                self.event(&pdb, "Normal", "NoPods", "No matching pods found".into())
                    .await;
            }
            self.write(&pdb, st).await?;
        }
        Ok(recheck.map(|t| Duration::from_secs((t.as_second() - now.as_second()).max(1) as u64)))
    }

    async fn failed(
        &self,
        pdb: &PodDisruptionBudget,
        message: String,
        now: Timestamp,
    ) -> Result<Option<Duration>, kube::Error> {
        self.event(
            pdb,
            "Warning",
            "CalculateExpectedPodCountFailed",
            format!("Failed to calculate the number of expected pods: {message}"),
        )
        .await;
        self.write(pdb, fail_safe_status(pdb, &message, now))
            .await?;
        // kube retries a failed sync with backoff
        Ok(Some(Duration::from_secs(5)))
    }

    async fn write(
        &self,
        pdb: &PodDisruptionBudget,
        st: PodDisruptionBudgetStatus,
    ) -> Result<(), kube::Error> {
        if pdb.status.as_ref() == Some(&st) {
            return Ok(());
        }
        let mut next = pdb.clone();
        next.status = Some(st);
        let api: Api<PodDisruptionBudget> = Api::namespaced(
            self.ctx.client.clone(),
            pdb.metadata.namespace.as_deref().unwrap_or_default(),
        );
        match api
            .replace_status(&pdb.name_any(), &PostParams::default(), &next)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, 404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// getExpectedScale: the summed scale of the pods' controllers (pods without one are
    /// left out, as kube does, with a warning event kube also records).
    async fn expected_scale(&self, ns: &str, pods: &[&Pod]) -> Result<i32, String> {
        let mut scales: HashMap<String, i32> = HashMap::new();
        for pod in pods {
            let Some(r) = controller_ref(&pod.metadata) else {
                continue;
            };
            if scales.contains_key(&r.uid) {
                continue;
            }
            match self.find_scale(ns, r).await? {
                Some((uid, n)) => {
                    scales.insert(uid, n);
                }
                None => return Err(format!("found no controllers for pod {:?}", pod.name_any())),
            }
        }
        Ok(scales.values().sum())
    }

    /// The finders, in kube's order: (controller uid, scale).
    async fn find_scale(
        &self,
        ns: &str,
        r: &OwnerReference,
    ) -> Result<Option<(String, i32)>, String> {
        let group = r.api_version.split_once('/').map_or("", |(g, _)| g);
        match (group, r.kind.as_str()) {
            ("", "ReplicationController") => Ok(self
                .rcs
                .get(&ObjectRef::new(&r.name).within(ns))
                .filter(|rc| rc.metadata.uid.as_deref() == Some(&r.uid))
                .map(|rc| {
                    (
                        r.uid.clone(),
                        rc.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
                    )
                })),
            ("apps", "ReplicaSet") => {
                let Some(rs) = self
                    .rss
                    .get(&ObjectRef::new(&r.name).within(ns))
                    .filter(|rs| rs.metadata.uid.as_deref() == Some(&r.uid))
                else {
                    return Ok(None);
                };
                match controller_ref(&rs.metadata) {
                    Some(d) if d.kind == "Deployment" => Ok(self
                        .deployments
                        .get(&ObjectRef::new(&d.name).within(ns))
                        .filter(|dep| dep.metadata.uid.as_deref() == Some(&d.uid))
                        .map(|dep| {
                            (
                                d.uid.clone(),
                                dep.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
                            )
                        })),
                    _ => Ok(Some((
                        r.uid.clone(),
                        rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
                    ))),
                }
            }
            ("apps", "StatefulSet") => Ok(self
                .statefulsets
                .get(&ObjectRef::new(&r.name).within(ns))
                .filter(|s| s.metadata.uid.as_deref() == Some(&r.uid))
                .map(|s| {
                    (
                        r.uid.clone(),
                        s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
                    )
                })),
            _ => self.generic_scale(ns, r).await,
        }
    }

    /// Any other controller with a scale subresource.
    async fn generic_scale(
        &self,
        ns: &str,
        r: &OwnerReference,
    ) -> Result<Option<(String, i32)>, String> {
        let (group, version) = r
            .api_version
            .split_once('/')
            .unwrap_or(("", &r.api_version));
        let gvk = GroupVersionKind::gvk(group, version, &r.kind);
        let (ar, caps) = match kube::discovery::pinned_kind(&self.ctx.client, &gvk).await {
            Ok(found) => found,
            Err(_) => return Ok(None),
        };
        if !caps.subresources.iter().any(|(s, _)| s.plural == "scale") {
            return Ok(None);
        }
        let api: Api<DynamicObject> = Api::namespaced_with(self.ctx.client.clone(), ns, &ar);
        match api.get_scale(&r.name).await {
            Ok(scale) if scale.metadata.uid.as_deref() == Some(&r.uid) => Ok(Some((
                r.uid.clone(),
                scale.spec.and_then(|s| s.replicas).unwrap_or(0),
            ))),
            Ok(_) => Ok(None),
            Err(e) if is_status(&e, 404) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests;
