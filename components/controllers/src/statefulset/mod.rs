//! The statefulset controller (kube's `pkg/controller/statefulset`): pods `<set>-<ordinal>` with
//! stable identities (hostname and subdomain, the pod-name and pod-index labels), their
//! PersistentVolumeClaims `<template>-<set>-<ordinal>` made before them, OrderedReady (one at a
//! time, each waiting for the ones before it) or Parallel pod management, RollingUpdate with a
//! partition (highest ordinal first) or OnDelete, ControllerRevisions for the history
//! `kubectl rollout history/undo` reads, and the PVC retention policy through ownerReferences.
//!
//! What to do next is decided by [`plan`] (pure); this module reads the caches, runs the plan's
//! steps against the API and writes the status. Expectations keep a slow watch or a restart
//! from repeating a creation or deletion.

pub mod plan;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, PodTemplateSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use crate::cached_pod::{self, CachedPod};
use crate::events::{self, Involved};
use crate::history::{self, CONTROLLER_REVISION_HASH};
use crate::queue::{self, Queue};
use crate::replicaset::{Expectations, controller_ref, is_available, is_ready, slow_start_batches};
use crate::selector::Selector;
use crate::{Context, is_status};
use plan::{Action, Owner, PodState, RetentionPolicy, SetShape, Strategy, Which};

const COMPONENT: &str = "statefulset-controller";

type Res<T> = Result<T, kube::Error>;

struct Ctl {
    ctx: Context,
    sets: Store<StatefulSet>,
    pods: Store<CachedPod>,
    claims: Store<PersistentVolumeClaim>,
    revisions: Store<ControllerRevision>,
    expectations: Expectations,
}

pub async fn run(ctx: Context) {
    let queue = Queue::new();
    let expectations = Expectations::default();
    let q = queue.clone();
    let sets = ctx
        .informers
        .all::<StatefulSet, _>(move |s: &StatefulSet| {
            q.add(queue::key(s.metadata.namespace.as_deref(), &s.name_any()))
        })
        .await;
    let (q, e, ss) = (queue.clone(), expectations.clone(), sets.clone());
    let pods = ctx
        .informers
        .pods_with_deletes(move |pod: &Pod, deleted| {
            let ns = pod.namespace().unwrap_or_default();
            match controller_ref(&pod.metadata) {
                Some(r) if r.kind == "StatefulSet" => {
                    let key = queue::key(Some(&ns), &r.name);
                    e.observed(&key, pod, deleted);
                    q.add(key);
                }
                Some(_) => {}
                None if deleted => {}
                None => {
                    // an orphan: a set whose selector matches and whose name it bears adopts it
                    for set in ss.state() {
                        if set.metadata.namespace.as_deref() == Some(&ns)
                            && plan::is_member(&set.name_any(), &pod.name_any())
                            && selector_of(&set)
                                .is_ok_and(|s| s.matches(pod.metadata.labels.as_ref()))
                        {
                            q.add(queue::key(Some(&ns), &set.name_any()));
                        }
                    }
                }
            }
        })
        .await;
    let (q, ss) = (queue.clone(), sets.clone());
    let claims = ctx
        .informers
        .all_with_deletes::<PersistentVolumeClaim, _>(
            move |claim: &PersistentVolumeClaim, deleted| {
                // a stale claim going away may unblock a pod's creation
                if deleted {
                    let ns = claim.namespace().unwrap_or_default();
                    for set in ss.state() {
                        if set.metadata.namespace.as_deref() == Some(&ns) {
                            q.add(queue::key(Some(&ns), &set.name_any()));
                        }
                    }
                }
            },
        )
        .await;
    let revisions = ctx
        .informers
        .all::<ControllerRevision, _>(|_: &ControllerRevision| {})
        .await;
    tracing::info!(controller = COMPONENT, "started");
    let ctl = Ctl {
        ctx,
        sets,
        pods,
        claims,
        revisions,
        expectations,
    };
    loop {
        let key = queue.next().await;
        match ctl.sync(&key).await {
            Ok(Some(after)) => queue.add_after(key, after),
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(key, error = %e, "statefulset sync failed");
                queue.add_after(key, Duration::from_millis(500));
            }
        }
    }
}

fn selector_of(set: &StatefulSet) -> Result<Selector, String> {
    match &set.spec {
        Some(s) => Selector::from_label_selector(&s.selector),
        None => Ok(Selector::nothing()),
    }
}

fn set_owner(set: &StatefulSet) -> Owner {
    Owner {
        api_version: "apps/v1".into(),
        kind: "StatefulSet".into(),
        name: set.name_any(),
        uid: set.metadata.uid.clone().unwrap_or_default(),
    }
}

fn pod_owner(name: &str, uid: Option<&str>) -> Owner {
    Owner {
        api_version: "v1".into(),
        kind: "Pod".into(),
        name: name.to_string(),
        uid: uid.unwrap_or_default().to_string(),
    }
}

