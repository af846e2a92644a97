//! Defaulted minimal objects compared with what `kubectl get -o json` shows on a 1.33 cluster
//! (less what other parts of the server add: cluster IPs, service accounts, node names,
//! resourceVersion/uid/creationTimestamp/generation and controller-written status).

use serde_json::{Value, json};

use super::*;

fn defaulted(group: &str, kind: &str, mut obj: Value) -> Value {
    apply_defaults(group, kind, &mut obj);
    obj
}

/// The container kube shows for `{"name": name, "image": image}`.
fn container(name: &str, image: &str, pull: &str) -> Value {
    json!({
        "image": image,
        "imagePullPolicy": pull,
        "name": name,
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File"
    })
}

/// The pod spec of a template after defaulting.
fn template_spec(containers: Value, restart: &str) -> Value {
    json!({
        "containers": containers,
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": restart,
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "terminationGracePeriodSeconds": 30
    })
}

#[test]
fn minimal_deployment() {
    let d = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}
        }
    });
    assert_eq!(
        defaulted("apps", "Deployment", d),
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {
                "progressDeadlineSeconds": 600,
                "replicas": 1,
                "revisionHistoryLimit": 10,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                    "type": "RollingUpdate"
                },
                "template": {
                    "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                    "spec": template_spec(json!([container("nginx", "nginx", "Always")]), "Always")
                }
            },
            "status": {}
        })
    );
}

#[test]
fn minimal_pod() {
    let p = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                 "ports": [{"containerPort": 80}],
                                 "livenessProbe": {"httpGet": {"port": 80}},
                                 "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                                 "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg"}]}],
                 "volumes": [{"name": "cfg", "configMap": {"name": "cfg"}}, {"name": "tmp"}]}
    });
    let mut c = container("web", "nginx:1.27", "IfNotPresent");
    c["ports"] = json!([{"containerPort": 80, "protocol": "TCP"}]);
    c["livenessProbe"] = json!({
        "failureThreshold": 3,
        "httpGet": {"path": "/", "port": 80, "scheme": "HTTP"},
        "periodSeconds": 10,
        "successThreshold": 1,
        "timeoutSeconds": 1
    });
    c["env"] = json!([{"name": "POD", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}]);
    c["volumeMounts"] = json!([{"name": "cfg", "mountPath": "/etc/cfg"}]);
    let mut spec = template_spec(json!([c]), "Always");
    spec["enableServiceLinks"] = json!(true);
    spec["preemptionPolicy"] = json!("PreemptLowerPriority");
    spec["priority"] = json!(0);
    spec["tolerations"] = json!([
        {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
        {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300}
    ]);
    spec["volumes"] = json!([
        {"configMap": {"defaultMode": 420, "name": "cfg"}, "name": "cfg"},
        {"emptyDir": {}, "name": "tmp"}
    ]);
    assert_eq!(
        defaulted("", "Pod", p),
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": spec,
            "status": {"phase": "Pending", "qosClass": "BestEffort"}
        })
    );
}

#[test]
fn pod_requests_default_to_limits_and_qos_follows() {
    let p = json!({"spec": {"containers": [{"name": "a", "image": "a:1",
        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}}}]}});
    let out = defaulted("", "Pod", p);
    assert_eq!(
        out["spec"]["containers"][0]["resources"],
        json!({"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "500m", "memory": "128Mi"}})
    );
    assert_eq!(out["status"]["qosClass"], "Guaranteed");
    let burstable = json!({"spec": {"containers": [{"name": "a", "image": "a:1",
        "resources": {"requests": {"cpu": "100m"}}}]}});
    assert_eq!(
        defaulted("", "Pod", burstable)["status"]["qosClass"],
        "Burstable"
    );
}

#[test]
fn minimal_service() {
    let s = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}
    });
    assert_eq!(
        defaulted("", "Service", s),
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "internalTrafficPolicy": "Cluster",
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
                "selector": {"app": "web"},
                "sessionAffinity": "None",
                "type": "ClusterIP"
            },
            "status": {"loadBalancer": {}}
        })
    );
    let lb = json!({"spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP", "ports": [{"port": 443, "targetPort": "https"}]}});
    let out = defaulted("", "Service", lb);
    assert_eq!(out["spec"]["externalTrafficPolicy"], "Cluster");
    assert_eq!(out["spec"]["allocateLoadBalancerNodePorts"], true);
    assert_eq!(
        out["spec"]["sessionAffinityConfig"],
        json!({"clientIP": {"timeoutSeconds": 10800}})
    );
    assert_eq!(out["spec"]["ports"][0]["targetPort"], "https");
    let headless = json!({"spec": {"clusterIP": "None"}});
    let out = defaulted("", "Service", headless);
    assert_eq!(out["spec"]["clusterIPs"], json!(["None"]));
    assert_eq!(out["spec"]["ipFamilyPolicy"], "RequireDualStack");
    let external = defaulted(
        "",
        "Service",
        json!({"spec": {"type": "ExternalName", "externalName": "example.com"}}),
    );
    assert_eq!(
        external["spec"],
        json!({"externalName": "example.com", "sessionAffinity": "None", "type": "ExternalName"})
    );
}

