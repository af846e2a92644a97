//! Pods: virtual -> host (create), which fields follow later, and host status -> virtual.
//!
//! A host pod runs the virtual pod's containers in the host namespace, but talks to the
//! virtual cluster: the API server through the host Service fronting it
//! (`KUBERNETES_SERVICE_HOST`, hostAliases for `kubernetes.default.svc…`), DNS through the
//! virtual cluster's DNS service, service account tokens issued by the virtual API server
//! (passed in an annotation and mounted with the downward API), and the virtual pod's
//! identity for the downward API (name, namespace, uid, labels read from annotations).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, Container, DownwardAPIProjection, DownwardAPIVolumeFile, EmptyDirVolumeSource,
    EnvFromSource, EnvVar, HostAlias, ObjectFieldSelector, Pod, PodDNSConfig, PodDNSConfigOption,
    PodSpec, PodStatus, ProjectedVolumeSource, ResourceRequirements, SeccompProfile,
    SecurityContext, Service, Toleration, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::TranslateError;
use super::metadata::host_metadata;
use super::selectors::{host_affinity, host_topology_spread_constraints};
use crate::config::{RewriteHosts, SyncerConfig};
use crate::names::{Names, annotations, sha256_hex};

/// Name of the init container (and its volume) that rewrites /etc/hosts.
pub const REWRITE_HOSTS_CONTAINER: &str = "vcluster-rewrite-hosts";
/// Highest priority a synced pod may ask for (above are system-reserved classes).
pub const MAX_PRIORITY: i32 = 1_000_000_000;
/// Token lifetime when the projected source asks for none (kube's default).
pub const DEFAULT_TOKEN_EXPIRATION_SECONDS: i64 = 3600;
/// User and group of the /etc/hosts rewrite container (any non-root id works).
const REWRITE_HOSTS_USER: i64 = 12345;

/// Annotations the syncer sets on host pods from the virtual pod.
const POD_ANNOTATIONS: [&str; 8] = [
    annotations::POD_NAME,
    annotations::POD_NAMESPACE,
    annotations::POD_UID,
    annotations::POD_SERVICE_ACCOUNT_NAME,
    annotations::POD_LABELS,
    annotations::POD_OWNER_REFERENCES,
    annotations::POD_OWNER_SET_KIND,
    annotations::POD_HOSTS_REWRITTEN,
];

/// Pod settings fixed for the syncer's lifetime (from vcluster.yaml).
#[derive(Clone, Debug, PartialEq)]
pub struct PodOptions {
    pub cluster_domain: String,
    /// Host service account of synced pods when service accounts are not synced.
    pub workload_service_account: String,
    /// `sync.toHost.serviceAccounts`: pods run as the host copy of their virtual account.
    pub sync_service_accounts: bool,
    pub sync_priority_classes_to_host: bool,
    pub sync_priority_classes_from_host: bool,
    pub translate_image: BTreeMap<String, String>,
    pub enforce_tolerations: Vec<Toleration>,
    pub runtime_class_name: Option<String>,
    pub priority_class_name: Option<String>,
    /// `sync.fromHost.nodes.selector.labels` when real nodes are synced: pods stay on them.
    pub node_selector: BTreeMap<String, String>,
    pub rewrite_hosts: Option<RewriteHosts>,
}

impl PodOptions {
    pub fn new(config: &SyncerConfig, vcluster_name: &str) -> Self {
        let to_host = &config.sync.to_host;
        let nodes = &config.sync.from_host.nodes;
        Self {
            cluster_domain: config.networking.cluster_domain.clone(),
            workload_service_account: config
                .workload_service_account
                .clone()
                .unwrap_or_else(|| format!("vc-workload-{vcluster_name}")),
            sync_service_accounts: to_host.service_accounts,
            sync_priority_classes_to_host: to_host.priority_classes,
            sync_priority_classes_from_host: config.sync.from_host.priority_classes.enabled,
            translate_image: to_host.pods.translate_image.clone(),
            enforce_tolerations: to_host.pods.enforce_tolerations.clone(),
            runtime_class_name: to_host.pods.runtime_class_name.clone(),
            priority_class_name: to_host.pods.priority_class_name.clone(),
            node_selector: if nodes.enabled {
                nodes.selector_labels.clone()
            } else {
                BTreeMap::new()
            },
            rewrite_hosts: to_host.pods.rewrite_hosts.clone(),
        }
    }

    fn image(&self, image: &Option<String>) -> Option<String> {
        image
            .as_ref()
            .map(|image| self.translate_image.get(image).unwrap_or(image).clone())
    }
}

