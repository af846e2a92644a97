use super::*;

fn load(yaml: &str) -> Loaded {
    match parse(yaml) {
        Ok(loaded) => loaded,
        Err(error) => panic!("{yaml}\n=> {error}"),
    }
}

fn error(yaml: &str) -> String {
    match parse(yaml) {
        Ok(loaded) => panic!("{yaml}\n=> parsed: {loaded:?}"),
        Err(error) => error.to_string(),
    }
}

fn warning_keys(loaded: &Loaded) -> Vec<String> {
    loaded.warnings.iter().map(|w| w.to_string()).collect()
}

#[test]
fn empty_file_means_vcluster_defaults() {
    for yaml in ["", "\n# just a comment\n", "---\n"] {
        let loaded = load(yaml);
        assert!(loaded.warnings.is_empty());
        assert_eq!(loaded.config, SyncerConfig::default());
    }
    let config = SyncerConfig::default();
    let to_host = &config.sync.to_host;
    assert!(to_host.pods.enabled);
    assert!(to_host.services);
    assert!(to_host.endpoints);
    assert!(to_host.endpoint_slices);
    assert!(to_host.persistent_volume_claims);
    assert_eq!(
        to_host.config_maps,
        SyncAll {
            enabled: true,
            all: false
        }
    );
    assert_eq!(
        to_host.secrets,
        SyncAll {
            enabled: true,
            all: false
        }
    );
    assert!(!to_host.ingresses);
    assert!(!to_host.network_policies);
    assert!(!to_host.service_accounts);
    assert!(!to_host.pod_disruption_budgets);
    assert!(!to_host.priority_classes);
    assert!(!to_host.storage_classes);
    assert!(!to_host.persistent_volumes);
    assert!(to_host.custom_resources.is_empty());
    assert_eq!(
        to_host
            .pods
            .rewrite_hosts
            .as_ref()
            .map(|r| r.image.as_str()),
        Some("mirror.gcr.io/library/alpine:3.20")
    );

    let from_host = &config.sync.from_host;
    assert!(from_host.events);
    assert_eq!(from_host.nodes, NodeSync::default());
    assert!(!from_host.ingress_classes.enabled);
    assert!(!from_host.storage_classes.enabled);
    assert!(!from_host.csi_nodes && !from_host.csi_drivers && !from_host.csi_storage_capacities);
    assert!(!from_host.runtime_classes.enabled);
    assert!(!from_host.priority_classes.enabled);
    assert!(!from_host.config_maps.enabled && !from_host.secrets.enabled);

    assert_eq!(config.networking.cluster_domain, "cluster.local");
    assert_eq!(
        config.networking.replicate_services,
        ReplicateServices::default()
    );
    assert!(config.dns_enabled);
    assert!(!config.multi_namespace_mode);
    assert_eq!(config.workload_service_account, None);
}

