//! Host names, namespaces, label keys and annotations of synced objects, derived exactly as
//! vCluster derives them, so host objects created by vCluster and by warren are interchangeable.
//!
//! Everything here is a pure function of the virtual cluster's name, the host namespace it runs
//! in and the namespace mode (one host namespace, or one host namespace per virtual namespace).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sha2::{Digest, Sha256};

/// Longest Kubernetes name/label segment; longer concatenations are shortened with a hash.
pub const MAX_NAME_LENGTH: usize = 63;

/// Label keys set on (or reserved for) host objects.
pub mod labels {
    /// The virtual cluster that owns a host object (namespaced objects: the vCluster name;
    /// cluster-scoped objects: `<hostNamespace>-x-<vcluster>`).
    pub const MANAGED_BY: &str = "vcluster.loft.sh/managed-by";
    /// The virtual namespace of a namespaced host object.
    pub const NAMESPACE: &str = "vcluster.loft.sh/namespace";
    /// Set by controllers that create host objects on their own behalf; kept on updates.
    pub const CONTROLLED_BY: &str = "vcluster.loft.sh/controlled-by";
    /// The Helm release label; rewritten in single-namespace mode because the vCluster's own
    /// release shares the host namespace.
    pub const RELEASE: &str = "release";
    /// Prefix of rewritten reserved label keys: `vcluster.loft.sh/label-<vc>-x-<hash10>`.
    pub const LABEL_PREFIX: &str = "vcluster.loft.sh/label";
    /// Prefix of virtual-namespace label copies on host pods: `vcluster.loft.sh/ns-label-<vc>-x-<hash10>`.
    pub const NAMESPACE_LABEL_PREFIX: &str = "vcluster.loft.sh/ns-label";
}

/// Annotation keys set on host objects.
pub mod annotations {
    /// Name of the virtual object a host object was synced from.
    pub const OBJECT_NAME: &str = "vcluster.loft.sh/object-name";
    /// Namespace of the virtual object (namespaced objects only).
    pub const OBJECT_NAMESPACE: &str = "vcluster.loft.sh/object-namespace";
    /// UID of the virtual object.
    pub const OBJECT_UID: &str = "vcluster.loft.sh/object-uid";
    /// Kind of the virtual object as Go prints a GroupVersionKind: `/v1, Kind=Pod`.
    pub const OBJECT_KIND: &str = "vcluster.loft.sh/object-kind";
    /// The host object's own name, to detect copies made under another name.
    pub const OBJECT_HOST_NAME: &str = "vcluster.loft.sh/object-host-name";
    /// The host object's own namespace.
    pub const OBJECT_HOST_NAMESPACE: &str = "vcluster.loft.sh/object-host-namespace";
    /// Newline-separated, sorted keys of the annotations copied from the virtual object.
    pub const MANAGED_ANNOTATIONS: &str = "vcluster.loft.sh/managed-annotations";
    /// Newline-separated, sorted keys of the labels copied from the virtual object.
    pub const MANAGED_LABELS: &str = "vcluster.loft.sh/managed-labels";
    /// On a virtual ConfigMap/Secret: sync it even if no pod references it.
    pub const FORCE_SYNC: &str = "vcluster.loft.sh/force-sync";

    /// Host pod: the virtual pod's name (the downward API reads `metadata.name` from here).
    pub const POD_NAME: &str = "vcluster.loft.sh/name";
    /// Host pod: the virtual pod's namespace.
    pub const POD_NAMESPACE: &str = "vcluster.loft.sh/namespace";
    /// Host pod: the virtual pod's UID.
    pub const POD_UID: &str = "vcluster.loft.sh/uid";
    /// Host pod: the virtual pod's service account name.
    pub const POD_SERVICE_ACCOUNT_NAME: &str = "vcluster.loft.sh/service-account-name";
    /// Host pod: the virtual pod's labels, `key="json-escaped value"` lines, sorted.
    pub const POD_LABELS: &str = "vcluster.loft.sh/labels";
    /// Host pod: the virtual pod's ownerReferences as JSON.
    pub const POD_OWNER_REFERENCES: &str = "vcluster.loft.sh/owner-references";
    /// Host pod: kind of the apps/v1 owner (DaemonSet, Job, ReplicaSet, StatefulSet).
    pub const POD_OWNER_SET_KIND: &str = "vcluster.loft.sh/owner-set-kind";
    /// Host pod: prefix of the annotations that carry virtual service account tokens.
    pub const POD_TOKEN_PREFIX: &str = "vcluster.loft.sh/token-";
    /// Host pod: set when an init container rewrote /etc/hosts for the virtual FQDN.
    pub const POD_HOSTS_REWRITTEN: &str = "vcluster.loft.sh/hosts-rewritten";
    /// Virtual pod: `"true"` turns the /etc/hosts rewrite off for this pod.
    pub const POD_DISABLE_SUBDOMAIN_REWRITE: &str = "vcluster.loft.sh/disable-subdomain-rewrite";
    /// Host pod: whether the cluster autoscaler may evict it (pods with a controller may).
    pub const CLUSTER_AUTOSCALER_SAFE_TO_EVICT: &str =
        "cluster-autoscaler.kubernetes.io/safe-to-evict";
    /// Host pod: marks pods owned by a DaemonSet for the cluster autoscaler.
    pub const CLUSTER_AUTOSCALER_DAEMONSET_POD: &str =
        "cluster-autoscaler.kubernetes.io/daemonset-pod";
}

