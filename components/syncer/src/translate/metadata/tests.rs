use super::*;
use crate::names::NamespaceMode;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn names() -> Names {
    Names::new("suffix", "vcluster-ns", NamespaceMode::Single)
}

#[test]
fn host_labels_rewrite_reserved_keys_and_add_markers() {
    let labels = host_labels(
        &names(),
        Some(&map(&[
            ("app", "web"),
            ("release", "my-release"),
            // forged rewritten key: dropped
            ("vcluster.loft.sh/label-suffix-x-a4d451ec23", "forged"),
        ])),
        "my-namespace",
    );
    assert_eq!(
        labels,
        map(&[
            ("app", "web"),
            ("vcluster.loft.sh/label-suffix-x-a4d451ec23", "my-release"),
            ("vcluster.loft.sh/managed-by", "suffix"),
            ("vcluster.loft.sh/namespace", "my-namespace"),
        ])
    );
    // cluster-scoped: the cluster marker, no namespace label
    assert_eq!(
        host_labels(&names(), None, ""),
        map(&[("vcluster.loft.sh/managed-by", "vcluster-ns-x-suffix")])
    );
}

#[test]
fn virtual_labels_drop_markers_and_restore_keys() {
    let host = map(&[
        ("app", "web"),
        ("vcluster.loft.sh/label-suffix-x-a4d451ec23", "my-release"),
        ("vcluster.loft.sh/managed-by", "suffix"),
        ("vcluster.loft.sh/namespace", "my-namespace"),
        (
            "vcluster.loft.sh/ns-label-suffix-x-cf1227b7b2",
            "my-namespace",
        ),
    ]);
    assert_eq!(
        virtual_labels(&names(), &host),
        map(&[("app", "web"), ("release", "my-release")])
    );
}

#[test]
fn service_selectors() {
    assert_eq!(host_selector_map(&names(), None, "ns"), None);
    assert_eq!(
        host_selector_map(&names(), Some(&map(&[("app", "web")])), "ns"),
        Some(map(&[
            ("app", "web"),
            ("vcluster.loft.sh/managed-by", "suffix"),
            ("vcluster.loft.sh/namespace", "ns"),
        ]))
    );
}

#[test]
fn host_metadata_of_a_namespaced_object() {
    let virtual_meta = ObjectMeta {
        name: Some("my-config".into()),
        namespace: Some("my-namespace".into()),
        uid: Some("uid-1".into()),
        resource_version: Some("42".into()),
        labels: Some(map(&[("app", "web")])),
        annotations: Some(map(&[
            ("note", "hello"),
            ("a-first", "1"),
            ("vcluster.loft.sh/object-name", "spoofed"),
            ("field.cattle.io/publicEndpoints", "x"),
        ])),
        owner_references: Some(vec![OwnerReference {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: "d".into(),
            uid: "d-uid".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]),
        ..Default::default()
    };
    let owner = OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: "suffix".into(),
        uid: "svc-uid".into(),
        ..Default::default()
    };
    let meta = host_metadata(
        &names(),
        &virtual_meta,
        "v1",
        "ConfigMap",
        Some(&owner),
        &["field.cattle.io/publicEndpoints"],
    );
    assert_eq!(
        serde_json::to_value(&meta).unwrap(),
        serde_json::json!({
            "name": "my-config-x-my-namespace-x-suffix",
            "namespace": "vcluster-ns",
            "labels": {
                "app": "web",
                "vcluster.loft.sh/managed-by": "suffix",
                "vcluster.loft.sh/namespace": "my-namespace"
            },
            "annotations": {
                "a-first": "1",
                "note": "hello",
                "vcluster.loft.sh/managed-annotations": "a-first\nnote",
                "vcluster.loft.sh/object-host-name": "my-config-x-my-namespace-x-suffix",
                "vcluster.loft.sh/object-host-namespace": "vcluster-ns",
                "vcluster.loft.sh/object-kind": "/v1, Kind=ConfigMap",
                "vcluster.loft.sh/object-name": "my-config",
                "vcluster.loft.sh/object-namespace": "my-namespace",
                "vcluster.loft.sh/object-uid": "uid-1"
            },
            "ownerReferences": [{
                "apiVersion": "v1",
                "kind": "Service",
                "name": "suffix",
                "uid": "svc-uid",
                "controller": true
            }]
        })
    );
}

#[test]
fn host_metadata_of_a_cluster_scoped_object() {
    let virtual_meta = ObjectMeta {
        name: Some("high".into()),
        uid: Some("pc-uid".into()),
        ..Default::default()
    };
    let owner = OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: "suffix".into(),
        uid: "svc-uid".into(),
        ..Default::default()
    };
    let meta = host_metadata(
        &names(),
        &virtual_meta,
        "scheduling.k8s.io/v1",
        "PriorityClass",
        Some(&owner),
        &[],
    );
    assert_eq!(
        serde_json::to_value(&meta).unwrap(),
        serde_json::json!({
            "name": "vcluster-high-x-vcluster-ns-x-suffix",
            "labels": {"vcluster.loft.sh/managed-by": "vcluster-ns-x-suffix"},
            "annotations": {
                "vcluster.loft.sh/object-host-name": "vcluster-high-x-vcluster-ns-x-suffix",
                "vcluster.loft.sh/object-kind": "scheduling.k8s.io/v1, Kind=PriorityClass",
                "vcluster.loft.sh/object-name": "high",
                "vcluster.loft.sh/object-uid": "pc-uid"
            }
        })
    );
}