#[test]
fn current_keys() {
    let loaded = load(
        r#"
sync:
  toHost:
    pods:
      enabled: true
      translateImage:
        nginx: mirror.local/nginx
      enforceTolerations: ["dedicated=tenants:NoSchedule", "spot:NoExecute", "*"]
      runtimeClassName: gvisor
      rewriteHosts:
        enabled: false
    ingresses:
      enabled: true
    networkPolicies:
      enabled: true
    serviceAccounts:
      enabled: true
    podDisruptionBudgets:
      enabled: true
    priorityClasses:
      enabled: true
    configMaps:
      all: true
    secrets:
      enabled: false
    endpointSlices:
      enabled: false
  fromHost:
    events:
      enabled: false
    nodes:
      enabled: true
      selector:
        labels:
          pool: tenants
    ingressClasses:
      enabled: false
    storageClasses:
      enabled: true
    csiNodes:
      enabled: auto
    csiDrivers:
      enabled: "true"
networking:
  replicateServices:
    toHost:
      - from: my-virtual-namespace/my-virtual-service
        to: my-host-service
    fromHost:
      - from: my-host-namespace/my-host-service
        to: my-virtual-namespace/my-virtual-service
  advanced:
    clusterDomain: tenant.example
controlPlane:
  coredns:
    enabled: false
  advanced:
    workloadServiceAccount:
      name: tenant-workloads
"#,
    );
    assert_eq!(loaded.warnings, vec![]);
    let config = loaded.config;
    let pods = &config.sync.to_host.pods;
    assert_eq!(
        pods.translate_image,
        BTreeMap::from([("nginx".to_owned(), "mirror.local/nginx".to_owned())])
    );
    let tolerations: Vec<_> = pods
        .enforce_tolerations
        .iter()
        .map(|t| serde_json::to_value(t).unwrap())
        .collect();
    assert_eq!(
        tolerations,
        vec![
            serde_json::json!({"key": "dedicated", "operator": "Equal", "value": "tenants", "effect": "NoSchedule"}),
            serde_json::json!({"key": "spot", "operator": "Exists", "effect": "NoExecute"}),
            serde_json::json!({"operator": "Exists"}),
        ]
    );
    assert_eq!(pods.runtime_class_name.as_deref(), Some("gvisor"));
    assert_eq!(pods.rewrite_hosts, None);
    let to_host = &config.sync.to_host;
    assert!(to_host.ingresses && to_host.network_policies && to_host.service_accounts);
    assert!(to_host.pod_disruption_budgets && to_host.priority_classes);
    assert_eq!(
        to_host.config_maps,
        SyncAll {
            enabled: true,
            all: true
        }
    );
    assert!(!to_host.secrets.enabled);
    assert!(!to_host.endpoint_slices);
    let from_host = &config.sync.from_host;
    assert!(!from_host.events);
    assert!(from_host.nodes.enabled);
    assert_eq!(
        from_host.nodes.selector_labels,
        BTreeMap::from([("pool".to_owned(), "tenants".to_owned())])
    );
    // explicitly off although ingresses sync is on
    assert!(!from_host.ingress_classes.enabled);
    assert!(from_host.storage_classes.enabled);
    assert!(!from_host.csi_nodes);
    assert!(from_host.csi_drivers);
    assert_eq!(
        config.networking.replicate_services,
        ReplicateServices {
            to_host: vec![ServiceMapping {
                from: ServiceRef {
                    namespace: Some("my-virtual-namespace".into()),
                    name: "my-virtual-service".into()
                },
                to: ServiceRef {
                    namespace: None,
                    name: "my-host-service".into()
                },
            }],
            from_host: vec![ServiceMapping {
                from: ServiceRef {
                    namespace: Some("my-host-namespace".into()),
                    name: "my-host-service".into()
                },
                to: ServiceRef {
                    namespace: Some("my-virtual-namespace".into()),
                    name: "my-virtual-service".into()
                },
            }],
        }
    );
    assert_eq!(config.networking.cluster_domain, "tenant.example");
    assert!(!config.dns_enabled);
    assert_eq!(
        config.workload_service_account.as_deref(),
        Some("tenant-workloads")
    );
}

#[test]
fn ingress_classes_follow_ingress_sync_unless_set() {
    let on = load("sync:\n  toHost:\n    ingresses:\n      enabled: true\n");
    assert!(on.config.sync.from_host.ingress_classes.enabled);
    let off = load(
        "sync:\n  toHost:\n    ingresses:\n      enabled: true\n  fromHost:\n    ingressClasses:\n      enabled: false\n",
    );
    assert!(!off.config.sync.from_host.ingress_classes.enabled);
    let alone = load("sync:\n  fromHost:\n    ingressClasses:\n      enabled: true\n");
    assert!(alone.config.sync.from_host.ingress_classes.enabled);
    assert!(!alone.config.sync.to_host.ingresses);
}

