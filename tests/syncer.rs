//! The syncer end to end: `warren serve --name VC --host-kubeconfig … --host-namespace …` puts
//! the virtual cluster's workloads on the test bed's real Kubernetes 1.20 host cluster, whose
//! fake nodes schedule and "run" them.
//!
//! One host cluster (and its fake node agent) is shared by the tests of this file; each test
//! uses its own host namespace and virtual cluster name.

#[path = "syncer_bed/mod.rs"]
mod syncer_bed;

use std::time::{Duration, Instant};

use serde_json::Value;
use syncer_bed::hostcluster;
use syncer_bed::*;
use warren_e2e::Warren;

fn items(list: &Value) -> Vec<Value> {
    list["items"].as_array().cloned().unwrap_or_default()
}

fn condition(obj: &Value, type_: &str) -> Option<String> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .and_then(|c| c["status"].as_str())
        .map(str::to_owned)
}

fn pod_manifest(name: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  labels:\n    app: {name}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n    image: nginx\n{extra_spec}"
    )
}

#[test]
fn pod_status_nodes_and_events_come_back() {
    let w = virtual_cluster("vc1", "vc1-host", &[]);
    w.kubectl_apply_ok(&["apply", "-f", "-"], &pod_manifest("web", ""));

    let host_pod = w.eventually("host pod Running", Duration::from_secs(30), || {
        let pod = host_get(&["pod", "-n", "vc1-host", "web-x-default-x-vc1"])?;
        (pod["status"]["phase"] == "Running").then_some(pod)
    });
    let labels = &host_pod["metadata"]["labels"];
    assert_eq!(labels["app"], "web");
    assert_eq!(labels["vcluster.loft.sh/managed-by"], "vc1");
    assert_eq!(labels["vcluster.loft.sh/namespace"], "default");
    let annotations = &host_pod["metadata"]["annotations"];
    assert_eq!(annotations["vcluster.loft.sh/object-name"], "web");
    assert_eq!(annotations["vcluster.loft.sh/object-kind"], "/v1, Kind=Pod");
    assert_eq!(host_pod["spec"]["serviceAccountName"], "vc-workload-vc1");
    assert_eq!(
        host_pod["metadata"]["ownerReferences"][0]["kind"],
        "Service"
    );
    assert_eq!(host_pod["metadata"]["ownerReferences"][0]["name"], "vc1");
    // The service account token of the virtual cluster travels in an annotation.
    let has_token = annotations
        .as_object()
        .is_some_and(|a| a.keys().any(|k| k.starts_with("vcluster.loft.sh/token-")));
    assert!(has_token, "no token annotation: {annotations}");
    let host_node = host_pod["spec"]["nodeName"].as_str().unwrap().to_owned();

    let pod = w.eventually(
        "virtual pod Running and Ready",
        Duration::from_secs(30),
        || {
            let pod = virtual_get(&w, &["pod", "web"])?;
            (pod["status"]["phase"] == "Running"
                && condition(&pod, "Ready").as_deref() == Some("True"))
            .then_some(pod)
        },
    );
    assert_eq!(pod["spec"]["nodeName"], host_node.as_str());
    assert_eq!(pod["status"]["podIP"], host_pod["status"]["podIP"]);
    assert_eq!(pod["status"]["hostIP"], host_pod["status"]["hostIP"]);
    assert_eq!(
        pod["status"]["containerStatuses"][0]["name"], "main",
        "container statuses: {}",
        pod["status"]
    );
    assert!(pod["status"]["qosClass"].is_string());

    // The virtual node mirrors the host node the pod runs on.
    let node = virtual_get(&w, &["node", &host_node]).expect("virtual node");
    assert_eq!(
        node["metadata"]["labels"]["vcluster.loft.sh/fake-node"],
        "true"
    );
    assert_eq!(condition(&node, "Ready").as_deref(), Some("True"));

    // The host's Scheduled event shows in the virtual cluster, about the virtual pod.
    let uid = pod["metadata"]["uid"].as_str().unwrap().to_owned();
    w.eventually(
        "Scheduled event in the virtual cluster",
        Duration::from_secs(30),
        || {
            let events = virtual_get(
                &w,
                &["events", "--field-selector", "involvedObject.name=web"],
            )?;
            items(&events)
                .iter()
                .find(|e| e["reason"] == "Scheduled" && e["involvedObject"]["uid"] == uid.as_str())
                .cloned()
        },
    );

    // Once in step, nothing is rewritten over and over (host node heartbeats included).
    let versions = || {
        let rv = |v: Option<Value>| v.map(|v| v["metadata"]["resourceVersion"].clone());
        (
            rv(host_get(&["pod", "-n", "vc1-host", "web-x-default-x-vc1"])),
            rv(virtual_get(&w, &["pod", "web"])),
            rv(virtual_get(&w, &["node", &host_node])),
            rv(host_get(&[
                "service",
                "-n",
                "vc1-host",
                "kube-dns-x-kube-system-x-vc1",
            ])),
        )
    };
    let before = versions();
    std::thread::sleep(Duration::from_secs(12));
    assert_eq!(before, versions(), "objects kept changing");

    // Readiness flips on the host flow back too.
    host()
        .nodes
        .set_pod_ready("vc1-host", "web-x-default-x-vc1", false)
        .expect("set not ready");
    w.eventually("virtual pod not Ready", Duration::from_secs(20), || {
        let pod = virtual_get(&w, &["pod", "web"])?;
        (condition(&pod, "Ready").as_deref() == Some("False")).then_some(())
    });
    report(&w);
}