/// Hex-encoded SHA-256 of `input` (64 lowercase hex digits).
pub fn sha256_hex(input: &str) -> String {
    let digest = Sha256::digest(input.as_bytes());
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(byte & 0x0f), 16).unwrap_or('0'));
    }
    out
}

/// Base-36 (0-9a-z) digits of `bytes` read as one big-endian number, with one leading `0` per
/// leading zero byte, as vCluster's base36 encoder writes it.
pub fn base36(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let leading_zero_bytes = bytes.iter().take_while(|b| **b == 0).count();
    let mut number: Vec<u8> = bytes[leading_zero_bytes..].to_vec();
    let mut digits = Vec::new();
    // Schoolbook long division by 36 until the number is zero.
    while !number.is_empty() {
        let mut remainder: u32 = 0;
        let mut quotient = Vec::with_capacity(number.len());
        for byte in &number {
            let current = remainder * 256 + u32::from(*byte);
            let q = current / 36;
            remainder = current % 36;
            if !(quotient.is_empty() && q == 0) {
                quotient.push(q as u8);
            }
        }
        digits.push(DIGITS[remainder as usize]);
        number = quotient;
    }
    let mut out = "0".repeat(leading_zero_bytes);
    out.extend(digits.iter().rev().map(|d| char::from(*d)));
    out
}

/// vCluster's SafeConcatName: the parts joined by `-`; when longer than 63 characters, the
/// first 52 characters, `-`, and the first 10 hex digits of the SHA-256 of the whole joined
/// name, with any `.-` then replaced by `-` (so the result can be 62 characters).
pub fn safe_concat_name(parts: &[&str]) -> String {
    let full = parts.join("-");
    if full.len() <= MAX_NAME_LENGTH {
        return full;
    }
    let hash = sha256_hex(&full);
    // Names are ASCII in practice; a cut inside a multi-byte character must not panic.
    let prefix = String::from_utf8_lossy(&full.as_bytes()[..52]);
    format!("{prefix}-{}", &hash[..10]).replace(".-", "-")
}

/// `vcluster.loft.sh/object-kind` value for an object: Go's GroupVersionKind.String(),
/// `group/version, Kind=Kind` (`/v1, Kind=Pod` for the core group).
pub fn kind_annotation_value(api_version: &str, kind: &str) -> String {
    let (group, version) = match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    };
    format!("{group}/{version}, Kind={kind}")
}

/// How virtual namespaces map onto host namespaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamespaceMode {
    /// Every namespaced object lands in the one host namespace, renamed `name-x-ns-x-vc`.
    Single,
    /// One host namespace per virtual namespace (`vcluster-<hash8>-<hash8>`), names unchanged
    /// (`experimental.multiNamespaceMode.enabled`).
    Multi,
}

/// A host object's identity: name and (for namespaced objects) namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostName {
    pub name: String,
    pub namespace: String,
}

/// The virtual object a host object was synced from, read back from its annotations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualObject {
    pub name: String,
    /// `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    pub uid: Option<String>,
    /// The `vcluster.loft.sh/object-kind` value, when present.
    pub kind: Option<String>,
}

/// Naming rules of one virtual cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    vcluster: String,
    host_namespace: String,
    mode: NamespaceMode,
}

