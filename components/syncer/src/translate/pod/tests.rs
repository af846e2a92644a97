use super::*;
use crate::names::NamespaceMode;
use serde_json::json;

fn names() -> Names {
    Names::new("my-vcluster", "vcluster-ns", NamespaceMode::Single)
}

fn options() -> PodOptions {
    PodOptions::new(&SyncerConfig::default(), "my-vcluster")
}

fn from<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).unwrap()
}

/// A StatefulSet pod as the virtual API server stores it (defaults and the kube-api-access
/// volume added by admission).
fn statefulset_pod() -> Pod {
    from(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web-0",
            "namespace": "shop",
            "uid": "pod-uid-1",
            "resourceVersion": "812",
            "creationTimestamp": "2026-01-02T03:04:05Z",
            "generateName": "web-",
            "labels": {
                "app": "web",
                "release": "r1",
                "statefulset.kubernetes.io/pod-name": "web-0"
            },
            "annotations": {
                "prometheus.io/scrape": "true",
                "vcluster.loft.sh/name": "spoofed"
            },
            "ownerReferences": [{
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "name": "web",
                "uid": "sts-uid",
                "controller": true,
                "blockOwnerDeletion": true
            }]
        },
        "spec": {
            "hostname": "web-0",
            "subdomain": "nginx",
            "serviceAccountName": "default",
            "serviceAccount": "default",
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": true,
            "restartPolicy": "Always",
            "priority": 0,
            "imagePullSecrets": [{"name": "regcred"}],
            "containers": [{
                "name": "nginx",
                "image": "nginx:1.27",
                "ports": [{"containerPort": 80, "name": "web", "protocol": "TCP"}],
                "env": [
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                    {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['release']"}}},
                    {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}},
                    {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                    {"name": "WEB_SERVICE_HOST", "value": "overridden"}
                ],
                "envFrom": [{"configMapRef": {"name": "common"}}, {"secretRef": {"name": "tokens"}}],
                "volumeMounts": [
                    {"name": "www", "mountPath": "/usr/share/nginx/html"},
                    {"name": "kube-api-access-abcde", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}
                ]
            }],
            "volumes": [
                {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-0"}},
                {"name": "config", "configMap": {"name": "settings"}},
                {"name": "certs", "secret": {"secretName": "tls", "defaultMode": 420}},
                {"name": "kube-api-access-abcde", "projected": {"defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
                ]}}
            ],
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ],
            "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}
            ]}}
        },
        "status": {"phase": "Pending", "qosClass": "BestEffort"}
    }))
}

fn services() -> Vec<Service> {
    from(json!([
        {"metadata": {"name": "nginx", "namespace": "shop"}, "spec": {"clusterIP": "None", "ports": [{"port": 80}]}},
        {"metadata": {"name": "web", "namespace": "shop"}, "spec": {"clusterIP": "10.96.0.20", "ports": [
            {"name": "http", "port": 80, "protocol": "TCP"},
            {"name": "metrics", "port": 9113, "protocol": "TCP"}
        ]}}
    ]))
}

fn inputs<'a>(
    services: &'a [Service],
    namespace_labels: &'a BTreeMap<String, String>,
    tokens: &'a BTreeMap<String, String>,
    owner: Option<&'a OwnerReference>,
) -> PodInputs<'a> {
    PodInputs {
        kube_ip: "10.96.0.1",
        dns_ip: "10.96.0.10",
        services,
        namespace_labels,
        tokens,
        owner,
    }
}

#[test]
fn token_sources_for_projected_volumes() {
    let sources = service_account_tokens(&options(), &statefulset_pod());
    assert_eq!(
        sources,
        vec![TokenSource {
            annotation: "vcluster.loft.sh/token-".to_owned()
                + &sha256_hex("kube-api-access-abcde/0")[..8],
            volume: "kube-api-access-abcde".into(),
            service_account: "default".into(),
            audiences: vec![
                "https://kubernetes.default.svc.cluster.local".into(),
                "https://kubernetes.default.svc".into(),
                "https://kubernetes.default".into(),
            ],
            expiration_seconds: 3607,
        }]
    );
}

