//! ConfigMaps and Secrets: copied to the host when a pod references them (volumes, projected
//! sources, env, envFrom, imagePullSecrets) or an Ingress does (TLS, nginx auth annotations,
//! see [`super::ingresses`]), when marked `vcluster.loft.sh/force-sync: "true"`,
//! or all of them with `all: true`; the host copy goes when nothing needs it any more.
//! ServiceAccounts (`sync.toHost.serviceAccounts`): all of them, so host pods can run as the
//! host copy of their virtual account.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, PatchParams, PostParams};
use kube::runtime::reflector::Store;
use serde::Serialize;
use serde::de::DeserializeOwned;
use warren_controllers::queue;

use super::worker::Next;
use super::{Context, Ctx, SyncError, cached, is_status, merge_patch, meta};
use crate::config::SyncAll;
use crate::names::{Names, annotations};
use crate::translate::metadata::host_metadata;

/// The two kinds handled here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    ConfigMap,
    Secret,
}

fn container_refs(container: &Container, kind: Kind, out: &mut BTreeSet<String>) {
    for var in container.env.iter().flatten() {
        let Some(source) = &var.value_from else {
            continue;
        };
        match kind {
            Kind::ConfigMap => {
                out.extend(source.config_map_key_ref.as_ref().map(|r| r.name.clone()))
            }
            Kind::Secret => out.extend(source.secret_key_ref.as_ref().map(|r| r.name.clone())),
        }
    }
    for source in container.env_from.iter().flatten() {
        match kind {
            Kind::ConfigMap => out.extend(source.config_map_ref.as_ref().map(|r| r.name.clone())),
            Kind::Secret => out.extend(source.secret_ref.as_ref().map(|r| r.name.clone())),
        }
    }
}

/// `namespace/name` keys of the ConfigMaps (or Secrets) a pod references.
pub fn referenced(pod: &Pod, kind: Kind) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let Some(spec) = &pod.spec else {
        return names;
    };
    for volume in spec.volumes.iter().flatten() {
        match kind {
            Kind::ConfigMap => names.extend(volume.config_map.as_ref().map(|c| c.name.clone())),
            Kind::Secret => {
                names.extend(volume.secret.as_ref().and_then(|s| s.secret_name.clone()))
            }
        }
        for source in volume
            .projected
            .iter()
            .flat_map(|p| p.sources.iter().flatten())
        {
            match kind {
                Kind::ConfigMap => names.extend(source.config_map.as_ref().map(|c| c.name.clone())),
                Kind::Secret => names.extend(source.secret.as_ref().map(|s| s.name.clone())),
            }
        }
    }
    for container in spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
    {
        container_refs(container, kind, &mut names);
    }
    if kind == Kind::Secret {
        names.extend(
            spec.image_pull_secrets
                .iter()
                .flatten()
                .map(|s| s.name.clone()),
        );
    }
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    names
        .into_iter()
        .filter(|n| !n.is_empty())
        .map(|n| queue::key(Some(namespace), &n))
        .collect()
}

/// A kind copied to the host as it is (renamed).
trait Copied:
    kube::Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Serialize
    + DeserializeOwned
    + Debug
    + Send
    + Sync
    + 'static
{
    /// What pods reference it by (`None`: synced whether referenced or not).
    const KIND_ENUM: Option<Kind>;
    /// `kind` of the virtual object (apiVersion is `v1` for all).
    const KIND: &'static str;
    /// The host copy's content (everything but metadata).
    fn host_content(&self) -> Self;
    fn same_content(&self, other: &Self) -> bool;
    fn immutable(&self) -> bool;
}

impl Copied for ConfigMap {
    const KIND_ENUM: Option<Kind> = Some(Kind::ConfigMap);
    const KIND: &'static str = "ConfigMap";
    fn host_content(&self) -> Self {
        ConfigMap {
            metadata: ObjectMeta::default(),
            data: self.data.clone(),
            binary_data: self.binary_data.clone(),
            immutable: self.immutable,
        }
    }
    fn same_content(&self, other: &Self) -> bool {
        self.data.clone().unwrap_or_default() == other.data.clone().unwrap_or_default()
            && self.binary_data.clone().unwrap_or_default()
                == other.binary_data.clone().unwrap_or_default()
            && self.immutable.unwrap_or(false) == other.immutable.unwrap_or(false)
    }
    fn immutable(&self) -> bool {
        self.immutable == Some(true)
    }
}

