//! `metadata.managedFields` on the write paths and server-side apply
//! (`application/apply-patch+yaml`), over the no-I/O engine in
//! `warren_apimachinery::apply`.
//!
//! Creates, updates and non-apply patches record an `Update` entry for the request's field
//! manager: the `fieldManager` query parameter, else the product name of the User-Agent (as
//! kube-apiserver does; kubectl names its commands' managers itself, `kubectl-create`,
//! `kubectl-client-side-apply`, `kubectl-edit`, ...). The server's own writes are
//! `kube-apiserver`'s. Status and scale writes carry `subresource`.
//!
//! An apply needs a `fieldManager`; it creates the object when missing (through the create
//! path: defaults, validation, namespace checks) or merges the configuration into the live
//! object (through the update path). Conflicts are a 409 with kube's wording; `force=true`
//! takes the fields over. `dryRun` is honoured by both paths.

use std::sync::Arc;

use serde_json::Value;
use warren_apimachinery::apply::{self as engine, Request, Reset, Ty};
use warren_apimachinery::error::{ApiError, FieldError, Reason};
use warren_apimachinery::patch::PatchType;
use warren_apimachinery::registry::{Resource, Subresource};

use crate::meta;
use crate::request::{FieldValidation, Query};
use crate::resources::{self, Addressed, Reply};
use crate::state::AppState;

/// How a write records managedFields.
#[derive(Debug, Clone, PartialEq)]
pub enum Tracking {
    /// An `Update` entry for the request's field manager (subresource from the address).
    Update,
    /// An update through the scale subresource.
    Scale,
    /// Server-side apply already computed these managedFields.
    Applied(Option<Value>),
}

/// The kube-apiserver field manager name limit.
const MAX_FIELD_MANAGER: usize = 128;

/// The type the engine walks objects of `res` with: the built-in definition, or the custom
/// resource's schema.
fn type_of(res: &Resource) -> Ty<'_> {
    match res.custom.as_deref() {
        Some(info) if info.raw_schema.is_object() => Ty::from_schema(&info.raw_schema),
        Some(_) => Ty::deduced(),
        None => Ty::builtin(&res.definition),
    }
}

/// `fieldManager`, else the User-Agent's product, else (the server's own writes)
/// `kube-apiserver`.
fn field_manager(query: &Query) -> String {
    if let Some(m) = query.get("fieldManager") {
        return m.to_string();
    }
    match query.user_agent() {
        Some(ua) => engine::manager_from_user_agent(ua),
        None => "kube-apiserver".to_string(),
    }
}