#[test]
fn golden_statefulset_pod() {
    let pod = statefulset_pod();
    let services = services();
    let namespace_labels = BTreeMap::from([
        ("kubernetes.io/metadata.name".to_owned(), "shop".to_owned()),
        ("team".to_owned(), "a".to_owned()),
    ]);
    let token_annotation = token_annotation("kube-api-access-abcde", 0);
    let tokens = BTreeMap::from([(token_annotation.clone(), "virtual-token".to_owned())]);
    let owner = OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: "my-vcluster".into(),
        uid: "vc-svc-uid".into(),
        ..Default::default()
    };
    let mut options = options();
    options
        .translate_image
        .insert("nginx:1.27".into(), "mirror.local/nginx:1.27".into());
    let host = host_pod(
        &names(),
        &options,
        &inputs(&services, &namespace_labels, &tokens, Some(&owner)),
        &pod,
    )
    .unwrap();
    let actual = serde_json::to_value(&host).unwrap();
    let expected: serde_json::Value = serde_json::from_str(GOLDEN_STATEFULSET_HOST_POD).unwrap();
    assert_eq!(
        actual,
        expected,
        "actual:\n{}",
        serde_json::to_string_pretty(&actual).unwrap()
    );
}

fn minimal_pod(spec: serde_json::Value) -> Pod {
    from(json!({
        "metadata": {"name": "p", "namespace": "shop", "uid": "u"},
        "spec": spec
    }))
}

fn translate(names: &Names, options: &PodOptions, pod: &Pod) -> Result<Pod, TranslateError> {
    let labels = BTreeMap::new();
    let tokens = BTreeMap::new();
    host_pod(names, options, &inputs(&[], &labels, &tokens, None), pod)
}

fn host_spec(names: &Names, options: &PodOptions, pod: &Pod) -> serde_json::Value {
    serde_json::to_value(translate(names, options, pod).unwrap().spec.unwrap()).unwrap()
}

#[test]
fn hostname_is_derived_from_the_pod_name() {
    let mut pod = minimal_pod(json!({"containers": [{"name": "c"}]}));
    pod.metadata.name = Some("api.v2.example".into());
    assert_eq!(
        host_spec(&names(), &options(), &pod)["hostname"],
        "api-v2-example"
    );
    // 63 characters at most, no trailing dash after the cut
    let long = format!("{}.{}", "a".repeat(62), "b".repeat(10));
    pod.metadata.name = Some(long);
    assert_eq!(
        host_spec(&names(), &options(), &pod)["hostname"],
        "a".repeat(62)
    );
}

#[test]
fn subdomain_without_rewrite() {
    // disabled by annotation: subdomain still names the host Service, no init container
    let mut pod =
        minimal_pod(json!({"containers": [{"name": "c"}], "hostname": "h", "subdomain": "db"}));
    pod.metadata.annotations = Some(BTreeMap::from([(
        "vcluster.loft.sh/disable-subdomain-rewrite".to_owned(),
        "true".to_owned(),
    )]));
    let host = translate(&names(), &options(), &pod).unwrap();
    let spec = serde_json::to_value(host.spec.unwrap()).unwrap();
    assert_eq!(spec["subdomain"], "db-x-shop-x-my-vcluster");
    assert_eq!(spec["hostname"], "h");
    assert!(spec.get("initContainers").is_none());
    assert!(
        !host
            .metadata
            .annotations
            .unwrap()
            .contains_key("vcluster.loft.sh/hosts-rewritten")
    );

    // rewriteHosts off in the config
    let mut no_rewrite = options();
    no_rewrite.rewrite_hosts = None;
    let pod = minimal_pod(json!({"containers": [{"name": "c"}], "subdomain": "db"}));
    let spec = host_spec(&names(), &no_rewrite, &pod);
    assert_eq!(spec["subdomain"], "db-x-shop-x-my-vcluster");
    assert!(spec.get("initContainers").is_none());
    assert_eq!(spec["containers"][0].get("volumeMounts"), None);
}

#[test]
fn multi_namespace_pods_keep_names() {
    let names = Names::new("my-vcluster", "vcluster-ns", NamespaceMode::Multi);
    let mut options = options();
    options.rewrite_hosts = None;
    let pod = minimal_pod(json!({
        "containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "common"}}]}],
        "subdomain": "db"
    }));
    let host = translate(&names, &options, &pod).unwrap();
    assert_eq!(host.metadata.name.as_deref(), Some("p"));
    assert_eq!(
        host.metadata.namespace.as_deref(),
        Some("vcluster-8d9001d3-68aa9749")
    );
    let spec = serde_json::to_value(host.spec.unwrap()).unwrap();
    assert_eq!(spec["subdomain"], "db");
    assert_eq!(
        spec["containers"][0]["envFrom"][0]["configMapRef"]["name"],
        "common"
    );
}

