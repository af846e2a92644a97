use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use serde_json::{Value, json};

use super::*;

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn request(config: &str) -> DeployRequest {
    DeployRequest::new("vc1", "vcluster-vc1", "warren:test", config).expect("valid request")
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

fn kinds(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn defaults_exactly() {
    let labels =
        json!({"app": "vcluster", "release": "vc1", "app.kubernetes.io/managed-by": "warren"});
    let meta = |name: &str| json!({"name": name, "namespace": "vcluster-vc1", "labels": labels});
    let selector = json!({"app": "vcluster", "release": "vc1"});
    let probe = |path: &str, period: u32, failures: u32| {
        json!({"httpGet": {"path": path, "port": 8443, "scheme": "HTTPS"},
               "periodSeconds": period, "timeoutSeconds": 3, "failureThreshold": failures})
    };
    let mut service_meta = meta("vc1");
    service_meta["labels"]["vcluster.loft.sh/service"] = json!("true");
    let expected = vec![
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("vc-vc1")}),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta("vc-vc1"),
            "rules": [
                {"apiGroups": [""],
                 "resources": ["configmaps", "endpoints", "secrets", "serviceaccounts", "services"],
                 "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
                {"apiGroups": [""], "resources": ["persistentvolumeclaims", "pods"],
                 "verbs": ["create", "delete", "get", "list", "patch", "watch"]},
                {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
            ],
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta("vc-vc1"),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "vc-vc1"},
            "subjects": [{"kind": "ServiceAccount", "name": "vc-vc1", "namespace": "vcluster-vc1"}],
        }),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": meta("vc-config-vc1"),
               "type": "Opaque", "data": {"config.yaml": ""}}),
        json!({
            "apiVersion": "v1", "kind": "Service", "metadata": service_meta,
            "spec": {
                "type": "ClusterIP",
                "ports": [
                    {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443},
                    {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 1053},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 1053},
                ],
                "selector": selector,
            },
        }),
        json!({
            "apiVersion": "v1", "kind": "Service", "metadata": meta("vc1-headless"),
            "spec": {
                "clusterIP": "None",
                "publishNotReadyAddresses": true,
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443}],
                "selector": selector,
            },
        }),
        json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta("vc1"),
            "spec": {
                "replicas": 1,
                "serviceName": "vc1-headless",
                "podManagementPolicy": "Parallel",
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": selector, "annotations": {"vClusterConfigHash": EMPTY_SHA256}},
                    "spec": {
                        "serviceAccountName": "vc-vc1",
                        "terminationGracePeriodSeconds": 15,
                        "enableServiceLinks": false,
                        "containers": [{
                            "name": "syncer",
                            "image": "warren:test",
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["warren"],
                            "args": ["serve", "--role", "syncer", "--name", "vc1", "--data-dir", "/data",
                                     "-f", "/etc/warren/vcluster.yaml", "--listen", "0.0.0.0:8443",
                                     "--tls-san", "vc1,vc1.vcluster-vc1,vc1.vcluster-vc1.svc,vc1.vcluster-vc1.svc.cluster.local",
                                     "--dns-listen", "0.0.0.0:1053"],
                            "ports": [
                                {"name": "https", "containerPort": 8443, "protocol": "TCP"},
                                {"name": "dns", "containerPort": 1053, "protocol": "UDP"},
                                {"name": "dns-tcp", "containerPort": 1053, "protocol": "TCP"},
                            ],
                            "startupProbe": probe("/readyz", 5, 60),
                            "readinessProbe": probe("/readyz", 5, 3),
                            "livenessProbe": probe("/livez", 10, 6),
                            "resources": {"limits": {"memory": "2Gi"}, "requests": {"cpu": "200m", "memory": "256Mi"}},
                            "volumeMounts": [
                                {"name": "data", "mountPath": "/data"},
                                {"name": "config", "mountPath": "/etc/warren", "readOnly": true},
                            ],
                        }],
                        "volumes": [{"name": "config", "secret": {"secretName": "vc-config-vc1",
                            "items": [{"key": "config.yaml", "path": "vcluster.yaml"}]}}],
                    },
                },
                "volumeClaimTemplates": [{
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}},
                }],
            },
        }),
    ];
    let objects = manifests(&request(""));
    for (got, want) in objects.iter().zip(&expected) {
        assert_eq!(got, want, "{}", got["kind"]);
    }
    assert_eq!(objects.len(), expected.len());
}

