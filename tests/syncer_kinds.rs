//! The syncer's optional kinds end to end (the vcluster.yaml syncs that are off by default),
//! against the test bed's real Kubernetes 1.20 host, one test per kind: the host object with
//! its names, labels, annotations and rewritten references, what comes back, and the host
//! object deleted with the virtual one.
//!
//! One host cluster (and its fake node agent) is shared by the tests of this file; each test
//! uses its own host namespace and virtual cluster name, and cluster-scoped host objects it
//! makes carry its name.

#[path = "syncer_bed/mod.rs"]
mod syncer_bed;

use std::time::Duration;

use serde_json::Value;
use syncer_bed::*;
use warren_e2e::Warren;

/// A virtual cluster `name` syncing to host namespace `namespace` (created if missing) with
/// `config` as its vcluster.yaml; the directory holding the file lives as long as it runs.
fn virtual_cluster(name: &str, namespace: &str, config: &str) -> (Warren, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = dir.path().join("vcluster.yaml");
    std::fs::write(&config_path, config).expect("vcluster.yaml");
    let config_arg = config_path.display().to_string();
    let w = syncer_bed::virtual_cluster(name, namespace, &["-f", &config_arg]);
    (w, dir)
}

/// Asserts that the object `get` reads is not rewritten once synced (no update loop between
/// the syncer and an API server's defaults).
fn stays_put(what: &str, get: impl Fn() -> Option<Value>) {
    let version = |o: Option<Value>| o.map(|o| o["metadata"]["resourceVersion"].clone());
    let before = version(get());
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(before, version(get()), "{what} keeps being rewritten");
}

/// Waits until the host object is gone.
fn host_gone(w: &Warren, what: &str, args: &[&str]) {
    w.eventually(what, Duration::from_secs(20), || {
        host_get(args).is_none().then_some(())
    });
}

#[test]
fn ingresses_go_to_the_host_with_their_secrets_and_status_comes_back() {
    // A class on the host: mirrored into the virtual cluster (on with ingress sync).
    host_apply(
        "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata:\n  name: kinds1-nginx\n  labels:\n    team: edge\nspec:\n  controller: k8s.io/ingress-nginx\n",
    );
    let (w, _config) = virtual_cluster(
        "kinds1",
        "kinds1-host",
        "sync:\n  toHost:\n    ingresses:\n      enabled: true\n",
    );
    assert!(
        !w.log().contains("sync.toHost.ingresses: not synced"),
        "{}",
        w.log()
    );
    let class = w.eventually("ingress class mirrored", Duration::from_secs(20), || {
        virtual_get(&w, &["ingressclass", "kinds1-nginx"])
    });
    assert_eq!(class["spec"]["controller"], "k8s.io/ingress-nginx");
    assert_eq!(class["metadata"]["labels"]["team"], "edge");
    stays_put("mirrored ingress class", || {
        virtual_get(&w, &["ingressclass", "kinds1-nginx"])
    });

    w.kubectl_ok(&[
        "create",
        "secret",
        "generic",
        "shop-tls",
        "--from-literal=tls.crt=c",
        "--from-literal=tls.key=k",
    ]);
    w.kubectl_ok(&["create", "service", "clusterip", "web", "--tcp=80:8080"]);
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        r#"apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
  annotations:
    cert-manager.io/cluster-issuer: letsencrypt
spec:
  ingressClassName: kinds1-nginx
  tls:
  - hosts: [shop.example]
    secretName: shop-tls
  rules:
  - host: shop.example
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              number: 80
"#,
    );
    let ingress = w.eventually("host ingress", Duration::from_secs(20), || {
        host_get(&["ingress", "-n", "kinds1-host", "shop-x-default-x-kinds1"])
    });
    assert_eq!(ingress["spec"]["ingressClassName"], "kinds1-nginx");
    assert_eq!(
        ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"],
        "web-x-default-x-kinds1"
    );
    assert_eq!(
        ingress["spec"]["tls"][0]["secretName"],
        "shop-tls-x-default-x-kinds1"
    );
    let annotations = &ingress["metadata"]["annotations"];
    assert_eq!(annotations["cert-manager.io/cluster-issuer"], "letsencrypt");
    assert_eq!(
        annotations["vcluster.loft.sh/object-kind"],
        "networking.k8s.io/v1, Kind=Ingress"
    );
    assert_eq!(
        ingress["metadata"]["labels"]["vcluster.loft.sh/managed-by"],
        "kinds1"
    );
    assert_eq!(ingress["metadata"]["ownerReferences"][0]["name"], "kinds1");
    // The TLS Secret follows the Ingress to the host.
    w.eventually("host TLS secret", Duration::from_secs(20), || {
        host_get(&["secret", "-n", "kinds1-host", "shop-tls-x-default-x-kinds1"])
    });

    // What the host's ingress controller reports shows in the virtual cluster.
    host().cluster.kubectl_ok(&[
        "patch",
        "ingress",
        "-n",
        "kinds1-host",
        "shop-x-default-x-kinds1",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10"}]}}}"#,
    ]);
    w.eventually("virtual ingress status", Duration::from_secs(20), || {
        let ingress = virtual_get(&w, &["ingress", "shop"])?;
        (ingress["status"]["loadBalancer"]["ingress"][0]["ip"] == "192.0.2.10").then_some(())
    });
    stays_put("host ingress", || {
        host_get(&["ingress", "-n", "kinds1-host", "shop-x-default-x-kinds1"])
    });
    stays_put("virtual ingress", || virtual_get(&w, &["ingress", "shop"]));

    // Deleting the virtual Ingress deletes the host one, and the Secret nothing uses any more.
    w.kubectl_ok(&["delete", "ingress", "shop"]);
    host_gone(
        &w,
        "host ingress deleted",
        &["ingress", "-n", "kinds1-host", "shop-x-default-x-kinds1"],
    );
    host_gone(
        &w,
        "host TLS secret deleted",
        &["secret", "-n", "kinds1-host", "shop-tls-x-default-x-kinds1"],
    );

    // A class gone from the host goes from the virtual cluster.
    host()
        .cluster
        .kubectl_ok(&["delete", "ingressclass", "kinds1-nginx"]);
    w.eventually(
        "mirrored ingress class deleted",
        Duration::from_secs(20),
        || {
            virtual_get(&w, &["ingressclass", "kinds1-nginx"])
                .is_none()
                .then_some(())
        },
    );
    report(&w);
}