/// Labels of a host object whose key starts with `prefix`, by value.
fn label_values_with_prefix(obj: &Value, prefix: &str) -> Vec<String> {
    obj["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with(prefix))
        .filter_map(|(_, v)| v.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn config_maps_and_secrets_follow_the_pods_that_use_them() {
    let w = virtual_cluster("vc2", "vc2-host", &[]);
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  greeting: hello\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unused\ndata:\n  a: b\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: s3cret\n",
    );
    let extra = "    env:\n    - name: GREETING\n      valueFrom:\n        configMapKeyRef:\n          name: settings\n          key: greeting\n    - name: PASSWORD\n      valueFrom:\n        secretKeyRef:\n          name: creds\n          key: password\n    volumeMounts:\n    - name: settings\n      mountPath: /etc/settings\n    - name: creds\n      mountPath: /etc/creds\n  volumes:\n  - name: settings\n    configMap:\n      name: settings\n  - name: creds\n    secret:\n      secretName: creds\n";
    w.kubectl_apply_ok(&["apply", "-f", "-"], &pod_manifest("app", extra));

    let host_pod = w.eventually("host pod", Duration::from_secs(30), || {
        host_get(&["pod", "-n", "vc2-host", "app-x-default-x-vc2"])
    });
    let container = &host_pod["spec"]["containers"][0];
    let env = container["env"].as_array().unwrap();
    let var = |name: &str| env.iter().find(|e| e["name"] == name).cloned().unwrap();
    assert_eq!(
        var("GREETING")["valueFrom"]["configMapKeyRef"]["name"],
        "settings-x-default-x-vc2"
    );
    assert_eq!(
        var("PASSWORD")["valueFrom"]["secretKeyRef"]["name"],
        "creds-x-default-x-vc2"
    );
    let volumes = host_pod["spec"]["volumes"].as_array().unwrap();
    let volume = |name: &str| volumes.iter().find(|v| v["name"] == name).cloned().unwrap();
    assert_eq!(
        volume("settings")["configMap"]["name"],
        "settings-x-default-x-vc2"
    );
    assert_eq!(
        volume("creds")["secret"]["secretName"],
        "creds-x-default-x-vc2"
    );
    // The virtual API server address, as the virtual cluster's pods see it.
    assert!(var("KUBERNETES_SERVICE_HOST")["value"].is_string());

    // The copies exist with the data, and the unused ConfigMap stays virtual.
    let cm = host_get(&["configmap", "-n", "vc2-host", "settings-x-default-x-vc2"])
        .expect("host configmap");
    assert_eq!(cm["data"]["greeting"], "hello");
    assert_eq!(
        cm["metadata"]["annotations"]["vcluster.loft.sh/object-name"],
        "settings"
    );
    let secret =
        host_get(&["secret", "-n", "vc2-host", "creds-x-default-x-vc2"]).expect("host secret");
    assert_eq!(secret["data"]["password"], "czNjcmV0");
    assert!(
        host_get(&[
            "configmap",
            "-n",
            "vc2-host",
            "kube-root-ca.crt-x-default-x-vc2"
        ])
        .is_some()
    );
    assert!(host_get(&["configmap", "-n", "vc2-host", "unused-x-default-x-vc2"]).is_none());

    // Changes follow.
    w.kubectl_ok(&[
        "patch",
        "configmap",
        "settings",
        "-p",
        r#"{"data":{"greeting":"bonjour"}}"#,
    ]);
    w.eventually("host configmap updated", Duration::from_secs(20), || {
        let cm = host_get(&["configmap", "-n", "vc2-host", "settings-x-default-x-vc2"])?;
        (cm["data"]["greeting"] == "bonjour").then_some(())
    });
    // A ConfigMap marked force-sync goes to the host without a pod.
    w.kubectl_ok(&[
        "annotate",
        "configmap",
        "unused",
        "vcluster.loft.sh/force-sync=true",
    ]);
    w.eventually(
        "force-synced configmap on the host",
        Duration::from_secs(20),
        || host_get(&["configmap", "-n", "vc2-host", "unused-x-default-x-vc2"]),
    );

    // Without the pod nothing needs them on the host.
    w.kubectl_ok(&["delete", "pod", "app", "--wait=false"]);
    w.eventually("host copies removed", Duration::from_secs(30), || {
        let gone = host_get(&["configmap", "-n", "vc2-host", "settings-x-default-x-vc2"]).is_none()
            && host_get(&["secret", "-n", "vc2-host", "creds-x-default-x-vc2"]).is_none();
        gone.then_some(())
    });
    report(&w);
}

/// `GET /metrics` on the syncer's metrics listener (address from the log).
fn scrape_metrics(w: &Warren) -> String {
    use std::io::{Read, Write};
    let log = w.log();
    let addr = log
        .lines()
        .find_map(|l| l.split("syncer metrics on http://").nth(1))
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .expect("metrics address in the log")
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect to metrics");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n")
        .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    response
}

#[test]
fn services_carry_host_cluster_ips() {
    let w = virtual_cluster(
        "vc3",
        "vc3-host",
        &["--syncer-metrics-listen", "127.0.0.1:0"],
    );
    w.kubectl_ok(&["create", "service", "clusterip", "web", "--tcp=80:8080"]);
    // Born with the host's address: no other ClusterIP is ever seen.
    let virtual_ip = virtual_get(&w, &["service", "web"]).unwrap()["spec"]["clusterIP"]
        .as_str()
        .unwrap()
        .to_owned();
    let host_service =
        host_get(&["service", "-n", "vc3-host", "web-x-default-x-vc3"]).expect("host service");
    assert_eq!(host_service["spec"]["clusterIP"], virtual_ip.as_str());
    let selector = &host_service["spec"]["selector"];
    assert_eq!(selector["app"], "web");
    assert_eq!(selector["vcluster.loft.sh/managed-by"], "vc3");
    assert_eq!(selector["vcluster.loft.sh/namespace"], "default");

    // NodePorts are the host's too.
    w.kubectl_ok(&["create", "service", "nodeport", "np", "--tcp=80:8080"]);
    let virtual_np = virtual_get(&w, &["service", "np"]).expect("virtual service np");
    let host_np = host_get(&["service", "-n", "vc3-host", "np-x-default-x-vc3"]).unwrap();
    assert_eq!(
        virtual_np["spec"]["clusterIP"],
        host_np["spec"]["clusterIP"]
    );
    assert_eq!(
        virtual_np["spec"]["ports"][0]["nodePort"],
        host_np["spec"]["ports"][0]["nodePort"]
    );

    // default/kubernetes is the syncer's own host Service.
    let own = host_get(&["service", "-n", "vc3-host", "vc3"])
        .expect("the virtual cluster's host service");
    let kubernetes = w.eventually(
        "default/kubernetes on the host service IP",
        Duration::from_secs(20),
        || {
            let svc = virtual_get(&w, &["service", "kubernetes", "-n", "default"])?;
            (svc["spec"]["clusterIP"] == own["spec"]["clusterIP"]).then_some(svc)
        },
    );
    assert_eq!(kubernetes["spec"]["ports"][0]["port"], 443);

    // When the host Service has endpoints (the syncer runs in a pod behind it), the virtual
    // default/kubernetes Endpoints are those.
    let applied = host().cluster.kubectl_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: vc3\n  namespace: vc3-host\nsubsets:\n- addresses:\n  - ip: 10.9.9.9\n  ports:\n  - name: https\n    port: 8443\n",
    );
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    w.eventually(
        "default/kubernetes endpoints from the host",
        Duration::from_secs(20),
        || {
            let ep = virtual_get(&w, &["endpoints", "kubernetes", "-n", "default"])?;
            let subset = &ep["subsets"][0];
            (subset["addresses"][0]["ip"] == "10.9.9.9" && subset["ports"][0]["port"] == 8443)
                .then_some(())
        },
    );

    // A selector-less Service's Endpoints go to the host.
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: ext\nspec:\n  ports:\n  - port: 80\n---\n\
         apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: ext\nsubsets:\n- addresses:\n  - ip: 10.1.2.3\n  ports:\n  - port: 80\n",
    );
    let host_endpoints = w.eventually("host endpoints", Duration::from_secs(20), || {
        let ep = host_get(&["endpoints", "-n", "vc3-host", "ext-x-default-x-vc3"])?;
        (ep["subsets"][0]["addresses"][0]["ip"] == "10.1.2.3").then_some(ep)
    });
    assert_eq!(host_endpoints["subsets"][0]["ports"][0]["port"], 80);

    // Label changes follow; deleting the virtual Service deletes the host one.
    w.kubectl_ok(&["label", "service", "web", "tier=front"]);
    w.eventually("host service labeled", Duration::from_secs(20), || {
        let svc = host_get(&["service", "-n", "vc3-host", "web-x-default-x-vc3"])?;
        (svc["metadata"]["labels"]["tier"] == "front").then_some(())
    });
    w.kubectl_ok(&["delete", "service", "web"]);
    w.eventually("host service deleted", Duration::from_secs(20), || {
        host_get(&["service", "-n", "vc3-host", "web-x-default-x-vc3"])
            .is_none()
            .then_some(())
    });

    let metrics = scrape_metrics(&w);
    assert!(metrics.starts_with("HTTP/1.1 200 OK"), "{metrics}");
    assert!(
        metrics.contains("warren_syncer_queue_depth{loop=\"services\"}"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("warren_syncer_sync_duration_seconds_bucket{loop=\"services\",le=\"+Inf\"}")
    );
    assert!(metrics.contains("warren_syncer_sync_errors_total{loop=\"pods\"}"));
    report(&w);
}

