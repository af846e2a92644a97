//! Labels and annotations kept in step both ways.
//!
//! The virtual object is the source of truth for what it carries; a label or annotation that
//! appears only on the host object (set by a host controller or a host user) is copied back to
//! the virtual object, and from then on it is the virtual object's. Which keys came from the
//! virtual object is recorded on the host object (`vcluster.loft.sh/managed-annotations`,
//! `vcluster.loft.sh/managed-labels`), so a key removed from the virtual object is removed from
//! the host object instead of being copied back.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Map, Value};

use crate::names::{Names, annotations};

/// Prefix of every annotation key the syncer owns on host objects.
const SYNCER_PREFIX: &str = "vcluster.loft.sh/";

/// The labels and annotations both objects should carry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    /// Keys to add to the virtual object (copied from the host), empty when none.
    pub virtual_labels: BTreeMap<String, String>,
    pub virtual_annotations: BTreeMap<String, String>,
    /// The host object's complete labels and annotations.
    pub host_labels: BTreeMap<String, String>,
    pub host_annotations: BTreeMap<String, String>,
}

impl Merged {
    /// Whether the virtual object needs a patch.
    pub fn virtual_changed(&self) -> bool {
        !self.virtual_labels.is_empty() || !self.virtual_annotations.is_empty()
    }

    /// Whether the host object's labels or annotations differ from `host`'s.
    pub fn host_changed(&self, host: &ObjectMeta) -> bool {
        self.host_labels != host.labels.clone().unwrap_or_default()
            || self.host_annotations != host.annotations.clone().unwrap_or_default()
    }
}

