//! Handler-level tests: requests go straight into `http::handle` (no TLS, no sockets) against a
//! real store in a temporary directory.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::body::Body;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::{Value, json};
use warren_store::{Store, StoreOptions};

use crate::state::{AppState, Catalog};

struct Harness {
    state: Arc<AppState>,
    token: String,
    _dir: tempfile::TempDir,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("state.db"), StoreOptions::default()).expect("store");
    let pki =
        crate::pki::ClusterPki::load_or_create(dir.path(), &["127.0.0.1".into()]).expect("pki");
    let (cleanup, _rx) = crate::namespace::NamespaceCleanup::new();
    let token = pki.admin_token.clone();
    let services = crate::service_alloc::ServiceAllocator::default();
    let state = Arc::new(AppState {
        objects: crate::objects::Objects {
            store,
            service_changes: services.changes(),
        },
        pki,
        catalog: Catalog::default(),
        namespace_cleanup: cleanup,
        openapi: crate::openapi::OpenApiCache::default(),
        services,
        ready: AtomicBool::new(true),
        listen: "127.0.0.1:6443".parse().expect("addr"),
        auth: crate::auth::Auth::new(dir.path(), &crate::auth::AuthOptions::default())
            .expect("auth"),
    });
    Harness {
        state,
        token,
        _dir: dir,
    }
}

impl Harness {
    async fn call(
        &self,
        method: Method,
        uri: &str,
        ctype: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Vec<u8>) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", ctype)
            .body(Body::from(body))
            .expect("request");
        let resp = crate::http::handle(self.state.clone(), req).await;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        (status, bytes)
    }

    async fn json(&self, method: Method, uri: &str, body: Value) -> (StatusCode, Value) {
        let (s, b) = self
            .call(
                method,
                uri,
                "application/json",
                serde_json::to_vec(&body).expect("json"),
            )
            .await;
        (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn failures_are_statuses_with_the_right_codes() {
    runtime().block_on(async {
        let h = harness();
        crate::bootstrap::run(&h.state, "127.0.0.1:6443".parse().expect("addr"))
            .await
            .expect("bootstrap");
        let cm = |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "b"}});
        let base = "/api/v1/namespaces/default/configmaps";
        let (s, created) = h.json(Method::POST, base, cm("c")).await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        let (s, b) = h.json(Method::POST, base, cm("c")).await;
        assert_eq!((s.as_u16(), b["reason"].as_str()), (409, Some("AlreadyExists")));
        let (s, b) = h.json(Method::GET, &format!("{base}/nope"), Value::Null).await;
        assert_eq!((s.as_u16(), b["reason"].as_str(), b["kind"].as_str()), (404, Some("NotFound"), Some("Status")));
        let (s, b) = h.call(Method::POST, base, "application/json", b"{not json".to_vec()).await;
        assert_eq!(s.as_u16(), 400, "{}", String::from_utf8_lossy(&b));
        let (s, _) = h.call(Method::POST, base, "text/html", b"{}".to_vec()).await;
        assert_eq!(s.as_u16(), 415);
        let big = vec![b' '; crate::body::MAX_BODY_BYTES + 1];
        let (s, _) = h.call(Method::POST, base, "application/json", big).await;
        assert_eq!(s.as_u16(), 413);
        let (s, b) = h.json(Method::PUT, base, cm("x")).await;
        assert_eq!((s.as_u16(), b["reason"].as_str()), (405, Some("MethodNotAllowed")));
        let (s, b) = h.json(Method::POST, base, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}})).await;
        assert_eq!((s.as_u16(), b["reason"].as_str()), (422, Some("Invalid")));
        assert_eq!(b["details"]["causes"][0]["field"], "metadata.name");
        let stale = {
            let mut c = created.clone();
            c["metadata"]["resourceVersion"] = json!("1");
            c
        };
        let (s, b) = h.json(Method::PUT, &format!("{base}/c"), stale).await;
        assert_eq!((s.as_u16(), b["reason"].as_str()), (409, Some("Conflict")));
        let (s, b) = h.json(Method::GET, &format!("{base}?labelSelector=a%20in%20(("), Value::Null).await;
        assert_eq!((s.as_u16(), b["reason"].as_str()), (400, Some("BadRequest")));
        let (s, _) = h.json(Method::GET, "/apis/nope.example/v1/things", Value::Null).await;
        assert_eq!(s.as_u16(), 404);
        let (s, b) = h.json(Method::POST, "/api/v1/namespaces/missing/configmaps", cm("m")).await;
        assert_eq!((s.as_u16(), b["message"].as_str()), (404, Some(r#"namespaces "missing" not found"#)));
    });
}

#[test]
fn stored_bytes_carry_the_resource_version_reads_return() {
    runtime().block_on(async {
        let h = harness();
        crate::bootstrap::run(&h.state, "127.0.0.1:6443".parse().expect("addr"))
            .await
            .expect("bootstrap");
        let base = "/api/v1/namespaces/default/configmaps";
        let (_, created) = h
            .json(Method::POST, base, json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "r", "labels": {"k": "v"}}}))
            .await;
        let (_, got) = h.json(Method::GET, &format!("{base}/r"), Value::Null).await;
        assert_eq!(got, created);
        let (_, list) = h.json(Method::GET, &format!("{base}?labelSelector=k%3Dv"), Value::Null).await;
        assert_eq!(list["items"][0], created);
        assert_eq!(list["kind"], "ConfigMapList");
        let (_, patched) = h
            .call(Method::PATCH, &format!("{base}/r"), "application/merge-patch+json", br#"{"data":{"x":"y"}}"#.to_vec())
            .await;
        let patched: Value = serde_json::from_slice(&patched).expect("json");
        let (_, got) = h.json(Method::GET, &format!("{base}/r"), Value::Null).await;
        assert_eq!(got, patched);
        assert_ne!(got["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"]);
    });
}

