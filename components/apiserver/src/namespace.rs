//! Namespace termination: when a namespace is deleted, everything in it is deleted, then its
//! `kubernetes` finalizer is removed and the namespace goes. (The full namespace controller with
//! discovery of every resource comes with the controllers; this keeps `kubectl delete ns` whole.)

use std::sync::{Arc, Weak};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use warren_apimachinery::error::ApiError;

use crate::meta;
use crate::objects::namespace_and_name;
use crate::resources::{self, Addressed, DeleteOptions, ListRequest};
use crate::state::AppState;

/// A handle to ask for a namespace to be emptied and finalized.
pub struct NamespaceCleanup {
    tx: mpsc::UnboundedSender<String>,
}

impl NamespaceCleanup {
    pub fn new() -> (NamespaceCleanup, mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (NamespaceCleanup { tx }, rx)
    }

    pub fn notify(&self, namespace: String) {
        // the receiver lives as long as the server; a closed channel means shutdown
        let _ = self.tx.send(namespace);
    }
}

/// Runs until the server state is dropped.
pub async fn run(state: Weak<AppState>, mut rx: mpsc::UnboundedReceiver<String>) {
    while let Some(ns) = rx.recv().await {
        let mut delay = Duration::from_millis(50);
        loop {
            let Some(state) = state.upgrade() else { return };
            match finalize(&state, &ns).await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => tracing::warn!(namespace = %ns, error = %e, "namespace cleanup"),
            }
            drop(state);
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }
}

/// Deletes the namespace's contents; when nothing is left, removes the finalizer (and with it
/// the namespace). Returns true when the namespace is gone.
async fn finalize(state: &Arc<AppState>, ns: &str) -> Result<bool, ApiError> {
    let ns_res = state.catalog.namespaces();
    let Some((namespace, rev)) = state.objects.get_opt(&ns_res, None, ns).await? else {
        return Ok(true);
    };
    if meta::meta_str(&namespace, "deletionTimestamp").is_none() {
        return Ok(true);
    }
    let mut remaining = 0usize;
    for res in state.catalog.all().iter().filter(|r| r.namespaced) {
        let a = Addressed {
            res: res.clone(),
            namespace: Some(ns.to_string()),
            name: None,
            subresource: None,
            finalize: false,
        };
        let req = ListRequest::everything(&a);
        let listed = resources::list_objects(state, &a, &req).await?;
        for obj in listed.items {
            remaining += 1;
            if meta::meta_str(&obj, "deletionTimestamp").is_some() {
                continue;
            }
            let (_, name) = namespace_and_name(&obj);
            match resources::delete(state, &a, &name, &DeleteOptions::default()).await {
                Ok(_) => {}
                Err(e) if e.code() == 404 => {}
                Err(e) => return Err(e),
            }
        }
    }
    if remaining > 0 {
        // deleted objects without finalizers are gone now; check again on the next pass
        return Ok(false);
    }
    let mut next: Value = namespace.clone();
    next["spec"]["finalizers"] = json!([]);
    if meta::finalizers(&next).is_empty() {
        state.objects.delete(&ns_res, None, ns, rev).await?;
        return Ok(true);
    }
    state.objects.update(&ns_res, &mut next, rev).await?;
    Ok(false)
}

/// Re-queues namespaces that were terminating when the server stopped.
pub async fn resume(state: &Arc<AppState>) {
    let res = state.catalog.namespaces();
    let a = Addressed {
        res,
        namespace: None,
        name: None,
        subresource: None,
        finalize: false,
    };
    let req = ListRequest::everything(&a);
    match resources::list_objects(state, &a, &req).await {
        Ok(listed) => {
            for ns in listed.items {
                if meta::meta_str(&ns, "deletionTimestamp").is_some() {
                    let (_, name) = namespace_and_name(&ns);
                    state.namespace_cleanup.notify(name);
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "listing namespaces to resume termination"),
    }
}
