//! `vcluster.yaml` exactly as written: both key generations, every value optional so the
//! resolver can tell "not set" from "set to the default". The JSON schema is generated from
//! these types; the doc comments are its descriptions.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// A vCluster configuration file (`vcluster.yaml`, or legacy Helm `values.yaml`) as warren
/// reads it.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "vcluster.yaml (warren)")]
pub struct RawConfig {
    /// What to sync between the virtual and the host cluster.
    pub sync: Option<RawSync>,
    /// Networking of the virtual cluster.
    pub networking: Option<RawNetworking>,
    /// The virtual cluster's control plane.
    pub control_plane: Option<RawControlPlane>,
    /// Experimental features.
    pub experimental: Option<RawExperimental>,

    /// Legacy (vCluster < 0.20): use networking.replicateServices.
    pub map_services: Option<LegacyMapServices>,
    /// Legacy (vCluster < 0.20): use controlPlane.coredns.
    pub coredns: Option<LegacyCoreDns>,
    /// Legacy (vCluster < 0.20): use experimental.multiNamespaceMode.
    pub multi_namespace_mode: Option<LegacySwitch>,
    /// Legacy (vCluster < 0.20): use networking.advanced.fallbackHostCluster.
    pub fallback_host_dns: Option<bool>,

    /// vCluster deployment setting; accepted and ignored by warren.
    pub global: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub export_kube_config: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub integrations: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub deploy: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub policies: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub rbac: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub plugins: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub plugin: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub telemetry: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub logging: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    #[serde(rename = "serviceCIDR")]
    pub service_cidr: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub pro: Option<Value>,

    /// vCluster private nodes; not supported by warren (only `enabled: false` is accepted).
    pub private_nodes: Option<Value>,
    /// vCluster Platform sleep mode; configure it on the warren platform instead.
    pub sleep: Option<Value>,
    /// vCluster Pro snapshots; not supported by warren.
    pub snapshots: Option<Value>,
    /// vCluster Pro deletion settings; not supported by warren.
    pub deletion: Option<Value>,
    /// vCluster Platform connection; not supported by warren.
    pub platform: Option<Value>,
}

/// `sync`: current keys under toHost/fromHost, legacy keys directly under sync.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawSync {
    /// Resources synced from the virtual cluster to the host cluster.
    pub to_host: Option<RawToHost>,
    /// Resources synced from the host cluster into the virtual cluster.
    pub from_host: Option<RawFromHost>,

    /// Legacy: use sync.toHost.services.
    pub services: Option<LegacySwitch>,
    /// Legacy: use sync.toHost.configMaps.
    pub configmaps: Option<LegacySyncAll>,
    /// Legacy: use sync.toHost.secrets.
    pub secrets: Option<LegacySyncAll>,
    /// Legacy: use sync.toHost.endpoints.
    pub endpoints: Option<LegacySwitch>,
    /// Legacy: use sync.toHost.pods.
    pub pods: Option<LegacyPods>,
    /// Legacy: use sync.fromHost.events.
    pub events: Option<LegacySwitch>,
    /// Legacy: use sync.toHost.persistentVolumeClaims.
    pub persistentvolumeclaims: Option<LegacySwitch>,
    /// Legacy: use sync.toHost.ingresses.
    pub ingresses: Option<LegacySwitch>,
    /// Legacy: use sync.fromHost.ingressClasses.
    pub ingressclasses: Option<LegacySwitch>,
    /// Legacy: use sync.fromHost.nodes.
    pub nodes: Option<LegacyNodes>,
    /// Legacy: `enabled: true` means sync.fromHost.nodes.enabled false.
    #[serde(rename = "fake-nodes")]
    pub fake_nodes: Option<LegacySwitch>,
    /// Legacy: use sync.toHost.persistentVolumes.
    pub persistentvolumes: Option<LegacySwitch>,
    /// Legacy: use sync.toHost.storageClasses.
    pub storageclasses: Option<LegacySwitch>,
    /// Legacy: use sync.fromHost.storageClasses.
    pub hoststorageclasses: Option<LegacySwitch>,
    /// Legacy: use sync.toHost.priorityClasses.
    pub priorityclasses: Option<LegacySwitch>,
    /// Legacy: use sync.toHost.networkPolicies.
    pub networkpolicies: Option<LegacySwitch>,
    /// Legacy: use sync.toHost.podDisruptionBudgets.
    pub poddisruptionbudgets: Option<LegacySwitch>,
    /// Legacy: use sync.toHost.serviceAccounts.
    pub serviceaccounts: Option<LegacySwitch>,
    /// Legacy: use sync.fromHost.csiNodes.
    pub csinodes: Option<LegacySwitch>,
    /// Legacy: use sync.fromHost.csiDrivers.
    pub csidrivers: Option<LegacySwitch>,
    /// Legacy: use sync.fromHost.csiStorageCapacities.
    pub csistoragecapacities: Option<LegacySwitch>,
    /// Legacy generic sync; not supported by warren (use customResources).
    pub generic: Option<Value>,
}

