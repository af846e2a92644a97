//! Built-in controllers end to end: a real `warren serve --role syncer`, kubectl 1.32, and the
//! test bed's fake node agent (pods are bound, become Running and Ready; terminating pods go).

#[path = "hostcluster/fake_node.rs"]
#[allow(dead_code)] // shared with other suites, which use the rest of it
mod fake_node;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fake_node::{FakeNodeConfig, FakeNodes};
use serde_json::Value;
use warren_e2e::{Warren, items, log_tail};

/// One fake node: pods start `start_ms` after binding; deleted pods go within `grace_ms`.
fn kubelet(w: &Warren, start_ms: u64, grace_ms: u64) -> FakeNodes {
    let cfg = FakeNodeConfig {
        start_after: Duration::from_millis(start_ms),
        max_grace: Some(Duration::from_millis(grace_ms)),
        ..FakeNodeConfig::default()
    };
    FakeNodes::start(&w.kubeconfig, cfg).expect("fake node")
}

fn live(pods: &[Value]) -> Vec<Value> {
    pods.iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .cloned()
        .collect()
}

fn ready(p: &Value) -> bool {
    p["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn deployment(name: &str, replicas: i32, image: &str, surge: i32, unavailable: i32) -> String {
    format!(
        r#"{{"apiVersion":"apps/v1","kind":"Deployment","metadata":{{"name":"{name}"}},
        "spec":{{"replicas":{replicas},"selector":{{"matchLabels":{{"app":"{name}"}}}},
        "strategy":{{"type":"RollingUpdate","rollingUpdate":{{"maxSurge":{surge},"maxUnavailable":{unavailable}}}}},
        "template":{{"metadata":{{"labels":{{"app":"{name}"}}}},
        "spec":{{"containers":[{{"name":"c","image":"{image}"}}]}}}}}}}}"#
    )
}

fn rollout_status(w: &Warren, name: &str) {
    let out = w.kubectl(&[
        "rollout",
        "status",
        &format!("deployment/{name}"),
        "--timeout=90s",
    ]);
    assert!(
        out.status.success(),
        "rollout status: {}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        log_tail(&w.log(), 40)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("successfully rolled out"));
}

fn pods_of(w: &Warren, app: &str) -> Vec<Value> {
    items(&w.get_json(&["pods", "-l", &format!("app={app}")]))
}

fn replicasets_of(w: &Warren, app: &str) -> Vec<Value> {
    items(&w.get_json(&["rs", "-l", &format!("app={app}")]))
}

/// Watches the pods of `app` with kubectl in a loop, recording (live pods, ready live pods).
struct Sampler {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<(usize, usize)>>>,
    images: Arc<Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(kubeconfig: std::path::PathBuf, app: &str) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (s, out, app) = (stop.clone(), samples.clone(), app.to_string());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                let o = std::process::Command::new(warren_e2e::kubectl_bin())
                    .arg("--kubeconfig")
                    .arg(&kubeconfig)
                    .args(["get", "pods", "-l", &format!("app={app}"), "-o", "json"])
                    .output()
                    .expect("kubectl");
                if let Ok(v) = serde_json::from_slice::<Value>(&o.stdout) {
                    let pods = live(&items(&v));
                    let r = pods.iter().filter(|p| ready(p)).count();
                    out.lock().expect("lock").push((pods.len(), r));
                }
            }
        });
        Sampler {
            stop,
            samples,
            images: Arc::new(Mutex::new(Vec::new())),
            thread: Some(thread),
        }
    }

    /// Records, per sample, the images of the live pods (joined by spaces).
    fn start_images(kubeconfig: std::path::PathBuf, app: &str) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let images = Arc::new(Mutex::new(Vec::new()));
        let (s, out, app) = (stop.clone(), images.clone(), app.to_string());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                let o = std::process::Command::new(warren_e2e::kubectl_bin())
                    .arg("--kubeconfig")
                    .arg(&kubeconfig)
                    .args(["get", "pods", "-l", &format!("app={app}"), "-o", "json"])
                    .output()
                    .expect("kubectl");
                if let Ok(v) = serde_json::from_slice::<Value>(&o.stdout) {
                    let line: Vec<String> = live(&items(&v))
                        .iter()
                        .map(|p| {
                            p["spec"]["containers"][0]["image"]
                                .as_str()
                                .unwrap_or("")
                                .to_string()
                        })
                        .collect();
                    out.lock().expect("lock").push(line.join(" "));
                }
            }
        });
        Sampler {
            stop,
            samples: Arc::new(Mutex::new(Vec::new())),
            images,
            thread: Some(thread),
        }
    }

    fn finish_images(mut self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.images.lock().expect("lock").clone()
    }

    fn finish(mut self) -> Vec<(usize, usize)> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.samples.lock().expect("lock").clone()
    }
}

