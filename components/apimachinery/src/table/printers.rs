//! Per-kind column definitions and cells: a port of kube-apiserver 1.33's
//! `pkg/printers/internalversion/printers.go` over served JSON objects.
//!
//! Every printer reads the object through [`O`], which turns missing fields and wrong types
//! into empty values, so no input can make a printer fail. Where kube-apiserver would have
//! defaulted a field before printing (replicas, protocol, service type, ...), the printer
//! applies the same default.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use super::Column;
use super::duration::{human_duration, parse_time, since};
use crate::selector::{LabelSelector, format_labels};

type Now = DateTime<Utc>;
type Cells = Vec<Value>;
type CellFn = fn(O<'_>, Now) -> Cells;

static NULL: Value = Value::Null;

/// A read-only view of a JSON value where anything missing or mistyped reads as empty.
#[derive(Clone, Copy)]
pub(crate) struct O<'a>(pub(crate) &'a Value);

impl<'a> O<'a> {
    /// The value at a dotted path (numeric segments index arrays); `null` when missing.
    fn at(self, path: &str) -> O<'a> {
        O(path
            .split('.')
            .try_fold(self.0, |v, seg| match v {
                Value::Object(m) => m.get(seg),
                Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            })
            .unwrap_or(&NULL))
    }

    /// One key, taken whole (label and annotation keys contain dots).
    fn key(self, key: &str) -> O<'a> {
        O(self.0.get(key).unwrap_or(&NULL))
    }

    /// This value as a string (`""` when it is not one).
    fn str(self) -> &'a str {
        self.0.as_str().unwrap_or_default()
    }

    fn s(self, path: &str) -> &'a str {
        self.at(path).str()
    }

    /// A string field, or `default` when it is missing or empty.
    fn s_or(self, path: &str, default: &'a str) -> &'a str {
        match self.s(path) {
            "" => default,
            s => s,
        }
    }

    fn opt_i(self, path: &str) -> Option<i64> {
        self.at(path).0.as_i64()
    }

    fn i(self, path: &str) -> i64 {
        self.opt_i(path).unwrap_or(0)
    }

    fn b(self, path: &str) -> bool {
        self.at(path).0.as_bool().unwrap_or(false)
    }

    fn is_obj(self, path: &str) -> bool {
        self.at(path).0.is_object()
    }

    fn list(self, path: &str) -> impl DoubleEndedIterator<Item = O<'a>> + 'a {
        self.at(path)
            .0
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(O)
    }

    /// The number of entries of an array or object.
    fn len(self, path: &str) -> i64 {
        let v = self.at(path).0;
        let n = v
            .as_array()
            .map(Vec::len)
            .or(v.as_object().map(serde_json::Map::len))
            .unwrap_or(0);
        i64::try_from(n).unwrap_or(i64::MAX)
    }

    /// The string entries of an object (labels, selectors).
    fn pairs(self, path: &str) -> Vec<(&'a str, &'a str)> {
        let entries = self.at(path).0.as_object().into_iter().flatten();
        entries
            .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
            .collect()
    }

    fn time(self, path: &str) -> Option<DateTime<Utc>> {
        parse_time(self.s(path))
    }

    fn name(self) -> &'a str {
        self.s("metadata.name")
    }

    fn age(self, now: Now) -> String {
        since(self.time("metadata.creationTimestamp"), now)
    }

    fn deleting(self) -> bool {
        !self.at("metadata.deletionTimestamp").0.is_null()
    }

    /// Whether `status.conditions` has `type` with status `True`.
    fn condition(self, ty: &str) -> bool {
        self.list("status.conditions")
            .any(|c| c.s("type") == ty && c.s("status") == "True")
    }
}

macro_rules! cells {
    ($($e:expr),* $(,)?) => { vec![$(Value::from($e)),*] };
}

// ---------------------------------------------------------------------------------------------
// Column definitions.

const NAME_DESC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

const fn col(
    name: &'static str,
    ty: &'static str,
    priority: i32,
    description: &'static str,
) -> Column {
    Column {
        name,
        ty,
        format: "",
        description,
        priority,
    }
}

/// A column list: shared columns by constant name, others as `[wide] "Header" type "description"`
/// (`wide` marks the priority-1, `-o wide` columns). Every entry ends with a comma.
macro_rules! columns {
    (@ [$($out:expr),*]) => { &[$($out),*] };
    (@ [$($out:expr),*] wide $name:literal $ty:ident $desc:literal, $($rest:tt)*) => {
        columns!(@ [$($out,)* col($name, stringify!($ty), 1, $desc)] $($rest)*)
    };
    (@ [$($out:expr),*] $name:literal $ty:ident $desc:literal, $($rest:tt)*) => {
        columns!(@ [$($out,)* col($name, stringify!($ty), 0, $desc)] $($rest)*)
    };
    (@ [$($out:expr),*] $shared:ident, $($rest:tt)*) => { columns!(@ [$($out,)* $shared] $($rest)*) };
    ($($entries:tt)*) => { columns!(@ [] $($entries)*) };
}

const NAME: Column = Column {
    name: "Name",
    ty: "string",
    format: "name",
    description: NAME_DESC,
    priority: 0,
};
const AGE: Column = col("Age", "string", 0, AGE_DESC);
const CONTAINERS: Column = col(
    "Containers",
    "string",
    1,
    "Names of each container in the template.",
);
const IMAGES: Column = col(
    "Images",
    "string",
    1,
    "Images referenced by each container in the template.",
);
const SELECTOR: Column = col(
    "Selector",
    "string",
    1,
    "A label query over pods that should match the replica count.",
);
const EVENT_NAME: Column = Column {
    priority: 1,
    ..NAME
};

pub(crate) const DEFAULT_COLUMNS: &[Column] = &[NAME, col("Created At", "date", 0, AGE_DESC)];
pub(crate) const CUSTOM_RESOURCE_COLUMNS: &[Column] = &[NAME, col("Age", "date", 0, AGE_DESC)];

