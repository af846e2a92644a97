//! The ResourceQuota and LimitRanger admission plugins.
//!
//! LimitRanger: new pods get their namespace's LimitRange defaults (mutating, before
//! validation); pods on create and claims on create or update must then keep within the ranges.
//! ResourceQuota (validating, last): a write that would take a quota over its hard limits is
//! refused with 403 and kube's message; otherwise the quota is charged at once (its
//! `status.used` updated with the quota's resourceVersion as precondition, re-checked on a
//! conflict), so back-to-back creates cannot overshoot before the controller recounts.
//! Both refuse with `<resource> "<name>" is forbidden: <reason>` as admission.NewForbidden does.

use serde_json::Value;
use warren_apimachinery::error::{ApiError, qualified_resource};
use warren_apimachinery::quota::{self, Evaluator, Operation, QuotaState};
use warren_apimachinery::{limitrange, registry::Resource};

use crate::resources::{Addressed, ListRequest, list_objects};
use crate::state::AppState;

/// Conflicting writes to one quota are retried this often before the request fails.
const QUOTA_WRITE_ATTEMPTS: usize = 10;

/// The name admission errors use: the object's name, or its generateName before a name is
/// generated (admission's extractResourceName).
pub fn error_name(obj: &Value) -> String {
    let meta = &obj["metadata"];
    match meta["name"].as_str().filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None => meta["generateName"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    }
}

/// admission.NewForbidden.
fn forbidden(res: &Resource, name: &str, reason: &str) -> ApiError {
    let mut e = ApiError::forbidden(format!(
        "{} {name:?} is forbidden: {reason}",
        qualified_resource(&res.group, &res.plural)
    ));
    e.group = Some(res.group.clone());
    e.kind = Some(res.plural.clone());
    e.name = Some(name.to_string());
    e
}

fn is_core(res: &Resource, plural: &str) -> bool {
    res.group.is_empty() && res.plural == plural
}

/// The objects of a core resource in one namespace.
async fn list_core(state: &AppState, plural: &str, ns: &str) -> Result<Vec<Value>, ApiError> {
    let Some(res) = state.catalog.find("", "v1", plural) else {
        return Ok(Vec::new());
    };
    let a = Addressed {
        res,
        namespace: Some(ns.to_string()),
        name: None,
        subresource: None,
        finalize: false,
    };
    Ok(list_objects(state, &a, &ListRequest::everything(&a))
        .await?
        .items)
}

/// LimitRanger's mutating half: defaults for a new pod.
pub async fn default_limits(
    state: &AppState,
    res: &Resource,
    ns: Option<&str>,
    obj: &mut Value,
) -> Result<(), ApiError> {
    let Some(ns) = ns else { return Ok(()) };
    if !is_core(res, "pods") {
        return Ok(());
    }
    let ranges = list_core(state, "limitranges", ns).await?;
    limitrange::default_pod(&ranges, obj);
    Ok(())
}

/// LimitRanger's validating half: pods on create, claims on create and update.
pub async fn check_limits(
    state: &AppState,
    res: &Resource,
    ns: Option<&str>,
    obj: &Value,
    old: Option<&Value>,
    name: &str,
) -> Result<(), ApiError> {
    let Some(ns) = ns else { return Ok(()) };
    let pod = is_core(res, "pods") && old.is_none();
    let claim = is_core(res, "persistentvolumeclaims");
    if !pod && !claim {
        return Ok(());
    }
    // objects already being deleted are left alone
    if old.is_some_and(|o| o["metadata"]["deletionTimestamp"].is_string()) {
        return Ok(());
    }
    let ranges = list_core(state, "limitranges", ns).await?;
    if ranges.is_empty() {
        return Ok(());
    }
    let verdict = if pod {
        limitrange::validate_pod(&ranges, obj)
    } else {
        limitrange::validate_claim(&ranges, obj)
    };
    verdict.map_err(|reason| forbidden(res, name, &reason))
}

/// Events never count against quota (kube's default ignored resources).
fn ignored(res: &Resource) -> bool {
    res.plural == "events" && (res.group.is_empty() || res.group == "events.k8s.io")
}

/// The ResourceQuota plugin for a create (`old` None) or update of a namespaced object.
pub async fn charge_quota(
    state: &AppState,
    res: &Resource,
    ns: Option<&str>,
    obj: &Value,
    old: Option<&Value>,
    name: &str,
    dry_run: bool,
) -> Result<(), ApiError> {
    let Some(ns) = ns else { return Ok(()) };
    if !res.namespaced || ignored(res) {
        return Ok(());
    }
    let evaluator = Evaluator::for_resource(&res.group, &res.plural);
    let op = if old.is_some() {
        Operation::Update
    } else {
        Operation::Create
    };
    if !evaluator.handles(op) {
        return Ok(());
    }
    let Some(quota_res) = state.catalog.find("", "v1", "resourcequotas") else {
        return Ok(());
    };
    let quotas = list_core(state, "resourcequotas", ns).await?;
    if quotas.is_empty() {
        return Ok(());
    }
    let now = chrono::Utc::now();
    let states: Vec<QuotaState> = quotas.iter().map(QuotaState::from_json).collect();
    let charges = quota::check_request(&states, &evaluator, op, obj, old, now)
        .map_err(|reason| forbidden(res, name, &reason))?;
    if dry_run {
        return Ok(());
    }
    for (stored, used) in quotas.iter().zip(charges) {
        let Some(mut used) = used else { continue };
        let mut current = stored.clone();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let rev = current["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|r| r.parse::<i64>().ok())
                .unwrap_or(0);
            let mut next = current.clone();
            next["status"] = quota::status_with_used(&current, &used);
            match state.objects.update(&quota_res, &mut next, rev).await {
                Ok(()) => break,
                Err(e) if e.code() == 409 && attempts < QUOTA_WRITE_ATTEMPTS => {}
                Err(e) if e.code() == 404 => break,
                Err(e) => return Err(e),
            }
            // someone else charged or recounted this quota meanwhile: check again against it
            let qname = current["metadata"]["name"].as_str().unwrap_or_default();
            let Some((fresh, _)) = state.objects.get_opt(&quota_res, Some(ns), qname).await? else {
                break;
            };
            let again = quota::check_request(
                &[QuotaState::from_json(&fresh)],
                &evaluator,
                op,
                obj,
                old,
                now,
            )
            .map_err(|reason| forbidden(res, name, &reason))?;
            match again.into_iter().next().flatten() {
                Some(u) => used = u,
                None => break,
            }
            current = fresh;
        }
    }
    Ok(())
}
