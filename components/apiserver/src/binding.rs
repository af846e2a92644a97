//! `pods/binding`: a scheduler assigns a pod to a node (kube's BindingREST). The pod gets
//! `spec.nodeName`, the binding's annotations and a `PodScheduled=True` condition; a pod that is
//! already assigned or being deleted answers 409.

use serde_json::{Value, json};
use warren_apimachinery::error::{ApiError, FieldError};

use crate::meta::now_rfc3339;
use crate::request::ResourcePath;
use crate::state::AppState;

/// Whether the path is `pods/<name>/binding`.
pub fn handles(rp: &ResourcePath) -> bool {
    rp.group.is_empty()
        && rp.version == "v1"
        && rp.plural == "pods"
        && rp.subresource.as_deref() == Some("binding")
}

/// What a Binding asks for, checked as kube validates it.
#[derive(Debug, PartialEq)]
pub struct BindingRequest {
    pub node: String,
    pub annotations: serde_json::Map<String, Value>,
    pub uid: Option<String>,
}

/// Checks a Binding body against the pod name in the URL.
pub fn parse(pod: &str, body: &Value) -> Result<BindingRequest, ApiError> {
    let name = body["metadata"]["name"].as_str().unwrap_or("");
    if !name.is_empty() && name != pod {
        return Err(ApiError::bad_request(
            "name in URL does not match name in Binding object",
        ));
    }
    let kind = body["target"]["kind"].as_str().unwrap_or("");
    let node = body["target"]["name"].as_str().unwrap_or("");
    let mut errors = Vec::new();
    if !kind.is_empty() && kind != "Node" {
        errors.push(FieldError::not_supported(
            "target.kind",
            json!(kind),
            &["Node", "<empty>"],
        ));
    }
    if node.is_empty() {
        errors.push(FieldError::required("target.name", ""));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid("", "Binding", pod, &errors));
    }
    Ok(BindingRequest {
        node: node.to_string(),
        annotations: body["metadata"]["annotations"]
            .as_object()
            .cloned()
            .unwrap_or_default(),
        uid: body["metadata"]["uid"]
            .as_str()
            .filter(|u| !u.is_empty())
            .map(str::to_string),
    })
}

fn conflict(pod: &str, why: String) -> ApiError {
    ApiError::conflict("", "pods/binding", pod, &why)
}

/// Applies a binding to a pod object; `Err` when the pod cannot take it.
pub fn assign(pod_name: &str, pod: &mut Value, req: &BindingRequest) -> Result<(), ApiError> {
    if pod["metadata"]["deletionTimestamp"].is_string() {
        return Err(conflict(
            pod_name,
            format!("pod {pod_name} is being deleted, cannot be assigned to a host"),
        ));
    }
    if let Some(uid) = &req.uid
        && pod["metadata"]["uid"].as_str() != Some(uid.as_str())
    {
        return Err(conflict(
            pod_name,
            format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                pod["metadata"]["uid"].as_str().unwrap_or("")
            ),
        ));
    }
    if let Some(node) = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
        return Err(conflict(
            pod_name,
            format!("pod {pod_name} is already assigned to node {node:?}"),
        ));
    }
    pod["spec"]["nodeName"] = json!(req.node);
    if !req.annotations.is_empty() {
        let meta = &mut pod["metadata"];
        if !meta["annotations"].is_object() {
            meta["annotations"] = json!({});
        }
        for (k, v) in &req.annotations {
            meta["annotations"][k] = v.clone();
        }
    }
    let condition = json!({
        "type": "PodScheduled",
        "status": "True",
        "lastProbeTime": null,
        "lastTransitionTime": now_rfc3339(),
    });
    if !pod["status"].is_object() {
        pod["status"] = json!({});
    }
    let status = &mut pod["status"];
    match status["conditions"].as_array_mut() {
        Some(list) => {
            if let Some(c) = list.iter_mut().find(|c| c["type"] == "PodScheduled") {
                if c["status"] != "True" {
                    *c = condition;
                }
            } else {
                list.push(condition);
            }
        }
        None => status["conditions"] = json!([condition]),
    }
    Ok(())
}

/// Serves a POST to `pods/<name>/binding`.
pub async fn serve(
    state: &AppState,
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
    let pod_name = rp.name.as_deref().unwrap_or("");
    let req = parse(pod_name, &body.unwrap_or_else(|| json!({})))?;
    let res = state
        .catalog
        .find("", "v1", "pods")
        .ok_or_else(|| ApiError::internal("pods not served"))?;
    let ns = rp.namespace.as_deref();
    // Retry on a concurrent write, as kube's GuaranteedUpdate does.
    for _ in 0..16 {
        let (mut pod, rev) = state.objects.get(&res, ns, pod_name).await?;
        assign(pod_name, &mut pod, &req)?;
        if dry_run {
            break;
        }
        match state.objects.update(&res, &mut pod, rev).await {
            Ok(()) => break,
            Err(e) if e.code() == 409 => continue,
            Err(e) => return Err(e),
        }
    }
    Ok((
        201,
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "code": 201,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> Value {
        json!({"metadata": {"name": "p", "uid": "u1"}, "spec": {"containers": []}})
    }

    #[test]
    fn binding_sets_node_annotations_and_condition() {
        let req = parse(
            "p",
            &json!({"metadata": {"name": "p", "annotations": {"a": "b"}}, "target": {"kind": "Node", "name": "n1"}}),
        )
        .expect("valid");
        let mut p = pod();
        assign("p", &mut p, &req).expect("assign");
        assert_eq!(p["spec"]["nodeName"], "n1");
        assert_eq!(p["metadata"]["annotations"]["a"], "b");
        assert_eq!(p["status"]["conditions"][0]["type"], "PodScheduled");
        assert_eq!(p["status"]["conditions"][0]["status"], "True");
        let e = assign("p", &mut p, &req).expect_err("second binding");
        assert_eq!(e.code(), 409);
        assert_eq!(
            e.message,
            "Operation cannot be fulfilled on pods/binding \"p\": pod p is already assigned to node \"n1\""
        );
    }

    #[test]
    fn binding_checks_as_kube() {
        let e = parse(
            "p",
            &json!({"metadata": {"name": "q"}, "target": {"name": "n"}}),
        )
        .expect_err("name");
        assert_eq!(e.code(), 400);
        let e = parse("p", &json!({"target": {"kind": "Pod"}})).expect_err("kind and name");
        assert_eq!(e.code(), 422);
        assert!(
            e.message
                .contains("target.kind: Unsupported value: \"Pod\""),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("target.name: Required value"),
            "{}",
            e.message
        );
        let mut p = pod();
        p["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        let req = parse("p", &json!({"target": {"name": "n"}})).expect("valid");
        assert_eq!(assign("p", &mut p, &req).expect_err("deleting").code(), 409);
        let req = parse(
            "p",
            &json!({"metadata": {"uid": "other"}, "target": {"name": "n"}}),
        )
        .expect("valid");
        assert_eq!(assign("p", &mut pod(), &req).expect_err("uid").code(), 409);
    }
}
