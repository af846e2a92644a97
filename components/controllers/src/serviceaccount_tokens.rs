//! The tokens controller (kube-controller-manager's `serviceaccount-token`): fills Secrets of
//! type `kubernetes.io/service-account-token` with a long-lived token, the cluster CA and the
//! namespace, deletes them when their ServiceAccount goes, and drops deleted ones from the
//! ServiceAccount's `secrets` list.
//!
//! Current Kubernetes only fills Secrets that users create. With `auto_create` (opt-in,
//! `--legacy-service-account-token-secrets`) it also behaves like Kubernetes before 1.24: every
//! ServiceAccount gets a `<name>-token-xxxxx` Secret referenced from its `secrets` list. Old
//! clients and test suites (e2e.test 1.20 waits for that Secret) need it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ObjectReference, Secret, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Patch, PatchParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use crate::queue::Queue;
use crate::{Context, informer, is_status};

pub const TOKEN_TYPE: &str = "kubernetes.io/service-account-token";
pub const SA_NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";
pub const SA_UID_ANNOTATION: &str = "kubernetes.io/service-account.uid";
/// The issuer of legacy (secret-based) tokens, as kube-controller-manager writes it.
pub const LEGACY_ISSUER: &str = "kubernetes/serviceaccount";

/// Signs the claims of a legacy token with the cluster's service-account key.
pub type TokenSigner = Arc<dyn Fn(&Value) -> String + Send + Sync>;

/// The claims kube-controller-manager puts in a secret-based token: no audience, no expiry.
pub fn legacy_claims(namespace: &str, secret_name: &str, sa_name: &str, sa_uid: &str) -> Value {
    json!({
        "iss": LEGACY_ISSUER,
        "kubernetes.io/serviceaccount/namespace": namespace,
        "kubernetes.io/serviceaccount/secret.name": secret_name,
        "kubernetes.io/serviceaccount/service-account.name": sa_name,
        "kubernetes.io/serviceaccount/service-account.uid": sa_uid,
        "sub": format!("system:serviceaccount:{namespace}:{sa_name}"),
    })
}

/// The alphabet of kube's `utilrand.String` (no vowels, no look-alikes).
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// A 5-character random suffix like kube's token secret names.
pub fn random_suffix() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..5)
        .map(|_| ALPHANUMS[rng.random_range(0..ALPHANUMS.len())] as char)
        .collect()
}

/// What a token Secret is missing (the data keys and the uid annotation).
pub fn needs_fill(secret: &Secret, sa_uid: &str, ca: Option<&str>) -> bool {
    let data = secret.data.as_ref();
    let has = |k: &str| data.and_then(|d| d.get(k)).is_some_and(|v| !v.0.is_empty());
    let ca_ok = match ca {
        Some(pem) => {
            data.and_then(|d| d.get("ca.crt")).map(|v| v.0.as_slice()) == Some(pem.as_bytes())
        }
        None => true,
    };
    !has("token")
        || !has("namespace")
        || !ca_ok
        || secret
            .annotations()
            .get(SA_UID_ANNOTATION)
            .map(String::as_str)
            != Some(sa_uid)
}

/// The ServiceAccount a token Secret belongs to: (name, uid if annotated).
fn owner_of(secret: &Secret) -> Option<(String, Option<String>)> {
    if secret.type_.as_deref() != Some(TOKEN_TYPE) {
        return None;
    }
    let a = secret.annotations();
    let name = a.get(SA_NAME_ANNOTATION)?.clone();
    Some((name, a.get(SA_UID_ANNOTATION).cloned()))
}

/// Work-queue keys: `sa/<ns>/<name>` or `secret/<ns>/<name>`.
fn sa_key(ns: &str, name: &str) -> String {
    format!("sa/{ns}/{name}")
}

fn secret_key(ns: &str, name: &str) -> String {
    format!("secret/{ns}/{name}")
}

struct Tokens {
    ctx: Context,
    signer: TokenSigner,
    auto_create: bool,
    sas: Store<ServiceAccount>,
    secrets: Store<Secret>,
}

pub async fn run(ctx: Context, signer: TokenSigner, auto_create: bool) {
    let queue = Queue::new();
    let q = queue.clone();
    let sas = ctx
        .informers
        .all::<ServiceAccount, _>(move |sa| {
            q.add(sa_key(&sa.namespace().unwrap_or_default(), &sa.name_any()))
        })
        .await;
    let q = queue.clone();
    let secrets = informer::start_selected(
        Api::<Secret>::all(ctx.client.clone()),
        watcher::Config::default().fields(&format!("type={TOKEN_TYPE}")),
        move |s: &Secret, deleted| {
            let ns = s.namespace().unwrap_or_default();
            if let Some((sa, _)) = owner_of(s) {
                if deleted {
                    q.add(sa_key(&ns, &sa));
                } else {
                    q.add(secret_key(&ns, &s.name_any()));
                }
            }
        },
    )
    .await;
    tracing::info!(auto_create, "serviceaccount-token controller started");
    let tokens = Tokens {
        ctx,
        signer,
        auto_create,
        sas,
        secrets,
    };
    loop {
        let key = queue.next().await;
        let mut parts = key.splitn(3, '/');
        let (kind, ns, name) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        let result = if kind == "sa" {
            tokens.sync_service_account(ns, name).await
        } else {
            tokens.sync_secret(ns, name).await
        };
        if let Err(e) = result {
            tracing::debug!(%key, error = %e, "serviceaccount-token sync");
            queue.add_after(key, Duration::from_millis(500));
        }
    }
}

