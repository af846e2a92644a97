//! StatefulSets and DaemonSets end to end: a real `warren serve --role syncer`, kubectl 1.32,
//! and the fake node agent (scheduler and kubelet for a few nodes). A pod watch records the
//! order in which pods appear, become ready and go, which is what OrderedReady promises.

#[path = "hostcluster/fake_node.rs"]
#[allow(dead_code)] // shared with other suites, which use the rest of it
mod fake_node;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fake_node::{FakeNodeConfig, FakeNodes};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use serde_json::Value;
use warren_e2e::{Warren, items, log_tail};

fn nodes(w: &Warren, prefix: &str, count: usize, first_subnet: u8) -> FakeNodes {
    let cfg = FakeNodeConfig {
        nodes: count,
        name_prefix: prefix.to_string(),
        first_subnet,
        // containers exit at once on SIGTERM: deleted pods do not linger for 30s
        max_grace: Some(Duration::from_millis(300)),
        ..FakeNodeConfig::default()
    };
    FakeNodes::start(&w.kubeconfig, cfg).expect("fake nodes")
}

fn name(v: &Value) -> String {
    v["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn ready(p: &Value) -> bool {
    p["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn live(pods: Vec<Value>) -> Vec<Value> {
    pods.into_iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .collect()
}

fn pods(w: &Warren, selector: &str) -> Vec<Value> {
    items(&w.get_json(&["pods", "-l", selector]))
}

fn names(pods: &[Value]) -> BTreeSet<String> {
    pods.iter().map(name).collect()
}

fn image(p: &Value) -> String {
    p["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn rollout_status(w: &Warren, what: &str) -> String {
    let out = w.kubectl(&["rollout", "status", what, "--timeout=90s"]);
    assert!(
        out.status.success(),
        "rollout status {what}: {}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        log_tail(&w.log(), 40)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ---------------------------------------------------------------------------------------------
// a pod watch recording what happened, in the API server's order

#[derive(Clone, Debug)]
struct Seen {
    name: String,
    ready: bool,
    terminating: bool,
    deleted: bool,
    image: String,
}

impl Seen {
    /// Being deleted, or gone (pods without a grace period skip the first).
    fn going(&self) -> bool {
        self.terminating || self.deleted
    }
}

struct PodLog {
    stop: Arc<AtomicBool>,
    events: Arc<Mutex<Vec<Seen>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

async fn client_from(kubeconfig: &Path) -> Client {
    let kc = Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("client config");
    Client::try_from(config).expect("client")
}

impl PodLog {
    /// Watches the pods matching `selector` in `default`; returns once the watch is running.
    fn start(kubeconfig: &Path, selector: &str) -> PodLog {
        let stop = Arc::new(AtomicBool::new(false));
        let events = Arc::new(Mutex::new(Vec::new()));
        let (s, ev, kc, sel) = (
            stop.clone(),
            events.clone(),
            kubeconfig.to_path_buf(),
            selector.to_string(),
        );
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let api: Api<Pod> = Api::namespaced(client_from(&kc).await, "default");
                let stream =
                    watcher(api, watcher::Config::default().labels(&sel)).default_backoff();
                futures::pin_mut!(stream);
                let mut started = Some(started_tx);
                while !s.load(Ordering::SeqCst) {
                    let next =
                        tokio::time::timeout(Duration::from_millis(200), stream.next()).await;
                    let Ok(Some(item)) = next else { continue };
                    let (pod, deleted) = match item {
                        Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p)) => (p, false),
                        Ok(watcher::Event::Delete(p)) => (p, true),
                        Ok(watcher::Event::InitDone) => {
                            if let Some(tx) = started.take() {
                                let _ = tx.send(());
                            }
                            continue;
                        }
                        _ => continue,
                    };
                    let ready = pod
                        .status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|cs| {
                            cs.iter().any(|c| c.type_ == "Ready" && c.status == "True")
                        });
                    ev.lock().expect("lock").push(Seen {
                        name: pod.name_any(),
                        ready,
                        terminating: pod.metadata.deletion_timestamp.is_some(),
                        deleted,
                        image: pod
                            .spec
                            .as_ref()
                            .and_then(|s| s.containers.first())
                            .and_then(|c| c.image.clone())
                            .unwrap_or_default(),
                    });
                }
            });
        });
        started_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("pod watch started");
        PodLog {
            stop,
            events,
            thread: Some(thread),
        }
    }

    fn events(&self) -> Vec<Seen> {
        self.events.lock().expect("lock").clone()
    }

    /// Index of the first event satisfying `f`.
    fn first(&self, f: impl Fn(&Seen) -> bool) -> Option<usize> {
        self.events().iter().position(f)
    }

    /// Index of the first event satisfying `f`, waiting for the watch to catch up.
    fn wait_first(&self, what: &str, f: impl Fn(&Seen) -> bool) -> usize {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(i) = self.first(&f) {
                return i;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {what}: {:?}",
                self.events()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn clear(&self) {
        self.events.lock().expect("lock").clear();
    }
}

impl Drop for PodLog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// StatefulSets

fn statefulset(
    name: &str,
    replicas: i32,
    image: &str,
    policy: &str,
    node_selector: &str,
) -> String {
    format!(
        r#"{{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{{"name":"{name}"}},
        "spec":{{"replicas":{replicas},"serviceName":"{name}","podManagementPolicy":"{policy}",
        "selector":{{"matchLabels":{{"app":"{name}"}}}},
        "template":{{"metadata":{{"labels":{{"app":"{name}"}}}},
          "spec":{{"nodeSelector":{node_selector},"terminationGracePeriodSeconds":1,
            "containers":[{{"name":"c","image":"{image}",
              "volumeMounts":[{{"name":"data","mountPath":"/data"}}]}}]}}}},
        "volumeClaimTemplates":[{{"metadata":{{"name":"data"}},
          "spec":{{"accessModes":["ReadWriteOnce"],"resources":{{"requests":{{"storage":"1Gi"}}}}}}}}]}}}}"#
    )
}