fn retention_policy(spec: &StatefulSetSpec) -> RetentionPolicy {
    let p = spec.persistent_volume_claim_retention_policy.as_ref();
    RetentionPolicy {
        when_deleted: plan::Retention::parse(p.and_then(|p| p.when_deleted.as_deref())),
        when_scaled: plan::Retention::parse(p.and_then(|p| p.when_scaled.as_deref())),
    }
}

fn strategy(spec: &StatefulSetSpec) -> Strategy {
    let us = spec.update_strategy.as_ref();
    match us.and_then(|u| u.type_.as_deref()) {
        Some("OnDelete") => Strategy::OnDelete,
        _ => Strategy::RollingUpdate {
            partition: us
                .and_then(|u| u.rolling_update.as_ref())
                .map(|r| r.partition.unwrap_or(0)),
        },
    }
}

fn start_ordinal(spec: &StatefulSetSpec) -> i32 {
    spec.ordinals.as_ref().and_then(|o| o.start).unwrap_or(0)
}

fn pod_revision(pod: &Pod) -> String {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(CONTROLLER_REVISION_HASH))
        .cloned()
        .unwrap_or_default()
}

fn phase(pod: &Pod) -> String {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_default()
}

fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        e => e.to_string(),
    }
}

/// The claims a pod of this ordinal uses, one per volumeClaimTemplate (getPersistentVolumeClaims).
fn claims_for(
    set: &StatefulSet,
    spec: &StatefulSetSpec,
    ordinal: i32,
) -> Vec<(String, PersistentVolumeClaim)> {
    let selector_labels = spec.selector.match_labels.clone().unwrap_or_default();
    spec.volume_claim_templates
        .iter()
        .flatten()
        .map(|t| {
            let template_name = t.metadata.name.clone().unwrap_or_default();
            let mut claim = t.clone();
            claim.metadata.name = Some(plan::claim_name(&template_name, &set.name_any(), ordinal));
            claim.metadata.namespace = set.metadata.namespace.clone();
            let mut labels = claim.metadata.labels.take().unwrap_or_default();
            labels.extend(selector_labels.clone());
            claim.metadata.labels = (!labels.is_empty()).then_some(labels);
            claim.metadata.creation_timestamp = None;
            claim.status = None;
            (template_name, claim)
        })
        .collect()
}

