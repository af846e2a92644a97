//! PodDisruptionBudgets (`sync.toHost.podDisruptionBudgets`): the virtual budget on the host,
//! its selector counting the same pods there ([`crate::translate::pdb`]), in the policy version
//! the host serves (v1, or v1beta1 before 1.21). The virtual budget's status is the virtual
//! cluster's own disruption controller's (it counts the virtual pods, whose status mirrors the
//! host pods'), so nothing comes back, as in vCluster.

use std::time::Duration;

use kube::api::{Api, DynamicObject, PatchParams, PostParams};
use kube::runtime::reflector::ObjectRef;
use warren_controllers::queue;

use super::kinds::{NOT_READY, delete_host, ready, virtual_key_of};
use super::worker::Next;
use super::{Context, Ctx, SyncError, cached, is_status, merge_patch, meta};
use crate::translate::pdb::{API_VERSION, as_version, from_any_version, host_pdb, same_spec};

const KIND: &str = "PodDisruptionBudget";

fn to_dynamic(value: serde_json::Value) -> Result<DynamicObject, SyncError> {
    serde_json::from_value(value)
        .map_err(|e| SyncError::Invalid(format!("host PodDisruptionBudget: {e}")))
}

pub(crate) async fn sync(ctx: &Ctx, key: &str) -> Result<Next, SyncError> {
    let Some(stores) = &ctx.kinds.pdbs else {
        return Ok(Next::Done);
    };
    if !ready(&stores.v) || !ready(&stores.h) {
        return Ok(NOT_READY);
    }
    let (Some(namespace), name) = queue::split(key) else {
        return Ok(Next::Done);
    };
    let names = ctx.names();
    let version = stores.resource.version.as_str();
    let virtual_pdb = cached(&stores.v, Some(namespace), name);
    let host_name = names.host_object(name, namespace);
    let host = stores
        .h
        .get(
            &ObjectRef::new_with(&host_name.name, stores.resource.clone())
                .within(&host_name.namespace),
        )
        .filter(|h| virtual_key_of(names, &h.metadata, API_VERSION, KIND).as_deref() == Some(key));
    let api: Api<DynamicObject> = Api::namespaced_with(
        ctx.host.client.clone(),
        &host_name.namespace,
        &stores.resource,
    );
    let Some(virtual_pdb) = virtual_pdb else {
        if let Some(host) = host {
            delete_host(&api, &host_name.name, host.metadata.uid.as_deref(), KIND).await?;
        }
        return Ok(Next::Done);
    };
    let mut desired = host_pdb(names, &virtual_pdb, ctx.host.owner.as_ref());
    meta::mark_managed_labels(&mut desired.metadata, virtual_pdb.metadata.labels.as_ref());
    let Some(host) = host else {
        let object = to_dynamic(as_version(&desired, version))?;
        return match api.create(&PostParams::default(), &object).await {
            Ok(_) => Ok(Next::Done),
            Err(e) if is_status(&e, 409) => Ok(Next::After(Duration::from_millis(500))),
            Err(e) => Err(e).ctx(|| format!("creating host {KIND} for {key}")),
        };
    };
    let host_value = serde_json::to_value(&*host)
        .map_err(|e| SyncError::Invalid(format!("host {KIND} {}: {e}", host_name.name)))?;
    let host_pdb = from_any_version(host_value)
        .map_err(|e| SyncError::Invalid(format!("host {KIND} {}: {e}", host_name.name)))?;
    let merged = meta::merge(
        names,
        &virtual_pdb.metadata,
        &host_pdb.metadata,
        &desired.metadata,
    );
    if merged.virtual_changed() {
        let patch = meta::add_metadata_patch(&merged.virtual_labels, &merged.virtual_annotations);
        let virtual_api: Api<k8s_openapi::api::policy::v1::PodDisruptionBudget> =
            ctx.virtual_api(namespace);
        virtual_api
            .patch(name, &PatchParams::default(), &merge_patch(&patch))
            .await
            .ctx(|| format!("updating metadata of virtual {KIND} {key}"))?;
    }
    let spec_same = same_spec(
        &host_pdb.spec.clone().unwrap_or_default(),
        &desired.spec.clone().unwrap_or_default(),
    );
    if !spec_same || merged.host_changed(&host_pdb.metadata) {
        desired.metadata.labels = Some(merged.host_labels);
        desired.metadata.annotations = Some(merged.host_annotations);
        desired.metadata.resource_version = host.metadata.resource_version.clone();
        let object = to_dynamic(as_version(&desired, version))?;
        match api
            .replace(&host_name.name, &PostParams::default(), &object)
            .await
        {
            Ok(_) => {}
            Err(e) if is_status(&e, 409) => return Ok(Next::After(Duration::from_millis(200))),
            Err(e) => return Err(e).ctx(|| format!("updating host {KIND} {}", host_name.name)),
        }
    }
    Ok(Next::Done)
}