/// `sync.toHost`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawToHost {
    /// Pods created in the virtual cluster run on the host (default on).
    pub pods: Option<RawPods>,
    /// Secrets referenced by pods (or all) are copied to the host (default on, all off).
    pub secrets: Option<RawSyncAll>,
    /// ConfigMaps referenced by pods (or all) are copied to the host (default on, all off).
    pub config_maps: Option<RawSyncAll>,
    /// Ingresses (default off).
    pub ingresses: Option<RawSwitch>,
    /// Services (default on).
    pub services: Option<RawSwitch>,
    /// Endpoints of selector-less Services (default on).
    pub endpoints: Option<RawSwitch>,
    /// EndpointSlices (default on).
    pub endpoint_slices: Option<RawSwitch>,
    /// NetworkPolicies (default off).
    pub network_policies: Option<RawSwitch>,
    /// PersistentVolumeClaims (default on).
    pub persistent_volume_claims: Option<RawSwitch>,
    /// PersistentVolumes (default off).
    pub persistent_volumes: Option<RawSwitch>,
    /// StorageClasses (default off).
    pub storage_classes: Option<RawSwitch>,
    /// ServiceAccounts (default off).
    pub service_accounts: Option<RawSwitch>,
    /// PodDisruptionBudgets (default off).
    pub pod_disruption_budgets: Option<RawSwitch>,
    /// PriorityClasses (default off).
    pub priority_classes: Option<RawSwitch>,
    /// Custom resources by `<plural>.<group>`.
    pub custom_resources: Option<BTreeMap<String, RawCustomResource>>,
    /// vCluster Pro namespace sync; warren uses experimental.multiNamespaceMode instead.
    pub namespaces: Option<Value>,
    /// Not supported by warren (only `enabled: false` is accepted).
    pub resource_claims: Option<Value>,
    /// Not supported by warren (only `enabled: false` is accepted).
    pub resource_claim_templates: Option<Value>,
    /// Not supported by warren (only `enabled: false` is accepted).
    pub gateway_api: Option<Value>,
    /// Removed from vCluster; only `enabled: false` is accepted.
    pub volume_snapshots: Option<Value>,
    /// Removed from vCluster; only `enabled: false` is accepted.
    pub volume_snapshot_contents: Option<Value>,
}

