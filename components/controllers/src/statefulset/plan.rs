//! The statefulset controller's decisions as plain functions (kube's `stateful_set_control.go`
//! and `stateful_set_utils.go`): which pod to create, recreate, fix or delete next, in which
//! order, and the status counts. Everything here is a function of its arguments.

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

/// `statefulset.kubernetes.io/pod-name`: the pod's own name, for per-pod Services.
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// `apps.kubernetes.io/pod-index`: the pod's ordinal (PodIndexLabel, on by default since 1.28).
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

/// The StatefulSet and ordinal a pod name stands for (`(.*)-([0-9]+)$`): the parent is empty
/// when the name has no ordinal suffix, the ordinal -1 when the suffix overflows an int32.
pub fn parent_and_ordinal(name: &str) -> (&str, i32) {
    match name.rfind('-') {
        Some(i) if i + 1 < name.len() && name[i + 1..].bytes().all(|b| b.is_ascii_digit()) => {
            (&name[..i], name[i + 1..].parse().unwrap_or(-1))
        }
        _ => ("", -1),
    }
}

/// The ordinal of a pod name, -1 for none.
pub fn ordinal_of(name: &str) -> i32 {
    parent_and_ordinal(name).1
}

/// `<set>-<ordinal>`.
pub fn pod_name(set: &str, ordinal: i32) -> String {
    format!("{set}-{ordinal}")
}

/// `<template>-<set>-<ordinal>`: the claim a volumeClaimTemplate makes for one pod.
pub fn claim_name(template: &str, set: &str, ordinal: i32) -> String {
    format!("{template}-{set}-{ordinal}")
}

/// Whether a pod belongs to the set by name (isMemberOf).
pub fn is_member(set: &str, pod: &str) -> bool {
    parent_and_ordinal(pod).0 == set
}

// ---------------------------------------------------------------------------------------------
// PVC retention (persistentVolumeClaimRetentionPolicy, StatefulSetAutoDeletePVC)

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retention {
    Retain,
    Delete,
}