impl Tokens {
    fn token_secrets_of(&self, ns: &str, sa: &ServiceAccount) -> Vec<Arc<Secret>> {
        let uid = sa.uid().unwrap_or_default();
        self.secrets
            .state()
            .into_iter()
            .filter(|s| s.namespace().as_deref() == Some(ns))
            .filter(|s| match owner_of(s) {
                Some((name, u)) => name == sa.name_any() && u.is_none_or(|u| u == uid),
                None => false,
            })
            .collect()
    }

    async fn sync_service_account(&self, ns: &str, name: &str) -> crate::Result<()> {
        let Some(sa) = self.sas.get(&ObjectRef::new(name).within(ns)) else {
            return Ok(self.delete_orphaned_secrets(ns, name).await?);
        };
        let ours = self.token_secrets_of(ns, &sa);
        let names: Vec<String> = ours.iter().map(|s| s.name_any()).collect();
        // Drop references to token secrets that no longer exist.
        let refs: Vec<String> = sa
            .secrets
            .iter()
            .flatten()
            .filter_map(|r| r.name.clone())
            .collect();
        let dangling: Vec<&String> = refs
            .iter()
            .filter(|r| r.contains("-token-") && !names.contains(r))
            .collect();
        if !dangling.is_empty() && self.live_missing(ns, &dangling).await? {
            let keep: Vec<ObjectReference> = sa
                .secrets
                .iter()
                .flatten()
                .filter(|r| r.name.as_ref().is_none_or(|n| !dangling.contains(&n)))
                .cloned()
                .collect();
            self.patch_sa_secrets(ns, name, &sa, keep).await?;
            return Ok(());
        }
        if !self.auto_create {
            return Ok(());
        }
        if refs.iter().any(|r| names.contains(r)) {
            return Ok(());
        }
        let secret = self.create_token_secret(ns, &sa).await?;
        let mut list: Vec<ObjectReference> = sa.secrets.clone().unwrap_or_default();
        list.push(ObjectReference {
            name: Some(secret),
            ..ObjectReference::default()
        });
        Ok(self.patch_sa_secrets(ns, name, &sa, list).await?)
    }

