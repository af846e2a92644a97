//! Objects every cluster starts with: the system namespaces and `default/kubernetes`.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::{Value, json};
use warren_apimachinery::error::ApiError;

use crate::request::Query;
use crate::resources::{self, Addressed};
use crate::state::AppState;

/// The ClusterIP of `default/kubernetes` in standalone mode (first address of the default
/// service CIDR 10.96.0.0/12, as kubeadm and k3s use).
pub const KUBERNETES_SERVICE_IP: &str = "10.96.0.1";

async fn ensure(
    state: &Arc<AppState>,
    plural: &str,
    ns: Option<&str>,
    obj: Value,
) -> Result<(), ApiError> {
    let res = state
        .catalog
        .find("", "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("{plural} not served")))?;
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if state.objects.get_opt(&res, ns, &name).await?.is_some() {
        return Ok(());
    }
    let a = Addressed {
        res,
        namespace: ns.map(str::to_string),
        name: None,
        subresource: None,
        finalize: false,
    };
    match resources::create(state, &a, &Query::default(), obj).await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates what is missing; safe to run on every start.
pub async fn run(state: &Arc<AppState>, advertise: SocketAddr) -> Result<(), ApiError> {
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        ensure(
            state,
            "namespaces",
            None,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        )
        .await?;
    }
    ensure(
        state,
        "services",
        Some("default"),
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {
                "clusterIP": KUBERNETES_SERVICE_IP,
                "clusterIPs": [KUBERNETES_SERVICE_IP],
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": advertise.port()}],
                "type": "ClusterIP",
                "sessionAffinity": "None",
            },
        }),
    )
    .await?;
    ensure(
        state,
        "endpoints",
        Some("default"),
        json!({
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{
                "addresses": [{"ip": advertise.ip().to_string()}],
                "ports": [{"name": "https", "port": advertise.port(), "protocol": "TCP"}],
            }],
        }),
    )
    .await
}
