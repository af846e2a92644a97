//! Virtual nodes: one for each host node that runs synced pods, with the host node's name.
//!
//! By default (`sync.fromHost.nodes.enabled: false`) they are vCluster's "fake" nodes: labeled
//! `vcluster.loft.sh/fake-node`, a fixed set of labels, the host node's Ready state, capacity
//! and addresses when the host lets us read nodes (vCluster's fixed values otherwise). With
//! node sync on, they mirror the host node's labels, taints and status. A virtual node no pod
//! needs any more is deleted.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec, NodeStatus,
    NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, PatchParams, PostParams};
use serde_json::json;

use super::worker::Next;
use super::{Context, Ctx, SyncError, cached, is_status, merge_patch};
use crate::names::safe_concat_name;

/// Label of the virtual nodes the syncer made up.
pub const FAKE_NODE_LABEL: &str = "vcluster.loft.sh/fake-node";
/// Kubelet version fake nodes report (vCluster's).
pub const FAKE_NODE_VERSION: &str = "v1.19.1";
/// Domain of fake nodes' hostnames (vCluster's).
pub const FAKE_NODE_DOMAIN: &str = "nodes.vcluster.com";
/// A node this young is kept even when no pod shows on it yet (the binding is on its way).
const NEW_NODE_GRACE_SECONDS: i64 = 5;

fn fake_resources(host: Option<&NodeStatus>, allocatable: bool) -> BTreeMap<String, Quantity> {
    let from_host = host.and_then(|s| {
        if allocatable {
            s.allocatable.clone()
        } else {
            s.capacity.clone()
        }
    });
    from_host.filter(|r| !r.is_empty()).unwrap_or_else(|| {
        [
            ("cpu", "16"),
            ("memory", "32Gi"),
            ("ephemeral-storage", "100Gi"),
            ("hugepages-1Gi", "0"),
            ("hugepages-2Mi", "0"),
            ("pods", "110"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Quantity(v.to_owned())))
        .collect()
    })
}

fn condition(type_: &str, status: &str, reason: &str, message: &str, now: &Time) -> NodeCondition {
    NodeCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        last_heartbeat_time: Some(now.clone()),
        last_transition_time: Some(now.clone()),
    }
}