#[test]
fn deployment_rollout_update_undo_scale_and_gc() {
    let w = Warren::start();
    let _kubelet = kubelet(&w, 300, 100);
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        &deployment("web", 3, "nginx:1", 1, 1),
    );
    rollout_status(&w, "web");
    let pods = live(&pods_of(&w, "web"));
    assert_eq!(pods.len(), 3, "{pods:#?}");
    assert!(pods.iter().all(ready));
    for p in &pods {
        let refs = &p["metadata"]["ownerReferences"];
        assert_eq!(refs[0]["kind"], "ReplicaSet");
        assert_eq!(refs[0]["controller"], true);
        assert_eq!(refs[0]["blockOwnerDeletion"], true);
    }
    // the controllers' writes carry kube-controller-manager's field manager
    let rs = &items(&w.get_json(&["rs", "-l", "app=web", "--show-managed-fields"]))[0];
    let managers: Vec<&str> = rs["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(
        managers,
        ["kube-controller-manager", "kube-controller-manager"]
    );
    let d = w.get_json(&["deployment", "web"]);
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    assert_eq!(d["status"]["readyReplicas"], 3);
    assert_eq!(d["status"]["availableReplicas"], 3);
    assert_eq!(d["status"]["updatedReplicas"], 3);
    let conds = d["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let cond = |t: &str| {
        conds
            .iter()
            .find(|c| c["type"] == t)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(cond("Available")["reason"], "MinimumReplicasAvailable");
    assert_eq!(cond("Progressing")["reason"], "NewReplicaSetAvailable");
    let first_rs = replicasets_of(&w, "web");
    assert_eq!(first_rs.len(), 1);
    let first_hash = first_rs[0]["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .expect("hash")
        .to_string();
    assert_eq!(
        first_rs[0]["metadata"]["name"],
        format!("web-{first_hash}").as_str()
    );
    assert!(
        first_hash
            .chars()
            .all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c))
    );

    // image update: a second ReplicaSet, at the right pace
    let sampler = Sampler::start(w.kubeconfig.clone(), "web");
    w.kubectl_ok(&["set", "image", "deployment/web", "c=nginx:2"]);
    rollout_status(&w, "web");
    std::thread::sleep(Duration::from_millis(500));
    let samples = sampler.finish();
    assert!(samples.len() >= 3, "too few samples: {samples:?}");
    for (total, ready) in &samples {
        assert!(*total <= 4, "more than replicas+maxSurge pods: {samples:?}");
        assert!(
            *ready >= 2,
            "fewer than replicas-maxUnavailable ready: {samples:?}"
        );
    }
    let rss = replicasets_of(&w, "web");
    assert_eq!(rss.len(), 2, "{rss:#?}");
    let by_name: BTreeMap<String, Value> = rss
        .iter()
        .map(|r| {
            (
                r["metadata"]["name"].as_str().unwrap_or("").to_string(),
                r.clone(),
            )
        })
        .collect();
    let old = &by_name[&format!("web-{first_hash}")];
    assert_eq!(old["spec"]["replicas"], 0);
    let new = rss
        .iter()
        .find(|r| r["metadata"]["name"] != old["metadata"]["name"])
        .expect("new rs");
    assert_eq!(new["spec"]["replicas"], 3);
    assert_eq!(
        new["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
    let pods = live(&pods_of(&w, "web"));
    assert_eq!(pods.len(), 3);
    assert!(
        pods.iter()
            .all(|p| p["spec"]["containers"][0]["image"] == "nginx:2")
    );

    // rollback: the first ReplicaSet is the new one again, as revision 3
    w.kubectl_ok(&["rollout", "undo", "deployment/web"]);
    rollout_status(&w, "web");
    let d = w.get_json(&["deployment", "web"]);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1"
    );
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "3"
    );
    let rss = replicasets_of(&w, "web");
    assert_eq!(rss.len(), 2, "undo must reuse the old ReplicaSet: {rss:#?}");
    let first = w.get_json(&["rs", &format!("web-{first_hash}")]);
    assert_eq!(first["spec"]["replicas"], 3);
    assert_eq!(
        first["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "3"
    );
    w.wait_until("3 nginx:1 pods", Duration::from_secs(30), || {
        let pods = live(&pods_of(&w, "web"));
        pods.len() == 3
            && pods
                .iter()
                .all(|p| p["spec"]["containers"][0]["image"] == "nginx:1" && ready(p))
    });

    // scale
    w.kubectl_ok(&["scale", "deployment/web", "--replicas=5"]);
    rollout_status(&w, "web");
    w.wait_until("5 ready pods", Duration::from_secs(30), || {
        let pods = live(&pods_of(&w, "web"));
        pods.len() == 5 && pods.iter().all(ready)
    });
    let d = w.get_json(&["deployment", "web"]);
    assert_eq!(d["status"]["availableReplicas"], 5);
    w.kubectl_ok(&["scale", "deployment/web", "--replicas=2"]);
    w.wait_until("2 pods", Duration::from_secs(30), || {
        live(&pods_of(&w, "web")).len() == 2
    });

    // rollout restart: a template annotation, a new ReplicaSet
    w.kubectl_ok(&["rollout", "restart", "deployment/web"]);
    rollout_status(&w, "web");
    assert_eq!(replicasets_of(&w, "web").len(), 3);

    // background garbage collection
    w.kubectl_ok(&["delete", "deployment", "web"]);
    w.wait_until(
        "ReplicaSets and pods collected",
        Duration::from_secs(30),
        || replicasets_of(&w, "web").is_empty() && pods_of(&w, "web").is_empty(),
    );
}