/// kube's ValidateFieldManager, reported as an invalid `<kind>.meta.k8s.io`.
fn check_field_manager(query: &Query, options_kind: &str) -> Result<(), ApiError> {
    let Some(m) = query.get("fieldManager") else {
        return Ok(());
    };
    let mut errors = Vec::new();
    if m.len() > MAX_FIELD_MANAGER {
        errors.push(FieldError::too_long("fieldManager", MAX_FIELD_MANAGER));
    }
    for (i, c) in m.char_indices() {
        if c.is_control() || (c.is_whitespace() && c != ' ') {
            errors.push(FieldError::invalid(
                "fieldManager",
                Value::String(m.to_string()),
                format!("invalid character U+{:04X} (at position {i})", c as u32),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid("meta.k8s.io", options_kind, "", &errors))
    }
}

fn subresource_name(a: &Addressed, tracking: &Tracking) -> &'static str {
    match (tracking, a.subresource) {
        (Tracking::Scale, _) => Subresource::Scale.name(),
        (_, Some(s)) => s.name(),
        (_, None) => "",
    }
}

/// The fields a write through `subresource` never owns (kube's reset fields).
fn reset_of(res: &Resource, subresource: &str) -> Reset {
    if subresource == "status" {
        Reset::AllButStatus
    } else if res.has_subresource(Subresource::Status) {
        Reset::Status
    } else {
        Reset::None
    }
}

fn set_managed_fields(obj: &mut Value, managed: Option<Value>) {
    let meta = meta::meta_mut(obj);
    match managed {
        Some(m) => {
            meta.insert("managedFields".into(), m);
        }
        None => {
            meta.remove("managedFields");
        }
    }
}

/// Records the create of `obj` (defaulted, not yet admitted) in its managedFields.
pub fn on_create(
    a: &Addressed,
    query: &Query,
    obj: &mut Value,
    tracking: Tracking,
) -> Result<(), ApiError> {
    track(a, query, None, obj, tracking, "CreateOptions")
}

/// Records an update from `old` to `new` (both as stored) in `new`'s managedFields.
pub fn on_update(
    a: &Addressed,
    query: &Query,
    old: &Value,
    new: &mut Value,
    tracking: Tracking,
) -> Result<(), ApiError> {
    let options = if matches!(tracking, Tracking::Applied(_)) {
        "PatchOptions"
    } else {
        "UpdateOptions"
    };
    track(a, query, Some(old), new, tracking, options)
}

fn track(
    a: &Addressed,
    query: &Query,
    old: Option<&Value>,
    new: &mut Value,
    tracking: Tracking,
    options_kind: &str,
) -> Result<(), ApiError> {
    if let Tracking::Applied(managed) = tracking {
        set_managed_fields(new, managed);
        return Ok(());
    }
    check_field_manager(query, options_kind)?;
    let res = &a.res;
    let subresource = subresource_name(a, &tracking);
    let manager = field_manager(query);
    let now = meta::now_rfc3339();
    let api_version = res.api_version();
    let req = Request {
        ty: type_of(res),
        api_version: &api_version,
        kind: &res.kind,
        subresource,
        manager: &manager,
        now: &now,
        reset: reset_of(res, subresource),
    };
    if old.is_none() {
        // what kube's strategies, allocators and admission add on create is not the creator's
        let mut view = new.clone();
        untracked_on_create(res, &mut view);
        engine::update_managed_fields(&req, None, &mut view);
        let managed = view
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
            .and_then(|m| m.remove("managedFields"));
        set_managed_fields(new, managed);
    } else {
        engine::update_managed_fields(&req, old, new);
    }
    Ok(())
}

/// Removes from a new object what warren's create-time defaulting adds although kube sets it
/// after the field manager ran (namespace finalizer, pod priority and default tolerations,
/// service IP families, generated Job selectors), so only the request and kube's defaulting
/// are owned by the creator.
fn untracked_on_create(res: &Resource, obj: &mut Value) {
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    match (res.group.as_str(), res.kind.as_str()) {
        ("", "Namespace") if spec.get("finalizers") == Some(&serde_json::json!(["kubernetes"])) => {
            spec.remove("finalizers");
        }
        ("", "Pod") => {
            spec.remove("priority");
            spec.remove("preemptionPolicy");
            if let Some(Value::Array(list)) = spec.get_mut("tolerations") {
                list.retain(|t| {
                    let added = t.get("effect").and_then(Value::as_str) == Some("NoExecute")
                        && t.get("operator").and_then(Value::as_str) == Some("Exists")
                        && t.get("tolerationSeconds").and_then(Value::as_i64) == Some(300)
                        && matches!(
                            t.get("key").and_then(Value::as_str),
                            Some("node.kubernetes.io/not-ready" | "node.kubernetes.io/unreachable")
                        );
                    !added
                });
                if list.is_empty() {
                    spec.remove("tolerations");
                }
            }
        }
        ("", "Service") => {
            if matches!(
                spec.get("ipFamilyPolicy").and_then(Value::as_str),
                Some("SingleStack" | "RequireDualStack")
            ) {
                spec.remove("ipFamilyPolicy");
            }
            if spec.get("ipFamilies") == Some(&serde_json::json!(["IPv4"])) {
                spec.remove("ipFamilies");
            }
        }
        ("batch", "Job") if spec.get("manualSelector").and_then(Value::as_bool) != Some(true) => {
            spec.remove("selector");
            if let Some(labels) = spec
                .get_mut("template")
                .and_then(|t| t.get_mut("metadata"))
                .and_then(|m| m.get_mut("labels"))
                .and_then(Value::as_object_mut)
            {
                for k in [
                    "controller-uid",
                    "batch.kubernetes.io/controller-uid",
                    "job-name",
                    "batch.kubernetes.io/job-name",
                ] {
                    labels.remove(k);
                }
            }
        }
        _ => {}
    }
}

/// kube's ValidatePatchOptions: `force` only for apply, which needs a `fieldManager`.
pub fn check_patch_options(query: &Query, patch_type: PatchType) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if patch_type == PatchType::Apply {
        if query.get("fieldManager").is_none() {
            errors.push(FieldError::required(
                "fieldManager",
                "is required for apply patch",
            ));
        }
    } else if query.get("force").is_some() {
        errors.push(FieldError::forbidden(
            "force",
            "may not be specified for non-apply patch",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "PatchOptions",
            "",
            &errors,
        ));
    }
    check_field_manager(query, "PatchOptions")
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// PATCH with `application/apply-patch+yaml`.
pub async fn apply_patch(
    state: &Arc<AppState>,
    a: &Addressed,
    name: &str,
    query: &Query,
    body: Value,
) -> Result<Reply, ApiError> {
    let res = &a.res;
    let force = query.flag("force")?;
    query.dry_run()?;
    let mut config = body;
    if !config.is_object() {
        return Err(ApiError::bad_request(format!(
            "error decoding YAML: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(&config)
        )));
    }
    if a.subresource == Some(Subresource::Scale) {
        return apply_scale(state, a, name, query, &config, force).await;
    }
    let mut warnings = Vec::new();
    crate::admission::check_fields(
        res,
        &mut config,
        FieldValidation::from_query(query)?,
        &mut warnings,
    )?;
    // kube checks the name of the result: an applied configuration without a name is fine
    // for an object that exists (kube-rs's status applies send none), not for a create.
    let config_name = meta::meta_str(&config, "name").unwrap_or("").to_string();
    let name_mismatch = || {
        ApiError::bad_request(format!(
            "the name of the object ({config_name}) does not match the name on the URL ({name})"
        ))
    };
    if !config_name.is_empty() && config_name != name {
        return Err(name_mismatch());
    }
    if let (Some(url_ns), Some(ns)) = (a.namespace.as_deref(), meta::meta_str(&config, "namespace"))
        && !ns.is_empty()
        && ns != url_ns
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    let manager = query.get("fieldManager").unwrap_or("").to_string();
    let api_version = res.api_version();
    let subresource = a.subresource.map(Subresource::name).unwrap_or("");
    let precondition = meta::meta_str(&config, "resourceVersion").is_some();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let now = meta::now_rfc3339();
        let req = Request {
            ty: type_of(res),
            api_version: &api_version,
            kind: &res.kind,
            subresource,
            manager: &manager,
            now: &now,
            reset: reset_of(res, subresource),
        };
        let live = state
            .objects
            .get_opt(res, a.namespace.as_deref(), name)
            .await?;
        let result = match live {
            None if a.subresource.is_some() => {
                return Err(ApiError::not_found(&res.group, &res.plural, name));
            }
            None if config_name.is_empty() => return Err(name_mismatch()),
            None => {
                let applied =
                    engine::apply(&req, None, &config, force).map_err(|e| e.to_api_error())?;
                let mut obj = applied.object;
                let managed = take_managed_fields(&mut obj);
                crate::admission::apply_defaults(res, &mut obj);
                let main = Addressed {
                    res: a.res.clone(),
                    namespace: a.namespace.clone(),
                    name: None,
                    subresource: None,
                    finalize: false,
                };
                resources::create_tracked(state, &main, query, obj, Tracking::Applied(managed))
                    .await
            }
            Some((old, old_rev)) => {
                let applied = engine::apply(&req, Some(&old), &config, force)
                    .map_err(|e| e.to_api_error())?;
                let mut obj = applied.object;
                let managed = take_managed_fields(&mut obj);
                // defaulted before the update compares specs, as kube's apply defaults
                crate::admission::apply_defaults(res, &mut obj);
                resources::write_update(
                    state,
                    a,
                    obj,
                    old,
                    old_rev,
                    query,
                    Vec::new(),
                    Tracking::Applied(managed),
                )
                .await
            }
        };
        match result {
            // someone else wrote in between: apply again to what is there now
            Err(e)
                if attempts < 5
                    && !precondition
                    && (e.reason == Reason::AlreadyExists
                        || (e.reason == Reason::Conflict && e.causes.is_empty())) =>
            {
                continue;
            }
            Err(e) => return Err(e),
            Ok(mut reply) => {
                warnings.append(&mut reply.warnings);
                reply.warnings = warnings;
                return Ok(reply);
            }
        }
    }
}

