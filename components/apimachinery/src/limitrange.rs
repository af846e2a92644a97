//! The LimitRanger admission plugin's rules: default requests and limits for the containers of
//! new pods (with the `kubernetes.io/limit-ranger` annotation saying what was set), and the
//! min / max / maxLimitRequestRatio checks for Containers, Pods and PersistentVolumeClaims,
//! with kube's messages (`minimum cpu usage per Container is 100m, but request is 50m`).

use serde_json::{Map, Value, json};

use crate::quantity::Quantity;
use crate::quota::{ResourceList, list_from_json, pod_totals};

/// The annotation that records the defaults applied.
pub const ANNOTATION: &str = "kubernetes.io/limit-ranger";

fn items<'a>(range: &'a Value, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    range["spec"]["limits"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |l| l["type"] == kind)
}

/// Sorted (name, quantity) pairs of one field of a limit item.
fn field(item: &Value, name: &str) -> ResourceList {
    list_from_json(item.get(name))
}

/// PodMutateLimitFunc for every range in turn: missing requests and limits of containers and
/// init containers come from the ranges' Container `defaultRequest` and `default`.
pub fn default_pod(ranges: &[Value], pod: &mut Value) {
    for range in ranges {
        let mut requests = ResourceList::new();
        let mut limits = ResourceList::new();
        for item in items(range, "Container") {
            requests.extend(field(item, "defaultRequest"));
            limits.extend(field(item, "default"));
        }
        let mut notes: Vec<String> = Vec::new();
        for (list, what) in [
            ("containers", "container"),
            ("initContainers", "init container"),
        ] {
            let Some(cs) = pod["spec"][list].as_array_mut() else {
                continue;
            };
            for c in cs {
                let name = c["name"].as_str().unwrap_or_default().to_string();
                let set_requests = fill(c, "requests", &requests);
                let set_limits = fill(c, "limits", &limits);
                if !set_requests.is_empty() {
                    notes.push(format!(
                        "{} request for {what} {name}",
                        set_requests.join(", ")
                    ));
                }
                if !set_limits.is_empty() {
                    notes.push(format!("{} limit for {what} {name}", set_limits.join(", ")));
                }
            }
        }
        if !notes.is_empty() {
            let meta = &mut pod["metadata"];
            if !meta["annotations"].is_object() {
                meta["annotations"] = json!({});
            }
            meta["annotations"][ANNOTATION] =
                json!(format!("LimitRanger plugin set: {}", notes.join("; ")));
        }
    }
}

/// Sets the defaults a container lacks under `resources.<which>`; returns their names, sorted.
fn fill(c: &mut Value, which: &str, defaults: &ResourceList) -> Vec<String> {
    let mut set = Vec::new();
    if defaults.is_empty() || !c.is_object() {
        return set;
    }
    if !c["resources"].is_object() {
        c["resources"] = json!({});
    }
    let existing = c["resources"][which]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut out: Map<String, Value> = existing.clone();
    for (k, v) in defaults {
        if !existing.contains_key(k) {
            out.insert(k.clone(), json!(v.to_string()));
            set.push(k.clone());
        }
    }
    if !set.is_empty() {
        c["resources"][which] = Value::Object(out);
    }
    set
}

/// The comparable values of request, limit and the enforced bound: thousandths when all fit,
/// whole units otherwise (requestLimitEnforcedValues).
fn comparable(
    request: Option<&Quantity>,
    limit: Option<&Quantity>,
    enforced: &Quantity,
) -> (i64, i64, i64) {
    let zero = Quantity::zero();
    let (r, l) = (request.unwrap_or(&zero), limit.unwrap_or(&zero));
    const MAX_MILLI: i64 = i64::MAX / 1000;
    if r.value() <= MAX_MILLI && l.value() <= MAX_MILLI && enforced.value() <= MAX_MILLI {
        (r.milli_value(), l.milli_value(), enforced.milli_value())
    } else {
        (r.value(), l.value(), enforced.value())
    }
}

