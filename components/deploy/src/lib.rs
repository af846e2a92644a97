//! A virtual cluster deployed onto a host cluster: what `warren create vcluster` puts in the
//! host namespace, and how it gets there.
//!
//! The objects are vCluster's (its chart's names and `app=vcluster, release=<name>` labels),
//! running warren's syncer role instead of vCluster's:
//!
//! - ServiceAccount `vc-<name>`, Role and RoleBinding `vc-<name>`: exactly what the syncer does
//!   in its own namespace with this vcluster.yaml ([`role_rules`]). A ClusterRole and
//!   ClusterRoleBinding `vc-<name>-v-<namespace>` only when vcluster.yaml turns on a sync of
//!   cluster-scoped host objects or of services in other host namespaces
//!   ([`cluster_role_rules`]).
//! - Secret `vc-config-<name>`: the vcluster.yaml as given (key `config.yaml`).
//! - Service `<name>`: 443 -> the API server, 53 UDP/TCP -> the cluster DNS; the syncer adopts it
//!   as its own Service (owner of every host object it creates, `default/kubernetes` inside).
//! - Service `<name>-headless` and StatefulSet `<name>`: one pod running
//!   `warren serve --role syncer`, its SQLite on the claim `data` (`data-<name>-0`).
//!
//! [`manifests`] builds them (pure); [`deploy`] applies them with server-side apply (field
//! manager `warren`) so that an upgrade is the same call; [`delete`] removes them again.
//! Everything carries `app.kubernetes.io/managed-by=warren`: delete touches nothing without it.
//! Only apps/v1, rbac.authorization.k8s.io/v1 and core/v1 are used (hosts as old as 1.20).

mod apply;
mod manifests;
mod settings;

use warren_syncer::config::{ConfigError, SyncerConfig};

pub use apply::{Deleted, Deployed, delete, deploy};
pub use manifests::{cluster_role_rules, config_hash, manifests, role_rules};
pub use settings::{Persistence, StatefulSetSettings};

/// The image run when `--image` is not given: warren's own, of this version.
pub const DEFAULT_IMAGE: &str = concat!("warren:", env!("CARGO_PKG_VERSION"));
/// The field manager of every apply.
pub const FIELD_MANAGER: &str = "warren";
/// The port the virtual API server listens on in the pod (vCluster's).
pub const API_PORT: u16 = 8443;
/// The port the cluster DNS listens on in the pod (vCluster's CoreDNS port).
pub const DNS_PORT: u16 = 1053;
/// Where the pod keeps its state (SQLite, certificates, the admin kubeconfig).
pub const DATA_DIR: &str = "/data";
/// Where the pod reads vcluster.yaml.
pub const CONFIG_PATH: &str = "/etc/warren/vcluster.yaml";
/// The Secret key holding vcluster.yaml (vCluster's).
pub const CONFIG_KEY: &str = "config.yaml";
/// Pod-template annotation with the SHA-256 of vcluster.yaml: a changed file rolls the pod
/// (vCluster's name for it).
pub const CONFIG_HASH_ANNOTATION: &str = "vClusterConfigHash";
/// On a namespace the CLI created (vCluster's): only such a namespace is deleted with the
/// virtual cluster.
pub const CREATED_NAMESPACE_ANNOTATION: &str = "vcluster.loft.sh/created";
/// Marks every object warren deployed.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "warren";
/// Longest virtual cluster name: the StatefulSet's controller-revision-hash label
/// (`<name>-<10 characters>`) must stay a 63-character label value.
pub const MAX_NAME_LEN: usize = 52;

/// Why a virtual cluster could not be deployed or deleted. Display is one line.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("invalid vcluster name {name:?}: {reason}")]
    InvalidName { name: String, reason: String },
    #[error("invalid namespace {namespace:?}: {reason}")]
    InvalidNamespace { namespace: String, reason: String },
    /// vcluster.yaml cannot be used (the key path is in the message).
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("vcluster {name} already exists in namespace {namespace}; use --upgrade")]
    AlreadyExists { name: String, namespace: String },
    #[error(
        "{kind} {namespace}/{name} exists and was not deployed by warren (no {MANAGED_BY_LABEL}={MANAGED_BY} label)"
    )]
    NotOurs {
        kind: &'static str,
        name: String,
        namespace: String,
    },
    #[error("vcluster {name} not found in namespace {namespace}")]
    NotFound { name: String, namespace: String },
    #[error("{what}: {detail}")]
    Api {
        what: String,
        detail: String,
        #[source]
        source: kube::Error,
    },
}