impl Names {
    /// `vcluster` is the virtual cluster's name (vCluster's "suffix"), `host_namespace` the host
    /// namespace the syncer runs in.
    pub fn new(vcluster: &str, host_namespace: &str, mode: NamespaceMode) -> Self {
        Self {
            vcluster: vcluster.to_owned(),
            host_namespace: host_namespace.to_owned(),
            mode,
        }
    }

    pub fn vcluster(&self) -> &str {
        &self.vcluster
    }

    /// The namespace the virtual cluster itself runs in on the host.
    pub fn own_host_namespace(&self) -> &str {
        &self.host_namespace
    }

    pub fn mode(&self) -> NamespaceMode {
        self.mode
    }

    /// Host name of a namespaced virtual object: `name-x-namespace-x-vcluster` (shortened past
    /// 63 characters) in single-namespace mode, the name itself in multi-namespace mode.
    pub fn host_name(&self, name: &str, namespace: &str) -> String {
        if name.is_empty() {
            return String::new();
        }
        match self.mode {
            NamespaceMode::Single => safe_concat_name(&[name, "x", namespace, "x", &self.vcluster]),
            NamespaceMode::Multi => name.to_owned(),
        }
    }

    /// Host namespace of a virtual namespace.
    pub fn host_namespace(&self, namespace: &str) -> String {
        if namespace.is_empty() {
            return String::new();
        }
        match self.mode {
            NamespaceMode::Single => self.host_namespace.clone(),
            NamespaceMode::Multi => format!(
                "vcluster-{}-{}",
                &sha256_hex(namespace)[..8],
                self.multi_namespace_suffix()
            ),
        }
    }

    /// Host name and namespace of a namespaced virtual object.
    pub fn host_object(&self, name: &str, namespace: &str) -> HostName {
        HostName {
            name: self.host_name(name, namespace),
            namespace: self.host_namespace(namespace),
        }
    }

    /// Short host name for objects whose names end up in size-limited places (ResourceClaims,
    /// patched references): `v` + 13 base-36 digits of the SHA-256 of `name-x-ns-x-vc`; the
    /// name itself in multi-namespace mode.
    pub fn host_name_short(&self, name: &str, namespace: &str) -> String {
        if name.is_empty() {
            return String::new();
        }
        match self.mode {
            NamespaceMode::Single => {
                let joined = [name, "x", namespace, "x", &self.vcluster].join("-");
                let digest = Sha256::digest(joined.as_bytes());
                let encoded = base36(&digest);
                format!("v{}", &encoded[..13.min(encoded.len())])
            }
            NamespaceMode::Multi => name.to_owned(),
        }
    }

    /// Host name of a cluster-scoped virtual object synced to the host (PriorityClasses,
    /// StorageClasses, PersistentVolumes): `vcluster-<name>-x-<hostNs>-x-<vc>`, shortened.
    pub fn host_name_cluster(&self, name: &str) -> String {
        if name.is_empty() {
            return String::new();
        }
        safe_concat_name(&[
            "vcluster",
            name,
            "x",
            &self.host_namespace,
            "x",
            &self.vcluster,
        ])
    }

    /// `vcluster.loft.sh/managed-by` value on cluster-scoped host objects: `<hostNs>-x-<vc>`.
    pub fn marker_label_cluster(&self) -> String {
        safe_concat_name(&[&self.host_namespace, "x", &self.vcluster])
    }

    /// Name of the host Service that fronts the virtual API server; the virtual
    /// `default/kubernetes` Service maps onto it.
    pub fn kubernetes_host_service(&self) -> HostName {
        HostName {
            name: self.vcluster.clone(),
            namespace: self.host_namespace.clone(),
        }
    }

    /// Whether `host_namespace` holds objects of this virtual cluster.
    pub fn is_target_namespace(&self, host_namespace: &str) -> bool {
        match self.mode {
            NamespaceMode::Single => host_namespace == self.host_namespace,
            NamespaceMode::Multi => {
                let suffix = format!("-{}", self.multi_namespace_suffix());
                host_namespace.starts_with("vcluster-")
                    && host_namespace.ends_with(&suffix)
                    && host_namespace.len() == "vcluster-".len() + 8 + suffix.len()
            }
        }
    }

    fn multi_namespace_suffix(&self) -> String {
        sha256_hex(&format!("{}x{}", self.host_namespace, self.vcluster))[..8].to_owned()
    }

