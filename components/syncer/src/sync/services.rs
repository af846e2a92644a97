//! Services: the host Service comes first and the virtual Service shows its cluster IPs.
//!
//! The virtual API server calls [`before_create`] while it creates a Service: the host Service
//! is created (or an existing one of the same virtual name adopted) and its cluster IPs and
//! node ports are written into the virtual Service before it is stored, so it never has any
//! other address. The loop ([`sync`]) keeps both in step afterwards: spec and metadata to the
//! host, load balancer status back; a virtual Service whose cluster IP differs from its host
//! Service's (created before the syncer ran, or its host Service was recreated) is deleted and
//! created again with the host's address, as vCluster does.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, PatchParams, PostParams};
use serde_json::{Value, json};
use warren_controllers::queue;

use super::worker::Next;
use super::{Context, Ctx, HostSide, SyncError, cached, is_status, merge_patch, meta};
use crate::names::{Names, labels};
use crate::translate::replicate::is_replicated;
use crate::translate::service::{host_service, virtual_cluster_ips};

/// How long the create hook may take before the virtual create fails.
const HOOK_TIMEOUT: Duration = Duration::from_secs(15);

fn is_default_kubernetes(namespace: &str, name: &str) -> bool {
    namespace == "default" && name == "kubernetes"
}

fn same_port(a: &ServicePort, b: &ServicePort) -> bool {
    a.port == b.port
        && a.protocol.as_deref().unwrap_or("TCP") == b.protocol.as_deref().unwrap_or("TCP")
}

/// The host Service's spec after the virtual one changed: the translation's, with what the
/// host assigned kept (cluster IPs, IP families, node ports, health check node port).
pub fn host_spec_update(current: &ServiceSpec, desired: &ServiceSpec) -> ServiceSpec {
    let mut next = desired.clone();
    let external_name = desired.type_.as_deref() == Some("ExternalName");
    if !external_name {
        next.cluster_ip = current.cluster_ip.clone();
        next.cluster_ips = current.cluster_ips.clone();
        next.ip_families = current.ip_families.clone();
        next.ip_family_policy = current.ip_family_policy.clone();
    }
    let node_ports = matches!(desired.type_.as_deref(), Some("NodePort" | "LoadBalancer"));
    if node_ports {
        if let Some(ports) = next.ports.as_mut() {
            for port in ports.iter_mut() {
                port.node_port = current
                    .ports
                    .iter()
                    .flatten()
                    .find(|p| same_port(p, port))
                    .and_then(|p| p.node_port);
            }
        }
        if desired.type_.as_deref() == Some("LoadBalancer") {
            next.health_check_node_port = current.health_check_node_port;
        }
    }
    next
}

/// Whether the host spec needs an update to become `desired` (fields the host fills in by
/// default, like sessionAffinity, count as equal when the translation leaves them unset).
fn spec_differs(current: &ServiceSpec, next: &ServiceSpec) -> bool {
    let unset_policy = next.external_traffic_policy.is_none();
    let defaulted = |mut s: ServiceSpec| {
        s.session_affinity.get_or_insert_with(|| "None".into());
        s.type_.get_or_insert_with(|| "ClusterIP".into());
        if let Some(ports) = s.ports.as_mut() {
            for p in ports.iter_mut() {
                p.protocol.get_or_insert_with(|| "TCP".into());
                if p.target_port.is_none() {
                    p.target_port = Some(
                        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(p.port),
                    );
                }
            }
        }
        // Fields the host (possibly older) defaults or does not know: not ours to compare.
        s.internal_traffic_policy = None;
        if unset_policy {
            s.external_traffic_policy = None;
        }
        s.allocate_load_balancer_node_ports = None;
        s.traffic_distribution = None;
        s
    };
    defaulted(current.clone()) != defaulted(next.clone())
}

