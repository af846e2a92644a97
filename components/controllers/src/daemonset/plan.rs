//! The daemonset controller's decisions as plain functions (kube's `pkg/controller/daemon`
//! and its `util`): which nodes should run a daemon pod (node name, node selector, required
//! node affinity, taints against tolerations), what the pods look like, which pods to create
//! and delete on each node, the rolling update within maxUnavailable / maxSurge, and the status
//! counts. Everything here is a function of its arguments.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PodSpec,
    Taint, Toleration,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::deployment::util::scaled_value;

/// The label holding the DaemonSet's template generation on its pods.
pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";
/// The annotation the API server keeps the template generation in (apps/v1 has no field).
pub const TEMPLATE_GENERATION_ANNOTATION: &str = "deprecated.daemonset.template.generation";

pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const DISK_PRESSURE: &str = "node.kubernetes.io/disk-pressure";
pub const MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
pub const PID_PRESSURE: &str = "node.kubernetes.io/pid-pressure";
pub const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
pub const NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";

// ---------------------------------------------------------------------------------------------
// taints and tolerations

/// Toleration.ToleratesTaint: an empty effect or key matches any; the operator Exists matches
/// any value, Equal (or none) the same value.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    let effect = t.effect.as_deref().unwrap_or_default();
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = t.key.as_deref().unwrap_or_default();
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match t.operator.as_deref().unwrap_or_default() {
        "" | "Equal" => {
            t.value.as_deref().unwrap_or_default() == taint.value.as_deref().unwrap_or_default()
        }
        "Exists" => true,
        _ => false,
    }
}

/// The first taint passing `filter` that no toleration tolerates.
pub fn untolerated<'a>(
    taints: &'a [Taint],
    tolerations: &[Toleration],
    filter: impl Fn(&Taint) -> bool,
) -> Option<&'a Taint> {
    taints
        .iter()
        .filter(|t| filter(t))
        .find(|t| !tolerations.iter().any(|tol| tolerates(tol, t)))
}

fn exists(key: &str, effect: &str) -> Toleration {
    Toleration {
        key: Some(key.to_string()),
        operator: Some("Exists".to_string()),
        effect: Some(effect.to_string()),
        ..Toleration::default()
    }
}

/// AddOrUpdateDaemonPodTolerations: daemon pods survive not-ready and unreachable nodes
/// (NoExecute) and go onto nodes under memory, disk or PID pressure or cordoned (NoSchedule),
/// and host-network ones onto nodes without a network. A toleration equal in key, operator,
/// value and effect is replaced in place; the others are appended.
pub fn add_daemon_tolerations(spec: &mut PodSpec) {
    let mut wanted = vec![
        exists(NOT_READY, "NoExecute"),
        exists(UNREACHABLE, "NoExecute"),
        exists(DISK_PRESSURE, "NoSchedule"),
        exists(MEMORY_PRESSURE, "NoSchedule"),
        exists(PID_PRESSURE, "NoSchedule"),
        exists(UNSCHEDULABLE, "NoSchedule"),
    ];
    if spec.host_network == Some(true) {
        wanted.push(exists(NETWORK_UNAVAILABLE, "NoSchedule"));
    }
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    for w in wanted {
        let same = |t: &Toleration| {
            t.key == w.key
                && t.operator.as_deref().unwrap_or("Equal")
                    == w.operator.as_deref().unwrap_or("Equal")
                && t.value.as_deref().unwrap_or_default() == w.value.as_deref().unwrap_or_default()
                && t.effect == w.effect
        };
        match tolerations.iter_mut().find(|t| same(t)) {
            Some(t) => *t = w,
            None => tolerations.push(w),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// node selection

/// One requirement against a value (None: the label or field is absent); invalid requirements
/// match nothing.
fn requirement_matches(req: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = req.values.as_deref().unwrap_or_default();
    match req.operator.as_str() {
        "In" => !values.is_empty() && value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => !values.is_empty() && value.is_none_or(|v| values.iter().all(|x| x != v)),
        "Exists" => values.is_empty() && value.is_some(),
        "DoesNotExist" => values.is_empty() && value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), [bound]) = (value.and_then(|v| v.parse::<i64>().ok()), values) else {
                return false;
            };
            let Ok(bound) = bound.parse::<i64>() else {
                return false;
            };
            if req.operator == "Gt" {
                v > bound
            } else {
                v < bound
            }
        }
        _ => false,
    }
}

