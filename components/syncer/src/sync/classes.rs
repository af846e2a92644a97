//! Cluster-scoped classes ([`crate::translate::classes`]).
//!
//! - toHost (`sync.toHost.priorityClasses`, `sync.toHost.storageClasses`): each virtual class
//!   becomes `vcluster-<name>-x-<hostNamespace>-x-<vcluster>` on the host. A cluster-scoped
//!   host object cannot be owned by the namespaced host Service that owns everything else, so it
//!   carries the cluster-scoped `vcluster.loft.sh/managed-by=<hostNamespace>-x-<vcluster>` label
//!   and the `object-*` annotations instead; it is deleted when its virtual class goes, and
//!   at start-up when its virtual class is gone (the first list of the host watch queues it).
//!   Synced pods name the host copy of their PriorityClass ([`crate::translate::pod`]).
//! - fromHost (`sync.fromHost.ingressClasses`, `.priorityClasses`, `.storageClasses`): the
//!   host's classes (those matching the key's `selector`) appear in the virtual cluster under
//!   their own names and follow the host's; a virtual class the host lacks is deleted, as in
//!   vCluster (the built-in `system-*` PriorityClasses are left alone on both sides).
//!
//! Fields the API server will not change in place (a PriorityClass's value, a StorageClass's
//! provisioner and parameters, …) are changed by deleting the copy and creating it again.

use std::fmt::Debug;
use std::time::Duration;

use k8s_openapi::ClusterResourceScope;
use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::Resource;
use kube::api::{Api, PatchParams, PostParams};
use serde::Serialize;
use serde::de::DeserializeOwned;
use warren_controllers::selector::Selector;

use super::kinds::{NOT_READY, Pair, delete_host, ready, virtual_key_of};
use super::worker::Next;
use super::{Context, Ctx, SyncError, cached, is_status, merge_patch, meta};
use crate::translate::classes::{
    ClassKind, SYSTEM_PRIORITY_CLASSES, host_class, mirrored_class, same_mirror,
};

/// A class kind the loops here handle.
trait Class:
    ClassKind
    + Resource<DynamicType = (), Scope = ClusterResourceScope>
    + Serialize
    + DeserializeOwned
    + Debug
    + Send
    + Sync
    + 'static
{
}

impl<K> Class for K where
    K: ClassKind
        + Resource<DynamicType = (), Scope = ClusterResourceScope>
        + Serialize
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static
{
}

pub(crate) async fn sync_ingress_class(ctx: &Ctx, name: &str) -> Result<Next, SyncError> {
    let Some(pair) = &ctx.kinds.ingress_classes else {
        return Ok(Next::Done);
    };
    let selector = ctx
        .config()
        .sync
        .from_host
        .ingress_classes
        .selector
        .as_ref();
    sync_from_host::<IngressClass>(ctx, pair, selector, name).await
}

pub(crate) async fn sync_priority_class(ctx: &Ctx, name: &str) -> Result<Next, SyncError> {
    let Some(pair) = &ctx.kinds.priority_classes else {
        return Ok(Next::Done);
    };
    // The built-in classes exist in both clusters already (synced pods keep their names
    // when classes come from the host).
    if SYSTEM_PRIORITY_CLASSES.contains(&name) && !ctx.config().sync.to_host.priority_classes {
        return Ok(Next::Done);
    }
    if ctx.config().sync.to_host.priority_classes {
        sync_to_host::<PriorityClass>(ctx, pair, name).await
    } else {
        let selector = ctx
            .config()
            .sync
            .from_host
            .priority_classes
            .selector
            .as_ref();
        sync_from_host::<PriorityClass>(ctx, pair, selector, name).await
    }
}

pub(crate) async fn sync_storage_class(ctx: &Ctx, name: &str) -> Result<Next, SyncError> {
    let Some(pair) = &ctx.kinds.storage_classes else {
        return Ok(Next::Done);
    };
    if ctx.config().sync.to_host.storage_classes {
        sync_to_host::<StorageClass>(ctx, pair, name).await
    } else {
        let selector = ctx
            .config()
            .sync
            .from_host
            .storage_classes
            .selector
            .as_ref();
        sync_from_host::<StorageClass>(ctx, pair, selector, name).await
    }
}