/// What the sync loop read for one pod.
#[derive(Clone, Copy, Debug)]
pub struct PodInputs<'a> {
    /// Cluster IP of the host Service fronting the virtual API server.
    pub kube_ip: &'a str,
    /// Host cluster IP of the virtual `kube-system/kube-dns` Service (empty: no DNS rewrite).
    pub dns_ip: &'a str,
    /// Virtual Services of the pod's namespace (cluster IPs = host cluster IPs).
    pub services: &'a [Service],
    /// Labels of the pod's virtual namespace.
    pub namespace_labels: &'a BTreeMap<String, String>,
    /// Tokens from the virtual API server, by annotation key (see [`service_account_tokens`]).
    pub tokens: &'a BTreeMap<String, String>,
    /// Owner of host objects (the host object standing for the virtual cluster).
    pub owner: Option<&'a OwnerReference>,
}

/// A service account token the sync loop must request from the virtual API server
/// (TokenRequest bound to the virtual pod) before translating the pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSource {
    /// Host pod annotation that carries the token; key of [`PodInputs::tokens`].
    pub annotation: String,
    pub volume: String,
    pub service_account: String,
    pub audiences: Vec<String>,
    /// Refresh the annotation well before this runs out; kubelet updates the file.
    pub expiration_seconds: i64,
}

fn pod_name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or_default()
}

fn pod_namespace(pod: &Pod) -> &str {
    pod.metadata.namespace.as_deref().unwrap_or_default()
}

fn virtual_service_account(spec: &PodSpec) -> &str {
    spec.service_account_name
        .as_deref()
        .filter(|s| !s.is_empty())
        .or(spec.service_account.as_deref().filter(|s| !s.is_empty()))
        .unwrap_or("default")
}

/// Annotation key for the token of projected source `index` of `volume`: stable, so a
/// re-translation and a token refresh address the same annotation.
pub fn token_annotation(volume: &str, index: usize) -> String {
    format!(
        "{}{}",
        annotations::POD_TOKEN_PREFIX,
        &sha256_hex(&format!("{volume}/{index}"))[..8]
    )
}

/// The service account tokens a virtual pod's projected volumes need.
pub fn service_account_tokens(options: &PodOptions, virtual_pod: &Pod) -> Vec<TokenSource> {
    let Some(spec) = virtual_pod.spec.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for volume in spec.volumes.iter().flatten() {
        let Some(projected) = &volume.projected else {
            continue;
        };
        for (index, source) in projected.sources.iter().flatten().enumerate() {
            let Some(token) = &source.service_account_token else {
                continue;
            };
            let audiences = match token.audience.as_deref().filter(|a| !a.is_empty()) {
                Some(audience) => vec![audience.to_owned()],
                None => vec![
                    format!("https://kubernetes.default.svc.{}", options.cluster_domain),
                    "https://kubernetes.default.svc".to_owned(),
                    "https://kubernetes.default".to_owned(),
                ],
            };
            out.push(TokenSource {
                annotation: token_annotation(&volume.name, index),
                volume: volume.name.clone(),
                service_account: virtual_service_account(spec).to_owned(),
                audiences,
                expiration_seconds: token
                    .expiration_seconds
                    .unwrap_or(DEFAULT_TOKEN_EXPIRATION_SECONDS),
            });
        }
    }
    out
}