#[test]
fn network_policies_keep_isolation_and_dns() {
    let (w, _config) = virtual_cluster(
        "kinds2",
        "kinds2-host",
        "sync:\n  toHost:\n    networkPolicies:\n      enabled: true\n",
    );
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
spec:
  podSelector:
    matchLabels:
      app: web
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          team: a
    - podSelector:
        matchLabels:
          role: front
  egress:
  - to:
    - podSelector:
        matchLabels:
          app: db
    ports:
    - port: 5432
"#,
    );
    let dns_port = w.eventually("kube-dns endpoints", Duration::from_secs(20), || {
        let endpoints = virtual_get(&w, &["endpoints", "-n", "kube-system", "kube-dns"])?;
        endpoints["subsets"][0]["ports"][0]["port"].as_i64()
    });
    let policy = w.eventually(
        "host policy with the DNS port",
        Duration::from_secs(20),
        || {
            let policy = host_get(&[
                "networkpolicy",
                "-n",
                "kinds2-host",
                "web-x-default-x-kinds2",
            ])?;
            policy["spec"]["egress"][1]["ports"]
                .as_array()?
                .iter()
                .any(|p| p["port"] == dns_port)
                .then_some(policy)
        },
    );
    let spec = &policy["spec"];
    assert_eq!(
        spec["podSelector"],
        serde_json::json!({"matchLabels": {
            "app": "web",
            "vcluster.loft.sh/managed-by": "kinds2",
            "vcluster.loft.sh/namespace": "default"
        }})
    );
    assert_eq!(
        spec["policyTypes"],
        serde_json::json!(["Ingress", "Egress"])
    );
    let from = spec["ingress"][0]["from"].as_array().unwrap();
    // namespaceSelector folded into a pod selector on the namespace-label copies
    assert!(from[0]["namespaceSelector"].is_null());
    let folded = from[0]["podSelector"]["matchLabels"].as_object().unwrap();
    assert_eq!(folded["vcluster.loft.sh/managed-by"], "kinds2");
    assert!(
        folded
            .iter()
            .any(|(k, v)| k.starts_with("vcluster.loft.sh/ns-label-kinds2-x-") && v == "a"),
        "{folded:?}"
    );
    assert_eq!(
        from[1]["podSelector"]["matchLabels"],
        serde_json::json!({
            "role": "front",
            "vcluster.loft.sh/managed-by": "kinds2",
            "vcluster.loft.sh/namespace": "default"
        })
    );
    assert_eq!(
        spec["egress"][0]["to"][0]["podSelector"]["matchLabels"],
        serde_json::json!({
            "app": "db",
            "vcluster.loft.sh/managed-by": "kinds2",
            "vcluster.loft.sh/namespace": "default"
        })
    );
    // The DNS rule: 53 and the listener's port, UDP and TCP, to the syncer's pods.
    let dns = &spec["egress"][1];
    assert_eq!(
        dns["to"][0]["podSelector"]["matchLabels"],
        serde_json::json!({"app": "vcluster", "release": "kinds2"})
    );
    let ports: Vec<(i64, String)> = dns["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["port"].as_i64().unwrap(),
                p["protocol"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        [
            (53, "UDP".to_owned()),
            (53, "TCP".to_owned()),
            (dns_port, "UDP".to_owned()),
            (dns_port, "TCP".to_owned())
        ]
    );

    stays_put("host policy", || {
        host_get(&[
            "networkpolicy",
            "-n",
            "kinds2-host",
            "web-x-default-x-kinds2",
        ])
    });
    w.kubectl_ok(&["delete", "networkpolicy", "web"]);
    host_gone(
        &w,
        "host policy deleted",
        &[
            "networkpolicy",
            "-n",
            "kinds2-host",
            "web-x-default-x-kinds2",
        ],
    );
    report(&w);
}

