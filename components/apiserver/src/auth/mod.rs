//! Authentication, authorization (RBAC), service-account tokens and impersonation, as
//! kube-apiserver 1.33 does them.
//!
//! Every request is authenticated to a [`UserInfo`]: a verified client certificate (CN/O), the
//! admin token (`system:admin` in `system:masters`), a `--token-auth-file` token, or a
//! service-account JWT signed by this server. Impersonation headers then swap the user when
//! RBAC allows it, and the request is authorized against the RBAC objects held in memory
//! (`authorizer`). `system:masters` short-circuits every check.

pub mod authorizer;
pub mod impersonation;
pub mod jwt;
pub mod reviews;
pub mod tokenfile;
pub mod x509;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};

use base64::Engine;
use http::{HeaderMap, Method, header};
use serde_json::{Value, json};
use warren_apimachinery::error::ApiError;
use warren_apimachinery::rbac::{self, Attributes, UserInfo};
use warren_apimachinery::registry::Resource;

use crate::request::{Query, ResourcePath, Target};
use crate::state::AppState;

pub use authorizer::{refresh, start};

/// kube's default `--service-account-issuer` for clusters created by kubeadm/k3s.
pub const DEFAULT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// Default and bounds of a TokenRequest's `expirationSeconds`.
pub const DEFAULT_TOKEN_SECONDS: i64 = 3600;
pub const MIN_TOKEN_SECONDS: i64 = 600;
pub const MAX_TOKEN_SECONDS: i64 = 1 << 32;

/// Authentication settings from the command line.
#[derive(Debug, Clone)]
pub struct AuthOptions {
    /// `--token-auth-file`: CSV `token,user,uid,"group1,group2"`.
    pub token_auth_file: Option<PathBuf>,
    /// `--service-account-issuer`: the `iss` of tokens this server signs and accepts.
    pub service_account_issuer: String,
    /// `--api-audiences`: audiences a token must carry to authenticate to this API (default:
    /// the issuer).
    pub api_audiences: Vec<String>,
}

impl Default for AuthOptions {
    fn default() -> Self {
        AuthOptions {
            token_auth_file: None,
            service_account_issuer: DEFAULT_ISSUER.to_string(),
            api_audiences: Vec::new(),
        }
    }
}

/// Authentication state: credentials known to the server and the RBAC policy cache.
pub struct Auth {
    static_tokens: HashMap<String, UserInfo>,
    pub key: jwt::SigningKey,
    pub issuer: String,
    pub api_audiences: Vec<String>,
    pub policy: authorizer::PolicyCache,
}

impl Auth {
    pub fn new(data_dir: &Path, opts: &AuthOptions) -> Result<Auth, String> {
        let static_tokens = match &opts.token_auth_file {
            Some(p) => tokenfile::load(p)?,
            None => HashMap::new(),
        };
        let key = jwt::SigningKey::load_or_create(data_dir).map_err(|e| e.to_string())?;
        let issuer = if opts.service_account_issuer.is_empty() {
            DEFAULT_ISSUER.to_string()
        } else {
            opts.service_account_issuer.clone()
        };
        let api_audiences = if opts.api_audiences.is_empty() {
            vec![issuer.clone()]
        } else {
            opts.api_audiences.clone()
        };
        Ok(Auth {
            static_tokens,
            key,
            issuer,
            api_audiences,
            policy: authorizer::PolicyCache::default(),
        })
    }

    /// Whether `user` may do `attrs`, with kube's reason when not.
    pub fn allowed(&self, user: &UserInfo, attrs: &Attributes) -> (bool, String) {
        if user.is_master() {
            return (true, String::new());
        }
        self.policy.current().authorize(user, attrs)
    }

    /// `Ok` when allowed, else kube's 403 Status.
    pub fn authorize(&self, user: &UserInfo, attrs: &Attributes) -> Result<(), ApiError> {
        let (ok, reason) = self.allowed(user, attrs);
        if ok {
            Ok(())
        } else {
            Err(forbidden(user, attrs, &reason))
        }
    }
}

