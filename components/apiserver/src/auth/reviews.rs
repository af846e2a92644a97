//! The create-only, never-stored resources of authentication and authorization:
//! `serviceaccounts/token` (TokenRequest), TokenReview, SelfSubjectReview,
//! SubjectAccessReview, SelfSubjectAccessReview, LocalSubjectAccessReview and
//! SelfSubjectRulesReview.

use serde_json::{Value, json};
use warren_apimachinery::error::{ApiError, FieldError};
use warren_apimachinery::rbac::{self, Attributes, UserInfo};

use super::{
    DEFAULT_TOKEN_SECONDS, MAX_TOKEN_SECONDS, MIN_TOKEN_SECONDS, authenticate_token, current_user,
    token_claims,
};
use crate::meta::now_rfc3339;
use crate::request::ResourcePath;
use crate::state::AppState;

const AUTHN: &str = "authentication.k8s.io";
const AUTHZ: &str = "authorization.k8s.io";

/// Whether the path is one of the resources served here.
pub fn handles(rp: &ResourcePath) -> bool {
    if rp.version != "v1" {
        return false;
    }
    matches!(
        (
            rp.group.as_str(),
            rp.plural.as_str(),
            rp.subresource.as_deref()
        ),
        ("", "serviceaccounts", Some("token"))
            | (AUTHN, "tokenreviews" | "selfsubjectreviews", None)
            | (
                AUTHZ,
                "subjectaccessreviews"
                    | "selfsubjectaccessreviews"
                    | "localsubjectaccessreviews"
                    | "selfsubjectrulesreviews",
                None,
            )
    )
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn not_allowed() -> ApiError {
    ApiError::method_not_allowed("the server does not allow this method on the requested resource")
}

/// Serves a POST to one of [`handles`]' paths; other methods are 405.
pub async fn serve(
    state: &AppState,
    method: &http::Method,
    rp: &ResourcePath,
    body: Option<Value>,
) -> Result<(u16, Value), ApiError> {
    if *method != http::Method::POST {
        return Err(not_allowed());
    }
    let body = body.unwrap_or_else(|| json!({}));
    let user = current_user().unwrap_or_default();
    let ns = rp.namespace.as_deref().unwrap_or("");
    match (rp.group.as_str(), rp.plural.as_str()) {
        ("", "serviceaccounts") => {
            let name = rp.name.as_deref().ok_or_else(not_allowed)?;
            token_request(state, ns, name, &body).await
        }
        (AUTHN, "tokenreviews") => token_review(state, &body).await,
        (AUTHN, "selfsubjectreviews") => Ok((
            201,
            json!({
                "kind": "SelfSubjectReview",
                "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"creationTimestamp": null},
                "status": {"userInfo": user.to_json()},
            }),
        )),
        (AUTHZ, "selfsubjectrulesreviews") => {
            let namespace = str_of(&body["spec"], "namespace");
            let (rules, errors) = state.auth.policy.current().rules_for(&user, namespace);
            Ok((
                201,
                json!({
                    "kind": "SelfSubjectRulesReview",
                    "apiVersion": "authorization.k8s.io/v1",
                    "metadata": {"creationTimestamp": null},
                    "spec": {"namespace": namespace},
                    "status": rbac::rules_review_status(&rules, &errors),
                }),
            ))
        }
        (AUTHZ, kind_plural) => access_review(state, kind_plural, ns, &user, body),
        _ => Err(not_allowed()),
    }
}

fn invalid(kind: &str, group: &str, name: &str, errors: &[FieldError]) -> ApiError {
    ApiError::invalid(group, kind, name, errors)
}

async fn token_request(
    state: &AppState,
    ns: &str,
    sa_name: &str,
    body: &Value,
) -> Result<(u16, Value), ApiError> {
    let sa_res = state
        .catalog
        .find("", "v1", "serviceaccounts")
        .ok_or_else(|| ApiError::internal("serviceaccounts not served"))?;
    let (sa, _) = state.objects.get(&sa_res, Some(ns), sa_name).await?;
    let spec = &body["spec"];
    let mut audiences = strings(&spec["audiences"]);
    if audiences.is_empty() {
        audiences = state.auth.api_audiences.clone();
    }
    let seconds = spec["expirationSeconds"]
        .as_i64()
        .unwrap_or(DEFAULT_TOKEN_SECONDS);
    let too = |detail: &str| {
        invalid(
            "TokenRequest",
            AUTHN,
            sa_name,
            &[FieldError::invalid(
                "spec.expirationSeconds",
                json!(seconds),
                detail,
            )],
        )
    };
    if seconds < MIN_TOKEN_SECONDS {
        return Err(too("may not specify a duration less than 10 minutes"));
    }
    if seconds > MAX_TOKEN_SECONDS {
        return Err(too("may not specify a duration larger than 2^32 seconds"));
    }
    let mut bound_ref = spec.get("boundObjectRef").cloned().filter(|b| !b.is_null());
    let mut bound_obj = None;
    if let Some(b) = bound_ref.as_mut() {
        let kind = str_of(b, "kind").to_string();
        let name = str_of(b, "name").to_string();
        let (plural, obj_ns) = match kind.as_str() {
            "Pod" => ("pods", Some(ns)),
            "Secret" => ("secrets", Some(ns)),
            "Node" => ("nodes", None),
            other => {
                return Err(ApiError::bad_request(format!(
                    "cannot bind token for serviceaccount {sa_name:?} to object of kind {other:?}"
                )));
            }
        };
        let api_version = str_of(b, "apiVersion");
        if !api_version.is_empty() && api_version != "v1" {
            return Err(ApiError::bad_request(format!(
                "cannot bind token to object of apiVersion {api_version:?}"
            )));
        }
        let res = state
            .catalog
            .find("", "v1", plural)
            .ok_or_else(|| ApiError::internal(format!("{plural} not served")))?;
        let (obj, _) = state.objects.get(&res, obj_ns, &name).await?;
        let uid = obj["metadata"]["uid"].as_str().unwrap_or("").to_string();
        let want_uid = str_of(b, "uid");
        if !want_uid.is_empty() && want_uid != uid {
            return Err(ApiError::conflict(
                "",
                plural,
                &name,
                &format!(
                    "the UID in the bound object reference ({want_uid}) does not match the UID in record. The object might have been deleted and then recreated"
                ),
            ));
        }
        if kind == "Pod" && obj["spec"]["serviceAccountName"].as_str() != Some(sa_name) {
            return Err(ApiError::bad_request(format!(
                "cannot bind token for serviceaccount {sa_name:?} to pod running with different serviceaccount name."
            )));
        }
        b["uid"] = json!(uid);
        b["apiVersion"] = json!("v1");
        bound_obj = Some((kind, obj));
    }
    let now = chrono::Utc::now();
    let claims = token_claims(
        &state.auth.issuer,
        &audiences,
        now.timestamp(),
        seconds,
        ns,
        &sa,
        bound_obj.as_ref().map(|(k, o)| (k.as_str(), o)),
    );
    let token = state.auth.key.sign(&claims);
    let expires = (now + chrono::Duration::seconds(seconds))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut out_spec = json!({"audiences": audiences, "expirationSeconds": seconds});
    if let Some(b) = bound_ref {
        out_spec["boundObjectRef"] = b;
    }
    Ok((
        201,
        json!({
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": sa_name, "namespace": ns, "creationTimestamp": now_rfc3339()},
            "spec": out_spec,
            "status": {"token": token, "expirationTimestamp": expires},
        }),
    ))
}

async fn token_review(state: &AppState, body: &Value) -> Result<(u16, Value), ApiError> {
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    let token = str_of(&spec, "token");
    if token.is_empty() {
        return Err(ApiError::bad_request(
            "token is required for TokenReview in authentication",
        ));
    }
    let mut audiences = strings(&spec["audiences"]);
    if audiences.is_empty() {
        audiences = state.auth.api_audiences.clone();
    }
    let status = match authenticate_token(state, token, &audiences).await {
        Ok(t) => json!({
            "authenticated": true,
            "user": t.user.to_json(),
            "audiences": t.audiences,
        }),
        Err(e) => json!({"user": {}, "error": e}),
    };
    Ok((
        201,
        json!({
            "kind": "TokenReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": null},
            "spec": spec,
            "status": status,
        }),
    ))
}