#[test]
fn dns_policies() {
    let spec = |dns: serde_json::Value| {
        let mut value = json!({"containers": [{"name": "c"}]});
        value
            .as_object_mut()
            .unwrap()
            .extend(dns.as_object().unwrap().clone());
        host_spec(&names(), &options(), &minimal_pod(value))
    };
    // Default and None are left alone; so is ClusterFirst on the host network.
    assert_eq!(
        spec(json!({"dnsPolicy": "Default"}))["dnsPolicy"],
        "Default"
    );
    assert_eq!(spec(json!({"dnsPolicy": "Default"})).get("dnsConfig"), None);
    assert_eq!(
        spec(json!({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.1.1.1"]}}))["dnsConfig"],
        json!({"nameservers": ["1.1.1.1"]})
    );
    assert_eq!(
        spec(json!({"dnsPolicy": "ClusterFirst", "hostNetwork": true}))["dnsPolicy"],
        "ClusterFirst"
    );
    // ClusterFirstWithHostNet, and the pod's own dnsConfig merged after the cluster's.
    let merged = spec(json!({
        "dnsPolicy": "ClusterFirstWithHostNet",
        "hostNetwork": true,
        "dnsConfig": {"nameservers": ["1.1.1.1"], "searches": ["corp.example"], "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}
    }));
    assert_eq!(merged["dnsPolicy"], "None");
    assert_eq!(
        merged["dnsConfig"],
        json!({
            "nameservers": ["10.96.0.10", "1.1.1.1"],
            "searches": ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"],
            "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]
        })
    );
    // a custom cluster domain
    let mut custom = options();
    custom.cluster_domain = "tenant.example".into();
    let spec = host_spec(
        &names(),
        &custom,
        &minimal_pod(json!({"containers": [{"name": "c"}]})),
    );
    assert_eq!(
        spec["dnsConfig"]["searches"],
        json!([
            "shop.svc.tenant.example",
            "svc.tenant.example",
            "tenant.example"
        ])
    );
    assert_eq!(
        spec["hostAliases"][0]["hostnames"][0],
        "kubernetes.default.svc.tenant.example"
    );
}

#[test]
fn priority_classes() {
    let pod = minimal_pod(
        json!({"containers": [{"name": "c"}], "priorityClassName": "high", "priority": 2000000000}),
    );
    // neither direction synced: the class doesn't exist on the host
    let spec = host_spec(&names(), &options(), &pod);
    assert_eq!(spec.get("priorityClassName"), None);
    assert_eq!(spec.get("priority"), None);
    // synced to the host: the host copy's name, priority capped
    let mut to_host = options();
    to_host.sync_priority_classes_to_host = true;
    let spec = host_spec(&names(), &to_host, &pod);
    assert_eq!(
        spec["priorityClassName"],
        "vcluster-high-x-vcluster-ns-x-my-vcluster"
    );
    assert_eq!(spec["priority"], 1_000_000_000);
    // synced from the host: the same class exists there
    let mut from_host = options();
    from_host.sync_priority_classes_from_host = true;
    assert_eq!(
        host_spec(&names(), &from_host, &pod)["priorityClassName"],
        "high"
    );
    // a configured default for pods without a class
    let mut default_class = options();
    default_class.priority_class_name = Some("tenant".into());
    let plain = minimal_pod(json!({"containers": [{"name": "c"}]}));
    assert_eq!(
        host_spec(&names(), &default_class, &plain)["priorityClassName"],
        "tenant"
    );
}

#[test]
fn service_accounts() {
    let pod = minimal_pod(json!({"containers": [{"name": "c"}], "serviceAccountName": "builder"}));
    assert_eq!(
        host_spec(&names(), &options(), &pod)["serviceAccountName"],
        "vc-workload-my-vcluster"
    );
    let mut synced = options();
    synced.sync_service_accounts = true;
    let spec = host_spec(&names(), &synced, &pod);
    assert_eq!(spec["serviceAccountName"], "builder-x-shop-x-my-vcluster");
    assert_eq!(spec["automountServiceAccountToken"], false);
    let config = SyncerConfig {
        workload_service_account: Some("tenant-sa".into()),
        ..Default::default()
    };
    assert_eq!(
        host_spec(&names(), &PodOptions::new(&config, "my-vcluster"), &pod)["serviceAccountName"],
        "tenant-sa"
    );
}

#[test]
fn a_missing_token_is_an_error() {
    let pod = minimal_pod(json!({
        "containers": [{"name": "c"}],
        "volumes": [{"name": "token", "projected": {"sources": [{"serviceAccountToken": {"path": "t", "audience": "vault"}}]}}]
    }));
    let annotation = token_annotation("token", 0);
    assert_eq!(
        translate(&names(), &options(), &pod),
        Err(TranslateError::MissingServiceAccountToken {
            pod: "shop/p".into(),
            volume: "token".into(),
            annotation: annotation.clone(),
        })
    );
    assert_eq!(
        service_account_tokens(&options(), &pod),
        vec![TokenSource {
            annotation,
            volume: "token".into(),
            service_account: "default".into(),
            audiences: vec!["vault".into()],
            expiration_seconds: 3600,
        }]
    );
    assert_eq!(
        translate(&names(), &options(), &Pod::default()),
        Err(TranslateError::MissingSpec { pod: "/".into() })
    );
}

#[test]
fn volumes_and_scheduling_settings() {
    let pod = minimal_pod(json!({
        "containers": [{"name": "c"}],
        "volumes": [
            {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"]}}}},
            {"name": "labels", "downwardAPI": {"items": [
                {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                {"path": "uid", "fieldRef": {"fieldPath": "metadata.uid"}},
                {"path": "sa", "fieldRef": {"fieldPath": "spec.serviceAccountName"}},
                {"path": "node", "fieldRef": {"fieldPath": "spec.nodeName"}}
            ]}},
            {"name": "csi", "csi": {"driver": "x", "nodePublishSecretRef": {"name": "creds"}}}
        ],
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "tenants", "effect": "NoSchedule"}],
        "nodeSelector": {"disk": "ssd"}
    }));
    let mut options = options();
    options.enforce_tolerations = crate::config::parse(
        "sync:\n  toHost:\n    pods:\n      enforceTolerations: [\"dedicated=tenants:NoSchedule\", \"spot:NoExecute\"]\n",
    )
    .unwrap()
    .config
    .sync
    .to_host
    .pods
    .enforce_tolerations;
    options.runtime_class_name = Some("gvisor".into());
    options.node_selector = BTreeMap::from([("pool".to_owned(), "tenants".to_owned())]);
    let spec = host_spec(&names(), &options, &pod);
    assert_eq!(
        spec["volumes"],
        json!([
            {"name": "scratch", "persistentVolumeClaim": {"claimName": "p-scratch-x-shop-x-my-vcluster"}},
            {"name": "labels", "downwardAPI": {"items": [
                {"path": "labels", "fieldRef": {"fieldPath": "metadata.annotations['vcluster.loft.sh/labels']"}},
                {"path": "uid", "fieldRef": {"fieldPath": "metadata.annotations['vcluster.loft.sh/uid']"}},
                {"path": "sa", "fieldRef": {"fieldPath": "metadata.annotations['vcluster.loft.sh/service-account-name']"}},
                {"path": "node", "fieldRef": {"fieldPath": "spec.nodeName"}}
            ]}},
            {"name": "csi", "csi": {"driver": "x", "nodePublishSecretRef": {"name": "creds-x-shop-x-my-vcluster"}}}
        ])
    );
    // enforced tolerations added once
    assert_eq!(
        spec["tolerations"],
        json!([
            {"key": "dedicated", "operator": "Equal", "value": "tenants", "effect": "NoSchedule"},
            {"key": "spot", "operator": "Exists", "effect": "NoExecute"}
        ])
    );
    assert_eq!(spec["runtimeClassName"], "gvisor");
    assert_eq!(
        spec["nodeSelector"],
        json!({"disk": "ssd", "pool": "tenants"})
    );
}

#[test]
fn service_env_follows_kubelet() {
    let services: Vec<Service> = from(json!([
        {"metadata": {"name": "my-db"}, "spec": {"clusterIP": "fd00::5", "ports": [{"port": 5432, "protocol": "TCP"}]}},
        {"metadata": {"name": "dns"}, "spec": {"clusterIP": "10.0.0.3", "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}},
        {"metadata": {"name": "pending"}, "spec": {"ports": [{"port": 1}]}}
    ]));
    let env = service_env(true, &services, "10.96.0.1");
    let expected: BTreeMap<String, String> = from(json!({
        "DNS_PORT": "udp://10.0.0.3:53",
        "DNS_PORT_53_UDP": "udp://10.0.0.3:53",
        "DNS_PORT_53_UDP_ADDR": "10.0.0.3",
        "DNS_PORT_53_UDP_PORT": "53",
        "DNS_PORT_53_UDP_PROTO": "udp",
        "DNS_SERVICE_HOST": "10.0.0.3",
        "DNS_SERVICE_PORT": "53",
        "DNS_SERVICE_PORT_DNS": "53",
        "KUBERNETES_PORT": "tcp://10.96.0.1:443",
        "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443",
        "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1",
        "KUBERNETES_PORT_443_TCP_PORT": "443",
        "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
        "KUBERNETES_SERVICE_HOST": "10.96.0.1",
        "KUBERNETES_SERVICE_PORT": "443",
        "KUBERNETES_SERVICE_PORT_HTTPS": "443",
        "MY_DB_PORT": "tcp://[fd00::5]:5432",
        "MY_DB_PORT_5432_TCP": "tcp://[fd00::5]:5432",
        "MY_DB_PORT_5432_TCP_ADDR": "fd00::5",
        "MY_DB_PORT_5432_TCP_PORT": "5432",
        "MY_DB_PORT_5432_TCP_PROTO": "tcp",
        "MY_DB_SERVICE_HOST": "fd00::5",
        "MY_DB_SERVICE_PORT": "5432"
    }));
    assert_eq!(env, expected);
    // without service links only the API server's variables
    assert_eq!(
        service_env(false, &services, "10.96.0.1")
            .keys()
            .collect::<Vec<_>>(),
        vec![
            "KUBERNETES_PORT",
            "KUBERNETES_PORT_443_TCP",
            "KUBERNETES_PORT_443_TCP_ADDR",
            "KUBERNETES_PORT_443_TCP_PORT",
            "KUBERNETES_PORT_443_TCP_PROTO",
            "KUBERNETES_SERVICE_HOST",
            "KUBERNETES_SERVICE_PORT",
            "KUBERNETES_SERVICE_PORT_HTTPS",
        ]
    );
}

#[test]
fn only_mutable_fields_follow_after_creation() {
    let mut options = options();
    options
        .translate_image
        .insert("app:2".into(), "mirror/app:2".into());
    options.enforce_tolerations = vec![from(json!({"key": "spot", "operator": "Exists"}))];
    let host: Pod = from(json!({
        "metadata": {"name": "p-x-shop-x-my-vcluster"},
        "spec": {
            "initContainers": [{"name": "vcluster-rewrite-hosts", "image": "alpine"}, {"name": "init", "image": "init:1"}],
            "containers": [{"name": "app", "image": "app:1"}, {"name": "sidecar", "image": "side:1"}],
            "schedulingGates": [{"name": "a"}, {"name": "b"}],
            "tolerations": [{"key": "spot", "operator": "Exists"}, {"key": "host-only", "operator": "Exists"}],
            "hostname": "p"
        }
    }));
    let virtual_pod = minimal_pod(json!({
        "initContainers": [{"name": "init", "image": "init:2"}],
        "containers": [{"name": "app", "image": "app:2"}, {"name": "sidecar", "image": "side:1"}],
        "activeDeadlineSeconds": 30,
        "schedulingGates": [{"name": "b"}],
        "tolerations": [{"key": "new", "operator": "Exists"}],
        "hostname": "changed-is-ignored"
    }));
    let update = host_pod_spec_update(&options, &virtual_pod, &host).unwrap();
    assert_eq!(
        serde_json::to_value(update).unwrap(),
        json!({
            "initContainers": [{"name": "vcluster-rewrite-hosts", "image": "alpine"}, {"name": "init", "image": "init:2"}],
            "containers": [{"name": "app", "image": "mirror/app:2"}, {"name": "sidecar", "image": "side:1"}],
            "activeDeadlineSeconds": 30,
            "schedulingGates": [{"name": "b"}],
            "tolerations": [{"key": "new", "operator": "Exists"}, {"key": "spot", "operator": "Exists"}, {"key": "host-only", "operator": "Exists"}],
            "hostname": "p"
        })
    );
    // nothing to do when the host already matches
    let mut synced = host.clone();
    synced.spec = host_pod_spec_update(&options, &virtual_pod, &host);
    assert_eq!(host_pod_spec_update(&options, &virtual_pod, &synced), None);
}

/// The cached host pod keeps the node, names and images, deadline, tolerations and gates; an
/// update computed from it is the same as from the whole pod, restricted to those fields.
#[test]
fn cached_host_pods_keep_what_updates_read() {
    let mut host: Pod = from(json!({
        "metadata": {"name": "p-x-shop-x-my-vcluster", "annotations": {"a": "b"}},
        "spec": {
            "nodeName": "node-1",
            "initContainers": [{"name": "init", "image": "init:1", "command": ["sh"]}],
            "containers": [{"name": "app", "image": "app:1",
                            "env": [{"name": "A", "value": "1"}],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "emptyDir": {}}],
            "activeDeadlineSeconds": 5,
            "tolerations": [{"key": "t", "operator": "Exists"}],
            "schedulingGates": [{"name": "g"}],
            "hostname": "p",
            "dnsPolicy": "None",
            "serviceAccountName": "vc-workload-my-vcluster"
        },
        "status": {"phase": "Running", "podIP": "10.244.1.7"}
    }));
    trim_cached_host_pod(&mut host);
    assert_eq!(
        serde_json::to_value(&host).unwrap(),
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p-x-shop-x-my-vcluster", "annotations": {"a": "b"}},
            "spec": {
                "nodeName": "node-1",
                "initContainers": [{"name": "init", "image": "init:1"}],
                "containers": [{"name": "app", "image": "app:1"}],
                "activeDeadlineSeconds": 5,
                "tolerations": [{"key": "t", "operator": "Exists"}],
                "schedulingGates": [{"name": "g"}]
            },
            "status": {"phase": "Running", "podIP": "10.244.1.7"}
        })
    );
    let virtual_pod = minimal_pod(json!({
        "initContainers": [{"name": "init", "image": "init:1"}],
        "containers": [{"name": "app", "image": "app:2"}],
        "activeDeadlineSeconds": 5,
        "tolerations": [{"key": "t", "operator": "Exists"}],
        "schedulingGates": [{"name": "g"}]
    }));
    let update = host_pod_spec_update(&options(), &virtual_pod, &host).unwrap();
    assert_eq!(
        serde_json::to_value(update.containers).unwrap(),
        json!([{"name": "app", "image": "app:2"}])
    );
}

#[test]
fn status_goes_back_except_qos_class() {
    let virtual_pod: Pod = from(json!({
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "app"}], "initContainers": [{"name": "init"}]},
        "status": {"phase": "Pending", "qosClass": "Burstable"}
    }));
    let host: Pod = from(json!({
        "metadata": {"name": "p-x-shop-x-my-vcluster"},
        "status": {
            "phase": "Running",
            "qosClass": "BestEffort",
            "podIP": "10.244.1.7",
            "podIPs": [{"ip": "10.244.1.7"}],
            "hostIP": "192.168.0.4",
            "startTime": "2026-01-02T03:04:05Z",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "image": "app:1", "imageID": "sha", "started": true}],
            "initContainerStatuses": [
                {"name": "vcluster-rewrite-hosts", "ready": true, "restartCount": 0, "image": "alpine", "imageID": "a"},
                {"name": "init", "ready": true, "restartCount": 0, "image": "init:1", "imageID": "i"}
            ]
        }
    }));
    assert_eq!(
        serde_json::to_value(virtual_pod_status(&virtual_pod, &host)).unwrap(),
        json!({
            "phase": "Running",
            "qosClass": "Burstable",
            "podIP": "10.244.1.7",
            "podIPs": [{"ip": "10.244.1.7"}],
            "hostIP": "192.168.0.4",
            "startTime": "2026-01-02T03:04:05Z",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "image": "app:1", "imageID": "sha", "started": true}],
            "initContainerStatuses": [{"name": "init", "ready": true, "restartCount": 0, "image": "init:1", "imageID": "i"}]
        })
    );
}