/// `sync.fromHost`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawFromHost {
    /// Host nodes shown in the virtual cluster (default off: fake nodes).
    pub nodes: Option<RawNodes>,
    /// Host events about synced objects (default on).
    pub events: Option<RawSwitch>,
    /// IngressClasses (default: on when sync.toHost.ingresses is on).
    pub ingress_classes: Option<RawSwitchSelector>,
    /// RuntimeClasses (default off).
    pub runtime_classes: Option<RawSwitchSelector>,
    /// PriorityClasses (default off).
    pub priority_classes: Option<RawSwitchSelector>,
    /// StorageClasses (`auto` by default, which is off in warren: no virtual scheduler).
    pub storage_classes: Option<RawAutoSwitchSelector>,
    /// CSINodes (`auto` by default, off in warren).
    pub csi_nodes: Option<RawAutoSwitch>,
    /// CSIDrivers (`auto` by default, off in warren).
    pub csi_drivers: Option<RawAutoSwitch>,
    /// CSIStorageCapacities (`auto` by default, off in warren).
    pub csi_storage_capacities: Option<RawAutoSwitch>,
    /// Host ConfigMaps mapped into the virtual cluster (default off).
    pub config_maps: Option<RawMappedSwitch>,
    /// Host Secrets mapped into the virtual cluster (default off).
    pub secrets: Option<RawMappedSwitch>,
    /// Host custom resources shown read-only in the virtual cluster, by `<plural>.<group>`.
    pub custom_resources: Option<BTreeMap<String, RawCustomResource>>,
    /// Not supported by warren (only `enabled: false` is accepted).
    pub gateway_classes: Option<Value>,
    /// Not supported by warren (only `enabled: false` is accepted).
    pub gateways: Option<Value>,
    /// Not supported by warren (only `enabled: false` is accepted).
    pub device_classes: Option<Value>,
    /// Removed from vCluster; only `enabled: false` is accepted.
    pub volume_snapshot_classes: Option<Value>,
}

/// An on/off switch.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawSwitch {
    /// Whether this is enabled.
    pub enabled: Option<bool>,
    /// vCluster Pro translate patches; not supported by warren.
    pub patches: Option<Value>,
}

/// An on/off switch with "sync everything, not only what pods reference".
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawSyncAll {
    /// Whether this is enabled.
    pub enabled: Option<bool>,
    /// Sync all objects of this kind, not only the ones pods reference.
    pub all: Option<bool>,
    /// vCluster Pro translate patches; not supported by warren.
    pub patches: Option<Value>,
}

/// An on/off switch with a label selector on the host objects.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawSwitchSelector {
    /// Whether this is enabled.
    pub enabled: Option<bool>,
    /// Only host objects matching this selector are synced.
    pub selector: Option<LabelSelector>,
    /// vCluster Pro translate patches; not supported by warren.
    pub patches: Option<Value>,
}

/// `true`, `false` or `"auto"` (strings `"true"`/`"false"` accepted too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoBool {
    Auto,
    On,
    Off,
}

impl<'de> Deserialize<'de> for AutoBool {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = AutoBool;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a boolean or \"auto\"")
            }
            fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<AutoBool, E> {
                Ok(if value { AutoBool::On } else { AutoBool::Off })
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<AutoBool, E> {
                match value {
                    "auto" => Ok(AutoBool::Auto),
                    "true" => Ok(AutoBool::On),
                    "false" => Ok(AutoBool::Off),
                    other => Err(E::invalid_value(serde::de::Unexpected::Str(other), &self)),
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl JsonSchema for AutoBool {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AutoBool".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "true, false or \"auto\"",
            "oneOf": [
                {"type": "boolean"},
                {"type": "string", "enum": ["auto", "true", "false"]}
            ]
        })
    }
}

/// A switch that may be `auto`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawAutoSwitch {
    /// Whether this is enabled; `auto` follows the virtual scheduler, which warren doesn't run.
    pub enabled: Option<AutoBool>,
    /// vCluster Pro translate patches; not supported by warren.
    pub patches: Option<Value>,
}

/// A switch that may be `auto`, with a selector on the host objects.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawAutoSwitchSelector {
    /// Whether this is enabled; `auto` follows the virtual scheduler, which warren doesn't run.
    pub enabled: Option<AutoBool>,
    /// Only host objects matching this selector are synced.
    pub selector: Option<LabelSelector>,
    /// vCluster Pro translate patches; not supported by warren.
    pub patches: Option<Value>,
}