/// The virtual pod's labels as one annotation value: sorted `key="json string"` lines
/// (what the downward API's `metadata.labels` file shows in the container).
pub fn labels_annotation(labels: Option<&BTreeMap<String, String>>) -> String {
    labels
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", serde_json::Value::String(v.clone())))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The host pod for a virtual pod.
pub fn host_pod(
    names: &Names,
    options: &PodOptions,
    inputs: &PodInputs<'_>,
    virtual_pod: &Pod,
) -> Result<Pod, TranslateError> {
    let name = pod_name(virtual_pod);
    let namespace = pod_namespace(virtual_pod);
    let mut spec = virtual_pod
        .spec
        .clone()
        .ok_or_else(|| TranslateError::MissingSpec {
            pod: format!("{namespace}/{name}"),
        })?;

    // The syncer's own pod annotations are never copied from the virtual pod.
    let mut copied_meta = virtual_pod.metadata.clone();
    if let Some(own) = copied_meta.annotations.as_mut() {
        own.retain(|key, _| {
            !POD_ANNOTATIONS.contains(&key.as_str())
                && !key.starts_with(annotations::POD_TOKEN_PREFIX)
        });
    }
    let mut metadata = host_metadata(names, &copied_meta, "v1", "Pod", inputs.owner, &[]);
    let host_labels = metadata.labels.get_or_insert_with(BTreeMap::new);
    for (key, value) in inputs.namespace_labels {
        host_labels.insert(names.namespace_label_key(key), value.clone());
    }
    let host_annotations = metadata.annotations.get_or_insert_with(BTreeMap::new);
    // Always from the virtual pod itself: values a user put on the virtual pod under these
    // keys must not change what the downward API reports.
    let mut set = |key: &str, value: String| {
        host_annotations.insert(key.to_owned(), value);
    };
    set(annotations::POD_NAME, name.to_owned());
    set(annotations::POD_NAMESPACE, namespace.to_owned());
    set(
        annotations::POD_UID,
        virtual_pod.metadata.uid.clone().unwrap_or_default(),
    );
    set(
        annotations::POD_SERVICE_ACCOUNT_NAME,
        spec.service_account_name.clone().unwrap_or_default(),
    );
    set(
        annotations::POD_LABELS,
        labels_annotation(virtual_pod.metadata.labels.as_ref()),
    );
    let owners = virtual_pod
        .metadata
        .owner_references
        .as_deref()
        .unwrap_or_default();
    let controller = owners.iter().find(|o| o.controller == Some(true));
    if !host_annotations.contains_key(annotations::CLUSTER_AUTOSCALER_SAFE_TO_EVICT) {
        host_annotations.insert(
            annotations::CLUSTER_AUTOSCALER_SAFE_TO_EVICT.to_owned(),
            controller.is_some().to_string(),
        );
        if controller.is_some_and(|c| c.kind == "DaemonSet") {
            host_annotations.insert(
                annotations::CLUSTER_AUTOSCALER_DAEMONSET_POD.to_owned(),
                "true".to_owned(),
            );
        }
    }
    if !owners.is_empty() {
        host_annotations.insert(
            annotations::POD_OWNER_REFERENCES.to_owned(),
            serde_json::to_string(owners).unwrap_or_default(),
        );
        if let Some(owner) = owners.iter().find(|o| {
            o.api_version == "apps/v1"
                && matches!(
                    o.kind.as_str(),
                    "DaemonSet" | "Job" | "ReplicaSet" | "StatefulSet"
                )
        }) {
            host_annotations.insert(
                annotations::POD_OWNER_SET_KIND.to_owned(),
                owner.kind.clone(),
            );
        }
    }

    // Identity: the host account, no host token, no host service links.
    spec.service_account = None;
    spec.service_account_name = Some(if options.sync_service_accounts {
        names.host_name(virtual_service_account(&spec), namespace)
    } else {
        options.workload_service_account.clone()
    });
    spec.automount_service_account_token = Some(false);
    let virtual_service_links = spec.enable_service_links.unwrap_or(true);
    spec.enable_service_links = Some(false);

    translate_priority(options, names, &mut spec);

    let alias = HostAlias {
        ip: inputs.kube_ip.to_owned(),
        hostnames: Some(vec![
            format!("kubernetes.default.svc.{}", options.cluster_domain),
            "kubernetes".to_owned(),
            "kubernetes.default".to_owned(),
            "kubernetes.default.svc".to_owned(),
        ]),
    };
    spec.host_aliases.get_or_insert_with(Vec::new).push(alias);

    translate_dns(options, inputs.dns_ip, namespace, &mut spec);
    let hosts_rewritten = translate_hostname(names, options, virtual_pod, namespace, &mut spec);
    if hosts_rewritten {
        host_annotations_insert(&mut metadata, annotations::POD_HOSTS_REWRITTEN, "true");
    }

    let service_env = service_env(virtual_service_links, inputs.services, inputs.kube_ip);
    // ConfigMaps, Secrets and claims referenced by the pod are synced under their host names.
    let rename = |name: &str| names.host_name(name, namespace);
    for container in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
    {
        if container.name == REWRITE_HOSTS_CONTAINER && hosts_rewritten {
            continue;
        }
        translate_env(
            names,
            &mut container.env,
            &mut container.env_from,
            &service_env,
            &rename,
        );
        container.image = options.image(&container.image);
    }
    for container in spec.ephemeral_containers.iter_mut().flatten() {
        translate_env(
            names,
            &mut container.env,
            &mut container.env_from,
            &service_env,
            &rename,
        );
        container.image = options.image(&container.image);
    }
    for secret in spec.image_pull_secrets.iter_mut().flatten() {
        secret.name = rename(&secret.name);
    }

    let mut token_annotations = BTreeMap::new();
    for volume in spec.volumes.iter_mut().flatten() {
        translate_volume(
            names,
            name,
            namespace,
            volume,
            inputs.tokens,
            &mut token_annotations,
        )?;
    }
    if let Some(annotations) = metadata.annotations.as_mut() {
        annotations.extend(token_annotations);
    }

    if let Some(runtime_class) = &options.runtime_class_name {
        spec.runtime_class_name = Some(runtime_class.clone());
    }
    if let Some(constraints) = &spec.topology_spread_constraints {
        spec.topology_spread_constraints = Some(host_topology_spread_constraints(
            names,
            constraints,
            namespace,
        ));
    }
    if let Some(affinity) = &spec.affinity {
        spec.affinity = Some(host_affinity(names, affinity, namespace));
    }
    if !options.node_selector.is_empty() {
        spec.node_selector
            .get_or_insert_with(BTreeMap::new)
            .extend(options.node_selector.clone());
    }
    for toleration in &options.enforce_tolerations {
        let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
        if !tolerations.contains(toleration) {
            tolerations.push(toleration.clone());
        }
    }

    Ok(Pod {
        metadata,
        spec: Some(spec),
        status: None,
    })
}

fn host_annotations_insert(
    metadata: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    key: &str,
    value: &str,
) {
    metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(key.to_owned(), value.to_owned());
}

fn translate_priority(options: &PodOptions, names: &Names, spec: &mut PodSpec) {
    let class = spec.priority_class_name.clone().filter(|c| !c.is_empty());
    if options.sync_priority_classes_to_host {
        if let Some(class) = class {
            spec.priority_class_name = Some(names.host_name_cluster(&class));
            spec.priority = spec.priority.map(|p| p.min(MAX_PRIORITY));
        }
    } else if !options.sync_priority_classes_from_host {
        // The class exists only in the virtual cluster; the host wouldn't admit the pod.
        spec.priority_class_name = None;
        spec.priority = None;
    }
    if let Some(default_class) = &options.priority_class_name
        && spec
            .priority_class_name
            .as_deref()
            .unwrap_or_default()
            .is_empty()
    {
        spec.priority_class_name = Some(default_class.clone());
        spec.priority = None;
    }
}

/// ClusterFirst pods (and ClusterFirstWithHostNet) resolve through the virtual cluster's DNS;
/// Default and None pods, and host-network ClusterFirst pods, keep their setting.
fn translate_dns(options: &PodOptions, dns_ip: &str, namespace: &str, spec: &mut PodSpec) {
    let policy = spec.dns_policy.as_deref().unwrap_or("ClusterFirst");
    let host_network = spec.host_network.unwrap_or(false);
    let cluster_first = match policy {
        "ClusterFirstWithHostNet" => true,
        "ClusterFirst" => !host_network,
        _ => false,
    };
    if !cluster_first || dns_ip.is_empty() {
        return;
    }
    let domain = &options.cluster_domain;
    let mut nameservers = vec![dns_ip.to_owned()];
    let mut searches = vec![
        format!("{namespace}.svc.{domain}"),
        format!("svc.{domain}"),
        domain.clone(),
    ];
    let mut dns_options = vec![PodDNSConfigOption {
        name: Some("ndots".to_owned()),
        value: Some("5".to_owned()),
    }];
    // The pod's own dnsConfig still applies, after the cluster's (as kubelet merges it).
    if let Some(existing) = spec.dns_config.take() {
        for server in existing.nameservers.into_iter().flatten() {
            if !nameservers.contains(&server) {
                nameservers.push(server);
            }
        }
        for search in existing.searches.into_iter().flatten() {
            if !searches.contains(&search) {
                searches.push(search);
            }
        }
        for option in existing.options.into_iter().flatten() {
            dns_options.retain(|o| o.name != option.name);
            dns_options.push(option);
        }
    }
    spec.dns_policy = Some("None".to_owned());
    spec.dns_config = Some(PodDNSConfig {
        nameservers: Some(nameservers),
        searches: Some(searches),
        options: Some(dns_options),
    });
}

/// Hostname and subdomain (returns whether /etc/hosts is rewritten).
///
/// vCluster clears `subdomain` on the host pod (loft-sh/vcluster#2501): the host's DNS then
/// has no `hostname.subdomain…` record and the host endpoints controller no hostname, so the
/// FQDN of StatefulSet pods breaks outside the virtual cluster. warren keeps it working:
/// - `hostname` is the virtual one, or the pod name (63 chars, `.` -> `-`), as kubelet would
///   derive it, since the host pod's own name is the translated one;
/// - `subdomain` names the host copy of the virtual Service `<subdomain>` (same namespace),
///   so the host headless Service selects the pod and the host DNS serves
///   `hostname.<host service>.<host namespace>.svc.<host domain>`;
/// - the virtual FQDN `hostname.subdomain.<namespace>.svc.<domain>` is served by warren's DNS
///   from the virtual objects, and (unless disabled) an init container rewrites the pod's
///   own line in /etc/hosts to it, so `hostname -f` prints the virtual FQDN as in a real
///   cluster instead of the host one kubelet writes.
fn translate_hostname(
    names: &Names,
    options: &PodOptions,
    virtual_pod: &Pod,
    namespace: &str,
    spec: &mut PodSpec,
) -> bool {
    let hostname = match spec.hostname.as_deref().filter(|h| !h.is_empty()) {
        Some(hostname) => hostname.to_owned(),
        None => {
            let name = pod_name(virtual_pod);
            let cut = &name[..name.len().min(63)];
            cut.replace('.', "-").trim_end_matches('-').to_owned()
        }
    };
    spec.hostname = Some(hostname.clone());
    let Some(subdomain) = spec.subdomain.clone().filter(|s| !s.is_empty()) else {
        return false;
    };
    spec.subdomain = Some(names.host_name(&subdomain, namespace));
    let disabled = virtual_pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(annotations::POD_DISABLE_SUBDOMAIN_REWRITE))
        .is_some_and(|v| v == "true");
    let Some(rewrite) = options.rewrite_hosts.as_ref().filter(|_| !disabled) else {
        return false;
    };
    let fqdn = format!(
        "{hostname}.{subdomain}.{namespace}.svc.{}",
        options.cluster_domain
    );
    add_hosts_rewrite(spec, rewrite, &hostname, &fqdn);
    true
}