/// The expected host pod of [`statefulset_pod`], reviewed field by field: names
/// `<name>-x-shop-x-my-vcluster`, `release` label rewritten, namespace labels copied, syncer
/// annotations from the virtual pod (the spoofed `vcluster.loft.sh/name` is not copied),
/// workload service account without token or service links, virtual DNS, kubernetes
/// hostAliases, service env (the headless `nginx` gives none; `WEB_SERVICE_HOST` is the pod's
/// own), downward API reading annotations, references renamed, the token through an
/// annotation, subdomain naming the host Service, /etc/hosts rewritten to the virtual FQDN,
/// priority dropped (no priority class sync), anti-affinity scoped to the namespace.
const GOLDEN_STATEFULSET_HOST_POD: &str = r#"
{
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {
    "annotations": {
      "cluster-autoscaler.kubernetes.io/safe-to-evict": "true",
      "prometheus.io/scrape": "true",
      "vcluster.loft.sh/hosts-rewritten": "true",
      "vcluster.loft.sh/labels": "app=\"web\"\nrelease=\"r1\"\nstatefulset.kubernetes.io/pod-name=\"web-0\"",
      "vcluster.loft.sh/managed-annotations": "prometheus.io/scrape",
      "vcluster.loft.sh/name": "web-0",
      "vcluster.loft.sh/namespace": "shop",
      "vcluster.loft.sh/object-host-name": "web-0-x-shop-x-my-vcluster",
      "vcluster.loft.sh/object-host-namespace": "vcluster-ns",
      "vcluster.loft.sh/object-kind": "/v1, Kind=Pod",
      "vcluster.loft.sh/object-name": "web-0",
      "vcluster.loft.sh/object-namespace": "shop",
      "vcluster.loft.sh/object-uid": "pod-uid-1",
      "vcluster.loft.sh/owner-references": "[{\"apiVersion\":\"apps/v1\",\"blockOwnerDeletion\":true,\"controller\":true,\"kind\":\"StatefulSet\",\"name\":\"web\",\"uid\":\"sts-uid\"}]",
      "vcluster.loft.sh/owner-set-kind": "StatefulSet",
      "vcluster.loft.sh/service-account-name": "default",
      "vcluster.loft.sh/token-ca7698a6": "virtual-token",
      "vcluster.loft.sh/uid": "pod-uid-1"
    },
    "labels": {
      "app": "web",
      "statefulset.kubernetes.io/pod-name": "web-0",
      "vcluster.loft.sh/label-my-vcluster-x-a4d451ec23": "r1",
      "vcluster.loft.sh/managed-by": "my-vcluster",
      "vcluster.loft.sh/namespace": "shop",
      "vcluster.loft.sh/ns-label-my-vcluster-x-ca8b22d0db": "a",
      "vcluster.loft.sh/ns-label-my-vcluster-x-cf1227b7b2": "shop"
    },
    "name": "web-0-x-shop-x-my-vcluster",
    "namespace": "vcluster-ns",
    "ownerReferences": [
      {
        "apiVersion": "v1",
        "controller": true,
        "kind": "Service",
        "name": "my-vcluster",
        "uid": "vc-svc-uid"
      }
    ]
  },
  "spec": {
    "affinity": {
      "podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [
          {
            "labelSelector": {
              "matchLabels": {
                "app": "web",
                "vcluster.loft.sh/managed-by": "my-vcluster",
                "vcluster.loft.sh/namespace": "shop"
              }
            },
            "topologyKey": "kubernetes.io/hostname"
          }
        ]
      }
    },
    "automountServiceAccountToken": false,
    "containers": [
      {
        "env": [
          {
            "name": "KUBERNETES_PORT",
            "value": "tcp://10.96.0.1:443"
          },
          {
            "name": "KUBERNETES_PORT_443_TCP",
            "value": "tcp://10.96.0.1:443"
          },
          {
            "name": "KUBERNETES_PORT_443_TCP_ADDR",
            "value": "10.96.0.1"
          },
          {
            "name": "KUBERNETES_PORT_443_TCP_PORT",
            "value": "443"
          },
          {
            "name": "KUBERNETES_PORT_443_TCP_PROTO",
            "value": "tcp"
          },
          {
            "name": "KUBERNETES_SERVICE_HOST",
            "value": "10.96.0.1"
          },
          {
            "name": "KUBERNETES_SERVICE_PORT",
            "value": "443"
          },
          {
            "name": "KUBERNETES_SERVICE_PORT_HTTPS",
            "value": "443"
          },
          {
            "name": "WEB_PORT",
            "value": "tcp://10.96.0.20:80"
          },
          {
            "name": "WEB_PORT_80_TCP",
            "value": "tcp://10.96.0.20:80"
          },
          {
            "name": "WEB_PORT_80_TCP_ADDR",
            "value": "10.96.0.20"
          },
          {
            "name": "WEB_PORT_80_TCP_PORT",
            "value": "80"
          },
          {
            "name": "WEB_PORT_80_TCP_PROTO",
            "value": "tcp"
          },
          {
            "name": "WEB_PORT_9113_TCP",
            "value": "tcp://10.96.0.20:9113"
          },
          {
            "name": "WEB_PORT_9113_TCP_ADDR",
            "value": "10.96.0.20"
          },
          {
            "name": "WEB_PORT_9113_TCP_PORT",
            "value": "9113"
          },
          {
            "name": "WEB_PORT_9113_TCP_PROTO",
            "value": "tcp"
          },
          {
            "name": "WEB_SERVICE_PORT",
            "value": "80"
          },
          {
            "name": "WEB_SERVICE_PORT_HTTP",
            "value": "80"
          },
          {
            "name": "WEB_SERVICE_PORT_METRICS",
            "value": "9113"
          },
          {
            "name": "POD_NAME",
            "valueFrom": {
              "fieldRef": {
                "apiVersion": "v1",
                "fieldPath": "metadata.annotations['vcluster.loft.sh/name']"
              }
            }
          },
          {
            "name": "APP",
            "valueFrom": {
              "fieldRef": {
                "fieldPath": "metadata.labels['vcluster.loft.sh/label-my-vcluster-x-a4d451ec23']"
              }
            }
          },
          {
            "name": "MODE",
            "valueFrom": {
              "configMapKeyRef": {
                "key": "mode",
                "name": "settings-x-shop-x-my-vcluster"
              }
            }
          },
          {
            "name": "PASSWORD",
            "valueFrom": {
              "secretKeyRef": {
                "key": "password",
                "name": "db-x-shop-x-my-vcluster"
              }
            }
          },
          {
            "name": "WEB_SERVICE_HOST",
            "value": "overridden"
          }
        ],
        "envFrom": [
          {
            "configMapRef": {
              "name": "common-x-shop-x-my-vcluster"
            }
          },
          {
            "secretRef": {
              "name": "tokens-x-shop-x-my-vcluster"
            }
          }
        ],
        "image": "mirror.local/nginx:1.27",
        "name": "nginx",
        "ports": [
          {
            "containerPort": 80,
            "name": "web",
            "protocol": "TCP"
          }
        ],
        "volumeMounts": [
          {
            "mountPath": "/usr/share/nginx/html",
            "name": "www"
          },
          {
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
            "name": "kube-api-access-abcde",
            "readOnly": true
          },
          {
            "mountPath": "/etc/hosts",
            "name": "vcluster-rewrite-hosts",
            "subPath": "hosts"
          }
        ]
      }
    ],
    "dnsConfig": {
      "nameservers": [
        "10.96.0.10"
      ],
      "options": [
        {
          "name": "ndots",
          "value": "5"
        }
      ],
      "searches": [
        "shop.svc.cluster.local",
        "svc.cluster.local",
        "cluster.local"
      ]
    },
    "dnsPolicy": "None",
    "enableServiceLinks": false,
    "hostAliases": [
      {
        "hostnames": [
          "kubernetes.default.svc.cluster.local",
          "kubernetes",
          "kubernetes.default",
          "kubernetes.default.svc"
        ],
        "ip": "10.96.0.1"
      }
    ],
    "hostname": "web-0",
    "imagePullSecrets": [
      {
        "name": "regcred-x-shop-x-my-vcluster"
      }
    ],
    "initContainers": [
      {
        "args": [
          "-c",
          "sed -E 's/^([^#[:space:]]+)[[:space:]].*[[:space:]]web-0$/\\1 web-0.nginx.shop.svc.cluster.local web-0/' /etc/hosts > /hosts/hosts"
        ],
        "command": [
          "sh"
        ],
        "image": "mirror.gcr.io/library/alpine:3.20",
        "name": "vcluster-rewrite-hosts",
        "resources": {
          "limits": {
            "cpu": "30m",
            "memory": "64Mi"
          },
          "requests": {
            "cpu": "30m",
            "memory": "64Mi"
          }
        },
        "securityContext": {
          "allowPrivilegeEscalation": false,
          "capabilities": {
            "drop": [
              "ALL"
            ]
          },
          "runAsGroup": 12345,
          "runAsNonRoot": true,
          "runAsUser": 12345,
          "seccompProfile": {
            "type": "RuntimeDefault"
          }
        },
        "volumeMounts": [
          {
            "mountPath": "/hosts",
            "name": "vcluster-rewrite-hosts"
          }
        ]
      }
    ],
    "restartPolicy": "Always",
    "serviceAccountName": "vc-workload-my-vcluster",
    "subdomain": "nginx-x-shop-x-my-vcluster",
    "tolerations": [
      {
        "effect": "NoExecute",
        "key": "node.kubernetes.io/not-ready",
        "operator": "Exists",
        "tolerationSeconds": 300
      }
    ],
    "volumes": [
      {
        "name": "www",
        "persistentVolumeClaim": {
          "claimName": "www-web-0-x-shop-x-my-vcluster"
        }
      },
      {
        "configMap": {
          "name": "settings-x-shop-x-my-vcluster"
        },
        "name": "config"
      },
      {
        "name": "certs",
        "secret": {
          "defaultMode": 420,
          "secretName": "tls-x-shop-x-my-vcluster"
        }
      },
      {
        "name": "kube-api-access-abcde",
        "projected": {
          "defaultMode": 420,
          "sources": [
            {
              "downwardAPI": {
                "items": [
                  {
                    "fieldRef": {
                      "apiVersion": "v1",
                      "fieldPath": "metadata.annotations['vcluster.loft.sh/token-ca7698a6']"
                    },
                    "mode": 420,
                    "path": "token"
                  }
                ]
              }
            },
            {
              "configMap": {
                "items": [
                  {
                    "key": "ca.crt",
                    "path": "ca.crt"
                  }
                ],
                "name": "kube-root-ca.crt-x-shop-x-my-vcluster"
              }
            },
            {
              "downwardAPI": {
                "items": [
                  {
                    "fieldRef": {
                      "apiVersion": "v1",
                      "fieldPath": "metadata.annotations['vcluster.loft.sh/namespace']"
                    },
                    "path": "namespace"
                  }
                ]
              }
            }
          ]
        }
      },
      {
        "emptyDir": {},
        "name": "vcluster-rewrite-hosts"
      }
    ]
  }
}
"#;
