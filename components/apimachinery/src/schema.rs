//! OpenAPI schemas of the built-in types, generated from k8s-openapi's `schemars` impls so they
//! follow the Kubernetes version warren speaks. One lazily built map (definition name → schema,
//! refs as `#/components/schemas/<name>`) feeds `/openapi/v2`, `/openapi/v3`, strict field
//! validation and the strategic-merge type walk.

use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

/// The `$ref` prefix used in [`definitions`].
pub const REF_PREFIX: &str = "#/components/schemas/";

macro_rules! generate_all {
    ($gen:ident; $($t:ty),* $(,)?) => {
        $( let _ = $gen.subschema_for::<$t>(); )*
    };
}

/// Every definition reachable from the built-in resource types, keyed by OpenAPI name
/// (`io.k8s.api.core.v1.Pod`).
pub fn definitions() -> &'static Map<String, Value> {
    static DEFINITIONS: OnceLock<Map<String, Value>> = OnceLock::new();
    DEFINITIONS.get_or_init(|| {
        use k8s_openapi::api::{
            apps::v1 as apps, batch::v1 as batch, coordination::v1 as coordination,
            core::v1 as core, discovery::v1 as discovery, events::v1 as events,
            networking::v1 as networking, policy::v1 as policy, rbac::v1 as rbac,
            scheduling::v1 as scheduling, storage::v1 as storage,
        };
        use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
        let mut generator = SchemaSettings::openapi3()
            .with(|s| s.meta_schema = None)
            .into_generator();
        generate_all!(generator;
            core::Namespace, core::Pod, core::Service,
            core::Endpoints, core::ConfigMap, core::Secret,
            core::ServiceAccount, core::Event,
            core::PersistentVolumeClaim, core::PersistentVolume,
            core::Node, core::ResourceQuota, core::LimitRange,
            core::ReplicationController, core::PodTemplate,
            apps::Deployment, apps::ReplicaSet,
            apps::StatefulSet, apps::DaemonSet,
            apps::ControllerRevision,
            batch::Job, batch::CronJob,
            networking::Ingress, networking::IngressClass,
            networking::NetworkPolicy,
            discovery::EndpointSlice, coordination::Lease,
            events::Event, policy::PodDisruptionBudget,
            scheduling::PriorityClass, storage::StorageClass,
            rbac::Role, rbac::RoleBinding,
            rbac::ClusterRole, rbac::ClusterRoleBinding,
            k8s_openapi::api::authentication::v1::TokenReview,
            k8s_openapi::api::authentication::v1::SelfSubjectReview,
            k8s_openapi::api::authentication::v1::TokenRequest,
            k8s_openapi::api::authorization::v1::SubjectAccessReview,
            k8s_openapi::api::authorization::v1::SelfSubjectAccessReview,
            k8s_openapi::api::authorization::v1::LocalSubjectAccessReview,
            k8s_openapi::api::authorization::v1::SelfSubjectRulesReview,
            k8s_openapi::api::autoscaling::v1::Scale,
            k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
            meta::Status, meta::DeleteOptions,
            meta::APIGroup, meta::APIVersions, meta::Patch,
        );
        let mut defs = generator.take_definitions(true);
        // JSON (defaults, enums, examples in CRD schemas) is any value, not an object
        if let Some(Value::Object(json)) =
            defs.get_mut("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON")
        {
            json.remove("type");
            json.insert("x-kubernetes-preserve-unknown-fields".into(), Value::Bool(true));
        }
        defs
    })
}

/// One definition by name.
pub fn definition(name: &str) -> Option<&'static Value> {
    definitions().get(name)
}

/// The definition name a `$ref` points at, if it is one of ours.
pub fn ref_name(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix(REF_PREFIX))
        .or_else(|| {
            // kube wraps refs that carry a description in allOf
            schema
                .get("allOf")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(|s| s.get("$ref"))
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix(REF_PREFIX))
        })
}

/// Follows `$ref` (possibly inside `allOf`) to the definition, or returns the schema itself.
pub fn resolve(schema: &Value) -> &Value {
    match ref_name(schema).and_then(definition) {
        Some(d) => d,
        None => schema,
    }
}

/// The schema of property `field` of an object schema (resolved through refs).
pub fn property<'a>(schema: &'a Value, field: &str) -> Option<&'a Value> {
    resolve(schema).get("properties")?.get(field)
}

/// The schema of array items or map values of `schema` (resolved through refs).
pub fn element(schema: &Value) -> Option<&Value> {
    let s = resolve(schema);
    s.get("items")
        .or_else(|| s.get("additionalProperties").filter(|v| v.is_object()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_schema_walks_to_containers() {
        let pod = definition("io.k8s.api.core.v1.Pod").expect("pod");
        let spec = property(pod, "spec").expect("spec");
        let containers = property(spec, "containers").expect("containers");
        let container = element(containers).expect("items");
        assert!(property(container, "image").is_some());
        assert!(property(container, "nosuchfield").is_none());
        let meta = property(pod, "metadata").expect("metadata");
        assert!(property(meta, "labels").is_some());
    }

    #[test]
    fn every_builtin_resource_has_a_definition() {
        for r in crate::registry::builtin_resources() {
            assert!(definition(&r.definition).is_some(), "{}", r.definition);
        }
    }
}