#[test]
fn kill9_mid_rollout_converges_without_duplicates() {
    let mut w = Warren::start();
    let mut node_agent = kubelet(&w, 800, 100);
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        &deployment("big", 6, "nginx:1", 2, 1),
    );
    rollout_status(&w, "big");
    w.kubectl_ok(&["set", "image", "deployment/big", "c=nginx:2"]);
    // let the rollout get going, then SIGKILL the server
    w.wait_until("the rollout to start", Duration::from_secs(20), || {
        replicasets_of(&w, "big").len() == 2
    });
    std::thread::sleep(Duration::from_millis(700));
    node_agent.stop();
    w.restart_after_kill9();
    let _kubelet = kubelet(&w, 200, 100);
    rollout_status(&w, "big");
    w.wait_until("exactly 6 new pods", Duration::from_secs(30), || {
        let pods = pods_of(&w, "big");
        pods.len() == 6
            && pods
                .iter()
                .all(|p| p["spec"]["containers"][0]["image"] == "nginx:2" && ready(p))
    });
    // stays so: no late duplicates
    std::thread::sleep(Duration::from_secs(2));
    let pods = pods_of(&w, "big");
    assert_eq!(pods.len(), 6, "{pods:#?}");
    let rss = replicasets_of(&w, "big");
    assert_eq!(rss.len(), 2);
    let mut sizes: Vec<i64> = rss
        .iter()
        .map(|r| r["spec"]["replicas"].as_i64().unwrap_or(-1))
        .collect();
    sizes.sort();
    assert_eq!(sizes, [0, 6]);
}

#[test]
fn namespaces_get_default_service_account_and_root_ca() {
    let w = Warren::start();
    w.kubectl_ok(&["create", "namespace", "team-a"]);
    w.wait_until("default service account", Duration::from_secs(20), || {
        w.kubectl(&["get", "sa", "default", "-n", "team-a"])
            .status
            .success()
    });
    w.wait_until("kube-root-ca.crt", Duration::from_secs(20), || {
        w.kubectl(&["get", "cm", "kube-root-ca.crt", "-n", "team-a"])
            .status
            .success()
    });
    let cm = w.get_json(&["cm", "kube-root-ca.crt", "-n", "team-a"]);
    let ca = std::fs::read_to_string(w.ca_path()).expect("ca");
    assert_eq!(
        cm["data"]["ca.crt"].as_str().map(str::trim),
        Some(ca.trim())
    );
    // deleted: published again
    w.kubectl_ok(&["delete", "cm", "kube-root-ca.crt", "-n", "team-a"]);
    w.kubectl_ok(&["delete", "sa", "default", "-n", "team-a"]);
    w.wait_until("re-created", Duration::from_secs(20), || {
        w.kubectl(&["get", "cm", "kube-root-ca.crt", "-n", "team-a"])
            .status
            .success()
            && w.kubectl(&["get", "sa", "default", "-n", "team-a"])
                .status
                .success()
    });
}