fn add_hosts_rewrite(spec: &mut PodSpec, rewrite: &RewriteHosts, hostname: &str, fqdn: &str) {
    // kubelet writes "<pod IP>\t<host FQDN>\t<hostname>"; replace that line's names
    // (plain spaces in the replacement: not every sed knows \t there).
    let script = format!(
        "sed -E 's/^([^#[:space:]]+)[[:space:]].*[[:space:]]{hostname}$/\\1 {fqdn} {hostname}/' /etc/hosts > /hosts/hosts"
    );
    let quantities = |map: &BTreeMap<String, String>| {
        (!map.is_empty()).then(|| {
            map.iter()
                .map(|(k, v)| (k.clone(), Quantity(v.clone())))
                .collect::<BTreeMap<_, _>>()
        })
    };
    let init = Container {
        name: REWRITE_HOSTS_CONTAINER.to_owned(),
        image: Some(rewrite.image.clone()),
        command: Some(vec!["sh".to_owned()]),
        args: Some(vec!["-c".to_owned(), script]),
        resources: Some(ResourceRequirements {
            limits: quantities(&rewrite.limits),
            requests: quantities(&rewrite.requests),
            ..Default::default()
        }),
        security_context: Some(SecurityContext {
            run_as_user: Some(REWRITE_HOSTS_USER),
            run_as_group: Some(REWRITE_HOSTS_USER),
            run_as_non_root: Some(true),
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_owned()]),
                add: None,
            }),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_owned(),
                localhost_profile: None,
            }),
            ..Default::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: REWRITE_HOSTS_CONTAINER.to_owned(),
            mount_path: "/hosts".to_owned(),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let hosts_mount = VolumeMount {
        name: REWRITE_HOSTS_CONTAINER.to_owned(),
        mount_path: "/etc/hosts".to_owned(),
        sub_path: Some("hosts".to_owned()),
        ..Default::default()
    };
    for container in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
    {
        container
            .volume_mounts
            .get_or_insert_with(Vec::new)
            .push(hosts_mount.clone());
    }
    for container in spec.ephemeral_containers.iter_mut().flatten() {
        container
            .volume_mounts
            .get_or_insert_with(Vec::new)
            .push(hosts_mount.clone());
    }
    spec.init_containers
        .get_or_insert_with(Vec::new)
        .insert(0, init);
    spec.volumes.get_or_insert_with(Vec::new).push(Volume {
        name: REWRITE_HOSTS_CONTAINER.to_owned(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    });
}