fn sts_status(w: &Warren, name: &str) -> Value {
    w.get_json(&["statefulset", name])
}

#[test]
fn statefulset_ordered_ready_lifecycle() {
    let w = Warren::start();
    let fake = nodes(&w, "sts-node", 3, 0);
    let log = PodLog::start(&w.kubeconfig, "app=db");
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        &statefulset("db", 3, "postgres:1", "OrderedReady", "{}"),
    );
    let out = rollout_status(&w, "statefulset/db");
    assert!(
        out.contains("partitioned roll out complete: 3 new pods have been updated..."),
        "{out}"
    );

    // db-0, db-1, db-2 strictly in order: each appears only after the one before is Ready
    let first_seen = |n: &str| log.wait_first(n, |e| e.name == n);
    let first_ready = |n: &str| log.wait_first(n, |e| e.name == n && e.ready);
    assert!(
        first_seen("db-1") > first_ready("db-0"),
        "{:?}",
        log.events()
    );
    assert!(
        first_seen("db-2") > first_ready("db-1"),
        "{:?}",
        log.events()
    );
    assert!(first_seen("db-0") < first_seen("db-1"));

    let sts = sts_status(&w, "db");
    let st = &sts["status"];
    let update_revision = st["updateRevision"]
        .as_str()
        .expect("updateRevision")
        .to_string();
    assert!(update_revision.starts_with("db-"), "{st}");
    assert_eq!(st["currentRevision"], st["updateRevision"]);
    for (field, want) in [
        ("replicas", 3),
        ("readyReplicas", 3),
        ("currentReplicas", 3),
        ("updatedReplicas", 3),
        ("availableReplicas", 3),
        ("collisionCount", 0),
    ] {
        assert_eq!(st[field], want, "{field} in {st}");
    }
    assert_eq!(st["observedGeneration"], sts["metadata"]["generation"]);

    // identities, revision labels and claims
    let all = pods(&w, "app=db");
    assert_eq!(
        names(&all),
        ["db-0", "db-1", "db-2"].map(String::from).into()
    );
    for p in &all {
        let n = name(p);
        let ordinal = n.trim_start_matches("db-");
        let labels = &p["metadata"]["labels"];
        assert_eq!(labels["statefulset.kubernetes.io/pod-name"], n.as_str());
        assert_eq!(labels["apps.kubernetes.io/pod-index"], ordinal);
        assert_eq!(labels["controller-revision-hash"], update_revision.as_str());
        assert_eq!(p["spec"]["hostname"], n.as_str());
        assert_eq!(p["spec"]["subdomain"], "db");
        assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "StatefulSet");
        let volume = &p["spec"]["volumes"][0];
        assert_eq!(volume["name"], "data");
        assert_eq!(
            volume["persistentVolumeClaim"]["claimName"],
            format!("data-db-{ordinal}").as_str()
        );
    }
    let claims = items(&w.get_json(&["pvc"]));
    assert_eq!(
        names(&claims),
        ["data-db-0", "data-db-1", "data-db-2"]
            .map(String::from)
            .into()
    );
    for c in &claims {
        assert_eq!(c["metadata"]["labels"]["app"], "db");
        // the default policy retains claims: no owners
        assert!(c["metadata"]["ownerReferences"].is_null(), "{c}");
    }
    let events = w.kubectl_ok(&["get", "events"]);
    for message in [
        "create Claim data-db-1 Pod db-1 in StatefulSet db success",
        "create Pod db-1 in StatefulSet db successful",
    ] {
        assert!(events.contains(message), "{message} missing from {events}");
    }
    let revisions = items(&w.get_json(&["controllerrevisions", "-l", "app=db"]));
    assert_eq!(revisions.len(), 1);
    assert_eq!(name(&revisions[0]), update_revision);
    assert_eq!(revisions[0]["revision"], 1);
    assert_eq!(
        revisions[0]["data"]["spec"]["template"]["$patch"],
        "replace"
    );

    // scale down: the highest ordinal first, one at a time
    log.clear();
    w.kubectl_ok(&["scale", "statefulset", "db", "--replicas=1"]);
    w.eventually("db scaled to 1", Duration::from_secs(60), || {
        (names(&pods(&w, "app=db")) == ["db-0".to_string()].into()).then_some(())
    });
    let db2_gone = log.wait_first("db-2 deleted", |e| e.name == "db-2" && e.deleted);
    let db1_going = log.wait_first("db-1 going", |e| e.name == "db-1" && e.going());
    assert!(db2_gone < db1_going, "{:?}", log.events());
    // claims stay (whenScaled Retain)
    assert_eq!(items(&w.get_json(&["pvc"])).len(), 3);

    // back to 3: the claims are reused
    w.kubectl_ok(&["scale", "statefulset", "db", "--replicas=3"]);
    rollout_status(&w, "statefulset/db");
    assert_eq!(items(&w.get_json(&["pvc"])).len(), 3);

    // an update with a partition of 1: db-2 then db-1, db-0 stays
    log.clear();
    w.kubectl_ok(&[
        "patch",
        "statefulset",
        "db",
        "--type=merge",
        "-p",
        r#"{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":1}},
            "template":{"spec":{"containers":[{"name":"c","image":"postgres:2"}]}}}}"#,
    ]);
    let out = rollout_status(&w, "statefulset/db");
    assert!(
        out.contains("partitioned roll out complete: 2 new pods have been updated..."),
        "{out}"
    );
    let images: BTreeMap<String, String> = pods(&w, "app=db")
        .iter()
        .map(|p| (name(p), image(p)))
        .collect();
    assert_eq!(images["db-0"], "postgres:1");
    assert_eq!(images["db-1"], "postgres:2");
    assert_eq!(images["db-2"], "postgres:2");
    let db2_updated = log.wait_first("db-2 replaced", |e| e.name == "db-2" && e.going());
    let db1_updated = log.wait_first("db-1 replaced", |e| e.name == "db-1" && e.going());
    let db2_back = log.wait_first("db-2 ready again", |e| {
        e.name == "db-2" && e.image == "postgres:2" && e.ready
    });
    assert!(
        db2_updated < db1_updated && db2_back < db1_updated,
        "{:?}",
        log.events()
    );
    let st = sts_status(&w, "db")["status"].clone();
    assert_ne!(st["currentRevision"], st["updateRevision"], "{st}");
    assert_eq!(st["updatedReplicas"], 2, "{st}");
    assert_eq!(st["currentReplicas"], 1, "{st}");

    // partition 0 finishes it
    w.kubectl_ok(&[
        "patch",
        "statefulset",
        "db",
        "--type=merge",
        "-p",
        r#"{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}"#,
    ]);
    rollout_status(&w, "statefulset/db");
    w.eventually(
        "current revision caught up",
        Duration::from_secs(30),
        || {
            let st = sts_status(&w, "db")["status"].clone();
            (st["currentRevision"] == st["updateRevision"] && st["currentReplicas"] == 3)
                .then_some(())
        },
    );
    assert!(pods(&w, "app=db").iter().all(|p| image(p) == "postgres:2"));

    // history and undo through the ControllerRevisions
    let history = w.kubectl_ok(&["rollout", "history", "statefulset/db"]);
    let lines = warren_e2e::lines(&history);
    assert!(lines.contains(&"1 <none>".to_string()), "{history}");
    assert!(lines.contains(&"2 <none>".to_string()), "{history}");
    let out = w.kubectl_ok(&["rollout", "undo", "statefulset/db"]);
    assert!(out.contains("rolled back"), "{out}");
    rollout_status(&w, "statefulset/db");
    w.eventually("rolled back to postgres:1", Duration::from_secs(60), || {
        let all = live(pods(&w, "app=db"));
        (all.len() == 3 && all.iter().all(|p| image(p) == "postgres:1" && ready(p))).then_some(())
    });
    let history = warren_e2e::lines(&w.kubectl_ok(&["rollout", "history", "statefulset/db"]));
    // revision 1 came back as 3
    assert!(history.contains(&"2 <none>".to_string()), "{history:?}");
    assert!(history.contains(&"3 <none>".to_string()), "{history:?}");
    assert!(!history.contains(&"1 <none>".to_string()), "{history:?}");

    // a failed pod is deleted and made again
    let before = pods(&w, "app=db")
        .into_iter()
        .find(|p| name(p) == "db-1")
        .expect("db-1");
    let old_uid = before["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    fake.fail_pod("default", "db-1", "boom").expect("fail db-1");
    w.eventually("db-1 recreated", Duration::from_secs(60), || {
        pods(&w, "app=db")
            .into_iter()
            .find(|p| name(p) == "db-1" && p["metadata"]["uid"] != old_uid.as_str() && ready(p))
    });
    rollout_status(&w, "statefulset/db");
}

