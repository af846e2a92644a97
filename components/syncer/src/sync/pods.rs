//! Pods: the virtual pod runs as a host pod; the host pod's node, status and deletion come back.
//!
//! - a virtual pod without a host pod gets one (after the ConfigMaps, Secrets and claims it
//!   references, and with service account tokens issued by the virtual API server);
//! - the host pod is scheduled by the host: the virtual pod is bound (`pods/binding`) to a
//!   virtual node of the same name, which mirrors the host node ([`super::nodes`]);
//! - host status -> virtual status; virtual labels/annotations/images/... -> host;
//! - a virtual pod being deleted (deletionTimestamp) deletes the host pod with the same grace
//!   period, and once the host pod is gone the virtual pod goes at once; a host pod being
//!   deleted deletes the virtual pod the same way; a started pod whose host pod disappeared is
//!   deleted (recreating it would run it twice).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Binding, ObjectReference, Pod, Service, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Status};
use kube::api::{Api, DeleteParams, PatchParams, PostParams};
use serde_json::{Value, json};
use warren_controllers::queue;

use super::worker::Next;
use super::{Context, Ctx, SyncError, cached, is_status, merge_patch, meta};
use crate::names::annotations;
use crate::translate::pod::{self, PodInputs, TokenSource};

/// Grace period when neither side says (kube's default terminationGracePeriodSeconds).
const DEFAULT_GRACE_SECONDS: i64 = 30;
/// A token is renewed once less than this share of its lifetime is left.
const TOKEN_RENEW_REMAINING: f64 = 0.2;

/// What to do about one pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodAction {
    Nothing,
    CreateHost,
    /// Delete the host pod (`None`: the host's default grace period).
    DeleteHost {
        grace: Option<i64>,
    },
    DeleteVirtual {
        grace: i64,
    },
    /// Keep both in step; `status_only` while the host pod terminates.
    Update {
        status_only: bool,
    },
}

