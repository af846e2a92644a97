//! The deployment controller (kube's `pkg/controller/deployment`): a ReplicaSet per pod
//! template named `<deployment>-<pod-template-hash>`, rolling updates within maxSurge /
//! maxUnavailable, Recreate, revisions (`deployment.kubernetes.io/revision`) and their history
//! limit, rollbacks (kubectl copies an old template back; the ReplicaSet with that template
//! becomes the new one again), pause/resume with proportional scaling, the progress deadline,
//! and the status and conditions `kubectl rollout status` reads.

pub mod util;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet, ReplicaSetSpec,
};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, ObjectMeta, OwnerReference, Time,
};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, ResourceExt};
use serde_json::json;

use crate::cached_pod::CachedPod;
use crate::events::{self, Involved};
use crate::queue::{self, Queue};
use crate::replicaset::controller_ref;
use crate::selector::Selector;
use crate::{Context, is_status};
use util::RsState;

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
const COMPONENT: &str = "deployment-controller";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
const ROLLBACK_TO: &str = "deprecated.deployment.rollback.to";

type Res<T> = Result<T, kube::Error>;

struct Ctl {
    ctx: Context,
    deployments: Store<Deployment>,
    replicasets: Store<ReplicaSet>,
    pods: Store<CachedPod>,
}

pub async fn run(ctx: Context) {
    let queue = Queue::new();
    let q = queue.clone();
    let deployments = ctx
        .informers
        .all::<Deployment, _>(move |d: &Deployment| {
            q.add(queue::key(d.metadata.namespace.as_deref(), &d.name_any()))
        })
        .await;
    let (q, ds) = (queue.clone(), deployments.clone());
    let replicasets = ctx
        .informers
        .all::<ReplicaSet, _>(move |rs: &ReplicaSet| {
            let ns = rs.namespace().unwrap_or_default();
            match controller_ref(&rs.metadata) {
                Some(r) if r.kind == "Deployment" => q.add(queue::key(Some(&ns), &r.name)),
                Some(_) => {}
                None => {
                    for d in ds.state() {
                        if d.metadata.namespace.as_deref() == Some(&ns)
                            && selector_of(&d).is_ok_and(|s| {
                                !s.is_empty() && s.matches(rs.metadata.labels.as_ref())
                            })
                        {
                            q.add(queue::key(Some(&ns), &d.name_any()));
                        }
                    }
                }
            }
        })
        .await;
    let (q, rss) = (queue.clone(), replicasets.clone());
    let pods = ctx
        .informers
        .pods_with_deletes(move |pod: &Pod, deleted| {
            // only Recreate waits for pods; a deleted or finished pod may let it proceed
            let finished = matches!(
                pod.status.as_ref().and_then(|s| s.phase.as_deref()),
                Some("Succeeded" | "Failed")
            );
            if !deleted && !finished {
                return;
            }
            let ns = pod.namespace().unwrap_or_default();
            if let Some(r) = controller_ref(&pod.metadata)
                && r.kind == "ReplicaSet"
                && let Some(rs) = rss.get(&ObjectRef::new(&r.name).within(&ns))
                && let Some(d) = controller_ref(&rs.metadata)
                && d.kind == "Deployment"
            {
                q.add(queue::key(Some(&ns), &d.name));
            }
        })
        .await;
    tracing::info!(controller = COMPONENT, "started");
    let ctl = Ctl {
        ctx,
        deployments,
        replicasets,
        pods,
    };
    loop {
        let key = queue.next().await;
        match ctl.sync(&key).await {
            Ok(Some(after)) => queue.add_after(key, after),
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(key, error = %e, "deployment sync failed");
                queue.add_after(key, Duration::from_millis(300));
            }
        }
    }
}

fn selector_of(d: &Deployment) -> Result<Selector, String> {
    match &d.spec {
        Some(s) => Selector::from_label_selector(&s.selector),
        None => Ok(Selector::nothing()),
    }
}

fn replicas_of(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

fn rs_available(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.available_replicas)
        .unwrap_or(0)
}

fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

fn int_annotation(meta: &ObjectMeta, key: &str) -> Option<i32> {
    annotation(meta, key).and_then(|v| v.parse().ok())
}

pub fn revision(rs: &ReplicaSet) -> i64 {
    annotation(&rs.metadata, REVISION)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn is_rolling(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        != Some("Recreate")
}

/// (maxSurge, maxUnavailable) resolved for this deployment; Recreate has neither.
fn fenceposts(d: &Deployment) -> (i32, i32) {
    if !is_rolling(d) {
        return (0, 0);
    }
    let ru = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref());
    let replicas = replicas_of(d);
    util::resolve_fenceposts(
        ru.and_then(|r| r.max_surge.as_ref()),
        ru.and_then(|r| r.max_unavailable.as_ref()),
        replicas,
    )
    .unwrap_or((0, 1))
}

fn max_surge(d: &Deployment) -> i32 {
    fenceposts(d).0
}

fn max_unavailable(d: &Deployment) -> i32 {
    if !is_rolling(d) {
        return 0;
    }
    util::max_unavailable(replicas_of(d), fenceposts(d))
}