fn managed_keys(annotations: &BTreeMap<String, String>, key: &str) -> BTreeSet<String> {
    annotations
        .get(key)
        .map(|list| {
            list.lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn set_list(out: &mut BTreeMap<String, String>, key: &str, keys: &BTreeSet<String>) {
    if keys.is_empty() {
        out.remove(key);
    } else {
        let list: Vec<&str> = keys.iter().map(String::as_str).collect();
        out.insert(key.to_owned(), list.join("\n"));
    }
}

/// Records which labels of the host object stand for virtual labels (set on creation; the
/// annotations list is written by the translation itself).
pub fn mark_managed_labels(
    host: &mut ObjectMeta,
    virtual_labels: Option<&BTreeMap<String, String>>,
) {
    let keys: BTreeSet<String> = virtual_labels
        .into_iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .collect();
    let annotations = host.annotations.get_or_insert_with(BTreeMap::new);
    set_list(annotations, annotations::MANAGED_LABELS, &keys);
}

/// Merges the host object's current metadata (`host`) with what the translation of the virtual
/// object wants (`desired`, from the translate functions).
pub fn merge(
    names: &Names,
    virtual_meta: &ObjectMeta,
    host: &ObjectMeta,
    desired: &ObjectMeta,
) -> Merged {
    let empty = BTreeMap::new();
    let virtual_labels = virtual_meta.labels.as_ref().unwrap_or(&empty);
    let host_labels = host.labels.as_ref().unwrap_or(&empty);
    let host_annotations = host.annotations.as_ref().unwrap_or(&empty);
    let mut out = Merged {
        host_labels: desired.labels.clone().unwrap_or_default(),
        host_annotations: desired.annotations.clone().unwrap_or_default(),
        ..Merged::default()
    };

    let old_managed_annotations = managed_keys(host_annotations, annotations::MANAGED_ANNOTATIONS);
    let mut managed_annotations =
        managed_keys(&out.host_annotations, annotations::MANAGED_ANNOTATIONS);
    for (key, value) in host_annotations {
        if out.host_annotations.contains_key(key)
            || old_managed_annotations.contains(key)
            || key.starts_with(SYNCER_PREFIX)
        {
            continue;
        }
        out.virtual_annotations.insert(key.clone(), value.clone());
        out.host_annotations.insert(key.clone(), value.clone());
        managed_annotations.insert(key.clone());
    }
    set_list(
        &mut out.host_annotations,
        annotations::MANAGED_ANNOTATIONS,
        &managed_annotations,
    );

    let old_managed_labels = managed_keys(host_annotations, annotations::MANAGED_LABELS);
    let mut managed_labels: BTreeSet<String> = virtual_labels.keys().cloned().collect();
    for (key, value) in host_labels {
        if out.host_labels.contains_key(key) {
            continue;
        }
        let Some(virtual_key) = names.virtual_label_key(key) else {
            continue;
        };
        if old_managed_labels.contains(&virtual_key) || virtual_labels.contains_key(&virtual_key) {
            continue;
        }
        out.virtual_labels
            .insert(virtual_key.clone(), value.clone());
        out.host_labels.insert(key.clone(), value.clone());
        managed_labels.insert(virtual_key);
    }
    set_list(
        &mut out.host_annotations,
        annotations::MANAGED_LABELS,
        &managed_labels,
    );
    out
}

/// A JSON merge patch adding `labels` and `annotations` to an object's metadata.
pub fn add_metadata_patch(
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> Value {
    let to_map = |m: &BTreeMap<String, String>| -> Value {
        Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect::<Map<_, _>>(),
        )
    };
    let mut metadata = Map::new();
    if !labels.is_empty() {
        metadata.insert("labels".into(), to_map(labels));
    }
    if !annotations.is_empty() {
        metadata.insert("annotations".into(), to_map(annotations));
    }
    serde_json::json!({ "metadata": metadata })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::NamespaceMode;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn meta(labels: &[(&str, &str)], annotations: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            labels: Some(map(labels)),
            annotations: Some(map(annotations)),
            ..ObjectMeta::default()
        }
    }

    fn names() -> Names {
        Names::new("vc", "host", NamespaceMode::Single)
    }

    #[test]
    fn host_only_keys_are_copied_back_once() {
        let virtual_meta = meta(&[("app", "web")], &[("a", "1")]);
        let desired = meta(
            &[("app", "web"), ("vcluster.loft.sh/managed-by", "vc")],
            &[
                ("a", "1"),
                ("vcluster.loft.sh/managed-annotations", "a"),
                ("vcluster.loft.sh/object-name", "p"),
            ],
        );
        let host = meta(
            &[
                ("app", "web"),
                ("vcluster.loft.sh/managed-by", "vc"),
                ("another-one", "good"),
            ],
            &[
                ("a", "1"),
                ("vcluster.loft.sh/managed-annotations", "a"),
                ("vcluster.loft.sh/managed-labels", "app"),
                ("vcluster.loft.sh/object-name", "p"),
                ("annotation-key", "v"),
            ],
        );
        let merged = merge(&names(), &virtual_meta, &host, &desired);
        assert_eq!(merged.virtual_labels, map(&[("another-one", "good")]));
        assert_eq!(merged.virtual_annotations, map(&[("annotation-key", "v")]));
        assert_eq!(
            merged.host_labels,
            map(&[
                ("app", "web"),
                ("vcluster.loft.sh/managed-by", "vc"),
                ("another-one", "good")
            ])
        );
        assert_eq!(
            merged.host_annotations,
            map(&[
                ("a", "1"),
                ("annotation-key", "v"),
                ("vcluster.loft.sh/managed-annotations", "a\nannotation-key"),
                ("vcluster.loft.sh/managed-labels", "another-one\napp"),
                ("vcluster.loft.sh/object-name", "p"),
            ])
        );
        assert!(merged.virtual_changed());
        assert!(merged.host_changed(&host));
    }

    #[test]
    fn keys_removed_from_the_virtual_object_leave_the_host() {
        // "gone" was managed (came from the virtual object) and is no longer there.
        let virtual_meta = meta(&[], &[]);
        let desired = meta(
            &[("vcluster.loft.sh/managed-by", "vc")],
            &[("vcluster.loft.sh/object-name", "p")],
        );
        let host = meta(
            &[("vcluster.loft.sh/managed-by", "vc"), ("gone", "x")],
            &[
                ("vcluster.loft.sh/object-name", "p"),
                ("gone-annotation", "y"),
                ("vcluster.loft.sh/managed-annotations", "gone-annotation"),
                ("vcluster.loft.sh/managed-labels", "gone"),
            ],
        );
        let merged = merge(&names(), &virtual_meta, &host, &desired);
        assert!(!merged.virtual_changed());
        assert_eq!(
            merged.host_labels,
            map(&[("vcluster.loft.sh/managed-by", "vc")])
        );
        assert_eq!(
            merged.host_annotations,
            map(&[("vcluster.loft.sh/object-name", "p")])
        );
    }

    #[test]
    fn virtual_values_win_and_markers_stay_on_the_host() {
        let virtual_meta = meta(&[("k", "from-virtual")], &[]);
        let desired = meta(
            &[("k", "from-virtual"), ("vcluster.loft.sh/managed-by", "vc")],
            &[],
        );
        let host = meta(
            &[
                ("k", "from-host"),
                ("vcluster.loft.sh/managed-by", "vc"),
                ("vcluster.loft.sh/ns-label-vc-x-0123456789", "x"),
            ],
            &[("vcluster.loft.sh/managed-labels", "k")],
        );
        let merged = merge(&names(), &virtual_meta, &host, &desired);
        assert!(!merged.virtual_changed());
        assert_eq!(
            merged.host_labels,
            map(&[("k", "from-virtual"), ("vcluster.loft.sh/managed-by", "vc")])
        );
        assert_eq!(
            merged.host_annotations,
            map(&[("vcluster.loft.sh/managed-labels", "k")])
        );
        assert!(!merged.host_changed(&ObjectMeta {
            labels: Some(merged.host_labels.clone()),
            annotations: Some(merged.host_annotations.clone()),
            ..ObjectMeta::default()
        }));
    }

    #[test]
    fn patch_adds_keys() {
        let patch = add_metadata_patch(&map(&[("l", "1")]), &map(&[]));
        assert_eq!(
            patch,
            serde_json::json!({"metadata": {"labels": {"l": "1"}}})
        );
    }
}
