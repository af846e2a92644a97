//! Pod spec defaulting (SetDefaults_PodSpec, _Container, _Probe, _Volume, … and, for Pods
//! only, SetDefaults_Pod, the Priority and DefaultTolerationSeconds admission plugins and the
//! status kube's pod strategy sets on create).

use serde_json::{Value, json};

use super::{each, ensure_array, ensure_object, set, set_absent, set_zero};
use crate::validation::quantity;

/// PullAlways for `:latest` or untagged images, PullIfNotPresent otherwise (also for images
/// kube cannot parse).
fn pull_policy(image: &str) -> &'static str {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let mut parts: Vec<&str> = name.split('/').collect();
    let last = parts.pop().unwrap_or("");
    let (repo, tag) = match last.split_once(':') {
        Some((r, t)) => (r, Some(t)),
        None => (last, None),
    };
    let domain = parts
        .first()
        .filter(|d| parts.len() > 1 || d.contains('.') || d.contains(':') || **d == "localhost");
    let path_ok = parts
        .iter()
        .skip(usize::from(domain.is_some()))
        .chain(std::iter::once(&repo))
        .all(|p| {
            !p.is_empty()
                && !p
                    .chars()
                    .any(|c| c.is_ascii_uppercase() || c.is_whitespace())
        });
    match (path_ok, tag, digest) {
        (false, _, _) => "IfNotPresent",
        (true, Some("latest"), _) | (true, None, None) => "Always",
        _ => "IfNotPresent",
    }
}

/// SetDefaults_HTTPGetAction on a handler-bearing object (probe or lifecycle handler).
fn http_get(handler: &mut Value) {
    if let Some(h) = handler.get_mut("httpGet").filter(|h| h.is_object()) {
        set_zero(h, "path", json!("/"));
        set_zero(h, "scheme", json!("HTTP"));
    }
}

fn probe(p: &mut Value) {
    if !p.is_object() {
        return;
    }
    for (field, v) in [
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ] {
        set_zero(p, field, json!(v));
    }
    http_get(p);
}

/// SetDefaults_ObjectFieldSelector inside env and downward API items.
fn field_ref(holder: &mut Value) {
    if let Some(r) = holder.get_mut("fieldRef").filter(|r| r.is_object()) {
        set_zero(r, "apiVersion", json!("v1"));
    }
}

fn container(c: &mut Value, host_network: bool) {
    if !c.is_object() {
        return;
    }
    let image = c
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    set_zero(c, "imagePullPolicy", json!(pull_policy(&image)));
    set_zero(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_zero(c, "terminationMessagePolicy", json!("File"));
    set(c, "resources", json!({}));
    for port in each(c, "ports") {
        set_zero(port, "protocol", json!("TCP"));
        if host_network {
            let cp = port.get("containerPort").cloned().unwrap_or(json!(0));
            set_zero(port, "hostPort", cp);
        }
    }
    for env in each(c, "env") {
        if let Some(from) = env.get_mut("valueFrom") {
            field_ref(from);
        }
    }
    for p in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(p) {
            probe(p);
        }
    }
    if let Some(lifecycle) = c.get_mut("lifecycle").filter(|l| l.is_object()) {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = lifecycle.get_mut(hook) {
                http_get(h);
            }
        }
    }
}

fn volume(v: &mut Value) {
    let Some(m) = v.as_object_mut() else {
        return;
    };
    if !crate::validation::VOLUME_SOURCES
        .iter()
        .any(|s| m.get(*s).is_some_and(|x| !x.is_null()))
    {
        m.insert("emptyDir".into(), json!({}));
    }
    for src in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(s) = m.get_mut(src).filter(|s| s.is_object()) {
            set(s, "defaultMode", json!(420));
        }
    }
    if let Some(h) = m.get_mut("hostPath").filter(|h| h.is_object()) {
        set(h, "type", json!(""));
    }
    if let Some(d) = m.get_mut("downwardAPI") {
        for item in each(d, "items") {
            field_ref(item);
        }
    }
    if let Some(p) = m.get_mut("projected") {
        for source in each(p, "sources") {
            if let Some(t) = source
                .get_mut("serviceAccountToken")
                .filter(|t| t.is_object())
            {
                set(t, "expirationSeconds", json!(3600));
            }
            if let Some(d) = source.get_mut("downwardAPI") {
                for item in each(d, "items") {
                    field_ref(item);
                }
            }
        }
    }
    if let Some(img) = m.get_mut("image").filter(|i| i.is_object()) {
        let reference = img
            .get("reference")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        set_zero(img, "pullPolicy", json!(pull_policy(&reference)));
    }
}

/// SetDefaults_PodSpec and everything nested in it.
pub fn pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    set_zero(spec, "dnsPolicy", json!("ClusterFirst"));
    set_zero(spec, "restartPolicy", json!("Always"));
    set(spec, "securityContext", json!({}));
    set(spec, "terminationGracePeriodSeconds", json!(30));
    set_zero(spec, "schedulerName", json!("default-scheduler"));
    let host_network = spec.get("hostNetwork").and_then(Value::as_bool) == Some(true);
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        for c in each(spec, list) {
            container(c, host_network && list != "ephemeralContainers");
        }
    }
    for v in each(spec, "volumes") {
        volume(v);
    }
}