const POD: &[Column] = columns![
    NAME,
    "Ready" string "The aggregate readiness state of this pod for accepting traffic.",
    "Status" string "The aggregate status of the containers in this pod.",
    "Restarts" string "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    AGE,
    wide "IP" string "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
    wide "Node" string "NodeName indicates in which node this pod is scheduled.",
    wide "Nominated Node" string "nominatedNodeName is set only when this pod preempts other pods on the node.",
    wide "Readiness Gates" string "If specified, all readiness gates will be evaluated for pod readiness.",
];
const POD_TEMPLATE: &[Column] = columns![
    NAME,
    "Containers" string "Names of each container in the template.",
    "Images" string "Images referenced by each container in the template.",
    "Pod Labels" string "The labels for the pod template.",
];
const PDB: &[Column] = columns![
    NAME,
    "Min Available" string "The minimum number of pods that must be available.",
    "Max Unavailable" string "The maximum number of pods that may be unavailable.",
    "Allowed Disruptions" integer "Calculated number of pods that may be disrupted at this time.",
    AGE,
];
const REPLICAS: &[Column] = columns![
    NAME,
    "Desired" integer "Replicas is the number of desired replicas.",
    "Current" integer "Replicas is the most recently observed number of replicas.",
    "Ready" integer "The number of ready replicas for this replica set.",
    AGE, CONTAINERS, IMAGES, SELECTOR,
];
const DAEMON_SET: &[Column] = columns![
    NAME,
    "Desired" integer "The total number of nodes that should be running the daemon pod.",
    "Current" integer "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.",
    "Ready" integer "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
    "Up-to-date" integer "The total number of nodes that are running updated daemon pod",
    "Available" integer "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.",
    "Node Selector" string "NodeSelector is a selector which must be true for the pod to fit on a node.",
    AGE, CONTAINERS, IMAGES, SELECTOR,
];
const JOB: &[Column] = columns![
    NAME,
    "Status" string "Status of the job.",
    "Completions" string "The number of pods which reached phase Succeeded.",
    "Duration" string "Time required to complete the job.",
    AGE, CONTAINERS, IMAGES, SELECTOR,
];
const CRON_JOB: &[Column] = columns![
    NAME,
    "Schedule" string "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.",
    "Timezone" string "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.",
    "Suspend" boolean "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.",
    "Active" integer "A list of pointers to currently running jobs.",
    "Last Schedule" string "Information when was the last time the job was successfully scheduled.",
    AGE, CONTAINERS, IMAGES, SELECTOR,
];
const SERVICE: &[Column] = columns![
    NAME,
    "Type" string "type determines how the Service is exposed.",
    "Cluster-IP" string "clusterIP is the IP address of the service and is usually assigned randomly.",
    "External-IP" string "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
    "Port(s)" string "The list of ports that are exposed by this service.",
    AGE,
    wide "Selector" string "Route service traffic to pods with label keys and values matching this selector.",
];
const INGRESS: &[Column] = columns![
    NAME,
    "Class" string "The name of the IngressClass resource that should be used for additional configuration",
    "Hosts" string "Hosts that incoming requests are matched against before the ingress rule",
    "Address" string "Address is a list containing ingress points for the load-balancer",
    "Ports" string "Ports of TLS configurations that open",
    AGE,
];
const INGRESS_CLASS: &[Column] = columns![
    NAME,
    "Controller" string "Controller that is responsible for handling this class",
    "Parameters" string "A reference to a resource with additional parameters",
    AGE,
];
const STATEFUL_SET: &[Column] =
    columns![NAME, "Ready" string "Number of the pod with ready state", AGE, CONTAINERS, IMAGES,];
const ENDPOINTS: &[Column] = columns![NAME, "Endpoints" string "The set of all endpoints is the union of all subsets.", AGE,];
const NODE: &[Column] = columns![
    NAME,
    "Status" string "The status of the node",
    "Roles" string "The roles of the node",
    AGE,
    "Version" string "Kubelet Version reported by the node.",
    wide "Internal-IP" string "List of addresses reachable to the node.",
    wide "External-IP" string "List of addresses reachable to the node.",
    wide "OS-Image" string "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
    wide "Kernel-Version" string "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
    wide "Container-Runtime" string "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
];
const EVENT: &[Column] = columns![
    "Last Seen" string "The time at which the most recent occurrence of this event was recorded.",
    "Type" string "Type of this event (Normal, Warning), new types could be added in the future",
    "Reason" string "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
    "Object" string "The object that this event is about.",
    wide "Subobject" string "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.",
    wide "Source" string "The component reporting this event. Should be a short machine understandable string.",
    "Message" string "A human-readable description of the status of this operation.",
    wide "First Seen" string "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
    wide "Count" string "The number of times this event has occurred.",
    EVENT_NAME,
];
const NAMESPACE: &[Column] = columns![NAME, "Status" string "The status of the namespace", AGE,];
const SECRET: &[Column] = columns![
    NAME,
    "Type" string "Used to facilitate programmatic handling of secret data.",
    "Data" string "Data contains the secret data.",
    AGE,
];
const SERVICE_ACCOUNT: &[Column] = columns![
    NAME,
    "Secrets" string "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
    AGE,
];
const PERSISTENT_VOLUME: &[Column] = columns![
    NAME,
    "Capacity" string "capacity is the description of the persistent volume's resources and capacity.",
    "Access Modes" string "accessModes contains all ways the volume can be mounted.",
    "Reclaim Policy" string "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.",
    "Status" string "phase indicates if a volume is available, bound to a claim, or released by a claim.",
    "Claim" string "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.",
    "StorageClass" string "StorageClass of the pv",
    "VolumeAttributesClass" string "VolumeAttributesClass of the pv",
    "Reason" string "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.",
    AGE,
    wide "VolumeMode" string "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.",
];
const PERSISTENT_VOLUME_CLAIM: &[Column] = columns![
    NAME,
    "Status" string "phase represents the current phase of PersistentVolumeClaim.",
    "Volume" string "volumeName is the binding reference to the PersistentVolume backing this claim.",
    "Capacity" string "capacity represents the actual resources of the underlying volume.",
    "Access Modes" string "accessModes contains the actual access modes the volume backing the PVC has.",
    "StorageClass" string "StorageClass of the pvc",
    "VolumeAttributesClass" string "VolumeAttributesClass of the pvc",
    AGE,
    wide "VolumeMode" string "volumeMode defines what type of volume is required by the claim.",
];
const DEPLOYMENT: &[Column] = columns![
    NAME,
    "Ready" string "Number of the pod with ready state",
    "Up-to-date" string "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
    "Available" string "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
    AGE, CONTAINERS, IMAGES,
    wide "Selector" string "Label selector for pods.",
];
const CONFIG_MAP: &[Column] =
    columns![NAME, "Data" string "Data contains the configuration data.", AGE,];
