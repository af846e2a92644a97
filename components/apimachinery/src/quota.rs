//! ResourceQuota arithmetic shared by the API server's quota admission and the resourcequota
//! controller: what an object uses (kube's quota evaluators for pods, services, claims and
//! object counts), which quotas it falls under (scopes), and the admission decision with
//! kube's messages (`exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2`).
//!
//! Objects are JSON as stored; quantities are [`Quantity`]s keyed by resource name in sorted
//! maps, so printing a list follows kube's sorted `prettyPrint`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::quantity::Quantity;

/// corev1.ResourceList.
pub type ResourceList = BTreeMap<String, Quantity>;

/// A quantity list from a JSON map; entries that are not quantities are skipped.
pub fn list_from_json(v: Option<&Value>) -> ResourceList {
    v.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), Quantity::from_json(v)?)))
        .collect()
}

/// The JSON map kube writes (canonical quantity strings).
pub fn list_to_json(list: &ResourceList) -> Value {
    Value::Object(
        list.iter()
            .map(|(k, q)| (k.clone(), Value::String(q.to_string())))
            .collect(),
    )
}

/// quota.Add: every key of both, summed.
pub fn add(a: &ResourceList, b: &ResourceList) -> ResourceList {
    let mut out = a.clone();
    for (k, v) in b {
        let sum = match out.get(k) {
            Some(cur) => cur.add(v),
            None => *v,
        };
        out.insert(k.clone(), sum);
    }
    out
}

/// quota.SubtractWithNonNegativeResult: a − b per key of either, never below zero.
pub fn subtract_non_negative(a: &ResourceList, b: &ResourceList) -> ResourceList {
    let mut out = ResourceList::new();
    for (k, v) in a {
        let d = match b.get(k) {
            Some(o) => v.sub(o),
            None => *v,
        };
        out.insert(
            k.clone(),
            if d.is_negative() || d.is_zero() {
                Quantity::zero()
            } else {
                d
            },
        );
    }
    for k in b.keys() {
        out.entry(k.clone()).or_insert_with(Quantity::zero);
    }
    out
}

