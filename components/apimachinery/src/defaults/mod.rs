//! Defaulting of built-in objects on create, as kube-apiserver 1.33 leaves them: the
//! SetDefaults_* functions of each API group, the create-time mutations of the registry
//! strategies that kubectl output shows (generated Job selectors, Namespace finalizers, Service
//! IP family fields, fresh statuses) and the Priority / DefaultTolerationSeconds admission
//! plugins. Cluster IPs, node ports and service accounts are left to the server.
//!
//! Go writes every non-pointer struct field even when empty, so an object read back from kube
//! carries `resources: {}`, `securityContext: {}`, `creationTimestamp: null` in templates and
//! `status` with its non-omitempty counters; those are produced here too.

mod pod;

#[cfg(test)]
mod tests;

use base64::Engine as _;
use serde_json::{Map, Value, json};

/// Whether a member is absent or null.
fn missing(v: &Value, key: &str) -> bool {
    v.get(key).is_none_or(Value::is_null)
}

/// Sets a pointer-typed field (Go `nil` check): when absent or null.
fn set(v: &mut Value, key: &str, default: Value) {
    if let Some(m) = v.as_object_mut()
        && m.get(key).is_none_or(Value::is_null)
    {
        m.insert(key.to_string(), default);
    }
}

/// Sets a value-typed field (Go zero-value check): also when `""` or `0`.
fn set_zero(v: &mut Value, key: &str, default: Value) {
    let zero = match v.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        _ => false,
    };
    if zero {
        put(v, key, default);
    }
}

/// Sets a field unconditionally (when `v` is an object).
fn put(v: &mut Value, key: &str, value: Value) {
    if let Some(m) = v.as_object_mut() {
        m.insert(key.to_string(), value);
    }
}

/// Sets a field only when the key is absent (keeps an explicit null).
fn set_absent(v: &mut Value, key: &str, value: Value) {
    if let Some(m) = v.as_object_mut() {
        m.entry(key.to_string()).or_insert(value);
    }
}

/// The object member `key`, created as `{}` when absent or null; `None` when `v` or the member
/// is not an object.
fn ensure_object<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    let m = v.as_object_mut()?;
    let slot = m.entry(key.to_string()).or_insert(Value::Null);
    if slot.is_null() {
        *slot = json!({});
    }
    slot.is_object().then_some(slot)
}

/// The elements of array member `key` (none when absent or not an array).
fn each<'a>(v: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    v.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
}

/// The array member `key`, created as `[]` when absent or null.
fn ensure_array<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Vec<Value>> {
    let slot = v.as_object_mut()?.entry(key).or_insert(Value::Null);
    if slot.is_null() {
        *slot = json!([]);
    }
    slot.as_array_mut()
}

/// `obj[a][b]…` when every step is present.
fn at<'a>(v: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |cur, k| cur.get_mut(*k))
}

/// Normalizations kube's conversion makes before anything else: a Secret's `stringData` is
/// base64-encoded into `data` (overriding equal keys) and removed.
pub fn normalize(group: &str, kind: &str, obj: &mut Value) {
    if !group.is_empty() || kind != "Secret" {
        return;
    }
    let Some(m) = obj.as_object_mut() else {
        return;
    };
    let Some(string_data) = m.remove("stringData") else {
        return;
    };
    let Some(string_data) = string_data.as_object().filter(|s| !s.is_empty()) else {
        return;
    };
    let data = m.entry("data").or_insert(Value::Null);
    if !data.is_object() {
        *data = json!({});
    }
    if let Some(data) = data.as_object_mut() {
        for (k, v) in string_data {
            let text = v.as_str().unwrap_or("");
            let encoded = base64::engine::general_purpose::STANDARD.encode(text);
            data.insert(k.clone(), Value::String(encoded));
        }
    }
}