const NETWORK_POLICY: &[Column] = columns![NAME, "Pod-Selector" string "Selects the pods to which this NetworkPolicy object applies.", AGE,];
const ROLE_BINDING: &[Column] = columns![
    NAME,
    "Role" string "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.",
    AGE,
    wide "Users" string "Users in the roleBinding",
    wide "Groups" string "Groups in the roleBinding",
    wide "ServiceAccounts" string "ServiceAccounts in the roleBinding",
];
const CLUSTER_ROLE_BINDING: &[Column] = columns![
    NAME,
    "Role" string "RoleRef can only reference a ClusterRole in the global namespace.",
    AGE,
    wide "Users" string "Users in the clusterRoleBinding",
    wide "Groups" string "Groups in the clusterRoleBinding",
    wide "ServiceAccounts" string "ServiceAccounts in the clusterRoleBinding",
];
const CSR: &[Column] = columns![
    NAME, AGE,
    "SignerName" string "Requested signer for the request.",
    "Requestor" string "Name of the user that created the request.",
    "RequestedDuration" string "Requested duration of validity of the issued certificate.",
    "Condition" string "Conditions applied to the request.",
];
const LEASE: &[Column] = columns![NAME, "Holder" string "holderIdentity contains the identity of the holder of a current lease.", AGE,];
const STORAGE_CLASS: &[Column] = columns![
    NAME,
    "Provisioner" string "provisioner indicates the type of the provisioner.",
    "ReclaimPolicy" string "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.",
    "VolumeBindingMode" string "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.",
    "AllowVolumeExpansion" string "allowVolumeExpansion shows whether the storage class allow volume expand.",
    AGE,
];
const CONTROLLER_REVISION: &[Column] = columns![
    NAME,
    "Controller" string "Controller of the object",
    "Revision" string "Revision indicates the revision of the state represented by Data.",
    AGE,
];
const RESOURCE_QUOTA: &[Column] = columns![
    NAME, AGE,
    "Request" string "Request represents a minimum amount of cpu/memory that a container may consume.",
    "Limit" string "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
];
const PRIORITY_CLASS: &[Column] = columns![
    NAME,
    "Value" integer "value represents the integer value of this priority class.",
    "Global-Default" boolean "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class.",
    AGE,
    wide "PreemptionPolicy" string "preemptionPolicy is the Policy for preempting pods with lower priority.",
];
const RUNTIME_CLASS: &[Column] = columns![
    NAME,
    "Handler" string "handler specifies the underlying runtime and configuration that the CRI implementation will use to handle pods of this class.",
    AGE,
];
const ENDPOINT_SLICE: &[Column] = columns![
    NAME,
    "AddressType" string "addressType specifies the type of address carried by this EndpointSlice.",
    "Ports" string "ports specifies the list of network ports exposed by each endpoint in this slice.",
    "Endpoints" string "endpoints is a list of unique endpoints in this slice.",
    AGE,
];
const WEBHOOK_CONFIGURATION: &[Column] = columns![
    NAME,
    "Webhooks" integer "Webhooks indicates the number of webhooks registered in this configuration",
    AGE,
];

/// A kind's columns and its cell function.
#[derive(Clone, Copy)]
pub(crate) struct Printer {
    pub(crate) columns: &'static [Column],
    pub(crate) cells: CellFn,
}

pub(crate) const DEFAULT: Printer = Printer {
    columns: DEFAULT_COLUMNS,
    cells: default_cells,
};
pub(crate) const CUSTOM_RESOURCE: Printer = Printer {
    columns: CUSTOM_RESOURCE_COLUMNS,
    cells: custom_resource_cells,
};

