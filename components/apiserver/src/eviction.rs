//! `pods/eviction` (kube's EvictionREST): a pod is deleted unless that would take its
//! PodDisruptionBudget below what it must keep — then 429 TooManyRequests, "Cannot evict pod as
//! it would violate the pod's disruption budget.". An allowed eviction takes one from the
//! budget's `disruptionsAllowed` and records the pod under `disruptedPods` (with the budget's
//! resourceVersion as precondition, retried on conflicts) before the pod is deleted, so
//! concurrent evictions cannot overdraw it; the disruption controller recounts afterwards.

use serde_json::{Value, json};
use warren_apimachinery::error::{ApiError, Reason};
use warren_apimachinery::selector::LabelSelector;

use crate::request::{Query, ResourcePath};
use crate::resources::{self, Addressed, DeleteOptions, ListRequest};
use crate::state::AppState;

/// kube's MaxDisruptedPodSize.
const MAX_DISRUPTED_PODS: usize = 2000;
const VIOLATION: &str = "Cannot evict pod as it would violate the pod's disruption budget.";

/// Whether the path is `pods/<name>/eviction`.
pub fn handles(rp: &ResourcePath) -> bool {
    rp.group.is_empty()
        && rp.version == "v1"
        && rp.plural == "pods"
        && rp.subresource.as_deref() == Some("eviction")
}

/// Pods whose eviction needs no budget: finished, pending, or already being deleted
/// (canIgnorePDB).
fn can_ignore_budget(pod: &Value) -> bool {
    matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed" | "Pending")
    ) || pod["metadata"]["deletionTimestamp"].is_string()
}

fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn too_many_requests(cause: String) -> ApiError {
    let mut e = ApiError::new(Reason::TooManyRequests, VIOLATION);
    e.causes = vec![json!({"reason": "DisruptionBudget", "message": cause})];
    e
}

/// What the budget says about one more disruption: Ok(true) to take one from it, Ok(false)
/// to evict without (an unhealthy pod the policy lets go), or the refusal.
pub fn budget_decision(pdb: &Value, pod: &Value) -> Result<bool, ApiError> {
    let name = pdb["metadata"]["name"].as_str().unwrap_or_default();
    let status = &pdb["status"];
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    if !is_ready(pod) {
        let policy = pdb["spec"]["unhealthyPodEvictionPolicy"]
            .as_str()
            .unwrap_or("IfHealthyBudget");
        if policy == "AlwaysAllow" {
            return Ok(false);
        }
        let desired = int(&status["desiredHealthy"]);
        if int(&status["currentHealthy"]) >= desired && desired > 0 {
            return Ok(false);
        }
    }
    if int(&status["observedGeneration"]) < int(&pdb["metadata"]["generation"]) {
        return Err(too_many_requests(format!(
            "The disruption budget {name} is still being processed by the server."
        )));
    }
    let allowed = int(&status["disruptionsAllowed"]);
    if allowed < 0 {
        return Err(ApiError::forbidden("pdb disruptions allowed is negative"));
    }
    if status["disruptedPods"]
        .as_object()
        .is_some_and(|m| m.len() > MAX_DISRUPTED_PODS)
    {
        return Err(ApiError::forbidden(
            "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
        ));
    }
    if allowed == 0 {
        return Err(too_many_requests(format!(
            "The disruption budget {name} needs {} healthy pods and has {} currently",
            int(&status["desiredHealthy"]),
            int(&status["currentHealthy"]),
        )));
    }
    Ok(true)
}

/// The budget after one disruption of `pod` at `now`.
pub fn take_one(pdb: &Value, pod: &str, now: &str) -> Value {
    let mut next = pdb.clone();
    let status = &mut next["status"];
    let allowed = status["disruptionsAllowed"].as_i64().unwrap_or(0) - 1;
    status["disruptionsAllowed"] = json!(allowed);
    if !status["disruptedPods"].is_object() {
        status["disruptedPods"] = json!({});
    }
    status["disruptedPods"][pod] = json!(now);
    if allowed == 0 {
        let generation = status["observedGeneration"].clone();
        let conditions = status["conditions"].as_array_mut();
        let updated = json!({"type": "DisruptionAllowed", "status": "False",
            "reason": "InsufficientPods", "message": "", "observedGeneration": generation,
            "lastTransitionTime": now});
        match conditions {
            Some(list) => match list.iter_mut().find(|c| c["type"] == "DisruptionAllowed") {
                Some(c) if c["status"] == "False" => {
                    let since = c["lastTransitionTime"].clone();
                    *c = updated;
                    c["lastTransitionTime"] = since;
                }
                Some(c) => *c = updated,
                None => list.push(updated),
            },
            None => status["conditions"] = json!([updated]),
        }
    }
    next
}

async fn budgets_for(state: &AppState, ns: &str, pod: &Value) -> Result<Vec<Value>, ApiError> {
    let Some(res) = state.catalog.find("policy", "v1", "poddisruptionbudgets") else {
        return Ok(Vec::new());
    };
    let a = Addressed {
        res,
        namespace: Some(ns.to_string()),
        name: None,
        subresource: None,
        finalize: false,
    };
    let all = resources::list_objects(state, &a, &ListRequest::everything(&a)).await?;
    let labels = pod["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    Ok(all
        .items
        .into_iter()
        .filter(|p| {
            // policy/v1: a missing selector selects nothing, an empty one every pod
            LabelSelector::from_label_selector(&p["spec"]["selector"])
                .is_ok_and(|s| s.matches(&labels))
        })
        .collect())
}