/// Applies what kube-apiserver sets on create for `group`/`kind` (after [`normalize`]).
/// Job selectors and labels use `metadata.uid`, which the caller sets first.
pub fn apply_defaults(group: &str, kind: &str, obj: &mut Value) {
    normalize(group, kind, obj);
    if !obj.is_object() {
        return;
    }
    match (group, kind) {
        ("", "Pod") => pod::pod(obj),
        ("", "PodTemplate") => template_at(obj, &["template"]),
        ("", "ReplicationController") => replication_controller(obj),
        ("", "Service") => service(obj),
        ("", "Secret") => set_zero(obj, "type", json!("Opaque")),
        ("", "Namespace") => namespace(obj),
        ("", "PersistentVolumeClaim") => {
            if let Some(spec) = obj.get_mut("spec") {
                set(spec, "volumeMode", json!("Filesystem"));
            }
            status(obj, json!({"phase": "Pending"}));
        }
        ("", "PersistentVolume") => {
            if let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) {
                set_zero(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
                set(spec, "volumeMode", json!("Filesystem"));
                if let Some(h) = spec.get_mut("hostPath").filter(|h| h.is_object()) {
                    set(h, "type", json!(""));
                }
            }
            status(obj, json!({"phase": "Pending"}));
        }
        ("", "Endpoints") => {
            for subset in each(obj, "subsets") {
                for port in each(subset, "ports") {
                    set_zero(port, "protocol", json!("TCP"));
                }
            }
        }
        ("", "Node") => {
            if let Some(st) = obj.get_mut("status").filter(|s| s.is_object())
                && missing(st, "allocatable")
                && let Some(cap) = st.get("capacity").filter(|c| c.is_object()).cloned()
            {
                set(st, "allocatable", cap);
            }
        }
        ("", "LimitRange") => limit_range(obj),
        ("", "ResourceQuota") => status(obj, json!({})),
        ("apps", "Deployment") => deployment(obj),
        ("apps", "ReplicaSet") => {
            replicas(obj);
            template_at(obj, &["spec", "template"]);
            status(obj, json!({"replicas": 0}));
        }
        ("apps", "StatefulSet") => stateful_set(obj),
        ("apps", "DaemonSet") => daemon_set(obj),
        ("batch", "Job") => job(obj),
        ("batch", "CronJob") => cron_job(obj),
        ("networking.k8s.io", "NetworkPolicy") => network_policy(obj),
        ("networking.k8s.io", "Ingress") => status(obj, json!({"loadBalancer": {}})),
        ("networking.k8s.io", "IngressClass") => {
            if let Some(p) = at(obj, &["spec", "parameters"]).filter(|p| p.is_object()) {
                set(p, "scope", json!("Cluster"));
            }
        }
        ("discovery.k8s.io", "EndpointSlice") => {
            for port in each(obj, "ports") {
                set(port, "name", json!(""));
                set(port, "protocol", json!("TCP"));
            }
        }
        ("policy", "PodDisruptionBudget") => status(
            obj,
            json!({"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0, "expectedPods": 0}),
        ),
        ("scheduling.k8s.io", "PriorityClass") => {
            set(obj, "preemptionPolicy", json!("PreemptLowerPriority"))
        }
        ("storage.k8s.io", "StorageClass") => {
            set(obj, "reclaimPolicy", json!("Delete"));
            set(obj, "volumeBindingMode", json!("Immediate"));
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => rbac_binding(obj),
        _ => {}
    }
}

/// A fresh status for kinds whose Go status struct is always written.
fn status(obj: &mut Value, fresh: Value) {
    set(obj, "status", fresh);
}

fn template_at(obj: &mut Value, path: &[&str]) {
    if let Some(t) = at(obj, path) {
        pod::pod_template(t);
    }
}

/// `spec.replicas: 1` when unset.
fn replicas(obj: &mut Value) {
    if let Some(spec) = obj.get_mut("spec") {
        set(spec, "replicas", json!(1));
    }
}

fn template_labels(obj: &Value) -> Option<Map<String, Value>> {
    obj.pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
}

/// Object labels default to the template's (RC, Job) when the object has none.
fn labels_from_template(obj: &mut Value) {
    let Some(labels) = template_labels(obj) else {
        return;
    };
    let empty = obj
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty);
    if empty && let Some(meta) = ensure_object(obj, "metadata") {
        put(meta, "labels", Value::Object(labels));
    }
}

fn replication_controller(obj: &mut Value) {
    if let Some(labels) = template_labels(obj) {
        let selector_empty = obj
            .pointer("/spec/selector")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty);
        if selector_empty && let Some(spec) = obj.get_mut("spec") {
            put(spec, "selector", Value::Object(labels));
        }
        labels_from_template(obj);
    }
    replicas(obj);
    template_at(obj, &["spec", "template"]);
    status(obj, json!({"replicas": 0}));
}

fn service(obj: &mut Value) {
    let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
        return;
    };
    set_zero(spec, "sessionAffinity", json!("None"));
    match spec.get("sessionAffinity").and_then(Value::as_str) {
        Some("None") => {
            if let Some(m) = spec.as_object_mut() {
                m.remove("sessionAffinityConfig");
            }
        }
        Some("ClientIP") => {
            let has_timeout = spec
                .pointer("/sessionAffinityConfig/clientIP/timeoutSeconds")
                .is_some_and(|t| !t.is_null());
            if !has_timeout {
                put(
                    spec,
                    "sessionAffinityConfig",
                    json!({"clientIP": {"timeoutSeconds": 10800}}),
                );
            }
        }
        _ => {}
    }
    set_zero(spec, "type", json!("ClusterIP"));
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    for port in each(spec, "ports") {
        set_zero(port, "protocol", json!("TCP"));
        let number = port.get("port").cloned().unwrap_or(json!(0));
        set_zero(port, "targetPort", number);
    }
    let external_ips = spec
        .get("externalIPs")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let externally_accessible =
        ty == "NodePort" || ty == "LoadBalancer" || (ty == "ClusterIP" && external_ips);
    if externally_accessible {
        set_zero(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if matches!(ty.as_str(), "ClusterIP" | "NodePort" | "LoadBalancer") {
        set(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        set(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if ty != "ExternalName" {
        let ip = spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if !ip.is_empty() {
            set(spec, "clusterIPs", json!([ip]));
        }
        let headless_without_selector = ip == "None"
            && spec
                .get("selector")
                .and_then(Value::as_object)
                .is_none_or(Map::is_empty);
        let policy = if headless_without_selector {
            "RequireDualStack"
        } else {
            "SingleStack"
        };
        set(spec, "ipFamilyPolicy", json!(policy));
        let families_empty = spec
            .get("ipFamilies")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty);
        if families_empty {
            put(spec, "ipFamilies", json!(["IPv4"]));
        }
    }
    status(obj, json!({"loadBalancer": {}}));
}

fn namespace(obj: &mut Value) {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !name.is_empty()
        && let Some(labels) =
            ensure_object(obj, "metadata").and_then(|m| ensure_object(m, "labels"))
    {
        put(labels, "kubernetes.io/metadata.name", json!(name));
    }
    if let Some(list) = ensure_object(obj, "spec").and_then(|s| ensure_array(s, "finalizers"))
        && !list.iter().any(|f| f == "kubernetes")
    {
        list.push(json!("kubernetes"));
    }
    if let Some(st) = ensure_object(obj, "status") {
        set_zero(st, "phase", json!("Active"));
    }
}

fn limit_range(obj: &mut Value) {
    let Some(spec) = obj.get_mut("spec") else {
        return;
    };
    for item in each(spec, "limits") {
        if item.get("type").and_then(Value::as_str) != Some("Container") {
            continue;
        }
        // default ← max, defaultRequest ← default, defaultRequest ← min
        for (to, from) in [
            ("default", "max"),
            ("defaultRequest", "default"),
            ("defaultRequest", "min"),
        ] {
            let source = item
                .get(from)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            if let Some(target) = ensure_object(item, to).and_then(Value::as_object_mut) {
                for (k, v) in source {
                    target.entry(k).or_insert(v);
                }
            }
        }
    }
}

/// A RollingUpdate-by-default strategy whose rollingUpdate gets `fields` when unset.
fn rolling_strategy(spec: &mut Value, key: &str, fields: &[(&str, Value)]) {
    let Some(strategy) = ensure_object(spec, key) else {
        return;
    };
    set_zero(strategy, "type", json!("RollingUpdate"));
    if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
        && let Some(ru) = ensure_object(strategy, "rollingUpdate")
    {
        for (field, value) in fields {
            set(ru, field, value.clone());
        }
    }
}

fn deployment(obj: &mut Value) {
    if let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) {
        set(spec, "replicas", json!(1));
        rolling_strategy(
            spec,
            "strategy",
            &[("maxUnavailable", json!("25%")), ("maxSurge", json!("25%"))],
        );
        set(spec, "revisionHistoryLimit", json!(10));
        set(spec, "progressDeadlineSeconds", json!(600));
    }
    template_at(obj, &["spec", "template"]);
    status(obj, json!({}));
}

fn stateful_set(obj: &mut Value) {
    if let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) {
        set_zero(spec, "podManagementPolicy", json!("OrderedReady"));
        if let Some(us) = ensure_object(spec, "updateStrategy") {
            if us
                .get("type")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                put(us, "type", json!("RollingUpdate"));
                set(us, "rollingUpdate", json!({}));
            }
            if us.get("type").and_then(Value::as_str) == Some("RollingUpdate")
                && let Some(ru) = us.get_mut("rollingUpdate").filter(|r| r.is_object())
            {
                set(ru, "partition", json!(0));
            }
        }
        if let Some(policy) = ensure_object(spec, "persistentVolumeClaimRetentionPolicy") {
            set_zero(policy, "whenDeleted", json!("Retain"));
            set_zero(policy, "whenScaled", json!("Retain"));
        }
        set(spec, "replicas", json!(1));
        set(spec, "revisionHistoryLimit", json!(10));
        for pvc in each(spec, "volumeClaimTemplates") {
            if !pvc.is_object() {
                continue;
            }
            set_absent(pvc, "apiVersion", json!("v1"));
            set_absent(pvc, "kind", json!("PersistentVolumeClaim"));
            if let Some(meta) = ensure_object(pvc, "metadata") {
                set_absent(meta, "creationTimestamp", Value::Null);
            }
            if let Some(s) = pvc.get_mut("spec") {
                set(s, "volumeMode", json!("Filesystem"));
            }
            set(pvc, "status", json!({"phase": "Pending"}));
        }
    }
    template_at(obj, &["spec", "template"]);
    status(obj, json!({"availableReplicas": 0, "replicas": 0}));
}

fn daemon_set(obj: &mut Value) {
    if let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) {
        rolling_strategy(
            spec,
            "updateStrategy",
            &[("maxUnavailable", json!(1)), ("maxSurge", json!(0))],
        );
        set(spec, "revisionHistoryLimit", json!(10));
    }
    template_at(obj, &["spec", "template"]);
    status(
        obj,
        json!({"currentNumberScheduled": 0, "desiredNumberScheduled": 0, "numberMisscheduled": 0, "numberReady": 0}),
    );
}