/// The printer kube-apiserver has for `group`/`kind`, if any.
pub(crate) fn printer(group: &str, kind: &str) -> Option<Printer> {
    let (columns, cells): (&'static [Column], CellFn) = match (group, kind) {
        ("", "Pod") => (POD, pod),
        ("", "PodTemplate") => (POD_TEMPLATE, pod_template),
        ("policy", "PodDisruptionBudget") => (PDB, pod_disruption_budget),
        ("", "ReplicationController") => (REPLICAS, replication_controller),
        ("apps", "ReplicaSet") => (REPLICAS, replica_set),
        ("apps", "DaemonSet") => (DAEMON_SET, daemon_set),
        ("batch", "Job") => (JOB, job),
        ("batch", "CronJob") => (CRON_JOB, cron_job),
        ("", "Service") => (SERVICE, service),
        ("networking.k8s.io", "Ingress") => (INGRESS, ingress),
        ("networking.k8s.io", "IngressClass") => (INGRESS_CLASS, ingress_class),
        ("apps", "StatefulSet") => (STATEFUL_SET, stateful_set),
        ("", "Endpoints") => (ENDPOINTS, endpoints),
        ("", "Node") => (NODE, node),
        ("", "Event") => (EVENT, |o, now| event(o, now, EventFields::CORE)),
        ("events.k8s.io", "Event") => (EVENT, |o, now| event(o, now, EventFields::EVENTS)),
        ("", "Namespace") => (NAMESPACE, namespace),
        ("", "Secret") => (SECRET, secret),
        ("", "ServiceAccount") => (SERVICE_ACCOUNT, |o, now| {
            cells![o.name(), o.len("secrets"), o.age(now)]
        }),
        ("", "PersistentVolume") => (PERSISTENT_VOLUME, persistent_volume),
        ("", "PersistentVolumeClaim") => (PERSISTENT_VOLUME_CLAIM, persistent_volume_claim),
        ("apps", "Deployment") => (DEPLOYMENT, deployment),
        ("", "ConfigMap") => (CONFIG_MAP, |o, now| {
            cells![o.name(), o.len("data") + o.len("binaryData"), o.age(now)]
        }),
        ("networking.k8s.io", "NetworkPolicy") => (NETWORK_POLICY, network_policy),
        ("rbac.authorization.k8s.io", "RoleBinding") => (ROLE_BINDING, role_binding),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => (CLUSTER_ROLE_BINDING, role_binding),
        ("certificates.k8s.io", "CertificateSigningRequest") => (CSR, certificate_signing_request),
        ("coordination.k8s.io", "Lease") => (LEASE, |o, now| {
            cells![o.name(), o.s("spec.holderIdentity"), o.age(now)]
        }),
        ("storage.k8s.io", "StorageClass") => (STORAGE_CLASS, storage_class),
        ("apps", "ControllerRevision") => (CONTROLLER_REVISION, controller_revision),
        ("", "ResourceQuota") => (RESOURCE_QUOTA, resource_quota),
        ("scheduling.k8s.io", "PriorityClass") => (PRIORITY_CLASS, priority_class),
        ("node.k8s.io", "RuntimeClass") => (RUNTIME_CLASS, |o, now| {
            cells![o.name(), o.s("handler"), o.age(now)]
        }),
        ("discovery.k8s.io", "EndpointSlice") => (ENDPOINT_SLICE, endpoint_slice),
        (
            "admissionregistration.k8s.io",
            "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration",
        ) => (WEBHOOK_CONFIGURATION, |o, now| {
            cells![o.name(), o.len("webhooks"), o.age(now)]
        }),
        _ => return None,
    };
    Some(Printer { columns, cells })
}

/// The row conditions kube attaches: pods that have run to completion.
pub(crate) fn row_conditions(group: &str, kind: &str, o: O<'_>) -> Option<Value> {
    if (group, kind) != ("", "Pod") {
        return None;
    }
    let (reason, message) = match o.s("status.phase") {
        "Succeeded" => ("Succeeded", "The pod has completed successfully."),
        "Failed" => ("Failed", "The pod failed."),
        _ => return None,
    };
    Some(json!([{"type": "Completed", "status": "True", "reason": reason, "message": message}]))
}

// ---------------------------------------------------------------------------------------------
// Shared formatting.