/// Downward API field paths that must read the virtual pod's values from annotations.
fn translate_field_ref(names: &Names, field: &mut ObjectFieldSelector) {
    let path = field.field_path.as_str();
    let label = path
        .strip_prefix("metadata.labels['")
        .and_then(|rest| rest.strip_suffix("']"));
    let annotation = |key: &str| format!("metadata.annotations['{key}']");
    let new_path = match (label, path) {
        (Some(key), _) => format!("metadata.labels['{}']", names.host_label_key(key)),
        (None, "metadata.labels") => annotation(annotations::POD_LABELS),
        (None, "metadata.name") => annotation(annotations::POD_NAME),
        (None, "metadata.namespace") => annotation(annotations::POD_NAMESPACE),
        (None, "metadata.uid") => annotation(annotations::POD_UID),
        (None, "spec.serviceAccountName") => annotation(annotations::POD_SERVICE_ACCOUNT_NAME),
        _ => return,
    };
    field.field_path = new_path;
}

fn translate_env(
    names: &Names,
    env: &mut Option<Vec<EnvVar>>,
    env_from: &mut Option<Vec<EnvFromSource>>,
    service_env: &BTreeMap<String, String>,
    rename: &impl Fn(&str) -> String,
) {
    let mut own = env.take().unwrap_or_default();
    for var in &mut own {
        let Some(source) = var.value_from.as_mut() else {
            continue;
        };
        if let Some(field) = source.field_ref.as_mut() {
            translate_field_ref(names, field);
        }
        if let Some(selector) = source.config_map_key_ref.as_mut() {
            selector.name = rename(&selector.name);
        }
        if let Some(selector) = source.secret_key_ref.as_mut() {
            selector.name = rename(&selector.name);
        }
    }
    for source in env_from.iter_mut().flatten() {
        if let Some(config_map) = source.config_map_ref.as_mut() {
            config_map.name = rename(&config_map.name);
        }
        if let Some(secret) = source.secret_ref.as_mut() {
            secret.name = rename(&secret.name);
        }
    }
    // Service env first (sorted) so the pod's own variables can refer to and override them.
    let mut out: Vec<EnvVar> = service_env
        .iter()
        .filter(|(name, _)| !own.iter().any(|var| &var.name == *name))
        .map(|(name, value)| EnvVar {
            name: name.clone(),
            value: Some(value.clone()),
            value_from: None,
        })
        .collect();
    out.extend(own);
    *env = Some(out);
}

