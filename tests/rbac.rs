//! Authentication, RBAC, service-account tokens and impersonation against the real warren
//! binary, driven by kubectl 1.32 with kubeconfigs for non-admin users (a service-account token
//! from `kubectl create token`, a client certificate signed with the cluster CA by openssl, a
//! `--token-auth-file` token). Expected texts are kube-apiserver 1.33's.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use warren_e2e::{Warren, kubectl_bin, lines};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A kubeconfig for `user` against `w`: the admin kubeconfig with its credentials replaced by
/// `credentials` (YAML lines under `user:`).
fn user_kubeconfig(w: &Warren, user: &str, credentials: &[String]) -> PathBuf {
    let admin = std::fs::read_to_string(&w.kubeconfig).expect("kubeconfig");
    let mut out = String::new();
    for line in admin.lines() {
        if line.trim_start().starts_with("token: ") {
            for c in credentials {
                out.push_str(&format!("    {c}\n"));
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    let path = w.data_dir().join(format!("kubeconfig-{user}.yaml"));
    std::fs::write(&path, out).expect("write kubeconfig");
    path
}

fn kubectl_as(w: &Warren, kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(kubectl_bin())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("KUBECACHEDIR", w.data_dir().join("kubecache-users"))
        .env("HOME", w.data_dir())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kubectl");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    child.wait_with_output().expect("kubectl output")
}

fn ok_as(w: &Warren, kc: &Path, args: &[&str]) -> String {
    let out = kubectl_as(w, kc, args, None);
    assert!(
        out.status.success(),
        "kubectl {args:?} failed:\nstdout: {}\nstderr: {}\nlog: {}",
        text(&out.stdout),
        text(&out.stderr),
        w.log()
    );
    text(&out.stdout)
}

fn err_as(w: &Warren, kc: &Path, args: &[&str]) -> Vec<String> {
    let out = kubectl_as(w, kc, args, None);
    assert!(
        !out.status.success(),
        "kubectl {args:?} unexpectedly succeeded: {}",
        text(&out.stdout)
    );
    lines(&text(&out.stderr))
}

fn forbidden_list_pods(user: &str) -> Vec<String> {
    vec![format!(
        r#"Error from server (Forbidden): pods is forbidden: User "{user}" cannot list resource "pods" in API group "" in the namespace "default""#
    )]
}

// ---------------------------------------------------------------------------------------------
// JOSE helpers (the test checks signatures with openssl, independently of the server's ring)

fn b64url_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn b64url_encode(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn der_int(bytes: &[u8]) -> Vec<u8> {
    let mut b: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    if b.first().is_none_or(|f| *f & 0x80 != 0) {
        b.insert(0, 0);
    }
    let mut out = vec![0x02, b.len() as u8];
    out.extend(b);
    out
}

/// JWS ES256 `r‖s` → DER ECDSA-Sig-Value (what openssl reads).
fn jws_sig_to_der(sig: &[u8]) -> Vec<u8> {
    let mut body = der_int(&sig[..32]);
    body.extend(der_int(&sig[32..]));
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

/// DER ECDSA-Sig-Value → `r‖s`.
fn der_sig_to_jws(der: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 2;
    for _ in 0..2 {
        assert_eq!(der[i], 0x02);
        let len = der[i + 1] as usize;
        let int = &der[i + 2..i + 2 + len];
        let int: Vec<u8> = int.iter().copied().skip_while(|b| *b == 0).collect();
        let mut padded = vec![0u8; 32 - int.len()];
        padded.extend(int);
        out.extend(padded);
        i += 2 + len;
    }
    out
}

fn openssl(args: &[&str], dir: &Path) -> Output {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        text(&out.stderr)
    );
    out
}

/// Verifies a compact JWS with the P-256 key of a JWK, using openssl.
fn verify_with_jwk(token: &str, jwk: &Value, dir: &Path) -> bool {
    const SPKI_PREFIX: &[u8] = &[
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
    ];
    let mut spki = SPKI_PREFIX.to_vec();
    spki.extend(b64url_decode(jwk["x"].as_str().expect("x")));
    spki.extend(b64url_decode(jwk["y"].as_str().expect("y")));
    std::fs::write(dir.join("jwk.der"), &spki).expect("write");
    openssl(
        &[
            "pkey", "-pubin", "-inform", "DER", "-in", "jwk.der", "-out", "jwk.pem",
        ],
        dir,
    );
    let (input, sig) = token.rsplit_once('.').expect("jws");
    std::fs::write(dir.join("jws.input"), input).expect("write");
    std::fs::write(dir.join("jws.sig"), jws_sig_to_der(&b64url_decode(sig))).expect("write");
    Command::new("openssl")
        .args([
            "dgst",
            "-sha256",
            "-verify",
            "jwk.pem",
            "-signature",
            "jws.sig",
            "jws.input",
        ])
        .current_dir(dir)
        .output()
        .expect("openssl dgst")
        .status
        .success()
}

/// Signs claims as the server would, with the server's key from the data directory (to make an
/// expired but otherwise valid token).
fn sign_with_server_key(w: &Warren, kid: &str, claims: &Value) -> String {
    let dir = w.data_dir();
    let header = serde_json::json!({"alg": "ES256", "kid": kid});
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(claims.to_string().as_bytes())
    );
    std::fs::write(dir.join("forge.input"), &input).expect("write");
    let key = dir.join("tls").join("service-account.key");
    let out = openssl(
        &[
            "dgst",
            "-sha256",
            "-sign",
            key.to_str().expect("path"),
            "-out",
            "forge.sig",
            "forge.input",
        ],
        dir,
    );
    drop(out);
    let der = std::fs::read(dir.join("forge.sig")).expect("sig");
    format!("{input}.{}", b64url_encode(&der_sig_to_jws(&der)))
}

fn token_review(w: &Warren, token: &str) -> Value {
    let manifest = format!(
        "apiVersion: authentication.k8s.io/v1\nkind: TokenReview\nspec:\n  token: {token}\n"
    );
    let out = w.kubectl_apply_ok(&["create", "-f", "-", "-o", "json"], &manifest);
    serde_json::from_str(&out).expect("TokenReview json")
}

// ---------------------------------------------------------------------------------------------

/// A service-account token from `kubectl create token` is denied, allowed once a RoleBinding
/// grants `view`, denied again right after the binding is deleted, and rejected once the
/// service account is gone. can-i, whoami, TokenReview and the JWKS agree.
#[test]
fn service_account_token_rbac_lifecycle() {
    let w = Warren::start_with(&["--disable-controllers"]);
    w.kubectl_ok(&["create", "serviceaccount", "sa"]);
    let token = w.kubectl_ok(&["create", "token", "sa"]).trim().to_string();
    let kc = user_kubeconfig(&w, "sa", &[format!("token: {token}")]);
    let sa_user = "system:serviceaccount:default:sa";

    assert_eq!(
        err_as(&w, &kc, &["get", "pods"]),
        forbidden_list_pods(sa_user)
    );
    assert_eq!(
        lines(&ok_as(
            &w,
            &kc,
            &["auth", "can-i", "create", "selfsubjectaccessreviews"]
        )),
        ["yes"]
    );
    let no = kubectl_as(&w, &kc, &["auth", "can-i", "list", "pods"], None);
    assert_eq!(lines(&text(&no.stdout)), ["no"]);

    let whoami = lines(&ok_as(&w, &kc, &["auth", "whoami"]));
    assert_eq!(whoami[0], "ATTRIBUTE VALUE");
    assert_eq!(whoami[1], format!("Username {sa_user}"));
    let sa_uid = w.get_json(&["serviceaccount", "sa"])["metadata"]["uid"]
        .as_str()
        .expect("uid")
        .to_string();
    assert_eq!(whoami[2], format!("UID {sa_uid}"));
    assert_eq!(
        whoami[3],
        "Groups [system:serviceaccounts system:serviceaccounts:default system:authenticated]"
    );
    assert!(whoami[4].starts_with("Extra: authentication.kubernetes.io/credential-id [JTI="));

    w.kubectl_ok(&[
        "create",
        "rolebinding",
        "sa-view",
        "--clusterrole=view",
        "--serviceaccount=default:sa",
    ]);
    w.kubectl_ok(&["create", "configmap", "cm1"]);
    let got = lines(&ok_as(&w, &kc, &["get", "configmaps", "-o", "name"]));
    assert_eq!(got, ["configmap/cm1"]);
    assert_eq!(
        lines(&ok_as(&w, &kc, &["auth", "can-i", "list", "pods"])),
        ["yes"]
    );
    assert_eq!(
        lines(&text(
            &kubectl_as(&w, &kc, &["auth", "can-i", "create", "pods"], None).stdout
        )),
        ["no"]
    );
    assert_eq!(
        lines(&text(
            &kubectl_as(
                &w,
                &kc,
                &["auth", "can-i", "list", "pods", "-n", "kube-system"],
                None
            )
            .stdout
        )),
        ["no"]
    );
    // view aggregates system:aggregate-to-view (the aggregation controller filled its rules).
    let list = lines(&ok_as(&w, &kc, &["auth", "can-i", "--list"]));
    assert_eq!(list[0], "Resources Non-Resource URLs Resource Names Verbs");
    assert!(
        list.iter().any(|l| l == "pods [] [] [get list watch]"),
        "{list:#?}"
    );
    assert!(
        list.iter()
            .any(|l| l == "deployments.apps [] [] [get list watch]"),
        "{list:#?}"
    );
    assert!(list.iter().any(|l| l == "[/api/*] [] [get]"), "{list:#?}");
    // Subresources need their own rule: view does not read secrets nor exec into pods.
    assert_eq!(
        err_as(&w, &kc, &["get", "secret", "nope"]),
        [
            r#"Error from server (Forbidden): secrets "nope" is forbidden: User "system:serviceaccount:default:sa" cannot get resource "secrets" in API group "" in the namespace "default""#
        ]
    );

    w.kubectl_ok(&["delete", "rolebinding", "sa-view"]);
    assert_eq!(
        err_as(&w, &kc, &["get", "pods"]),
        forbidden_list_pods(sa_user)
    );

    // TokenReview: the valid token, an expired one signed with the same key, garbage.
    let review = token_review(&w, &token);
    assert_eq!(review["status"]["authenticated"], true, "{review}");
    assert_eq!(review["status"]["user"]["username"], sa_user);
    assert_eq!(review["status"]["user"]["uid"], sa_uid.as_str());
    assert_eq!(
        review["status"]["audiences"],
        serde_json::json!(["https://kubernetes.default.svc.cluster.local"])
    );
    let header: Value =
        serde_json::from_slice(&b64url_decode(token.split('.').next().expect("header")))
            .expect("header json");
    let mut claims: Value =
        serde_json::from_slice(&b64url_decode(token.split('.').nth(1).expect("claims")))
            .expect("claims json");
    assert_eq!(claims["sub"], sa_user);
    assert_eq!(
        claims["kubernetes.io"]["serviceaccount"]["uid"],
        sa_uid.as_str()
    );
    let now = claims["iat"].as_i64().expect("iat");
    assert_eq!(claims["exp"].as_i64(), Some(now + 3600));
    claims["iat"] = (now - 7200).into();
    claims["nbf"] = (now - 7200).into();
    claims["exp"] = (now - 3600).into();
    let kid = header["kid"].as_str().expect("kid");
    let expired = sign_with_server_key(&w, kid, &claims);
    let review = token_review(&w, &expired);
    assert_ne!(review["status"]["authenticated"], true, "{review}");
    assert!(
        review["status"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("expired")),
        "{review}"
    );
    // The same claims with a fresh expiry authenticate: only the expiry was wrong.
    claims["exp"] = (now + 600).into();
    let fresh = sign_with_server_key(&w, kid, &claims);
    assert_eq!(token_review(&w, &fresh)["status"]["authenticated"], true);
    let review = token_review(&w, "garbage.not.ajwt");
    assert_ne!(review["status"]["authenticated"], true);
    assert!(
        review["status"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );

    // The published JWKS verifies the token's signature; another token's signature doesn't
    // verify this payload.
    let jwks: Value =
        serde_json::from_str(&w.kubectl_ok(&["get", "--raw", "/openid/v1/jwks"])).expect("jwks");
    let jwk = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid)
        .expect("the token's kid is published");
    assert_eq!(jwk["alg"], "ES256");
    assert!(verify_with_jwk(&token, jwk, w.data_dir()));
    let (input, _) = token.rsplit_once('.').expect("jws");
    let (_, other_sig) = expired.rsplit_once('.').expect("jws");
    assert!(!verify_with_jwk(
        &format!("{input}.{other_sig}"),
        jwk,
        w.data_dir()
    ));
    let oidc: Value =
        serde_json::from_str(&w.kubectl_ok(&["get", "--raw", "/.well-known/openid-configuration"]))
            .expect("openid configuration");
    assert_eq!(
        oidc["issuer"],
        "https://kubernetes.default.svc.cluster.local"
    );
    assert_eq!(
        oidc["jwks_uri"],
        "https://kubernetes.default.svc.cluster.local/openid/v1/jwks"
    );

    // Deleting the service account invalidates its tokens.
    w.kubectl_ok(&["delete", "serviceaccount", "sa"]);
    assert_eq!(
        err_as(&w, &kc, &["get", "pods"]),
        ["error: You must be logged in to the server (Unauthorized)"]
    );
}

/// A token bound to a pod carries the pod in its claims and user extras, and dies with it.
#[test]
fn pod_bound_token_and_audience() {
    let w = Warren::start_with(&["--disable-controllers"]);
    w.kubectl_ok(&["create", "serviceaccount", "runner"]);
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  serviceAccountName: runner\n  containers:\n  - name: c\n    image: busybox\n";
    w.kubectl_apply_ok(&["create", "-f", "-"], pod);
    let token = w
        .kubectl_ok(&[
            "create",
            "token",
            "runner",
            "--duration",
            "10m",
            "--bound-object-kind",
            "Pod",
            "--bound-object-name",
            "p",
        ])
        .trim()
        .to_string();
    let claims: Value =
        serde_json::from_slice(&b64url_decode(token.split('.').nth(1).expect("claims")))
            .expect("claims");
    let pod_uid = w.get_json(&["pod", "p"])["metadata"]["uid"].clone();
    assert_eq!(claims["kubernetes.io"]["pod"]["name"], "p");
    assert_eq!(claims["kubernetes.io"]["pod"]["uid"], pod_uid);
    assert_eq!(
        claims["exp"].as_i64(),
        claims["iat"].as_i64().map(|t| t + 600)
    );
    let kc = user_kubeconfig(&w, "runner", &[format!("token: {token}")]);
    let who = lines(&ok_as(&w, &kc, &["auth", "whoami"]));
    assert!(
        who.iter()
            .any(|l| l == "Extra: authentication.kubernetes.io/pod-name [p]"),
        "{who:#?}"
    );

    // A token for another audience does not authenticate to the API.
    let vault = w
        .kubectl_ok(&["create", "token", "runner", "--audience", "vault"])
        .trim()
        .to_string();
    let kc_vault = user_kubeconfig(&w, "vault", &[format!("token: {vault}")]);
    assert_eq!(
        err_as(&w, &kc_vault, &["auth", "whoami"]),
        ["error: You must be logged in to the server (Unauthorized)"]
    );

    // Too short a duration is refused as kube does.
    let short = w.kubectl_err(&["create", "token", "runner", "--duration", "1m"]);
    assert!(
        short.contains("may not specify a duration less than 10 minutes"),
        "{short}"
    );
    // A pod running as another service account cannot be bound.
    w.kubectl_ok(&["create", "serviceaccount", "other"]);
    let other = w.kubectl_err(&[
        "create",
        "token",
        "other",
        "--bound-object-kind",
        "Pod",
        "--bound-object-name",
        "p",
    ]);
    assert!(other.contains("different serviceaccount name"), "{other}");

    w.kubectl_ok(&["delete", "pod", "p", "--grace-period=0", "--force"]);
    assert_eq!(
        err_as(&w, &kc, &["auth", "whoami"]),
        ["error: You must be logged in to the server (Unauthorized)"]
    );
}

fn client_cert(w: &Warren, name: &str, subject: &str) -> (PathBuf, PathBuf) {
    let dir = w.data_dir();
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    let crt = dir.join(format!("{name}.crt"));
    let ext = dir.join("client.ext");
    std::fs::write(&ext, "extendedKeyUsage=clientAuth\n").expect("ext");
    let p = |p: &Path| p.to_str().expect("utf-8 path").to_string();
    openssl(
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &p(&key),
            "-subj",
            subject,
            "-out",
            &p(&csr),
        ],
        dir,
    );
    let ca_key = dir.join("tls").join("ca.key");
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            &p(&csr),
            "-CA",
            &p(&w.ca_path()),
            "-CAkey",
            &p(&ca_key),
            "-set_serial",
            "4242",
            "-days",
            "1",
            "-extfile",
            &p(&ext),
            "-out",
            &p(&crt),
        ],
        dir,
    );
    (crt, key)
}