#[test]
fn deleting_either_side_deletes_both() {
    let w = virtual_cluster("vc4", "vc4-host", &[]);
    w.kubectl_apply_ok(&["apply", "-f", "-"], &pod_manifest("a", ""));
    w.kubectl_apply_ok(&["apply", "-f", "-"], &pod_manifest("b", ""));
    for name in ["a", "b"] {
        w.eventually("virtual pod Running", Duration::from_secs(30), || {
            let pod = virtual_get(&w, &["pod", name])?;
            (pod["status"]["phase"] == "Running").then_some(())
        });
    }
    // Virtual delete: graceful on the host, then gone on both sides.
    w.kubectl_ok(&["delete", "pod", "a", "--wait=false"]);
    w.eventually("pod a gone on both sides", Duration::from_secs(30), || {
        let gone = virtual_get(&w, &["pod", "a"]).is_none()
            && host_get(&["pod", "-n", "vc4-host", "a-x-default-x-vc4"]).is_none();
        gone.then_some(())
    });
    // A claim goes to the host; its (Pending: the test bed binds no volumes) status comes back.
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n",
    );
    let claim = w.eventually("host claim", Duration::from_secs(20), || {
        host_get(&["pvc", "-n", "vc4-host", "data-x-default-x-vc4"])
    });
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "1Gi");
    w.eventually("claim status back", Duration::from_secs(20), || {
        let pvc = virtual_get(&w, &["pvc", "data"])?;
        (pvc["status"]["phase"] == "Pending").then_some(())
    });
    w.kubectl_ok(&["delete", "pvc", "data", "--wait=false"]);
    w.eventually("host claim deleted", Duration::from_secs(20), || {
        host_get(&["pvc", "-n", "vc4-host", "data-x-default-x-vc4"])
            .is_none()
            .then_some(())
    });

    // Host delete: the virtual pod goes too.
    host().cluster.kubectl_ok(&[
        "delete",
        "pod",
        "-n",
        "vc4-host",
        "b-x-default-x-vc4",
        "--wait=false",
    ]);
    w.eventually("pod b gone on both sides", Duration::from_secs(30), || {
        let gone = virtual_get(&w, &["pod", "b"]).is_none()
            && host_get(&["pod", "-n", "vc4-host", "b-x-default-x-vc4"]).is_none();
        gone.then_some(())
    });
    // No pod needs a virtual node any more.
    w.eventually("virtual nodes removed", Duration::from_secs(30), || {
        items(&virtual_get(&w, &["nodes"])?)
            .is_empty()
            .then_some(())
    });
    report(&w);
}

