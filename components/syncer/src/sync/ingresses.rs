//! Ingresses (`sync.toHost.ingresses`): the virtual Ingress on the host with its backends, TLS
//! Secrets and the annotations naming them renamed ([`crate::translate::ingress`]); the Secrets
//! it uses are synced as long as it uses them (see [`uses_secret`]); the host's status (the
//! load balancer its controller assigned) comes back, and so does the class a host admission
//! plugin gave an Ingress that named none (the host's default class). With a
//! `sync.fromHost.ingressClasses.selector`, only Ingresses of the selected host classes are
//! synced (as vCluster).

use std::time::Duration;

use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, PatchParams, PostParams};
use serde_json::json;
use warren_controllers::queue;

use warren_controllers::selector::Selector;

use super::kinds::{NOT_READY, Synced, ready, sync_namespaced};
use super::worker::Next;
use super::{Context, Ctx, SyncError, cached, is_status, merge_patch};
use crate::translate::ingress::{host_ingress, referenced_secrets};
use crate::translate::without_empty;

/// Whether a virtual Ingress uses the virtual Secret `namespace/name` (it then goes to the
/// host like a Secret a pod uses).
pub(crate) fn uses_secret(ctx: &Ctx, key: &str) -> bool {
    ctx.kinds.ingresses.as_ref().is_some_and(|pair| {
        pair.v
            .state()
            .iter()
            .any(|ingress| referenced_secrets(ingress).contains(key))
    })
}

fn class_name(ingress: &Ingress) -> Option<&str> {
    ingress
        .spec
        .as_ref()
        .and_then(|s| s.ingress_class_name.as_deref())
        .filter(|c| !c.is_empty())
}

/// Why a virtual Ingress is not synced, when `sync.fromHost.ingressClasses.selector` limits
/// the classes shown and its class is not one of them (as vCluster): its class is missing on
/// the host or does not match. `Err(())`: the host classes are not listed yet.
fn class_not_selected(ctx: &Ctx, ingress: &Ingress) -> Result<Option<String>, ()> {
    let from_host = &ctx.config().sync.from_host.ingress_classes;
    let (Some(selector), Some(classes), Some(class)) = (
        from_host.selector.as_ref(),
        ctx.kinds.ingress_classes.as_ref(),
        class_name(ingress),
    ) else {
        return Ok(None);
    };
    if !ready(&classes.h) {
        return Err(());
    }
    let Some(host_class) = cached(&classes.h, None, class) else {
        return Ok(Some(format!(
            "ingress class {class:?} is not in the host cluster"
        )));
    };
    let matches = Selector::from_label_selector(selector)
        .is_ok_and(|s| s.matches(host_class.metadata.labels.as_ref()));
    Ok((!matches).then(|| {
        format!("ingress class {class:?} does not match sync.fromHost.ingressClasses.selector")
    }))
}

pub(crate) async fn sync(ctx: &Ctx, key: &str) -> Result<Next, SyncError> {
    let Some(pair) = &ctx.kinds.ingresses else {
        return Ok(Next::Done);
    };
    let (Some(namespace), name) = queue::split(key) else {
        return Ok(Next::Done);
    };
    if let Some(virtual_ingress) = cached(&pair.v, Some(namespace), name) {
        match class_not_selected(ctx, &virtual_ingress) {
            Ok(None) => {}
            Ok(Some(reason)) => {
                tracing::warn!(ingress = %key, "not synced to the host: {reason}");
                return Ok(Next::Done);
            }
            Err(()) => return Ok(NOT_READY),
        }
    }
    let names = ctx.names();
    let owner = ctx.host.owner.as_ref();
    let desired = |virtual_ingress: &Ingress, host: Option<&Ingress>| {
        let mut out = host_ingress(names, virtual_ingress, owner);
        // A class the host gave it (its default) stays until the virtual Ingress names one.
        if class_name(virtual_ingress).is_none()
            && let (Some(spec), Some(class)) = (out.spec.as_mut(), host.and_then(class_name))
        {
            spec.ingress_class_name = Some(class.to_owned());
        }
        out
    };
    let same_spec = |host: &Ingress, wanted: &Ingress| {
        let spec = |i: &Ingress| without_empty(serde_json::to_value(&i.spec).unwrap_or_default());
        spec(host) == spec(wanted)
    };
    let (virtual_object, host) = match sync_namespaced(ctx, pair, key, desired, same_spec).await? {
        Synced::Done(next) => return Ok(next),
        Synced::Both {
            virtual_object,
            host,
        } => (virtual_object, host),
    };
    let virtual_api: Api<Ingress> = ctx.virtual_api(namespace);
    if class_name(&virtual_object).is_none()
        && let Some(class) = class_name(&host)
    {
        let patch = json!({"spec": {"ingressClassName": class}});
        virtual_api
            .patch(name, &PatchParams::default(), &merge_patch(&patch))
            .await
            .ctx(|| format!("setting the class of virtual ingress {key}"))?;
    }
    let host_status = host.status.clone().unwrap_or_default();
    if host_status != virtual_object.status.clone().unwrap_or_default() {
        let mut updated = (*virtual_object).clone();
        updated.status = Some(host_status);
        match virtual_api
            .replace_status(name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => {}
            Err(e) if is_status(&e, 409) => return Ok(Next::After(Duration::from_millis(200))),
            Err(e) => return Err(e).ctx(|| format!("updating status of virtual ingress {key}")),
        }
    }
    Ok(Next::Done)
}