/// Templates equal but for the pod-template-hash label (kube's EqualIgnoreHash).
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    let strip = |t: &PodTemplateSpec| {
        let mut t = t.clone();
        if let Some(m) = t.metadata.as_mut()
            && let Some(l) = m.labels.as_mut()
        {
            l.remove(POD_TEMPLATE_HASH);
            if l.is_empty() {
                m.labels = None;
            }
        }
        serde_json::to_value(t).unwrap_or_default()
    };
    strip(a) == strip(b)
}

fn template_of(d: &Deployment) -> PodTemplateSpec {
    d.spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default()
}

fn progress_deadline(d: &Deployment) -> Option<i64> {
    match d.spec.as_ref().and_then(|s| s.progress_deadline_seconds) {
        Some(i32::MAX) | None => None,
        Some(s) => Some(i64::from(s)),
    }
}

fn get_condition<'a>(st: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    st.conditions.iter().flatten().find(|c| c.type_ == type_)
}

fn remove_condition(st: &mut DeploymentStatus, type_: &str) {
    if let Some(c) = st.conditions.as_mut() {
        c.retain(|c| c.type_ != type_);
    }
}

/// SetDeploymentCondition: same status and reason is no change; same status keeps the
/// transition time.
fn set_condition(st: &mut DeploymentStatus, mut cond: DeploymentCondition) {
    if let Some(cur) = get_condition(st, &cond.type_) {
        if cur.status == cond.status && cur.reason == cond.reason {
            return;
        }
        if cur.status == cond.status {
            cond.last_transition_time = cur.last_transition_time.clone();
        }
    }
    remove_condition(st, &cond.type_);
    st.conditions.get_or_insert_with(Vec::new).push(cond);
}

fn condition(
    now: &Time,
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message),
        last_update_time: Some(now.clone()),
        last_transition_time: Some(now.clone()),
    }
}

fn nz(n: i32) -> Option<i32> {
    (n != 0).then_some(n)
}

