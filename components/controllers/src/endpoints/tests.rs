use super::*;
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, PodCondition, PodIP, PodSpec, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::json;

pub(crate) fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).expect("time")
}

/// A pod on node `n1` with one container port `http`/8080.
pub(crate) fn pod(name: &str, ip: &str, ready: bool, ready_at: i64) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("d".into()),
            uid: Some(format!("uid-{name}")),
            labels: Some([("app".to_string(), "web".to_string())].into()),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            node_name: Some("n1".into()),
            containers: vec![Container {
                name: "c".into(),
                ports: Some(vec![ContainerPort {
                    name: Some("http".into()),
                    container_port: 8080,
                    protocol: Some("TCP".into()),
                    ..ContainerPort::default()
                }]),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        status: Some(PodStatus {
            phase: Some("Running".into()),
            pod_ip: Some(ip.into()),
            pod_ips: Some(vec![PodIP { ip: ip.into() }]),
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: if ready { "True" } else { "False" }.into(),
                last_transition_time: Some(Time(ts(ready_at))),
                ..PodCondition::default()
            }]),
            ..PodStatus::default()
        }),
    }
}

pub(crate) fn service(ports: serde_json::Value) -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "d", "uid": "svc-uid",
                     "labels": {"tier": "fe"}, "creationTimestamp": "1970-01-01T00:00:10Z"},
        "spec": {"selector": {"app": "web"}, "clusterIP": "10.96.0.10", "ports": ports},
    }))
    .expect("service")
}

fn as_json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("json")
}

#[test]
fn ready_and_not_ready_addresses_with_resolved_ports() {
    let svc = service(json!([
        {"name": "web", "port": 80, "targetPort": "http", "protocol": "TCP"},
        {"name": "metrics", "port": 9000, "targetPort": 9090, "protocol": "TCP"},
    ]));
    let (a, b, c) = (
        pod("b", "10.0.0.2", true, 1),
        pod("a", "10.0.0.1", true, 1),
        pod("c", "10.0.0.3", false, 1),
    );
    let mut pending = pod("p", "", false, 1);
    pending.status.as_mut().expect("status").pod_ips = None;
    let mut done = pod("f", "10.0.0.9", false, 1);
    done.status.as_mut().expect("status").phase = Some("Failed".into());
    let mut leaving = pod("t", "10.0.0.8", true, 1);
    leaving.metadata.deletion_timestamp = Some(Time(ts(5)));
    let subsets = compute_subsets(&svc, &[&a, &b, &c, &pending, &done, &leaving]);
    assert_eq!(
        as_json(&subsets),
        json!([{
            "addresses": [
                {"ip": "10.0.0.1", "nodeName": "n1", "targetRef": {"kind": "Pod", "namespace": "d", "name": "a", "uid": "uid-a"}},
                {"ip": "10.0.0.2", "nodeName": "n1", "targetRef": {"kind": "Pod", "namespace": "d", "name": "b", "uid": "uid-b"}},
            ],
            "notReadyAddresses": [
                {"ip": "10.0.0.3", "nodeName": "n1", "targetRef": {"kind": "Pod", "namespace": "d", "name": "c", "uid": "uid-c"}},
            ],
            "ports": [
                {"name": "metrics", "port": 9090, "protocol": "TCP"},
                {"name": "web", "port": 8080, "protocol": "TCP"},
            ],
        }])
    );
}

#[test]
fn pods_without_the_named_port_get_their_own_subset() {
    let svc = service(json!([
        {"name": "web", "port": 80, "targetPort": "http", "protocol": "TCP"},
        {"port": 9000, "targetPort": 9090, "protocol": "TCP"},
    ]));
    let a = pod("a", "10.0.0.1", true, 1);
    let mut b = pod("b", "10.0.0.2", true, 1);
    b.spec.as_mut().expect("spec").containers[0].ports = None;
    let subsets = compute_subsets(&svc, &[&a, &b]);
    assert_eq!(
        as_json(&subsets)
            .as_array()
            .expect("list")
            .iter()
            .map(|s| (s["ports"].clone(), s["addresses"].as_array().map(Vec::len)))
            .collect::<Vec<_>>(),
        vec![
            (json!([{"port": 9090, "protocol": "TCP"}]), Some(2)),
            (
                json!([{"name": "web", "port": 8080, "protocol": "TCP"}]),
                Some(1)
            ),
        ]
    );
}

#[test]
fn publish_not_ready_hostnames_and_headless_services() {
    let mut svc = service(json!([{"port": 80, "targetPort": 8080, "protocol": "TCP"}]));
    let spec = svc.spec.as_mut().expect("spec");
    spec.publish_not_ready_addresses = Some(true);
    spec.cluster_ip = Some("None".into());
    let mut a = pod("a", "10.0.0.1", false, 1);
    let s = a.spec.as_mut().expect("spec");
    s.hostname = Some("a-host".into());
    s.subdomain = Some("web".into());
    let mut leaving = pod("t", "10.0.0.8", true, 1);
    leaving.metadata.deletion_timestamp = Some(Time(ts(5)));
    let subsets = compute_subsets(&svc, &[&a, &leaving]);
    assert_eq!(
        as_json(&subsets)[0]["addresses"],
        json!([
            {"ip": "10.0.0.1", "hostname": "a-host", "nodeName": "n1", "targetRef": {"kind": "Pod", "namespace": "d", "name": "a", "uid": "uid-a"}},
            {"ip": "10.0.0.8", "nodeName": "n1", "targetRef": {"kind": "Pod", "namespace": "d", "name": "t", "uid": "uid-t"}},
        ])
    );
    // headless without ports: one subset per pod, no ports
    let mut bare = service(json!([]));
    let spec = bare.spec.as_mut().expect("spec");
    spec.cluster_ip = Some("None".into());
    spec.ports = None;
    let b = pod("b", "10.0.0.2", true, 1);
    let subsets = compute_subsets(&bare, &[&b, &a]);
    assert_eq!(subsets.len(), 2);
    assert_eq!(
        as_json(&subsets[0])["notReadyAddresses"][0]["ip"],
        "10.0.0.1"
    );
    assert_eq!(as_json(&subsets[1])["addresses"][0]["ip"], "10.0.0.2");
    assert!(subsets[1].ports.is_none());
    // a ClusterIP service without ports has no endpoints
    let mut no_ports = service(json!([]));
    no_ports.spec.as_mut().expect("spec").ports = None;
    assert!(compute_subsets(&no_ports, &[&b]).is_empty());
}