fn arb_method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::GET),
        Just(Method::POST),
        Just(Method::PUT),
        Just(Method::PATCH),
        Just(Method::DELETE),
        Just(Method::OPTIONS),
    ]
}

fn arb_path() -> impl Strategy<Value = String> {
    let seg = prop_oneof![
        Just("api".to_string()),
        Just("apis".to_string()),
        Just("v1".to_string()),
        Just("apps".to_string()),
        Just("namespaces".to_string()),
        Just("default".to_string()),
        Just("configmaps".to_string()),
        Just("deployments".to_string()),
        Just("pods".to_string()),
        Just("status".to_string()),
        Just("scale".to_string()),
        Just("openapi".to_string()),
        "[a-z%?=&.]{0,6}",
    ];
    proptest::collection::vec(seg, 0..7).prop_map(|s| format!("/{}", s.join("/")))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    /// Any method, path, content type and body: an answer, never a panic; errors are Statuses.
    #[test]
    fn arbitrary_requests_never_panic(
        method in arb_method(),
        path in arb_path(),
        query in "[a-zA-Z=&%0-9]{0,20}",
        ctype in prop_oneof![
            Just("application/json"), Just("application/yaml"), Just("application/vnd.kubernetes.protobuf"),
            Just("application/merge-patch+json"), Just("application/json-patch+json"),
            Just("application/strategic-merge-patch+json"), Just("x/y"),
        ],
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            Just(br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"f"}}"#.to_vec()),
            Just(br#"[{"op":"add","path":"/x","value":1}]"#.to_vec()),
            Just(b"k8s\x00\x0a\x02\x0a\x00".to_vec()),
        ],
    ) {
        let rt = runtime();
        let h = harness();
        let uri = if query.is_empty() { path } else { format!("{path}?{query}") };
        let (status, bytes) = rt.block_on(h.call(method, &uri, ctype, body));
        if status.as_u16() >= 400 && status.as_u16() != 500
            && let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
                prop_assert_eq!(v["kind"].as_str(), Some("Status"));
                prop_assert_eq!(v["code"].as_u64(), Some(u64::from(status.as_u16())));
            }
        prop_assert!(status.as_u16() != 500 || uri.contains("healthz"), "500 for {}", uri);
    }
}

/// e2e.test's "should return a 406 for a backend which does not implement metadata": reviews
/// have no Table view.
#[test]
fn create_only_kinds_refuse_table_accept() {
    runtime().block_on(async {
        let h = harness();
        let sar = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"nonResourceAttributes": {"path": "/", "verb": "get"}}});
        let req = Request::builder()
            .method(Method::POST)
            .uri("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
            .header("authorization", format!("Bearer {}", h.token))
            .header("content-type", "application/json")
            .header("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
            .body(Body::from(serde_json::to_vec(&sar).expect("json")))
            .expect("request");
        let resp = crate::http::handle(h.state.clone(), req).await;
        assert_eq!(resp.status().as_u16(), 406);
        let (s, b) = h
            .json(
                Method::POST,
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                sar,
            )
            .await;
        assert_eq!(s.as_u16(), 201, "{b}");
        assert_eq!(b["status"]["allowed"], true);
    });
}

#[test]
fn the_local_service_is_the_admin_and_names_field_managers() {
    use tower::ServiceExt;
    let h = harness();
    runtime().block_on(async {
        let local = crate::LocalService::new(h.state.clone())
            .with_user_agent("kube-controller-manager/v1.33.0 (linux/amd64) warren");
        let create = || {
            Request::post("/api/v1/namespaces")
                .header("content-type", "application/json")
                .body(http_body_util::Full::new(bytes::Bytes::from_static(
                    br#"{"metadata":{"name":"local"}}"#,
                )))
                .expect("request")
        };
        // Without the local door the same request has no identity.
        let resp = crate::http::handle(h.state.clone(), create()).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

        let resp = local.clone().oneshot(create()).await.expect("infallible");
        assert_eq!(resp.status(), StatusCode::CREATED);
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        let ns: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            ns["metadata"]["managedFields"][0]["manager"],
            "kube-controller-manager"
        );

        // A body that fails to arrive is a 400 Status, not a dropped request.
        let failing = http_body_util::StreamBody::new(futures::stream::iter([Err::<
            http_body::Frame<bytes::Bytes>,
            std::io::Error,
        >(
            std::io::Error::other("cut"),
        )]));
        let req = Request::post("/api/v1/namespaces")
            .header("content-type", "application/json")
            .body(failing)
            .expect("request");
        let resp = local.oneshot(req).await.expect("infallible");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        let status: Value = serde_json::from_slice(&body).expect("json");
        assert!(
            status["message"]
                .as_str()
                .unwrap_or_default()
                .contains("cut"),
            "{status}"
        );
    });
}