fn translate_volume(
    names: &Names,
    pod: &str,
    namespace: &str,
    volume: &mut Volume,
    tokens: &BTreeMap<String, String>,
    token_annotations: &mut BTreeMap<String, String>,
) -> Result<(), TranslateError> {
    let rename = |name: &str| names.host_name(name, namespace);
    if let Some(config_map) = volume.config_map.as_mut() {
        config_map.name = rename(&config_map.name);
    }
    if let Some(secret) = volume.secret.as_mut() {
        secret.secret_name = secret.secret_name.as_deref().map(rename);
    }
    if let Some(claim) = volume.persistent_volume_claim.as_mut() {
        claim.claim_name = rename(&claim.claim_name);
    }
    if volume.ephemeral.take().is_some() {
        // The virtual cluster's ephemeral-volume controller creates the claim
        // `<pod>-<volume>`; the host must use that (synced) claim, not make its own.
        volume.persistent_volume_claim = Some(
            k8s_openapi::api::core::v1::PersistentVolumeClaimVolumeSource {
                claim_name: rename(&format!("{pod}-{}", volume.name)),
                read_only: None,
            },
        );
    }
    if let Some(downward) = volume.downward_api.as_mut() {
        for item in downward.items.iter_mut().flatten() {
            if let Some(field) = item.field_ref.as_mut() {
                translate_field_ref(names, field);
            }
        }
    }
    if let Some(projected) = volume.projected.as_mut() {
        translate_projected(
            names,
            pod,
            namespace,
            &volume.name,
            projected,
            tokens,
            token_annotations,
        )?;
    }
    macro_rules! secret_ref {
        ($source:ident) => {
            if let Some(reference) = volume.$source.as_mut().and_then(|s| s.secret_ref.as_mut()) {
                reference.name = rename(&reference.name);
            }
        };
    }
    secret_ref!(iscsi);
    secret_ref!(rbd);
    secret_ref!(flex_volume);
    secret_ref!(cinder);
    secret_ref!(cephfs);
    if let Some(scale_io) = volume.scale_io.as_mut() {
        scale_io.secret_ref.name = rename(&scale_io.secret_ref.name);
    }
    secret_ref!(storageos);
    if let Some(azure) = volume.azure_file.as_mut()
        && !azure.secret_name.is_empty()
    {
        azure.secret_name = rename(&azure.secret_name);
    }
    if let Some(reference) = volume
        .csi
        .as_mut()
        .and_then(|c| c.node_publish_secret_ref.as_mut())
    {
        reference.name = rename(&reference.name);
    }
    if let Some(gluster) = volume.glusterfs.as_mut()
        && !gluster.endpoints.is_empty()
    {
        gluster.endpoints = rename(&gluster.endpoints);
    }
    Ok(())
}

