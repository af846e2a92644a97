//! The host objects of one virtual cluster, as plain JSON in apply order (pure).

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use warren_syncer::config::SyncerConfig;

use crate::{
    API_PORT, CONFIG_HASH_ANNOTATION, CONFIG_KEY, CONFIG_PATH, DATA_DIR, DNS_PORT, DeployRequest,
    MANAGED_BY, MANAGED_BY_LABEL, Names,
};

const CORE_VERBS_RW: [&str; 7] = [
    "create", "delete", "get", "list", "patch", "update", "watch",
];

const READ: [&str; 3] = ["get", "list", "watch"];

fn rule(group: &str, resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": [group], "resources": resources, "verbs": verbs})
}

/// One rule for `group` over the `(resource, wanted)` pairs that are wanted, if any.
fn rule_if(group: &str, resources: &[(&str, bool)], verbs: &[&str]) -> Option<Value> {
    let wanted: Vec<&str> = resources
        .iter()
        .filter_map(|(r, on)| on.then_some(*r))
        .collect();
    (!wanted.is_empty()).then(|| rule(group, &wanted, verbs))
}

/// What the syncer does in its own host namespace (read off components/syncer/src/sync):
/// - it caches (list, watch) every core kind it owns there, whichever syncs are on, plus
///   events;
/// - ConfigMaps, Secrets, ServiceAccounts, Services and Endpoints are created, replaced
///   (update), patched and deleted; its own Service and Endpoints and the workload
///   ServiceAccount are also read by name;
/// - Pods and PersistentVolumeClaims are created, merge-patched and deleted, never replaced;
/// - Events are only read (host events are copied into the virtual cluster);
/// - the optional kinds, only when vcluster.yaml turns their sync on (the table in
///   components/syncer/src/sync/kinds.rs): Ingresses (`sync.toHost.ingresses`, and
///   `ingresses/status` read), NetworkPolicies (`sync.toHost.networkPolicies`),
///   PodDisruptionBudgets (`sync.toHost.podDisruptionBudgets`) are written like Services.
///
/// `get` goes with every `list` (it shows nothing `list` does not). Tokens come from the
/// virtual API server, so there is no `serviceaccounts/token`; nothing writes `pods/status`.
pub fn role_rules(config: &SyncerConfig) -> Value {
    let to_host = &config.sync.to_host;
    let rules = [
        Some(rule(
            "",
            &[
                "configmaps",
                "endpoints",
                "secrets",
                "serviceaccounts",
                "services",
            ],
            &CORE_VERBS_RW,
        )),
        Some(rule(
            "",
            &["persistentvolumeclaims", "pods"],
            &["create", "delete", "get", "list", "patch", "watch"],
        )),
        Some(rule("", &["events"], &READ)),
        rule_if(
            "networking.k8s.io",
            &[
                ("ingresses", to_host.ingresses),
                ("networkpolicies", to_host.network_policies),
            ],
            &CORE_VERBS_RW,
        ),
        rule_if(
            "networking.k8s.io",
            &[("ingresses/status", to_host.ingresses)],
            &["get"],
        ),
        rule_if(
            "policy",
            &[("poddisruptionbudgets", to_host.pod_disruption_budgets)],
            &CORE_VERBS_RW,
        ),
    ];
    Value::Array(rules.into_iter().flatten().collect())
}