#[test]
fn namespace_labels_and_two_way_labels_and_annotations() {
    let w = virtual_cluster("vc5", "vc5-host", &[]);
    w.kubectl_ok(&["create", "namespace", "team"]);
    w.kubectl_ok(&["label", "namespace", "team", "team=blue"]);
    w.kubectl_apply_ok(&["apply", "-n", "team", "-f", "-"], &pod_manifest("p", ""));
    let host_name = "p-x-team-x-vc5";
    w.eventually(
        "namespace label on the host pod",
        Duration::from_secs(30),
        || {
            let pod = host_get(&["pod", "-n", "vc5-host", host_name])?;
            label_values_with_prefix(&pod, "vcluster.loft.sh/ns-label-")
                .contains(&"blue".to_owned())
                .then_some(())
        },
    );
    w.kubectl_ok(&["label", "namespace", "team", "another=good-syncer"]);
    w.eventually(
        "new namespace label on the host pod",
        Duration::from_secs(30),
        || {
            let pod = host_get(&["pod", "-n", "vc5-host", host_name])?;
            label_values_with_prefix(&pod, "vcluster.loft.sh/ns-label-")
                .contains(&"good-syncer".to_owned())
                .then_some(())
        },
    );

    // Set on the host: copied to the virtual pod.
    host().cluster.kubectl_ok(&[
        "label",
        "pod",
        "-n",
        "vc5-host",
        host_name,
        "another-one=good-syncer",
    ]);
    host().cluster.kubectl_ok(&[
        "annotate",
        "pod",
        "-n",
        "vc5-host",
        host_name,
        "annotation-key=annotation-value",
    ]);
    w.eventually(
        "host label and annotation on the virtual pod",
        Duration::from_secs(30),
        || {
            let pod = virtual_get(&w, &["pod", "-n", "team", "p"])?;
            (pod["metadata"]["labels"]["another-one"] == "good-syncer"
                && pod["metadata"]["annotations"]["annotation-key"] == "annotation-value")
                .then_some(())
        },
    );
    // Then changed in the virtual cluster: the host follows.
    w.kubectl_ok(&[
        "label",
        "pod",
        "-n",
        "team",
        "p",
        "--overwrite",
        "another-one=from-vcluster",
    ]);
    w.kubectl_ok(&[
        "annotate",
        "pod",
        "-n",
        "team",
        "p",
        "--overwrite",
        "annotation-key=from-vcluster",
    ]);
    w.eventually(
        "virtual changes on the host pod",
        Duration::from_secs(30),
        || {
            let pod = host_get(&["pod", "-n", "vc5-host", host_name])?;
            (pod["metadata"]["labels"]["another-one"] == "from-vcluster"
                && pod["metadata"]["annotations"]["annotation-key"] == "from-vcluster")
                .then_some(())
        },
    );
    // Image changes follow (one of the few spec changes a running pod takes).
    w.kubectl_ok(&["set", "image", "-n", "team", "pod/p", "main=nginx:1.27"]);
    w.eventually("new image on the host pod", Duration::from_secs(30), || {
        let pod = host_get(&["pod", "-n", "vc5-host", host_name])?;
        (pod["spec"]["containers"][0]["image"] == "nginx:1.27").then_some(())
    });
    // Removed in the virtual cluster: removed from the host.
    w.kubectl_ok(&["label", "pod", "-n", "team", "p", "another-one-"]);
    w.eventually(
        "label removed on the host pod",
        Duration::from_secs(30),
        || {
            let pod = host_get(&["pod", "-n", "vc5-host", host_name])?;
            pod["metadata"]["labels"]["another-one"]
                .is_null()
                .then_some(())
        },
    );
    report(&w);
}