fn translate_projected(
    names: &Names,
    pod: &str,
    namespace: &str,
    volume: &str,
    projected: &mut ProjectedVolumeSource,
    tokens: &BTreeMap<String, String>,
    token_annotations: &mut BTreeMap<String, String>,
) -> Result<(), TranslateError> {
    for (index, source) in projected.sources.iter_mut().flatten().enumerate() {
        if let Some(secret) = source.secret.as_mut() {
            secret.name = names.host_name(&secret.name, namespace);
        }
        if let Some(config_map) = source.config_map.as_mut() {
            config_map.name = names.host_name(&config_map.name, namespace);
        }
        if let Some(downward) = source.downward_api.as_mut() {
            for item in downward.items.iter_mut().flatten() {
                if let Some(field) = item.field_ref.as_mut() {
                    translate_field_ref(names, field);
                }
            }
        }
        if let Some(token_source) = source.service_account_token.take() {
            // The virtual API server's token travels in an annotation; the downward API
            // writes it where the container expects the token file (and rewrites it when
            // the sync loop refreshes the annotation).
            let annotation = token_annotation(volume, index);
            let token = tokens.get(&annotation).ok_or_else(|| {
                TranslateError::MissingServiceAccountToken {
                    pod: format!("{namespace}/{pod}"),
                    volume: volume.to_owned(),
                    annotation: annotation.clone(),
                }
            })?;
            token_annotations.insert(annotation.clone(), token.clone());
            source.downward_api = Some(DownwardAPIProjection {
                items: Some(vec![DownwardAPIVolumeFile {
                    path: token_source.path,
                    field_ref: Some(ObjectFieldSelector {
                        api_version: Some("v1".to_owned()),
                        field_path: format!("metadata.annotations['{annotation}']"),
                    }),
                    mode: Some(0o644),
                    resource_field_ref: None,
                }]),
            });
        }
    }
    Ok(())
}

fn env_name(name: &str) -> String {
    name.to_uppercase().replace('-', "_")
}

/// Environment variables a virtual pod gets from Services, as kubelet computes them: the
/// `KUBERNETES_*` variables pointing at `kube_ip` always, and with enableServiceLinks the
/// `<SVC>_SERVICE_HOST`/`_PORT` and Docker link variables of every Service of the namespace
/// that has a cluster IP.
pub fn service_env(
    enable_service_links: bool,
    services: &[Service],
    kube_ip: &str,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    if enable_service_links {
        for service in services {
            let Some(spec) = &service.spec else { continue };
            let Some(ip) = spec
                .cluster_ip
                .as_deref()
                .filter(|ip| !ip.is_empty() && *ip != "None")
            else {
                continue;
            };
            let ports = spec.ports.as_deref().unwrap_or_default();
            let Some(first) = ports.first() else { continue };
            let prefix = env_name(service.metadata.name.as_deref().unwrap_or_default());
            env.insert(format!("{prefix}_SERVICE_HOST"), ip.to_owned());
            env.insert(format!("{prefix}_SERVICE_PORT"), first.port.to_string());
            for port in ports {
                if let Some(port_name) = port.name.as_deref().filter(|n| !n.is_empty()) {
                    env.insert(
                        format!("{prefix}_SERVICE_PORT_{}", env_name(port_name)),
                        port.port.to_string(),
                    );
                }
            }
            let host = if ip.contains(':') {
                format!("[{ip}]")
            } else {
                ip.to_owned()
            };
            for (index, port) in ports.iter().enumerate() {
                let protocol = port.protocol.as_deref().unwrap_or("TCP");
                let url = format!("{}://{host}:{}", protocol.to_lowercase(), port.port);
                if index == 0 {
                    env.insert(format!("{prefix}_PORT"), url.clone());
                }
                let port_prefix =
                    format!("{prefix}_PORT_{}_{}", port.port, protocol.to_uppercase());
                env.insert(port_prefix.clone(), url);
                env.insert(format!("{port_prefix}_PROTO"), protocol.to_lowercase());
                env.insert(format!("{port_prefix}_PORT"), port.port.to_string());
                env.insert(format!("{port_prefix}_ADDR"), ip.to_owned());
            }
        }
    }
    // The virtual API server, always (kubelet adds the master service's variables).
    let url = format!("tcp://{kube_ip}:443");
    for (key, value) in [
        ("KUBERNETES_PORT", url.as_str()),
        ("KUBERNETES_PORT_443_TCP", url.as_str()),
        ("KUBERNETES_PORT_443_TCP_ADDR", kube_ip),
        ("KUBERNETES_PORT_443_TCP_PORT", "443"),
        ("KUBERNETES_PORT_443_TCP_PROTO", "tcp"),
        ("KUBERNETES_SERVICE_HOST", kube_ip),
        ("KUBERNETES_SERVICE_PORT", "443"),
        ("KUBERNETES_SERVICE_PORT_HTTPS", "443"),
    ] {
        env.insert(key.to_owned(), value.to_owned());
    }
    env
}

