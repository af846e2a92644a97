//! Strategic-merge metadata of the built-in types and the schema walk that finds it.
//!
//! The k8s-openapi schemas carry no `x-kubernetes-patch-strategy`/`x-kubernetes-patch-merge-key`,
//! so the facts are tabled here from the `patchStrategy`/`patchMergeKey` struct tags of the
//! Kubernetes 1.33 Go types (k8s.io/api v0.33, k8s.io/apimachinery meta/v1). Fields not listed
//! have no strategy: maps merge key by key, lists are replaced whole (atomic).

use serde_json::Value;

use crate::schema;

/// How the value of one field is merged by a strategic merge patch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PatchStrategy {
    /// Maps merge recursively, lists are replaced.
    #[default]
    Default,
    /// Lists merge: by `merge_key` for lists of maps, as a set for lists of primitives.
    Merge,
    /// The whole value is replaced, even maps.
    Replace,
}

/// The `patchStrategy`/`patchMergeKey` tags of one field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldPatchMeta {
    pub strategy: PatchStrategy,
    /// `retainKeys` is part of the strategy (clients send `$retainKeys` for such fields).
    pub retain_keys: bool,
    pub merge_key: Option<&'static str>,
}

/// Per definition (without its `io.k8s.api.`/`io.k8s.apimachinery.pkg.apis.` prefix):
/// (field, patchStrategy, patchMergeKey).
type Tags = &'static [(&'static str, &'static str, &'static str)];
const TAGS: &[(&str, Tags)] = &[
    (
        "meta.v1.ObjectMeta",
        &[
            ("finalizers", "merge", ""),
            ("ownerReferences", "merge", "uid"),
        ],
    ),
    (
        "core.v1.PodSpec",
        &[
            ("containers", "merge", "name"),
            ("initContainers", "merge", "name"),
            ("ephemeralContainers", "merge", "name"),
            ("volumes", "merge,retainKeys", "name"),
            ("imagePullSecrets", "merge", "name"),
            ("hostAliases", "merge", "ip"),
            ("topologySpreadConstraints", "merge", "topologyKey"),
            ("schedulingGates", "merge", "name"),
            ("resourceClaims", "merge,retainKeys", "name"),
        ],
    ),
    ("core.v1.Container", CONTAINER),
    ("core.v1.EphemeralContainer", CONTAINER),
    (
        "core.v1.ContainerStatus",
        &[
            ("volumeMounts", "merge", "mountPath"),
            ("allocatedResourcesStatus", "merge", "name"),
        ],
    ),
    (
        "core.v1.PodStatus",
        &[
            ("hostIPs", "merge", "ip"),
            ("podIPs", "merge", "ip"),
            ("resourceClaimStatuses", "merge,retainKeys", "name"),
        ],
    ),
    ("core.v1.ServiceSpec", &[("ports", "merge", "port")]),
    ("core.v1.ServiceAccount", &[("secrets", "merge", "name")]),
    ("core.v1.NodeSpec", &[("podCIDRs", "merge", "")]),
    ("core.v1.NodeStatus", &[("addresses", "merge", "type")]),
    ("apps.v1.DeploymentSpec", &[("strategy", "retainKeys", "")]),
    (
        "policy.v1.PodDisruptionBudgetSpec",
        &[("selector", "replace", "")],
    ),
    ("storage.v1.CSINodeSpec", &[("drivers", "merge", "name")]),
    (
        "admissionregistration.v1.ValidatingWebhookConfiguration",
        WEBHOOKS,
    ),
    (
        "admissionregistration.v1.MutatingWebhookConfiguration",
        WEBHOOKS,
    ),
    (
        "admissionregistration.v1.ValidatingWebhook",
        MATCH_CONDITIONS,
    ),
    ("admissionregistration.v1.MutatingWebhook", MATCH_CONDITIONS),
    (
        "admissionregistration.v1.ValidatingAdmissionPolicySpec",
        &[
            ("matchConditions", "merge", "name"),
            ("variables", "merge", "name"),
        ],
    ),
];
const CONTAINER: Tags = &[
    ("ports", "merge", "containerPort"),
    ("env", "merge", "name"),
    ("volumeMounts", "merge", "mountPath"),
    ("volumeDevices", "merge", "devicePath"),
];
const WEBHOOKS: Tags = &[("webhooks", "merge", "name")];
const MATCH_CONDITIONS: Tags = &[("matchConditions", "merge", "name")];