/// `defaultTableConvertor`: the name and the creation time in RFC 3339 (UTC).
fn default_cells(o: O<'_>, _now: Now) -> Cells {
    let created = o.time("metadata.creationTimestamp").map_or_else(
        || "0001-01-01T00:00:00Z".to_owned(),
        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    cells![o.name(), created]
}

/// The custom resource table without `additionalPrinterColumns`: name and age.
fn custom_resource_cells(o: O<'_>, now: Now) -> Cells {
    let age = o
        .time("metadata.creationTimestamp")
        .map_or(Value::Null, |t| since(Some(t), now).into());
    vec![o.name().into(), age]
}

/// `layoutContainerCells`: the names and images of `containers`, each joined with `,`.
fn containers(o: O<'_>, path: &str) -> [Value; 2] {
    let (names, images): (Vec<&str>, Vec<&str>) =
        o.list(path).map(|c| (c.s("name"), c.s("image"))).unzip();
    [names.join(",").into(), images.join(",").into()]
}

/// `metav1.FormatLabelSelector`: the canonical selector, `<none>` when empty, `<error>`.
fn label_selector(o: O<'_>, path: &str) -> String {
    match LabelSelector::from_label_selector(o.at(path).0) {
        Ok(s) if s.is_empty() || s.is_nothing() => "<none>".to_owned(),
        Ok(s) => s.to_string(),
        Err(_) => "<error>".to_owned(),
    }
}

fn labels(o: O<'_>, path: &str) -> String {
    format_labels(o.pairs(path))
}

/// A `resource.Quantity` as served (kube serializes them canonically); unset is `0`.
fn quantity(v: O<'_>) -> String {
    match v.0 {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => "0".to_owned(),
    }
}

/// `storageutil.GetAccessModesAsString`.
fn access_modes(o: O<'_>, path: &str) -> String {
    let modes: Vec<&str> = o.list(path).map(O::str).collect();
    let order = [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ];
    let present: Vec<&str> = order
        .iter()
        .filter(|(m, _)| modes.contains(m))
        .map(|(_, short)| *short)
        .collect();
    present.join(",")
}

/// `volumeAttributesClassName`, or `<unset>`.
fn attributes_class(o: O<'_>) -> &str {
    o.s_or("spec.volumeAttributesClassName", "<unset>")
}

/// The sorted, de-duplicated IPs (or hostnames) of a load balancer's ingress points.
fn load_balancer(o: O<'_>, path: &str) -> Vec<String> {
    let points: BTreeSet<&str> = o
        .list(path)
        .map(|i| i.s_or("ip", i.s("hostname")))
        .filter(|s| !s.is_empty())
        .collect();
    points.into_iter().map(str::to_owned).collect()
}

/// A list of at most three items, then ` + N more...`; `<unset>` when empty.
fn list_with_more(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    match items.len() {
        0 => "<unset>".to_owned(),
        n if n > 3 => format!("{} + {} more...", items[..3].join(","), n - 3),
        _ => items.join(","),
    }
}

fn none_if_empty(s: &str) -> &str {
    if s.is_empty() { "<none>" } else { s }
}

// ---------------------------------------------------------------------------------------------
// Printers.

fn pod(o: O<'_>, now: Now) -> Cells {
    let phase = o.s_or("status.phase", "Pending");
    let mut reason = o.s_or("status.reason", phase).to_owned();
    let conditions: Vec<O<'_>> = o.list("status.conditions").collect();
    if conditions
        .iter()
        .any(|c| c.s("type") == "PodScheduled" && c.s("reason") == "SchedulingGated")
    {
        reason = "SchedulingGated".to_owned();
    }
    let init_specs: Vec<O<'_>> = o.list("spec.initContainers").collect();
    let sidecar = |name: &str| {
        let spec = init_specs.iter().rev().find(|c| c.s("name") == name);
        spec.is_some_and(|c| c.s("restartPolicy") == "Always")
    };
    let sidecars = init_specs
        .iter()
        .filter(|c| c.s("restartPolicy") == "Always")
        .count();
    let total = o.list("spec.containers").count() + sidecars;
    let (mut ready, mut restarts, mut sidecar_restarts) = (0, 0, 0);
    let (mut last_restart, mut last_sidecar_restart) = (None, None);
    let mut initializing = false;
    for (i, c) in o.list("status.initContainerStatuses").enumerate() {
        let finished = c.time("lastState.terminated.finishedAt");
        restarts += c.i("restartCount");
        last_restart = last_restart.max(finished);
        let is_sidecar = sidecar(c.s("name"));
        if is_sidecar {
            sidecar_restarts += c.i("restartCount");
            last_sidecar_restart = last_sidecar_restart.max(finished);
        }
        let terminated = c.at("state.terminated");
        let waiting = c.s("state.waiting.reason");
        if terminated.0.is_object() && terminated.i("exitCode") == 0 {
            continue;
        }
        if is_sidecar && c.b("started") {
            ready += usize::from(c.b("ready"));
            continue;
        }
        reason = if terminated.0.is_object() {
            format!("Init:{}", exit_reason(terminated))
        } else if c.is_obj("state.waiting") && !waiting.is_empty() && waiting != "PodInitializing" {
            format!("Init:{waiting}")
        } else {
            format!("Init:{i}/{}", init_specs.len())
        };
        initializing = true;
        break;
    }
    let has = |ty: &str| {
        conditions
            .iter()
            .any(|c| c.s("type") == ty && c.s("status") == "True")
    };
    if !initializing || has("Initialized") {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for c in o.list("status.containerStatuses").rev() {
            restarts += c.i("restartCount");
            last_restart = last_restart.max(c.time("lastState.terminated.finishedAt"));
            let terminated = c.at("state.terminated");
            if c.is_obj("state.waiting") && !c.s("state.waiting.reason").is_empty() {
                reason = c.s("state.waiting.reason").to_owned();
            } else if terminated.0.is_object() {
                reason = exit_reason(terminated);
            } else if c.b("ready") && c.is_obj("state.running") {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if has("Ready") { "Running" } else { "NotReady" }.to_owned();
        }
    }
    if o.deleting() && o.s("status.reason") == "NodeLost" {
        reason = "Unknown".to_owned();
    } else if o.deleting() && phase != "Failed" && phase != "Succeeded" {
        reason = "Terminating".to_owned();
    }
    let restarts = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", since(Some(t), now)),
        _ => restarts.to_string(),
    };
    let ip = o.s_or("status.podIP", o.s("status.podIPs.0.ip"));
    let gates: Vec<&str> = o
        .list("spec.readinessGates")
        .map(|g| g.s("conditionType"))
        .collect();
    let gates = if gates.is_empty() {
        "<none>".to_owned()
    } else {
        let met = |ty: &str| {
            conditions
                .iter()
                .find(|c| c.s("type") == ty)
                .is_some_and(|c| c.s("status") == "True")
        };
        format!(
            "{}/{}",
            gates.iter().filter(|ty| met(ty)).count(),
            gates.len()
        )
    };
    cells![
        o.name(),
        format!("{ready}/{total}"),
        reason,
        restarts,
        o.age(now),
        none_if_empty(ip),
        none_if_empty(o.s("spec.nodeName")),
        none_if_empty(o.s("status.nominatedNodeName")),
        gates,
    ]
}

/// A terminated container's reason, else `Signal:N` or `ExitCode:N`.
fn exit_reason(terminated: O<'_>) -> String {
    match (terminated.s("reason"), terminated.i("signal")) {
        ("", 0) => format!("ExitCode:{}", terminated.i("exitCode")),
        ("", signal) => format!("Signal:{signal}"),
        (reason, _) => reason.to_owned(),
    }
}

fn pod_template(o: O<'_>, _now: Now) -> Cells {
    let [names, images] = containers(o, "template.spec.containers");
    cells![
        o.name(),
        names,
        images,
        labels(o, "template.metadata.labels")
    ]
}

fn pod_disruption_budget(o: O<'_>, now: Now) -> Cells {
    let int_or_string = |path: &str| match o.at(path).0 {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => "N/A".to_owned(),
    };
    let (min, max) = (
        int_or_string("spec.minAvailable"),
        int_or_string("spec.maxUnavailable"),
    );
    cells![
        o.name(),
        min,
        max,
        o.i("status.disruptionsAllowed"),
        o.age(now)
    ]
}

/// Name, desired, current and ready replicas, age, then the template's containers.
fn replicas(o: O<'_>, now: Now) -> Cells {
    let [names, images] = containers(o, "spec.template.spec.containers");
    let desired = o.opt_i("spec.replicas").unwrap_or(1);
    cells![
        o.name(),
        desired,
        o.i("status.replicas"),
        o.i("status.readyReplicas"),
        o.age(now),
        names,
        images
    ]
}

fn replication_controller(o: O<'_>, now: Now) -> Cells {
    let mut cells = replicas(o, now);
    cells.push(labels(o, "spec.selector").into());
    cells
}

fn replica_set(o: O<'_>, now: Now) -> Cells {
    let mut cells = replicas(o, now);
    cells.push(label_selector(o, "spec.selector").into());
    cells
}

fn daemon_set(o: O<'_>, now: Now) -> Cells {
    let [names, images] = containers(o, "spec.template.spec.containers");
    let status = |f: &str| o.i(&format!("status.{f}"));
    cells![
        o.name(),
        status("desiredNumberScheduled"),
        status("currentNumberScheduled"),
        status("numberReady"),
        status("updatedNumberScheduled"),
        status("numberAvailable"),
        labels(o, "spec.template.spec.nodeSelector"),
        o.age(now),
        names,
        images,
        label_selector(o, "spec.selector"),
    ]
}

fn job(o: O<'_>, now: Now) -> Cells {
    let status = match () {
        _ if o.condition("Complete") => "Complete",
        _ if o.condition("Failed") => "Failed",
        _ if o.deleting() => "Terminating",
        _ if o.condition("Suspended") => "Suspended",
        _ if o.condition("FailureTarget") => "FailureTarget",
        _ if o.condition("SuccessCriteriaMet") => "SuccessCriteriaMet",
        _ => "Running",
    };
    let succeeded = o.i("status.succeeded");
    let completions = match (o.opt_i("spec.completions"), o.i("spec.parallelism")) {
        (Some(c), _) => format!("{succeeded}/{c}"),
        (None, p) if p > 1 => format!("{succeeded}/1 of {p}"),
        (None, _) => format!("{succeeded}/1"),
    };
    let took = match (o.time("status.startTime"), o.time("status.completionTime")) {
        (None, _) => String::new(),
        (Some(start), None) => since(Some(start), now),
        (Some(start), Some(end)) => human_duration(end.signed_duration_since(start)),
    };
    let [names, images] = containers(o, "spec.template.spec.containers");
    cells![
        o.name(),
        status,
        completions,
        took,
        o.age(now),
        names,
        images,
        label_selector(o, "spec.selector")
    ]
}

fn cron_job(o: O<'_>, now: Now) -> Cells {
    let last = o
        .time("status.lastScheduleTime")
        .map_or_else(|| "<none>".to_owned(), |t| since(Some(t), now));
    let suspend = if o.b("spec.suspend") { "True" } else { "False" };
    let [names, images] = containers(o, "spec.jobTemplate.spec.template.spec.containers");
    cells![
        o.name(),
        o.s("spec.schedule"),
        o.s_or("spec.timeZone", "<none>"),
        suspend,
        o.len("status.active"),
        last,
        o.age(now),
        names,
        images,
        label_selector(o, "spec.jobTemplate.spec.selector"),
    ]
}

fn service(o: O<'_>, now: Now) -> Cells {
    let ty = o.s_or("spec.type", "ClusterIP");
    let cluster_ip = o.s_or("spec.clusterIPs.0", o.s_or("spec.clusterIP", "<none>"));
    let external: Vec<&str> = o.list("spec.externalIPs").map(O::str).collect();
    let external = match ty {
        "ClusterIP" | "NodePort" if external.is_empty() => "<none>".to_owned(),
        "ClusterIP" | "NodePort" => external.join(","),
        "LoadBalancer" => {
            let mut all = load_balancer(o, "status.loadBalancer.ingress");
            all.extend(external.iter().map(|s| (*s).to_owned()));
            if all.is_empty() {
                "<pending>".to_owned()
            } else {
                all.join(",")
            }
        }
        "ExternalName" => o.s("spec.externalName").to_owned(),
        _ => "<unknown>".to_owned(),
    };
    let ports: Vec<String> = o
        .list("spec.ports")
        .map(|p| {
            let (port, protocol) = (p.i("port"), p.s_or("protocol", "TCP"));
            match p.i("nodePort") {
                n if n > 0 => format!("{port}:{n}/{protocol}"),
                _ => format!("{port}/{protocol}"),
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".to_owned()
    } else {
        ports.join(",")
    };
    cells![
        o.name(),
        ty,
        cluster_ip,
        external,
        ports,
        o.age(now),
        labels(o, "spec.selector")
    ]
}

fn ingress(o: O<'_>, now: Now) -> Cells {
    let rules: Vec<O<'_>> = o.list("spec.rules").collect();
    // kube stops at three hosts and, if any rule is left, counts every rule past three
    let (mut hosts, mut more) = (Vec::new(), false);
    for rule in &rules {
        if hosts.len() == 3 {
            more = true;
            break;
        }
        if !rule.s("host").is_empty() {
            hosts.push(rule.s("host"));
        }
    }
    let hosts = match (hosts.is_empty(), more) {
        (true, _) => "*".to_owned(),
        (false, true) => format!(
            "{} + {} more...",
            hosts.join(","),
            rules.len().saturating_sub(3)
        ),
        (false, false) => hosts.join(","),
    };
    let ports = if o.len("spec.tls") > 0 {
        "80, 443"
    } else {
        "80"
    };
    cells![
        o.name(),
        o.s_or("spec.ingressClassName", "<none>"),
        hosts,
        load_balancer(o, "status.loadBalancer.ingress").join(","),
        ports,
        o.age(now),
    ]
}

fn ingress_class(o: O<'_>, now: Now) -> Cells {
    let p = o.at("spec.parameters");
    let parameters = if p.0.is_object() {
        let group = p
            .at("apiGroup")
            .0
            .as_str()
            .map(|g| format!(".{g}"))
            .unwrap_or_default();
        format!("{}{group}/{}", p.s("kind"), p.s("name"))
    } else {
        "<none>".to_owned()
    };
    cells![o.name(), o.s("spec.controller"), parameters, o.age(now)]
}

fn stateful_set(o: O<'_>, now: Now) -> Cells {
    let [names, images] = containers(o, "spec.template.spec.containers");
    let ready = format!(
        "{}/{}",
        o.i("status.readyReplicas"),
        o.opt_i("spec.replicas").unwrap_or(1)
    );
    cells![o.name(), ready, o.age(now), names, images]
}

fn endpoints(o: O<'_>, now: Now) -> Cells {
    let mut all = Vec::new();
    for subset in o.list("subsets") {
        let ips: Vec<&str> = subset.list("addresses").map(|a| a.s("ip")).collect();
        let ports: Vec<i64> = subset.list("ports").map(|p| p.i("port")).collect();
        if ports.is_empty() {
            all.extend(ips.iter().map(|ip| (*ip).to_owned()));
        }
        for port in ports {
            let host = |ip: &str| {
                if ip.contains(':') {
                    format!("[{ip}]:{port}")
                } else {
                    format!("{ip}:{port}")
                }
            };
            all.extend(ips.iter().map(|ip| host(ip)));
        }
    }
    let text = match all.len() {
        _ if o.len("subsets") == 0 => "<none>".to_owned(),
        n if n > 3 => format!("{} + {} more...", all[..3].join(","), n - 3),
        _ => all.join(","),
    };
    cells![o.name(), text, o.age(now)]
}

fn endpoint_slice(o: O<'_>, now: Now) -> Cells {
    let ports = o
        .list("ports")
        .map(|p| match (p.opt_i("port"), p.at("name").0.as_str()) {
            (Some(port), _) => port.to_string(),
            (None, Some(name)) => name.to_owned(),
            (None, None) => "*".to_owned(),
        });
    let addresses = o
        .list("endpoints")
        .flat_map(|e| e.list("addresses"))
        .map(|a| a.str().to_owned());
    cells![
        o.name(),
        o.s("addressType"),
        list_with_more(ports),
        list_with_more(addresses),
        o.age(now)
    ]
}

fn node(o: O<'_>, now: Now) -> Cells {
    // the last Ready condition wins, as kube keys conditions by type
    let mut status = match o
        .list("status.conditions")
        .rev()
        .find(|c| c.s("type") == "Ready")
    {
        Some(c) if c.s("status") == "True" => vec!["Ready"],
        Some(_) => vec!["NotReady"],
        None => vec!["Unknown"],
    };
    if o.b("spec.unschedulable") {
        status.push("SchedulingDisabled");
    }
    let roles: BTreeSet<&str> = o
        .pairs("metadata.labels")
        .into_iter()
        .filter_map(|(k, v)| match k.strip_prefix("node-role.kubernetes.io/") {
            Some(role) => Some(role),
            None if k == "kubernetes.io/role" => Some(v),
            None => None,
        })
        .filter(|r| !r.is_empty())
        .collect();
    let roles = roles.into_iter().collect::<Vec<_>>().join(",");
    let address = |ty: &str| {
        o.list("status.addresses")
            .find(|a| a.s("type") == ty)
            .map_or("<none>", |a| a.s("address"))
    };
    let info = |f: &str| o.at("status.nodeInfo").s_or(f, "<unknown>");
    cells![
        o.name(),
        status.join(","),
        none_if_empty(&roles),
        o.age(now),
        o.s("status.nodeInfo.kubeletVersion"),
        address("InternalIP"),
        address("ExternalIP"),
        info("osImage"),
        info("kernelVersion"),
        info("containerRuntimeVersion"),
    ]
}

/// Where the printer reads an Event's fields: core/v1 and events.k8s.io/v1 name them apart.
struct EventFields {
    first: &'static str,
    last: &'static str,
    count: &'static str,
    regarding: &'static str,
    source: &'static str,
    message: &'static str,
    controller: &'static str,
}

impl EventFields {
    const CORE: Self = Self {
        first: "firstTimestamp",
        last: "lastTimestamp",
        count: "count",
        regarding: "involvedObject",
        source: "source",
        message: "message",
        controller: "reportingComponent",
    };
    const EVENTS: Self = Self {
        first: "deprecatedFirstTimestamp",
        last: "deprecatedLastTimestamp",
        count: "deprecatedCount",
        regarding: "regarding",
        source: "deprecatedSource",
        message: "note",
        controller: "reportingController",
    };
}

fn event(o: O<'_>, now: Now, f: EventFields) -> Cells {
    let first = since(o.time(f.first).or_else(|| o.time("eventTime")), now);
    let mut last = o
        .time(f.last)
        .map_or_else(|| first.clone(), |t| since(Some(t), now));
    let mut count = o.i(f.count);
    if o.is_obj("series") {
        last = since(o.time("series.lastObservedTime"), now);
        count = o.i("series.count");
    } else if count == 0 {
        count = 1;
    }
    let regarding = o.at(f.regarding);
    let kind = regarding.s("kind").to_lowercase();
    let target = match regarding.s("name") {
        "" => kind,
        name => format!("{kind}/{name}"),
    };
    let source = o.at(f.source);
    let component = source.s_or("component", o.s(f.controller));
    let source = match source.s_or("host", o.s("reportingInstance")) {
        "" => component.to_owned(),
        instance => format!("{component}, {instance}"),
    };
    cells![
        last,
        o.s("type"),
        o.s("reason"),
        target,
        regarding.s("fieldPath"),
        source,
        o.s(f.message).trim(),
        first,
        count,
        o.name(),
    ]
}

fn namespace(o: O<'_>, now: Now) -> Cells {
    cells![o.name(), o.s_or("status.phase", "Active"), o.age(now)]
}

fn secret(o: O<'_>, now: Now) -> Cells {
    cells![
        o.name(),
        o.s_or("type", "Opaque"),
        o.len("data"),
        o.age(now)
    ]
}

/// `storageutil.GetPersistentVolume(Claim)Class`: the beta annotation wins over the field.
fn storage_class_of(o: O<'_>) -> &str {
    let annotation = o
        .at("metadata.annotations")
        .key("volume.beta.kubernetes.io/storage-class");
    annotation
        .0
        .as_str()
        .unwrap_or_else(|| o.s("spec.storageClassName"))
}

fn persistent_volume(o: O<'_>, now: Now) -> Cells {
    let claim = match o.at("spec.claimRef") {
        c if c.0.is_object() => format!("{}/{}", c.s("namespace"), c.s("name")),
        _ => String::new(),
    };
    let phase = if o.deleting() {
        "Terminating"
    } else {
        o.s("status.phase")
    };
    cells![
        o.name(),
        quantity(o.at("spec.capacity").key("storage")),
        access_modes(o, "spec.accessModes"),
        o.s_or("spec.persistentVolumeReclaimPolicy", "Retain"),
        phase,
        claim,
        storage_class_of(o),
        attributes_class(o),
        o.s("status.reason"),
        o.age(now),
        o.s_or("spec.volumeMode", "Filesystem"),
    ]
}

fn persistent_volume_claim(o: O<'_>, now: Now) -> Cells {
    let phase = if o.deleting() {
        "Terminating"
    } else {
        o.s_or("status.phase", "Pending")
    };
    let bound = !o.s("spec.volumeName").is_empty();
    let (capacity, modes) = if bound {
        (
            quantity(o.at("status.capacity").key("storage")),
            access_modes(o, "status.accessModes"),
        )
    } else {
        (String::new(), String::new())
    };
    cells![
        o.name(),
        phase,
        o.s("spec.volumeName"),
        capacity,
        modes,
        storage_class_of(o),
        attributes_class(o),
        o.age(now),
        o.s_or("spec.volumeMode", "Filesystem"),
    ]
}

fn deployment(o: O<'_>, now: Now) -> Cells {
    let ready = format!(
        "{}/{}",
        o.i("status.readyReplicas"),
        o.opt_i("spec.replicas").unwrap_or(1)
    );
    let selector = match LabelSelector::from_label_selector(o.at("spec.selector").0) {
        Ok(s) => s.to_string(),
        Err(_) => "<invalid>".to_owned(),
    };
    let [names, images] = containers(o, "spec.template.spec.containers");
    cells![
        o.name(),
        ready,
        o.i("status.updatedReplicas"),
        o.i("status.availableReplicas"),
        o.age(now),
        names,
        images,
        selector,
    ]
}

fn network_policy(o: O<'_>, now: Now) -> Cells {
    cells![o.name(), label_selector(o, "spec.podSelector"), o.age(now)]
}

fn role_binding(o: O<'_>, now: Now) -> Cells {
    let role = format!("{}/{}", o.s("roleRef.kind"), o.s("roleRef.name"));
    let subjects = |kind: &str| {
        let matching = o.list("subjects").filter(|s| s.s("kind") == kind);
        let names: Vec<String> = matching
            .map(|s| {
                if kind == "ServiceAccount" {
                    format!("{}/{}", s.s("namespace"), s.s("name"))
                } else {
                    s.s("name").to_owned()
                }
            })
            .collect();
        names.join(", ")
    };
    cells![
        o.name(),
        role,
        o.age(now),
        subjects("User"),
        subjects("Group"),
        subjects("ServiceAccount")
    ]
}

fn certificate_signing_request(o: O<'_>, now: Now) -> Cells {
    let has = |ty: &str| o.list("status.conditions").any(|c| c.s("type") == ty);
    let mut condition = if has("Denied") {
        "Denied"
    } else if has("Approved") {
        "Approved"
    } else {
        "Pending"
    }
    .to_owned();
    if has("Failed") {
        condition.push_str(",Failed");
    }
    if !o.s("status.certificate").is_empty() {
        condition.push_str(",Issued");
    }
    let duration = o.opt_i("spec.expirationSeconds").map_or_else(
        || "<none>".to_owned(),
        |secs| human_duration(TimeDelta::try_seconds(secs).unwrap_or(TimeDelta::MAX)),
    );
    cells![
        o.name(),
        o.age(now),
        o.s_or("spec.signerName", "<none>"),
        o.s("spec.username"),
        duration,
        condition,
    ]
}

fn storage_class(o: O<'_>, now: Now) -> Cells {
    let annotations = o.at("metadata.annotations");
    let default = [
        "storageclass.kubernetes.io/is-default-class",
        "storageclass.beta.kubernetes.io/is-default-class",
    ]
    .iter()
    .any(|a| annotations.key(a).0.as_str() == Some("true"));
    let name = if default {
        format!("{} (default)", o.name())
    } else {
        o.name().to_owned()
    };
    cells![
        name,
        o.s("provisioner"),
        o.s_or("reclaimPolicy", "Delete"),
        o.s_or("volumeBindingMode", "Immediate"),
        o.b("allowVolumeExpansion"),
        o.age(now),
    ]
}

fn controller_revision(o: O<'_>, now: Now) -> Cells {
    let owner = o
        .list("metadata.ownerReferences")
        .find(|r| r.b("controller"));
    let controller = owner.map_or_else(
        || "<none>".to_owned(),
        |r| {
            let group = r.s("apiVersion").split_once('/').map_or("", |(g, _)| g);
            let group_kind = match (r.s("kind"), group) {
                ("", "") => return r.s("name").to_owned(),
                (kind, "") => kind.to_owned(),
                (kind, group) => format!("{kind}.{group}"),
            };
            format!("{}/{}", group_kind.to_lowercase(), r.s("name"))
        },
    );
    cells![o.name(), controller, o.i("revision"), o.age(now)]
}

fn resource_quota(o: O<'_>, now: Now) -> Cells {
    let hard = o.at("status.hard");
    let mut resources: Vec<&str> = hard
        .0
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k.as_str())
        .collect();
    resources.sort_unstable();
    let (mut requests, mut limits) = (Vec::new(), Vec::new());
    for r in resources {
        let used = quantity(o.at("status.used").key(r));
        let line = format!("{r}: {used}/{}", quantity(hard.key(r)));
        match r.split_once('.') {
            Some(("limits", _)) => limits.push(line),
            _ => requests.push(line),
        }
    }
    cells![o.name(), o.age(now), requests.join(", "), limits.join(", ")]
}

fn priority_class(o: O<'_>, now: Now) -> Cells {
    let policy = o.s_or("preemptionPolicy", "PreemptLowerPriority");
    cells![
        o.name(),
        o.i("value"),
        o.b("globalDefault"),
        o.age(now),
        policy
    ]
}
