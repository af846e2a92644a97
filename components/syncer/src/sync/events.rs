//! Events: what the host records about synced objects (scheduling, image pulls, container
//! starts, probes, volume binding) shows in the virtual cluster, about the virtual object.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use warren_controllers::queue;

use super::worker::Next;
use super::{Context, Ctx, SyncError, cached, is_status};

/// Kinds whose host events are brought back.
const KINDS: [&str; 3] = ["Pod", "Service", "PersistentVolumeClaim"];

/// Whether a host event may be about a synced object (cheap filter before the queue).
pub fn worth_a_look(event: &Event) -> bool {
    let involved = &event.involved_object;
    involved.api_version.as_deref().unwrap_or("v1") == "v1"
        && involved.kind.as_deref().is_some_and(|k| KINDS.contains(&k))
}

/// The virtual object an event is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualTarget {
    pub namespace: String,
    pub name: String,
    pub uid: Option<String>,
    pub resource_version: Option<String>,
}

/// Host event name -> virtual: the host object's name at the front becomes the virtual one's.
pub fn virtual_event_name(host_event: &str, host_object: &str, virtual_object: &str) -> String {
    match host_event.strip_prefix(host_object) {
        Some(rest) => format!("{virtual_object}{rest}"),
        None => host_event.to_owned(),
    }
}

/// The virtual copy of a host event about `target`.
pub fn virtual_event(host: &Event, target: &VirtualTarget) -> Event {
    let host_object = host.involved_object.name.clone().unwrap_or_default();
    let host_namespace = host.involved_object.namespace.clone().unwrap_or_default();
    let message = host.message.as_ref().map(|m| {
        m.replace(
            &format!("{host_namespace}/{host_object}"),
            &format!("{}/{}", target.namespace, target.name),
        )
        .replace(&host_object, &target.name)
    });
    Event {
        metadata: ObjectMeta {
            name: Some(virtual_event_name(
                host.metadata.name.as_deref().unwrap_or_default(),
                &host_object,
                &target.name,
            )),
            namespace: Some(target.namespace.clone()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: host.involved_object.api_version.clone(),
            kind: host.involved_object.kind.clone(),
            field_path: host.involved_object.field_path.clone(),
            name: Some(target.name.clone()),
            namespace: Some(target.namespace.clone()),
            uid: target.uid.clone(),
            resource_version: target.resource_version.clone(),
        },
        message,
        reason: host.reason.clone(),
        type_: host.type_.clone(),
        source: host.source.clone(),
        count: host.count,
        first_timestamp: host.first_timestamp.clone(),
        last_timestamp: host.last_timestamp.clone(),
        event_time: host.event_time.clone(),
        series: host.series.clone(),
        action: host.action.clone(),
        reporting_component: host.reporting_component.clone(),
        reporting_instance: host.reporting_instance.clone(),
        related: None,
    }
}

fn same_event(a: &Event, b: &Event) -> bool {
    a.count == b.count
        && a.message == b.message
        && a.last_timestamp == b.last_timestamp
        && a.series == b.series
        && a.involved_object == b.involved_object
}

fn target_of(ctx: &Ctx, event: &Event) -> Option<VirtualTarget> {
    let involved = &event.involved_object;
    let kind = involved.kind.as_deref()?;
    let name = involved.name.as_deref()?;
    let host_namespace = ctx.host_namespace();
    if involved.namespace.as_deref() != Some(host_namespace) {
        return None;
    }
    let (host_meta, virtual_meta) = match kind {
        "Pod" => {
            // the object-* annotations are in the cached pod's body
            let host = cached(&ctx.h.pods, Some(host_namespace), name)?.decode();
            let key = ctx.virtual_key(&host.metadata, kind)?;
            let (ns, n) = queue::split(&key);
            (
                host.metadata.clone(),
                cached(&ctx.v.pods, ns, n)?.metadata.clone(),
            )
        }
        "Service" => {
            let host = cached(&ctx.h.services, Some(host_namespace), name)?;
            let key = ctx.virtual_key(&host.metadata, kind)?;
            let (ns, n) = queue::split(&key);
            (
                host.metadata.clone(),
                cached(&ctx.v.services, ns, n)?.metadata.clone(),
            )
        }
        "PersistentVolumeClaim" => {
            let host = cached(&ctx.h.pvcs, Some(host_namespace), name)?;
            let key = ctx.virtual_key(&host.metadata, kind)?;
            let (ns, n) = queue::split(&key);
            (
                host.metadata.clone(),
                cached(&ctx.v.pvcs, ns, n)?.metadata.clone(),
            )
        }
        _ => return None,
    };
    // The event must be about this host object, not an earlier one of the same name.
    if involved.uid.is_some() && involved.uid != host_meta.uid {
        return None;
    }
    Some(VirtualTarget {
        namespace: virtual_meta.namespace.clone().unwrap_or_default(),
        name: virtual_meta.name.clone().unwrap_or_default(),
        uid: virtual_meta.uid.clone(),
        resource_version: virtual_meta.resource_version.clone(),
    })
}

/// How long an event whose object is not (yet) in the caches is looked at again.
const YOUNG_EVENT_SECONDS: i64 = 10;

/// Whether an event is recent enough to wait for its object to show in the caches.
fn retry_while_young(event: &Event) -> bool {
    let stamp = event
        .last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| event.event_time.as_ref().map(|t| t.0))
        .or_else(|| event.metadata.creation_timestamp.as_ref().map(|t| t.0));
    let is_ours = event
        .involved_object
        .name
        .as_deref()
        .is_some_and(|n| n.contains("-x-"));
    is_ours
        && stamp.is_some_and(|t| {
            k8s_openapi::jiff::Timestamp::now().as_second() - t.as_second() < YOUNG_EVENT_SECONDS
        })
}