#[test]
fn statefulset_parallel_creates_all_at_once_and_keeps_order_for_updates() {
    let w = Warren::start();
    let _fake = nodes(&w, "par-node", 2, 0);
    // no node carries the selected label yet: the pods stay Pending, so nothing is ever ready
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        &statefulset("web", 3, "nginx:1", "Parallel", r#"{"pool":"web"}"#),
    );
    w.eventually("3 pending pods", Duration::from_secs(30), || {
        let all = pods(&w, "app=web");
        (all.len() == 3).then_some(())
    });
    assert!(pods(&w, "app=web").iter().all(|p| !ready(p)));
    assert_eq!(items(&w.get_json(&["pvc"])).len(), 3);
    let st = sts_status(&w, "web")["status"].clone();
    assert_eq!(st["replicas"], 3, "{st}");
    assert!(st["readyReplicas"].is_null(), "{st}");

    // OrderedReady under the same conditions makes only its first pod
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        &statefulset("ord", 3, "nginx:1", "OrderedReady", r#"{"pool":"web"}"#),
    );
    w.eventually("ord-0", Duration::from_secs(30), || {
        (pods(&w, "app=ord").len() == 1).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(names(&pods(&w, "app=ord")), ["ord-0".to_string()].into());

    // once a node matches, everything becomes ready
    w.kubectl_ok(&["label", "node", "par-node-0", "pool=web"]);
    rollout_status(&w, "statefulset/web");
    rollout_status(&w, "statefulset/ord");
    assert_eq!(live(pods(&w, "app=ord")).len(), 3);

    // Parallel scale down takes every surplus pod at once
    w.kubectl_ok(&["scale", "statefulset", "web", "--replicas=0"]);
    w.eventually("web scaled to 0", Duration::from_secs(30), || {
        pods(&w, "app=web").is_empty().then_some(())
    });
    let st = sts_status(&w, "web")["status"].clone();
    assert_eq!(st["replicas"], 0, "{st}");
}

#[test]
fn statefulset_claims_follow_the_retention_policy() {
    let w = Warren::start();
    let _fake = nodes(&w, "ret-node", 2, 0);
    let mut manifest: Value =
        serde_json::from_str(&statefulset("kv", 2, "redis:1", "OrderedReady", "{}")).expect("json");
    manifest["spec"]["persistentVolumeClaimRetentionPolicy"] =
        serde_json::json!({"whenDeleted": "Delete", "whenScaled": "Delete"});
    w.kubectl_apply_ok(&["apply", "-f", "-"], &manifest.to_string());
    rollout_status(&w, "statefulset/kv");
    let uid = w.get_json(&["statefulset", "kv"])["metadata"]["uid"].clone();
    let claims = items(&w.get_json(&["pvc"]));
    assert_eq!(claims.len(), 2);
    for c in &claims {
        let owners = c["metadata"]["ownerReferences"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(owners.len(), 1, "{c}");
        assert_eq!(owners[0]["kind"], "StatefulSet");
        assert_eq!(owners[0]["uid"], uid);
        assert_eq!(owners[0]["controller"], true);
    }
    // scaled away: kv-1's claim goes with its pod (owned by it, then collected)
    w.kubectl_ok(&["scale", "statefulset", "kv", "--replicas=1"]);
    w.eventually("data-kv-1 collected", Duration::from_secs(60), || {
        (names(&items(&w.get_json(&["pvc"]))) == ["data-kv-0".to_string()].into()).then_some(())
    });
    // deleted: the remaining claim goes with the set
    w.kubectl_ok(&["delete", "statefulset", "kv"]);
    w.eventually("claims collected", Duration::from_secs(60), || {
        items(&w.get_json(&["pvc"])).is_empty().then_some(())
    });
}

// ---------------------------------------------------------------------------------------------
// DaemonSets

fn daemonset(name: &str, image: &str) -> String {
    format!(
        r#"{{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{{"name":"{name}"}},
        "spec":{{"selector":{{"matchLabels":{{"app":"{name}"}}}},
        "template":{{"metadata":{{"labels":{{"app":"{name}"}}}},
          "spec":{{"nodeSelector":{{"node.warren.dev/fake":"true"}},"terminationGracePeriodSeconds":1,
            "containers":[{{"name":"c","image":"{image}"}}]}}}}}}}}"#
    )
}

/// node name -> pod names of the live pods.
fn by_node(w: &Warren, selector: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in live(pods(w, selector)) {
        let node = p["spec"]["nodeName"]
            .as_str()
            .unwrap_or("<unscheduled>")
            .to_string();
        out.entry(node).or_default().push(name(&p));
    }
    out
}

fn node_set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn daemonset_one_pod_per_matching_node() {
    let w = Warren::start();
    let _fake = nodes(&w, "ds-node", 3, 0);
    w.kubectl_apply_ok(&["apply", "-f", "-"], &daemonset("agent", "agent:1"));
    let out = rollout_status(&w, "daemonset/agent");
    assert!(
        out.contains("daemon set \"agent\" successfully rolled out"),
        "{out}"
    );

    let placed = by_node(&w, "app=agent");
    assert_eq!(
        placed.keys().cloned().collect::<BTreeSet<_>>(),
        node_set(&["ds-node-0", "ds-node-1", "ds-node-2"])
    );
    assert!(placed.values().all(|v| v.len() == 1), "{placed:?}");
    let ds = w.get_json(&["daemonset", "agent"]);
    let st = &ds["status"];
    for (field, want) in [
        ("desiredNumberScheduled", 3),
        ("currentNumberScheduled", 3),
        ("numberReady", 3),
        ("numberAvailable", 3),
        ("updatedNumberScheduled", 3),
        ("numberMisscheduled", 0),
    ] {
        assert_eq!(st[field], want, "{field} in {st}");
    }
    assert!(st["numberUnavailable"].is_null(), "{st}");
    assert_eq!(st["observedGeneration"], ds["metadata"]["generation"]);
    let revisions = items(&w.get_json(&["controllerrevisions", "-l", "app=agent"]));
    assert_eq!(revisions.len(), 1);
    let hash = revisions[0]["metadata"]["labels"]["controller-revision-hash"]
        .as_str()
        .expect("hash")
        .to_string();
    assert_eq!(name(&revisions[0]), format!("agent-{hash}"));
    for p in pods(&w, "app=agent") {
        let labels = &p["metadata"]["labels"];
        assert_eq!(labels["controller-revision-hash"], hash.as_str());
        assert_eq!(labels["pod-template-generation"], "1");
        assert!(name(&p).starts_with("agent-"));
        let field = &p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            ["nodeSelectorTerms"][0]["matchFields"][0];
        assert_eq!(field["key"], "metadata.name");
        assert_eq!(field["operator"], "In");
        assert_eq!(field["values"][0], p["spec"]["nodeName"]);
        let tolerations: BTreeSet<String> = p["spec"]["tolerations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                format!(
                    "{}:{}",
                    t["key"].as_str().unwrap_or_default(),
                    t["effect"].as_str().unwrap_or_default()
                )
            })
            .collect();
        for want in [
            "node.kubernetes.io/not-ready:NoExecute",
            "node.kubernetes.io/unreachable:NoExecute",
            "node.kubernetes.io/disk-pressure:NoSchedule",
            "node.kubernetes.io/memory-pressure:NoSchedule",
            "node.kubernetes.io/pid-pressure:NoSchedule",
            "node.kubernetes.io/unschedulable:NoSchedule",
        ] {
            assert!(
                tolerations.contains(want),
                "{want} missing from {tolerations:?}"
            );
        }
    }

    // a node labelled out of the selector loses its pod
    w.kubectl_ok(&[
        "label",
        "node",
        "ds-node-1",
        "node.warren.dev/fake=false",
        "--overwrite",
    ]);
    w.eventually("ds-node-1 emptied", Duration::from_secs(30), || {
        let placed = by_node(&w, "app=agent");
        (placed.keys().cloned().collect::<BTreeSet<_>>() == node_set(&["ds-node-0", "ds-node-2"]))
            .then_some(())
    });
    w.eventually("desired 2", Duration::from_secs(30), || {
        (w.get_json(&["daemonset", "agent"])["status"]["desiredNumberScheduled"] == 2).then_some(())
    });

    // a NoExecute taint it does not tolerate empties a node too; tolerated again, it comes back
    w.kubectl_ok(&["taint", "node", "ds-node-2", "dedicated=db:NoExecute"]);
    w.eventually("ds-node-2 emptied", Duration::from_secs(30), || {
        (by_node(&w, "app=agent")
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>()
            == node_set(&["ds-node-0"]))
        .then_some(())
    });
    w.kubectl_ok(&["taint", "node", "ds-node-2", "dedicated=db:NoExecute-"]);

    // a new node gets a pod
    let _more = nodes(&w, "ds-extra", 1, 10);
    w.eventually(
        "pods on ds-node-0, ds-node-2 and ds-extra-0",
        Duration::from_secs(60),
        || {
            let placed = by_node(&w, "app=agent");
            (placed.keys().cloned().collect::<BTreeSet<_>>()
                == node_set(&["ds-extra-0", "ds-node-0", "ds-node-2"]))
            .then_some(())
        },
    );
    rollout_status(&w, "daemonset/agent");

    // an image update rolls every pod
    w.kubectl_ok(&["set", "image", "daemonset/agent", "c=agent:2"]);
    let out = rollout_status(&w, "daemonset/agent");
    assert!(out.contains("successfully rolled out"), "{out}");
    w.eventually("all pods at agent:2", Duration::from_secs(60), || {
        let all = live(pods(&w, "app=agent"));
        (all.len() == 3 && all.iter().all(|p| image(p) == "agent:2" && ready(p))).then_some(())
    });
    let ds = w.get_json(&["daemonset", "agent"]);
    assert_eq!(
        ds["status"]["updatedNumberScheduled"], 3,
        "{}",
        ds["status"]
    );
    assert_eq!(
        items(&w.get_json(&["controllerrevisions", "-l", "app=agent"])).len(),
        2
    );
    let history = warren_e2e::lines(&w.kubectl_ok(&["rollout", "history", "daemonset/agent"]));
    assert!(history.contains(&"2 <none>".to_string()), "{history:?}");
    // and undo brings the first template back
    w.kubectl_ok(&["rollout", "undo", "daemonset/agent"]);
    rollout_status(&w, "daemonset/agent");
    w.eventually("all pods back at agent:1", Duration::from_secs(60), || {
        let all = live(pods(&w, "app=agent"));
        (all.len() == 3 && all.iter().all(|p| image(p) == "agent:1" && ready(p))).then_some(())
    });
}