/// DeploymentComplete.
fn deployment_complete(d: &Deployment, st: &DeploymentStatus) -> bool {
    let r = replicas_of(d);
    st.updated_replicas.unwrap_or(0) == r
        && st.replicas.unwrap_or(0) == r
        && st.available_replicas.unwrap_or(0) == r
        && st.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

/// DeploymentProgressing.
fn deployment_progressing(d: &Deployment, st: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let g = |o: Option<i32>| o.unwrap_or(0);
    let old_old = g(old.replicas) - g(old.updated_replicas);
    let new_old = g(st.replicas) - g(st.updated_replicas);
    g(st.updated_replicas) > g(old.updated_replicas)
        || new_old < old_old
        || g(st.ready_replicas) > g(old.ready_replicas)
        || g(st.available_replicas) > g(old.available_replicas)
}

fn sort_oldest_first(v: &mut [ReplicaSet]) {
    v.sort_by(|a, b| {
        let ta = a.metadata.creation_timestamp.as_ref().map(|t| t.0);
        let tb = b.metadata.creation_timestamp.as_ref().map(|t| t.0);
        ta.cmp(&tb).then_with(|| a.name_any().cmp(&b.name_any()))
    });
}

fn is_active(rs: &ReplicaSet) -> bool {
    rs_replicas(rs) > 0
}

impl Ctl {
    fn involved<'a>(d: &'a Deployment) -> Involved<'a> {
        Involved {
            api_version: "apps/v1",
            kind: "Deployment",
            namespace: d.metadata.namespace.as_deref().unwrap_or_default(),
            name: d.metadata.name.as_deref().unwrap_or_default(),
            uid: d.metadata.uid.as_deref().unwrap_or_default(),
            resource_version: d.metadata.resource_version.as_deref(),
        }
    }

    async fn event(&self, d: &Deployment, type_: &str, reason: &str, message: String) {
        events::record(
            &self.ctx.client,
            self.ctx.clock.as_ref(),
            COMPONENT,
            &Self::involved(d),
            type_,
            reason,
            message,
        )
        .await;
    }

    fn now(&self) -> Time {
        Time(self.ctx.clock.now())
    }

    fn rs_api(&self, ns: &str) -> Api<ReplicaSet> {
        Api::namespaced(self.ctx.client.clone(), ns)
    }

    async fn sync(&self, key: &str) -> Res<Option<Duration>> {
        let (ns, name) = queue::split(key);
        let ns = ns.unwrap_or_default();
        let Some(d) = self.deployments.get(&ObjectRef::new(name).within(ns)) else {
            return Ok(None);
        };
        let mut d: Deployment = (*d).clone();
        let selector = match selector_of(&d) {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(key, error = %e, "invalid selector");
                return Ok(None);
            }
        };
        if selector.is_empty() {
            self.event(
                &d,
                "Warning",
                "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.".into(),
            )
            .await;
            let generation = d.metadata.generation;
            let mut st = d.status.clone().unwrap_or_default();
            if st.observed_generation < generation {
                st.observed_generation = generation;
                self.update_status(&mut d, st).await?;
            }
            return Ok(None);
        }
        let rs_list = self.claim_replicasets(&d, &selector).await?;
        if d.metadata.deletion_timestamp.is_some() {
            let (new, old) = split_new_old(&d, rs_list);
            self.sync_status_only(&mut d, new.as_ref(), &old).await?;
            return Ok(None);
        }
        self.check_paused_conditions(&mut d).await?;
        let paused = d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
        if paused || self.is_scaling_event(&d, &rs_list) {
            return self.sync_scale(&mut d, rs_list, paused).await;
        }
        if is_rolling(&d) {
            self.rollout_rolling(&mut d, rs_list).await
        } else {
            self.rollout_recreate(&mut d, rs_list).await
        }
    }

    /// getReplicaSetsForDeployment: ours that match, adopting matching orphans and releasing
    /// ours that no longer match.
    async fn claim_replicasets(&self, d: &Deployment, sel: &Selector) -> Res<Vec<ReplicaSet>> {
        let ns = d.metadata.namespace.clone().unwrap_or_default();
        let uid = d.metadata.uid.clone().unwrap_or_default();
        let deleting = d.metadata.deletion_timestamp.is_some();
        let mut out = Vec::new();
        for rs in self.replicasets.state() {
            if rs.metadata.namespace.as_deref() != Some(&ns) {
                continue;
            }
            let matches = sel.matches(rs.metadata.labels.as_ref());
            match controller_ref(&rs.metadata) {
                Some(r) if r.uid == uid => {
                    if matches || deleting {
                        out.push((*rs).clone());
                    } else {
                        let refs: Vec<&OwnerReference> = rs
                            .metadata
                            .owner_references
                            .iter()
                            .flatten()
                            .filter(|r| r.uid != uid)
                            .collect();
                        let patch =
                            json!({"metadata": {"ownerReferences": refs, "uid": rs.metadata.uid}});
                        match self
                            .rs_api(&ns)
                            .patch(
                                &rs.name_any(),
                                &PatchParams::default(),
                                &Patch::Merge(&patch),
                            )
                            .await
                        {
                            Ok(_) => {}
                            Err(e) if is_status(&e, 404) || is_status(&e, 422) => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
                Some(_) => {}
                None if matches && !deleting && rs.metadata.deletion_timestamp.is_none() => {
                    let mut refs = rs.metadata.owner_references.clone().unwrap_or_default();
                    refs.push(owner_ref(d));
                    let patch =
                        json!({"metadata": {"ownerReferences": refs, "uid": rs.metadata.uid}});
                    match self
                        .rs_api(&ns)
                        .patch(
                            &rs.name_any(),
                            &PatchParams::default(),
                            &Patch::Merge(&patch),
                        )
                        .await
                    {
                        Ok(adopted) => out.push(adopted),
                        Err(e) if is_status(&e, 404) || is_status(&e, 422) => {}
                        Err(e) => return Err(e),
                    }
                }
                None => {}
            }
        }
        Ok(out)
    }

    async fn check_paused_conditions(&self, d: &mut Deployment) -> Res<()> {
        if progress_deadline(d).is_none() {
            return Ok(());
        }
        let paused = d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
        let mut st = d.status.clone().unwrap_or_default();
        let reason = get_condition(&st, "Progressing").and_then(|c| c.reason.clone());
        let now = self.now();
        let changed = if paused && reason.as_deref() != Some("DeploymentPaused") {
            set_condition(
                &mut st,
                condition(
                    &now,
                    "Progressing",
                    "Unknown",
                    "DeploymentPaused",
                    "Deployment is paused".into(),
                ),
            );
            true
        } else if !paused && reason.as_deref() == Some("DeploymentPaused") {
            set_condition(
                &mut st,
                condition(
                    &now,
                    "Progressing",
                    "Unknown",
                    "DeploymentResumed",
                    "Deployment is resumed".into(),
                ),
            );
            true
        } else {
            false
        };
        if changed {
            self.update_status(d, st).await?;
        }
        Ok(())
    }

    fn is_scaling_event(&self, d: &Deployment, rs_list: &[ReplicaSet]) -> bool {
        let replicas = replicas_of(d);
        rs_list.iter().filter(|rs| is_active(rs)).any(|rs| {
            int_annotation(&rs.metadata, DESIRED_REPLICAS).is_some_and(|want| want != replicas)
        })
    }

    /// getAllReplicaSetsAndSyncRevision: the new ReplicaSet (created when asked), the old
    /// ones, and the deployment's revision brought up to date.
    async fn new_and_old(
        &self,
        d: &mut Deployment,
        rs_list: Vec<ReplicaSet>,
        create: bool,
    ) -> Res<(Option<ReplicaSet>, Vec<ReplicaSet>)> {
        let (existing, old) = split_new_old(d, rs_list);
        let max_old = old.iter().map(revision).max().unwrap_or(0);
        let new_revision = (max_old + 1).to_string();
        let ns = d.metadata.namespace.clone().unwrap_or_default();
        if let Some(rs) = existing {
            let mut want = rs.clone();
            let mut changed = copy_annotations(d, &mut want);
            if revision(&want) < max_old + 1 {
                want.annotations_mut()
                    .insert(REVISION.into(), new_revision.clone());
                changed = true;
            }
            let min_ready = d.spec.as_ref().and_then(|s| s.min_ready_seconds);
            let spec = want.spec.get_or_insert_with(ReplicaSetSpec::default);
            if spec.min_ready_seconds != min_ready {
                spec.min_ready_seconds = min_ready;
                changed = true;
            }
            let rs = if changed {
                let mut body = want.clone();
                body.metadata.managed_fields = None;
                self.rs_api(&ns)
                    .replace(&rs.name_any(), &PostParams::default(), &body)
                    .await?
            } else {
                rs
            };
            let rev = annotation(&rs.metadata, REVISION)
                .unwrap_or_default()
                .to_string();
            self.set_deployment_revision(d, &rev).await?;
            let mut st = d.status.clone().unwrap_or_default();
            if progress_deadline(d).is_some() && get_condition(&st, "Progressing").is_none() {
                let msg = format!("Found new replica set {:?}", rs.name_any());
                set_condition(
                    &mut st,
                    condition(
                        &self.now(),
                        "Progressing",
                        "True",
                        "FoundNewReplicaSet",
                        msg,
                    ),
                );
                self.update_status(d, st).await?;
            }
            return Ok((Some(rs), old));
        }
        if !create {
            return Ok((None, old));
        }
        // a new ReplicaSet for the current template
        let template = template_of(d);
        let collision = d.status.as_ref().and_then(|s| s.collision_count);
        let hash = util::compute_hash(&template, collision);
        let mut rs_template = template.clone();
        rs_template
            .metadata
            .get_or_insert_with(ObjectMeta::default)
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(POD_TEMPLATE_HASH.into(), hash.clone());
        let mut selector: LabelSelector = d
            .spec
            .as_ref()
            .map(|s| s.selector.clone())
            .unwrap_or_default();
        selector
            .match_labels
            .get_or_insert_with(BTreeMap::new)
            .insert(POD_TEMPLATE_HASH.into(), hash.clone());
        let mut new_rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(format!("{}-{hash}", d.name_any())),
                namespace: Some(ns.clone()),
                owner_references: Some(vec![owner_ref(d)]),
                labels: rs_template.metadata.as_ref().and_then(|m| m.labels.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: d.spec.as_ref().and_then(|s| s.min_ready_seconds),
                selector,
                template: Some(rs_template),
            }),
            status: None,
        };
        let replicas = replicas_of(d);
        let count = if is_rolling(d) {
            let mut all: Vec<RsState> = old.iter().map(rs_state).collect();
            let n = rs_state(&new_rs);
            all.push(n.clone());
            util::new_rs_new_replicas(replicas, max_surge(d), &all, &n)
        } else {
            replicas
        };
        if let Some(s) = new_rs.spec.as_mut() {
            s.replicas = Some(count);
        }
        copy_annotations(d, &mut new_rs);
        let a = new_rs.annotations_mut();
        a.insert(REVISION.into(), new_revision.clone());
        a.insert(DESIRED_REPLICAS.into(), replicas.to_string());
        a.insert(MAX_REPLICAS.into(), (replicas + max_surge(d)).to_string());
        let created = match self
            .rs_api(&ns)
            .create(&PostParams::default(), &new_rs)
            .await
        {
            Ok(rs) => rs,
            Err(e) if is_status(&e, 409) => {
                // ours already (a slow cache), or a hash collision
                let existing = self.rs_api(&ns).get(&new_rs.name_any()).await?;
                let ours = controller_ref(&existing.metadata)
                    .is_some_and(|r| Some(&r.uid) == d.metadata.uid.as_ref());
                if ours
                    && existing
                        .spec
                        .as_ref()
                        .and_then(|s| s.template.as_ref())
                        .is_some_and(|t| equal_ignore_hash(t, &template))
                {
                    return Ok((Some(existing), old));
                }
                let mut st = d.status.clone().unwrap_or_default();
                st.collision_count = Some(st.collision_count.unwrap_or(0).saturating_add(1));
                self.update_status(d, st).await?;
                return Err(e);
            }
            Err(e) => {
                if let kube::Error::Api(s) = &e {
                    let msg = format!(
                        "Failed to create new replica set {:?}: {}",
                        new_rs.name_any(),
                        s.message
                    );
                    self.event(d, "Warning", "FailedCreate", msg.clone()).await;
                    if progress_deadline(d).is_some() {
                        let mut st = d.status.clone().unwrap_or_default();
                        set_condition(
                            &mut st,
                            condition(
                                &self.now(),
                                "Progressing",
                                "False",
                                "ReplicaSetCreateError",
                                msg,
                            ),
                        );
                        let _ = self.update_status(d, st).await;
                    }
                }
                return Err(e);
            }
        };
        if count > 0 {
            self.event(
                d,
                "Normal",
                "ScalingReplicaSet",
                format!(
                    "Scaled up replica set {} from 0 to {count}",
                    created.name_any()
                ),
            )
            .await;
        }
        self.set_deployment_revision(d, &new_revision).await?;
        if progress_deadline(d).is_some() {
            let mut st = d.status.clone().unwrap_or_default();
            let msg = format!("Created new replica set {:?}", created.name_any());
            set_condition(
                &mut st,
                condition(
                    &self.now(),
                    "Progressing",
                    "True",
                    "NewReplicaSetCreated",
                    msg,
                ),
            );
            self.update_status(d, st).await?;
        }
        Ok((Some(created), old))
    }

    async fn set_deployment_revision(&self, d: &mut Deployment, rev: &str) -> Res<()> {
        if rev.is_empty() || annotation(&d.metadata, REVISION) == Some(rev) {
            return Ok(());
        }
        let patch = json!({"metadata": {"annotations": {REVISION: rev}}});
        let api: Api<Deployment> = Api::namespaced(
            self.ctx.client.clone(),
            d.metadata.namespace.as_deref().unwrap_or_default(),
        );
        *d = api
            .patch(
                &d.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
        Ok(())
    }

    /// PUT status (optimistic concurrency on the deployment's resourceVersion).
    async fn update_status(&self, d: &mut Deployment, st: DeploymentStatus) -> Res<()> {
        let mut body = d.clone();
        body.status = Some(st);
        body.metadata.managed_fields = None;
        let api: Api<Deployment> = Api::namespaced(
            self.ctx.client.clone(),
            d.metadata.namespace.as_deref().unwrap_or_default(),
        );
        *d = api
            .replace_status(&d.name_any(), &PostParams::default(), &body)
            .await?;
        Ok(())
    }

    /// scaleReplicaSetAndRecordEvent (with the desired/max replicas annotations).
    async fn scale_rs(&self, d: &Deployment, rs: &mut ReplicaSet, to: i32) -> Res<bool> {
        let replicas = replicas_of(d);
        let max = replicas + max_surge(d);
        let from = rs_replicas(rs);
        let size_changed = from != to;
        let ann_changed = int_annotation(&rs.metadata, DESIRED_REPLICAS) != Some(replicas)
            || int_annotation(&rs.metadata, MAX_REPLICAS) != Some(max);
        if !size_changed && !ann_changed {
            return Ok(false);
        }
        let patch = json!({
            "metadata": {
                "resourceVersion": rs.metadata.resource_version,
                "annotations": {DESIRED_REPLICAS: replicas.to_string(), MAX_REPLICAS: max.to_string()},
            },
            "spec": {"replicas": to},
        });
        *rs = self
            .rs_api(rs.metadata.namespace.as_deref().unwrap_or_default())
            .patch(
                &rs.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
        if size_changed {
            let op = if to > from { "up" } else { "down" };
            self.event(
                d,
                "Normal",
                "ScalingReplicaSet",
                format!(
                    "Scaled {op} replica set {} from {from} to {to}",
                    rs.name_any()
                ),
            )
            .await;
        }
        Ok(size_changed)
    }

    async fn rollout_rolling(
        &self,
        d: &mut Deployment,
        rs_list: Vec<ReplicaSet>,
    ) -> Res<Option<Duration>> {
        let (new, mut old) = self.new_and_old(d, rs_list, true).await?;
        let Some(mut new) = new else {
            return Ok(None);
        };
        sort_oldest_first(&mut old);
        let replicas = replicas_of(d);
        // reconcileNewReplicaSet
        let cur = rs_replicas(&new);
        let target = if cur > replicas {
            replicas
        } else {
            let mut all: Vec<RsState> = old.iter().map(rs_state).collect();
            all.push(rs_state(&new));
            util::new_rs_new_replicas(replicas, max_surge(d), &all, &rs_state(&new))
        };
        if target != cur {
            self.scale_rs(d, &mut new, target).await?;
            return self.sync_rollout_status(d, Some(&new), &old).await;
        }
        // reconcileOldReplicaSets
        let active_old: Vec<RsState> = old.iter().filter(|r| is_active(r)).map(rs_state).collect();
        let plan = util::plan_old_scale_down(
            replicas,
            max_unavailable(d),
            &active_old,
            Some(&rs_state(&new)),
        );
        let mut scaled = false;
        for (name, to) in plan {
            if let Some(rs) = old.iter_mut().find(|r| r.name_any() == name) {
                scaled |= self.scale_rs(d, rs, to).await?;
            }
        }
        if scaled {
            return self.sync_rollout_status(d, Some(&new), &old).await;
        }
        if deployment_complete(d, &d.status.clone().unwrap_or_default()) {
            self.cleanup(d, &old).await?;
        }
        self.sync_rollout_status(d, Some(&new), &old).await
    }

    async fn rollout_recreate(
        &self,
        d: &mut Deployment,
        rs_list: Vec<ReplicaSet>,
    ) -> Res<Option<Duration>> {
        let (new, mut old) = self.new_and_old(d, rs_list, false).await?;
        let mut scaled = false;
        for rs in old.iter_mut().filter(|r| is_active(r)) {
            scaled |= self.scale_rs(d, rs, 0).await?;
        }
        if scaled {
            return self.sync_rollout_status(d, new.as_ref(), &old).await;
        }
        if self.old_pods_running(&old) {
            return self.sync_rollout_status(d, new.as_ref(), &old).await;
        }
        let mut new = match new {
            Some(n) => n,
            None => {
                let all: Vec<ReplicaSet> = old.clone();
                match self.new_and_old(d, all, true).await?.0 {
                    Some(n) => n,
                    None => return Ok(None),
                }
            }
        };
        let replicas = replicas_of(d);
        self.scale_rs(d, &mut new, replicas).await?;
        if deployment_complete(d, &d.status.clone().unwrap_or_default()) {
            self.cleanup(d, &old).await?;
        }
        self.sync_rollout_status(d, Some(&new), &old).await
    }

    fn old_pods_running(&self, old: &[ReplicaSet]) -> bool {
        if old
            .iter()
            .any(|rs| rs.status.as_ref().is_some_and(|s| s.replicas > 0))
        {
            return true;
        }
        let uids: Vec<&str> = old
            .iter()
            .filter_map(|r| r.metadata.uid.as_deref())
            .collect();
        self.pods.state().iter().any(|p| {
            controller_ref(&p.metadata).is_some_and(|r| uids.contains(&r.uid.as_str()))
                && !matches!(
                    p.decode().status.as_ref().and_then(|s| s.phase.as_deref()),
                    Some("Failed" | "Succeeded")
                )
        })
    }

    /// The paused / scaling path: proportional scaling, then status.
    async fn sync_scale(
        &self,
        d: &mut Deployment,
        rs_list: Vec<ReplicaSet>,
        paused: bool,
    ) -> Res<Option<Duration>> {
        let (new, mut old) = self.new_and_old(d, rs_list, false).await?;
        let mut new = new;
        self.scale(d, new.as_mut(), &mut old).await?;
        if paused {
            self.cleanup(d, &old).await?;
        }
        let st = self.calculate_status(d, new.as_ref(), &old);
        if Some(&st) != d.status.as_ref() {
            self.update_status(d, st).await?;
        }
        Ok(None)
    }

    async fn scale(
        &self,
        d: &Deployment,
        new: Option<&mut ReplicaSet>,
        old: &mut [ReplicaSet],
    ) -> Res<()> {
        let replicas = replicas_of(d);
        // FindActiveOrLatest
        old.sort_by(|a, b| {
            let ta = a.metadata.creation_timestamp.as_ref().map(|t| t.0);
            let tb = b.metadata.creation_timestamp.as_ref().map(|t| t.0);
            tb.cmp(&ta)
        });
        let new_active = new.as_ref().is_some_and(|n| is_active(n));
        let active_old = old.iter().filter(|r| is_active(r)).count();
        let total_active = active_old + usize::from(new_active);
        if total_active <= 1 {
            let target: Option<&mut ReplicaSet> = if total_active == 1 {
                if new_active {
                    new
                } else {
                    old.iter_mut().find(|r| is_active(r))
                }
            } else if new.is_some() {
                new
            } else {
                old.first_mut()
            };
            if let Some(rs) = target
                && rs_replicas(rs) != replicas
            {
                self.scale_rs(d, rs, replicas).await?;
            }
            return Ok(());
        }
        // IsSaturated
        if let Some(n) = new.as_ref()
            && int_annotation(&n.metadata, DESIRED_REPLICAS) == Some(replicas)
            && rs_replicas(n) == replicas
            && rs_available(n) == replicas
        {
            for rs in old.iter_mut().filter(|r| is_active(r)) {
                self.scale_rs(d, rs, 0).await?;
            }
            return Ok(());
        }
        if !is_rolling(d) {
            return Ok(());
        }
        let surge = max_surge(d);
        let mut all: Vec<&mut ReplicaSet> = old.iter_mut().filter(|r| is_active(r)).collect();
        if let Some(n) = new
            && is_active(n)
        {
            all.push(n);
        }
        let current: i32 = all.iter().map(|r| rs_replicas(r)).sum();
        let allowed = if replicas > 0 { replicas + surge } else { 0 };
        let to_add = allowed - current;
        // bigger first; ties: newer first when adding, older first when removing
        all.sort_by(|a, b| {
            let by_size = rs_replicas(b).cmp(&rs_replicas(a));
            let ta = a.metadata.creation_timestamp.as_ref().map(|t| t.0);
            let tb = b.metadata.creation_timestamp.as_ref().map(|t| t.0);
            by_size.then(if to_add > 0 { tb.cmp(&ta) } else { ta.cmp(&tb) })
        });
        let status_replicas = d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        let mut sizes: Vec<i32> = Vec::new();
        let mut added = 0;
        for rs in &all {
            let p = if to_add != 0 {
                util::proportion(
                    rs_replicas(rs),
                    int_annotation(&rs.metadata, MAX_REPLICAS),
                    replicas,
                    surge,
                    status_replicas,
                    to_add,
                    added,
                )
            } else {
                0
            };
            added += p;
            sizes.push(rs_replicas(rs) + p);
        }
        if to_add != 0 && !sizes.is_empty() {
            sizes[0] = (sizes[0] + to_add - added).max(0);
        }
        for (rs, size) in all.into_iter().zip(sizes) {
            self.scale_rs(d, rs, size).await?;
        }
        Ok(())
    }

    /// cleanupDeployment: old ReplicaSets beyond revisionHistoryLimit, lowest revision first.
    async fn cleanup(&self, d: &Deployment, old: &[ReplicaSet]) -> Res<()> {
        let limit = d
            .spec
            .as_ref()
            .and_then(|s| s.revision_history_limit)
            .unwrap_or(10)
            .max(0) as usize;
        let mut cleanable: Vec<&ReplicaSet> = old
            .iter()
            .filter(|r| r.metadata.deletion_timestamp.is_none())
            .collect();
        if cleanable.len() <= limit {
            return Ok(());
        }
        let diff = cleanable.len() - limit;
        cleanable.sort_by_key(|r| revision(r));
        for rs in cleanable.into_iter().take(diff) {
            let st = rs.status.clone().unwrap_or_default();
            if st.replicas != 0
                || rs_replicas(rs) != 0
                || rs.metadata.generation.unwrap_or(0) > st.observed_generation.unwrap_or(0)
            {
                continue;
            }
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: rs.metadata.uid.clone(),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            match self
                .rs_api(rs.metadata.namespace.as_deref().unwrap_or_default())
                .delete(&rs.name_any(), &dp)
                .await
            {
                Ok(_) => {}
                Err(e) if is_status(&e, 404) || is_status(&e, 409) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// calculateStatus (the Available condition included).
    fn calculate_status(
        &self,
        d: &Deployment,
        new: Option<&ReplicaSet>,
        old: &[ReplicaSet],
    ) -> DeploymentStatus {
        let all: Vec<&ReplicaSet> = old.iter().chain(new).collect();
        let sum = |f: &dyn Fn(&ReplicaSet) -> i32| -> i32 { all.iter().map(|r| f(r)).sum() };
        let available = sum(&rs_available);
        let total = sum(&rs_replicas);
        let unavailable = (total - available).max(0);
        let prev = d.status.clone().unwrap_or_default();
        let mut st = DeploymentStatus {
            observed_generation: d.metadata.generation,
            replicas: nz(sum(&|r| r.status.as_ref().map_or(0, |s| s.replicas))),
            updated_replicas: nz(new
                .and_then(|n| n.status.as_ref())
                .map_or(0, |s| s.replicas)),
            ready_replicas: nz(sum(&|r| {
                r.status
                    .as_ref()
                    .and_then(|s| s.ready_replicas)
                    .unwrap_or(0)
            })),
            available_replicas: nz(available),
            unavailable_replicas: nz(unavailable),
            collision_count: prev.collision_count,
            conditions: prev.conditions.clone(),
            terminating_replicas: None,
        };
        let now = self.now();
        if available >= replicas_of(d) - max_unavailable(d) {
            set_condition(
                &mut st,
                condition(
                    &now,
                    "Available",
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.".into(),
                ),
            );
        } else {
            set_condition(
                &mut st,
                condition(
                    &now,
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.".into(),
                ),
            );
        }
        st
    }

    async fn sync_status_only(
        &self,
        d: &mut Deployment,
        new: Option<&ReplicaSet>,
        old: &[ReplicaSet],
    ) -> Res<()> {
        let st = self.calculate_status(d, new, old);
        if Some(&st) != d.status.as_ref() {
            self.update_status(d, st).await?;
        }
        Ok(())
    }

    /// syncRolloutStatus: status plus the Progressing / ReplicaFailure conditions; returns
    /// when to look again for the progress deadline.
    async fn sync_rollout_status(
        &self,
        d: &mut Deployment,
        new: Option<&ReplicaSet>,
        old: &[ReplicaSet],
    ) -> Res<Option<Duration>> {
        let mut st = self.calculate_status(d, new, old);
        let now = self.now();
        let deadline = progress_deadline(d);
        if deadline.is_none() {
            remove_condition(&mut st, "Progressing");
        }
        let cur = get_condition(&st, "Progressing").cloned();
        let complete = st.replicas == st.updated_replicas
            && cur.as_ref().and_then(|c| c.reason.as_deref()) == Some("NewReplicaSetAvailable");
        let new_name = new.map(|n| n.name_any()).unwrap_or_default();
        if let Some(secs) = deadline
            && !complete
        {
            if deployment_complete(d, &st) {
                let msg = match new {
                    Some(_) => format!("ReplicaSet {new_name:?} has successfully progressed."),
                    None => "Deployment has successfully progressed.".into(),
                };
                set_condition(
                    &mut st,
                    condition(&now, "Progressing", "True", "NewReplicaSetAvailable", msg),
                );
            } else if deployment_progressing(d, &st) {
                let msg = match new {
                    Some(_) => format!("ReplicaSet {new_name:?} is progressing."),
                    None => "Deployment is progressing.".into(),
                };
                let mut c = condition(&now, "Progressing", "True", "ReplicaSetUpdated", msg);
                if let Some(cur) = &cur {
                    if cur.status == "True" {
                        c.last_transition_time = cur.last_transition_time.clone();
                    }
                    remove_condition(&mut st, "Progressing");
                }
                set_condition(&mut st, c);
            } else if let Some(cur) = &cur
                && cur.reason.as_deref() != Some("ProgressDeadlineExceeded")
                && cur
                    .last_update_time
                    .as_ref()
                    .is_some_and(|t| t.0.as_second() + secs < now.0.as_second())
            {
                let msg = match new {
                    Some(_) => format!("ReplicaSet {new_name:?} has timed out progressing."),
                    None => format!("Deployment {:?} has timed out progressing.", d.name_any()),
                };
                set_condition(
                    &mut st,
                    condition(
                        &now,
                        "Progressing",
                        "False",
                        "ProgressDeadlineExceeded",
                        msg,
                    ),
                );
            }
        }
        // ReplicaFailure mirrors the ReplicaSets'
        let failure = old
            .iter()
            .chain(new)
            .flat_map(|r| r.status.iter().flat_map(|s| s.conditions.iter().flatten()))
            .find(|c| c.type_ == "ReplicaFailure")
            .cloned();
        match failure {
            Some(f) => set_condition(
                &mut st,
                DeploymentCondition {
                    type_: "ReplicaFailure".into(),
                    status: f.status,
                    reason: f.reason,
                    message: f.message,
                    last_update_time: f.last_transition_time.clone(),
                    last_transition_time: f.last_transition_time,
                },
            ),
            None => remove_condition(&mut st, "ReplicaFailure"),
        }
        if Some(&st) == d.status.as_ref() {
            // requeueStuckDeployment
            return Ok(self.stuck_after(d, &st));
        }
        self.update_status(d, st).await?;
        let st = d.status.clone().unwrap_or_default();
        Ok(self.stuck_after(d, &st))
    }

    fn stuck_after(&self, d: &Deployment, st: &DeploymentStatus) -> Option<Duration> {
        let secs = progress_deadline(d)?;
        let c = get_condition(st, "Progressing")?;
        if c.status != "True" || c.reason.as_deref() == Some("NewReplicaSetAvailable") {
            return None;
        }
        if deployment_complete(d, st) {
            return None;
        }
        let at = c.last_update_time.as_ref()?.0.as_second() + secs;
        let left = at - self.ctx.clock.now().as_second();
        Some(Duration::from_secs(left.max(0) as u64 + 1))
    }
}

fn owner_ref(d: &Deployment) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: d.name_any(),
        uid: d.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

fn rs_state(rs: &ReplicaSet) -> RsState {
    RsState {
        name: rs.name_any(),
        replicas: rs_replicas(rs),
        available: rs_available(rs),
    }
}

/// FindNewReplicaSet (oldest with the deployment's template) and the rest.
fn split_new_old(
    d: &Deployment,
    mut rs_list: Vec<ReplicaSet>,
) -> (Option<ReplicaSet>, Vec<ReplicaSet>) {
    sort_oldest_first(&mut rs_list);
    let template = template_of(d);
    let idx = rs_list.iter().position(|rs| {
        rs.spec
            .as_ref()
            .and_then(|s| s.template.as_ref())
            .is_some_and(|t| equal_ignore_hash(t, &template))
    });
    let new = idx.map(|i| rs_list.remove(i));
    (new, rs_list)
}

/// copyDeploymentAnnotationsToReplicaSet: the deployment's annotations but kube's own.
fn copy_annotations(d: &Deployment, rs: &mut ReplicaSet) -> bool {
    let mut changed = false;
    let skip = [
        LAST_APPLIED,
        REVISION,
        REVISION_HISTORY,
        DESIRED_REPLICAS,
        MAX_REPLICAS,
        ROLLBACK_TO,
    ];
    for (k, v) in d.metadata.annotations.iter().flatten() {
        if skip.contains(&k.as_str()) {
            continue;
        }
        let a = rs.annotations_mut();
        if a.get(k) != Some(v) {
            a.insert(k.clone(), v.clone());
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};

    fn template(image: &str, hash: Option<&str>) -> PodTemplateSpec {
        let mut labels = BTreeMap::from([("app".to_string(), "web".to_string())]);
        if let Some(h) = hash {
            labels.insert(POD_TEMPLATE_HASH.into(), h.into());
        }
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(labels),
                ..ObjectMeta::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".into(),
                    image: Some(image.into()),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
        }
    }

    #[test]
    fn templates_compare_without_the_hash() {
        assert!(equal_ignore_hash(
            &template("a", Some("123")),
            &template("a", None)
        ));
        assert!(!equal_ignore_hash(
            &template("a", Some("123")),
            &template("b", None)
        ));
    }

    #[test]
    fn conditions_keep_transition_time() {
        let t1 = Time(k8s_openapi::jiff::Timestamp::from_second(1).expect("t"));
        let t2 = Time(k8s_openapi::jiff::Timestamp::from_second(2).expect("t"));
        let mut st = DeploymentStatus::default();
        set_condition(
            &mut st,
            condition(
                &t1,
                "Progressing",
                "True",
                "NewReplicaSetCreated",
                "x".into(),
            ),
        );
        set_condition(
            &mut st,
            condition(&t2, "Progressing", "True", "ReplicaSetUpdated", "y".into()),
        );
        let c = get_condition(&st, "Progressing").expect("cond");
        assert_eq!(c.reason.as_deref(), Some("ReplicaSetUpdated"));
        assert_eq!(c.last_transition_time, Some(t1.clone()));
        assert_eq!(c.last_update_time, Some(t2.clone()));
        // same status and reason: no change at all
        set_condition(
            &mut st,
            condition(&t2, "Progressing", "True", "ReplicaSetUpdated", "z".into()),
        );
        assert_eq!(
            get_condition(&st, "Progressing").and_then(|c| c.message.clone()),
            Some("y".into())
        );
    }
}