#[test]
fn minimal_job() {
    let j = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "pi", "namespace": "default", "uid": "8f3c"},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
                 "containers": [{"name": "pi", "image": "perl:5.34.0"}]}}}
    });
    let labels = json!({
        "batch.kubernetes.io/controller-uid": "8f3c",
        "batch.kubernetes.io/job-name": "pi",
        "controller-uid": "8f3c",
        "job-name": "pi"
    });
    assert_eq!(
        defaulted("batch", "Job", j),
        json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "pi", "namespace": "default", "uid": "8f3c", "labels": labels},
            "spec": {
                "backoffLimit": 6,
                "completionMode": "NonIndexed",
                "completions": 1,
                "parallelism": 1,
                "podReplacementPolicy": "TerminatingOrFailed",
                "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "8f3c"}},
                "suspend": false,
                "template": {
                    "metadata": {"creationTimestamp": null, "labels": labels},
                    "spec": template_spec(json!([container("pi", "perl:5.34.0", "IfNotPresent")]), "Never")
                }
            },
            "status": {}
        })
    );
    let parallel = defaulted(
        "batch",
        "Job",
        json!({"spec": {"parallelism": 3, "manualSelector": true}}),
    );
    assert!(parallel["spec"].get("completions").is_none());
    assert!(parallel["spec"].get("selector").is_none());
}

#[test]
fn minimal_cron_job() {
    let cj = json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "hello", "namespace": "default"},
        "spec": {"schedule": "*/1 * * * *",
                 "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure",
                     "containers": [{"name": "hello", "image": "busybox:1.28"}]}}}}}
    });
    assert_eq!(
        defaulted("batch", "CronJob", cj),
        json!({
            "apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "hello", "namespace": "default"},
            "spec": {
                "concurrencyPolicy": "Allow",
                "failedJobsHistoryLimit": 1,
                "jobTemplate": {
                    "metadata": {"creationTimestamp": null},
                    "spec": {"template": {
                        "metadata": {"creationTimestamp": null},
                        "spec": template_spec(json!([container("hello", "busybox:1.28", "IfNotPresent")]), "OnFailure")
                    }}
                },
                "schedule": "*/1 * * * *",
                "successfulJobsHistoryLimit": 3,
                "suspend": false
            },
            "status": {}
        })
    );
}