fn min_constraint(
    kind: &str,
    resource: &str,
    enforced: &Quantity,
    requests: &ResourceList,
    limits: &ResourceList,
) -> Option<String> {
    let (req, lim) = (requests.get(resource), limits.get(resource));
    let (r, l, e) = comparable(req, lim, enforced);
    match (req, lim) {
        (None, _) => Some(format!(
            "minimum {resource} usage per {kind} is {enforced}.  No request is specified"
        )),
        (Some(req), _) if r < e => Some(format!(
            "minimum {resource} usage per {kind} is {enforced}, but request is {req}"
        )),
        (_, Some(lim)) if l < e => Some(format!(
            "minimum {resource} usage per {kind} is {enforced}, but limit is {lim}"
        )),
        _ => None,
    }
}

fn max_constraint(
    kind: &str,
    resource: &str,
    enforced: &Quantity,
    requests: &ResourceList,
    limits: &ResourceList,
) -> Option<String> {
    let (req, lim) = (requests.get(resource), limits.get(resource));
    let (r, l, e) = comparable(req, lim, enforced);
    match (req, lim) {
        (_, None) => Some(format!(
            "maximum {resource} usage per {kind} is {enforced}.  No limit is specified"
        )),
        (_, Some(lim)) if l > e => Some(format!(
            "maximum {resource} usage per {kind} is {enforced}, but limit is {lim}"
        )),
        (Some(req), _) if r > e => Some(format!(
            "maximum {resource} usage per {kind} is {enforced}, but request is {req}"
        )),
        _ => None,
    }
}

/// maxRequestConstraint (claims: only requests count).
fn max_request_constraint(
    kind: &str,
    resource: &str,
    enforced: &Quantity,
    requests: &ResourceList,
) -> Option<String> {
    let req = requests.get(resource);
    let (r, _, e) = comparable(req, None, enforced);
    match req {
        None => Some(format!(
            "maximum {resource} usage per {kind} is {enforced}.  No request is specified"
        )),
        Some(req) if r > e => Some(format!(
            "maximum {resource} usage per {kind} is {enforced}, but request is {req}"
        )),
        _ => None,
    }
}

fn ratio_constraint(
    kind: &str,
    resource: &str,
    enforced: &Quantity,
    requests: &ResourceList,
    limits: &ResourceList,
) -> Option<String> {
    let (req, lim) = (requests.get(resource), limits.get(resource));
    let (r, l, _) = comparable(req, lim, enforced);
    if req.is_none() || r == 0 {
        return Some(format!(
            "{resource} max limit to request ratio per {kind} is {enforced}, but no request is specified or request is 0"
        ));
    }
    if lim.is_none() || l == 0 {
        return Some(format!(
            "{resource} max limit to request ratio per {kind} is {enforced}, but no limit is specified or limit is 0"
        ));
    }
    let observed = l as f64 / r as f64;
    let (scaled, max) = if enforced.value() <= i64::MAX / 1000 {
        (observed * 1000.0, enforced.milli_value() as f64)
    } else {
        (observed, enforced.value() as f64)
    };
    (scaled > max).then(|| {
        format!(
            "{resource} max limit to request ratio per {kind} is {enforced}, but provided ratio is {observed:.6}"
        )
    })
}

/// Checks one bounds item against requests and limits.
fn check_item(
    item: &Value,
    kind: &str,
    requests: &ResourceList,
    limits: &ResourceList,
    errs: &mut Vec<String>,
) {
    for (k, v) in field(item, "min") {
        errs.extend(min_constraint(kind, &k, &v, requests, limits));
    }
    for (k, v) in field(item, "max") {
        errs.extend(max_constraint(kind, &k, &v, requests, limits));
    }
    for (k, v) in field(item, "maxLimitRequestRatio") {
        errs.extend(ratio_constraint(kind, &k, &v, requests, limits));
    }
}