#[test]
fn legacy_keys_from_the_networking_seed() {
    // The keys of the "Network & DNS" product document.
    let loaded = load(
        r#"
mapServices:
  fromHost:
  - from: my-host-namespace/my-host-service
    to: my-virtual-namespace/my-virtual-service
  fromVirtual:
  - from: my-virtual-namespace/my-virtual-service
    to: my-host-service
sync:
  ingresses:
    enabled: true
  ingressclasses:
    enabled: false
  networkpolicies:
    enabled: true
"#,
    );
    assert_eq!(
        warning_keys(&loaded),
        vec![
            "sync.ingresses.enabled: deprecated, use sync.toHost.ingresses.enabled",
            "sync.networkpolicies.enabled: deprecated, use sync.toHost.networkPolicies.enabled",
            "sync.ingressclasses.enabled: deprecated, use sync.fromHost.ingressClasses.enabled",
            "mapServices.fromVirtual: deprecated, use networking.replicateServices.toHost",
            "mapServices.fromHost: deprecated, use networking.replicateServices.fromHost",
        ]
    );
    let config = loaded.config;
    assert!(config.sync.to_host.ingresses);
    assert!(!config.sync.from_host.ingress_classes.enabled);
    assert!(config.sync.to_host.network_policies);
    let replicate = &config.networking.replicate_services;
    assert_eq!(replicate.to_host[0].to.name, "my-host-service");
    assert_eq!(
        replicate.from_host[0].from.namespace.as_deref(),
        Some("my-host-namespace")
    );
    // ingress classes follow legacy ingress sync too
    let follow = load("sync:\n  ingresses:\n    enabled: true\n");
    assert!(follow.config.sync.from_host.ingress_classes.enabled);
}

#[test]
fn every_legacy_sync_key_maps_onto_its_current_key() {
    let loaded = load(
        r#"
sync:
  services: {enabled: false}
  configmaps: {enabled: true, all: true}
  secrets: {enabled: false}
  endpoints: {enabled: false}
  pods: {enabled: true}
  events: {enabled: false}
  persistentvolumeclaims: {enabled: false}
  nodes: {enabled: true, syncAllNodes: true, nodeSelector: "pool=a,zone=b", syncNodeChanges: true}
  persistentvolumes: {enabled: true}
  storageclasses: {enabled: true}
  priorityclasses: {enabled: true}
  poddisruptionbudgets: {enabled: true}
  serviceaccounts: {enabled: true}
  csinodes: {enabled: true}
  csidrivers: {enabled: true}
  csistoragecapacities: {enabled: true}
coredns:
  enabled: false
multiNamespaceMode:
  enabled: true
fallbackHostDns: true
"#,
    );
    let c = &loaded.config;
    let t = &c.sync.to_host;
    let f = &c.sync.from_host;
    assert!(!t.services && !t.secrets.enabled && !t.endpoints && !t.persistent_volume_claims);
    assert_eq!(
        t.config_maps,
        SyncAll {
            enabled: true,
            all: true
        }
    );
    assert!(t.pods.enabled && t.persistent_volumes && t.storage_classes && t.priority_classes);
    assert!(t.pod_disruption_budgets && t.service_accounts);
    assert!(!f.events);
    assert_eq!(
        f.nodes,
        NodeSync {
            enabled: true,
            sync_back_changes: true,
            clear_image_status: false,
            all: true,
            selector_labels: BTreeMap::from([
                ("pool".to_owned(), "a".to_owned()),
                ("zone".to_owned(), "b".to_owned())
            ]),
        }
    );
    assert!(f.csi_nodes && f.csi_drivers && f.csi_storage_capacities);
    assert!(!c.dns_enabled);
    assert!(c.multi_namespace_mode);
    assert!(c.networking.fallback_host_cluster);
    assert_eq!(
        warning_keys(&loaded),
        vec![
            "coredns.enabled: deprecated, use controlPlane.coredns.enabled",
            "multiNamespaceMode.enabled: deprecated, use experimental.multiNamespaceMode.enabled",
            "sync.pods.enabled: deprecated, use sync.toHost.pods.enabled",
            "sync.services.enabled: deprecated, use sync.toHost.services.enabled",
            "sync.endpoints.enabled: deprecated, use sync.toHost.endpoints.enabled",
            "sync.persistentvolumeclaims.enabled: deprecated, use sync.toHost.persistentVolumeClaims.enabled",
            "sync.configmaps.enabled: deprecated, use sync.toHost.configMaps.enabled",
            "sync.configmaps.all: deprecated, use sync.toHost.configMaps.all",
            "sync.secrets.enabled: deprecated, use sync.toHost.secrets.enabled",
            "sync.serviceaccounts.enabled: deprecated, use sync.toHost.serviceAccounts.enabled",
            "sync.poddisruptionbudgets.enabled: deprecated, use sync.toHost.podDisruptionBudgets.enabled",
            "sync.priorityclasses.enabled: deprecated, use sync.toHost.priorityClasses.enabled",
            "sync.storageclasses.enabled: deprecated, use sync.toHost.storageClasses.enabled",
            "sync.persistentvolumes.enabled: deprecated, use sync.toHost.persistentVolumes.enabled",
            "sync.events.enabled: deprecated, use sync.fromHost.events.enabled",
            "sync.nodes.enabled: deprecated, use sync.fromHost.nodes.enabled",
            "sync.nodes.syncAllNodes: deprecated, use sync.fromHost.nodes.selector.all",
            "sync.nodes.nodeSelector: deprecated, use sync.fromHost.nodes.selector.labels",
            "sync.nodes.syncNodeChanges: deprecated, use sync.fromHost.nodes.syncBackChanges",
            "sync.csinodes.enabled: deprecated, use sync.fromHost.csiNodes.enabled",
            "sync.csidrivers.enabled: deprecated, use sync.fromHost.csiDrivers.enabled",
            "sync.csistoragecapacities.enabled: deprecated, use sync.fromHost.csiStorageCapacities.enabled",
            "fallbackHostDns: deprecated, use networking.advanced.fallbackHostCluster",
        ]
    );
}

