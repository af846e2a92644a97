//! `vcluster.yaml` for warren's syncer: parsed into typed settings with vCluster's defaults.
//!
//! Both key generations are accepted: legacy Helm values (`sync.ingresses.enabled`,
//! `mapServices.fromVirtual`, `coredns.enabled`, …) are mapped onto the current keys with one
//! [`ConfigWarning`] each, and setting both generations of one key to different values is an
//! error. Unknown keys are errors naming the full path; vCluster deployment settings that mean
//! nothing to warren (statefulSet, distro, …) are accepted with a warning; vCluster Pro features
//! warren doesn't do are errors naming the keys.
//!
//! ```
//! let loaded = warren_syncer::config::parse("sync:\n  ingresses:\n    enabled: true\n").unwrap();
//! assert!(loaded.config.sync.to_host.ingresses);
//! assert!(loaded.config.sync.from_host.ingress_classes.enabled);
//! assert_eq!(loaded.warnings.len(), 1);
//! ```

pub mod raw;
mod resolve;

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

pub use raw::{RawConfig, Scope};

/// Default DNS domain of a virtual cluster.
pub const DEFAULT_CLUSTER_DOMAIN: &str = "cluster.local";
/// Default image of the /etc/hosts rewrite init container (vCluster's default).
pub const DEFAULT_REWRITE_HOSTS_IMAGE: &str = "mirror.gcr.io/library/alpine:3.20";

/// A vcluster.yaml that could not be used. Display is one line naming the key(s).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Not YAML, or not a mapping at the top.
    #[error("invalid YAML: {message}")]
    Syntax { message: String },
    /// A key vcluster.yaml doesn't have (often a typo).
    #[error("{path}: unknown field{}", expected_suffix(.expected))]
    UnknownField { path: String, expected: String },
    /// A value of the wrong type or outside the allowed values.
    #[error("{path}: {message}")]
    InvalidValue { path: String, message: String },
    /// The legacy and the current key of one setting disagree.
    #[error(
        "{legacy} is {legacy_value} but {current} is {current_value}: set only {current} (the legacy key is deprecated)"
    )]
    Conflict {
        legacy: String,
        legacy_value: String,
        current: String,
        current_value: String,
    },
    /// A setting or combination of settings warren doesn't support.
    #[error("{}: {reason}", keys.join(" with "))]
    Unsupported { keys: Vec<String>, reason: String },
}

fn expected_suffix(expected: &str) -> String {
    if expected.is_empty() {
        String::new()
    } else {
        format!(" (expected {expected})")
    }
}

/// Something in the file that works but deserves the user's attention (a deprecated key, an
/// ignored vCluster setting).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The key the warning is about, e.g. `sync.ingresses.enabled`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// A parsed configuration and the warnings it produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    pub config: SyncerConfig,
    pub warnings: Vec<ConfigWarning>,
}

/// The syncer's settings, defaults applied and both key generations merged.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncerConfig {
    pub sync: Sync,
    pub networking: Networking,
    /// `controlPlane.coredns.enabled` (default true): warren's embedded DNS on/off.
    pub dns_enabled: bool,
    /// `controlPlane.advanced.workloadServiceAccount.name`; `None` means the default
    /// `vc-workload-<vcluster>`.
    pub workload_service_account: Option<String>,
    /// `experimental.multiNamespaceMode.enabled`: one host namespace per virtual namespace.
    pub multi_namespace_mode: bool,
    /// `experimental.multiNamespaceMode.namespaceLabels`: extra labels on host namespaces.
    pub host_namespace_labels: BTreeMap<String, String>,
}

impl Default for SyncerConfig {
    /// vCluster's defaults (an empty vcluster.yaml).
    fn default() -> Self {
        match parse("") {
            Ok(loaded) => loaded.config,
            // An empty file has no keys that could fail.
            Err(error) => unreachable!("empty vcluster.yaml failed: {error}"),
        }
    }
}

/// `sync`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sync {
    pub to_host: ToHost,
    pub from_host: FromHost,
}

/// `sync.toHost.*.enabled` (and companions).
#[derive(Clone, Debug, PartialEq)]
pub struct ToHost {
    pub pods: PodSync,
    pub services: bool,
    pub endpoints: bool,
    pub endpoint_slices: bool,
    pub persistent_volume_claims: bool,
    pub config_maps: SyncAll,
    pub secrets: SyncAll,
    pub ingresses: bool,
    pub network_policies: bool,
    pub service_accounts: bool,
    pub pod_disruption_budgets: bool,
    pub priority_classes: bool,
    pub storage_classes: bool,
    pub persistent_volumes: bool,
    /// Enabled custom resources by `<plural>.<group>` (all Namespaced).
    pub custom_resources: BTreeMap<String, CustomResourceSync>,
}

/// ConfigMap/Secret sync: only what pods reference (and `vcluster.loft.sh/force-sync`), or all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncAll {
    pub enabled: bool,
    pub all: bool,
}

/// `sync.toHost.pods`.
#[derive(Clone, Debug, PartialEq)]
pub struct PodSync {
    pub enabled: bool,
    /// Exact virtual image string -> host image.
    pub translate_image: BTreeMap<String, String>,
    /// Tolerations added to every host pod.
    pub enforce_tolerations: Vec<k8s_openapi::api::core::v1::Toleration>,
    pub runtime_class_name: Option<String>,
    pub priority_class_name: Option<String>,
    /// The /etc/hosts rewrite for pods with a subdomain (`None` when disabled).
    pub rewrite_hosts: Option<RewriteHosts>,
}

/// The init container that makes `hostname -f` print the virtual FQDN.
#[derive(Clone, Debug, PartialEq)]
pub struct RewriteHosts {
    pub image: String,
    pub limits: BTreeMap<String, String>,
    pub requests: BTreeMap<String, String>,
}