    /// Reserved label keys that are rewritten on host objects (they carry the syncer's own
    /// meaning there). `release` only in single-namespace mode, where the vCluster's Helm
    /// release shares the namespace.
    pub fn reserved_label_keys(&self) -> &'static [&'static str] {
        match self.mode {
            NamespaceMode::Single => &[
                labels::RELEASE,
                labels::NAMESPACE,
                labels::MANAGED_BY,
                labels::CONTROLLED_BY,
            ],
            NamespaceMode::Multi => &[labels::NAMESPACE, labels::MANAGED_BY, labels::CONTROLLED_BY],
        }
    }

    fn prefixed_hashed_key(&self, prefix: &str, key: &str) -> String {
        safe_concat_name(&[prefix, &self.vcluster, "x", &sha256_hex(key)[..10]])
    }

    /// Host label key for a virtual label key: reserved keys become
    /// `vcluster.loft.sh/label-<vc>-x-<sha10(key)>`, every other key is kept as-is.
    pub fn host_label_key(&self, key: &str) -> String {
        if self.reserved_label_keys().contains(&key) {
            self.prefixed_hashed_key(labels::LABEL_PREFIX, key)
        } else {
            key.to_owned()
        }
    }

    /// The reserved virtual key a rewritten host key stands for, if it is one.
    pub fn rewritten_label_origin(&self, host_key: &str) -> Option<&'static str> {
        self.reserved_label_keys()
            .iter()
            .copied()
            .find(|reserved| self.prefixed_hashed_key(labels::LABEL_PREFIX, reserved) == host_key)
    }

    /// Virtual label key for a host label key, or `None` for keys that exist only on the host
    /// (the syncer's markers and namespace-label copies).
    pub fn virtual_label_key(&self, host_key: &str) -> Option<String> {
        if self.reserved_label_keys().contains(&host_key)
            || host_key.starts_with(labels::NAMESPACE_LABEL_PREFIX)
        {
            return None;
        }
        match self.rewritten_label_origin(host_key) {
            Some(origin) => Some(origin.to_owned()),
            None => Some(host_key.to_owned()),
        }
    }

    /// Host pod label key carrying the virtual namespace's label `key`:
    /// `vcluster.loft.sh/ns-label-<vc>-x-<sha10(key)>` (what namespaceSelectors fold into).
    pub fn namespace_label_key(&self, key: &str) -> String {
        self.prefixed_hashed_key(labels::NAMESPACE_LABEL_PREFIX, key)
    }

    /// The virtual object behind a host object, read from its annotations, or `None` when the
    /// host object was not synced by this virtual cluster (foreign namespace or marker, no
    /// name annotation, another kind, or annotations copied onto another object).
    ///
    /// `kind` is the expected `vcluster.loft.sh/object-kind` value (see
    /// [`kind_annotation_value`]); an object whose annotation names another kind is not ours.
    pub fn virtual_object(&self, host: &ObjectMeta, kind: &str) -> Option<VirtualObject> {
        let empty = BTreeMap::new();
        let host_labels = host.labels.as_ref().unwrap_or(&empty);
        let host_annotations = host.annotations.as_ref().unwrap_or(&empty);
        let host_name = host.name.as_deref().unwrap_or_default();
        let host_namespace = host.namespace.as_deref().unwrap_or_default();
        let annotation = |key: &str| host_annotations.get(key).filter(|v| !v.is_empty()).cloned();

        let namespaced = !host_namespace.is_empty();
        let expected_marker = if namespaced {
            if !self.is_target_namespace(host_namespace) {
                return None;
            }
            self.vcluster.clone()
        } else {
            self.marker_label_cluster()
        };
        if host_labels.get(labels::MANAGED_BY) != Some(&expected_marker) {
            return None;
        }

        let name = annotation(annotations::OBJECT_NAME)?;
        let object_kind = annotation(annotations::OBJECT_KIND);
        if object_kind.as_deref().is_some_and(|k| k != kind) {
            return None;
        }
        if annotation(annotations::OBJECT_HOST_NAME).is_some_and(|n| n != host_name) {
            return None;
        }
        if annotation(annotations::OBJECT_HOST_NAMESPACE).is_some_and(|n| n != host_namespace) {
            return None;
        }
        let namespace = if namespaced {
            Some(annotation(annotations::OBJECT_NAMESPACE)?)
        } else {
            None
        };
        Some(VirtualObject {
            name,
            namespace,
            uid: annotation(annotations::OBJECT_UID),
            kind: object_kind,
        })
    }
}

#[cfg(test)]
mod tests;