/// updateStorage: a volume per claim (in template order), then the pod's other volumes.
fn with_claim_volumes(
    volumes: Option<Vec<Volume>>,
    claims: &[(String, PersistentVolumeClaim)],
) -> Option<Vec<Volume>> {
    let mut out: Vec<Volume> = claims
        .iter()
        .map(|(template, claim)| Volume {
            name: template.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim.metadata.name.clone().unwrap_or_default(),
                read_only: None,
            }),
            ..Volume::default()
        })
        .collect();
    for v in volumes.into_iter().flatten() {
        if !claims.iter().any(|(t, _)| *t == v.name) {
            out.push(v);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// identityMatches: the name is `<set>-<ordinal>` in the set's namespace with the pod-name label.
fn identity_matches(set: &StatefulSet, pod: &Pod) -> bool {
    let name = pod.name_any();
    let (parent, ordinal) = plan::parent_and_ordinal(&name);
    ordinal >= 0
        && parent == set.name_any()
        && pod.metadata.namespace == set.metadata.namespace
        && pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(plan::POD_NAME_LABEL))
            == Some(&name)
}

/// storageMatches: every volumeClaimTemplate has its volume pointing at this pod's claim.
fn storage_matches(set: &StatefulSet, spec: &StatefulSetSpec, pod: &Pod) -> bool {
    let ordinal = plan::ordinal_of(&pod.name_any());
    if ordinal < 0 {
        return false;
    }
    let volumes = pod.spec.as_ref().and_then(|s| s.volumes.as_ref());
    claims_for(set, spec, ordinal)
        .iter()
        .all(|(template, claim)| {
            volumes.into_iter().flatten().any(|v| {
                v.name == *template
                    && v.persistent_volume_claim.as_ref().map(|c| &c.claim_name)
                        == claim.metadata.name.as_ref()
            })
        })
}

impl Ctl {
    fn involved(set: &StatefulSet) -> Involved<'_> {
        Involved {
            api_version: "apps/v1",
            kind: "StatefulSet",
            namespace: set.metadata.namespace.as_deref().unwrap_or_default(),
            name: set.metadata.name.as_deref().unwrap_or_default(),
            uid: set.metadata.uid.as_deref().unwrap_or_default(),
            resource_version: set.metadata.resource_version.as_deref(),
        }
    }

    async fn event(&self, set: &StatefulSet, type_: &str, reason: &str, message: String) {
        events::record(
            &self.ctx.client,
            self.ctx.clock.as_ref(),
            COMPONENT,
            &Self::involved(set),
            type_,
            reason,
            message,
        )
        .await;
    }

    /// recordPodEvent: `<verb> Pod <pod> in StatefulSet <set> successful` or `… failed error: …`.
    async fn pod_event(&self, set: &StatefulSet, verb: &str, pod: &str, err: Option<&str>) {
        let title = format!("{}{}", verb[..1].to_uppercase(), &verb[1..]);
        match err {
            None => {
                let msg = format!(
                    "{verb} Pod {pod} in StatefulSet {} successful",
                    set.name_any()
                );
                self.event(set, "Normal", &format!("Successful{title}"), msg)
                    .await
            }
            Some(e) => {
                let msg = format!(
                    "{verb} Pod {pod} in StatefulSet {} failed error: {e}",
                    set.name_any()
                );
                self.event(set, "Warning", &format!("Failed{title}"), msg)
                    .await
            }
        }
    }

    fn pod_api(&self, ns: &str) -> Api<Pod> {
        Api::namespaced(self.ctx.client.clone(), ns)
    }

    fn claim_api(&self, ns: &str) -> Api<PersistentVolumeClaim> {
        Api::namespaced(self.ctx.client.clone(), ns)
    }

    fn cached_claim(&self, ns: &str, name: &str) -> Option<Arc<PersistentVolumeClaim>> {
        self.claims.get(&ObjectRef::new(name).within(ns))
    }

    /// One sync; returns when to look again.
    async fn sync(&self, key: &str) -> Res<Option<Duration>> {
        let (ns, name) = queue::split(key);
        let ns = ns.unwrap_or_default();
        let Some(set) = self.sets.get(&ObjectRef::new(name).within(ns)) else {
            self.expectations.forget(key);
            return Ok(None);
        };
        let Some(spec) = set.spec.clone() else {
            return Ok(None);
        };
        let selector = match Selector::from_label_selector(&spec.selector) {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(key, error = %e, "invalid selector");
                return Ok(None);
            }
        };
        let uid = set.metadata.uid.clone().unwrap_or_default();
        let deleting = set.metadata.deletion_timestamp.is_some();

        // orphaned revisions matching the selector are adopted
        let (mut revisions, orphans) =
            history::owned_or_orphaned(&self.revisions, ns, &selector, &uid);
        if !orphans.is_empty() && !deleting && self.can_adopt(&set).await? {
            let owner = set_owner(&set).controller_ref();
            for o in orphans {
                if let Some(r) = history::adopt(&self.ctx.client, &o, &owner).await? {
                    revisions.push(r);
                }
            }
        }

        let ns_pods = cached_pod::claimable(
            &self.pods,
            ns,
            set.metadata.uid.as_deref().unwrap_or_default(),
            &selector,
        );
        if !self.expectations.satisfied(key, &ns_pods) {
            // the watch has not shown our last creations or deletions yet
            return Ok(Some(Duration::from_secs(5)));
        }
        let pods = self.claim_pods(&set, &selector, &ns_pods).await?;

        // the current and update revisions
        history::sort_revisions(&mut revisions);
        let mut collision_count = set
            .status
            .as_ref()
            .and_then(|s| s.collision_count)
            .unwrap_or(0);
        let (current, update) = self
            .revisions_of(&set, &spec, &revisions, &mut collision_count)
            .await?;
        let current_template =
            history::template_of(&current).unwrap_or_else(|| spec.template.clone());
        let update_template =
            history::template_of(&update).unwrap_or_else(|| spec.template.clone());

        // what the pods look like to the planner
        let now = self.ctx.clock.now();
        let min_ready = spec.min_ready_seconds.unwrap_or(0);
        let policy = retention_policy(&spec);
        let start = start_ordinal(&spec);
        let replicas = spec.replicas.unwrap_or(1);
        let in_range = |o: i32| o >= start && o < start + replicas;
        let states: Vec<PodState> = pods
            .iter()
            .map(|p| {
                let ordinal = plan::ordinal_of(&p.name_any());
                let ph = phase(p);
                let in_r = in_range(ordinal);
                let claims_ok = self.claims_match(&set, &spec, p, in_r);
                PodState {
                    name: p.name_any(),
                    ordinal,
                    running_ready: ph == "Running" && is_ready(p),
                    phase: ph,
                    available: is_available(p, min_ready, now),
                    terminating: p.metadata.deletion_timestamp.is_some(),
                    revision: pod_revision(p),
                    needs_fix: if in_r {
                        !identity_matches(&set, p) || !storage_matches(&set, &spec, p) || !claims_ok
                    } else {
                        !claims_ok
                    },
                }
            })
            .collect();
        let shape = SetShape {
            name: set.name_any(),
            replicas,
            start_ordinal: start,
            monotonic: spec.pod_management_policy.as_deref() != Some("Parallel"),
            strategy: strategy(&spec),
            current_revision: current.name_any(),
            update_revision: update.name_any(),
            status_current_replicas: set
                .status
                .as_ref()
                .and_then(|s| s.current_replicas)
                .unwrap_or(0),
        };
        let present: BTreeSet<i32> = states.iter().map(|p| p.ordinal).collect();
        let stale_claims: BTreeSet<i32> = (start..start + replicas.max(0))
            .filter(|o| !present.contains(o))
            .filter(|o| {
                let pod = pod_owner(&plan::pod_name(&set.name_any(), *o), None);
                claims_for(&set, &spec, *o).iter().any(|(_, c)| {
                    self.cached_claim(ns, c.metadata.name.as_deref().unwrap_or_default())
                        .is_some_and(|live| {
                            plan::claim_is_stale(
                                live.metadata
                                    .owner_references
                                    .as_deref()
                                    .unwrap_or_default(),
                                policy,
                                &pod,
                            )
                        })
                })
            })
            .collect();

        let mut failure: Option<kube::Error> = None;
        let mut update_deleted = false;
        if !deleting {
            let plan = plan::plan(&shape, &states, &stale_claims);
            let templates = Templates {
                current: &current_template,
                update: &update_template,
                current_revision: current.name_any(),
                update_revision: update.name_any(),
            };
            for group in &plan.groups {
                let result = if shape.monotonic {
                    let mut r = Ok(());
                    for a in group {
                        r = self.execute(key, &set, &spec, &pods, &templates, a).await;
                        if r.is_err() {
                            break;
                        }
                    }
                    r
                } else {
                    self.execute_parallel(key, &set, &spec, &pods, &templates, group)
                        .await
                };
                if let Err(e) = result {
                    failure = Some(e);
                    break;
                }
                update_deleted |= group.iter().any(|a| matches!(a, Action::Update { .. }));
            }
        }

        // status
        let counts = plan::counts(&states, &current.name_any(), &update.name_any());
        let mut current_replicas = counts.current;
        if update_deleted {
            current_replicas -= 1;
        }
        let adjusted = plan::Counts {
            current: current_replicas,
            ..counts
        };
        let (current_replicas, current_revision) = plan::complete_rolling_update(
            matches!(shape.strategy, Strategy::RollingUpdate { .. }),
            replicas,
            &adjusted,
            &current.name_any(),
            &update.name_any(),
        );
        let status = Status {
            observed_generation: set.metadata.generation.unwrap_or(0),
            replicas: counts.replicas,
            ready_replicas: counts.ready,
            available_replicas: counts.available,
            current_replicas,
            updated_replicas: counts.updated,
            current_revision,
            update_revision: update.name_any(),
            collision_count,
        };
        self.write_status(&set, &status).await?;

        // history beyond revisionHistoryLimit, oldest first, never one in use
        let mut live: HashSet<String> = [current.name_any(), update.name_any()].into();
        live.extend(pods.iter().map(|p| pod_revision(p)));
        let limit = spec.revision_history_limit.unwrap_or(10);
        for name in history::revisions_to_prune(&revisions, &live, limit) {
            if let Some(r) = revisions.iter().find(|r| r.name_any() == name) {
                history::delete(&self.ctx.client, r).await?;
            }
        }

        if let Some(e) = failure {
            return Err(e);
        }
        if min_ready > 0 && counts.available != replicas {
            return Ok(Some(Duration::from_secs(min_ready as u64)));
        }
        Ok(None)
    }

    /// getStatefulSetRevisions: the revision of the set's template (the last one if unchanged,
    /// an older one renumbered on a rollback, else a new one) and the current revision.
    async fn revisions_of(
        &self,
        set: &StatefulSet,
        spec: &StatefulSetSpec,
        revisions: &[ControllerRevision],
        collision_count: &mut i32,
    ) -> Res<(ControllerRevision, ControllerRevision)> {
        let data = history::template_patch(&spec.template);
        let next = history::next_revision(revisions);
        let update = match revisions
            .iter()
            .rev()
            .find(|r| history::same_data(r, &data))
        {
            Some(_)
                if revisions
                    .last()
                    .is_some_and(|l| history::same_data(l, &data)) =>
            {
                revisions.last().cloned().unwrap_or_default()
            }
            Some(equal) => history::renumber(&self.ctx.client, equal, next).await?,
            None => {
                let labels: BTreeMap<String, String> = spec
                    .template
                    .metadata
                    .as_ref()
                    .and_then(|m| m.labels.clone())
                    .unwrap_or_default();
                let rev = history::new_revision(
                    set_owner(set).controller_ref(),
                    labels,
                    set.metadata.annotations.clone(),
                    data,
                    next,
                );
                history::create(
                    &self.ctx.client,
                    set.metadata.namespace.as_deref().unwrap_or_default(),
                    &set.name_any(),
                    rev,
                    collision_count,
                )
                .await?
            }
        };
        let current_name = set.status.as_ref().and_then(|s| s.current_revision.clone());
        let current = revisions
            .iter()
            .find(|r| current_name.as_deref() == Some(r.name_any().as_str()))
            .cloned()
            .unwrap_or_else(|| update.clone());
        Ok((current, update))
    }

    /// Claims the set's pods: keeps its own that still match (selector and name), releases the
    /// rest, adopts matching orphans.
    async fn claim_pods(
        &self,
        set: &StatefulSet,
        selector: &Selector,
        ns_pods: &[Arc<Pod>],
    ) -> Res<Vec<Arc<Pod>>> {
        let uid = set.metadata.uid.clone().unwrap_or_default();
        let deleting = set.metadata.deletion_timestamp.is_some();
        let mut owned = Vec::new();
        let mut adopt = Vec::new();
        for p in ns_pods {
            let matches = selector.matches(p.metadata.labels.as_ref())
                && plan::is_member(&set.name_any(), &p.name_any());
            match controller_ref(&p.metadata) {
                Some(r) if r.uid == uid => {
                    if matches || deleting {
                        owned.push(p.clone());
                    } else {
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
                None if matches && !deleting && p.metadata.deletion_timestamp.is_none() => {
                    adopt.push(p.clone())
                }
                None => {}
            }
        }
        if !adopt.is_empty() && self.can_adopt(set).await? {
            let owner = set_owner(set).controller_ref();
            for p in adopt {
                let mut refs = p.metadata.owner_references.clone().unwrap_or_default();
                refs.push(owner.clone());
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

    /// Live re-check before adopting: still the same set, not being deleted.
    async fn can_adopt(&self, set: &StatefulSet) -> Res<bool> {
        let api: Api<StatefulSet> = Api::namespaced(
            self.ctx.client.clone(),
            set.metadata.namespace.as_deref().unwrap_or_default(),
        );
        Ok(api.get_opt(&set.name_any()).await?.is_some_and(|fresh| {
            fresh.metadata.uid == set.metadata.uid && fresh.metadata.deletion_timestamp.is_none()
        }))
    }

    /// ClaimsMatchRetentionPolicy (missing claims count as matching).
    fn claims_match(
        &self,
        set: &StatefulSet,
        spec: &StatefulSetSpec,
        pod: &Pod,
        in_range: bool,
    ) -> bool {
        let ns = set.metadata.namespace.as_deref().unwrap_or_default();
        let ordinal = plan::ordinal_of(&pod.name_any());
        let owner = pod_owner(&pod.name_any(), pod.metadata.uid.as_deref());
        claims_for(set, spec, ordinal).iter().all(|(_, c)| {
            match self.cached_claim(ns, c.metadata.name.as_deref().unwrap_or_default()) {
                None => true,
                Some(live) => plan::claim_owners_up_to_date(
                    live.metadata
                        .owner_references
                        .as_deref()
                        .unwrap_or_default(),
                    retention_policy(spec),
                    &set_owner(set),
                    &owner,
                    in_range,
                ),
            }
        })
    }

    async fn execute_parallel(
        &self,
        key: &str,
        set: &StatefulSet,
        spec: &StatefulSetSpec,
        pods: &[Arc<Pod>],
        templates: &Templates<'_>,
        group: &[Action],
    ) -> Res<()> {
        let mut rest = group;
        for size in slow_start_batches(group.len(), 1) {
            let (batch, tail) = rest.split_at(size);
            rest = tail;
            let results = join_all(
                batch
                    .iter()
                    .map(|a| self.execute(key, set, spec, pods, templates, a)),
            )
            .await;
            if let Some(e) = results.into_iter().find_map(Result::err) {
                return Err(e);
            }
        }
        Ok(())
    }

    async fn execute(
        &self,
        key: &str,
        set: &StatefulSet,
        spec: &StatefulSetSpec,
        pods: &[Arc<Pod>],
        templates: &Templates<'_>,
        action: &Action,
    ) -> Res<()> {
        let find = |name: &str| pods.iter().find(|p| p.name_any() == name).cloned();
        match action {
            Action::Create { ordinal, from } => {
                let (template, revision) = match from {
                    Which::Current => (templates.current, &templates.current_revision),
                    Which::Update => (templates.update, &templates.update_revision),
                };
                let pod = new_pod(set, spec, template, *ordinal, revision);
                self.create_pod(key, set, spec, pod).await
            }
            Action::Recreate { name, .. }
            | Action::ScaleDown { name }
            | Action::Update { name } => match find(name) {
                Some(p) => self.delete_pod(key, set, &p).await,
                None => Ok(()),
            },
            Action::EnsureClaims { name } => {
                let Some(p) = find(name) else { return Ok(()) };
                self.create_claims(set, spec, &p).await?;
                self.update_claim_owners(set, spec, &p).await
            }
            Action::Fix { name } => {
                let Some(p) = find(name) else { return Ok(()) };
                self.fix_pod(set, spec, &p).await
            }
            Action::FixClaims { name } => {
                let Some(p) = find(name) else { return Ok(()) };
                self.update_claim_owners(set, spec, &p).await
            }
        }
    }

    /// CreateStatefulPod: the claims, then the pod, then the claims' owners.
    async fn create_pod(
        &self,
        key: &str,
        set: &StatefulSet,
        spec: &StatefulSetSpec,
        pod: Pod,
    ) -> Res<()> {
        let name = pod.name_any();
        let ns = set.metadata.namespace.clone().unwrap_or_default();
        if let Err(e) = self.create_claims(set, spec, &pod).await {
            self.pod_event(set, "create", &name, Some(&api_message(&e)))
                .await;
            return Err(e);
        }
        self.expectations.expect_create(key, &name);
        let created = match self.pod_api(&ns).create(&PostParams::default(), &pod).await {
            Ok(p) => p,
            Err(e) if is_status(&e, 409) => {
                // made before; the watch will show it
                self.expectations.lower_create(key, &name);
                return Ok(());
            }
            Err(e) => {
                self.expectations.lower_create(key, &name);
                self.pod_event(set, "create", &name, Some(&api_message(&e)))
                    .await;
                return Err(e);
            }
        };
        if let Err(e) = self.update_claim_owners(set, spec, &created).await {
            self.pod_event(set, "update", &name, Some(&api_message(&e)))
                .await;
            return Err(e);
        }
        self.pod_event(set, "create", &name, None).await;
        Ok(())
    }

    async fn delete_pod(&self, key: &str, set: &StatefulSet, pod: &Pod) -> Res<()> {
        let name = pod.name_any();
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        self.expectations.expect_delete(key, &uid);
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(uid),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        match self.pod_api(ns).delete(&name, &dp).await {
            Ok(_) => {
                self.pod_event(set, "delete", &name, None).await;
                Ok(())
            }
            Err(e) if is_status(&e, 404) || is_status(&e, 409) => {
                self.expectations.observed(key, pod, true);
                Ok(())
            }
            Err(e) => {
                self.expectations.observed(key, pod, true);
                self.pod_event(set, "delete", &name, Some(&api_message(&e)))
                    .await;
                Err(e)
            }
        }
    }

    /// createPersistentVolumeClaims: each missing claim of the pod, with its event.
    async fn create_claims(&self, set: &StatefulSet, spec: &StatefulSetSpec, pod: &Pod) -> Res<()> {
        let ns = set.metadata.namespace.clone().unwrap_or_default();
        let ordinal = plan::ordinal_of(&pod.name_any());
        let mut failure = None;
        for (_, claim) in claims_for(set, spec, ordinal) {
            let claim_name = claim.metadata.name.clone().unwrap_or_default();
            if let Some(live) = self.cached_claim(&ns, &claim_name) {
                if live.metadata.deletion_timestamp.is_some() {
                    let msg = format!("pvc {claim_name} is being deleted");
                    failure = Some(kube::Error::Api(
                        kube::core::Status::failure(&msg, "Conflict")
                            .with_code(409)
                            .boxed(),
                    ));
                }
                continue;
            }
            let set_name = set.name_any();
            let pod_name = pod.name_any();
            match self
                .claim_api(&ns)
                .create(&PostParams::default(), &claim)
                .await
            {
                Ok(_) => {
                    let msg = format!(
                        "create Claim {claim_name} Pod {pod_name} in StatefulSet {set_name} success"
                    );
                    self.event(set, "Normal", "SuccessfulCreate", msg).await;
                }
                // made before; the cache lags
                Err(e) if is_status(&e, 409) => {}
                Err(e) => {
                    let msg = format!(
                        "create Claim {claim_name} for Pod {pod_name} in StatefulSet {set_name} failed error: failed to create PVC {claim_name}: {}",
                        api_message(&e)
                    );
                    self.event(set, "Warning", "FailedCreate", msg).await;
                    failure = Some(e);
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// UpdatePodClaimForRetentionPolicy: each existing claim's owners made to fit the policy.
    async fn update_claim_owners(
        &self,
        set: &StatefulSet,
        spec: &StatefulSetSpec,
        pod: &Pod,
    ) -> Res<()> {
        let ns = set.metadata.namespace.clone().unwrap_or_default();
        let ordinal = plan::ordinal_of(&pod.name_any());
        let start = start_ordinal(spec);
        let in_range = ordinal >= start && ordinal < start + spec.replicas.unwrap_or(1);
        let policy = retention_policy(spec);
        let owner = pod_owner(&pod.name_any(), pod.metadata.uid.as_deref());
        for (_, claim) in claims_for(set, spec, ordinal) {
            let claim_name = claim.metadata.name.clone().unwrap_or_default();
            let live = match self.cached_claim(&ns, &claim_name) {
                Some(c) => (*c).clone(),
                None => match self.claim_api(&ns).get_opt(&claim_name).await? {
                    Some(c) => c,
                    None => continue,
                },
            };
            let refs = live.metadata.owner_references.clone().unwrap_or_default();
            if plan::claim_owners_up_to_date(&refs, policy, &set_owner(set), &owner, in_range) {
                continue;
            }
            let want = plan::claim_owners(&refs, policy, &set_owner(set), &owner, in_range);
            let patch = json!({"metadata": {
                "ownerReferences": if want.is_empty() { Value::Null } else { json!(want) },
                "resourceVersion": live.metadata.resource_version,
            }});
            match self
                .claim_api(&ns)
                .patch(&claim_name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {}
                Err(e) if is_status(&e, 404) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// UpdateStatefulPod: the identity labels put back, missing claims created, the claims'
    /// owners set. (Volumes of a running pod cannot change; kube's attempt fails validation.)
    async fn fix_pod(&self, set: &StatefulSet, spec: &StatefulSetSpec, pod: &Pod) -> Res<()> {
        let name = pod.name_any();
        if !storage_matches(set, spec, pod) {
            self.create_claims(set, spec, pod).await?;
        }
        self.update_claim_owners(set, spec, pod).await?;
        if identity_matches(set, pod) {
            return Ok(());
        }
        let ordinal = plan::ordinal_of(&name);
        let patch = json!({"metadata": {
            "labels": {plan::POD_NAME_LABEL: name, plan::POD_INDEX_LABEL: ordinal.to_string()},
            "resourceVersion": pod.metadata.resource_version,
        }});
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        let result = self
            .pod_api(ns)
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await;
        match result {
            Ok(_) => {
                self.pod_event(set, "update", &name, None).await;
                Ok(())
            }
            Err(e) if is_status(&e, 404) || is_status(&e, 409) => Ok(()),
            Err(e) => {
                self.pod_event(set, "update", &name, Some(&api_message(&e)))
                    .await;
                Err(e)
            }
        }
    }

    /// updateStatefulSetStatus: written when anything kube compares changed.
    async fn write_status(&self, set: &StatefulSet, st: &Status) -> Res<()> {
        let old = set.status.clone().unwrap_or_default();
        let unchanged = st.observed_generation <= old.observed_generation.unwrap_or(0)
            && st.replicas == old.replicas
            && st.current_replicas == old.current_replicas.unwrap_or(0)
            && st.ready_replicas == old.ready_replicas.unwrap_or(0)
            && st.updated_replicas == old.updated_replicas.unwrap_or(0)
            && Some(&st.current_revision) == old.current_revision.as_ref()
            && st.available_replicas == old.available_replicas.unwrap_or(0)
            && Some(&st.update_revision) == old.update_revision.as_ref();
        if unchanged {
            return Ok(());
        }
        let nz = |n: i32| if n == 0 { Value::Null } else { json!(n) };
        let patch = json!({"status": {
            "observedGeneration": st.observed_generation,
            "replicas": st.replicas,
            "readyReplicas": nz(st.ready_replicas),
            "currentReplicas": nz(st.current_replicas),
            "updatedReplicas": nz(st.updated_replicas),
            "availableReplicas": st.available_replicas,
            "currentRevision": st.current_revision,
            "updateRevision": st.update_revision,
            "collisionCount": st.collision_count,
        }});
        let api: Api<StatefulSet> = Api::namespaced(
            self.ctx.client.clone(),
            set.metadata.namespace.as_deref().unwrap_or_default(),
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
}

struct Templates<'a> {
    current: &'a PodTemplateSpec,
    update: &'a PodTemplateSpec,
    current_revision: String,
    update_revision: String,
}

struct Status {
    observed_generation: i64,
    replicas: i32,
    ready_replicas: i32,
    available_replicas: i32,
    current_replicas: i32,
    updated_replicas: i32,
    current_revision: String,
    update_revision: String,
    collision_count: i32,
}

/// newVersionedStatefulSetPod: the template's pod named `<set>-<ordinal>`, with its identity
/// (labels, hostname, subdomain), its claims' volumes and its revision label.
pub fn new_pod(
    set: &StatefulSet,
    spec: &StatefulSetSpec,
    template: &PodTemplateSpec,
    ordinal: i32,
    revision: &str,
) -> Pod {
    let tm = template.metadata.clone().unwrap_or_default();
    let name = plan::pod_name(&set.name_any(), ordinal);
    let mut labels = tm.labels.clone().unwrap_or_default();
    labels.insert(plan::POD_NAME_LABEL.into(), name.clone());
    labels.insert(plan::POD_INDEX_LABEL.into(), ordinal.to_string());
    labels.insert(CONTROLLER_REVISION_HASH.into(), revision.to_string());
    let mut pod_spec = template.spec.clone().unwrap_or_default();
    pod_spec.hostname = Some(name.clone());
    pod_spec.subdomain = spec.service_name.clone().filter(|s| !s.is_empty());
    pod_spec.volumes = with_claim_volumes(pod_spec.volumes.take(), &claims_for(set, spec, ordinal));
    Pod {
        metadata: ObjectMeta {
            name: Some(name),
            generate_name: Some(format!("{}-", set.name_any())),
            namespace: set.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: tm.annotations,
            finalizers: tm.finalizers,
            owner_references: Some(vec![set_owner(set).controller_ref()]),
            ..ObjectMeta::default()
        },
        spec: Some(pod_spec),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::StatefulSetSpec;
    use k8s_openapi::api::core::v1::{Container, PersistentVolumeClaimSpec, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

    fn set() -> StatefulSet {
        let labels: BTreeMap<String, String> = [("app".to_string(), "db".to_string())].into();
        StatefulSet {
            metadata: ObjectMeta {
                name: Some("db".into()),
                namespace: Some("ns".into()),
                uid: Some("u1".into()),
                ..Default::default()
            },
            spec: Some(StatefulSetSpec {
                service_name: Some("db-headless".into()),
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
                            image: Some("postgres".into()),
                            ..Default::default()
                        }],
                        volumes: Some(vec![
                            Volume {
                                name: "data".into(),
                                ..Default::default()
                            },
                            Volume {
                                name: "scratch".into(),
                                ..Default::default()
                            },
                        ]),
                        ..Default::default()
                    }),
                },
                volume_claim_templates: Some(vec![PersistentVolumeClaim {
                    metadata: ObjectMeta {
                        name: Some("data".into()),
                        labels: Some([("tier".to_string(), "storage".to_string())].into()),
                        ..Default::default()
                    },
                    spec: Some(PersistentVolumeClaimSpec::default()),
                    status: None,
                }]),
                ..Default::default()
            }),
            status: None,
        }
    }

    #[test]
    fn pods_get_identity_claims_and_revision() {
        let s = set();
        let spec = s.spec.clone().expect("spec");
        let pod = new_pod(&s, &spec, &spec.template, 2, "db-abc");
        assert_eq!(pod.metadata.name.as_deref(), Some("db-2"));
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("db-"));
        let labels = pod.metadata.labels.clone().expect("labels");
        assert_eq!(labels["app"], "db");
        assert_eq!(labels[plan::POD_NAME_LABEL], "db-2");
        assert_eq!(labels[plan::POD_INDEX_LABEL], "2");
        assert_eq!(labels[CONTROLLER_REVISION_HASH], "db-abc");
        let ps = pod.spec.clone().expect("spec");
        assert_eq!(ps.hostname.as_deref(), Some("db-2"));
        assert_eq!(ps.subdomain.as_deref(), Some("db-headless"));
        let vols: Vec<(String, Option<String>)> = ps
            .volumes
            .iter()
            .flatten()
            .map(|v| {
                (
                    v.name.clone(),
                    v.persistent_volume_claim
                        .as_ref()
                        .map(|c| c.claim_name.clone()),
                )
            })
            .collect();
        // the claim replaces the template's volume of the same name
        assert_eq!(
            vols,
            [
                ("data".to_string(), Some("data-db-2".to_string())),
                ("scratch".to_string(), None)
            ]
        );
        let owner = &pod.metadata.owner_references.as_ref().expect("owner")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.controller),
            ("StatefulSet", Some(true))
        );
        assert!(identity_matches(&s, &pod));
        assert!(storage_matches(&s, &spec, &pod));
    }

    #[test]
    fn claims_carry_template_and_selector_labels() {
        let s = set();
        let spec = s.spec.clone().expect("spec");
        let claims = claims_for(&s, &spec, 0);
        assert_eq!(claims.len(), 1);
        let (template, claim) = &claims[0];
        assert_eq!(template, "data");
        assert_eq!(claim.metadata.name.as_deref(), Some("data-db-0"));
        assert_eq!(claim.metadata.namespace.as_deref(), Some("ns"));
        let labels = claim.metadata.labels.clone().expect("labels");
        assert_eq!(
            labels,
            [
                ("app".to_string(), "db".to_string()),
                ("tier".to_string(), "storage".to_string())
            ]
            .into()
        );
    }

    #[test]
    fn identity_and_storage_mismatches() {
        let s = set();
        let spec = s.spec.clone().expect("spec");
        let mut pod = new_pod(&s, &spec, &spec.template, 1, "db-abc");
        pod.metadata
            .labels
            .as_mut()
            .expect("labels")
            .remove(plan::POD_NAME_LABEL);
        assert!(!identity_matches(&s, &pod));
        pod.spec.as_mut().expect("spec").volumes = None;
        assert!(!storage_matches(&s, &spec, &pod));
    }
}
