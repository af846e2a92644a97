//! `warren create vcluster` / `warren delete vcluster` end to end: the real binary deploys a
//! virtual cluster onto the test bed's Kubernetes 1.20 host cluster (server-side apply), whose
//! controllers make the claim and the pod and whose fake node schedules and "runs" it.
//!
//! One host cluster is shared by the steps, which run in order in one test: they build on each
//! other (create, create again, upgrade, delete).

#[path = "hostcluster/mod.rs"]
mod hostcluster;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use hostcluster::HostCluster;
use hostcluster::fake_node::{FakeNodeConfig, FakeNodes};
use k8s_openapi::api::core::v1::Secret;
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(90);

struct Bed {
    cluster: HostCluster,
    _nodes: FakeNodes,
    dir: tempfile::TempDir,
}

impl Bed {
    fn start() -> Bed {
        let cluster = HostCluster::start();
        let nodes = FakeNodes::start(
            &cluster.kubeconfig,
            FakeNodeConfig {
                nodes: 1,
                max_grace: Some(Duration::from_secs(1)),
                ..FakeNodeConfig::default()
            },
        )
        .expect("fake nodes");
        Bed {
            cluster,
            _nodes: nodes,
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Runs `warren ARGS --kubeconfig <host>`.
    fn warren(&self, args: &[&str]) -> Output {
        let out = Command::new(warren_e2e::warren_bin())
            .args(args)
            .arg("--kubeconfig")
            .arg(&self.cluster.kubeconfig)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .output()
            .expect("run warren");
        eprintln!(
            "$ warren {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn warren_ok(&self, args: &[&str]) -> String {
        let out = self.warren(args);
        assert!(out.status.success(), "warren {args:?} failed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Writes a vcluster.yaml and returns its path.
    fn config(&self, file: &str, text: &str) -> String {
        let path = self.dir.path().join(file);
        std::fs::write(&path, text).expect("write config");
        path.display().to_string()
    }

    /// `kubectl get ARGS -o json`, `None` when it fails (not found).
    fn get(&self, args: &[&str]) -> Option<Value> {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        let out = self.cluster.kubectl(&all);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).ok())
            .flatten()
    }

    fn items(&self, args: &[&str]) -> Vec<Value> {
        self.get(args)
            .and_then(|l| l["items"].as_array().cloned())
            .unwrap_or_default()
    }

    /// `kubectl auth can-i VERB RESOURCE -n NS` as the ServiceAccount.
    fn can_i(&self, account: &str, namespace: &str, verb: &str, resource: &str) -> bool {
        let as_user = format!("system:serviceaccount:{namespace}:{account}");
        self.cluster
            .kubectl(&[
                "auth", "can-i", verb, resource, "-n", namespace, "--as", &as_user,
            ])
            .status
            .success()
    }
}

fn eventually<T>(what: &str, f: impl FnMut() -> Option<T>) -> T {
    warren_e2e::poll(what, TIMEOUT, f, String::new)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn secret_config(bed: &Bed, namespace: &str, name: &str) -> String {
    let secret: Secret =
        serde_json::from_value(bed.get(&["secret", name, "-n", namespace]).expect("secret"))
            .expect("a Secret");
    let data = secret.data.expect("data");
    String::from_utf8(data["config.yaml"].0.clone()).expect("utf-8")
}

fn config_hash(statefulset: &Value) -> String {
    statefulset["spec"]["template"]["metadata"]["annotations"]["vClusterConfigHash"]
        .as_str()
        .expect("config hash annotation")
        .to_owned()
}

/// The pod `name` once scheduled and running: (uid, its config hash annotation).
fn running_pod(bed: &Bed, namespace: &str, name: &str) -> Option<(String, String)> {
    let pod = bed.get(&["pod", name, "-n", namespace])?;
    let scheduled = pod["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    let running = pod["status"]["phase"] == "Running";
    let deleting = pod["metadata"].get("deletionTimestamp").is_some();
    (scheduled && running && !deleting).then(|| {
        (
            pod["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            pod["metadata"]["annotations"]["vClusterConfigHash"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    })
}

const CONFIG_1: &str = "# first\ncontrolPlane:\n  statefulSet:\n    persistence:\n      volumeClaim:\n        size: 1Gi\n";
const CONFIG_2: &str = "# second: services from the host\ncontrolPlane:\n  statefulSet:\n    persistence:\n      volumeClaim:\n        size: 1Gi\nsync:\n  toHost:\n    ingresses:\n      enabled: false\n";

#[test]
fn create_upgrade_and_delete_a_vcluster() {
    let bed = Bed::start();

    // A bad vcluster.yaml: one line, exit 1, nothing on the host.
    let bad = bed.config(
        "bad.yaml",
        "sync:\n  toHost:\n    podz:\n      enabled: true\n",
    );
    let out = bed.warren(&["create", "vcluster", "bad", "-f", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.starts_with(&format!("error: {bad}: sync.toHost.podz: unknown field")),
        "{message}"
    );
    assert!(bed.get(&["namespace", "vcluster-bad"]).is_none());
    assert!(
        bed.items(&[
            "statefulsets,services,secrets,serviceaccounts,roles",
            "-A",
            "-l",
            "release=bad"
        ])
        .is_empty()
    );

    // Create.
    let ns = "vcluster-vc1";
    let first = bed.config("vc1.yaml", CONFIG_1);
    let out = bed.warren_ok(&["create", "vcluster", "vc1", "-f", &first]);
    assert!(
        out.starts_with("vcluster vc1 created in namespace vcluster-vc1 (namespace created)"),
        "{out}"
    );
    let namespace = bed.get(&["namespace", ns]).expect("namespace");
    assert_eq!(
        namespace["metadata"]["annotations"]["vcluster.loft.sh/created"],
        "true"
    );

    let labels =
        json!({"app": "vcluster", "release": "vc1", "app.kubernetes.io/managed-by": "warren"});
    let account = bed
        .get(&["serviceaccount", "vc-vc1", "-n", ns])
        .expect("service account");
    assert_eq!(account["metadata"]["labels"], labels);
    let role = bed.get(&["role", "vc-vc1", "-n", ns]).expect("role");
    assert_eq!(
        role["rules"],
        json!([
            {"apiGroups": [""],
             "resources": ["configmaps", "endpoints", "secrets", "serviceaccounts", "services"],
             "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
            {"apiGroups": [""], "resources": ["persistentvolumeclaims", "pods"],
             "verbs": ["create", "delete", "get", "list", "patch", "watch"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
        ])
    );
    let binding = bed
        .get(&["rolebinding", "vc-vc1", "-n", ns])
        .expect("role binding");
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "vc-vc1"})
    );
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "vc-vc1", "namespace": ns}])
    );
    // Limited to the namespace: no ClusterRole, no reads elsewhere.
    assert!(bed.get(&["clusterrole", "vc-vc1-v-vcluster-vc1"]).is_none());
    assert!(
        bed.items(&["clusterroles,clusterrolebindings", "-l", "release=vc1"])
            .is_empty()
    );
    assert!(bed.can_i("vc-vc1", ns, "create", "pods"));
    assert!(bed.can_i("vc-vc1", ns, "update", "services"));
    assert!(!bed.can_i("vc-vc1", ns, "update", "pods"));
    assert!(!bed.can_i("vc-vc1", ns, "list", "nodes"));
    assert!(!bed.can_i("vc-vc1", "default", "list", "pods"));

    assert_eq!(secret_config(&bed, ns, "vc-config-vc1"), CONFIG_1);
    let service = bed.get(&["service", "vc1", "-n", ns]).expect("service");
    assert_eq!(service["spec"]["type"], "ClusterIP");
    assert!(
        service["spec"]["clusterIP"]
            .as_str()
            .is_some_and(|ip| ip != "None")
    );
    assert_eq!(
        service["spec"]["selector"],
        json!({"app": "vcluster", "release": "vc1"})
    );
    let ports: Vec<(String, i64, String, i64)> = service["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["port"].as_i64().unwrap(),
                p["protocol"].as_str().unwrap().to_owned(),
                p["targetPort"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        [
            ("https".into(), 443, "TCP".into(), 8443),
            ("dns".into(), 53, "UDP".into(), 1053),
            ("dns-tcp".into(), 53, "TCP".into(), 1053),
        ]
    );
    let headless = bed
        .get(&["service", "vc1-headless", "-n", ns])
        .expect("headless service");
    assert_eq!(headless["spec"]["clusterIP"], "None");

    let sts = bed
        .get(&["statefulset", "vc1", "-n", ns, "--show-managed-fields"])
        .expect("statefulset");
    assert_eq!(sts["spec"]["replicas"], 1);
    assert_eq!(sts["spec"]["serviceName"], "vc1-headless");
    let managers: Vec<(&str, &str)> = sts["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["manager"].as_str().unwrap(),
                m["operation"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(managers.contains(&("warren", "Apply")), "{managers:?}");
    let pod_spec = &sts["spec"]["template"]["spec"];
    assert_eq!(pod_spec["serviceAccountName"], "vc-vc1");
    let container = &pod_spec["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        &args[..9],
        [
            "serve",
            "--role",
            "syncer",
            "--name",
            "vc1",
            "--data-dir",
            "/data",
            "-f",
            "/etc/warren/vcluster.yaml"
        ]
    );
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "1Gi"
    );
    let hash_1 = config_hash(&sts);
    assert_eq!(hash_1.len(), 64);

    // The StatefulSet controller makes the claim and the pod; the fake node runs it.
    let claim = eventually("claim data-vc1-0", || {
        bed.get(&["pvc", "data-vc1-0", "-n", ns])
    });
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "1Gi");
    assert_eq!(claim["metadata"]["labels"]["release"], "vc1");
    let (uid_1, pod_hash) = eventually("pod vc1-0 running", || running_pod(&bed, ns, "vc1-0"));
    assert_eq!(pod_hash, hash_1);

    // Again without --upgrade: one line, exit 1.
    let out = bed.warren(&["create", "vcluster", "vc1", "-f", &first]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: vcluster vc1 already exists in namespace vcluster-vc1; use --upgrade\n"
    );

    // --upgrade with the same config changes nothing.
    let generation = sts["metadata"]["generation"].clone();
    let out = bed.warren_ok(&["create", "vcluster", "vc1", "--upgrade", "-f", &first]);
    assert!(
        out.starts_with("vcluster vc1 upgraded in namespace vcluster-vc1,"),
        "{out}"
    );
    let sts = bed
        .get(&["statefulset", "vc1", "-n", ns])
        .expect("statefulset");
    assert_eq!(sts["metadata"]["generation"], generation);

    // --upgrade with a changed config: new Secret, new checksum, a new pod.
    let second = bed.config("vc1-2.yaml", CONFIG_2);
    bed.warren_ok(&["create", "vcluster", "vc1", "--upgrade", "-f", &second]);
    assert_eq!(secret_config(&bed, ns, "vc-config-vc1"), CONFIG_2);
    let sts = bed
        .get(&["statefulset", "vc1", "-n", ns])
        .expect("statefulset");
    let hash_2 = config_hash(&sts);
    assert_ne!(hash_2, hash_1);
    let (uid_2, _) = eventually("vc1-0 replaced by a pod with the new config", || {
        running_pod(&bed, ns, "vc1-0").filter(|(uid, hash)| *uid != uid_1 && *hash == hash_2)
    });
    assert_ne!(uid_2, uid_1);

    // --upgrade of one that does not exist creates it; node sync brings a ClusterRole, in a
    // namespace warren did not create.
    bed.cluster.kubectl_ok(&["create", "namespace", "shared"]);
    let nodes = bed.config(
        "vc2.yaml",
        "sync:\n  fromHost:\n    nodes:\n      enabled: true\n  toHost:\n    ingresses:\n      enabled: true\n",
    );
    let out = bed.warren_ok(&[
        "create",
        "vcluster",
        "vc2",
        "-n",
        "shared",
        "--upgrade",
        "-f",
        &nodes,
    ]);
    assert!(
        out.starts_with("vcluster vc2 created in namespace shared,"),
        "{out}"
    );
    let cluster_role = bed
        .get(&["clusterrole", "vc-vc2-v-shared"])
        .expect("cluster role");
    assert_eq!(
        cluster_role["rules"],
        json!([
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["networking.k8s.io"], "resources": ["ingressclasses"], "verbs": ["get", "list", "watch"]},
        ])
    );
    // the Ingress sync's rules are in the namespace's Role
    let role = bed.get(&["role", "vc-vc2", "-n", "shared"]).expect("role");
    assert_eq!(
        role["rules"][3],
        json!({"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"],
               "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]})
    );
    assert!(bed.can_i("vc-vc2", "shared", "create", "ingresses.networking.k8s.io"));
    assert!(!bed.can_i("vc-vc2", "default", "create", "ingresses.networking.k8s.io"));
    assert!(
        bed.get(&["clusterrolebinding", "vc-vc2-v-shared"])
            .is_some()
    );
    assert!(bed.can_i("vc-vc2", "shared", "list", "nodes"));
    // turned off again: the ClusterRole goes
    let plain = bed.config("vc2-plain.yaml", "");
    bed.warren_ok(&[
        "create",
        "vcluster",
        "vc2",
        "-n",
        "shared",
        "--upgrade",
        "-f",
        &plain,
    ]);
    assert!(bed.get(&["clusterrole", "vc-vc2-v-shared"]).is_none());
    assert!(!bed.can_i("vc-vc2", "shared", "create", "ingresses.networking.k8s.io"));
    assert!(
        bed.get(&["clusterrolebinding", "vc-vc2-v-shared"])
            .is_none()
    );
    let out = bed.warren_ok(&["delete", "vcluster", "vc2", "-n", "shared"]);
    assert!(!out.contains("namespace shared deleted"), "{out}");
    let shared = bed.get(&["namespace", "shared"]).expect("namespace kept");
    assert!(shared["metadata"].get("deletionTimestamp").is_none());
    eventually("vc2's objects gone", || {
        bed.items(&[
            "statefulsets,services,secrets,serviceaccounts,roles,rolebindings,pvc",
            "-n",
            "shared",
            "-l",
            "release=vc2",
        ])
        .is_empty()
        .then_some(())
    });

    // Cluster-scoped copies the syncer made for vc1 (labelled, no owner possible) go with it;
    // another virtual cluster's stay.
    let copies = "apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: vcluster-high-x-vcluster-vc1-x-vc1, labels: {vcluster.loft.sh/managed-by: vcluster-vc1-x-vc1}}
value: 1000
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: vcluster-fast-x-vcluster-vc1-x-vc1, labels: {vcluster.loft.sh/managed-by: vcluster-vc1-x-vc1}}
provisioner: example.com/fast
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: vcluster-high-x-other-x-vc9, labels: {vcluster.loft.sh/managed-by: other-x-vc9}}
value: 1000
";
    let applied = bed.cluster.kubectl_stdin(&["apply", "-f", "-"], copies);
    assert!(applied.status.success(), "{applied:?}");

    // Delete: everything, and the namespace warren created.
    let out = bed.warren_ok(&["delete", "vcluster", "vc1"]);
    assert!(out.contains("StatefulSet/vc1"), "{out}");
    assert!(
        out.contains("PriorityClass/vcluster-high-x-vcluster-vc1-x-vc1")
            && out.contains("StorageClass/vcluster-fast-x-vcluster-vc1-x-vc1"),
        "{out}"
    );
    assert!(
        bed.get(&["priorityclass", "vcluster-high-x-vcluster-vc1-x-vc1"])
            .is_none()
    );
    assert!(
        bed.get(&["storageclass", "vcluster-fast-x-vcluster-vc1-x-vc1"])
            .is_none()
    );
    assert!(
        bed.get(&["priorityclass", "vcluster-high-x-other-x-vc9"])
            .is_some()
    );
    assert!(out.contains("PersistentVolumeClaim/data-vc1-0"), "{out}");
    assert!(
        out.trim_end().ends_with("namespace vcluster-vc1 deleted"),
        "{out}"
    );
    eventually("vc1's objects gone", || {
        let left = bed.items(&[
            "statefulsets,services,secrets,serviceaccounts,roles,rolebindings,pvc,pods",
            "-n",
            ns,
            "-l",
            "release=vc1",
        ]);
        left.is_empty().then_some(())
    });
    eventually("namespace vcluster-vc1 going", || {
        match bed.get(&["namespace", ns]) {
            None => Some(()),
            Some(n) => n["metadata"].get("deletionTimestamp").map(|_| ()),
        }
    });
    let out = bed.warren(&["delete", "vcluster", "vc1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: vcluster vc1 not found in namespace vcluster-vc1\n"
    );
}
