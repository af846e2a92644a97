//! Garbage collection compared with the real thing: the same scenario — background,
//! foreground and orphan deletion of Deployments, and foreground deletion of a ConfigMap owner
//! whose dependents have other owners — runs against warren and against the test bed's
//! kube-apiserver + kube-controller-manager 1.20, both with fake nodes; the resulting object
//! sets (kind, name with generated hashes removed, owners, terminating or not) must be equal,
//! and equal to what the scenario expects.

#[path = "hostcluster/mod.rs"]
mod hostcluster;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use hostcluster::fake_node::{FakeNodeConfig, FakeNodes};
use hostcluster::{HostCluster, kubectl_at};
use serde_json::Value;
use warren_e2e::Warren;

const NS: &str = "gc";

/// A cluster the scenario runs on.
struct Target<'a> {
    name: &'static str,
    kubeconfig: &'a Path,
    home: &'a Path,
}

impl Target<'_> {
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        kubectl_at(self.kubeconfig, self.home, args, stdin)
    }

    fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "[{}] kubectl {args:?}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn items(&self, kinds: &str) -> Vec<Value> {
        let out = self.ok(&["get", kinds, "-n", NS, "-o", "json"], None);
        let v: Value = serde_json::from_str(&out).expect("json");
        v["items"].as_array().cloned().unwrap_or_default()
    }
}

/// A name without the generated parts: `web-7d9f8c-x2kq9` (pod) → `web-*-*`,
/// `web-7d9f8c` (ReplicaSet) → `web-*`.
fn base_name(kind: &str, name: &str) -> String {
    let cut = match kind {
        "Pod" => 2,
        "ReplicaSet" => 1,
        _ => 0,
    };
    let mut parts: Vec<&str> = name.split('-').collect();
    for _ in 0..cut {
        if parts.len() > 1 {
            parts.pop();
        }
    }
    format!("{}{}", parts.join("-"), "-*".repeat(cut))
}

/// The namespace's objects as comparable lines; pods and ReplicaSets of one owner collapse into
/// one line with a count.
fn object_set(t: &Target) -> BTreeSet<String> {
    let mut lines = std::collections::BTreeMap::<String, usize>::new();
    for o in t.items("deployments,replicasets,pods,configmaps") {
        let kind = o["kind"].as_str().unwrap_or("").to_string();
        let name = o["metadata"]["name"].as_str().unwrap_or("");
        if name == "kube-root-ca.crt" {
            continue;
        }
        let mut owners: Vec<String> = o["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let k = r["kind"].as_str().unwrap_or("");
                format!("{k}/{}", base_name(k, r["name"].as_str().unwrap_or("")))
            })
            .collect();
        owners.sort();
        let deleting = if o["metadata"]["deletionTimestamp"].is_string() {
            " terminating"
        } else {
            ""
        };
        let line = format!(
            "{kind}/{} owners=[{}]{deleting}",
            base_name(&kind, name),
            owners.join(",")
        );
        *lines.entry(line).or_default() += 1;
    }
    lines
        .into_iter()
        .map(|(l, n)| format!("{n}x {l}"))
        .collect()
}

/// Waits until the object set is `want` (and stays so for a second).
fn settle(t: &Target, what: &str, want: &BTreeSet<String>) -> BTreeSet<String> {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last;
    loop {
        last = object_set(t);
        if &last == want {
            std::thread::sleep(Duration::from_secs(1));
            let again = object_set(t);
            if &again == want {
                return again;
            }
            last = again;
        }
        if Instant::now() > deadline {
            eprintln!("[{}] {what}: not settled on the expected set", t.name);
            return last;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn set(lines: &[&str]) -> BTreeSet<String> {
    lines.iter().map(|s| s.to_string()).collect()
}

fn deployment(name: &str) -> String {
    format!(
        r#"{{"apiVersion":"apps/v1","kind":"Deployment","metadata":{{"name":"{name}","namespace":"{NS}"}},
        "spec":{{"replicas":2,"selector":{{"matchLabels":{{"app":"{name}"}}}},
        "template":{{"metadata":{{"labels":{{"app":"{name}"}}}},
        "spec":{{"terminationGracePeriodSeconds":1,"containers":[{{"name":"c","image":"registry.k8s.io/pause:3.9"}}]}}}}}}}}"#
    )
}

fn configmap(name: &str, owners: &[(&str, &str)]) -> String {
    let refs: Vec<String> = owners
        .iter()
        .map(|(owner, uid)| {
            format!(
                r#"{{"apiVersion":"v1","kind":"ConfigMap","name":"{owner}","uid":"{uid}","blockOwnerDeletion":true}}"#
            )
        })
        .collect();
    format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","namespace":"{NS}","ownerReferences":[{}]}},"data":{{"k":"v"}}}}"#,
        refs.join(",")
    )
}