#[test]
fn fake_nodes_is_inverted_node_sync() {
    let loaded = load("sync:\n  fake-nodes:\n    enabled: true\n");
    assert!(!loaded.config.sync.from_host.nodes.enabled);
    assert_eq!(
        warning_keys(&loaded),
        vec!["sync.fake-nodes.enabled (inverted): deprecated, use sync.fromHost.nodes.enabled"]
    );
    assert_eq!(
        error(
            "sync:\n  fake-nodes:\n    enabled: true\n  fromHost:\n    nodes:\n      enabled: true\n"
        ),
        "sync.fake-nodes.enabled (inverted) is false but sync.fromHost.nodes.enabled is true: set only sync.fromHost.nodes.enabled (the legacy key is deprecated)"
    );
}

#[test]
fn both_generations_agreeing_is_a_warning_disagreeing_an_error() {
    let agree = load(
        "sync:\n  ingresses:\n    enabled: true\n  toHost:\n    ingresses:\n      enabled: true\n",
    );
    assert!(agree.config.sync.to_host.ingresses);
    assert_eq!(
        warning_keys(&agree),
        vec!["sync.ingresses.enabled: deprecated, use sync.toHost.ingresses.enabled"]
    );
    assert_eq!(
        error(
            "sync:\n  ingresses:\n    enabled: true\n  toHost:\n    ingresses:\n      enabled: false\n"
        ),
        "sync.ingresses.enabled is true but sync.toHost.ingresses.enabled is false: set only sync.toHost.ingresses.enabled (the legacy key is deprecated)"
    );
    assert_eq!(
        error(
            "sync:\n  nodes:\n    enabled: false\n  fromHost:\n    nodes:\n      enabled: true\n"
        ),
        "sync.nodes.enabled is false but sync.fromHost.nodes.enabled is true: set only sync.fromHost.nodes.enabled (the legacy key is deprecated)"
    );
    assert_eq!(
        error(
            "mapServices:\n  fromVirtual:\n  - {from: a/b, to: c}\nnetworking:\n  replicateServices:\n    toHost:\n    - {from: a/b, to: d}\n"
        ),
        r#"mapServices.fromVirtual is [{"from":"a/b","to":"c"}] but networking.replicateServices.toHost is [{"from":"a/b","to":"d"}]: set only networking.replicateServices.toHost (the legacy key is deprecated)"#
    );
    assert_eq!(
        error("coredns:\n  enabled: false\ncontrolPlane:\n  coredns:\n    enabled: true\n"),
        "coredns.enabled is false but controlPlane.coredns.enabled is true: set only controlPlane.coredns.enabled (the legacy key is deprecated)"
    );
}