#[test]
fn stateful_and_daemon_sets() {
    let sts = json!({"spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
        "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "postgres:17"}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}});
    let out = defaulted("apps", "StatefulSet", sts);
    assert_eq!(out["spec"]["podManagementPolicy"], "OrderedReady");
    assert_eq!(
        out["spec"]["updateStrategy"],
        json!({"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"})
    );
    assert_eq!(
        out["spec"]["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    assert_eq!(out["spec"]["replicas"], 1);
    assert_eq!(out["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(
        out["spec"]["volumeClaimTemplates"][0],
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"creationTimestamp": null, "name": "data"},
               "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeMode": "Filesystem"},
               "status": {"phase": "Pending"}})
    );
    assert_eq!(
        out["status"],
        json!({"availableReplicas": 0, "replicas": 0})
    );
    let ds = defaulted("apps", "DaemonSet", json!({"spec": {}}));
    assert_eq!(
        ds["spec"],
        json!({"revisionHistoryLimit": 10,
               "updateStrategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}, "type": "RollingUpdate"}})
    );
    let rc = defaulted(
        "",
        "ReplicationController",
        json!({"spec": {"template": {"metadata": {"labels": {"app": "x"}}}}}),
    );
    assert_eq!(rc["spec"]["selector"], json!({"app": "x"}));
    assert_eq!(rc["metadata"]["labels"], json!({"app": "x"}));
    assert_eq!(rc["spec"]["replicas"], 1);
}

#[test]
fn secret_string_data_and_small_kinds() {
    let s = defaulted(
        "",
        "Secret",
        json!({"data": {"a": "eA=="}, "stringData": {"b": "hello", "a": "y"}}),
    );
    assert_eq!(
        s,
        json!({"data": {"a": "eQ==", "b": "aGVsbG8="}, "type": "Opaque"})
    );
    let ns = defaulted("", "Namespace", json!({"metadata": {"name": "team-a"}}));
    assert_eq!(
        ns,
        json!({"metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a"}},
               "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
    );
    let pvc = defaulted("", "PersistentVolumeClaim", json!({"spec": {}}));
    assert_eq!(
        pvc,
        json!({"spec": {"volumeMode": "Filesystem"}, "status": {"phase": "Pending"}})
    );
    let pv = defaulted(
        "",
        "PersistentVolume",
        json!({"spec": {"hostPath": {"path": "/x"}}}),
    );
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    assert_eq!(pv["spec"]["hostPath"]["type"], "");
    let sc = defaulted(
        "storage.k8s.io",
        "StorageClass",
        json!({"provisioner": "x.io/y"}),
    );
    assert_eq!(sc["reclaimPolicy"], "Delete");
    assert_eq!(sc["volumeBindingMode"], "Immediate");
    let pc = defaulted("scheduling.k8s.io", "PriorityClass", json!({"value": 5}));
    assert_eq!(pc["preemptionPolicy"], "PreemptLowerPriority");
    let np = defaulted(
        "networking.k8s.io",
        "NetworkPolicy",
        json!({"spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53}]}]}}),
    );
    assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert_eq!(np["spec"]["egress"][0]["ports"][0]["protocol"], "TCP");
    let rb = defaulted(
        "rbac.authorization.k8s.io",
        "RoleBinding",
        json!({"roleRef": {"kind": "Role", "name": "r"}, "subjects": [{"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "name": "sa"}]}),
    );
    assert_eq!(rb["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
    assert_eq!(rb["subjects"][0]["apiGroup"], "rbac.authorization.k8s.io");
    assert!(rb["subjects"][1].get("apiGroup").is_none());
    let eps = defaulted(
        "discovery.k8s.io",
        "EndpointSlice",
        json!({"ports": [{"port": 80}]}),
    );
    assert_eq!(
        eps["ports"][0],
        json!({"name": "", "port": 80, "protocol": "TCP"})
    );
    let lr = defaulted(
        "",
        "LimitRange",
        json!({"spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}, "min": {"memory": "1Mi"}}]}}),
    );
    assert_eq!(lr["spec"]["limits"][0]["default"], json!({"cpu": "1"}));
    assert_eq!(
        lr["spec"]["limits"][0]["defaultRequest"],
        json!({"cpu": "1", "memory": "1Mi"})
    );
}

#[test]
fn defaults_are_idempotent_and_tolerate_odd_shapes() {
    for (group, kind) in [
        ("", "Pod"),
        ("apps", "Deployment"),
        ("", "Service"),
        ("batch", "Job"),
    ] {
        for odd in [
            json!(null),
            json!([]),
            json!({"spec": "x"}),
            json!({"spec": {"template": 3, "containers": {}}}),
        ] {
            let _ = defaulted(group, kind, odd);
        }
    }
    let once = defaulted(
        "apps",
        "Deployment",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "a"}]}}}}),
    );
    assert_eq!(defaulted("apps", "Deployment", once.clone()), once);
}