impl Retention {
    /// Anything but "Delete" retains (kube treats unknown values as Retain).
    pub fn parse(s: Option<&str>) -> Retention {
        match s {
            Some("Delete") => Retention::Delete,
            _ => Retention::Retain,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub when_deleted: Retention,
    pub when_scaled: Retention,
}

/// An owner as an ownerReference needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct Owner {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
}

impl Owner {
    /// NewControllerRef.
    pub fn controller_ref(&self) -> OwnerReference {
        OwnerReference {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            uid: self.uid.clone(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    /// Same apiVersion, kind and name (the uid may differ: a stale reference).
    fn matches(&self, r: &OwnerReference) -> bool {
        r.api_version == self.api_version && r.kind == self.kind && r.name == self.name
    }

    fn has_stale_ref(&self, refs: &[OwnerReference]) -> bool {
        refs.iter()
            .find(|r| self.matches(r))
            .is_some_and(|r| r.uid != self.uid)
    }
}

fn has_ref(refs: &[OwnerReference], owner: &Owner) -> bool {
    refs.iter().any(|r| r.uid == owner.uid)
}

/// Another controller manages the claim (or a reference to our set or pod carries an old uid),
/// which a Retain/Retain policy does not care about.
fn has_unexpected_controller(
    refs: &[OwnerReference],
    policy: RetentionPolicy,
    set: &Owner,
    pod: &Owner,
) -> bool {
    if policy.when_scaled == Retention::Retain && policy.when_deleted == Retention::Retain {
        return false;
    }
    for r in refs {
        if set.matches(r) {
            if r.uid != set.uid {
                return true;
            }
            continue;
        }
        if pod.matches(r) {
            if r.uid != pod.uid {
                return true;
            }
            continue;
        }
        if r.controller == Some(true) {
            return true;
        }
    }
    false
}

/// isClaimOwnerUpToDate: whether a claim's ownerReferences fit the retention policy — none
/// for Retain/Retain, the set for whenDeleted=Delete while the pod is in range, the pod for
/// whenScaled=Delete once it is scaled away. Claims referring to an older set or pod, or
/// managed by someone else, are left alone.
pub fn claim_owners_up_to_date(
    refs: &[OwnerReference],
    policy: RetentionPolicy,
    set: &Owner,
    pod: &Owner,
    pod_in_range: bool,
) -> bool {
    if set.has_stale_ref(refs) || pod.has_stale_ref(refs) {
        return true;
    }
    if has_unexpected_controller(refs, policy, set, pod) {
        return !(has_ref(refs, set) || has_ref(refs, pod));
    }
    let non_controller = refs
        .iter()
        .any(|r| (r.uid == set.uid || r.uid == pod.uid) && r.controller != Some(true));
    if non_controller {
        return false;
    }
    let (has_set, has_pod) = (has_ref(refs, set), has_ref(refs, pod));
    let scaled_down = !pod_in_range;
    match (policy.when_scaled, policy.when_deleted) {
        (Retention::Retain, Retention::Retain) => !has_set && !has_pod,
        (Retention::Retain, Retention::Delete) => has_set && !has_pod,
        (Retention::Delete, Retention::Retain) => !has_set && scaled_down == has_pod,
        (Retention::Delete, Retention::Delete) => scaled_down != has_set && scaled_down == has_pod,
    }
}

/// updateClaimOwnerRefForSetAndPod: the claim's ownerReferences made to fit the policy (our
/// set's and pod's references replaced, everyone else's kept).
pub fn claim_owners(
    refs: &[OwnerReference],
    policy: RetentionPolicy,
    set: &Owner,
    pod: &Owner,
    pod_in_range: bool,
) -> Vec<OwnerReference> {
    let unexpected = has_unexpected_controller(refs, policy, set, pod);
    let mut out: Vec<OwnerReference> = refs
        .iter()
        .filter(|r| !set.matches(r) && !pod.matches(r))
        .cloned()
        .collect();
    if unexpected {
        return out;
    }
    let scaled_down = !pod_in_range;
    let (want_set, want_pod) = match (policy.when_scaled, policy.when_deleted) {
        (Retention::Retain, Retention::Retain) => (false, false),
        (Retention::Retain, Retention::Delete) => (true, false),
        (Retention::Delete, Retention::Retain) => (false, scaled_down),
        (Retention::Delete, Retention::Delete) => (!scaled_down, scaled_down),
    };
    if want_pod && !has_ref(&out, pod) {
        out.push(pod.controller_ref());
    }
    if want_set && !has_ref(&out, set) {
        out.push(set.controller_ref());
    }
    out
}

/// PodClaimIsStale: with whenScaled=Delete, a claim still owned by an earlier pod of the same
/// name (the garbage collector is about to delete it) must go before the pod is created again.
pub fn claim_is_stale(refs: &[OwnerReference], policy: RetentionPolicy, pod: &Owner) -> bool {
    policy.when_scaled == Retention::Delete && pod.has_stale_ref(refs)
}

// ---------------------------------------------------------------------------------------------
// planning a sync

/// What the planner knows of one pod of the set.
#[derive(Clone, Debug, PartialEq)]
pub struct PodState {
    pub name: String,
    pub ordinal: i32,
    /// status.phase ("" before the API server has seen it — never, for listed pods).
    pub phase: String,
    /// Running with Ready=True.
    pub running_ready: bool,
    /// Ready for minReadySeconds.
    pub available: bool,
    pub terminating: bool,
    /// Its controller-revision-hash label.
    pub revision: String,
    /// Identity labels, volumes or claim ownership do not fit the set (replicas), or claim
    /// ownership does not (condemned pods).
    pub needs_fix: bool,
}

impl PodState {
    fn created(&self) -> bool {
        !self.phase.is_empty()
    }

    fn healthy(&self) -> bool {
        self.running_ready && !self.terminating
    }

    fn finished(&self) -> bool {
        self.phase == "Failed" || self.phase == "Succeeded"
    }
}

/// The set as the planner needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct SetShape {
    pub name: String,
    pub replicas: i32,
    /// spec.ordinals.start
    pub start_ordinal: i32,
    /// OrderedReady (not Parallel): one pod at a time, in order, each waiting for the ones
    /// before it.
    pub monotonic: bool,
    pub strategy: Strategy,
    pub current_revision: String,
    pub update_revision: String,
    /// status.currentReplicas (where new pods of a RollingUpdate without parameters go).
    pub status_current_replicas: i32,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Strategy {
    /// RollingUpdate; `partition` None when spec.updateStrategy.rollingUpdate is absent.
    RollingUpdate {
        partition: Option<i32>,
    },
    OnDelete,
}

/// Which revision a new pod is made from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Current,
    Update,
}

/// One step of a sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// A Failed or Succeeded pod is deleted; it is created again once it is gone.
    Recreate { name: String, failed: bool },
    /// The pod (after its claims) is created from the given revision.
    Create { ordinal: i32, from: Which },
    /// A pending pod's claims are created if missing and their owners set.
    EnsureClaims { name: String },
    /// The pod's identity labels and its claims' owners are brought in line.
    Fix { name: String },
    /// A pod beyond the replicas has its claims' owners set before it goes (whenScaled).
    FixClaims { name: String },
    /// A pod beyond the replicas is deleted.
    ScaleDown { name: String },
    /// A pod of an old revision is deleted to be created again at the update revision.
    Update { name: String },
}

/// A sync's steps, as groups run in turn: OrderedReady runs them one by one (each group holds
/// at most what may happen before the next wait); Parallel runs each group's steps together
/// and stops at a group with a failure.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    pub groups: Vec<Vec<Action>>,
}

impl Plan {
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.groups.iter().flatten()
    }
}