#[test]
fn unknown_keys_name_their_full_path() {
    assert_eq!(
        error("sync:\n  toHost:\n    pods:\n      enabeld: true\n"),
        "sync.toHost.pods.enabeld: unknown field (expected `enabled`, `translateImage`, `enforceTolerations`, `runtimeClassName`, `priorityClassName`, `rewriteHosts`, `useSecretsForSATokens`, `hybridScheduling`, `patches`)"
    );
    assert!(
        error("sync:\n  tohost: {}\n")
            .starts_with("sync.tohost: unknown field (expected `toHost`, "),
    );
    assert!(error("sycn: {}\n").starts_with("sycn: unknown field (expected `sync`, "));
    assert_eq!(
        error("networking:\n  replicateServices:\n    toHost:\n    - from: a/b\n      too: c\n"),
        "networking.replicateServices.toHost[0].too: unknown field (expected `from` or `to`)"
    );
    assert_eq!(
        error("sync:\n  fromHost:\n    nodes:\n      selector:\n        label: {}\n"),
        "sync.fromHost.nodes.selector.label: unknown field (expected `all` or `labels`)"
    );
    assert_eq!(
        error("sync:\n  ingresses:\n    enable: true\n"),
        "sync.ingresses.enable: unknown field (expected `enabled`)"
    );
}

#[test]
fn wrong_types_name_the_path_and_the_expected_type() {
    assert_eq!(
        error("sync:\n  toHost:\n    pods:\n      enabled: yes\n"),
        r#"sync.toHost.pods.enabled: invalid type: string "yes", expected a boolean"#
    );
    assert_eq!(
        error("networking:\n  replicateServices:\n    toHost: my-service\n"),
        r#"networking.replicateServices.toHost: invalid type: string "my-service", expected a sequence"#
    );
    assert_eq!(
        error("sync:\n  fromHost:\n    csiNodes:\n      enabled: sometimes\n"),
        r#"sync.fromHost.csiNodes.enabled: invalid value: string "sometimes", expected a boolean or "auto""#
    );
    assert_eq!(
        error("sync:\n  toHost:\n    pods:\n      translateImage: [a]\n"),
        "sync.toHost.pods.translateImage: invalid type: sequence, expected a map"
    );
    assert_eq!(
        error("sync: [1]\n"),
        "sync: invalid type: sequence, expected struct RawSync"
    );
    assert!(
        error("- a\n")
            .starts_with("invalid YAML: invalid type: sequence, expected struct RawConfig")
    );
    assert_eq!(
        error("sync: {\n"),
        "invalid YAML: did not find expected node content at line 2 column 1"
    );
}

#[test]
fn invalid_values() {
    assert_eq!(
        error("sync:\n  toHost:\n    pods:\n      enforceTolerations: [\"a:Sometimes\"]\n"),
        r#"sync.toHost.pods.enforceTolerations[0]: invalid toleration "a:Sometimes": effect must be NoSchedule, PreferNoSchedule or NoExecute"#
    );
    assert_eq!(
        error("networking:\n  replicateServices:\n    toHost:\n    - {from: my-service, to: b}\n"),
        "networking.replicateServices.toHost[0].from: the virtual service needs its namespace: namespace/my-service"
    );
    assert_eq!(
        error("networking:\n  replicateServices:\n    fromHost:\n    - {from: a/b/c, to: ns/b}\n"),
        r#"networking.replicateServices.fromHost[0].from: expected namespace/name or name, got "a/b/c""#
    );
    assert_eq!(
        error("networking:\n  replicateServices:\n    fromHost:\n    - {from: a/b}\n"),
        r#"networking.replicateServices.fromHost[0].to: expected namespace/name or name, got """#
    );
    assert_eq!(
        error("sync:\n  toHost:\n    customResources:\n      certificates: {enabled: true}\n"),
        "sync.toHost.customResources.certificates: expected <plural>.<group>, e.g. certificates.cert-manager.io"
    );
    assert_eq!(
        error("networking:\n  advanced:\n    clusterDomain: .local\n"),
        r#"networking.advanced.clusterDomain: invalid DNS domain ".local""#
    );
    assert_eq!(
        error("sync:\n  nodes:\n    nodeSelector: pool\n"),
        r#"sync.nodes.nodeSelector: expected key=value pairs, got "pool""#
    );
}