#[test]
fn pod_disruption_budgets_go_to_a_1_20_host_as_v1beta1() {
    let (w, _config) = virtual_cluster(
        "kinds3",
        "kinds3-host",
        "sync:\n  toHost:\n    podDisruptionBudgets:\n      enabled: true\n",
    );
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\nspec:\n  minAvailable: 1\n  selector:\n    matchLabels:\n      app: web\n",
    );
    let pdb = w.eventually("host PDB", Duration::from_secs(20), || {
        host_get(&[
            "poddisruptionbudgets.v1beta1.policy",
            "-n",
            "kinds3-host",
            "web-x-default-x-kinds3",
        ])
    });
    assert_eq!(pdb["apiVersion"], "policy/v1beta1");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert_eq!(
        pdb["spec"]["selector"],
        serde_json::json!({"matchLabels": {
            "app": "web",
            "vcluster.loft.sh/managed-by": "kinds3",
            "vcluster.loft.sh/namespace": "default"
        }})
    );
    assert_eq!(
        pdb["metadata"]["annotations"]["vcluster.loft.sh/object-kind"],
        "policy/v1, Kind=PodDisruptionBudget"
    );
    stays_put("host PDB", || {
        host_get(&["pdb", "-n", "kinds3-host", "web-x-default-x-kinds3"])
    });
    // A change follows.
    w.kubectl_ok(&[
        "patch",
        "pdb",
        "web",
        "--type=merge",
        "-p",
        r#"{"spec":{"minAvailable":2}}"#,
    ]);
    w.eventually("host PDB updated", Duration::from_secs(20), || {
        let pdb = host_get(&["pdb", "-n", "kinds3-host", "web-x-default-x-kinds3"])?;
        (pdb["spec"]["minAvailable"] == 2).then_some(())
    });
    w.kubectl_ok(&["delete", "pdb", "web"]);
    host_gone(
        &w,
        "host PDB deleted",
        &["pdb", "-n", "kinds3-host", "web-x-default-x-kinds3"],
    );
    report(&w);
}