/// The virtual node for host node `name` (`host`: the host node, when it could be read).
/// `mirror`: node sync is on (copy the host node) rather than a fake node.
pub fn virtual_node(name: &str, host: Option<&Node>, mirror: bool, now: &Time) -> Node {
    let host_status = host.and_then(|h| h.status.as_ref());
    if mirror && let Some(host) = host {
        let mut status = host.status.clone().unwrap_or_default();
        status.images = None;
        status.volumes_attached = None;
        status.volumes_in_use = None;
        return Node {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                labels: host.metadata.labels.clone(),
                ..ObjectMeta::default()
            },
            spec: Some(NodeSpec {
                taints: host.spec.as_ref().and_then(|s| s.taints.clone()),
                unschedulable: host.spec.as_ref().and_then(|s| s.unschedulable),
                ..NodeSpec::default()
            }),
            status: Some(status),
        };
    }
    let labels = BTreeMap::from(
        [
            (FAKE_NODE_LABEL, "true".to_owned()),
            ("beta.kubernetes.io/arch", "amd64".to_owned()),
            ("beta.kubernetes.io/os", "linux".to_owned()),
            ("kubernetes.io/arch", "amd64".to_owned()),
            ("kubernetes.io/hostname", safe_concat_name(&["fake", name])),
            ("kubernetes.io/os", "linux".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let host_ready = host_status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
    let ready = match host_ready {
        Some(c) if c.status != "True" => condition(
            "Ready",
            &c.status,
            c.reason.as_deref().unwrap_or("KubeletNotReady"),
            c.message.as_deref().unwrap_or("host node is not ready"),
            now,
        ),
        _ => condition(
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
            now,
        ),
    };
    let mut addresses = vec![NodeAddress {
        type_: "Hostname".into(),
        address: format!("{name}.{FAKE_NODE_DOMAIN}"),
    }];
    if let Some(internal) = host_status
        .and_then(|s| s.addresses.as_ref())
        .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
    {
        addresses.push(internal.clone());
    }
    let host_info = host_status.and_then(|s| s.node_info.clone());
    Node {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(labels),
            annotations: Some(BTreeMap::from([
                ("node.alpha.kubernetes.io/ttl".to_owned(), "0".to_owned()),
                (
                    "volumes.kubernetes.io/controller-managed-attach-detach".to_owned(),
                    "false".to_owned(),
                ),
            ])),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec::default()),
        status: Some(NodeStatus {
            capacity: Some(fake_resources(host_status, false)),
            allocatable: Some(fake_resources(host_status, true)),
            conditions: Some(vec![
                condition(
                    "MemoryPressure",
                    "False",
                    "KubeletHasSufficientMemory",
                    "kubelet has sufficient memory available",
                    now,
                ),
                condition(
                    "DiskPressure",
                    "False",
                    "KubeletHasNoDiskPressure",
                    "kubelet has no disk pressure",
                    now,
                ),
                condition(
                    "PIDPressure",
                    "False",
                    "KubeletHasSufficientPID",
                    "kubelet has sufficient PID available",
                    now,
                ),
                ready,
            ]),
            addresses: Some(addresses),
            daemon_endpoints: Some(NodeDaemonEndpoints {
                kubelet_endpoint: Some(DaemonEndpoint { port: 10250 }),
            }),
            node_info: Some(NodeSystemInfo {
                architecture: "amd64".into(),
                operating_system: "linux".into(),
                os_image: "Fake Kubernetes Image".into(),
                kernel_version: host_info
                    .as_ref()
                    .map_or("4.19.76-fakelinux".into(), |i| i.kernel_version.clone()),
                container_runtime_version: host_info
                    .as_ref()
                    .map_or("docker://19.3.12".into(), |i| {
                        i.container_runtime_version.clone()
                    }),
                kubelet_version: FAKE_NODE_VERSION.into(),
                kube_proxy_version: FAKE_NODE_VERSION.into(),
                machine_id: host_info
                    .as_ref()
                    .map(|i| i.machine_id.clone())
                    .unwrap_or_default(),
                system_uuid: host_info
                    .as_ref()
                    .map(|i| i.system_uuid.clone())
                    .unwrap_or_default(),
                boot_id: host_info
                    .as_ref()
                    .map(|i| i.boot_id.clone())
                    .unwrap_or_default(),
                ..NodeSystemInfo::default()
            }),
            ..NodeStatus::default()
        }),
    }
}

/// Conditions without their times (heartbeats change them all the time).
fn condition_states(status: Option<&NodeStatus>) -> Vec<(String, String, Option<String>)> {
    let mut out: Vec<_> = status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .map(|c| (c.type_.clone(), c.status.clone(), c.reason.clone()))
        .collect();
    out.sort();
    out
}

/// Whether the virtual node's status must be rewritten to `desired`'s.
pub fn status_differs(current: Option<&NodeStatus>, desired: Option<&NodeStatus>) -> bool {
    let strip = |s: Option<&NodeStatus>| {
        s.cloned().map(|mut s| {
            s.conditions = None;
            s
        })
    };
    condition_states(current) != condition_states(desired) || strip(current) != strip(desired)
}

fn mirrors(ctx: &Ctx) -> bool {
    ctx.config().sync.from_host.nodes.enabled
}

async fn host_node(ctx: &Ctx, name: &str) -> Option<Node> {
    if let Some(node) = cached(&ctx.h.nodes, None, name) {
        return Some((*node).clone());
    }
    // The cache may be empty because listing nodes is not allowed; a get may be.
    Api::<Node>::all(ctx.host.client.clone())
        .get_opt(name)
        .await
        .ok()
        .flatten()
}

/// Makes sure the virtual node `name` exists (before a pod is bound to it).
pub(crate) async fn ensure(ctx: &Ctx, name: &str) -> Result<(), SyncError> {
    if cached(&ctx.v.nodes, None, name).is_some() {
        return Ok(());
    }
    let host = host_node(ctx, name).await;
    let node = virtual_node(
        name,
        host.as_ref(),
        mirrors(ctx),
        &Time(k8s_openapi::jiff::Timestamp::now()),
    );
    let api: Api<Node> = Api::all(ctx.virt.clone());
    match api.create(&PostParams::default(), &node).await {
        Ok(_) => {
            tracing::info!(node = %name, "created virtual node");
            Ok(())
        }
        Err(e) if is_status(&e, 409) => Ok(()),
        Err(e) => Err(e).ctx(|| format!("creating virtual node {name}")),
    }
}

fn needed(ctx: &Ctx, name: &str) -> bool {
    // Runs for every pod change: `find` walks the caches in place instead of copying them.
    ctx.v.pods.find(|p| p.node_name() == Some(name)).is_some()
        || ctx.h.pods.find(|p| p.node_name() == Some(name)).is_some()
}

fn is_ours(node: &Node, host_exists: bool) -> bool {
    host_exists
        || node
            .metadata
            .labels
            .as_ref()
            .is_some_and(|l| l.get(FAKE_NODE_LABEL).is_some_and(|v| v == "true"))
}

/// Syncs virtual node `name`: refreshed from the host node while pods need it, deleted after.
pub(crate) async fn sync(ctx: &Ctx, name: &str) -> Result<Next, SyncError> {
    let Some(current) = cached(&ctx.v.nodes, None, name) else {
        return Ok(Next::Done);
    };
    let host = host_node(ctx, name).await;
    let api: Api<Node> = Api::all(ctx.virt.clone());
    let all_nodes = ctx.config().sync.from_host.nodes.all && host.is_some();
    if !(needed(ctx, name) || all_nodes) {
        if !is_ours(&current, host.is_some()) {
            return Ok(Next::Done);
        }
        let age = current
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| k8s_openapi::jiff::Timestamp::now().as_second() - t.0.as_second())
            .unwrap_or(i64::MAX);
        if age < NEW_NODE_GRACE_SECONDS {
            return Ok(Next::After(std::time::Duration::from_secs(
                u64::try_from(NEW_NODE_GRACE_SECONDS - age).unwrap_or(1) + 1,
            )));
        }
        tracing::info!(node = %name, "deleting virtual node no pod needs");
        return match api.delete(name, &Default::default()).await {
            Ok(_) => Ok(Next::Done),
            Err(e) if is_status(&e, 404) => Ok(Next::Done),
            Err(e) => Err(e).ctx(|| format!("deleting virtual node {name}")),
        };
    }
    let desired = virtual_node(
        name,
        host.as_ref(),
        mirrors(ctx),
        &Time(k8s_openapi::jiff::Timestamp::now()),
    );
    if current.metadata.labels != desired.metadata.labels {
        let patch = json!({"metadata": {"labels": super::pods::map_patch(
            current.metadata.labels.as_ref(),
            &desired.metadata.labels.clone().unwrap_or_default(),
        )}});
        api.patch(name, &PatchParams::default(), &merge_patch(&patch))
            .await
            .ctx(|| format!("updating labels of virtual node {name}"))?;
    }
    if status_differs(current.status.as_ref(), desired.status.as_ref()) {
        let mut updated = (*current).clone();
        updated.metadata.managed_fields = None;
        updated.status = desired.status;
        match api
            .replace_status(name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => {}
            Err(e) if is_status(&e, 409) => {
                return Ok(Next::After(std::time::Duration::from_millis(200)));
            }
            Err(e) => return Err(e).ctx(|| format!("updating status of virtual node {name}")),
        }
    }
    Ok(Next::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Time {
        Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)
    }

    fn host(ready: &str) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some("n1".into()),
                labels: Some(BTreeMap::from([("zone".to_owned(), "a".to_owned())])),
                ..ObjectMeta::default()
            },
            spec: None,
            status: Some(NodeStatus {
                conditions: Some(vec![condition(
                    "Ready",
                    ready,
                    "KubeletNotReady",
                    "down",
                    &now(),
                )]),
                addresses: Some(vec![NodeAddress {
                    type_: "InternalIP".into(),
                    address: "10.0.0.5".into(),
                }]),
                capacity: Some(BTreeMap::from([("cpu".to_owned(), Quantity("4".into()))])),
                ..NodeStatus::default()
            }),
        }
    }

    #[test]
    fn fake_nodes_follow_vcluster_with_host_facts() {
        let node = virtual_node("n1", Some(&host("True")), false, &now());
        let labels = node.metadata.labels.clone().unwrap();
        assert_eq!(labels[FAKE_NODE_LABEL], "true");
        assert_eq!(labels["kubernetes.io/hostname"], "fake-n1");
        assert!(!labels.contains_key("zone"));
        let status = node.status.unwrap();
        let addresses: Vec<(String, String)> = status
            .addresses
            .unwrap()
            .into_iter()
            .map(|a| (a.type_, a.address))
            .collect();
        assert_eq!(
            addresses,
            vec![
                ("Hostname".into(), "n1.nodes.vcluster.com".into()),
                ("InternalIP".into(), "10.0.0.5".into())
            ]
        );
        assert_eq!(status.capacity.unwrap()["cpu"], Quantity("4".into()));
        assert_eq!(status.allocatable.unwrap()["pods"], Quantity("110".into()));
        let ready = status
            .conditions
            .unwrap()
            .into_iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(ready.status, "True");
    }

    #[test]
    fn fake_nodes_show_a_not_ready_host() {
        let node = virtual_node("n1", Some(&host("False")), false, &now());
        let ready = node
            .status
            .unwrap()
            .conditions
            .unwrap()
            .into_iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_deref()),
            ("False", Some("KubeletNotReady"))
        );
    }

    #[test]
    fn mirrored_nodes_copy_the_host() {
        let node = virtual_node("n1", Some(&host("True")), true, &now());
        assert_eq!(node.metadata.labels.unwrap()["zone"], "a");
        assert_eq!(node.status, host("True").status);
    }

    #[test]
    fn heartbeats_alone_do_not_rewrite_status() {
        let a = virtual_node("n1", Some(&host("True")), false, &now());
        let b = virtual_node(
            "n1",
            Some(&host("True")),
            false,
            &Time(k8s_openapi::jiff::Timestamp::now()),
        );
        assert!(!status_differs(a.status.as_ref(), b.status.as_ref()));
        let c = virtual_node("n1", Some(&host("False")), false, &now());
        assert!(status_differs(a.status.as_ref(), c.status.as_ref()));
    }
}