/// quota.Mask: only the named keys.
pub fn mask<'a>(list: &ResourceList, names: impl IntoIterator<Item = &'a String>) -> ResourceList {
    let keep: BTreeSet<&String> = names.into_iter().collect();
    list.iter()
        .filter(|(k, _)| keep.contains(k))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

/// quota.LessThanOrEqual: whether every key of `a` that `b` has is within it, and the keys
/// that are not.
pub fn less_than_or_equal(a: &ResourceList, b: &ResourceList) -> (bool, Vec<String>) {
    let exceeded: Vec<String> = a
        .iter()
        .filter(|(k, v)| b.get(*k).is_some_and(|limit| *v > limit))
        .map(|(k, _)| k.clone())
        .collect();
    (exceeded.is_empty(), exceeded)
}

/// `name=value,...` in key order (the admission plugin's prettyPrint).
pub fn pretty(list: &ResourceList) -> String {
    list.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn is_zero(list: &ResourceList) -> bool {
    list.values().all(Quantity::is_zero)
}

// ---------------------------------------------------------------------------------------------
// scopes

/// One scope requirement of a quota (spec.scopes become `Exists` requirements).
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeRequirement {
    pub scope_name: String,
    pub operator: String,
    pub values: Vec<String>,
}

/// getScopeSelectorsFromQuota: spec.scopes, then spec.scopeSelector.matchExpressions.
pub fn scope_requirements(quota: &Value) -> Vec<ScopeRequirement> {
    let spec = &quota["spec"];
    let mut out: Vec<ScopeRequirement> = spec["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|s| ScopeRequirement {
            scope_name: s.to_string(),
            operator: "Exists".to_string(),
            values: Vec::new(),
        })
        .collect();
    for e in spec["scopeSelector"]["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        out.push(ScopeRequirement {
            scope_name: e["scopeName"].as_str().unwrap_or_default().to_string(),
            operator: e["operator"].as_str().unwrap_or_default().to_string(),
            values: e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// pods

/// The resources a container (or a pod) asks for, by name.
fn requirements(c: &Value, which: &str) -> ResourceList {
    list_from_json(c.pointer(&format!("/resources/{which}")))
}

fn add_into(list: &mut ResourceList, more: &ResourceList) {
    *list = add(list, more);
}

fn max_into(list: &mut ResourceList, more: &ResourceList) {
    for (k, v) in more {
        if list.get(k).is_none_or(|cur| v > cur) {
            list.insert(k.clone(), *v);
        }
    }
}

fn containers<'a>(pod: &'a Value, field: &str) -> impl Iterator<Item = &'a Value> {
    pod["spec"][field].as_array().into_iter().flatten()
}

/// resourcehelper.PodRequests / PodLimits: regular and sidecar containers add up, classic
/// init containers only raise the maximum; pod overhead on top.
pub fn pod_totals(pod: &Value, which: &str) -> ResourceList {
    let mut total = ResourceList::new();
    for c in containers(pod, "containers") {
        add_into(&mut total, &requirements(c, which));
    }
    let mut sidecars = ResourceList::new();
    let mut init_max = ResourceList::new();
    for c in containers(pod, "initContainers") {
        let own = requirements(c, which);
        let effective = if c["restartPolicy"] == "Always" {
            add_into(&mut total, &own);
            add_into(&mut sidecars, &own);
            sidecars.clone()
        } else {
            add(&own, &sidecars)
        };
        max_into(&mut init_max, &effective);
    }
    max_into(&mut total, &init_max);
    let overhead = list_from_json(pod["spec"].get("overhead"));
    if which == "requests" {
        add_into(&mut total, &overhead);
    } else {
        for (k, v) in &overhead {
            if let Some(cur) = total.get(k) {
                let sum = cur.add(v);
                total.insert(k.clone(), sum);
            }
        }
    }
    total
}

const POD_RESOURCES: &[&str] = &[
    "count/pods",
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
];

/// The compute resources quota may require every container to state.
const VALIDATION_SET: &[&str] = &[
    "cpu",
    "memory",
    "requests.cpu",
    "requests.memory",
    "limits.cpu",
    "limits.memory",
];

/// helper.IsNativeResource.
fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// podComputeUsageHelper.
fn pod_compute_usage(requests: &ResourceList, limits: &ResourceList) -> ResourceList {
    let mut out = ResourceList::new();
    out.insert("pods".into(), Quantity::from_int(1));
    for (base, req, lim) in [
        ("cpu", "requests.cpu", "limits.cpu"),
        ("memory", "requests.memory", "limits.memory"),
        (
            "ephemeral-storage",
            "requests.ephemeral-storage",
            "limits.ephemeral-storage",
        ),
    ] {
        if let Some(r) = requests.get(base) {
            out.insert(base.into(), *r);
            out.insert(req.into(), *r);
        }
        if let Some(l) = limits.get(base) {
            out.insert(lim.into(), *l);
        }
    }
    for (k, v) in requests {
        if k.starts_with("hugepages-") {
            out.insert(k.clone(), *v);
            out.insert(format!("requests.{k}"), *v);
        } else if !is_native(k) {
            out.insert(format!("requests.{k}"), *v);
        }
    }
    out
}

/// QuotaV1Pod: pods that finished, or are past their deletion grace period, are not charged.
fn pod_is_charged(pod: &Value, now: DateTime<Utc>) -> bool {
    let phase = pod["status"]["phase"].as_str().unwrap_or_default();
    if phase == "Succeeded" || phase == "Failed" {
        return false;
    }
    let meta = &pod["metadata"];
    if let (Some(ts), Some(grace)) = (
        meta["deletionTimestamp"].as_str(),
        meta["deletionGracePeriodSeconds"].as_i64(),
    ) && let Ok(t) = DateTime::parse_from_rfc3339(ts)
        && now > t.with_timezone(&Utc) + chrono::Duration::seconds(grace)
    {
        return false;
    }
    true
}

/// ComputePodQOS == BestEffort: no container asks for or limits cpu or memory.
pub fn is_best_effort(pod: &Value) -> bool {
    containers(pod, "containers")
        .chain(containers(pod, "initContainers"))
        .all(|c| {
            ["requests", "limits"].iter().all(|which| {
                let list = requirements(c, which);
                ["cpu", "memory"]
                    .iter()
                    .all(|r| list.get(*r).is_none_or(|q| q.nanos() <= 0))
            })
        })
}

fn is_terminating(pod: &Value) -> bool {
    pod["spec"]["activeDeadlineSeconds"]
        .as_i64()
        .is_some_and(|s| s >= 0)
}

fn uses_cross_namespace_affinity(pod: &Value) -> bool {
    let crosses = |t: &Value| {
        t["namespaces"].as_array().is_some_and(|n| !n.is_empty())
            || t.get("namespaceSelector").is_some_and(|s| !s.is_null())
    };
    ["podAffinity", "podAntiAffinity"].iter().any(|kind| {
        let a = &pod["spec"]["affinity"][kind];
        a["requiredDuringSchedulingIgnoredDuringExecution"]
            .as_array()
            .into_iter()
            .flatten()
            .any(crosses)
            || a["preferredDuringSchedulingIgnoredDuringExecution"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|w| crosses(&w["podAffinityTerm"]))
    })
}

fn pod_matches_scope(req: &ScopeRequirement, pod: &Value) -> bool {
    match req.scope_name.as_str() {
        "Terminating" => is_terminating(pod),
        "NotTerminating" => !is_terminating(pod),
        "BestEffort" => is_best_effort(pod),
        "NotBestEffort" => !is_best_effort(pod),
        "PriorityClass" => {
            let class = pod["spec"]["priorityClassName"]
                .as_str()
                .unwrap_or_default();
            match req.operator.as_str() {
                "Exists" => !class.is_empty(),
                "DoesNotExist" => class.is_empty(),
                "In" => !class.is_empty() && req.values.iter().any(|v| v == class),
                "NotIn" => class.is_empty() || !req.values.iter().any(|v| v == class),
                _ => false,
            }
        }
        "CrossNamespacePodAffinity" => uses_cross_namespace_affinity(pod),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// evaluators

/// The write a quota is consulted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
}

/// kube's quota evaluators: what a kind of object uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evaluator {
    Pods,
    Services,
    PersistentVolumeClaims,
    /// `count/<resource>[.<group>]`, and the legacy name some core kinds also answer to
    /// (`configmaps`, `secrets`, `replicationcontrollers`, `resourcequotas`).
    ObjectCount {
        group: String,
        resource: String,
        legacy: Option<String>,
    },
}

const STORAGE_CLASS_SUFFIX: &str = ".storageclass.storage.k8s.io/";

/// `count/pods`, `count/deployments.apps`.
pub fn object_count_name(group: &str, resource: &str) -> String {
    if group.is_empty() {
        format!("count/{resource}")
    } else {
        format!("count/{resource}.{group}")
    }
}

impl Evaluator {
    /// The evaluator kube's registry has for a resource (an object count for any other).
    pub fn for_resource(group: &str, resource: &str) -> Evaluator {
        match (group, resource) {
            ("", "pods") => Evaluator::Pods,
            ("", "services") => Evaluator::Services,
            ("", "persistentvolumeclaims") => Evaluator::PersistentVolumeClaims,
            ("", r @ ("configmaps" | "secrets" | "replicationcontrollers" | "resourcequotas")) => {
                Evaluator::ObjectCount {
                    group: String::new(),
                    resource: r.to_string(),
                    legacy: Some(r.to_string()),
                }
            }
            (g, r) => Evaluator::ObjectCount {
                group: g.to_string(),
                resource: r.to_string(),
                legacy: None,
            },
        }
    }

    /// The evaluators that measure something among `hard`: kube's standard ones, plus an
    /// object count for every other `count/<resource>.<group>`.
    pub fn for_hard(hard: &[String]) -> Vec<Evaluator> {
        let mut out: Vec<Evaluator> = [
            ("", "pods"),
            ("", "services"),
            ("", "persistentvolumeclaims"),
            ("", "configmaps"),
            ("", "resourcequotas"),
            ("", "replicationcontrollers"),
            ("", "secrets"),
        ]
        .iter()
        .map(|(g, r)| Evaluator::for_resource(g, r))
        .collect();
        for name in hard {
            let Some(rest) = name.strip_prefix("count/") else {
                continue;
            };
            let (resource, group) = rest.split_once('.').unwrap_or((rest, ""));
            if resource.is_empty() || out.iter().any(|e| e.group_resource() == (group, resource)) {
                continue;
            }
            out.push(Evaluator::for_resource(group, resource));
        }
        out.retain(|e| !e.matching_resources(hard).is_empty());
        out
    }

    /// (group, resource) it measures.
    pub fn group_resource(&self) -> (&str, &str) {
        match self {
            Evaluator::Pods => ("", "pods"),
            Evaluator::Services => ("", "services"),
            Evaluator::PersistentVolumeClaims => ("", "persistentvolumeclaims"),
            Evaluator::ObjectCount {
                group, resource, ..
            } => (group, resource),
        }
    }

    /// MatchingResources: the names among `input` this evaluator measures.
    pub fn matching_resources(&self, input: &[String]) -> Vec<String> {
        input
            .iter()
            .filter(|name| self.measures(name))
            .cloned()
            .collect()
    }

    fn measures(&self, name: &str) -> bool {
        match self {
            Evaluator::Pods => {
                POD_RESOURCES.contains(&name)
                    || name.starts_with("hugepages-")
                    || name.starts_with("requests.hugepages-")
                    || (!is_native(name) && name.starts_with("requests."))
            }
            Evaluator::Services => matches!(
                name,
                "count/services" | "services" | "services.loadbalancers" | "services.nodeports"
            ),
            Evaluator::PersistentVolumeClaims => {
                matches!(
                    name,
                    "persistentvolumeclaims" | "count/persistentvolumeclaims" | "requests.storage"
                ) || name
                    .split_once(STORAGE_CLASS_SUFFIX)
                    .is_some_and(|(_, r)| r == "persistentvolumeclaims" || r == "requests.storage")
            }
            Evaluator::ObjectCount {
                group,
                resource,
                legacy,
            } => name == object_count_name(group, resource) || legacy.as_deref() == Some(name),
        }
    }

    /// Handles: which writes change what it measures.
    pub fn handles(&self, op: Operation) -> bool {
        match self {
            Evaluator::Pods | Evaluator::ObjectCount { .. } => op == Operation::Create,
            Evaluator::Services | Evaluator::PersistentVolumeClaims => true,
        }
    }

    /// Whether an object falls under one scope requirement (only pods have scopes).
    pub fn matches_scope(&self, req: &ScopeRequirement, obj: &Value) -> bool {
        match self {
            Evaluator::Pods => pod_matches_scope(req, obj),
            _ => false,
        }
    }

    /// Matches: the quota limits something this evaluator measures, and the object is in
    /// every scope of the quota.
    pub fn matches(&self, hard: &[String], scopes: &[ScopeRequirement], obj: &Value) -> bool {
        !self.matching_resources(hard).is_empty()
            && scopes.iter().all(|s| self.matches_scope(s, obj))
    }

    /// Usage: what one object uses.
    pub fn usage(&self, obj: &Value, now: DateTime<Utc>) -> ResourceList {
        let one = Quantity::from_int(1);
        let mut out = ResourceList::new();
        match self {
            Evaluator::Pods => {
                out.insert("count/pods".into(), one);
                if pod_is_charged(obj, now) {
                    let requests = pod_totals(obj, "requests");
                    let limits = pod_totals(obj, "limits");
                    out = add(&out, &pod_compute_usage(&requests, &limits));
                }
            }
            Evaluator::Services => {
                out.insert("count/services".into(), one);
                out.insert("services".into(), one);
                out.insert("services.loadbalancers".into(), Quantity::zero());
                out.insert("services.nodeports".into(), Quantity::zero());
                let spec = &obj["spec"];
                let ports = spec["ports"].as_array().map(Vec::len).unwrap_or(0) as i64;
                match spec["type"].as_str() {
                    Some("NodePort") => {
                        out.insert("services.nodeports".into(), Quantity::from_int(ports));
                    }
                    Some("LoadBalancer") => {
                        out.insert("services.loadbalancers".into(), one);
                        let nodeports = if spec["allocateLoadBalancerNodePorts"] == false {
                            spec["ports"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter(|p| p["nodePort"].as_i64().is_some_and(|n| n != 0))
                                .count() as i64
                        } else {
                            ports
                        };
                        out.insert("services.nodeports".into(), Quantity::from_int(nodeports));
                    }
                    _ => {}
                }
            }
            Evaluator::PersistentVolumeClaims => {
                out.insert("persistentvolumeclaims".into(), one);
                out.insert("count/persistentvolumeclaims".into(), one);
                let class =
                    obj["metadata"]["annotations"]["volume.beta.kubernetes.io/storage-class"]
                        .as_str()
                        .or_else(|| obj["spec"]["storageClassName"].as_str())
                        .unwrap_or_default();
                if !class.is_empty() {
                    out.insert(
                        format!("{class}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"),
                        one,
                    );
                }
                let requested =
                    Quantity::from_json(&obj["spec"]["resources"]["requests"]["storage"]);
                let allocated =
                    Quantity::from_json(&obj["status"]["allocatedResources"]["storage"]);
                let storage = match (requested, allocated) {
                    (Some(r), Some(a)) => Some(r.max(a)),
                    (r, a) => r.or(a),
                };
                if let Some(s) = storage {
                    out.insert("requests.storage".into(), s);
                    if !class.is_empty() {
                        out.insert(format!("{class}{STORAGE_CLASS_SUFFIX}requests.storage"), s);
                    }
                }
            }
            Evaluator::ObjectCount {
                group,
                resource,
                legacy,
            } => {
                out.insert(object_count_name(group, resource), one);
                if let Some(l) = legacy {
                    out.insert(l.clone(), one);
                }
            }
        }
        out
    }

    /// Constraints: a quota on cpu or memory requires every container to state it.
    pub fn constraints(&self, required: &[String], obj: &Value) -> Result<(), String> {
        if *self != Evaluator::Pods {
            return Ok(());
        }
        let required: BTreeSet<&str> = required
            .iter()
            .map(String::as_str)
            .filter(|r| VALIDATION_SET.contains(r))
            .collect();
        let mut missing: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for c in containers(obj, "containers").chain(containers(obj, "initContainers")) {
            let usage = pod_compute_usage(&requirements(c, "requests"), &requirements(c, "limits"));
            let name = c["name"].as_str().unwrap_or_default();
            for r in &required {
                if !usage.contains_key(*r) {
                    missing.entry(r).or_default().insert(name.to_string());
                }
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let parts: Vec<String> = missing
            .iter()
            .map(|(r, names)| {
                format!(
                    "{r} for: {}",
                    names.iter().cloned().collect::<Vec<_>>().join(",")
                )
            })
            .collect();
        Err(format!("must specify {}", parts.join("; ")))
    }

    /// UsageStats: the summed usage of the objects in every scope, for `resources` (each of
    /// which appears, zero when nothing uses it).
    pub fn usage_stats<'a>(
        &self,
        resources: &[String],
        scopes: &[ScopeRequirement],
        items: impl IntoIterator<Item = &'a Value>,
        now: DateTime<Utc>,
    ) -> ResourceList {
        let mut used: ResourceList = resources
            .iter()
            .map(|r| (r.clone(), Quantity::zero()))
            .collect();
        for item in items {
            if scopes.iter().all(|s| self.matches_scope(s, item)) {
                used = add(&used, &self.usage(item, now));
            }
        }
        used
    }
}

// ---------------------------------------------------------------------------------------------
// the quota controller's status

/// A quota's new `status.used` after measuring (kube's syncResourceQuota): earlier
/// observations kept, overwritten by what was measured now, then limited to the hard keys.
pub fn sync_used(
    previous: &ResourceList,
    hard: &ResourceList,
    measured: &ResourceList,
) -> ResourceList {
    let mut used = previous.clone();
    let matched: Vec<&String> = hard.keys().collect();
    for (k, v) in mask(measured, matched) {
        used.insert(k, v);
    }
    mask(&used, hard.keys())
}

// ---------------------------------------------------------------------------------------------
// admission

/// What admission reads of a quota: its status (as kube, which checks against status.hard).
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaState {
    pub name: String,
    pub hard: ResourceList,
    pub used: ResourceList,
    pub scopes: Vec<ScopeRequirement>,
}

impl QuotaState {
    pub fn from_json(q: &Value) -> QuotaState {
        QuotaState {
            name: q["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            hard: list_from_json(q["status"].get("hard")),
            used: list_from_json(q["status"].get("used")),
            scopes: scope_requirements(q),
        }
    }

    fn hard_names(&self) -> Vec<String> {
        self.hard.keys().cloned().collect()
    }
}

/// CheckRequest: the new `status.used` of every quota the write charges (`None` for those it
/// leaves alone), or the reason kube refuses it (the text after `... is forbidden: `).
pub fn check_request(
    quotas: &[QuotaState],
    evaluator: &Evaluator,
    op: Operation,
    obj: &Value,
    old: Option<&Value>,
    now: DateTime<Utc>,
) -> Result<Vec<Option<ResourceList>>, String> {
    let mut out = vec![None; quotas.len()];
    if !evaluator.handles(op) {
        return Ok(out);
    }
    let mut interesting = Vec::new();
    for (i, q) in quotas.iter().enumerate() {
        let hard = q.hard_names();
        if !evaluator.matches(&hard, &q.scopes, obj) {
            continue;
        }
        let restricted = evaluator.matching_resources(&hard);
        evaluator
            .constraints(&restricted, obj)
            .map_err(|e| format!("failed quota: {}: {e}", q.name))?;
        if restricted.iter().any(|r| !q.used.contains_key(r)) {
            let mut names = restricted.clone();
            names.sort();
            return Err(format!(
                "status unknown for quota: {}, resources: {}",
                q.name,
                names.join(",")
            ));
        }
        interesting.push(i);
    }
    if interesting.is_empty() {
        return Ok(out);
    }
    let mut delta = evaluator.usage(obj, now);
    let negative: Vec<&String> = delta
        .iter()
        .filter(|(_, v)| v.is_negative())
        .map(|(k, _)| k)
        .collect();
    if !negative.is_empty() {
        return Err(format!(
            "quota usage is negative for resource(s): {}",
            negative
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    if op == Operation::Update
        && let Some(old) = old
    {
        delta = subtract_non_negative(&delta, &evaluator.usage(old, now));
    }
    if is_zero(&delta) {
        return Ok(out);
    }
    for i in interesting {
        let q = &quotas[i];
        let requested = mask(&delta, q.hard.keys());
        let new_used = add(&q.used, &requested);
        let masked_new = mask(&new_used, requested.keys());
        let (allowed, exceeded) = less_than_or_equal(&masked_new, &q.hard);
        if !allowed {
            return Err(format!(
                "exceeded quota: {}, requested: {}, used: {}, limited: {}",
                q.name,
                pretty(&mask(&requested, &exceeded)),
                pretty(&mask(&q.used, &exceeded)),
                pretty(&mask(&q.hard, &exceeded)),
            ));
        }
        out[i] = Some(new_used);
    }
    Ok(out)
}

/// The `status` a quota gets with this `used` (hard kept as it is).
pub fn status_with_used(quota: &Value, used: &ResourceList) -> Value {
    let mut status = quota.get("status").cloned().unwrap_or_else(|| json!({}));
    status["used"] = list_to_json(used);
    status
}

#[cfg(test)]
mod tests;