#[test]
fn priority_classes_go_to_the_host_and_pods_use_them() {
    // Left over from an earlier run of this virtual cluster whose class is gone: deleted at
    // start-up.
    host_apply(
        "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: vcluster-ghost-x-kinds4-host-x-kinds4\n  labels:\n    vcluster.loft.sh/managed-by: kinds4-host-x-kinds4\n  annotations:\n    vcluster.loft.sh/object-name: ghost\n    vcluster.loft.sh/object-kind: scheduling.k8s.io/v1, Kind=PriorityClass\nvalue: 10\n",
    );
    let (w, _config) = virtual_cluster(
        "kinds4",
        "kinds4-host",
        "sync:\n  toHost:\n    priorityClasses:\n      enabled: true\n",
    );
    host_gone(
        &w,
        "orphaned host priority class deleted",
        &["priorityclass", "vcluster-ghost-x-kinds4-host-x-kinds4"],
    );
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: high\nvalue: 1000\ndescription: important\n",
    );
    let class = w.eventually("host priority class", Duration::from_secs(20), || {
        host_get(&["priorityclass", "vcluster-high-x-kinds4-host-x-kinds4"])
    });
    assert_eq!(class["value"], 1000);
    assert_eq!(class["description"], "important");
    assert_eq!(
        class["metadata"]["labels"]["vcluster.loft.sh/managed-by"],
        "kinds4-host-x-kinds4"
    );
    assert_eq!(
        class["metadata"]["annotations"]["vcluster.loft.sh/object-name"],
        "high"
    );

    stays_put("host priority class", || {
        host_get(&["priorityclass", "vcluster-high-x-kinds4-host-x-kinds4"])
    });
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: urgent\nspec:\n  priorityClassName: high\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n    image: nginx\n",
    );
    let pod = w.eventually("host pod", Duration::from_secs(30), || {
        host_get(&["pod", "-n", "kinds4-host", "urgent-x-default-x-kinds4"])
    });
    assert_eq!(
        pod["spec"]["priorityClassName"],
        "vcluster-high-x-kinds4-host-x-kinds4"
    );
    assert_eq!(pod["spec"]["priority"], 1000);

    w.kubectl_ok(&["delete", "pod", "urgent", "--wait=false"]);
    w.kubectl_ok(&["delete", "priorityclass", "high"]);
    host_gone(
        &w,
        "host priority class deleted",
        &["priorityclass", "vcluster-high-x-kinds4-host-x-kinds4"],
    );
    report(&w);
}

#[test]
fn storage_classes_from_the_host_and_to_the_host() {
    host_apply(
        "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: kinds5-fast\n  labels:\n    tier: fast\nprovisioner: example.com/fast\nparameters:\n  type: ssd\n",
    );
    let (from, _from_config) = virtual_cluster(
        "kinds5",
        "kinds5-host",
        "sync:\n  fromHost:\n    storageClasses:\n      enabled: true\n",
    );
    let class = from.eventually(
        "host storage class in the virtual cluster",
        Duration::from_secs(20),
        || virtual_get(&from, &["storageclass", "kinds5-fast"]),
    );
    assert_eq!(class["provisioner"], "example.com/fast");
    assert_eq!(class["parameters"]["type"], "ssd");
    assert_eq!(class["metadata"]["labels"]["tier"], "fast");
    stays_put("mirrored storage class", || {
        virtual_get(&from, &["storageclass", "kinds5-fast"])
    });
    host()
        .cluster
        .kubectl_ok(&["delete", "storageclass", "kinds5-fast"]);
    from.eventually(
        "mirrored storage class deleted",
        Duration::from_secs(20),
        || {
            virtual_get(&from, &["storageclass", "kinds5-fast"])
                .is_none()
                .then_some(())
        },
    );
    report(&from);
    drop(from);

    let (to, _to_config) = virtual_cluster(
        "kinds6",
        "kinds6-host",
        "sync:\n  toHost:\n    storageClasses:\n      enabled: true\n",
    );
    to.kubectl_apply_ok(
        &["apply", "-f", "-"],
        "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: slow\n  annotations:\n    storageclass.kubernetes.io/is-default-class: \"true\"\nprovisioner: example.com/slow\nreclaimPolicy: Retain\n",
    );
    let class = to.eventually("host storage class", Duration::from_secs(20), || {
        host_get(&["storageclass", "vcluster-slow-x-kinds6-host-x-kinds6"])
    });
    assert_eq!(class["provisioner"], "example.com/slow");
    assert_eq!(class["reclaimPolicy"], "Retain");
    // never the host's default class
    assert!(
        class["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"].is_null()
    );
    stays_put("host storage class", || {
        host_get(&["storageclass", "vcluster-slow-x-kinds6-host-x-kinds6"])
    });
    to.kubectl_ok(&["delete", "storageclass", "slow"]);
    host_gone(
        &to,
        "host storage class deleted",
        &["storageclass", "vcluster-slow-x-kinds6-host-x-kinds6"],
    );
    report(&to);
}
