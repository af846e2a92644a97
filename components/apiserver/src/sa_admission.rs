//! The ServiceAccount admission plugin for new pods: the service account must exist, its
//! image pull secrets are added to pods that have none, and — unless the pod or the service
//! account opts out with `automountServiceAccountToken: false` — a projected
//! `kube-api-access-xxxxx` volume (a bound token that the kubelet refreshes, the cluster CA from
//! `kube-root-ca.crt`, the namespace) is mounted read-only at
//! `/var/run/secrets/kubernetes.io/serviceaccount` in every container and init container.

use serde_json::{Value, json};
use warren_apimachinery::error::{ApiError, Reason};

use crate::state::AppState;

pub const MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// kube's default for the projected token: an hour plus seven seconds, so clients can tell it
/// apart from a token they asked for.
pub const TOKEN_EXPIRATION_SECONDS: i64 = 3607;
const VOLUME_PREFIX: &str = "kube-api-access-";

/// kube's `utilrand.String` alphabet.
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn random_suffix() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..5)
        .map(|_| ALPHANUMS[rng.random_range(0..ALPHANUMS.len())] as char)
        .collect()
}

/// The projected volume kube-apiserver adds.
pub fn token_volume(name: &str) -> Value {
    json!({
        "name": name,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
        },
    })
}

fn mounts_path(container: &Value) -> bool {
    container["volumeMounts"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m["mountPath"] == MOUNT_PATH))
}

/// Mutates a new pod for service account `sa` (kube's ServiceAccount plugin, minus the lookup).
/// `suffix` names the volume (random in the server, fixed in tests).
pub fn admit_pod(pod: &mut Value, sa: &Value, suffix: &str) {
    let spec = &mut pod["spec"];
    if spec["imagePullSecrets"]
        .as_array()
        .is_none_or(|a| a.is_empty())
        && let Some(secrets) = sa["imagePullSecrets"].as_array().filter(|a| !a.is_empty())
    {
        spec["imagePullSecrets"] = Value::Array(secrets.clone());
    }
    let automount = spec["automountServiceAccountToken"]
        .as_bool()
        .or_else(|| sa["automountServiceAccountToken"].as_bool())
        .unwrap_or(true);
    if !automount {
        return;
    }
    // A volume of the user's own at the path wins in every container that has one.
    let containers_need_mount = ["initContainers", "containers"].iter().any(|k| {
        spec[*k]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|c| !mounts_path(c)))
    });
    if !containers_need_mount {
        return;
    }
    let existing = spec["volumes"].as_array().and_then(|vs| {
        vs.iter()
            .filter_map(|v| v["name"].as_str())
            .find(|n| n.starts_with(VOLUME_PREFIX))
            .map(str::to_string)
    });
    let name = match existing {
        Some(n) => n,
        None => {
            let name = format!("{VOLUME_PREFIX}{suffix}");
            if !spec["volumes"].is_array() {
                spec["volumes"] = json!([]);
            }
            if let Some(vs) = spec["volumes"].as_array_mut() {
                vs.push(token_volume(&name));
            }
            name
        }
    };
    for key in ["initContainers", "containers"] {
        // get_mut, not indexing: IndexMut would insert a null for a missing key
        let Some(cs) = spec.get_mut(key).and_then(Value::as_array_mut) else {
            continue;
        };
        for c in cs.iter_mut().filter(|c| !mounts_path(c)) {
            if !c["volumeMounts"].is_array() {
                c["volumeMounts"] = json!([]);
            }
            if let Some(ms) = c["volumeMounts"].as_array_mut() {
                ms.push(json!({"name": name, "readOnly": true, "mountPath": MOUNT_PATH}));
            }
        }
    }
}

