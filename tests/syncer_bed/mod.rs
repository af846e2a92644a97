//! The test bed of the syncer's end-to-end tests (tests/syncer*.rs): one real Kubernetes 1.20
//! host cluster with two fake nodes per test binary, virtual clusters syncing to it, and the
//! small helpers those tests share.
//!
//! Include it with `#[path = "syncer_bed/mod.rs"] mod syncer_bed;`.
#![allow(dead_code)]

#[path = "../hostcluster/mod.rs"]
pub mod hostcluster;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hostcluster::HostCluster;
use hostcluster::fake_node::{FakeNodeConfig, FakeNodes};
use serde_json::Value;
use warren_e2e::Warren;

pub struct Host {
    pub cluster: HostCluster,
    pub nodes: FakeNodes,
}

/// The shared host cluster: two fake nodes; deleted pods go within a second.
pub fn host() -> &'static Host {
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
        Host { cluster, nodes }
    })
}

/// A virtual cluster `name` syncing to host namespace `namespace` (created if missing), with
/// `extra` flags; returns once its default ServiceAccount exists (pods are admitted from then
/// on, as in any new cluster).
pub fn virtual_cluster(name: &str, namespace: &str, extra: &[&str]) -> Warren {
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
    let w = Warren::start_with(&args);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !w
        .kubectl(&["get", "serviceaccount", "default"])
        .status
        .success()
    {
        assert!(Instant::now() < deadline, "no default service account");
        std::thread::sleep(Duration::from_millis(50));
    }
    w
}

/// Prints the syncer's warnings and failed syncs (seen with --nocapture).
pub fn report(w: &Warren) {
    for line in w.log().lines() {
        if line.contains("WARN") || line.contains("ERROR") || line.contains("sync failed") {
            eprintln!("{line}");
        }
    }
}

/// `kubectl get ARGS -o json` on the host, `None` when it fails (not found).
pub fn host_get(args: &[&str]) -> Option<Value> {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    let out = host().cluster.kubectl(&all);
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).ok())
        .flatten()
}

/// `kubectl` on the host, panicking with its stderr when it fails.
pub fn host_ok(args: &[&str]) -> String {
    host().cluster.kubectl_ok(args)
}

pub fn host_apply(manifest: &str) {
    let out = host()
        .cluster
        .kubectl_stdin(&["apply", "-f", "-"], manifest);
    assert!(
        out.status.success(),
        "host apply failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `kubectl get ARGS -o json` in the virtual cluster, `None` when it fails.
pub fn virtual_get(w: &Warren, args: &[&str]) -> Option<Value> {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    let out = w.kubectl(&all);
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).ok())
        .flatten()
}