/// The host copy of the virtual class `name` kept in step (see the module doc).
async fn sync_to_host<K: Class>(ctx: &Ctx, pair: &Pair<K>, name: &str) -> Result<Next, SyncError> {
    if !ready(&pair.v) || !ready(&pair.h) {
        return Ok(NOT_READY);
    }
    let names = ctx.names();
    let virtual_class = cached(&pair.v, None, name);
    let host_name = names.host_name_cluster(name);
    let host = cached(&pair.h, None, &host_name).filter(|h| {
        virtual_key_of(names, h.meta(), K::API_VERSION, K::KIND).as_deref() == Some(name)
    });
    let api: Api<K> = Api::all(ctx.host.client.clone());
    let Some(virtual_class) = virtual_class else {
        if let Some(host) = host {
            delete_host(&api, &host_name, host.meta().uid.as_deref(), K::KIND).await?;
        }
        return Ok(Next::Done);
    };
    let mut desired = host_class(names, &*virtual_class);
    meta::mark_managed_labels(desired.meta_mut(), virtual_class.meta().labels.as_ref());
    let Some(host) = host else {
        return match api.create(&PostParams::default(), &desired).await {
            Ok(_) => Ok(Next::Done),
            Err(e) if is_status(&e, 409) => Ok(Next::After(Duration::from_millis(500))),
            Err(e) => Err(e).ctx(|| format!("creating host {} {host_name}", K::KIND)),
        };
    };
    let merged = meta::merge(names, virtual_class.meta(), host.meta(), desired.meta());
    if merged.virtual_changed() {
        let patch = meta::add_metadata_patch(&merged.virtual_labels, &merged.virtual_annotations);
        Api::<K>::all(ctx.virt.clone())
            .patch(name, &PatchParams::default(), &merge_patch(&patch))
            .await
            .ctx(|| format!("updating metadata of virtual {} {name}", K::KIND))?;
    }
    if host.needs_recreate(&desired) {
        tracing::info!(kind = K::KIND, name = %host_name, "recreating host class (a field changed that cannot be updated)");
        delete_host(&api, &host_name, host.meta().uid.as_deref(), K::KIND).await?;
        return Ok(Next::After(Duration::from_millis(200)));
    }
    if !host.same_content(&desired) || merged.host_changed(host.meta()) {
        {
            let m = desired.meta_mut();
            m.labels = Some(merged.host_labels);
            m.annotations = Some(merged.host_annotations);
            m.resource_version = host.meta().resource_version.clone();
        }
        match api
            .replace(&host_name, &PostParams::default(), &desired)
            .await
        {
            Ok(_) => {}
            Err(e) if is_status(&e, 409) => return Ok(Next::After(Duration::from_millis(200))),
            Err(e) => return Err(e).ctx(|| format!("updating host {} {host_name}", K::KIND)),
        }
    }
    Ok(Next::Done)
}

/// Whether a host class is shown in the virtual cluster (matches the key's selector).
fn selected<K: Class>(selector: Option<&LabelSelector>, host: &K) -> Result<bool, SyncError> {
    let Some(selector) = selector else {
        return Ok(true);
    };
    let selector = Selector::from_label_selector(selector)
        .map_err(|e| SyncError::Invalid(format!("{} selector: {e}", K::KIND)))?;
    Ok(selector.matches(host.meta().labels.as_ref()))
}

/// The virtual mirror of the host class `name` kept in step (see the module doc).
async fn sync_from_host<K: Class>(
    ctx: &Ctx,
    pair: &Pair<K>,
    selector: Option<&LabelSelector>,
    name: &str,
) -> Result<Next, SyncError> {
    if !ready(&pair.v) || !ready(&pair.h) {
        return Ok(NOT_READY);
    }
    let host = match cached(&pair.h, None, name) {
        Some(host) if selected(selector, &*host)? => Some(host),
        _ => None,
    };
    let virtual_class = cached(&pair.v, None, name);
    let api: Api<K> = Api::all(ctx.virt.clone());
    let what = || format!("virtual {} {name}", K::KIND);
    match (host, virtual_class) {
        (None, None) => Ok(Next::Done),
        (None, Some(virtual_class)) => {
            tracing::info!(kind = K::KIND, %name, "deleting virtual class the host does not have");
            match api
                .delete(
                    name,
                    &super::delete_uid(virtual_class.meta().uid.as_deref()),
                )
                .await
            {
                Ok(_) => Ok(Next::Done),
                Err(e) if is_status(&e, 404) || is_status(&e, 409) => Ok(Next::Done),
                Err(e) => Err(e).ctx(|| format!("deleting {}", what())),
            }
        }
        (Some(host), None) => match api
            .create(&PostParams::default(), &mirrored_class(&*host))
            .await
        {
            Ok(_) => Ok(Next::Done),
            Err(e) if is_status(&e, 409) => Ok(Next::After(Duration::from_millis(500))),
            Err(e) => Err(e).ctx(|| format!("creating {}", what())),
        },
        (Some(host), Some(virtual_class)) => {
            let mut wanted = mirrored_class(&*host);
            if same_mirror(&*virtual_class, &wanted) {
                return Ok(Next::Done);
            }
            if virtual_class.needs_recreate(&wanted) {
                api.delete(
                    name,
                    &super::delete_uid(virtual_class.meta().uid.as_deref()),
                )
                .await
                .ctx(|| format!("deleting {} to create it again", what()))?;
                return Ok(Next::After(Duration::from_millis(200)));
            }
            wanted.meta_mut().resource_version = virtual_class.meta().resource_version.clone();
            match api.replace(name, &PostParams::default(), &wanted).await {
                Ok(_) => Ok(Next::Done),
                Err(e) if is_status(&e, 409) => Ok(Next::After(Duration::from_millis(200))),
                Err(e) => Err(e).ctx(|| format!("updating {}", what())),
            }
        }
    }
}