/// The job strategy's generateSelector: controller-uid selector and pod labels.
fn generate_job_selector(obj: &mut Value) {
    let uid = obj
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let manual = obj.pointer("/spec/manualSelector").and_then(Value::as_bool) == Some(true);
    if uid.is_empty() || manual {
        return;
    }
    let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
        return;
    };
    let labels = ensure_object(spec, "template")
        .and_then(|t| ensure_object(t, "metadata"))
        .and_then(|m| ensure_object(m, "labels"));
    if let Some(labels) = labels {
        for (k, v) in [
            ("job-name", &name),
            ("batch.kubernetes.io/job-name", &name),
            ("controller-uid", &uid),
            ("batch.kubernetes.io/controller-uid", &uid),
        ] {
            set_absent(labels, k, json!(v));
        }
    }
    if let Some(match_labels) =
        ensure_object(spec, "selector").and_then(|s| ensure_object(s, "matchLabels"))
    {
        set_absent(
            match_labels,
            "batch.kubernetes.io/controller-uid",
            json!(uid),
        );
    }
}

fn job(obj: &mut Value) {
    generate_job_selector(obj);
    if let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) {
        if missing(spec, "completions") && missing(spec, "parallelism") {
            set(spec, "completions", json!(1));
        }
        set(spec, "parallelism", json!(1));
        let limit = if missing(spec, "backoffLimitPerIndex") {
            6
        } else {
            i64::from(i32::MAX)
        };
        set(spec, "backoffLimit", json!(limit));
        set(spec, "completionMode", json!("NonIndexed"));
        set(spec, "suspend", json!(false));
        let replacement = if missing(spec, "podFailurePolicy") {
            "TerminatingOrFailed"
        } else {
            "Failed"
        };
        set(spec, "podReplacementPolicy", json!(replacement));
        if let Some(pfp) = spec.get_mut("podFailurePolicy") {
            for rule in each(pfp, "rules") {
                for cond in each(rule, "onPodConditions") {
                    set_zero(cond, "status", json!("True"));
                }
            }
        }
    }
    labels_from_template(obj);
    template_at(obj, &["spec", "template"]);
    status(obj, json!({}));
}