/// One custom resource sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomResourceSync {
    /// As configured; `None` means discover it from the CRD.
    pub scope: Option<Scope>,
    /// fromHost only: `host "ns/name"` -> `virtual "ns/name"` patterns.
    pub mappings: BTreeMap<String, String>,
}

/// `sync.fromHost.*`.
#[derive(Clone, Debug, PartialEq)]
pub struct FromHost {
    pub events: bool,
    pub nodes: NodeSync,
    /// Default: on exactly when `sync.toHost.ingresses` is on.
    pub ingress_classes: ClassSync,
    pub runtime_classes: ClassSync,
    pub priority_classes: ClassSync,
    /// `auto` (the default) resolves to off: warren runs no virtual scheduler.
    pub storage_classes: ClassSync,
    pub csi_nodes: bool,
    pub csi_drivers: bool,
    pub csi_storage_capacities: bool,
    pub config_maps: MappedSync,
    pub secrets: MappedSync,
    /// Enabled custom resources by `<plural>.<group>`.
    pub custom_resources: BTreeMap<String, CustomResourceSync>,
}

/// A cluster-scoped kind shown from the host, optionally filtered.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ClassSync {
    pub enabled: bool,
    pub selector: Option<LabelSelector>,
}

/// `sync.fromHost.nodes`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NodeSync {
    pub enabled: bool,
    pub sync_back_changes: bool,
    pub clear_image_status: bool,
    /// All host nodes, not only those running synced pods.
    pub all: bool,
    pub selector_labels: BTreeMap<String, String>,
}

/// Host ConfigMaps/Secrets mapped into the virtual cluster.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MappedSync {
    pub enabled: bool,
    /// `"hostNs/name"` -> `"virtualNs/name"` (`*` wildcards as vCluster).
    pub by_name: BTreeMap<String, String>,
}

/// `networking`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Networking {
    pub replicate_services: ReplicateServices,
    /// `networking.advanced.clusterDomain` (default `cluster.local`).
    pub cluster_domain: String,
    pub fallback_host_cluster: bool,
    pub service_cidr: Option<String>,
}

/// `networking.replicateServices`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ReplicateServices {
    /// Virtual service (`from`, namespace required) -> host service (`to`).
    pub to_host: Vec<ServiceMapping>,
    /// Host service (`from`) -> virtual service (`to`, namespace required).
    pub from_host: Vec<ServiceMapping>,
}

/// One replicated service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceMapping {
    pub from: ServiceRef,
    pub to: ServiceRef,
}

/// `namespace/name` or `name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRef {
    /// `None`: the virtual cluster's own host namespace (host side).
    pub namespace: Option<String>,
    pub name: String,
}

/// Parses a vcluster.yaml (or legacy values.yaml). An empty document means all defaults.
pub fn parse(yaml: &str) -> Result<Loaded, ConfigError> {
    let raw = parse_raw(yaml)?;
    resolve::resolve(raw)
}

/// The file as written, keys checked but nothing resolved.
pub fn parse_raw(yaml: &str) -> Result<RawConfig, ConfigError> {
    // An empty document (or only comments) is a null value; it means "all defaults".
    let is_empty = yaml
        .lines()
        .map(str::trim)
        .all(|line| line.is_empty() || line.starts_with('#') || line == "---");
    if is_empty {
        return Ok(RawConfig::default());
    }
    let deserializer = serde_norway::Deserializer::from_str(yaml);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        match classify(&path, &message) {
            // A scanner error: where in the file matters more than the key being read.
            ConfigError::InvalidValue { path, message } if path.contains('?') => {
                let location = error
                    .inner()
                    .location()
                    .map(|l| format!(" at line {} column {}", l.line(), l.column()))
                    .unwrap_or_default();
                ConfigError::Syntax {
                    message: format!("{message}{location}"),
                }
            }
            other => other,
        }
    })
}

/// Turns serde's message into the error kind, with the full key path.
fn classify(path: &str, message: &str) -> ConfigError {
    let message = strip_location(strip_path_prefix(message));
    let path = if path == "." { "" } else { path };
    // serde: "unknown field `x`, expected one of `a`, `b`" / "…, there are no fields"
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((field, tail)) = rest.split_once('`')
    {
        // serde_path_to_error's path already ends with the unknown key; be robust if not.
        let full_path = if path.is_empty() {
            field.to_owned()
        } else if path == field || path.ends_with(&format!(".{field}")) {
            path.to_owned()
        } else {
            format!("{path}.{field}")
        };
        let expected = tail
            .trim_start_matches(',')
            .trim()
            .trim_start_matches("expected ")
            .trim_start_matches("one of ")
            .to_owned();
        return ConfigError::UnknownField {
            path: full_path,
            expected,
        };
    }
    if path.is_empty() {
        return ConfigError::Syntax {
            message: message.to_owned(),
        };
    }
    ConfigError::InvalidValue {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

/// serde_norway starts its messages with the key path (`sync.toHost.pods: …`); we print our
/// own, complete one.
fn strip_path_prefix(message: &str) -> &str {
    match message.split_once(": ") {
        Some((prefix, rest))
            if !prefix.is_empty()
                && prefix
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-[]/".contains(c)) =>
        {
            rest
        }
        _ => message,
    }
}

/// serde_norway may append " at line L column C"; the key path says more.
fn strip_location(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(index) => &message[..index],
        None => message,
    }
}

/// The JSON schema of vcluster.yaml as warren reads it (generated from [`RawConfig`]).
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(RawConfig);
    serde_json::to_value(schema).unwrap_or_default()
}

#[cfg(test)]
mod tests;
