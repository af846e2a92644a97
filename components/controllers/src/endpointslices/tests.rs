use super::*;
use crate::endpoints::tests::{pod, service, ts};
use k8s_openapi::api::core::v1::{EndpointAddress, EndpointSubset, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::json;

fn no_zone(_: &str) -> Option<String> {
    None
}

fn as_json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("json")
}

fn web() -> Service {
    service(json!([{"name": "web", "port": 80, "targetPort": "http", "protocol": "TCP"}]))
}

/// An existing slice named `name` holding these pods' endpoints.
fn slice(name: &str, svc: &Service, pods: &[&Pod], rv: &str) -> EndpointSlice {
    let groups = desired_groups(svc, pods, &no_zone);
    let mut s = service_writes(svc, &[], &groups, None).create.remove(0);
    s.metadata.name = Some(name.into());
    s.metadata.generate_name = None;
    s.metadata.resource_version = Some(rv.into());
    s
}

fn names(p: &Plan) -> (Vec<String>, Vec<String>) {
    (
        p.update.iter().map(|s| s.name_any()).collect(),
        p.delete.clone(),
    )
}

#[test]
fn new_service_gets_a_slice_with_conditions() {
    let svc = web();
    let a = pod("a", "10.0.0.1", true, 1);
    let b = pod("b", "10.0.0.2", false, 1);
    let mut t = pod("t", "10.0.0.3", true, 1);
    t.metadata.deletion_timestamp = Some(Time(ts(5)));
    let zone = |n: &str| (n == "n1").then(|| "z1".to_string());
    let groups = desired_groups(&svc, &[&b, &t, &a], &zone);
    let p = service_writes(&svc, &[], &groups, Some(ts(10)));
    assert_eq!((p.update.len(), p.delete.len(), p.create.len()), (0, 0, 1));
    let ep = |ip: &str, name: &str, ready: bool, serving: bool, terminating: bool| {
        json!({"addresses": [ip], "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
               "nodeName": "n1", "zone": "z1",
               "targetRef": {"kind": "Pod", "namespace": "d", "name": name, "uid": format!("uid-{name}")}})
    };
    assert_eq!(
        as_json(&p.create[0]),
        json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {
                "generateName": "web-", "namespace": "d",
                "labels": {"tier": "fe", "kubernetes.io/service-name": "web",
                           "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": "1970-01-01T00:00:10Z"},
                "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "web", "uid": "svc-uid",
                                     "controller": true, "blockOwnerDeletion": true}],
            },
            "addressType": "IPv4",
            "endpoints": [
                ep("10.0.0.1", "a", true, true, false),
                ep("10.0.0.2", "b", false, false, false),
                ep("10.0.0.3", "t", false, true, true),
            ],
            "ports": [{"name": "web", "port": 8080, "protocol": "TCP"}],
        })
    );
}

#[test]
fn placeholder_without_endpoints_and_recycled_when_pods_come() {
    let mut svc = web();
    svc.metadata.labels = None;
    svc.spec.as_mut().expect("spec").cluster_ip = Some("None".into());
    let p = service_writes(&svc, &[], &[], None);
    assert_eq!(p.create.len(), 1);
    assert_eq!(
        as_json(&p.create[0]),
        json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {
                "generateName": "web-", "namespace": "d",
                "labels": {"service.kubernetes.io/headless": "", "kubernetes.io/service-name": "web",
                           "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "web", "uid": "svc-uid",
                                     "controller": true, "blockOwnerDeletion": true}],
            },
            "addressType": "IPv4",
            "endpoints": [],
        })
    );
    let mut placeholder = p.create[0].clone();
    placeholder.metadata.name = Some("web-abcde".into());
    // still empty: nothing to do
    assert_eq!(
        service_writes(&svc, std::slice::from_ref(&placeholder), &[], None),
        Plan::default()
    );
    // pods arrive: the placeholder is reused
    let a = pod("a", "10.0.0.1", true, 1);
    let groups = desired_groups(&svc, &[&a], &no_zone);
    let p = service_writes(&svc, &[placeholder], &groups, None);
    assert!(p.create.is_empty() && p.delete.is_empty());
    assert_eq!(p.update[0].name_any(), "web-abcde");
    assert_eq!(p.update[0].endpoints.len(), 1);
}

#[test]
fn at_most_a_hundred_endpoints_a_slice() {
    let svc = web();
    let pods: Vec<Pod> = (0..250)
        .map(|i| {
            pod(
                &format!("p{i}"),
                &format!("10.1.{}.{}", i / 200, i % 200),
                true,
                1,
            )
        })
        .collect();
    let refs: Vec<&Pod> = pods.iter().collect();
    let groups = desired_groups(&svc, &refs, &no_zone);
    let p = service_writes(&svc, &[], &groups, None);
    let sizes: Vec<usize> = p.create.iter().map(|s| s.endpoints.len()).collect();
    assert_eq!(sizes, vec![100, 100, 50]);
}

