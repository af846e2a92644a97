//! Cluster-scoped classes ([`crate::translate::classes`]) from the host
//! (`sync.fromHost.ingressClasses`): the host's classes (those matching the key's `selector`)
//! appear in the virtual cluster under their own names and follow the host's; a virtual class
//! the host lacks is deleted, as in vCluster.

use std::fmt::Debug;
use std::time::Duration;

use k8s_openapi::ClusterResourceScope;
use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::Resource;
use kube::api::{Api, PostParams};
use serde::Serialize;
use serde::de::DeserializeOwned;
use warren_controllers::selector::Selector;

use super::kinds::{NOT_READY, Pair, ready};
use super::worker::Next;
use super::{Context, Ctx, SyncError, cached, is_status};
use crate::translate::classes::{ClassKind, mirrored_class, same_mirror};

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