/// An apply to the scale subresource: the Scale's `spec.replicas` applied to the parent's
/// replicas field by a `scale` manager, with conflicts named as on the Scale object.
async fn apply_scale(
    state: &Arc<AppState>,
    a: &Addressed,
    name: &str,
    query: &Query,
    config: &Value,
    force: bool,
) -> Result<Reply, ApiError> {
    let res = &a.res;
    let s = |k: &str| config.get(k).and_then(Value::as_str).unwrap_or("");
    if s("apiVersion") != "autoscaling/v1" || s("kind") != "Scale" {
        let (group, version) = s("apiVersion")
            .split_once('/')
            .unwrap_or(("", s("apiVersion")));
        return Err(ApiError::bad_request(format!(
            "invalid object type: {group}/{version}, Kind={}",
            s("kind")
        )));
    }
    if config
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .is_some_and(|v| !v.is_null())
    {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    let config_name = meta::meta_str(config, "name").unwrap_or("");
    if !config_name.is_empty() && config_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({config_name}) does not match the name on the URL ({name})"
        )));
    }
    let replicas = config.pointer("/spec/replicas").and_then(Value::as_i64);
    if let Some(r) = replicas.filter(|r| *r < 0) {
        return Err(ApiError::invalid(
            "autoscaling",
            "Scale",
            name,
            &[FieldError::invalid(
                "spec.replicas",
                Value::from(r),
                "must be greater than or equal to 0",
            )],
        ));
    }
    let mut parent_config = serde_json::json!({
        "apiVersion": res.api_version(),
        "kind": res.kind,
        "metadata": {"name": name},
    });
    if let Some(r) = replicas {
        crate::admission::set_replicas(res, &mut parent_config, r);
    }
    let manager = query.get("fieldManager").unwrap_or("").to_string();
    let api_version = res.api_version();
    let main = Addressed {
        res: a.res.clone(),
        namespace: a.namespace.clone(),
        name: a.name.clone(),
        subresource: None,
        finalize: false,
    };
    let mut attempts = 0;
    loop {
        attempts += 1;
        let now = meta::now_rfc3339();
        let req = Request {
            ty: type_of(res),
            api_version: &api_version,
            kind: &res.kind,
            subresource: Subresource::Scale.name(),
            manager: &manager,
            now: &now,
            reset: reset_of(res, ""),
        };
        let (old, old_rev) = state.objects.get(res, a.namespace.as_deref(), name).await?;
        let applied = engine::apply(&req, Some(&old), &parent_config, force)
            .map_err(|e| scale_view(e).to_api_error())?;
        let mut obj = applied.object;
        let managed = take_managed_fields(&mut obj);
        crate::admission::apply_defaults(res, &mut obj);
        let result = resources::write_update(
            state,
            &main,
            obj,
            old,
            old_rev,
            query,
            Vec::new(),
            Tracking::Applied(managed),
        )
        .await;
        match result {
            Err(e) if attempts < 5 && e.reason == Reason::Conflict && e.causes.is_empty() => {
                continue;
            }
            Err(e) => return Err(e),
            Ok(reply) => return Ok(Reply::ok(resources::scale_of(res, &reply.body))),
        }
    }
}