/// newVersionedStatefulSetPod's choice: below the partition (or, without rollingUpdate
/// parameters, below status.currentReplicas) a new pod keeps the current revision.
pub fn revision_for(shape: &SetShape, ordinal: i32) -> Which {
    match shape.strategy {
        Strategy::RollingUpdate { partition: None }
            if ordinal < shape.start_ordinal + shape.status_current_replicas =>
        {
            Which::Current
        }
        Strategy::RollingUpdate { partition: Some(p) } if ordinal < shape.start_ordinal + p => {
            Which::Current
        }
        _ => Which::Update,
    }
}

enum Slot<'a> {
    Pod(&'a PodState),
    Missing { ordinal: i32 },
}

impl Slot<'_> {
    fn name(&self, set: &str) -> String {
        match self {
            Slot::Pod(p) => p.name.clone(),
            Slot::Missing { ordinal } => pod_name(set, *ordinal),
        }
    }

    fn healthy(&self) -> bool {
        matches!(self, Slot::Pod(p) if p.healthy())
    }
}

/// The sync of a set that is not being deleted (kube's updateStatefulSet): replicas in
/// ordinal order (recreate finished pods, create missing ones — unless `stale_claims` holds
/// their ordinal —, wait for each to be Running, Ready and available when monotonic), then the
/// pods beyond the replicas from the highest ordinal, then, for RollingUpdate, the
/// highest-ordinal pod at or above the partition that is not at the update revision.
pub fn plan(shape: &SetShape, pods: &[PodState], stale_claims: &BTreeSet<i32>) -> Plan {
    let monotonic = shape.monotonic;
    let start = shape.start_ordinal;
    let end = start + shape.replicas.max(0); // exclusive
    let mut replicas: Vec<Slot> = (start..end)
        .map(|ordinal| Slot::Missing { ordinal })
        .collect();
    let mut condemned: Vec<&PodState> = Vec::new();
    for p in pods {
        if p.ordinal >= start && p.ordinal < end {
            replicas[(p.ordinal - start) as usize] = Slot::Pod(p);
        } else if p.ordinal >= 0 {
            condemned.push(p);
        }
    }
    condemned.sort_by_key(|p| std::cmp::Reverse(p.ordinal));
    let first_unhealthy: Option<String> = replicas
        .iter()
        .find(|s| !s.healthy())
        .map(|s| s.name(&shape.name))
        .or_else(|| {
            condemned
                .iter()
                .rev()
                .find(|p| !p.healthy())
                .map(|p| p.name.clone())
        });

    let mut plan = Plan::default();
    // the living replicas
    let mut group = Vec::new();
    for slot in &replicas {
        match slot {
            Slot::Pod(p) => {
                if p.finished() {
                    if !p.terminating {
                        group.push(Action::Recreate {
                            name: p.name.clone(),
                            failed: p.phase == "Failed",
                        });
                    }
                    if monotonic {
                        plan.groups.push(group);
                        return plan;
                    }
                    continue;
                }
                if p.phase == "Pending" {
                    group.push(Action::EnsureClaims {
                        name: p.name.clone(),
                    });
                }
                if monotonic && (p.terminating || !p.running_ready || !p.available) {
                    plan.groups.push(group);
                    return plan;
                }
                if p.needs_fix {
                    group.push(Action::Fix {
                        name: p.name.clone(),
                    });
                }
            }
            Slot::Missing { ordinal } => {
                if stale_claims.contains(ordinal) {
                    if monotonic {
                        plan.groups.push(group);
                        return plan;
                    }
                    continue;
                }
                group.push(Action::Create {
                    ordinal: *ordinal,
                    from: revision_for(shape, *ordinal),
                });
                if monotonic {
                    plan.groups.push(group);
                    return plan;
                }
            }
        }
    }
    plan.groups.push(group);

    // claims of the pods about to go get their owners first
    let fixes: Vec<Action> = condemned
        .iter()
        .filter(|p| p.needs_fix)
        .map(|p| Action::FixClaims {
            name: p.name.clone(),
        })
        .collect();
    plan.groups.push(fixes);

    // scale down, highest ordinal first
    let mut group = Vec::new();
    for p in &condemned {
        if p.terminating {
            if monotonic {
                plan.groups.push(group);
                return plan;
            }
            continue;
        }
        let first = first_unhealthy.as_deref() == Some(p.name.as_str());
        if monotonic && (!p.running_ready || !p.available) && !first {
            plan.groups.push(group);
            return plan;
        }
        group.push(Action::ScaleDown {
            name: p.name.clone(),
        });
        if monotonic {
            plan.groups.push(group);
            return plan;
        }
    }
    plan.groups.push(group);

    // the rolling update: one pod at a time from the highest ordinal down to the partition
    let partition = match shape.strategy {
        Strategy::OnDelete => return plan,
        Strategy::RollingUpdate { partition } => partition.unwrap_or(0).max(0) as usize,
    };
    for slot in replicas.iter().skip(partition).rev() {
        match slot {
            Slot::Pod(p) if p.revision != shape.update_revision && !p.terminating => {
                plan.groups.push(vec![Action::Update {
                    name: p.name.clone(),
                }]);
                return plan;
            }
            // a missing pod (never healthy) is waited for, whatever its revision
            s if !s.healthy() => return plan,
            _ => {}
        }
    }
    plan
}