/// utilerrors.NewAggregate(...).Error(): one message alone, several in brackets, duplicates
/// once.
fn aggregate(errs: Vec<String>) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    let unique: Vec<String> = errs
        .into_iter()
        .filter(|e| seen.insert(e.clone()))
        .collect();
    match unique.as_slice() {
        [] => Ok(()),
        [one] => Err(one.clone()),
        many => Err(format!("[{}]", many.join(", "))),
    }
}

/// PodValidateLimitFunc for each range in turn; the first range a pod breaks gives the
/// message (the text after `pods "x" is forbidden: `).
pub fn validate_pod(ranges: &[Value], pod: &Value) -> Result<(), String> {
    for range in ranges {
        let mut errs = Vec::new();
        for item in range["spec"]["limits"].as_array().into_iter().flatten() {
            match item["type"].as_str() {
                Some("Container") => {
                    for list in ["containers", "initContainers"] {
                        for c in pod["spec"][list].as_array().into_iter().flatten() {
                            let requests = list_from_json(c.pointer("/resources/requests"));
                            let limits = list_from_json(c.pointer("/resources/limits"));
                            check_item(item, "Container", &requests, &limits, &mut errs);
                        }
                    }
                }
                Some("Pod") => {
                    let requests = pod_totals_without_overhead(pod, "requests");
                    let limits = pod_totals_without_overhead(pod, "limits");
                    check_item(item, "Pod", &requests, &limits, &mut errs);
                }
                _ => {}
            }
        }
        aggregate(errs)?;
    }
    Ok(())
}

/// The plugin's own podRequests/podLimits leave pod overhead out.
fn pod_totals_without_overhead(pod: &Value, which: &str) -> ResourceList {
    let mut bare = pod.clone();
    if let Some(spec) = bare["spec"].as_object_mut() {
        spec.remove("overhead");
    }
    pod_totals(&bare, which)
}