/// The host Service of a virtual Service, with its managed-labels record.
fn desired_host_service(host: &HostSide, virtual_service: &Service) -> Service {
    let mut out = host_service(&host.names, virtual_service, host.owner.as_ref());
    meta::mark_managed_labels(&mut out.metadata, virtual_service.metadata.labels.as_ref());
    let (namespace, name) = (
        virtual_service
            .metadata
            .namespace
            .as_deref()
            .unwrap_or_default(),
        virtual_service.metadata.name.as_deref().unwrap_or_default(),
    );
    if super::kube_dns::is_kube_dns(namespace, name)
        && let Some(spec) = out.spec.as_mut()
    {
        super::kube_dns::adjust_host_spec(host.own_selector.as_ref(), spec);
    }
    out
}

fn owned_by(names: &Names, service: &Service) -> bool {
    service
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(labels::MANAGED_BY))
        .is_some_and(|v| v == names.vcluster())
}

/// Creates the host Service, or brings an existing one of ours in line with `desired`.
async fn create_or_adopt(host: &HostSide, desired: &Service) -> Result<Service, SyncError> {
    let api: Api<Service> = Api::namespaced(host.client.clone(), host.names.own_host_namespace());
    let name = desired.metadata.name.clone().unwrap_or_default();
    for _ in 0..3 {
        let existing = api
            .get_opt(&name)
            .await
            .ctx(|| format!("reading host service {name}"))?;
        let Some(existing) = existing else {
            match api.create(&PostParams::default(), desired).await {
                Ok(created) => return Ok(created),
                Err(e) if is_status(&e, 409) => continue,
                Err(e) => return Err(e).ctx(|| format!("creating host service {name}")),
            }
        };
        if !owned_by(&host.names, &existing) {
            return Err(SyncError::Invalid(format!(
                "host service {name} exists and is not managed by virtual cluster {}",
                host.names.vcluster()
            )));
        }
        let mut updated = desired.clone();
        updated.metadata.resource_version = existing.metadata.resource_version.clone();
        updated.spec = Some(host_spec_update(
            &existing.spec.clone().unwrap_or_default(),
            &desired.spec.clone().unwrap_or_default(),
        ));
        match api.replace(&name, &PostParams::default(), &updated).await {
            Ok(replaced) => return Ok(replaced),
            Err(e) if is_status(&e, 409) => continue,
            // A change the host refuses in place (e.g. to or from headless): start over.
            Err(e) if is_status(&e, 422) => {
                tracing::info!(service = %name, error = %e, "recreating host service");
                match api.delete(&name, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(e) if is_status(&e, 404) => {}
                    Err(e) => return Err(e).ctx(|| format!("deleting host service {name}")),
                }
            }
            Err(e) => return Err(e).ctx(|| format!("updating host service {name}")),
        }
    }
    Err(SyncError::Invalid(format!(
        "host service {name} keeps changing; try again"
    )))
}

/// Writes the host Service's cluster IPs, IP families and node ports into a virtual Service
/// (JSON, as the API server holds it). `false` when the host assigned no cluster IP where one
/// is needed.
pub fn write_host_addresses(virtual_service: &mut Value, host: &Service) -> bool {
    let host_spec = host.spec.clone().unwrap_or_default();
    let spec = &mut virtual_service["spec"];
    let kind = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_owned();
    let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
    if kind != "ExternalName" && !headless {
        let Some((ip, ips)) = virtual_cluster_ips(host) else {
            return false;
        };
        spec["clusterIP"] = json!(ip);
        spec["clusterIPs"] = json!(ips);
        if let Some(families) = &host_spec.ip_families {
            spec["ipFamilies"] = json!(families);
        }
        if let Some(policy) = &host_spec.ip_family_policy {
            spec["ipFamilyPolicy"] = json!(policy);
        }
    }
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for port in ports {
            let wanted: ServicePort = serde_json::from_value(port.clone()).unwrap_or_default();
            if let Some(node_port) = host_spec
                .ports
                .iter()
                .flatten()
                .find(|p| same_port(p, &wanted))
                .and_then(|p| p.node_port)
            {
                port["nodePort"] = json!(node_port);
            }
        }
    }
    if let Some(port) = host_spec.health_check_node_port {
        spec["healthCheckNodePort"] = json!(port);
    }
    true
}

/// How long a host Service made by the create hook waits for its virtual Service to show up
/// before it counts as an orphan.
const PENDING_CREATE: Duration = Duration::from_secs(30);

