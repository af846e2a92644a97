//! Labels, annotations and owner references of host objects.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::names::{Names, annotations, kind_annotation_value, labels};

/// Host labels of a virtual object: reserved keys rewritten, the rest copied, plus the
/// `vcluster.loft.sh/managed-by` marker and (namespaced objects) `vcluster.loft.sh/namespace`.
/// Keys that already look like rewritten keys are dropped (they could only be forged).
pub fn host_labels(
    names: &Names,
    virtual_labels: Option<&BTreeMap<String, String>>,
    virtual_namespace: &str,
) -> BTreeMap<String, String> {
    let mut out = translate_label_keys(names, virtual_labels.unwrap_or(&BTreeMap::new()));
    add_markers(names, &mut out, virtual_namespace);
    out
}

/// A Service selector (or any plain label selector map) for host pods: `None` stays `None`
/// (a selector-less Service), otherwise keys rewritten plus managed-by and namespace, so it
/// selects only this virtual namespace's pods.
pub fn host_selector_map(
    names: &Names,
    selector: Option<&BTreeMap<String, String>>,
    virtual_namespace: &str,
) -> Option<BTreeMap<String, String>> {
    let selector = selector?;
    let mut out = translate_label_keys(names, selector);
    add_markers(names, &mut out, virtual_namespace);
    Some(out)
}

fn translate_label_keys(
    names: &Names,
    from: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    from.iter()
        .filter(|(key, _)| names.rewritten_label_origin(key).is_none())
        .map(|(key, value)| (names.host_label_key(key), value.clone()))
        .collect()
}

fn add_markers(names: &Names, out: &mut BTreeMap<String, String>, virtual_namespace: &str) {
    if virtual_namespace.is_empty() {
        out.insert(labels::MANAGED_BY.to_owned(), names.marker_label_cluster());
    } else {
        out.insert(labels::MANAGED_BY.to_owned(), names.vcluster().to_owned());
        out.insert(labels::NAMESPACE.to_owned(), virtual_namespace.to_owned());
    }
}

/// Virtual labels of a host object: the syncer's markers and namespace-label copies dropped,
/// rewritten keys turned back into the reserved keys.
pub fn virtual_labels(
    names: &Names,
    host_labels: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    host_labels
        .iter()
        .filter_map(|(key, value)| Some((names.virtual_label_key(key)?, value.clone())))
        .collect()
}

/// What the host annotations say about the virtual object.
#[derive(Clone, Copy, Debug)]
pub struct Identity<'a> {
    /// apiVersion and kind of the virtual object (`v1`, `Pod`).
    pub api_version: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    /// Empty for cluster-scoped objects.
    pub namespace: &'a str,
    pub uid: &'a str,
    pub host_name: &'a str,
    /// Empty for cluster-scoped objects.
    pub host_namespace: &'a str,
}

/// Keys the syncer owns on host objects; a virtual object's own values for them are dropped.
const SYNCER_ANNOTATIONS: [&str; 8] = [
    annotations::OBJECT_NAME,
    annotations::OBJECT_NAMESPACE,
    annotations::OBJECT_UID,
    annotations::OBJECT_KIND,
    annotations::OBJECT_HOST_NAME,
    annotations::OBJECT_HOST_NAMESPACE,
    annotations::MANAGED_ANNOTATIONS,
    annotations::MANAGED_LABELS,
];

/// Host annotations of a virtual object: its own annotations (minus `excluded` and the
/// syncer's keys), `vcluster.loft.sh/managed-annotations` listing the copied keys (sorted,
/// newline-separated, absent when none), and the `vcluster.loft.sh/object-*` identity.
pub fn host_annotations(
    virtual_annotations: Option<&BTreeMap<String, String>>,
    identity: &Identity<'_>,
    excluded: &[&str],
) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = virtual_annotations
        .into_iter()
        .flatten()
        .filter(|(key, _)| {
            !SYNCER_ANNOTATIONS.contains(&key.as_str()) && !excluded.contains(&key.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !out.is_empty() {
        let managed: Vec<&str> = out.keys().map(String::as_str).collect();
        let managed = managed.join("\n");
        out.insert(annotations::MANAGED_ANNOTATIONS.to_owned(), managed);
    }
    let mut set = |key: &str, value: &str| {
        out.insert(key.to_owned(), value.to_owned());
    };
    set(annotations::OBJECT_NAME, identity.name);
    set(annotations::OBJECT_UID, identity.uid);
    set(
        annotations::OBJECT_KIND,
        &kind_annotation_value(identity.api_version, identity.kind),
    );
    set(annotations::OBJECT_HOST_NAME, identity.host_name);
    if !identity.namespace.is_empty() {
        set(annotations::OBJECT_NAMESPACE, identity.namespace);
    }
    if !identity.host_namespace.is_empty() {
        set(annotations::OBJECT_HOST_NAMESPACE, identity.host_namespace);
    }
    out
}

/// ownerReferences of a namespaced host object: the given owner (the host object standing
/// for the virtual cluster, e.g. its Service), so host objects go when the virtual cluster
/// goes. `controller` mirrors whether the virtual object has a controller, as vCluster does.
pub fn host_owner_references(
    owner: Option<&OwnerReference>,
    virtual_meta: &ObjectMeta,
) -> Option<Vec<OwnerReference>> {
    let owner = owner?;
    if virtual_meta
        .namespace
        .as_deref()
        .unwrap_or_default()
        .is_empty()
    {
        return None;
    }
    let has_controller = virtual_meta
        .owner_references
        .iter()
        .flatten()
        .any(|r| r.controller == Some(true));
    Some(vec![OwnerReference {
        api_version: owner.api_version.clone(),
        kind: owner.kind.clone(),
        name: owner.name.clone(),
        uid: owner.uid.clone(),
        controller: Some(has_controller),
        block_owner_deletion: None,
    }])
}

/// Complete host metadata of a virtual object synced to the host: name and namespace from
/// [`Names`] (cluster-scoped objects get [`Names::host_name_cluster`]), labels, annotations and
/// owner; everything the host assigns itself (uid, resourceVersion, …) left empty.
pub fn host_metadata(
    names: &Names,
    virtual_meta: &ObjectMeta,
    api_version: &str,
    kind: &str,
    owner: Option<&OwnerReference>,
    excluded_annotations: &[&str],
) -> ObjectMeta {
    let name = virtual_meta.name.as_deref().unwrap_or_default();
    let namespace = virtual_meta.namespace.as_deref().unwrap_or_default();
    let (host_name, host_namespace) = if namespace.is_empty() {
        (names.host_name_cluster(name), String::new())
    } else {
        (
            names.host_name(name, namespace),
            names.host_namespace(namespace),
        )
    };
    let identity = Identity {
        api_version,
        kind,
        name,
        namespace,
        uid: virtual_meta.uid.as_deref().unwrap_or_default(),
        host_name: &host_name,
        host_namespace: &host_namespace,
    };
    ObjectMeta {
        annotations: Some(host_annotations(
            virtual_meta.annotations.as_ref(),
            &identity,
            excluded_annotations,
        )),
        labels: Some(host_labels(names, virtual_meta.labels.as_ref(), namespace)),
        owner_references: host_owner_references(owner, virtual_meta),
        namespace: (!host_namespace.is_empty()).then(|| host_namespace.clone()),
        name: Some(host_name.clone()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests;