#[test]
fn replicaset_adopts_orphans_and_releases_relabelled_pods() {
    let w = Warren::start_with(&[]);
    let _kubelet = kubelet(&w, 100, 100);
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"orphan","labels":{"app":"rs1"}},
            "spec":{"containers":[{"name":"c","image":"x"}]}}"#,
    );
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        r#"{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"rs1"},
            "spec":{"replicas":2,"selector":{"matchLabels":{"app":"rs1"}},
            "template":{"metadata":{"labels":{"app":"rs1"}},
            "spec":{"containers":[{"name":"c","image":"x"}]}}}}"#,
    );
    w.wait_until("2 ready replicas", Duration::from_secs(30), || {
        let rs = w.get_json(&["rs", "rs1"]);
        rs["status"]["readyReplicas"] == 2 && rs["status"]["replicas"] == 2
    });
    let orphan = w.get_json(&["pod", "orphan"]);
    assert_eq!(orphan["metadata"]["ownerReferences"][0]["name"], "rs1");
    let pods = live(&pods_of(&w, "rs1"));
    assert_eq!(pods.len(), 2, "the orphan counts: {pods:#?}");
    let rs = w.get_json(&["rs", "rs1"]);
    assert_eq!(rs["status"]["fullyLabeledReplicas"], 2);
    assert_eq!(rs["status"]["availableReplicas"], 2);
    assert_eq!(rs["status"]["observedGeneration"], 1);
    // relabel: released, and replaced
    w.kubectl_ok(&["label", "pod", "orphan", "app=other", "--overwrite"]);
    w.wait_until("release and replacement", Duration::from_secs(30), || {
        let o = w.get_json(&["pod", "orphan"]);
        o["metadata"]["ownerReferences"].is_null() && live(&pods_of(&w, "rs1")).len() == 2
    });
    let events = w.kubectl_ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=rs1",
    ]);
    assert!(events.contains("SuccessfulCreate"), "{events}");
}

/// Foreground and orphan deletion end to end: the API server adds the `foregroundDeletion` /
/// `orphan` finalizer on DELETE with that propagationPolicy, the collector does the rest.
#[test]
fn garbage_collector_foreground_and_orphan() {
    let w = Warren::start();
    let owner = |name: &str| {
        format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}"}}}}"#)
    };
    let dependent = |name: &str, owner: &str, uid: &str| {
        format!(
            r#"{{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"{name}","ownerReferences":[
            {{"apiVersion":"v1","kind":"ConfigMap","name":"{owner}","uid":"{uid}","blockOwnerDeletion":true}}]}}}}"#
        )
    };
    let uid_of = |kind: &str, name: &str| {
        w.get_json(&[kind, name])["metadata"]["uid"]
            .as_str()
            .expect("uid")
            .to_string()
    };
    // foreground: dependents first, then the owner
    w.kubectl_apply_ok(&["create", "-f", "-"], &owner("fg"));
    let uid = uid_of("cm", "fg");
    w.kubectl_apply_ok(&["create", "-f", "-"], &dependent("fg-a", "fg", &uid));
    w.kubectl_apply_ok(&["create", "-f", "-"], &dependent("fg-b", "fg", &uid));
    w.kubectl_ok(&["delete", "cm", "fg", "--cascade=foreground", "--wait=false"]);
    w.wait_until("foreground deletion", Duration::from_secs(30), || {
        !w.kubectl(&["get", "cm", "fg"]).status.success()
            && !w.kubectl(&["get", "secret", "fg-a"]).status.success()
            && !w.kubectl(&["get", "secret", "fg-b"]).status.success()
    });
    // orphan: dependents stay, without the reference
    w.kubectl_apply_ok(&["create", "-f", "-"], &owner("or"));
    let uid = uid_of("cm", "or");
    w.kubectl_apply_ok(&["create", "-f", "-"], &dependent("or-a", "or", &uid));
    w.kubectl_ok(&["delete", "cm", "or", "--cascade=orphan", "--wait=false"]);
    w.wait_until("orphaning", Duration::from_secs(30), || {
        !w.kubectl(&["get", "cm", "or"]).status.success()
    });
    let s = w.get_json(&["secret", "or-a"]);
    assert!(s["metadata"]["ownerReferences"].is_null(), "{s:#}");
    // background: an owner deleted outright takes its dependents along
    w.kubectl_apply_ok(
        &["create", "-f", "-"],
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bg"}}"#,
    );
    let uid = uid_of("cm", "bg");
    w.kubectl_apply_ok(&["create", "-f", "-"], &dependent("bg-a", "bg", &uid));
    // a reference to an owner that never existed is collected too
    w.kubectl_apply_ok(
        &["create", "-f", "-"],
        &dependent("ghost-a", "ghost", "00000000-0000-0000-0000-000000000000"),
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(w.kubectl(&["get", "secret", "bg-a"]).status.success());
    w.kubectl_ok(&["delete", "cm", "bg"]);
    w.wait_until("background deletion", Duration::from_secs(30), || {
        !w.kubectl(&["get", "secret", "bg-a"]).status.success()
            && !w.kubectl(&["get", "secret", "ghost-a"]).status.success()
    });
}

