use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use std::collections::BTreeMap;

use super::{CachedPod, Labels, PodPacker};

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
    let mut without_maps = pod.metadata.clone();
    without_maps.annotations = None;
    without_maps.labels = None;
    assert_eq!(cached.metadata, without_maps);
    assert_eq!(cached.labels().get("app"), Some("web"));
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

/// `running_pod` as the `n`th replica: another name, uid, address and start time.
fn sibling(n: u32) -> Pod {
    let mut pod = running_pod();
    pod.metadata.name = Some(format!("web-{n}"));
    pod.metadata.uid = Some(format!("u-{n}-5b0c9e3a-8d1f-4c57-a2e6-{n:012}"));
    pod.spec.as_mut().unwrap().hostname = Some(format!("web-{n}"));
    let status = pod.status.as_mut().unwrap();
    status.pod_ip = Some(format!("10.0.{}.{}", n / 250, n % 250));
    status.pod_ips = None;
    pod
}

#[test]
fn a_packer_compresses_siblings_against_the_first_pod() {
    let mut packer = PodPacker::default();
    let first = packer.pack(&sibling(1));
    assert_eq!(
        first.packed_len(),
        first.body_len(),
        "the first pod is held whole: it is the dictionary"
    );
    for n in 2..40 {
        let pod = sibling(n);
        let cached = packer.pack(&pod);
        assert_eq!(cached.decode(), pod, "replica {n}");
        assert_eq!(cached, CachedPod::new(&pod), "equal to the unpacked form");
        assert!(
            cached.packed_len() * 4 < cached.body_len(),
            "replica {n}: {} of {} bytes",
            cached.packed_len(),
            cached.body_len()
        );
        assert!(cached.mentions("\"kube-root-ca.crt\""));
        assert!(cached.mentions(&format!("\"web-{n}\"")));
        assert!(
            !cached.mentions("\"web-1\""),
            "the dictionary's own names are not in it"
        );
    }
}

#[test]
fn a_pod_unlike_the_dictionary_becomes_the_next_one() {
    let mut packer = PodPacker::default();
    packer.pack(&sibling(1));
    // Another workload: annotations of checksums (not in the first pod, and nothing LZ4 finds
    // twice) make most of its JSON.
    let other = |n: u32| {
        let mut pod = sibling(n);
        let checksum = |i: u64| i.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17);
        let notes = (0..30u64)
            .map(|i| {
                let sum = (0..4)
                    .map(|j| format!("{:016x}", checksum(i * 4 + j)))
                    .collect();
                (format!("checksum/config-{i}"), sum)
            })
            .collect();
        pod.metadata.annotations = Some(notes);
        pod
    };
    let unlike = packer.pack(&other(2));
    assert_eq!(unlike.packed_len(), unlike.body_len(), "held whole");
    assert_eq!(unlike.decode(), other(2));
    let next = packer.pack(&other(3));
    assert!(
        next.packed_len() * 4 < next.body_len(),
        "compressed against the new dictionary: {} of {}",
        next.packed_len(),
        next.body_len()
    );
    assert_eq!(next.decode(), other(3));
    // A pod packed against the first dictionary still decodes: the dictionary lives on in it.
    let mut first_packer = PodPacker::default();
    first_packer.pack(&sibling(1));
    let old = first_packer.pack(&sibling(7));
    drop(first_packer);
    assert_eq!(old.decode(), sibling(7));
}

#[test]
fn labels_keep_pairs_order_and_the_difference_between_none_and_empty() {
    let map: BTreeMap<String, String> = [
        ("tier", "web"),
        ("app", ""),
        ("app.kubernetes.io/name", "shop"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let labels = Labels::new(Some(&map));
    assert_eq!(
        labels.iter().collect::<Vec<_>>(),
        vec![
            ("app", ""),
            ("app.kubernetes.io/name", "shop"),
            ("tier", "web")
        ]
    );
    assert_eq!(labels.get("app"), Some(""), "an empty value is a value");
    assert_eq!(labels.get("tier"), Some("web"));
    assert_eq!(labels.get("web"), None, "values are not keys");
    assert_eq!(labels.get("ap"), None);
    assert_eq!(labels.to_map(), Some(map));

    assert_eq!(Labels::new(None).to_map(), None);
    assert_eq!(Labels::new(None).iter().count(), 0);
    let empty = Labels::new(Some(&BTreeMap::new()));
    assert_eq!(empty.to_map(), Some(BTreeMap::new()));
    assert_eq!(empty.iter().count(), 0);
    assert_ne!(empty, Labels::new(None));
}

#[test]
fn pods_with_empty_or_no_labels_decode_as_they_were() {
    for labels in [None, Some(BTreeMap::new())] {
        let mut pod = running_pod();
        pod.metadata.labels = labels;
        assert_eq!(CachedPod::new(&pod).decode(), pod);
    }
}

#[test]
fn selected_and_claimable_read_the_compact_labels() {
    use crate::selector::Selector;
    use kube::runtime::{reflector, watcher};
    let (store, mut writer) = reflector::store::<CachedPod>();
    let pod = |name: &str, namespace: &str, app: &str, owner: Option<&str>| {
        let mut p = sibling(1);
        p.metadata.name = Some(name.to_owned());
        p.metadata.namespace = Some(namespace.to_owned());
        p.metadata.labels = Some([("app".to_owned(), app.to_owned())].into());
        p.metadata.owner_references = owner.map(|uid| {
            let mut r = running_pod().metadata.owner_references.unwrap().remove(0);
            r.uid = uid.to_owned();
            vec![r]
        });
        p
    };
    for p in [
        pod("web-a", "shop", "web", None),
        pod("web-b", "shop", "web", Some("rs-other")),
        pod("db-a", "shop", "db", Some("rs-1")),
        pod("web-c", "blog", "web", None),
    ] {
        writer.apply_watcher_event(&watcher::Event::Apply(CachedPod::new(&p)));
    }
    let web = Selector::from_map(&[("app".to_owned(), "web".to_owned())].into());
    let names = |pods: Vec<std::sync::Arc<Pod>>| {
        let mut n: Vec<String> = pods
            .iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        n.sort();
        n
    };
    assert_eq!(
        names(super::selected(&store, "shop", &web)),
        ["web-a", "web-b"]
    );
    assert_eq!(
        names(super::claimable(&store, "shop", "rs-1", &web)),
        ["db-a", "web-a"],
        "its own pod whatever its labels, and the matching orphan; not another owner's"
    );
    let decoded = super::selected(&store, "blog", &web);
    assert_eq!(
        decoded[0]
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("app"))
            .map(String::as_str),
        Some("web"),
        "decoded pods have their labels back"
    );
}
