//! The syncer end to end: `warren serve --name VC --host-kubeconfig … --host-namespace …` puts
//! the virtual cluster's workloads on the test bed's real Kubernetes 1.20 host cluster, whose
//! fake nodes schedule and "run" them.
//!
//! One host cluster (and its fake node agent) is shared by the tests of this file; each test
//! uses its own host namespace and virtual cluster name.

#[path = "hostcluster/mod.rs"]
mod hostcluster;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hostcluster::HostCluster;
use hostcluster::fake_node::{FakeNodeConfig, FakeNodes};
use serde_json::Value;
use warren_e2e::Warren;

struct Host {
    cluster: HostCluster,
    _nodes: FakeNodes,
}

/// The shared host cluster: two fake nodes; deleted pods go within a second.
fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let cluster = HostCluster::start();
        let nodes = FakeNodes::start(
            &cluster.kubeconfig,
            FakeNodeConfig {
                nodes: 2,
                max_grace: Some(Duration::from_secs(1)),
                ..FakeNodeConfig::default()
            },
        )
        .expect("fake nodes");
        Host {
            cluster,
            _nodes: nodes,
        }
    })
}

/// A virtual cluster `name` syncing to host namespace `namespace` (created if missing).
fn virtual_cluster(name: &str, namespace: &str, extra: &[&str]) -> Warren {
    let host = host();
    let _ = host.cluster.kubectl(&["create", "namespace", namespace]);
    let kubeconfig = host.cluster.kubeconfig.display().to_string();
    let mut args = vec![
        "--name",
        name,
        "--host-kubeconfig",
        &kubeconfig,
        "--host-namespace",
        namespace,
        "--log",
        "info,warren_syncer=debug",
    ];
    args.extend_from_slice(extra);
    Warren::start_with(&args)
}

/// Polls `f` until it returns Some, or panics with `what` (and the server log) after `timeout`.
fn eventually<T>(w: &Warren, what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?}: {what}\nwarren log tail:\n{}",
            tail(&w.log(), 60)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Prints the syncer's warnings and failed syncs (seen with --nocapture).
fn report(w: &Warren) {
    for line in w.log().lines() {
        if line.contains("WARN") || line.contains("ERROR") || line.contains("sync failed") {
            eprintln!("{line}");
        }
    }
}

fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn items(list: &Value) -> Vec<Value> {
    list["items"].as_array().cloned().unwrap_or_default()
}

/// `kubectl get` on the host as JSON, `None` when it fails (not found).
fn host_get(args: &[&str]) -> Option<Value> {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    let out = host().cluster.kubectl(&all);
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).ok())
        .flatten()
}

/// `kubectl get` in the virtual cluster as JSON, `None` when it fails.
fn virtual_get(w: &Warren, args: &[&str]) -> Option<Value> {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    let out = w.kubectl(&all);
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).ok())
        .flatten()
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

    let host_pod = eventually(&w, "host pod Running", Duration::from_secs(30), || {
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

    let pod = eventually(
        &w,
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
    eventually(
        &w,
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

    // Readiness flips on the host flow back too.
    host()
        ._nodes
        .set_pod_ready("vc1-host", "web-x-default-x-vc1", false)
        .expect("set not ready");
    eventually(&w, "virtual pod not Ready", Duration::from_secs(20), || {
        let pod = virtual_get(&w, &["pod", "web"])?;
        (condition(&pod, "Ready").as_deref() == Some("False")).then_some(())
    });
    report(&w);
}