/// A fromHost switch with host -> virtual name mappings.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawMappedSwitch {
    /// Whether this is enabled.
    pub enabled: Option<bool>,
    /// Which host objects appear where in the virtual cluster.
    pub mappings: Option<RawMappings>,
    /// vCluster Pro translate patches; not supported by warren.
    pub patches: Option<Value>,
}

/// Name mappings.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawMappings {
    /// `"hostNamespace/name": "virtualNamespace/name"`; `*` as the name maps a whole
    /// namespace, `""` (or a leading `/`) is the virtual cluster's own host namespace.
    pub by_name: Option<BTreeMap<String, String>>,
}

/// Custom resource sync of one `<plural>.<group>`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawCustomResource {
    /// Whether this is enabled.
    pub enabled: Option<bool>,
    /// `Namespaced` or `Cluster`; toHost supports only `Namespaced`.
    pub scope: Option<Scope>,
    /// fromHost only: which host objects appear where.
    pub mappings: Option<RawMappings>,
    /// vCluster Pro translate patches; not supported by warren.
    pub patches: Option<Value>,
}

/// Scope of a custom resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
pub enum Scope {
    Namespaced,
    Cluster,
}

/// `sync.toHost.pods`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawPods {
    /// Whether pods are synced.
    pub enabled: Option<bool>,
    /// Virtual image -> host image, matched on the exact image string.
    pub translate_image: Option<BTreeMap<String, String>>,
    /// Tolerations added to every host pod: `key[=value]:Effect`, `key[=value]` or `*`.
    pub enforce_tolerations: Option<Vec<String>>,
    /// Runtime class set on every host pod.
    pub runtime_class_name: Option<String>,
    /// Priority class set on host pods that have none.
    pub priority_class_name: Option<String>,
    /// Rewrite /etc/hosts of pods with a subdomain so `hostname -f` shows the virtual FQDN.
    pub rewrite_hosts: Option<RawRewriteHosts>,
    /// Not supported by warren (tokens travel in annotations); only `false` is accepted.
    #[serde(rename = "useSecretsForSATokens")]
    pub use_secrets_for_sa_tokens: Option<bool>,
    /// Not supported by warren (only `enabled: false` is accepted).
    pub hybrid_scheduling: Option<Value>,
    /// vCluster Pro translate patches; not supported by warren.
    pub patches: Option<Value>,
}

/// `sync.toHost.pods.rewriteHosts`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRewriteHosts {
    /// Whether the /etc/hosts rewrite init container is added (default on).
    pub enabled: Option<bool>,
    /// The init container.
    pub init_container: Option<RawRewriteHostsInitContainer>,
}

/// `sync.toHost.pods.rewriteHosts.initContainer`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawRewriteHostsInitContainer {
    /// Image with a POSIX `sh` and `sed`.
    pub image: Option<RawImage>,
    /// Resources: `limits`/`requests` maps of quantities.
    pub resources: Option<RawResources>,
}

/// A container image reference.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawImage {
    /// Registry, e.g. `ghcr.io`; empty means Docker Hub.
    pub registry: Option<String>,
    /// Repository, e.g. `library/alpine`.
    pub repository: Option<String>,
    /// Tag.
    pub tag: Option<String>,
}

/// Container resources.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawResources {
    /// Limits, e.g. `cpu: 30m`.
    pub limits: Option<BTreeMap<String, String>>,
    /// Requests, e.g. `memory: 64Mi`.
    pub requests: Option<BTreeMap<String, String>>,
}

/// `sync.fromHost.nodes`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawNodes {
    /// Show real host nodes (default off: fake nodes for the nodes pods run on).
    pub enabled: Option<bool>,
    /// Copy label and taint changes made in the virtual cluster back to host nodes.
    pub sync_back_changes: Option<bool>,
    /// Hide the images list of nodes.
    pub clear_image_status: Option<bool>,
    /// Which host nodes are shown.
    pub selector: Option<RawNodeSelector>,
    /// vCluster Pro translate patches; not supported by warren.
    pub patches: Option<Value>,
}

