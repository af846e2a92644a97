//! PersistentVolumeClaims: the claim is made on the host (the host provisions and binds it);
//! its status (phase, capacity, access modes, conditions) comes back.

use std::time::Duration;

use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, Pod, TypedLocalObjectReference,
    TypedObjectReference,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, PatchParams, PostParams};
use serde_json::json;
use warren_controllers::queue;

use super::worker::Next;
use super::{Context, Ctx, SyncError, cached, is_status, merge_patch, meta};
use crate::names::Names;
use crate::translate::metadata::host_metadata;

/// The host claim of a virtual claim: renamed, the volume left to the host to choose (a
/// virtual volume name means nothing there), data sources that are claims renamed too.
pub fn host_claim(
    names: &Names,
    virtual_claim: &PersistentVolumeClaim,
    owner: Option<&OwnerReference>,
    sync_storage_classes: bool,
) -> PersistentVolumeClaim {
    let namespace = virtual_claim
        .metadata
        .namespace
        .as_deref()
        .unwrap_or_default();
    let mut metadata = host_metadata(
        names,
        &virtual_claim.metadata,
        "v1",
        "PersistentVolumeClaim",
        owner,
        &[],
    );
    meta::mark_managed_labels(&mut metadata, virtual_claim.metadata.labels.as_ref());
    let mut spec: PersistentVolumeClaimSpec = virtual_claim.spec.clone().unwrap_or_default();
    spec.volume_name = None;
    spec.selector = None;
    if sync_storage_classes {
        spec.storage_class_name = spec.storage_class_name.map(|class| {
            if class.is_empty() {
                class
            } else {
                names.host_name_cluster(&class)
            }
        });
    }
    let rename_local = |r: TypedLocalObjectReference| TypedLocalObjectReference {
        name: if r.kind == "PersistentVolumeClaim" && r.api_group.is_none() {
            names.host_name(&r.name, namespace)
        } else {
            r.name.clone()
        },
        ..r
    };
    spec.data_source = spec.data_source.map(rename_local);
    spec.data_source_ref = spec.data_source_ref.map(|r| TypedObjectReference {
        name: if r.kind == "PersistentVolumeClaim" && r.api_group.is_none() {
            names.host_name(&r.name, namespace)
        } else {
            r.name.clone()
        },
        namespace: None,
        ..r
    });
    PersistentVolumeClaim {
        metadata,
        spec: Some(spec),
        status: None,
    }
}

/// Claims a pod mounts (directly or through generic ephemeral volumes) go to the host first.
pub(crate) async fn ensure_for_pod(ctx: &Ctx, pod: &Pod) -> Result<(), SyncError> {
    if !ctx.config().sync.to_host.persistent_volume_claims {
        return Ok(());
    }
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
    for volume in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let claim = match (&volume.persistent_volume_claim, &volume.ephemeral) {
            (Some(claim), _) => claim.claim_name.clone(),
            (None, Some(_)) => format!("{pod_name}-{}", volume.name),
            _ => continue,
        };
        sync(ctx, &queue::key(Some(namespace), &claim)).await?;
    }
    Ok(())
}

