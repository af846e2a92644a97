//! ClusterIP and NodePort allocation for Services created in a standalone virtual cluster
//! (kube-apiserver allocates both in the registry, before the object is stored). When a syncer
//! runs against a host cluster, the host's ClusterIP replaces this one.

use std::collections::HashSet;
use std::future::Future;
use std::net::Ipv4Addr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
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

/// Serializes allocations so two concurrent creates can't take the same address, and keeps
/// the addresses in use (read from the store once, then kept up to date) so a create does not
/// read every Service.
#[derive(Default)]
pub struct ServiceAllocator {
    used: Mutex<Option<Used>>,
    /// Bumped by every Service update or delete (see [`ServiceChanges`]): a cache loaded before
    /// is reloaded, since a delete frees addresses and an update may change node ports.
    changes: ServiceChanges,
    hook: OnceLock<Arc<dyn ServiceHook>>,
}

/// Counter of Service updates and deletes, shared between the allocator and the object store.
#[derive(Clone, Default)]
pub struct ServiceChanges(Arc<AtomicU64>);

impl ServiceChanges {
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn current(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Addresses held by stored Services (and by creates under way).
struct Used {
    ips: HashSet<String>,
    ports: HashSet<i64>,
    /// [`ServiceChanges`] when this was loaded.
    loaded_at: u64,
    /// Where the search for a free cluster IP starts (one past the last one handed out).
    next_ip: u32,
}

impl Used {
    fn from_services(existing: &[Value], loaded_at: u64) -> Used {
        Used {
            ips: existing
                .iter()
                .filter_map(|s| s["spec"].get("clusterIP").and_then(Value::as_str))
                .map(str::to_string)
                .collect(),
            ports: existing
                .iter()
                .flat_map(|s| s["spec"]["ports"].as_array().into_iter().flatten())
                .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
                .collect(),
            loaded_at,
            next_ip: FIRST_DYNAMIC,
        }
    }

    /// The first free dynamic cluster IP at or after `next_ip`, wrapping around.
    fn free_ip(&mut self) -> Option<String> {
        let span = SERVICE_NET_SIZE - 1 - FIRST_DYNAMIC;
        (0..span)
            .map(|i| FIRST_DYNAMIC + (self.next_ip - FIRST_DYNAMIC + i) % span)
            .map(|i| (i, Ipv4Addr::from(SERVICE_NET + i).to_string()))
            .find(|(_, ip)| !self.ips.contains(ip))
            .map(|(i, ip)| {
                self.next_ip = i + 1;
                ip
            })
    }
}

/// The addresses a create took; [`Allocation::commit`] once the Service is stored. Dropped
/// without it (the create failed), the allocator reloads what is in use before the next one.
pub struct Allocation<'a> {
    guard: tokio::sync::MutexGuard<'a, Option<Used>>,
    committed: bool,
}

impl Allocation<'_> {
    pub fn commit(mut self) {
        self.committed = true;
    }
}