/// A PodTemplateSpec: Go always writes its (empty) creationTimestamp.
pub fn pod_template(template: &mut Value) {
    if !template.is_object() {
        return;
    }
    if let Some(meta) = ensure_object(template, "metadata") {
        set_absent(meta, "creationTimestamp", Value::Null);
    }
    if let Some(spec) = template.get_mut("spec") {
        pod_spec(spec);
    }
}

/// Requests default to limits where unset (SetDefaults_Pod).
fn requests_from_limits(c: &mut Value) {
    let Some(limits) = c
        .pointer("/resources/limits")
        .and_then(Value::as_object)
        .cloned()
    else {
        return;
    };
    let Some(resources) = ensure_object(c, "resources") else {
        return;
    };
    let Some(requests) = ensure_object(resources, "requests").and_then(Value::as_object_mut) else {
        return;
    };
    for (k, v) in limits {
        requests.entry(k).or_insert(v);
    }
}

/// GetPodQOS over cpu and memory of the containers and init containers.
fn qos_class(spec: &Value) -> &'static str {
    let positive = |c: &Value, kind: &str, r: &str| {
        c.pointer(&format!("/resources/{kind}/{r}"))
            .and_then(|q| quantity::from_json(q).ok())
            .and_then(|q| q.nanos)
            .filter(|n| *n > 0)
    };
    let mut requests = [0i128; 2];
    let mut limits = [0i128; 2];
    let (mut any_request, mut any_limit, mut guaranteed) = ([false; 2], [false; 2], true);
    let containers = ["containers", "initContainers"]
        .into_iter()
        .flat_map(|l| spec.get(l).and_then(Value::as_array).into_iter().flatten());
    for c in containers {
        for (i, r) in ["cpu", "memory"].iter().enumerate() {
            if let Some(q) = positive(c, "requests", r) {
                any_request[i] = true;
                requests[i] = requests[i].saturating_add(q);
            }
            match positive(c, "limits", r) {
                Some(q) => {
                    any_limit[i] = true;
                    limits[i] = limits[i].saturating_add(q);
                }
                None => guaranteed = false,
            }
        }
    }
    if !any_request.iter().any(|x| *x) && !any_limit.iter().any(|x| *x) {
        return "BestEffort";
    }
    let same = (0..2).all(|i| any_request[i] == any_limit[i] && requests[i] == limits[i]);
    if guaranteed && same {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// Built-in priority classes the Priority admission plugin resolves without a lookup.
const SYSTEM_PRIORITIES: &[(&str, i64)] = &[
    ("", 0),
    ("system-cluster-critical", 2_000_000_000),
    ("system-node-critical", 2_000_001_000),
];

/// Pod-only defaults: SetDefaults_Pod, admission (Priority, DefaultTolerationSeconds) and the
/// status of a new pod.
pub fn pod(obj: &mut Value) {
    let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
        return;
    };
    for list in ["containers", "initContainers"] {
        for c in each(spec, list) {
            requests_from_limits(c);
        }
    }
    set(spec, "enableServiceLinks", json!(true));
    pod_spec(spec);
    let class = spec
        .get("priorityClassName")
        .and_then(Value::as_str)
        .unwrap_or("");
    if let Some((_, value)) = SYSTEM_PRIORITIES.iter().find(|(n, _)| *n == class) {
        set(spec, "priority", json!(value));
        set(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    }
    default_tolerations(spec);
    let qos = qos_class(spec);
    if let Some(status) = ensure_object(obj, "status") {
        set_zero(status, "phase", json!("Pending"));
        set_zero(status, "qosClass", json!(qos));
    }
}

/// DefaultTolerationSeconds: tolerate not-ready/unreachable nodes for 300 s.
fn default_tolerations(spec: &mut Value) {
    let existing = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let tolerates = |taint: &str| {
        existing.iter().any(|t| {
            let k = t.get("key").and_then(Value::as_str).unwrap_or("");
            let eff = t.get("effect").and_then(Value::as_str).unwrap_or("");
            (k == taint || k.is_empty()) && (eff == "NoExecute" || eff.is_empty())
        })
    };
    let missing: Vec<Value> = ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
        .into_iter()
        .filter(|t| !tolerates(t))
        .map(|t| json!({"effect": "NoExecute", "key": t, "operator": "Exists", "tolerationSeconds": 300}))
        .collect();
    if missing.is_empty() {
        return;
    }
    if let Some(list) = ensure_array(spec, "tolerations") {
        list.extend(missing);
    }
}

#[cfg(test)]
mod tests {
    use super::pull_policy;

    #[test]
    fn pull_policy_follows_the_tag() {
        for (image, policy) in [
            ("nginx", "Always"),
            ("nginx:latest", "Always"),
            ("nginx:1.25", "IfNotPresent"),
            ("localhost:5000/app", "Always"),
            ("registry.k8s.io/pause:3.9", "IfNotPresent"),
            ("busybox@sha256:abcd", "IfNotPresent"),
            ("NGINX", "IfNotPresent"),
            ("", "IfNotPresent"),
        ] {
            assert_eq!(pull_policy(image), policy, "{image}");
        }
    }
}
