//! The RBAC policy in memory: every Role, ClusterRole and binding, re-read whenever the store
//! reports a change under the RBAC prefix (and right after an RBAC write through this server,
//! so a client never sees its own change late). The same pass runs the ClusterRole
//! aggregation controller. `start` also creates kube's default roles and bindings.

use std::sync::{Arc, RwLock, Weak};

use serde_json::{Value, json};
use warren_apimachinery::error::ApiError;
use warren_apimachinery::rbac::{self, Policy, aggregation, bootstrap};
use warren_store::ListOptions;

use crate::objects::{blocking, decode_kv, general_store_error};
use crate::request::Query;
use crate::resources::{self, Addressed};
use crate::state::AppState;

const PREFIX: &str = "/registry/rbac.authorization.k8s.io/";

/// The current policy, swapped whole on every reload.
#[derive(Default)]
pub struct PolicyCache {
    current: RwLock<Arc<Policy>>,
    reload: tokio::sync::Mutex<()>,
}

impl PolicyCache {
    pub fn current(&self) -> Arc<Policy> {
        self.current
            .read()
            .map(|p| p.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    fn set(&self, p: Policy) {
        match self.current.write() {
            Ok(mut g) => *g = Arc::new(p),
            Err(e) => *e.into_inner() = Arc::new(p),
        }
    }
}

/// Re-reads every RBAC object, swaps the policy and writes aggregated ClusterRoles whose rules
/// changed. Returns the store revision the policy was read at.
pub async fn refresh(state: &AppState) -> Result<i64, ApiError> {
    let _serial = state.auth.policy.reload.lock().await;
    let store = state.objects.store.clone();
    let page = blocking(move || store.list(PREFIX, &ListOptions::default()))
        .await?
        .map_err(general_store_error)?;
    let mut by_kind: [Vec<Value>; 4] = Default::default();
    for kv in &page.items {
        let plural = kv.key[PREFIX.len()..].split('/').next().unwrap_or("");
        let slot = match plural {
            "roles" => 0,
            "clusterroles" => 1,
            "rolebindings" => 2,
            "clusterrolebindings" => 3,
            _ => continue,
        };
        by_kind[slot].push(decode_kv(kv)?);
    }
    let [roles, cluster_roles, role_bindings, cluster_role_bindings] = &by_kind;
    state.auth.policy.set(Policy::from_objects(
        roles,
        cluster_roles,
        role_bindings,
        cluster_role_bindings,
    ));
    if let Some(res) = state.catalog.find(rbac::RBAC_GROUP, "v1", "clusterroles") {
        for (name, rules) in aggregation::aggregate(cluster_roles) {
            let Some(mut obj) = cluster_roles
                .iter()
                .find(|r| r["metadata"]["name"] == name.as_str())
                .cloned()
            else {
                continue;
            };
            let rev = obj["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|s| s.parse::<i64>().ok())
                .unwrap_or(0);
            obj["rules"] = json!(
                rules
                    .iter()
                    .map(rbac::PolicyRule::to_json)
                    .collect::<Vec<_>>()
            );
            if let Err(e) = state.objects.update(&res, &mut obj, rev).await {
                // A concurrent change: its watch event brings another pass.
                tracing::debug!(role = %name, error = %e.message, "aggregating clusterrole");
            }
        }
    }
    Ok(page.revision)
}

/// Creates the default ClusterRoles and ClusterRoleBindings that are missing and reconciles
/// the ones that exist (missing permissions and subjects added, as kube-apiserver does at
/// every start, unless annotated `rbac.authorization.kubernetes.io/autoupdate: "false"`).
async fn ensure_defaults(state: &Arc<AppState>) -> Result<(), ApiError> {
    use warren_apimachinery::rbac::reconcile::{self, Reconciled};
    for (plural, objects) in [
        ("clusterroles", bootstrap::cluster_roles()),
        ("clusterrolebindings", bootstrap::cluster_role_bindings()),
    ] {
        let res = state
            .catalog
            .find(rbac::RBAC_GROUP, "v1", plural)
            .ok_or_else(|| ApiError::internal(format!("{plural} not served")))?;
        for obj in objects {
            let name = obj["metadata"]["name"].as_str().unwrap_or_default();
            if let Some((existing, rev)) = state.objects.get_opt(&res, None, name).await? {
                let decision = if plural == "clusterroles" {
                    reconcile::cluster_role(&existing, &obj)
                } else {
                    reconcile::cluster_role_binding(&existing, &obj)
                };
                match decision {
                    Reconciled::Keep => continue,
                    Reconciled::Update(mut updated) => {
                        tracing::info!(%plural, %name, "reconciled default RBAC policy");
                        if let Err(e) = state.objects.update(&res, &mut updated, rev).await {
                            tracing::warn!(%plural, %name, error = %e.message, "reconciling");
                        }
                        continue;
                    }
                    Reconciled::Recreate => {
                        tracing::info!(%plural, %name, "re-creating default RBAC binding");
                        state.objects.delete(&res, None, name, rev).await?;
                    }
                }
            }
            let a = Addressed {
                res: res.clone(),
                namespace: None,
                name: None,
                subresource: None,
                finalize: false,
            };
            match resources::create(state, &a, &Query::default(), obj).await {
                Ok(_) => {}
                Err(e) if e.code() == 409 => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Bootstraps the default policy, loads it and keeps it current in the background.
pub async fn start(state: &Arc<AppState>) -> Result<(), ApiError> {
    ensure_defaults(state).await?;
    refresh(state).await?;
    tokio::spawn(watch_loop(Arc::downgrade(state)));
    Ok(())
}

async fn watch_loop(weak: Weak<AppState>) {
    loop {
        let Some(state) = weak.upgrade() else { return };
        let rev = match refresh(&state).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e.message, "loading RBAC policy");
                drop(state);
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut watcher = match state.objects.store.watch(PREFIX, rev) {
            Ok(w) => w,
            Err(_) => return,
        };
        drop(state);
        loop {
            match watcher.next().await {
                Some(Ok(_)) => {
                    while let Some(Ok(_)) = watcher.try_next() {}
                    let Some(state) = weak.upgrade() else { return };
                    if let Err(e) = refresh(&state).await {
                        tracing::warn!(error = %e.message, "reloading RBAC policy");
                    }
                }
                Some(Err(_)) => break,
                None => return,
            }
        }
    }
}