/// Client certificates signed by the cluster CA (CN = user, O = groups), static token-file
/// users, impersonation allowed for the admin and refused for a plain user, and escalation
/// prevention on roles and bindings.
#[test]
fn client_certs_token_file_impersonation_and_escalation() {
    let files = tempfile::tempdir().expect("tempdir");
    let tokens = files.path().join("tokens.csv");
    std::fs::write(&tokens, "bob-token-123,bob,uid-bob,\"dev,qa\"\n").expect("tokens");
    let w = Warren::start_with(&[
        "--disable-controllers",
        "--token-auth-file",
        tokens.to_str().expect("path"),
    ]);

    // Client certificate user.
    let (crt, key) = client_cert(&w, "jane", "/O=ops/O=oncall/CN=jane");
    let kc_jane = user_kubeconfig(
        &w,
        "jane",
        &[
            format!("client-certificate: {}", crt.display()),
            format!("client-key: {}", key.display()),
        ],
    );
    let who = lines(&ok_as(&w, &kc_jane, &["auth", "whoami"]));
    assert_eq!(
        who,
        [
            "ATTRIBUTE VALUE",
            "Username jane",
            "Groups [ops oncall system:authenticated]"
        ]
    );
    assert_eq!(
        err_as(&w, &kc_jane, &["get", "pods"]),
        forbidden_list_pods("jane")
    );
    w.kubectl_ok(&[
        "create",
        "clusterrolebinding",
        "ops-view",
        "--clusterrole=view",
        "--group=ops",
    ]);
    ok_as(&w, &kc_jane, &["get", "pods"]);
    assert_eq!(
        err_as(&w, &kc_jane, &["get", "nodes"]),
        [
            r#"Error from server (Forbidden): nodes is forbidden: User "jane" cannot list resource "nodes" in API group "" at the cluster scope"#
        ]
    );

    // Static token file user.
    let kc_bob = user_kubeconfig(&w, "bob", &["token: bob-token-123".to_string()]);
    let who = lines(&ok_as(&w, &kc_bob, &["auth", "whoami"]));
    assert_eq!(
        who,
        [
            "ATTRIBUTE VALUE",
            "Username bob",
            "UID uid-bob",
            "Groups [dev qa system:authenticated]"
        ]
    );
    let bad = user_kubeconfig(&w, "bad", &["token: not-a-token".to_string()]);
    assert_eq!(
        err_as(&w, &bad, &["get", "pods"]),
        ["error: You must be logged in to the server (Unauthorized)"]
    );

    // Impersonation: the admin may, bob may not.
    let who = lines(&w.kubectl_ok(&["auth", "whoami", "--as=jane", "--as-group=ops"]));
    assert_eq!(
        who,
        [
            "ATTRIBUTE VALUE",
            "Username jane",
            "Groups [ops system:authenticated]"
        ]
    );
    assert_eq!(
        lines(&text(&w.kubectl(&["get", "pods", "--as=nobody"]).stderr)),
        forbidden_list_pods("nobody")
    );
    assert_eq!(
        lines(&w.kubectl_ok(&[
            "auth",
            "can-i",
            "list",
            "pods",
            "--as=jane",
            "--as-group=ops"
        ])),
        ["yes"]
    );
    assert_eq!(
        err_as(&w, &kc_bob, &["get", "pods", "--as=jane"]),
        [
            r#"Error from server (Forbidden): users "jane" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope"#
        ]
    );
    // ... until RBAC grants it.
    let impersonator = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: impersonate-jane\nrules:\n- apiGroups: [\"\"]\n  resources: [users]\n  verbs: [impersonate]\n  resourceNames: [jane]\n";
    w.kubectl_apply_ok(&["create", "-f", "-"], impersonator);
    w.kubectl_ok(&[
        "create",
        "clusterrolebinding",
        "bob-imp",
        "--clusterrole=impersonate-jane",
        "--user=bob",
    ]);
    let who = lines(&ok_as(&w, &kc_bob, &["auth", "whoami", "--as=jane"]));
    assert_eq!(
        who,
        [
            "ATTRIBUTE VALUE",
            "Username jane",
            "Groups [system:authenticated]"
        ]
    );
    assert_eq!(
        err_as(
            &w,
            &kc_bob,
            &["get", "configmaps", "--as=jane", "--as-group=ops"]
        ),
        [
            r#"Error from server (Forbidden): groups "ops" is forbidden: User "bob" cannot impersonate resource "groups" in API group "" at the cluster scope"#
        ]
    );

    // Escalation: bob may manage roles and bindings in default, and read pods through view.
    let manager = "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: rbac-manager\n  namespace: default\nrules:\n- apiGroups: [rbac.authorization.k8s.io]\n  resources: [roles, rolebindings]\n  verbs: [create, get, list, update, patch, delete]\n";
    w.kubectl_apply_ok(&["create", "-f", "-"], manager);
    w.kubectl_ok(&[
        "create",
        "rolebinding",
        "bob-manager",
        "--role=rbac-manager",
        "--user=bob",
    ]);
    w.kubectl_ok(&[
        "create",
        "rolebinding",
        "dev-view",
        "--clusterrole=view",
        "--group=dev",
    ]);
    assert_eq!(
        err_as(
            &w,
            &kc_bob,
            &[
                "create",
                "role",
                "secret-reader",
                "--verb=get",
                "--resource=secrets"
            ]
        ),
        [
            r#"Error from server (Forbidden): roles.rbac.authorization.k8s.io "secret-reader" is forbidden: user "bob" (groups=["dev" "qa" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:"#,
            r#"{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}"#,
        ]
    );
    ok_as(
        &w,
        &kc_bob,
        &[
            "create",
            "role",
            "pod-reader",
            "--verb=get,list",
            "--resource=pods",
        ],
    );
    ok_as(
        &w,
        &kc_bob,
        &[
            "create",
            "rolebinding",
            "jane-pods",
            "--role=pod-reader",
            "--user=jane",
        ],
    );
    let refused = err_as(
        &w,
        &kc_bob,
        &[
            "create",
            "rolebinding",
            "jane-edit",
            "--clusterrole=edit",
            "--user=jane",
        ],
    );
    assert!(
        refused[0].starts_with(r#"error: failed to create rolebinding: rolebindings.rbac.authorization.k8s.io "jane-edit" is forbidden: user "bob" (groups=["dev" "qa" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:"#),
        "{refused:#?}"
    );
    // Widening an existing role is an escalation too.
    let widened = err_as(
        &w,
        &kc_bob,
        &[
            "patch",
            "role",
            "pod-reader",
            "--type=json",
            "-p",
            r#"[{"op":"add","path":"/rules/0/verbs/-","value":"delete"}]"#,
        ],
    );
    assert_eq!(
        widened[1], r#"{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}"#,
        "{widened:#?}"
    );
    // With `escalate` and `bind` granted, the same writes pass.
    let escalate = "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: escalator\n  namespace: default\nrules:\n- apiGroups: [rbac.authorization.k8s.io]\n  resources: [roles]\n  verbs: [escalate]\n- apiGroups: [rbac.authorization.k8s.io]\n  resources: [clusterroles]\n  verbs: [bind]\n  resourceNames: [edit]\n";
    w.kubectl_apply_ok(&["create", "-f", "-"], escalate);
    w.kubectl_ok(&[
        "create",
        "rolebinding",
        "bob-escalator",
        "--role=escalator",
        "--user=bob",
    ]);
    ok_as(
        &w,
        &kc_bob,
        &[
            "create",
            "role",
            "secret-reader",
            "--verb=get",
            "--resource=secrets",
        ],
    );
    ok_as(
        &w,
        &kc_bob,
        &[
            "create",
            "rolebinding",
            "jane-edit",
            "--clusterrole=edit",
            "--user=jane",
        ],
    );

    // SubjectAccessReview as the admin sees it.
    let sar = "apiVersion: authorization.k8s.io/v1\nkind: SubjectAccessReview\nspec:\n  user: jane\n  resourceAttributes:\n    namespace: default\n    verb: create\n    resource: deployments\n    group: apps\n";
    let out: Value =
        serde_json::from_str(&w.kubectl_apply_ok(&["create", "-f", "-", "-o", "json"], sar))
            .expect("sar json");
    assert_eq!(out["status"]["allowed"], true, "{out}");
    let sar_kube_system = sar.replace("namespace: default", "namespace: kube-system");
    let out: Value = serde_json::from_str(
        &w.kubectl_apply_ok(&["create", "-f", "-", "-o", "json"], &sar_kube_system),
    )
    .expect("sar json");
    assert_eq!(out["status"]["allowed"], false, "{out}");
    // ...but bob may not ask about others.
    let out = kubectl_as(&w, &kc_bob, &["create", "-f", "-"], Some(sar));
    assert!(
        text(&out.stderr).contains(r#"subjectaccessreviews.authorization.k8s.io is forbidden: User "bob" cannot create resource "subjectaccessreviews""#),
        "{}",
        text(&out.stderr)
    );
}

fn secret_token(w: &Warren, ns: &str, name: &str) -> Option<String> {
    let out = w.kubectl(&["get", "secret", "-n", ns, name, "-o", "json"]);
    if !out.status.success() {
        return None;
    }
    let s: Value = serde_json::from_slice(&out.stdout).ok()?;
    let t = s["data"]["token"].as_str()?;
    let ok = s["data"]["ca.crt"].is_string()
        && s["data"]["namespace"].is_string()
        && s["metadata"]["annotations"]["kubernetes.io/service-account.uid"].is_string();
    ok.then(|| String::from_utf8(b64url_decode(t)).expect("token utf-8"))
}

/// The tokens controller: with `--legacy-service-account-token-secrets` every ServiceAccount
/// gets a `<sa>-token-xxxxx` Secret in its `secrets` list (Kubernetes before 1.24); the token in
/// it authenticates as the service account until the Secret is deleted, after which a new one
/// is made. A token Secret created by hand is filled; one whose ServiceAccount is gone is deleted.
#[test]
fn legacy_token_secrets() {
    let w = Warren::start_with(&["--legacy-service-account-token-secrets"]);
    w.kubectl_ok(&["create", "namespace", "legacy"]);
    let sa_json = || -> Option<Value> {
        let out = w.kubectl(&[
            "get",
            "serviceaccount",
            "default",
            "-n",
            "legacy",
            "-o",
            "json",
        ]);
        serde_json::from_slice(&out.stdout).ok()
    };
    let first = w.eventually(
        "default SA token secret",
        std::time::Duration::from_secs(20),
        || Some(sa_json()?["secrets"][0]["name"].as_str()?.to_string()),
    );
    assert!(
        first.starts_with("default-token-") && first.len() == 19,
        "{first}"
    );
    let token = w.eventually("filled token", std::time::Duration::from_secs(20), || {
        secret_token(&w, "legacy", &first)
    });
    let claims: Value = serde_json::from_slice(&b64url_decode(
        token.split('.').nth(1).expect("jwt payload"),
    ))
    .expect("claims");
    assert_eq!(claims["iss"], "kubernetes/serviceaccount");
    assert_eq!(
        claims["kubernetes.io/serviceaccount/secret.name"],
        first.as_str()
    );

    let kc = user_kubeconfig(&w, "legacy", &[format!("token: {token}")]);
    let who = ok_as(&w, &kc, &["auth", "whoami", "-o", "json"]);
    let who: Value = serde_json::from_str(&who).expect("whoami");
    assert_eq!(
        who["status"]["userInfo"]["username"],
        "system:serviceaccount:legacy:default"
    );
    let review = token_review(&w, &token);
    assert_eq!(review["status"]["authenticated"], true, "{review}");

    // Deleting the Secret revokes the token; the controller makes a new one.
    w.kubectl_ok(&["delete", "secret", "-n", "legacy", &first]);
    let second = w.eventually(
        "replacement secret",
        std::time::Duration::from_secs(20),
        || {
            let sa = sa_json()?;
            let names: Vec<&str> = sa["secrets"]
                .as_array()?
                .iter()
                .filter_map(|r| r["name"].as_str())
                .collect();
            (names.len() == 1 && names[0] != first).then(|| names[0].to_string())
        },
    );
    w.eventually("second token", std::time::Duration::from_secs(20), || {
        secret_token(&w, "legacy", &second)
    });
    let out = kubectl_as(&w, &kc, &["auth", "whoami"], None);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("Unauthorized"),
        "{}",
        text(&out.stderr)
    );

    // A hand-made token Secret for another service account is filled, and deleted with it.
    w.kubectl_ok(&["create", "serviceaccount", "-n", "legacy", "robot"]);
    w.kubectl_apply_ok(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: robot-manual\n  namespace: legacy\n  annotations:\n    kubernetes.io/service-account.name: robot\ntype: kubernetes.io/service-account-token\n",
    );
    let manual = w.eventually("manual token", std::time::Duration::from_secs(20), || {
        secret_token(&w, "legacy", "robot-manual")
    });
    let kc = user_kubeconfig(&w, "robot", &[format!("token: {manual}")]);
    let who = ok_as(
        &w,
        &kc,
        &[
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ],
    );
    assert_eq!(who, "system:serviceaccount:legacy:robot");
    w.kubectl_ok(&["delete", "serviceaccount", "-n", "legacy", "robot"]);
    w.eventually(
        "token secrets of a deleted SA removed",
        std::time::Duration::from_secs(20),
        || {
            let out = w.kubectl(&["get", "secret", "-n", "legacy", "robot-manual"]);
            (!out.status.success()).then_some(())
        },
    );
}

/// kube-apiserver reconciles the default policy at every start: permissions taken away from a
/// bootstrap role come back after a restart, unless the role says `autoupdate: "false"`.
#[test]
fn default_roles_reconciled_on_restart() {
    let mut w = Warren::start_with(&["--disable-controllers"]);
    let rules = |w: &Warren, role: &str| w.get_json(&["clusterrole", role])["rules"].clone();
    for role in ["system:basic-user", "system:public-info-viewer"] {
        w.kubectl_ok(&[
            "patch",
            "clusterrole",
            role,
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/rules","value":[]}]"#,
        ]);
    }
    w.kubectl_ok(&[
        "annotate",
        "--overwrite",
        "clusterrole",
        "system:public-info-viewer",
        "rbac.authorization.kubernetes.io/autoupdate=false",
    ]);
    w.restart_after_kill9();
    // what was missing comes back broken down per resource and verb, as kube writes it
    assert_eq!(
        rules(&w, "system:basic-user"),
        serde_json::json!([
            {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]},
            {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews"], "verbs": ["create"]},
            {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectrulesreviews"], "verbs": ["create"]},
        ])
    );
    assert_eq!(
        rules(&w, "system:public-info-viewer"),
        serde_json::json!([])
    );
}