#[test]
fn multi_namespace_seed_document() {
    // The vcluster.yaml of the "Deploy with Multi-Namespace Mode" product document.
    let loaded = load(
        r#"
experimental:
  multiNamespaceMode:
    enabled: true

sync:
  toHost:
    # sync all secrets
    secrets:
      all: true

    # sync ingresses and allow "cert-manager.io/issuer" annotation
    ingresses:
      enabled: true

    customResources:
      # sync cert-manager certificates
      certificates.cert-manager.io:
        enabled: true
      # sync cert-manager issuers
      issuers.cert-manager.io:
        enabled: true

  fromHost:
    customResources:
      # sync cert-manager cluster issuers
      clusterissuers.cert-manager.io:
        enabled: true
"#,
    );
    assert!(loaded.warnings.is_empty());
    let config = loaded.config;
    assert!(config.multi_namespace_mode);
    assert_eq!(
        config.sync.to_host.secrets,
        SyncAll {
            enabled: true,
            all: true
        }
    );
    assert!(config.sync.to_host.ingresses);
    assert_eq!(
        config
            .sync
            .to_host
            .custom_resources
            .keys()
            .collect::<Vec<_>>(),
        vec!["certificates.cert-manager.io", "issuers.cert-manager.io"]
    );
    assert_eq!(
        config
            .sync
            .from_host
            .custom_resources
            .keys()
            .collect::<Vec<_>>(),
        vec!["clusterissuers.cert-manager.io"]
    );
}

#[test]
fn unsupported_combinations_name_the_keys() {
    assert_eq!(
        error(
            "experimental:\n  multiNamespaceMode:\n    enabled: true\nnetworking:\n  replicateServices:\n    toHost:\n    - {from: a/b, to: other-ns/b}\n"
        ),
        "experimental.multiNamespaceMode.enabled with networking.replicateServices.toHost[0].to: in multi-namespace mode a replicated service lands in the host namespace of its virtual namespace; give only a name"
    );
    // the same mapping without multi-namespace mode is fine
    load("networking:\n  replicateServices:\n    toHost:\n    - {from: a/b, to: other-ns/b}\n");
    assert_eq!(
        error(
            "experimental:\n  multiNamespaceMode:\n    enabled: true\nsync:\n  toHost:\n    networkPolicies:\n      enabled: true\n"
        ),
        "experimental.multiNamespaceMode.enabled with sync.toHost.networkPolicies.enabled: network policy translation needs all pods in one host namespace"
    );
    assert_eq!(
        error(
            "sync:\n  toHost:\n    storageClasses: {enabled: true}\n  fromHost:\n    storageClasses: {enabled: true}\n"
        ),
        "sync.toHost.storageClasses.enabled with sync.fromHost.storageClasses.enabled: storage classes can be synced one way only"
    );
    assert_eq!(
        error(
            "sync:\n  toHost:\n    priorityClasses: {enabled: true}\n  fromHost:\n    priorityClasses: {enabled: true}\n"
        ),
        "sync.toHost.priorityClasses.enabled with sync.fromHost.priorityClasses.enabled: priority classes can be synced one way only"
    );
}