impl DeployError {
    fn api(what: impl Into<String>, source: kube::Error) -> DeployError {
        let detail = match &source {
            // The API server's own sentence, not the debug dump around it.
            kube::Error::Api(status) if !status.message.is_empty() => status.message.clone(),
            other => other.to_string(),
        };
        DeployError::Api {
            what: what.into(),
            detail,
            source,
        }
    }
}

/// The names of the objects of virtual cluster `name` in host namespace `namespace`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    pub vcluster: String,
    pub namespace: String,
}

impl Names {
    pub fn new(vcluster: &str, namespace: &str) -> Names {
        Names {
            vcluster: vcluster.to_owned(),
            namespace: namespace.to_owned(),
        }
    }

    /// StatefulSet and Service: the virtual cluster's own name.
    pub fn statefulset(&self) -> &str {
        &self.vcluster
    }

    pub fn service(&self) -> &str {
        &self.vcluster
    }

    pub fn headless_service(&self) -> String {
        format!("{}-headless", self.vcluster)
    }

    /// ServiceAccount, Role and RoleBinding.
    pub fn service_account(&self) -> String {
        format!("vc-{}", self.vcluster)
    }

    pub fn config_secret(&self) -> String {
        format!("vc-config-{}", self.vcluster)
    }

    /// ClusterRole and ClusterRoleBinding: `vc-<name>-v-<namespace>`, cut at 63 characters
    /// without a trailing '-' (vCluster's chart).
    pub fn cluster_role(&self) -> String {
        let full = format!("vc-{}-v-{}", self.vcluster, self.namespace);
        full[..full.len().min(63)].trim_end_matches('-').to_owned()
    }

    /// The pod of the StatefulSet.
    pub fn pod(&self) -> String {
        format!("{}-0", self.vcluster)
    }

    /// Prefix of the claims the StatefulSet controller makes from the template `data`.
    pub fn claim_prefix(&self) -> String {
        format!("data-{}-", self.vcluster)
    }
}

/// Everything needed to build the objects: checked names and a parsed vcluster.yaml.
#[derive(Clone, Debug)]
pub struct DeployRequest {
    pub names: Names,
    pub image: String,
    /// vcluster.yaml exactly as given (what the Secret holds and the checksum covers).
    pub config_text: String,
    /// What the syncer will make of it.
    pub config: SyncerConfig,
    /// `controlPlane.statefulSet` keys the deployment uses.
    pub statefulset: StatefulSetSettings,
    /// vcluster.yaml warnings worth showing (deprecated keys, ignored settings).
    pub warnings: Vec<String>,
}

impl DeployRequest {
    /// Checks the names and parses `config_text` with the syncer's own parser; nothing here
    /// touches a cluster.
    pub fn new(
        name: &str,
        namespace: &str,
        image: &str,
        config_text: &str,
    ) -> Result<DeployRequest, DeployError> {
        check_name(name)?;
        let problems = warren_apimachinery::validation::names::dns1123_label(namespace);
        if let Some(reason) = problems.into_iter().next() {
            return Err(DeployError::InvalidNamespace {
                namespace: namespace.to_owned(),
                reason,
            });
        }
        let loaded = warren_syncer::config::parse(config_text)?;
        if loaded.config.multi_namespace_mode {
            // `warren serve` refuses it: the pod would never start.
            return Err(ConfigError::Unsupported {
                keys: vec!["experimental.multiNamespaceMode.enabled".into()],
                reason: "not supported by warren's syncer (all objects go to one host namespace)"
                    .into(),
            }
            .into());
        }
        let raw = warren_syncer::config::parse_raw(config_text)?;
        let stateful_set = raw.control_plane.and_then(|cp| cp.stateful_set);
        let (statefulset, ignored) = StatefulSetSettings::from_value(stateful_set.as_ref())?;
        // The parser calls all of controlPlane.statefulSet ignored; here some of it is used.
        let mut warnings: Vec<String> = loaded
            .warnings
            .iter()
            .filter(|w| w.key != "controlPlane.statefulSet")
            .map(ToString::to_string)
            .collect();
        warnings.extend(
            ignored
                .into_iter()
                .map(|key| format!("{key}: ignored by warren create vcluster")),
        );
        Ok(DeployRequest {
            names: Names::new(name, namespace),
            image: image.to_owned(),
            config_text: config_text.to_owned(),
            config: loaded.config,
            statefulset,
            warnings,
        })
    }
}