/// How much longer to wait before deleting a host Service whose virtual Service is not in the
/// cache, because the create hook made it a moment ago (the virtual create is under way).
fn create_under_way(host: &HostSide, host_service: &Service) -> Option<Duration> {
    let uid = host_service
        .metadata
        .annotations
        .as_ref()?
        .get(crate::names::annotations::OBJECT_UID)?;
    let pending = host
        .pending_services
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let since = pending.get(uid)?;
    PENDING_CREATE
        .checked_sub(since.elapsed())
        .map(|left| left.min(Duration::from_millis(500)))
}

/// The API server's Service create hook (see the module docs).
pub async fn before_create(host: &HostSide, service: &mut Value) -> Result<bool, SyncError> {
    let parsed: Service = serde_json::from_value(service.clone())
        .map_err(|e| SyncError::Invalid(format!("service: {e}")))?;
    let namespace = parsed.metadata.namespace.as_deref().unwrap_or_default();
    let name = parsed.metadata.name.as_deref().unwrap_or_default();
    if is_default_kubernetes(namespace, name) {
        // The virtual API server is reached through the syncer's own host Service.
        if host.kube_ip.is_empty() {
            return Ok(false);
        }
        service["spec"]["clusterIP"] = json!(host.kube_ip);
        service["spec"]["clusterIPs"] = json!([host.kube_ip]);
        return Ok(true);
    }
    if !host.options.config.sync.to_host.services || is_replicated(&parsed.metadata) {
        // A replica of a host Service (see `replicate`) keeps the address it asks for.
        return Ok(false);
    }
    let desired = desired_host_service(host, &parsed);
    if let Some(uid) = &parsed.metadata.uid {
        let mut pending = host
            .pending_services
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        pending.retain(|_, since| since.elapsed() < PENDING_CREATE);
        pending.insert(uid.clone(), Instant::now());
    }
    let created = tokio::time::timeout(HOOK_TIMEOUT, create_or_adopt(host, &desired))
        .await
        .map_err(|_| {
            SyncError::Invalid(format!(
                "creating the host service for {namespace}/{name} timed out"
            ))
        })??;
    tracing::debug!(
        service = %format!("{namespace}/{name}"),
        host_ip = ?created.spec.as_ref().and_then(|s| s.cluster_ip.clone()),
        "host service ready for the virtual create"
    );
    Ok(write_host_addresses(service, &created))
}

