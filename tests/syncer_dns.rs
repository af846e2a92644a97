//! The cluster DNS of a virtual cluster synced to a host, and replicated Services, end to end:
//! `warren serve --name VC --host-kubeconfig … --host-namespace …` against the test bed's real
//! Kubernetes 1.20 host cluster (fake nodes schedule and "run" the pods), asked with `dig`
//! (bind9-dnsutils, installed by .ci/run).
//!
//! - the DNS answers with host addresses (service cluster IPs, host pod IPs), every record kind,
//!   and follows API changes within 100 ms;
//! - synced pods resolve through the host copy of `kube-system/kube-dns`, which reaches the
//!   listener (selector-less with the listener's address, or the syncer's pod when it runs in
//!   one);
//! - `networking.replicateServices` both ways, and stale replicas removed at start-up.
//!
//! One host cluster is shared by the tests of this file; each test uses its own host namespace
//! and virtual cluster name.

#[path = "syncer_bed/mod.rs"]
mod syncer_bed;

use std::collections::BTreeSet;
use std::net::{IpAddr, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use syncer_bed::*;
use warren_e2e::Warren;
use warren_e2e::dig::Dig;

fn cluster_ip(service: &Value) -> String {
    service["spec"]["clusterIP"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// A vcluster.yaml in a directory that lives as long as the returned guard.
fn config_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("vcluster.yaml");
    std::fs::write(&path, text).expect("write vcluster.yaml");
    (dir, path)
}

/// An address of this machine the host's pods could reach (the source address of the default
/// route; no packet is sent), if it has one besides loopback.
fn routable_ip() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("198.51.100.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// The cluster DNS's address: the listener's IP and port (from kube-system/kube-dns's
/// Endpoints, which the DNS registers).
#[derive(Clone, Copy, Debug)]
struct DnsAddr {
    ip: IpAddr,
    port: u16,
}

/// `dig @IP -p PORT <args>`, parsed.
fn dig(dns: DnsAddr, args: &[&str]) -> Dig {
    warren_e2e::dig::query(dns.ip, dns.port, args)
}

/// The DNS listener from the virtual kube-system/kube-dns Endpoints.
fn dns_addr(w: &Warren) -> DnsAddr {
    w.eventually("kube-dns registered", Duration::from_secs(30), || {
        let ep = virtual_get(w, &["endpoints", "-n", "kube-system", "kube-dns"])?;
        let subset = &ep["subsets"][0];
        let ip = subset["addresses"][0]["ip"].as_str()?.parse().ok()?;
        let port = u16::try_from(subset["ports"][0]["port"].as_u64()?).ok()?;
        Some(DnsAddr { ip, port })
    })
}

/// Waits until `question` has these (sorted) answer data.
fn wait_dns(w: &Warren, dns: DnsAddr, question: &[&str], want: &[String]) -> Dig {
    let mut want = want.to_vec();
    want.sort();
    w.eventually(
        &format!("dig {question:?} = {want:?}"),
        Duration::from_secs(30),
        || {
            let d = dig(dns, question);
            (d.sorted_data() == want).then_some(d)
        },
    )
}

/// Runs `seen` (a dig) back to back until it is true, at most 5 s after `since`; returns when
/// the last dig that did not see it started and when the first that did returned.
fn digs_until(since: Instant, mut seen: impl FnMut() -> bool) -> (Duration, Duration) {
    let mut last_miss = Duration::ZERO;
    loop {
        let asked = since.elapsed();
        if seen() {
            return (last_miss, since.elapsed());
        }
        last_miss = asked;
        assert!(asked < Duration::from_secs(5), "never seen");
    }
}

const SHOP: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, protocol: TCP, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: pg, port: 5432, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: alias, namespace: shop}
spec: {type: ExternalName, externalName: web.shop.svc.cluster.local}
"#;

const SHOP_PODS: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: shop, labels: {app: db}}
spec: {hostname: db-0, subdomain: db, terminationGracePeriodSeconds: 1, containers: [{name: c, image: postgres}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-1, namespace: shop, labels: {app: db}}
spec: {hostname: db-1, subdomain: db, terminationGracePeriodSeconds: 1, containers: [{name: c, image: postgres}]}
"#;

/// The host IP of a virtual pod, once it runs Ready.
fn ready_pod_ip(w: &Warren, namespace: &str, name: &str) -> String {
    w.eventually(
        &format!("{namespace}/{name} Ready with an IP"),
        Duration::from_secs(60),
        || {
            let pod = virtual_get(w, &["pod", "-n", namespace, name])?;
            let ip = pod["status"]["podIP"].as_str()?.to_owned();
            (is_ready(&pod) && !ip.is_empty()).then_some(ip)
        },
    )
}

/// The virtual cluster's DNS, synced to the host: what it answers, how fast, and how synced pods
/// reach it.
#[test]
fn dns_answers_with_host_addresses_and_synced_pods_use_it() {
    let (vc, ns) = ("dns1", "dns1-host");
    // A host service mapped in (fromHost).
    let _ = host()
        .cluster
        .kubectl(&["create", "namespace", "dns1-infra"]);
    host_ok(&[
        "create",
        "service",
        "clusterip",
        "db",
        "-n",
        "dns1-infra",
        "--tcp=5432",
    ]);
    let host_db = host_get(&["service", "db", "-n", "dns1-infra"]).expect("host db");
    let (_dir, config) = config_file(
        "networking:\n  replicateServices:\n    fromHost:\n    - from: dns1-infra/db\n      to: default/database\n",
    );
    let listen_ip = routable_ip();
    let listen = format!("{}:0", listen_ip.unwrap_or(IpAddr::from([127, 0, 0, 1])));
    let w = virtual_cluster(
        vc,
        ns,
        &["--dns-listen", &listen, "-f", config.to_str().unwrap()],
    );
    let dns = dns_addr(&w);
    eprintln!("cluster DNS at {dns:?}");

    // kube-dns: the host copy has the virtual Service's IP, and (plain process) Endpoints at
    // the listener, when it listens where host pods can reach it.
    let host_kube_dns_name = format!("kube-dns-x-kube-system-x-{vc}");
    let host_kube_dns = w.eventually("host kube-dns", Duration::from_secs(30), || {
        host_get(&["service", "-n", ns, &host_kube_dns_name])
    });
    let kube_dns_ip = cluster_ip(&host_kube_dns);
    let virtual_kube_dns =
        virtual_get(&w, &["service", "-n", "kube-system", "kube-dns"]).expect("virtual kube-dns");
    assert_eq!(cluster_ip(&virtual_kube_dns), kube_dns_ip);
    assert!(
        host_kube_dns["spec"]["selector"].is_null(),
        "{host_kube_dns}"
    );
    if listen_ip.is_some() {
        let ep = w.eventually("host kube-dns endpoints", Duration::from_secs(30), || {
            let ep = host_get(&["endpoints", "-n", ns, &host_kube_dns_name])?;
            ep["subsets"][0]["addresses"][0]["ip"]
                .is_string()
                .then_some(ep)
        });
        let subset = &ep["subsets"][0];
        assert_eq!(subset["addresses"][0]["ip"], dns.ip.to_string().as_str());
        let ports: BTreeSet<(String, u64)> = subset["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["protocol"].as_str().unwrap_or("TCP").to_owned(),
                    p["port"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            ports,
            BTreeSet::from([
                ("TCP".to_owned(), u64::from(dns.port)),
                ("UDP".to_owned(), u64::from(dns.port))
            ])
        );
    } else {
        eprintln!("no address besides loopback: host kube-dns endpoints not checked");
    }
    // The DNS answers its own name with the host address.
    let d = dig(dns, &["kube-dns.kube-system.svc.cluster.local", "A"]);
    assert_eq!(d.data(), std::slice::from_ref(&kube_dns_ip));

    w.kubectl_apply_ok(&["apply", "-f", "-"], SHOP);
    w.kubectl_apply_ok(&["apply", "-f", "-"], SHOP_PODS);

    // A ClusterIP service: the host ClusterIP.
    let web_host =
        host_get(&["service", "-n", ns, &format!("web-x-shop-x-{vc}")]).expect("host web");
    let web_ip = cluster_ip(&web_host);
    assert!(web_ip.starts_with("10.96."), "{web_host}");
    let d = dig(dns, &["web.shop.svc.cluster.local", "A"]);
    assert_eq!(
        (d.status.as_str(), d.data()),
        ("NOERROR", vec![web_ip.clone()])
    );
    // SRV of its named port.
    let d = dig(dns, &["_http._tcp.web.shop.svc.cluster.local", "SRV"]);
    assert_eq!(d.data(), ["0 100 80 web.shop.svc.cluster.local."]);
    assert_eq!(
        d.additional,
        [format!("web.shop.svc.cluster.local. 30 IN A {web_ip}")]
    );
    // PTR of the host ClusterIP.
    let d = dig(dns, &["-x", &web_ip]);
    assert_eq!(d.data(), ["web.shop.svc.cluster.local."]);
    // ExternalName: CNAME (in the zone, followed).
    let d = dig(dns, &["alias.shop.svc.cluster.local", "A"]);
    assert_eq!(d.types(), ["CNAME", "A"], "{d:?}");
    assert_eq!(
        d.data(),
        ["web.shop.svc.cluster.local.".to_owned(), web_ip.clone()]
    );

    // Headless: the host pod IPs of ready endpoints; hostname.subdomain names; pod A records.
    let db0 = ready_pod_ip(&w, "shop", "db-0");
    let db1 = ready_pod_ip(&w, "shop", "db-1");
    let host_db0 = host_get(&["pod", "-n", ns, &format!("db-0-x-shop-x-{vc}")]).expect("host pod");
    assert_eq!(
        host_db0["status"]["podIP"],
        db0.as_str(),
        "virtual pod IP is the host's"
    );
    assert!(db0.starts_with("10.244."), "{db0}");
    wait_dns(
        &w,
        dns,
        &["db.shop.svc.cluster.local", "A"],
        &[db0.clone(), db1.clone()],
    );
    let d = dig(dns, &["db-0.db.shop.svc.cluster.local", "A"]);
    assert_eq!(d.data(), std::slice::from_ref(&db0));
    let d = dig(dns, &["_pg._tcp.db.shop.svc.cluster.local", "SRV"]);
    assert_eq!(
        d.sorted_data(),
        [
            "0 50 5432 db-0.db.shop.svc.cluster.local.",
            "0 50 5432 db-1.db.shop.svc.cluster.local."
        ]
    );
    let d = dig(dns, &["-x", &db0]);
    assert_eq!(d.data(), ["db-0.db.shop.svc.cluster.local."]);
    let dashed = db1.replace('.', "-");
    let d = dig(dns, &[&format!("{dashed}.shop.pod.cluster.local"), "A"]);
    assert_eq!(d.data(), std::slice::from_ref(&db1));
    // db-1 not ready on the host: it leaves the headless answer.
    host()
        .nodes
        .set_pod_ready(ns, &format!("db-1-x-shop-x-{vc}"), false)
        .expect("set not ready");
    wait_dns(
        &w,
        dns,
        &["db.shop.svc.cluster.local", "A"],
        std::slice::from_ref(&db0),
    );

    // The replicated host service: the host ClusterIP, in kubectl and in DNS.
    let db_ip = cluster_ip(&host_db);
    let replica = w.eventually("replicated service", Duration::from_secs(30), || {
        virtual_get(&w, &["service", "database", "-n", "default"])
    });
    assert_eq!(cluster_ip(&replica), db_ip);
    let d = dig(dns, &["database.default.svc.cluster.local", "A"]);
    assert_eq!(d.data(), std::slice::from_ref(&db_ip));

    // Synced pods resolve through the host kube-dns.
    let spec = &host_db0["spec"];
    assert_eq!(spec["dnsPolicy"], "None");
    let dns_config = &spec["dnsConfig"];
    assert_eq!(dns_config["nameservers"], serde_json::json!([kube_dns_ip]));
    assert_eq!(
        dns_config["searches"],
        serde_json::json!([
            "shop.svc.cluster.local",
            "svc.cluster.local",
            "cluster.local"
        ])
    );
    assert_eq!(
        dns_config["options"],
        serde_json::json!([{"name": "ndots", "value": "5"}])
    );

    // API changes show within 100 ms: digs back to back after the API answered; every dig
    // started 100 ms or more after the change must see it (a dig process takes a few tens of
    // ms on a loaded machine, so when it returns says little; when it asked is what counts).
    let mut worst = Duration::ZERO;
    for i in 0..4 {
        let name = format!("fast{i}");
        let question = format!("{name}.shop.svc.cluster.local");
        assert_eq!(dig(dns, &[&question, "A"]).status, "NXDOMAIN");
        // The created object comes back with the answer: no other request before the digs.
        let out = w.kubectl_ok(&[
            "create",
            "service",
            "clusterip",
            &name,
            "-n",
            "shop",
            "--tcp=80",
            "-o",
            "json",
        ]);
        let created = Instant::now();
        let ip = cluster_ip(&serde_json::from_str(&out).expect("created service"));
        let shown = digs_until(created, || {
            dig(dns, &[&question, "A"]).data() == [ip.clone()]
        });
        w.kubectl_ok(&["delete", "service", &name, "-n", "shop", "--wait=false"]);
        let deleted = Instant::now();
        let gone = digs_until(deleted, || dig(dns, &[&question, "A"]).status == "NXDOMAIN");
        eprintln!(
            "{question}: shown between {:?} and {:?}, gone between {:?} and {:?}",
            shown.0, shown.1, gone.0, gone.1
        );
        worst = worst.max(shown.0).max(gone.0);
    }
    eprintln!("latest dig that missed a change started {worst:?} after it");
    assert!(worst < Duration::from_millis(100), "{worst:?}");
    if listen_ip.is_some() {
        assert!(
            !w.log()
                .contains("the cluster DNS listens where host pods can't reach it"),
            "{}",
            w.log()
        );
    }
    report(&w);
}

/// A syncer in a pod behind the virtual cluster's own host Service (as `warren create
/// vcluster` deploys it): the host kube-dns selects that pod, on the DNS listener's port.
#[test]
fn host_kube_dns_selects_the_syncer_pod() {
    let (vc, ns) = ("poddns", "poddns-host");
    let _ = host().cluster.kubectl(&["create", "namespace", ns]);
    host_apply(&format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {vc}\n  namespace: {ns}\n  labels: {{app: vcluster, release: {vc}}}\nspec:\n  selector: {{app: vcluster, release: {vc}}}\n  ports:\n  - {{name: https, port: 443, targetPort: 8443, protocol: TCP}}\n  - {{name: dns, port: 53, targetPort: 1053, protocol: UDP}}\n  - {{name: dns-tcp, port: 53, targetPort: 1053, protocol: TCP}}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {vc}-0\n  namespace: {ns}\n  labels: {{app: vcluster, release: {vc}}}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers: [{{name: syncer, image: warren}}]\n"
    ));
    let syncer_pod_ip = {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let pod = host_get(&["pod", "-n", ns, &format!("{vc}-0")]).expect("syncer pod");
            if let Some(ip) = pod["status"]["podIP"].as_str().filter(|_| is_ready(&pod)) {
                break ip.to_owned();
            }
            assert!(Instant::now() < deadline, "syncer pod not running: {pod}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let w = virtual_cluster(vc, ns, &[]);
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Pod\nmetadata: {name: client}\nspec: {terminationGracePeriodSeconds: 1, containers: [{name: c, image: busybox}]}\n",
    );
    let dns = dns_addr(&w);
    let name = format!("kube-dns-x-kube-system-x-{vc}");
    let host_kube_dns = w.eventually(
        "host kube-dns selecting the syncer pod",
        Duration::from_secs(30),
        || {
            let svc = host_get(&["service", "-n", ns, &name])?;
            (svc["spec"]["selector"]["app"] == "vcluster").then_some(svc)
        },
    );
    assert_eq!(
        host_kube_dns["spec"]["selector"],
        serde_json::json!({"app": "vcluster", "release": vc})
    );
    for port in host_kube_dns["spec"]["ports"].as_array().unwrap() {
        assert_eq!(port["port"], 53, "{host_kube_dns}");
        assert_eq!(port["targetPort"], u64::from(dns.port), "{host_kube_dns}");
    }
    // The host's endpoints controller points it at the pod, on the listener's port.
    let ep = w.eventually(
        "host kube-dns endpoints on the pod",
        Duration::from_secs(30),
        || {
            let ep = host_get(&["endpoints", "-n", ns, &name])?;
            (ep["subsets"][0]["addresses"][0]["ip"] == syncer_pod_ip.as_str()).then_some(ep)
        },
    );
    assert_eq!(ep["subsets"][0]["ports"][0]["port"], u64::from(dns.port));
    assert!(
        ep["metadata"]["annotations"]["vcluster.loft.sh/object-name"].is_null(),
        "written by the host, not the syncer: {ep}"
    );
    // It stays that way (the syncer does not fight the endpoints controller).
    let rv = ep["metadata"]["resourceVersion"].clone();
    std::thread::sleep(Duration::from_secs(3));
    let again = host_get(&["endpoints", "-n", ns, &name]).expect("endpoints");
    assert_eq!(again["metadata"]["resourceVersion"], rv);

    // Synced pods get that Service's IP as their nameserver (also one created before the DNS
    // registered kube-dns: its host copy waited for the address).
    let host_pod = w.eventually("host pod", Duration::from_secs(30), || {
        host_get(&["pod", "-n", ns, &format!("client-x-default-x-{vc}")])
    });
    assert_eq!(
        host_pod["spec"]["dnsConfig"]["nameservers"],
        serde_json::json!([cluster_ip(&host_kube_dns)])
    );
    assert_eq!(
        host_pod["spec"]["dnsConfig"]["searches"][0],
        "default.svc.cluster.local"
    );
    assert!(
        !w.log()
            .contains("the cluster DNS listens where host pods can't reach it"),
        "no warning when the host reaches the DNS through the pod"
    );
    report(&w);
}

const REPLICATE: &str = "networking:\n  replicateServices:\n    fromHost:\n    - from: rep1-infra/db\n      to: apps/database\n    - from: rep1-infra/headless\n      to: apps/headless\n    toHost:\n    - from: apps/api\n      to: api-export\n    - from: apps/web\n      to: rep1-shared/web-export\n";

/// `networking.replicateServices` both ways.
#[test]
fn replicated_services_both_ways() {
    let (vc, ns) = ("rep1", "rep1-host");
    for namespace in ["rep1-infra", "rep1-shared"] {
        let _ = host().cluster.kubectl(&["create", "namespace", namespace]);
    }
    host_ok(&[
        "create",
        "service",
        "nodeport",
        "db",
        "-n",
        "rep1-infra",
        "--tcp=5432:15432",
    ]);
    let (_dir, config) = config_file(REPLICATE);
    let w = virtual_cluster(vc, ns, &["-f", config.to_str().unwrap()]);
    assert!(
        !w.log().contains("replicateServices"),
        "no 'not synced yet' warning: {}",
        w.log()
    );

    // fromHost: the virtual Service has the host's ClusterIP (not None) in kubectl.
    let host_db = host_get(&["service", "db", "-n", "rep1-infra"]).expect("host db");
    let db_ip = cluster_ip(&host_db);
    let replica = w.eventually("virtual apps/database", Duration::from_secs(30), || {
        virtual_get(&w, &["service", "database", "-n", "apps"])
    });
    assert_eq!(cluster_ip(&replica), db_ip);
    assert_eq!(replica["spec"]["type"], "ClusterIP");
    assert_eq!(
        replica["metadata"]["labels"]["vcluster.loft.sh/controlled-by"],
        "vcluster"
    );
    assert_eq!(replica["spec"]["ports"][0]["port"], 5432);
    assert!(
        replica["spec"]["ports"][0]["nodePort"].is_null(),
        "{replica}"
    );
    let table = w.kubectl_ok(&["get", "svc", "database", "-n", "apps", "--no-headers"]);
    let columns: Vec<&str> = table.split_whitespace().collect();
    assert_eq!(
        columns[..3],
        ["database", "ClusterIP", db_ip.as_str()],
        "{table}"
    );
    let endpoints = w.eventually("virtual endpoints", Duration::from_secs(30), || {
        virtual_get(&w, &["endpoints", "database", "-n", "apps"])
    });
    assert_eq!(
        endpoints["subsets"][0]["addresses"][0]["ip"],
        db_ip.as_str()
    );
    // Not synced back to the host as a Service of its own.
    std::thread::sleep(Duration::from_secs(1));
    assert!(host_get(&["service", "-n", ns, &format!("database-x-apps-x-{vc}")]).is_none());
    assert!(host_get(&["endpoints", "-n", ns, &format!("database-x-apps-x-{vc}")]).is_none());

    // Host port changes follow.
    host_ok(&[
        "patch",
        "service",
        "db",
        "-n",
        "rep1-infra",
        "--type=json",
        "-p",
        r#"[{"op":"add","path":"/spec/ports/-","value":{"name":"metrics","port":9187,"protocol":"TCP"}}]"#,
    ]);
    w.eventually(
        "virtual replica has the new port",
        Duration::from_secs(30),
        || {
            let svc = virtual_get(&w, &["service", "database", "-n", "apps"])?;
            let ports: Vec<u64> = svc["spec"]["ports"]
                .as_array()?
                .iter()
                .filter_map(|p| p["port"].as_u64())
                .collect();
            (ports == [5432, 9187] && cluster_ip(&svc) == db_ip).then_some(())
        },
    );

    // A headless host service: its ready host endpoints.
    host_apply(
        "apiVersion: v1\nkind: Service\nmetadata: {name: headless, namespace: rep1-infra}\nspec:\n  clusterIP: None\n  ports: [{name: x, port: 7000}]\n---\napiVersion: v1\nkind: Endpoints\nmetadata: {name: headless, namespace: rep1-infra}\nsubsets:\n- addresses: [{ip: 10.33.0.1}, {ip: 10.33.0.2}]\n  ports: [{name: x, port: 7000}]\n",
    );
    w.eventually(
        "headless replica endpoints",
        Duration::from_secs(30),
        || {
            let svc = virtual_get(&w, &["service", "headless", "-n", "apps"])?;
            let ep = virtual_get(&w, &["endpoints", "headless", "-n", "apps"])?;
            let ips: BTreeSet<&str> = ep["subsets"][0]["addresses"]
                .as_array()?
                .iter()
                .filter_map(|a| a["ip"].as_str())
                .collect();
            (cluster_ip(&svc) == "None" && ips == BTreeSet::from(["10.33.0.1", "10.33.0.2"]))
                .then_some(())
        },
    );
    // The replica's Endpoints removed in the virtual cluster come back from the host.
    w.kubectl_ok(&["delete", "endpoints", "headless", "-n", "apps"]);
    w.eventually(
        "headless replica endpoints restored",
        Duration::from_secs(30),
        || {
            let ep = virtual_get(&w, &["endpoints", "headless", "-n", "apps"])?;
            (ep["subsets"][0]["addresses"].as_array()?.len() == 2).then_some(())
        },
    );

    // The host service goes: so does the replica; back with a new address when it returns.
    host_ok(&["delete", "service", "db", "-n", "rep1-infra"]);
    w.eventually("virtual replica deleted", Duration::from_secs(30), || {
        virtual_get(&w, &["service", "database", "-n", "apps"])
            .is_none()
            .then_some(())
    });
    host_ok(&[
        "create",
        "service",
        "clusterip",
        "db",
        "-n",
        "rep1-infra",
        "--tcp=5432",
    ]);
    let new_ip = cluster_ip(&host_get(&["service", "db", "-n", "rep1-infra"]).unwrap());
    w.eventually("virtual replica back", Duration::from_secs(30), || {
        let svc = virtual_get(&w, &["service", "database", "-n", "apps"])?;
        (cluster_ip(&svc) == new_ip).then_some(())
    });

    // toHost: a host Service selecting the virtual workload's host pods.
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: apps}\nspec:\n  selector: {app: api}\n  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: apps}\nspec:\n  selector: {app: web}\n  ports: [{name: http, port: 80, protocol: TCP}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: api-0, namespace: apps, labels: {app: api}}\nspec: {terminationGracePeriodSeconds: 1, containers: [{name: c, image: nginx}]}\n",
    );
    let exported = w.eventually("host api-export", Duration::from_secs(30), || {
        host_get(&["service", "api-export", "-n", ns])
    });
    assert_eq!(
        exported["spec"]["selector"],
        serde_json::json!({
            "app": "api",
            "vcluster.loft.sh/managed-by": vc,
            "vcluster.loft.sh/namespace": "apps",
        })
    );
    assert_eq!(exported["spec"]["ports"][0]["port"], 80);
    assert_eq!(exported["spec"]["ports"][0]["targetPort"], 8080);
    assert_eq!(
        exported["metadata"]["labels"]["vcluster.loft.sh/controlled-by"],
        "vcluster"
    );
    assert_eq!(exported["metadata"]["ownerReferences"][0]["name"], vc);
    // Host pods reach it: the host endpoints controller puts the synced pod behind it.
    let api_ip = ready_pod_ip(&w, "apps", "api-0");
    w.eventually("host api-export endpoints", Duration::from_secs(30), || {
        let ep = host_get(&["endpoints", "api-export", "-n", ns])?;
        (ep["subsets"][0]["addresses"][0]["ip"] == api_ip.as_str()).then_some(())
    });
    // In another host namespace too (no owner there).
    let web_export = w.eventually(
        "host rep1-shared/web-export",
        Duration::from_secs(30),
        || host_get(&["service", "web-export", "-n", "rep1-shared"]),
    );
    assert!(
        web_export["metadata"]["ownerReferences"].is_null(),
        "{web_export}"
    );
    assert_eq!(web_export["spec"]["selector"]["app"], "web");

    // Virtual changes follow.
    w.kubectl_ok(&[
        "patch",
        "service",
        "api",
        "-n",
        "apps",
        "--type=merge",
        "-p",
        r#"{"spec":{"selector":{"app":"api2"},"ports":[{"name":"http","port":81,"targetPort":9090,"protocol":"TCP"}]}}"#,
    ]);
    w.eventually("host api-export updated", Duration::from_secs(30), || {
        let svc = host_get(&["service", "api-export", "-n", ns])?;
        (svc["spec"]["selector"]["app"] == "api2"
            && svc["spec"]["ports"][0]["port"] == 81
            && svc["spec"]["ports"][0]["targetPort"] == 9090
            && svc["spec"]["clusterIP"] == exported["spec"]["clusterIP"])
            .then_some(())
    });
    // The virtual Service goes: so does the host replica.
    w.kubectl_ok(&["delete", "service", "api", "-n", "apps"]);
    w.eventually("host api-export deleted", Duration::from_secs(30), || {
        host_get(&["service", "api-export", "-n", ns])
            .is_none()
            .then_some(())
    });
    // A host Service of that name that is not ours is left alone.
    host_ok(&[
        "create",
        "service",
        "clusterip",
        "api-export",
        "-n",
        ns,
        "--tcp=1234",
    ]);
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: apps}\nspec:\n  selector: {app: api}\n  ports: [{port: 80}]\n",
    );
    std::thread::sleep(Duration::from_secs(2));
    let theirs = host_get(&["service", "api-export", "-n", ns]).expect("user's service");
    assert_eq!(theirs["spec"]["ports"][0]["port"], 1234);
    assert!(theirs["metadata"]["labels"]["vcluster.loft.sh/controlled-by"].is_null());
    report(&w);
}