/// Definitions whose `conditions` merge by `type`.
const CONDITIONS_BY_TYPE: &[&str] = &[
    "core.v1.PodStatus",
    "core.v1.PersistentVolumeClaimStatus",
    "core.v1.ReplicationControllerStatus",
    "core.v1.ServiceStatus",
    "core.v1.NodeStatus",
    "core.v1.NamespaceStatus",
    "core.v1.ComponentStatus",
    "apps.v1.DeploymentStatus",
    "apps.v1.StatefulSetStatus",
    "apps.v1.DaemonSetStatus",
    "apps.v1.ReplicaSetStatus",
    "batch.v1.JobStatus",
    "policy.v1.PodDisruptionBudgetStatus",
    "networking.v1.ServiceCIDRStatus",
    "autoscaling.v2.HorizontalPodAutoscalerStatus",
    "flowcontrol.v1.FlowSchemaStatus",
    "flowcontrol.v1.PriorityLevelConfigurationStatus",
];

fn short(definition: &str) -> &str {
    definition
        .strip_prefix("io.k8s.api.")
        .or_else(|| definition.strip_prefix("io.k8s.apimachinery.pkg.apis."))
        .unwrap_or(definition)
}

/// The strategic-merge tags of `field` in `definition` (e.g. `io.k8s.api.core.v1.PodSpec`,
/// `containers`), or `None` when the field has none.
pub fn field_patch_meta(definition: &str, field: &str) -> Option<FieldPatchMeta> {
    let def = short(definition);
    let (strategy, key) = if field == "conditions" && CONDITIONS_BY_TYPE.contains(&def) {
        ("merge", "type")
    } else {
        let (_, fields) = TAGS.iter().find(|(d, _)| *d == def)?;
        let &(_, strategy, key) = fields.iter().find(|(f, _, _)| *f == field)?;
        (strategy, key)
    };
    let mut meta = FieldPatchMeta {
        merge_key: Some(key).filter(|k| !k.is_empty()),
        ..FieldPatchMeta::default()
    };
    for s in strategy.split(',') {
        match s {
            "merge" => meta.strategy = PatchStrategy::Merge,
            "replace" => meta.strategy = PatchStrategy::Replace,
            _ => meta.retain_keys = true,
        }
    }
    Some(meta)
}

/// A position in the type tree: the definition name (for the tag table) and the schema (to find
/// nested fields). Both are absent in schemaless areas.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Ty {
    name: Option<&'static str>,
    schema: Option<&'static Value>,
}

impl Ty {
    /// The root type of a resource, e.g. `io.k8s.api.apps.v1.Deployment`.
    pub(super) fn root(definition: &str) -> Ty {
        match schema::definitions().get_key_value(definition) {
            Some((name, schema)) => Ty {
                name: Some(name.as_str()),
                schema: Some(schema),
            },
            None => Ty::default(),
        }
    }

    fn of(schema: Option<&'static Value>) -> Ty {
        Ty {
            name: schema.and_then(schema::ref_name),
            schema,
        }
    }

    pub(super) fn name(self) -> &'static str {
        self.name.unwrap_or("unknown type")
    }

    /// The type and tags of a field (or of a map value, for `additionalProperties` maps).
    pub(super) fn field(self, field: &str) -> (Ty, FieldPatchMeta) {
        let meta = self
            .name
            .and_then(|n| field_patch_meta(n, field))
            .unwrap_or_default();
        let sub = self
            .schema
            .map(schema::resolve)
            .and_then(|s| match s.get("properties") {
                Some(props) => props.get(field),
                None => s.get("additionalProperties").filter(|v| v.is_object()),
            });
        (Ty::of(sub), meta)
    }

    /// The type of the elements of a list.
    pub(super) fn items(self) -> Ty {
        Ty::of(self.schema.and_then(schema::element))
    }
}
