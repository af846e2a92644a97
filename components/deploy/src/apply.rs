//! Putting the manifests on a host cluster (server-side apply) and taking them off again.

use std::collections::BTreeMap;
use std::fmt::Debug;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    Namespace, PersistentVolumeClaim, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams,
};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{
    CREATED_NAMESPACE_ANNOTATION, DeployError, DeployRequest, FIELD_MANAGER, MANAGED_BY,
    MANAGED_BY_LABEL, Names, cluster_role_rules, manifests,
};

/// What [`deploy`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployed {
    /// The StatefulSet existed before (an upgrade), else it was created.
    pub upgraded: bool,
    /// The namespace was created (and marked so delete removes it).
    pub namespace_created: bool,
}

/// What [`delete`] removed: `Kind/name` of each object, and whether the namespace went too.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deleted {
    pub objects: Vec<String>,
    pub namespace_deleted: bool,
}

fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

/// Deployed by warren for this virtual cluster.
fn ours(meta: &ObjectMeta, names: &Names) -> bool {
    let labels = meta.labels.as_ref();
    let label = |key: &str| labels.and_then(|l| l.get(key)).map(String::as_str);
    label(MANAGED_BY_LABEL) == Some(MANAGED_BY) && label("release") == Some(&names.vcluster)
}

/// Creates or upgrades the virtual cluster. Without `upgrade`, an existing StatefulSet is
/// [`DeployError::AlreadyExists`] and nothing is changed; with it, a missing one is created.
pub async fn deploy(
    client: &Client,
    request: &DeployRequest,
    upgrade: bool,
) -> Result<Deployed, DeployError> {
    let names = &request.names;
    let objects = manifests(request);
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), &names.namespace);
    let existing = statefulsets
        .get_opt(names.statefulset())
        .await
        .map_err(|e| {
            DeployError::api(
                format!("reading StatefulSet {}/{}", names.namespace, names.vcluster),
                e,
            )
        })?;
    if let Some(existing) = &existing {
        if !upgrade {
            return Err(DeployError::AlreadyExists {
                name: names.vcluster.clone(),
                namespace: names.namespace.clone(),
            });
        }
        if !ours(&existing.metadata, names) {
            return Err(DeployError::NotOurs {
                kind: "StatefulSet",
                name: names.vcluster.clone(),
                namespace: names.namespace.clone(),
            });
        }
    }
    let namespace_created = ensure_namespace(client, &names.namespace).await?;
    for object in &objects {
        apply(client, object).await?;
    }
    if cluster_role_rules(&request.config, &names.namespace).is_none() {
        // An upgrade that turned the cluster-scoped syncs off.
        delete_cluster_role(client, names, &mut Vec::new()).await?;
    }
    Ok(Deployed {
        upgraded: existing.is_some(),
        namespace_created,
    })
}