/// Every object is what its Kubernetes type says (a misspelt field would be dropped by the
/// round trip).
#[test]
fn objects_round_trip_through_their_types() {
    fn same<K: serde::de::DeserializeOwned + serde::Serialize>(object: &Value) {
        let typed: K = serde_json::from_value(object.clone()).expect("deserializes");
        let mut back = serde_json::to_value(typed).unwrap();
        // k8s-openapi writes the type of embedded claim templates; Go's types leave it out.
        let templates = back.pointer_mut("/spec/volumeClaimTemplates");
        for template in templates
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let template = template.as_object_mut().unwrap();
            template.remove("apiVersion");
            template.remove("kind");
        }
        assert_eq!(&back, object);
    }
    let config = "sync:\n  fromHost:\n    nodes:\n      enabled: true\ncontrolPlane:\n  statefulSet:\n    persistence:\n      volumeClaim:\n        storageClass: fast\n";
    for object in manifests(&request(config)) {
        match object["kind"].as_str().unwrap() {
            "ServiceAccount" => same::<ServiceAccount>(&object),
            "Role" => same::<Role>(&object),
            "RoleBinding" => same::<RoleBinding>(&object),
            "ClusterRole" => same::<ClusterRole>(&object),
            "ClusterRoleBinding" => same::<ClusterRoleBinding>(&object),
            "Secret" => same::<Secret>(&object),
            "Service" => same::<Service>(&object),
            "StatefulSet" => same::<StatefulSet>(&object),
            other => panic!("unexpected kind {other}"),
        }
    }
}

#[test]
fn no_cluster_role_unless_a_sync_reads_cluster_objects() {
    let objects = manifests(&request(""));
    assert_eq!(
        kinds(&objects),
        [
            "ServiceAccount/vc-vc1",
            "Role/vc-vc1",
            "RoleBinding/vc-vc1",
            "Secret/vc-config-vc1",
            "Service/vc1",
            "Service/vc1-headless",
            "StatefulSet/vc1",
        ]
    );
    // Syncs of namespaced kinds need nothing more.
    let objects = manifests(&request(
        "sync:\n  toHost:\n    serviceAccounts:\n      enabled: true\n  fromHost:\n    events:\n      enabled: false\n",
    ));
    assert!(objects.iter().all(|o| o["kind"] != "ClusterRole"));
    assert_eq!(
        find(&objects, "Role", "vc-vc1").unwrap()["rules"],
        role_rules(&warren_syncer::config::SyncerConfig::default())
    );
}

#[test]
fn node_sync_gets_a_cluster_role_for_nodes() {
    let objects = manifests(&request(
        "sync:\n  fromHost:\n    nodes:\n      enabled: true\n",
    ));
    let labels =
        json!({"app": "vcluster", "release": "vc1", "app.kubernetes.io/managed-by": "warren"});
    assert_eq!(
        find(&objects, "ClusterRole", "vc-vc1-v-vcluster-vc1").unwrap(),
        &json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "vc-vc1-v-vcluster-vc1", "labels": labels},
            "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]}],
        })
    );
    assert_eq!(
        find(&objects, "ClusterRoleBinding", "vc-vc1-v-vcluster-vc1").unwrap(),
        &json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "vc-vc1-v-vcluster-vc1", "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "vc-vc1-v-vcluster-vc1"},
            "subjects": [{"kind": "ServiceAccount", "name": "vc-vc1", "namespace": "vcluster-vc1"}],
        })
    );
    // the legacy key means the same
    let legacy = manifests(&request("sync:\n  nodes:\n    enabled: true\n"));
    assert!(find(&legacy, "ClusterRole", "vc-vc1-v-vcluster-vc1").is_some());
}

#[test]
fn checksum_follows_the_config() {
    assert_eq!(config_hash(""), EMPTY_SHA256);
    let a = "sync:\n  toHost:\n    ingresses:\n      enabled: true\n";
    let b = "sync:\n  toHost:\n    ingresses:\n      enabled: false\n";
    assert_ne!(config_hash(a), config_hash(b));
    assert_eq!(config_hash(a), config_hash(a));
    let annotation = |config: &str| {
        let objects = manifests(&request(config));
        find(&objects, "StatefulSet", "vc1").unwrap()["spec"]["template"]["metadata"]["annotations"]
            ["vClusterConfigHash"]
            .clone()
    };
    assert_eq!(annotation(a), json!(config_hash(a)));
    assert_ne!(annotation(a), annotation(b));
    // the Secret holds the file as given
    let objects = manifests(&request(a));
    let data = find(&objects, "Secret", "vc-config-vc1").unwrap()["data"]["config.yaml"]
        .as_str()
        .unwrap()
        .to_owned();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap();
    assert_eq!(decoded, a.as_bytes());
}