/// Cluster-scoped rules, only for syncs that read or write host objects outside the syncer's
/// namespace (vCluster's chart makes a ClusterRole only when a setting needs one). The rule:
/// - `sync.fromHost.nodes.enabled`: Nodes get/list/watch (host nodes copied into the virtual
///   cluster). Without it virtual nodes are fake and node reads are not needed (vCluster's
///   default).
/// - `networking.replicateServices.fromHost` naming a service in another host namespace:
///   Services and Endpoints get/list/watch (as vCluster's chart).
/// - `networking.replicateServices.toHost` naming another host namespace: Services written
///   there (warren allows `namespace/name` targets; vCluster only its own namespace).
/// - `sync.fromHost.ingressClasses` (on with `sync.toHost.ingresses` by default): IngressClasses
///   read; `sync.fromHost.priorityClasses` / `storageClasses`: read; `sync.toHost.priorityClasses`
///   / `storageClasses`: written (the classes are cluster-scoped on the host too).
///
/// Syncs warren does not do yet (csiNodes, runtimeClasses, …) get no rules.
pub fn cluster_role_rules(config: &SyncerConfig, host_namespace: &str) -> Option<Value> {
    let elsewhere = |r: &warren_syncer::config::ServiceRef| {
        r.namespace
            .as_deref()
            .is_some_and(|ns| ns != host_namespace)
    };
    let replicate = &config.networking.replicate_services;
    let reads_services = replicate.from_host.iter().any(|m| elsewhere(&m.from));
    let writes_services = replicate.to_host.iter().any(|m| elsewhere(&m.to));
    let (to_host, from_host) = (&config.sync.to_host, &config.sync.from_host);
    let rules = [
        rule_if(
            "",
            &[
                ("endpoints", reads_services),
                ("nodes", from_host.nodes.enabled),
                ("services", reads_services && !writes_services),
            ],
            &READ,
        ),
        rule_if("", &[("services", writes_services)], &CORE_VERBS_RW),
        rule_if(
            "networking.k8s.io",
            &[("ingressclasses", from_host.ingress_classes.enabled)],
            &READ,
        ),
        rule_if(
            "scheduling.k8s.io",
            &[(
                "priorityclasses",
                from_host.priority_classes.enabled && !to_host.priority_classes,
            )],
            &READ,
        ),
        rule_if(
            "scheduling.k8s.io",
            &[("priorityclasses", to_host.priority_classes)],
            &CORE_VERBS_RW,
        ),
        rule_if(
            "storage.k8s.io",
            &[(
                "storageclasses",
                from_host.storage_classes.enabled && !to_host.storage_classes,
            )],
            &READ,
        ),
        rule_if(
            "storage.k8s.io",
            &[("storageclasses", to_host.storage_classes)],
            &CORE_VERBS_RW,
        ),
    ];
    let rules: Vec<Value> = rules.into_iter().flatten().collect();
    (!rules.is_empty()).then_some(Value::Array(rules))
}

/// SHA-256 (hex) of vcluster.yaml: the pod-template annotation that rolls the pod when the
/// file changes.
pub fn config_hash(config_text: &str) -> String {
    Sha256::digest(config_text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `app=vcluster, release=<name>`: the pod selector (vCluster's).
fn selector(names: &Names) -> Value {
    json!({"app": "vcluster", "release": names.vcluster})
}

/// The selector labels and the managed-by mark, on every object.
fn labels(names: &Names) -> Value {
    json!({"app": "vcluster", "release": names.vcluster, MANAGED_BY_LABEL: MANAGED_BY})
}

fn namespaced_meta(names: &Names, name: &str) -> Value {
    json!({"name": name, "namespace": names.namespace, "labels": labels(names)})
}

fn probe(path: &str, period: u32, failures: u32) -> Value {
    json!({
        "httpGet": {"path": path, "port": API_PORT, "scheme": "HTTPS"},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    })
}

/// The objects of the virtual cluster in apply order: identity and permissions first, the
/// config and the Services the pod needs next, the StatefulSet last.
pub fn manifests(request: &DeployRequest) -> Vec<Value> {
    let names = &request.names;
    let account = names.service_account();
    let mut objects = vec![
        json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": namespaced_meta(names, &account),
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": namespaced_meta(names, &account),
            "rules": role_rules(&request.config),
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": namespaced_meta(names, &account),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": names.namespace}],
        }),
    ];
    if let Some(rules) = cluster_role_rules(&request.config, &names.namespace) {
        let cluster_role = names.cluster_role();
        let meta = json!({"name": cluster_role, "labels": labels(names)});
        objects.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": meta,
            "rules": rules,
        }));
        objects.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": names.namespace}],
        }));
    }
    let config = base64::engine::general_purpose::STANDARD.encode(&request.config_text);
    objects.push(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": namespaced_meta(names, &names.config_secret()),
        "type": "Opaque",
        "data": {CONFIG_KEY: config},
    }));

    let dns = request.config.dns_enabled;
    let mut service_ports =
        vec![json!({"name": "https", "port": 443, "protocol": "TCP", "targetPort": API_PORT})];
    if dns {
        service_ports
            .push(json!({"name": "dns", "port": 53, "protocol": "UDP", "targetPort": DNS_PORT}));
        service_ports.push(
            json!({"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": DNS_PORT}),
        );
    }
    let mut service_meta = namespaced_meta(names, names.service());
    service_meta["labels"]["vcluster.loft.sh/service"] = json!("true");
    objects.push(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": service_meta,
        "spec": {"type": "ClusterIP", "ports": service_ports, "selector": selector(names)},
    }));
    objects.push(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": namespaced_meta(names, &names.headless_service()),
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": true,
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": API_PORT}],
            "selector": selector(names),
        },
    }));
    objects.push(statefulset(request));
    objects
}