/// Secret type a host copy gets: service account tokens of the virtual cluster mean nothing
/// to the host (its token controller would empty or delete them), so they travel as Opaque.
pub fn host_secret_type(virtual_type: Option<&str>) -> Option<String> {
    match virtual_type {
        Some("kubernetes.io/service-account-token") => Some("Opaque".to_owned()),
        other => other.map(str::to_owned),
    }
}

impl Copied for Secret {
    const KIND_ENUM: Option<Kind> = Some(Kind::Secret);
    const KIND: &'static str = "Secret";
    fn host_content(&self) -> Self {
        Secret {
            metadata: ObjectMeta::default(),
            data: self.data.clone(),
            // The API server folds stringData into data; copy what it stored.
            string_data: None,
            type_: host_secret_type(self.type_.as_deref()),
            immutable: self.immutable,
        }
    }
    fn same_content(&self, other: &Self) -> bool {
        self.data.clone().unwrap_or_default() == other.data.clone().unwrap_or_default()
            && self.type_.as_deref().unwrap_or("Opaque")
                == other.type_.as_deref().unwrap_or("Opaque")
            && self.immutable.unwrap_or(false) == other.immutable.unwrap_or(false)
    }
    fn immutable(&self) -> bool {
        self.immutable == Some(true)
    }
}

impl Copied for ServiceAccount {
    const KIND_ENUM: Option<Kind> = None;
    const KIND: &'static str = "ServiceAccount";
    fn host_content(&self) -> Self {
        ServiceAccount {
            metadata: ObjectMeta::default(),
            // Pods get the virtual cluster's tokens, never the host's.
            automount_service_account_token: Some(false),
            image_pull_secrets: None,
            secrets: None,
        }
    }
    fn same_content(&self, other: &Self) -> bool {
        self.automount_service_account_token == other.automount_service_account_token
    }
    fn immutable(&self) -> bool {
        false
    }
}

/// The host copy of a virtual ConfigMap/Secret/ServiceAccount.
fn host_copy<K: Copied>(
    names: &Names,
    virtual_object: &K,
    owner: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference>,
) -> K {
    let mut out = virtual_object.host_content();
    *out.meta_mut() = host_metadata(names, virtual_object.meta(), "v1", K::KIND, owner, &[]);
    meta::mark_managed_labels(out.meta_mut(), virtual_object.meta().labels.as_ref());
    out
}

fn force_synced(meta: &ObjectMeta) -> bool {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(annotations::FORCE_SYNC))
        .is_some_and(|v| v == "true")
}

fn referenced_by_a_pod(ctx: &Ctx, key: &str, kind: Kind) -> bool {
    let namespace = queue::split(key).0;
    let name = format!("\"{}\"", queue::split(key).1);
    // `find` walks the cache in place (no copy of every pod's handle per call); only pods
    // whose JSON names the object are decoded.
    ctx.v
        .pods
        .find(|p| {
            p.metadata.namespace.as_deref() == namespace
                && p.mentions(&name)
                && referenced(&p.decode(), kind).contains(key)
        })
        .is_some()
}

pub(crate) async fn sync_config_map(ctx: &Ctx, key: &str) -> Result<Next, SyncError> {
    let settings = ctx.config().sync.to_host.config_maps;
    sync_copied::<ConfigMap>(
        ctx,
        key,
        &ctx.v.config_maps,
        &ctx.h.config_maps,
        settings,
        false,
    )
    .await
}

pub(crate) async fn sync_service_account(ctx: &Ctx, key: &str) -> Result<Next, SyncError> {
    let all = SyncAll {
        enabled: true,
        all: true,
    };
    sync_copied::<ServiceAccount>(
        ctx,
        key,
        &ctx.v.service_accounts,
        &ctx.h.service_accounts,
        all,
        false,
    )
    .await
}

pub(crate) async fn sync_secret(ctx: &Ctx, key: &str) -> Result<Next, SyncError> {
    let settings = ctx.config().sync.to_host.secrets;
    sync_copied::<Secret>(ctx, key, &ctx.v.secrets, &ctx.h.secrets, settings, false).await
}