#[test]
fn claim_and_resources_come_from_the_statefulset_keys() {
    let objects = manifests(&request(
        "controlPlane:\n  statefulSet:\n    persistence:\n      volumeClaim:\n        size: 2Gi\n        storageClass: fast\n    resources:\n      limits:\n        memory: 1Gi\n",
    ));
    let sts = find(&objects, "StatefulSet", "vc1").unwrap();
    assert_eq!(
        sts["spec"]["volumeClaimTemplates"],
        json!([{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
            "storageClassName": "fast", "resources": {"requests": {"storage": "2Gi"}}}}])
    );
    assert_eq!(
        sts["spec"]["template"]["spec"]["containers"][0]["resources"],
        json!({"limits": {"memory": "1Gi"}, "requests": {"cpu": "200m", "memory": "256Mi"}})
    );

    let objects = manifests(&request(
        "controlPlane:\n  statefulSet:\n    persistence:\n      volumeClaim:\n        enabled: false\n",
    ));
    let sts = find(&objects, "StatefulSet", "vc1").unwrap();
    assert!(sts["spec"].get("volumeClaimTemplates").is_none());
    assert_eq!(
        sts["spec"]["template"]["spec"]["volumes"][1],
        json!({"name": "data", "emptyDir": {}})
    );
}

#[test]
fn without_dns_there_are_no_dns_ports() {
    let objects = manifests(&request("controlPlane:\n  coredns:\n    enabled: false\n"));
    let service = find(&objects, "Service", "vc1").unwrap();
    assert_eq!(
        service["spec"]["ports"],
        json!([{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443}])
    );
    let container =
        &find(&objects, "StatefulSet", "vc1").unwrap()["spec"]["template"]["spec"]["containers"][0];
    assert!(
        !container["args"]
            .as_array()
            .unwrap()
            .contains(&json!("--dns-listen"))
    );
    assert_eq!(container["ports"].as_array().unwrap().len(), 1);
}

#[test]
fn replicated_services_elsewhere_get_cluster_rules() {
    let rules = |config: &str| {
        let loaded = warren_syncer::config::parse(config).unwrap();
        cluster_role_rules(&loaded.config, "vcluster-vc1")
    };
    let read = json!({"apiGroups": [""], "resources": ["endpoints", "services"], "verbs": ["get", "list", "watch"]});
    let write = json!({"apiGroups": [""], "resources": ["services"],
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]});
    // within the syncer's own namespace the Role covers it
    assert_eq!(
        rules(
            "networking:\n  replicateServices:\n    fromHost:\n    - from: vcluster-vc1/db\n      to: default/db\n    toHost:\n    - from: default/web\n      to: web\n"
        ),
        None
    );
    assert_eq!(
        rules(
            "networking:\n  replicateServices:\n    fromHost:\n    - from: shared/db\n      to: default/db\n"
        ),
        Some(json!([read]))
    );
    assert_eq!(
        rules(
            "networking:\n  replicateServices:\n    toHost:\n    - from: default/web\n      to: shared/web\n"
        ),
        Some(json!([write]))
    );
    assert_eq!(
        rules(
            "sync:\n  fromHost:\n    nodes:\n      enabled: true\nnetworking:\n  replicateServices:\n    fromHost:\n    - from: shared/db\n      to: default/db\n    toHost:\n    - from: default/web\n      to: shared/web\n"
        ),
        Some(json!([
            {"apiGroups": [""], "resources": ["endpoints", "nodes"], "verbs": ["get", "list", "watch"]},
            write,
        ]))
    );
}

#[test]
fn optional_kinds_get_their_rules() {
    let rw = json!([
        "create", "delete", "get", "list", "patch", "update", "watch"
    ]);
    let read = json!(["get", "list", "watch"]);
    let objects = manifests(&request(
        "sync:\n  toHost:\n    ingresses:\n      enabled: true\n    networkPolicies:\n      enabled: true\n    podDisruptionBudgets:\n      enabled: true\n    priorityClasses:\n      enabled: true\n  fromHost:\n    storageClasses:\n      enabled: true\n",
    ));
    let role = find(&objects, "Role", "vc-vc1").unwrap();
    assert_eq!(
        role["rules"].as_array().unwrap()[3..],
        [
            json!({"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "networkpolicies"], "verbs": rw}),
            json!({"apiGroups": ["networking.k8s.io"], "resources": ["ingresses/status"], "verbs": ["get"]}),
            json!({"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": rw}),
        ]
    );
    let cluster_role = find(&objects, "ClusterRole", "vc-vc1-v-vcluster-vc1").unwrap();
    assert_eq!(
        cluster_role["rules"],
        json!([
            {"apiGroups": ["networking.k8s.io"], "resources": ["ingressclasses"], "verbs": read},
            {"apiGroups": ["scheduling.k8s.io"], "resources": ["priorityclasses"], "verbs": rw},
            {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": read},
        ])
    );
    // ingressClasses can be turned off beside ingresses
    let objects = manifests(&request(
        "sync:\n  toHost:\n    ingresses:\n      enabled: true\n  fromHost:\n    ingressClasses:\n      enabled: false\n",
    ));
    assert!(find(&objects, "ClusterRole", "vc-vc1-v-vcluster-vc1").is_none());
}