/// Serves a POST to `pods/<name>/eviction`.
pub async fn serve(
    state: &std::sync::Arc<AppState>,
    method: &http::Method,
    rp: &ResourcePath,
    body: Option<Value>,
    dry_run: bool,
) -> Result<(u16, Value), ApiError> {
    if *method != http::Method::POST {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    let pod_name = rp.name.as_deref().unwrap_or_default();
    let ns = rp.namespace.as_deref().unwrap_or_default();
    let body = body.unwrap_or_else(|| json!({}));
    let named = body["metadata"]["name"].as_str().unwrap_or_default();
    if !named.is_empty() && named != pod_name {
        return Err(ApiError::bad_request(
            "name in URL does not match name in Eviction object",
        ));
    }
    let pods = state
        .catalog
        .find("", "v1", "pods")
        .ok_or_else(|| ApiError::internal("pods not served"))?;
    for _ in 0..16 {
        let (pod, _) = state.objects.get(&pods, Some(ns), pod_name).await?;
        if !can_ignore_budget(&pod) {
            let budgets = budgets_for(state, ns, &pod).await?;
            if budgets.len() > 1 {
                return Err(ApiError::internal(
                    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
                ));
            }
            if let Some(pdb) = budgets.first()
                && budget_decision(pdb, &pod)?
                && !dry_run
            {
                let res = state
                    .catalog
                    .find("policy", "v1", "poddisruptionbudgets")
                    .ok_or_else(|| ApiError::internal("poddisruptionbudgets not served"))?;
                let rev = pdb["metadata"]["resourceVersion"]
                    .as_str()
                    .and_then(|r| r.parse::<i64>().ok())
                    .unwrap_or(0);
                let mut next = take_one(pdb, pod_name, &crate::meta::now_rfc3339());
                match state.objects.update(&res, &mut next, rev).await {
                    Ok(()) => {}
                    // another eviction or the controller wrote it meanwhile: decide again
                    Err(e) if e.code() == 409 => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        let mut opts = DeleteOptions::parse(body.get("deleteOptions"), &Query::default())?;
        opts.dry_run = opts.dry_run || dry_run;
        if opts.precondition_uid.is_none() {
            opts.precondition_uid = pod["metadata"]["uid"].as_str().map(str::to_string);
        }
        let one = Addressed {
            res: pods.clone(),
            namespace: Some(ns.to_string()),
            name: Some(pod_name.to_string()),
            subresource: None,
            finalize: false,
        };
        resources::delete(state, &one, pod_name, &opts).await?;
        return Ok((
            201,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
        ));
    }
    Err(ApiError::new(
        Reason::TooManyRequests,
        "too many concurrent evictions; please retry",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdb(status: Value) -> Value {
        json!({"metadata": {"name": "web", "generation": 1}, "spec": {"minAvailable": 2}, "status": status})
    }

    fn pod(ready: bool) -> Value {
        json!({"metadata": {"name": "p"}, "status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}})
    }

    #[test]
    fn budgets_allow_or_refuse_with_kubes_messages() {
        let ok = pdb(json!({"observedGeneration": 1, "disruptionsAllowed": 1,
            "currentHealthy": 3, "desiredHealthy": 2}));
        assert_eq!(budget_decision(&ok, &pod(true)), Ok(true));
        let none = pdb(json!({"observedGeneration": 1, "disruptionsAllowed": 0,
            "currentHealthy": 2, "desiredHealthy": 2}));
        let e = budget_decision(&none, &pod(true)).expect_err("violation");
        assert_eq!(e.code(), 429);
        assert_eq!(e.message, VIOLATION);
        assert_eq!(
            e.to_status()["details"]["causes"],
            json!([{"reason": "DisruptionBudget", "message": "The disruption budget web needs 2 healthy pods and has 2 currently"}])
        );
        // an unhealthy pod of a healthy budget goes without using it up
        assert_eq!(budget_decision(&none, &pod(false)), Ok(false));
        let stale = pdb(json!({"observedGeneration": 0, "disruptionsAllowed": 1}));
        let e = budget_decision(&stale, &pod(true)).expect_err("stale");
        assert_eq!(
            e.causes[0]["message"],
            "The disruption budget web is still being processed by the server."
        );
        assert!(can_ignore_budget(
            &json!({"status": {"phase": "Pending"}, "metadata": {}})
        ));
    }

    #[test]
    fn an_eviction_takes_one_from_the_budget() {
        let b = pdb(json!({"observedGeneration": 1, "disruptionsAllowed": 1,
            "conditions": [{"type": "DisruptionAllowed", "status": "True", "reason": "SufficientPods",
                            "message": "", "observedGeneration": 1, "lastTransitionTime": "2026-01-01T00:00:00Z"}]}));
        let next = take_one(&b, "p", "2026-01-02T00:00:00Z");
        assert_eq!(next["status"]["disruptionsAllowed"], 0);
        assert_eq!(
            next["status"]["disruptedPods"],
            json!({"p": "2026-01-02T00:00:00Z"})
        );
        assert_eq!(
            next["status"]["conditions"][0],
            json!({"type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods",
                   "message": "", "observedGeneration": 1, "lastTransitionTime": "2026-01-02T00:00:00Z"})
        );
    }
}