fn deleting(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// The virtual pod UID a host pod was created for.
fn host_pod_owner_uid(host: &Pod) -> Option<&str> {
    let a = host.metadata.annotations.as_ref()?;
    a.get(annotations::OBJECT_UID)
        .or_else(|| a.get(annotations::POD_UID))
        .map(String::as_str)
}

/// Decides what one sync does, from the virtual pod and the host pod (by host name).
pub fn decide(virtual_pod: Option<&Pod>, host_pod: Option<&Pod>) -> PodAction {
    match (virtual_pod, host_pod) {
        (None, None) => PodAction::Nothing,
        (None, Some(host)) if deleting(host) => PodAction::Nothing,
        (None, Some(_)) => PodAction::DeleteHost { grace: None },
        (Some(v), None) => {
            let started = v.status.as_ref().is_some_and(|s| s.start_time.is_some());
            if deleting(v) || started {
                PodAction::DeleteVirtual { grace: 0 }
            } else {
                PodAction::CreateHost
            }
        }
        (Some(v), Some(h)) => {
            if host_pod_owner_uid(h) != v.metadata.uid.as_deref() {
                // A host pod left from an earlier virtual pod of the same name.
                return if deleting(h) {
                    PodAction::Nothing
                } else {
                    PodAction::DeleteHost { grace: Some(0) }
                };
            }
            let host_grace = h.metadata.deletion_grace_period_seconds;
            let virtual_grace = v.metadata.deletion_grace_period_seconds;
            match (deleting(v), deleting(h)) {
                (false, true) => PodAction::DeleteVirtual {
                    grace: host_grace
                        .or_else(|| v.spec.as_ref()?.termination_grace_period_seconds)
                        .unwrap_or(DEFAULT_GRACE_SECONDS),
                },
                (true, true) => match (virtual_grace, host_grace) {
                    (Some(v), Some(h)) if v < h => PodAction::DeleteHost { grace: Some(v) },
                    _ => PodAction::Update { status_only: true },
                },
                (true, false) => PodAction::DeleteHost {
                    grace: Some(virtual_grace.unwrap_or(DEFAULT_GRACE_SECONDS)),
                },
                (false, false) => PodAction::Update { status_only: false },
            }
        }
    }
}

/// Syncs the virtual pod `namespace/name`.
pub(crate) async fn sync(ctx: &Ctx, key: &str) -> Result<Next, SyncError> {
    let (Some(namespace), name) = queue::split(key) else {
        return Ok(Next::Done);
    };
    let virtual_pod = cached(&ctx.v.pods, Some(namespace), name).map(|p| p.decode());
    if virtual_pod.is_none() {
        ctx.token_renewals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
    let host = ctx.names().host_object(name, namespace);
    let host_pod = cached(&ctx.h.pods, Some(&host.namespace), &host.name).map(|p| p.decode());
    match decide(virtual_pod.as_ref(), host_pod.as_ref()) {
        PodAction::Nothing => Ok(Next::Done),
        PodAction::CreateHost => match virtual_pod {
            Some(v) => create_host(ctx, &v).await,
            None => Ok(Next::Done),
        },
        PodAction::DeleteHost { grace } => match host_pod {
            Some(h) => delete_host(ctx, &h, grace).await,
            None => Ok(Next::Done),
        },
        PodAction::DeleteVirtual { grace } => match virtual_pod {
            Some(v) => delete_virtual(ctx, &v, grace).await,
            None => Ok(Next::Done),
        },
        PodAction::Update { status_only } => match (virtual_pod, host_pod) {
            (Some(v), Some(h)) => update(ctx, &v, &h, status_only).await,
            _ => Ok(Next::Done),
        },
    }
}

fn grace_params(grace: Option<i64>, uid: Option<&str>) -> DeleteParams {
    DeleteParams {
        grace_period_seconds: grace.map(|g| u32::try_from(g.max(0)).unwrap_or(u32::MAX)),
        preconditions: uid.map(|uid| kube::api::Preconditions {
            uid: Some(uid.to_owned()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    }
}

async fn delete_host(ctx: &Ctx, host: &Pod, grace: Option<i64>) -> Result<Next, SyncError> {
    let name = host.metadata.name.as_deref().unwrap_or_default();
    tracing::debug!(pod = %name, ?grace, "deleting host pod");
    let api: Api<Pod> = ctx.host_api();
    match api
        .delete(name, &grace_params(grace, host.metadata.uid.as_deref()))
        .await
    {
        Ok(_) => Ok(Next::Done),
        Err(e) if is_status(&e, 404) || is_status(&e, 409) => Ok(Next::Done),
        Err(e) => Err(e).ctx(|| format!("deleting host pod {name}")),
    }
}

async fn delete_virtual(ctx: &Ctx, pod: &Pod, grace: i64) -> Result<Next, SyncError> {
    let (namespace, name) = namespace_name(&pod.metadata);
    tracing::debug!(pod = %format!("{namespace}/{name}"), grace, "deleting virtual pod");
    let api: Api<Pod> = ctx.virtual_api(namespace);
    match api
        .delete(
            name,
            &grace_params(Some(grace), pod.metadata.uid.as_deref()),
        )
        .await
    {
        Ok(_) => Ok(Next::Done),
        Err(e) if is_status(&e, 404) || is_status(&e, 409) => Ok(Next::Done),
        Err(e) => Err(e).ctx(|| format!("deleting virtual pod {namespace}/{name}")),
    }
}

fn namespace_name(meta: &ObjectMeta) -> (&str, &str) {
    (
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default(),
    )
}

/// The `exp` claim of a JWT (seconds since the epoch), without checking anything else.
pub fn token_expiry(token: &str) -> Option<i64> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("exp")?.as_i64()
}

/// Whether a token from the annotation can still be used at `now` (seconds), and if so when
/// it must be renewed.
pub fn token_renew_at(token: &str, lifetime_seconds: i64, now: i64) -> Option<i64> {
    let expiry = token_expiry(token)?;
    let renew_at = expiry - (lifetime_seconds as f64 * TOKEN_RENEW_REMAINING) as i64;
    (renew_at > now).then_some(renew_at)
}

fn now_seconds() -> i64 {
    k8s_openapi::jiff::Timestamp::now().as_second()
}

/// Tokens for the pod's projected service account token volumes: the host pod's current ones
/// while they are fresh, new ones from the virtual API server otherwise. Also returns when the
/// first of them must be renewed.
async fn tokens(
    ctx: &Ctx,
    virtual_pod: &Pod,
    host_pod: Option<&Pod>,
) -> Result<(BTreeMap<String, String>, Option<i64>), SyncError> {
    let (namespace, name) = namespace_name(&virtual_pod.metadata);
    let mut out = BTreeMap::new();
    let mut renew = None::<i64>;
    let now = now_seconds();
    let current = host_pod.and_then(|h| h.metadata.annotations.as_ref());
    for source in pod::service_account_tokens(&ctx.pod_options, virtual_pod) {
        let fresh = current
            .and_then(|a| a.get(&source.annotation))
            .and_then(|t| {
                Some((
                    t.clone(),
                    token_renew_at(t, source.expiration_seconds, now)?,
                ))
            });
        let (token, renew_at) = match fresh {
            Some(fresh) => fresh,
            None => {
                let token = request_token(ctx, namespace, name, virtual_pod, &source).await?;
                let renew_at = token_renew_at(&token, source.expiration_seconds, now)
                    .unwrap_or(now + source.expiration_seconds / 2);
                (token, renew_at)
            }
        };
        renew = Some(renew.map_or(renew_at, |r| r.min(renew_at)));
        out.insert(source.annotation, token);
    }
    Ok((out, renew))
}

async fn request_token(
    ctx: &Ctx,
    namespace: &str,
    pod_name: &str,
    virtual_pod: &Pod,
    source: &TokenSource,
) -> Result<String, SyncError> {
    let api: Api<ServiceAccount> = ctx.virtual_api(namespace);
    let request = TokenRequest {
        metadata: ObjectMeta::default(),
        spec: TokenRequestSpec {
            audiences: source.audiences.clone(),
            expiration_seconds: Some(source.expiration_seconds),
            bound_object_ref: Some(BoundObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: Some(pod_name.to_owned()),
                uid: virtual_pod.metadata.uid.clone(),
            }),
        },
        status: None,
    };
    let response: TokenRequest = api
        .create_subresource(
            "token",
            &source.service_account,
            &PostParams::default(),
            &request,
        )
        .await
        .ctx(|| {
            format!(
                "requesting a token for {namespace}/{}",
                source.service_account
            )
        })?;
    response.status.map(|s| s.token).ok_or_else(|| {
        SyncError::Invalid(format!(
            "empty TokenRequest answer for {namespace}/{pod_name}"
        ))
    })
}

/// The host pod for a virtual pod, given the host pod's current tokens (if any).
async fn desired_host_pod(
    ctx: &Ctx,
    virtual_pod: &Pod,
    host_pod: Option<&Pod>,
) -> Result<(Pod, Option<i64>), SyncError> {
    let namespace = virtual_pod
        .metadata
        .namespace
        .as_deref()
        .unwrap_or_default();
    let namespace_labels = cached(&ctx.v.namespaces, None, namespace)
        .and_then(|ns| ns.metadata.labels.clone())
        .unwrap_or_default();
    let services: Vec<Service> = ctx
        .v
        .services
        .state()
        .iter()
        .filter(|s| s.metadata.namespace.as_deref() == Some(namespace))
        .map(|s| (**s).clone())
        .collect();
    let dns_ip = cached(&ctx.v.services, Some("kube-system"), "kube-dns")
        .and_then(|s| s.spec.as_ref()?.cluster_ip.clone())
        .filter(|ip| !ip.is_empty() && ip != "None")
        .unwrap_or_default();
    let (tokens, renew_at) = tokens(ctx, virtual_pod, host_pod).await?;
    let inputs = PodInputs {
        kube_ip: &ctx.host.kube_ip,
        dns_ip: &dns_ip,
        services: &services,
        namespace_labels: &namespace_labels,
        tokens: &tokens,
        owner: ctx.host.owner.as_ref(),
    };
    let mut host = pod::host_pod(ctx.names(), &ctx.pod_options, &inputs, virtual_pod)?;
    meta::mark_managed_labels(&mut host.metadata, virtual_pod.metadata.labels.as_ref());
    Ok((host, renew_at))
}

/// Schedules the pod's next token renewal, unless it already is.
fn renew_next(ctx: &Ctx, key: &str, renew_at: Option<i64>) -> Next {
    let mut renewals = ctx.token_renewals.lock().unwrap_or_else(|e| e.into_inner());
    let Some(at) = renew_at else {
        renewals.remove(key);
        return Next::Done;
    };
    if renewals.insert(key.to_owned(), at) == Some(at) {
        return Next::Done;
    }
    let seconds = u64::try_from(at - now_seconds()).unwrap_or(0).max(1);
    Next::After(Duration::from_secs(seconds))
}

async fn create_host(ctx: &Ctx, virtual_pod: &Pod) -> Result<Next, SyncError> {
    if let Some(wait) = super::kube_dns::wait_for_address(ctx, virtual_pod) {
        return Ok(Next::After(wait));
    }
    let (namespace, name) = namespace_name(&virtual_pod.metadata);
    // What the pod mounts must be on the host before it starts.
    super::configs::ensure_for_pod(ctx, virtual_pod).await?;
    super::pvcs::ensure_for_pod(ctx, virtual_pod).await?;
    let (host, renew_at) = desired_host_pod(ctx, virtual_pod, None).await?;
    let api: Api<Pod> = ctx.host_api();
    match api.create(&PostParams::default(), &host).await {
        Ok(_) => {
            tracing::debug!(pod = %format!("{namespace}/{name}"), "created host pod");
            Ok(renew_next(
                ctx,
                &super::object_key(&virtual_pod.metadata),
                renew_at,
            ))
        }
        // Our cache has not seen it yet (or an older incarnation is going away).
        Err(e) if is_status(&e, 409) => Ok(Next::After(Duration::from_millis(500))),
        Err(e) => Err(e).ctx(|| format!("creating host pod for {namespace}/{name}")),
    }
}

/// A JSON merge patch turning map `from` into `to` (removed keys as null).
pub fn map_patch(from: Option<&BTreeMap<String, String>>, to: &BTreeMap<String, String>) -> Value {
    let mut out = serde_json::Map::new();
    for key in from.into_iter().flatten().map(|(k, _)| k) {
        if !to.contains_key(key) {
            out.insert(key.clone(), Value::Null);
        }
    }
    for (key, value) in to {
        if from.and_then(|f| f.get(key)) != Some(value) {
            out.insert(key.clone(), Value::String(value.clone()));
        }
    }
    Value::Object(out)
}

async fn update(ctx: &Ctx, v: &Pod, h: &Pod, status_only: bool) -> Result<Next, SyncError> {
    let (namespace, name) = namespace_name(&v.metadata);
    let virtual_api: Api<Pod> = ctx.virtual_api(namespace);

    // Scheduled on the host: bind the virtual pod to the virtual twin of the host node.
    let host_node = h
        .spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .filter(|n| !n.is_empty());
    let virtual_node = v
        .spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .filter(|n| !n.is_empty());
    if !status_only && let (Some(node), None) = (&host_node, &virtual_node) {
        super::nodes::ensure(ctx, node).await?;
        let binding = Binding {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some(namespace.to_owned()),
                ..ObjectMeta::default()
            },
            target: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Node".into()),
                name: Some(node.clone()),
                ..ObjectReference::default()
            },
        };
        return match virtual_api
            .create_subresource::<_, Status>("binding", name, &PostParams::default(), &binding)
            .await
        {
            // The pod's watch event brings the rest.
            Ok(_) => Ok(Next::Done),
            Err(e) if is_status(&e, 409) || is_status(&e, 404) => {
                Ok(Next::After(Duration::from_millis(200)))
            }
            Err(e) => Err(e).ctx(|| format!("binding virtual pod {namespace}/{name} to {node}")),
        };
    }

    // Status: host -> virtual.
    let status = pod::virtual_pod_status(v, h);
    if v.status.as_ref() != Some(&status) {
        let mut updated = v.clone();
        updated.status = Some(status);
        match virtual_api
            .replace_status(name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => {}
            Err(e) if is_status(&e, 409) => return Ok(Next::After(Duration::from_millis(100))),
            Err(e) if is_status(&e, 404) => return Ok(Next::Done),
            Err(e) => {
                return Err(e).ctx(|| format!("updating status of virtual pod {namespace}/{name}"));
            }
        }
    }
    if status_only {
        return Ok(Next::Done);
    }

    // Labels, annotations, tokens and the mutable parts of the spec: virtual -> host (and
    // labels/annotations set on the host -> virtual).
    let (desired, renew_at) = desired_host_pod(ctx, v, Some(h)).await?;
    let merged = meta::merge(ctx.names(), &v.metadata, &h.metadata, &desired.metadata);
    if merged.virtual_changed() {
        let patch = meta::add_metadata_patch(&merged.virtual_labels, &merged.virtual_annotations);
        match virtual_api
            .patch(name, &PatchParams::default(), &merge_patch(&patch))
            .await
        {
            Ok(_) => {}
            Err(e) if is_status(&e, 404) => return Ok(Next::Done),
            Err(e) => {
                return Err(e)
                    .ctx(|| format!("updating metadata of virtual pod {namespace}/{name}"));
            }
        }
    }
    let spec_update = pod::host_pod_spec_update(&ctx.pod_options, v, h);
    if merged.host_changed(&h.metadata) || spec_update.is_some() {
        let mut patch = json!({
            "metadata": {
                "labels": map_patch(h.metadata.labels.as_ref(), &merged.host_labels),
                "annotations": map_patch(h.metadata.annotations.as_ref(), &merged.host_annotations),
            }
        });
        if let Some(spec) = spec_update {
            patch["spec"] = json!({
                "containers": spec.containers,
                "initContainers": spec.init_containers,
                "activeDeadlineSeconds": spec.active_deadline_seconds,
                "tolerations": spec.tolerations,
            });
            if let Some(gates) = &spec.scheduling_gates {
                // Strategic merge keeps list items it is not given: replace the gate list.
                let mut list = vec![json!({"$patch": "replace"})];
                list.extend(gates.iter().map(|g| json!(g)));
                patch["spec"]["schedulingGates"] = Value::Array(list);
            } else if h
                .spec
                .as_ref()
                .is_some_and(|s| s.scheduling_gates.is_some())
            {
                patch["spec"]["schedulingGates"] = Value::Null;
            }
        }
        let host_name = h.metadata.name.as_deref().unwrap_or_default();
        let api: Api<Pod> = ctx.host_api();
        // Strategic merge: containers are merged by name, so the cached host pod (trimmed to
        // names and images, see `trim_cached_host_pod`) is enough to change an image.
        match api
            .patch(
                host_name,
                &PatchParams::default(),
                &kube::api::Patch::Strategic(&patch),
            )
            .await
        {
            Ok(_) => {}
            Err(e) if is_status(&e, 404) => return Ok(Next::Done),
            Err(e) => return Err(e).ctx(|| format!("updating host pod {host_name}")),
        }
    }
    Ok(renew_next(ctx, &super::object_key(&v.metadata), renew_at))
}

#[cfg(test)]
mod tests;