    /// Whether every named secret is really gone (the cache may lag a fresh create).
    async fn live_missing(&self, ns: &str, names: &[&String]) -> Result<bool, kube::Error> {
        let api: Api<Secret> = Api::namespaced(self.ctx.client.clone(), ns);
        for n in names {
            if api.get_opt(n).await?.is_some() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    async fn patch_sa_secrets(
        &self,
        ns: &str,
        name: &str,
        sa: &ServiceAccount,
        secrets: Vec<ObjectReference>,
    ) -> Result<(), kube::Error> {
        let api: Api<ServiceAccount> = Api::namespaced(self.ctx.client.clone(), ns);
        // A JSON merge patch replaces the list; the resourceVersion makes it a compare-and-swap.
        let patch = json!({
            "metadata": {"resourceVersion": sa.resource_version()},
            "secrets": if secrets.is_empty() { Value::Null } else { serde_json::to_value(&secrets).unwrap_or(Value::Null) },
        });
        match api
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, 404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn fill(&self, secret: &mut Secret, ns: &str, sa_name: &str, sa_uid: &str) {
        let claims = legacy_claims(ns, &secret.name_any(), sa_name, sa_uid);
        let token = (self.signer)(&claims);
        let data = secret.data.get_or_insert_with(BTreeMap::new);
        if data.get("token").is_none_or(|t| t.0.is_empty()) {
            data.insert("token".into(), ByteString(token.into_bytes()));
        }
        data.insert("namespace".into(), ByteString(ns.as_bytes().to_vec()));
        if let Some(ca) = &self.ctx.root_ca {
            data.insert("ca.crt".into(), ByteString(ca.as_bytes().to_vec()));
        }
        secret
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(SA_UID_ANNOTATION.into(), sa_uid.into());
    }

    async fn create_token_secret(&self, ns: &str, sa: &ServiceAccount) -> crate::Result<String> {
        let api: Api<Secret> = Api::namespaced(self.ctx.client.clone(), ns);
        let sa_name = sa.name_any();
        let uid = sa.uid().unwrap_or_default();
        for _ in 0..5 {
            // kube's SimpleNameGenerator: the prefix is cut to 58 characters, 5 random added.
            let prefix: String = format!("{sa_name}-token-").chars().take(58).collect();
            let name = format!("{prefix}{}", random_suffix());
            let mut secret = Secret {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    annotations: Some([(SA_NAME_ANNOTATION.to_string(), sa_name.clone())].into()),
                    ..ObjectMeta::default()
                },
                type_: Some(TOKEN_TYPE.into()),
                ..Secret::default()
            };
            self.fill(&mut secret, ns, &sa_name, &uid);
            match api.create(&Default::default(), &secret).await {
                Ok(_) => {
                    tracing::debug!(namespace = ns, secret = %name, "created token secret");
                    return Ok(name);
                }
                Err(e) if is_status(&e, 409) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(crate::Error::Invalid(format!(
            "no free token secret name for service account {ns}/{sa_name}"
        )))
    }

    async fn delete_orphaned_secrets(&self, ns: &str, sa_name: &str) -> Result<(), kube::Error> {
        let api: Api<Secret> = Api::namespaced(self.ctx.client.clone(), ns);
        let orphans: Vec<String> = self
            .secrets
            .state()
            .into_iter()
            .filter(|s| s.namespace().as_deref() == Some(ns))
            .filter(|s| owner_of(s).is_some_and(|(n, _)| n == sa_name))
            .map(|s| s.name_any())
            .collect();
        for name in orphans {
            match api.delete(&name, &Default::default()).await {
                Ok(_) => {}
                Err(e) if is_status(&e, 404) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn sync_secret(&self, ns: &str, name: &str) -> crate::Result<()> {
        let Some(secret) = self.secrets.get(&ObjectRef::new(name).within(ns)) else {
            return Ok(());
        };
        let Some((sa_name, sa_uid)) = owner_of(&secret) else {
            return Ok(());
        };
        if secret.metadata.deletion_timestamp.is_some() {
            return Ok(());
        }
        let api: Api<Secret> = Api::namespaced(self.ctx.client.clone(), ns);
        // The cache may not have seen a just-created ServiceAccount: ask the API before deleting.
        let sa = match self.sas.get(&ObjectRef::new(&sa_name).within(ns)) {
            Some(sa) => Some((*sa).clone()),
            None => {
                Api::<ServiceAccount>::namespaced(self.ctx.client.clone(), ns)
                    .get_opt(&sa_name)
                    .await?
            }
        };
        let live_uid = sa.as_ref().and_then(|sa| sa.uid());
        let gone = match (&live_uid, &sa_uid) {
            (None, _) => true,
            (Some(live), Some(want)) => live != want,
            (Some(_), None) => false,
        };
        if gone {
            return match api.delete(name, &Default::default()).await {
                Ok(_) => Ok(()),
                Err(e) if is_status(&e, 404) => Ok(()),
                Err(e) => Err(e.into()),
            };
        }
        let uid = live_uid.unwrap_or_default();
        if !needs_fill(&secret, &uid, self.ctx.root_ca.as_deref()) {
            return Ok(());
        }
        let mut updated = (*secret).clone();
        updated.metadata.managed_fields = None;
        self.fill(&mut updated, ns, &sa_name, &uid);
        match api.replace(name, &Default::default(), &updated).await {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, 404) || is_status(&e, 409) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_is_five_chars_of_kubes_alphabet() {
        for _ in 0..50 {
            let s = random_suffix();
            assert_eq!(s.len(), 5);
            assert!(s.bytes().all(|b| ALPHANUMS.contains(&b)), "{s}");
        }
        assert_ne!(random_suffix(), random_suffix());
    }

    #[test]
    fn legacy_claims_as_kube_controller_manager_writes_them() {
        let c = legacy_claims("ns1", "default-token-abcde", "default", "u-1");
        assert_eq!(c["iss"], "kubernetes/serviceaccount");
        assert_eq!(c["sub"], "system:serviceaccount:ns1:default");
        assert_eq!(
            c["kubernetes.io/serviceaccount/secret.name"],
            "default-token-abcde"
        );
        assert_eq!(c["kubernetes.io/serviceaccount/service-account.uid"], "u-1");
        assert!(c.get("exp").is_none() && c.get("aud").is_none());
    }

    #[test]
    fn fill_needed_until_token_namespace_ca_and_uid_are_there() {
        let mut s = Secret {
            type_: Some(TOKEN_TYPE.into()),
            metadata: ObjectMeta {
                annotations: Some([(SA_NAME_ANNOTATION.to_string(), "sa".to_string())].into()),
                ..ObjectMeta::default()
            },
            ..Secret::default()
        };
        assert!(needs_fill(&s, "u", Some("CA")));
        s.data = Some(
            [
                ("token".to_string(), ByteString(b"t".to_vec())),
                ("namespace".to_string(), ByteString(b"ns".to_vec())),
                ("ca.crt".to_string(), ByteString(b"CA".to_vec())),
            ]
            .into(),
        );
        assert!(needs_fill(&s, "u", Some("CA")), "uid annotation missing");
        s.metadata
            .annotations
            .as_mut()
            .unwrap()
            .insert(SA_UID_ANNOTATION.into(), "u".into());
        assert!(!needs_fill(&s, "u", Some("CA")));
        assert!(needs_fill(&s, "u", Some("other CA")));
        assert!(needs_fill(&s, "other uid", Some("CA")));
    }
}