/// Looks the pod's service account up and applies [`admit_pod`]; a missing service account is
/// 403, worded as kube-apiserver does.
pub async fn admit(state: &AppState, namespace: &str, pod: &mut Value) -> Result<(), ApiError> {
    // mirror pods (static pods reported by a kubelet) are left alone, as in kube
    if pod["metadata"]["annotations"]["kubernetes.io/config.mirror"].is_string() {
        return Ok(());
    }
    let sa_name = pod["spec"]["serviceAccountName"]
        .as_str()
        .unwrap_or("default")
        .to_string();
    let res = state
        .catalog
        .find("", "v1", "serviceaccounts")
        .ok_or_else(|| ApiError::internal("serviceaccounts not served"))?;
    let Some((sa, _)) = state
        .objects
        .get_opt(&res, Some(namespace), &sa_name)
        .await?
    else {
        let pod_name = pod["metadata"]["name"]
            .as_str()
            .or_else(|| pod["metadata"]["generateName"].as_str())
            .unwrap_or("");
        return Err(ApiError::new(
            Reason::Forbidden,
            format!(
                "pods {pod_name:?} is forbidden: error looking up service account {namespace}/{sa_name}: serviceaccount {sa_name:?} not found"
            ),
        ));
    };
    admit_pod(pod, &sa, &random_suffix());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projected_token_volume_and_mounts() {
        let mut pod = json!({"spec": {
            "serviceAccountName": "default",
            "initContainers": [{"name": "init", "image": "busybox"}],
            "containers": [
                {"name": "a", "image": "nginx"},
                {"name": "b", "image": "nginx", "volumeMounts": [{"name": "mine", "mountPath": MOUNT_PATH}]},
            ],
            "volumes": [{"name": "mine", "emptyDir": {}}],
        }});
        admit_pod(&mut pod, &json!({"metadata": {"name": "default"}}), "abcde");
        assert_eq!(
            pod["spec"]["volumes"],
            json!([{"name": "mine", "emptyDir": {}}, token_volume("kube-api-access-abcde")])
        );
        let mount =
            json!({"name": "kube-api-access-abcde", "readOnly": true, "mountPath": MOUNT_PATH});
        assert_eq!(
            pod["spec"]["initContainers"][0]["volumeMounts"],
            json!([mount])
        );
        assert_eq!(pod["spec"]["containers"][0]["volumeMounts"], json!([mount]));
        assert_eq!(
            pod["spec"]["containers"][1]["volumeMounts"],
            json!([{"name": "mine", "mountPath": MOUNT_PATH}])
        );
        assert_eq!(
            pod["spec"]["volumes"][1]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
            3607
        );
        // no fields appear that the pod did not have
        let mut bare = json!({"spec": {"containers": [{"name": "a"}]}});
        admit_pod(&mut bare, &json!({}), "x");
        assert!(bare["spec"].get("initContainers").is_none());
        assert!(bare["spec"].get("imagePullSecrets").is_none());
    }

    #[test]
    fn opt_outs_and_pull_secrets() {
        let sa =
            json!({"automountServiceAccountToken": false, "imagePullSecrets": [{"name": "reg"}]});
        let mut pod = json!({"spec": {"containers": [{"name": "a"}]}});
        admit_pod(&mut pod, &sa, "x");
        assert!(pod["spec"]["volumes"].is_null());
        assert_eq!(pod["spec"]["imagePullSecrets"], json!([{"name": "reg"}]));
        // the pod's own setting wins over the service account's
        let mut pod = json!({"spec": {"automountServiceAccountToken": true, "imagePullSecrets": [{"name": "own"}], "containers": [{"name": "a"}]}});
        admit_pod(&mut pod, &sa, "x");
        assert_eq!(pod["spec"]["volumes"][0]["name"], "kube-api-access-x");
        assert_eq!(pod["spec"]["imagePullSecrets"], json!([{"name": "own"}]));
        let mut pod =
            json!({"spec": {"automountServiceAccountToken": false, "containers": [{"name": "a"}]}});
        admit_pod(&mut pod, &json!({}), "x");
        assert!(pod["spec"]["volumes"].is_null());
    }
}