/// A mapping removed from vcluster.yaml: its replicas are deleted when the syncer starts again,
/// on both sides (vCluster's "stale replicated service removed at startup").
#[test]
fn stale_replicas_are_removed_at_restart() {
    let (vc, ns) = ("rep2", "rep2-host");
    for namespace in ["rep2-infra", "rep2-shared"] {
        let _ = host().cluster.kubectl(&["create", "namespace", namespace]);
    }
    host_ok(&[
        "create",
        "service",
        "clusterip",
        "db",
        "-n",
        "rep2-infra",
        "--tcp=5432",
    ]);
    let (_dir, config) = config_file(
        "networking:\n  replicateServices:\n    fromHost:\n    - from: rep2-infra/db\n      to: default/database\n    toHost:\n    - from: default/api\n      to: api-export\n    - from: default/api\n      to: rep2-shared/api-export\n",
    );
    let mut w = virtual_cluster(vc, ns, &["-f", config.to_str().unwrap()]);
    w.kubectl_ok(&["create", "service", "clusterip", "api", "--tcp=80"]);
    // A Service marked as a replica that no mapping names (vCluster's e2e has one too).
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: leftover\n  labels: {vcluster.loft.sh/controlled-by: vcluster}\nspec:\n  selector: {app: fake}\n  ports: [{port: 8080}]\n",
    );
    w.eventually("replicas on both sides", Duration::from_secs(30), || {
        (virtual_get(&w, &["service", "database"]).is_some()
            && host_get(&["service", "api-export", "-n", ns]).is_some()
            && host_get(&["service", "api-export", "-n", "rep2-shared"]).is_some())
        .then_some(())
    });
    // The leftover has no host copy (replicas are not synced as ordinary Services).
    assert!(host_get(&["service", "-n", ns, &format!("leftover-x-default-x-{vc}")]).is_none());
    // Another virtual cluster's replica in the shared namespace is not ours to delete.
    host_apply(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: someone-elses\n  namespace: rep2-shared\n  labels: {vcluster.loft.sh/controlled-by: vcluster, vcluster.loft.sh/managed-by: other-x-rep2}\nspec:\n  ports: [{port: 80}]\n",
    );

    // Restart without the mappings.
    std::fs::write(
        &config,
        "sync:\n  toHost:\n    services:\n      enabled: true\n",
    )
    .unwrap();
    w.restart_after_kill9();
    w.eventually("stale replicas gone", Duration::from_secs(30), || {
        (virtual_get(&w, &["service", "database"]).is_none()
            && virtual_get(&w, &["service", "leftover"]).is_none()
            && host_get(&["service", "api-export", "-n", ns]).is_none()
            && host_get(&["service", "api-export", "-n", "rep2-shared"]).is_none())
        .then_some(())
    });
    // What is not a replica stays: the ordinary Service and its host copy, the host service
    // that was replicated, another virtual cluster's replica.
    assert!(virtual_get(&w, &["service", "api"]).is_some());
    assert!(host_get(&["service", "-n", ns, &format!("api-x-default-x-{vc}")]).is_some());
    assert!(host_get(&["service", "db", "-n", "rep2-infra"]).is_some());
    assert!(host_get(&["service", "someone-elses", "-n", "rep2-shared"]).is_some());
    report(&w);
}