#[test]
fn two_virtual_clusters_share_a_host_namespace() {
    let a = virtual_cluster("vc-a", "shared-host", &[]);
    let b = virtual_cluster("vc-b", "shared-host", &[]);
    for w in [&a, &b] {
        w.kubectl_apply_ok(&["apply", "-f", "-"], &pod_manifest("web", ""));
        w.kubectl_ok(&["create", "service", "clusterip", "web", "--tcp=80:8080"]);
    }
    let ip = |w: &Warren, vc: &str| {
        w.eventually("virtual pod Running", Duration::from_secs(30), || {
            let pod = virtual_get(w, &["pod", "web"])?;
            let host = host_get(&["pod", "-n", "shared-host", &format!("web-x-default-x-{vc}")])?;
            (pod["status"]["phase"] == "Running"
                && pod["status"]["podIP"] == host["status"]["podIP"])
                .then(|| pod["status"]["podIP"].as_str().map(str::to_owned))
                .flatten()
        })
    };
    let (ip_a, ip_b) = (ip(&a, "vc-a"), ip(&b, "vc-b"));
    assert_ne!(ip_a, ip_b);
    let svc_a = virtual_get(&a, &["service", "web"]).unwrap();
    let svc_b = virtual_get(&b, &["service", "web"]).unwrap();
    assert_ne!(svc_a["spec"]["clusterIP"], svc_b["spec"]["clusterIP"]);
    // Each host Service selects only its own cluster's pod.
    let selector = host_get(&["service", "-n", "shared-host", "web-x-default-x-vc-a"]).unwrap()["spec"]["selector"].clone();
    assert_eq!(selector["vcluster.loft.sh/managed-by"], "vc-a");

    // Deleting in one leaves the other alone.
    a.kubectl_ok(&["delete", "pod", "web", "--wait=false"]);
    a.eventually("vc-a's host pod gone", Duration::from_secs(30), || {
        host_get(&["pod", "-n", "shared-host", "web-x-default-x-vc-a"])
            .is_none()
            .then_some(())
    });
    assert!(host_get(&["pod", "-n", "shared-host", "web-x-default-x-vc-b"]).is_some());
    assert!(virtual_get(&b, &["pod", "web"]).is_some());
    report(&a);
    report(&b);
}

