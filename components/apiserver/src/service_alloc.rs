//! ClusterIP and NodePort allocation for Services created in a standalone virtual cluster
//! (kube-apiserver allocates both in the registry, before the object is stored). When a syncer
//! runs against a host cluster, the host's ClusterIP replaces this one.

use std::collections::HashSet;
use std::future::Future;
use std::net::Ipv4Addr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};
use tokio::sync::Mutex;
use warren_apimachinery::error::{ApiError, FieldError};

/// The default service CIDR, 10.96.0.0/12 (kubeadm's and k3s's default range).
const SERVICE_NET: u32 = u32::from_be_bytes([10, 96, 0, 0]);
const SERVICE_NET_SIZE: u32 = 1 << 20;
/// 10.96.0.1 is `default/kubernetes`, 10.96.0.10 kube-dns by convention: start after them.
const FIRST_DYNAMIC: u32 = 11;
pub const NODE_PORT_RANGE: std::ops::RangeInclusive<i64> = 30000..=32767;

/// What a [`ServiceHook`] returns: whether the Service now carries the addresses it must keep.
pub type ServiceHookFuture<'a> = Pin<Box<dyn Future<Output = Result<bool, String>> + Send + 'a>>;

/// Called before a Service is stored, when the cluster's workloads run on a host cluster: the
/// syncer creates the host Service first and writes the host's cluster IPs (and node ports)
/// into the virtual one, so the virtual Service is born with addresses that route (vCluster
/// does the same in a request filter). `Ok(true)`: keep what the hook wrote, allocate nothing;
/// `Ok(false)`: allocate as usual; `Err`: the create fails.
pub trait ServiceHook: Send + Sync {
    fn before_create<'a>(&'a self, service: &'a mut Value) -> ServiceHookFuture<'a>;
}

/// A [`ServiceHook`] in the server's [`crate::Config`].
#[derive(Clone)]
pub struct ServiceHookHandle(pub Arc<dyn ServiceHook>);

impl std::fmt::Debug for ServiceHookHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceHook")
    }
}

/// Serializes allocations so two concurrent creates can't take the same address.
#[derive(Default)]
pub struct ServiceAllocator {
    lock: Mutex<()>,
    hook: OnceLock<Arc<dyn ServiceHook>>,
}

fn needs_cluster_ip(svc: &Value) -> bool {
    let spec = &svc["spec"];
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP");
    ty != "ExternalName"
        && spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
}

fn needs_node_ports(svc: &Value) -> bool {
    matches!(
        svc["spec"].get("type").and_then(Value::as_str),
        Some("NodePort" | "LoadBalancer")
    )
}

impl ServiceAllocator {
    /// Installs the host cluster's hook (once; later calls are ignored).
    pub fn set_hook(&self, hook: Arc<dyn ServiceHook>) {
        let _ = self.hook.set(hook);
    }

    pub fn hook(&self) -> Option<&Arc<dyn ServiceHook>> {
        self.hook.get()
    }

    /// Fills `spec.clusterIP(s)` and missing `nodePort`s, checking requested ones are free.
    /// `existing` are all stored Services.
    pub async fn allocate(
        &self,
        svc: &mut Value,
        existing: &[Value],
    ) -> Result<tokio::sync::MutexGuard<'_, ()>, ApiError> {
        let guard = self.lock.lock().await;
        let used_ips: HashSet<String> = existing
            .iter()
            .filter_map(|s| s["spec"].get("clusterIP").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        let used_ports: HashSet<i64> = existing
            .iter()
            .flat_map(|s| s["spec"]["ports"].as_array().into_iter().flatten())
            .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
            .collect();
        let name = svc["metadata"]["name"].as_str().unwrap_or("").to_string();
        if needs_cluster_ip(svc) {
            let ip = (FIRST_DYNAMIC..SERVICE_NET_SIZE - 1)
                .map(|i| Ipv4Addr::from(SERVICE_NET + i).to_string())
                .find(|ip| !used_ips.contains(ip))
                .ok_or_else(|| {
                    ApiError::internal("failed to allocate a serviceIP: range is full")
                })?;
            svc["spec"]["clusterIP"] = json!(ip);
            svc["spec"]["clusterIPs"] = json!([ip]);
        } else if let Some(ip) = svc["spec"].get("clusterIP").and_then(Value::as_str) {
            if ip != "None" && used_ips.contains(ip) {
                return Err(ApiError::invalid(
                    "",
                    "Service",
                    &name,
                    &[FieldError::invalid(
                        "spec.clusterIPs",
                        json!([ip]),
                        format!("failed to allocate IP {ip}: provided IP is already allocated"),
                    )],
                ));
            }
            if svc["spec"].get("clusterIPs").is_none() {
                let ip = ip.to_string();
                svc["spec"]["clusterIPs"] = json!([ip]);
            }
        }
        if needs_node_ports(svc) {
            let mut taken = used_ports;
            if let Some(ports) = svc["spec"]["ports"].as_array_mut() {
                for (i, port) in ports.iter_mut().enumerate() {
                    match port.get("nodePort").and_then(Value::as_i64) {
                        Some(p) if taken.contains(&p) => {
                            return Err(ApiError::invalid(
                                "",
                                "Service",
                                &name,
                                &[FieldError::invalid(
                                    format!("spec.ports[{i}].nodePort"),
                                    json!(p),
                                    "provided port is already allocated",
                                )],
                            ));
                        }
                        Some(p) => {
                            taken.insert(p);
                        }
                        None => {
                            let p = NODE_PORT_RANGE
                                .clone()
                                .find(|p| !taken.contains(p))
                                .ok_or_else(|| {
                                    ApiError::internal(
                                        "failed to allocate a nodePort: range is full",
                                    )
                                })?;
                            taken.insert(p);
                            port["nodePort"] = json!(p);
                        }
                    }
                }
            }
        }
        Ok(guard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn allocates_free_ip_and_ports() {
        let a = ServiceAllocator::default();
        let existing = vec![
            json!({"spec": {"clusterIP": "10.96.0.11", "ports": [{"port": 80, "nodePort": 30000}]}}),
        ];
        let mut svc = json!({"metadata": {"name": "s"}, "spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 81, "nodePort": 30005}]}});
        drop(a.allocate(&mut svc, &existing).await.expect("alloc"));
        assert_eq!(svc["spec"]["clusterIP"], "10.96.0.12");
        assert_eq!(svc["spec"]["clusterIPs"][0], "10.96.0.12");
        assert_eq!(svc["spec"]["ports"][0]["nodePort"], 30001);
        assert_eq!(svc["spec"]["ports"][1]["nodePort"], 30005);
        let mut dup = json!({"metadata": {"name": "d"}, "spec": {"clusterIP": "10.96.0.11"}});
        assert_eq!(
            a.allocate(&mut dup, &existing)
                .await
                .map(|_| ())
                .map_err(|e| e.code()),
            Err(422)
        );
        let mut headless = json!({"metadata": {"name": "h"}, "spec": {"clusterIP": "None"}});
        drop(
            a.allocate(&mut headless, &existing)
                .await
                .expect("headless"),
        );
        assert_eq!(headless["spec"]["clusterIP"], "None");
        let mut ext = json!({"metadata": {"name": "e"}, "spec": {"type": "ExternalName", "externalName": "x.example"}});
        drop(a.allocate(&mut ext, &existing).await.expect("ext"));
        assert!(ext["spec"].get("clusterIP").is_none());
    }
}