pub(crate) async fn sync(ctx: &Ctx, key: &str) -> Result<Next, SyncError> {
    let (Some(namespace), name) = queue::split(key) else {
        return Ok(Next::Done);
    };
    let names = ctx.names();
    let virtual_claim = cached(&ctx.v.pvcs, Some(namespace), name);
    let host_name = names.host_object(name, namespace);
    let host_claim_now =
        cached(&ctx.h.pvcs, Some(&host_name.namespace), &host_name.name).filter(|h| {
            ctx.virtual_key(&h.metadata, "PersistentVolumeClaim")
                .as_deref()
                == Some(key)
        });
    let api: Api<PersistentVolumeClaim> = ctx.host_api();
    let Some(virtual_claim) = virtual_claim else {
        if let Some(host) = host_claim_now {
            let params = super::delete_uid(host.metadata.uid.as_deref());
            match api.delete(&host_name.name, &params).await {
                Ok(_) => {}
                Err(e) if is_status(&e, 404) || is_status(&e, 409) => {}
                Err(e) => return Err(e).ctx(|| format!("deleting host claim {}", host_name.name)),
            }
        }
        return Ok(Next::Done);
    };
    let desired = host_claim(
        names,
        &virtual_claim,
        ctx.host.owner.as_ref(),
        ctx.config().sync.to_host.storage_classes,
    );
    let Some(host) = host_claim_now else {
        return match api.create(&PostParams::default(), &desired).await {
            Ok(_) => Ok(Next::Done),
            Err(e) if is_status(&e, 409) => Ok(Next::After(Duration::from_millis(500))),
            Err(e) => Err(e).ctx(|| format!("creating host claim for {key}")),
        };
    };
    let merged = meta::merge(
        names,
        &virtual_claim.metadata,
        &host.metadata,
        &desired.metadata,
    );
    let virtual_api: Api<PersistentVolumeClaim> = ctx.virtual_api(namespace);
    if merged.virtual_changed() {
        let patch = meta::add_metadata_patch(&merged.virtual_labels, &merged.virtual_annotations);
        virtual_api
            .patch(name, &PatchParams::default(), &merge_patch(&patch))
            .await
            .ctx(|| format!("updating metadata of virtual claim {key}"))?;
    }
    // Only the requested size may grow on a bound claim; the rest is fixed at creation.
    let desired_requests = desired
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.clone());
    let host_requests = host
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.clone());
    let resize = desired_requests != host_requests;
    if merged.host_changed(&host.metadata) || resize {
        let mut patch = json!({"metadata": {
            "labels": super::pods::map_patch(host.metadata.labels.as_ref(), &merged.host_labels),
            "annotations": super::pods::map_patch(host.metadata.annotations.as_ref(), &merged.host_annotations),
        }});
        if resize {
            patch["spec"] = json!({"resources": {"requests": desired_requests}});
        }
        api.patch(
            &host_name.name,
            &PatchParams::default(),
            &merge_patch(&patch),
        )
        .await
        .ctx(|| format!("updating host claim {}", host_name.name))?;
    }
    if host.status.is_some() && host.status != virtual_claim.status {
        let mut updated = (*virtual_claim).clone();
        updated.status = host.status.clone();
        match virtual_api
            .replace_status(name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => {}
            Err(e) if is_status(&e, 409) => return Ok(Next::After(Duration::from_millis(200))),
            Err(e) => return Err(e).ctx(|| format!("updating status of virtual claim {key}")),
        }
    }
    Ok(Next::Done)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;
    use crate::names::NamespaceMode;

    #[test]
    fn host_claims_are_renamed_and_unbound() {
        let names = Names::new("vc", "host", NamespaceMode::Single);
        let claim = PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: Some("data".into()),
                namespace: Some("ns".into()),
                uid: Some("u".into()),
                ..ObjectMeta::default()
            },
            spec: Some(PersistentVolumeClaimSpec {
                volume_name: Some("pv-virtual".into()),
                storage_class_name: Some("fast".into()),
                data_source: Some(TypedLocalObjectReference {
                    api_group: None,
                    kind: "PersistentVolumeClaim".into(),
                    name: "src".into(),
                }),
                ..PersistentVolumeClaimSpec::default()
            }),
            status: None,
        };
        let host = host_claim(&names, &claim, None, false);
        assert_eq!(host.metadata.name.as_deref(), Some("data-x-ns-x-vc"));
        let spec = host.spec.unwrap();
        assert_eq!(spec.volume_name, None);
        assert_eq!(spec.storage_class_name.as_deref(), Some("fast"));
        assert_eq!(spec.data_source.unwrap().name, "src-x-ns-x-vc");
        let synced_classes = host_claim(&names, &claim, None, true);
        assert_eq!(
            synced_classes.spec.unwrap().storage_class_name.as_deref(),
            Some("vcluster-fast-x-host-x-vc")
        );
    }
}