#[test]
fn changes_are_made_in_place() {
    let svc = web();
    let (a, b, c) = (
        pod("a", "10.0.0.1", true, 1),
        pod("b", "10.0.0.2", true, 1),
        pod("c", "10.0.0.3", true, 1),
    );
    let existing = slice("web-aaaaa", &svc, &[&a, &b], "5");
    // unchanged: no writes
    let groups = desired_groups(&svc, &[&a, &b], &no_zone);
    assert_eq!(
        service_writes(&svc, std::slice::from_ref(&existing), &groups, None),
        Plan::default()
    );
    // b leaves, c comes: same slice, b replaced by c
    let groups = desired_groups(&svc, &[&a, &c], &no_zone);
    let p = service_writes(&svc, std::slice::from_ref(&existing), &groups, None);
    assert_eq!(names(&p), (vec!["web-aaaaa".to_string()], vec![]));
    let ips: Vec<&str> = p.update[0]
        .endpoints
        .iter()
        .map(|e| e.addresses[0].as_str())
        .collect();
    assert_eq!(ips, ["10.0.0.1", "10.0.0.3"]);
    assert_eq!(p.update[0].metadata.resource_version.as_deref(), Some("5"));
    // a turns unready: its conditions change in place
    let a2 = pod("a", "10.0.0.1", false, 2);
    let groups = desired_groups(&svc, &[&a2, &b], &no_zone);
    let p = service_writes(&svc, std::slice::from_ref(&existing), &groups, None);
    assert_eq!(
        p.update[0].endpoints[0]
            .conditions
            .as_ref()
            .and_then(|c| c.ready),
        Some(false)
    );
    // everything gone: the slice becomes the placeholder
    let p = service_writes(&svc, std::slice::from_ref(&existing), &[], None);
    assert_eq!(names(&p), (vec!["web-aaaaa".to_string()], vec![]));
    assert!(p.update[0].endpoints.is_empty() && p.update[0].ports.is_none());
    // service labels changed: slices follow
    let mut relabelled = svc.clone();
    relabelled.metadata.labels = Some([("tier".to_string(), "be".to_string())].into());
    let groups = desired_groups(&relabelled, &[&a, &b], &no_zone);
    let p = service_writes(&relabelled, std::slice::from_ref(&existing), &groups, None);
    assert_eq!(
        p.update[0]
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("tier"))
            .map(String::as_str),
        Some("be")
    );
}

#[test]
fn new_endpoints_fill_an_untouched_slice_that_fits() {
    let svc = web();
    let pods: Vec<Pod> = (0..115)
        .map(|i| pod(&format!("p{i:03}"), &format!("10.2.0.{i}"), true, 1))
        .collect();
    let refs: Vec<&Pod> = pods.iter().collect();
    let full = slice("web-full0", &svc, &refs[..100], "1");
    let small = slice("web-small", &svc, &refs[100..110], "2");
    let groups = desired_groups(&svc, &refs, &no_zone);
    let p = service_writes(&svc, &[full, small], &groups, None);
    assert_eq!(names(&p), (vec!["web-small".to_string()], vec![]));
    assert_eq!(p.update[0].endpoints.len(), 15);
    assert!(p.create.is_empty());
}

#[test]
fn a_port_change_recycles_the_slice() {
    let svc = web();
    let a = pod("a", "10.0.0.1", true, 1);
    let existing = slice("web-aaaaa", &svc, &[&a], "3");
    let moved =
        service(json!([{"name": "web", "port": 80, "targetPort": 9000, "protocol": "TCP"}]));
    let groups = desired_groups(&moved, &[&a], &no_zone);
    let p = service_writes(&moved, &[existing], &groups, None);
    assert_eq!(names(&p), (vec!["web-aaaaa".to_string()], vec![]));
    assert_eq!(
        as_json(&p.update[0].ports),
        json!([{"name": "web", "port": 9000, "protocol": "TCP"}])
    );
}

#[test]
fn mirroring_copies_custom_endpoints() {
    let mut svc = web();
    svc.spec.as_mut().expect("spec").selector = None;
    let ep = Endpoints {
        metadata: ObjectMeta {
            name: Some("web".into()),
            namespace: Some("d".into()),
            labels: Some([("team".to_string(), "a".to_string())].into()),
            annotations: Some(
                [
                    (LAST_APPLIED.to_string(), "{}".to_string()),
                    ("note".to_string(), "x".to_string()),
                ]
                .into(),
            ),
            ..ObjectMeta::default()
        },
        subsets: Some(vec![EndpointSubset {
            addresses: Some(vec![EndpointAddress {
                ip: "192.168.1.10".into(),
                target_ref: Some(ObjectReference {
                    kind: Some("Pod".into()),
                    name: Some("ext".into()),
                    ..ObjectReference::default()
                }),
                ..EndpointAddress::default()
            }]),
            not_ready_addresses: Some(vec![EndpointAddress {
                ip: "192.168.1.11".into(),
                ..EndpointAddress::default()
            }]),
            ports: Some(vec![k8s_openapi::api::core::v1::EndpointPort {
                name: Some("db".into()),
                port: 5432,
                protocol: Some("TCP".into()),
                app_protocol: None,
            }]),
        }]),
    };
    assert!(should_mirror(&ep));
    let p = mirror_writes(&svc, &ep, &[]);
    assert_eq!(p.create.len(), 1);
    assert_eq!(
        as_json(&p.create[0]),
        json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {
                "generateName": "web-", "namespace": "d",
                "labels": {"team": "a", "kubernetes.io/service-name": "web",
                           "endpointslice.kubernetes.io/managed-by": "endpointslicemirroring-controller.k8s.io"},
                "annotations": {"note": "x"},
                "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "web", "uid": "svc-uid",
                                     "controller": true, "blockOwnerDeletion": true}],
            },
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": ["192.168.1.10"], "conditions": {"ready": true},
                 "targetRef": {"kind": "Pod", "name": "ext"}},
                {"addresses": ["192.168.1.11"], "conditions": {"ready": false}},
            ],
            "ports": [{"name": "db", "port": 5432, "protocol": "TCP"}],
        })
    );
    // empty Endpoints mirror to nothing
    let empty = Endpoints {
        subsets: None,
        ..ep.clone()
    };
    assert_eq!(mirror_writes(&svc, &empty, &[]), Plan::default());
    let mut skipped = ep.clone();
    skipped.metadata.labels = Some([(SKIP_MIRROR_LABEL.to_string(), "true".to_string())].into());
    assert!(!should_mirror(&skipped));
}