#[test]
fn workloads_survive_a_restart_without_duplicates() {
    let mut w = Warren::start();
    let fake = nodes(&w, "rs-node", 2, 0);
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        &statefulset("db", 2, "postgres:1", "OrderedReady", "{}"),
    );
    w.kubectl_apply_ok(&["apply", "-f", "-"], &daemonset("agent", "agent:1"));
    rollout_status(&w, "statefulset/db");
    rollout_status(&w, "daemonset/agent");
    let uids = |w: &Warren| -> BTreeSet<String> {
        let mut all = pods(w, "app=db");
        all.extend(pods(w, "app=agent"));
        all.iter()
            .map(|p| {
                p["metadata"]["uid"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    };
    let before = uids(&w);
    assert_eq!(before.len(), 4);
    drop(fake);
    w.restart_after_kill9();
    let _fake = nodes(&w, "rs-node", 2, 0);
    rollout_status(&w, "statefulset/db");
    rollout_status(&w, "daemonset/agent");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        uids(&w),
        before,
        "pods were replaced or duplicated after the restart"
    );
    // and they still act: one more replica, one more node
    w.kubectl_ok(&["scale", "statefulset", "db", "--replicas=3"]);
    rollout_status(&w, "statefulset/db");
    assert_eq!(
        names(&pods(&w, "app=db")),
        ["db-0", "db-1", "db-2"].map(String::from).into()
    );
    assert_eq!(
        items(&w.get_json(&["controllerrevisions", "-l", "app=db"])).len(),
        1
    );
    assert_eq!(
        items(&w.get_json(&["controllerrevisions", "-l", "app=agent"])).len(),
        1
    );
}