fn statefulset(request: &DeployRequest) -> Value {
    let names = &request.names;
    let (name, ns) = (&names.vcluster, &names.namespace);
    let dns = request.config.dns_enabled;
    let sans = format!("{name},{name}.{ns},{name}.{ns}.svc,{name}.{ns}.svc.cluster.local");
    let mut args: Vec<String> = [
        "serve",
        "--role",
        "syncer",
        "--name",
        name,
        "--data-dir",
        DATA_DIR,
        "-f",
        CONFIG_PATH,
        "--listen",
        &format!("0.0.0.0:{API_PORT}"),
        "--tls-san",
        &sans,
    ]
    .map(str::to_owned)
    .to_vec();
    let mut ports = vec![json!({"name": "https", "containerPort": API_PORT, "protocol": "TCP"})];
    if dns {
        // On every address of the pod: the Service `<name>` and the host's copy of kube-dns
        // both select this pod with targetPort DNS_PORT.
        args.extend(["--dns-listen".to_owned(), format!("0.0.0.0:{DNS_PORT}")]);
        ports.push(json!({"name": "dns", "containerPort": DNS_PORT, "protocol": "UDP"}));
        ports.push(json!({"name": "dns-tcp", "containerPort": DNS_PORT, "protocol": "TCP"}));
    }
    let container = json!({
        "name": "syncer",
        "image": request.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["warren"],
        "args": args,
        "ports": ports,
        "startupProbe": probe("/readyz", 5, 60),
        "readinessProbe": probe("/readyz", 5, 3),
        "livenessProbe": probe("/livez", 10, 6),
        "resources": {"limits": request.statefulset.limits, "requests": request.statefulset.requests},
        "volumeMounts": [
            {"name": "data", "mountPath": DATA_DIR},
            {"name": "config", "mountPath": parent(CONFIG_PATH), "readOnly": true},
        ],
    });
    let mut volumes = vec![json!({
        "name": "config",
        "secret": {
            "secretName": names.config_secret(),
            "items": [{"key": CONFIG_KEY, "path": file_name(CONFIG_PATH)}],
        },
    })];
    let persistence = &request.statefulset.persistence;
    if !persistence.claim {
        volumes.push(json!({"name": "data", "emptyDir": {}}));
    }
    let mut spec = json!({
        "replicas": 1,
        "serviceName": names.headless_service(),
        "podManagementPolicy": "Parallel",
        "selector": {"matchLabels": selector(names)},
        "template": {
            "metadata": {
                "labels": selector(names),
                "annotations": {CONFIG_HASH_ANNOTATION: config_hash(&request.config_text)},
            },
            "spec": {
                "serviceAccountName": names.service_account(),
                "terminationGracePeriodSeconds": 15,
                "enableServiceLinks": false,
                "containers": [container],
                "volumes": volumes,
            },
        },
    });
    if persistence.claim {
        let mut claim = json!({
            "accessModes": persistence.access_modes,
            "resources": {"requests": {"storage": persistence.size}},
        });
        if let Some(class) = &persistence.storage_class {
            claim["storageClassName"] = json!(class);
        }
        spec["volumeClaimTemplates"] = json!([{"metadata": {"name": "data"}, "spec": claim}]);
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": namespaced_meta(names, names.statefulset()),
        "spec": spec,
    })
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(dir, _)| dir)
}

fn file_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, file)| file)
}

#[cfg(test)]
mod tests;
