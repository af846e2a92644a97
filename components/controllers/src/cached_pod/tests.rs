use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use super::CachedPod;

fn running_pod() -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": "web-0", "namespace": "shop", "uid": "u-1", "resourceVersion": "42",
            "labels": {"app": "web"},
            "annotations": {"team": "retail", "vcluster.loft.sh/object-name": "web-0"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web",
                                 "uid": "u-0", "controller": true}]
        },
        "spec": {
            "nodeName": "node-a", "hostname": "web-0", "subdomain": "web",
            "containers": [{"name": "c", "image": "nginx",
                            "ports": [{"containerPort": 80, "name": "http"}],
                            "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "a"}}}]}],
            "volumes": [{"name": "kube-api-access", "projected": {"sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}
            ]}}]
        },
        "status": {
            "phase": "Running", "podIP": "10.0.0.7", "podIPs": [{"ip": "10.0.0.7"}],
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-22T10:00:00Z"}],
            "containerStatuses": [{"name": "c", "ready": true, "restartCount": 2, "image": "nginx",
                                   "imageID": "", "state": {"running": {"startedAt": "2026-11-22T10:00:00Z"}}}]
        }
    }))
    .unwrap()
}

#[test]
fn decodes_to_the_pod_it_was_made_from() {
    let pod = running_pod();
    let cached = CachedPod::new(&pod);
    assert_eq!(cached.decode(), pod);
    assert_eq!(cached.node_name(), Some("node-a"));
    let mut without_annotations = pod.metadata.clone();
    without_annotations.annotations = None;
    assert_eq!(cached.metadata, without_annotations);
    assert!(cached.mentions("\"vcluster.loft.sh/object-name\""));
}

#[test]
fn a_pod_without_spec_or_status_stays_without() {
    let mut pod = Pod {
        metadata: running_pod().metadata,
        ..Pod::default()
    };
    pod.metadata.annotations = None;
    let cached = CachedPod::new(&pod);
    assert_eq!(cached.decode(), pod);
    assert_eq!(cached.node_name(), None);
    assert_eq!(cached.body_len(), 2, "an empty JSON object");
}

#[test]
fn an_unscheduled_pod_has_no_node() {
    let mut pod = running_pod();
    pod.spec.as_mut().unwrap().node_name = None;
    assert_eq!(CachedPod::new(&pod).node_name(), None);
}

#[test]
fn mentions_finds_names_in_spec_and_status() {
    let cached = CachedPod::new(&running_pod());
    assert!(cached.mentions("\"kube-root-ca.crt\""));
    assert!(cached.mentions("\"cm\""));
    assert!(cached.mentions("10.0.0.7"));
    assert!(!cached.mentions("\"kube-root-ca\""));
    assert!(
        !cached.mentions("\"shop\""),
        "the rest of the metadata is not in the body"
    );
    assert!(cached.mentions("\"retail\""), "annotations are");
}