/// A node selector term: every expression on the labels and every field requirement (only
/// `metadata.name`, In or NotIn with one value) must hold; an empty term matches nothing.
pub fn term_matches(
    term: &NodeSelectorTerm,
    node_name: &str,
    labels: &BTreeMap<String, String>,
) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs
        .iter()
        .all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| {
            r.key == "metadata.name"
                && matches!(r.operator.as_str(), "In" | "NotIn")
                && r.values.as_ref().is_some_and(|v| v.len() == 1)
                && requirement_matches(r, Some(node_name))
        })
}

/// GetRequiredNodeAffinity(pod).Match(node): the node selector and, if any, one of the
/// required node affinity terms.
pub fn affinity_matches(spec: &PodSpec, node: &Node) -> bool {
    let empty = BTreeMap::new();
    let labels = node.metadata.labels.as_ref().unwrap_or(&empty);
    let name = node.metadata.name.as_deref().unwrap_or_default();
    if let Some(sel) = &spec.node_selector
        && !sel.iter().all(|(k, v)| labels.get(k) == Some(v))
    {
        return false;
    }
    match spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.required_during_scheduling_ignored_during_execution
                .as_ref()
        }) {
        None => true,
        Some(ns) => ns
            .node_selector_terms
            .iter()
            .any(|t| term_matches(t, name, labels)),
    }
}

/// NodeShouldRunDaemonPod: (should run a daemon pod there, may keep one running there). The
/// template gets the daemon tolerations first. A node whose NoSchedule taints are not
/// tolerated gets no new pod, but keeps one unless a NoExecute taint is not tolerated either.
pub fn node_should_run(node: &Node, template: &PodSpec) -> (bool, bool) {
    let name = node.metadata.name.as_deref().unwrap_or_default();
    if let Some(n) = template.node_name.as_deref()
        && !n.is_empty()
        && n != name
    {
        return (false, false);
    }
    let mut spec = template.clone();
    add_daemon_tolerations(&mut spec);
    if !affinity_matches(&spec, node) {
        return (false, false);
    }
    let taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default();
    let tolerations = spec.tolerations.as_deref().unwrap_or_default();
    let scheduling = untolerated(taints, tolerations, |t| {
        t.effect == "NoSchedule" || t.effect == "NoExecute"
    });
    if scheduling.is_none() {
        return (true, true);
    }
    let executing = untolerated(taints, tolerations, |t| t.effect == "NoExecute");
    (false, executing.is_none())
}

/// ReplaceDaemonSetPodNodeNameNodeAffinity: the pod's required node affinity becomes exactly
/// `metadata.name In [node]` (the controller has already checked the rest), so the default
/// scheduler binds it to that node.
pub fn pin_to_node(affinity: Option<Affinity>, node: &str) -> Affinity {
    let term = NodeSelectorTerm {
        match_fields: Some(vec![NodeSelectorRequirement {
            key: "metadata.name".into(),
            operator: "In".into(),
            values: Some(vec![node.to_string()]),
        }]),
        match_expressions: None,
    };
    let mut affinity = affinity.unwrap_or_default();
    let na = affinity
        .node_affinity
        .get_or_insert_with(NodeAffinity::default);
    match na
        .required_during_scheduling_ignored_during_execution
        .as_mut()
    {
        Some(sel) => sel.node_selector_terms = vec![term],
        None => {
            na.required_during_scheduling_ignored_during_execution = Some(NodeSelector {
                node_selector_terms: vec![term],
            })
        }
    }
    affinity
}