/// Copies what a pod references to the host now (the pod is about to be created there).
pub(crate) async fn ensure_for_pod(ctx: &Ctx, pod: &Pod) -> Result<(), SyncError> {
    let to_host = &ctx.config().sync.to_host;
    if to_host.config_maps.enabled {
        for key in referenced(pod, Kind::ConfigMap) {
            sync_copied::<ConfigMap>(
                ctx,
                &key,
                &ctx.v.config_maps,
                &ctx.h.config_maps,
                to_host.config_maps,
                true,
            )
            .await?;
        }
    }
    if to_host.service_accounts {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
        let account = pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_owned());
        sync_service_account(ctx, &queue::key(Some(namespace), &account)).await?;
    }
    if to_host.secrets.enabled {
        for key in referenced(pod, Kind::Secret) {
            sync_copied::<Secret>(
                ctx,
                &key,
                &ctx.v.secrets,
                &ctx.h.secrets,
                to_host.secrets,
                true,
            )
            .await?;
        }
    }
    Ok(())
}

async fn sync_copied<K: Copied>(
    ctx: &Ctx,
    key: &str,
    virtual_store: &Store<K>,
    host_store: &Store<K>,
    settings: SyncAll,
    known_needed: bool,
) -> Result<Next, SyncError> {
    let (Some(namespace), name) = queue::split(key) else {
        return Ok(Next::Done);
    };
    let names = ctx.names();
    let virtual_object = cached(virtual_store, Some(namespace), name);
    let host_name = names.host_object(name, namespace);
    let host_object = cached(host_store, Some(&host_name.namespace), &host_name.name)
        .filter(|h| ctx.virtual_key(h.meta(), K::KIND).as_deref() == Some(key));
    let api: Api<K> = ctx.host_api();
    let needed = virtual_object.as_ref().is_some_and(|v| {
        known_needed
            || settings.all
            || force_synced(v.meta())
            || K::KIND_ENUM.is_some_and(|kind| referenced_by_a_pod(ctx, key, kind))
            || (K::KIND_ENUM == Some(Kind::Secret) && super::ingresses::uses_secret(ctx, key))
    });
    let Some(virtual_object) = virtual_object.filter(|_| needed) else {
        if let Some(host) = host_object {
            let params = super::delete_uid(host.meta().uid.as_deref());
            match api.delete(&host_name.name, &params).await {
                Ok(_) => {}
                Err(e) if is_status(&e, 404) || is_status(&e, 409) => {}
                Err(e) => {
                    return Err(e).ctx(|| format!("deleting host {} {}", K::KIND, host_name.name));
                }
            }
        }
        return Ok(Next::Done);
    };
    let desired = host_copy(names, &*virtual_object, ctx.host.owner.as_ref());
    let Some(host) = host_object else {
        return match api.create(&PostParams::default(), &desired).await {
            Ok(_) => Ok(Next::Done),
            // Created meanwhile (the cache lags, or another worker did it).
            Err(e) if is_status(&e, 409) => Ok(if known_needed {
                Next::Done
            } else {
                Next::After(Duration::from_millis(500))
            }),
            Err(e) => Err(e).ctx(|| format!("creating host {} {}", K::KIND, host_name.name)),
        };
    };
    let merged = meta::merge(names, virtual_object.meta(), host.meta(), desired.meta());
    if merged.virtual_changed() {
        let patch = meta::add_metadata_patch(&merged.virtual_labels, &merged.virtual_annotations);
        let virtual_api: Api<K> = ctx.virtual_api(namespace);
        virtual_api
            .patch(name, &PatchParams::default(), &merge_patch(&patch))
            .await
            .ctx(|| format!("updating metadata of virtual {} {key}", K::KIND))?;
    }
    let content_changed = !desired.same_content(&host);
    if content_changed && host.immutable() {
        // Immutable on the host: replaced by a new copy.
        api.delete(&host_name.name, &DeleteParams::default())
            .await
            .ctx(|| format!("deleting immutable host {} {}", K::KIND, host_name.name))?;
        return Ok(Next::After(Duration::from_millis(200)));
    }
    if content_changed || merged.host_changed(host.meta()) {
        let mut updated = desired;
        {
            let m = updated.meta_mut();
            m.labels = Some(merged.host_labels);
            m.annotations = Some(merged.host_annotations);
            m.resource_version = host.meta().resource_version.clone();
        }
        match api
            .replace(&host_name.name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => {}
            Err(e) if is_status(&e, 409) => return Ok(Next::After(Duration::from_millis(200))),
            Err(e) => {
                return Err(e).ctx(|| format!("updating host {} {}", K::KIND, host_name.name));
            }
        }
    }
    Ok(Next::Done)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::api::core::v1::{
        ConfigMapEnvSource, ConfigMapKeySelector, ConfigMapProjection, ConfigMapVolumeSource,
        EnvFromSource, EnvVar, EnvVarSource, LocalObjectReference, PodSpec, ProjectedVolumeSource,
        SecretKeySelector, SecretVolumeSource, Volume, VolumeProjection,
    };

    use super::*;
    use crate::names::NamespaceMode;

    fn pod() -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some("p".into()),
                namespace: Some("ns".into()),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                volumes: Some(vec![
                    Volume {
                        name: "cm".into(),
                        config_map: Some(ConfigMapVolumeSource {
                            name: "vol-cm".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                    Volume {
                        name: "s".into(),
                        secret: Some(SecretVolumeSource {
                            secret_name: Some("vol-secret".into()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                    Volume {
                        name: "proj".into(),
                        projected: Some(ProjectedVolumeSource {
                            sources: Some(vec![VolumeProjection {
                                config_map: Some(ConfigMapProjection {
                                    name: "kube-root-ca.crt".into(),
                                    ..Default::default()
                                }),
                                ..Default::default()
                            }]),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                ]),
                containers: vec![Container {
                    name: "c".into(),
                    env: Some(vec![
                        EnvVar {
                            name: "A".into(),
                            value_from: Some(EnvVarSource {
                                config_map_key_ref: Some(ConfigMapKeySelector {
                                    name: "env-cm".into(),
                                    key: "k".into(),
                                    optional: None,
                                }),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                        EnvVar {
                            name: "B".into(),
                            value_from: Some(EnvVarSource {
                                secret_key_ref: Some(SecretKeySelector {
                                    name: "env-secret".into(),
                                    key: "k".into(),
                                    optional: None,
                                }),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                    ]),
                    env_from: Some(vec![EnvFromSource {
                        config_map_ref: Some(ConfigMapEnvSource {
                            name: "from-cm".into(),
                            optional: None,
                        }),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }],
                image_pull_secrets: Some(vec![LocalObjectReference {
                    name: "pull".into(),
                }]),
                ..Default::default()
            }),
            status: None,
        }
    }

    #[test]
    fn references_are_found_everywhere() {
        let config_maps: Vec<String> = referenced(&pod(), Kind::ConfigMap).into_iter().collect();
        assert_eq!(
            config_maps,
            [
                "ns/env-cm",
                "ns/from-cm",
                "ns/kube-root-ca.crt",
                "ns/vol-cm"
            ]
        );
        let secrets: Vec<String> = referenced(&pod(), Kind::Secret).into_iter().collect();
        assert_eq!(secrets, ["ns/env-secret", "ns/pull", "ns/vol-secret"]);
    }

    #[test]
    fn host_copies_are_renamed_and_marked() {
        let names = Names::new("vc", "host", NamespaceMode::Single);
        let virtual_secret = Secret {
            metadata: ObjectMeta {
                name: Some("token".into()),
                namespace: Some("ns".into()),
                uid: Some("u".into()),
                labels: Some(BTreeMap::from([("a".to_owned(), "b".to_owned())])),
                ..ObjectMeta::default()
            },
            data: Some(BTreeMap::new()),
            type_: Some("kubernetes.io/service-account-token".into()),
            ..Secret::default()
        };
        let copy = host_copy(&names, &virtual_secret, None);
        assert_eq!(copy.metadata.name.as_deref(), Some("token-x-ns-x-vc"));
        assert_eq!(copy.metadata.namespace.as_deref(), Some("host"));
        assert_eq!(copy.type_.as_deref(), Some("Opaque"));
        let annotations = copy.metadata.annotations.unwrap();
        assert_eq!(
            annotations["vcluster.loft.sh/object-kind"],
            "/v1, Kind=Secret"
        );
        assert_eq!(annotations["vcluster.loft.sh/managed-labels"], "a");
        assert_eq!(
            copy.metadata.labels.unwrap()["vcluster.loft.sh/managed-by"],
            "vc"
        );
    }
}
