//! core/v1 Events, as kube-controller-manager records them (`kubectl describe` shows them).

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::{Api, Client};

use crate::Clock;

/// The object an event is about.
pub struct Involved<'a> {
    pub api_version: &'a str,
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub resource_version: Option<&'a str>,
}

/// Records an event (best effort: failures are logged, never returned).
pub async fn record(
    client: &Client,
    clock: &dyn Clock,
    component: &str,
    obj: &Involved<'_>,
    type_: &str,
    reason: &str,
    message: String,
) {
    let now = Time(clock.now());
    let ev = Event {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}.", obj.name)),
            namespace: Some(obj.namespace.to_string()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some(obj.api_version.to_string()),
            kind: Some(obj.kind.to_string()),
            namespace: Some(obj.namespace.to_string()),
            name: Some(obj.name.to_string()),
            uid: Some(obj.uid.to_string()),
            resource_version: obj.resource_version.map(str::to_string),
            ..ObjectReference::default()
        },
        reason: Some(reason.to_string()),
        message: Some(message),
        type_: Some(type_.to_string()),
        source: Some(EventSource {
            component: Some(component.to_string()),
            host: None,
        }),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now),
        count: Some(1),
        reporting_component: Some(component.to_string()),
        reporting_instance: Some(component.to_string()),
        ..Event::default()
    };
    let api: Api<Event> = Api::namespaced(client.clone(), obj.namespace);
    if let Err(e) = api.create(&Default::default(), &ev).await {
        tracing::debug!(error = %e, reason, "recording event");
    }
}