/// Conflicts as the Scale object sees them: on `.spec.replicas`, updaters at autoscaling/v1.
fn scale_view(e: engine::ApplyError) -> engine::ApplyError {
    let engine::ApplyError::Conflicts(conflicts) = e else {
        return e;
    };
    let mut out: Vec<engine::Conflict> = Vec::new();
    for mut c in conflicts {
        c.path = vec![
            engine::PathElement::field("spec"),
            engine::PathElement::field("replicas"),
        ];
        if c.manager.operation == engine::Operation::Update {
            c.manager.api_version = "autoscaling/v1".into();
        }
        if !out.contains(&c) {
            out.push(c);
        }
    }
    engine::ApplyError::Conflicts(out)
}

fn take_managed_fields(obj: &mut Value) -> Option<Value> {
    obj.get_mut("metadata")
        .and_then(Value::as_object_mut)
        .and_then(|m| m.remove("managedFields"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use warren_apimachinery::registry::find_builtin;

    #[test]
    fn field_manager_comes_from_the_query_then_the_user_agent() {
        let q = Query::parse(Some("fieldManager=mine")).with_user_agent(Some("kubectl/v1.32.2"));
        assert_eq!(field_manager(&q), "mine");
        let q = Query::parse(None).with_user_agent(Some("kubectl/v1.32.2 (linux/amd64)"));
        assert_eq!(field_manager(&q), "kubectl");
        assert_eq!(field_manager(&Query::parse(None).with_user_agent(None)), "");
        assert_eq!(field_manager(&Query::default()), "kube-apiserver");
    }

    #[test]
    fn patch_options_follow_kube() {
        let e = check_patch_options(&Query::parse(None), PatchType::Apply).expect_err("manager");
        assert_eq!(e.code(), 422);
        assert_eq!(
            e.message,
            r#"PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch"#
        );
        let e = check_patch_options(&Query::parse(Some("force=true")), PatchType::Merge)
            .expect_err("force");
        assert_eq!(
            e.message,
            r#"PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch"#
        );
        let long = format!("fieldManager={}", "m".repeat(129));
        let e = check_patch_options(&Query::parse(Some(&long)), PatchType::Apply)
            .expect_err("too long");
        assert_eq!(
            e.message,
            r#"PatchOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes"#
        );
        assert!(
            check_patch_options(
                &Query::parse(Some("fieldManager=m&force=true")),
                PatchType::Apply
            )
            .is_ok()
        );
    }

    #[test]
    fn server_set_create_fields_are_not_the_creators() {
        let pod = find_builtin("", "v1", "pods").expect("pods");
        let mut p = json!({"spec": {"priority": 0, "preemptionPolicy": "PreemptLowerPriority",
        "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
        ]}});
        untracked_on_create(pod, &mut p);
        assert_eq!(p, json!({"spec": {}}));
        let mut mine = json!({"spec": {"tolerations": [{"key": "gpu", "operator": "Exists"}]}});
        untracked_on_create(pod, &mut mine);
        assert_eq!(mine["spec"]["tolerations"][0]["key"], "gpu");
        let ns = find_builtin("", "v1", "namespaces").expect("namespaces");
        let mut n = json!({"spec": {"finalizers": ["kubernetes"]}});
        untracked_on_create(ns, &mut n);
        assert_eq!(n, json!({"spec": {}}));
        let job = find_builtin("batch", "v1", "jobs").expect("jobs");
        let mut j = json!({"spec": {"selector": {"matchLabels": {"controller-uid": "u"}},
            "template": {"metadata": {"labels": {"controller-uid": "u", "job-name": "j", "app": "x"}}}}});
        untracked_on_create(job, &mut j);
        assert_eq!(
            j,
            json!({"spec": {"template": {"metadata": {"labels": {"app": "x"}}}}})
        );
    }
}