/// Syncs the virtual Service `namespace/name`.
pub(crate) async fn sync(ctx: &Ctx, key: &str) -> Result<Next, SyncError> {
    let (Some(namespace), name) = queue::split(key) else {
        return Ok(Next::Done);
    };
    if is_default_kubernetes(namespace, name) {
        return Ok(Next::Done);
    }
    let names = ctx.names();
    // Replicas of host Services have no host copy of their own.
    let virtual_service =
        cached(&ctx.v.services, Some(namespace), name).filter(|s| !is_replicated(&s.metadata));
    let host_name = names.host_object(name, namespace);
    let host_now = cached(&ctx.h.services, Some(&host_name.namespace), &host_name.name)
        .filter(|h| ctx.virtual_key(&h.metadata, "Service").as_deref() == Some(key));
    let api: Api<Service> = ctx.host_api();
    let Some(virtual_service) = virtual_service else {
        if let Some(host) = host_now {
            if let Some(wait) = create_under_way(&ctx.host, &host) {
                return Ok(Next::After(wait));
            }
            let params = super::delete_uid(host.metadata.uid.as_deref());
            match api.delete(&host_name.name, &params).await {
                Ok(_) => {}
                Err(e) if is_status(&e, 404) || is_status(&e, 409) => {}
                Err(e) => {
                    return Err(e).ctx(|| format!("deleting host service {}", host_name.name));
                }
            }
        }
        return Ok(Next::Done);
    };
    if let Some(uid) = &virtual_service.metadata.uid {
        // Stored and seen: from now on its deletion deletes the host Service at once.
        ctx.host
            .pending_services
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(uid);
    }
    let desired = desired_host_service(&ctx.host, &virtual_service);
    let Some(host) = host_now else {
        create_or_adopt(&ctx.host, &desired).await?;
        // The host cache brings it back for the address check.
        return Ok(Next::Done);
    };

    let merged = meta::merge(
        names,
        &virtual_service.metadata,
        &host.metadata,
        &desired.metadata,
    );
    let virtual_api: Api<Service> = ctx.virtual_api(namespace);
    if merged.virtual_changed() {
        let patch = meta::add_metadata_patch(&merged.virtual_labels, &merged.virtual_annotations);
        virtual_api
            .patch(name, &PatchParams::default(), &merge_patch(&patch))
            .await
            .ctx(|| format!("updating metadata of virtual service {key}"))?;
    }
    let current_spec = host.spec.clone().unwrap_or_default();
    let next_spec = host_spec_update(&current_spec, &desired.spec.clone().unwrap_or_default());
    if spec_differs(&current_spec, &next_spec) || merged.host_changed(&host.metadata) {
        let mut updated = desired.clone();
        updated.metadata.labels = Some(merged.host_labels);
        updated.metadata.annotations = Some(merged.host_annotations);
        updated.metadata.resource_version = host.metadata.resource_version.clone();
        updated.spec = Some(next_spec);
        match api
            .replace(&host_name.name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => {}
            Err(e) if is_status(&e, 409) => return Ok(Next::After(Duration::from_millis(200))),
            Err(e) if is_status(&e, 422) => {
                // Not changeable in place: the hook path recreates it.
                create_or_adopt(&ctx.host, &desired).await?;
            }
            Err(e) => return Err(e).ctx(|| format!("updating host service {}", host_name.name)),
        }
    }

    // The virtual Service must show the host's address.
    let virtual_spec = virtual_service.spec.clone().unwrap_or_default();
    let headless = virtual_spec.cluster_ip.as_deref() == Some("None");
    let external_name = virtual_spec.type_.as_deref() == Some("ExternalName");
    if !headless
        && !external_name
        && let Some((ip, _)) = virtual_cluster_ips(&host)
        && virtual_spec.cluster_ip.as_deref() != Some(ip.as_str())
    {
        tracing::debug!(service = %key, virtual_ip = ?virtual_spec.cluster_ip, host_ip = %ip, "cluster IPs differ");
        recreate_virtual(ctx, &virtual_service).await?;
        return Ok(Next::Done);
    }

    let host_lb = host.status.as_ref().and_then(|s| s.load_balancer.clone());
    let virtual_lb = virtual_service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.clone());
    if host_lb.clone().unwrap_or_default() != virtual_lb.unwrap_or_default() {
        let mut updated = (*virtual_service).clone();
        updated
            .status
            .get_or_insert_with(Default::default)
            .load_balancer = host_lb;
        match virtual_api
            .replace_status(name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => {}
            Err(e) if is_status(&e, 409) => return Ok(Next::After(Duration::from_millis(200))),
            Err(e) => return Err(e).ctx(|| format!("updating status of virtual service {key}")),
        }
    }
    Ok(Next::Done)
}