/// A virtual cluster name: a DNS-1035 label (it names a Service) of at most [`MAX_NAME_LEN`]
/// characters.
pub fn check_name(name: &str) -> Result<(), DeployError> {
    let invalid = |reason: String| DeployError::InvalidName {
        name: name.to_owned(),
        reason,
    };
    if name.len() > MAX_NAME_LEN {
        return Err(invalid(format!(
            "must be no more than {MAX_NAME_LEN} characters"
        )));
    }
    match warren_apimachinery::validation::names::dns1035_label(name)
        .into_iter()
        .next()
    {
        Some(reason) => Err(invalid(reason)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_vclusters_chart() {
        let names = Names::new("my-vc", "team-a");
        assert_eq!(names.statefulset(), "my-vc");
        assert_eq!(names.service(), "my-vc");
        assert_eq!(names.headless_service(), "my-vc-headless");
        assert_eq!(names.service_account(), "vc-my-vc");
        assert_eq!(names.config_secret(), "vc-config-my-vc");
        assert_eq!(names.cluster_role(), "vc-my-vc-v-team-a");
        assert_eq!(names.pod(), "my-vc-0");
        assert_eq!(names.claim_prefix(), "data-my-vc-");
        // cut at 63, no trailing dash
        let long = Names::new(&"a".repeat(52), "abcd-efgh");
        let role = long.cluster_role();
        assert_eq!(role, format!("vc-{}-v-abcd", "a".repeat(52)));
        assert!(role.len() <= 63);
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("vc1").is_ok());
        assert!(check_name(&"a".repeat(52)).is_ok());
        for bad in ["", "1vc", "VC", "vc_1", "-vc", "vc-", &"a".repeat(53)] {
            let e = check_name(bad).expect_err(bad);
            assert!(
                e.to_string()
                    .starts_with(&format!("invalid vcluster name {bad:?}: ")),
                "{e}"
            );
        }
        let e = DeployRequest::new("vc", "Bad_NS", DEFAULT_IMAGE, "").expect_err("namespace");
        assert!(e.to_string().starts_with("invalid namespace \"Bad_NS\": "));
    }

    #[test]
    fn config_is_parsed_by_the_syncer_first() {
        let e = DeployRequest::new(
            "vc",
            "ns",
            DEFAULT_IMAGE,
            "sync:\n  toHost:\n    podz: {}\n",
        )
        .expect_err("unknown key");
        assert!(
            e.to_string().starts_with("sync.toHost.podz: unknown field"),
            "{e}"
        );
        assert!(!e.to_string().contains('\n'));
        let e = DeployRequest::new(
            "vc",
            "ns",
            DEFAULT_IMAGE,
            "experimental:\n  multiNamespaceMode:\n    enabled: true\n",
        )
        .expect_err("multi-namespace");
        assert!(
            e.to_string()
                .starts_with("experimental.multiNamespaceMode.enabled: not supported"),
            "{e}"
        );
    }

    #[test]
    fn warnings_skip_the_statefulset_keys_that_are_used() {
        let request = DeployRequest::new(
            "vc",
            "ns",
            DEFAULT_IMAGE,
            "controlPlane:\n  statefulSet:\n    persistence:\n      volumeClaim:\n        size: 1Gi\n    image:\n      tag: x\nsync:\n  ingresses:\n    enabled: true\n",
        )
        .unwrap();
        assert_eq!(
            request.warnings,
            [
                "sync.ingresses.enabled: deprecated, use sync.toHost.ingresses.enabled",
                "controlPlane.statefulSet.image: ignored by warren create vcluster",
            ]
        );
    }
}