/// Creates the namespace when missing, marked as created by the CLI. `true`: it was created.
async fn ensure_namespace(client: &Client, name: &str) -> Result<bool, DeployError> {
    let api: Api<Namespace> = Api::all(client.clone());
    match api.get_opt(name).await {
        Ok(Some(_)) => return Ok(false),
        Ok(None) => {}
        // May not read namespaces but may deploy into this one: it exists.
        Err(e) if is_status(&e, 403) => return Ok(false),
        Err(e) => return Err(DeployError::api(format!("reading namespace {name}"), e)),
    }
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            annotations: Some(BTreeMap::from([(
                CREATED_NAMESPACE_ANNOTATION.to_owned(),
                "true".to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    match api.create(&PostParams::default(), &namespace).await {
        Ok(_) => {
            tracing::info!(namespace = %name, "created namespace");
            Ok(true)
        }
        Err(e) if is_status(&e, 409) => Ok(false),
        Err(e) => Err(DeployError::api(format!("creating namespace {name}"), e)),
    }
}

/// The API resource of a kind [`manifests`] makes.
fn resource(api_version: &str, kind: &str) -> ApiResource {
    match kind {
        "ServiceAccount" => ApiResource::erase::<ServiceAccount>(&()),
        "Role" => ApiResource::erase::<Role>(&()),
        "RoleBinding" => ApiResource::erase::<RoleBinding>(&()),
        "ClusterRole" => ApiResource::erase::<ClusterRole>(&()),
        "ClusterRoleBinding" => ApiResource::erase::<ClusterRoleBinding>(&()),
        "Secret" => ApiResource::erase::<Secret>(&()),
        "Service" => ApiResource::erase::<Service>(&()),
        "StatefulSet" => ApiResource::erase::<StatefulSet>(&()),
        _ => {
            let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
            ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
        }
    }
}

/// Server-side apply of one object, taking over fields other managers hold (as an upgrade
/// must).
async fn apply(client: &Client, object: &Value) -> Result<(), DeployError> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let (api_version, kind) = (text(&object["apiVersion"]), text(&object["kind"]));
    let name = text(&object["metadata"]["name"]);
    let resource = resource(&api_version, &kind);
    let api: Api<DynamicObject> = match object["metadata"]["namespace"].as_str() {
        Some(namespace) => Api::namespaced_with(client.clone(), namespace, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    api.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
    .map_err(|e| DeployError::api(format!("applying {kind} {name}"), e))?;
    tracing::debug!(%kind, %name, "applied");
    Ok(())
}

/// Deletes the object `name` if warren deployed it for this virtual cluster.
async fn delete_ours<K>(
    api: Api<K>,
    name: &str,
    names: &Names,
    deleted: &mut Vec<String>,
) -> Result<(), DeployError>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    let kind = K::kind(&());
    let Some(object) = api
        .get_opt(name)
        .await
        .map_err(|e| DeployError::api(format!("reading {kind} {name}"), e))?
    else {
        return Ok(());
    };
    if !ours(object.meta(), names) {
        tracing::info!(%kind, %name, "not deployed by warren; left alone");
        return Ok(());
    }
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => deleted.push(format!("{kind}/{name}")),
        Err(e) if is_status(&e, 404) => {}
        Err(e) => return Err(DeployError::api(format!("deleting {kind} {name}"), e)),
    }
    Ok(())
}

async fn delete_cluster_role(
    client: &Client,
    names: &Names,
    deleted: &mut Vec<String>,
) -> Result<(), DeployError> {
    let name = names.cluster_role();
    let bindings: Api<ClusterRoleBinding> = Api::all(client.clone());
    delete_ours(bindings, &name, names, deleted).await?;
    let roles: Api<ClusterRole> = Api::all(client.clone());
    delete_ours(roles, &name, names, deleted).await
}

/// Deletes the cluster-scoped copies the syncer made on the host (PriorityClasses and
/// StorageClasses sent to the host): a namespaced owner cannot hold them, so they carry the
/// cluster-scoped `vcluster.loft.sh/managed-by=<namespace>-x-<vcluster>` label instead, and
/// would otherwise outlive the virtual cluster. Kinds the caller may not list are skipped.
async fn delete_cluster_scoped_copies(
    client: &Client,
    names: &Names,
    deleted: &mut Vec<String>,
) -> Result<(), DeployError> {
    let marker = warren_syncer::names::Names::new(
        &names.vcluster,
        &names.namespace,
        warren_syncer::names::NamespaceMode::Single,
    )
    .marker_label_cluster();
    let selector = format!("{}={marker}", warren_syncer::names::labels::MANAGED_BY);
    delete_labeled(
        Api::<PriorityClass>::all(client.clone()),
        &selector,
        deleted,
    )
    .await?;
    delete_labeled(Api::<StorageClass>::all(client.clone()), &selector, deleted).await
}

async fn delete_labeled<K>(
    api: Api<K>,
    selector: &str,
    deleted: &mut Vec<String>,
) -> Result<(), DeployError>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    let kind = K::kind(&());
    let list = match api.list(&ListParams::default().labels(selector)).await {
        Ok(list) => list,
        Err(e) if is_status(&e, 403) || is_status(&e, 404) => return Ok(()),
        Err(e) => return Err(DeployError::api(format!("listing {kind}s"), e)),
    };
    for object in list.items {
        let name = object.meta().name.clone().unwrap_or_default();
        match api.delete(&name, &DeleteParams::background()).await {
            Ok(_) => deleted.push(format!("{kind}/{name}")),
            Err(e) if is_status(&e, 404) => {}
            Err(e) => return Err(DeployError::api(format!("deleting {kind} {name}"), e)),
        }
    }
    Ok(())
}

/// Whether a claim is one the StatefulSet controller made from the template `data`
/// (`data-<name>-<ordinal>`).
fn is_data_claim(claim: &str, names: &Names) -> bool {
    claim
        .strip_prefix(&names.claim_prefix())
        .is_some_and(|ordinal| !ordinal.is_empty() && ordinal.bytes().all(|b| b.is_ascii_digit()))
}

/// Deletes what [`deploy`] made (only objects carrying warren's labels for this virtual
/// cluster), the data claims, and the namespace when the CLI created it and no other virtual
/// cluster is left in it. The syncer's own namespaced host objects are owned by the Service and
/// go with it (the host's garbage collector); its cluster-scoped copies are deleted by label.
pub async fn delete(client: &Client, names: &Names) -> Result<Deleted, DeployError> {
    let ns = &names.namespace;
    let mut deleted = Vec::new();
    // The StatefulSet first, so the syncer stops before what it runs on goes.
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    delete_ours(statefulsets, names.statefulset(), names, &mut deleted).await?;
    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    delete_ours(services.clone(), names.service(), names, &mut deleted).await?;
    delete_ours(services, &names.headless_service(), names, &mut deleted).await?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    delete_ours(secrets, &names.config_secret(), names, &mut deleted).await?;
    let account = names.service_account();
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), ns);
    delete_ours(bindings, &account, names, &mut deleted).await?;
    let roles: Api<Role> = Api::namespaced(client.clone(), ns);
    delete_ours(roles, &account, names, &mut deleted).await?;
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    delete_ours(accounts, &account, names, &mut deleted).await?;
    delete_cluster_role(client, names, &mut deleted).await?;
    delete_cluster_scoped_copies(client, names, &mut deleted).await?;
    if deleted.is_empty() {
        return Err(DeployError::NotFound {
            name: names.vcluster.clone(),
            namespace: ns.clone(),
        });
    }

    // Claims carry the StatefulSet's selector labels (its controller adds them).
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    let selector = format!("app=vcluster,release={}", names.vcluster);
    let list = claims
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| DeployError::api(format!("listing claims in {ns}"), e))?;
    for claim in list.items {
        let name = claim.metadata.name.clone().unwrap_or_default();
        if !is_data_claim(&name, names) {
            continue;
        }
        match claims.delete(&name, &DeleteParams::background()).await {
            Ok(_) => deleted.push(format!("PersistentVolumeClaim/{name}")),
            Err(e) if is_status(&e, 404) => {}
            Err(e) => return Err(DeployError::api(format!("deleting claim {name}"), e)),
        }
    }

    let namespace_deleted = delete_namespace_if_created(client, names).await?;
    Ok(Deleted {
        objects: deleted,
        namespace_deleted,
    })
}