#[test]
fn pro_only_and_missing_features_are_errors() {
    assert_eq!(
        error("sync:\n  toHost:\n    namespaces:\n      enabled: true\n"),
        "sync.toHost.namespaces.enabled: vCluster Pro namespace sync is not supported; use experimental.multiNamespaceMode.enabled for one host namespace per virtual namespace"
    );
    assert_eq!(
        error(
            "sync:\n  toHost:\n    pods:\n      patches:\n      - path: metadata.annotations\n        expression: value\n"
        ),
        "sync.toHost.pods.patches: translate patches are a vCluster Pro feature warren does not implement"
    );
    assert_eq!(
        error("networking:\n  resolveDNS:\n  - hostname: a\n    service: b\n    namespace: c\n"),
        "networking.resolveDNS: extra DNS rules (a vCluster Pro feature) are not supported by warren yet"
    );
    assert_eq!(
        error("privateNodes:\n  enabled: true\n"),
        "privateNodes.enabled: private nodes are not supported by warren; pods run on the host cluster's nodes"
    );
    assert_eq!(
        error("controlPlane:\n  advanced:\n    virtualScheduler:\n      enabled: true\n"),
        "controlPlane.advanced.virtualScheduler.enabled: warren runs no virtual scheduler; the host cluster schedules synced pods"
    );
    assert_eq!(
        error(
            "sync:\n  toHost:\n    customResources:\n      issuers.cert-manager.io:\n        enabled: true\n        scope: Cluster\n"
        ),
        "sync.toHost.customResources.issuers.cert-manager.io.scope: only Namespaced custom resources can be synced to the host"
    );
    assert_eq!(
        error("sync:\n  toHost:\n    pods:\n      useSecretsForSATokens: true\n"),
        "sync.toHost.pods.useSecretsForSATokens: warren passes service account tokens through pod annotations only"
    );
    // the same features switched off are accepted (a full `helm get values -a` dump has them)
    let off = load(
        "privateNodes:\n  enabled: false\nsync:\n  toHost:\n    namespaces:\n      enabled: false\n    resourceClaims:\n      enabled: false\n    pods:\n      patches: []\n",
    );
    assert!(off.warnings.is_empty());
}

#[test]
fn vcluster_deployment_settings_are_ignored_with_warnings() {
    let loaded = load(
        r#"
controlPlane:
  distro:
    k8s:
      enabled: true
  statefulSet:
    resources:
      limits:
        memory: 2Gi
  coredns:
    embedded: true
    deployment:
      replicas: 2
telemetry:
  enabled: false
"#,
    );
    assert_eq!(
        warning_keys(&loaded),
        vec![
            "telemetry: ignored: a vCluster deployment setting warren has no use for",
            "controlPlane.distro: ignored: a vCluster deployment setting warren has no use for",
            "controlPlane.statefulSet: ignored: a vCluster deployment setting warren has no use for",
            "controlPlane.coredns.deployment: ignored: a vCluster deployment setting warren has no use for",
        ]
    );
    assert!(loaded.config.dns_enabled);
}

#[test]
fn generated_schema_is_committed() {
    let generated = format!(
        "{}\n",
        serde_json::to_string_pretty(&json_schema()).expect("schema serializes")
    );
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/vcluster.schema.json");
    if std::env::var_os("WARREN_UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &generated).expect("write schema");
    }
    // Compared as JSON values: key order may differ if serde_json's preserve_order is on.
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default())
            .unwrap_or_default();
    assert!(
        committed == json_schema(),
        "components/syncer/vcluster.schema.json is out of date: run WARREN_UPDATE_SCHEMA=1 cargo test -p warren-syncer generated_schema_is_committed"
    );
}

#[test]
fn schema_rejects_unknown_keys_and_describes_legacy_ones() {
    let schema = json_schema();
    assert_eq!(schema["additionalProperties"], serde_json::json!(false));
    assert_eq!(schema["title"], "vcluster.yaml (warren)");
    let sync = &schema["$defs"]["RawSync"];
    assert_eq!(sync["additionalProperties"], serde_json::json!(false));
    assert_eq!(
        sync["properties"]["ingresses"]["description"],
        "Legacy: use sync.toHost.ingresses."
    );
    assert!(sync["properties"]["fake-nodes"].is_object());
    assert_eq!(
        schema["$defs"]["AutoBool"]["oneOf"][1]["enum"],
        serde_json::json!(["auto", "true", "false"])
    );
}