/// The replica counts of a status (computeReplicaStatus over the set's pods).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub replicas: i32,
    pub ready: i32,
    pub available: i32,
    pub current: i32,
    pub updated: i32,
}

pub fn counts(pods: &[PodState], current_revision: &str, update_revision: &str) -> Counts {
    let mut c = Counts::default();
    for p in pods.iter().filter(|p| p.ordinal >= 0) {
        if p.created() {
            c.replicas += 1;
        }
        if p.running_ready {
            c.ready += 1;
            if p.available {
                c.available += 1;
            }
        }
        if p.created() && !p.terminating {
            if p.revision == current_revision {
                c.current += 1;
            }
            if p.revision == update_revision {
                c.updated += 1;
            }
        }
    }
    c
}

/// completeRollingUpdate: once every wanted pod is updated and ready, the update revision
/// becomes the current one. Returns the (currentReplicas, currentRevision) to report.
pub fn complete_rolling_update(
    rolling: bool,
    spec_replicas: i32,
    c: &Counts,
    current_revision: &str,
    update_revision: &str,
) -> (i32, String) {
    if rolling
        && c.updated == spec_replicas
        && c.ready == spec_replicas
        && c.replicas == spec_replicas
    {
        (c.updated, update_revision.to_string())
    } else {
        (c.current, current_revision.to_string())
    }
}

#[cfg(test)]
mod tests;