/// Runs `warren serve` with a host and `-f config`; returns (exit code, stderr).
fn run_with_config(name: &str, namespace: &str, config: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("vcluster.yaml");
    std::fs::write(&path, config).expect("write config");
    let mut child = std::process::Command::new(warren_e2e::warren_bin())
        .args([
            "serve",
            "--role",
            "syncer",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .args([
            "--name",
            name,
            "--host-namespace",
            namespace,
            "--host-kubeconfig",
        ])
        .arg(&host().cluster.kubeconfig)
        .arg("-f")
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start warren");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    use std::io::Read;
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    (status, stderr)
}

#[test]
fn bad_config_fails_before_touching_the_host() {
    let cases = [
        (
            "sync:\n  toHost:\n    podz:\n      enabled: true\n",
            "sync.toHost.podz",
        ),
        (
            "sync:\n  toHost:\n    pods:\n      enabled: maybe\n",
            "sync.toHost.pods.enabled",
        ),
        (
            "sync:\n  toHost:\n    storageClasses:\n      enabled: true\n  fromHost:\n    storageClasses:\n      enabled: true\n",
            "sync.toHost.storageClasses.enabled with sync.fromHost.storageClasses.enabled",
        ),
    ];
    for (config, key) in cases {
        let (code, stderr) = run_with_config("badvc", "bad-host", config);
        assert_eq!(code, Some(1), "exit code for {config:?}; stderr: {stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line for {config:?}: {stderr}");
        assert!(lines[0].starts_with("error: "), "{stderr}");
        assert!(lines[0].contains(key), "{key} in {stderr}");
    }
    // Nothing was created on the host (not even the namespace's services).
    let services = host_get(&["services", "-n", "bad-host"])
        .map(|l| items(&l).len())
        .unwrap_or(0);
    assert_eq!(services, 0);
}

#[test]
fn deleting_the_virtual_clusters_host_service_leaves_nothing_behind() {
    let mut w = virtual_cluster("vc10", "vc10-host", &[]);
    w.kubectl_apply_ok(&["apply", "-f", "-"], &pod_manifest("p", ""));
    w.kubectl_ok(&["create", "service", "clusterip", "p", "--tcp=80:8080"]);
    w.eventually("host pod", Duration::from_secs(30), || {
        host_get(&["pod", "-n", "vc10-host", "p-x-default-x-vc10"])
    });
    w.kill9();
    host()
        .cluster
        .kubectl_ok(&["delete", "service", "-n", "vc10-host", "vc10"]);
    w.eventually(
        "host objects garbage collected",
        Duration::from_secs(45),
        || {
            let selector = "vcluster.loft.sh/managed-by=vc10";
            let count = |kind: &str| {
                host_get(&[kind, "-n", "vc10-host", "-l", selector]).map(|l| items(&l).len())
            };
            (count("pods")? == 0 && count("services")? == 0 && count("configmaps")? == 0)
                .then_some(())
        },
    );
}

/// Host pods of virtual cluster `vc` in `namespace`: (host name, virtual name).
fn host_pods_of(namespace: &str, vc: &str) -> Option<Vec<(String, String)>> {
    let selector = format!("vcluster.loft.sh/managed-by={vc}");
    let list = host_get(&["pods", "-n", namespace, "-l", &selector])?;
    Some(
        items(&list)
            .iter()
            .map(|p| {
                (
                    p["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    p["metadata"]["annotations"]["vcluster.loft.sh/object-name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect(),
    )
}

#[test]
fn restart_mid_sync_of_500_pods_leaves_exactly_500_host_pods() {
    // 500 virtual pods made while pod sync is off, then the syncer starts on them and is
    // killed part way.
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("vcluster.yaml");
    std::fs::write(
        &config,
        "sync:\n  toHost:\n    pods:\n      enabled: false\n",
    )
    .expect("config");
    let config_arg = config.display().to_string();
    let mut w = virtual_cluster("vc8", "vc8-host", &["-f", &config_arg]);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for part in 0..4 {
            let kubeconfig = w.kubeconfig.clone();
            scope.spawn(move || {
                let manifest: String = (part * 125..(part + 1) * 125)
                    .map(|i| {
                        format!(
                            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: many-{i}\n  labels:\n    app: many\nspec:\n  containers:\n  - name: c\n    image: pause\n---\n"
                        )
                    })
                    .collect();
                let out = hostcluster::kubectl_at(&kubeconfig, kubeconfig.parent().unwrap(), &["create", "-f", "-"], Some(&manifest));
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            });
        }
    });
    let created = started.elapsed();
    assert_eq!(host_pods_of("vc8-host", "vc8").unwrap().len(), 0);

    std::fs::write(&config, "").expect("config");
    w.restart_after_kill9();
    w.eventually("some host pods", Duration::from_secs(60), || {
        let count = host_pods_of("vc8-host", "vc8")?.len();
        (count >= 100).then_some(())
    });
    w.kill9();
    let at_kill = host_pods_of("vc8-host", "vc8").unwrap().len();
    // An orphan, as a syncer that died after its virtual pod was deleted would leave.
    let applied = host().cluster.kubectl_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: ghost-x-default-x-vc8\n  namespace: vc8-host\n  labels:\n    vcluster.loft.sh/managed-by: vc8\n    vcluster.loft.sh/namespace: default\n  annotations:\n    vcluster.loft.sh/object-name: ghost\n    vcluster.loft.sh/object-namespace: default\n    vcluster.loft.sh/object-kind: /v1, Kind=Pod\n    vcluster.loft.sh/object-uid: gone\nspec:\n  containers:\n  - name: c\n    image: pause\n",
    );
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let restarted = Instant::now();
    w.restart_after_kill9();
    let pods = w.eventually(
        "500 host pods and no orphan",
        Duration::from_secs(120),
        || {
            let pods = host_pods_of("vc8-host", "vc8")?;
            let ghost = pods.iter().any(|(_, v)| v == "ghost");
            (pods.len() == 500 && !ghost).then_some(pods)
        },
    );
    eprintln!(
        "500 virtual pods created in {created:.1?}; {at_kill} host pods at the kill; 500 and no orphan {:.1?} after the restart",
        restarted.elapsed()
    );
    let virtual_pods: std::collections::BTreeSet<String> =
        items(&virtual_get(&w, &["pods"]).unwrap())
            .iter()
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_owned))
            .collect();
    assert_eq!(virtual_pods.len(), 500);
    let synced: std::collections::BTreeSet<String> = pods.iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(
        synced, virtual_pods,
        "every virtual pod has exactly one host pod"
    );
    // Still 500 a moment later (nothing created twice).
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(host_pods_of("vc8-host", "vc8").unwrap().len(), 500);
    report(&w);
}

#[test]
fn service_accounts_sync_when_enabled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("vcluster.yaml");
    std::fs::write(
        &config,
        "sync:\n  toHost:\n    serviceAccounts:\n      enabled: true\n    persistentVolumes:\n      enabled: true\n",
    )
    .expect("config");
    let config_arg = config.display().to_string();
    let w = virtual_cluster("vc6", "vc6-host", &["-f", &config_arg]);
    assert!(
        w.log()
            .contains("warning: sync.toHost.persistentVolumes: not synced by warren yet"),
        "{}",
        w.log()
    );
    w.kubectl_ok(&["create", "serviceaccount", "builder"]);
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        &pod_manifest("job", "  serviceAccountName: builder\n"),
    );
    let pod = w.eventually("host pod Running", Duration::from_secs(30), || {
        let pod = host_get(&["pod", "-n", "vc6-host", "job-x-default-x-vc6"])?;
        (pod["status"]["phase"] == "Running").then_some(pod)
    });
    assert_eq!(pod["spec"]["serviceAccountName"], "builder-x-default-x-vc6");
    let account = host_get(&[
        "serviceaccount",
        "-n",
        "vc6-host",
        "builder-x-default-x-vc6",
    ])
    .expect("host service account");
    assert_eq!(account["automountServiceAccountToken"], false);
    w.kubectl_ok(&["delete", "serviceaccount", "builder"]);
    w.eventually(
        "host service account deleted",
        Duration::from_secs(20),
        || {
            host_get(&[
                "serviceaccount",
                "-n",
                "vc6-host",
                "builder-x-default-x-vc6",
            ])
            .is_none()
            .then_some(())
        },
    );
    report(&w);
}