#[test]
fn recreate_and_pause_resume() {
    let w = Warren::start();
    let _kubelet = kubelet(&w, 200, 300);
    let manifest = deployment("rec", 3, "nginx:1", 1, 1).replace(
        r#""type":"RollingUpdate","rollingUpdate":{"maxSurge":1,"maxUnavailable":1}"#,
        r#""type":"Recreate""#,
    );
    w.kubectl_apply_ok(&["apply", "-f", "-"], &manifest);
    rollout_status(&w, "rec");
    // Recreate: every old pod is gone before a new one exists
    let sampler = Sampler::start_images(w.kubeconfig.clone(), "rec");
    w.kubectl_ok(&["set", "image", "deployment/rec", "c=nginx:2"]);
    rollout_status(&w, "rec");
    let images = sampler.finish_images();
    assert!(
        images
            .iter()
            .all(|s| !(s.contains("nginx:1") && s.contains("nginx:2"))),
        "old and new pods overlapped: {images:?}"
    );
    assert!(images.iter().any(|s| s.contains("nginx:2")));

    // paused: template changes wait, scaling does not
    w.kubectl_ok(&["rollout", "pause", "deployment/rec"]);
    w.kubectl_ok(&["set", "image", "deployment/rec", "c=nginx:3"]);
    w.kubectl_ok(&["scale", "deployment/rec", "--replicas=4"]);
    w.wait_until("4 pods while paused", Duration::from_secs(30), || {
        live(&pods_of(&w, "rec")).len() == 4
    });
    let d = w.get_json(&["deployment", "rec"]);
    let progressing = d["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Progressing")
        .cloned()
        .unwrap_or_default();
    assert_eq!(progressing["reason"], "DeploymentPaused", "{d:#}");
    assert_eq!(replicasets_of(&w, "rec").len(), 2);
    assert!(
        live(&pods_of(&w, "rec"))
            .iter()
            .all(|p| p["spec"]["containers"][0]["image"] == "nginx:2")
    );
    w.kubectl_ok(&["rollout", "resume", "deployment/rec"]);
    rollout_status(&w, "rec");
    w.wait_until("4 nginx:3 pods", Duration::from_secs(30), || {
        let pods = live(&pods_of(&w, "rec"));
        pods.len() == 4
            && pods
                .iter()
                .all(|p| p["spec"]["containers"][0]["image"] == "nginx:3")
    });
    assert_eq!(replicasets_of(&w, "rec").len(), 3);
}