/// kube's Forbidden Status for a denied request.
pub fn forbidden(user: &UserInfo, attrs: &Attributes, reason: &str) -> ApiError {
    let mut e = ApiError::forbidden(attrs.forbidden_message(&user.name, reason));
    if let Some(r) = &attrs.resource {
        e.group = Some(r.api_group.clone());
        e.kind = Some(r.resource.clone());
        if !r.name.is_empty() {
            e.name = Some(r.name.clone());
        }
    }
    e
}

/// The admin of the admin token.
pub fn admin_user() -> UserInfo {
    UserInfo::new(
        "system:admin",
        &[rbac::SYSTEM_MASTERS, rbac::SYSTEM_AUTHENTICATED],
    )
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?
        .trim();
    (!token.is_empty()).then_some(token)
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// An authenticated token: the user and the audiences it was accepted for.
pub struct TokenUser {
    pub user: UserInfo,
    pub audiences: Vec<String>,
}

/// Authenticates a bearer token for `audiences` (the API audiences for requests; TokenReview
/// may ask for others).
pub async fn authenticate_token(
    state: &AppState,
    token: &str,
    audiences: &[String],
) -> Result<TokenUser, String> {
    let auth = &state.auth;
    // Tokens that carry no audience are valid only where the API's audiences are accepted.
    let agnostic = || -> Result<Vec<String>, String> {
        let common: Vec<String> = audiences
            .iter()
            .filter(|a| auth.api_audiences.contains(a))
            .cloned()
            .collect();
        if common.is_empty() {
            Err("token audiences are invalid for the target audiences".into())
        } else {
            Ok(common)
        }
    };
    if constant_time_eq(state.pki.admin_token.as_bytes(), token.as_bytes()) {
        return Ok(TokenUser {
            user: admin_user(),
            audiences: agnostic()?,
        });
    }
    if let Some(u) = auth.static_tokens.get(token) {
        return Ok(TokenUser {
            user: u.clone().with_authenticated_group(),
            audiences: agnostic()?,
        });
    }
    if token.matches('.').count() != 2 {
        return Err("invalid bearer token".into());
    }
    let claims = auth
        .key
        .verify_signature(token)
        .map_err(|e| format!("invalid bearer token, {e}"))?;
    if claims["iss"].as_str() == Some(LEGACY_ISSUER) {
        let user = legacy_service_account_user(state, token, &claims).await?;
        return Ok(TokenUser {
            user,
            audiences: agnostic()?,
        });
    }
    let matched = jwt::check_claims(&claims, &auth.issuer, audiences, now_unix())
        .map_err(|e| format!("invalid bearer token, {e}"))?;
    let user = service_account_user(state, &claims).await?;
    Ok(TokenUser {
        user,
        audiences: matched,
    })
}

async fn lookup(
    state: &AppState,
    plural: &str,
    ns: Option<&str>,
    name: &str,
) -> Result<Option<Value>, String> {
    let res = state
        .catalog
        .find("", "v1", plural)
        .ok_or_else(|| format!("{plural} not served"))?;
    state
        .objects
        .get_opt(&res, ns, name)
        .await
        .map(|o| o.map(|(v, _)| v))
        .map_err(|e| e.message)
}

fn uid_of(obj: &Value) -> &str {
    obj["metadata"]["uid"].as_str().unwrap_or("")
}

/// The issuer of secret-based service-account tokens.
pub const LEGACY_ISSUER: &str = "kubernetes/serviceaccount";

fn service_account_groups(ns: &str) -> Vec<String> {
    vec![
        rbac::SYSTEM_SERVICEACCOUNTS.to_string(),
        format!("{}:{ns}", rbac::SYSTEM_SERVICEACCOUNTS),
        rbac::SYSTEM_AUTHENTICATED.to_string(),
    ]
}

/// kube's legacy validator for secret-based tokens: the Secret must still exist, hold this
/// very token and belong to the service account, which must still have the claimed uid.
async fn legacy_service_account_user(
    state: &AppState,
    token: &str,
    claims: &Value,
) -> Result<UserInfo, String> {
    let claim = |k: &str| {
        claims[format!("kubernetes.io/serviceaccount/{k}")]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let (ns, secret_name, sa_name, sa_uid) = (
        claim("namespace"),
        claim("secret.name"),
        claim("service-account.name"),
        claim("service-account.uid"),
    );
    if ns.is_empty() || secret_name.is_empty() || sa_name.is_empty() {
        return Err("invalid bearer token, service account claims missing".into());
    }
    let secret = lookup(state, "secrets", Some(&ns), &secret_name)
        .await?
        .ok_or_else(|| format!("secrets \"{secret_name}\" not found"))?;
    if secret["metadata"]["deletionTimestamp"].is_string() {
        return Err(format!("token secret {ns}/{secret_name} is being deleted"));
    }
    let stored = secret["data"]["token"]
        .as_str()
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .unwrap_or_default();
    if !constant_time_eq(&stored, token.as_bytes()) {
        return Err(format!(
            "token does not match the token of secret {ns}/{secret_name}"
        ));
    }
    let sa = lookup(state, "serviceaccounts", Some(&ns), &sa_name)
        .await?
        .ok_or_else(|| format!("serviceaccounts \"{sa_name}\" not found"))?;
    if !sa_uid.is_empty() && sa_uid != uid_of(&sa) {
        return Err(format!(
            "service account UID ({}) does not match claim ({sa_uid})",
            uid_of(&sa)
        ));
    }
    let mut extra = std::collections::BTreeMap::new();
    extra.insert(
        "authentication.kubernetes.io/credential-id".into(),
        vec![format!("secret-uid={}", uid_of(&secret))],
    );
    Ok(UserInfo {
        name: rbac::service_account_username(&ns, &sa_name),
        uid: uid_of(&sa).to_string(),
        groups: service_account_groups(&ns),
        extra,
    })
}

/// kube's service-account token validator: the service account (and the bound pod, secret or
/// node) must still exist with the uid in the claims.
async fn service_account_user(state: &AppState, claims: &Value) -> Result<UserInfo, String> {
    let k = &claims["kubernetes.io"];
    let ns = k["namespace"].as_str().unwrap_or("");
    let sa_name = k["serviceaccount"]["name"].as_str().unwrap_or("");
    if ns.is_empty() || sa_name.is_empty() {
        return Err("invalid bearer token, service account claims missing".into());
    }
    let sa = lookup(state, "serviceaccounts", Some(ns), sa_name)
        .await?
        .ok_or_else(|| format!("serviceaccounts \"{sa_name}\" not found"))?;
    if let Some(uid) = k["serviceaccount"]["uid"].as_str()
        && uid != uid_of(&sa)
    {
        return Err(format!(
            "service account UID ({}) does not match claim ({uid})",
            uid_of(&sa)
        ));
    }
    let mut extra = std::collections::BTreeMap::new();
    for (kind, plural, ns_opt) in [
        ("pod", "pods", Some(ns)),
        ("secret", "secrets", Some(ns)),
        ("node", "nodes", None),
    ] {
        let Some(name) = k[kind]["name"].as_str() else {
            continue;
        };
        let obj = lookup(state, plural, ns_opt, name)
            .await?
            .ok_or_else(|| format!("{plural} \"{name}\" not found"))?;
        if let Some(uid) = k[kind]["uid"].as_str()
            && uid != uid_of(&obj)
        {
            return Err(format!(
                "{kind} UID ({}) does not match claim ({uid})",
                uid_of(&obj)
            ));
        }
        if kind != "secret" {
            extra.insert(
                format!("authentication.kubernetes.io/{kind}-name"),
                vec![name.to_string()],
            );
            extra.insert(
                format!("authentication.kubernetes.io/{kind}-uid"),
                vec![uid_of(&obj).to_string()],
            );
        }
    }
    if let Some(jti) = claims["jti"].as_str() {
        extra.insert(
            "authentication.kubernetes.io/credential-id".into(),
            vec![format!("JTI={jti}")],
        );
    }
    Ok(UserInfo {
        name: rbac::service_account_username(ns, sa_name),
        uid: uid_of(&sa).to_string(),
        groups: service_account_groups(ns),
        extra,
    })
}

/// The user of a request: a verified client certificate first, then the bearer token.
/// `Ok(None)` when the request carries no credentials; `Err` when they are invalid.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    cert: Option<&x509::ClientCertUser>,
) -> Result<Option<UserInfo>, String> {
    if let Some(c) = cert {
        return Ok(Some(c.0.clone()));
    }
    let Some(token) = bearer_token(headers) else {
        return Ok(None);
    };
    let audiences = state.auth.api_audiences.clone();
    authenticate_token(state, token, &audiences)
        .await
        .map(|t| Some(t.user))
}

/// The service-account claims of a new token.
#[allow(clippy::too_many_arguments)]
pub fn token_claims(
    issuer: &str,
    audiences: &[String],
    now: i64,
    expiration_seconds: i64,
    namespace: &str,
    sa: &Value,
    bound: Option<(&str, &Value)>,
) -> Value {
    let mut k = json!({
        "namespace": namespace,
        "serviceaccount": {"name": sa["metadata"]["name"], "uid": sa["metadata"]["uid"]},
    });
    if let Some((kind, obj)) = bound {
        let key = kind.to_ascii_lowercase();
        k[&key] = json!({"name": obj["metadata"]["name"], "uid": obj["metadata"]["uid"]});
        if kind == "Pod"
            && let Some(node) = obj["spec"]["nodeName"].as_str()
        {
            k["node"] = json!({"name": node});
        }
    }
    json!({
        "aud": audiences,
        "exp": now + expiration_seconds,
        "iat": now,
        "iss": issuer,
        "jti": uuid::Uuid::new_v4().to_string(),
        "kubernetes.io": k,
        "nbf": now,
        "sub": rbac::service_account_username(namespace, sa["metadata"]["name"].as_str().unwrap_or("")),
    })
}

/// The authorizer attributes of a request (kube's RequestInfoFactory).
pub fn request_attributes(
    method: &Method,
    path: &str,
    target: &Target,
    query: &Query,
) -> Attributes {
    let Target::Resource(rp) = target else {
        return Attributes::non_resource(&method.as_str().to_ascii_lowercase(), path);
    };
    resource_attributes(method, rp, query)
}

fn resource_attributes(method: &Method, rp: &ResourcePath, query: &Query) -> Attributes {
    let watching = rp.watch_prefix || query.flag("watch").unwrap_or(false);
    let collection = rp.name.is_none();
    let verb = match *method {
        Method::GET | Method::HEAD if watching => "watch",
        Method::GET | Method::HEAD if collection => "list",
        Method::GET | Method::HEAD => "get",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if collection => "deletecollection",
        Method::DELETE => "delete",
        _ => "",
    };
    let mut name = rp.name.clone().unwrap_or_default();
    if name.is_empty()
        && matches!(verb, "list" | "watch")
        && let Some(fs) = query.get("fieldSelector")
        && let Ok(sel) = warren_apimachinery::selector::FieldSelector::parse(fs)
        && let Some(n) = sel.requires_exact_match("metadata.name")
    {
        name = n.to_string();
    }
    let mut namespace = rp.namespace.clone().unwrap_or_default();
    if rp.group.is_empty() && rp.plural == "namespaces" && !name.is_empty() {
        namespace = name.clone();
    }
    let mut attrs = Attributes::resource(
        verb,
        &rp.group,
        &rp.plural,
        rp.subresource.as_deref().unwrap_or(""),
        &namespace,
        &name,
    );
    if let Some(r) = attrs.resource.as_mut() {
        r.api_version = rp.version.clone();
    }
    attrs
}

tokio::task_local! {
    static REQUEST_USER: UserInfo;
}

/// Runs `f` as `user`: writes inside it are checked for RBAC escalation by [`admit`].
pub async fn as_user<F: Future>(user: UserInfo, f: F) -> F::Output {
    REQUEST_USER.scope(user, f).await
}

/// The user of the request being served, `None` for the server's own work.
pub fn current_user() -> Option<UserInfo> {
    REQUEST_USER.try_with(Clone::clone).ok()
}

fn rules_json_eq(a: &Value, b: &Value, key: &str) -> bool {
    a.get(key).unwrap_or(&Value::Null) == b.get(key).unwrap_or(&Value::Null)
}

/// Admission for RBAC objects, right before they are written: a user may only create or update
/// a Role/ClusterRole whose permissions they hold (or with `escalate`), and only bind a role
/// whose permissions they hold (or with `bind`). Other resources pass.
pub fn admit(
    state: &AppState,
    res: &Resource,
    new: &Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    if res.group != rbac::RBAC_GROUP {
        return Ok(());
    }
    let Some(user) = current_user() else {
        return Ok(());
    };
    if user.is_master() {
        return Ok(());
    }
    let auth = &state.auth;
    let name = new["metadata"]["name"].as_str().unwrap_or("");
    let namespace = new["metadata"]["namespace"].as_str().unwrap_or("");
    let policy = auth.policy.current();
    let qualified = format!("{}.{}", res.plural, res.group);
    let deny = |message: String| {
        let mut e = ApiError::forbidden(format!(
            "{qualified} {} is forbidden: {message}",
            rbac::go_quote(name)
        ));
        e.group = Some(res.group.clone());
        e.kind = Some(res.plural.clone());
        e.name = Some(name.to_string());
        e
    };
    match res.kind.as_str() {
        "Role" | "ClusterRole" => {
            if let Some(old) = old
                && rules_json_eq(new, old, "rules")
                && rules_json_eq(new, old, "aggregationRule")
            {
                return Ok(());
            }
            let escalate = Attributes::resource(
                "escalate",
                &res.group,
                &res.plural,
                "",
                namespace,
                if old.is_some() { name } else { "" },
            );
            if auth.allowed(&user, &escalate).0 {
                return Ok(());
            }
            let (owned, errors) = policy.rules_for(&user, namespace);
            if new.get("aggregationRule").is_some_and(|a| !a.is_null())
                && old.is_none_or(|o| !rules_json_eq(new, o, "aggregationRule"))
            {
                let full = [
                    rbac::PolicyRule {
                        verbs: vec!["*".into()],
                        api_groups: vec!["*".into()],
                        resources: vec!["*".into()],
                        ..Default::default()
                    },
                    rbac::PolicyRule {
                        verbs: vec!["*".into()],
                        non_resource_urls: vec!["*".into()],
                        ..Default::default()
                    },
                ];
                if !rbac::covers(&owned, &full).0 {
                    return Err(deny(
                        "must have cluster-admin privileges to use the aggregationRule".into(),
                    ));
                }
            }
            let wanted = rbac::PolicyRule::list_from(new);
            let (ok, missing) = rbac::covers(&owned, &wanted);
            if ok {
                Ok(())
            } else {
                Err(deny(rbac::escalation_message(&user, &missing, &errors)))
            }
        }
        "RoleBinding" | "ClusterRoleBinding" => {
            let role_kind = new["roleRef"]["kind"].as_str().unwrap_or("");
            let role_name = new["roleRef"]["name"].as_str().unwrap_or("");
            let role_plural = if role_kind == "ClusterRole" {
                "clusterroles"
            } else {
                "roles"
            };
            let bind = Attributes::resource(
                "bind",
                rbac::RBAC_GROUP,
                role_plural,
                "",
                namespace,
                role_name,
            );
            if auth.allowed(&user, &bind).0 {
                return Ok(());
            }
            let Some(wanted) = policy.role_rules(role_kind, role_name, namespace) else {
                return Err(deny(format!(
                    "{role_plural}.rbac.authorization.k8s.io {} not found",
                    rbac::go_quote(role_name)
                )));
            };
            let (owned, errors) = policy.rules_for(&user, namespace);
            let (ok, missing) = rbac::covers(&owned, &wanted);
            if ok {
                Ok(())
            } else {
                Err(deny(rbac::escalation_message(&user, &missing, &errors)))
            }
        }
        _ => Ok(()),
    }
}

/// `/.well-known/openid-configuration` and `/openid/v1/jwks`: public, JSON.
pub fn discovery_document(state: &AppState, path: &str) -> Option<(Value, &'static str)> {
    match path.trim_end_matches('/') {
        "/.well-known/openid-configuration" => Some((
            json!({
                "issuer": state.auth.issuer,
                "jwks_uri": format!("{}/openid/v1/jwks", state.auth.issuer.trim_end_matches('/')),
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["ES256"],
            }),
            "application/json",
        )),
        "/openid/v1/jwks" => Some((state.auth.key.jwks(), "application/jwk-set+json")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::parse_path;

    fn attrs(method: Method, uri: &str) -> Attributes {
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        let target = parse_path(path);
        request_attributes(&method, path, &target, &Query::parse(Some(query)))
    }

    fn res(a: &Attributes) -> (String, String, String, String, String, String) {
        let r = a.resource.clone().expect("resource request");
        (
            a.verb.clone(),
            r.api_group,
            r.resource,
            r.subresource,
            r.namespace,
            r.name,
        )
    }

    fn t(
        v: &str,
        g: &str,
        r: &str,
        s: &str,
        ns: &str,
        n: &str,
    ) -> (String, String, String, String, String, String) {
        (v.into(), g.into(), r.into(), s.into(), ns.into(), n.into())
    }

    #[test]
    fn request_attributes_as_kube() {
        assert_eq!(
            res(&attrs(Method::GET, "/api/v1/namespaces/d/pods")),
            t("list", "", "pods", "", "d", "")
        );
        assert_eq!(
            res(&attrs(Method::GET, "/api/v1/namespaces/d/pods?watch=true")),
            t("watch", "", "pods", "", "d", "")
        );
        assert_eq!(
            res(&attrs(Method::GET, "/api/v1/watch/namespaces/d/pods")),
            t("watch", "", "pods", "", "d", "")
        );
        assert_eq!(
            res(&attrs(
                Method::GET,
                "/api/v1/namespaces/d/pods?fieldSelector=metadata.name%3Dp"
            )),
            t("list", "", "pods", "", "d", "p")
        );
        assert_eq!(
            res(&attrs(Method::GET, "/api/v1/namespaces/d/pods/p/log")),
            t("get", "", "pods", "log", "d", "p")
        );
        assert_eq!(
            res(&attrs(
                Method::POST,
                "/api/v1/namespaces/d/serviceaccounts/sa/token"
            )),
            t("create", "", "serviceaccounts", "token", "d", "sa")
        );
        assert_eq!(
            res(&attrs(
                Method::PUT,
                "/apis/apps/v1/namespaces/d/deployments/w/scale"
            )),
            t("update", "apps", "deployments", "scale", "d", "w")
        );
        assert_eq!(
            res(&attrs(
                Method::PATCH,
                "/apis/apps/v1/namespaces/d/deployments/w"
            )),
            t("patch", "apps", "deployments", "", "d", "w")
        );
        assert_eq!(
            res(&attrs(Method::DELETE, "/api/v1/namespaces/d/configmaps")),
            t("deletecollection", "", "configmaps", "", "d", "")
        );
        assert_eq!(
            res(&attrs(Method::DELETE, "/api/v1/namespaces/d/configmaps/c")),
            t("delete", "", "configmaps", "", "d", "c")
        );
        // A namespace is addressed inside itself.
        assert_eq!(
            res(&attrs(Method::GET, "/api/v1/namespaces/team")),
            t("get", "", "namespaces", "", "team", "team")
        );
        assert_eq!(
            res(&attrs(Method::GET, "/api/v1/namespaces")),
            t("list", "", "namespaces", "", "", "")
        );
        assert_eq!(
            res(&attrs(Method::GET, "/api/v1/nodes")),
            t("list", "", "nodes", "", "", "")
        );
        let nr = attrs(Method::GET, "/apis/apps");
        assert!(nr.resource.is_none());
        assert_eq!((nr.verb.as_str(), nr.path.as_str()), ("get", "/apis/apps"));
        assert_eq!(attrs(Method::POST, "/healthz").verb, "post");
    }

    #[test]
    fn service_account_claims_shape() {
        let sa = json!({"metadata": {"name": "sa", "uid": "u-sa"}});
        let pod = json!({"metadata": {"name": "p", "uid": "u-p"}, "spec": {"nodeName": "n1"}});
        let c = token_claims(
            DEFAULT_ISSUER,
            &["api".into()],
            1000,
            600,
            "ns",
            &sa,
            Some(("Pod", &pod)),
        );
        assert_eq!(c["sub"], "system:serviceaccount:ns:sa");
        assert_eq!(c["exp"], 1600);
        assert_eq!(c["nbf"], 1000);
        assert_eq!(c["aud"], json!(["api"]));
        assert_eq!(
            c["kubernetes.io"]["serviceaccount"],
            json!({"name": "sa", "uid": "u-sa"})
        );
        assert_eq!(
            c["kubernetes.io"]["pod"],
            json!({"name": "p", "uid": "u-p"})
        );
        assert_eq!(c["kubernetes.io"]["node"]["name"], "n1");
        assert_eq!(c["kubernetes.io"]["namespace"], "ns");
    }
}