/// `sync.fromHost.nodes.selector`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawNodeSelector {
    /// All nodes, not only those running synced pods.
    pub all: Option<bool>,
    /// Only nodes with these labels (also set as nodeSelector on synced pods).
    pub labels: Option<BTreeMap<String, String>>,
}

/// `networking`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawNetworking {
    /// Services mirrored between the virtual and the host cluster.
    pub replicate_services: Option<RawReplicateServices>,
    /// Advanced networking.
    pub advanced: Option<RawNetworkingAdvanced>,
    /// Service CIDR of the virtual cluster (informational; the host assigns cluster IPs).
    #[serde(rename = "serviceCIDR")]
    pub service_cidr: Option<String>,
    /// Pod CIDR; accepted and ignored (pods get host IPs).
    #[serde(rename = "podCIDR")]
    pub pod_cidr: Option<String>,
    /// vCluster Pro extra DNS rules; not supported by warren yet.
    #[serde(rename = "resolveDNS")]
    pub resolve_dns: Option<Value>,
}

/// `networking.replicateServices`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawReplicateServices {
    /// Virtual services exposed in the host cluster.
    pub to_host: Option<Vec<RawServiceMapping>>,
    /// Host services exposed in the virtual cluster.
    pub from_host: Option<Vec<RawServiceMapping>>,
}

/// One replicated service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawServiceMapping {
    /// The source service: `namespace/name` or `name`.
    pub from: Option<String>,
    /// The target service: `namespace/name` or `name`.
    pub to: Option<String>,
}

/// `networking.advanced`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawNetworkingAdvanced {
    /// DNS domain of the virtual cluster (default `cluster.local`).
    pub cluster_domain: Option<String>,
    /// Names the virtual DNS can't answer are asked of the host cluster's DNS.
    pub fallback_host_cluster: Option<bool>,
    /// vCluster kubelet proxy settings; accepted and ignored by warren.
    pub proxy_kubelets: Option<Value>,
}

/// `controlPlane`: the parts warren uses; the vCluster deployment settings are ignored.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawControlPlane {
    /// Cluster DNS of the virtual cluster (warren's embedded DNS).
    pub coredns: Option<RawCoreDns>,
    /// Advanced control plane settings.
    pub advanced: Option<RawControlPlaneAdvanced>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub endpoint: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub distro: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren (state lives in SQLite).
    pub backing_store: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub standalone: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub proxy: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub host_path_mapper: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub ingress: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub tls_route: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub service: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub stateful_set: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub service_monitor: Option<Value>,
}

/// `controlPlane.coredns`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawCoreDns {
    /// Whether the virtual cluster has its own DNS (default on).
    pub enabled: Option<bool>,
    /// Run DNS inside the syncer process; warren's DNS always is, so this changes nothing.
    pub embedded: Option<bool>,
    /// CoreDNS deployment setting; accepted and ignored by warren.
    pub deployment: Option<Value>,
    /// CoreDNS deployment setting; accepted and ignored by warren.
    pub service: Option<Value>,
    /// CoreDNS deployment setting; accepted and ignored by warren.
    pub security: Option<Value>,
    /// CoreDNS deployment setting; accepted and ignored by warren.
    pub priority_class_name: Option<Value>,
    /// A Corefile; not supported by warren's DNS.
    pub overwrite_config: Option<Value>,
    /// CoreDNS manifests; not supported by warren's DNS.
    pub overwrite_manifests: Option<Value>,
}

/// `controlPlane.advanced`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawControlPlaneAdvanced {
    /// The host service account synced pods run as.
    pub workload_service_account: Option<RawWorkloadServiceAccount>,
    /// Not supported by warren (pods are scheduled by the host); only `enabled: false`.
    pub virtual_scheduler: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub default_image_registry: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub service_account: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub headless_service: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub konnectivity: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub registry: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub cloud_controller_manager: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub global_metadata: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub kube_vip: Option<Value>,
    /// vCluster deployment setting; accepted and ignored by warren.
    pub pod_disruption_budget: Option<Value>,
}

