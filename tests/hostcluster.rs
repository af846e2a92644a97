//! The test bed itself: a real Kubernetes 1.20 host cluster (etcd, kube-apiserver,
//! kube-controller-manager) started by the tests, fake nodes that schedule and "run" pods, and
//! the conformance runner (ignored; see tests/hostcluster/README.md).

#[path = "hostcluster/mod.rs"]
mod hostcluster;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hostcluster::fake_node::{FakeNodeConfig, FakeNodes};
use hostcluster::{HostCluster, pid_alive, pids_mentioning};
use serde_json::Value;

/// Polls `f` until it returns Some, or panics with `what` after `timeout`.
fn eventually<T>(what: &str, timeout: Duration, f: impl FnMut() -> Option<T>) -> T {
    warren_e2e::poll(what, timeout, f, String::new)
}

fn items(list: &Value) -> Vec<Value> {
    list["items"].as_array().cloned().unwrap_or_default()
}

fn name(obj: &Value) -> String {
    obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// Running, Ready, not terminating pods with `app=<app>`: name -> IP.
fn running_pods(hc: &HostCluster, ns: &str, app: &str) -> Vec<(String, String)> {
    let label = format!("app={app}");
    items(&hc.get_json(&["pods", "-n", ns, "-l", &label]))
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .filter(|p| p["status"]["phase"] == "Running" && is_ready(p))
        .filter_map(|p| Some((name(p), p["status"]["podIP"].as_str()?.to_string())))
        .collect()
}

/// The ready and not-ready addresses of an Endpoints object.
fn endpoint_ips(hc: &HostCluster, ns: &str, svc: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let out = hc.kubectl(&["get", "endpoints", svc, "-n", ns, "-o", "json"]);
    if !out.status.success() {
        return Default::default();
    }
    let ep: Value = serde_json::from_slice(&out.stdout).expect("endpoints json");
    let mut ready = BTreeSet::new();
    let mut not_ready = BTreeSet::new();
    for subset in ep["subsets"].as_array().into_iter().flatten() {
        for (key, set) in [
            ("addresses", &mut ready),
            ("notReadyAddresses", &mut not_ready),
        ] {
            for a in subset[key].as_array().into_iter().flatten() {
                set.insert(a["ip"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    (ready, not_ready)
}

/// Waits for exactly `n` running ready pods of the deployment, with distinct IPs, and for the
/// service's ready endpoints to be exactly those IPs.
fn wait_serving(hc: &HostCluster, ns: &str, app: &str, n: usize) -> Vec<(String, String)> {
    let pods = eventually(
        &format!("{n} running pods of {ns}/{app}"),
        Duration::from_secs(90),
        || {
            let pods = running_pods(hc, ns, app);
            (pods.len() == n).then_some(pods)
        },
    );
    let ips: BTreeSet<String> = pods.iter().map(|(_, ip)| ip.clone()).collect();
    assert_eq!(ips.len(), n, "pod IPs are not distinct: {pods:?}");
    eventually(
        &format!("endpoints of {ns}/{app} = {ips:?}"),
        Duration::from_secs(60),
        || (endpoint_ips(hc, ns, app).0 == ips).then_some(()),
    );
    pods
}

fn assert_nodes_ready(hc: &HostCluster, names: &[String]) {
    let nodes = items(&hc.get_json(&["nodes"]));
    for want in names {
        let node = nodes
            .iter()
            .find(|n| name(n) == *want)
            .unwrap_or_else(|| panic!("node {want} missing: {nodes:?}"));
        let ready = node["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        assert!(ready, "node {want} not Ready: {node}");
        let taints = node["spec"]["taints"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(taints.is_empty(), "node {want} is tainted: {taints:?}");
    }
}

/// Stops the cluster and checks that nothing it started is left.
fn stop_and_check_gone(mut hc: HostCluster) {
    let pids = hc.pids();
    let dir = hc.dir().display().to_string();
    assert!(pids.len() >= 3, "etcd, apiserver, kcm: {pids:?}");
    assert!(
        pids.iter().all(|p| pid_alive(*p)),
        "not all running: {pids:?}"
    );
    hc.stop();
    for pid in &pids {
        assert!(!pid_alive(*pid), "pid {pid} still exists after stop");
    }
    let left = pids_mentioning(&dir);
    assert!(left.is_empty(), "processes mentioning {dir} left: {left:?}");
    drop(hc);
    assert!(!PathBuf::from(&dir).exists() || std::env::var_os("HC_KEEP").is_some());
}

#[test]
fn deployment_service_endpoints_replacement_and_clean_stop() {
    let hc = HostCluster::start();
    let cfg = FakeNodeConfig {
        nodes: 2,
        ..Default::default()
    };
    let nodes = FakeNodes::start(&hc.kubeconfig, cfg).expect("fake nodes");
    assert_nodes_ready(&hc, nodes.node_names());

    // heartbeats: a Lease per node, owned by the node
    for node in nodes.node_names() {
        let lease = hc.get_json(&["lease", node, "-n", "kube-node-lease"]);
        assert_eq!(lease["spec"]["holderIdentity"], node.as_str());
        assert!(lease["spec"]["renewTime"].is_string(), "{lease}");
        assert_eq!(lease["metadata"]["ownerReferences"][0]["kind"], "Node");
    }

    hc.kubectl_ok(&["create", "namespace", "demo"]);
    hc.kubectl_ok(&[
        "create",
        "deployment",
        "web",
        "-n",
        "demo",
        "--image=registry.k8s.io/pause:3.9",
        "--replicas=3",
        "--port=80",
    ]);
    hc.kubectl_ok(&["expose", "deployment", "web", "-n", "demo", "--port=80"]);
    let svc = hc.get_json(&["service", "web", "-n", "demo"]);
    let cluster_ip = svc["spec"]["clusterIP"].as_str().unwrap_or_default();
    assert!(
        cluster_ip.starts_with("10.96."),
        "cluster IP from the service CIDR: {svc}"
    );

    let pods = wait_serving(&hc, "demo", "web", 3);
    // bound round-robin over both nodes, IPs from each node's pod CIDR
    let listed = items(&hc.get_json(&["pods", "-n", "demo", "-l", "app=web"]));
    let used_nodes: BTreeSet<String> = listed
        .iter()
        .map(|p| {
            p["spec"]["nodeName"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(
        used_nodes.len(),
        2,
        "pods spread over both nodes: {used_nodes:?}"
    );
    for p in &listed {
        let node = p["spec"]["nodeName"].as_str().unwrap_or_default();
        let idx = nodes
            .node_names()
            .iter()
            .position(|n| n == node)
            .expect("ours");
        let ip = p["status"]["podIP"].as_str().unwrap_or_default();
        assert!(ip.starts_with(&format!("10.244.{idx}.")), "{ip} on {node}");
        let cs = &p["status"]["containerStatuses"][0];
        assert_eq!(cs["ready"], true, "{p}");
        assert!(cs["state"]["running"]["startedAt"].is_string(), "{p}");
    }
    // the "scheduler" left an event
    let events = hc.kubectl_ok(&["get", "events", "-n", "demo"]);
    assert!(events.contains("Scheduled"), "{events}");

    // delete a pod: replaced at once, removed after its grace period
    let (victim, victim_ip) = pods[0].clone();
    let started = Instant::now();
    hc.kubectl_ok(&["delete", "pod", &victim, "-n", "demo", "--grace-period=3"]);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "pod removed before its grace period: {took:?}"
    );
    let after = wait_serving(&hc, "demo", "web", 3);
    assert!(after.iter().all(|(n, _)| *n != victim), "{after:?}");
    assert!(!endpoint_ips(&hc, "demo", "web").0.contains(&victim_ip));

    // a not-ready pod moves to notReadyAddresses; a failed pod is replaced
    let (slow, slow_ip) = after[0].clone();
    nodes
        .set_pod_ready("demo", &slow, false)
        .expect("set not ready");
    eventually("not-ready endpoint", Duration::from_secs(30), || {
        let (ready, not_ready) = endpoint_ips(&hc, "demo", "web");
        (not_ready.contains(&slow_ip) && !ready.contains(&slow_ip)).then_some(())
    });
    nodes.set_pod_ready("demo", &slow, true).expect("set ready");
    let (broken, _) = after[1].clone();
    nodes
        .fail_pod("demo", &broken, "fake failure")
        .expect("fail pod");
    let failed = hc.get_json(&["pod", &broken, "-n", "demo"]);
    assert_eq!(failed["status"]["phase"], "Failed", "{failed}");
    assert_eq!(
        failed["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
        1
    );
    let last = wait_serving(&hc, "demo", "web", 3);
    assert!(last.iter().all(|(n, _)| *n != broken), "{last:?}");

    drop(nodes);
    stop_and_check_gone(hc);
}

#[test]
fn two_host_clusters_do_not_interfere() {
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(HostCluster::start);
        let b = s.spawn(HostCluster::start);
        (a.join().expect("cluster a"), b.join().expect("cluster b"))
    });
    assert_ne!(a.server, b.server);
    assert_ne!(a.dir(), b.dir());
    let pids_a: BTreeSet<u32> = a.pids().into_iter().collect();
    assert!(b.pids().iter().all(|p| !pids_a.contains(p)));

    // same node names in both: they are different clusters
    let na = FakeNodes::start(&a.kubeconfig, FakeNodeConfig::default()).expect("nodes a");
    let nb = FakeNodes::start(&b.kubeconfig, FakeNodeConfig::default()).expect("nodes b");

    a.kubectl_ok(&["create", "configmap", "only-in-a", "--from-literal=k=a"]);
    b.kubectl_ok(&["create", "configmap", "only-in-b", "--from-literal=k=b"]);
    assert!(
        !b.kubectl(&["get", "configmap", "only-in-a"])
            .status
            .success()
    );
    assert!(
        !a.kubectl(&["get", "configmap", "only-in-b"])
            .status
            .success()
    );

    for (hc, replicas) in [(&a, 1), (&b, 2)] {
        hc.kubectl_ok(&[
            "create",
            "deployment",
            "app",
            "--image=registry.k8s.io/pause:3.9",
            &format!("--replicas={replicas}"),
        ]);
        hc.kubectl_ok(&["expose", "deployment", "app", "--port=8080"]);
    }
    wait_serving(&a, "default", "app", 1);
    wait_serving(&b, "default", "app", 2);

    // stopping one leaves the other serving
    drop(na);
    stop_and_check_gone(a);
    b.kubectl_ok(&["scale", "deployment", "app", "--replicas=3"]);
    wait_serving(&b, "default", "app", 3);
    drop(nb);
    stop_and_check_gone(b);
}

/// The conformance runner: `e2e.test` (built on demand) with a focus and skip against
/// `$HC_KUBECONFIG`, or a fresh host cluster; prints `N passed, M failed` and the failures.
/// Run with `tests/hostcluster/host-cluster.sh conformance` (see tests/hostcluster/README.md).
#[test]
#[ignore = "runs the upstream conformance suite (minutes to hours); on demand"]
fn conformance() {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let focus = env("HC_FOCUS").unwrap_or_else(|| hostcluster::CONFORMANCE_FOCUS.to_string());
    let skip = env("HC_SKIP").unwrap_or_else(|| hostcluster::CONFORMANCE_SKIP.to_string());
    // build first, so a fresh cluster is not left idling during a 10-minute build
    let e2e = hostcluster::e2e_test_bin();
    let mut own = None;
    let kubeconfig = match env("HC_KUBECONFIG") {
        Some(k) => PathBuf::from(k),
        None => own.insert(HostCluster::start()).kubeconfig.clone(),
    };
    let nodes = (env("HC_FAKE_NODES").as_deref() != Some("0")).then(|| {
        let cfg = FakeNodeConfig {
            nodes: 2,
            name_prefix: "conformance-node".to_string(),
            // pause exits at once on SIGTERM: pods do not linger for their grace period
            max_grace: Some(Duration::from_secs(1)),
            ..Default::default()
        };
        FakeNodes::start(&kubeconfig, cfg).expect("fake nodes")
    });
    let report = env("HC_REPORT_DIR").map(PathBuf::from).unwrap_or_else(|| {
        std::env::temp_dir().join(format!("hostcluster-conformance-{}", std::process::id()))
    });
    eprintln!(
        "running {} against {}\n  focus: {focus}\n  skip: {skip}\n  log: {}",
        e2e.display(),
        kubeconfig.display(),
        report.join("e2e.log").display()
    );
    let started = Instant::now();
    let result = hostcluster::run_conformance(&kubeconfig, &focus, &skip, &report);
    let summary = format!(
        "{result}({} skipped, {:.0?})\n",
        result.skipped,
        started.elapsed()
    );
    println!("{summary}");
    let _ = std::fs::write(report.join("summary.txt"), &summary);
    drop(nodes);
    drop(own);
}