/// The host pod spec after a virtual pod changed, or `None` when nothing needs updating.
/// Only what Kubernetes lets change on a running pod follows: container and init container
/// images, activeDeadlineSeconds, schedulingGates (which can only be removed), and
/// tolerations (which can only be added: host-only ones and enforced ones are kept).
/// What the syncer keeps of a host pod in its cache: metadata, status, and the parts of the spec
/// it reads or updates after the create (node, container names and images, deadline,
/// tolerations, scheduling gates). Volumes, env, mounts, probes, security settings … are never
/// read again and are most of a pod's size; [`host_pod_spec_update`] compares and patches
/// only what is kept (its patch merges containers by name).
pub fn trim_cached_host_pod(pod: &mut Pod) {
    let Some(spec) = pod.spec.take() else {
        return;
    };
    let slim = |containers: Vec<Container>| -> Vec<Container> {
        containers
            .into_iter()
            .map(|c| Container {
                name: c.name,
                image: c.image,
                ..Container::default()
            })
            .collect()
    };
    pod.spec = Some(PodSpec {
        node_name: spec.node_name,
        containers: slim(spec.containers),
        init_containers: spec.init_containers.map(slim),
        active_deadline_seconds: spec.active_deadline_seconds,
        tolerations: spec.tolerations,
        scheduling_gates: spec.scheduling_gates,
        ..PodSpec::default()
    });
}

pub fn host_pod_spec_update(
    options: &PodOptions,
    virtual_pod: &Pod,
    host_pod: &Pod,
) -> Option<PodSpec> {
    let virtual_spec = virtual_pod.spec.as_ref()?;
    let current = host_pod.spec.as_ref()?;
    let mut next = current.clone();
    next.active_deadline_seconds = virtual_spec.active_deadline_seconds;
    let images = |host: &mut Vec<Container>, virtual_containers: &[Container]| {
        for container in host.iter_mut() {
            if let Some(v) = virtual_containers.iter().find(|v| v.name == container.name) {
                container.image = options.image(&v.image);
            }
        }
    };
    images(&mut next.containers, &virtual_spec.containers);
    if let Some(init) = next.init_containers.as_mut() {
        images(
            init,
            virtual_spec.init_containers.as_deref().unwrap_or_default(),
        );
    }
    next.scheduling_gates = virtual_spec.scheduling_gates.clone();
    let mut tolerations = virtual_spec.tolerations.clone().unwrap_or_default();
    for toleration in current
        .tolerations
        .iter()
        .flatten()
        .chain(&options.enforce_tolerations)
    {
        if !tolerations.contains(toleration) {
            tolerations.push(toleration.clone());
        }
    }
    next.tolerations = (!tolerations.is_empty()).then_some(tolerations);
    (next != *current).then_some(next)
}

/// The virtual pod's status from the host pod's: everything but qosClass (computed by the
/// virtual API server from the virtual spec), with statuses of containers the syncer added
/// (the /etc/hosts rewrite) left out.
pub fn virtual_pod_status(virtual_pod: &Pod, host_pod: &Pod) -> PodStatus {
    let mut status = host_pod.status.clone().unwrap_or_default();
    status.qos_class = virtual_pod
        .status
        .as_ref()
        .and_then(|s| s.qos_class.clone());
    let spec = virtual_pod.spec.clone().unwrap_or_default();
    let keep = |statuses: &mut Option<Vec<k8s_openapi::api::core::v1::ContainerStatus>>,
                containers: &[Container]| {
        if let Some(list) = statuses.as_mut() {
            list.retain(|s| containers.iter().any(|c| c.name == s.name));
        }
    };
    keep(&mut status.container_statuses, &spec.containers);
    keep(
        &mut status.init_container_statuses,
        spec.init_containers.as_deref().unwrap_or_default(),
    );
    status
}

#[cfg(test)]
mod tests;