/// `controlPlane.advanced.workloadServiceAccount`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawWorkloadServiceAccount {
    /// Whether the chart creates it (the syncer uses it either way).
    pub enabled: Option<bool>,
    /// Its name (default `vc-workload-<vcluster>`).
    pub name: Option<String>,
    /// Deployment setting; accepted and ignored by the syncer.
    pub annotations: Option<BTreeMap<String, String>>,
    /// Deployment setting; accepted and ignored by the syncer.
    pub labels: Option<BTreeMap<String, String>>,
    /// Deployment setting; accepted and ignored by the syncer.
    pub image_pull_secrets: Option<Value>,
}

/// `experimental`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawExperimental {
    /// One host namespace per virtual namespace; objects keep their names. Must be chosen when
    /// the virtual cluster is created.
    pub multi_namespace_mode: Option<RawMultiNamespaceMode>,
    /// vCluster experimental setting; accepted and ignored by warren.
    pub deploy: Option<Value>,
    /// vCluster experimental setting; accepted and ignored by warren.
    pub sync_settings: Option<Value>,
    /// vCluster experimental setting; accepted and ignored by warren.
    pub virtual_cluster_kube_config: Option<Value>,
    /// vCluster experimental setting; accepted and ignored by warren.
    pub deny_proxy_requests: Option<Value>,
    /// vCluster experimental setting; accepted and ignored by warren.
    pub proxy: Option<Value>,
    /// vCluster experimental setting; accepted and ignored by warren.
    pub docker: Option<Value>,
    /// vCluster experimental setting; accepted and ignored by warren.
    pub node_monitors: Option<Value>,
}

/// `experimental.multiNamespaceMode`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawMultiNamespaceMode {
    /// Whether multi-namespace mode is on.
    pub enabled: Option<bool>,
    /// Extra labels on the host namespaces.
    pub namespace_labels: Option<BTreeMap<String, String>>,
}

/// Legacy `{enabled: bool}`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LegacySwitch {
    /// Whether this is enabled.
    pub enabled: Option<bool>,
}

/// Legacy `{enabled, all}`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LegacySyncAll {
    /// Whether this is enabled.
    pub enabled: Option<bool>,
    /// Sync all objects of this kind.
    pub all: Option<bool>,
}

/// Legacy `sync.pods`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LegacyPods {
    /// Whether pods are synced.
    pub enabled: Option<bool>,
    /// Legacy; ignored (ephemeral containers are always synced).
    pub ephemeral_containers: Option<bool>,
    /// Legacy; ignored (pod status is always synced back).
    pub status: Option<bool>,
}

/// Legacy `sync.nodes`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LegacyNodes {
    /// Show real host nodes.
    pub enabled: Option<bool>,
    /// Legacy: use sync.fromHost.nodes.selector.all.
    pub sync_all_nodes: Option<bool>,
    /// Legacy: use sync.fromHost.nodes.selector.labels (`k=v,k2=v2`).
    pub node_selector: Option<String>,
    /// Legacy: use sync.fromHost.nodes.syncBackChanges.
    pub sync_node_changes: Option<bool>,
    /// Legacy: not supported by warren (pods are scheduled by the host); only `false`.
    pub enable_scheduler: Option<bool>,
    /// Legacy kubelet proxy setting; accepted and ignored by warren.
    #[serde(rename = "fakeKubeletIPs")]
    pub fake_kubelet_ips: Option<bool>,
}

/// Legacy `mapServices`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LegacyMapServices {
    /// Legacy: use networking.replicateServices.fromHost.
    pub from_host: Option<Vec<RawServiceMapping>>,
    /// Legacy: use networking.replicateServices.toHost.
    pub from_virtual: Option<Vec<RawServiceMapping>>,
}

/// Legacy `coredns`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LegacyCoreDns {
    /// Legacy: use controlPlane.coredns.enabled.
    pub enabled: Option<bool>,
    /// Legacy: use controlPlane.coredns.embedded.
    pub integrated: Option<bool>,
}