/// The attributes of a SubjectAccessReview spec.
fn spec_attributes(kind: &str, spec: &Value) -> Result<Attributes, ApiError> {
    let ra = spec.get("resourceAttributes").filter(|v| v.is_object());
    let nra = spec.get("nonResourceAttributes").filter(|v| v.is_object());
    match (ra, nra) {
        (Some(ra), None) => {
            let mut a = Attributes::resource(
                str_of(ra, "verb"),
                str_of(ra, "group"),
                str_of(ra, "resource"),
                str_of(ra, "subresource"),
                str_of(ra, "namespace"),
                str_of(ra, "name"),
            );
            if let Some(r) = a.resource.as_mut() {
                r.api_version = str_of(ra, "version").to_string();
            }
            Ok(a)
        }
        (None, Some(nra)) => Ok(Attributes::non_resource(
            str_of(nra, "verb"),
            str_of(nra, "path"),
        )),
        (ra, _) => Err(invalid(
            kind,
            AUTHZ,
            "",
            &[FieldError::invalid(
                if ra.is_some() {
                    "spec.nonResourceAttributes"
                } else {
                    "spec.resourceAttributes"
                },
                json!(if ra.is_some() { "{...}" } else { "null" }),
                "exactly one of nonResourceAttributes or resourceAttributes must be specified",
            )],
        )),
    }
}