/// Syncs the host event `namespace/name`.
pub(crate) async fn sync(ctx: &Ctx, key: &str) -> Result<Next, SyncError> {
    let (namespace, name) = queue::split(key);
    let Some(host) = cached(&ctx.h.events, namespace, name) else {
        return Ok(Next::Done);
    };
    let Some(target) = target_of(ctx, &host) else {
        // The object may be a moment behind its first events in our caches.
        return Ok(if retry_while_young(&host) {
            Next::After(Duration::from_secs(1))
        } else {
            Next::Done
        });
    };
    let desired = virtual_event(&host, &target);
    let virtual_name = desired.metadata.name.clone().unwrap_or_default();
    let api: Api<Event> = ctx.virtual_api(&target.namespace);
    let current = api
        .get_opt(&virtual_name)
        .await
        .ctx(|| format!("reading virtual event {}/{virtual_name}", target.namespace))?;
    match current {
        None => match api.create(&PostParams::default(), &desired).await {
            Ok(_) => Ok(Next::Done),
            Err(e) if is_status(&e, 409) => Ok(Next::After(Duration::from_millis(100))),
            // The namespace is going away.
            Err(e) if is_status(&e, 403) || is_status(&e, 404) => Ok(Next::Done),
            Err(e) => {
                Err(e).ctx(|| format!("creating virtual event {}/{virtual_name}", target.namespace))
            }
        },
        Some(current) if !same_event(&current, &desired) => {
            let mut updated = desired;
            updated.metadata = current.metadata.clone();
            match api
                .replace(&virtual_name, &PostParams::default(), &updated)
                .await
            {
                Ok(_) => Ok(Next::Done),
                Err(e) if is_status(&e, 409) => Ok(Next::After(Duration::from_millis(100))),
                Err(e) => Err(e)
                    .ctx(|| format!("updating virtual event {}/{virtual_name}", target.namespace)),
            }
        }
        Some(_) => Ok(Next::Done),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_messages_speak_of_the_virtual_object() {
        let host = Event {
            metadata: ObjectMeta {
                name: Some("web-x-default-x-vc.17a2b3c4d5e6f708".into()),
                namespace: Some("host".into()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: Some("web-x-default-x-vc".into()),
                namespace: Some("host".into()),
                uid: Some("host-uid".into()),
                field_path: Some("spec.containers{c}".into()),
                ..ObjectReference::default()
            },
            reason: Some("Scheduled".into()),
            message: Some("Successfully assigned host/web-x-default-x-vc to node-0".into()),
            count: Some(1),
            type_: Some("Normal".into()),
            ..Event::default()
        };
        assert!(worth_a_look(&host));
        let target = VirtualTarget {
            namespace: "default".into(),
            name: "web".into(),
            uid: Some("virtual-uid".into()),
            resource_version: Some("42".into()),
        };
        let copy = virtual_event(&host, &target);
        assert_eq!(copy.metadata.name.as_deref(), Some("web.17a2b3c4d5e6f708"));
        assert_eq!(copy.metadata.namespace.as_deref(), Some("default"));
        assert_eq!(
            copy.message.as_deref(),
            Some("Successfully assigned default/web to node-0")
        );
        assert_eq!(copy.involved_object.uid.as_deref(), Some("virtual-uid"));
        assert_eq!(
            copy.involved_object.field_path.as_deref(),
            Some("spec.containers{c}")
        );
        assert_eq!(copy.reason.as_deref(), Some("Scheduled"));
        assert!(same_event(&copy, &copy.clone()));
    }

    #[test]
    fn other_kinds_are_ignored() {
        let event = Event {
            involved_object: ObjectReference {
                kind: Some("Node".into()),
                ..ObjectReference::default()
            },
            ..Event::default()
        };
        assert!(!worth_a_look(&event));
    }
}