/// A virtual Service as it would be created again: what the user gave, addresses cleared (the
/// create hook fills in the host's).
pub fn fresh_copy(service: &Service) -> Service {
    let mut spec = service.spec.clone().unwrap_or_default();
    let headless = spec.cluster_ip.as_deref() == Some("None");
    if !headless {
        spec.cluster_ip = None;
        spec.cluster_ips = None;
    }
    Service {
        metadata: ObjectMeta {
            name: service.metadata.name.clone(),
            namespace: service.metadata.namespace.clone(),
            labels: service.metadata.labels.clone(),
            annotations: service.metadata.annotations.clone(),
            owner_references: service.metadata.owner_references.clone(),
            finalizers: service.metadata.finalizers.clone(),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// Deletes a virtual Service and creates it again, so it gets the host's cluster IP.
pub(crate) async fn recreate_virtual(ctx: &Ctx, service: &Service) -> Result<(), SyncError> {
    let namespace = service.metadata.namespace.as_deref().unwrap_or_default();
    let name = service.metadata.name.as_deref().unwrap_or_default();
    tracing::info!(service = %format!("{namespace}/{name}"), "recreating virtual service with the host's cluster IP");
    let api: Api<Service> = ctx.virtual_api(namespace);
    let params = super::delete_uid(service.metadata.uid.as_deref());
    match api.delete(name, &params).await {
        Ok(_) => {}
        Err(e) if is_status(&e, 404) || is_status(&e, 409) => return Ok(()),
        Err(e) => return Err(e).ctx(|| format!("deleting virtual service {namespace}/{name}")),
    }
    match api
        .create(&PostParams::default(), &fresh_copy(service))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_status(&e, 409) => Ok(()),
        Err(e) => Err(e).ctx(|| format!("creating virtual service {namespace}/{name} again")),
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ServiceSpec;

    use super::*;

    fn port(port: i32, node_port: Option<i32>) -> ServicePort {
        ServicePort {
            port,
            node_port,
            protocol: Some("TCP".into()),
            ..ServicePort::default()
        }
    }

    #[test]
    fn host_assigned_fields_survive_updates() {
        let current = ServiceSpec {
            type_: Some("NodePort".into()),
            cluster_ip: Some("10.96.4.4".into()),
            cluster_ips: Some(vec!["10.96.4.4".into()]),
            ip_families: Some(vec!["IPv4".into()]),
            ports: Some(vec![port(80, Some(30080)), port(81, Some(30081))]),
            ..ServiceSpec::default()
        };
        let desired = ServiceSpec {
            type_: Some("NodePort".into()),
            ports: Some(vec![port(80, None), port(82, None)]),
            ..ServiceSpec::default()
        };
        let next = host_spec_update(&current, &desired);
        assert_eq!(next.cluster_ip.as_deref(), Some("10.96.4.4"));
        assert_eq!(next.ip_families, Some(vec!["IPv4".to_owned()]));
        assert_eq!(
            next.ports,
            Some(vec![port(80, Some(30080)), port(82, None)])
        );
        assert!(spec_differs(&current, &next));
        assert!(!spec_differs(&next, &next));
    }

    #[test]
    fn host_addresses_go_into_the_virtual_service() {
        let host = Service {
            spec: Some(ServiceSpec {
                cluster_ip: Some("10.96.7.7".into()),
                cluster_ips: Some(vec!["10.96.7.7".into()]),
                ip_families: Some(vec!["IPv4".into()]),
                ip_family_policy: Some("SingleStack".into()),
                ports: Some(vec![port(80, Some(31000))]),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        };
        let mut virtual_service = json!({"spec": {"type": "NodePort", "clusterIP": "10.96.0.50", "ports": [{"port": 80, "protocol": "TCP"}]}});
        assert!(write_host_addresses(&mut virtual_service, &host));
        assert_eq!(
            virtual_service,
            json!({"spec": {
                "type": "NodePort",
                "clusterIP": "10.96.7.7",
                "clusterIPs": ["10.96.7.7"],
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "ports": [{"port": 80, "protocol": "TCP", "nodePort": 31000}],
            }})
        );
        let mut headless = json!({"spec": {"clusterIP": "None"}});
        assert!(write_host_addresses(&mut headless, &Service::default()));
        assert_eq!(headless, json!({"spec": {"clusterIP": "None"}}));
        let mut waiting = json!({"spec": {}});
        assert!(!write_host_addresses(&mut waiting, &Service::default()));
    }

    #[test]
    fn fresh_copies_drop_addresses_but_not_headlessness() {
        let service = Service {
            metadata: ObjectMeta {
                name: Some("s".into()),
                uid: Some("u".into()),
                resource_version: Some("5".into()),
                ..ObjectMeta::default()
            },
            spec: Some(ServiceSpec {
                cluster_ip: Some("10.0.0.1".into()),
                ..ServiceSpec::default()
            }),
            status: None,
        };
        let copy = fresh_copy(&service);
        assert_eq!(copy.metadata.uid, None);
        assert_eq!(copy.metadata.resource_version, None);
        assert_eq!(copy.spec.unwrap().cluster_ip, None);
    }
}