fn access_review(
    state: &AppState,
    plural: &str,
    url_namespace: &str,
    requester: &UserInfo,
    mut body: Value,
) -> Result<(u16, Value), ApiError> {
    let kind = match plural {
        "subjectaccessreviews" => "SubjectAccessReview",
        "selfsubjectaccessreviews" => "SelfSubjectAccessReview",
        "localsubjectaccessreviews" => "LocalSubjectAccessReview",
        _ => return Err(not_allowed()),
    };
    if kind == "LocalSubjectAccessReview" {
        if url_namespace.is_empty() {
            return Err(ApiError::bad_request(
                "namespace is required on this type: ",
            ));
        }
        let ra = &mut body["spec"]["resourceAttributes"];
        if ra.is_object() {
            let ns = str_of(ra, "namespace");
            if !ns.is_empty() && ns != url_namespace {
                return Err(ApiError::bad_request(format!(
                    "spec.resourceAttributes.namespace must match namespace: {url_namespace}"
                )));
            }
            ra["namespace"] = json!(url_namespace);
        }
    }
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    let attrs = spec_attributes(kind, &spec)?;
    let subject = if kind == "SelfSubjectAccessReview" {
        requester.clone()
    } else {
        let user = UserInfo {
            name: str_of(&spec, "user").to_string(),
            uid: str_of(&spec, "uid").to_string(),
            groups: strings(&spec["groups"]),
            extra: spec["extra"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), strings(v))).collect())
                .unwrap_or_default(),
        };
        if user.name.is_empty() && user.groups.is_empty() {
            return Err(invalid(
                kind,
                AUTHZ,
                "",
                &[FieldError::invalid(
                    "spec.user",
                    json!(""),
                    "at least one of user or group must be specified",
                )],
            ));
        }
        user
    };
    let (allowed, reason) = state.auth.allowed(&subject, &attrs);
    let mut status = json!({"allowed": allowed});
    if !reason.is_empty() {
        status["reason"] = json!(reason);
    }
    let mut metadata = json!({"creationTimestamp": null});
    if kind == "LocalSubjectAccessReview" {
        metadata["namespace"] = json!(url_namespace);
    }
    Ok((
        201,
        json!({
            "kind": kind,
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": metadata,
            "spec": spec,
            "status": status,
        }),
    ))
}