fn cron_job(obj: &mut Value) {
    if let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) {
        set_zero(spec, "concurrencyPolicy", json!("Allow"));
        set(spec, "suspend", json!(false));
        set(spec, "successfulJobsHistoryLimit", json!(3));
        set(spec, "failedJobsHistoryLimit", json!(1));
        if let Some(jt) = spec.get_mut("jobTemplate").filter(|j| j.is_object()) {
            if let Some(meta) = ensure_object(jt, "metadata") {
                set_absent(meta, "creationTimestamp", Value::Null);
            }
            if let Some(t) = at(jt, &["spec", "template"]) {
                pod::pod_template(t);
            }
        }
    }
    status(obj, json!({}));
}

fn network_policy(obj: &mut Value) {
    let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
        return;
    };
    for dir in ["ingress", "egress"] {
        for rule in each(spec, dir) {
            for port in each(rule, "ports") {
                set(port, "protocol", json!("TCP"));
            }
        }
    }
    let types_empty = spec
        .get("policyTypes")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if types_empty {
        let egress = spec
            .get("egress")
            .and_then(Value::as_array)
            .is_some_and(|e| !e.is_empty());
        let types = if egress {
            json!(["Ingress", "Egress"])
        } else {
            json!(["Ingress"])
        };
        put(spec, "policyTypes", types);
    }
}

fn rbac_binding(obj: &mut Value) {
    const GROUP: &str = "rbac.authorization.k8s.io";
    if let Some(r) = obj.get_mut("roleRef").filter(|r| r.is_object()) {
        set_zero(r, "apiGroup", json!(GROUP));
    }
    for s in each(obj, "subjects") {
        let kind = s.get("kind").and_then(Value::as_str).unwrap_or("");
        if matches!(kind, "User" | "Group") {
            set_zero(s, "apiGroup", json!(GROUP));
        }
    }
}