#[test]
fn endpoints_object_labels_annotations_and_no_op() {
    let svc =
        service(json!([{"name": "web", "port": 80, "targetPort": "http", "protocol": "TCP"}]));
    let a = pod("a", "10.0.0.1", true, 1);
    let wanted = desired_endpoints(&svc, &[&a], None, Some(ts(10))).expect("new");
    let v = as_json(&wanted);
    assert_eq!(
        v["metadata"],
        json!({
            "name": "web", "namespace": "d",
            "labels": {"tier": "fe", "endpoints.kubernetes.io/managed-by": "endpoint-controller"},
            "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": "1970-01-01T00:00:10Z"},
        })
    );
    // the same pods again: nothing to write, whatever the trigger time
    assert!(desired_endpoints(&svc, &[&a], Some(&wanted), None).is_none());
    // headless services are labelled so
    let mut headless = svc.clone();
    headless.spec.as_mut().expect("spec").cluster_ip = Some("None".into());
    let h = desired_endpoints(&headless, &[&a], None, None).expect("new");
    assert_eq!(
        h.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(HEADLESS_LABEL))
            .map(String::as_str),
        Some("")
    );
    assert!(h.metadata.annotations.is_none());
    // a pod going unready changes the subsets
    let a2 = pod("a", "10.0.0.1", false, 20);
    let next = desired_endpoints(&svc, &[&a2], Some(&wanted), Some(ts(20))).expect("changed");
    assert_eq!(
        as_json(&next)["subsets"][0]["notReadyAddresses"][0]["ip"],
        "10.0.0.1"
    );
}

#[test]
fn trigger_times_follow_kube() {
    let svc = service(json!([]));
    let t = TriggerTimes::default();
    let a = pod("a", "10.0.0.1", true, 20);
    // first sync: the service's creation time
    assert_eq!(t.compute("d/web", &svc, &[&a]), Some(ts(10)));
    // nothing changed
    assert_eq!(t.compute("d/web", &svc, &[&a]), None);
    // two pods changed: the earliest change
    let a2 = pod("a", "10.0.0.1", false, 40);
    let b = pod("b", "10.0.0.2", true, 30);
    assert_eq!(t.compute("d/web", &svc, &[&a2, &b]), Some(ts(30)));
    t.forget("d/web");
    assert_eq!(t.compute("d/web", &svc, &[]), Some(ts(10)));
}

#[test]
fn truncation_keeps_proportions() {
    let addr = |i: usize| EndpointAddress {
        ip: format!("10.0.{}.{}", i / 256, i % 256),
        ..EndpointAddress::default()
    };
    let mut subsets = vec![
        EndpointSubset {
            addresses: Some((0..900).map(addr).collect()),
            not_ready_addresses: Some((900..1000).map(addr).collect()),
            ports: None,
        },
        EndpointSubset {
            addresses: Some((1000..1050).map(addr).collect()),
            not_ready_addresses: Some((1050..1150).map(addr).collect()),
            ports: None,
        },
    ];
    assert!(truncate(&mut subsets));
    let counts: Vec<(usize, usize)> = subsets
        .iter()
        .map(|s| {
            (
                s.addresses.as_ref().map_or(0, Vec::len),
                s.not_ready_addresses.as_ref().map_or(0, Vec::len),
            )
        })
        .collect();
    // 950 ready stay; 50 not-ready places split 100:100 → 25 each
    assert_eq!(counts, vec![(900, 25), (50, 25)]);
    assert!(!truncate(&mut subsets));
}

#[test]
fn the_router_reaches_old_and_new_services_and_keeps_no_entry_for_unselected_pods() {
    use kube::runtime::{reflector, watcher};
    let (services, mut writer) = reflector::store::<Service>();
    writer.apply_watcher_event(&watcher::Event::Apply(service(json!([{"port": 80}]))));
    let router = PodRouter::default();
    let entries = |r: &PodRouter| r.last.lock().unwrap().len();

    let web = pod("p", "10.0.0.1", true, 1);
    assert_eq!(router.route(&services, &web, false), ["d/web"]);
    assert_eq!(entries(&router), 1);

    let mut relabelled = web.clone();
    relabelled.metadata.labels = Some([("app".to_string(), "db".to_string())].into());
    assert_eq!(
        router.route(&services, &relabelled, false),
        ["d/web"],
        "the Service that selected it hears it left"
    );
    assert_eq!(
        entries(&router),
        0,
        "a pod no Service selects takes no entry"
    );
    assert!(router.route(&services, &relabelled, false).is_empty());
    assert!(router.route(&services, &relabelled, true).is_empty());

    router.route(&services, &web, false);
    assert_eq!(router.route(&services, &web, true), ["d/web"], "deleted");
    assert_eq!(entries(&router), 0);
}