#[test]
fn progress_deadline_exceeded() {
    // no kubelet: pods never become ready
    let w = Warren::start();
    let manifest = deployment("stuck", 2, "nginx:1", 1, 0).replace(
        r#""replicas":2,"#,
        r#""replicas":2,"progressDeadlineSeconds":2,"#,
    );
    w.kubectl_apply_ok(&["apply", "-f", "-"], &manifest);
    w.wait_until("ProgressDeadlineExceeded", Duration::from_secs(30), || {
        let d = w.get_json(&["deployment", "stuck"]);
        d["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| {
                c["type"] == "Progressing"
                    && c["status"] == "False"
                    && c["reason"] == "ProgressDeadlineExceeded"
            })
    });
    let out = w.kubectl(&["rollout", "status", "deployment/stuck", "--timeout=20s"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("exceeded its progress deadline"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = w.get_json(&["deployment", "stuck"]);
    let available = d["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Available")
        .cloned()
        .unwrap_or_default();
    assert_eq!(available["status"], "False");
    assert_eq!(available["reason"], "MinimumReplicasUnavailable");
}

/// Deleting a namespace removes everything in it — 1,000 objects of eleven kinds, custom
/// resources and a Deployment's ReplicaSet and pods included — and then the namespace itself.
#[test]
fn namespace_deletion_removes_a_thousand_objects_of_mixed_kinds() {
    let w = Warren::start();
    let _kubelet = kubelet(&w, 100, 100);
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        r#"{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
        "metadata":{"name":"gadgets.warren.test"},
        "spec":{"group":"warren.test","scope":"Namespaced",
        "names":{"plural":"gadgets","singular":"gadget","kind":"Gadget"},
        "versions":[{"name":"v1","served":true,"storage":true,
        "schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}"#,
    );
    w.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "crd/gadgets.warren.test",
        "--timeout=30s",
    ]);
    w.kubectl_ok(&["create", "namespace", "doomed"]);
    w.wait_until("default service account", Duration::from_secs(20), || {
        w.kubectl(&["get", "sa", "default", "-n", "doomed"])
            .status
            .success()
    });
    // 1,000 objects: the Deployment (1) with its ReplicaSet and 3 pods (4) and the two objects
    // the controllers add (default ServiceAccount, kube-root-ca.crt) count towards the total.
    let mut docs = Vec::new();
    let kinds: [(&str, usize); 9] = [
        ("ConfigMap", 250),
        ("Secret", 200),
        ("Gadget", 200),
        ("ServiceAccount", 100),
        ("Service", 80),
        ("Role", 60),
        ("RoleBinding", 60),
        ("Pod", 43),
        ("Deployment", 1),
    ];
    for (kind, n) in kinds {
        for i in 0..n {
            let name = format!("{}-{i}", kind.to_lowercase());
            docs.push(match kind {
                "ConfigMap" => format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}"}},"data":{{"k":"v"}}}}"#),
                "Secret" => format!(r#"{{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"{name}"}},"stringData":{{"k":"v"}}}}"#),
                "Gadget" => format!(r#"{{"apiVersion":"warren.test/v1","kind":"Gadget","metadata":{{"name":"{name}"}},"spec":{{"i":{i}}}}}"#),
                "ServiceAccount" => format!(r#"{{"apiVersion":"v1","kind":"ServiceAccount","metadata":{{"name":"{name}"}}}}"#),
                "Service" => format!(r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"{name}"}},"spec":{{"ports":[{{"port":80}}],"selector":{{"app":"{name}"}}}}}}"#),
                "Role" => format!(r#"{{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{{"name":"{name}"}},"rules":[{{"apiGroups":[""],"resources":["pods"],"verbs":["get"]}}]}}"#),
                "RoleBinding" => format!(r#"{{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{{"name":"{name}"}},"roleRef":{{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"role-{i}"}},"subjects":[{{"kind":"ServiceAccount","name":"serviceaccount-{i}","namespace":"doomed"}}]}}"#),
                "Pod" => format!(r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}"}},"spec":{{"containers":[{{"name":"c","image":"busybox"}}]}}}}"#),
                _ => deployment("web", 3, "nginx:1", 1, 0),
            });
        }
    }
    let list = format!(
        r#"{{"apiVersion":"v1","kind":"List","items":[{}]}}"#,
        docs.join(",")
    );
    w.kubectl_apply_ok(&["create", "-n", "doomed", "-f", "-", "-o", "name"], &list);
    w.wait_until("deployment pods", Duration::from_secs(60), || {
        live(&items(
            &w.get_json(&["pods", "-n", "doomed", "-l", "app=web"]),
        ))
        .len()
            == 3
    });
    let all = "configmaps,secrets,gadgets,serviceaccounts,services,roles,rolebindings,pods,deployments,replicasets,endpoints";
    let count = |w: &Warren| items(&w.get_json(&[all, "-n", "doomed"])).len();
    let before = count(&w);
    assert!(before >= 1000, "only {before} objects in the namespace");

    let started = Instant::now();
    w.kubectl_ok(&["delete", "namespace", "doomed", "--timeout=120s"]);
    let took = started.elapsed();
    let out = w.kubectl(&["get", "namespace", "doomed"]);
    assert!(!out.status.success(), "namespace still there");
    assert_eq!(count(&w), 0, "objects left behind");
    // nothing of it anywhere else either (the namespace's objects are gone from every listing)
    for kind in ["gadgets", "pods", "replicasets", "configmaps"] {
        let left: Vec<Value> = items(&w.get_json(&[kind, "-A"]))
            .into_iter()
            .filter(|o| o["metadata"]["namespace"] == "doomed")
            .collect();
        assert!(left.is_empty(), "{kind} left: {left:?}");
    }
    eprintln!("namespace with {before} objects deleted in {took:?}");
}