/// PersistentVolumeClaimValidateLimitFunc: storage requests within min and max.
pub fn validate_claim(ranges: &[Value], claim: &Value) -> Result<(), String> {
    let requests = list_from_json(claim.pointer("/spec/resources/requests"));
    for range in ranges {
        let mut errs = Vec::new();
        for item in items(range, "PersistentVolumeClaim") {
            for (k, v) in field(item, "min") {
                errs.extend(min_constraint(
                    "PersistentVolumeClaim",
                    &k,
                    &v,
                    &requests,
                    &ResourceList::new(),
                ));
            }
            for (k, v) in field(item, "max") {
                errs.extend(max_request_constraint(
                    "PersistentVolumeClaim",
                    &k,
                    &v,
                    &requests,
                ));
            }
        }
        aggregate(errs)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(limits: Value) -> Value {
        json!({"metadata": {"name": "lr"}, "spec": {"limits": limits}})
    }

    #[test]
    fn defaults_fill_missing_requests_and_limits() {
        let ranges = [range(json!([{"type": "Container",
            "default": {"cpu": "0.5", "memory": "256Mi"},
            "defaultRequest": {"cpu": "100m", "memory": "128Mi"}}]))];
        let mut pod = json!({"metadata": {"name": "p"}, "spec": {
            "containers": [
                {"name": "app"},
                {"name": "side", "resources": {"requests": {"cpu": "50m"}, "limits": {"cpu": "1"}}},
            ],
            "initContainers": [{"name": "init", "resources": {"limits": {"memory": "1Gi"}}}],
        }});
        default_pod(&ranges, &mut pod);
        assert_eq!(
            pod["spec"]["containers"][0]["resources"],
            json!({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}})
        );
        assert_eq!(
            pod["spec"]["containers"][1]["resources"],
            json!({"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}})
        );
        assert_eq!(
            pod["metadata"]["annotations"][ANNOTATION],
            "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app; \
             memory request for container side; memory limit for container side; \
             cpu, memory request for init container init; cpu limit for init container init"
        );
        // nothing to set: no annotation
        let mut bare = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}});
        default_pod(
            &[range(json!([{"type": "Pod", "max": {"cpu": "1"}}]))],
            &mut bare,
        );
        assert!(bare["metadata"].get("annotations").is_none());
        assert!(bare["spec"]["containers"][0].get("resources").is_none());
    }

    fn pod(resources: Value) -> Value {
        json!({"metadata": {"name": "x"}, "spec": {"containers": [{"name": "c", "resources": resources}]}})
    }

    #[test]
    fn container_bounds_use_kubes_messages() {
        let ranges = [range(json!([{"type": "Container",
            "min": {"cpu": "100m"}, "max": {"cpu": "2", "memory": "1Gi"}}]))];
        let ok =
            pod(json!({"requests": {"cpu": "100m"}, "limits": {"cpu": "1", "memory": "512Mi"}}));
        assert_eq!(validate_pod(&ranges, &ok), Ok(()));
        let small =
            pod(json!({"requests": {"cpu": "50m"}, "limits": {"cpu": "1", "memory": "512Mi"}}));
        assert_eq!(
            validate_pod(&ranges, &small),
            Err("minimum cpu usage per Container is 100m, but request is 50m".into())
        );
        let big =
            pod(json!({"requests": {"cpu": "100m"}, "limits": {"cpu": "3", "memory": "2Gi"}}));
        assert_eq!(
            validate_pod(&ranges, &big),
            Err("[maximum cpu usage per Container is 2, but limit is 3, maximum memory usage per Container is 1Gi, but limit is 2Gi]".into())
        );
        let none = pod(json!({}));
        assert_eq!(
            validate_pod(&ranges, &none),
            Err("[minimum cpu usage per Container is 100m.  No request is specified, maximum cpu usage per Container is 2.  No limit is specified, maximum memory usage per Container is 1Gi.  No limit is specified]".into())
        );
    }

    #[test]
    fn ratio_and_pod_bounds() {
        let ranges = [range(
            json!([{"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}]),
        )];
        let p = pod(json!({"requests": {"cpu": "100m"}, "limits": {"cpu": "300m"}}));
        assert_eq!(
            validate_pod(&ranges, &p),
            Err(
                "cpu max limit to request ratio per Container is 2, but provided ratio is 3.000000"
                    .into()
            )
        );
        let p = pod(json!({"limits": {"cpu": "300m"}}));
        assert_eq!(
            validate_pod(&ranges, &p),
            Err("cpu max limit to request ratio per Container is 2, but no request is specified or request is 0".into())
        );
        let ranges = [range(json!([{"type": "Pod", "max": {"memory": "1Gi"}}]))];
        let p = json!({"spec": {"containers": [
            {"name": "a", "resources": {"limits": {"memory": "768Mi"}}},
            {"name": "b", "resources": {"limits": {"memory": "512Mi"}}},
        ]}});
        assert_eq!(
            validate_pod(&ranges, &p),
            Err("maximum memory usage per Pod is 1Gi, but limit is 1280Mi".into())
        );
    }

    #[test]
    fn claims_are_bounded_by_their_requests() {
        let ranges = [range(json!([{"type": "PersistentVolumeClaim",
            "min": {"storage": "1Gi"}, "max": {"storage": "10Gi"}}]))];
        let claim = |s: &str| json!({"spec": {"resources": {"requests": {"storage": s}}}});
        assert_eq!(validate_claim(&ranges, &claim("5Gi")), Ok(()));
        assert_eq!(
            validate_claim(&ranges, &claim("500Mi")),
            Err(
                "minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi"
                    .into()
            )
        );
        assert_eq!(
            validate_claim(&ranges, &claim("20Gi")),
            Err(
                "maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi"
                    .into()
            )
        );
    }
}