impl Drop for Allocation<'_> {
    fn drop(&mut self) {
        if !self.committed {
            *self.guard = None;
        }
    }
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

    /// The counter the object store bumps on Service updates and deletes.
    pub fn changes(&self) -> ServiceChanges {
        self.changes.clone()
    }

    /// Fills `spec.clusterIP(s)` and missing `nodePort`s, checking requested ones are free.
    /// `load_existing` lists every stored Service; it is called only when the addresses in use
    /// are not known (first create, or Services were updated or deleted since).
    pub async fn allocate<F, Fut>(
        &self,
        svc: &mut Value,
        load_existing: F,
    ) -> Result<Allocation<'_>, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<Value>, ApiError>>,
    {
        let mut guard = self.used.lock().await;
        let changes = self.changes.current();
        if guard.as_ref().is_none_or(|u| u.loaded_at != changes) {
            *guard = Some(Used::from_services(&load_existing().await?, changes));
        }
        let mut allocation = Allocation {
            guard,
            committed: false,
        };
        let Some(used) = allocation.guard.as_mut() else {
            return Err(ApiError::internal("service address cache missing"));
        };
        let name = svc["metadata"]["name"].as_str().unwrap_or("").to_string();
        let mut ip_taken = None;
        if needs_cluster_ip(svc) {
            let ip = used.free_ip().ok_or_else(|| {
                ApiError::internal("failed to allocate a serviceIP: range is full")
            })?;
            svc["spec"]["clusterIP"] = json!(ip);
            svc["spec"]["clusterIPs"] = json!([ip]);
            ip_taken = Some(ip);
        } else if let Some(ip) = svc["spec"].get("clusterIP").and_then(Value::as_str) {
            if ip != "None" && used.ips.contains(ip) {
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
            if ip != "None" {
                ip_taken = Some(ip.to_string());
            }
            if svc["spec"].get("clusterIPs").is_none() {
                let ip = ip.to_string();
                svc["spec"]["clusterIPs"] = json!([ip]);
            }
        }
        let mut ports_taken = Vec::new();
        if needs_node_ports(svc)
            && let Some(ports) = svc["spec"]["ports"].as_array_mut()
        {
            for (i, port) in ports.iter_mut().enumerate() {
                match port.get("nodePort").and_then(Value::as_i64) {
                    Some(p) if used.ports.contains(&p) || ports_taken.contains(&p) => {
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
                    Some(p) => ports_taken.push(p),
                    None => {
                        let p = NODE_PORT_RANGE
                            .clone()
                            .find(|p| !used.ports.contains(p) && !ports_taken.contains(p))
                            .ok_or_else(|| {
                                ApiError::internal("failed to allocate a nodePort: range is full")
                            })?;
                        ports_taken.push(p);
                        port["nodePort"] = json!(p);
                    }
                }
            }
        }
        used.ips.extend(ip_taken);
        used.ports.extend(ports_taken);
        Ok(allocation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store listing `existing`.
    fn stored(
        existing: &[Value],
    ) -> impl FnOnce() -> std::future::Ready<Result<Vec<Value>, ApiError>> {
        let existing = existing.to_vec();
        move || std::future::ready(Ok(existing))
    }

    #[tokio::test]
    async fn allocates_free_ip_and_ports() {
        let a = ServiceAllocator::default();
        let existing = vec![
            json!({"spec": {"clusterIP": "10.96.0.11", "ports": [{"port": 80, "nodePort": 30000}]}}),
        ];
        let mut svc = json!({"metadata": {"name": "s"}, "spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 81, "nodePort": 30005}]}});
        a.allocate(&mut svc, stored(&existing))
            .await
            .expect("alloc")
            .commit();
        assert_eq!(svc["spec"]["clusterIP"], "10.96.0.12");
        assert_eq!(svc["spec"]["clusterIPs"][0], "10.96.0.12");
        assert_eq!(svc["spec"]["ports"][0]["nodePort"], 30001);
        assert_eq!(svc["spec"]["ports"][1]["nodePort"], 30005);
        let mut dup = json!({"metadata": {"name": "d"}, "spec": {"clusterIP": "10.96.0.11"}});
        assert_eq!(
            a.allocate(&mut dup, stored(&existing))
                .await
                .map(|_| ())
                .map_err(|e| e.code()),
            Err(422)
        );
        let mut headless = json!({"metadata": {"name": "h"}, "spec": {"clusterIP": "None"}});
        a.allocate(&mut headless, stored(&existing))
            .await
            .expect("headless")
            .commit();
        assert_eq!(headless["spec"]["clusterIP"], "None");
        let mut ext = json!({"metadata": {"name": "e"}, "spec": {"type": "ExternalName", "externalName": "x.example"}});
        a.allocate(&mut ext, stored(&existing))
            .await
            .expect("ext")
            .commit();
        assert!(ext["spec"].get("clusterIP").is_none());
    }

    /// What the store lists is read once; committed creates are remembered, failed ones and
    /// Service updates/deletes make the next create read the store again.
    #[tokio::test]
    async fn reads_the_store_only_when_it_must() {
        let a = ServiceAllocator::default();
        let loads = std::sync::atomic::AtomicUsize::new(0);
        let load = |existing: Vec<Value>| {
            let loads = &loads;
            move || {
                loads.fetch_add(1, Ordering::SeqCst);
                std::future::ready(Ok::<_, ApiError>(existing))
            }
        };
        let stored = vec![json!({"spec": {"clusterIP": "10.96.0.11"}})];
        let mut first = json!({"metadata": {"name": "a"}, "spec": {}});
        a.allocate(&mut first, load(stored.clone()))
            .await
            .expect("a")
            .commit();
        let mut second = json!({"metadata": {"name": "b"}, "spec": {}});
        a.allocate(&mut second, load(stored.clone()))
            .await
            .expect("b")
            .commit();
        assert_eq!(
            (
                &first["spec"]["clusterIP"],
                &second["spec"]["clusterIP"],
                loads.load(Ordering::SeqCst)
            ),
            (&json!("10.96.0.12"), &json!("10.96.0.13"), 1)
        );
        // A create that failed to store: its address is free again after a reload.
        let mut failed = json!({"metadata": {"name": "c"}, "spec": {}});
        drop(
            a.allocate(&mut failed, load(stored.clone()))
                .await
                .expect("c"),
        );
        assert_eq!(failed["spec"]["clusterIP"], "10.96.0.14");
        let after_first_two = vec![
            json!({"spec": {"clusterIP": "10.96.0.11"}}),
            json!({"spec": {"clusterIP": "10.96.0.12"}}),
            json!({"spec": {"clusterIP": "10.96.0.13"}}),
        ];
        let mut retried = json!({"metadata": {"name": "c"}, "spec": {}});
        a.allocate(&mut retried, load(after_first_two))
            .await
            .expect("c again")
            .commit();
        assert_eq!(retried["spec"]["clusterIP"], "10.96.0.14");
        assert_eq!(loads.load(Ordering::SeqCst), 2);
        // A delete elsewhere: the freed address is seen after the reload it forces.
        a.changes().bump();
        let mut reuse = json!({"metadata": {"name": "d"}, "spec": {"clusterIP": "10.96.0.12"}});
        a.allocate(&mut reuse, load(stored))
            .await
            .expect("freed address")
            .commit();
        assert_eq!(loads.load(Ordering::SeqCst), 3);
    }
}