/// The scenario; returns what each step left behind.
fn scenario(t: &Target) -> Vec<(String, BTreeSet<String>)> {
    let mut results = Vec::new();
    t.ok(&["create", "namespace", NS], None);
    for d in ["bg", "fg", "or"] {
        t.ok(&["apply", "-f", "-"], Some(&deployment(d)));
    }
    let running = set(&[
        "1x Deployment/bg owners=[]",
        "1x Deployment/fg owners=[]",
        "1x Deployment/or owners=[]",
        "1x ReplicaSet/bg-* owners=[Deployment/bg]",
        "1x ReplicaSet/fg-* owners=[Deployment/fg]",
        "1x ReplicaSet/or-* owners=[Deployment/or]",
        "2x Pod/bg-*-* owners=[ReplicaSet/bg-*]",
        "2x Pod/fg-*-* owners=[ReplicaSet/fg-*]",
        "2x Pod/or-*-* owners=[ReplicaSet/or-*]",
    ]);
    results.push(("created".to_string(), settle(t, "created", &running)));

    t.ok(
        &[
            "delete",
            "deployment",
            "bg",
            "-n",
            NS,
            "--cascade=background",
            "--wait=false",
        ],
        None,
    );
    let mut after = running.clone();
    after.retain(|l| !l.contains("bg"));
    results.push(("background".to_string(), settle(t, "background", &after)));

    t.ok(
        &[
            "delete",
            "deployment",
            "fg",
            "-n",
            NS,
            "--cascade=foreground",
            "--wait=true",
        ],
        None,
    );
    after.retain(|l| !l.contains("fg"));
    results.push(("foreground".to_string(), settle(t, "foreground", &after)));

    t.ok(
        &[
            "delete",
            "deployment",
            "or",
            "-n",
            NS,
            "--cascade=orphan",
            "--wait=true",
        ],
        None,
    );
    let orphaned = set(&[
        "1x ReplicaSet/or-* owners=[]",
        "2x Pod/or-*-* owners=[ReplicaSet/or-*]",
    ]);
    results.push(("orphan".to_string(), settle(t, "orphan", &orphaned)));

    // ConfigMaps: `dep-only` has one owner, `dep-shared` also has a solid second owner.
    t.ok(
        &["delete", "replicasets", "--all", "-n", NS, "--wait=true"],
        None,
    );
    t.ok(&["create", "configmap", "owner", "-n", NS], None);
    t.ok(&["create", "configmap", "other", "-n", NS], None);
    let uid = |n: &str| {
        t.ok(
            &[
                "get",
                "configmap",
                n,
                "-n",
                NS,
                "-o",
                "jsonpath={.metadata.uid}",
            ],
            None,
        )
    };
    let (owner_uid, other_uid) = (uid("owner"), uid("other"));
    t.ok(
        &["apply", "-f", "-"],
        Some(&configmap("dep-only", &[("owner", &owner_uid)])),
    );
    t.ok(
        &["apply", "-f", "-"],
        Some(&configmap(
            "dep-shared",
            &[("owner", &owner_uid), ("other", &other_uid)],
        )),
    );
    t.ok(
        &[
            "delete",
            "configmap",
            "owner",
            "-n",
            NS,
            "--cascade=foreground",
            "--wait=true",
        ],
        None,
    );
    let shared = set(&[
        "1x ConfigMap/other owners=[]",
        "1x ConfigMap/dep-shared owners=[ConfigMap/other]",
    ]);
    results.push(("configmaps".to_string(), settle(t, "configmaps", &shared)));
    results
}

#[test]
fn foreground_background_orphan_match_kube_controller_manager() {
    let nodes_cfg = |prefix: &str| FakeNodeConfig {
        nodes: 1,
        name_prefix: prefix.to_string(),
        max_grace: Some(Duration::from_secs(1)),
        ..Default::default()
    };
    let host = HostCluster::start();
    let host_nodes = FakeNodes::start(&host.kubeconfig, nodes_cfg("host-node")).expect("nodes");
    let host_target = Target {
        name: "kube-controller-manager",
        kubeconfig: &host.kubeconfig,
        home: host.dir(),
    };
    let kube = scenario(&host_target);
    drop(host_nodes);
    drop(host);

    let w = Warren::start();
    let warren_nodes = FakeNodes::start(&w.kubeconfig, nodes_cfg("warren-node")).expect("nodes");
    let warren_target = Target {
        name: "warren",
        kubeconfig: &w.kubeconfig,
        home: w.data_dir(),
    };
    let ours = scenario(&warren_target);
    drop(warren_nodes);

    for ((step, k), (_, o)) in kube.iter().zip(&ours) {
        eprintln!("{step}: kube {k:?}\n{step}: warren {o:?}");
    }
    assert_eq!(
        ours, kube,
        "warren's GC differs from kube-controller-manager's"
    );
}