/// GetTargetNodeName: the pod's node, or for one not scheduled yet the node its affinity pins
/// it to.
pub fn target_node(spec: &PodSpec) -> Option<String> {
    if let Some(n) = spec.node_name.as_deref()
        && !n.is_empty()
    {
        return Some(n.to_string());
    }
    let terms = &spec
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    for term in terms {
        for f in term.match_fields.iter().flatten() {
            if f.key == "metadata.name" && f.operator == "In" {
                return match f.values.as_deref() {
                    Some([one]) => Some(one.clone()),
                    _ => None,
                };
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// pods on nodes

/// What the planner knows of one daemon pod.
#[derive(Clone, Debug, PartialEq)]
pub struct PodInfo {
    pub name: String,
    /// spec.nodeName is set.
    pub scheduled: bool,
    /// creationTimestamp, in seconds (ties broken by name).
    pub created: i64,
    pub phase: String,
    pub deleting: bool,
    pub ready: bool,
    pub available: bool,
    /// Its controller-revision-hash label is the current hash.
    pub hash_matches: bool,
    /// Its pod-template-generation label is the current template generation.
    pub generation_matches: bool,
}

impl PodInfo {
    /// IsPodUpdated.
    pub fn updated(&self) -> bool {
        self.hash_matches || self.generation_matches
    }
}

/// podByCreationTimestampAndPhase: scheduled first, then oldest first, then by name.
pub fn oldest_first(pods: &mut [PodInfo]) {
    pods.sort_by(|a, b| {
        b.scheduled
            .cmp(&a.scheduled)
            .then(a.created.cmp(&b.created))
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// What one node needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeWork {
    pub create: bool,
    /// Failed pods to delete (after an event; they are subject to back-off).
    pub failed: Vec<String>,
    pub delete: Vec<String>,
}

/// podsShouldBeOnNode. Without surge a node keeps its oldest running pod; with surge it may
/// keep one old and one new pod while the new one becomes available.
pub fn pods_should_be_on_node(
    should_run: bool,
    should_continue: bool,
    pods: &[PodInfo],
    surge: bool,
) -> NodeWork {
    let mut w = NodeWork::default();
    if should_run && pods.is_empty() {
        w.create = true;
        return w;
    }
    if !should_continue {
        w.delete = pods
            .iter()
            .filter(|p| !p.deleting)
            .map(|p| p.name.clone())
            .collect();
        return w;
    }
    let mut running: Vec<PodInfo> = Vec::new();
    for p in pods.iter().filter(|p| !p.deleting) {
        match p.phase.as_str() {
            "Failed" => w.failed.push(p.name.clone()),
            "Succeeded" => w.delete.push(p.name.clone()),
            _ => running.push(p.clone()),
        }
    }
    oldest_first(&mut running);
    if !surge {
        w.delete
            .extend(running.iter().skip(1).map(|p| p.name.clone()));
        return w;
    }
    if running.len() <= 1 {
        if running.is_empty() && should_run {
            w.create = true;
        }
        return w;
    }
    let mut oldest_new: Option<&PodInfo> = None;
    let mut oldest_old: Option<&PodInfo> = None;
    for p in &running {
        let slot = if p.hash_matches {
            &mut oldest_new
        } else {
            &mut oldest_old
        };
        if slot.is_none() {
            *slot = Some(p);
        } else {
            w.delete.push(p.name.clone());
        }
    }
    if let (Some(new), Some(old)) = (oldest_new, oldest_old)
        && (!old.ready || new.available)
    {
        w.delete.push(old.name.clone());
    }
    w
}

/// Pods not scheduled yet, pinned to nodes that no longer exist (getUnscheduledPodsWithoutNode).
pub fn unscheduled_without_node<'a>(
    node_names: &[String],
    by_node: &'a BTreeMap<String, Vec<PodInfo>>,
) -> Vec<&'a str> {
    by_node
        .iter()
        .filter(|(n, _)| !node_names.contains(n))
        .flat_map(|(_, pods)| pods.iter())
        .filter(|p| !p.scheduled && !p.deleting)
        .map(|p| p.name.as_str())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// the rolling update

/// The rolling update's limits: (maxSurge rounded up, maxUnavailable rounded up) of the nodes
/// that should run a pod; a configuration allowing neither allows one unavailable.
pub fn surge_and_unavailable(
    max_surge: Option<&IntOrString>,
    max_unavailable: Option<&IntOrString>,
    desired: i32,
) -> Result<(i32, i32), String> {
    let surge = match max_surge {
        Some(v) => scaled_value(v, desired, true)?,
        None => 0,
    };
    let unavailable = match max_unavailable {
        Some(v) => scaled_value(v, desired, true)?,
        None => 0,
    };
    if desired > 0 && surge == 0 && unavailable == 0 {
        return Ok((0, 1));
    }
    Ok((surge, unavailable))
}

/// One node as the rolling update sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct NodePods {
    pub node: String,
    pub should_run: bool,
    pub pods: Vec<PodInfo>,
}

/// What the rolling update does this round.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rollout {
    pub delete: Vec<String>,
    pub create_on: Vec<String>,
}

/// findUpdatedPodsOnNode: the node's (new, old) pod among those not being deleted, or None
/// when it has more than one of either (the core loop prunes those first).
fn new_and_old(pods: &[PodInfo]) -> Option<(Option<&PodInfo>, Option<&PodInfo>)> {
    let (mut new, mut old) = (None, None);
    for p in pods.iter().filter(|p| !p.deleting) {
        let slot = if p.updated() { &mut new } else { &mut old };
        if slot.is_some() {
            return None;
        }
        *slot = Some(p);
    }
    Some((new, old))
}

/// rollingUpdate. `nodes` holds every node that should run a pod or has one, in name order
/// (kube walks a map; the order of candidates is otherwise unspecified).
///
/// Without surge, old available pods are deleted while fewer than maxUnavailable pods are
/// unavailable (old unavailable pods are replaced at once); the core loop then creates their
/// replacements. With surge, a new pod is created next to an old one (up to maxSurge at a time,
/// at once for an unavailable old pod) and the old pod is deleted when the new one is
/// available.
pub fn rolling_update(
    nodes: &[NodePods],
    max_surge: i32,
    max_unavailable: i32,
    desired: i32,
) -> Rollout {
    let mut out = Rollout::default();
    if max_surge == 0 {
        let mut unavailable = 0;
        let mut replace: Vec<String> = Vec::new();
        let mut candidates: Vec<String> = Vec::new();
        for n in nodes {
            let Some((new, old)) = new_and_old(&n.pods) else {
                unavailable += 1;
                continue;
            };
            match (new, old) {
                (None, None) | (Some(_), Some(_)) => unavailable += 1,
                (Some(new), None) => {
                    if !new.available {
                        unavailable += 1;
                    }
                }
                (None, Some(old)) => {
                    if !old.available {
                        replace.push(old.name.clone());
                        unavailable += 1;
                    } else if unavailable < max_unavailable {
                        candidates.push(old.name.clone());
                    }
                }
            }
        }
        let room = (max_unavailable - unavailable).max(0) as usize;
        out.delete = replace;
        out.delete.extend(candidates.into_iter().take(room));
        return out;
    }

    let mut surged = 0;
    let mut available = 0;
    let mut allowed_new: Vec<String> = Vec::new();
    let mut candidate_new: Vec<String> = Vec::new();
    let mut should_not_run: Vec<String> = Vec::new();
    for n in nodes {
        let Some((new, old)) = new_and_old(&n.pods) else {
            surged += 1;
            continue;
        };
        match (old, new) {
            (Some(old), _) if old.available => available += 1,
            (None, Some(new)) if new.available => available += 1,
            _ => {}
        }
        match (old, new) {
            (None, _) => {}
            (Some(old), None) => {
                if !old.available {
                    if n.should_run {
                        allowed_new.push(n.node.clone());
                    } else {
                        out.delete.push(old.name.clone());
                    }
                } else if !n.should_run {
                    should_not_run.push(old.name.clone());
                } else if surged < max_surge {
                    candidate_new.push(n.node.clone());
                }
            }
            (Some(old), Some(new)) => {
                if new.available {
                    out.delete.push(old.name.clone());
                } else {
                    surged += 1;
                }
            }
        }
    }
    // pods on nodes that should no longer run one go only while enough others are available
    let deletable = (available - desired).max(0) as usize;
    out.delete
        .extend(should_not_run.into_iter().take(deletable));
    let room = (max_surge - surged).max(0) as usize;
    out.create_on = allowed_new;
    out.create_on.extend(candidate_new.into_iter().take(room));
    out
}

// ---------------------------------------------------------------------------------------------
// status

/// The counts of a DaemonSet's status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub desired: i32,
    pub current: i32,
    pub misscheduled: i32,
    pub ready: i32,
    pub updated: i32,
    pub available: i32,
    pub unavailable: i32,
}

/// updateDaemonSetStatus: per node that should run a pod, whether it has one and whether its
/// oldest is ready, available and updated; pods on other nodes are misscheduled. `nodes` pairs
/// each node's should-run with its pods.
pub fn counts(nodes: &[(bool, Vec<PodInfo>)]) -> Counts {
    let mut c = Counts::default();
    for (should_run, pods) in nodes {
        let scheduled = !pods.is_empty();
        if !should_run {
            if scheduled {
                c.misscheduled += 1;
            }
            continue;
        }
        c.desired += 1;
        if !scheduled {
            continue;
        }
        c.current += 1;
        let mut sorted = pods.clone();
        oldest_first(&mut sorted);
        let pod = &sorted[0];
        if pod.ready {
            c.ready += 1;
            if pod.available {
                c.available += 1;
            }
        }
        if pod.updated() {
            c.updated += 1;
        }
    }
    c.unavailable = c.desired - c.available;
    c
}

#[cfg(test)]
mod tests;