/// Deletes the namespace if the CLI created it and no other virtual cluster lives there.
async fn delete_namespace_if_created(client: &Client, names: &Names) -> Result<bool, DeployError> {
    let ns = &names.namespace;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace = match namespaces.get_opt(ns).await {
        Ok(Some(namespace)) => namespace,
        Ok(None) => return Ok(false),
        Err(e) if is_status(&e, 403) => return Ok(false),
        Err(e) => return Err(DeployError::api(format!("reading namespace {ns}"), e)),
    };
    let created = namespace
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(CREATED_NAMESPACE_ANNOTATION))
        .is_some_and(|v| v == "true");
    if !created {
        return Ok(false);
    }
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    let others = statefulsets
        .list(&ListParams::default().labels("app=vcluster"))
        .await
        .map_err(|e| DeployError::api(format!("listing StatefulSets in {ns}"), e))?
        .items
        .into_iter()
        .filter(|s| s.metadata.name.as_deref() != Some(names.statefulset()))
        .filter(|s| s.metadata.deletion_timestamp.is_none())
        .count();
    if others > 0 {
        tracing::info!(namespace = %ns, others, "namespace kept: other virtual clusters live in it");
        return Ok(false);
    }
    match namespaces.delete(ns, &DeleteParams::background()).await {
        Ok(_) => Ok(true),
        Err(e) if is_status(&e, 404) => Ok(false),
        Err(e) => Err(DeployError::api(format!("deleting namespace {ns}"), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_claims_are_recognised_by_name() {
        let names = Names::new("vc", "ns");
        assert!(is_data_claim("data-vc-0", &names));
        assert!(is_data_claim("data-vc-12", &names));
        assert!(!is_data_claim("data-vc-", &names));
        assert!(!is_data_claim("data-vc-x", &names));
        assert!(!is_data_claim("data-vc2-0", &names));
        assert!(!is_data_claim("data-x-ns-x-vc", &names));
    }

    #[test]
    fn only_warrens_objects_of_this_vcluster_are_ours() {
        let names = Names::new("vc", "ns");
        let meta = |labels: &[(&str, &str)]| ObjectMeta {
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..ObjectMeta::default()
        };
        assert!(ours(
            &meta(&[("release", "vc"), (MANAGED_BY_LABEL, "warren")]),
            &names
        ));
        assert!(!ours(&meta(&[("release", "vc")]), &names));
        assert!(!ours(
            &meta(&[("release", "vc2"), (MANAGED_BY_LABEL, "warren")]),
            &names
        ));
        assert!(!ours(&ObjectMeta::default(), &names));
    }
}
